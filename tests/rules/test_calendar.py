"""Business days, state holidays, time zones and exact hour clocks (rules/calendar.py).

"A licensee shall notify the commissioner as soon as practicable, and in no event more than three (3)
business days, following a determination that a cybersecurity event has occurred" — Tenn. Code Ann.
§ 56-2-1006(a). JURISDICTIONS.md: "weekdays that are not legal holidays of the state whose clock runs
…; the deadline is the end of the last business day in that state's time zone".
"""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from models.common import Clock, ClockUnit
from models.licensee import DeadlinePolicy
from rules.calendar import add_months, deadline, holiday_name, is_business_day, state_zone
from rules.registry import verifies
from tests.rules.builders import ts

THREE_BUSINESS_DAYS = Clock(amount=3, unit=ClockUnit.BUSINESS_DAYS)
FORTY_FIVE_DAYS = Clock(amount=45, unit=ClockUnit.CALENDAR_DAYS)
SEVENTY_TWO_HOURS = Clock(amount=72, unit=ClockUnit.HOURS)


@verifies("engine.calendar.business_days", "tn.commissioner_notice.deadline")
@pytest.mark.parametrize(
    ("state", "start", "due", "why"),
    [
        ("TN", "2025-03-03T10:00:00-06:00", "2025-03-06T23:59:59.999999-06:00", "Mon → Thu: Tue, Wed, Thu"),
        ("TN", "2025-03-07T16:30:00-06:00", "2025-03-12T23:59:59.999999-05:00", "late Friday: weekend skipped; DST began Sunday"),
        ("TN", "2025-03-07T23:59:59-06:00", "2025-03-12T23:59:59.999999-05:00", "one second before midnight on Friday"),
        ("TN", "2025-03-08T11:00:00-06:00", "2025-03-12T23:59:59.999999-05:00", "determination on a Saturday"),
        ("TN", "2025-11-26T09:15:00-06:00", "2025-12-02T23:59:59.999999-06:00", "Thanksgiving (TN) skipped; Friday counts"),
        ("DE", "2025-11-26T10:15:00-05:00", "2025-12-03T23:59:59.999999-05:00", "DE: Thanksgiving and the day after"),
        ("TN", "2025-04-17T12:00:00-05:00", "2025-04-23T23:59:59.999999-05:00", "Good Friday is a TN holiday"),
        ("MO", "2025-04-17T12:00:00-05:00", "2025-04-22T23:59:59.999999-05:00", "… but not in MO"),
        ("MO", "2025-05-07T12:00:00-05:00", "2025-05-13T23:59:59.999999-05:00", "Truman Day (MO): Fri, Mon, Tue"),
        ("LA", "2025-03-03T09:00:00-06:00", "2025-03-07T23:59:59.999999-06:00", "Mardi Gras (LA)"),
        ("TN", "2025-12-24T08:00:00-06:00", "2025-12-30T23:59:59.999999-06:00", "Christmas Day: Fri, Mon, Tue"),
        ("TN", "2025-07-03T23:00:00-05:00", "2025-07-09T23:59:59.999999-05:00", "Independence Day, then weekend"),
    ],
)
def test_commissioner_notice_due_three_business_days_after_determination_56_2_1006_a(
    state: str, start: str, due: str, why: str
) -> None:
    assert deadline(ts(start), THREE_BUSINESS_DAYS, state) == ts(due), why
    assert deadline(ts(start), THREE_BUSINESS_DAYS, state).isoformat() == due


@verifies("engine.calendar.business_days")
@pytest.mark.parametrize(
    ("day", "state", "business"),
    [
        ("2025-03-08", "TN", False),  # Saturday
        ("2025-03-09", "TN", False),  # Sunday
        ("2025-03-10", "TN", True),
        ("2025-11-27", "TN", False),  # Thanksgiving Day
        ("2025-11-28", "TN", True),
        ("2025-11-28", "DE", False),  # Day After Thanksgiving
        ("2025-04-18", "TN", False),  # Good Friday
        ("2025-04-18", "MO", True),
        ("2025-03-04", "LA", False),  # Mardi Gras
        ("2026-07-03", "TN", False),  # Independence Day (observed): 4 July 2026 is a Saturday
    ],
)
def test_business_day_is_a_weekday_that_is_not_a_state_legal_holiday(day: str, state: str, business: bool) -> None:
    assert is_business_day(dt.date.fromisoformat(day), state) is business


@verifies("engine.calendar.business_days")
def test_holiday_names_come_from_the_state_calendar() -> None:
    assert holiday_name(dt.date(2025, 3, 4), "LA") == "Mardi Gras"
    assert holiday_name(dt.date(2025, 3, 5), "LA") is None


@verifies("engine.calendar.business_days")
def test_end_of_day_can_be_read_as_next_midnight() -> None:
    policy = DeadlinePolicy(end_of_day="next_midnight")
    assert deadline(ts("2025-03-03T10:00:00-06:00"), THREE_BUSINESS_DAYS, "TN", policy) == ts("2025-03-07T00:00:00-06:00")


@verifies("engine.calendar.business_days")
def test_counting_the_start_day_is_the_stricter_option() -> None:
    policy = DeadlinePolicy(count_start_day=True)
    # Monday counts as day 1: Mon, Tue, Wed.
    assert deadline(ts("2025-03-03T10:00:00-06:00"), THREE_BUSINESS_DAYS, "TN", policy) == ts("2025-03-05T23:59:59.999999-06:00")
    # A start on a Saturday still waits for Monday.
    assert deadline(ts("2025-03-08T10:00:00-06:00"), THREE_BUSINESS_DAYS, "TN", policy) == ts("2025-03-12T23:59:59.999999-05:00")


