"""The cybersecurity-event lifecycle as responders drive it: findings, the determination, changes
to the event, waivers and the state each workflow reports.

These are the inputs of the workflows' updates and the shapes their queries return. They carry
no NPI: consumers appear as counts, and documents by digest.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Literal

from pydantic import AwareDatetime, Field, model_validator
from pydantic_core import PydanticCustomError

from models.authority import StepAuthority
from models.common import NoticeflowModel, StateCode
from models.content import CedingInsurer, DocumentRef, NoticeContent, Producer
from models.incident import AffectedState, IncidentIntake, ReportItemCode
from models.obligation import NoticeMethod, Obligation, ObligationKind
from models.privileged import PrivilegeBasis
from models.steps import ReportItemNotApplicable, Responders


class Stage(StrEnum):
    """Where a cybersecurity event stands (SPEC §3)."""

    INVESTIGATION = "investigation"
    NOTIFYING = "notifying"
    CLOSED = "closed"
    NOT_AN_EVENT = "not_an_event"


class FindingKind(StrEnum):
    """What a responder found, named after the investigation step (NAIC model #668 § 5(B);
    Tenn. Code Ann. § 56-2-1005) or the commissioner-report item it answers (Tenn. Code Ann.
    § 56-2-1006(b)(1)(A)–(N)). Which items each kind may supply: ``rules/report_items.py``."""

    #: How the information was exposed and how the event was discovered — (A), (B), (C), (H).
    NATURE_AND_SCOPE = "nature_and_scope"
    #: The types of nonpublic information or data elements acquired — (G).
    NPI_INVOLVED = "npi_involved"
    #: Security of the information systems restored — part of the remediation, (K).
    SECURITY_RESTORED = "security_restored"
    #: A third-party service provider's event: the licensee confirmed the provider's investigation
    #: (its findings on how, when and by whom) — (B), (C), (E), (H).
    TPSP_INVESTIGATION_CONFIRMED = "tpsp_investigation_confirmed"
    #: The identity of the source of the event — (E).
    SOURCE_IDENTIFIED = "source_identified"
    #: Whether the information was recovered, and how — (D).
    INFORMATION_RECOVERED = "information_recovered"
    #: A police report filed, or regulatory, governmental or law-enforcement agencies notified,
    #: and when — (F).
    LAW_ENFORCEMENT_NOTIFIED = "law_enforcement_notified"
    #: The period during which the information system was compromised; its start is the date of
    #: the event — (A), (H).
    COMPROMISE_PERIOD = "compromise_period"
    #: The results of an internal review: were automated controls or internal procedures followed —
    #: (J). Privileged by default (conducted at counsel's direction).
    INTERNAL_REVIEW = "internal_review"
    #: The efforts to remediate the situation that permitted the event — (K).
    REMEDIATION = "remediation"
    #: Counsel's note on the event: answers no report item. Privileged by default.
    COUNSEL_NOTE = "counsel_note"

    @property
    def privileged_by_default(self) -> bool:
        """Counsel's notes and the internal review are presumed privileged; any other finding is
        privileged only when the responder says so (e.g. forensic findings commissioned through
        counsel)."""
        return self in (FindingKind.INTERNAL_REVIEW, FindingKind.COUNSEL_NOTE)

    @property
    def supplies_report_items(self) -> bool:
        return self is not FindingKind.COUNSEL_NOTE


class Finding(NoticeflowModel):
    """One investigation finding. It names the commissioner-report items it supplies; whether its
    kind fits those items is checked by ``rules.report_items.finding_problem``.

    A privileged finding (``privileged``) is sealed in the document store and ledgered by digest
    only; the commissioner report then gives its ``report_statement`` — the non-privileged
    statement counsel approved for the regulator — never the sealed text."""

    kind: FindingKind
    summary: str = Field(
        min_length=1, max_length=4000,
        description="What was found, without NPI. For a privileged finding: the privileged text (sealed).",
    )
    recorded_by: str = Field(min_length=1, max_length=200)
    report_items: list[ReportItemCode] = Field(
        default_factory=list,
        description="Commissioner-report items (Tenn. Code Ann. § 56-2-1006(b)(1)) this finding supplies; required "
        "for every kind but counsel_note.",
    )
    privileged: bool = Field(
        False,
        description="Counsel's note, privileged forensic finding or internal review: sealed, ledgered by digest. "
        "Default: true for internal_review and counsel_note, false otherwise.",
    )
    privilege_basis: PrivilegeBasis | None = Field(
        None,
        description="Why it is privileged (privileged findings only). Default: attorney_client for a counsel_note, "
        "work_product otherwise.",
    )
    report_statement: str | None = Field(
        None, min_length=1, max_length=4000,
        description="Privileged findings that supply report items: what the commissioner report states instead of "
        "the sealed text (approved by counsel, without NPI).",
    )

    @model_validator(mode="before")
    @classmethod
    def _privileged_by_kind(cls, data: Any) -> Any:
        if isinstance(data, dict) and "privileged" not in data:
            try:
                kind = FindingKind(data.get("kind"))
            except ValueError:
                return data  # the field validator names the bad kind
            data = {**data, "privileged": kind.privileged_by_default}
        return data

    @model_validator(mode="after")
    def _consistent(self) -> Finding:
        if self.kind.supplies_report_items and not self.report_items:
            raise PydanticCustomError(
                "report_items_required",
                "report_items: name the commissioner-report items (A)–(N) this {kind} finding supplies "
                "(Tenn. Code Ann. § 56-2-1006(b)(1))",
                {"kind": self.kind.value},
            )
        if len(set(self.report_items)) != len(self.report_items):
            raise PydanticCustomError("report_items_duplicate", "report_items: each item may be listed once")
        if not self.privileged:
            if self.privilege_basis is not None:
                raise PydanticCustomError("privilege_basis_unexpected", "privilege_basis: only a privileged finding has one")
            if self.report_statement is not None:
                raise PydanticCustomError(
                    "report_statement_unexpected",
                    "report_statement: only a privileged finding has one; the summary of a finding that is not privileged "
                    "is what the commissioner report states",
                )
            return self
        if self.privilege_basis is None:
            basis = PrivilegeBasis.ATTORNEY_CLIENT if self.kind is FindingKind.COUNSEL_NOTE else PrivilegeBasis.WORK_PRODUCT
            object.__setattr__(self, "privilege_basis", basis)
        if self.report_items and self.report_statement is None:
            raise PydanticCustomError(
                "report_statement_required",
                "report_statement: a privileged finding that supplies report items needs the statement the commissioner "
                "report gives instead of the sealed text (approved by counsel, without NPI)",
            )
        return self


class Exclusion(StrEnum):
    """The two exclusions from 'cybersecurity event' (RSMo § 375.1402(3))."""

    ENCRYPTED_KEY_NOT_COMPROMISED = "encrypted_key_not_compromised"  # (3)(a)
    RETURNED_OR_DESTROYED_UNUSED = "returned_or_destroyed_unused"  # (3)(b)


class Determination(NoticeflowModel):
    """A responder's decision that a cybersecurity event has, or has not, occurred."""

    is_cybersecurity_event: bool
    decided_by: str = Field(min_length=1, max_length=200)
    reason: str = Field(min_length=1, max_length=4000)
    exclusion: Exclusion | None = Field(
        None, description="Required when is_cybersecurity_event is false: which exclusion applies."
    )
    determined_at: AwareDatetime | None = Field(
        None, description="When the determination was made; the workflow's clock when omitted."
    )

    @model_validator(mode="after")
    def _exclusion_matches(self) -> Determination:
        if not self.is_cybersecurity_event and self.exclusion is None:
            raise PydanticCustomError(
                "exclusion_required",
                "exclusion is required when is_cybersecurity_event is false: name the exclusion of "
                "RSMo § 375.1402(3) that applies (encrypted_key_not_compromised or "
                "returned_or_destroyed_unused)",
            )
        if self.is_cybersecurity_event and self.exclusion is not None:
            raise PydanticCustomError(
                "exclusion_unexpected", "exclusion must be empty when is_cybersecurity_event is true"
            )
        return self


