"""The event timeline (reports/timeline.py): deadlines as markers, notices as bars, lateness drawn
past the deadline — checked on the SVG's geometry, not only its presence."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from reports.examiner import build_examiner_report, drawn_obligations, event_timeline
from reports.timeline import (
    PLOT_LEFT,
    PLOT_RIGHT,
    Lane,
    Mark,
    Scale,
    Timeline,
    render_svg,
    ticks,
)
from tests.reports.synthetic import TN_CONS, report_args, synthetic_entries

T0 = datetime(2026, 3, 1, tzinfo=UTC)


def _rects(svg: str, cls: str) -> list[dict[str, float]]:
    out = []
    for tag in re.findall(rf'<rect class="{cls}"[^>]*>', svg):
        out.append({k: float(v) for k, v in re.findall(r'(?<![-\w])(x|y|width|height)="([0-9.]+)"', tag)})
    return out


def test_late_notice_is_hatched_from_its_deadline_to_when_it_was_given() -> None:
    due, given = T0 + timedelta(days=10), T0 + timedelta(days=13)
    timeline = Timeline("t", [Lane("TN consumer notice", "LATE 3 d", late=True, allowed_from=T0, deadline=due,
                                   bar_from=T0, bar_to=given, marks=[Mark("sent", given)])])
    svg = render_svg(timeline)
    start, end = timeline.span()
    scale = Scale(start, end)
    (late,) = _rects(svg, "late-part")
    assert abs(late["x"] - scale.x(due)) < 0.2
    assert abs(late["x"] + late["width"] - scale.x(given)) < 0.2
    assert "⚠ TN consumer notice" in svg and ">LATE 3 d<" in svg  # not by colour alone


def test_notice_given_before_its_deadline_has_no_hatched_part() -> None:
    due = T0 + timedelta(days=10)
    svg = render_svg(Timeline("t", [Lane("TN commissioner notice", "on time", deadline=due, bar_from=T0,
                                         bar_to=T0 + timedelta(days=2))]))
    assert _rects(svg, "late-part") == []
    assert svg.count("<path d=\"M ") >= 1  # the deadline diamond


def test_every_lane_is_drawn_inside_the_plot_and_the_picture_scales_with_the_page() -> None:
    report = build_examiner_report(synthetic_entries(), **report_args())
    (event,) = report.events
    svg = event.timeline_svg
    assert 'viewBox="0 0 1000 ' in svg and 'width="100%"' in svg
    assert svg.count('<g class="lane') == len(event.obligations) == 5
    for x in re.findall(r'<rect x="([0-9.]+)" y="[0-9.]+" width="[0-9.]+" height="10"', svg):
        assert PLOT_LEFT - 0.1 <= float(x) <= PLOT_RIGHT
    assert "<script" not in svg


def test_open_overdue_obligation_runs_to_the_as_of_instant_hatched_past_its_due() -> None:
    report = build_examiner_report(synthetic_entries(), **report_args())
    (event,) = report.events
    timeline = event_timeline(event, report.as_of)
    (ky,) = [lane for lane in timeline.lanes if lane.label == "KY commissioner notice"]
    assert ky.still_open and ky.late and ky.bar_to == report.as_of and ky.outcome == "LATE, open"
    (tn,) = [lane for lane in timeline.lanes if lane.label == "TN consumer notice"]
    assert tn.outcome == "LATE 2 d 9 h" and tn.bar_to == datetime(2026, 4, 19, 14, tzinfo=UTC)


def test_a_huge_event_draws_every_late_obligation_first() -> None:
    report = build_examiner_report(synthetic_entries(), **report_args())
    (event,) = report.events
    drawn = drawn_obligations(event, limit=2)
    assert {r.obligation_id for r in drawn} == {r.obligation_id for r in event.obligations if r.late}
    assert TN_CONS in {r.obligation_id for r in drawn}


def test_axis_ticks_fall_on_round_instants_within_the_span() -> None:
    days = ticks(T0, T0 + timedelta(days=60))
    assert 2 <= len(days) <= 8 and all(t.hour == 0 and t.minute == 0 for t, _ in days)
    hours = ticks(T0, T0 + timedelta(hours=5))
    assert all(t.minute == 0 for t, _ in hours) and [text for _, text in hours][:2] == ["Mar 1 00:00", "01:00"]
    years = ticks(T0, T0 + timedelta(days=900))
    assert all(t.day == 1 for t, _ in years) and len(years) <= 8
