"""Obligations under the general breach-notification laws (``rules.breach_laws``): consumer notice
and notice to the attorney general — or the other offices the law names — per affected state.

JURISDICTIONS.md: "Where a state's insurance act is silent on consumer notice, or a state has no
insurance act, the consumer notice follows the state's general breach law. Encode the verified
rows; the reported ones get the fallback (shortest known clock) and ``needs_counsel_review``."

A general-law obligation exists only when that law reaches the event (:func:`law_reaches`): the
event is a cybersecurity event (the encryption safe harbor is read as the insurance act's exclusion,
``rules.classification``), residents of the state are affected, the event's data elements are
personal information as the engine reads it (the table gives no state's definition: counsel
review), and the notice's threshold is met. What the table cannot decide — a GLBA or HIPAA carve-out,
a risk-of-harm exception, paper records, a law-enforcement delay — keeps the obligation and asks for
counsel review; never a silent exemption.

Where an insurance act and a general law both require consumer notice to the same residents, both
obligations exist, with distinct ids (this module's end in ``:general_law``) and the same
``recipient_key`` (``consumers:<STATE>``), so one delivery meets both and the earlier ``due``
governs it; ``laws_satisfied`` says which laws that delivery satisfies (:func:`with_laws_satisfied`).

Pure and deterministic: no I/O, no wall clock.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from models.common import Clock, ClockUnit, RuleStatus
from models.incident import AffectedState, DataElement
from models.licensee import LicenseeKind
from models.obligation import (
    ClockStart,
    LawRegime,
    Obligation,
    ObligationKind,
    Reason,
    RecipientRole,
    ResidentsThreshold,
)
from rules.breach_laws import (
    BreachLaw,
    ClockBasis,
    ConsumerClock,
    OfficeNotice,
    breach_law_for,
    shortest_consumer_clock,
    shortest_office_clock,
)
from rules.calendar import deadline
from rules.classification import (
    CITE_ENCRYPTED,
    CITE_NPI_CONSUMER,
    CITE_NPI_HEALTH,
    CONSUMER_IDENTIFYING_ELEMENTS,
    encrypted_exclusion_applies,
    returned_or_destroyed_exclusion_applies,
)
from rules.consumer_method import CITE_METHOD, consumer_notice_method
from rules.jurisdictions import CYBER_JURISDICTIONS, CyberJurisdiction, Provision, tennessee_rule_applied
from rules.obligation_draft import Context, Draft, applied_to, assemble, determination_start, state_name, zone_of

#: The end of every obligation id this module gives: ``<incident>:<kind>:<state>:<recipient_key>:general_law``.
GENERAL_LAW_SUFFIX = "general_law"
#: The prefix of the counsel-review reason about the notice method (``rules.cyber.NOTICE_METHOD_REVIEW``,
#: which the producer notice leaves out when it copies the consumer notice's reasons).
NOTICE_METHOD_REVIEW = "Notice method"

#: Rule ids of the engine's readings of the table (see rules.registry).
RULE_GOVERNS = "engine.breach_law.governs_consumer_notice"
RULE_PERSONAL_INFORMATION = "engine.breach_law.personal_information"
RULE_ENCRYPTION = "engine.breach_law.encryption_safe_harbor"
RULE_CARVE_OUTS = "engine.breach_law.glba_hipaa"
RULE_SHORTEST_CONSUMER_CLOCK = "engine.breach_law.shortest_consumer_clock"
RULE_EXPEDIENT = "engine.breach_law.expedient_target"
RULE_OFFICE_DEADLINE = "engine.breach_law.office_deadline"
RULE_LAWS_SATISFIED = "engine.breach_law.laws_satisfied"
RULE_UNLISTED = "engine.breach_law.unlisted_after_exemption"

#: What each engine reading says (the registry lists them with these words).
ENGINE_SUMMARIES = {
    RULE_PERSONAL_INFORMATION: "The table gives no state's definition of personal information: the engine's consumer "
    "data elements are read as falling within it, and the obligation needs counsel review.",
    RULE_CARVE_OUTS: "An entity regulated under GLBA or HIPAA is never silently exempted: the table does not say "
    "which general laws carve it out, so the obligation stays and needs counsel review.",
    RULE_SHORTEST_CONSUMER_CLOCK: "A reported general-law consumer clock, or a version whose text the table does not "
    "give, gets the shorter of its own clock and the shortest known general-law consumer clock; the reported "
    "deadline is shown beside it.",
    RULE_EXPEDIENT: "No day count ('most expedient time possible'): the deadline policy's target, in calendar days "
    "after discovery, with counsel review.",
    RULE_OFFICE_DEADLINE: "An attorney-general notice whose deadline the table does not give, or gives from the "
    "consumer notice, is due on the shortest known attorney-general clock from the start of the state's consumer "
    "clock, with counsel review.",
}


def _engine(rule_id: str, citation: str) -> Provision:
    """One of the engine's readings, cited to the provision it reads (so the obligation's citation stays the law's)."""
    return Provision(
        rule_id=rule_id, citation=citation, status=RuleStatus.INTERPRETATION, summary=ENGINE_SUMMARIES.get(rule_id, "")
    )


