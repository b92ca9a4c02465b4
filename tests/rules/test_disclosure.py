"""The disclosure gate — 28 TAC §§ 22.1, 22.12–22.14, 22.16–22.19 and the health rules §§ 22.53–22.56."""

from __future__ import annotations

import pytest

from models.privacy import (
    AccountNumberSharing,
    AccountType,
    DisclosurePurpose,
    DisclosureRecipient,
    HealthAuthorization,
    NoticeDelivery,
    RecipientKind,
)
from rules.disclosure import (
    account_number_disclosure,
    decide_disclosure,
    delivery_gives_actual_notice,
    health_authorization_status,
)
from rules.registry import verifies
from tests.rules.builders import ts
from tests.rules.privacy_builders import notice, request

CONDITIONS = (
    '"a covered entity may not … disclose any nonpublic personal financial information about a consumer to a '
    "nonaffiliated third party unless: (1) the covered entity has provided to the consumer an initial notice …; (2) "
    "… an opt out notice …; (3) … a reasonable opportunity, before it discloses the information …, to opt out of the "
    'disclosure; and (4) the consumer does not opt out" — 28 TAC § 22.14(a)'
)
OPPORTUNITY = (
    '"(1) the covered entity mails the notices … and allows the consumer to opt out … within 30 days from the date the '
    'covered entity mailed the notices. (2) a customer opens an on-line account … and the covered entity allows the '
    "customer to opt out by any reasonable means within 30 days after the date that the customer acknowledges receipt "
    'of the notices …; (3) for an isolated transaction such as providing the consumer with an insurance quote …" — '
    "28 TAC § 22.14(b)"
)


@verifies("tx.opt_out.reasonable_opportunity.mail", "tx.disclosure.conditions")
@pytest.mark.parametrize(
    ("as_of", "allowed"),
    [
        ("2025-07-02T23:59:59-05:00", False),  # the 30th day after mailing on 2 June: still inside the window
        ("2025-07-03T00:00:00-05:00", True),  # the first instant after it
        ("2025-06-10T10:00:00-05:00", False),
        ("2026-01-01T00:00:00-06:00", True),
    ],
)
def test_disclosure_waits_30_days_after_mailing_22_14_b_1(as_of: str, allowed: bool) -> None:
    """CONDITIONS and OPPORTUNITY (quoted above)."""
    decision = decide_disclosure(request(as_of=as_of))
    assert decision.allowed is allowed
    assert decision.first_allowed_at == ts("2025-07-03T00:00:00-05:00")
    assert decision.rule_id == "tx.opt_out.reasonable_opportunity.mail"
    assert decision.citation == "28 TAC § 22.14(a); 28 TAC § 22.14(b)(1)"


@verifies("tx.opt_out.reasonable_opportunity.electronic")
def test_electronic_notice_counts_from_the_acknowledgement_22_14_b_2() -> None:
    delivered = notice("N1", "initial", "2025-06-02T12:00:00-05:00", channel="electronic", acknowledged="2025-06-05T09:00:00-05:00", agreed_electronic=True)
    decision = decide_disclosure(request(notices=[delivered], as_of="2025-07-05T12:00:00-05:00"))
    assert not decision.allowed
    assert decision.first_allowed_at == ts("2025-07-06T00:00:00-05:00")
    assert decision.rule_id == "tx.opt_out.reasonable_opportunity.electronic"


@verifies("tx.opt_out.reasonable_opportunity.isolated")
@pytest.mark.parametrize(("completed", "allowed"), [(None, False), ("2025-06-02T12:20:00-05:00", True)])
def test_isolated_transaction_decided_before_completion_22_14_b_3(completed: str | None, allowed: bool) -> None:
    relationship = {"consumer_ref": "quote-9", "is_customer": False, "isolated_transaction": True, "transaction_completed_at": completed}
    delivered = notice("Q1", "initial", "2025-06-02T12:00:00-05:00", isolated=True, channel="hand_delivery")
    decision = decide_disclosure(request(notices=[delivered], relationship=relationship, as_of="2025-06-02T13:00:00-05:00"))
    assert decision.allowed is allowed
    if completed:
        assert decision.first_allowed_at == ts(completed)
        assert decision.rule_id == "tx.opt_out.reasonable_opportunity.isolated"


