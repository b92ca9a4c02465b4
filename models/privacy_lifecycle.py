"""The privacy-notice lifecycles: what the relationship workflow takes, carries and answers, and
what the privacy store keeps (28 TAC ch. 22; 18 Del. Admin. Code 904).

Two kinds of model live here, and the line between them is the NPI line:

* :class:`PrivacyConsumer` holds a consumer's name, e-mail and postal address. It exists only
  inside ``activities/privacy_store.py`` (encrypted at rest) and the delivery activity that
  addresses an envelope; no workflow payload, search attribute, log line or ledger entry carries it.
* Everything else names consumers by ``consumer_ref`` (``npi_digest`` of the licensee's own
  consumer id) and relationships by an opaque ``relationship_id``: safe for workflow payloads,
  queries and the ledger.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import AwareDatetime, Field, model_validator
from pydantic_core import PydanticCustomError

from models.common import NoticeflowModel, StateCode
from models.content import Email, NoticeContact, PostalAddress, Sha256
from models.notice import ConsumerRef
from models.privacy import (
    AccountNumberSharing,
    AnnualPeriod,
    ConsumerRelationship,
    DeliveryChannel,
    DisclosureDecision,
    DisclosureException,
    DisclosurePurpose,
    DisclosureRecipient,
    HealthAuthorization,
    InformationType,
    NoticeDelivery,
    NoticeKind,
    OptOutElection,
    OptOutRevocation,
    PrivacyNotice,
    PrivacyPolicyVersion,
    RelationshipStatus,
)

#: Relationship ids become part of workflow ids, ledger streams and URLs: plain characters only,
#: and never a consumer's name, policy number or other NPI (use the licensee's internal key).
RELATIONSHIP_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,119}$"
RelationshipId = Annotated[str, Field(pattern=RELATIONSHIP_ID_PATTERN, description="Opaque id; no NPI.")]
#: Policy version ids name rows and documents.
VERSION_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$"
#: Ids a person or system supplies for notices, elections and requests.
PLAIN_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,149}$"
PlainId = Annotated[str, Field(pattern=PLAIN_ID_PATTERN)]


# =============================================================================================
# Policy versions and their notice content (no NPI)
# =============================================================================================


class PrivacyPolicyRecord(NoticeflowModel):
    """A privacy-policy version together with the notice text that describes it.

    Registered once in the privacy store (``PrivacyStore.put_policy``) and loaded by workflows
    by ``version_id``; every initial, annual, revised and opt-out notice about this version is
    rendered from it, once per (version, kind)."""

    policy: PrivacyPolicyVersion
    notice: PrivacyNotice = Field(description="Content of the notices describing this version (28 TAC § 22.10).")
    licensee_name: str = Field(min_length=1, max_length=200)
    contact: NoticeContact
    signatory: str | None = Field(None, max_length=200)

    @property
    def version_id(self) -> str:
        return self.policy.version_id

    @model_validator(mode="after")
    def _notice_describes_policy(self) -> PrivacyPolicyRecord:
        import re

        if not re.match(VERSION_ID_PATTERN, self.policy.version_id):
            raise PydanticCustomError(
                "version_id_pattern",
                "policy.version_id must be 1–100 letters, digits and . _ : - (it names rows and documents)",
            )
        if self.notice.policy_version is not None and self.notice.policy_version != self.policy.version_id:
            raise PydanticCustomError(
                "notice_policy_mismatch",
                "notice.policy_version '{notice}' must name the policy it describes ('{policy}')",
                {"notice": self.notice.policy_version, "policy": self.policy.version_id},
            )
        return self


# =============================================================================================
# Consumers and relationships in the store
# =============================================================================================


class PrivacyConsumer(NoticeflowModel):
    """A consumer and how to reach them. PII: kept encrypted in the privacy store only."""

    consumer_ref: ConsumerRef
    jurisdiction: StateCode = "TX"
    name: str = Field(min_length=1, max_length=200)
    email: Email | None = None
    postal_address: PostalAddress | None = None
    e_delivery_consent: bool = Field(
        False, description="The consumer agreed to receive notices electronically (28 TAC § 22.13(a))."
    )
    transacts_electronically: bool = Field(
        False,
        description="The consumer obtains insurance products or services from the licensee electronically "
        "(28 TAC § 22.13(b)(3), (c)(2)).",
    )


class ConsumerFlags(NoticeflowModel):
    """What may be known about a consumer outside the store: reachability, never the contact data."""

    consumer_ref: ConsumerRef
    jurisdiction: StateCode
    has_email: bool
    has_postal_address: bool
    e_delivery_consent: bool
    transacts_electronically: bool


class RelationshipStage(StrEnum):
    CUSTOMER = "customer"
    CONSUMER = "consumer"
    ISOLATED_TRANSACTION = "isolated_transaction"
    FORMER_CUSTOMER = "former_customer"
    CLOSED = "closed"


class RelationshipRecord(NoticeflowModel):
    """One consumer relationship as the store keeps it (no NPI). A joint relationship lists every
    consumer who jointly obtained the product (28 TAC § 22.13(h)): they get one notice."""

    relationship_id: RelationshipId
    jurisdiction: StateCode = "TX"
    consumer_refs: list[ConsumerRef] = Field(min_length=1, max_length=20)
    is_customer: bool
    isolated_transaction: bool = False
    established_at: AwareDatetime | None = None
    transaction_completed_at: AwareDatetime | None = Field(None, description="Isolated transactions (§ 22.14(b)(3)).")
    policy_version: str = Field(min_length=1, description="The policy version in force for this relationship.")
    stage: RelationshipStage = RelationshipStage.CUSTOMER
    ended_on: dt.date | None = None
    end_reason: str | None = None
    end_citation: str | None = None
    next_annual_due: dt.date | None = Field(None, description="Last day of the period whose annual notice is next due.")
    last_annual_notice_on: dt.date | None = None
    workflow_id: str | None = None

    @property
    def joint(self) -> bool:
        return len(self.consumer_refs) > 1

    @model_validator(mode="after")
    def _distinct_consumers(self) -> RelationshipRecord:
        if len(set(self.consumer_refs)) != len(self.consumer_refs):
            raise PydanticCustomError("duplicate_consumer", "consumer_refs lists the same consumer twice")
        return self


class RelationshipStatusChange(NoticeflowModel):
    """A change of stage / annual schedule the workflow writes to the store."""

    relationship_id: RelationshipId
    stage: RelationshipStage
    policy_version: str | None = None
    ended_on: dt.date | None = None
    end_reason: str | None = None
    end_citation: str | None = None
    next_annual_due: dt.date | None = None
    last_annual_notice_on: dt.date | None = None
    transaction_completed_at: AwareDatetime | None = None
    workflow_id: str | None = Field(
        None, description="The relationship's own lifecycle workflow, so that other lifecycles can signal it."
    )


# =============================================================================================
# Deliveries, opt outs, openings
# =============================================================================================


class DeliveryStatus(StrEnum):
    #: Claimed: about to be handed to a channel. Never sent twice by e-mail.
    PENDING = "pending"
    SENT = "sent"
    ACKNOWLEDGED = "acknowledged"
    RETURNED = "returned"
    FAILED = "failed"
    #: No channel that gives actual notice reaches the consumer (28 TAC § 22.13(a)).
    UNDELIVERABLE = "undeliverable"
    #: The connection broke mid-message: it may or may not have been accepted.
    IN_DOUBT = "in_doubt"

    @property
    def gives_notice(self) -> bool:
        return self in (DeliveryStatus.SENT, DeliveryStatus.ACKNOWLEDGED)


class PrivacyDocumentRef(NoticeflowModel):
    """A rendered privacy-notice document in the content-addressed store (``<sha256>.<ext>``)."""

    kind: NoticeKind
    policy_version: str
    sha256: Sha256
    path: str
    media_type: str
    size: int = Field(ge=0)
    citation: str


class DeliveryRecord(NoticeflowModel):
    """One notice delivered to a relationship (one envelope for a joint relationship)."""

    delivery_key: str = Field(min_length=1, max_length=300, description="Idempotency key: one row per key, ever.")
    relationship_id: RelationshipId
    notice_id: PlainId
    kind: NoticeKind
    policy_version: str | None = None
    includes_opt_out_notice: bool = False
    channel: DeliveryChannel
    status: DeliveryStatus
    delivered_at: AwareDatetime = Field(description="Mailed, sent or presented (workflow time of the step).")
    acknowledged_at: AwareDatetime | None = None
    returned_at: AwareDatetime | None = None
    consumer_agreed_electronic: bool = False
    isolated_transaction: bool = False
    documents: list[Sha256] = Field(default_factory=list)
    batch_id: str | None = None
    failure: str | None = Field(None, max_length=500, description="Why it failed; never an address.")

    def as_notice_delivery(self) -> NoticeDelivery:
        return NoticeDelivery(
            notice_id=self.notice_id,
            kind=self.kind,
            policy_version=self.policy_version,
            includes_opt_out_notice=self.includes_opt_out_notice,
            channel=self.channel,
            delivered_at=self.delivered_at,
            acknowledged_at=self.acknowledged_at,
            consumer_agreed_electronic=self.consumer_agreed_electronic,
            isolated_transaction=self.isolated_transaction,
        )


class OptOutRecord(NoticeflowModel):
    """An opt-out election (28 TAC § 22.2(22)) and, once received, its revocation."""

    election_id: PlainId
    relationship_id: RelationshipId
    consumer_ref: ConsumerRef
    received_at: AwareDatetime
    effective_at: AwareDatetime = Field(description="When the licensee's systems honour it (the store write).")
    npi_categories: list[str] | None = None
    recipient_categories: list[str] | None = None
    revocation_received_at: AwareDatetime | None = None
    revocation_form: Literal["written", "electronic", "oral"] | None = None

    def as_election(self) -> OptOutElection:
        return OptOutElection(
            election_id=self.election_id,
            received_at=self.received_at,
            npi_categories=self.npi_categories,
            recipient_categories=self.recipient_categories,
        )

    def as_revocation(self) -> OptOutRevocation | None:
        if self.revocation_received_at is None or self.revocation_form is None:
            return None
        return OptOutRevocation(
            election_id=self.election_id, received_at=self.revocation_received_at, form=self.revocation_form
        )


class OpeningStatus(StrEnum):
    #: The reasonable opportunity passed without an opt-out: the disclosures the policy version
    #: describes may start for this relationship (28 TAC § 22.14(a), § 22.12(a)).
    OPENED = "opened"
    #: The opportunity passed, but an opt-out was in effect: nothing opens.
    HELD_BY_OPT_OUT = "held_by_opt_out"
    #: The notice never reached the consumer (returned, failed, undeliverable, in doubt): no
    #: opportunity was given, so nothing opens (28 TAC § 22.13(a), § 22.14(a)(3)).
    NOT_DELIVERED = "not_delivered"


class DisclosureOpening(NoticeflowModel):
    """The reasonable opportunity for a policy version has passed for a relationship."""

    relationship_id: RelationshipId
    policy_version: str
    status: OpeningStatus
    opened_at: AwareDatetime = Field(description="The first instant the disclosure was allowed.")
    notice_id: str
    citation: str


class DeliveryCountsByStatus(NoticeflowModel):
    """Counts for progress displays (e.g. the revised-notice fan-out)."""

    by_status: dict[str, int] = Field(default_factory=dict)
    opted_out: int = 0
    opened: int = 0
    held_by_opt_out: int = 0


# =============================================================================================
# The relationship workflow: start, updates, queries, carried state
# =============================================================================================


class TransactionNotice(NoticeflowModel):
    """How the notices were presented in an isolated transaction (28 TAC § 22.13(b)(4)): the
    consumer acknowledged receipt as a necessary step to obtaining the product."""

    notice_id: PlainId
    channel: DeliveryChannel = DeliveryChannel.ELECTRONIC
    presented_at: AwareDatetime
    acknowledged_at: AwareDatetime | None = None

    @model_validator(mode="after")
    def _gives_actual_notice(self) -> TransactionNotice:
        if self.channel is DeliveryChannel.ORAL:
            raise PydanticCustomError(
                "oral_notice",
                "channel: an oral explanation alone is not a privacy notice (28 TAC § 22.13(e))",
            )
        if self.channel in (DeliveryChannel.SIGN_OR_ADVERTISEMENT, DeliveryChannel.WEBSITE_POSTING, DeliveryChannel.EMAIL):
            raise PydanticCustomError(
                "transaction_channel",
                "channel: in an isolated transaction the notice is presented (electronic with acknowledgement, "
                "or hand delivery) so the consumer decides before completion (28 TAC § 22.13(b)(4)); got {channel}",
                {"channel": self.channel.value},
            )
        if self.channel is DeliveryChannel.ELECTRONIC and self.acknowledged_at is None:
            raise PydanticCustomError(
                "acknowledgement_missing",
                "acknowledged_at: an electronic notice in an isolated transaction counts once the consumer "
                "acknowledges receipt (28 TAC § 22.13(b)(4))",
            )
        return self


class GivenNotice(NoticeflowModel):
    """An initial notice the consumer received before the lifecycle started (imported with the
    relationship, e.g. from the licensee's earlier system): the lifecycle takes it over — records
    it, and runs its reasonable opportunity to opt out from its mailing date (28 TAC § 22.14(b)) —
    instead of sending another."""

    notice_id: PlainId
    channel: DeliveryChannel = DeliveryChannel.MAIL
    delivered_at: AwareDatetime = Field(description="Mailed, handed over or posted.")
    acknowledged_at: AwareDatetime | None = Field(None, description="Electronic acknowledgement of receipt (§ 22.14(b)(2)).")
    includes_opt_out_notice: bool = Field(True, description="The opt-out notice went with it (§ 22.11(f)).")
    consumer_agreed_electronic: bool = False
    policy_version: str | None = Field(None, description="The version it described; default: the relationship's.")

    @model_validator(mode="after")
    def _gives_notice(self) -> GivenNotice:
        if self.channel in (DeliveryChannel.ORAL, DeliveryChannel.SIGN_OR_ADVERTISEMENT, DeliveryChannel.WEBSITE_POSTING):
            raise PydanticCustomError(
                "channel_gives_no_notice",
                "channel: {channel} alone does not give a privacy notice (28 TAC § 22.13(a), (e)); import notices that "
                "were mailed, handed over, e-mailed or acknowledged electronically",
                {"channel": self.channel.value},
            )
        if self.acknowledged_at is not None and self.acknowledged_at < self.delivered_at:
            raise PydanticCustomError("acknowledged_before_delivery", "acknowledged_at: precedes delivered_at")
        return self


class RelationshipStart(NoticeflowModel):
    """Input of ``ConsumerRelationshipWorkflow``; register the relationship and its consumers in
    the privacy store first (``PrivacyStore.register``)."""

    relationship_id: RelationshipId
    jurisdiction: StateCode = "TX"
    consumer_refs: list[ConsumerRef] = Field(min_length=1, max_length=20)
    is_customer: bool = Field(description="A continuing relationship (28 TAC § 22.5(a)).")
    isolated_transaction: bool = Field(False, description="28 TAC § 22.5(b)(2): never a customer relationship.")
    established_at: AwareDatetime | None = Field(None, description="Default: when the workflow starts.")
    policy_version: str = Field(min_length=1)
    annual_period: AnnualPeriod = Field(default_factory=AnnualPeriod)
    annual_send_lead_days: int = Field(
        30, ge=0, le=300, description="Send the annual notice this many days before its period ends (or when the schedule says)."
    )
    notify_consumer_before_disclosure: bool = Field(
        False,
        description="For a consumer who is not a customer: the licensee intends a non-excepted disclosure, so the "
        "initial and opt-out notices go now (28 TAC § 22.8).",
    )
    transaction_notice: TransactionNotice | None = None
    initial_notice_given: GivenNotice | None = Field(
        None, description="Imported history: the initial notice was given before the lifecycle started; taken over, not sent again."
    )
    max_history_events: int = Field(2000, ge=50, le=40000, description="Continue as new beyond this history length.")
    started_by: str = Field("worker", min_length=1, max_length=100)
    carry: RelationshipCarry | None = Field(None, description="Set by continue-as-new only.")

    @model_validator(mode="after")
    def _coherent(self) -> RelationshipStart:
        if len(set(self.consumer_refs)) != len(self.consumer_refs):
            raise PydanticCustomError("duplicate_consumer", "consumer_refs lists the same consumer twice")
        if self.isolated_transaction and self.is_customer:
            raise PydanticCustomError(
                "isolated_customer",
                "is_customer: an isolated transaction does not make a customer relationship (28 TAC § 22.5(b)(2))",
            )
        if self.isolated_transaction and self.initial_notice_given is not None:
            raise PydanticCustomError(
                "initial_notice_given_isolated",
                "initial_notice_given: an isolated transaction's notices are the ones presented in it (transaction_notice, "
                "28 TAC § 22.13(b)(4))",
            )
        if self.isolated_transaction and self.transaction_notice is None and self.carry is None:
            raise PydanticCustomError(
                "transaction_notice_missing",
                "transaction_notice: an isolated transaction records how the notices were presented so the consumer "
                "could decide before completion (28 TAC § 22.13(b)(4), § 22.14(b)(3))",
            )
        return self


class OptOutRequest(NoticeflowModel):
    """Update ``elect_opt_out``: the consumer directs that their NPFI not go to nonaffiliated
    third parties (28 TAC § 22.2(22)); may come at any time."""

    election_id: PlainId
    consumer_ref: ConsumerRef
    received_at: AwareDatetime | None = Field(None, description="Default: when the update is accepted.")
    npi_categories: list[str] | None = Field(None, description="Null: every category.")
    recipient_categories: list[str] | None = Field(None, description="Null: every recipient category.")
    received_by: str = Field(min_length=1, max_length=100)


class RevocationRequest(NoticeflowModel):
    """Update ``revoke_opt_out``: the consumer revokes an earlier opt-out."""

    election_id: PlainId
    received_at: AwareDatetime | None = None
    form: Literal["written", "electronic", "oral"]
    received_by: str = Field(min_length=1, max_length=100)


RelationshipEventKind = Literal[
    "no_longer_policyholder",
    "policy_not_in_force",
    "communication",
    "mail_returned",
    "address_search_failed",
    "settlement_documents_executed",
    "settlement_payment_received",
    "settlement_responsibilities_completed",
]


class RelationshipEvent(NoticeflowModel):
    """Update ``record_relationship_event``: a fact that may end the customer relationship
    (28 TAC § 22.9(b)(1)–(4))."""

    kind: RelationshipEventKind
    on: dt.date
    recorded_by: str = Field(min_length=1, max_length=100)


class ReturnedMail(NoticeflowModel):
    """Update ``report_returned_mail``: the postal service returned a notice as undeliverable."""

    notice_id: PlainId
    returned_on: dt.date
    address_search_failed_on: dt.date | None = Field(
        None, description="Subsequent attempts to obtain a current valid address failed (28 TAC § 22.9(b)(3)(B))."
    )
    recorded_by: str = Field(min_length=1, max_length=100)


class CompleteTransaction(NoticeflowModel):
    """Update ``complete_transaction``: the isolated transaction was completed."""

    completed_at: AwareDatetime | None = None
    recorded_by: str = Field(min_length=1, max_length=100)


class CloseRelationship(NoticeflowModel):
    reason: str = Field(min_length=1, max_length=500)
    closed_by: str = Field(min_length=1, max_length=100)


class AnnualNoticeDue(NoticeflowModel):
    """Signal ``annual_notice_due`` from the scheduled sweep: send this period's annual notice now."""

    period_end: dt.date
    sweep_id: str = Field(min_length=1, max_length=200)


class GateQuestion(NoticeflowModel):
    """May NPI category C of this relationship's consumers go to recipient R under basis B now?"""

    request_id: PlainId
    npi_category: str = Field(min_length=1, max_length=200)
    recipient: DisclosureRecipient
    purpose: DisclosurePurpose
    exception_claimed: DisclosureException = DisclosureException.NONE
    contract_limits_use: bool = False
    account_number: AccountNumberSharing | None = None
    information_type: InformationType = InformationType.FINANCIAL
    consumer_ref: ConsumerRef | None = Field(None, description="One consumer of a joint relationship, if asked about one.")
    asked_by: str = Field("worker", min_length=1, max_length=100)


class HealthAuthorizationRequest(NoticeflowModel):
    """Update ``record_health_authorization``: a consumer's written authorization to disclose their
    nonpublic personal health information (28 TAC §§ 22.53–22.55); the disclosure gate relies on it
    for the recipients and information it names until it expires or is revoked."""

    authorization_id: PlainId
    consumer_ref: ConsumerRef = Field(description="The consumer who signed (or whose representative signed).")
    signed_at: AwareDatetime
    signed_by: Literal["consumer", "legal_representative"] = "consumer"
    valid_until: AwareDatetime | None = Field(None, description="The period the authorization itself states.")
    information_types: list[Annotated[str, Field(min_length=1, max_length=200)]] = Field(
        default_factory=list, max_length=20, description="The health information it covers (empty: as the form states, all)."
    )
    recipients: list[Annotated[str, Field(min_length=1, max_length=200)]] = Field(
        default_factory=list, max_length=20, description="Recipients or recipient categories it names (empty: any)."
    )
    purpose: str | None = Field(None, max_length=500)
    recorded_by: str = Field(min_length=1, max_length=100)

    def authorization(self) -> HealthAuthorization:
        return HealthAuthorization(
            authorization_id=self.authorization_id, signed_at=self.signed_at, signed_by=self.signed_by,
            valid_until=self.valid_until, information_types=self.information_types, recipients=self.recipients,
            purpose=self.purpose,
        )


class HealthRevocationRequest(NoticeflowModel):
    """Update ``revoke_health_authorization``: the consumer revokes an authorization (28 TAC § 22.56);
    the gate stops relying on it from its receipt."""

    authorization_id: PlainId
    received_at: AwareDatetime | None = Field(None, description="Default: when the update is accepted.")
    in_writing_signed: bool = Field(True, description="28 TAC § 22.56(c); honoured either way, counsel reviews if not.")
    recorded_by: str = Field(min_length=1, max_length=100)


class HealthAuthorizationRecord(NoticeflowModel):
    """A health authorization as the relationship's lifecycle holds it (and carries it on)."""

    consumer_ref: ConsumerRef
    authorization: HealthAuthorization
    recorded_at: AwareDatetime


class WindowState(NoticeflowModel):
    """A reasonable opportunity to opt out that is running or has passed."""

    notice_id: str
    policy_version: str
    opens_at: AwareDatetime
    disclosure_allowed_from: AwareDatetime | None
    citation: str
    example: str
    closed: bool = False
    outcome: OpeningStatus | None = None


class RelationshipCarry(NoticeflowModel):
    """Everything a relationship workflow knows, handed to its next run by continue-as-new."""

    relationship: ConsumerRelationship
    stage: RelationshipStage
    policy_version: str
    policies: list[PrivacyPolicyRecord] = Field(default_factory=list)
    deliveries: list[DeliveryRecord] = Field(default_factory=list)
    opt_outs: list[OptOutRecord] = Field(default_factory=list)
    windows: list[WindowState] = Field(default_factory=list)
    initial_notice_on: dt.date | None = None
    annual_notices_given: int = 0
    last_annual_notice_on: dt.date | None = None
    annual_periods_served: list[dt.date] = Field(default_factory=list, description="Period ends served (last 5).")
    refused_notices: int = 0
    returned_mail: int = 0
    decisions: int = 0
    policy_changes: int = 0
    notice_retries: int = 0
    runs: int = 1
    ended: RelationshipStatus | None = None
    notice_blocked: str | None = None
    disclosure_planned: bool = Field(
        False, description="A consumer who is not a customer: a non-excepted disclosure is planned (28 TAC § 22.8(a)(2))."
    )
    health_authorizations: list[HealthAuthorizationRecord] = Field(default_factory=list)


class RelationshipState(NoticeflowModel):
    """Query ``state``: where the relationship stands, what it waits for, and why."""

    relationship_id: str
    workflow_id: str
    jurisdiction: str
    consumer_refs: list[str]
    joint: bool
    stage: RelationshipStage
    policy_version: str
    relationship: ConsumerRelationship
    deliveries: list[DeliveryRecord]
    opt_outs: list[OptOutRecord]
    opt_out_in_effect: bool
    windows: list[WindowState]
    initial_notice_on: dt.date | None
    annual_notices_given: int
    last_annual_notice_on: dt.date | None
    next_annual_due: dt.date | None
    next_annual_send_at: AwareDatetime | None
    ended: RelationshipStatus | None
    notice_blocked: str | None = Field(None, description="Why notices are held (e.g. content fails § 22.10(b)).")
    waiting_for: str
    runs: int
    decisions: int
    health_authorizations: list[HealthAuthorizationRecord] = Field(default_factory=list)


class PolicyChange(NoticeflowModel):
    """Signal ``policy_changed``: a new policy version is in force for this relationship (its
    revised notice, if one is needed, is delivered by the revised-notice lifecycle)."""

    policy_version: str = Field(min_length=1)


# =============================================================================================
# Activity inputs and outputs
# =============================================================================================


class LoadPolicyInput(NoticeflowModel):
    version_id: str = Field(min_length=1)


class NoticeDeliveryRequest(NoticeflowModel):
    """Render (once per version and kind) and deliver one notice to one relationship."""

    relationship_id: RelationshipId
    notice_id: PlainId
    kind: NoticeKind
    policy_version: str
    include_opt_out_notice: bool = False
    as_of: AwareDatetime = Field(description="Workflow time of the step: the mailing date of record.")
    isolated_transaction: bool = False


class NoticeDeliveryResult(NoticeflowModel):
    delivery: DeliveryRecord
    documents: list[PrivacyDocumentRef]
    channel_basis: str = Field(description="Why this channel (28 TAC § 22.13).")
    citation: str


class MarkDelivery(NoticeflowModel):
    relationship_id: RelationshipId
    notice_id: str
    status: DeliveryStatus
    at: AwareDatetime


class GateRecord(NoticeflowModel):
    """The disclosure gate's answer as the store-based activity returns it."""

    relationship_id: str
    question: GateQuestion
    decision: DisclosureDecision
    ledger_seq: int | None = None


class GateActivityInput(NoticeflowModel):
    relationship_id: RelationshipId
    question: GateQuestion
    as_of: AwareDatetime


class DuePage(NoticeflowModel):
    """A page of relationships whose annual notice is due, for the scheduled sweep."""

    relationship_ids: list[str]
    next_after: str | None


class DuePageInput(NoticeflowModel):
    due_by: dt.date
    after: str | None = None
    limit: int = Field(500, ge=1, le=5000)


class SignalAnnualInput(NoticeflowModel):
    relationship_ids: list[str] = Field(max_length=5000)
    due_by: dt.date
    sweep_id: str


class SignalAnnualResult(NoticeflowModel):
    signalled: int
    not_running: int


class AnnualSweepInput(NoticeflowModel):
    """Input of ``AnnualNoticeSweepWorkflow`` (started by its Temporal Schedule)."""

    lead_days: int = Field(30, ge=0, le=300, description="Relationships whose period ends within this many days are due.")
    page_size: int = Field(500, ge=1, le=5000)
    pages_per_run: int = Field(50, ge=1, le=1000, description="Continue as new after this many pages.")
    after: str | None = None
    due_by: dt.date | None = None
    sweep_id: str | None = None
    signalled: int = 0
    not_running: int = 0


class AnnualSweepResult(NoticeflowModel):
    sweep_id: str
    due_by: dt.date
    signalled: int
    not_running: int


class CertificationReminderInput(NoticeflowModel):
    """Input of ``PrivacyCertificationReminderWorkflow`` (started by its Temporal Schedule)."""

    licensee: str = Field("licensee", min_length=1, max_length=200)
    jurisdiction: StateCode = "TX"
    due_month: int = Field(2, ge=1, le=12)
    due_day: int = Field(15, ge=1, le=28)


class CertificationReminderResult(NoticeflowModel):
    due_on: dt.date
    citation: str
    needs_counsel_review: bool
    counsel_review_reasons: list[str]


def decision_summary(relationship_id: str, question: GateQuestion, decision: DisclosureDecision) -> dict[str, object]:
    """What the ledger records about a disclosure-gate decision: the question's categories and the
    answer with its rule — no consumer information (the recipient is a business)."""
    return {
        "relationship_id": relationship_id,
        "request_id": question.request_id,
        "npi_category": question.npi_category,
        "recipient": {"name": question.recipient.name, "kind": question.recipient.kind.value, "category": question.recipient.category},
        "purpose": question.purpose.value,
        "exception_claimed": question.exception_claimed.value,
        "information_type": question.information_type.value,
        "allowed": decision.allowed,
        "rule_id": decision.rule_id,
        "status": decision.status.value,
        "first_allowed_at": decision.first_allowed_at.isoformat() if decision.first_allowed_at else None,
        "reasons": [r.code for r in decision.reasons],
        "required_actions": list(decision.required_actions),
        "needs_counsel_review": decision.needs_counsel_review,
    }


RelationshipStart.model_rebuild()