def _days(amount: int) -> Clock:
    return Clock(amount=amount, unit=ClockUnit.CALENDAR_DAYS)


def _statute(citation: str) -> str:
    """The statute a citation names, without subdivisions or remarks: '9 V.S.A. § 2435(b)(1)' → '9 V.S.A. § 2435'."""
    return citation.split(";")[0].split("(")[0].strip()


# ============================================================================================
# Which law, and whether it reaches the event
# ============================================================================================


def law_in_force(ctx: Context, state: str) -> BreachLaw | None:
    """The version of ``state``'s general breach law in force on the event's trigger date there."""
    return breach_law_for(state, ctx.law_date(state))


def governs_consumer_notice(ctx: Context, row: CyberJurisdiction) -> BreachLaw | None:
    """The general law that governs consumer notice to ``row.state``'s residents in place of the insurance
    act's: a version is in force and the insurance act has no verified consumer clock of its own (or its
    verified clock is that same law's). The insurance act's unverified fallback (72 hours) is then not
    produced; where the act has its own verified clock, both obligations exist."""
    law = law_in_force(ctx, row.state)
    if law is None:
        return None
    own = row.consumer if row.consumer is not None and row.is_verified else None
    if own is not None and _statute(own.citation) != _statute(law.citation):
        return None
    return law


def _consumer_elements(elements: Iterable[DataElement]) -> list[DataElement]:
    return sorted(
        {e for e in elements if e in CONSUMER_IDENTIFYING_ELEMENTS or e is DataElement.HEALTH}, key=lambda e: e.value
    )


