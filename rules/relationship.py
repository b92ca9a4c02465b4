"""Customer relationships: when they end, and the annual privacy notices due while they last.

28 TAC § 22.9 (annual notice; former customers), § 22.5(b) (no continuing relationship);
18 Del. Admin. Code § 904-1.11.2 has the same examples. Pure date arithmetic; ``as_of`` /
``through`` are always passed in.
"""

from __future__ import annotations

import datetime as dt

from models.privacy import AnnualNoticeSchedule, AnnualPeriod, ConsumerRelationship, RelationshipStatus
from rules.calendar import add_months
from rules.jurisdictions import ANNUAL_NOTICE_PERIOD_MONTHS, RELATIONSHIP_DORMANCY_MONTHS

CITE_ANNUAL = "28 TAC § 22.9(a)"
CITE_FORMER = "28 TAC § 22.9(b)"

_ONE_DAY = dt.timedelta(days=1)


def relationship_end_candidates(rel: ConsumerRelationship) -> list[tuple[dt.date, str, str]]:
    """Each way the continuing relationship ends, with the day it ends and the section.

    28 TAC § 22.9(b): "(1) … the individual no longer is a current policyholder …; (2) … the
    individual's policy is lapsed, expired or otherwise not in force, and the covered entity has not
    communicated with the customer about the relationship for a period of 12 consecutive months …;
    (3) … the postal authorities return that mail as undeliverable, and (B) subsequent attempts …
    to obtain a current valid address … are unsuccessful; (4) … real estate settlement services, at
    the later of" the closing documents, the payment and the settlement responsibilities.
    """
    ends: list[tuple[dt.date, str, str]] = []
    if rel.no_longer_policyholder_on is not None:
        ends.append((rel.no_longer_policyholder_on, "no longer a current policyholder", f"{CITE_FORMER}(1)"))
    if rel.policy_not_in_force_since is not None:
        silent_since = max(rel.policy_not_in_force_since, rel.last_communication_on or rel.policy_not_in_force_since)
        ends.append(
            (
                max(rel.policy_not_in_force_since, add_months(silent_since, RELATIONSHIP_DORMANCY_MONTHS)),
                f"policy not in force and no communication about the relationship for "
                f"{RELATIONSHIP_DORMANCY_MONTHS} consecutive months",
                f"{CITE_FORMER}(2)",
            )
        )
    if rel.mail_returned_on is not None and rel.address_search_failed_on is not None:
        ends.append(
            (
                max(rel.mail_returned_on, rel.address_search_failed_on),
                "mail returned as undeliverable and the search for a valid address failed",
                f"{CITE_FORMER}(3)",
            )
        )
    settlement = (
        rel.settlement_documents_executed_on,
        rel.settlement_payment_received_on,
        rel.settlement_responsibilities_completed_on,
    )
    if all(d is not None for d in settlement):
        ends.append((max(d for d in settlement if d is not None), "real estate settlement completed", f"{CITE_FORMER}(4)"))
    return ends


def relationship_status(rel: ConsumerRelationship, on: dt.date) -> RelationshipStatus:
    """Customer status on ``on``: a customer until the earliest end of § 22.9(b) that has occurred.

    An isolated transaction (§ 22.5(b)(2)) never makes a customer relationship."""
    if not rel.is_customer or rel.isolated_transaction:
        return RelationshipStatus(
            is_customer=False,
            reason="a consumer without a continuing relationship",
            citation="28 TAC § 22.5(b)" if rel.isolated_transaction else "28 TAC § 22.2(12)",
        )
    past = [end for end in relationship_end_candidates(rel) if end[0] <= on]
    if not past:
        return RelationshipStatus(is_customer=True)
    day, reason, cite = min(past, key=lambda e: e[0])
    return RelationshipStatus(is_customer=False, ended_on=day, reason=reason, citation=cite)


def _period_end_after(day: dt.date, period: AnnualPeriod) -> dt.date:
    """The last day of the licensee-defined 12-month period that contains ``day``."""
    if period.kind == "calendar_year":
        return dt.date(day.year + 1, 1, 1) - _ONE_DAY  # 31 December
    start = dt.date(day.year, period.period_start_month, period.period_start_day)
    if start > day:
        start = add_months(start, -ANNUAL_NOTICE_PERIOD_MONTHS)
    return add_months(start, ANNUAL_NOTICE_PERIOD_MONTHS) - _ONE_DAY


def annual_notice_schedule(
    initial_notice_on: dt.date,
    period: AnnualPeriod,
    relationship: ConsumerRelationship,
    through: dt.date,
    last_annual_notice_on: dt.date | None = None,
) -> AnnualNoticeSchedule:
    """28 TAC § 22.9(a): annual notice "at least once in any period of 12 consecutive months during
    which that relationship exists. A covered entity may define the 12-consecutive-month period, but
    … shall apply it to the customer on a consistent basis. … if a customer opens an account on any
    day of year 1, the covered entity shall provide an annual notice to that customer by December 31
    of year 2." § 22.9(b): "not required to provide an annual notice to a former customer".

    Returns the last day of every period up to ``through`` in which a notice is due (for a rolling
    period: 12 months after the previous notice, ``last_annual_notice_on`` when given), and stops
    at the end of the relationship.
    """
    due: list[dt.date] = []
    if period.kind == "rolling_12_months":
        anchor = last_annual_notice_on or initial_notice_on
        for k in range(1, 1000):
            due.append(add_months(anchor, ANNUAL_NOTICE_PERIOD_MONTHS * k))
            if due[-1] >= through:
                break
    else:
        period_end = _period_end_after(initial_notice_on, period)
        for _ in range(1000):
            period_end = _period_end_after(period_end + _ONE_DAY, period)
            due.append(period_end)
            if period_end >= through:
                break
    status = relationship_status(relationship, through)
    stops_on = status.ended_on if not status.is_customer and status.ended_on is not None else None
    if not relationship.is_customer or relationship.isolated_transaction:
        return AnnualNoticeSchedule(
            due_dates=[],
            stops_on=None,
            stop_reason="annual notices go to customers only",
            citation=CITE_ANNUAL,
            stop_citation=status.citation,
        )
    if stops_on is not None:
        due = [d for d in due if d <= stops_on]
    return AnnualNoticeSchedule(
        due_dates=due,
        stops_on=stops_on,
        stop_reason=status.reason if stops_on else None,
        citation=CITE_ANNUAL,
        stop_citation=status.citation if stops_on else None,
    )
