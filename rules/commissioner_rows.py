"""The verified rows of the commissioner-notice table, and the table itself (every version of every row).

Numbers live here and in the modules this one reads (``rules.jurisdiction_row`` for the shared ones,
``rules.commissioner_reported_rows`` for the reported rows), as named constants; the rule functions read them
through the rows. Rows come from ``JURISDICTIONS.md`` ("Commissioner notice after a cybersecurity event" and its
"Terms") and the seed texts, cited as the table gives them. ``rules.jurisdictions`` re-exports every name and
picks the version in force (``jurisdiction_for``).

Adding a state: add a row (with its citation, status and ``effective_from``), a test that quotes the table, and
regenerate ``docs/traceability.md`` (``noticeflow rules traceability --write``).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal
from types import MappingProxyType

from models.common import Clock, ClockUnit
from rules.commissioner_reported_rows import CT, HI, IN, KY, MO, ND_OLDER, ND_SB_2088
from rules.jurisdiction_row import (
    MODEL_MATERIAL_UPDATES_PROVISION,
    MODEL_REPORT_ITEMS_PROVISION,
    MODEL_TPSP_PROVISION,
    MODEL_TRIGGERS_RULE_ID,
    SEVENTY_TWO_HOURS,
    THREE_BUSINESS_DAYS_CLOCK,
    TN_LAW,
    ClockOrigin,
    CyberJurisdiction,
    DomicileTrigger,
    I,
    LicenseeScope,
    R,
    ResidentsTrigger,
    SizeExemption,
    SizeMeasure,
    V,
    provision,
)

# ============================================================================================
# Named constants (verified)
# ============================================================================================

#: Tenn. Code Ann. § 56-2-1006(a): "in no event more than three (3) business days".
TN_COMMISSIONER_NOTICE_BUSINESS_DAYS = 3
#: Tenn. Code Ann. § 56-2-1006(c): "no later than forty-five (45) days after the determination".
TN_CONSUMER_NOTICE_DAYS = 45
#: Tenn. Code Ann. § 56-2-1006(e)(1)–(2): assuming insurer "within three (3) business days".
TN_ASSUMING_INSURER_NOTICE_BUSINESS_DAYS = 3
#: Tenn. Code Ann. § 56-2-1006(c)(3): cost "would exceed two hundred fifty thousand dollars ($250,000)".
SUBSTITUTE_NOTICE_COST_THRESHOLD_USD = Decimal(250000)
#: Tenn. Code Ann. § 56-2-1006(c)(3): class "exceeds five hundred thousand (500,000) persons".
SUBSTITUTE_NOTICE_CLASS_THRESHOLD = 500_000
#: JURISDICTIONS.md: DE consumer notice ≤ 60 days (verified).
DE_CONSUMER_NOTICE_DAYS = 60
#: JURISDICTIONS.md: MI 10 business days (verified).
MI_COMMISSIONER_NOTICE_BUSINESS_DAYS = 10
#: JURISDICTIONS.md: PA 5 business days (verified).
PA_COMMISSIONER_NOTICE_BUSINESS_DAYS = 5
#: JURISDICTIONS.md: MN "**5 business days** from determination" (verified (clock)).
MN_COMMISSIONER_NOTICE_BUSINESS_DAYS = 5
#: JURISDICTIONS.md: VT "Department of Financial Regulation within 14 business days" (verified).
VT_DFR_NOTICE_BUSINESS_DAYS = 14
#: JURISDICTIONS.md: VT "**one Vermont resident** is enough".
VT_RESIDENTS_THRESHOLD = 1
#: JURISDICTIONS.md: NY "72 hours after determining" (verified (72 h)); "extortion payment: 24 hours,
#: explanation in 30 days — reported" (a note, not a clock the engine runs).
NY_EXTORTION_PAYMENT_NOTICE_HOURS = 24
NY_EXTORTION_EXPLANATION_DAYS = 30
#: JURISDICTIONS.md: OK "licensees under $5M gross annual revenue exempt from the act (department page)" (verified).
OK_SMALL_LICENSEE_REVENUE_USD = 5_000_000
#: JURISDICTIONS.md: MS "< 50 employees exempt from the program sections only, not from notice".
MS_SMALL_LICENSEE_EMPLOYEES = 50
#: Effective dates given by the table: AK "(in force 2025-01-01)", IL "(P.A. 103-142, eff. 2024-01-01)",
#: RI "(eff. 2025-01-01)".
AK_EFFECTIVE = dt.date(2025, 1, 1)
IL_EFFECTIVE = dt.date(2024, 1, 1)
RI_EFFECTIVE = dt.date(2025, 1, 1)

TN_COMMISSIONER_NOTICE = Clock(amount=TN_COMMISSIONER_NOTICE_BUSINESS_DAYS, unit=ClockUnit.BUSINESS_DAYS)
TN_CONSUMER_NOTICE = Clock(amount=TN_CONSUMER_NOTICE_DAYS, unit=ClockUnit.CALENDAR_DAYS)
TN_ASSUMING_INSURER_NOTICE = Clock(amount=TN_ASSUMING_INSURER_NOTICE_BUSINESS_DAYS, unit=ClockUnit.BUSINESS_DAYS)
DE_CONSUMER_NOTICE = Clock(amount=DE_CONSUMER_NOTICE_DAYS, unit=ClockUnit.CALENDAR_DAYS)
MI_COMMISSIONER_NOTICE = Clock(amount=MI_COMMISSIONER_NOTICE_BUSINESS_DAYS, unit=ClockUnit.BUSINESS_DAYS)
PA_COMMISSIONER_NOTICE = Clock(amount=PA_COMMISSIONER_NOTICE_BUSINESS_DAYS, unit=ClockUnit.BUSINESS_DAYS)
SC_COMMISSIONER_NOTICE = Clock(amount=SEVENTY_TWO_HOURS, unit=ClockUnit.HOURS)
MN_COMMISSIONER_NOTICE = Clock(amount=MN_COMMISSIONER_NOTICE_BUSINESS_DAYS, unit=ClockUnit.BUSINESS_DAYS)
VT_DFR_NOTICE = Clock(amount=VT_DFR_NOTICE_BUSINESS_DAYS, unit=ClockUnit.BUSINESS_DAYS)
NY_COMMISSIONER_NOTICE = Clock(amount=SEVENTY_TWO_HOURS, unit=ClockUnit.HOURS)

# ---- Tennessee: the seed text, every provision verified -------------------------------------
TN = CyberJurisdiction(
    state="TN",
    regulator="Tennessee Commissioner of Commerce and Insurance",
    status=V,
    source="seed: Tenn. Code Ann. § 56-2-1006",
    commissioner=provision(
        "tn.commissioner_notice.deadline",
        f"{TN_LAW}(a)",
        V,
        TN_COMMISSIONER_NOTICE,
        "Notify the commissioner as soon as practicable, in no event more than 3 business days after the determination.",
    ),
    domicile_trigger=DomicileTrigger.HOME_STATE_AND_MATERIAL_HARM,
    domicile_provision=provision(
        "tn.commissioner_notice.trigger_a1",
        f"{TN_LAW}(a)(1)",
        V,
        summary="Domicile (insurer) or home state (producer) AND reasonable likelihood of material harm "
        "to a resident consumer or to a material part of normal operations.",
    ),
    residents_trigger=ResidentsTrigger.THRESHOLD_AND_GOVERNMENT_NOTICE_OR_HARM,
    residents_provision=provision(
        "tn.commissioner_notice.trigger_a2",
        f"{TN_LAW}(a)(2)",
        V,
        summary="NPI of 250 or more resident consumers AND notice to a government body required or material harm.",
    ),
    consumer=provision(
        "tn.consumer_notice.deadline",
        f"{TN_LAW}(c)",
        V,
        TN_CONSUMER_NOTICE,
        "Where material harm to a consumer is reasonably likely, notify resident consumers no later than 45 days "
        "after the determination.",
    ),
    substitute=provision(
        "tn.consumer_notice.method",
        f"{TN_LAW}(c)(1)–(3)",
        V,
        summary="Written; electronic (E-SIGN or electronic primary channel); substitute when cost > $250,000, "
        "class > 500,000 or insufficient contact information (e-mail + website + statewide media).",
    ),
    law_enforcement_delay=provision(
        "tn.consumer_notice.law_enforcement_delay",
        f"{TN_LAW}(c)",
        V,
        summary="The 45 days extend only where a longer period is required by the legitimate needs of law enforcement.",
    ),
    assuming_insurer=provision(
        "tn.ceding_insurer_notice.assuming_insurer",
        f"{TN_LAW}(e)",
        V,
        TN_ASSUMING_INSURER_NOTICE,
        "An assuming insurer notifies the affected ceding insurers and its domicile commissioner within 3 business "
        "days, and has no other notice obligation.",
    ),
    producer=provision(
        "tn.producer_notice",
        f"{TN_LAW}(f)",
        V,
        summary="An insurer notifies the producers of record of affected consumers, if known, no later than the "
        "consumer notice; excused where producer-of-record information is not current.",
    ),
    tpsp=provision(
        "tn.tpsp.clock_start",
        f"{TN_LAW}(d)",
        V,
        summary="A TPSP event is treated as the licensee's own; the (a) clock runs from the TPSP's notice or the "
        "licensee's actual knowledge, whichever is sooner.",
    ),
    tpsp_day_after=False,
    report_items=provision(
        "tn.commissioner_notice.report_items",
        f"{TN_LAW}(b)(1)",
        V,
        summary="The commissioner report gives as much of items (A)–(N) as is available.",
    ),
    material_updates=provision(
        "tn.commissioner_notice.material_updates",
        f"{TN_LAW}(b)(2)",
        V,
        summary="Continually provide material updates or supplements to the report.",
    ),
)


def verified_row(
    state: str,
    regulator: str,
    law: str,
    commissioner_clock: Clock,
    *,
    domicile_trigger: DomicileTrigger = DomicileTrigger.HOME_STATE,
    residents_trigger: ResidentsTrigger = ResidentsTrigger.THRESHOLD_AND_GOVERNMENT_NOTICE_OR_HARM,
    domicile_summary: str | None = None,
    residents_summary: str | None = None,
    commissioner_summary: str | None = None,
    **extra: object,
) -> CyberJurisdiction:
    """A state whose commissioner clock JURISDICTIONS.md verified. A trigger whose wording the table gives
    (``*_summary``) is its own verified rule; otherwise the model's wording applies as an interpretation."""
    key = state.lower()
    fields: dict[str, object] = {
        "state": state,
        "regulator": regulator,
        "status": V,
        "source": "JURISDICTIONS.md (verified)",
        "commissioner": provision(
            f"{key}.commissioner_notice.deadline",
            law,
            V,
            commissioner_clock,
            commissioner_summary or f"Notify the commissioner within {commissioner_clock.describe()} of the determination.",
        ),
        "domicile_trigger": domicile_trigger,
        "domicile_provision": (
            provision(f"{key}.commissioner_notice.domicile_trigger", law, V, summary=domicile_summary)
            if domicile_summary
            else provision(MODEL_TRIGGERS_RULE_ID, law, I)
        ),
        "residents_trigger": residents_trigger,
        "residents_provision": (
            provision(f"{key}.commissioner_notice.residents_trigger", law, V, summary=residents_summary)
            if residents_summary
            else provision(MODEL_TRIGGERS_RULE_ID, law, I)
        ),
        "report_items": MODEL_REPORT_ITEMS_PROVISION,
        "material_updates": MODEL_MATERIAL_UPDATES_PROVISION,
        "tpsp": MODEL_TPSP_PROVISION,
    }
    fields.update(extra)
    return CyberJurisdiction(**fields)  # type: ignore[arg-type]


