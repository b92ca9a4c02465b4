"""Notice documents, the consumer roster and deliveries: what the notice activities take and return.

Consumers travel through workflow payloads and the ledger only as ``consumer_ref`` digests
(``npi_digest`` of the licensee's own consumer id) and counts. A :class:`ConsumerContact` — name,
e-mail, postal address — lives only in the roster store and is read there by the activity that
needs it; no model below that a workflow sees carries one.
"""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import AwareDatetime, BeforeValidator, Field, model_validator
from pydantic_core import PydanticCustomError

from models.authority import StepAuthority
from models.common import NoticeflowModel, StateCode
from models.incident import IncidentIntake, ReportItemCode
from models.content import (
    blank_to_none,
    CedingInsurer,
    DocumentKind,
    DocumentRef,
    Email,
    NoticeContact,
    NoticeContent,
    OptionalText,
    PostalAddress,
    Producer,
    Representative,
    Sha256,
)
from models.lifecycle import DeliveryCounts, EventAmendment, Finding
from models.obligation import NoticeMethod, Obligation, SubstituteTrigger
from models.steps import ReportItemNotApplicable

CONSUMER_REF_PATTERN = r"^hmac-sha256:[0-9a-f]{64}$"
ConsumerRef = Annotated[str, Field(pattern=CONSUMER_REF_PATTERN, description="npi_digest of the licensee's consumer id.")]
#: Roster ids name files and rows: letters, digits and . _ : - only.
ROSTER_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,199}$"


# =============================================================================================
# The consumer roster (PII: roster store only)
# =============================================================================================


class ConsumerContact(NoticeflowModel):
    """One affected consumer on a notification roster. PII: kept in the roster store only."""

    consumer_ref: ConsumerRef
    state: StateCode = Field(description="State of residence: decides whose law and which obligation applies.")
    name: str = Field(min_length=1, max_length=200)
    email: Email | None = None
    postal_address: PostalAddress | None = None
    electronic_consent: bool = Field(
        False,
        description="The consumer agreed to electronic notices (15 U.S.C. § 7001) or the licensee's "
        "primary channel with the consumer is electronic (Tenn. Code Ann. § 56-2-1006(c)(2)).",
    )
    producer_of_record: str | None = Field(None, max_length=100, description="producer_id of the producer of record, if known.")


def require_whole_address(address_line1: str | None, city: str | None, postal_code: str | None) -> None:
    """An upload row's postal address is given whole (line 1, city, postal code) or not at all."""
    parts = {"address_line1": address_line1, "city": city, "postal_code": postal_code}
    given = [k for k, v in parts.items() if v]
    if given and len(given) != len(parts):
        missing = ", ".join(k for k in parts if k not in given)
        raise PydanticCustomError(
            "address_incomplete",
            "postal address is incomplete: {missing} missing (give address_line1, city and "
            "postal_code together, or none of them)",
            {"missing": missing},
        )


class RosterUploadRow(NoticeflowModel):
    """One row of an uploaded roster (JSON list of objects or CSV with these column names).

    ``consumer_id`` is the licensee's own id of the consumer; it is replaced by its digest on
    upload and never stored.
    """

    consumer_id: str = Field(min_length=1, max_length=200)
    state: StateCode
    name: str = Field(min_length=1, max_length=200)
    email: Annotated[Email | None, BeforeValidator(blank_to_none)] = None
    address_line1: OptionalText = None
    address_line2: OptionalText = None
    city: OptionalText = None
    region: OptionalText = None
    postal_code: OptionalText = None
    country: OptionalText = None
    electronic_consent: Annotated[bool, BeforeValidator(lambda v: False if blank_to_none(v) is None else v)] = False
    producer_of_record: OptionalText = None

    @model_validator(mode="after")
    def _address_complete(self) -> RosterUploadRow:
        require_whole_address(self.address_line1, self.city, self.postal_code)
        return self

    def postal_address(self) -> PostalAddress | None:
        if not self.address_line1:
            return None
        return PostalAddress(
            line1=self.address_line1,
            line2=self.address_line2,
            city=self.city or "",
            region=self.region or self.state,
            postal_code=self.postal_code or "",
            country=self.country or "US",
        )


