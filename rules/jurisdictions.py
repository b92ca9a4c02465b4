"""The jurisdiction table: every clock, threshold and trigger variant the engine applies, with its citation.

Numbers live here and only here, as named constants; the rule functions read them through the
rows of ``CYBER_JURISDICTIONS``. Rows come from ``JURISDICTIONS.md`` and the seed texts:

* ``verified`` — checked against the statute or the department's own page (TN from the seed);
* ``reported`` — only reported (MO clocks, the NAIC model fallback, NY): the engine computes the
  reported clock for information, but the obligation's ``due`` applies the **strictest known
  clock** (72 hours) and asks for counsel review;
* a state not listed gets the model row: strictest clock, counsel review.

Adding a state: add a row below (with its citation and status), a test that quotes the statute,
and regenerate ``docs/traceability.md`` (``noticeflow rules traceability --write``).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from decimal import Decimal
from enum import StrEnum
from functools import cache
from types import MappingProxyType

from models.common import Clock, ClockUnit, RuleStatus

# ============================================================================================
# Cybersecurity events — named constants
# ============================================================================================

#: Tenn. Code Ann. § 56-2-1006(a): "in no event more than three (3) business days".
TN_COMMISSIONER_NOTICE_BUSINESS_DAYS = 3
#: Tenn. Code Ann. § 56-2-1006(c): "no later than forty-five (45) days after the determination".
TN_CONSUMER_NOTICE_DAYS = 45
#: Tenn. Code Ann. § 56-2-1006(e)(1)–(2): assuming insurer "within three (3) business days".
TN_ASSUMING_INSURER_NOTICE_BUSINESS_DAYS = 3
#: Tenn. Code Ann. § 56-2-1006(a)(2): "two hundred fifty (250) or more consumers residing in this state".
RESIDENTS_THRESHOLD = 250
#: Tenn. Code Ann. § 56-2-1006(c)(3): cost "would exceed two hundred fifty thousand dollars ($250,000)".
SUBSTITUTE_NOTICE_COST_THRESHOLD_USD = Decimal(250000)
#: Tenn. Code Ann. § 56-2-1006(c)(3): class "exceeds five hundred thousand (500,000) persons".
SUBSTITUTE_NOTICE_CLASS_THRESHOLD = 500_000
#: JURISDICTIONS.md: 3 business days — AL, DE, IA, LA, MD, VA, WI (verified); MO (reported).
THREE_BUSINESS_DAYS = 3
#: JURISDICTIONS.md: DE consumer notice ≤ 60 days (verified).
DE_CONSUMER_NOTICE_DAYS = 60
#: JURISDICTIONS.md: MI 10 business days (verified).
MI_COMMISSIONER_NOTICE_BUSINESS_DAYS = 10
#: JURISDICTIONS.md: PA 5 business days (verified).
PA_COMMISSIONER_NOTICE_BUSINESS_DAYS = 5
#: JURISDICTIONS.md: SC 72 hours (verified); the NAIC model and NY: 72 hours (reported).
SEVENTY_TWO_HOURS = 72
#: The strictest clock known to the engine, applied wherever a clock is not verified.
STRICTEST_KNOWN_CLOCK_HOURS = SEVENTY_TWO_HOURS

TN_COMMISSIONER_NOTICE = Clock(amount=TN_COMMISSIONER_NOTICE_BUSINESS_DAYS, unit=ClockUnit.BUSINESS_DAYS)
TN_CONSUMER_NOTICE = Clock(amount=TN_CONSUMER_NOTICE_DAYS, unit=ClockUnit.CALENDAR_DAYS)
TN_ASSUMING_INSURER_NOTICE = Clock(amount=TN_ASSUMING_INSURER_NOTICE_BUSINESS_DAYS, unit=ClockUnit.BUSINESS_DAYS)
THREE_BUSINESS_DAYS_CLOCK = Clock(amount=THREE_BUSINESS_DAYS, unit=ClockUnit.BUSINESS_DAYS)
DE_CONSUMER_NOTICE = Clock(amount=DE_CONSUMER_NOTICE_DAYS, unit=ClockUnit.CALENDAR_DAYS)
MI_COMMISSIONER_NOTICE = Clock(amount=MI_COMMISSIONER_NOTICE_BUSINESS_DAYS, unit=ClockUnit.BUSINESS_DAYS)
PA_COMMISSIONER_NOTICE = Clock(amount=PA_COMMISSIONER_NOTICE_BUSINESS_DAYS, unit=ClockUnit.BUSINESS_DAYS)
SC_COMMISSIONER_NOTICE = Clock(amount=SEVENTY_TWO_HOURS, unit=ClockUnit.HOURS)
STRICTEST_KNOWN_CLOCK = Clock(amount=STRICTEST_KNOWN_CLOCK_HOURS, unit=ClockUnit.HOURS)
#: MO, reported from the 2024 bill text: 3 business days, "the day after" the TPSP's notice or
#: actual knowledge, whichever is sooner.
MO_REPORTED_COMMISSIONER_NOTICE = Clock(amount=THREE_BUSINESS_DAYS, unit=ClockUnit.BUSINESS_DAYS)
#: KY, reported: "within three days" (JURISDICTIONS.md: unit unread; read here as calendar days,
#: the shorter reading — the strictest known clock applies anyway).
KY_REPORTED_COMMISSIONER_NOTICE_DAYS = 3
KY_REPORTED_COMMISSIONER_NOTICE = Clock(amount=KY_REPORTED_COMMISSIONER_NOTICE_DAYS, unit=ClockUnit.CALENDAR_DAYS)
#: NAIC #668 § 6: 72 hours (reported; the model's TPSP deadlines begin on the day after).
MODEL_REPORTED_COMMISSIONER_NOTICE = Clock(amount=SEVENTY_TWO_HOURS, unit=ClockUnit.HOURS)
#: 23 NYCRR 500.17: 72 hours (reported; a different regime, listed for later).
NY_REPORTED_COMMISSIONER_NOTICE = Clock(amount=SEVENTY_TWO_HOURS, unit=ClockUnit.HOURS)

# ============================================================================================
# Privacy notices — named constants (28 TAC ch. 22; 18 Del. Admin. Code 904)
# ============================================================================================

#: 28 TAC § 22.14(b)(1)–(2): opt out "within 30 days" of mailing / of electronic acknowledgement.
OPT_OUT_REASONABLE_OPPORTUNITY_DAYS = 30
#: 28 TAC § 22.9(a): "at least once in any period of 12 consecutive months".
ANNUAL_NOTICE_PERIOD_MONTHS = 12
#: 28 TAC § 22.9(b)(2), § 22.5(b)(6): lapsed and no communication "for a period of 12 consecutive months".
RELATIONSHIP_DORMANCY_MONTHS = 12
#: 28 TAC § 22.54(2)(A): an authorization is never valid "for a period of more than 24 months".
HEALTH_AUTHORIZATION_MAX_MONTHS = 24
#: 28 TAC § 22.56(e): revocation effected "not later than 15 days after the date of receipt".
HEALTH_REVOCATION_EFFECT_DAYS = 15

# ============================================================================================
# Time zones and names
# ============================================================================================

#: The zone of each state's capital, where its commissioner sits. A state spanning two zones is
#: read in the capital's zone; a licensee may choose its own zone instead (DeadlinePolicy).
STATE_TIMEZONES: MappingProxyType[str, str] = MappingProxyType(
    {
        "AL": "America/Chicago", "AK": "America/Anchorage", "AZ": "America/Phoenix",
        "AR": "America/Chicago", "CA": "America/Los_Angeles", "CO": "America/Denver",
        "CT": "America/New_York", "DE": "America/New_York", "DC": "America/New_York",
        "FL": "America/New_York", "GA": "America/New_York", "HI": "Pacific/Honolulu",
        "ID": "America/Boise", "IL": "America/Chicago", "IN": "America/Indiana/Indianapolis",
        "IA": "America/Chicago", "KS": "America/Chicago", "KY": "America/New_York",
        "LA": "America/Chicago", "ME": "America/New_York", "MD": "America/New_York",
        "MA": "America/New_York", "MI": "America/Detroit", "MN": "America/Chicago",
        "MS": "America/Chicago", "MO": "America/Chicago", "MT": "America/Denver",
        "NE": "America/Chicago", "NV": "America/Los_Angeles", "NH": "America/New_York",
        "NJ": "America/New_York", "NM": "America/Denver", "NY": "America/New_York",
        "NC": "America/New_York", "ND": "America/Chicago", "OH": "America/New_York",
        "OK": "America/Chicago", "OR": "America/Los_Angeles", "PA": "America/New_York",
        "RI": "America/New_York", "SC": "America/New_York", "SD": "America/Chicago",
        "TN": "America/Chicago", "TX": "America/Chicago", "UT": "America/Denver",
        "VT": "America/New_York", "VA": "America/New_York", "WA": "America/Los_Angeles",
        "WV": "America/New_York", "WI": "America/Chicago", "WY": "America/Denver",
        "PR": "America/Puerto_Rico", "GU": "Pacific/Guam", "VI": "America/St_Thomas",
        "AS": "Pacific/Pago_Pago", "MP": "Pacific/Saipan",
    }
)  # fmt: skip

STATE_NAMES: MappingProxyType[str, str] = MappingProxyType(
    {
        "AL": "Alabama", "AK": "Alaska", "AZ": "Arizona", "AR": "Arkansas", "CA": "California",
        "CO": "Colorado", "CT": "Connecticut", "DE": "Delaware", "DC": "the District of Columbia",
        "FL": "Florida", "GA": "Georgia", "HI": "Hawaii", "ID": "Idaho", "IL": "Illinois",
        "IN": "Indiana", "IA": "Iowa", "KS": "Kansas", "KY": "Kentucky", "LA": "Louisiana",
        "ME": "Maine", "MD": "Maryland", "MA": "Massachusetts", "MI": "Michigan",
        "MN": "Minnesota", "MS": "Mississippi", "MO": "Missouri", "MT": "Montana",
        "NE": "Nebraska", "NV": "Nevada", "NH": "New Hampshire", "NJ": "New Jersey",
        "NM": "New Mexico", "NY": "New York", "NC": "North Carolina", "ND": "North Dakota",
        "OH": "Ohio", "OK": "Oklahoma", "OR": "Oregon", "PA": "Pennsylvania",
        "RI": "Rhode Island", "SC": "South Carolina", "SD": "South Dakota", "TN": "Tennessee",
        "TX": "Texas", "UT": "Utah", "VT": "Vermont", "VA": "Virginia", "WA": "Washington",
        "WV": "West Virginia", "WI": "Wisconsin", "WY": "Wyoming", "PR": "Puerto Rico",
        "GU": "Guam", "VI": "the U.S. Virgin Islands", "AS": "American Samoa",
        "MP": "the Northern Mariana Islands",
    }
)  # fmt: skip

# ============================================================================================
# Row structure
# ============================================================================================


class DomicileTrigger(StrEnum):
    """Wording of the home-state trigger (Tenn. Code Ann. § 56-2-1006(a)(1) and its variants)."""

    #: NAIC #668 § 6A(1): being the domicile / home state suffices (the broadest reading).
    HOME_STATE = "home_state"
    #: TN (a)(1)(B), AL: and a reasonable likelihood of material harm to a resident or to operations.
    HOME_STATE_AND_MATERIAL_HARM = "home_state_and_material_harm"
    #: IA: and notice to a government body required, or material harm.
    HOME_STATE_AND_GOVERNMENT_NOTICE_OR_HARM = "home_state_and_government_notice_or_harm"


class ResidentsTrigger(StrEnum):
    """Wording of the residents trigger (§ 56-2-1006(a)(2) and its variants)."""

    #: TN (a)(2), model: ≥ 250 residents and (notice to a government body required or material harm).
    THRESHOLD_AND_GOVERNMENT_NOTICE_OR_HARM = "threshold_and_government_notice_or_harm"
    #: VA: ≥ 250 residents or notice required under another law.
    THRESHOLD_OR_GOVERNMENT_NOTICE = "threshold_or_government_notice"


@dataclass(frozen=True)
class Provision:
    """One encoded provision: its section, how far it is checked, and its id in the registry."""

    rule_id: str
    citation: str
    status: RuleStatus
    clock: Clock | None = None
    summary: str = ""


@dataclass(frozen=True)
class CyberJurisdiction:
    """What one state's insurance data security law requires after a cybersecurity event."""

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
    report_items: Provision | None = None
    material_updates: Provision | None = None
    paper_only_excluded: Provision | None = None
    foreign_assuming_insurer_excluded: Provision | None = None
    #: For a reported row: the clock as reported (``due`` applies STRICTEST_KNOWN_CLOCK instead).
    reported_clock: Clock | None = None
    reported_consumer_rule: Provision | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def name(self) -> str:
        return STATE_NAMES[self.state]

    @property
    def is_verified(self) -> bool:
        return self.status is RuleStatus.VERIFIED


