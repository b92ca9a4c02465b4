"""The general breach-notification laws: consumer and attorney-general notice where a state's
insurance act is silent on consumer notice, or the state has none.

JURISDICTIONS.md, "General breach-notification laws": "Where a state's insurance act is silent on
consumer notice, or a state has no insurance act, the consumer notice follows the state's general
breach law. Encode the verified rows; the reported ones get the fallback (shortest known clock) and
``needs_counsel_review``."

Numbers live here as named constants; rows are effective-dated (``effective_from``, read by
``rules.effective.in_force`` on ``Context.law_date(state)``). A state may keep several versions
(CA: the text before the amendment effective 2026-01-01, which the table does not give, and the
amended text). The rules that read this table are in ``rules.general_law``. Pure data, no I/O.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType

from models.common import Clock, ClockUnit, RuleStatus
from models.obligation import ThresholdComparator
from rules.effective import in_force
from rules.jurisdictions import Provision

V = RuleStatus.VERIFIED
R = RuleStatus.REPORTED
I = RuleStatus.INTERPRETATION  # noqa: E741 — the status's initial, as V and R

# ============================================================================================
# Named constants (JURISDICTIONS.md, "General breach-notification laws")
# ============================================================================================

#: TX, Tex. Bus. & Com. Code § 521.053: "≤ 60 days after determining the breach occurred" (verified).
TX_CONSUMER_NOTICE_DAYS = 60
#: TX: "Attorney General if ≥ 250 Texas residents: as soon as practicable and ≤ 30 days after the
#: determination, on the AG's electronic form" (verified).
TX_AG_NOTICE_DAYS = 30
TX_AG_THRESHOLD = 250
#: OR, ORS 646A.604: "≤ 45 days after discovery"; "Attorney General if > 250 residents" (verified).
OR_CONSUMER_NOTICE_DAYS = 45
OR_AG_THRESHOLD = 250
#: VT, 9 V.S.A. § 2435(b)(1): "≤ 45 days after discovery" (verified).
VT_CONSUMER_NOTICE_DAYS = 45
#: IN, IC 24-4.9-3-3: "≤ 45 days after discovery" (reported).
IN_CONSUMER_NOTICE_DAYS = 45
#: CA, Cal. Civ. Code § 1798.82 (as amended eff. 2026-01-01): "≤ 30 calendar days after discovery or
#: notification"; "sample copy to the AG ≤ 15 days after consumer notice if > 500 residents" (reported).
CA_CONSUMER_NOTICE_DAYS = 30
CA_AMENDMENT_EFFECTIVE = dt.date(2026, 1, 1)
CA_AG_SAMPLE_COPY_DAYS = 15
CA_AG_THRESHOLD = 500
#: FL, Fla. Stat. § 501.171: "≤ 30 days after determination"; "Department of Legal Affairs if ≥ 500,
#: ≤ 30 days (+15 for good cause)" (reported).
FL_CONSUMER_NOTICE_DAYS = 30
FL_AG_NOTICE_DAYS = 30
FL_AG_GOOD_CAUSE_EXTENSION_DAYS = 15
FL_AG_THRESHOLD = 500
#: NY, N.Y. Gen. Bus. Law § 899-aa: "≤ 30 days after discovery" (reported).
NY_CONSUMER_NOTICE_DAYS = 30
#: ME, 10 M.R.S. § 1348: "30 days" (reported; the table gives no start).
ME_CONSUMER_NOTICE_DAYS = 30


def _days(amount: int) -> Clock:
    return Clock(amount=amount, unit=ClockUnit.CALENDAR_DAYS)


# ============================================================================================
# Row structure
# ============================================================================================


class ClockBasis(StrEnum):
    """What a general-law clock runs from, in the table's words."""

    #: "after determining the breach occurred" (TX), "after determination" (FL).
    DETERMINATION = "determination"
    #: "after discovery" (OR, VT, IN, NY).
    DISCOVERY = "discovery"
    #: "after discovery or notification" (CA): the earlier of the two.
    DISCOVERY_OR_NOTIFICATION = "discovery_or_notification"
    #: The table gives no start (ME "30 days"): read from discovery, the earliest start, and flagged.
    UNSTATED = "unstated"
    #: "after consumer notice" (CA's sample copy to the AG).
    CONSUMER_NOTICE = "consumer_notice"


