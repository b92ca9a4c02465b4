"""Privacy of consumer financial and health information (28 TAC ch. 22; 18 Del. Admin. Code 904).

Policy versions, the notices a consumer received (with channel and dates), opt-out elections
and their revocations, disclosure requests and decisions, health-information authorizations,
and the inputs/outputs of the notice-content check. Consumers appear only by an opaque
reference: nothing here carries raw nonpublic information.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Literal

from pydantic import AwareDatetime, Field, model_validator
from pydantic_core import PydanticCustomError

from models.common import NoticeflowModel, RuleStatus, StateCode
from models.obligation import Reason

# --- policies --------------------------------------------------------------------------------


class RecipientKind(StrEnum):
    AFFILIATE = "affiliate"
    NONAFFILIATED_THIRD_PARTY = "nonaffiliated_third_party"
    SERVICE_PROVIDER = "service_provider"
    JOINT_MARKETER = "joint_marketer"

    @property
    def is_nonaffiliated(self) -> bool:
        return self is not RecipientKind.AFFILIATE


class DisclosureException(StrEnum):
    """The exception a disclosure relies on, if any."""

    NONE = "none"
    #: 28 TAC § 22.17: service providers and joint marketing — excepted from opt out only.
    SERVICE_PROVIDER_JOINT_MARKETING = "service_provider_joint_marketing"
    #: 28 TAC § 22.18: processing and servicing transactions — excepted from notice and opt out.
    PROCESSING_AND_SERVICING = "processing_and_servicing"
    #: 28 TAC § 22.19: other exceptions (consent, fraud prevention, legal process, …).
    OTHER_EXCEPTION = "other_exception"

    @property
    def exempts_notice(self) -> bool:
        return self in (DisclosureException.PROCESSING_AND_SERVICING, DisclosureException.OTHER_EXCEPTION)


class PolicyDisclosure(NoticeflowModel):
    """One line of a privacy policy: category C of information goes to recipients of category R."""

    npi_category: str = Field(min_length=1, description="e.g. 'application information', 'transaction information'.")
    recipient_kind: RecipientKind
    recipient_category: str = Field(min_length=1, description="Type of business, e.g. 'auto insurers'.")
    recipients: list[str] = Field(default_factory=list, description="Named recipients, for reference.")
    about_former_customers: bool = Field(False, description="The disclosure concerns former customers.")
    exception: DisclosureException = DisclosureException.NONE
    reserved_only: bool = Field(
        False, description="Only the right to disclose is reserved (28 TAC § 22.10(g)); nothing is disclosed yet."
    )


class PrivacyPolicyVersion(NoticeflowModel):
    version_id: str = Field(min_length=1)
    effective_on: dt.date
    jurisdiction: StateCode = "TX"
    collects: list[str] = Field(default_factory=list, description="Categories of information collected, by source.")
    disclosures: list[PolicyDisclosure] = Field(default_factory=list)
    fcra_affiliate_sharing: bool = Field(
        False, description="Shares among affiliates under FCRA § 603(d)(2)(A)(iii) (needs the § 22.10(b)(7) notice)."
    )


# --- notices, deliveries and opt outs --------------------------------------------------------


class NoticeKind(StrEnum):
    INITIAL = "initial"
    SHORT_FORM_INITIAL = "short_form_initial"
    ANNUAL = "annual"
    REVISED = "revised"
    OPT_OUT = "opt_out"


class DeliveryChannel(StrEnum):
    """How a notice reached the consumer (28 TAC § 22.13)."""

    MAIL = "mail"
    HAND_DELIVERY = "hand_delivery"
    #: Posted electronically; the consumer acknowledged receipt as a step to obtaining the product.
    ELECTRONIC = "electronic"
    EMAIL = "email"
    WEBSITE_POSTING = "website_posting"
    ORAL = "oral"
    SIGN_OR_ADVERTISEMENT = "sign_or_advertisement"


class NoticeDelivery(NoticeflowModel):
    """One notice delivered to the consumer: the notice history is a list of these."""

    notice_id: str = Field(min_length=1)
    kind: NoticeKind
    policy_version: str | None = Field(None, description="The policy version the notice describes.")
    includes_opt_out_notice: bool = Field(False, description="An opt-out notice went with it (§ 22.11(f)).")
    channel: DeliveryChannel
    delivered_at: AwareDatetime = Field(description="Mailed, handed over or posted.")
    acknowledged_at: AwareDatetime | None = Field(None, description="Electronic acknowledgement of receipt.")
    consumer_agreed_electronic: bool = Field(
        False, description="The consumer agreed to receive notices electronically / obtains products electronically."
    )
    isolated_transaction: bool = Field(
        False, description="Given in an isolated transaction (e.g. a quote) where the consumer decides before completion."
    )

    @model_validator(mode="after")
    def _policy_named(self) -> NoticeDelivery:
        if self.kind in (NoticeKind.INITIAL, NoticeKind.ANNUAL, NoticeKind.REVISED) and not self.policy_version:
            raise PydanticCustomError(
                "policy_version_missing",
                "policy_version is required for an {kind} notice: it names the policy the notice describes",
                {"kind": self.kind.value},
            )
        return self

    @property
    def carries_opt_out(self) -> bool:
        return self.kind is NoticeKind.OPT_OUT or self.includes_opt_out_notice


class OptOutElection(NoticeflowModel):
    """A consumer's direction not to disclose (28 TAC § 22.2(22)); in effect until revoked."""

    election_id: str = Field(min_length=1)
    received_at: AwareDatetime
    npi_categories: list[str] | None = Field(None, description="Categories opted out of; null = all.")
    recipient_categories: list[str] | None = Field(None, description="Recipient categories; null = all.")

    def covers(self, npi_category: str, recipient_category: str) -> bool:
        return (self.npi_categories is None or npi_category in self.npi_categories) and (
            self.recipient_categories is None or recipient_category in self.recipient_categories
        )


