"""Instants as an examiner reads them: the state's local time with its zone, spans in words."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from rules.calendar import state_zone


def parse_instant(value: object) -> datetime | None:
    """An RFC 3339 timestamp from an entry (``…Z`` or with an offset); None when absent or not one."""
    if not isinstance(value, str) or len(value) < 10:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def zone_of(state: str | None) -> ZoneInfo | None:
    """The zone a state's clock is read in (``rules.calendar.state_zone``); None for no state or an unknown code."""
    if not state:
        return None
    try:
        return state_zone(state)
    except (KeyError, ValueError):
        return None


def local_text(moment: datetime | None, state: str | None) -> str | None:
    """``2026-12-03 23:59 CST``: the instant in ``state``'s zone (UTC when it has none)."""
    if moment is None:
        return None
    zone = zone_of(state)
    if zone is None:
        return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")


def utc_text(moment: datetime | None) -> str | None:
    """``2026-12-03 05:59:59 UTC``."""
    if moment is None:
        return None
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def span_text(delta: timedelta, *, short: bool = False) -> str:
    """A duration in words, to the two largest units: ``2 days 3 h``, ``45 min``, ``12 s``
    (``short``: ``2 d 3 h``)."""
    seconds = int(abs(delta.total_seconds()))
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, secs = divmod(rest, 60)
    parts: list[str] = []
    if days:
        parts.append(f"{days} d" if short else f"{days} day{'s' if days != 1 else ''}")
    if hours:
        parts.append(f"{hours} h")
    if minutes and not days:
        parts.append(f"{minutes} min")
    if not parts:
        parts.append(f"{secs} s")
    return " ".join(parts[:2])