#: JURISDICTIONS.md "Terms": "domicile rule" = "the state is the insurer's domicile or the producer's home state
#: AND a reasonable likelihood of material harm".
DOMICILE_RULE = (
    "Domicile rule: the state is the insurer's domicile or the producer's home state AND a reasonable likelihood "
    "of material harm."
)
#: JURISDICTIONS.md "Terms": "250 rule" = "the licensee reasonably believes 250 or more of the state's residents
#: are involved AND either a law requires notice to a government body or material harm is reasonably likely".
RULE_250 = (
    "250 rule: the licensee reasonably believes 250 or more of the state's residents are involved AND either a law "
    "requires notice to a government body or material harm is reasonably likely."
)

AL = verified_row(
    "AL",
    "Alabama Commissioner of Insurance",
    "Ala. Code § 27-62-6",
    THREE_BUSINESS_DAYS_CLOCK,
    domicile_trigger=DomicileTrigger.HOME_STATE_AND_MATERIAL_HARM,
    domicile_summary="Domicile trigger also needs a reasonable likelihood of material harm.",
)
DE = verified_row(
    "DE",
    "Delaware Insurance Commissioner",
    "18 Del. C. §§ 8601–8611",
    THREE_BUSINESS_DAYS_CLOCK,
    consumer=provision(
        "de.consumer_notice.deadline",
        "18 Del. C. §§ 8601–8611",
        V,
        DE_CONSUMER_NOTICE,
        "Notify resident consumers no later than 60 days after the determination.",
    ),
)
IA = verified_row(
    "IA",
    "Iowa Commissioner of Insurance",
    "Iowa Code § 507F.7",
    THREE_BUSINESS_DAYS_CLOCK,
    domicile_trigger=DomicileTrigger.HOME_STATE_AND_GOVERNMENT_NOTICE_OR_HARM,
    domicile_summary="Domicile trigger needs a required government notice OR material harm.",
    notes=("IA: the 3 business days run from confirmation of the event (read as the determination).",),
)
LA = verified_row(
    "LA",
    "Louisiana Commissioner of Insurance (through the department's portal)",
    "La. R.S. 22:2506",
    THREE_BUSINESS_DAYS_CLOCK,
    notes=("LA: the notice is filed through the Department of Insurance portal.",),
)
MD = verified_row(
    "MD",
    "Maryland Insurance Commissioner",
    "Md. Code Ann., Ins. § 33-105",
    THREE_BUSINESS_DAYS_CLOCK,
    material_updates=provision(
        "md.commissioner_notice.material_updates",
        "Md. Code Ann., Ins. § 33-105",
        V,
        summary="Continuing duty to update and supplement the notice to the commissioner.",
    ),
    notes=("MD: continuing duty to update and supplement the notice.",),
)
MI = verified_row(
    "MI",
    "Michigan Director of Insurance and Financial Services",
    "MCL 500.559–500.561",
    MI_COMMISSIONER_NOTICE,
    notes=("MI: MCL 500.561 has its own consumer-notice and substitute-notice rules (not encoded).",),
)
PA = verified_row(
    "PA",
    "Pennsylvania Insurance Commissioner",
    "Pennsylvania Insurance Data Security Act",
    PA_COMMISSIONER_NOTICE,
)
SC = verified_row(
    "SC",
    "South Carolina Director of Insurance",
    "S.C. Code § 38-99-40",
    SC_COMMISSIONER_NOTICE,
    paper_only_excluded=provision(
        "sc.classification.paper_only",
        "S.C. Code § 38-99-40; S.C. Dep't of Ins. Bulletin 2018-09",
        V,
        summary="Loss of paper-only information is not a cybersecurity event in South Carolina.",
    ),
)
VA = verified_row(
    "VA",
    "Virginia State Corporation Commission, Bureau of Insurance",
    "Va. Code § 38.2-625",
    THREE_BUSINESS_DAYS_CLOCK,
    residents_trigger=ResidentsTrigger.THRESHOLD_OR_GOVERNMENT_NOTICE,
    residents_summary="Trigger (2) reads: 250 or more residents OR notice required under another law.",
)
WI = verified_row(
    "WI",
    "Wisconsin Commissioner of Insurance",
    "Wis. Stat. § 601.954",
    THREE_BUSINESS_DAYS_CLOCK,
    notes=("WI: small-licensee exemption of Wis. Stat. § 601.952(9) not evaluated by the engine.",),
)