class StateRosterCounts(NoticeflowModel):
    consumers: int = 0
    with_email: int = Field(0, description="An e-mail address is known (substitute notice (c)(3)(A)).")
    electronic: int = Field(0, description="An e-mail address and electronic consent: electronic notice (c)(2).")
    with_postal_address: int = 0
    postal_only: int = Field(0, description="A postal address and no e-mail address.")
    without_contact: int = Field(0, description="Neither a postal address nor an e-mail address.")


class RosterSummary(NoticeflowModel):
    """Counts of a stored roster per state of residence — no names, no addresses."""

    roster_id: str
    total: int
    by_state: dict[str, StateRosterCounts]
    content_sha256: Sha256 = Field(description="SHA-256 of the stored rows, to record which roster was used.")
    generation: int = Field(description="1 for the first upload, +1 for each replacement.")


# =============================================================================================
# Other recipients and the content of a notice
# =============================================================================================


# =============================================================================================
# Commissioner report
# =============================================================================================


class ReportItemAvailability(StrEnum):
    AVAILABLE = "available"
    #: Some of the item is known; the rest will be supplemented (§ 56-2-1006(b)(2)).
    PARTIAL = "partial"
    NOT_YET_AVAILABLE = "not_yet_available"
    NOT_APPLICABLE = "not_applicable"


class ReportItemContent(NoticeflowModel):
    code: ReportItemCode
    description: str
    citation: str
    status: ReportItemAvailability
    statements: list[str] = Field(default_factory=list)
    note: str | None = None


class ReportChange(NoticeflowModel):
    item: ReportItemCode | None = Field(None, description="The item that changed; none for the report as a whole.")
    summary: str


class FilingCheckpoint(NoticeflowModel):
    """The ledger's checkpoint a filing carries (issue 10 spec G): before a report is filed, the
    activity signs and stores a tree head of the whole ledger; the filed document shows its C2SP
    checkpoint, the filing's ledger entry these three fields. An examiner keeps them and passes the
    checkpoint to the bundle verifier (``--known-checkpoint``): a later export must extend it."""

    origin: str = Field(min_length=1, description="Settings.ledger_origin: the checkpoint's origin and key name.")
    tree_size: int = Field(ge=0, description="Entries in the ledger when the head was signed.")
    root_hash: str = Field(pattern=r"^[0-9a-f]{64}$", description="Hex Merkle root of those entries (RFC 9162).")


class CommissionerReport(NoticeflowModel):
    """The JSON document of record of one version of a commissioner report."""

    format: Literal["noticeflow.commissioner_report/1"] = "noticeflow.commissioner_report/1"
    incident_id: str
    obligation_id: str
    jurisdiction: StateCode
    recipient_name: str
    citation: str
    licensee_name: str
    licensee_naic_code: str
    version: int = Field(ge=1)
    material_update: bool
    previous_sha256: Sha256 | None = None
    as_of: AwareDatetime
    items: list[ReportItemContent]
    consumer_estimate: int = Field(ge=0, description="Item (I): consumers residing in the jurisdiction.")
    consumers_by_state: dict[str, int]
    changes: list[ReportChange] = Field(default_factory=list)
    updates: list[str] = Field(default_factory=list, description="Amendments recorded on the event, oldest first.")
    ledger_checkpoint: FilingCheckpoint | None = Field(
        None, description="The ledger's size and root signed just before this version was rendered for filing."
    )
    ledger_checkpoint_note: str | None = Field(
        None, description="That checkpoint as a C2SP tlog-checkpoint signed note (docs/ledger-format.md)."
    )