def law_reaches(ctx: Context, law: BreachLaw, affected: AffectedState) -> tuple[list[str], Reason | None]:
    """Does ``law`` reach the event for these residents? ``(counsel-review reasons, None)`` when it does;
    ``([], reason)`` — the reason saying why not — when it does not.

    The event is a cybersecurity event here (the encryption safe harbor is decided with the insurance act's
    exclusion, :func:`not_an_event_reasons`). The table gives no definition of personal information and no
    exemption list: the engine's consumer data elements decide, and what the table cannot decide keeps the
    obligation with a reason for counsel."""
    intake, state, name = ctx.intake, law.state, state_name(law.state)
    if affected.consumers == 0:
        return [], Reason(
            code=f"general_law.{state}.no_residents",
            message=f"No {state} notice under {law.citation}: no affected {name} residents are recorded.",
            citation=law.citation,
            jurisdiction=state,
        )
    elements = _consumer_elements(intake.data_elements)
    if not elements:
        recorded = ", ".join(e.value for e in intake.data_elements) or "none"
        return [], Reason(
            code=f"general_law.{state}.no_personal_information",
            message=f"No {state} notice under {law.citation}: none of the event's data elements ({recorded}) is personal "
            f"information as the engine reads it (the consumer data elements of {CITE_NPI_CONSUMER}–(c)); {name}'s "
            "definition is not in the table: counsel confirms.",
            citation=law.citation,
            jurisdiction=state,
            needs_counsel_review=True,
        )
    words = ", ".join(e.value for e in elements)
    flags = [
        f"{name}'s definition of personal information under {law.citation} is not in the table: the event's consumer "
        f"data elements ({words}; {CITE_NPI_CONSUMER}, {CITE_NPI_HEALTH}) are read as falling within it until counsel "
        "confirms.",
    ]
    regulated = "the Gramm-Leach-Bliley Act (as an insurance licensee is)"
    if DataElement.HEALTH in elements:
        regulated += " or HIPAA (health information is involved)"
    flags.append(
        f"The table does not say whether {law.citation} exempts, or deems compliant, an entity regulated under "
        f"{regulated}: the notice is kept until counsel confirms."
    )
    if not affected.material_harm_likely:
        flags.append(
            f"Material harm to the {name} residents is not reasonably likely; the table gives no risk-of-harm exception "
            f"for {law.citation}: the notice is kept until counsel confirms."
        )
    if intake.paper_only:
        flags.append(
            f"Only paper records were involved; the table does not say whether {law.citation} covers them: the notice "
            "is kept until counsel confirms."
        )
    return flags, None


def not_an_event_reasons(ctx: Context) -> list[Reason]:
    """For an event that is not a cybersecurity event: what each affected state's general law makes of it.

    The encryption safe harbor is read as the insurance act's exclusion (RSMo § 375.1402(3)(a)): no
    general-law notice, but the state's own wording is not in the table, so the reason asks for counsel.
    The table gives general laws no exclusion for information returned or destroyed unused: whether notice
    is owed then is for counsel — never decided silently."""
    intake = ctx.intake
    reasons: list[Reason] = []
    for affected in intake.affected:
        law = law_in_force(ctx, affected.state)
        if law is None or affected.consumers == 0:
            continue
        state, name = law.state, state_name(law.state)
        if encrypted_exclusion_applies(intake):
            reasons.append(
                Reason(
                    code=f"general_law.{state}.encryption_safe_harbor",
                    message=f"No {state} notice under {law.citation}: the information was encrypted and the encryption, "
                    f"process or key was not also acquired, released or used — read as the exclusion of {CITE_ENCRYPTED}; "
                    f"{name}'s safe-harbor wording is not in the table: counsel confirms.",
                    citation=law.citation,
                    jurisdiction=state,
                    needs_counsel_review=True,
                )
            )
        elif returned_or_destroyed_exclusion_applies(intake):
            reasons.append(
                Reason(
                    code=f"general_law.{state}.returned_or_destroyed",
                    message=f"Not a cybersecurity event under the insurance act (information returned or destroyed "
                    f"unused), but the table gives {law.citation} no such exclusion: whether the {affected.consumers:,} "
                    f"{name} residents must be notified under it is for counsel to confirm.",
                    citation=law.citation,
                    jurisdiction=state,
                    needs_counsel_review=True,
                )
            )
    return reasons


# ============================================================================================
# Clocks
# ============================================================================================


def clock_start(ctx: Context, basis: ClockBasis) -> tuple[dt.datetime, ClockStart]:
    """Where a general-law clock starts: the determination ("after determining the breach occurred"),
    discovery ("after discovery"; also where the table gives no start — the earliest), or the earlier of
    discovery and a service provider's notification ("after discovery or notification")."""
    intake = ctx.intake
    if basis is ClockBasis.DETERMINATION:
        return determination_start(ctx)
    if (
        basis is ClockBasis.DISCOVERY_OR_NOTIFICATION
        and intake.tpsp_notified_at is not None
        and intake.tpsp_notified_at < intake.discovered_at
    ):
        return intake.tpsp_notified_at, ClockStart.TPSP_NOTICE
    return intake.discovered_at, ClockStart.DISCOVERY