def _p(rule_id: str, citation: str, status: RuleStatus, clock: Clock | None = None, summary: str = "") -> Provision:
    return Provision(rule_id=rule_id, citation=citation, status=status, clock=clock, summary=summary)


V = RuleStatus.VERIFIED
R = RuleStatus.REPORTED
I = RuleStatus.INTERPRETATION

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

_MODEL_REPORT_ITEMS = Provision(
    rule_id="model.commissioner_notice.report_items",
    citation=MODEL_REPORT_ITEMS,
    status=RuleStatus.INTERPRETATION,
    summary="Where a state's report-content section is not verified, the commissioner report gives the items of "
    "the model (the same as Tenn. Code Ann. § 56-2-1006(b)(1)(A)–(N), common to all adopters per "
    "JURISDICTIONS.md), cites the model as such, and the obligation needs counsel review.",
)
_MODEL_MATERIAL_UPDATES = Provision(
    rule_id="model.commissioner_notice.material_updates",
    citation=MODEL_MATERIAL_UPDATES,
    status=RuleStatus.INTERPRETATION,
    summary="Where a state's own section is not verified, the continuing duty to update and supplement the report "
    "(common to all adopters per JURISDICTIONS.md) is cited to the model, marked as such.",
)
#: NAIC #668 § 6(E) — Tennessee's (d): a third-party service provider's event is the licensee's own.
_MODEL_TPSP = Provision(
    rule_id="model.tpsp.clock_start",
    citation=f"NAIC #668 § 6(E) {MODEL_MARK}",
    status=RuleStatus.INTERPRETATION,
    summary="Where a state's section is not verified, a third-party service provider's event counts as the "
    "licensee's own (common to all adopters, JURISDICTIONS.md) and its clock runs from the provider's notice or "
    "the licensee's actual knowledge, whichever is sooner — Tennessee's reading, the earlier of the two; the "
    "obligation needs counsel review.",
)

