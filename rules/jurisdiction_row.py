"""The shape of one row of the commissioner-notice table: its provisions, trigger variants, size
exemptions and the date it took effect.

The rows themselves are in ``rules.commissioner_rows`` (verified) and
``rules.commissioner_reported_rows`` (reported); ``rules.jurisdictions`` re-exports everything and
picks the row in force (``jurisdiction_for``). Pure data, no I/O.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum

from models.common import Clock, ClockUnit, RuleStatus
from rules.states import STATE_NAMES

# ============================================================================================
# Named constants shared by every row
# ============================================================================================

#: Tenn. Code Ann. § 56-2-1006(a)(2): "two hundred fifty (250) or more consumers residing in this state" —
#: the "250 rule" of JURISDICTIONS.md (AK, IL, ME, NH, OK, CT, ND and the model read the same number).
RESIDENTS_THRESHOLD = 250
#: JURISDICTIONS.md: 3 business days — AL, DE, IA, LA, MD, VA, WI, AK, IL, ME, MS, NH, OH, OK, RI (verified);
#: MO, CT, ND's older text (reported).
THREE_BUSINESS_DAYS = 3
#: JURISDICTIONS.md: SC and NY 72 hours (verified); the NAIC model and ND from SB 2088: 72 hours (reported).
SEVENTY_TWO_HOURS = 72
#: The strictest clock known to the engine, applied wherever a clock is not verified.
STRICTEST_KNOWN_CLOCK_HOURS = SEVENTY_TWO_HOURS

THREE_BUSINESS_DAYS_CLOCK = Clock(amount=THREE_BUSINESS_DAYS, unit=ClockUnit.BUSINESS_DAYS)
STRICTEST_KNOWN_CLOCK = Clock(amount=STRICTEST_KNOWN_CLOCK_HOURS, unit=ClockUnit.HOURS)

V = RuleStatus.VERIFIED
R = RuleStatus.REPORTED
I = RuleStatus.INTERPRETATION  # noqa: E741 — the status's initial, as V and R

# ============================================================================================
# Trigger variants
# ============================================================================================


class DomicileTrigger(StrEnum):
    """Wording of the home-state trigger (Tenn. Code Ann. § 56-2-1006(a)(1) and its variants)."""

    #: Being the domicile / home state suffices, without a material-harm condition: AK ("no material-harm
    #: condition"), ME ("every Maine-resident licensee"), both verified; the NAIC model's wording (§ 6A(1)),
    #: the broadest reading, where a state's wording is not verified.
    HOME_STATE = "home_state"
    #: TN (a)(1)(B), AL, and the "domicile rule" of IL, NH, OK: and a reasonable likelihood of material harm
    #: to a resident or to operations.
    HOME_STATE_AND_MATERIAL_HARM = "home_state_and_material_harm"
    #: IA, RI: and notice to a government body required, or material harm.
    HOME_STATE_AND_GOVERNMENT_NOTICE_OR_HARM = "home_state_and_government_notice_or_harm"
    #: NY (23 NYCRR 500.17): every covered entity — a licensee holding the state's licence (its domicile or home
    #: state counts) — whatever the residents affected; events at affiliates and service providers included.
    LICENSED_IN_STATE = "licensed_in_state"
    #: VT (9 V.S.A. § 2435): no home-state trigger; the residents trigger alone decides.
    NONE = "none"


class ResidentsTrigger(StrEnum):
    """Wording of the residents trigger (§ 56-2-1006(a)(2) and its variants)."""

    #: TN (a)(2), the model, the "250 rule": ≥ 250 residents and (notice to a government body required or harm).
    THRESHOLD_AND_GOVERNMENT_NOTICE_OR_HARM = "threshold_and_government_notice_or_harm"
    #: VA: ≥ 250 residents or notice required under another law.
    THRESHOLD_OR_GOVERNMENT_NOTICE = "threshold_or_government_notice"
    #: VT: "one Vermont resident is enough" — any affected resident, no further condition.
    ANY_RESIDENT = "any_resident"
    #: RI ("no 250 rule"), NY (the licence decides): no residents trigger.
    NONE = "none"


class LicenseeScope(StrEnum):
    """Which licensees a row's law reaches at all."""

    ALL = "all"
    #: RI: "domestic insurers only" — an insurer (or assuming insurer) domiciled in the state.
    DOMESTIC_INSURERS = "domestic_insurers"