_START_WORDS = {
    ClockStart.DETERMINATION: "the determination",
    ClockStart.ASSUMED_AT_DISCOVERY: "discovery (no determination recorded)",
    ClockStart.DISCOVERY: "discovery",
    ClockStart.TPSP_NOTICE: "the service provider's notification",
}


def _suffixed(obligation: Obligation) -> Obligation:
    return obligation.model_copy(update={"obligation_id": f"{obligation.obligation_id}:{GENERAL_LAW_SUFFIX}"})


# ============================================================================================
# Consumer notice
# ============================================================================================


def consumer_notice(ctx: Context, law: BreachLaw, affected: AffectedState, flags: Iterable[str] = ()) -> Obligation:
    """Consumer notice under the state's general breach law, on its own clock: TX 60 days after the
    determination, OR and VT 45 days after discovery (verified); IL "most expedient time" → the deadline
    policy's target; reported rows (CA, FL, NY, IN, ME) the shorter of their clock and the shortest known
    general-law consumer clock, the reported one shown beside it. Calendar days."""
    intake, state, name = ctx.intake, law.state, state_name(law.state)
    draft = Draft(notes=list(law.notes))
    for reason in flags:
        draft.flag(reason)
    draft.apply(_engine(RULE_PERSONAL_INFORMATION, law.citation))
    draft.apply(_engine(RULE_CARVE_OUTS, law.citation))
    start, start_kind = clock_start(ctx, law.consumer_basis)
    tz = zone_of(ctx, state)
    reported_clock: Clock | None = None
    reported_due: dt.datetime | None = None
    if law.consumer_clock is ConsumerClock.EXPEDIENT:
        clock = _days(ctx.policy.expedient_notice_days)
        draft.apply(_engine(RULE_EXPEDIENT, law.citation))
        draft.flag(
            f"{law.citation} requires notice {law.consumer_text}: the engine's target is {clock.describe()} after "
            "discovery (deadline policy `expedient_notice_days`); counsel confirms the date."
        )
    elif law.consumer_clock is ConsumerClock.NOT_IN_TABLE:
        clock = shortest_consumer_clock()
        draft.apply(_engine(RULE_SHORTEST_CONSUMER_CLOCK, law.citation))
    else:
        own = law.consumer.clock
        assert own is not None  # a DAYS row carries its clock
        clock = own
        if not law.is_verified:
            shortest = shortest_consumer_clock()
            clock = own if own.amount <= shortest.amount else shortest
            reported_clock, reported_due = own, deadline(start, own, state, ctx.policy, tz)
            draft.apply(_engine(RULE_SHORTEST_CONSUMER_CLOCK, law.citation))
            draft.flag(
                f"{state} general-law consumer clock is reported, not verified ({law.citation}: {law.consumer_text}): "
                f"{clock.describe()} apply — the shorter of the reported clock and the shortest known general-law "
                f"consumer clock ({shortest.describe()}) — until counsel confirms."
            )
    if law.caveat:
        draft.flag(law.caveat)
    if law.consumer_basis is ClockBasis.UNSTATED:
        draft.flag(
            f"The table gives no start for {state}'s consumer clock ({law.consumer_text}): it is read from discovery, "
            "the earliest start, until counsel confirms."
        )
    if law.office_column is not None:
        draft.flag(
            f"The table lists no attorney-general or regulator notice under {law.citation} ('{law.office_column}'): "
            "counsel confirms none is owed."
        )
    if intake.law_enforcement_delay_until is not None:
        draft.flag(
            f"A law-enforcement delay is recorded (until {intake.law_enforcement_delay_until.isoformat()}); the table "
            f"gives no law-enforcement delay for {law.citation}: the deadline is not extended until counsel confirms."
        )
    method, substitute, method_basis = consumer_notice_method(affected)
    tn_method = CYBER_JURISDICTIONS["TN"].substitute
    assert tn_method is not None
    draft.apply(applied_to(tn_method, state))
    if substitute is not None:
        substitute = substitute.model_copy(update={"citation": tennessee_rule_applied(substitute.citation, state)})
    draft.flag(
        f"{NOTICE_METHOD_REVIEW} chosen with the thresholds of {CITE_METHOD} ($250,000 / 500,000 persons); the form "
        f"of notice under {law.citation} is not in the table."
    )
    obligation = assemble(
        ctx,
        kind=ObligationKind.CONSUMER_NOTICE,
        state=state,
        recipient=RecipientRole.CONSUMERS,
        recipient_key=f"consumers:{state}",
        recipient_name=f"{affected.consumers:,} affected consumers residing in {name}",
        primary=law.consumer,
        draft=draft,
        clock=clock,
        start=start,
        start_kind=start_kind,
        basis=f"{name}'s general breach law ({law.citation}) requires notice to the {affected.consumers:,} affected "
        f"residents of {name} whose personal information was, or is reasonably believed to have been, acquired: "
        f"{law.consumer_text}.",
        reported_clock=reported_clock,
        reported_due=reported_due,
        method=method,
        method_basis=method_basis,
        substitute_notice=substitute,
        regime=LawRegime.GENERAL_BREACH_LAW,
    )
    return _suffixed(obligation)