# ---- Tennessee: the seed text, every provision verified -------------------------------------
_TN = CyberJurisdiction(
    state="TN",
    regulator="Tennessee Commissioner of Commerce and Insurance",
    status=V,
    source="seed: Tenn. Code Ann. § 56-2-1006",
    commissioner=_p(
        "tn.commissioner_notice.deadline",
        f"{TN_LAW}(a)",
        V,
        TN_COMMISSIONER_NOTICE,
        "Notify the commissioner as soon as practicable, in no event more than 3 business days after the determination.",
    ),
    domicile_trigger=DomicileTrigger.HOME_STATE_AND_MATERIAL_HARM,
    domicile_provision=_p(
        "tn.commissioner_notice.trigger_a1",
        f"{TN_LAW}(a)(1)",
        V,
        summary="Domicile (insurer) or home state (producer) AND reasonable likelihood of material harm "
        "to a resident consumer or to a material part of normal operations.",
    ),
    residents_trigger=ResidentsTrigger.THRESHOLD_AND_GOVERNMENT_NOTICE_OR_HARM,
    residents_provision=_p(
        "tn.commissioner_notice.trigger_a2",
        f"{TN_LAW}(a)(2)",
        V,
        summary="NPI of 250 or more resident consumers AND notice to a government body required or material harm.",
    ),
    consumer=_p(
        "tn.consumer_notice.deadline",
        f"{TN_LAW}(c)",
        V,
        TN_CONSUMER_NOTICE,
        "Where material harm to a consumer is reasonably likely, notify resident consumers no later than 45 days "
        "after the determination.",
    ),
    substitute=_p(
        "tn.consumer_notice.method",
        f"{TN_LAW}(c)(1)–(3)",
        V,
        summary="Written; electronic (E-SIGN or electronic primary channel); substitute when cost > $250,000, "
        "class > 500,000 or insufficient contact information (e-mail + website + statewide media).",
    ),
    law_enforcement_delay=_p(
        "tn.consumer_notice.law_enforcement_delay",
        f"{TN_LAW}(c)",
        V,
        summary="The 45 days extend only where a longer period is required by the legitimate needs of law enforcement.",
    ),
    assuming_insurer=_p(
        "tn.ceding_insurer_notice.assuming_insurer",
        f"{TN_LAW}(e)",
        V,
        TN_ASSUMING_INSURER_NOTICE,
        "An assuming insurer notifies the affected ceding insurers and its domicile commissioner within 3 business "
        "days, and has no other notice obligation.",
    ),
    producer=_p(
        "tn.producer_notice",
        f"{TN_LAW}(f)",
        V,
        summary="An insurer notifies the producers of record of affected consumers, if known, no later than the "
        "consumer notice; excused where producer-of-record information is not current.",
    ),
    tpsp=_p(
        "tn.tpsp.clock_start",
        f"{TN_LAW}(d)",
        V,
        summary="A TPSP event is treated as the licensee's own; the (a) clock runs from the TPSP's notice or the "
        "licensee's actual knowledge, whichever is sooner.",
    ),
    tpsp_day_after=False,
    report_items=_p(
        "tn.commissioner_notice.report_items",
        f"{TN_LAW}(b)(1)",
        V,
        summary="The commissioner report gives as much of items (A)–(N) as is available.",
    ),
    material_updates=_p(
        "tn.commissioner_notice.material_updates",
        f"{TN_LAW}(b)(2)",
        V,
        summary="Continually provide material updates or supplements to the report.",
    ),
)