class RenderCommissionerReportInput(NoticeflowModel):
    obligation: Obligation = Field(description="The commissioner_notice obligation (its report_items give the checklist).")
    intake: IncidentIntake = Field(description="The event as currently known (amended per-state counts included).")
    findings: list[Finding] = Field(default_factory=list)
    amendments: list[EventAmendment] = Field(default_factory=list)
    consumer_obligations: list[Obligation] = Field(
        default_factory=list, description="The event's consumer_notice obligations: item (L)'s notification steps."
    )
    consumer_notice_documents: list[DocumentRef] = Field(
        default_factory=list, description="Copies of the notices sent to consumers in this state: item (N)."
    )
    content: NoticeContent | None = Field(None, description="Representative (M) and privacy policy (L).")
    not_applicable: list[ReportItemNotApplicable] = Field(
        default_factory=list, description="Items responders marked not applicable, with the reason (all states or this one)."
    )
    roster_id: str | None = Field(None, pattern=ROSTER_ID_PATTERN)
    version: int = Field(1, ge=1)
    previous: DocumentRef | None = Field(None, description="The JSON of the previous version; required when version > 1.")
    reported_changes: list[str] = Field(
        default_factory=list, description="Changes as the workflow recorded them; listed before those found by comparison."
    )
    as_of: AwareDatetime

    @model_validator(mode="after")
    def _previous_for_update(self) -> RenderCommissionerReportInput:
        if self.version > 1 and self.previous is None:
            raise PydanticCustomError(
                "previous_required",
                "previous is required for version {version}: a material update lists what changed since "
                "the previous report (Tenn. Code Ann. § 56-2-1006(b)(2))",
                {"version": self.version},
            )
        return self


class CommissionerReportResult(NoticeflowModel):
    obligation_id: str
    jurisdiction: StateCode
    version: int
    material_update: bool
    json_document: DocumentRef
    html_document: DocumentRef
    available: list[ReportItemCode]
    not_yet_available: list[ReportItemCode] = Field(description="Items to supplement later (partial ones included).")
    changes: list[ReportChange]
    consumer_estimate: int
    checkpoint: FilingCheckpoint | None = Field(
        None, description="The ledger checkpoint the filed document shows (None: rendered by an older worker)."
    )


# =============================================================================================
# Regulator submission
# =============================================================================================


class RegulatorOffice(StrEnum):
    """Which office of a state a filing goes to: its insurance commissioner (Tenn. Code Ann.
    § 56-2-1006(b)) or its attorney general (a general breach law, e.g. Tex. Bus. & Com. Code
    § 521.053). The outbox keeps each office's filings apart."""

    COMMISSIONER = "commissioner"
    ATTORNEY_GENERAL = "attorney_general"


class SubmitToRegulatorInput(NoticeflowModel):
    obligation_id: str
    jurisdiction: StateCode
    recipient_name: str
    office: RegulatorOffice = Field(RegulatorOffice.COMMISSIONER, description="The office of `jurisdiction` filed with.")
    version: int = Field(1, ge=1)
    documents: list[DocumentRef] = Field(min_length=1, description="The first is the document of record.")


class RegulatorReceipt(NoticeflowModel):
    jurisdiction: StateCode
    office: RegulatorOffice = RegulatorOffice.COMMISSIONER
    submission_id: str
    submitted_at: AwareDatetime
    document_sha256: Sha256 = Field(description="The document of record submitted.")
    documents: list[Sha256] = Field(default_factory=list, description="Every document submitted.")
    portal: str = Field(description="The adapter that made the submission.")
    reference: str | None = Field(None, description="The portal's own confirmation number, if it gives one.")

    def sent_evidence(self) -> dict[str, object]:
        """What a ``<kind>.sent`` entry keeps of the filing: ids and digests (and the office, when
        it is not the commissioner)."""
        evidence: dict[str, object] = {
            "channel": "regulator_portal",
            "portal": self.portal,
            "submission_id": self.submission_id,
            "submitted_at": self.submitted_at.isoformat(),
            "document_sha256": self.document_sha256,
            "portal_reference": self.reference,
        }
        if self.office is not RegulatorOffice.COMMISSIONER:
            evidence["office"] = self.office.value
        return evidence


