"""Rules of the event lifecycle that responders' decisions are checked against.

Pure functions: the event workflow calls them from its update validators, so an invalid
transition is refused with a message that names the rule, before anything is recorded.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from models.incident import IncidentIntake
from models.lifecycle import Determination, EventAmendment, Exclusion
from rules.calendar import add_months_instant
from rules.classification import (
    encrypted_exclusion_applies,
    returned_or_destroyed_exclusion_applies,
)
from rules.jurisdictions import (
    EXCLUSION_ENCRYPTED,
    EXCLUSION_RETURNED,
    MODEL_RETENTION,
    exclusion_citation,
    needs_counsel_review,
    retention_citation,
)

#: Records of every cybersecurity event are kept at least five years from the event: "common to all
#: adopters (verified in several)" per JURISDICTIONS.md; NAIC #668 § 5(D). No state's own section is
#: in the seeds, so the entries cite ``rules.jurisdictions.retention_citation(state)``: the model,
#: marked as such.
RECORDS_RETENTION_YEARS = 5
CITE_RETENTION = MODEL_RETENTION


def determination_problem(intake: IncidentIntake, decision: Determination, now: dt.datetime) -> str | None:
    """Why ``decision`` cannot be recorded for this event, or None when it can.

    "Not a cybersecurity event" must rest on an exclusion (RSMo § 375.1402(3)(a)–(b) and its
    equivalents) that the recorded facts support; "a cybersecurity event" must not contradict facts
    that exclude it (amend the facts first, so that the record stays consistent). Messages cite the
    licensee's home jurisdiction's law, whose definitions govern its own determination.
    """
    home = intake.licensee.home_jurisdiction
    cite_encrypted = exclusion_citation(home, EXCLUSION_ENCRYPTED)
    cite_returned = exclusion_citation(home, EXCLUSION_RETURNED)
    when = decision.determined_at or now
    if when > now:
        return f"determined_at {when.isoformat()} is in the future"
    if when < intake.discovered_at:
        return f"determined_at {when.isoformat()} is before the event was discovered ({intake.discovered_at.isoformat()})"
    encrypted = encrypted_exclusion_applies(intake)
    returned = returned_or_destroyed_exclusion_applies(intake)
    if decision.is_cybersecurity_event:
        if encrypted:
            return (
                f"the recorded facts exclude this event ({cite_encrypted}: the information was encrypted and the "
                "key was not acquired, released or used); amend key_compromised first if the key was compromised"
            )
        if returned:
            return (
                f"the recorded facts exclude this event ({cite_returned}: the information was not used or released "
                "and was returned or destroyed); amend returned_or_destroyed_unused first if that is no longer so"
            )
        return None
    if decision.exclusion is Exclusion.ENCRYPTED_KEY_NOT_COMPROMISED and not encrypted:
        return (
            f"exclusion {cite_encrypted} needs encrypted information whose key was not compromised; the recorded "
            f"facts say encrypted={intake.encrypted}, key_compromised={intake.key_compromised}"
        )
    if decision.exclusion is Exclusion.RETURNED_OR_DESTROYED_UNUSED and not returned:
        return (
            f"exclusion {cite_returned} needs information not used or released and returned or destroyed; the "
            "recorded facts say returned_or_destroyed_unused=false"
        )
    return None


def amend_intake(intake: IncidentIntake, amendment: EventAmendment) -> IncidentIntake:
    """The event's facts after ``amendment``; raises ``ValueError`` naming the field when the
    result is inconsistent (pydantic validation of the whole intake runs again)."""
    changes = intake.model_dump()
    if amendment.affected is not None:
        changes["affected"] = [row.model_dump() for row in amendment.affected]
    if amendment.report_items_provided:
        provided = list(dict.fromkeys([*intake.report_items_provided, *amendment.report_items_provided]))
        changes["report_items_provided"] = provided
    if amendment.law_enforcement_delay_until is not None:
        changes["law_enforcement_delay_until"] = amendment.law_enforcement_delay_until
    return IncidentIntake.model_validate(changes)


def describe_changes(before: IncidentIntake, after: IncidentIntake) -> list[str]:
    """What changed between two versions of the event's facts, in words for the material update
    of Tenn. Code Ann. § 56-2-1006(b)(2); the consumer estimate (I) is named per state."""
    out: list[str] = []
    old_rows = {row.state: row for row in before.affected}
    new_rows = {row.state: row for row in after.affected}
    for state in sorted(set(old_rows) | set(new_rows)):
        old, new = old_rows.get(state), new_rows.get(state)
        if old is None and new is not None:
            out.append(f"(I) {state} added: {new.consumers} consumers")
        elif new is None and old is not None:
            out.append(f"(I) {state} removed (was {old.consumers} consumers)")
        elif old is not None and new is not None and old != new:
            if old.consumers != new.consumers:
                out.append(f"(I) {state}: {old.consumers} → {new.consumers} consumers")
            for name in ("material_harm_likely", "other_government_notice_required", "with_email", "without_contact", "producers_of_record_known", "electronic_primary_channel", "notice_cost_usd"):
                if getattr(old, name) != getattr(new, name):
                    out.append(f"{state} {name}: {getattr(old, name)} → {getattr(new, name)}")
    added_items = [i.value for i in after.report_items_provided if i not in before.report_items_provided]
    if added_items:
        out.append("report items now available: " + ", ".join(f"({i})" for i in added_items))
    if before.law_enforcement_delay_until != after.law_enforcement_delay_until and after.law_enforcement_delay_until:
        out.append(f"law-enforcement delay until {after.law_enforcement_delay_until.isoformat()}")
    return out


def retain_until(event_at: dt.datetime, closed_at: dt.datetime) -> dt.datetime:
    """Keep the records at least five years from the event (NAIC #668 § 5(D); the states' own
    sections are not verified — ``retention_citation``); counted from closure, which is never
    earlier, so that the whole record is covered."""
    return add_months_instant(max(event_at, closed_at), 12 * RECORDS_RETENTION_YEARS)


def law_enforcement_delay_active(intake: IncidentIntake, now: dt.datetime) -> bool:
    return intake.law_enforcement_delay_until is not None and now < intake.law_enforcement_delay_until


def retention_ledger_data(states: Iterable[str]) -> dict[str, object]:
    """What the closure's entry states of the records' retention: each state's own section (where
    only the model is known, the model's, marked — and those states need counsel review)."""
    cites = {state: retention_citation(state) for state in sorted(set(states))}
    return {
        "retention": cites,
        "retention_needs_counsel_review": [state for state, cite in cites.items() if needs_counsel_review(cite)],
    }