class ConsumerClock(StrEnum):
    """How the row gives its consumer-notice deadline."""

    #: A day count (``BreachLaw.consumer.clock``).
    DAYS = "days"
    #: No day count — "most expedient time possible and without unreasonable delay" (IL): the deadline
    #: policy's target (``DeadlinePolicy.expedient_notice_days``), flagged.
    EXPEDIENT = "expedient"
    #: The table does not give the text in force on the date (CA before 2026-01-01): the shortest known
    #: general-law consumer clock applies, flagged.
    NOT_IN_TABLE = "not_in_table"


@dataclass(frozen=True)
class Threshold:
    """A resident threshold as the table gives it: "≥ 250" (at least), "> 250" (more than), or unread."""

    comparator: ThresholdComparator
    residents: int | None
    text: str

    def met(self, residents: int) -> bool | None:
        """Whether ``residents`` meets the threshold; None when the threshold is not known."""
        if self.comparator is ThresholdComparator.UNKNOWN or self.residents is None:
            return None
        if self.comparator is ThresholdComparator.AT_LEAST:
            return residents >= self.residents
        return residents > self.residents


@dataclass(frozen=True)
class OfficeNotice:
    """A notice to the attorney general (or another office the law names) under a general breach law."""

    provision: Provision
    #: The recipient_key prefix of the office: ``<office_key>:<STATE>`` (as ``commissioner:<STATE>``).
    office_key: str
    office: str
    threshold: Threshold
    #: The table's words for this notice, quoted in the obligation's basis.
    text: str
    #: What the deadline runs from; for a notice whose deadline the table does not give (``clock`` None),
    #: the start of the state's consumer clock, from which the shortest known office clock is counted.
    basis: ClockBasis = ClockBasis.DETERMINATION
    filing_method: str | None = None
    notes: tuple[str, ...] = ()

    @property
    def clock(self) -> Clock | None:
        """The deadline the table gives; None where it gives none."""
        return self.provision.clock


@dataclass(frozen=True)
class BreachLaw:
    """One version of a state's general breach-notification law, in force from ``effective_from``."""

    state: str
    #: The consumer-notice provision (its citation is the law's, as the table gives it).
    consumer: Provision
    consumer_text: str
    consumer_clock: ConsumerClock
    consumer_basis: ClockBasis
    effective_from: dt.date | None = None
    offices: tuple[OfficeNotice, ...] = ()
    #: What the table's "regulator / AG notice" column says where it gives no office notice to encode.
    office_column: str | None = None
    #: Why this version is applied although the table does not give its text (counsel review).
    caveat: str | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def citation(self) -> str:
        return self.consumer.citation

    @property
    def status(self) -> RuleStatus:
        return self.consumer.status

    @property
    def is_verified(self) -> bool:
        return self.consumer.status is RuleStatus.VERIFIED

    def provisions(self) -> list[tuple[str, Provision]]:
        """Every provision of the version with the attribute that holds it (for the registry)."""
        return [("consumer", self.consumer), *((f"offices[{i}]", o.provision) for i, o in enumerate(self.offices))]


def _p(rule_id: str, citation: str, status: RuleStatus, clock: Clock | None = None, summary: str = "") -> Provision:
    return Provision(rule_id=rule_id, citation=citation, status=status, clock=clock, summary=summary)


def _at_least(n: int, who: str) -> Threshold:
    return Threshold(ThresholdComparator.AT_LEAST, n, f"≥ {n} {who}")


def _more_than(n: int, who: str) -> Threshold:
    return Threshold(ThresholdComparator.MORE_THAN, n, f"> {n} {who}")


def _unread(text: str) -> Threshold:
    return Threshold(ThresholdComparator.UNKNOWN, None, text)


# ============================================================================================
# The rows
# ============================================================================================

