"""The timeline picture of one event: an SVG that needs no JavaScript and prints at any width.

One lane per obligation: a thin line for the period the law allowed (clock start → due), a
diamond at the deadline, a bar from when the obligation was opened to when its notice was given,
a triangle where it was sent and a dot where its confirmation came. Whatever lies past the
deadline is hatched and the lane says LATE in words — lateness is seen, and not by colour alone.
The time axis is in UTC (the tables give each state's local time).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from html import escape

#: Geometry, in SVG user units (the picture scales to the page width through its viewBox).
WIDTH = 1000
LABEL_RIGHT = 236
PLOT_LEFT, PLOT_RIGHT = 244, 884
OUTCOME_LEFT = 892
LANE_HEIGHT = 26
TOP = 34
MIN_BAR = 4.0

INK, MUTED, GRID, BAR, LATE, CONFIRM = "#1b1f24", "#57606a", "#d0d7de", "#2f5d9e", "#a4161a", "#1a7f37"


@dataclass(frozen=True)
class Mark:
    """A moment on a lane: ``sent``, ``confirmed``, ``waived``, ``excused``, ``overdue``, ``given``."""

    kind: str
    at: datetime
    label: str = ""


@dataclass
class Lane:
    label: str
    outcome: str
    late: bool = False
    allowed_from: datetime | None = None
    deadline: datetime | None = None
    bar_from: datetime | None = None
    bar_to: datetime | None = None
    still_open: bool = False
    marks: list[Mark] = field(default_factory=list)
    title: str = ""
    href: str | None = None


@dataclass
class Timeline:
    title: str
    lanes: list[Lane]
    milestones: list[tuple[str, datetime]] = field(default_factory=list)
    as_of: datetime | None = None
    #: ``obligations`` (deadlines, sending, confirmation) or ``privacy`` (notices given, opt-out windows).
    legend: str = "obligations"

    def span(self) -> tuple[datetime, datetime] | None:
        moments: list[datetime] = [m for _, m in self.milestones]
        for lane in self.lanes:
            moments.extend(m for m in (lane.allowed_from, lane.deadline, lane.bar_from, lane.bar_to) if m is not None)
            moments.extend(mark.at for mark in lane.marks)
        if any(lane.still_open for lane in self.lanes) and self.as_of is not None:
            moments.append(self.as_of)
        if not moments:
            return None
        start, end = min(moments), max(moments)
        if end - start < timedelta(hours=1):
            end = start + timedelta(hours=1)
        pad = (end - start) * 0.02
        return start - pad, end + pad


@dataclass(frozen=True)
class Scale:
    start: datetime
    end: datetime

    def x(self, moment: datetime) -> float:
        total = (self.end - self.start).total_seconds()
        return PLOT_LEFT + (moment - self.start).total_seconds() / total * (PLOT_RIGHT - PLOT_LEFT)


_STEPS = [timedelta(minutes=m) for m in (1, 5, 15, 30)] + [timedelta(hours=h) for h in (1, 3, 6, 12)] + [
    timedelta(days=d) for d in (1, 2, 7, 14)
]
_MONTH_STEPS = (1, 3, 6, 12)
MAX_TICKS = 8


def ticks(start: datetime, end: datetime) -> list[tuple[datetime, str]]:
    """Axis ticks: at most ``MAX_TICKS``, on round instants (minutes, hours, midnights, months), in UTC."""
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    span = end - start
    for step in _STEPS:
        if span / step <= MAX_TICKS:
            if step < timedelta(days=1):
                epoch = datetime(2000, 1, 1, tzinfo=UTC)
                n = -(-((start - epoch) // timedelta(seconds=1)) // int(step.total_seconds()))
                first = epoch + n * step
            else:
                first = datetime(start.year, start.month, start.day, tzinfo=UTC) + timedelta(days=1)
                if step == timedelta(days=7):
                    first += timedelta(days=(7 - first.weekday()) % 7)  # Mondays
            out: list[tuple[datetime, str]] = []
            moment, last_day = first, None
            while moment <= end:
                day = f"{moment:%b} {moment.day}"
                if step >= timedelta(days=1):
                    text = day
                else:  # the date where it changes (and on the first tick), the hour everywhere
                    text = f"{day} {moment:%H:%M}" if day != last_day else f"{moment:%H:%M}"
                out.append((moment, text))
                last_day = day
                moment += step
            return out
    for months in _MONTH_STEPS:
        if span.days / (30.4 * months) <= MAX_TICKS:
            break
    year, month = start.year, start.month + 1
    monthly: list[tuple[datetime, str]] = []
    while True:
        year, month = year + (month - 1) // 12, (month - 1) % 12 + 1
        moment = datetime(year, month, 1, tzinfo=UTC)
        if moment > end:
            return monthly
        if (month - 1) % months == 0:
            monthly.append((moment, moment.strftime("%b %Y")))
        month += 1


def _t(x: float) -> str:
    return f"{x:.1f}"


def render_svg(timeline: Timeline) -> str:
    """The SVG of ``timeline`` (an empty string when it has no lane)."""
    if not timeline.lanes:
        return ""
    bounds = timeline.span()
    assert bounds is not None
    scale = Scale(*bounds)
    # Several pictures share one page: each names its own hatch pattern.
    hatch = "hatch-" + hashlib.sha256(timeline.title.encode()).hexdigest()[:10]
    lanes_bottom = TOP + LANE_HEIGHT * len(timeline.lanes)
    axis_y = lanes_bottom + 4
    legend_y = axis_y + 52
    milestone_rows = (len(timeline.milestones) + 2) // 3
    height = legend_y + 22 + 16 * milestone_rows
    out: list[str] = [
        (f'<svg xmlns="http://www.w3.org/2000/svg" class="timeline" viewBox="0 0 {WIDTH} {height}" '
         f'width="100%" role="img" aria-label="{escape(timeline.title)}" font-family="system-ui, sans-serif" font-size="12">'),
        f"<title>{escape(timeline.title)}</title>",
        (f'<defs><pattern id="{hatch}" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">'
         f'<rect width="6" height="6" fill="#fbe9e9"/><line x1="0" y1="0" x2="0" y2="6" stroke="{LATE}" stroke-width="2.5"/></pattern></defs>'),
        f'<rect x="0" y="0" width="{WIDTH}" height="{height}" fill="#ffffff"/>',
        f'<text x="{LABEL_RIGHT}" y="{TOP - 12}" text-anchor="end" fill="{MUTED}">{"step" if timeline.legend == "privacy" else "obligation"}</text>',
        f'<text x="{OUTCOME_LEFT}" y="{TOP - 12}" fill="{MUTED}">outcome</text>',
    ]
    # grid and axis
    for moment, text in ticks(scale.start, scale.end):
        x = scale.x(moment)
        out.append(f'<line x1="{_t(x)}" y1="{TOP - 4}" x2="{_t(x)}" y2="{axis_y}" stroke="{GRID}" stroke-width="1"/>')
        out.append(f'<text x="{_t(x)}" y="{axis_y + 15}" text-anchor="middle" fill="{INK}">{escape(text)}</text>')
    out.append(f'<line x1="{PLOT_LEFT}" y1="{axis_y}" x2="{PLOT_RIGHT}" y2="{axis_y}" stroke="{INK}" stroke-width="1"/>')
    out.append(f'<text x="{PLOT_LEFT}" y="{axis_y + 30}" fill="{MUTED}" font-size="11">time axis in UTC</text>')
    # milestones: numbered dashed lines
    for n, (label, moment) in enumerate(timeline.milestones, 1):
        x = scale.x(moment)
        out.append(f'<line x1="{_t(x)}" y1="{TOP - 6}" x2="{_t(x)}" y2="{lanes_bottom}" stroke="{MUTED}" stroke-dasharray="3 3"/>')
        level = sum(1 for _, other in timeline.milestones[: n - 1] if abs(scale.x(other) - x) < 16)
        out.append(f'<g><title>{escape(label)}</title><circle cx="{_t(x + 16 * level)}" cy="{TOP - 16}" r="7" fill="#ffffff" stroke="{MUTED}"/>'
                   f'<text x="{_t(x + 16 * level)}" y="{TOP - 12}" text-anchor="middle" font-size="10" fill="{INK}">{n}</text></g>')
    if timeline.as_of is not None and any(lane.still_open for lane in timeline.lanes):
        x = scale.x(timeline.as_of)
        out.append(f'<line x1="{_t(x)}" y1="{TOP - 4}" x2="{_t(x)}" y2="{lanes_bottom}" stroke="{INK}" stroke-dasharray="1 3"/>')
        out.append(f'<text x="{_t(x - 3)}" y="{TOP - 6}" text-anchor="end" font-size="10" fill="{INK}">as of</text>')
    for i, lane in enumerate(timeline.lanes):
        out.extend(_lane(lane, scale, TOP + i * LANE_HEIGHT, hatch))
    # legend
    out.append(_legend(timeline.legend, legend_y, hatch))
    for n, (label, moment) in enumerate(timeline.milestones, 1):
        row, col = divmod(n - 1, 3)
        text = f"{n}  {label} — {moment.astimezone(UTC):%Y-%m-%d %H:%M} UTC"
        out.append(f'<text x="{20 + col * 330}" y="{legend_y + 22 + 16 * row}" font-size="11" fill="{INK}">{escape(text)}</text>')
    out.append("</svg>")
    return "\n".join(out)


def _legend(kind: str, y: float, hatch: str) -> str:
    x = PLOT_LEFT
    if kind == "privacy":
        return (
            f'<g font-size="11" fill="{INK}">'
            f'<circle cx="{x + 5}" cy="{y}" r="4.5" fill="{CONFIRM}"/><text x="{x + 14}" y="{y + 4}">notice given</text>'
            f'<rect x="{x + 100}" y="{y - 5}" width="26" height="10" fill="{BAR}"/>'
            f'<text x="{x + 132}" y="{y + 4}">opt-out window (notice → disclosure allowed)</text>'
            f'<path d="M {x + 404} {y - 4} l 8 8 m 0 -8 l -8 8" stroke="{INK}" stroke-width="2"/>'
            f'<text x="{x + 418}" y="{y + 4}">other step (see outcome)</text></g>'
        )
    return (
        f'<g font-size="11" fill="{INK}">'
        f'<path d="M {x} {y} l 5 -5 l 5 5 l -5 5 z" fill="{INK}"/><text x="{x + 14}" y="{y + 4}">deadline</text>'
        f'<line x1="{x + 78}" y1="{y}" x2="{x + 108}" y2="{y}" stroke="{MUTED}" stroke-width="1.5"/>'
        f'<text x="{x + 114}" y="{y + 4}">period allowed</text>'
        f'<rect x="{x + 214}" y="{y - 5}" width="26" height="10" fill="{BAR}"/><text x="{x + 246}" y="{y + 4}">opened → given</text>'
        f'<path d="M {x + 352} {y + 5} l 5 -10 l 5 10 z" fill="{INK}"/><text x="{x + 366}" y="{y + 4}">sent</text>'
        f'<circle cx="{x + 412}" cy="{y}" r="4.5" fill="{CONFIRM}" stroke="#ffffff"/><text x="{x + 421}" y="{y + 4}">confirmed</text>'
        f'<rect x="{x + 492}" y="{y - 5}" width="26" height="10" fill="url(#{hatch})" stroke="{LATE}"/>'
        f'<text x="{x + 524}" y="{y + 4}">LATE (past the deadline)</text></g>'
    )


def _lane(lane: Lane, scale: Scale, top: float, hatch: str) -> list[str]:
    mid = top + LANE_HEIGHT / 2
    label = lane.label if len(lane.label) <= 38 else lane.label[:37] + "…"
    weight = ' font-weight="700"' if lane.late else ""
    out = [f'<g class="lane{" late" if lane.late else ""}"><title>{escape(lane.title or lane.label)}</title>']
    if lane.late:
        out.append(f'<rect x="0" y="{_t(top + 1)}" width="{WIDTH}" height="{LANE_HEIGHT - 2}" fill="#fdf2f2"/>')
    out.append(f'<line x1="{PLOT_LEFT}" y1="{_t(top + LANE_HEIGHT)}" x2="{PLOT_RIGHT}" y2="{_t(top + LANE_HEIGHT)}" stroke="#eef1f4"/>')
    text = f'<text x="{LABEL_RIGHT}" y="{_t(mid + 4)}" text-anchor="end" fill="{LATE if lane.late else INK}"{weight}>{escape(("⚠ " if lane.late else "") + label)}</text>'
    out.append(f'<a href="{escape(lane.href)}">{text}</a>' if lane.href else text)
    if lane.allowed_from is not None and lane.deadline is not None:
        out.append(f'<line x1="{_t(scale.x(lane.allowed_from))}" y1="{_t(mid)}" x2="{_t(scale.x(lane.deadline))}" y2="{_t(mid)}" '
                   f'stroke="{MUTED}" stroke-width="1.5"/>')
    if lane.bar_from is not None and lane.bar_to is not None:
        x0, x1 = scale.x(lane.bar_from), scale.x(lane.bar_to)
        x1 = max(x1, x0 + MIN_BAR)
        due_x = scale.x(lane.deadline) if lane.deadline is not None else None
        dash = ' stroke-dasharray="4 2" fill-opacity="0.55"' if lane.still_open else ""
        on_time_end = min(x1, due_x) if due_x is not None else x1
        if on_time_end > x0:
            out.append(f'<rect x="{_t(x0)}" y="{_t(mid - 5)}" width="{_t(max(on_time_end - x0, MIN_BAR))}" height="10" fill="{BAR}" stroke="{BAR}"{dash}/>')
        if due_x is not None and x1 > due_x:
            start = max(x0, due_x)
            out.append(f'<rect class="late-part" x="{_t(start)}" y="{_t(mid - 6)}" width="{_t(max(x1 - start, MIN_BAR))}" height="12" '
                       f'fill="url(#{hatch})" stroke="{LATE}" stroke-width="1.5"{dash}/>')
    if lane.deadline is not None:
        x = scale.x(lane.deadline)
        out.append(f'<path d="M {_t(x)} {_t(mid - 7)} l 6 7 l -6 7 l -6 -7 z" fill="{LATE if lane.late else INK}" stroke="#ffffff" stroke-width="1"/>')
    for mark in lane.marks:
        x = scale.x(mark.at)
        if mark.kind == "sent":
            out.append(f'<path d="M {_t(x)} {_t(mid - 1)} l 5 10 l -10 0 z" fill="{INK}" stroke="#ffffff" stroke-width="0.8"/>')
        elif mark.kind in ("confirmed", "given"):
            out.append(f'<circle cx="{_t(x)}" cy="{_t(mid)}" r="4.5" fill="{CONFIRM}" stroke="#ffffff" stroke-width="1"/>')
        else:  # waived, excused, overdue, void: a cross; the outcome column says which
            out.append(f'<path d="M {_t(x - 4)} {_t(mid - 4)} l 8 8 m 0 -8 l -8 8" stroke="{LATE if lane.late else INK}" stroke-width="2"/>')
    colour = LATE if lane.late else INK
    out.append(f'<text x="{OUTCOME_LEFT}" y="{_t(mid + 4)}" fill="{colour}"{weight}>{escape(lane.outcome)}</text>')
    out.append("</g>")
    return out
