"""General breach-notification laws: consumer and attorney-general clocks, thresholds and versions.

JURISDICTIONS.md, "General breach-notification laws (consumer and attorney-general notice)":
"Where a state's insurance act is silent on consumer notice, or a state has no insurance act, the
consumer notice follows the state's general breach law. Encode the verified rows; the reported ones
get the fallback (shortest known clock) and `needs_counsel_review`."

Each case quotes the table's row. Default event (tests/rules/builders.py): discovered Saturday
1 March 2025, 09:00 CST; determined Friday 7 March 2025, 16:30 CST; SSN and account numbers.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from models.obligation import ClockStart, LawRegime, Obligation, ObligationKind, ObligationsResult, ThresholdComparator
from rules.breach_laws import BREACH_LAWS, shortest_consumer_clock, shortest_office_clock
from rules.cyber import compute_obligations
from rules.registry import verifies
from tests.rules.builders import intake, state_row, ts

CONSUMER = ObligationKind.CONSUMER_NOTICE
AG = ObligationKind.ATTORNEY_GENERAL_NOTICE
END = "T23:59:59.999999"


def general(result: ObligationsResult, kind: ObligationKind, state: str) -> list[Obligation]:
    return [
        o
        for o in result.obligations
        if o.kind is kind and o.jurisdiction == state and o.regime is LawRegime.GENERAL_BREACH_LAW
    ]


def one(result: ObligationsResult, kind: ObligationKind, state: str) -> Obligation:
    found = general(result, kind, state)
    assert len(found) == 1, [(o.obligation_id, o.due) for o in result.obligations]
    return found[0]


def run(state: str, consumers: int = 300, **kwargs: Any) -> ObligationsResult:
    return compute_obligations(intake(affected=[state_row(state, consumers)], **kwargs))


# ============================================================================================
# Consumer notice clocks
# ============================================================================================

#: (state, the table's consumer-notice words, rule id, due, clock start, reported due or None, status)
CONSUMER_CLOCKS = [
    # TX | Tex. Bus. & Com. Code § 521.053 | "≤ 60 days after determining the breach occurred" | verified
    # Determined Fri 7 March: day 1 is 8 March, day 60 is Tuesday 6 May (CDT).
    ("TX", "≤ 60 days after determining the breach occurred", "breach_law.tx.consumer_notice",
     "2025-05-06" + END + "-05:00", ClockStart.DETERMINATION, None, "Tex. Bus. & Com. Code § 521.053"),
    # OR | ORS 646A.604 | "≤ 45 days after discovery" | verified — discovered Sat 1 March: day 45 is 15 April (PDT).
    ("OR", "≤ 45 days after discovery", "breach_law.or.consumer_notice",
     "2025-04-15" + END + "-07:00", ClockStart.DISCOVERY, None, "ORS 646A.604"),
    # VT | 9 V.S.A. § 2435(b)(1) | "≤ 45 days after discovery" | verified
    ("VT", "≤ 45 days after discovery", "breach_law.vt.consumer_notice",
     "2025-04-15" + END + "-04:00", ClockStart.DISCOVERY, None, "9 V.S.A. § 2435(b)(1)"),
    # IL | 815 ILCS 530/10 | "most expedient time possible and without unreasonable delay" (no day count)
    # → the deadline policy's target, 30 days after discovery by default: 31 March (CDT).
    ("IL", "most expedient time possible and without unreasonable delay", "breach_law.il.consumer_notice",
     "2025-03-31" + END + "-05:00", ClockStart.DISCOVERY, None, "815 ILCS 530/10"),
    # IN | IC 24-4.9-3-3 | "≤ 45 days after discovery" | reported → the shortest known clock (30 days) applies,
    # the reported 45 days shown beside it.
    ("IN", "≤ 45 days after discovery", "breach_law.in.consumer_notice",
     "2025-03-31" + END + "-04:00", ClockStart.DISCOVERY, "2025-04-15" + END + "-04:00", "IC 24-4.9-3-3"),
    # FL | Fla. Stat. § 501.171 | "≤ 30 days after determination" | reported: day 30 is Sunday 6 April.
    ("FL", "≤ 30 days after determination", "breach_law.fl.consumer_notice",
     "2025-04-06" + END + "-04:00", ClockStart.DETERMINATION, "2025-04-06" + END + "-04:00", "Fla. Stat. § 501.171"),
    # NY | N.Y. Gen. Bus. Law § 899-aa | "≤ 30 days after discovery" | reported
    ("NY", "≤ 30 days after discovery", "breach_law.ny.consumer_notice",
     "2025-03-31" + END + "-04:00", ClockStart.DISCOVERY, "2025-03-31" + END + "-04:00", "N.Y. Gen. Bus. Law § 899-aa"),
    # ME | 10 M.R.S. § 1348 | "30 days" | reported — no start in the table: read from discovery, the earliest.
    ("ME", "30 days", "breach_law.me.consumer_notice",
     "2025-03-31" + END + "-04:00", ClockStart.DISCOVERY, "2025-03-31" + END + "-04:00", "10 M.R.S. § 1348"),
]  # fmt: skip


@verifies(
    "breach_law.tx.consumer_notice", "breach_law.or.consumer_notice", "breach_law.vt.consumer_notice",
    "breach_law.il.consumer_notice", "breach_law.in.consumer_notice", "breach_law.fl.consumer_notice",
    "breach_law.ny.consumer_notice", "breach_law.me.consumer_notice", "engine.breach_law.shortest_consumer_clock",
    "engine.breach_law.expedient_target",
)  # fmt: skip
@pytest.mark.parametrize(("state", "words", "rule_id", "due", "start", "reported_due", "law"), CONSUMER_CLOCKS)
def test_consumer_notice_follows_the_general_law_clock_of_each_state(
    state: str, words: str, rule_id: str, due: str, start: ClockStart, reported_due: str | None, law: str
) -> None:
    notice = one(run(state), CONSUMER, state)
    assert words in BREACH_LAWS[state][-1].consumer_text
    assert notice.due == ts(due) and notice.due.isoformat() == due  # expressed in the state's own zone
    assert notice.clock_start is start
    assert notice.clock.unit.value == "calendar_days"  # "days" in the law: calendar days
    assert notice.rule_id == rule_id and notice.citation.startswith(law)
    assert notice.obligation_id == f"INC-T:consumer_notice:{state}:consumers:{state}:general_law"
    assert notice.recipient_key == f"consumers:{state}"
    assert notice.needs_counsel_review  # the state's definition of personal information is not in the table
    if reported_due is None:
        assert notice.reported_clock is None and notice.reported_due is None
    else:
        assert notice.status.value == "reported"
        assert notice.reported_due is not None and notice.reported_due.isoformat() == reported_due
        assert any("reported, not verified" in r for r in notice.counsel_review_reasons)
    if start is ClockStart.DISCOVERY:
        assert notice.clock_starts_at == ts("2025-03-01T09:00:00-06:00")


def test_the_shortest_known_clocks_are_read_from_the_table() -> None:
    """Reported rows get "the fallback (shortest known clock)": CA, FL, NY, ME 30 days; TX and FL 30 days to the AG."""
    assert (shortest_consumer_clock().amount, shortest_consumer_clock().unit.value) == (30, "calendar_days")
    assert (shortest_office_clock().amount, shortest_office_clock().unit.value) == (30, "calendar_days")


@verifies("breach_law.tx.consumer_notice")
@pytest.mark.parametrize(
    ("determined", "due"),
    [
        # The day the clock starts is excluded: a determination at 23:59 CST on 7 March still counts from 8 March …
        ("2025-03-07T23:59:00-06:00", "2025-05-06"),
        # … one minute later it is 8 March in Texas: day 60 is 7 May.
        ("2025-03-08T00:00:00-06:00", "2025-05-07"),
        # 00:30 in New York on 8 March is still 7 March in Austin: the state's zone decides.
        ("2025-03-08T00:30:00-05:00", "2025-05-06"),
    ],
)
def test_texas_sixty_days_count_from_the_local_day_after_the_determination(determined: str, due: str) -> None:
    notice = one(run("TX", determined=determined), CONSUMER, "TX")
    assert notice.due == ts(f"{due}{END}-05:00")


@verifies("breach_law.or.consumer_notice", "breach_law.vt.consumer_notice")
def test_discovery_clocks_read_the_day_in_each_states_own_zone() -> None:
    """OR and VT: "≤ 45 days after discovery". Discovered at 02:00 in New York on 1 March = 23:00 on 28 February
    in Salem: Oregon counts from 1 March (day 45: 14 April), Vermont from 2 March (day 45: 15 April)."""
    result = compute_obligations(
        intake(affected=[state_row("OR", 10), state_row("VT", 10)], discovered="2025-03-01T02:00:00-05:00")
    )
    assert one(result, CONSUMER, "OR").due.isoformat() == "2025-04-14" + END + "-07:00"
    assert one(result, CONSUMER, "VT").due.isoformat() == "2025-04-15" + END + "-04:00"


@verifies("breach_law.vt.consumer_notice", "breach_law.tx.consumer_notice", "engine.breach_law.expedient_target")
@pytest.mark.parametrize(
    ("state", "discovered", "determined", "due", "rolled", "holiday"),
    [
        # VT 45 days after discovery on Sat 18 January end on Town Meeting Day (Tue 4 March 2025).
        ("VT", "2025-01-18T10:00:00-05:00", "2025-01-20T10:00:00-05:00", "2025-03-04", "2025-03-05", "Town Meeting Day"),
        # TX 60 days after a determination on 20 February end on San Jacinto Day (Mon 21 April 2025).
        ("TX", "2025-02-18T10:00:00-06:00", "2025-02-20T10:00:00-06:00", "2025-04-21", "2025-04-22", "San Jacinto Day"),
        # IL: the 30-day target after discovery on 1 February ends on Casimir Pulaski Day (Mon 3 March 2025).
        ("IL", "2025-02-01T10:00:00-06:00", "2025-02-03T10:00:00-06:00", "2025-03-03", "2025-03-04", "Casimir Pulaski Day"),
    ],
)
def test_a_calendar_day_deadline_on_a_state_holiday_stays_unless_the_policy_rolls_it(
    state: str, discovered: str, determined: str, due: str, rolled: str, holiday: str
) -> None:
    from rules.calendar import holiday_name

    assert holiday_name(dt.date.fromisoformat(due), state) == holiday
    strict = one(run(state, discovered=discovered, determined=determined), CONSUMER, state)
    assert strict.due.date().isoformat() == due
    lenient = one(
        run(state, discovered=discovered, determined=determined, policy={"roll_weekend_holiday": True}), CONSUMER, state
    )
    assert lenient.due.date().isoformat() == rolled


@verifies("breach_law.il.consumer_notice", "engine.breach_law.expedient_target")
def test_illinois_most_expedient_time_is_the_policys_target_and_always_flagged() -> None:
    """IL | 815 ILCS 530/10 | "most expedient time possible and without unreasonable delay" (no day count)."""
    default = one(run("IL", 10), CONSUMER, "IL")
    assert default.clock.amount == 30 and default.reported_clock is None
    assert any("most expedient time possible" in r and "expedient_notice_days" in r for r in default.counsel_review_reasons)
    assert "engine.breach_law.expedient_target" in default.rule_ids
    tighter = one(run("IL", 10, policy={"expedient_notice_days": 10}), CONSUMER, "IL")
    assert tighter.clock.amount == 10
    assert tighter.due.isoformat() == "2025-03-11" + END + "-05:00"  # 10 days after discovery on 1 March


@verifies("breach_law.tx.consumer_notice", "engine.determination.assumed_at_discovery")
def test_without_a_determination_only_the_determination_clocks_are_assumed_at_discovery() -> None:
    result = compute_obligations(intake(affected=[state_row("TX", 10), state_row("OR", 10)], determined=None))
    tx, oregon = one(result, CONSUMER, "TX"), one(result, CONSUMER, "OR")
    assert tx.clock_start is ClockStart.ASSUMED_AT_DISCOVERY
    assert any("No determination is recorded" in r for r in tx.counsel_review_reasons)
    assert tx.due.isoformat() == "2025-04-30" + END + "-05:00"  # 60 days from 1 March
    assert oregon.clock_start is ClockStart.DISCOVERY
    assert not any("No determination is recorded" in r for r in oregon.counsel_review_reasons)


# ============================================================================================
# Effective dates: CA's 30-day rule from 2026-01-01
# ============================================================================================


@verifies("breach_law.ca.consumer_notice", "breach_law.ca.consumer_notice.before_amendment")
@pytest.mark.parametrize(
    ("determined", "rule_id", "reported"),
    [
        # 23:30 on 31 December 2025 in Sacramento: the amendment is not yet in force.
        ("2025-12-31T23:30:00-08:00", "breach_law.ca.consumer_notice.before_amendment", False),
        # 01:00 in New York on 1 January 2026 is still 31 December in California.
        ("2026-01-01T01:00:00-05:00", "breach_law.ca.consumer_notice.before_amendment", False),
        # 00:00 on 1 January 2026 in Sacramento: "Cal. Civ. Code § 1798.82 (as amended eff. 2026-01-01)".
        ("2026-01-01T00:00:00-08:00", "breach_law.ca.consumer_notice", True),
    ],
)
def test_california_is_judged_by_the_version_in_force_on_its_trigger_date(
    determined: str, rule_id: str, reported: bool
) -> None:
    """CA | Cal. Civ. Code § 1798.82 (as amended eff. 2026-01-01) | "≤ 30 calendar days after discovery or
    notification" | reported. Before that date the table gives no text: the shortest known clock applies, flagged."""
    notice = one(run("CA", 10, discovered="2025-12-20T10:00:00-08:00", determined=determined), CONSUMER, "CA")
    assert notice.rule_id == rule_id
    assert notice.due.isoformat() == "2026-01-19" + END + "-08:00"  # 30 days after discovery on 20 December
    assert notice.clock_start is ClockStart.DISCOVERY
    caveat = any("only as amended eff. 2026-01-01" in r for r in notice.counsel_review_reasons)
    if reported:
        assert notice.citation.startswith("Cal. Civ. Code § 1798.82 (as amended eff. 2026-01-01)")
        assert notice.reported_clock is not None and notice.reported_clock.amount == 30 and not caveat
    else:
        assert notice.citation.startswith("Cal. Civ. Code § 1798.82;") and notice.reported_clock is None and caveat


