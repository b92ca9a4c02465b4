"""Business days and deadlines: the one place where a statutory clock becomes an instant.

The interpretation (``docs/rules.md`` § Business days), each part configurable through
``models.licensee.DeadlinePolicy``:

* A **business day** is a weekday that is not a legal holiday of the state whose clock runs —
  the state's calendar of the ``holidays`` package (US subdivision), ``public`` category by
  default, observed dates included.
* **Days are counted from the day after** the clock starts (the first day is excluded, the
  last included — the general rule for computing time, e.g. Tenn. Code Ann. § 1-3-102). A clock
  that "starts the day after" an event therefore counts the same days; only an hour clock
  moves, to 00:00 of the next day. ``count_start_day=True`` counts the start day (stricter).
* A day-based deadline is the **end of its last day** in the state's time zone (the capital's
  zone, ``rules.jurisdictions.STATE_TIMEZONES``): 23:59:59.999999 local time by default, or
  00:00 of the next day with ``end_of_day="next_midnight"``.
* A calendar-day deadline that falls on a weekend or holiday stays there (stricter) unless
  ``roll_weekend_holiday=True``.
* **Hour clocks are exact**: 72 hours after the instant, whatever the calendar.

Everything here is pure: time is always passed in; the holiday calendars are computed once per
(state, year, categories) and cached.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

from models.common import Clock, ClockUnit
from models.licensee import DeadlinePolicy
from rules.jurisdictions import STATE_TIMEZONES

DEFAULT_POLICY = DeadlinePolicy()

_LAST_MICROSECOND = dt.time(23, 59, 59, 999999)
_MIDNIGHT = dt.time(0, 0)
_ONE_DAY = dt.timedelta(days=1)
#: No statutory clock spans more than this many days of searching for business days.
_MAX_SEARCH_DAYS = 3660


@lru_cache(maxsize=None)
def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def state_zone(state: str) -> ZoneInfo:
    """The time zone a state's clock is read in (its capital's zone)."""
    return zone(STATE_TIMEZONES[state])


def clock_zone(state: str, policy: DeadlinePolicy = DEFAULT_POLICY, licensee_timezone: str | None = None) -> ZoneInfo:
    """The zone in which the local days of ``state``'s clock are read, per ``policy``."""
    if policy.timezone_source == "licensee" and licensee_timezone:
        return zone(licensee_timezone)
    return state_zone(state)


#: Holiday names in one fixed language, whatever the machine's locale: the same inputs must give
#: the same explanations on every worker, or a replayed workflow would diverge.
HOLIDAY_NAMES_LANGUAGE = "en_US"


@lru_cache(maxsize=None)
def _holiday_dates(state: str, year: int, categories: tuple[str, ...]) -> frozenset[dt.date]:
    calendar = holidays.country_holidays(
        "US", subdiv=state, years=year, categories=categories, language=HOLIDAY_NAMES_LANGUAGE
    )
    return frozenset(calendar.keys())


def holiday_name(day: dt.date, state: str, policy: DeadlinePolicy = DEFAULT_POLICY) -> str | None:
    """The name of the state's legal holiday on ``day``, if any (for explanations)."""
    if day not in _holiday_dates(state, day.year, policy.holiday_categories):
        return None
    calendar = holidays.country_holidays(
        "US", subdiv=state, years=day.year, categories=policy.holiday_categories, language=HOLIDAY_NAMES_LANGUAGE
    )
    return calendar.get(day)


def is_business_day(day: dt.date, state: str, policy: DeadlinePolicy = DEFAULT_POLICY) -> bool:
    """A weekday that is not a legal holiday of ``state``."""
    return day.weekday() < 5 and day not in _holiday_dates(state, day.year, policy.holiday_categories)


def local_midnight_after(instant: dt.datetime, tz: ZoneInfo) -> dt.datetime:
    """00:00 local time of the day after ``instant`` — where a "day after" clock starts."""
    return dt.datetime.combine(instant.astimezone(tz).date() + _ONE_DAY, _MIDNIGHT, tzinfo=tz)