class OptOutRevocation(NoticeflowModel):
    election_id: str = Field(min_length=1)
    #: The relationship whose election is revoked: an election id is unique within its relationship
    #: only. ``None`` only in activity inputs scheduled before it was carried (release 2026-12-01).
    relationship_id: str | None = Field(None, min_length=1)
    received_at: AwareDatetime
    form: Literal["written", "electronic", "oral"]


class ConsumerRelationship(NoticeflowModel):
    """The facts about a consumer relationship that decide customer status and its end."""

    consumer_ref: str = Field(min_length=1, description="Opaque reference; never the consumer's NPI.")
    is_customer: bool = Field(description="A continuing relationship exists or existed (28 TAC § 22.5(a)).")
    established_at: AwareDatetime | None = None
    isolated_transaction: bool = False
    transaction_completed_at: AwareDatetime | None = None
    no_longer_policyholder_on: dt.date | None = Field(None, description="§ 22.9(b)(1)")
    policy_not_in_force_since: dt.date | None = Field(None, description="Lapsed, expired or not in force (§ 22.9(b)(2)).")
    last_communication_on: dt.date | None = Field(
        None, description="Last communication about the relationship, other than those § 22.9(b)(2) disregards."
    )
    mail_returned_on: dt.date | None = Field(None, description="§ 22.9(b)(3)(A)")
    address_search_failed_on: dt.date | None = Field(None, description="§ 22.9(b)(3)(B)")
    settlement_documents_executed_on: dt.date | None = Field(None, description="§ 22.9(b)(4)(A)")
    settlement_payment_received_on: dt.date | None = Field(None, description="§ 22.9(b)(4)(B)")
    settlement_responsibilities_completed_on: dt.date | None = Field(None, description="§ 22.9(b)(4)(C)")


class RelationshipStatus(NoticeflowModel):
    is_customer: bool
    ended_on: dt.date | None = None
    reason: str | None = None
    citation: str | None = None