@verifies("breach_law.ca.consumer_notice")
def test_california_counts_from_a_providers_notification_when_it_came_before_discovery() -> None:
    """CA: "≤ 30 calendar days after discovery or notification" — the earlier of the two."""
    result = compute_obligations(
        intake(
            affected=[state_row("CA", 10)],
            source="third_party_service_provider",
            tpsp="2026-01-05T09:00:00-08:00",
            discovered="2026-01-06T09:00:00-08:00",
            determined="2026-01-07T09:00:00-08:00",
        )
    )
    notice = one(result, CONSUMER, "CA")
    assert notice.clock_start is ClockStart.TPSP_NOTICE
    assert notice.due.isoformat() == "2026-02-04" + END + "-08:00"


# ============================================================================================
# Attorney-general (and other office) notices
# ============================================================================================

#: (state, consumers, owed, the table's words)
THRESHOLDS = [
    # TX: "Attorney General if ≥ 250 Texas residents"
    ("TX", 249, False, "≥ 250 Texas residents"),
    ("TX", 250, True, "≥ 250 Texas residents"),
    ("TX", 251, True, "≥ 250 Texas residents"),
    # OR: "Attorney General if > 250 residents"
    ("OR", 250, False, "> 250 residents"),
    ("OR", 251, True, "> 250 residents"),
    # CA: "sample copy to the AG ≤ 15 days after consumer notice if > 500 residents"
    ("CA", 500, False, "> 500 residents"),
    ("CA", 501, True, "> 500 residents"),
    # FL: "Department of Legal Affairs if ≥ 500"
    ("FL", 499, False, "≥ 500 residents"),
    ("FL", 500, True, "≥ 500 residents"),
    ("FL", 501, True, "≥ 500 residents"),
]