@verifies("tx.disclosure.conditions")
def test_no_notice_means_no_disclosure_and_says_when_it_could_be() -> None:
    decision = decide_disclosure(request(notices=[]))
    assert not decision.allowed and decision.first_allowed_at is None
    assert decision.first_allowed_if_notified_at_as_of == ts("2025-08-25T00:00:00-05:00")
    assert decision.required_actions and "initial" in decision.required_actions[0]


@verifies("tx.disclosure.conditions")
def test_opt_out_notice_must_accompany_or_follow_the_initial_notice() -> None:
    initial_only = notice("N1", "initial", "2025-03-02T12:00:00-06:00", opt_out=False)
    assert not decide_disclosure(request(notices=[initial_only])).allowed
    later = notice("OO", "opt_out", "2025-04-01T12:00:00-05:00")
    decision = decide_disclosure(request(notices=[initial_only, later]))
    assert decision.allowed and decision.first_allowed_at == ts("2025-05-02T00:00:00-05:00")


@verifies("tx.delivery.actual_notice")
@pytest.mark.parametrize(
    ("channel", "agreed", "acknowledged", "code"),
    [
        ("oral", False, None, "delivery.oral"),  # (e) "solely by orally explaining the notice"
        ("sign_or_advertisement", False, None, "delivery.sign"),  # (c)(1)
        ("email", False, None, "delivery.email_without_agreement"),  # (c)(2)
        ("email", True, None, None),
        ("electronic", True, None, "delivery.electronic_unacknowledged"),  # (b)(3) requires acknowledgement
        ("electronic", True, "2025-06-02T13:00:00-05:00", None),
        ("website_posting", True, None, "delivery.website_posting"),  # (d)(1) annual notices only
        ("mail", False, None, None),  # (b)(2)
        ("hand_delivery", False, None, None),  # (b)(1)
    ],
)
def test_notice_counts_only_where_actual_notice_is_expected_22_13(channel: str, agreed: bool, acknowledged: str | None, code: str | None) -> None:
    """"so that each consumer can reasonably be expected to receive actual notice in writing or, if the consumer
    agrees, electronically" — 28 TAC § 22.13(a)."""
    delivery = NoticeDelivery.model_validate(
        notice("N", "initial", "2025-06-02T12:00:00-05:00", channel=channel, agreed_electronic=agreed, acknowledged=acknowledged)
    )
    problem = delivery_gives_actual_notice(delivery)
    assert (problem.code if problem else None) == code
    if code is not None:
        decision = decide_disclosure(request(notices=[delivery.model_dump(mode="json")], as_of="2025-12-01T00:00:00-06:00"))
        assert not decision.allowed
        assert code in [r.code for r in decision.reasons]


@verifies("tx.opt_out.in_effect")
@pytest.mark.parametrize(
    ("categories", "recipients", "received", "blocked"),
    [
        (None, None, "2025-07-10T09:00:00-05:00", True),  # opt out of everything
        (["application information"], None, "2025-07-10T09:00:00-05:00", True),
        (["transaction information"], None, "2025-07-10T09:00:00-05:00", False),  # another category
        (None, ["non-financial companies"], "2025-07-10T09:00:00-05:00", False),  # another recipient category
        (None, None, "2025-12-24T09:00:00-06:00", False),  # received after the moment asked about
    ],
)
def test_opt_out_stops_disclosure_from_receipt(categories: list[str] | None, recipients: list[str] | None, received: str, blocked: bool) -> None:
    """"(4) the consumer does not opt out" — § 22.14(a)(4); an opt out is "a direction by the consumer that the covered
    entity not disclose nonpublic personal financial information about that consumer to a nonaffiliated third party"
    — § 22.2(22)."""
    election = {"election_id": "OO-1", "received_at": received, "npi_categories": categories, "recipient_categories": recipients}
    decision = decide_disclosure(request(opt_outs=[election], as_of="2025-08-01T10:00:00-05:00"))
    assert decision.allowed is not blocked
    if blocked:
        assert decision.rule_id == "tx.opt_out.in_effect" and decision.first_allowed_at is None


