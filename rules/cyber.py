"""Obligations after a cybersecurity event: which notices, for whom, by when, under which section.

Reads like Tenn. Code Ann. § 56-2-1006 (the seed), one function per trigger or duty, generalised
over the jurisdiction table (``rules.jurisdictions``): a verified row applies its own clock; a
reported or unlisted state gets the strictest known clock (72 hours) and ``needs_counsel_review``.

Entry point: :func:`compute_obligations`. Pure and deterministic — no I/O, no wall clock; the
determination time is an input — so workflow code may call it directly.
"""

from __future__ import annotations

import datetime as dt

from models.common import Clock, RuleStatus
from models.incident import AffectedState, EventSource, IncidentIntake
from models.licensee import DeadlinePolicy, LicenseeKind
from models.obligation import (
    ClockStart,
    Obligation,
    ObligationKind,
    ObligationsResult,
    Reason,
    RecipientRole,
)
from rules.calendar import deadline
from rules.classification import classify_event, involves_consumer_npi
from rules.consumer_method import (
    CITE_LAW_ENFORCEMENT,
    CITE_METHOD,
    CITE_SUBSTITUTE,
    apply_law_enforcement_delay,
    consumer_notice_method,
    consumer_notice_required,
    individual_notice_method,
    substitute_notice_triggers,
)
from rules.errors import RuleInputError
from rules.general_law import (
    general_law_obligations,
    governs_consumer_notice,
    not_an_event_reasons,
    with_laws_satisfied,
)
from rules.exemptions import size_exemption_effect, size_exemption_reason
from rules.jurisdictions import (
    CYBER_JURISDICTIONS,
    STRICTEST_KNOWN_CLOCK,
    ClockOrigin,
    CyberJurisdiction,
    Provision,
    consumer_notice_citation,
    jurisdiction_for,
    tennessee_rule_applied,
)
from rules.obligation_draft import Context as _Context
from rules.obligation_draft import Draft as _Draft
from rules.obligation_draft import (
    applied_to,
    join_citations,
    weaker_status,
)
from rules.obligation_draft import assemble as _obligation
from rules.obligation_draft import determination_start as _determination_start
from rules.obligation_draft import flag_unverified_sections as _flag_unverified_sections
from rules.obligation_draft import state_name as _name
from rules.obligation_draft import zone_of as _zone
from rules.report_checklist import REPORT_ITEMS, commissioner_report_items
from rules.state_reach import (
    applicable_states,
    commissioner_out_of_reach,
    no_obligation_reason,
    state_law_excluded,
    unverified_reason,
)
from rules.triggers import (
    TriggerResult,
    covered_entity_trigger,
    home_state_trigger,
    licensee_scope,
    residents_trigger,
)

_unverified_reason = unverified_reason

#: The public names, with those re-exported from the modules split off this one (rules.registry,
#: rules.report_items and callers name them here).
__all__ = [
    "ASSUMING_INSURER_NO_OTHER_NOTICE", "CITE_LAW_ENFORCEMENT", "CITE_METHOD", "CITE_SUBSTITUTE",
    "NOTICE_METHOD_REVIEW", "REPORT_ITEMS", "RULE_BUSINESS_DAYS", "RULE_DETERMINATION_ASSUMED",
    "RULE_STRICTEST_CLOCK", "TriggerResult", "applicable_states", "applied_to", "apply_law_enforcement_delay",
    "assuming_insurer_notices", "commissioner_clock_start", "commissioner_notice", "commissioner_out_of_reach",
    "commissioner_report_items", "compute_obligations", "consumer_notice", "consumer_notice_method",
    "consumer_notice_required",
    "covered_entity_trigger", "home_state_trigger", "individual_notice_method", "join_citations", "licensee_scope",
    "no_obligation_reason", "producer_notice", "reported_clock_due", "residents_trigger", "size_exemption_effect",
    "size_exemption_reason", "state_law_excluded", "substitute_notice_triggers", "tpsp_clock_start",
    "unverified_reason", "weaker_status",
]  # fmt: skip