@verifies(
    "breach_law.tx.attorney_general_notice", "breach_law.or.attorney_general_notice",
    "breach_law.ca.attorney_general_notice", "breach_law.fl.attorney_general_notice",
)  # fmt: skip
@pytest.mark.parametrize(("state", "consumers", "owed", "threshold"), THRESHOLDS)
def test_attorney_general_notice_follows_each_threshold_comparator(
    state: str, consumers: int, owed: bool, threshold: str
) -> None:
    result = run(state, consumers)
    found = general(result, AG, state)
    assert one(result, CONSUMER, state) is not None  # the consumer notice does not depend on the AG threshold
    if owed:
        assert len(found) == 1
        assert found[0].threshold is not None and found[0].threshold.text == threshold
        assert found[0].threshold.affected_residents == consumers
        assert found[0].recipient.value == "attorney_general"
    else:
        assert found == []
        reason = next(r for r in result.reasons if r.code.startswith(f"general_law.{state}.") and "threshold" in r.code)
        assert threshold in reason.message and f"{consumers:,}" in reason.message
        # a reported threshold is not trusted silently either way
        assert reason.needs_counsel_review is (state in ("CA", "FL"))


@verifies("breach_law.tx.attorney_general_notice")
def test_texas_attorney_general_within_thirty_days_of_the_determination_on_the_electronic_form() -> None:
    """TX: "Attorney General if ≥ 250 Texas residents: as soon as practicable and ≤ 30 days after the
    determination, on the AG's electronic form" (verified)."""
    notice = one(run("TX", 250), AG, "TX")
    assert notice.due.isoformat() == "2025-04-06" + END + "-05:00"  # day 30 after 7 March
    assert notice.clock_start is ClockStart.DETERMINATION
    assert notice.filing_method == "the Attorney General's electronic form"
    assert notice.recipient_key == "attorney_general:TX" and notice.recipient_name == "Texas Attorney General"
    assert notice.obligation_id == "INC-T:attorney_general_notice:TX:attorney_general:TX:general_law"
    assert notice.threshold is not None and notice.threshold.comparator is ThresholdComparator.AT_LEAST
    assert notice.threshold.residents == 250
    assert notice.citation == "Tex. Bus. & Com. Code § 521.053"
    assert notice.reported_clock is None
    assert any("B-0009-23" in n for n in notice.notes)