def _verified_row(
    state: str,
    regulator: str,
    law: str,
    commissioner_clock: Clock,
    *,
    domicile_trigger: DomicileTrigger = DomicileTrigger.HOME_STATE,
    residents_trigger: ResidentsTrigger = ResidentsTrigger.THRESHOLD_AND_GOVERNMENT_NOTICE_OR_HARM,
    domicile_verified: bool = False,
    residents_verified: bool = False,
    **extra: object,
) -> CyberJurisdiction:
    """A state whose commissioner clock JURISDICTIONS.md verified; triggers follow the model
    unless a variant is verified (an unverified trigger is marked as an interpretation)."""
    key = state.lower()
    return CyberJurisdiction(
        state=state,
        regulator=regulator,
        status=V,
        source="JURISDICTIONS.md (verified)",
        commissioner=_p(
            f"{key}.commissioner_notice.deadline",
            law,
            V,
            commissioner_clock,
            f"Notify the commissioner within {commissioner_clock.describe()} of the determination.",
        ),
        domicile_trigger=domicile_trigger,
        domicile_provision=_p(
            f"{key}.commissioner_notice.domicile_trigger" if domicile_verified else "model.commissioner_notice.triggers",
            law,
            V if domicile_verified else I,
        ),
        residents_trigger=residents_trigger,
        residents_provision=_p(
            f"{key}.commissioner_notice.residents_trigger" if residents_verified else "model.commissioner_notice.triggers",
            law,
            V if residents_verified else I,
        ),
        **{"report_items": _MODEL_REPORT_ITEMS, "material_updates": _MODEL_MATERIAL_UPDATES, "tpsp": _MODEL_TPSP, **extra},  # type: ignore[arg-type]
    )


