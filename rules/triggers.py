"""Who must notify the commissioner: the licensee's reach of the row's law, the home-state trigger and the
residents trigger — Tenn. Code Ann. § 56-2-1006(a)(1)–(2) and their variants by state (``rules.jurisdictions``:
``LicenseeScope``, ``DomicileTrigger``, ``ResidentsTrigger``). Pure functions, called by
``rules.cyber.commissioner_notice``; a variant is a row's data, never a state named here.
"""

from __future__ import annotations

from dataclasses import dataclass

from models.common import RuleStatus
from models.incident import AffectedState, IncidentIntake
from models.licensee import Licensee, LicenseeKind
from rules.jurisdiction_row import MODEL_TRIGGERS_RULE_ID
from rules.jurisdictions import (
    STATE_NAMES,
    CyberJurisdiction,
    DomicileTrigger,
    LicenseeScope,
    Provision,
    ResidentsTrigger,
)

# ============================================================================================
# Commissioner notice — triggers
# ============================================================================================


@dataclass(frozen=True)
class TriggerResult:
    provision: Provision
    basis: str
    review: tuple[str, ...] = ()


@dataclass(frozen=True)
class ScopeResult:
    """Whether the row's law reaches the licensee at all, and what counsel must confirm about it."""

    in_scope: bool
    review: tuple[str, ...] = ()


_INSURER_KINDS = (LicenseeKind.INSURER, LicenseeKind.ASSUMING_INSURER)


def licensee_scope(row: CyberJurisdiction, licensee: Licensee) -> ScopeResult:
    """The licensees a row's law reaches. RI (R.I. Gen. Laws § 27-1-47, JURISDICTIONS.md): "**domestic insurers
    only**" — an insurer (or assuming insurer) domiciled in the state. A licensee of kind 'other' domiciled there
    is kept, with counsel review: the engine cannot tell whether it is an insurer."""
    if row.licensee_scope is LicenseeScope.ALL:
        return ScopeResult(True)
    if licensee.domicile_state != row.state or licensee.kind is LicenseeKind.PRODUCER:
        return ScopeResult(False)
    if licensee.kind in _INSURER_KINDS:
        return ScopeResult(True)
    return ScopeResult(
        True,
        (
            f"{row.domicile_provision.citation} reaches domestic insurers only; the licensee's kind is 'other' and it "
            f"is domiciled in {STATE_NAMES[row.state]}: counsel confirms whether it is a domestic insurer.",
        ),
    )


def _harm(intake: IncidentIntake, affected: AffectedState | None) -> tuple[bool, bool]:
    """(consumer harm, any harm): a reasonable likelihood of materially harming a resident consumer, or a
    material part of the licensee's normal operations."""
    consumer_harm = affected is not None and affected.consumers > 0 and affected.material_harm_likely
    return consumer_harm, consumer_harm or intake.harms_operations