#: A regulator's reference number: letters, digits and ``. _ : / # -`` (no spaces to hide NPI in).
ACK_REFERENCE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:/#-]{0,99}$"


class RegulatorAcknowledgement(NoticeflowModel):
    """A regulator's (commissioner's or attorney general's) acknowledgement that a filing was
    received, with its reference number: what confirms a commissioner or attorney-general notice —
    the filing alone is only *sent*. It comes from the portal (``RegulatorPortal.acknowledgement``,
    polled) or is recorded by a person (``record_acknowledgement`` on the filing's workflow)."""

    reference: str = Field(pattern=ACK_REFERENCE_PATTERN, description="The regulator's reference number for the filing.")
    received_at: AwareDatetime = Field(description="When the regulator received the filing, as its acknowledgement states.")
    recorded_by: str = Field(min_length=1, max_length=200, description="A person's id, or `portal:<adapter>`.")
    evidence_sha256: Sha256 | None = Field(
        None, description="The acknowledgement itself (e-mail, portal page), kept in the document store."
    )
    version: int | None = Field(
        None, ge=1, description="The filing acknowledged: 1 the initial report, n > 1 an updated one. None: the oldest "
        "filing not yet acknowledged."
    )
    simulated: bool = Field(
        False, description="Written by the dev outbox's simulation (NOTICEFLOW_OUTBOX_SIMULATE_ACKS), not by a regulator."
    )
    forwarded_under: StepAuthority | None = Field(
        None,
        description="Set by the event workflow when it hands the step to the obligation's workflow: the actor "
        "assertion the step was taken under (models/authority.py). Cleared before the step is kept in any state.",
    )

    def confirmation_evidence(self) -> dict[str, object]:
        data: dict[str, object] = {
            "acknowledgement_reference": self.reference,
            "received_at": self.received_at.isoformat(),
            "recorded_by": self.recorded_by,
            "evidence_sha256": self.evidence_sha256,
        }
        if self.simulated:
            data["simulated"] = "simulated by the dev outbox (NOTICEFLOW_OUTBOX_SIMULATE_ACKS): no regulator acknowledged it"
        return data



class AcknowledgeFiling(NoticeflowModel):
    """A person records a regulator's acknowledgement of one obligation's filing (an e-mail or
    a portal page received outside noticeflow); the event routes it to the obligation's workflow."""

    obligation_id: str = Field(min_length=1, max_length=300)
    acknowledgement: RegulatorAcknowledgement

class AcknowledgementQuery(NoticeflowModel):
    """Ask the portal whether the regulator acknowledged these filings."""

    jurisdiction: StateCode = Field(description="The state whose office the filings went to.")
    office: RegulatorOffice = RegulatorOffice.COMMISSIONER
    submission_ids: list[str] = Field(min_length=1)


class AcknowledgementsFound(NoticeflowModel):
    acknowledgements: dict[str, RegulatorAcknowledgement] = Field(
        default_factory=dict, description="submission_id → its acknowledgement, for those acknowledged."
    )
    unreadable: dict[str, str] = Field(
        default_factory=dict, description="submission_id → why its acknowledgement could not be read."
    )
    tracking_business_days: int | None = Field(
        None, ge=1,
        description="NOTICEFLOW_ACKNOWLEDGEMENT_TRACKING_BUSINESS_DAYS: after the event is closed, how many business "
        "days after the last filing its acknowledgements are still asked for (None: the workflow's default).",
    )


# =============================================================================================
# Deliveries
# =============================================================================================

DeliveryChannelName = Literal["email", "postal", "website", "media"]


class FailureKind(StrEnum):
    BOUNCED = "bounced"  # the mail server refused the recipient, or a bounce came back
    RETURNED = "returned"  # postal mail came back undeliverable
    REJECTED = "rejected"  # the server refused the message itself
    NO_CONTACT = "no_contact"  # no address for any channel the method allows
    IN_DOUBT = "in_doubt"  # interrupted mid-send: not re-sent automatically, to never send twice


