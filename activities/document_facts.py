"""The dates and counts a notice states come from the event's recorded facts.

A notice may not tell consumers "on November 26" while the report and the deadlines say November
30. The renderer therefore writes every date from the intake (``discovered_at``,
``tpsp_notified_at``, ``actual_knowledge_at``, the determination, a law-enforcement delay), in the
licensee's own time zone, and the free text responders write (``NoticeContent``) is checked:

* a date it needs is written as a placeholder — ``{discovered_on}``, ``{provider_notified_on}``,
  ``{actual_knowledge_on}``, ``{determined_on}``, ``{law_enforcement_delay_until}`` — and filled
  from the facts;
* a date written out ("November 26", "11/26/2025", "2025-11-26") must be one of those recorded
  dates, and a number of people ("18,400 policyholders") one of the recorded counts; otherwise the
  document is refused, naming the field.

Pure functions; the renderer (``activities.documents``) turns :class:`FactError` into a
``DocumentError``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from models.incident import IncidentIntake
from rules.jurisdictions import STATE_TIMEZONES

MONTHS = {
    name: number
    for number, names in enumerate(
        [
            ("january", "jan"), ("february", "feb"), ("march", "mar"), ("april", "apr"), ("may",),
            ("june", "jun"), ("july", "jul"), ("august", "aug"), ("september", "sep", "sept"),
            ("october", "oct"), ("november", "nov"), ("december", "dec"),
        ],
        start=1,
    )
    for name in names
}  # fmt: skip
_MONTH = r"\b(?P<month>" + "|".join(sorted(MONTHS, key=len, reverse=True)) + r")\b\.?"
_PATTERNS = (
    # November 26, 2025 · Nov. 26 · November 26th
    re.compile(_MONTH + r"\s+(?P<day>\d{1,2})(?:st|nd|rd|th)?\b(?:,?\s+(?P<year>\d{4})\b)?", re.IGNORECASE),
    # 26 November 2025 · 26th of November
    re.compile(r"\b(?P<day>\d{1,2})(?:st|nd|rd|th)?\s+(?:of\s+)?" + _MONTH + r"(?:,?\s+(?P<year>\d{4})\b)?", re.IGNORECASE),
    # 2025-11-26 (also the date of an ISO instant)
    re.compile(r"\b(?P<year>\d{4})-(?P<nmonth>\d{2})-(?P<day>\d{2})(?!\d)"),
    # 11/26/2025 · 11/26 · 11-26-2025 (not the offset or clock of an instant: 09:05-06:00)
    re.compile(r"(?<![\w:.+-])(?P<nmonth>\d{1,2})[/-](?P<day>\d{1,2})(?:[/-](?P<year>\d{4}|\d{2}))?(?![\w:/-])"),
    # November 2025
    re.compile(_MONTH + r"\s+(?P<year>\d{4})\b", re.IGNORECASE),
)

#: Placeholders responders may write in a notice's free text, and the intake field each reads.
PLACEHOLDERS: dict[str, str] = {
    "discovered_on": "discovered_at",
    "provider_notified_on": "tpsp_notified_at",
    "actual_knowledge_on": "actual_knowledge_at",
    "determined_on": "determined_at",
    "law_enforcement_delay_until": "law_enforcement_delay_until",
}
_PLACEHOLDER = re.compile(r"\{([A-Za-z_]+)\}")

#: A number of people: what a count in a notice is about.
_PEOPLE = (
    r"(?:consumers?|customers?|policyholders?|individuals?|persons?|people|residents?|clients?|insureds?|"
    r"members?|claimants?|beneficiaries|beneficiary|applicants?)"
)
_COUNT = re.compile(r"\b(?P<n>\d{1,3}(?:,\d{3})+|\d+)\s+(?:(?:affected|of\s+(?:our|your|its|their)|more|other)\s+)*" + _PEOPLE, re.IGNORECASE)


class FactError(ValueError):
    """Free text states a date or a count the event's facts do not record."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


@dataclass(frozen=True)
class StatedDate:
    """A date as a text states it; year or day may be absent ("November 26", "November 2025")."""

    text: str
    month: int
    day: int | None
    year: int | None

    def matches(self, date: dt.date) -> bool:
        return (
            self.month == date.month
            and (self.day is None or self.day == date.day)
            and (self.year is None or self.year == date.year)
        )


