"""Whether a state's consumer notice reached every affected consumer (Tenn. Code Ann. § 56-2-1006(c)).

The duty is owed to the "consumers residing in this state whose nonpublic information has been
acquired, or reasonably believed to have been acquired" — all of them, as the state's current best
estimate counts them (item (I) of the commissioner report, § 56-2-1006(b)(1)(I)), not only the ones
the roster happens to list. So the notice is met only when the roster is reconciled with that
estimate:

* substitute notice for the whole class (cost over $250,000 or a class over 500,000 persons,
  § 56-2-1006(c)(3)) — the website posting (B) and the statewide media notice (C) reach every
  affected consumer, e-mail (A) goes where an address is known: met once (B) and (C) are made and
  no one on the roster is left in doubt;
* otherwise every affected consumer must be on the roster and notified individually — or, where
  substitute notice rests only on insufficient contact information, covered by it for want of an
  address. A roster shorter than the estimate is not met: it waits for a corrected roster, or for
  a recorded reconciliation step that revises the estimate with its reason.

Pure: the consumer-notice workflow calls it after each delivery and each revision of the estimate.
"""

from __future__ import annotations

from models.incident import AffectedState
from models.notice import (
    ConsumerNoticeReconciliation,
    ConsumerNoticeResult,
    ReconciliationOutcome,
    SubstituteGround,
)
from models.obligation import NoticeMethod, Obligation
from rules.jurisdictions import (
    STATE_NAMES,
    SUBSTITUTE_NOTICE_CLASS_THRESHOLD,
    SUBSTITUTE_NOTICE_COST_THRESHOLD_USD,
)

CITE_CONSUMERS = "Tenn. Code Ann. § 56-2-1006(c)"
CITE_ESTIMATE = "Tenn. Code Ann. § 56-2-1006(b)(1)(I)"

def residents(state: str) -> str:
    """"Tennessee residents", for the sentences a person reads."""
    return f"{STATE_NAMES.get(state, state).removeprefix('the ')} residents"


def substitute_ground(
    ob: Obligation, affected: AffectedState | None, estimate: int, result: ConsumerNoticeResult
) -> SubstituteGround | None:
    """The (c)(3) ground the rules recorded on the obligation, with the figures it rests on."""
    sub = ob.substitute_notice
    if ob.method is not NoticeMethod.SUBSTITUTE or sub is None:
        return None
    cost = affected.notice_cost_usd if affected is not None else None
    return SubstituteGround(
        triggers=list(sub.triggers),
        applies_to=sub.applies_to,
        citation=sub.citation,
        estimated_cost_usd=str(cost) if cost is not None else None,
        cost_threshold_usd=str(SUBSTITUTE_NOTICE_COST_THRESHOLD_USD),
        affected_class=estimate,
        class_threshold=SUBSTITUTE_NOTICE_CLASS_THRESHOLD,
        without_contact=affected.without_contact if affected is not None else 0,
        without_contact_on_roster=result.roster_without_contact,
        website_posted=result.website_posted,
        media_notified=bool(result.media_notified),
    )


def reconcile_consumer_notice(
    ob: Obligation,
    affected: AffectedState | None,
    estimate: int,
    result: ConsumerNoticeResult,
    *,
    estimate_revised_from: int | None = None,
) -> ConsumerNoticeReconciliation:
    """Tenn. Code Ann. § 56-2-1006(c), (c)(3): is every affected consumer residing in the state
    notified individually or covered by substitute notice? ``estimate`` is the state's current
    best estimate (the intake's ``affected`` row, or a recorded revision of it)."""
    state = ob.jurisdiction
    ground = substitute_ground(ob, affected, estimate, result)
    class_wide = ground is not None and ground.applies_to == "all_affected"
    on_roster = result.consumers
    reached = max(estimate, on_roster)
    # (c)(3)(B) applies "if the licensee maintains a website page"; (C) always.
    missing_parts = []
    if ground is not None and (class_wide or result.covered_by_substitute):
        if ground.website_posted is False:
            missing_parts.append("(B) website posting")
        if not ground.media_notified:
            missing_parts.append("(C) statewide media notice")
    roster_short = not class_wide and on_roster < estimate
    shortfalls: list[str] = []
    if missing_parts:
        assert ground is not None
        shortfalls.append(f"the substitute notice's {' and '.join(missing_parts)} ({ground.citation}) has not been made")
    if result.outstanding:
        method = (ob.method or NoticeMethod.WRITTEN).value
        shortfalls.append(f"{result.outstanding:,} consumer(s) on the roster could not be reached by any channel the {method} method allows")
    if result.in_doubt:
        shortfalls.append(
            f"{result.in_doubt:,} e-mail(s) were interrupted while sending and may or may not have left (check the relay's log)"
        )
    if roster_short:
        shortfalls.append(f"roster has {on_roster:,} of {estimate:,} estimated affected {residents(state)}")
    if missing_parts:
        outcome = ReconciliationOutcome.SUBSTITUTE_INCOMPLETE
    elif result.outstanding or result.in_doubt:
        outcome = ReconciliationOutcome.DELIVERIES_OUTSTANDING
    elif roster_short:
        outcome = ReconciliationOutcome.ROSTER_SHORT
    elif class_wide:
        outcome = ReconciliationOutcome.COVERED_BY_SUBSTITUTE
    elif on_roster > estimate:
        outcome = ReconciliationOutcome.ROSTER_EXCEEDS_ESTIMATE
    else:
        outcome = ReconciliationOutcome.RECONCILED
    met = not shortfalls
    if class_wide and not missing_parts:
        # The posting and the media notice reach every affected consumer not e-mailed, on the
        # roster or not; only those on the roster still unreached or in doubt are not covered.
        covered = reached - result.notified - result.outstanding - result.in_doubt
    else:
        covered = result.covered_by_substitute
    return ConsumerNoticeReconciliation(
        jurisdiction=state,
        estimate=estimate,
        estimate_revised_from=estimate_revised_from,
        on_roster=on_roster,
        notified=result.notified,
        covered_by_substitute=max(covered, 0),
        not_reached=max(reached - result.notified - max(covered, 0), 0),
        outstanding_on_roster=result.outstanding,
        in_doubt=result.in_doubt,
        substitute=ground,
        outcome=outcome,
        met=met,
        shortfall="; ".join(shortfalls) or None,
    )