class SentEvidence(NoticeflowModel):
    """The channel's evidence that one recipient's notice was sent. An e-mail: the relay's queue id
    from its reply to DATA ("250 2.0.0 Ok: queued as 4F2A1"), or — a relay that names none — the
    Message-ID, the relay and its reply. A letter: the digest of the print vendor's mailing
    manifest listing it. Ids and digests only: no address, no name."""

    recipient_ref: str = Field(description="consumer_ref digest; producer_id or NAIC code for businesses.")
    channel: DeliveryChannelName
    sent_at: AwareDatetime = Field(description="When the relay accepted the message, or the batch was handed over.")
    queue_id: str | None = None
    message_id: str | None = None
    relay: str | None = Field(None, description="host:port of the relay that accepted it.")
    relay_reply: str | None = Field(None, description="The relay's reply to DATA, addresses removed.")
    manifest_sha256: Sha256 | None = None

    def ledger_data(self) -> dict[str, object]:
        return {k: v for k, v in self.model_dump(mode="json").items() if v is not None}


class DeliveryFailure(NoticeflowModel):
    recipient_ref: str = Field(description="consumer_ref digest; producer_id or NAIC code for businesses.")
    channel: DeliveryChannelName | Literal["none"]
    kind: FailureKind
    reason: str = Field(description="The server's or vendor's reason, with addresses removed.")


class DeliveryReport(NoticeflowModel):
    """One channel's deliveries for one obligation, over every round so far."""

    channel: DeliveryChannelName
    sent: int = 0
    failed: int = 0
    returned: int = 0
    in_doubt: int = 0
    failures: list[DeliveryFailure] = Field(default_factory=list)
    failures_omitted: int = Field(0, description="Further failures kept in the delivery store, not listed here.")
    documents: list[Sha256] = Field(default_factory=list, description="sha256 of the documents of record delivered.")
    manifest_paths: list[str] = Field(
        default_factory=list, description="Print-batch manifests, postings and notices, relative to Settings.outbox_dir."
    )


class ConsumerNoticeInput(NoticeflowModel):
    obligation: Obligation = Field(description="A consumer_notice obligation with its method.")
    intake: IncidentIntake
    content: NoticeContent
    roster_id: str = Field(pattern=ROSTER_ID_PATTERN)
    as_of: AwareDatetime = Field(description="Date printed on the notices (the workflow's clock).")
    round: int = Field(
        0,
        ge=0,
        description="0: notify every consumer on the roster. n > 0: a follow-up round that retries consumers "
        "whose notice bounced, was returned or found no channel, on a channel not yet tried.",
    )
    batch_size: int = Field(500, ge=1, le=10_000)
    media_outlets: list[str] = Field(default_factory=list, description="Major statewide media to send (c)(3)(C) notice to.")
    whole_roster: bool = Field(
        False,
        description="Read the whole roster as round 0 does, in a later round: a corrected roster was attached, "
        "and every consumer on it not yet reached is notified (nobody already notified is sent it again).",
    )


class ConsumerNoticeResult(NoticeflowModel):
    obligation_id: str
    jurisdiction: StateCode
    method: NoticeMethod
    round: int
    documents: list[DocumentRef]
    reports: list[DeliveryReport]
    counts: DeliveryCounts
    consumers: int = Field(description="Consumers residing in the jurisdiction on the roster.")
    notified: int = Field(description="Consumers sent an individual notice (e-mail or letter).")
    covered_by_substitute: int = Field(0, description="Consumers reached by website posting and media notice only.")
    outstanding: int = Field(description="Consumers neither notified nor covered: bounced, returned or no contact.")
    in_doubt: int = 0
    unreachable: list[DeliveryFailure] = Field(
        default_factory=list, description="Consumers no channel the method allows can reach (channel 'none')."
    )
    unreachable_omitted: int = 0
    complete: bool = Field(
        description="Every consumer of the state on the roster notified or covered by substitute notice. Not yet "
        "the obligation met: the workflow reconciles the roster with the state's estimate (ConsumerNoticeReconciliation)."
    )
    roster_without_contact: int = Field(0, description="Consumers of the state on the roster with neither e-mail nor postal address.")
    roster_sha256: Sha256 | None = Field(None, description="The roster generation delivered to (RosterSummary.content_sha256).")
    website_posted: bool | None = Field(
        None, description="(c)(3)(B) posting made; None when not substitute notice or the licensee has no website page."
    )
    media_notified: bool | None = Field(None, description="(c)(3)(C) notice to major statewide media made; None when not substitute notice.")