_TN = CYBER_JURISDICTIONS["TN"]
#: Tenn. Code Ann. § 56-2-1006(e)(3): "a licensee acting as assuming insurer has no other notice
#: obligations relating to a cybersecurity event under this section".
ASSUMING_INSURER_NO_OTHER_NOTICE = Provision(
    rule_id="tn.ceding_insurer_notice.no_other_notice",
    citation="Tenn. Code Ann. § 56-2-1006(e)(3)",
    status=RuleStatus.VERIFIED,
    summary="An assuming insurer has no other notice obligation: no consumer, producer or other-state commissioner notice.",
)

NOTICE_METHOD_REVIEW = "Notice method"

#: Rule ids of the engine's own interpretations (see rules.registry).
RULE_STRICTEST_CLOCK = "engine.unverified.strictest_clock"
RULE_DETERMINATION_ASSUMED = "engine.determination.assumed_at_discovery"
RULE_BUSINESS_DAYS = "engine.calendar.business_days"


# ============================================================================================
# Clock starts
# ============================================================================================


def tpsp_clock_start(intake: IncidentIntake, determined_at: dt.datetime | None) -> tuple[dt.datetime, ClockStart]:
    """Tenn. Code Ann. § 56-2-1006(d)(2): for an event in a third-party service provider's system,
    the time limitations of subsection (a) "begin running when the third-party service provider
    notifies the licensee of the cybersecurity event or the licensee otherwise gains actual knowledge
    of the cybersecurity event, whichever is sooner".

    A recorded determination implies actual knowledge, so it bounds the start from above.
    """
    candidates: list[tuple[dt.datetime, ClockStart]] = []
    if intake.tpsp_notified_at is not None:
        candidates.append((intake.tpsp_notified_at, ClockStart.TPSP_NOTICE))
    if intake.actual_knowledge_at is not None:
        candidates.append((intake.actual_knowledge_at, ClockStart.ACTUAL_KNOWLEDGE))
    if determined_at is not None:
        candidates.append((determined_at, ClockStart.ACTUAL_KNOWLEDGE))
    if not candidates:
        raise RuleInputError(
            "tpsp_notified_at",
            "tpsp_notified_at or actual_knowledge_at is required for a third-party service provider event",
        )
    return min(candidates, key=lambda c: c[0])


def commissioner_clock_start(ctx: _Context, row: CyberJurisdiction | None = None) -> tuple[dt.datetime, ClockStart]:
    """Tenn. Code Ann. § 56-2-1006(a) and (d)(2): the determination, or for a TPSP event the
    earlier of the provider's notice and the licensee's actual knowledge.

    By the row's ``clock_origin``: NY (23 NYCRR 500.17) "72 hours after determining", also for an incident at a
    provider; VT (9 V.S.A. § 2435) "of knowing or reasonably believing a resident was affected" — the earliest
    moment the licensee knew of the event (discovery, the provider's notice, actual knowledge, the determination)."""
    origin = row.clock_origin if row is not None else ClockOrigin.DETERMINATION
    if origin is ClockOrigin.KNOWLEDGE:
        intake = ctx.intake
        moments = [
            (moment, kind)
            for moment, kind in (
                (intake.discovered_at, ClockStart.DISCOVERY),
                (intake.tpsp_notified_at, ClockStart.TPSP_NOTICE),
                (intake.actual_knowledge_at, ClockStart.ACTUAL_KNOWLEDGE),
                (None if ctx.determination_assumed else ctx.determined_at, ClockStart.DETERMINATION),
            )
            if moment is not None
        ]
        return min(moments, key=lambda m: m[0])
    if origin is ClockOrigin.DETERMINATION and ctx.intake.source is EventSource.THIRD_PARTY_SERVICE_PROVIDER:
        recorded = None if ctx.determination_assumed else ctx.determined_at
        return tpsp_clock_start(ctx.intake, recorded)
    return ctx.determined_at, (
        ClockStart.ASSUMED_AT_DISCOVERY if ctx.determination_assumed else ClockStart.DETERMINATION
    )



# ============================================================================================
# Obligation assembly
# ============================================================================================