# ============================================================================================
# Attorney-general (and other office) notices
# ============================================================================================


def _threshold_model(office: OfficeNotice, affected: AffectedState) -> ResidentsThreshold:
    return ResidentsThreshold(
        comparator=office.threshold.comparator,
        residents=office.threshold.residents,
        affected_residents=affected.consumers,
        text=office.threshold.text,
    )


def office_notice(
    ctx: Context, law: BreachLaw, office: OfficeNotice, affected: AffectedState, consumer: Obligation, flags: Iterable[str]
) -> Obligation | Reason:
    """The notice to the attorney general (or another office) under ``law``, or the reason it is not owed.

    TX ≥ 250 residents, ≤ 30 days after the determination, on the AG's electronic form (verified); OR > 250
    (no deadline in the table); CA > 500, a sample copy ≤ 15 days after the consumer notice; FL ≥ 500, ≤ 30
    days (reported); NY the AG, the Department of State and the State Police (reported, no threshold or
    deadline in the table); IL threshold unread. A threshold the table does not give is applied from one
    resident; a deadline it does not give is the shortest known attorney-general clock — both flagged."""
    state, name = law.state, state_name(law.state)
    met = office.threshold.met(affected.consumers)
    if met is False:
        return Reason(
            code=f"general_law.{state}.{office.office_key}.threshold_not_met",
            message=f"No notice to the {office.office} under {office.provision.citation}: {affected.consumers:,} "
            f"affected {name} residents, and the law requires {office.threshold.text} ({office.text}).",
            citation=office.provision.citation,
            jurisdiction=state,
            needs_counsel_review=office.provision.status is not RuleStatus.VERIFIED,
        )
    draft = Draft(notes=list(office.notes))
    for reason in flags:
        draft.flag(reason)
    draft.apply(_engine(RULE_PERSONAL_INFORMATION, office.provision.citation))
    draft.apply(_engine(RULE_CARVE_OUTS, office.provision.citation))
    if law.caveat:
        draft.flag(law.caveat)
    if met is None:
        draft.flag(
            f"{office.provision.citation}: the table gives no threshold for the notice to the {office.office} "
            f"({office.threshold.text}): it is applied from one affected resident ({affected.consumers:,} here) until "
            "counsel confirms."
        )
    tz = zone_of(ctx, state)
    reported_clock: Clock | None = None
    reported_due: dt.datetime | None = None
    shortest = shortest_office_clock()
    own = office.clock
    if own is None:
        clock = shortest
        start, start_kind = clock_start(ctx, office.basis)
        draft.apply(_engine(RULE_OFFICE_DEADLINE, office.provision.citation))
        draft.flag(
            f"{office.provision.citation}: the table gives no deadline for the notice to the {office.office}: the shortest "
            f"known attorney-general clock ({shortest.describe()}) applies from {_START_WORDS[start_kind]} until counsel "
            "confirms."
        )
    elif office.basis is ClockBasis.CONSUMER_NOTICE:
        clock = shortest
        start, start_kind = clock_start(ctx, law.consumer_basis)
        reported_clock, reported_due = own, deadline(consumer.due, own, state, ctx.policy, tz)
        draft.apply(_engine(RULE_OFFICE_DEADLINE, office.provision.citation))
        draft.flag(
            f"{state} attorney-general rule is reported, not verified ({office.text}); its date depends on when consumers "
            f"are notified: `reported_due` counts {own.describe()} from the consumer notice's due date, `due` "
            f"applies the shortest known attorney-general clock ({shortest.describe()}) from {_START_WORDS[start_kind]}. "
            f"Consumers notified earlier move it to {own.describe()} after that notice; counsel confirms."
        )
    else:
        start, start_kind = clock_start(ctx, office.basis)
        clock = own
        if office.provision.status is not RuleStatus.VERIFIED:
            clock = own if own.amount <= shortest.amount else shortest
            reported_clock, reported_due = own, deadline(start, own, state, ctx.policy, tz)
            draft.apply(_engine(RULE_OFFICE_DEADLINE, office.provision.citation))
            draft.flag(
                f"{state} notice to the {office.office} is reported, not verified ({office.text}): {clock.describe()} "
                f"after {_START_WORDS[start_kind]} apply until counsel confirms."
            )
    count = f"{affected.consumers:,} {name} residents are affected"
    threshold_words = (
        f"{count} ({office.threshold.text})" if met else f"{count}; the threshold is not in the table ({office.threshold.text})"
    )
    obligation = assemble(
        ctx,
        kind=ObligationKind.ATTORNEY_GENERAL_NOTICE,
        state=state,
        recipient=RecipientRole.ATTORNEY_GENERAL,
        recipient_key=f"{office.office_key}:{state}",
        recipient_name=office.office,
        primary=office.provision,
        draft=draft,
        clock=clock,
        start=start,
        start_kind=start_kind,
        basis=f"{name}'s general breach law ({office.provision.citation}) requires notice to the {office.office} "
        f"(\"{office.text}\"): {threshold_words}.",
        reported_clock=reported_clock,
        reported_due=reported_due,
        filing_method=office.filing_method,
        threshold=_threshold_model(office, affected),
        regime=LawRegime.GENERAL_BREACH_LAW,
    )
    if reported_due is not None and reported_due < obligation.due:
        obligation = obligation.model_copy(update={"due": reported_due})
    return _suffixed(obligation)