# ---- the rows of issue 12 ----------------------------------------------------------------------

AK = verified_row(
    "AK",
    "Alaska Director of the Division of Insurance",
    "AS 21.23.280",
    THREE_BUSINESS_DAYS_CLOCK,
    effective_from=AK_EFFECTIVE,
    commissioner_summary="Notify the director within 3 business days after the licensee determines that a "
    "cybersecurity event occurred (in force 2025-01-01).",
    domicile_summary="Domicile / home-state trigger with no material-harm condition: a domestic insurer, or a "
    "producer whose home state is Alaska, notifies whatever the harm.",
    residents_summary="Non-domicile: " + RULE_250,
    notes=(
        "AK: the notice may be withheld on a federal law-enforcement instruction (AS 21.23.280); record the "
        "instruction and ask counsel before relying on it.",
    ),
)
IL = verified_row(
    "IL",
    "Illinois Director of Insurance",
    "215 ILCS 215/20",
    THREE_BUSINESS_DAYS_CLOCK,
    effective_from=IL_EFFECTIVE,
    domicile_trigger=DomicileTrigger.HOME_STATE_AND_MATERIAL_HARM,
    domicile_summary=DOMICILE_RULE,
    residents_summary=RULE_250,
    assuming_insurer=provision(
        "il.ceding_insurer_notice.assuming_insurer",
        "215 ILCS 215/20",
        V,
        THREE_BUSINESS_DAYS_CLOCK,
        "An assuming insurer notifies the affected ceding insurers and its domicile commissioner within 3 business "
        "days.",
    ),
    notes=("IL: 215 ILCS 215/20 as enacted by P.A. 103-142, effective 2024-01-01.",),
)
ME = verified_row(
    "ME",
    "Maine Superintendent of Insurance (through the Bureau of Insurance's online form)",
    "24-A M.R.S. § 2266",
    THREE_BUSINESS_DAYS_CLOCK,
    domicile_summary="Every Maine-resident licensee (domestic insurer, or producer whose home state is Maine) "
    "notifies, whatever the number of residents affected.",
    residents_summary="Non-resident licensees: " + RULE_250,
    notes=("ME: the notice is filed on the Bureau of Insurance's online form.",),
)
MN = verified_row(
    "MN",
    "Minnesota Commissioner of Commerce (through the Commerce reporting page)",
    "Minn. Stat. § 60A.9853",
    MN_COMMISSIONER_NOTICE,
    size_exemptions=(
        SizeExemption(
            provision=provision(
                "mn.commissioner_notice.small_licensee_exemption",
                "Minn. Stat. § 60A.9856",
                V,
                summary="The small-licensee exemption does not cover notification: the notice is owed whatever the "
                "licensee's size.",
            ),
            measure=None,
            below=None,
            removes_notice=False,
            covers="not notification",
        ),
    ),
    notes=("MN: the notice is filed through the Commerce reporting page.",),
)
MS = verified_row(
    "MS",
    "Mississippi Commissioner of Insurance",
    "Miss. Code § 83-5-801 ff.",
    THREE_BUSINESS_DAYS_CLOCK,
    size_exemptions=(
        SizeExemption(
            provision=provision(
                "ms.commissioner_notice.small_licensee_exemption",
                "Miss. Code § 83-5-801 ff.",
                V,
                summary="Licensees with fewer than 50 employees are exempt from the program sections only, not from "
                "notice.",
            ),
            measure=SizeMeasure.EMPLOYEES,
            below=MS_SMALL_LICENSEE_EMPLOYEES,
            removes_notice=False,
            covers="the program sections only",
        ),
    ),
)
NH = verified_row(
    "NH",
    "New Hampshire Insurance Commissioner",
    "RSA 420-P:6",
    THREE_BUSINESS_DAYS_CLOCK,
    domicile_trigger=DomicileTrigger.HOME_STATE_AND_MATERIAL_HARM,
    domicile_summary=DOMICILE_RULE,
    residents_summary=RULE_250,
)
OH = verified_row(
    "OH",
    "Ohio Superintendent of Insurance",
    "ORC 3965.04",
    THREE_BUSINESS_DAYS_CLOCK,
    size_exemptions=(
        SizeExemption(
            provision=provision(
                "oh.commissioner_notice.small_licensee_exemption",
                "ORC 3965.07",
                V,
                summary="The small-licensee exemptions do not cover reporting: the notice is owed whatever the "
                "licensee's size.",
            ),
            measure=None,
            below=None,
            removes_notice=False,
            covers="not reporting",
        ),
    ),
)
OK = verified_row(
    "OK",
    "Oklahoma Insurance Commissioner",
    "36 O.S. § 675",
    THREE_BUSINESS_DAYS_CLOCK,
    domicile_trigger=DomicileTrigger.HOME_STATE_AND_MATERIAL_HARM,
    domicile_summary=DOMICILE_RULE,
    residents_summary=RULE_250,
    size_exemptions=(
        SizeExemption(
            provision=provision(
                "ok.commissioner_notice.small_licensee_exemption",
                "Oklahoma Insurance Department (department page)",
                V,
                summary="Licensees under $5,000,000 gross annual revenue are exempt from the act: a revenue known "
                "below it removes the Oklahoma obligations; unknown revenue keeps them with counsel review.",
            ),
            measure=SizeMeasure.ANNUAL_REVENUE_USD,
            below=OK_SMALL_LICENSEE_REVENUE_USD,
            removes_notice=True,
            covers="the whole act",
        ),
    ),
)
RI = verified_row(
    "RI",
    "Rhode Island Department of Business Regulation, Insurance Division",
    "R.I. Gen. Laws § 27-1-47",
    THREE_BUSINESS_DAYS_CLOCK,
    effective_from=RI_EFFECTIVE,
    licensee_scope=LicenseeScope.DOMESTIC_INSURERS,
    domicile_trigger=DomicileTrigger.HOME_STATE_AND_GOVERNMENT_NOTICE_OR_HARM,
    residents_trigger=ResidentsTrigger.NONE,
    domicile_summary="Domestic insurers only: notice when another law requires government notice OR material harm "
    "is reasonably likely.",
    residents_summary="No 250 rule: an insurer domiciled elsewhere gives no Rhode Island notice, whatever the "
    "residents affected.",
)