@verifies("tx.opt_out.duration")
@pytest.mark.parametrize(("form", "blocked"), [("written", False), ("electronic", False), ("oral", True)])
def test_opt_out_lasts_until_revoked_in_writing_or_electronically(form: str, blocked: bool) -> None:
    """JURISDICTIONS.md (reported): "treat an opt-out as in effect until revoked in writing or electronically, and mark
    the rule needs_counsel_review"."""
    election = {"election_id": "OO-1", "received_at": "2025-07-10T09:00:00-05:00"}
    revocation = {"election_id": "OO-1", "received_at": "2025-07-20T09:00:00-05:00", "form": form}
    decision = decide_disclosure(request(opt_outs=[election], revocations=[revocation], as_of="2025-08-01T10:00:00-05:00"))
    assert decision.allowed is not blocked
    assert decision.needs_counsel_review


@verifies("tx.opt_out.duration")
def test_opt_out_survives_the_end_of_the_relationship_with_counsel_review() -> None:
    relationship = {"consumer_ref": "c", "is_customer": True, "no_longer_policyholder_on": "2025-07-01"}
    election = {"election_id": "OO-1", "received_at": "2024-07-10T09:00:00-05:00"}
    decision = decide_disclosure(
        request(opt_outs=[election], relationship=relationship, as_of="2025-08-01T10:00:00-05:00",
                notices=[notice("N1", "revised", "2025-06-02T12:00:00-05:00", version="v2")])
    )
    assert not decision.allowed
    assert decision.rule_id == "tx.opt_out.duration" and decision.status.value == "reported"
    assert decision.needs_counsel_review


@verifies("tx.revised_notice.before_new_disclosure")
def test_new_disclosure_waits_for_the_revised_notice_22_12_a() -> None:
    """"a covered entity shall not … disclose any nonpublic personal financial information about a consumer to a
    nonaffiliated third party other than as described in the initial notice …, unless: (1) … a clear and conspicuous
    revised notice …; (2) … a new opt out notice; (3) … a reasonable opportunity …; and (4) the consumer does not opt
    out" — 28 TAC § 22.12(a)."""
    initial = notice("N1", "initial", "2024-03-02T12:00:00-06:00", version="v1")
    first = decide_disclosure(request(category="consumer report information", notices=[initial]))
    assert not first.allowed and first.first_allowed_at is None
    revised = notice("N2", "revised", "2025-07-08T12:00:00-05:00", version="v2")
    second = decide_disclosure(request(category="consumer report information", notices=[initial, revised]))
    assert not second.allowed and second.first_allowed_at == ts("2025-08-08T00:00:00-05:00")
    # a disclosure the policy in force does not describe at all
    third = decide_disclosure(request(category="medical history", notices=[initial, revised]))
    assert third.rule_id == "tx.revised_notice.before_new_disclosure" and not third.allowed


@verifies("tx.revised_notice.before_new_disclosure")
def test_disclosure_refused_because_a_revised_notice_is_owed_cites_22_12_not_22_14_a() -> None:
    """The consumer holds an initial notice (v1) that does not describe the disclosure the policy in force (v2)
    now allows: what is owed is a revised notice — "other than as described in the initial notice … unless
    (1) … a clear and conspicuous revised notice" (28 TAC § 22.12(a)) — not a first notice under § 22.14(a)."""
    initial = notice("N1", "initial", "2024-03-02T12:00:00-06:00", version="v1")
    owed = decide_disclosure(request(category="consumer report information", notices=[initial]))
    assert not owed.allowed and owed.rule_id == "tx.revised_notice.before_new_disclosure"
    assert owed.citation == "28 TAC § 22.12(a)"
    assert [r.code for r in owed.reasons][-1] == "revised_notice.owed" and owed.reasons[-1].citation == "28 TAC § 22.12(a)"
    assert "N1" in owed.reasons[-1].message
    assert owed.required_actions == [
        "Deliver a revised notice describing this disclosure with a new opt-out notice (§ 22.12(a)(1)–(2)), "
        "then wait out the reasonable opportunity to opt out (§ 22.12(a)(3))."
    ]
    assert owed.first_allowed_if_notified_at_as_of == ts("2025-08-25T00:00:00-05:00")
    # Given, and waiting out the reasonable opportunity: still § 22.12(a), with the window's § 22.14(b)(1).
    revised = notice("N2", "revised", "2025-07-08T12:00:00-05:00", version="v2")
    waiting = decide_disclosure(request(category="consumer report information", notices=[initial, revised]))
    assert waiting.citation == "28 TAC § 22.12(a); 28 TAC § 22.14(b)(1)"
    assert "22.14(a)" not in waiting.citation
    # Without any notice at all, the first notice is what is owed: § 22.14(a).
    first = decide_disclosure(request(category="consumer report information", notices=[]))
    assert first.citation == "28 TAC § 22.14(a)" and first.rule_id == "tx.disclosure.conditions"


