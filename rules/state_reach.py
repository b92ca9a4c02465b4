"""Whether a state's insurance act reaches the event at all, and why not when it does not: the states examined,
the exclusions (S.C. paper-only, RSMo § 375.1402(10), RI's domestic insurers, a verified size exemption), the
reason given for a state without obligation or without a commissioner notice, and the counsel-review reason of an
unverified clock (reported rows, the model fallback, the states without an insurance act).

Split off ``rules.cyber`` (which re-exports every name). Pure: no I/O, no wall clock.
"""

from __future__ import annotations

from models.incident import AffectedState, IncidentIntake
from models.licensee import LicenseeKind
from models.obligation import Reason
from rules.classification import examined_states
from rules.exemptions import size_exemption_reason
from rules.jurisdictions import (
    STATE_NAMES,
    STRICTEST_KNOWN_CLOCK,
    CyberJurisdiction,
    DomicileTrigger,
    LicenseeScope,
    ResidentsTrigger,
    jurisdiction_for,
)
from rules.obligation_draft import join_citations
from rules.triggers import licensee_scope, trigger_requirements


def _name(state: str) -> str:
    return STATE_NAMES[state]


def unverified_reason(row: CyberJurisdiction, duty: str) -> str:
    """The counsel-review reason of an obligation whose clock is not verified: a reported row (with the clock as
    reported), a state listed only from a later date, a state not listed — and, where JURISDICTIONS.md found no
    insurance data security act, that the general breach law governs consumer and attorney-general notice."""
    if not row.fallback:
        reported = f" (reported: {row.commissioner.summary.removeprefix('Reported: ').split(';')[0]})"
        return (
            f"{row.state} {duty} clock is reported, not verified{reported}: the strictest known clock "
            f"({STRICTEST_KNOWN_CLOCK.describe()}) applies until counsel confirms ({row.commissioner.citation})."
        )
    if row.fallback_until is not None:
        head = (
            f"{row.state} has no row in force on this event's trigger date in the verified jurisdiction table "
            f"({row.source}): the NAIC model fallback applies with the strictest known clock "
            f"({STRICTEST_KNOWN_CLOCK.describe()}); counsel must confirm {_name(row.state)}'s law."
        )
    else:
        head = (
            f"{row.state} is not in the verified jurisdiction table: the NAIC model fallback applies with the "
            f"strictest known clock ({STRICTEST_KNOWN_CLOCK.describe()}); counsel must confirm {_name(row.state)}'s law."
        )
    if not row.no_insurance_act:
        return head
    kept = (
        "the commissioner notice is kept on the model's clock so that nothing is silent"
        if duty != "consumer-notice"
        else "this notice is kept on the model's clock so that nothing is silent"
    )
    extra = " ".join(n.removeprefix(f"{row.state}: ") for n in row.notes)
    return (
        f"{head} JURISDICTIONS.md found no insurance data security act for {_name(row.state)}: the general breach law "
        f"governs consumer and attorney-general notice; {kept}, until counsel confirms whether the insurance "
        f"regulator expects one.{(' ' + extra) if extra else ''}"
    )



def applicable_states(intake: IncidentIntake) -> list[str]:
    """The states whose law is examined (``rules.classification.examined_states``): every state
    with affected residents, and the licensee's home jurisdiction for the (a)(1) trigger — and, for a
    licensee other than an assuming insurer, each state in ``licensed_states`` whose law reaches every
    licence holder whatever the residents affected (NY, 23 NYCRR 500.17: ``DomicileTrigger.LICENSED_IN_STATE``)."""
    states = examined_states(intake)
    licensee = intake.licensee
    if licensee.kind is LicenseeKind.ASSUMING_INSURER or not licensee.licensed_states:
        return states
    licensed = {
        state
        for state in licensee.licensed_states
        if jurisdiction_for(state).domicile_trigger is DomicileTrigger.LICENSED_IN_STATE
    }
    return sorted(set(states) | licensed)