TX_LAW = "Tex. Bus. & Com. Code § 521.053"
OR_LAW = "ORS 646A.604"
VT_LAW = "9 V.S.A. § 2435(b)(1)"
IL_LAW = "815 ILCS 530/10"
IN_LAW = "IC 24-4.9-3-3"
CA_LAW = "Cal. Civ. Code § 1798.82"
CA_LAW_AMENDED = "Cal. Civ. Code § 1798.82 (as amended eff. 2026-01-01)"
FL_LAW = "Fla. Stat. § 501.171"
NY_LAW = "N.Y. Gen. Bus. Law § 899-aa"
ME_LAW = "10 M.R.S. § 1348"

_TX = BreachLaw(
    state="TX",
    consumer=_p(
        "breach_law.tx.consumer_notice", TX_LAW, V, _days(TX_CONSUMER_NOTICE_DAYS),
        "Notify the affected Texas residents no later than 60 days after determining the breach occurred.",
    ),
    consumer_text="≤ 60 days after determining the breach occurred",
    consumer_clock=ConsumerClock.DAYS,
    consumer_basis=ClockBasis.DETERMINATION,
    offices=(
        OfficeNotice(
            provision=_p(
                "breach_law.tx.attorney_general_notice", TX_LAW, V, _days(TX_AG_NOTICE_DAYS),
                "Notify the Attorney General if 250 or more Texas residents are affected, as soon as practicable and "
                "no later than 30 days after the determination, on the AG's electronic form.",
            ),
            office_key="attorney_general",
            office="Texas Attorney General",
            threshold=_at_least(TX_AG_THRESHOLD, "Texas residents"),
            text="Attorney General if ≥ 250 Texas residents: as soon as practicable and ≤ 30 days after the "
            "determination, on the AG's electronic form",
            basis=ClockBasis.DETERMINATION,
            filing_method="the Attorney General's electronic form",
            notes=("TX: TDI bulletin B-0009-23 asks insurers to e-mail TDI (no deadline); not tracked as an obligation.",),
        ),
    ),
)

_OR = BreachLaw(
    state="OR",
    consumer=_p(
        "breach_law.or.consumer_notice", OR_LAW, V, _days(OR_CONSUMER_NOTICE_DAYS),
        "Notify the affected Oregon residents no later than 45 days after discovery.",
    ),
    consumer_text="≤ 45 days after discovery",
    consumer_clock=ConsumerClock.DAYS,
    consumer_basis=ClockBasis.DISCOVERY,
    offices=(
        OfficeNotice(
            provision=_p(
                "breach_law.or.attorney_general_notice", OR_LAW, V,
                summary="Notify the Attorney General if more than 250 Oregon residents are affected (the table gives no "
                "deadline: the shortest known attorney-general clock applies from discovery, with counsel review).",
            ),
            office_key="attorney_general",
            office="Oregon Attorney General",
            threshold=_more_than(OR_AG_THRESHOLD, "residents"),
            text="Attorney General if > 250 residents",
            basis=ClockBasis.DISCOVERY,
        ),
    ),
)

_VT = BreachLaw(
    state="VT",
    consumer=_p(
        "breach_law.vt.consumer_notice", VT_LAW, V, _days(VT_CONSUMER_NOTICE_DAYS),
        "Notify the affected Vermont residents no later than 45 days after discovery.",
    ),
    consumer_text="≤ 45 days after discovery",
    consumer_clock=ConsumerClock.DAYS,
    consumer_basis=ClockBasis.DISCOVERY,
    notes=(
        "VT: the notice to the Department of Financial Regulation (≤ 14 business days) is the commissioner notice of "
        "the insurance table's VT row, not a general-law attorney-general notice.",
    ),
)

_IL = BreachLaw(
    state="IL",
    consumer=_p(
        "breach_law.il.consumer_notice", IL_LAW, V,
        summary="Notify the affected Illinois residents in the most expedient time possible and without unreasonable "
        "delay (no day count): the deadline policy's target applies, with counsel review.",
    ),
    consumer_text='"most expedient time possible and without unreasonable delay" (no day count)',
    consumer_clock=ConsumerClock.EXPEDIENT,
    consumer_basis=ClockBasis.DISCOVERY,
    offices=(
        OfficeNotice(
            provision=_p(
                "breach_law.il.attorney_general_notice", IL_LAW, I,
                summary="The table has not read the attorney-general threshold of 815 ILCS 530/10: the notice is "
                "applied from one affected resident, on the shortest known attorney-general clock, with counsel review.",
            ),
            office_key="attorney_general",
            office="Illinois Attorney General",
            threshold=_unread("AG threshold unread"),
            text="AG threshold unread",
            basis=ClockBasis.DISCOVERY,
        ),
    ),
)