# --- health information ----------------------------------------------------------------------


class HealthAuthorization(NoticeflowModel):
    """A written authorization to disclose nonpublic personal health information (28 TAC § 22.54)."""

    authorization_id: str = Field(min_length=1)
    signed_at: AwareDatetime
    signed_by: Literal["consumer", "legal_representative"] = "consumer"
    valid_until: AwareDatetime | None = Field(None, description="The period the authorization itself specifies.")
    information_types: list[str] = Field(default_factory=list)
    recipients: list[str] = Field(default_factory=list)
    purpose: str | None = None
    revocation_received_at: AwareDatetime | None = None
    revocation_in_writing_signed: bool = Field(True, description="28 TAC § 22.56(c)")


class HealthAuthorizationStatus(NoticeflowModel):
    authorization_id: str
    valid: bool
    expires_at: AwareDatetime
    revocation_received_at: AwareDatetime | None = None
    revocation_effective_by: AwareDatetime | None = Field(
        None, description="The latest instant the licensee must have carried out the revocation."
    )
    reasons: list[Reason]
    needs_counsel_review: bool = False
    counsel_review_reasons: list[str] = Field(default_factory=list)


# --- disclosure decisions ---------------------------------------------------------------------


class InformationType(StrEnum):
    FINANCIAL = "financial"
    HEALTH = "health"


class DisclosurePurpose(StrEnum):
    TELEMARKETING = "telemarketing"
    DIRECT_MAIL_MARKETING = "direct_mail_marketing"
    EMAIL_MARKETING = "email_marketing"
    OTHER_MARKETING = "other_marketing"
    SERVICING = "servicing"
    OTHER = "other"

    @property
    def is_marketing(self) -> bool:
        return self in (
            DisclosurePurpose.TELEMARKETING,
            DisclosurePurpose.DIRECT_MAIL_MARKETING,
            DisclosurePurpose.EMAIL_MARKETING,
            DisclosurePurpose.OTHER_MARKETING,
        )


class AccountType(StrEnum):
    """§ 22.16(d): only a policy or transaction account is protected."""

    POLICY_OR_TRANSACTION = "policy_or_transaction"
    DEPOSIT = "deposit"
    CREDIT_CARD = "credit_card"
    NO_THIRD_PARTY_CHARGES = "no_third_party_charges"


class DisclosureRecipient(NoticeflowModel):
    name: str = Field(min_length=1)
    kind: RecipientKind
    category: str = Field(min_length=1, description="Recipient category as the privacy policy names it.")
    is_consumer_reporting_agency: bool = False
    may_initiate_charges: bool = Field(False, description="Authorized to initiate charges to the account (§ 22.16(b)(1)).")
    affinity_program_identified: bool = Field(
        False, description="Participant of an affinity program identified to the customer on entry (§ 22.16(b)(2))."
    )


class AccountNumberSharing(NoticeflowModel):
    """Facts of a disclosure of a policy/account number or access code (28 TAC § 22.16)."""

    account_type: AccountType = AccountType.POLICY_OR_TRANSACTION
    encrypted_without_key: bool = Field(False, description="Encrypted and no means to decode given (§ 22.16(c)).")