class SubstituteGround(NoticeflowModel):
    """The ground of Tenn. Code Ann. § 56-2-1006(c)(3) that allowed substitute notice, with its figures."""

    triggers: list[SubstituteTrigger]
    applies_to: str = Field(description="'all_affected' (cost or class size) or 'consumers_without_contact'.")
    citation: str
    estimated_cost_usd: str | None = Field(None, description="The estimated cost of notice in the state (intake), as text.")
    cost_threshold_usd: str
    affected_class: int = Field(description="The class of affected consumers residing in the state (current estimate).")
    class_threshold: int
    without_contact: int = Field(description="Affected consumers without sufficient contact information (intake).")
    without_contact_on_roster: int = Field(description="Consumers of the state on the roster with neither e-mail nor postal address.")
    website_posted: bool | None = Field(description="(B) posted; None where the licensee maintains no website page.")
    media_notified: bool = Field(description="(C) major statewide media notified.")


class ReconciliationOutcome(StrEnum):
    #: Every affected consumer (the estimate) is on the roster and notified or covered.
    RECONCILED = "reconciled"
    #: Substitute notice for the whole class covers every affected consumer not notified individually.
    COVERED_BY_SUBSTITUTE = "covered_by_substitute"
    #: More consumers on the roster than the estimate, every one notified or covered: (I) should be revised.
    ROSTER_EXCEEDS_ESTIMATE = "roster_exceeds_estimate"
    #: Fewer consumers on the roster than the estimate: a corrected roster or a revised estimate is needed.
    ROSTER_SHORT = "roster_short"
    #: Consumers on the roster not reached (bounced, returned, no channel) or in doubt.
    DELIVERIES_OUTSTANDING = "deliveries_outstanding"
    #: Substitute notice without its website posting or media notice made.
    SUBSTITUTE_INCOMPLETE = "substitute_incomplete"


class ConsumerNoticeReconciliation(NoticeflowModel):
    """A state's consumer notice reconciled with the state's affected count (Tenn. Code Ann. § 56-2-1006(c)):
    the figures every ``consumer_notice.delivered`` / ``.met`` entry carries."""

    jurisdiction: StateCode
    estimate: int = Field(ge=0, description="The state's current best estimate of affected consumers (item (I)).")
    estimate_revised_from: int | None = Field(None, description="The intake's estimate, when a reconciliation step revised it.")
    on_roster: int = Field(ge=0)
    notified: int = Field(ge=0, description="Consumers sent an individual notice (e-mail or letter) the relay or vendor accepted.")
    covered_by_substitute: int = Field(ge=0, description="Affected consumers reached by website posting and media notice only.")
    not_reached: int = Field(0, ge=0, description="Affected consumers neither notified nor covered (roster shortfall included).")
    outstanding_on_roster: int = Field(0, ge=0)
    in_doubt: int = Field(0, ge=0)
    substitute: SubstituteGround | None = None
    outcome: ReconciliationOutcome
    met: bool
    shortfall: str | None = Field(None, description="What is short, for a person: None when met.")

    def ledger_data(self) -> dict[str, object]:
        """The figures as ledger data (counts and ids only, no NPI)."""
        return self.model_dump(mode="json", exclude={"jurisdiction"})