_VT_LAW = "9 V.S.A. § 2435; DFR guidance"
_VT_ONE_RESIDENT = provision(
    "vt.commissioner_notice.one_resident",
    "9 V.S.A. § 2435",
    V,
    summary="One Vermont resident is enough: the Department of Financial Regulation is notified whenever a Vermont "
    "resident is affected; there is no home-state trigger.",
)
VT = verified_row(
    "VT",
    "Vermont Department of Financial Regulation",
    _VT_LAW,
    VT_DFR_NOTICE,
    commissioner_summary="No insurance-act clock: notify the Department of Financial Regulation within 14 business "
    "days of knowing or reasonably believing a Vermont resident was affected.",
    domicile_trigger=DomicileTrigger.NONE,
    residents_trigger=ResidentsTrigger.ANY_RESIDENT,
    domicile_provision=_VT_ONE_RESIDENT,
    residents_provision=_VT_ONE_RESIDENT,
    residents_threshold=VT_RESIDENTS_THRESHOLD,
    clock_origin=ClockOrigin.KNOWLEDGE,
    reported_rules=(
        provision(
            "vt.commissioner_notice.when_consumers_notified",
            "9 V.S.A. § 2435(b)(3)",
            R,
            summary="9 V.S.A. § 2435(b)(3) (reported): the notice to the Department is due when consumers are "
            "notified, if that is sooner than the 14 business days — send it no later than the consumer notice; "
            "counsel confirms.",
        ),
    ),
)

