"""Revised notices (28 TAC § 22.12), annual notices and the end of the relationship (§ 22.9, § 22.5(b)),
and notice content (§ 22.10)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from models.privacy import (
    AnnualPeriod,
    ConsumerRelationship,
    PolicyChangeKind,
    PrivacyNotice,
    PrivacyPolicyVersion,
)
from rules.privacy_notices import diff_policies, lint_notice, simplified_notice_permitted
from rules.registry import verifies
from rules.relationship import annual_notice_schedule, relationship_status

REVISED = (
    '"a covered entity shall provide a revised notice before it: (1) discloses a new category of nonpublic personal '
    "financial information to any nonaffiliated third party; (2) discloses nonpublic personal financial information to "
    "a new category of nonaffiliated third party; or (3) discloses nonpublic personal financial information about a "
    "former customer to a nonaffiliated third party, if that former customer has not had the opportunity to exercise an "
    'opt out right regarding that disclosure" — 28 TAC § 22.12(b)'
)


def policy(version: str, *lines: dict[str, Any], collects: tuple[str, ...] = ("information from the consumer",)) -> PrivacyPolicyVersion:
    return PrivacyPolicyVersion.model_validate(
        {"version_id": version, "effective_on": "2025-01-01", "collects": list(collects), "disclosures": list(lines)}
    )


def line(category: str, recipient_category: str, kind: str = "nonaffiliated_third_party", **extra: Any) -> dict[str, Any]:
    return {"npi_category": category, "recipient_kind": kind, "recipient_category": recipient_category, **extra}


OLD = policy(
    "old",
    line("application information", "financial service providers", recipients=["Harpeth Premium Finance"]),
    line("transaction information", "auto insurers", reserved_only=True),
)


@verifies("tx.revised_notice.required", "tx.revised_notice.not_required")
@pytest.mark.parametrize(
    ("new_line", "kind", "required"),
    [
        # (b)(1) a new category of information to a nonaffiliated third party
        (line("consumer report information", "financial service providers"), PolicyChangeKind.NEW_NPI_CATEGORY, True),
        # (b)(2) a new category of nonaffiliated third party
        (line("application information", "non-financial companies"), PolicyChangeKind.NEW_RECIPIENT_CATEGORY, True),
        # (b)(3) former customers' information newly disclosed
        (line("application information", "financial service providers", about_former_customers=True), PolicyChangeKind.FORMER_CUSTOMERS_NEWLY_DISCLOSED, True),
        # neither part is new, but the combination was never described (§ 22.12(a))
        (line("transaction information", "financial service providers"), PolicyChangeKind.NEW_CATEGORY_RECIPIENT_COMBINATION, True),
        # a new recipient inside a category the old notice already described
        (line("application information", "financial service providers", recipients=["Harpeth Premium Finance", "Caney Fork CU"]), PolicyChangeKind.NEW_RECIPIENT_ALREADY_DESCRIBED, False),
        # a disclosure the old notice reserved the right to make (§ 22.10(g))
        (line("transaction information", "auto insurers"), PolicyChangeKind.NOW_DISCLOSED_AS_RESERVED, False),
        # affiliates and excepted disclosures are outside § 22.12(b)
        (line("consumer report information", "insurance affiliates", kind="affiliate"), PolicyChangeKind.AFFILIATE_DISCLOSURE_ADDED, False),
        (line("consumer report information", "claims administrators", kind="service_provider", exception="processing_and_servicing"), PolicyChangeKind.EXCEPTED_DISCLOSURE_ADDED, False),
        (line("consumer report information", "marketing vendors", kind="service_provider", exception="service_provider_joint_marketing"), PolicyChangeKind.EXCEPTED_DISCLOSURE_ADDED, False),
        # reserving a new right is not yet a disclosure
        (line("consumer report information", "financial service providers", reserved_only=True), PolicyChangeKind.RESERVATION_ADDED, False),
    ],
)
def test_revised_notice_required_only_for_new_categories_and_former_customers_22_12_b(new_line: dict[str, Any], kind: PolicyChangeKind, required: bool) -> None:
    """REVISED (quoted above)."""
    new = policy("new", *[d.model_dump(mode="json") for d in OLD.disclosures], new_line)
    diff = diff_policies(OLD, new)
    assert diff.revised_notice_required is required
    assert kind in [c.kind for c in diff.changes]
    change = next(c for c in diff.changes if c.kind is kind)
    assert change.requires_revised_notice is required
    assert change.citation.startswith("28 TAC § 22.1")


@verifies("tx.revised_notice.not_required")
def test_removed_disclosures_and_new_collection_need_no_revised_notice() -> None:
    new = policy("new", line("application information", "financial service providers", recipients=["Harpeth Premium Finance"]),
                 collects=("information from the consumer", "information from a consumer reporting agency"))
    diff = diff_policies(OLD, new)
    assert not diff.revised_notice_required
    assert {c.kind for c in diff.changes} == {PolicyChangeKind.DISCLOSURE_REMOVED, PolicyChangeKind.COLLECTION_CHANGED}


@verifies("tx.revised_notice.not_required")
def test_identical_policies_have_no_changes() -> None:
    assert diff_policies(OLD, OLD).changes == []


ANNUAL = (
    '"\'Annually\' means at least once in any period of 12 consecutive months during which that relationship exists. '
    "A covered entity may define the 12-consecutive-month period, but the covered entity shall apply it to the customer "
    "on a consistent basis. … For example, if a customer opens an account on any day of year 1, the covered entity shall "
    'provide an annual notice to that customer by December 31 of year 2." — 28 TAC § 22.9(a)'
)
CUSTOMER = ConsumerRelationship(consumer_ref="c", is_customer=True)


@verifies("tx.annual_notice.schedule")
@pytest.mark.parametrize(
    ("period", "initial", "through", "due"),
    [
        # the regulation's own example: opened in year 1 → by 31 December of year 2
        (AnnualPeriod(kind="calendar_year"), "2024-03-15", "2026-06-01", ["2025-12-31", "2026-12-31"]),
        (AnnualPeriod(kind="calendar_year"), "2024-12-31", "2025-12-31", ["2025-12-31"]),
        # a licensee-defined period starting 1 July, applied consistently
        (AnnualPeriod(kind="fixed_annual_period", period_start_month=7), "2024-03-15", "2026-01-01", ["2025-06-30", "2026-06-30"]),
        (AnnualPeriod(kind="fixed_annual_period", period_start_month=7), "2024-07-01", "2025-07-01", ["2026-06-30"]),
        # rolling: 12 months after the previous notice
        (AnnualPeriod(kind="rolling_12_months"), "2024-02-29", "2026-01-01", ["2025-02-28", "2026-02-28"]),
    ],
)
def test_annual_notice_once_in_any_12_consecutive_months_22_9_a(period: AnnualPeriod, initial: str, through: str, due: list[str]) -> None:
    """ANNUAL (quoted above)."""
    schedule = annual_notice_schedule(dt.date.fromisoformat(initial), period, CUSTOMER, dt.date.fromisoformat(through))
    assert [d.isoformat() for d in schedule.due_dates] == due
    assert schedule.citation == "28 TAC § 22.9(a)"


@verifies("tx.annual_notice.former_customer")
@pytest.mark.parametrize(
    ("facts", "on", "ended", "cite"),
    [
        ({"no_longer_policyholder_on": "2025-04-30"}, "2025-06-01", "2025-04-30", "28 TAC § 22.9(b)(1)"),
        # lapsed in January 2024, last communication March 2024: 12 consecutive months of silence end March 2025
        ({"policy_not_in_force_since": "2024-01-31", "last_communication_on": "2024-03-10"}, "2025-06-01", "2025-03-10", "28 TAC § 22.9(b)(2)"),
        ({"policy_not_in_force_since": "2024-01-31", "last_communication_on": "2024-03-10"}, "2025-03-09", None, None),
        # returned mail alone is not enough; a failed address search as well ends it
        ({"mail_returned_on": "2025-02-01"}, "2025-06-01", None, None),
        ({"mail_returned_on": "2025-02-01", "address_search_failed_on": "2025-02-20"}, "2025-06-01", "2025-02-20", "28 TAC § 22.9(b)(3)"),
        # real estate settlement: the later of the three events
        ({"settlement_documents_executed_on": "2025-01-10", "settlement_payment_received_on": "2025-01-15", "settlement_responsibilities_completed_on": "2025-01-12"}, "2025-06-01", "2025-01-15", "28 TAC § 22.9(b)(4)"),
    ],
)
def test_relationship_ends_and_annual_notices_stop_22_9_b(facts: dict[str, str], on: str, ended: str | None, cite: str | None) -> None:
    """"A covered entity is not required to provide an annual notice to a former customer" — 28 TAC § 22.9(b); the
    same examples in § 22.5(b) and 18 Del. Admin. Code § 904-1.11.2."""
    relationship = ConsumerRelationship.model_validate({"consumer_ref": "c", "is_customer": True, **facts})
    status = relationship_status(relationship, dt.date.fromisoformat(on))
    assert (status.ended_on.isoformat() if status.ended_on else None) == ended
    assert status.citation == cite
    assert status.is_customer is (ended is None)


@verifies("tx.annual_notice.former_customer", "tx.annual_notice.schedule")
def test_annual_notices_stop_when_the_relationship_ends() -> None:
    relationship = ConsumerRelationship(consumer_ref="c", is_customer=True, no_longer_policyholder_on=dt.date(2026, 5, 1))
    schedule = annual_notice_schedule(dt.date(2023, 3, 1), AnnualPeriod(), relationship, dt.date(2027, 1, 1))
    assert [d.isoformat() for d in schedule.due_dates] == ["2024-12-31", "2025-12-31"]
    assert schedule.stops_on == dt.date(2026, 5, 1) and schedule.stop_citation == "28 TAC § 22.9(b)(1)"
    consumer_only = annual_notice_schedule(dt.date(2023, 3, 1), AnnualPeriod(), ConsumerRelationship(consumer_ref="q", is_customer=False), dt.date(2027, 1, 1))
    assert consumer_only.due_dates == []


FULL_NOTICE: dict[str, Any] = {
    "notice_id": "N",
    "categories_collected": ["information from the consumer"],
    "categories_disclosed": [{"name": "application information", "examples": ["name, address"]}],
    "recipient_categories": [{"name": "financial service providers", "kind": "nonaffiliated", "examples": ["premium finance companies"]}],
    "former_customers": {"discloses_none": True},
    "opt_out": {"explanation": "You may opt out.", "methods": ["call 1-800-555-0142"]},
    "confidentiality_security": {"who_has_access": "employees who need it", "security_practices_statement": "We maintain safeguards."},
    "exceptions_statement": "We disclose to others as permitted by law.",
}
CONTENT = (
    '"The initial, annual and revised privacy notices … shall include the following items of information …: (1) The '
    "categories of nonpublic personal financial information that the covered entity collects. … (8) The covered "
    "entity's policies and practices with respect to protecting the confidentiality and security … (9) Any disclosure "
    'that the covered entity makes under subsection (c)" — 28 TAC § 22.10(b)'
)


@verifies("tx.notice_content.full")
@pytest.mark.parametrize(
    ("remove", "item"),
    [
        ("categories_collected", "§ 22.10(b)(1)"),
        ("categories_disclosed", "§ 22.10(b)(2)"),
        ("recipient_categories", "§ 22.10(b)(3)"),
        ("former_customers", "§ 22.10(b)(4)"),
        ("opt_out", "§ 22.10(b)(6)"),
        ("confidentiality_security", "§ 22.10(b)(8)"),
        ("exceptions_statement", "§ 22.10(b)(9)"),
    ],
)
def test_full_notice_missing_items_22_10_b(remove: str, item: str) -> None:
    """CONTENT (quoted above). Without the policy, every item applies."""
    assert lint_notice(PrivacyNotice.model_validate(FULL_NOTICE)).ok
    data = {k: v for k, v in FULL_NOTICE.items() if k != remove}
    result = lint_notice(PrivacyNotice.model_validate(data))
    assert not result.ok
    assert [f.item for f in result.findings] == [item]
    assert result.findings[0].problem == "missing"
    assert result.findings[0].citation == "28 TAC " + item


@verifies("tx.notice_content.full")
def test_notice_checked_against_its_policy_22_10_b_2_3_5_7() -> None:
    pol = policy(
        "p",
        line("application information", "financial service providers"),
        line("consumer report information", "auto insurers"),
        line("transaction information", "marketing vendors", kind="service_provider", exception="service_provider_joint_marketing"),
    )
    pol = pol.model_copy(update={"fcra_affiliate_sharing": True})
    data = {**FULL_NOTICE, "categories_disclosed": [{"name": "application information", "examples": []}]}
    result = lint_notice(PrivacyNotice.model_validate(data), pol)
    problems = {(f.item, f.problem) for f in result.findings}
    assert ("§ 22.10(b)(2)(A)", "incomplete") in problems  # a category without examples
    assert ("§ 22.10(b)(2)", "inconsistent_with_policy") in problems  # 'consumer report information' not listed
    assert ("§ 22.10(b)(3)", "inconsistent_with_policy") in problems  # 'auto insurers' not listed
    assert ("§ 22.10(b)(5)", "missing") in problems  # § 22.17 disclosures need their separate description
    assert ("§ 22.10(b)(7)", "missing") in problems  # FCRA affiliate-sharing notice
    assert "§ 22.10(b)(9)" not in result.required_items  # the policy makes no §§ 22.18–22.19 disclosure


@verifies("tx.notice_content.full")
def test_security_item_needs_both_who_has_access_and_whether_safeguards_exist_22_10_b_8() -> None:
    data = {**FULL_NOTICE, "confidentiality_security": {"who_has_access": "employees"}}
    result = lint_notice(PrivacyNotice.model_validate(data))
    assert [(f.item, f.problem) for f in result.findings] == [("§ 22.10(b)(8)(B)", "incomplete")]


SIMPLIFIED = (
    '"A covered entity that does not disclose, and does not reserve the right to disclose, nonpublic personal financial '
    "information about customers or former customers to nonaffiliated third parties except as authorized under § 22.18 … "
    "and § 22.19 …, may comply with this subchapter by providing a simplified notice which expresses: (1) the "
    'nondisclosure policy stated in this subsection, and (2) the information required by subsections (b)(1), (b)(8), '
    '(b)(9), and (c) of this section." — 28 TAC § 22.10(a)'
)


@verifies("tx.notice_content.simplified")
@pytest.mark.parametrize(
    ("notice", "lines", "items"),
    [
        (
            {"notice_id": "S", "format": "simplified", "nondisclosure_statement": "We do not disclose …", "categories_collected": ["from you"],
             "confidentiality_security": {"who_has_access": "staff", "security_practices_statement": "yes"}, "exceptions_statement": "as permitted by law"},
            [line("transaction information", "claims administrators", kind="service_provider", exception="processing_and_servicing")],
            [],
        ),
        ({"notice_id": "S", "format": "simplified"}, [], ["§ 22.10(a)(1)", "§ 22.10(b)(1)", "§ 22.10(b)(8)", "§ 22.10(b)(9)"]),
        (
            {"notice_id": "S", "format": "simplified", "nondisclosure_statement": "We do not disclose …", "categories_collected": ["from you"],
             "confidentiality_security": {"who_has_access": "staff", "security_practices_statement": "yes"}, "exceptions_statement": "as permitted by law"},
            [line("application information", "auto insurers", reserved_only=True)],
            ["§ 22.10(a)"],  # reserving the right to disclose rules the simplified notice out
        ),
    ],
)
def test_simplified_notice_22_10_a(notice: dict[str, Any], lines: list[dict[str, Any]], items: list[str]) -> None:
    """SIMPLIFIED (quoted above)."""
    pol = policy("p", *lines)
    result = lint_notice(PrivacyNotice.model_validate(notice), pol)
    assert [f.item for f in result.findings] == items
    assert result.required_items == ["§ 22.10(a)(1)", "§ 22.10(b)(1)", "§ 22.10(b)(8)", "§ 22.10(b)(9)"]
    assert simplified_notice_permitted(pol) is ("§ 22.10(a)" not in items)