@verifies("breach_law.or.attorney_general_notice", "engine.breach_law.office_deadline")
def test_oregon_attorney_general_has_no_deadline_in_the_table_so_the_shortest_known_applies_flagged() -> None:
    """OR: "Attorney General if > 250 residents" — the table gives no deadline."""
    notice = one(run("OR", 251), AG, "OR")
    assert notice.threshold is not None and notice.threshold.comparator is ThresholdComparator.MORE_THAN
    assert notice.clock.amount == 30 and notice.clock_start is ClockStart.DISCOVERY
    assert notice.due.isoformat() == "2025-03-31" + END + "-07:00"
    assert any("gives no deadline" in r for r in notice.counsel_review_reasons)
    assert "engine.breach_law.office_deadline" in notice.rule_ids


@verifies("breach_law.ca.attorney_general_notice", "engine.breach_law.office_deadline")
def test_california_sample_copy_is_reported_fifteen_days_after_the_consumer_notice() -> None:
    """CA: "sample copy to the AG ≤ 15 days after consumer notice if > 500 residents" (reported)."""
    result = run("CA", 501, discovered="2026-01-06T09:00:00-08:00", determined="2026-01-07T09:00:00-08:00")
    consumer, sample = one(result, CONSUMER, "CA"), one(result, AG, "CA")
    assert consumer.due.isoformat() == "2026-02-05" + END + "-08:00"
    assert sample.reported_clock is not None and sample.reported_clock.amount == 15
    assert sample.reported_due is not None and sample.reported_due.isoformat() == "2026-02-20" + END + "-08:00"
    assert sample.due == consumer.due  # the shortest known AG clock (30 days) from discovery
    assert sample.filing_method == "a sample copy of the consumer notice"
    assert sample.status.value == "reported" and sample.needs_counsel_review


