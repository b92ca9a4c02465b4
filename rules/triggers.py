"""The two triggers of a commissioner notice: the home state, and 250 residents — Tenn. Code Ann.
§ 56-2-1006(a)(1)–(2) and their variants by state (``rules.jurisdictions``). Pure functions,
called by ``rules.cyber.commissioner_notice``."""

from __future__ import annotations

from dataclasses import dataclass

from models.common import RuleStatus
from models.incident import AffectedState, IncidentIntake
from models.licensee import LicenseeKind
from rules.jurisdictions import (
    STATE_NAMES,
    CyberJurisdiction,
    DomicileTrigger,
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


def home_state_trigger(
    row: CyberJurisdiction, intake: IncidentIntake, affected: AffectedState | None
) -> TriggerResult | None:
    """Tenn. Code Ann. § 56-2-1006(a)(1): "(A) The licensee is domiciled in this state, in the case
    of an insurer, … or this state is the licensee's home state, in the case of an insurance
    producer …; and (B) The cybersecurity event has a reasonable likelihood of materially harming a
    consumer residing in this state or a material part of the licensee's normal operations".

    Variants by row: the NAIC model needs (A) only (the broadest reading, applied where a state's
    wording is not verified); Iowa needs (A) and notice to a government body required or harm.
    """
    licensee = intake.licensee
    if licensee.home_jurisdiction != row.state:
        return None
    consumer_harm = affected is not None and affected.consumers > 0 and affected.material_harm_likely
    harm = consumer_harm or intake.harms_operations
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
        if not harm and row.domicile_provision.status is not RuleStatus.VERIFIED:
            review.append(
                f"The {row.state} notice arises only under the NAIC model's wording of the home-state trigger "
                f"(being the {relation} suffices, without material harm); {name}'s exact trigger wording is not "
                "verified — the broader reading is applied."
            )
    return TriggerResult(provision=row.domicile_provision, basis=basis, review=tuple(review))


def residents_trigger(row: CyberJurisdiction, intake: IncidentIntake, affected: AffectedState | None) -> TriggerResult | None:
    """Tenn. Code Ann. § 56-2-1006(a)(2): "The licensee reasonably believes that the nonpublic
    information of two hundred fifty (250) or more consumers residing in this state is involved in
    the cybersecurity event and that the cybersecurity event is: (A) A cybersecurity event of which
    notice must be provided to a government body … pursuant to state or federal law; or (B) A
    cybersecurity event with a reasonable likelihood of materially harming a consumer residing in
    this state or a material part of the licensee's normal operations."

    Variant: Virginia reads "≥ 250 residents OR notice required under another law".
    """
    if affected is None:
        return None
    name = STATE_NAMES[row.state]
    many = affected.consumers >= row.residents_threshold
    government = affected.other_government_notice_required
    harm = (affected.consumers > 0 and affected.material_harm_likely) or intake.harms_operations
    count = f"{affected.consumers:,} consumers residing in {name}"
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