def home_state_trigger(
    row: CyberJurisdiction, intake: IncidentIntake, affected: AffectedState | None
) -> TriggerResult | None:
    """Tenn. Code Ann. § 56-2-1006(a)(1): "(A) The licensee is domiciled in this state, in the case of an insurer,
    … or this state is the licensee's home state, in the case of an insurance producer …; and (B) The
    cybersecurity event has a reasonable likelihood of materially harming a consumer residing in this state or a
    material part of the licensee's normal operations".

    Variants by row: (A) alone — AK ("no material-harm condition"), ME ("every Maine-resident licensee"), both
    verified, and the NAIC model's wording where a state's is not verified (the broadest reading, with counsel
    review when only it makes the notice arise); (A) and government notice or harm — IA, RI; the licence instead
    of the domicile — NY (:func:`covered_entity_trigger`); no home-state trigger — VT.
    """
    if row.domicile_trigger is DomicileTrigger.NONE:
        return None
    if row.domicile_trigger is DomicileTrigger.LICENSED_IN_STATE:
        return covered_entity_trigger(row, intake, affected)
    licensee = intake.licensee
    if licensee.home_jurisdiction != row.state:
        return None
    consumer_harm, harm = _harm(intake, affected)
    government = affected is not None and affected.other_government_notice_required
    relation = "home state" if licensee.kind is LicenseeKind.PRODUCER else "state of domicile"
    name = STATE_NAMES[row.state]
    review: list[str] = []
    if licensee.kind is LicenseeKind.OTHER:
        review.append(
            f"§ 56-2-1006(a)(1) names insurers (domicile) and producers (home state); for a licensee of kind "
            f"'other' {name} as its state of domicile is assumed."
        )
    harm_text = (
        "a reasonable likelihood of materially harming a consumer residing there"
        if consumer_harm
        else "a reasonable likelihood of materially harming a material part of the licensee's normal operations"
    )
    if row.domicile_trigger is DomicileTrigger.HOME_STATE_AND_MATERIAL_HARM:
        if not harm:
            return None
        basis = f"{name} is the licensee's {relation} and the event has {harm_text}."
    elif row.domicile_trigger is DomicileTrigger.HOME_STATE_AND_GOVERNMENT_NOTICE_OR_HARM:
        if not (harm or government):
            return None
        why = harm_text if harm else "a required notice to another government body"
        basis = f"{name} is the licensee's {relation} and the event involves {why}."
    else:
        basis = f"{name} is the licensee's {relation}."
        provision = row.domicile_provision
        if provision.status is RuleStatus.VERIFIED:
            basis += f" Under {provision.citation} that suffices, without a material-harm condition."
        elif not harm and provision.rule_id == MODEL_TRIGGERS_RULE_ID:
            review.append(
                f"The {row.state} notice arises only under the NAIC model's wording of the home-state trigger "
                f"(being the {relation} suffices, without material harm); {name}'s exact trigger wording is not "
                "verified — the broader reading is applied."
            )
        elif not harm:
            review.append(
                f"The {row.state} notice arises only under the broader reading of the home-state trigger (being the "
                f"{relation} suffices, without material harm); {name}'s trigger wording is reported "
                f"({provision.citation}), not verified — the broader reading is applied until counsel confirms."
            )
    return TriggerResult(provision=row.domicile_provision, basis=basis, review=tuple(review))


def covered_entity_trigger(
    row: CyberJurisdiction, intake: IncidentIntake, affected: AffectedState | None
) -> TriggerResult | None:
    """23 NYCRR 500.17 (JURISDICTIONS.md, NY, verified (72 h)): "a different regime (DFS): every covered entity,
    incl. events at affiliates and third-party service providers". A covered entity holds the state's licence:
    ``licensed_states`` lists it, or it is the licensee's domicile or home state. Licences unknown
    (``licensed_states`` absent) and residents affected: the notice stands, with counsel review — never a silent
    no."""
    licensee = intake.licensee
    name = STATE_NAMES[row.state]
    how: str | None = None
    if row.state in (licensee.home_jurisdiction, licensee.domicile_state, licensee.home_state):
        how = f"{name} is its state of domicile or home state"
    elif licensee.licensed_states is not None and row.state in licensee.licensed_states:
        how = f"its licensed_states list {row.state}"
    if how is not None:
        return TriggerResult(
            provision=row.domicile_provision,
            basis=f"The licensee holds a {name} licence ({how}): a covered entity under {row.commissioner.citation}, "
            "whose notice covers events at the entity, its affiliates and its third-party service providers.",
        )
    if licensee.licensed_states is not None or affected is None or affected.consumers == 0:
        return None
    return TriggerResult(
        provision=row.domicile_provision,
        basis=f"{affected.consumers:,} consumers residing in {name} are affected and the licensee may be a covered "
        f"entity under {row.commissioner.citation} (a holder of a {name} licence).",
        review=(
            f"Whether the licensee holds a {name} licence — a covered entity under {row.commissioner.citation} — is not "
            f"known: licensed_states is not in its profile and {affected.consumers:,} {name} residents are affected. "
            "The notice stands until counsel confirms; record licensed_states on the profile.",
        ),
    )


