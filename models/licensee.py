"""The licensee whose event or privacy notice is being handled, and how it counts deadlines."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator

from models.common import NoticeflowModel, StateCode


class LicenseeKind(StrEnum):
    """What the licensee is, for the notice duties that depend on it (Tenn. Code Ann. § 56-2-1006)."""

    INSURER = "insurer"
    PRODUCER = "producer"
    #: A reinsurer without a direct contractual relationship with the affected consumers
    #: (§ 56-2-1006(e)): it notifies ceding insurers and its domicile commissioner only.
    ASSUMING_INSURER = "assuming_insurer"
    OTHER = "other"


class DeadlinePolicy(NoticeflowModel):
    """How a deadline is read off a statutory clock — the one configurable place for it.

    The defaults are the strict reading described in ``docs/rules.md``; a licensee whose counsel
    reads a clock differently sets these on its profile, and every obligation follows.
    """

    end_of_day: Literal["last_microsecond", "next_midnight"] = Field(
        "last_microsecond",
        description="A day-based deadline ends at 23:59:59.999999 local time of its last day "
        "('last_microsecond', the default: the instant still lies on the last day) or at 00:00 of "
        "the following day ('next_midnight').",
    )
    count_start_day: bool = Field(
        False,
        description="Count the day on which a clock starts as its first day. Default: no — days "
        "are counted from the day after (excluding the first day, including the last).",
    )
    roll_weekend_holiday: bool = Field(
        False,
        description="Move a calendar-day deadline that falls on a weekend or legal holiday to the "
        "next business day. Default: no, the stricter reading.",
    )
    holiday_categories: tuple[str, ...] = Field(
        ("public",),
        description="Holiday categories of the `holidays` package that close the state's offices "
        "(e.g. add 'government' for state-government holidays).",
    )
    timezone_source: Literal["state", "licensee"] = Field(
        "state",
        description="Read local days in the time zone of the state whose clock runs (default) or "
        "in the licensee's own `timezone`.",
    )
    expedient_notice_days: int = Field(
        30,
        ge=1,
        le=365,
        description="The target, in calendar days after discovery, for a consumer notice that a general breach "
        "law requires 'in the most expedient time possible and without unreasonable delay' with no day count "
        "(815 ILCS 530/10). Default 30: the shortest day count among the general breach laws of the table. "
        "Always flagged for counsel review.",
    )


class Licensee(NoticeflowModel):
    name: str = Field(min_length=1)
    naic_code: str = Field(min_length=1, max_length=20, description="NAIC company code (or NPN for a producer).")
    kind: LicenseeKind
    domicile_state: StateCode = Field(description="State of domicile (insurers).")
    home_state: StateCode = Field(description="Home state (producers).")
    timezone: str | None = Field(None, description="IANA time zone of the licensee, e.g. 'America/Chicago'.")
    employees: int | None = Field(
        None,
        ge=0,
        le=10_000_000,
        description="Number of employees (counting as the state's act counts them). Unknown where a size "
        "exemption could matter: the obligation stays and asks for counsel review.",
    )
    annual_revenue_usd: int | None = Field(
        None,
        ge=0,
        le=10**13,
        description="Gross annual revenue in US dollars. Unknown where a size exemption could matter: the "
        "obligation stays and asks for counsel review.",
    )
    licensed_states: list[StateCode] | None = Field(
        None,
        max_length=60,
        description="States in which the licensee holds a licence (e.g. NY: a covered entity of 23 NYCRR 500). "
        "Unknown where it matters: the obligation stays and asks for counsel review.",
    )
    deadline_policy: DeadlinePolicy = Field(default_factory=DeadlinePolicy)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown IANA time zone {value!r} (e.g. 'America/Chicago')") from None
        return value

    @property
    def home_jurisdiction(self) -> str:
        """The state of § 56-2-1006(a)(1): domicile for an insurer, home state for a producer."""
        return self.home_state if self.kind is LicenseeKind.PRODUCER else self.domicile_state