def reported_clock_due(
    ctx: _Context, row: CyberJurisdiction, start: dt.datetime, tpsp: bool, reported: Clock | None = None
) -> tuple[Clock | None, dt.datetime | None]:
    """For a reported row: the clock as reported (``reported``: a duty's own, e.g. IN's assuming-insurer clock;
    else the row's) and the deadline it would give, shown next to the strictest-clock ``due`` so counsel sees
    both. The reported TPSP rule ("the day after") applies to third-party service provider events only."""
    clock = reported or row.reported_clock
    if clock is None:
        return None, None
    if tpsp and row.tpsp_day_after:
        clock = clock.model_copy(update={"starts_day_after": True})
    return clock, deadline(start, clock, row.state, ctx.policy, _zone(ctx, row.state))


def commissioner_notice(ctx: _Context, row: CyberJurisdiction, consumer_notice_here: bool) -> Obligation | None:
    """Commissioner notice under the row's law when the law reaches the licensee (``licensee_scope``: RI domestic
    insurers only) and a trigger of § 56-2-1006(a) — or the row's variant — is met. Size exemptions that do not
    remove notice are noted, those that could are flagged (a known size below a verified threshold has already
    removed the state: ``state_law_excluded``); reported parts of the rule (VT § 2435(b)(3)) are flagged."""
    affected = ctx.intake.affected_in(row.state)
    scope = licensee_scope(row, ctx.intake.licensee)
    if not scope.in_scope:
        return None
    fired = [t for t in (home_state_trigger(row, ctx.intake, affected), residents_trigger(row, ctx.intake, affected)) if t]
    if not fired:
        return None
    draft = _Draft(notes=list(row.notes))
    for reason in scope.review:
        draft.flag(reason)
    for trigger in fired:
        draft.apply(trigger.provision)
        for reason in trigger.review:
            draft.flag(reason)
    if not row.is_verified:
        draft.flag(_unverified_reason(row, "commissioner-notice"))
    _apply_size_exemptions(draft, row, ctx)
    for reported_rule in row.reported_rules:
        draft.apply(reported_rule)
        draft.flag(reported_rule.summary)
    clock = row.commissioner.clock or STRICTEST_KNOWN_CLOCK
    start, start_kind = commissioner_clock_start(ctx, row)
    if row.clock_origin is ClockOrigin.KNOWLEDGE:
        draft.flag(
            f"{row.commissioner.citation}: the {clock.describe()} run from knowing or reasonably believing a "
            f"{_name(row.state)} resident was affected; the engine starts them at the earliest moment the licensee "
            f"knew of the event ({start.isoformat()}) — counsel confirms when it learned that residents were affected."
        )
    tpsp = ctx.intake.source is EventSource.THIRD_PARTY_SERVICE_PROVIDER
    tpsp_rule = (row.tpsp or _TN.tpsp) if tpsp else None
    draft.apply(tpsp_rule)
    draft.apply(row.report_items)
    draft.apply(row.material_updates)
    _flag_unverified_sections(draft, row.state, tpsp_rule, row.report_items, row.material_updates)
    reported_clock, reported_due = reported_clock_due(ctx, row, start, tpsp)
    return _obligation(
        ctx,
        kind=ObligationKind.COMMISSIONER_NOTICE,
        state=row.state,
        recipient=RecipientRole.COMMISSIONER,
        recipient_key=f"commissioner:{row.state}",
        recipient_name=row.regulator,
        primary=row.commissioner,
        draft=draft,
        clock=clock,
        start=start,
        start_kind=start_kind,
        basis=" ".join(t.basis for t in fired),
        reported_clock=reported_clock,
        reported_due=reported_due,
        report_items=commissioner_report_items(ctx.intake, row.state, consumer_notice_here),
        continuing_updates=True,
    )


def _apply_size_exemptions(draft: _Draft, row: CyberJurisdiction, ctx: _Context) -> None:
    """The row's size exemptions on an obligation that stays (``rules.exemptions``)."""
    effect = size_exemption_effect(row, ctx.intake.licensee)
    for provision in effect.provisions:
        draft.apply(provision)
    for reason in effect.review:
        draft.flag(reason)
    draft.notes.extend(n for n in effect.notes if n not in draft.notes)