class DisclosureRequest(NoticeflowModel):
    """May information category C of this consumer go to recipient R for purpose P now?"""

    request_id: str = Field(min_length=1)
    as_of: AwareDatetime = Field(description="The moment the disclosure would happen (never the wall clock).")
    jurisdiction: StateCode = "TX"
    relationship: ConsumerRelationship
    information_type: InformationType = InformationType.FINANCIAL
    npi_category: str = Field(min_length=1)
    recipient: DisclosureRecipient
    purpose: DisclosurePurpose
    exception_claimed: DisclosureException = DisclosureException.NONE
    contract_limits_use: bool = Field(
        False, description="A contract limits the recipient's use to the disclosed purpose (§ 22.17)."
    )
    account_number: AccountNumberSharing | None = Field(None, description="Set when an account number is included.")
    policy_in_force: str = Field(min_length=1, description="version_id of the policy version in force.")
    policy_versions: list[PrivacyPolicyVersion] = Field(min_length=1)
    notices: list[NoticeDelivery] = Field(default_factory=list)
    opt_outs: list[OptOutElection] = Field(default_factory=list)
    opt_out_revocations: list[OptOutRevocation] = Field(default_factory=list)
    health_authorizations: list[HealthAuthorization] = Field(default_factory=list)

    @model_validator(mode="after")
    def _versions_known(self) -> DisclosureRequest:
        known = {p.version_id for p in self.policy_versions}
        if self.policy_in_force not in known:
            raise PydanticCustomError(
                "unknown_policy_version",
                "policy_in_force '{version}' is not among policy_versions ({known})",
                {"version": self.policy_in_force, "known": ", ".join(sorted(known))},
            )
        for i, notice in enumerate(self.notices):
            if notice.policy_version is not None and notice.policy_version not in known:
                raise PydanticCustomError(
                    "unknown_policy_version",
                    "notices[{i}].policy_version '{version}' is not among policy_versions",
                    {"i": i, "version": notice.policy_version},
                )
        elections = {e.election_id for e in self.opt_outs}
        for i, rev in enumerate(self.opt_out_revocations):
            if rev.election_id not in elections:
                raise PydanticCustomError(
                    "unknown_election",
                    "opt_out_revocations[{i}].election_id '{id}' names no opt-out election",
                    {"i": i, "id": rev.election_id},
                )
        return self

    def policy(self, version_id: str) -> PrivacyPolicyVersion:
        for p in self.policy_versions:
            if p.version_id == version_id:
                return p
        raise KeyError(version_id)


class DisclosureDecision(NoticeflowModel):
    request_id: str
    allowed: bool
    first_allowed_at: AwareDatetime | None = Field(
        None, description="The first instant the disclosure is allowed on the present record; null if never without new steps."
    )
    first_allowed_if_notified_at_as_of: AwareDatetime | None = Field(
        None, description="When notices are still missing: the first instant if they were mailed at `as_of`."
    )
    rule_id: str
    citation: str
    status: RuleStatus
    reasons: list[Reason]
    required_actions: list[str] = Field(default_factory=list)
    needs_counsel_review: bool = False
    counsel_review_reasons: list[str] = Field(default_factory=list)


class OptOutWindow(NoticeflowModel):
    """The reasonable opportunity to opt out that a delivered notice gives."""

    notice_id: str
    opens_at: AwareDatetime
    disclosure_allowed_from: AwareDatetime | None = Field(
        None, description="Null when the notice does not give a reasonable opportunity (e.g. oral only)."
    )
    example: str
    citation: str
    reasons: list[Reason] = Field(default_factory=list)


# --- revised notices --------------------------------------------------------------------------


class PolicyChangeKind(StrEnum):
    NEW_NPI_CATEGORY = "new_npi_category"
    NEW_RECIPIENT_CATEGORY = "new_recipient_category"
    FORMER_CUSTOMERS_NEWLY_DISCLOSED = "former_customers_newly_disclosed"
    NEW_RECIPIENT_ALREADY_DESCRIBED = "new_recipient_already_described"
    NEW_CATEGORY_RECIPIENT_COMBINATION = "new_category_recipient_combination"
    NOW_DISCLOSED_AS_RESERVED = "now_disclosed_as_reserved"
    RESERVATION_ADDED = "reservation_added"
    EXCEPTED_DISCLOSURE_ADDED = "excepted_disclosure_added"
    AFFILIATE_DISCLOSURE_ADDED = "affiliate_disclosure_added"
    DISCLOSURE_REMOVED = "disclosure_removed"
    COLLECTION_CHANGED = "collection_changed"