def residents_trigger(row: CyberJurisdiction, intake: IncidentIntake, affected: AffectedState | None) -> TriggerResult | None:
    """Tenn. Code Ann. § 56-2-1006(a)(2): "The licensee reasonably believes that the nonpublic information of two
    hundred fifty (250) or more consumers residing in this state is involved in the cybersecurity event and that
    the cybersecurity event is: (A) A cybersecurity event of which notice must be provided to a government body …
    pursuant to state or federal law; or (B) A cybersecurity event with a reasonable likelihood of materially
    harming a consumer residing in this state or a material part of the licensee's normal operations."

    Variants: VA reads "≥ 250 residents OR notice required under another law"; VT "one Vermont resident is
    enough"; RI ("no 250 rule") and NY have none.
    """
    if affected is None or row.residents_trigger is ResidentsTrigger.NONE:
        return None
    name = STATE_NAMES[row.state]
    count = f"{affected.consumers:,} consumers residing in {name}"
    if row.residents_trigger is ResidentsTrigger.ANY_RESIDENT:
        if affected.consumers < max(1, row.residents_threshold):
            return None
        return TriggerResult(
            provision=row.residents_provision,
            basis=f"The nonpublic information of {count} is involved; under {row.residents_provision.citation} one "
            "resident is enough.",
        )
    many = affected.consumers >= row.residents_threshold
    government = affected.other_government_notice_required
    _, harm = _harm(intake, affected)
    if row.residents_trigger is ResidentsTrigger.THRESHOLD_OR_GOVERNMENT_NOTICE:
        if not (many or government):
            return None
        if many:
            basis = f"The nonpublic information of {count} (at least {row.residents_threshold}) is involved."
        else:
            basis = f"Notice of the event must be given under another law, and {count} are involved."
        return TriggerResult(provision=row.residents_provision, basis=basis)
    if not many or not (government or harm):
        return None
    why = (
        "notice must be given to another government body"
        if government
        else "the event has a reasonable likelihood of material harm"
    )
    basis = f"The nonpublic information of {count} (at least {row.residents_threshold}) is involved and {why}."
    return TriggerResult(provision=row.residents_provision, basis=basis)


def trigger_requirements(row: CyberJurisdiction) -> str:
    """What the row's commissioner notice needs, in words (for the reason given when none arises)."""
    needs: list[str] = []
    if row.licensee_scope is LicenseeScope.DOMESTIC_INSURERS:
        needs.append("a domestic insurer (it reaches domestic insurers only)")
    home = {
        DomicileTrigger.HOME_STATE: "the home-state trigger",
        DomicileTrigger.HOME_STATE_AND_MATERIAL_HARM: "the home-state trigger with material harm",
        DomicileTrigger.HOME_STATE_AND_GOVERNMENT_NOTICE_OR_HARM: "the home-state trigger with a government notice "
        "or material harm",
        DomicileTrigger.LICENSED_IN_STATE: f"a licensee holding a {STATE_NAMES[row.state]} licence (a covered entity)",
        DomicileTrigger.NONE: "",
    }[row.domicile_trigger]
    residents = {
        ResidentsTrigger.THRESHOLD_AND_GOVERNMENT_NOTICE_OR_HARM: f"at least {row.residents_threshold} residents with "
        "a government notice or material harm",
        ResidentsTrigger.THRESHOLD_OR_GOVERNMENT_NOTICE: f"at least {row.residents_threshold} residents or a "
        "government notice",
        ResidentsTrigger.ANY_RESIDENT: "at least one affected resident",
        ResidentsTrigger.NONE: "",
    }[row.residents_trigger]
    either = " or ".join(part for part in (home, residents) if part)
    return " and ".join(part for part in (*needs, either) if part)