class EventAmendment(NoticeflowModel):
    """New facts about an open event: each one is a material update to the commissioner report
    (Tenn. Code Ann. § 56-2-1006(b)(2)) and may add obligations, never remove them."""

    recorded_by: str = Field(min_length=1, max_length=200)
    summary: str = Field(min_length=1, max_length=4000)
    affected: list[AffectedState] | None = Field(
        None, description="Replacement per-state rows (consumer estimate, item (I))."
    )
    report_items_provided: list[ReportItemCode] = Field(default_factory=list)
    law_enforcement_delay_until: AwareDatetime | None = None
    law_enforcement_basis: str | None = Field(
        None, description="The law-enforcement request (agency, date, reference) that justifies a delay."
    )

    @model_validator(mode="after")
    def _delay_has_basis(self) -> EventAmendment:
        if self.law_enforcement_delay_until is not None and not self.law_enforcement_basis:
            raise PydanticCustomError(
                "law_enforcement_basis_required",
                "law_enforcement_basis is required with law_enforcement_delay_until: a consumer-notice "
                "deadline is extended only by a documented law-enforcement request "
                "(Tenn. Code Ann. § 56-2-1006(c))",
            )
        return self


class ObligationStatus(StrEnum):
    PENDING = "pending"
    OVERDUE = "overdue"
    #: The notice was given (sent, with the channel's evidence) and awaits its confirmation: a
    #: regulator's acknowledgement, or no hard bounce within the bounce window. Not resolved.
    SENT = "sent"
    #: Sent and confirmed; ``met`` / ``met_late`` judged on when it was sent, against the due instant.
    MET = "met"
    MET_LATE = "met_late"
    WAIVED = "waived"
    EXCUSED = "excused"

    @property
    def resolved(self) -> bool:
        return self in (ObligationStatus.MET, ObligationStatus.MET_LATE, ObligationStatus.WAIVED, ObligationStatus.EXCUSED)