class ClockOrigin(StrEnum):
    """What starts a row's commissioner-notice clock."""

    #: Tenn. Code Ann. § 56-2-1006(a), (d)(2): the determination; for an event at a third-party service
    #: provider, the provider's notice or the licensee's actual knowledge, whichever is sooner.
    DETERMINATION = "determination"
    #: NY (23 NYCRR 500.17): "72 hours after determining" — also for an event at an affiliate or a provider.
    DETERMINATION_ALWAYS = "determination_always"
    #: VT (9 V.S.A. § 2435): "of knowing or reasonably believing a resident was affected" — started at the
    #: earliest moment the licensee knew of the event (discovery, the provider's notice or actual knowledge),
    #: with counsel review.
    KNOWLEDGE = "knowledge"


class SizeMeasure(StrEnum):
    """A measure of the licensee's size, read from its profile (``models.licensee.Licensee``)."""

    EMPLOYEES = "employees"
    ANNUAL_REVENUE_USD = "annual_revenue_usd"


# ============================================================================================
# Rows
# ============================================================================================


@dataclass(frozen=True)
class Provision:
    """One encoded provision: its section, how far it is checked, and its id in the registry."""

    rule_id: str
    citation: str
    status: RuleStatus
    clock: Clock | None = None
    summary: str = ""


def provision(rule_id: str, citation: str, status: RuleStatus, clock: Clock | None = None, summary: str = "") -> Provision:
    return Provision(rule_id=rule_id, citation=citation, status=status, clock=clock, summary=summary)


@dataclass(frozen=True)
class SizeExemption:
    """A small-licensee exemption (JURISDICTIONS.md "Terms": "Exemptions that remove notice (OK verified; KY
    reported, so counsel confirms) need the licensee's size …; those that do not (MN, OH, MS) must not be
    applied to notice").

    ``removes_notice`` and a verified provision: a size known below ``below`` removes the state's act
    (``rules.exemptions``); unknown size keeps the obligation with counsel review. Reported: the obligation
    always stays, flagged with what is known. ``removes_notice=False``: a note only, never applied to notice.
    """

    provision: Provision
    #: None where the table does not say what is measured (MN, OH).
    measure: SizeMeasure | None
    #: Exempt when the measure is below this number; None where the table gives no number.
    below: int | None
    removes_notice: bool
    #: What the exemption covers, in the table's words ("the whole act", "the program sections only").
    covers: str


@dataclass(frozen=True)
class CyberJurisdiction:
    """What one state's insurance data security law requires after a cybersecurity event, in the version that
    took effect on ``effective_from``."""

    state: str
    regulator: str
    status: RuleStatus
    source: str
    commissioner: Provision
    domicile_trigger: DomicileTrigger
    domicile_provision: Provision
    residents_trigger: ResidentsTrigger
    residents_provision: Provision
    residents_threshold: int = RESIDENTS_THRESHOLD
    #: The date this version took effect (``rules.effective``); None: in force for every event handled.
    effective_from: dt.date | None = None
    licensee_scope: LicenseeScope = LicenseeScope.ALL
    size_exemptions: tuple[SizeExemption, ...] = ()
    #: The verified consumer-notice clock; None: not verified here (strictest clock + review).
    consumer: Provision | None = None
    consumer_copy_to: str | None = None
    substitute: Provision | None = None
    law_enforcement_delay: Provision | None = None
    assuming_insurer: Provision | None = None
    producer: Provision | None = None
    #: TPSP clock start: "the day after" (model, MO) or "when" (TN) notice / actual knowledge.
    tpsp: Provision | None = None
    tpsp_day_after: bool = False
    clock_origin: ClockOrigin = ClockOrigin.DETERMINATION
    report_items: Provision | None = None
    material_updates: Provision | None = None
    paper_only_excluded: Provision | None = None
    foreign_assuming_insurer_excluded: Provision | None = None
    #: For a reported row: the clock as reported (``due`` applies STRICTEST_KNOWN_CLOCK instead).
    reported_clock: Clock | None = None
    reported_consumer_rule: Provision | None = None
    #: Reported parts of the commissioner-notice rule (VT § 2435(b)(3)): applied, each flagged for counsel
    #: with its summary.
    reported_rules: tuple[Provision, ...] = ()
    #: The NAIC model fallback standing in for a state without a row in force.
    fallback: bool = False
    #: For a fallback standing in before the state's own row took effect: the date it does.
    fallback_until: dt.date | None = None
    #: JURISDICTIONS.md found no insurance data security act for the state (the general breach law governs).
    no_insurance_act: bool = False
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def name(self) -> str:
        return STATE_NAMES[self.state]

    @property
    def is_verified(self) -> bool:
        return self.status is RuleStatus.VERIFIED

    def provisions(self) -> list[tuple[str, Provision]]:
        """Every provision of the row with the attribute that holds it (for the registry)."""
        found: list[tuple[str, Provision]] = []
        for attr in (
            "commissioner", "domicile_provision", "residents_provision", "consumer", "substitute",
            "law_enforcement_delay", "assuming_insurer", "producer", "tpsp", "report_items", "material_updates",
            "paper_only_excluded", "foreign_assuming_insurer_excluded", "reported_consumer_rule",
        ):  # fmt: skip
            value: Provision | None = getattr(self, attr)
            if value is not None:
                found.append((attr, value))
        found.extend((f"size_exemptions[{i}].provision", e.provision) for i, e in enumerate(self.size_exemptions))
        found.extend((f"reported_rules[{i}]", p) for i, p in enumerate(self.reported_rules))
        return found


