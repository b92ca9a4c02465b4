"""Small-licensee exemptions by the licensee's size (``employees``, ``annual_revenue_usd`` on its profile).

JURISDICTIONS.md "Terms": "Exemptions that remove notice (OK verified; KY reported, so counsel confirms) need
the licensee's size (employees, revenue) in its profile; those that do not (MN, OH, MS) must not be applied to
notice." So, per ``rules.jurisdiction_row.SizeExemption`` of a row:

* removes notice, verified (OK: under $5M gross annual revenue, "exempt from the act"): a size known below the
  threshold removes the state's act — :func:`size_exemption_reason` gives the reason, citing it; a size known at
  or above it leaves the obligation as it is; an unknown size keeps the obligation with counsel review;
* removes notice, reported (KY: < 50 employees): never applied; the obligation stays, flagged for counsel with
  what is known (below, at or above the threshold, or unknown);
* does not cover notice (MN § 60A.9856, OH 3965.07, MS: the program sections only): a note, never a change.

Pure functions, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass

from models.common import RuleStatus
from models.licensee import Licensee
from models.obligation import Reason
from rules.jurisdiction_row import CyberJurisdiction, Provision, SizeExemption, SizeMeasure
from rules.states import STATE_NAMES

_FIELD_TEXT = {
    SizeMeasure.EMPLOYEES: ("employees", "{:,} employees"),
    SizeMeasure.ANNUAL_REVENUE_USD: ("gross annual revenue", "${:,} gross annual revenue"),
}


@dataclass(frozen=True)
class ExemptionEffect:
    """What the row's size exemptions do to one obligation that stays."""

    provisions: tuple[Provision, ...] = ()
    review: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()


def _size(licensee: Licensee, measure: SizeMeasure) -> int | None:
    value: int | None = getattr(licensee, measure.value)
    return value


def _threshold(exemption: SizeExemption) -> str:
    assert exemption.measure is not None and exemption.below is not None
    return _FIELD_TEXT[exemption.measure][1].format(exemption.below)


def _limit(exemption: SizeExemption) -> str:
    """with fewer than 50 employees', 'under $5,000,000 gross annual revenue'."""
    word = "with fewer than" if exemption.measure is SizeMeasure.EMPLOYEES else "under"
    return f"{word} {_threshold(exemption)}"


def _known(licensee: Licensee, exemption: SizeExemption) -> str:
    assert exemption.measure is not None
    value = _size(licensee, exemption.measure)
    if value is None:
        return f"the licensee's {exemption.measure.value} is not in its profile"
    text = _FIELD_TEXT[exemption.measure][1].format(value)
    return "the licensee has " + (text.removesuffix("s") if value == 1 else text)


def exempt_by_size(exemption: SizeExemption, licensee: Licensee) -> bool | None:
    """True when the licensee's size is known and below the exemption's threshold; None when unknown or when the
    table gives no measure."""
    if exemption.measure is None or exemption.below is None:
        return None
    value = _size(licensee, exemption.measure)
    return None if value is None else value < exemption.below


def size_exemption_reason(row: CyberJurisdiction, licensee: Licensee) -> Reason | None:
    """The reason a verified exemption that removes notice takes the state's act off this event (OK), or None."""
    for exemption in row.size_exemptions:
        if not (exemption.removes_notice and exemption.provision.status is RuleStatus.VERIFIED):
            continue
        if exempt_by_size(exemption, licensee):
            return Reason(
                code=f"exemption.{row.state.lower()}.small_licensee",
                message=f"No {row.state} obligation under {row.commissioner.citation}: licensees "
                f"{_limit(exemption)} are exempt from {exemption.covers}, and {_known(licensee, exemption)}.",
                citation=f"{row.commissioner.citation}; {exemption.provision.citation}",
                jurisdiction=row.state,
            )
    return None


def size_exemption_effect(row: CyberJurisdiction, licensee: Licensee) -> ExemptionEffect:
    """What the row's size exemptions add to an obligation that stays: the provisions evaluated, the counsel-review
    reasons (unknown size; a reported exemption) and the notes (an exemption that does not cover notice)."""
    provisions: list[Provision] = []
    review: list[str] = []
    notes: list[str] = []
    name = STATE_NAMES[row.state]
    for exemption in row.size_exemptions:
        provisions.append(exemption.provision)
        cite = exemption.provision.citation
        if not exemption.removes_notice:
            size = f"; {_known(licensee, exemption)}" if exemption.measure is not None else ""
            notes.append(f"{row.state}: {exemption.provision.summary.rstrip('.')} ({cite}{size}).")
            continue
        exempt = exempt_by_size(exemption, licensee)
        if exemption.provision.status is RuleStatus.VERIFIED:
            if exempt is None:
                review.append(
                    f"{cite}: licensees {_limit(exemption)} are exempt from {exemption.covers} in {name}; "
                    f"{_known(licensee, exemption)}, so the obligation stands until counsel confirms the licensee's "
                    f"{_FIELD_TEXT[exemption.measure][0] if exemption.measure else 'size'}."
                )
            continue
        verdict = {
            True: "so it may be exempt",
            False: "so the reported exemption would not apply",
            None: "so whether it applies is not known",
        }[exempt]
        review.append(
            f"{cite} (reported): licensees {_limit(exemption)} are reported exempt from {exemption.covers} in "
            f"{name}; {_known(licensee, exemption)}, {verdict}. Reported, so not applied: the obligation stays until "
            "counsel confirms."
        )
    return ExemptionEffect(tuple(provisions), tuple(review), tuple(notes))