class PolicyChange(NoticeflowModel):
    kind: PolicyChangeKind
    requires_revised_notice: bool
    npi_category: str | None = None
    recipient_category: str | None = None
    recipient: str | None = None
    citation: str
    message: str


class PolicyDiff(NoticeflowModel):
    old_version: str
    new_version: str
    revised_notice_required: bool
    changes: list[PolicyChange]
    citation: str


# --- annual notices ---------------------------------------------------------------------------


class AnnualPeriod(NoticeflowModel):
    """The licensee's 12-consecutive-month period, applied to every customer consistently (§ 22.9(a))."""

    kind: Literal["calendar_year", "fixed_annual_period", "rolling_12_months"] = "calendar_year"
    period_start_month: int = Field(1, ge=1, le=12, description="For a fixed annual period (e.g. 7 = July).")
    period_start_day: int = Field(1, ge=1, le=28)


class AnnualNoticeSchedule(NoticeflowModel):
    due_dates: list[dt.date] = Field(description="Each date is the last day of a period in which a notice is due.")
    stops_on: dt.date | None = Field(None, description="The relationship ended: no annual notice after this day.")
    stop_reason: str | None = None
    citation: str
    stop_citation: str | None = None


# --- notice content ---------------------------------------------------------------------------


class DisclosedCategoryText(NoticeflowModel):
    name: str = Field(min_length=1)
    examples: list[str] = Field(default_factory=list)


class RecipientCategoryText(NoticeflowModel):
    name: str = Field(min_length=1)
    kind: Literal["affiliate", "nonaffiliated"]
    examples: list[str] = Field(default_factory=list, description="Illustrative lines of business (§ 22.10(d)(2)).")


class FormerCustomersSection(NoticeflowModel):
    discloses_none: bool = False
    categories: list[str] = Field(default_factory=list)
    recipient_categories: list[str] = Field(default_factory=list)


class ServiceProviderSection(NoticeflowModel):
    categories: list[str] = Field(default_factory=list)
    third_party_categories: list[str] = Field(default_factory=list)
    states_service_provider_or_joint_marketer: bool = False


class OptOutSection(NoticeflowModel):
    explanation: str | None = None
    methods: list[str] = Field(default_factory=list)


class ConfidentialitySection(NoticeflowModel):
    who_has_access: str | None = None
    security_practices_statement: str | None = None


class PrivacyNotice(NoticeflowModel):
    """The content of a privacy notice, section by section (28 TAC § 22.10)."""

    notice_id: str = Field(min_length=1)
    kind: NoticeKind = NoticeKind.INITIAL
    format: Literal["full", "simplified"] = "full"
    policy_version: str | None = None
    nondisclosure_statement: str | None = Field(None, description="§ 22.10(a)(1), simplified notices.")
    categories_collected: list[str] = Field(default_factory=list)
    categories_disclosed: list[DisclosedCategoryText] = Field(default_factory=list)
    reserves_right_to_disclose_all: bool = False
    recipient_categories: list[RecipientCategoryText] = Field(default_factory=list)
    former_customers: FormerCustomersSection | None = None
    service_provider_joint_marketing: ServiceProviderSection | None = None
    opt_out: OptOutSection | None = None
    fcra_affiliate_notice: str | None = None
    confidentiality_security: ConfidentialitySection | None = None
    exceptions_statement: str | None = Field(
        None, description="§ 22.10(c): disclosures to other parties 'as permitted by law'."
    )


class NoticeLintRequest(NoticeflowModel):
    notice: PrivacyNotice
    policy: PrivacyPolicyVersion | None = Field(None, description="The policy the notice describes, when known.")


class LintFinding(NoticeflowModel):
    item: str = Field(description="e.g. '§ 22.10(b)(3)'")
    citation: str
    problem: Literal["missing", "incomplete", "not_permitted", "inconsistent_with_policy"]
    message: str


class NoticeLintResult(NoticeflowModel):
    notice_id: str
    format: str
    ok: bool
    required_items: list[str]
    findings: list[LintFinding]