_AL = _verified_row(
    "AL",
    "Alabama Commissioner of Insurance",
    "Ala. Code § 27-62-6",
    THREE_BUSINESS_DAYS_CLOCK,
    domicile_trigger=DomicileTrigger.HOME_STATE_AND_MATERIAL_HARM,
    domicile_verified=True,
)
_DE = _verified_row(
    "DE",
    "Delaware Insurance Commissioner",
    "18 Del. C. §§ 8601–8611",
    THREE_BUSINESS_DAYS_CLOCK,
    consumer=_p(
        "de.consumer_notice.deadline",
        "18 Del. C. §§ 8601–8611",
        V,
        DE_CONSUMER_NOTICE,
        "Notify resident consumers no later than 60 days after the determination.",
    ),
)
_IA = _verified_row(
    "IA",
    "Iowa Commissioner of Insurance",
    "Iowa Code § 507F.7",
    THREE_BUSINESS_DAYS_CLOCK,
    domicile_trigger=DomicileTrigger.HOME_STATE_AND_GOVERNMENT_NOTICE_OR_HARM,
    domicile_verified=True,
    notes=("IA: the 3 business days run from confirmation of the event (read as the determination).",),
)
_LA = _verified_row(
    "LA",
    "Louisiana Commissioner of Insurance (through the department's portal)",
    "La. R.S. 22:2506",
    THREE_BUSINESS_DAYS_CLOCK,
    notes=("LA: the notice is filed through the Department of Insurance portal.",),
)
_MD = _verified_row(
    "MD",
    "Maryland Insurance Commissioner",
    "Md. Code Ann., Ins. § 33-105",
    THREE_BUSINESS_DAYS_CLOCK,
    material_updates=_p(
        "md.commissioner_notice.material_updates",
        "Md. Code Ann., Ins. § 33-105",
        V,
        summary="Continuing duty to update and supplement the notice to the commissioner.",
    ),
    notes=("MD: continuing duty to update and supplement the notice.",),
)
_MI = _verified_row(
    "MI",
    "Michigan Director of Insurance and Financial Services",
    "MCL 500.559–500.561",
    MI_COMMISSIONER_NOTICE,
    notes=("MI: MCL 500.561 has its own consumer-notice and substitute-notice rules (not encoded).",),
)
_PA = _verified_row(
    "PA",
    "Pennsylvania Insurance Commissioner",
    "Pennsylvania Insurance Data Security Act",
    PA_COMMISSIONER_NOTICE,
)
_SC = _verified_row(
    "SC",
    "South Carolina Director of Insurance",
    "S.C. Code § 38-99-40",
    SC_COMMISSIONER_NOTICE,
    paper_only_excluded=_p(
        "sc.classification.paper_only",
        "S.C. Code § 38-99-40; S.C. Dep't of Ins. Bulletin 2018-09",
        V,
        summary="Loss of paper-only information is not a cybersecurity event in South Carolina.",
    ),
)
_VA = _verified_row(
    "VA",
    "Virginia State Corporation Commission, Bureau of Insurance",
    "Va. Code § 38.2-625",
    THREE_BUSINESS_DAYS_CLOCK,
    residents_trigger=ResidentsTrigger.THRESHOLD_OR_GOVERNMENT_NOTICE,
    residents_verified=True,
)
_WI = _verified_row(
    "WI",
    "Wisconsin Commissioner of Insurance",
    "Wis. Stat. § 601.954",
    THREE_BUSINESS_DAYS_CLOCK,
    notes=("WI: small-licensee exemption of Wis. Stat. § 601.952(9) not evaluated by the engine.",),
)