@verifies("engine.calendar.business_days")
def test_government_holidays_can_be_added_to_the_calendar() -> None:
    policy = DeadlinePolicy(holiday_categories=("public", "government"))
    # Public calendar: Wed 24, Fri 26, Mon 29. With 24 and 26 December (TN government holidays): Mon, Tue, Wed.
    assert deadline(ts("2025-12-23T08:00:00-06:00"), THREE_BUSINESS_DAYS, "TN") == ts("2025-12-29T23:59:59.999999-06:00")
    assert deadline(ts("2025-12-23T08:00:00-06:00"), THREE_BUSINESS_DAYS, "TN", policy) == ts("2025-12-31T23:59:59.999999-06:00")


@verifies("engine.calendar.business_days", "tn.consumer_notice.deadline")
@pytest.mark.parametrize(
    ("start", "roll", "due"),
    [
        # "no later than forty-five (45) days after the determination" — Tenn. Code Ann. § 56-2-1006(c)
        ("2025-03-07T16:30:00-06:00", False, "2025-04-21T23:59:59.999999-05:00"),
        ("2025-03-12T09:00:00-05:00", False, "2025-04-26T23:59:59.999999-05:00"),  # a Saturday: kept (strict)
        ("2025-03-12T09:00:00-05:00", True, "2025-04-28T23:59:59.999999-05:00"),  # rolled to Monday on request
        ("2025-03-04T09:00:00-06:00", True, "2025-04-21T23:59:59.999999-05:00"),  # 18 April Good Friday is not the last day
    ],
)
def test_calendar_day_deadline_ends_on_the_45th_day_56_2_1006_c(start: str, roll: bool, due: str) -> None:
    policy = DeadlinePolicy(roll_weekend_holiday=roll)
    assert deadline(ts(start), FORTY_FIVE_DAYS, "TN", policy) == ts(due)


@verifies("engine.calendar.business_days", "sc.commissioner_notice.deadline")
def test_hour_clocks_are_exact_across_a_daylight_saving_change() -> None:
    start = ts("2025-03-07T16:30:00-05:00")  # SC, Eastern; DST starts 9 March
    due = deadline(start, SEVENTY_TWO_HOURS, "SC")
    assert due - start == dt.timedelta(hours=72)
    assert due.isoformat() == "2025-03-10T17:30:00-04:00"


@verifies("engine.calendar.business_days", "mo.tpsp.day_after")
def test_a_day_after_hour_clock_starts_at_the_next_local_midnight() -> None:
    clock = Clock(amount=72, unit=ClockUnit.HOURS, starts_day_after=True)
    assert deadline(ts("2025-06-10T15:00:00-05:00"), clock, "MO").isoformat() == "2025-06-14T00:00:00-05:00"
    # For day clocks, "the day after" is already how days are counted.
    day_clock = Clock(amount=3, unit=ClockUnit.BUSINESS_DAYS, starts_day_after=True)
    start = ts("2025-06-10T15:00:00-05:00")
    assert deadline(start, day_clock, "MO") == deadline(start, THREE_BUSINESS_DAYS, "MO")


@verifies("engine.calendar.business_days")
def test_the_deadline_is_expressed_in_the_state_time_zone() -> None:
    due = deadline(ts("2025-03-03T16:00:00+00:00"), THREE_BUSINESS_DAYS, "TN")
    assert due.tzinfo == state_zone("TN")
    assert due.isoformat() == "2025-03-06T23:59:59.999999-06:00"
    # The same instant read in Eastern time for Pennsylvania.
    assert deadline(ts("2025-03-03T16:00:00+00:00"), THREE_BUSINESS_DAYS, "PA").isoformat() == "2025-03-06T23:59:59.999999-05:00"


@verifies("engine.calendar.business_days")
def test_local_day_of_the_start_decides_the_count() -> None:
    # 05:30 UTC on Tuesday is still Monday evening in Nashville: Tue, Wed, Thu.
    assert deadline(ts("2025-03-04T05:30:00+00:00"), THREE_BUSINESS_DAYS, "TN") == ts("2025-03-06T23:59:59.999999-06:00")


def test_naive_start_is_rejected() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        deadline(dt.datetime(2025, 3, 3, 10), THREE_BUSINESS_DAYS, "TN")


@verifies("tx.health.authorization_24_months")
@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [("2025-01-31", 1, "2025-02-28"), ("2024-01-31", 1, "2024-02-29"), ("2024-02-29", 24, "2026-02-28"), ("2025-05-15", -12, "2024-05-15")],
)
def test_add_months_clamps_to_the_month_end(day: str, months: int, expected: str) -> None:
    assert add_months(dt.date.fromisoformat(day), months) == dt.date.fromisoformat(expected)


_instants = st.datetimes(min_value=dt.datetime(2024, 1, 1), max_value=dt.datetime(2027, 12, 31), timezones=st.just(dt.UTC))
_clocks = st.sampled_from([THREE_BUSINESS_DAYS, FORTY_FIVE_DAYS, SEVENTY_TWO_HOURS, Clock(amount=10, unit=ClockUnit.BUSINESS_DAYS)])


@verifies("engine.calendar.business_days")
@settings(max_examples=300, deadline=None)
@given(a=_instants, b=_instants, clock=_clocks, state=st.sampled_from(["TN", "DE", "LA", "MI", "SC", "HI"]))
def test_a_later_start_never_gives_an_earlier_deadline(a: dt.datetime, b: dt.datetime, clock: Clock, state: str) -> None:
    early, late = sorted((a, b))
    assert deadline(early, clock, state) <= deadline(late, clock, state)
    assert deadline(early, clock, state) > early