class Waiver(NoticeflowModel):
    waived_by: str = Field(min_length=1, max_length=200)
    reason: str = Field(min_length=10, max_length=4000, description="Why the obligation does not apply or was met otherwise.")
    forwarded_under: StepAuthority | None = Field(
        None,
        description="Set by the event workflow when it hands the step to the obligation's workflow: the actor "
        "assertion the step was taken under (models/authority.py). Cleared before the step is kept in any state.",
    )


class ManualCompletion(NoticeflowModel):
    """A notice given outside noticeflow (a portal filed by hand, a call), recorded as evidence."""

    completed_by: str = Field(min_length=1, max_length=200)
    completed_at: AwareDatetime | None = None
    evidence: str = Field(min_length=1, max_length=4000, description="What was done and where the proof is kept.")
    evidence_sha256: str | None = Field(None, pattern=r"^[0-9a-f]{64}$")
    forwarded_under: StepAuthority | None = Field(
        None,
        description="Set by the event workflow when it hands the step to the obligation's workflow: the actor "
        "assertion the step was taken under (models/authority.py). Cleared before the step is kept in any state.",
    )


class DeliveryCounts(NoticeflowModel):
    sent: int = 0
    pending: int = 0
    failed: int = 0
    returned: int = 0


class ObligationState(NoticeflowModel):
    """What an obligation's workflow reports: its obligation, where it stands, what it waits for."""

    obligation: Obligation
    workflow_id: str
    status: ObligationStatus
    due: AwareDatetime
    waiting_for: str
    method: NoticeMethod | None = None
    met_at: datetime | None = Field(None, description="When the notice was given (its sent_at), once it is confirmed.")
    sent_at: datetime | None = Field(None, description="When the notice was given: the channel's time (relay, portal, vendor).")
    confirmed_at: datetime | None = Field(None, description="When it was confirmed (acknowledgement, bounce window passed).")
    evidence: dict[str, Any] = Field(
        default_factory=dict, description="The channel's evidence of sending and of confirmation, in short (ids, digests; no NPI)."
    )
    documents: list[DocumentRef] = Field(default_factory=list, description="The documents of record delivered.")
    deliveries: DeliveryCounts = Field(default_factory=DeliveryCounts)
    updates_sent: int = 0
    reminders_sent: int = 0
    waiver: Waiver | None = None


class IncidentState(NoticeflowModel):
    """What the event workflow reports to the API and the UI."""

    incident_id: str
    stage: Stage
    jurisdictions: list[StateCode]
    findings: list[Finding] = Field(default_factory=list)
    determination: Determination | None = None
    determined_at: datetime | None = None
    obligations: list[ObligationState] = Field(default_factory=list)
    next_deadline: datetime | None = None
    overdue: list[str] = Field(default_factory=list, description="obligation_ids past their deadline.")
    waiting_for: str = ""
    amendments: int = 0
    closed_at: datetime | None = None
    retain_until: datetime | None = None
    responders: Responders | None = None
    counsel_reviews: dict[str, str] = Field(default_factory=dict, description="obligation_id → counsel's decision.")
    counsel_reviews_pending: list[str] = Field(
        default_factory=list, description="Obligations flagged needs_counsel_review that counsel has not reviewed yet."
    )
    report_items_missing: dict[str, list[str]] = Field(
        default_factory=dict, description="Per state, commissioner-report items neither answered nor marked not applicable."
    )


class ObligationInput(NoticeflowModel):
    """What an obligation's workflow starts from."""

    incident_id: str
    parent_workflow_id: str
    obligation: Obligation
    intake: IncidentIntake
    notices: NoticeSetup
    findings: list[Finding] = Field(default_factory=list)
    amendments: list[EventAmendment] = Field(default_factory=list)
    not_applicable: list[ReportItemNotApplicable] = Field(default_factory=list)
    roster_id: str | None = None
    reminder_offsets: list[timedelta] = Field(default_factory=lambda: [timedelta(hours=24), timedelta(hours=4)])
    delivered_with: str | None = Field(
        None,
        description="Another obligation of the same kind and recipient (e.g. producers of record owed notice "
        "under several states' laws): one delivery, made by that obligation's workflow, meets both.",
    )
    responders: Responders | None = Field(
        None, description="The event's owner and backup: reminders and overdue alerts go to them."
    )
    escalation_interval: timedelta = Field(
        timedelta(hours=24),
        gt=timedelta(0),
        description="How long an obligation stays overdue before the alert is escalated to the backup.",
    )