def _reported_row(
    state: str,
    regulator: str,
    law: str,
    reported_clock: Clock,
    *,
    tpsp_day_after: bool,
    rule_prefix: str,
    status: RuleStatus = R,
    tpsp_law: str | None = None,
    **extra: object,
) -> CyberJurisdiction:
    """A row whose clocks are only reported: due = strictest known clock, plus counsel review."""
    return CyberJurisdiction(
        state=state,
        regulator=regulator,
        status=status,
        source="JURISDICTIONS.md (reported)",
        commissioner=_p(
            f"{rule_prefix}.commissioner_notice.reported_clock",
            law,
            R,
            STRICTEST_KNOWN_CLOCK,
            f"Reported: {reported_clock.describe()}; the strictest known clock (72 hours) applies until counsel confirms.",
        ),
        domicile_trigger=DomicileTrigger.HOME_STATE,
        domicile_provision=_p("model.commissioner_notice.triggers", law, I),
        residents_trigger=ResidentsTrigger.THRESHOLD_AND_GOVERNMENT_NOTICE_OR_HARM,
        residents_provision=_p("model.commissioner_notice.triggers", law, I),
        tpsp=(
            _p(
                f"{rule_prefix}.tpsp.day_after",
                tpsp_law or law,
                R,
                summary="Reported: deadlines start the day after the TPSP's notice or actual knowledge, whichever is "
                "sooner.",
            )
            if tpsp_day_after
            else _MODEL_TPSP
        ),
        tpsp_day_after=tpsp_day_after,
        reported_clock=reported_clock,
        **{"report_items": _MODEL_REPORT_ITEMS, "material_updates": _MODEL_MATERIAL_UPDATES, **extra},  # type: ignore[arg-type]
    )


_MO = _reported_row(
    "MO",
    "Missouri Director of the Department of Commerce and Insurance",
    "RSMo §§ 375.1400–375.1427",
    MO_REPORTED_COMMISSIONER_NOTICE,
    tpsp_day_after=True,
    rule_prefix="mo",
    consumer_copy_to="Missouri Director of the Department of Commerce and Insurance",
    reported_consumer_rule=_p(
        "mo.consumer_notice.reported",
        "RSMo § 407.1500; RSMo §§ 375.1400–375.1427",
        R,
        summary="Reported: consumer notice under RSMo § 407.1500 with a copy to the director.",
    ),
    producer=_p(
        "mo.producer_notice.reported",
        "RSMo §§ 375.1400–375.1427",
        R,
        summary="Reported: producers of record no later than the consumer notice.",
    ),
    foreign_assuming_insurer_excluded=_p(
        "mo.licensee.foreign_assuming_insurer",
        "RSMo § 375.1402(10)",
        V,
        summary="'Licensee' excludes a licensee acting as an assuming insurer that is domiciled in another state.",
    ),
)

_KY = _reported_row(
    "KY",
    "Kentucky Commissioner of Insurance (through the department's eServices)",
    "KRS 304.3-750 to 304.3-768",
    KY_REPORTED_COMMISSIONER_NOTICE,
    tpsp_day_after=False,
    rule_prefix="ky",
    notes=(
        "KY: the clock is reported as 'within three days'; the unit (calendar or business days) was not read.",
        "KY: licensees with fewer than 50 employees are reported exempt from the whole act (department page); the "
        "engine does not apply the exemption: counsel confirms.",
        "KY: the notice is filed through the department's eServices.",
    ),
)

#: NAIC #668 § 6, the fallback for every state not in the table.
MODEL_FALLBACK = _reported_row(
    "TN",  # placeholder state, replaced per state by ``jurisdiction_for``
    "chief insurance regulator",
    MODEL_LAW,
    MODEL_REPORTED_COMMISSIONER_NOTICE,
    tpsp_day_after=True,
    rule_prefix="model",
    tpsp_law=f"NAIC #668 § 6(E) {MODEL_MARK}",
)

