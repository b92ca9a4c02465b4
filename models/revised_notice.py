"""The revised-notice lifecycle (28 TAC § 22.12; 18 Del. Admin. Code § 904-4.0): what its
workflows take, carry and answer, and what its batch activities take and return.

Nothing here names a consumer. Relationships appear only as opaque ``relationship_id`` cursors
(the last id of a keyset page) and delivery keys; the population itself travels as counts and
digests, never as lists, so a payload is the same size for 1,000 consumers or 1,000,000.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import AwareDatetime, Field, model_validator
from pydantic_core import PydanticCustomError

from models.common import NoticeflowModel, StateCode
from models.privacy import PrivacyPolicyVersion
from models.privacy_lifecycle import VERSION_ID_PATTERN, DeliveryStatus, PrivacyDocumentRef

VersionId = Annotated[str, Field(pattern=VERSION_ID_PATTERN, description="A registered policy version id.")]
#: ``<relationship_id>/<notice_id>``: the idempotency key of one delivery, no NPI.
DELIVERY_KEY_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,119}/[A-Za-z0-9][A-Za-z0-9._:/-]{0,149}$"
DeliveryKey = Annotated[str, Field(pattern=DELIVERY_KEY_PATTERN)]

#: Most delivery keys one ``mark_deliveries`` update takes (bounded payload and history).
MAX_MARKS_PER_UPDATE = 5000


def revised_workflow_id(old_version: str, new_version: str) -> str:
    """One workflow per policy change, named by its two version ids (never a consumer)."""
    return f"revised-notice-{old_version}-{new_version}"


def revised_stream(old_version: str, new_version: str) -> str:
    """The ledger stream of one policy change."""
    return f"revised_notice:{old_version}:{new_version}"


def revised_notice_id(new_version: str) -> str:
    """The notice id every relationship's revised notice carries (its delivery key's tail)."""
    return f"revised-{new_version}"


class RevisedPhase(StrEnum):
    DIFFING = "diffing"
    NOT_REQUIRED = "not_required"
    RENDERING = "rendering"
    REFUSED = "refused"
    DELIVERING = "delivering"
    WAITING_FOR_WINDOWS = "waiting_for_windows"
    OPENING = "opening"
    COMPLETED = "completed"


class FanoutCounts(NoticeflowModel):
    """Where the fan-out stands, by relationship. ``returned`` and ``acknowledged`` are marks on
    deliveries already counted as ``sent``; the opening counts cover the windows that closed."""

    targeted: int = Field(0, ge=0, description="Affected relationships when the fan-out began.")
    processed: int = Field(0, ge=0, description="Relationships a delivery batch has handled.")
    sent: int = Field(0, ge=0)
    email: int = Field(0, ge=0)
    mail: int = Field(0, ge=0)
    failed: int = Field(0, ge=0, description="Refused by the channel (bounced, no address).")
    in_doubt: int = Field(0, ge=0, description="The connection broke mid-message; never re-sent.")
    undeliverable: int = Field(0, ge=0, description="No channel gives actual notice (28 TAC § 22.13(a)).")
    returned: int = Field(0, ge=0)
    acknowledged: int = Field(0, ge=0)
    opened: int = Field(0, ge=0)
    held_by_opt_out: int = Field(0, ge=0)
    not_delivered: int = Field(0, ge=0)
    deferred: int = Field(0, ge=0, description="Windows a later acknowledgement moved; opened by a later timer.")

    @property
    def pending(self) -> int:
        return max(self.targeted - self.processed, 0)

    def plus(self, other: FanoutCounts) -> FanoutCounts:
        data = {name: getattr(self, name) + getattr(other, name) for name in FanoutCounts.model_fields if name != "targeted"}
        return FanoutCounts(targeted=self.targeted, **data)

    def summary(self) -> str:
        return (
            f"sent {self.sent} of {self.targeted} (pending {self.pending}, failed {self.failed}, in doubt {self.in_doubt}, "
            f"undeliverable {self.undeliverable}, returned {self.returned}, acknowledged {self.acknowledged}); "
            f"opened {self.opened}, held by opt-out {self.held_by_opt_out}, not delivered {self.not_delivered}"
        )

    def ledger_data(self) -> dict[str, int]:
        return {**self.model_dump(), "pending": self.pending}


class Cohort(NoticeflowModel):
    """Relationships ``(after, through]`` (by id) whose notices were delivered in batches that give
    the same reasonable opportunity: one durable timer waits for ``allowed_from`` for all of them."""

    after: str | None
    through: str
    allowed_from: AwareDatetime
    relationships: int = Field(ge=0)
    citation: str
    example: str
    only_unopened: bool = Field(False, description="A recheck of relationships whose window an acknowledgement moved.")
    window_closed_at: AwareDatetime | None = Field(None, description="Set once the window's end is recorded.")
    parts: int = Field(0, ge=0, description="Opening children run so far (``after`` is where the next starts).")


class RevisedNoticeStart(NoticeflowModel):
    """Input of ``RevisedNoticeWorkflow``: register both policy versions in the privacy store first
    (``PrivacyStore.put_policy``)."""

    old_version: VersionId
    new_version: VersionId
    started_by: str = Field("worker", min_length=1, max_length=100)
    batch_size: int = Field(2000, ge=1, le=5000, description="Relationships per delivery / opening batch (one activity).")
    batches_per_child: int = Field(10, ge=1, le=200, description="Batches one child workflow runs before it returns.")
    max_history_events: int = Field(
        2000, ge=200, le=20000, description="Continue as new once the parent's history is this long (between children)."
    )
    carry: RevisedNoticeCarry | None = Field(None, description="Set by continue-as-new only.")

    @model_validator(mode="after")
    def _two_versions(self) -> RevisedNoticeStart:
        if self.old_version == self.new_version:
            raise PydanticCustomError(
                "same_version",
                "new_version: a revised notice compares two different policy versions; both are '{v}'",
                {"v": self.new_version},
            )
        return self


class RevisedNoticeCarry(NoticeflowModel):
    """What a run hands to the next by continue-as-new: cursors, cohorts and counts only."""

    phase: RevisedPhase
    jurisdiction: StateCode
    notice_id: str
    include_former_customers: bool
    citation: str
    documents: list[str] = Field(default_factory=list, description="sha256 of the rendered specimens.")
    counts: FanoutCounts
    cursor: str | None = None
    delivery_done: bool = False
    next_batch_no: int = 0
    children: int = 0
    cohorts: list[Cohort] = Field(default_factory=list, description="Cohorts whose window has not been closed yet.")
    cohorts_closed: int = 0
    marks: int = 0
    runs: int = 1
    mark_batches: dict[str, str] = Field(
        default_factory=dict, description="<status>/<batch_ref> → fingerprint of the marks ledgered under it."
    )


class RevisedNoticeResult(NoticeflowModel):
    workflow_id: str
    old_version: str
    new_version: str
    phase: RevisedPhase
    revised_notice_required: bool
    citation: str
    counts: FanoutCounts
    documents: list[str] = Field(default_factory=list)
    refusal: str | None = None


class RevisedNoticeState(NoticeflowModel):
    """Query ``progress``: the same counts the UI shows, and what the workflow waits for."""

    workflow_id: str
    old_version: str
    new_version: str
    jurisdiction: str | None
    phase: RevisedPhase
    revised_notice_required: bool | None
    counts: FanoutCounts
    pending: int
    cohorts: list[Cohort]
    cohorts_closed: int
    next_window_closes: AwareDatetime | None
    children: int
    runs: int
    waiting_for: str


class MarkDeliveries(NoticeflowModel):
    """Update ``mark_deliveries``: revised notices returned as undeliverable, or acknowledged, in
    bulk by delivery key (``<relationship_id>/<notice_id>``)."""

    delivery_keys: list[DeliveryKey] = Field(min_length=1, max_length=MAX_MARKS_PER_UPDATE)
    status: Literal[DeliveryStatus.RETURNED, DeliveryStatus.ACKNOWLEDGED]
    at: AwareDatetime | None = Field(None, description="Default: when the update is accepted.")
    recorded_by: str = Field(min_length=1, max_length=100)
    batch_ref: str = Field(
        min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]*$",
        description="The caller's id of this set of marks (e.g. the returned-mail file): makes a retried update a no-op.",
    )


class MarkResult(NoticeflowModel):
    status: DeliveryStatus
    requested: int
    marked: int = Field(description="Deliveries whose status changed now.")
    already: int = Field(description="Already in that status (a repeated mark).")
    not_marked: int = Field(description="Unknown keys, or deliveries that never went out (nothing to return or acknowledge).")
    digest: str = Field(description="sha256 of the sorted keys marked now.")
    returned_total: int = Field(description="This notice's deliveries now on record as returned.")
    acknowledged_total: int = Field(description="… and as acknowledged.")


# =============================================================================================
# Activity inputs and outputs
# =============================================================================================


class PoliciesInput(NoticeflowModel):
    old_version: str
    new_version: str


class PolicyPair(NoticeflowModel):
    """The two policy versions, without their notice text (the diff needs only the policies)."""

    old: PrivacyPolicyVersion
    new: PrivacyPolicyVersion
    jurisdiction: StateCode
    new_record_sha256: str


class PrepareInput(NoticeflowModel):
    new_version: str


class PrepareResult(NoticeflowModel):
    """The revised notice with its opt-out notice, rendered once — or refused by § 22.10."""

    ok: bool
    documents: list[PrivacyDocumentRef] = Field(default_factory=list)
    citation: str
    findings: list[dict[str, str]] = Field(default_factory=list)
    refusal: str | None = None


class PopulationInput(NoticeflowModel):
    old_version: str
    jurisdiction: StateCode
    include_former_customers: bool


class DeliverBatchInput(NoticeflowModel):
    old_version: str
    new_version: str
    notice_id: str
    jurisdiction: StateCode
    include_former_customers: bool
    after: str | None
    limit: int = Field(ge=1, le=5000)
    batch_no: int = Field(ge=0)
    as_of: AwareDatetime = Field(description="Workflow time of the batch: the mailing date of record.")


class DeliverBatchResult(NoticeflowModel):
    batch_no: int
    after: str | None
    last_id: str | None = Field(description="The page's last relationship id (the next cursor); None: nothing left.")
    counts: FanoutCounts
    already_recorded: int = Field(0, description="Deliveries a previous attempt had made (not sent again).")
    print_batch: str | None = None
    manifest_sha256: str | None = Field(None, description="sha256 of the print batch's manifest.csv (its print stream).")
    digest: str = Field(description="sha256 over the page's delivery keys and statuses.")


class OpenBatchInput(NoticeflowModel):
    new_version: str
    notice_id: str
    jurisdiction: StateCode
    after: str | None
    through: str
    limit: int = Field(ge=1, le=5000)
    as_of: AwareDatetime
    only_unopened: bool = False


class OpenBatchResult(NoticeflowModel):
    after: str | None
    last_id: str | None
    scanned: int = Field(0, description="Deliveries read in this page.")
    counts: FanoutCounts
    deferred_until: AwareDatetime | None = Field(None, description="Latest window still running in this page.")
    digest: str


class OpeningTotalsInput(NoticeflowModel):
    new_version: str
    notice_id: str


class MarkInput(NoticeflowModel):
    notice_id: str
    new_version: str
    marks: MarkDeliveries
    at: AwareDatetime


class BatchChildInput(NoticeflowModel):
    """Input of ``RevisedNoticeBatchWorkflow``: up to ``batches`` pages from ``after``."""

    parent_id: str
    mode: Literal["deliver", "open"]
    old_version: str
    new_version: str
    notice_id: str
    jurisdiction: StateCode
    include_former_customers: bool = False
    after: str | None
    through: str | None = Field(None, description="Opening: the cohort's last relationship id.")
    batch_size: int
    batches: int
    first_batch_no: int = 0
    as_of: AwareDatetime | None = Field(None, description="Opening: when the cohort's window closed.")
    only_unopened: bool = False


class BatchChildResult(NoticeflowModel):
    mode: Literal["deliver", "open"]
    after: str | None
    last_id: str | None
    exhausted: bool = Field(description="No relationships left after ``last_id`` (in the range).")
    batches: int
    counts: FanoutCounts
    cohorts: list[Cohort] = Field(default_factory=list)
    deferred: list[Cohort] = Field(default_factory=list)
    next_batch_no: int = 0
    totals: FanoutCounts | None = Field(None, description="Opening: the notice's openings on record, by status.")


RevisedNoticeStart.model_rebuild()