# ============================================================================================
# Per state, and across the event
# ============================================================================================


def unlisted_law(state: str, exemption: Reason) -> BreachLaw:
    """``state``'s general breach-notification law where the table does not hold it, read because an
    exemption (``exemption``) removed the insurance act that would otherwise have governed consumer
    notice: a licensee exempt from the act is not exempt from the general law, whose text the table
    does not give — its consumer notice is kept on the shortest known general-law consumer clock,
    from discovery, with counsel review; never silence."""
    citation = f"{state_name(state)}'s general breach-notification law (not in JURISDICTIONS.md; {state} section not verified)"
    return BreachLaw(
        state=state,
        consumer=Provision(
            rule_id=RULE_UNLISTED, citation=citation, status=RuleStatus.REPORTED,
            summary="A licensee exempt from a state's insurance act (a size exemption) still owes consumer notice under "
            "the state's general breach law; where the table does not hold that law, the notice is kept on the shortest "
            "known general-law consumer clock from discovery, with counsel review.",
        ),
        consumer_text="no text in the table",
        consumer_clock=ConsumerClock.NOT_IN_TABLE,
        consumer_basis=ClockBasis.UNSTATED,
        caveat=f"{exemption.message} That exemption is from the insurance act only: {state_name(state)}'s general "
        "breach-notification law is not in the table, so the consumer notice stays until counsel confirms what it requires.",
    )