@verifies("breach_law.fl.attorney_general_notice")
def test_florida_department_of_legal_affairs_thirty_days_good_cause_extension_not_applied() -> None:
    """FL: "Department of Legal Affairs if ≥ 500, ≤ 30 days (+15 for good cause)" (reported)."""
    notice = one(run("FL", 500), AG, "FL")
    assert notice.recipient_key == "department_of_legal_affairs:FL"
    assert notice.due.isoformat() == "2025-04-06" + END + "-04:00"
    assert notice.reported_due == notice.due and notice.status.value == "reported"
    assert any("good cause" in n for n in notice.notes)


@verifies("breach_law.ny.office_notices", "engine.breach_law.office_deadline")
def test_new_york_owes_three_offices_one_obligation_each() -> None:
    """NY: "AG, Department of State, State Police; DFS for Part 500 entities" (reported)."""
    notices = general(run("NY", 1), AG, "NY")
    assert sorted(o.recipient_key for o in notices) == ["attorney_general:NY", "department_of_state:NY", "state_police:NY"]
    assert len({o.obligation_id for o in notices}) == 3
    for notice in notices:
        assert notice.threshold is not None and notice.threshold.comparator is ThresholdComparator.UNKNOWN
        assert any("gives no threshold" in r for r in notice.counsel_review_reasons)
        assert notice.due.isoformat() == "2025-03-31" + END + "-04:00"
        assert any("Part 500" in n for n in notice.notes)


@verifies("breach_law.il.attorney_general_notice")
def test_illinois_attorney_general_threshold_unread_is_flagged_never_silent() -> None:
    """IL: "AG threshold unread"."""
    notice = one(run("IL", 1), AG, "IL")
    assert notice.status.value == "interpretation"
    assert any("AG threshold unread" in r and "one affected resident" in r for r in notice.counsel_review_reasons)