@verifies("tx.health.authorization", "tx.health.authorization_24_months", "tx.health.revocation")
def test_health_rules_are_reported_not_verified_and_ask_for_counsel_22_53_to_22_57() -> None:
    """JURISDICTIONS.md summarises 28 TAC §§ 22.53–22.57, but the subsections' text is in neither it nor the
    seed (28 TAC §§ 22.1–22.26): such a rule is reported, not verified."""
    from rules.disclosure import HEALTH_RULES_REVIEW
    from rules.registry import RULES

    for rule_id in ("tx.health.authorization", "tx.health.authorization_24_months", "tx.health.revocation"):
        assert RULES[rule_id].status.value == "reported", rule_id
    auth = {"authorization_id": "HA-1", "signed_at": "2025-07-01T10:00:00-05:00"}
    for authorizations in ([], [auth]):
        decision = decide_disclosure(request(information_type="health", notices=[], authorizations=authorizations))
        assert decision.status.value == "reported"
        assert decision.needs_counsel_review and HEALTH_RULES_REVIEW in decision.counsel_review_reasons


def test_only_rules_whose_section_text_is_read_are_verified() -> None:
    """Health-authorization subsections (§§ 22.53–22.57) are outside the seed's §§ 22.1–22.26; NAIC model
    sections are cited only as such."""
    from rules.registry import RULES

    for rule in RULES.values():
        if rule.status.value != "verified":
            continue
        assert not any(f"22.5{n}" in rule.citation for n in range(3, 8)), rule.rule_id
        assert "NAIC" not in rule.citation and "not verified" not in rule.citation, rule.rule_id


@verifies("tx.revised_notice.before_new_disclosure", "tx.revised_notice.required")
def test_former_customer_needs_a_notice_describing_former_customer_disclosures_22_12_b_3() -> None:
    relationship = {"consumer_ref": "c", "is_customer": True, "no_longer_policyholder_on": "2025-01-31"}
    initial = notice("N1", "initial", "2024-03-02T12:00:00-06:00", version="v1")
    decision = decide_disclosure(request(relationship=relationship, notices=[initial], in_force="v1"))
    assert not decision.allowed and decision.rule_id == "tx.revised_notice.before_new_disclosure"
    revised = notice("N2", "revised", "2025-06-02T12:00:00-05:00", version="v2")
    assert decide_disclosure(request(relationship=relationship, notices=[initial, revised])).allowed


@verifies("tx.disclosure.affiliates")
def test_affiliates_are_outside_the_nonaffiliated_limits_22_1_a() -> None:
    """"describes the conditions under which a covered entity may disclose nonpublic personal financial information about
    individuals to nonaffiliated third parties" — 28 TAC § 22.1(a)(2)."""
    recipient = {"name": "Cumberland Life", "kind": "affiliate", "category": "insurance affiliates"}
    decision = decide_disclosure(request(recipient=recipient, notices=[]))
    assert decision.allowed and decision.rule_id == "tx.disclosure.affiliates"


@verifies("tx.disclosure.exceptions_18_19")
@pytest.mark.parametrize(("exception", "cite"), [("processing_and_servicing", "28 TAC § 22.18"), ("other_exception", "28 TAC § 22.19")])
def test_processing_and_other_exceptions_need_no_notice_or_opt_out(exception: str, cite: str) -> None:
    election = {"election_id": "OO-1", "received_at": "2025-07-10T09:00:00-05:00"}
    decision = decide_disclosure(request(exception=exception, notices=[], opt_outs=[election]))
    assert decision.allowed and decision.citation == cite