_IN = BreachLaw(
    state="IN",
    consumer=_p(
        "breach_law.in.consumer_notice", IN_LAW, R, _days(IN_CONSUMER_NOTICE_DAYS),
        "Reported: notify the affected Indiana residents no later than 45 days after discovery; the shortest known "
        "general-law consumer clock applies until counsel confirms.",
    ),
    consumer_text="≤ 45 days after discovery",
    consumer_clock=ConsumerClock.DAYS,
    consumer_basis=ClockBasis.DISCOVERY,
    office_column="—",
)

_CA_AG = OfficeNotice(
    provision=_p(
        "breach_law.ca.attorney_general_notice", CA_LAW_AMENDED, R, _days(CA_AG_SAMPLE_COPY_DAYS),
        "Reported: a sample copy of the consumer notice to the Attorney General no later than 15 days after the consumer "
        "notice if more than 500 California residents are affected.",
    ),
    office_key="attorney_general",
    office="California Attorney General",
    threshold=_more_than(CA_AG_THRESHOLD, "residents"),
    text="sample copy to the AG ≤ 15 days after consumer notice if > 500 residents",
    basis=ClockBasis.CONSUMER_NOTICE,
    filing_method="a sample copy of the consumer notice",
)

#: CA before the amendment took effect: the table gives only the amended text.
_CA_BEFORE = BreachLaw(
    state="CA",
    consumer=_p(
        "breach_law.ca.consumer_notice.before_amendment", CA_LAW, R,
        summary="Before 2026-01-01 the table does not give California's consumer-notice text (only the amendment "
        "effective 2026-01-01): the shortest known general-law consumer clock applies from discovery or "
        "notification, with counsel review; the amended attorney-general rule is applied likewise.",
    ),
    consumer_text="no deadline in the table for this date (the table gives the text only as amended eff. 2026-01-01)",
    consumer_clock=ConsumerClock.NOT_IN_TABLE,
    consumer_basis=ClockBasis.DISCOVERY_OR_NOTIFICATION,
    offices=(_CA_AG,),
    caveat="JURISDICTIONS.md gives Cal. Civ. Code § 1798.82 only as amended eff. 2026-01-01; the text in force on "
    "this event's date is not in the table: the engine applies the shortest known general-law consumer clock and the "
    "amended attorney-general rule until counsel confirms.",
)

_CA = BreachLaw(
    state="CA",
    consumer=_p(
        "breach_law.ca.consumer_notice", CA_LAW_AMENDED, R, _days(CA_CONSUMER_NOTICE_DAYS),
        "Reported: notify the affected California residents no later than 30 calendar days after discovery or "
        "notification of the breach (from 2026-01-01).",
    ),
    consumer_text="≤ 30 calendar days after discovery or notification",
    consumer_clock=ConsumerClock.DAYS,
    consumer_basis=ClockBasis.DISCOVERY_OR_NOTIFICATION,
    effective_from=CA_AMENDMENT_EFFECTIVE,
    offices=(_CA_AG,),
)

_FL = BreachLaw(
    state="FL",
    consumer=_p(
        "breach_law.fl.consumer_notice", FL_LAW, R, _days(FL_CONSUMER_NOTICE_DAYS),
        "Reported: notify the affected Florida residents no later than 30 days after the determination.",
    ),
    consumer_text="≤ 30 days after determination",
    consumer_clock=ConsumerClock.DAYS,
    consumer_basis=ClockBasis.DETERMINATION,
    offices=(
        OfficeNotice(
            provision=_p(
                "breach_law.fl.attorney_general_notice", FL_LAW, R, _days(FL_AG_NOTICE_DAYS),
                "Reported: notify the Department of Legal Affairs if 500 or more Florida residents are affected, no "
                "later than 30 days (15 more for good cause).",
            ),
            office_key="department_of_legal_affairs",
            office="Florida Department of Legal Affairs",
            threshold=_at_least(FL_AG_THRESHOLD, "residents"),
            text="Department of Legal Affairs if ≥ 500, ≤ 30 days (+15 for good cause)",
            basis=ClockBasis.DETERMINATION,
            notes=(
                f"FL: {FL_AG_GOOD_CAUSE_EXTENSION_DAYS} more days are reported for good cause; the engine does not "
                "apply them (good cause is for counsel to document).",
            ),
        ),
    ),
)