def state_law_excluded(intake: IncidentIntake, row: CyberJurisdiction) -> Reason | None:
    """State-specific exclusions: S.C. bulletin 2018-09 (paper-only information is not a
    cybersecurity event); RSMo § 375.1402(10) ('licensee' excludes an assuming insurer domiciled in
    another state); a law reaching domestic insurers only (RI) and an assuming insurer domiciled
    elsewhere; a verified size exemption that removes the act, the size known below it (OK:
    ``rules.exemptions.size_exemption_reason``)."""
    if intake.paper_only and row.paper_only_excluded is not None:
        return Reason(
            code=f"exclusion.{row.state.lower()}.paper_only",
            message=f"No {row.state} obligation: loss of paper-only information is not a cybersecurity event there.",
            citation=row.paper_only_excluded.citation,
        )
    if (
        row.foreign_assuming_insurer_excluded is not None
        and intake.licensee.kind is LicenseeKind.ASSUMING_INSURER
        and intake.licensee.domicile_state != row.state
    ):
        return Reason(
            code=f"exclusion.{row.state.lower()}.foreign_assuming_insurer",
            message=f"No {row.state} obligation: a licensee acting as an assuming insurer domiciled in another state "
            f"is not a 'licensee' under {row.state} law.",
            citation=row.foreign_assuming_insurer_excluded.citation,
        )
    if (
        row.licensee_scope is LicenseeScope.DOMESTIC_INSURERS
        and intake.licensee.kind is LicenseeKind.ASSUMING_INSURER
        and intake.licensee.domicile_state != row.state
    ):
        return Reason(
            code=f"exclusion.{row.state.lower()}.domestic_insurers_only",
            message=f"No {row.state} obligation: {row.commissioner.citation} reaches domestic insurers only, and the "
            f"assuming insurer is domiciled in {intake.licensee.domicile_state}.",
            citation=row.domicile_provision.citation,
            jurisdiction=row.state,
        )
    return size_exemption_reason(row, intake.licensee)


def _no_commissioner_fact(intake: IncidentIntake, row: CyberJurisdiction, affected: AffectedState | None) -> str:
    """Why the row's commissioner notice does not arise, in words."""
    if not licensee_scope(row, intake.licensee).in_scope:
        return (
            f"{row.commissioner.citation} reaches domestic insurers only, and the licensee is not an insurer "
            f"domiciled in {_name(row.state)} (commissioner notice)"
        )
    if row.domicile_trigger is DomicileTrigger.LICENSED_IN_STATE:
        return (
            f"the licensee does not hold a {_name(row.state)} licence (licensed_states, domicile and home state), "
            f"so it is not a covered entity under {row.commissioner.citation} (commissioner notice)"
        )
    if intake.licensee.home_jurisdiction == row.state and row.domicile_trigger is not DomicileTrigger.NONE:
        return "it is the licensee's home jurisdiction but the home-state trigger's conditions are not met"
    consumers = affected.consumers if affected else 0
    return f"{consumers:,} affected residents (commissioner notice needs {trigger_requirements(row)})"


def commissioner_out_of_reach(
    intake: IncidentIntake, row: CyberJurisdiction, affected: AffectedState | None
) -> Reason | None:
    """Why a law without a residents trigger (RI: domestic insurers only; NY: covered entities) owes no
    commissioner notice although its residents are affected — said even when other notices to them exist."""
    if row.residents_trigger is not ResidentsTrigger.NONE or affected is None or affected.consumers == 0:
        return None
    return Reason(
        code=f"no_commissioner_notice.{row.state}",
        message=f"No {row.state} commissioner notice for the {affected.consumers:,} affected residents: "
        f"{_no_commissioner_fact(intake, row, affected)}.",
        citation=row.domicile_provision.citation,
        jurisdiction=row.state,
    )


def no_obligation_reason(intake: IncidentIntake, row: CyberJurisdiction, affected: AffectedState | None) -> Reason:
    """Why a state examined gives no obligation, so that the answer is never silent."""
    facts = [
        _no_commissioner_fact(intake, row, affected),
        "no reasonable likelihood of material harm to its residents (consumer notice)",
    ]
    return Reason(
        code=f"no_obligation.{row.state}",
        message=f"No {row.state} obligation: " + "; ".join(facts) + ".",
        citation=join_citations([row.domicile_provision.citation, row.residents_provision.citation]),
    )