def stated_dates(text: str) -> list[StatedDate]:
    """Every date-looking string in ``text``, in order, each span read once (the first pattern wins)."""
    found: list[tuple[int, StatedDate]] = []
    taken: list[range] = []
    for pattern in _PATTERNS:
        for m in pattern.finditer(text):
            if any(m.start() in span or m.end() - 1 in span for span in taken):
                continue
            groups = m.groupdict()
            month = MONTHS[groups["month"].lower()] if groups.get("month") else int(groups["nmonth"])
            day = int(groups["day"]) if groups.get("day") else None
            year = groups.get("year")
            year_n = (2000 + int(year) if len(year) == 2 else int(year)) if year else None
            if not 1 <= month <= 12 or (day is not None and not 1 <= day <= 31):
                continue
            taken.append(range(m.start(), m.end()))
            found.append((m.start(), StatedDate(text=m.group(0), month=month, day=day, year=year_n)))
    return [date for _, date in sorted(found, key=lambda f: f[0])]


def stated_counts(text: str) -> list[tuple[str, int]]:
    """Numbers of people in ``text``: ("18,400 policyholders", 18400)."""
    return [(m.group(0), int(m.group("n").replace(",", ""))) for m in _COUNT.finditer(text)]


def licensee_zone(intake: IncidentIntake) -> ZoneInfo:
    """The licensee's zone (its profile's, else its home state's): the dates a notice states are
    the days the licensee lived them."""
    name = intake.licensee.timezone or STATE_TIMEZONES.get(intake.licensee.home_jurisdiction, "UTC")
    return ZoneInfo(name)


def local_date(value: dt.datetime, zone: ZoneInfo) -> dt.date:
    return value.astimezone(zone).date()


def recorded_instants(intake: IncidentIntake) -> dict[str, dt.datetime]:
    """The event's recorded instants, by placeholder name."""
    out: dict[str, dt.datetime] = {}
    for name, attr in PLACEHOLDERS.items():
        value = getattr(intake, attr)
        if value is not None:
            out[name] = value
    return out


def recorded_counts(intake: IncidentIntake) -> set[int]:
    """The affected consumers per state and in all."""
    per_state = {row.consumers for row in intake.affected}
    return {*per_state, sum(row.consumers for row in intake.affected)}


def check_free_text(
    field: str,
    text: str,
    intake: IncidentIntake,
    format_date: Callable[[dt.datetime], str],
    extra_dates: Iterable[dt.date] = (),
) -> str:
    """``text`` with its placeholders filled from the facts; :class:`FactError` naming ``field``
    when it uses an unknown or unrecorded placeholder, or states a date or count the facts do not
    record. ``extra_dates``: other recorded dates a text may state (e.g. the notice's own date)."""
    zone = licensee_zone(intake)
    instants = recorded_instants(intake)
    allowed = {local_date(v, zone) for v in instants.values()} | set(extra_dates)
    literal = _PLACEHOLDER.sub(" ", text)
    for stated in stated_dates(literal):
        if not any(stated.matches(d) for d in allowed):
            known = ", ".join(f"{name} {format_date(v.astimezone(zone))}" for name, v in instants.items())
            raise FactError(
                field,
                f"states the date {stated.text!r}, which is none of the event's recorded dates ({known}); "
                "write the date as a placeholder such as {provider_notified_on}, or amend the event's facts first",
            )
    counts = recorded_counts(intake)
    for words, n in stated_counts(literal):
        if n not in counts:
            raise FactError(
                field,
                f"states {words!r}, which is none of the event's recorded counts of affected consumers "
                f"({', '.join(f'{c:,}' for c in sorted(counts))}); amend the event's counts first",
            )

    def fill(m: re.Match[str]) -> str:
        name = m.group(1)
        if name not in PLACEHOLDERS:
            raise FactError(field, f"uses the unknown placeholder {{{name}}}; known: {', '.join('{' + p + '}' for p in PLACEHOLDERS)}")
        if name not in instants:
            raise FactError(field, f"uses {{{name}}}, but the event records no {PLACEHOLDERS[name]}")
        return format_date(instants[name].astimezone(zone))

    return _PLACEHOLDER.sub(fill, text)