def consumer_notice(ctx: _Context, row: CyberJurisdiction, affected: AffectedState) -> Obligation | None:
    """Tenn. Code Ann. § 56-2-1006(c): consumer notice where material harm to a consumer is likely,
    with the state's clock (TN 45 days, DE 60 days; strictest known clock where not verified).

    Where the state's general breach law governs consumer notice (``rules.general_law``: the act has no
    verified consumer clock of its own), that law's notice is the one owed: the act's unverified fallback is
    not also produced."""
    if not consumer_notice_required(ctx.intake, affected):
        return None
    if governs_consumer_notice(ctx, row) is not None:
        return None
    draft = _Draft(notes=list(row.notes))
    name = _name(row.state)
    if row.consumer is not None and row.is_verified:
        primary, clock = row.consumer, row.consumer.clock or STRICTEST_KNOWN_CLOCK
    else:
        primary = Provision(
            rule_id=RULE_STRICTEST_CLOCK,
            citation=consumer_notice_citation(row.state),
            status=RuleStatus.INTERPRETATION if row.is_verified else RuleStatus.REPORTED,
            clock=STRICTEST_KNOWN_CLOCK,
        )
        clock = STRICTEST_KNOWN_CLOCK
        if row.reported_consumer_rule is not None:
            draft.apply(row.reported_consumer_rule)
            draft.flag(
                f"{row.state} consumer-notice rule is reported, not verified ({row.reported_consumer_rule.summary}): "
                f"the strictest known clock ({STRICTEST_KNOWN_CLOCK.describe()}) applies until counsel confirms."
            )
        elif row.state in CYBER_JURISDICTIONS:
            draft.flag(
                f"{name}'s consumer-notice clock is not verified in the jurisdiction table: the strictest known "
                f"clock ({STRICTEST_KNOWN_CLOCK.describe()}) applies until counsel confirms."
            )
        else:
            draft.flag(_unverified_reason(row, "consumer-notice"))
    if not ctx.consumer_npi:
        draft.flag(
            "Affected consumers are listed but no consumer data element (RSMo § 375.1402(12)(b)–(c)) is recorded: "
            "confirm whose nonpublic information was acquired."
        )
    start, start_kind = _determination_start(ctx)
    tz = _zone(ctx, row.state)
    method, substitute, method_basis = consumer_notice_method(affected)
    assert _TN.substitute is not None
    draft.apply(applied_to(_TN.substitute, row.state))
    if substitute is not None and row.state != "TN":
        substitute = substitute.model_copy(update={"citation": tennessee_rule_applied(substitute.citation, row.state)})
    if row.state != "TN":
        draft.flag(
            f"{NOTICE_METHOD_REVIEW} chosen with the thresholds of {CITE_METHOD} "
            f"($250,000 / 500,000 persons); {name}'s own substitute-notice rule is not verified."
        )
    provisional = _obligation(
        ctx,
        kind=ObligationKind.CONSUMER_NOTICE,
        state=row.state,
        recipient=RecipientRole.CONSUMERS,
        recipient_key=f"consumers:{row.state}",
        recipient_name=f"{affected.consumers:,} affected consumers residing in {name}",
        primary=primary,
        draft=draft,
        clock=clock,
        start=start,
        start_kind=start_kind,
        basis=f"The event has a reasonable likelihood of materially harming the {affected.consumers:,} consumers "
        f"residing in {name} whose nonpublic information was acquired or is reasonably believed to have been.",
        method=method,
        method_basis=method_basis,
        substitute_notice=substitute,
        copy_to=row.consumer_copy_to,
    )
    due, delayed = apply_law_enforcement_delay(provisional.due, ctx.intake, tz)
    if not delayed:
        return provisional
    assert _TN.law_enforcement_delay is not None
    draft.apply(applied_to(_TN.law_enforcement_delay, row.state))
    if row.state != "TN":
        draft.flag(
            f"Law-enforcement delay applied as under {CITE_LAW_ENFORCEMENT}; "
            f"confirm {name}'s rule."
        )
    return provisional.model_copy(
        update={
            "due": due,
            "law_enforcement_delay_until": due,
            "citation": draft.citation(),
            "rule_ids": draft.rule_ids(),
            "status": draft.status,
            "needs_counsel_review": bool(draft.review),
            "counsel_review_reasons": list(draft.review),
            "basis": provisional.basis + " The deadline is extended to the end of the documented law-enforcement delay.",
        }
    )