@verifies("tx.disclosure.exception_17")
@pytest.mark.parametrize(
    ("kind", "contract", "notices", "allowed"),
    [
        ("service_provider", True, True, True),
        ("joint_marketer", True, True, True),
        ("service_provider", False, True, False),  # no contract limiting use
        ("service_provider", True, False, False),  # no initial notice
        ("nonaffiliated_third_party", True, True, False),  # not a service provider: the exception does not apply
    ],
)
def test_service_provider_and_joint_marketing_exception_22_17(kind: str, contract: bool, notices: bool, allowed: bool) -> None:
    recipient = {"name": "Lakeside Mailing Co.", "kind": kind, "category": "marketing vendors"}
    election = {"election_id": "OO-1", "received_at": "2025-06-10T09:00:00-05:00"}  # the opt out does not reach § 22.17
    given = [notice("N1", "initial", "2025-06-02T12:00:00-05:00", opt_out=False)] if notices else []
    decision = decide_disclosure(
        request(category="transaction information", recipient=recipient, exception="service_provider_joint_marketing",
                contract=contract, notices=given, opt_outs=[election] if kind != "nonaffiliated_third_party" else [])
    )
    assert decision.allowed is allowed


ACCOUNT = (
    '"A covered entity shall not, directly or through an affiliate, disclose, other than to a consumer reporting agency, '
    "a policy number or similar form of access number or access code for a consumer's policy or transaction account to "
    'any nonaffiliated third party for use in telemarketing, direct mail marketing or other marketing through electronic '
    'mail to the consumer" — 28 TAC § 22.16(a)'
)


@verifies("tx.account_numbers")
@pytest.mark.parametrize(
    ("kind", "purpose", "account_type", "encrypted", "cra", "charges", "affinity", "code"),
    [
        ("nonaffiliated_third_party", "telemarketing", "policy_or_transaction", False, False, False, False, "account_number.denied"),
        ("nonaffiliated_third_party", "email_marketing", "policy_or_transaction", False, False, False, False, "account_number.denied"),
        ("nonaffiliated_third_party", "telemarketing", "policy_or_transaction", False, True, False, False, "account_number.allowed.consumer_reporting_agency"),
        ("nonaffiliated_third_party", "servicing", "policy_or_transaction", False, False, False, False, "account_number.allowed.not_marketing"),
        ("service_provider", "direct_mail_marketing", "policy_or_transaction", False, False, False, False, "account_number.allowed.service_provider"),  # (b)(1)
        ("service_provider", "direct_mail_marketing", "policy_or_transaction", False, False, True, False, "account_number.denied"),  # may initiate charges
        ("joint_marketer", "telemarketing", "policy_or_transaction", False, False, False, True, "account_number.allowed.affinity_program"),  # (b)(2)
        ("nonaffiliated_third_party", "telemarketing", "policy_or_transaction", True, False, False, False, "account_number.allowed.encrypted"),  # (c)
        ("nonaffiliated_third_party", "telemarketing", "deposit", False, False, False, False, "account_number.allowed.not_policy_or_transaction_account"),  # (d)
        ("nonaffiliated_third_party", "telemarketing", "credit_card", False, False, False, False, "account_number.allowed.not_policy_or_transaction_account"),
        ("nonaffiliated_third_party", "telemarketing", "no_third_party_charges", False, False, False, False, "account_number.allowed.not_policy_or_transaction_account"),
        ("affiliate", "telemarketing", "policy_or_transaction", False, False, False, False, "account_number.allowed.affiliate"),
    ],
)
def test_account_number_sharing_limits_22_16(
    kind: str, purpose: str, account_type: str, encrypted: bool, cra: bool, charges: bool, affinity: bool, code: str
) -> None:
    """ACCOUNT (quoted above), with the exceptions of § 22.16(b)–(d)."""
    recipient = DisclosureRecipient(
        name="R", kind=RecipientKind(kind), category="c", is_consumer_reporting_agency=cra, may_initiate_charges=charges,
        affinity_program_identified=affinity,
    )
    reason = account_number_disclosure(recipient, DisclosurePurpose(purpose), AccountNumberSharing(account_type=AccountType(account_type), encrypted_without_key=encrypted))
    assert reason.code == code


@verifies("tx.account_numbers")
def test_gate_denies_a_marketing_disclosure_with_the_account_number() -> None:
    decision = decide_disclosure(request(account_number={"account_type": "policy_or_transaction"}, as_of="2026-01-05T10:00:00-06:00"))
    assert not decision.allowed and decision.rule_id == "tx.account_numbers"
    assert decide_disclosure(request(account_number={"encrypted_without_key": True}, as_of="2026-01-05T10:00:00-06:00")).allowed


