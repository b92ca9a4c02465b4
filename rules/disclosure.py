"""The disclosure gate: may information category C of a consumer go to recipient R for purpose P now?

28 TAC ch. 22 (Texas; the NAIC privacy model #672 as adopted). The decision reads the consumer's
notice history, opt-out elections and revocations, the exception claimed and the policy version
in force, and answers allow/deny, the first instant the disclosure would be allowed, and the rule.

Pure and deterministic: ``request.as_of`` is "now"; nothing reads the wall clock.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from models.common import Clock, ClockUnit, RuleStatus
from models.licensee import DeadlinePolicy
from models.obligation import Reason
from models.privacy import (
    AccountNumberSharing,
    AccountType,
    ConsumerRelationship,
    DeliveryChannel,
    DisclosureDecision,
    DisclosureException,
    DisclosurePurpose,
    DisclosureRecipient,
    DisclosureRequest,
    HealthAuthorization,
    HealthAuthorizationStatus,
    InformationType,
    NoticeDelivery,
    NoticeKind,
    OptOutElection,
    OptOutWindow,
    PrivacyPolicyVersion,
    RecipientKind,
)
from rules.calendar import add_months_instant, deadline, state_zone
from rules.jurisdictions import (
    HEALTH_AUTHORIZATION_MAX_MONTHS,
    HEALTH_REVOCATION_EFFECT_DAYS,
    OPT_OUT_REASONABLE_OPPORTUNITY_DAYS,
)
from rules.relationship import relationship_status

TAC = "28 TAC"
CITE_SCOPE = f"{TAC} § 22.1(a)(2)–(3)"
CITE_CONDITIONS = f"{TAC} § 22.14(a)"
CITE_OPPORTUNITY_MAIL = f"{TAC} § 22.14(b)(1)"
CITE_OPPORTUNITY_ELECTRONIC = f"{TAC} § 22.14(b)(2)"
CITE_OPPORTUNITY_ISOLATED = f"{TAC} § 22.14(b)(3)"
CITE_OPT_OUT_DIRECTION = f"{TAC} § 22.2(22); § 22.14(a)(4)"
CITE_DELIVERY = f"{TAC} § 22.13"
CITE_REVISED = f"{TAC} § 22.12(a)"
CITE_EXCEPTION_17 = f"{TAC} § 22.17"
CITE_EXCEPTION_18 = f"{TAC} § 22.18"
CITE_EXCEPTION_19 = f"{TAC} § 22.19"
CITE_ACCOUNT_NUMBERS = f"{TAC} § 22.16"
CITE_HEALTH_AUTHORIZATION = f"{TAC} §§ 22.53, 22.55(c)"
CITE_HEALTH_DURATION = f"{TAC} § 22.54(2)"
CITE_HEALTH_REVOCATION = f"{TAC} § 22.56"

OPT_OUT_OPPORTUNITY = Clock(amount=OPT_OUT_REASONABLE_OPPORTUNITY_DAYS, unit=ClockUnit.CALENDAR_DAYS)
HEALTH_REVOCATION_CLOCK = Clock(amount=HEALTH_REVOCATION_EFFECT_DAYS, unit=ClockUnit.CALENDAR_DAYS)
#: "within 30 days": the consumer may still opt out on the 30th day; the disclosure may follow at
#: 00:00 of the next day, so the window is read with next-midnight ends.
_WINDOW_POLICY = DeadlinePolicy(end_of_day="next_midnight")
_STRICT_POLICY = DeadlinePolicy()

#: 28 TAC §§ 22.53–22.57 are summarised in JURISDICTIONS.md, but the text of the subsections applied
#: (§ 22.54(2), § 22.55(c), § 22.56) is neither there nor in the seeds: the rules are reported.
HEALTH_RULES_REVIEW = (
    "The health-information rules (28 TAC §§ 22.53–22.57: written authorization, 24 months, revocation within "
    "15 days) are reported, not verified — their text is not in the seed texts: counsel confirms."
)

OPT_OUT_DURATION_REVIEW = (
    "How long an opt-out lasts after the relationship ends, and the form of its revocation, are reported, not "
    "verified: the opt-out is treated as in effect until revoked in writing or electronically."
)


# ============================================================================================
# Delivery and reasonable opportunity
# ============================================================================================


def delivery_gives_actual_notice(delivery: NoticeDelivery) -> Reason | None:
    """28 TAC § 22.13: notices must be given "so that each consumer can reasonably be expected to
    receive actual notice in writing or, if the consumer agrees, electronically" ((a)). Not
    sufficient: only a sign or advertisements ((c)(1)); e-mail to a consumer who does not obtain the
    product electronically ((c)(2)); an oral explanation alone ((e)). Returns the reason a delivery
    does not count, or None when it does."""
    channel = delivery.channel
    if channel is DeliveryChannel.ORAL:
        return Reason(code="delivery.oral", message=f"{delivery.notice_id}: an oral explanation alone is not notice.", citation=f"{CITE_DELIVERY}(e)")
    if channel is DeliveryChannel.SIGN_OR_ADVERTISEMENT:
        return Reason(code="delivery.sign", message=f"{delivery.notice_id}: a sign or advertisement is not actual notice.", citation=f"{CITE_DELIVERY}(c)(1)")
    if channel is DeliveryChannel.EMAIL and not delivery.consumer_agreed_electronic:
        return Reason(
            code="delivery.email_without_agreement",
            message=f"{delivery.notice_id}: e-mail to a consumer who does not obtain the product electronically is not actual notice.",
            citation=f"{CITE_DELIVERY}(c)(2)",
        )
    if channel is DeliveryChannel.ELECTRONIC and delivery.acknowledged_at is None:
        return Reason(
            code="delivery.electronic_unacknowledged",
            message=f"{delivery.notice_id}: an electronic notice counts once the consumer acknowledges receipt.",
            citation=f"{CITE_DELIVERY}(b)(3)",
        )
    if channel is DeliveryChannel.WEBSITE_POSTING and delivery.kind is not NoticeKind.ANNUAL:
        return Reason(
            code="delivery.website_posting",
            message=f"{delivery.notice_id}: continuous website posting satisfies annual notices only.",
            citation=f"{CITE_DELIVERY}(d)(1)",
        )
    return None


def reasonable_opportunity(
    delivery: NoticeDelivery, relationship: ConsumerRelationship, jurisdiction: str = "TX"
) -> OptOutWindow:
    """28 TAC § 22.14(b): a reasonable opportunity to opt out is given if the consumer may opt out
    "(1) … within 30 days from the date the covered entity mailed the notices"; "(2) … within 30 days
    after the date that the customer acknowledges receipt of the notices in conjunction with opening
    the account" (electronic); "(3) for an isolated transaction such as providing the consumer with
    an insurance quote" — the consumer decides before the transaction is completed.

    ``disclosure_allowed_from`` is the first instant after the window (00:00 local of the 31st day),
    or the completion of an isolated transaction; None when the delivery gives no opportunity.
    """
    tz = state_zone(jurisdiction)
    invalid = delivery_gives_actual_notice(delivery)
    opens = delivery.delivered_at.astimezone(tz)
    if invalid is not None:
        return OptOutWindow(
            notice_id=delivery.notice_id, opens_at=opens, example="none", citation=invalid.citation or CITE_DELIVERY, reasons=[invalid]
        )
    if delivery.isolated_transaction or relationship.isolated_transaction:
        completed = relationship.transaction_completed_at
        return OptOutWindow(
            notice_id=delivery.notice_id,
            opens_at=opens,
            disclosure_allowed_from=completed.astimezone(tz) if completed else None,
            example="isolated_transaction",
            citation=CITE_OPPORTUNITY_ISOLATED,
            reasons=[
                Reason(
                    code="opportunity.isolated_transaction",
                    message="Isolated transaction: the consumer decides whether to opt out before the transaction is "
                    "completed; the disclosure may follow completion"
                    + ("." if completed else " (not completed yet)."),
                    citation=CITE_OPPORTUNITY_ISOLATED,
                )
            ],
        )
    if delivery.channel in (DeliveryChannel.ELECTRONIC, DeliveryChannel.EMAIL):
        start = delivery.acknowledged_at or delivery.delivered_at
        cite, example = CITE_OPPORTUNITY_ELECTRONIC, "electronic_acknowledgement"
        text = f"{OPT_OUT_REASONABLE_OPPORTUNITY_DAYS} days after the consumer acknowledged the electronic notice"
    else:
        start = delivery.delivered_at
        cite, example = CITE_OPPORTUNITY_MAIL, "mailed"
        text = f"{OPT_OUT_REASONABLE_OPPORTUNITY_DAYS} days from the date the notice was mailed"
        if delivery.channel is DeliveryChannel.HAND_DELIVERY:
            example = "hand_delivered"
            text = f"{OPT_OUT_REASONABLE_OPPORTUNITY_DAYS} days from hand delivery (read like mailing)"
    allowed_from = deadline(start, OPT_OUT_OPPORTUNITY, jurisdiction, _WINDOW_POLICY, tz)
    return OptOutWindow(
        notice_id=delivery.notice_id,
        opens_at=opens,
        disclosure_allowed_from=allowed_from,
        example=example,
        citation=cite,
        reasons=[Reason(code=f"opportunity.{example}", message=f"Reasonable opportunity: {text}.", citation=cite)],
    )


# ============================================================================================
# Opt-out elections
# ============================================================================================


def opt_out_in_effect(request: DisclosureRequest) -> tuple[OptOutElection | None, list[Reason], list[str]]:
    """28 TAC § 22.14(a)(4): no disclosure once "the consumer does not opt out" fails. An opt-out
    direction (§ 22.2(22)) received at or before ``as_of`` and covering the category and recipient
    category stands until revoked in writing or electronically (reported rule: counsel review).
    The gate honours it from receipt — stricter than "as soon as reasonably practicable"."""
    reasons: list[Reason] = []
    review: list[str] = []
    revocations = {r.election_id: r for r in request.opt_out_revocations if r.received_at <= request.as_of}
    for election in sorted(request.opt_outs, key=lambda e: e.received_at):
        if election.received_at > request.as_of:
            continue
        if not election.covers(request.npi_category, request.recipient.category):
            continue
        revocation = revocations.get(election.election_id)
        if revocation is not None and revocation.form in ("written", "electronic"):
            reasons.append(
                Reason(
                    code="opt_out.revoked",
                    message=f"Opt-out {election.election_id} was revoked {revocation.form}ly on "
                    f"{revocation.received_at.isoformat()}.",
                    citation=CITE_OPT_OUT_DIRECTION,
                )
            )
            review.append(OPT_OUT_DURATION_REVIEW)
            continue
        if revocation is not None:
            reasons.append(
                Reason(
                    code="opt_out.oral_revocation_ignored",
                    message=f"Opt-out {election.election_id}: an oral revocation does not end it.",
                    citation=CITE_OPT_OUT_DIRECTION,
                )
            )
            review.append(OPT_OUT_DURATION_REVIEW)
        return election, reasons, review
    return None, reasons, review


# ============================================================================================
# Account numbers (§ 22.16)
# ============================================================================================


def account_number_disclosure(
    recipient: DisclosureRecipient, purpose: DisclosurePurpose, sharing: AccountNumberSharing
) -> Reason:
    """28 TAC § 22.16: "(a) A covered entity shall not, directly or through an affiliate, disclose,
    other than to a consumer reporting agency, a policy number or similar form of access number or
    access code for a consumer's policy or transaction account to any nonaffiliated third party for
    use in telemarketing, direct mail marketing or other marketing through electronic mail", except
    "(b)(1) to a service provider … solely for the purpose of marketing the sharing covered entity's
    own products or services, so long as the receiving covered entity is not authorized to initiate
    charges directly to the account" and "(2) to a participant in an affinity or similar program …
    identified to the customer"; "(c)" encrypted numbers without the means to decode are not account
    numbers; "(d)" deposit and credit-card accounts, and accounts to which third parties cannot
    initiate charges, are not policy or transaction accounts.

    Returns a reason whose code starts with ``account_number.allowed`` or ``account_number.denied``.
    """

    def allowed(code: str, message: str, sub: str) -> Reason:
        return Reason(code=f"account_number.allowed.{code}", message=message, citation=f"{CITE_ACCOUNT_NUMBERS}{sub}")

    if not recipient.kind.is_nonaffiliated:
        return allowed("affiliate", "The recipient is an affiliate; § 22.16(a) limits disclosure to nonaffiliated third parties.", "(a)")
    if recipient.is_consumer_reporting_agency:
        return allowed("consumer_reporting_agency", "Disclosure to a consumer reporting agency is not limited.", "(a)")
    if not purpose.is_marketing:
        return allowed("not_marketing", "The number is not disclosed for marketing.", "(a)")
    if sharing.account_type is not AccountType.POLICY_OR_TRANSACTION:
        return allowed(
            "not_policy_or_transaction_account",
            f"A {sharing.account_type.value.replace('_', ' ')} account is not a policy or transaction account.",
            "(d)",
        )
    if sharing.encrypted_without_key:
        return allowed("encrypted", "An encrypted number without the means to decode it is not an account number.", "(c)")
    if recipient.kind is RecipientKind.SERVICE_PROVIDER and not recipient.may_initiate_charges:
        return allowed(
            "service_provider",
            "A service provider marketing the licensee's own products that cannot initiate charges to the account.",
            "(b)(1)",
        )
    if recipient.affinity_program_identified:
        return allowed("affinity_program", "A participant in an affinity program identified to the customer.", "(b)(2)")
    return Reason(
        code="account_number.denied",
        message="A policy or transaction account number may not go to a nonaffiliated third party for marketing.",
        citation=f"{CITE_ACCOUNT_NUMBERS}(a)",
    )


# ============================================================================================
# Health information
# ============================================================================================


def health_authorization_status(
    authorization: HealthAuthorization, as_of: dt.datetime, jurisdiction: str = "TX"
) -> HealthAuthorizationStatus:
    """28 TAC § 22.54(2): an authorization "shall in no event be valid (A) … for a period of more than
    24 months from the date it was signed"; § 22.56: "(a) A consumer … may at any time revoke that
    authorization", "(e) A covered entity shall effect a revocation as soon as possible after receipt
    but not later than 15 days after the date of receipt".

    Valid at ``as_of`` when signed, not expired, and no revocation received: the gate stops relying
    on an authorization on receipt of the revocation; ``revocation_effective_by`` is the latest the
    licensee's systems must have carried it out.
    """
    tz = state_zone(jurisdiction)
    reasons: list[Reason] = []
    review: list[str] = []
    cap = add_months_instant(authorization.signed_at.astimezone(tz), HEALTH_AUTHORIZATION_MAX_MONTHS)
    expires = cap if authorization.valid_until is None else min(cap, authorization.valid_until.astimezone(tz))
    if authorization.valid_until is not None and authorization.valid_until > cap:
        reasons.append(
            Reason(
                code="health.capped",
                message=f"The stated period exceeds {HEALTH_AUTHORIZATION_MAX_MONTHS} months from signature: it ends "
                f"{cap.isoformat()}.",
                citation=f"{CITE_HEALTH_DURATION}(A)",
            )
        )
    if authorization.signed_by == "legal_representative":
        review.append(
            "Signed by a legal representative: § 22.54(2)(B) sets a different end date; the 24-month limit of "
            "§ 22.54(2)(A) is applied until counsel confirms."
        )
    valid = authorization.signed_at <= as_of < expires
    if as_of >= expires:
        reasons.append(Reason(code="health.expired", message=f"Expired {expires.isoformat()}.", citation=f"{CITE_HEALTH_DURATION}(A)"))
    elif as_of < authorization.signed_at:
        reasons.append(Reason(code="health.not_yet_signed", message="Not signed yet at this time.", citation=CITE_HEALTH_AUTHORIZATION))
    effective_by = None
    received = authorization.revocation_received_at
    if received is not None:
        effective_by = deadline(received, HEALTH_REVOCATION_CLOCK, jurisdiction, _STRICT_POLICY, tz)
        if received <= as_of:
            valid = False
            reasons.append(
                Reason(
                    code="health.revoked",
                    message=f"Revoked (received {received.isoformat()}); the revocation must be effected by "
                    f"{effective_by.isoformat()}.",
                    citation=f"{CITE_HEALTH_REVOCATION}(a), (e)",
                )
            )
        if not authorization.revocation_in_writing_signed:
            review.append(
                "The revocation is not in writing and signed (§ 22.56(c)); it is honoured anyway (§ 22.56(d)(2)) "
                "until counsel decides."
            )
    if valid:
        reasons.append(
            Reason(code="health.valid", message=f"Valid until {expires.isoformat()}.", citation=f"{CITE_HEALTH_DURATION}(A)")
        )
    return HealthAuthorizationStatus(
        authorization_id=authorization.authorization_id,
        valid=valid,
        expires_at=expires,
        revocation_received_at=received,
        revocation_effective_by=effective_by,
        reasons=reasons,
        needs_counsel_review=bool(review),
        counsel_review_reasons=review,
    )


def _health_decision(request: DisclosureRequest) -> DisclosureDecision:
    """Health information: written authorization before disclosure (28 TAC §§ 22.53, 22.55(c))."""
    review: list[str] = [HEALTH_RULES_REVIEW]
    reasons: list[Reason] = []
    if request.exception_claimed is not DisclosureException.NONE:
        review.append(
            "An exception is claimed for health information; the exceptions to the authorization requirement are "
            "not encoded: counsel decides."
        )
    for auth in sorted(request.health_authorizations, key=lambda a: a.signed_at):
        names = set(auth.recipients)
        if names and request.recipient.name not in names and request.recipient.category not in names:
            continue
        if auth.information_types and request.npi_category not in auth.information_types:
            continue
        status = health_authorization_status(auth, request.as_of, request.jurisdiction)
        reasons.extend(status.reasons)
        review.extend(r for r in status.counsel_review_reasons if r not in review)
        if status.valid:
            return DisclosureDecision(
                request_id=request.request_id,
                allowed=True,
                first_allowed_at=auth.signed_at,
                rule_id="tx.health.authorization",
                citation=CITE_HEALTH_AUTHORIZATION,
                status=RuleStatus.REPORTED,
                reasons=[*reasons, Reason(code="health.authorized", message=f"Authorization {auth.authorization_id} covers this disclosure.", citation=CITE_HEALTH_AUTHORIZATION)],
                needs_counsel_review=bool(review),
                counsel_review_reasons=review,
            )
        if auth.signed_at > request.as_of and auth.revocation_received_at is None:
            return DisclosureDecision(
                request_id=request.request_id,
                allowed=False,
                first_allowed_at=auth.signed_at,
                rule_id="tx.health.authorization",
                citation=CITE_HEALTH_AUTHORIZATION,
                status=RuleStatus.REPORTED,
                reasons=reasons,
                needs_counsel_review=bool(review),
                counsel_review_reasons=review,
            )
    return DisclosureDecision(
        request_id=request.request_id,
        allowed=False,
        first_allowed_at=None,
        rule_id="tx.health.authorization",
        citation=CITE_HEALTH_AUTHORIZATION,
        status=RuleStatus.REPORTED,
        reasons=[
            *reasons,
            Reason(
                code="health.no_authorization",
                message="No valid written authorization covers this recipient and information.",
                citation=CITE_HEALTH_AUTHORIZATION,
            ),
        ],
        required_actions=["Obtain the consumer's written authorization (28 TAC § 22.54) before disclosing."],
        needs_counsel_review=bool(review),
        counsel_review_reasons=review,
    )


# ============================================================================================
# Financial information
# ============================================================================================


def policy_describes(
    policy: PrivacyPolicyVersion, npi_category: str, recipient: DisclosureRecipient, former_customer: bool
) -> bool:
    """The policy version describes disclosing ``npi_category`` to the recipient's category (its
    reservations of right included, § 22.10(g)); for a former customer, a disclosure about former
    customers (§ 22.10(b)(4))."""
    for line in policy.disclosures:
        if (
            line.npi_category == npi_category
            and line.recipient_category == recipient.category
            and line.recipient_kind.is_nonaffiliated == recipient.kind.is_nonaffiliated
            and (line.about_former_customers or not former_customer)
        ):
            return True
    return False


def notices_not_describing(request: DisclosureRequest, former_customer: bool) -> list[NoticeDelivery]:
    """Initial and revised notices the consumer received (§ 22.13) that do not describe this
    disclosure: with none that does, the disclosure is "other than as described" — § 22.12(a)."""
    out: list[NoticeDelivery] = []
    for notice in sorted(request.notices, key=lambda n: n.delivered_at):
        if notice.kind not in (NoticeKind.INITIAL, NoticeKind.REVISED, NoticeKind.SHORT_FORM_INITIAL):
            continue
        if notice.delivered_at > request.as_of or delivery_gives_actual_notice(notice) is not None:
            continue
        version = notice.policy_version or request.policy_in_force
        if policy_describes(request.policy(version), request.npi_category, request.recipient, former_customer):
            return []
        out.append(notice)
    return out


@dataclass(frozen=True)
class _Opportunity:
    describing: NoticeDelivery
    opt_out: NoticeDelivery
    window: OptOutWindow


def _opportunities(request: DisclosureRequest, former_customer: bool) -> tuple[list[_Opportunity], list[Reason]]:
    """Pairs (notice describing the disclosure, later opt-out notice) that count under § 22.13."""
    reasons: list[Reason] = []
    valid: list[NoticeDelivery] = []
    for notice in sorted(request.notices, key=lambda n: n.delivered_at):
        if notice.delivered_at > request.as_of:
            continue
        invalid = delivery_gives_actual_notice(notice)
        if invalid is not None:
            reasons.append(invalid)
            continue
        valid.append(notice)
    describing_kinds = (NoticeKind.INITIAL, NoticeKind.REVISED, NoticeKind.SHORT_FORM_INITIAL)
    pairs: list[_Opportunity] = []
    for notice in valid:
        if notice.kind not in describing_kinds:
            continue
        version = notice.policy_version or request.policy_in_force
        if not policy_describes(request.policy(version), request.npi_category, request.recipient, former_customer):
            continue
        for opt in valid:
            if opt.carries_opt_out and opt.delivered_at >= notice.delivered_at:
                window = reasonable_opportunity(opt, request.relationship, request.jurisdiction)
                pairs.append(_Opportunity(describing=notice, opt_out=opt, window=window))
                break
    return pairs, reasons


def _former_customer(relationship: ConsumerRelationship, as_of: dt.datetime) -> bool:
    return relationship.is_customer and relationship_status(relationship, as_of.date()).ended_on is not None


def decide_disclosure(request: DisclosureRequest) -> DisclosureDecision:
    """Allow or deny the disclosure now, with the first instant it would be allowed and the rule.

    Order of the tests: account numbers (§ 22.16); affiliates (not limited, § 22.1(a)); exceptions
    of §§ 22.18–22.19 (no notice, no opt out); the policy in force must describe the disclosure
    (§ 22.12(a)); § 22.17 service providers / joint marketers (initial notice, no opt out); other
    nonaffiliated third parties: initial or revised notice + opt-out notice + reasonable
    opportunity + no opt-out in effect (§ 22.14(a), § 22.12(a)).
    """
    if request.information_type is InformationType.HEALTH:
        return _health_decision(request)
    tz = state_zone(request.jurisdiction)
    recipient = request.recipient
    reasons: list[Reason] = []
    review: list[str] = []

    def decision(allowed: bool, rule_id: str, citation: str, status: RuleStatus = RuleStatus.VERIFIED, **extra: object) -> DisclosureDecision:
        return DisclosureDecision(
            request_id=request.request_id,
            allowed=allowed,
            rule_id=rule_id,
            citation=citation,
            status=status,
            reasons=reasons,
            needs_counsel_review=bool(review),
            counsel_review_reasons=review,
            **extra,  # type: ignore[arg-type]
        )

    if request.account_number is not None:
        verdict = account_number_disclosure(recipient, request.purpose, request.account_number)
        reasons.append(verdict)
        if verdict.code == "account_number.denied":
            return decision(
                False,
                "tx.account_numbers",
                verdict.citation or CITE_ACCOUNT_NUMBERS,
                first_allowed_at=None,
                required_actions=["Remove the account number, encrypt it without giving the key, or use a § 22.16(b) recipient."],
            )
        if request.purpose is DisclosurePurpose.OTHER_MARKETING and recipient.kind.is_nonaffiliated:
            review.append("§ 22.16(a) names telemarketing, direct mail and e-mail marketing; confirm it for this channel.")

    if not recipient.kind.is_nonaffiliated:
        reasons.append(
            Reason(
                code="affiliate",
                message="The recipient is an affiliate: the subchapter limits disclosure to nonaffiliated third parties.",
                citation=CITE_SCOPE,
            )
        )
        return decision(True, "tx.disclosure.affiliates", CITE_SCOPE, first_allowed_at=request.as_of)

    if request.exception_claimed.exempts_notice:
        cite = CITE_EXCEPTION_18 if request.exception_claimed is DisclosureException.PROCESSING_AND_SERVICING else CITE_EXCEPTION_19
        reasons.append(
            Reason(
                code=f"exception.{request.exception_claimed.value}",
                message="The exception claimed exempts the disclosure from the notice and opt-out requirements.",
                citation=cite,
            )
        )
        return decision(True, "tx.disclosure.exceptions_18_19", cite, first_allowed_at=request.as_of)

    former = _former_customer(request.relationship, request.as_of)
    policy = request.policy(request.policy_in_force)
    if not policy_describes(policy, request.npi_category, recipient, former):
        reasons.append(
            Reason(
                code="policy.not_described",
                message=f"Policy {policy.version_id} does not describe disclosing {request.npi_category!r} to "
                f"{recipient.category!r}" + (" about former customers" if former else "") + ".",
                citation=CITE_REVISED,
            )
        )
        return decision(
            False,
            "tx.revised_notice.before_new_disclosure",
            CITE_REVISED,
            first_allowed_at=None,
            required_actions=[
                "Adopt a policy version that describes this disclosure.",
                "Deliver the revised notice and a new opt-out notice, then wait out the reasonable opportunity to opt out.",
            ],
        )

    pairs, delivery_reasons = _opportunities(request, former)
    reasons.extend(delivery_reasons)

    if request.exception_claimed is DisclosureException.SERVICE_PROVIDER_JOINT_MARKETING:
        if recipient.kind not in (RecipientKind.SERVICE_PROVIDER, RecipientKind.JOINT_MARKETER):
            reasons.append(
                Reason(code="exception_17.wrong_recipient", message="§ 22.17 covers service providers and joint marketers only.", citation=CITE_EXCEPTION_17)
            )
        elif not request.contract_limits_use:
            reasons.append(
                Reason(
                    code="exception_17.no_contract",
                    message="§ 22.17 needs a contract limiting the recipient's use to the purpose of the disclosure.",
                    citation=CITE_EXCEPTION_17,
                )
            )
            return decision(False, "tx.disclosure.exception_17", CITE_EXCEPTION_17, first_allowed_at=None,
                            required_actions=["Sign a contract limiting the recipient's use and disclosure of the information."])
        else:
            describing = [
                n
                for n in request.notices
                if n.kind in (NoticeKind.INITIAL, NoticeKind.REVISED, NoticeKind.SHORT_FORM_INITIAL)
                and n.delivered_at <= request.as_of
                and delivery_gives_actual_notice(n) is None
                and policy_describes(request.policy(n.policy_version or request.policy_in_force), request.npi_category, recipient, former)
            ]
            if describing:
                first = min(n.delivered_at for n in describing).astimezone(tz)
                reasons.append(
                    Reason(
                        code="exception_17",
                        message="Service provider / joint marketer under contract: the initial notice was given; no opt out applies.",
                        citation=CITE_EXCEPTION_17,
                    )
                )
                return decision(True, "tx.disclosure.exception_17", CITE_EXCEPTION_17, first_allowed_at=first)
            reasons.append(
                Reason(code="exception_17.no_initial_notice", message="The initial notice describing the disclosure has not been given.", citation=CITE_EXCEPTION_17)
            )
            return decision(False, "tx.disclosure.exception_17", CITE_EXCEPTION_17, first_allowed_at=None,
                            required_actions=["Deliver the initial privacy notice describing this disclosure (§ 22.8, § 22.10(b)(5))."])

    election, opt_reasons, opt_review = opt_out_in_effect(request)
    reasons.extend(opt_reasons)
    review.extend(r for r in opt_review if r not in review)
    if election is not None:
        if former and OPT_OUT_DURATION_REVIEW not in review:
            review.append(OPT_OUT_DURATION_REVIEW)
        reasons.append(
            Reason(
                code="opt_out.in_effect",
                message=f"The consumer opted out ({election.election_id}, received {election.received_at.isoformat()}); "
                "the direction stands until revoked.",
                citation=CITE_OPT_OUT_DIRECTION,
            )
        )
        return decision(
            False,
            "tx.opt_out.duration" if former else "tx.opt_out.in_effect",
            CITE_OPT_OUT_DIRECTION,
            RuleStatus.REPORTED if former else RuleStatus.VERIFIED,
            first_allowed_at=None,
        )

    windows = [p for p in pairs if p.window.disclosure_allowed_from is not None]
    if not windows:
        pending = [p for p in pairs if p.window.disclosure_allowed_from is None]
        for p in pending:
            reasons.extend(p.window.reasons)
        if_now = deadline(request.as_of, OPT_OUT_OPPORTUNITY, request.jurisdiction, _WINDOW_POLICY, tz)
        earlier = notices_not_describing(request, former)
        if not pairs and earlier:
            # The consumer was told of other disclosures only: this one is "other than as described
            # in the initial notice" — a revised notice is owed (§ 22.12(a)), not a first one.
            reasons.append(
                Reason(
                    code="revised_notice.owed",
                    message=f"The notices given ({', '.join(n.notice_id for n in earlier)}) do not describe disclosing "
                    f"{request.npi_category!r} to {recipient.category!r}: a revised notice, a new opt-out notice and a "
                    "reasonable opportunity to opt out must come first.",
                    citation=CITE_REVISED,
                )
            )
            return decision(
                False,
                "tx.revised_notice.before_new_disclosure",
                CITE_REVISED,
                first_allowed_at=None,
                first_allowed_if_notified_at_as_of=if_now,
                required_actions=[
                    "Deliver a revised notice describing this disclosure with a new opt-out notice (§ 22.12(a)(1)–(2)), "
                    "then wait out the reasonable opportunity to opt out (§ 22.12(a)(3))."
                ],
            )
        missing = []
        if not any(True for _ in pairs):
            missing.append("Deliver an initial (or revised) notice describing this disclosure, with an opt-out notice (§ 22.14(a)(1)–(2)).")
        else:
            missing.append("Complete the isolated transaction, in which the consumer decides whether to opt out (§ 22.14(b)(3)).")
        reasons.append(
            Reason(
                code="notice.missing",
                message="No notice describing this disclosure with an opt-out notice and a reasonable opportunity to "
                "opt out is on record.",
                citation=CITE_CONDITIONS,
            )
        )
        return decision(
            False,
            "tx.disclosure.conditions",
            CITE_CONDITIONS,
            first_allowed_at=None,
            first_allowed_if_notified_at_as_of=if_now,
            required_actions=missing,
        )
    best = min(windows, key=lambda p: p.window.disclosure_allowed_from)  # type: ignore[arg-type, return-value]
    first = best.window.disclosure_allowed_from
    assert first is not None
    reasons.extend(best.window.reasons)
    kind = "revised" if best.describing.kind is NoticeKind.REVISED else "initial"
    # A revised notice opens the disclosure under § 22.12(a); an initial one under § 22.14(a).
    conditions = CITE_REVISED if kind == "revised" else CITE_CONDITIONS
    allowed = request.as_of >= first
    given = (
        f"The {kind} notice {best.describing.notice_id} with its opt-out notice was given"
        if best.opt_out is best.describing
        else f"The {kind} notice {best.describing.notice_id} and the opt-out notice {best.opt_out.notice_id} were given"
    )
    reasons.append(
        Reason(
            code="conditions.met" if allowed else "conditions.waiting",
            message=given
            + (
                "; the reasonable opportunity to opt out has passed and the consumer has not opted out."
                if allowed
                else f"; the consumer may still opt out: the disclosure may follow from {first.isoformat()}."
            ),
            citation=conditions,
        )
    )
    rule_id = {
        "mailed": "tx.opt_out.reasonable_opportunity.mail",
        "hand_delivered": "tx.opt_out.reasonable_opportunity.mail",
        "electronic_acknowledgement": "tx.opt_out.reasonable_opportunity.electronic",
        "isolated_transaction": "tx.opt_out.reasonable_opportunity.isolated",
    }[best.window.example]
    return decision(allowed, rule_id, f"{conditions}; {best.window.citation}", first_allowed_at=first)
