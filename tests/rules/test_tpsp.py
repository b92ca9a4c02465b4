"""Third-party service provider events — Tenn. Code Ann. § 56-2-1006(d); MO "day after" (reported)."""

from __future__ import annotations

import pytest

from models.obligation import ClockStart, ObligationKind
from rules.cyber import compute_obligations
from rules.registry import verifies
from tests.rules.builders import intake, only, state_row, ts

D2 = (
    '"The licensee\'s time limitations for purposes of providing notification under subsection (a) begin running '
    "when the third-party service provider notifies the licensee of the cybersecurity event or the licensee "
    'otherwise gains actual knowledge of the cybersecurity event, whichever is sooner" — Tenn. Code Ann. '
    "§ 56-2-1006(d)(2)"
)

COMMISSIONER = ObligationKind.COMMISSIONER_NOTICE


@verifies("tn.tpsp.clock_start")
@pytest.mark.parametrize(
    ("tpsp", "knowledge", "start", "start_kind", "due"),
    [
        # the provider's notice comes first (Wednesday before Thanksgiving)
        ("2025-11-26T09:15:00-06:00", None, "2025-11-26T09:15:00-06:00", ClockStart.TPSP_NOTICE, "2025-12-02T23:59:59.999999-06:00"),
        # a TPSP notice before the licensee's own actual knowledge: the notice starts the clock
        ("2025-11-24T08:00:00-06:00", "2025-11-26T09:15:00-06:00", "2025-11-24T08:00:00-06:00", ClockStart.TPSP_NOTICE, "2025-11-28T23:59:59.999999-06:00"),
        # actual knowledge before the provider says anything
        ("2025-11-26T09:15:00-06:00", "2025-11-21T17:45:00-06:00", "2025-11-21T17:45:00-06:00", ClockStart.ACTUAL_KNOWLEDGE, "2025-11-26T23:59:59.999999-06:00"),
        # no provider notice yet; actual knowledge only
        (None, "2025-11-25T11:00:00-06:00", "2025-11-25T11:00:00-06:00", ClockStart.ACTUAL_KNOWLEDGE, "2025-12-01T23:59:59.999999-06:00"),
    ],
)
def test_tpsp_clock_starts_at_the_earlier_of_provider_notice_and_actual_knowledge_56_2_1006_d_2(
    tpsp: str | None, knowledge: str | None, start: str, start_kind: ClockStart, due: str
) -> None:
    """D2 (quoted above). The determination (1 December) comes later and does not restart the clock."""
    result = compute_obligations(
        intake(
            source="third_party_service_provider",
            tpsp=tpsp,
            knowledge=knowledge,
            discovered="2025-11-20T08:00:00-06:00",
            determined="2025-12-01T15:00:00-06:00",
        )
    )
    notice = only(result, COMMISSIONER, "TN")
    assert notice.clock_starts_at == ts(start)
    assert notice.clock_start is start_kind
    assert notice.due == ts(due)
    assert "tn.tpsp.clock_start" in notice.rule_ids
    assert "(d)" in notice.citation


@verifies("tn.tpsp.clock_start")
def test_a_recorded_determination_implies_actual_knowledge() -> None:
    result = compute_obligations(
        intake(source="third_party_service_provider", tpsp="2025-03-12T09:00:00-05:00", determined="2025-03-07T16:30:00-06:00")
    )
    notice = only(result, COMMISSIONER, "TN")
    assert notice.clock_starts_at == ts("2025-03-07T16:30:00-06:00")
    assert notice.clock_start is ClockStart.ACTUAL_KNOWLEDGE


@verifies("tn.tpsp.clock_start", "tn.consumer_notice.deadline")
def test_tpsp_rule_moves_subsection_a_only_consumer_notice_still_runs_from_determination() -> None:
    result = compute_obligations(
        intake(source="third_party_service_provider", tpsp="2025-11-26T09:15:00-06:00", determined="2025-12-01T15:00:00-06:00",
               discovered="2025-11-20T08:00:00-06:00")
    )
    consumer = only(result, ObligationKind.CONSUMER_NOTICE, "TN")
    assert consumer.clock_start is ClockStart.DETERMINATION
    assert consumer.due == ts("2026-01-15T23:59:59.999999-06:00")


@verifies("mo.tpsp.day_after", "mo.commissioner_notice.reported_clock", "model.tpsp.day_after")
def test_reported_day_after_start_is_shown_next_to_the_strictest_clock() -> None:
    """JURISDICTIONS.md, MO (reported): "deadlines start the day after the TPSP's notice or actual knowledge,
    whichever is sooner"; the obligation's due date applies the strictest known clock instead."""
    result = compute_obligations(
        intake(
            source="third_party_service_provider",
            tpsp="2025-06-10T15:00:00-05:00",
            determined="2025-06-12T10:00:00-05:00",
            discovered="2025-06-09T08:00:00-05:00",
            affected=[state_row("MO", 400, gov=True), state_row("NJ", 300, gov=True)],
        )
    )
    mo = only(result, COMMISSIONER, "MO")
    assert mo.due.isoformat() == "2025-06-13T15:00:00-05:00"  # 72 hours from the notice
    assert mo.reported_clock is not None and mo.reported_clock.starts_day_after
    assert mo.reported_due is not None and mo.reported_due.isoformat() == "2025-06-13T23:59:59.999999-05:00"
    assert mo.needs_counsel_review and mo.status.value == "reported"
    # NJ is not listed (OH was, until issue 12 verified its row): the model fallback, 72 hours from the day after.
    nj = only(result, COMMISSIONER, "NJ")
    assert nj.reported_due is not None and nj.reported_due.isoformat() == "2025-06-14T00:00:00-04:00"
    assert nj.due.isoformat() == "2025-06-13T16:00:00-04:00"


def test_tpsp_event_without_notice_or_knowledge_is_rejected_naming_the_fields() -> None:
    with pytest.raises(ValueError, match="tpsp_notified_at or actual_knowledge_at is required"):
        intake(source="third_party_service_provider")