class NoticeSetup(NoticeflowModel):
    """What the licensee gives for its notices: their content and the parties besides consumers."""

    content: NoticeContent
    producers: list[Producer] = Field(default_factory=list, description="Producer directory (§ 56-2-1006(f)).")
    ceding_insurers: list[CedingInsurer] = Field(
        default_factory=list, description="Affected ceding insurers, for an assuming insurer (§ 56-2-1006(e))."
    )
    media_outlets: dict[StateCode, list[str]] = Field(
        default_factory=dict, description="Major statewide media per state, for substitute notice (§ 56-2-1006(c)(3)(C))."
    )


class IncidentStart(NoticeflowModel):
    """What starts an event's workflow: the intake, who opened it, when reminders fall."""

    intake: IncidentIntake
    notices: NoticeSetup
    opened_by: str = Field(min_length=1, max_length=200)
    reminder_offsets: list[timedelta] = Field(default_factory=lambda: [timedelta(hours=24), timedelta(hours=4)])
    responders: Responders | None = Field(
        None, description="Who answers for the event's deadlines: reminders go to the owner, overdue alerts escalate to the backup."
    )

    @model_validator(mode="after")
    def _ceding_insurers_for_assuming_insurer(self) -> IncidentStart:
        from models.licensee import LicenseeKind

        if self.intake.licensee.kind is LicenseeKind.ASSUMING_INSURER and not self.notices.ceding_insurers:
            raise PydanticCustomError(
                "ceding_insurers_required",
                "notices.ceding_insurers is required for an assuming insurer: it notifies the affected ceding "
                "insurers within three business days (Tenn. Code Ann. § 56-2-1006(e))",
            )
        if any(offset.total_seconds() <= 0 for offset in self.reminder_offsets):
            raise PydanticCustomError("reminder_offsets", "reminder_offsets must be positive durations, e.g. PT24H")
        return self


class MaterialUpdate(NoticeflowModel):
    """A change to an open event, passed to each commissioner-notice workflow to re-report."""

    sequence: int = Field(ge=1, description="1 for the first amendment of the event, then 2, 3, …")
    step: str = Field("", description="The event step that caused it (e.g. finding/3): one updated report per step.")
    summary: str
    changes: list[str]
    recorded_by: str
    intake: IncidentIntake
    findings: list[Finding] = Field(default_factory=list)
    amendments: list[EventAmendment] = Field(default_factory=list)
    not_applicable: list[ReportItemNotApplicable] = Field(
        default_factory=list, description="Report items marked not applicable, with their reasons."
    )
    consumer_obligations: list[Obligation] = Field(
        default_factory=list, description="The state's consumer-notice obligations, for items (L) and (N)."
    )
    consumer_notice_documents: list[DocumentRef] = Field(
        default_factory=list, description="Copies of the consumer notices sent, for item (N)."
    )
    roster_id: str | None = None


class ApproveConsumerNotice(NoticeflowModel):
    """A compliance officer's approval to send consumer notices (all states, or the ones listed)."""

    approved_by: str = Field(min_length=1, max_length=200)
    jurisdictions: list[StateCode] | None = None


class AttachRoster(NoticeflowModel):
    """The affected consumers' contact list, uploaded to the roster store, by reference only."""

    roster_id: str = Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$")
    attached_by: str = Field(min_length=1, max_length=200)


class ObligationAction(NoticeflowModel):
    """A waiver or manual completion addressed to one obligation of the event."""

    obligation_id: str
    waiver: Waiver | None = None
    completion: ManualCompletion | None = None

    @model_validator(mode="after")
    def _one_action(self) -> ObligationAction:
        if (self.waiver is None) == (self.completion is None):
            raise PydanticCustomError("one_action", "give exactly one of waiver or completion")
        return self


class CloseEvent(NoticeflowModel):
    closed_by: str = Field(min_length=1, max_length=200)
    summary: str = Field(min_length=1, max_length=4000)


ChannelName = Literal["email", "postal", "website", "media", "regulator_portal"]

__all__ = [
    "ApproveConsumerNotice",
    "AttachRoster",
    "ChannelName",
    "CloseEvent",
    "IncidentStart",
    "MaterialUpdate",
    "NoticeSetup",
    "ObligationAction",
    "ObligationInput",
    "DeliveryCounts",
    "Determination",
    "EventAmendment",
    "Exclusion",
    "Finding",
    "FindingKind",
    "IncidentState",
    "ManualCompletion",
    "ObligationKind",
    "ObligationState",
    "ObligationStatus",
    "Stage",
    "Waiver",
]