def _ny_office(key: str, office: str) -> OfficeNotice:
    return OfficeNotice(
        provision=_p(
            "breach_law.ny.office_notices", NY_LAW, R,
            summary="Reported: notify the Attorney General, the Department of State and the State Police (one "
            "obligation each); the table gives neither threshold nor deadline: applied from one affected resident on "
            "the shortest known attorney-general clock, with counsel review.",
        ),
        office_key=key,
        office=office,
        threshold=_unread("threshold not in the table"),
        text="AG, Department of State, State Police",
        basis=ClockBasis.DISCOVERY,
        notes=(
            "NY: DFS notice for 23 NYCRR Part 500 entities is the commissioner notice of the insurance table's NY row.",
        ),
    )


_NY = BreachLaw(
    state="NY",
    consumer=_p(
        "breach_law.ny.consumer_notice", NY_LAW, R, _days(NY_CONSUMER_NOTICE_DAYS),
        "Reported: notify the affected New York residents no later than 30 days after discovery.",
    ),
    consumer_text="≤ 30 days after discovery",
    consumer_clock=ConsumerClock.DAYS,
    consumer_basis=ClockBasis.DISCOVERY,
    offices=(
        _ny_office("attorney_general", "New York Attorney General"),
        _ny_office("department_of_state", "New York Department of State"),
        _ny_office("state_police", "New York State Police"),
    ),
)

_ME = BreachLaw(
    state="ME",
    consumer=_p(
        "breach_law.me.consumer_notice", ME_LAW, R, _days(ME_CONSUMER_NOTICE_DAYS),
        "Reported: notify the affected Maine residents within 30 days (the table gives no start: read from "
        "discovery, the earliest).",
    ),
    consumer_text="30 days",
    consumer_clock=ConsumerClock.DAYS,
    consumer_basis=ClockBasis.UNSTATED,
    office_column="—",
)

#: Every version of every general breach law in the table, by state.
BREACH_LAWS: MappingProxyType[str, tuple[BreachLaw, ...]] = MappingProxyType(
    {
        "TX": (_TX,), "OR": (_OR,), "VT": (_VT,), "IL": (_IL,), "IN": (_IN,), "CA": (_CA_BEFORE, _CA),
        "FL": (_FL,), "NY": (_NY,), "ME": (_ME,),
    }
)  # fmt: skip


def breach_law_for(state: str, on: dt.date) -> BreachLaw | None:
    """The version of ``state``'s general breach law in force on ``on``; None where the table has none."""
    return in_force(BREACH_LAWS.get(state, ()), on)


def shortest_consumer_clock() -> Clock:
    """The shortest general-law consumer clock the table knows, verified or reported (30 days): what a
    reported row, or a row without its text, gets when its own clock is longer or unknown."""
    clocks = [
        law.consumer.clock
        for versions in BREACH_LAWS.values()
        for law in versions
        if law.consumer.clock is not None and law.consumer_clock is ConsumerClock.DAYS
    ]
    return min(clocks, key=lambda c: c.amount)


def shortest_office_clock() -> Clock:
    """The shortest attorney-general clock the table gives from the event itself (TX and FL: 30 days):
    applied where an office notice has no deadline in the table, or one counted from the consumer notice."""
    clocks = [
        office.clock
        for versions in BREACH_LAWS.values()
        for law in versions
        for office in law.offices
        if office.clock is not None and office.basis is not ClockBasis.CONSUMER_NOTICE
    ]
    return min(clocks, key=lambda c: c.amount)
