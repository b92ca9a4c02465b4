"""Notice documents, the consumer roster and deliveries: what the notice activities take and return.

Consumers travel through workflow payloads and the ledger only as ``consumer_ref`` digests
(``npi_digest`` of the licensee's own consumer id) and counts. A :class:`ConsumerContact` — name,
e-mail, postal address — lives only in the roster store and is read there by the activity that
needs it; no model below that a workflow sees carries one.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import AfterValidator, AwareDatetime, BeforeValidator, Field, model_validator
from pydantic_core import PydanticCustomError

from models.common import NoticeflowModel, StateCode
from models.incident import IncidentIntake, ReportItemCode
from models.content import (
    SHA256_PATTERN,
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
from models.obligation import NoticeMethod, Obligation

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
        parts = {"address_line1": self.address_line1, "city": self.city, "postal_code": self.postal_code}
        given = [k for k, v in parts.items() if v]
        if given and len(given) != len(parts):
            missing = ", ".join(k for k in parts if k not in given)
            raise PydanticCustomError(
                "address_incomplete",
                "postal address is incomplete: {missing} missing (give address_line1, city and "
                "postal_code together, or none of them)",
                {"missing": missing},
            )
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


# =============================================================================================
# Regulator submission
# =============================================================================================


class SubmitToRegulatorInput(NoticeflowModel):
    obligation_id: str
    jurisdiction: StateCode
    recipient_name: str
    version: int = Field(1, ge=1)
    documents: list[DocumentRef] = Field(min_length=1, description="The first is the document of record.")


class RegulatorReceipt(NoticeflowModel):
    jurisdiction: StateCode
    submission_id: str
    submitted_at: AwareDatetime
    document_sha256: Sha256 = Field(description="The document of record submitted.")
    documents: list[Sha256] = Field(default_factory=list, description="Every document submitted.")
    portal: str = Field(description="The adapter that made the submission.")
    reference: str | None = Field(None, description="The portal's own confirmation number, if it gives one.")


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
    complete: bool = Field(description="Every consumer notified or covered by substitute notice.")


class ProducerNoticeInput(NoticeflowModel):
    obligation: Obligation = Field(description="A producer_notice obligation.")
    intake: IncidentIntake
    content: NoticeContent
    roster_id: str = Field(pattern=ROSTER_ID_PATTERN)
    producers: list[Producer] = Field(description="The licensee's producer directory (current producer-of-record contacts).")
    as_of: AwareDatetime


class ProducerNoticeResult(NoticeflowModel):
    obligation_id: str
    documents: list[DocumentRef]
    report: DeliveryReport
    producers_notified: int
    consumers_with_producer: int
    consumers_without_producer: int = Field(
        description="No current producer-of-record information: the insurer is excused for them (§ 56-2-1006(f))."
    )
    unknown_producers: list[str] = Field(description="producer_ids on the roster missing from the directory.")
    complete: bool


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


class RosterSummaryInput(NoticeflowModel):
    roster_id: str = Field(pattern=ROSTER_ID_PATTERN)


class ReturnedNoticesInput(NoticeflowModel):
    """Bounces that arrive after sending, and mail the vendor reports returned."""

    obligation_id: str
    channel: Literal["email", "postal"]
    recipient_refs: list[ConsumerRef] = Field(min_length=1)
    reason: str = Field(min_length=1, max_length=500)


class ReturnedNoticesResult(NoticeflowModel):
    recorded: int
    unknown: int = Field(description="Refs with no delivery on that channel for the obligation.")


__all__ = [
    "CedingInsurer",
    "CedingInsurerNoticeInput",
    "CedingInsurerNoticeResult",
    "CommissionerReport",
    "CommissionerReportResult",
    "ConsumerContact",
    "ConsumerNoticeInput",
    "ConsumerNoticeResult",
    "DeliveryChannelName",
    "DeliveryFailure",
    "DeliveryReport",
    "DocumentKind",
    "DocumentRef",
    "FailureKind",
    "NoticeContact",
    "NoticeContent",
    "PostalAddress",
    "Producer",
    "ProducerNoticeInput",
    "ProducerNoticeResult",
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
    "StateRosterCounts",
    "SubmitToRegulatorInput",
]