def producer_notice(ctx: _Context, row: CyberJurisdiction, affected: AffectedState, consumer: Obligation) -> Obligation | None:
    """Tenn. Code Ann. § 56-2-1006(f): "the insurer shall notify the producers of record of all
    affected consumers, if known, as soon as practicable, but not later than when such notice is
    provided to the affected consumers. The insurer is excused from this obligation in those
    instances in which the insurer does not have the current producer of record information"."""
    if ctx.intake.licensee.kind is not LicenseeKind.INSURER:
        return None
    draft = _Draft(notes=list(row.notes))
    tn_rule = _TN.producer
    assert tn_rule is not None
    primary = row.producer or applied_to(tn_rule, row.state)
    for reason in consumer.counsel_review_reasons:
        if not reason.startswith(NOTICE_METHOD_REVIEW):
            draft.flag(reason)
    if row.producer is None:
        draft.flag(
            f"Producer-notice timing ('not later than the consumer notice') is verified for TN "
            f"({tn_rule.citation}); it is applied to {row.state} until counsel confirms."
        )
    elif not row.is_verified:
        draft.flag(f"{row.state} producer-notice rule is reported, not verified ({primary.summary}).")
    excused = not affected.producers_of_record_known
    draft.apply(primary)
    draft.apply(applied_to(tn_rule, row.state))
    return Obligation(
        obligation_id=f"{ctx.intake.incident_id}:{ObligationKind.PRODUCER_NOTICE.value}:{row.state}:producers_of_record",
        kind=ObligationKind.PRODUCER_NOTICE,
        jurisdiction=row.state,
        recipient=RecipientRole.PRODUCERS_OF_RECORD,
        recipient_key="producers_of_record",
        recipient_name=f"producers of record of the affected consumers residing in {_name(row.state)}",
        due=consumer.due,
        clock=consumer.clock,
        clock_starts_at=consumer.clock_starts_at,
        clock_start=consumer.clock_start,
        citation=draft.citation(),
        basis="The licensee is an insurer and consumer notice is required: the producers of record are notified "
        "as soon as practicable and no later than the consumer notice.",
        rule_id=primary.rule_id,
        rule_ids=draft.rule_ids(),
        status=weaker_status(draft.status, consumer.status),
        needs_counsel_review=bool(draft.review),
        counsel_review_reasons=list(draft.review),
        law_enforcement_delay_until=consumer.law_enforcement_delay_until,
        excused=excused,
        excused_reason=(
            "The insurer does not have current producer-of-record information for these consumers."
            if excused
            else None
        ),
        notes=list(draft.notes),
    )


