"""States whose rules are reported or not listed: the strictest known clock and counsel review.

JURISDICTIONS.md: "For a reported row or a state not listed, the engine must not guess silently: it applies
the strictest known clock (72 hours) and marks the obligation needs_counsel_review with the reason, so a
person confirms it."
"""

from __future__ import annotations

import datetime as dt

import pytest

from models.obligation import ClockStart, ObligationKind
from rules.cyber import compute_obligations
from rules.jurisdictions import CYBER_JURISDICTIONS, STRICTEST_KNOWN_CLOCK, jurisdiction_for
from rules.registry import verifies
from tests.rules.builders import find, intake, only, state_row, ts

COMMISSIONER = ObligationKind.COMMISSIONER_NOTICE


@verifies("model.commissioner_notice.reported_clock", "engine.unverified.strictest_clock", "model.commissioner_notice.triggers")
@pytest.mark.parametrize("state", ["WA", "TX", "CA", "PR"])  # OH has a verified row since issue 12
def test_unlisted_state_gets_the_model_fallback_with_72_hours_and_counsel_review(state: str) -> None:
    result = compute_obligations(intake(domicile="GA", affected=[state_row(state, 300, gov=True)]))
    notice = only(result, COMMISSIONER, state)
    assert notice.clock == STRICTEST_KNOWN_CLOCK
    assert notice.due.astimezone(dt.UTC) == ts("2025-03-10T22:30:00+00:00")  # 72 h after 7 March 16:30 CST
    assert notice.needs_counsel_review and notice.status.value == "reported"
    assert "not in the verified jurisdiction table" in notice.counsel_review_reasons[0]
    assert notice.citation == "NAIC #668 § 6(A), (B), (C) (model; state section not verified)"
    assert state not in CYBER_JURISDICTIONS and jurisdiction_for(state).state == state


@verifies("mo.commissioner_notice.reported_clock")
def test_missouri_commissioner_clock_is_reported_so_72_hours_apply() -> None:
    notice = only(compute_obligations(intake(domicile="GA", affected=[state_row("MO", 300, gov=True)])), COMMISSIONER, "MO")
    assert notice.due.isoformat() == "2025-03-10T17:30:00-05:00"  # 72 h; CDT since 9 March
    assert notice.reported_due is not None and notice.reported_due.isoformat() == "2025-03-12T23:59:59.999999-05:00"
    assert "reported, not verified (reported: 3 business days)" in notice.counsel_review_reasons[0]


@verifies("ny.commissioner_notice.deadline", "ny.commissioner_notice.covered_entity")
def test_new_york_is_a_different_regime_with_licences_unknown_asking_counsel() -> None:
    """JURISDICTIONS.md, NY (verified (72 h) since issue 12): "23 NYCRR 500.17 | 72 hours after determining
    (extortion payment: 24 hours, explanation in 30 days — reported)". The licensee's licences are not in its
    profile, so whether it is a covered entity is for counsel (tests/rules/test_state_rows_triggers.py)."""
    notice = only(compute_obligations(intake(domicile="GA", affected=[state_row("NY", 300, gov=True)])), COMMISSIONER, "NY")
    assert notice.citation.startswith("23 NYCRR 500.17")
    assert notice.needs_counsel_review and any("licensed_states" in r for r in notice.counsel_review_reasons)
    assert notice.recipient_name == "New York Superintendent of Financial Services"
    assert any("extortion" in n for n in notice.notes)


@verifies("engine.determination.assumed_at_discovery")
def test_without_a_determination_clocks_start_at_discovery_and_ask_for_review() -> None:
    result = compute_obligations(intake(determined=None, discovered="2025-03-03T10:00:00-06:00"))
    assert result.determination_assumed and result.determined_at is None
    for obligation in result.obligations:
        assert obligation.clock_start is ClockStart.ASSUMED_AT_DISCOVERY
        assert obligation.needs_counsel_review
        assert any("No determination is recorded" in r for r in obligation.counsel_review_reasons)
    assert only(result, COMMISSIONER, "TN").due == ts("2025-03-06T23:59:59.999999-06:00")
    fixed = compute_obligations(intake(determined=None, discovered="2025-03-03T10:00:00-06:00"), determined_at=ts(
        "2025-03-05T10:00:00-06:00"))
    assert not fixed.determination_assumed
    assert only(fixed, COMMISSIONER, "TN").due == ts("2025-03-10T23:59:59.999999-05:00")


@verifies("sc.classification.paper_only")
def test_paper_only_loss_is_not_a_cybersecurity_event_in_south_carolina() -> None:
    """JURISDICTIONS.md, SC (verified): "loss of paper-only information is not a cybersecurity event (department
    bulletin 2018-09)"."""
    rows = [state_row("SC", 400, gov=True), state_row("TN", 400, gov=True)]
    result = compute_obligations(intake(affected=rows, paper_only=True))
    assert find(result, COMMISSIONER, "SC") is None
    assert find(result, COMMISSIONER, "TN") is not None
    assert any(r.code == "exclusion.sc.paper_only" for r in result.reasons)
    assert find(compute_obligations(intake(affected=rows)), COMMISSIONER, "SC") is not None


@verifies("engine.unverified.strictest_clock")
def test_a_state_examined_without_obligation_is_explained() -> None:
    result = compute_obligations(intake(affected=[state_row("TN", 1000), state_row("OH", 12, harm=False)]))
    reason = next(r for r in result.reasons if r.code == "no_obligation.OH")
    assert "12 affected residents" in reason.message


def test_determination_before_discovery_is_rejected_naming_the_field() -> None:
    from rules.errors import RuleInputError

    with pytest.raises(RuleInputError, match="determined_at"):
        compute_obligations(intake(), determined_at=ts("2025-02-01T00:00:00-06:00"))