def end_of_day(day: dt.date, tz: ZoneInfo, policy: DeadlinePolicy = DEFAULT_POLICY) -> dt.datetime:
    """The instant a deadline on ``day`` expires, per ``policy.end_of_day``."""
    if policy.end_of_day == "next_midnight":
        return dt.datetime.combine(day + _ONE_DAY, _MIDNIGHT, tzinfo=tz)
    return dt.datetime.combine(day, _LAST_MICROSECOND, tzinfo=tz)


def _first_counted_day(start: dt.datetime, tz: ZoneInfo, policy: DeadlinePolicy, day_after: bool) -> dt.date:
    start_day = start.astimezone(tz).date()
    if policy.count_start_day and not day_after:
        return start_day
    return start_day + _ONE_DAY


def nth_business_day(first: dt.date, n: int, state: str, policy: DeadlinePolicy = DEFAULT_POLICY) -> dt.date:
    """The ``n``-th business day of ``state`` counting ``first`` as a candidate for day 1."""
    if n < 1:
        raise ValueError(f"business-day count must be at least 1, got {n}")
    day, counted = first, 0
    for _ in range(_MAX_SEARCH_DAYS):
        if is_business_day(day, state, policy):
            counted += 1
            if counted == n:
                return day
        day += _ONE_DAY
    raise ValueError(f"no {n} business days in {state} within {_MAX_SEARCH_DAYS} days of {first}")


def next_business_day_on_or_after(day: dt.date, state: str, policy: DeadlinePolicy = DEFAULT_POLICY) -> dt.date:
    return nth_business_day(day, 1, state, policy)


def clock_origin(start: dt.datetime, clock: Clock, tz: ZoneInfo) -> dt.datetime:
    """The instant a clock starts running: ``start``, or 00:00 of the next day for a day-after clock."""
    return local_midnight_after(start, tz) if clock.starts_day_after else start.astimezone(tz)


def deadline(
    start: dt.datetime,
    clock: Clock,
    state: str,
    policy: DeadlinePolicy = DEFAULT_POLICY,
    tz: ZoneInfo | None = None,
) -> dt.datetime:
    """The instant by which a duty on ``clock`` must be met, when the clock starts at ``start``.

    ``state`` chooses the holiday calendar; ``tz`` (default: the state's zone) the local days.
    The result is expressed in ``tz``. Later ``start`` never gives an earlier deadline.
    """
    if start.tzinfo is None:
        raise ValueError("deadline(): start must be timezone-aware")
    tz = tz or state_zone(state)
    if clock.unit is ClockUnit.HOURS:
        origin = clock_origin(start, clock, tz)
        return (origin.astimezone(dt.UTC) + dt.timedelta(hours=clock.amount)).astimezone(tz)
    first = _first_counted_day(start, tz, policy, clock.starts_day_after)
    if clock.unit is ClockUnit.BUSINESS_DAYS:
        last = nth_business_day(first, clock.amount, state, policy)
    else:
        last = first + dt.timedelta(days=clock.amount - 1)
        if policy.roll_weekend_holiday:
            last = next_business_day_on_or_after(last, state, policy)
    return end_of_day(last, tz, policy)


def add_months(day: dt.date, months: int) -> dt.date:
    """``day`` plus calendar months, clamped to the month's last day (31 Jan + 1 month = 28/29 Feb)."""
    index = day.year * 12 + (day.month - 1) + months
    year, month = divmod(index, 12)
    month += 1
    for candidate in (31, 30, 29, 28):
        try:
            return dt.date(year, month, min(day.day, candidate))
        except ValueError:
            continue
    raise AssertionError("unreachable")  # pragma: no cover


def add_months_instant(instant: dt.datetime, months: int) -> dt.datetime:
    """``instant`` plus calendar months at the same local wall-clock time."""
    local_date = add_months(instant.date(), months)
    return instant.replace(year=local_date.year, month=local_date.month, day=local_date.day)
