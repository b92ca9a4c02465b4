"""Steps a person takes on an open event besides findings and the determination: who is
responsible for it, counsel's review of a rule the engine could not verify, and the reconciliation
of the consumer roster with the affected count.

No NPI here: responders are staff of the licensee (their work e-mail is a business contact, not a
consumer's), counsel's notes are sealed in the document store and only their digest is ledgered.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field, model_validator
from pydantic_core import PydanticCustomError

from models.common import NoticeflowModel, StateCode
from models.content import Email
from models.incident import ReportItemCode


class Responder(NoticeflowModel):
    """A member of the licensee's staff answerable for the event's deadlines."""

    responder_id: str = Field(min_length=1, max_length=200, description="The person's user id (the actor of their steps).")
    name: str = Field(min_length=1, max_length=200)
    email: Email = Field(description="Work e-mail where reminders and overdue alerts go.")


class Responders(NoticeflowModel):
    """The event's owner, and the backup an overdue obligation escalates to."""

    owner: Responder
    backup: Responder | None = None

    @model_validator(mode="after")
    def _backup_is_someone_else(self) -> Responders:
        if self.backup is not None and self.backup.responder_id == self.owner.responder_id:
            raise PydanticCustomError("backup_is_owner", "responders.backup must be a different person from responders.owner")
        return self


class AssignResponders(NoticeflowModel):
    """A change of the event's owner or backup (a recorded step)."""

    responders: Responders
    assigned_by: str = Field(min_length=1, max_length=200)
    reason: str = Field(min_length=1, max_length=1000)


class CounselDecision(StrEnum):
    #: Counsel confirms the rule as the engine applied it (clock, trigger, method).
    CONFIRMED = "confirmed"
    #: Counsel reads the law differently; the obligation is acted on as counsel says (waived,
    #: completed another way or its due instant changed by an amendment), and the ledger keeps why.
    CHANGED = "changed"


class CounselReview(NoticeflowModel):
    """Counsel clears a ``needs_counsel_review`` flag on one obligation of the event."""

    obligation_id: str = Field(min_length=1, max_length=300)
    reviewer: str = Field(min_length=1, max_length=200, description="Counsel's user id.")
    decision: CounselDecision
    notes: str = Field(
        min_length=1, max_length=8000,
        description="Counsel's reasoning. Privileged: sealed in the document store; the ledger keeps its digest.",
    )


class ConsumerReconciliation(NoticeflowModel):
    """A recorded revision of a state's affected-consumer estimate (report item (I)), e.g. after
    the roster was reconciled with the systems involved."""

    state: StateCode
    consumers: int = Field(ge=0, description="The revised best estimate of affected consumers residing in the state.")
    reason: str = Field(min_length=10, max_length=2000, description="Why the estimate changed (what was counted, from where).")
    recorded_by: str = Field(min_length=1, max_length=200)

    @model_validator(mode="after")
    def _reason_is_a_sentence(self) -> ConsumerReconciliation:
        if not any(ch.isalpha() for ch in self.reason):
            raise PydanticCustomError("reason_required", "reason must say why the estimate changed")
        return self


#: Items of Tenn. Code Ann. § 56-2-1006(b)(1) that apply to every commissioner report: (I) "the
#: licensee shall provide its best estimate … in its initial report" and (M) a representative
#: "for contact from the commissioner" — there is always an estimate and someone to contact.
ITEMS_ALWAYS_APPLICABLE: frozenset[ReportItemCode] = frozenset({ReportItemCode.I, ReportItemCode.M})


class ReportItemNotApplicable(NoticeflowModel):
    """A commissioner-report item that does not apply to this event, with the reason: e.g. (D)
    when nothing was lost or stolen to be recovered. Closure needs every item of every state's
    report answered or so marked; the report shows the item as not applicable with the reason."""

    state: StateCode | None = Field(None, description="The state whose report it concerns; none: every state's report.")
    item: ReportItemCode
    reason: str = Field(min_length=10, max_length=2000, description="Why the item does not apply to this event.")
    recorded_by: str = Field(min_length=1, max_length=200)

    @model_validator(mode="after")
    def _applicable_items(self) -> ReportItemNotApplicable:
        if self.item in ITEMS_ALWAYS_APPLICABLE:
            raise PydanticCustomError(
                "item_always_applicable",
                "item: ({item}) applies to every commissioner report and cannot be marked not applicable "
                "(Tenn. Code Ann. § 56-2-1006(b)(1)({item}))",
                {"item": self.item.value},
            )
        if not any(ch.isalpha() for ch in self.reason):
            raise PydanticCustomError("reason_required", "reason must say why the item does not apply")
        return self