def assuming_insurer_notices(ctx: _Context, row: CyberJurisdiction) -> list[Obligation]:
    """Tenn. Code Ann. § 56-2-1006(e): an assuming insurer without a direct contractual relationship
    with the affected consumers "shall notify the affected ceding insurers and the commissioner of
    the licensee's state of domicile within three (3) business days" of the determination ((e)(1)),
    or of the TPSP's notice or its actual knowledge, whichever is sooner ((e)(2)); "(3) … a licensee
    acting as assuming insurer has no other notice obligations"."""
    intake = ctx.intake
    domicile = intake.licensee.domicile_state
    tpsp = intake.source is EventSource.THIRD_PARTY_SERVICE_PROVIDER
    start, start_kind = commissioner_clock_start(ctx) if tpsp else _determination_start(ctx)
    obligations: list[Obligation] = []
    for kind, recipient, key, name in (
        (
            ObligationKind.CEDING_INSURER_NOTICE,
            RecipientRole.CEDING_INSURERS,
            "ceding_insurers",
            "the affected ceding insurers",
        ),
        (
            ObligationKind.COMMISSIONER_NOTICE,
            RecipientRole.COMMISSIONER,
            f"commissioner:{domicile}",
            jurisdiction_for(domicile, ctx.law_date(domicile)).regulator + " (state of domicile)",
        ),
    ):
        draft = _Draft(notes=list(row.notes))
        tn_rule = _TN.assuming_insurer
        assert tn_rule is not None
        sub = "(e)(2)" if tpsp else "(e)(1)"
        tn_specific = Provision(
            rule_id=tn_rule.rule_id,
            citation=f"{tn_rule.citation.removesuffix('(e)')}{sub}",
            status=tn_rule.status,
            clock=tn_rule.clock,
        )
        own = row.assuming_insurer if row.state != "TN" else None
        reported: Clock | None = None
        if row.state == "TN":
            primary, clock = tn_specific, tn_rule.clock or STRICTEST_KNOWN_CLOCK
        elif own is not None and own.status is RuleStatus.VERIFIED:
            # IL: "assuming insurer 3 business days" — the state's own verified clock.
            primary, clock = own, own.clock or STRICTEST_KNOWN_CLOCK
        elif own is not None:
            # IN, HI: the assuming-insurer clock is reported (3 business days): strictest clock, shown next to it.
            draft.apply(applied_to(tn_specific, row.state))
            primary, clock, reported = own, STRICTEST_KNOWN_CLOCK, own.clock
            draft.flag(
                f"{row.state} assuming-insurer clock is reported, not verified (reported: "
                f"{own.clock.describe() if own.clock else 'clock unread'}, {own.citation}): the strictest known clock "
                f"({STRICTEST_KNOWN_CLOCK.describe()}) applies until counsel confirms."
            )
        else:
            draft.apply(applied_to(tn_specific, row.state))
            primary, clock = row.commissioner, row.commissioner.clock or STRICTEST_KNOWN_CLOCK
            if row.is_verified:
                draft.flag(
                    f"The assuming-insurer duty is common to the adopters; its clock is verified for TN only — "
                    f"{row.state}'s commissioner-notice clock ({clock.describe()}) is applied until counsel confirms."
                )
            else:
                draft.flag(_unverified_reason(row, "assuming-insurer"))
        tpsp_rule = (row.tpsp or _TN.tpsp) if tpsp else None
        draft.apply(tpsp_rule)
        no_other_notice = applied_to(ASSUMING_INSURER_NO_OTHER_NOTICE, row.state)
        draft.apply(no_other_notice)
        _apply_size_exemptions(draft, row, ctx)
        if kind is ObligationKind.COMMISSIONER_NOTICE:
            _flag_unverified_sections(draft, row.state, tpsp_rule, jurisdiction_for(domicile).report_items)
        elif own is not None and own.status is RuleStatus.VERIFIED:
            # The state's clock is verified; "no other notice" is Tennessee's (e)(3), applied and marked.
            _flag_unverified_sections(draft, row.state, no_other_notice)
        reported_clock, reported_due = reported_clock_due(ctx, row, start, tpsp, reported)
        affected = intake.affected_in(row.state)
        who = f"{affected.consumers:,} consumers residing in {_name(row.state)}" if affected else "consumers"
        obligations.append(
            _obligation(
                ctx,
                kind=kind,
                state=row.state,
                recipient=recipient,
                recipient_key=key,
                recipient_name=name,
                primary=primary,
                draft=draft,
                clock=clock,
                start=start,
                start_kind=start_kind,
                basis=f"The licensee acts as an assuming insurer without a direct contractual relationship with the "
                f"affected {who}: it notifies the affected ceding insurers and the commissioner of its state of "
                f"domicile ({domicile}), and gives no consumer notice of its own.",
                reported_clock=reported_clock,
                reported_due=reported_due,
                report_items=(
                    commissioner_report_items(intake, domicile, False)
                    if kind is ObligationKind.COMMISSIONER_NOTICE
                    else None
                ),
                continuing_updates=kind is ObligationKind.COMMISSIONER_NOTICE,
            )
        )
    return obligations


# ============================================================================================
# Entry point
# ============================================================================================