# ============================================================================================
# The NAIC model: cited, marked, where a state's own section is not verified
# ============================================================================================

TN_LAW = "Tenn. Code Ann. § 56-2-1006"
#: Appended to a model section cited for a state whose own section is neither in the seeds nor in
#: JURISDICTIONS.md: the citation says so, and whatever rests on it needs counsel review.
MODEL_MARK = "(model; state section not verified)"
#: NAIC #668 § 6(A): notice to the commissioner (72 hours) — the fallback's law.
MODEL_LAW = f"NAIC #668 § 6(A) {MODEL_MARK}"
#: NAIC #668 § 6(B): the items of the commissioner report (= Tenn. Code Ann. § 56-2-1006(b)(1)(A)–(N),
#: "common to all adopters (verified in several)" — JURISDICTIONS.md).
MODEL_REPORT_ITEMS = f"NAIC #668 § 6(B) {MODEL_MARK}"
#: NAIC #668 § 6(C): the continuing duty to update and supplement the report.
MODEL_MATERIAL_UPDATES = f"NAIC #668 § 6(C) {MODEL_MARK}"

MODEL_REPORT_ITEMS_PROVISION = Provision(
    rule_id="model.commissioner_notice.report_items",
    citation=MODEL_REPORT_ITEMS,
    status=RuleStatus.INTERPRETATION,
    summary="Where a state's report-content section is not verified, the commissioner report gives the items of "
    "the model (the same as Tenn. Code Ann. § 56-2-1006(b)(1)(A)–(N), common to all adopters per "
    "JURISDICTIONS.md), cites the model as such, and the obligation needs counsel review.",
)
MODEL_MATERIAL_UPDATES_PROVISION = Provision(
    rule_id="model.commissioner_notice.material_updates",
    citation=MODEL_MATERIAL_UPDATES,
    status=RuleStatus.INTERPRETATION,
    summary="Where a state's own section is not verified, the continuing duty to update and supplement the report "
    "(common to all adopters per JURISDICTIONS.md) is cited to the model, marked as such.",
)
#: NAIC #668 § 6(E) — Tennessee's (d): a third-party service provider's event is the licensee's own.
MODEL_TPSP_PROVISION = Provision(
    rule_id="model.tpsp.clock_start",
    citation=f"NAIC #668 § 6(E) {MODEL_MARK}",
    status=RuleStatus.INTERPRETATION,
    summary="Where a state's section is not verified, a third-party service provider's event counts as the "
    "licensee's own (common to all adopters, JURISDICTIONS.md) and its clock runs from the provider's notice or "
    "the licensee's actual knowledge, whichever is sooner — Tennessee's reading, the earlier of the two; the "
    "obligation needs counsel review.",
)
#: The model's trigger wording, applied where a state's own wording is not verified.
MODEL_TRIGGERS_RULE_ID = "model.commissioner_notice.triggers"