class ProducerNoticeInput(NoticeflowModel):
    obligation: Obligation = Field(description="A producer_notice obligation.")
    intake: IncidentIntake
    content: NoticeContent
    roster_id: str = Field(pattern=ROSTER_ID_PATTERN)
    producers: list[Producer] = Field(description="The licensee's producer directory (current producer-of-record contacts).")
    as_of: AwareDatetime


class ProducerNoticeResult(NoticeflowModel):
    """One state's producer notice: which producers of record its affected consumers on the roster
    have, and which of them were notified. A producer owed notice under several states' obligations
    gets one e-mail per event; every one of those obligations lists it."""

    obligation_id: str
    jurisdiction: StateCode
    documents: list[DocumentRef]
    report: DeliveryReport = Field(description="E-mails to this state's producers only (sent under any state's obligation).")
    producers: list[str] = Field(description="producer_ids of the producers of record of the state's consumers on the roster.")
    notified: list[str] = Field(description="Of those, the producers whose notice the mail relay accepted.")
    failed: list[str] = Field(default_factory=list, description="Refused by the relay (bounced or rejected).")
    in_doubt: list[str] = Field(default_factory=list, description="Interrupted mid-send: never re-sent automatically.")
    unknown_producers: list[str] = Field(description="producer_ids on the roster missing from the directory.")
    consumers: int = Field(description="Consumers of the state on the roster.")
    consumers_with_producer: int
    consumers_without_producer: int = Field(
        description="No current producer-of-record information: the insurer is excused for them (§ 56-2-1006(f))."
    )
    roster_sha256: Sha256 | None = Field(None, description="The roster generation read (RosterSummary.content_sha256).")
    complete: bool = Field(
        description="Every producer of record of the state's consumers on the roster notified, none unknown, and the "
        "roster lists at least one consumer of the state."
    )
    delivery_key: str = Field("", description="The key the event's producer e-mails are tracked under.")
    sent: list[SentEvidence] = Field(default_factory=list, description="The relay's evidence for each producer notified.")
    bounce_window: timedelta = Field(
        timedelta(days=3), description="How long a hard bounce may still come back (NOTICEFLOW_BOUNCE_WINDOW_DAYS)."
    )


class CedingInsurerNoticeInput(NoticeflowModel):
    obligation: Obligation = Field(description="A ceding_insurer_notice obligation.")
    intake: IncidentIntake
    content: NoticeContent
    ceding_insurers: list[CedingInsurer] = Field(min_length=1)
    as_of: AwareDatetime


class CedingInsurerNoticeResult(NoticeflowModel):
    obligation_id: str
    documents: list[DocumentRef]
    report: DeliveryReport
    complete: bool
    delivery_key: str = Field("", description="The key its e-mails are tracked under (one per event and recipient group).")
    sent: list[SentEvidence] = Field(default_factory=list, description="The relay's evidence for each insurer notified.")
    bounce_window: timedelta = Field(
        timedelta(days=3), description="How long a hard bounce may still come back (NOTICEFLOW_BOUNCE_WINDOW_DAYS)."
    )


class RosterSummaryInput(NoticeflowModel):
    roster_id: str = Field(pattern=ROSTER_ID_PATTERN)


#: A recipient in the delivery store: a consumer's digest, or a business's id (producer id, NAIC code).
RecipientRef = Annotated[str, Field(pattern=r"^(hmac-sha256:[0-9a-f]{64}|[A-Za-z0-9][A-Za-z0-9._:-]{0,99})$")]


class ReturnedNoticesInput(NoticeflowModel):
    """Bounces that arrive after sending, and mail the vendor reports returned."""

    obligation_id: str = Field(description="The obligation id, or the delivery key the notices were tracked under.")
    channel: Literal["email", "postal"]
    recipient_refs: list[RecipientRef] = Field(min_length=1)
    reason: str = Field(min_length=1, max_length=500)