_NY_LAW = "23 NYCRR 500.17"
_NY_COVERED_ENTITY = provision(
    "ny.commissioner_notice.covered_entity",
    _NY_LAW,
    V,
    summary="Every covered entity — a licensee holding a New York licence (its domicile or home state counts) — "
    "notifies, whatever the residents affected, including events at its affiliates and third-party service "
    "providers; where its licences are unknown and New York residents are affected, counsel confirms.",
)
NY = verified_row(
    "NY",
    "New York Superintendent of Financial Services",
    _NY_LAW,
    NY_COMMISSIONER_NOTICE,
    commissioner_summary="Notify the superintendent within 72 hours after determining that a cybersecurity incident "
    "occurred at the covered entity, its affiliates or a third-party service provider.",
    domicile_trigger=DomicileTrigger.LICENSED_IN_STATE,
    residents_trigger=ResidentsTrigger.NONE,
    domicile_provision=_NY_COVERED_ENTITY,
    residents_provision=_NY_COVERED_ENTITY,
    clock_origin=ClockOrigin.DETERMINATION_ALWAYS,
    tpsp=provision(
        "ny.tpsp.covered_entity_events",
        _NY_LAW,
        V,
        summary="An incident at an affiliate or a third-party service provider is the covered entity's own; the 72 "
        "hours run from the determination.",
    ),
    notes=(
        "NY: a different regime (DFS): every covered entity, including events at affiliates and third-party service "
        "providers.",
        f"NY (reported): an extortion payment needs notice within {NY_EXTORTION_PAYMENT_NOTICE_HOURS} hours and an "
        f"explanation within {NY_EXTORTION_EXPLANATION_DAYS} days (not run as a clock by the engine).",
    ),
)