def compute_obligations(
    intake: IncidentIntake,
    *,
    determined_at: dt.datetime | None = None,
    policy: DeadlinePolicy | None = None,
) -> ObligationsResult:
    """Every obligation the event creates, per jurisdiction, with due instant and citation.

    ``determined_at`` overrides the intake's determination (e.g. a workflow update recording it);
    ``policy`` overrides the licensee's deadline policy. Obligations are sorted by due instant.
    """
    if determined_at is not None and determined_at.tzinfo is None:
        raise RuleInputError("determined_at", "must include a UTC offset, e.g. 2025-03-07T16:30:00-06:00")
    determination = determined_at or intake.determined_at
    if determination is not None and determination < intake.discovered_at:
        raise RuleInputError(
            "determined_at",
            f"{determination.isoformat()} is before discovered_at {intake.discovered_at.isoformat()}",
        )
    classification = classify_event(intake)
    reasons = list(classification.reasons)
    assumed = determination is None
    ctx = _Context(
        intake=intake,
        determined_at=determination if determination is not None else intake.discovered_at,
        determination_assumed=assumed,
        policy=policy or intake.licensee.deadline_policy,
        consumer_npi=involves_consumer_npi(intake.data_elements),
    )
    if not classification.is_cybersecurity_event:
        return ObligationsResult(
            incident_id=intake.incident_id,
            is_cybersecurity_event=False,
            determined_at=determination,
            determination_assumed=False,
            nonpublic_information=classification.nonpublic_information,
            reasons=reasons + not_an_event_reasons(ctx),
            obligations=[],
        )
    if assumed:
        reasons.append(
            Reason(
                code="determination.assumed",
                message="No determination is recorded: clocks that run from the determination are assumed to start "
                "at discovery (the earliest possible start) and are marked for counsel review.",
            )
        )
    obligations: list[Obligation] = []
    for state in applicable_states(intake):
        # The law in force on the event's trigger date in the state's zone (rules.effective).
        row = jurisdiction_for(state, ctx.law_date(state))
        # The state's general breach law (rules.general_law) is read whatever the insurance act says.
        general, general_reasons = general_law_obligations(ctx, state)
        obligations.extend(general)
        reasons.extend(general_reasons)
        excluded = state_law_excluded(intake, row)
        if excluded is not None:
            reasons.append(excluded)
            if excluded.code.startswith("exemption.") and not general:
                # Exempt from the insurance act, not from the state's general breach law.
                general, general_reasons = general_law_obligations(ctx, state, insurance_act_exemption=excluded)
                obligations.extend(general)
                reasons.extend(general_reasons)
            continue
        if intake.licensee.kind is LicenseeKind.ASSUMING_INSURER:
            obligations.extend(assuming_insurer_notices(ctx, row))
            continue
        affected = intake.affected_in(state)
        consumer = consumer_notice(ctx, row, affected) if affected is not None else None
        # The consumer notice the producers of record must not trail: the earliest owed to these residents.
        consumers_owed = [o for o in (consumer, *general) if o is not None and o.kind is ObligationKind.CONSUMER_NOTICE]
        earliest = min(consumers_owed, key=lambda o: o.due) if consumers_owed else None
        commissioner = commissioner_notice(ctx, row, earliest is not None)
        if commissioner is not None:
            obligations.append(commissioner)
        if consumer is not None:
            obligations.append(consumer)
        if earliest is not None and affected is not None:
            producer = producer_notice(ctx, row, affected, earliest)
            if producer is not None:
                obligations.append(producer)
        if commissioner is None and earliest is None and not general:
            reasons.append(no_obligation_reason(intake, row, affected))
        elif commissioner is None and (out_of_reach := commissioner_out_of_reach(intake, row, affected)):
            reasons.append(out_of_reach)
    if intake.licensee.kind is LicenseeKind.ASSUMING_INSURER:
        reasons.append(
            Reason(
                code="assuming_insurer",
                message="The licensee acts as an assuming insurer: it notifies the ceding insurers and its domicile "
                "commissioner; the ceding insurers notify consumers.",
                citation=tennessee_rule_applied(
                    "Tenn. Code Ann. § 56-2-1006(e)(1)(B), (e)(3)", intake.licensee.domicile_state
                ),
            )
        )
    obligations.sort(key=lambda o: (o.due, o.kind.value, o.jurisdiction, o.recipient_key, o.obligation_id))
    obligations = with_laws_satisfied(obligations)
    return ObligationsResult(
        incident_id=intake.incident_id,
        is_cybersecurity_event=True,
        determined_at=determination,
        determination_assumed=assumed,
        nonpublic_information=classification.nonpublic_information,
        reasons=reasons,
        obligations=obligations,
    )