_NY = _reported_row(
    "NY",
    "New York Superintendent of Financial Services",
    "23 NYCRR 500.17",
    NY_REPORTED_COMMISSIONER_NOTICE,
    tpsp_day_after=False,
    rule_prefix="ny",
    notes=(
        "NY: a different regime (DFS); an extortion payment needs notice within 24 hours and an explanation "
        "within 30 days (not encoded).",
    ),
)

#: Every listed state. A state not here is read with ``MODEL_FALLBACK``.
CYBER_JURISDICTIONS: MappingProxyType[str, CyberJurisdiction] = MappingProxyType(
    {row.state: row for row in (_TN, _MO, _KY, _AL, _DE, _IA, _LA, _MD, _MI, _PA, _SC, _VA, _WI, _NY)}
)


@cache
def jurisdiction_for(state: str) -> CyberJurisdiction:
    """The table row of ``state``; the NAIC model fallback (reported) for a state not listed."""
    row = CYBER_JURISDICTIONS.get(state)
    if row is not None:
        return row
    return replace(
        MODEL_FALLBACK,
        state=state,
        regulator=f"chief insurance regulator of {STATE_NAMES[state]}",
        source="not listed in JURISDICTIONS.md: NAIC model fallback",
    )


# ============================================================================================
# Citations per jurisdiction
# ============================================================================================
#
# Every ledger entry and document cites the law of the jurisdiction it concerns. A section is
# named only where the seed texts or JURISDICTIONS.md give it; elsewhere the model's section is
# cited with MODEL_MARK — "(model; state section not verified)" — and whatever rests on it needs
# counsel review (``needs_counsel_review``). Where the engine applies Tennessee's verified rule to
# another state, the citation says so (``tennessee_rule_applied``). The event workflow calls these
# for its own entries (determination, findings, closure); rules.cyber and the document renderers
# for obligations and documents.

#: What every unverified citation carries, model or Tennessee's rule applied elsewhere.
NOT_VERIFIED = "section not verified)"


#: The two exclusions from "cybersecurity event", by the values of ``models.lifecycle.Exclusion``.
EXCLUSION_ENCRYPTED = "encrypted_key_not_compromised"
EXCLUSION_RETURNED = "returned_or_destroyed_unused"

# ---- sections the seeds give -------------------------------------------------------------------

#: Definition of "cybersecurity event": RSMo § 375.1402(3) is a seed; Tennessee's definitions are in
#: § 56-2-1003 (the seed § 56-2-1006 defines its terms by "See Tennessee Code 56-2-1003").
_EVENT_DEFINITION: dict[str, str] = {
    "MO": "RSMo § 375.1402(3)",
    "TN": "Tenn. Code Ann. § 56-2-1003",
}
#: The exclusions, read in the seed RSMo § 375.1402(3)(a)–(b). Tennessee's wording is not a seed.
_EVENT_EXCLUSIONS: dict[str, dict[str, str]] = {
    "MO": {EXCLUSION_ENCRYPTED: "RSMo § 375.1402(3)(a)", EXCLUSION_RETURNED: "RSMo § 375.1402(3)(b)"},
}
#: The investigation duties: § 56-2-1006(d)(3) names "the investigation requirements imposed under
#: § 56-2-1005".
_INVESTIGATION: dict[str, str] = {"TN": "Tenn. Code Ann. § 56-2-1005"}
#: Records kept at least five years from the event: "common to all adopters (verified in several)"
#: per JURISDICTIONS.md, which names no state's section; none is in the seeds.
_RETENTION: dict[str, str] = {}

MODEL_EVENT_DEFINITION = f"NAIC #668 § 3(D) {MODEL_MARK}"
MODEL_INVESTIGATION = f"NAIC #668 § 5 {MODEL_MARK}"
MODEL_RETENTION = f"NAIC #668 § 5(D) {MODEL_MARK}"
MODEL_CONSUMER_NOTICE = f"NAIC #668 § 6(D) {MODEL_MARK}"
MODEL_PRODUCER_NOTICE = f"NAIC #668 § 6(G) {MODEL_MARK}"


def needs_counsel_review(citation: str) -> bool:
    """A citation that names no verified section of the state's own law (model, or Tennessee's rule
    applied elsewhere): what rests on it is confirmed by counsel."""
    return NOT_VERIFIED in citation


def tennessee_rule_applied(citation: str, state: str) -> str:
    """``citation`` (a Tennessee section) applied to ``state``, whose own section is not verified."""
    if state == "TN":
        return citation
    return f"{citation} (Tennessee's rule applied; {state} {NOT_VERIFIED}"


# ---- the event as a whole: the licensee's domicile ---------------------------------------------