class ReportReturned(NoticeflowModel):
    """A person reports notices that did not reach (a hard bounce, a letter the vendor returned)
    while their delivery awaits confirmation: those recipients are reopened and sent again."""

    obligation_id: str = Field(min_length=1, max_length=300)
    channel: Literal["email", "postal"]
    recipient_refs: list[RecipientRef] = Field(
        min_length=1, max_length=10_000,
        description="Consumers by their ref (the digest of the licensee's consumer id), producers by producer id, "
        "ceding insurers by NAIC code.",
    )
    reason: str = Field(min_length=1, max_length=500, description="What came back, e.g. '550 5.1.1 mailbox unknown'.")
    recorded_by: str = Field(min_length=1, max_length=200)


class DeliveryConfirmationInput(NoticeflowModel):
    """At the end of the bounce window: which of these recipients' notices are still sent, which came back."""

    delivery_key: str
    channel: Literal["email", "postal"] = "email"
    recipient_refs: list[RecipientRef] = Field(min_length=1)


class DeliveryConfirmationResult(NoticeflowModel):
    confirmed: list[str] = Field(description="Still sent: no hard bounce or return recorded.")
    returned: list[DeliveryFailure] = Field(default_factory=list, description="Bounced or returned, with the reason.")
    missing: list[str] = Field(default_factory=list, description="No sent delivery on record (never sent, failed, in doubt).")


class ReturnedNoticesResult(NoticeflowModel):
    recorded: int
    unknown: int = Field(description="Refs with no delivery on that channel for the obligation.")


class BounceIntakeInput(NoticeflowModel):
    """Read the bounce mailbox, then say how many e-mails of one delivery have come back."""

    delivery_key: str = Field(min_length=1, description="The key the delivery's e-mails are tracked under.")
    recipient_refs: list[RecipientRef] = Field(
        default_factory=list, description="Count only these recipients' e-mails (empty: every e-mail of the delivery)."
    )


class BounceIntakeResult(NoticeflowModel):
    """What one reading of the bounce mailbox found (Settings.bounce_maildir; RFC 3464 reports)."""

    configured: bool = Field(description="A bounce mailbox is configured: without one, bounces are recorded by a person.")
    read: int = Field(0, ge=0, description="New reports read in this pass (any delivery).")
    hard_bounces: int = Field(0, ge=0, description="Hard bounces recorded in this pass (any delivery).")
    returned: int = Field(0, ge=0, description="E-mails of delivery_key (among recipient_refs) now recorded returned.")


__all__ = [
    "AcknowledgementQuery",
    "AcknowledgementsFound",
    "BounceIntakeInput",
    "BounceIntakeResult",
    "CedingInsurer",
    "CedingInsurerNoticeInput",
    "CedingInsurerNoticeResult",
    "CommissionerReport",
    "CommissionerReportResult",
    "ConsumerContact",
    "ConsumerNoticeInput",
    "ConsumerNoticeReconciliation",
    "ConsumerNoticeResult",
    "DeliveryChannelName",
    "DeliveryConfirmationInput",
    "DeliveryConfirmationResult",
    "DeliveryFailure",
    "DeliveryReport",
    "DocumentKind",
    "DocumentRef",
    "FailureKind",
    "FilingCheckpoint",
    "NoticeContact",
    "NoticeContent",
    "PostalAddress",
    "Producer",
    "ProducerNoticeInput",
    "ProducerNoticeResult",
    "ReconciliationOutcome",
    "RegulatorAcknowledgement",
    "RegulatorOffice",
    "RegulatorReceipt",
    "RenderCommissionerReportInput",
    "ReportChange",
    "ReportItemAvailability",
    "ReportItemContent",
    "Representative",
    "ReturnedNoticesInput",
    "ReturnedNoticesResult",
    "RosterSummary",
    "RosterSummaryInput",
    "RosterUploadRow",
    "SentEvidence",
    "StateRosterCounts",
    "SubmitToRegulatorInput",
    "SubstituteGround",
]
