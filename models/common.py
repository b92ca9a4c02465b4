"""Shared building blocks of the domain models: the base class, state codes, citations, clocks.

Nothing here does I/O. Every model is immutable (``frozen``) and rejects unknown fields, so an
input file with a misspelt field fails with a message that names it instead of being ignored.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

#: The 50 states, the District of Columbia and the five inhabited territories: every place whose
#: residents an insurance licensee may have to notify, and which has its own legal holidays.
US_JURISDICTIONS: frozenset[str] = frozenset(
    """
    AL AK AZ AR CA CO CT DE FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ
    NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY DC PR GU VI AS MP
    """.split()
)


def _state_code(value: str) -> str:
    code = value.strip().upper()
    if code not in US_JURISDICTIONS:
        raise ValueError(
            f"{value!r} is not a US state, DC or territory code (two letters, e.g. 'TN', 'MO', 'PR')"
        )
    return code


#: A two-letter US state / DC / territory code, upper-cased on input.
StateCode = Annotated[str, AfterValidator(_state_code)]


class NoticeflowModel(BaseModel):
    """Base of every domain model: immutable, strict about unknown fields."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)


class RuleStatus(StrEnum):
    """How far a rule has been checked (see ``JURISDICTIONS.md``)."""

    #: Checked against the statute or the department's own page (the seed texts included).
    VERIFIED = "verified"
    #: Only reported; the engine applies the strictest known clock and asks for counsel review.
    REPORTED = "reported"
    #: A reading the engine had to choose (e.g. how business days are counted); documented in
    #: ``docs/rules.md`` and configurable where a licensee may choose differently.
    INTERPRETATION = "interpretation"


class ClockUnit(StrEnum):
    BUSINESS_DAYS = "business_days"
    CALENDAR_DAYS = "calendar_days"
    HOURS = "hours"


class Clock(NoticeflowModel):
    """A statutory clock: "three (3) business days", "forty-five (45) days", "72 hours"."""

    amount: int = Field(gt=0)
    unit: ClockUnit
    starts_day_after: bool = Field(
        False,
        description="The computation begins on the day after the triggering event "
        "(e.g. the model law's third-party-service-provider rule).",
    )

    def describe(self) -> str:
        unit = self.unit.value.replace("_", " ")
        text = f"{self.amount} {unit}"
        return f"{text}, counted from the day after" if self.starts_day_after else text