def general_law_obligations(
    ctx: Context, state: str, *, insurance_act_exemption: Reason | None = None
) -> tuple[list[Obligation], list[Reason]]:
    """Every obligation ``state``'s general breach law creates for the event (consumer notice, then the
    office notices), and the reasons for those it does not — never silence. Where an exemption removed
    the state's insurance act (``insurance_act_exemption``) and the table holds no general law for the
    state, :func:`unlisted_law` stands for it."""
    law = law_in_force(ctx, state)
    if law is None and insurance_act_exemption is not None:
        law = unlisted_law(state, insurance_act_exemption)
    affected = ctx.intake.affected_in(state)
    if law is None or affected is None:
        return [], []
    if ctx.intake.licensee.kind is LicenseeKind.ASSUMING_INSURER:
        return [], [
            Reason(
                code=f"general_law.{state}.assuming_insurer",
                message=f"The licensee acts as an assuming insurer without a direct relationship with the affected "
                f"{state_name(state)} residents: no notice of its own under {law.citation} is computed (the ceding "
                "insurers notify consumers); the table does not say how the law treats such an entity: counsel confirms.",
                citation=law.citation,
                jurisdiction=state,
                needs_counsel_review=True,
            )
        ]
    flags, refusal = law_reaches(ctx, law, affected)
    if refusal is not None:
        return [], [refusal]
    consumer = consumer_notice(ctx, law, affected, flags)
    obligations: list[Obligation] = [consumer]
    reasons: list[Reason] = []
    for office in law.offices:
        outcome = office_notice(ctx, law, office, affected, consumer, flags)
        if isinstance(outcome, Reason):
            reasons.append(outcome)
        else:
            obligations.append(outcome)
    return obligations, reasons


def _primary_law(obligation: Obligation) -> str:
    """'TX: Tex. Bus. & Com. Code § 521.053': the state and the first citation group — the provision the obligation
    rests on (``rules.obligation_draft.assemble`` puts it first); a '; ' inside a remark in parentheses (e.g.
    "(Tennessee's rule applied; CA section not verified)") does not end it."""
    depth, cut = 0, len(obligation.citation)
    for i, char in enumerate(obligation.citation):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth == 0 and obligation.citation.startswith("; ", i):
            cut = i
            break
    return f"{obligation.jurisdiction}: {obligation.citation[:cut]}"


def with_laws_satisfied(obligations: list[Obligation]) -> list[Obligation]:
    """Each obligation with ``laws_satisfied``: the laws one delivery of its notice satisfies — its own, and
    those of every obligation of the same kind and ``recipient_key`` that the delivery also meets (as the
    incident workflow shares deliveries: never producers of record, never an excused obligation)."""
    groups: dict[tuple[str, ...], list[str]] = {}

    def key(o: Obligation) -> tuple[str, ...]:
        if o.kind is ObligationKind.PRODUCER_NOTICE or o.excused:
            return (o.obligation_id,)
        return (o.kind.value, o.recipient_key)

    for o in obligations:
        laws = groups.setdefault(key(o), [])
        if _primary_law(o) not in laws:
            laws.append(_primary_law(o))
    return [o.model_copy(update={"laws_satisfied": list(groups[key(o)])}) for o in obligations]