HEALTH = (
    '"An authorization subject to this subchapter shall … in no event be valid: (A) … for a period of more than 24 months '
    'from the date it was signed" — 28 TAC § 22.54(2); "A covered entity shall effect a revocation as soon as possible '
    'after receipt but not later than 15 days after the date of receipt" — § 22.56(e)'
)


@verifies("tx.health.authorization_24_months", "tx.health.revocation")
@pytest.mark.parametrize(
    ("valid_until", "revoked", "as_of", "valid", "expires"),
    [
        (None, None, "2025-06-01T00:00:00-05:00", True, "2026-01-15T10:00:00-06:00"),
        (None, None, "2026-01-15T09:59:59-06:00", True, "2026-01-15T10:00:00-06:00"),  # the last second of 24 months
        (None, None, "2026-01-15T10:00:00-06:00", False, "2026-01-15T10:00:00-06:00"),
        ("2030-01-01T00:00:00-06:00", None, "2026-02-01T00:00:00-06:00", False, "2026-01-15T10:00:00-06:00"),  # capped
        ("2024-07-01T00:00:00-05:00", None, "2024-08-01T00:00:00-05:00", False, "2024-07-01T00:00:00-05:00"),  # its own, shorter period
        (None, "2025-03-03T09:00:00-06:00", "2025-03-03T09:00:00-06:00", False, "2026-01-15T10:00:00-06:00"),  # revoked on receipt
        (None, "2025-03-03T09:00:00-06:00", "2025-03-02T09:00:00-06:00", True, "2026-01-15T10:00:00-06:00"),
    ],
)
def test_health_authorization_valid_24_months_revocable_22_54_22_56(
    valid_until: str | None, revoked: str | None, as_of: str, valid: bool, expires: str
) -> None:
    """HEALTH (quoted above)."""
    auth = HealthAuthorization(
        authorization_id="HA-1", signed_at=ts("2024-01-15T10:00:00-06:00"),
        valid_until=ts(valid_until) if valid_until else None, revocation_received_at=ts(revoked) if revoked else None,
    )
    status = health_authorization_status(auth, ts(as_of))
    assert status.valid is valid
    assert status.expires_at == ts(expires)
    if revoked:
        assert status.revocation_effective_by == ts("2025-03-18T23:59:59.999999-05:00")  # 15 days after receipt


@verifies("tx.health.authorization")
def test_health_information_needs_a_matching_authorization_22_53() -> None:
    base = {"information_type": "health", "category": "claims diagnoses", "notices": []}
    assert not decide_disclosure(request(**base)).allowed
    auth = {"authorization_id": "HA-1", "signed_at": "2025-07-01T10:00:00-05:00", "recipients": ["Caney Fork Credit Union"], "information_types": ["claims diagnoses"]}
    decision = decide_disclosure(request(**base, authorizations=[auth]))
    assert decision.allowed and decision.rule_id == "tx.health.authorization"
    other = {**auth, "recipients": ["Someone Else"]}
    assert not decide_disclosure(request(**base, authorizations=[other])).allowed
    future = {**auth, "signed_at": "2025-08-01T10:00:00-05:00"}
    pending = decide_disclosure(request(**base, authorizations=[future]))
    assert not pending.allowed and pending.first_allowed_at == ts("2025-08-01T10:00:00-05:00")


@verifies("tx.health.authorization")
def test_health_representative_signature_and_claimed_exceptions_ask_for_counsel() -> None:
    auth = {"authorization_id": "HA-1", "signed_at": "2025-07-01T10:00:00-05:00", "signed_by": "legal_representative"}
    decision = decide_disclosure(request(information_type="health", notices=[], authorizations=[auth], exception="other_exception"))
    assert decision.allowed and decision.needs_counsel_review
    assert len(decision.counsel_review_reasons) == 3  # the reported health rules, the signer, the exception


def test_request_naming_an_unknown_policy_version_is_rejected() -> None:
    with pytest.raises(ValueError, match="policy_in_force 'v9' is not among policy_versions"):
        request(in_force="v9")