def event_definition_citation(domicile_state: str) -> str:
    """The definition of "cybersecurity event" in the domicile's law (the determination's entry)."""
    return _EVENT_DEFINITION.get(domicile_state, MODEL_EVENT_DEFINITION)


def exclusion_citation(domicile_state: str, exclusion: str | None) -> str:
    """An exclusion from "cybersecurity event" in the domicile's law: the encrypted-information
    exclusion or the returned-or-destroyed one (``exclusion``: a ``models.lifecycle.Exclusion``);
    without one, the definition itself."""
    if exclusion is None:
        return event_definition_citation(domicile_state)
    if str(exclusion) not in (EXCLUSION_ENCRYPTED, EXCLUSION_RETURNED):
        raise ValueError(f"exclusion must be {EXCLUSION_ENCRYPTED!r} or {EXCLUSION_RETURNED!r}, not {exclusion!r}")
    known = _EVENT_EXCLUSIONS.get(domicile_state, {}).get(str(exclusion))
    if known is not None:
        return known
    if domicile_state in _EVENT_DEFINITION:
        # The state's definitions section is known, its wording of the exclusion is not.
        return f"{_EVENT_DEFINITION[domicile_state]} (exclusion as in NAIC #668 § 3(D); state {NOT_VERIFIED}"
    return MODEL_EVENT_DEFINITION


def investigation_citation(domicile_state: str) -> str:
    """The investigation duties (determine, assess, identify, restore): findings and intake."""
    return _INVESTIGATION.get(domicile_state, MODEL_INVESTIGATION)


def retention_citation(state: str) -> str:
    """Records of every event kept at least five years from the event (closure's entry)."""
    return _RETENTION.get(state, MODEL_RETENTION)


# ---- per state ---------------------------------------------------------------------------------


def report_items_citation(state: str) -> str:
    """The section listing the commissioner report's items: Tenn. Code Ann. § 56-2-1006(b)(1) for
    Tennessee; NAIC #668 § 6(B), marked, where the state's own section is not verified."""
    provision = jurisdiction_for(state).report_items
    assert provision is not None  # every row carries one
    return provision.citation


def report_item_citation(state: str, code: str) -> str:
    """One item (A)–(N): its own subdivision where the state's section is verified; otherwise the
    model's section (the model numbers its items differently, so no letter is appended)."""
    base = report_items_citation(state)
    return base if needs_counsel_review(base) else f"{base}({code})"


def material_updates_citation(state: str) -> str:
    """The continuing duty to update and supplement the report (a material update's entry)."""
    provision = jurisdiction_for(state).material_updates
    assert provision is not None
    return provision.citation


def tpsp_citation(state: str) -> str:
    """A third-party service provider's event counts as the licensee's own: Tenn. Code Ann.
    § 56-2-1006(d), or the state's reported rule, or the model's § 6(E), marked."""
    provision = jurisdiction_for(state).tpsp
    assert provision is not None  # every row carries one
    return provision.citation


def consumer_notice_citation(state: str) -> str:
    """The state's consumer-notice rule: its verified row, its reported rule, or the model."""
    row = jurisdiction_for(state)
    if row.consumer is not None and row.is_verified:
        return row.consumer.citation
    if row.reported_consumer_rule is not None:
        return row.reported_consumer_rule.citation
    return MODEL_CONSUMER_NOTICE


def law_enforcement_delay_citation(state: str) -> str:
    """A documented law-enforcement delay of the consumer notice: Tennessee's (c), applied as such
    elsewhere."""
    return tennessee_rule_applied(f"{TN_LAW}(c)", state)


def substitute_part_citation(state: str, part: str) -> str:
    """A part of substitute notice: (A) e-mail, (B) website posting, (C) statewide media —
    Tenn. Code Ann. § 56-2-1006(c)(3)(A)–(C), applied as such elsewhere."""
    if part not in ("A", "B", "C"):
        raise ValueError(f"part must be A, B or C (§ 56-2-1006(c)(3)), not {part!r}")
    return tennessee_rule_applied(f"{TN_LAW}(c)(3)({part})", state)


def producer_notice_citation(state: str) -> str:
    """Producers of record: the state's rule (verified or reported), else the model's § 6(G)."""
    provision = jurisdiction_for(state).producer
    return provision.citation if provision is not None else MODEL_PRODUCER_NOTICE


def describe_unverified(citation: str, state: str) -> str:
    """The counsel-review reason for an entry resting on ``citation``."""
    return (
        f"{citation}: {STATE_NAMES.get(state, state)}'s own section is neither in the seed texts nor in "
        "JURISDICTIONS.md; counsel confirms the state's law."
    )