# ============================================================================================
# The table: every version of every listed row
# ============================================================================================

_ROWS: tuple[CyberJurisdiction, ...] = (
    TN, MO, KY, AL, DE, IA, LA, MD, MI, PA, SC, VA, WI,
    AK, IL, ME, MN, MS, NH, OH, OK, RI, VT, NY,
    CT, IN, HI, ND_OLDER, ND_SB_2088,
)  # fmt: skip


def _versions(rows: tuple[CyberJurisdiction, ...]) -> MappingProxyType[str, tuple[CyberJurisdiction, ...]]:
    by_state: dict[str, list[CyberJurisdiction]] = defaultdict(list)
    for row in rows:
        by_state[row.state].append(row)
    return MappingProxyType(
        {state: tuple(sorted(v, key=lambda r: r.effective_from or dt.date.min)) for state, v in by_state.items()}
    )


#: Every version of every listed state's row, oldest first (``rules.effective.in_force`` picks one by date).
CYBER_JURISDICTION_VERSIONS = _versions(_ROWS)
#: The newest version of every listed state's row. A state not here is read with the model fallback.
CYBER_JURISDICTIONS: MappingProxyType[str, CyberJurisdiction] = MappingProxyType(
    {state: versions[-1] for state, versions in CYBER_JURISDICTION_VERSIONS.items()}
)
