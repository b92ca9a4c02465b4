"""The reported rows of the commissioner-notice table, the NAIC model fallback, and the states where
JURISDICTIONS.md found no insurance data security act.

JURISDICTIONS.md: "For a reported row or a state not listed, the engine must not guess silently: it applies the
**strictest known clock** (72 hours) and marks the obligation ``needs_counsel_review`` with the reason, so a
person confirms it." Each row below keeps the clock *as reported* (``reported_clock``) so counsel sees both.
Pure data; ``rules.jurisdictions`` re-exports it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from models.common import Clock, ClockUnit, RuleStatus
from rules.jurisdiction_row import (
    MODEL_LAW,
    MODEL_MARK,
    MODEL_MATERIAL_UPDATES_PROVISION,
    MODEL_REPORT_ITEMS_PROVISION,
    MODEL_TPSP_PROVISION,
    MODEL_TRIGGERS_RULE_ID,
    SEVENTY_TWO_HOURS,
    STRICTEST_KNOWN_CLOCK,
    THREE_BUSINESS_DAYS,
    CyberJurisdiction,
    DomicileTrigger,
    I,
    Provision,
    R,
    ResidentsTrigger,
    SizeExemption,
    SizeMeasure,
    V,
    provision,
)
from rules.states import STATE_NAMES

# ============================================================================================
# Named constants (reported)
# ============================================================================================

#: MO, reported from the 2024 bill text: 3 business days, "the day after" the TPSP's notice or
#: actual knowledge, whichever is sooner.
MO_REPORTED_COMMISSIONER_NOTICE = Clock(amount=THREE_BUSINESS_DAYS, unit=ClockUnit.BUSINESS_DAYS)
#: KY, reported: "within three days" (JURISDICTIONS.md: unit unread; read here as calendar days,
#: the shorter reading — the strictest known clock applies anyway).
KY_REPORTED_COMMISSIONER_NOTICE_DAYS = 3
KY_REPORTED_COMMISSIONER_NOTICE = Clock(amount=KY_REPORTED_COMMISSIONER_NOTICE_DAYS, unit=ClockUnit.CALENDAR_DAYS)
#: KY, reported: "licensees with < 50 employees exempt from the whole act (department page)".
KY_SMALL_LICENSEE_EMPLOYEES = 50
#: CT, reported: "3 business days after first determination (text seen only as quoted)".
CT_REPORTED_COMMISSIONER_NOTICE = Clock(amount=THREE_BUSINESS_DAYS, unit=ClockUnit.BUSINESS_DAYS)
#: IN (IC 27-2-27-22) and HI (HRS § 431:3B-305), reported: assuming insurer "3 business days".
IN_REPORTED_ASSUMING_INSURER_NOTICE = Clock(amount=THREE_BUSINESS_DAYS, unit=ClockUnit.BUSINESS_DAYS)
HI_REPORTED_ASSUMING_INSURER_NOTICE = Clock(amount=THREE_BUSINESS_DAYS, unit=ClockUnit.BUSINESS_DAYS)
#: ND, reported: "older text 3 business days; 2025 SB 2088 replaces it with **72 hours**".
ND_OLDER_REPORTED_COMMISSIONER_NOTICE = Clock(amount=THREE_BUSINESS_DAYS, unit=ClockUnit.BUSINESS_DAYS)
ND_SB_2088_REPORTED_COMMISSIONER_NOTICE = Clock(amount=SEVENTY_TWO_HOURS, unit=ClockUnit.HOURS)
#: ND SB 2088's effective date is not in JURISDICTIONS.md: 1 August 2025, the usual effective date of a North
#: Dakota act of the 2025 session, is assumed (an interpretation; the row is reported, so counsel confirms).
ND_SB_2088_EFFECTIVE_ASSUMED = dt.date(2025, 8, 1)
#: NAIC #668 § 6: 72 hours (reported; the model's TPSP deadlines begin on the day after).
MODEL_REPORTED_COMMISSIONER_NOTICE = Clock(amount=SEVENTY_TWO_HOURS, unit=ClockUnit.HOURS)


def reported_row(
    state: str,
    regulator: str,
    law: str,
    reported_clock: Clock | None,
    *,
    tpsp_day_after: bool,
    rule_prefix: str,
    commissioner_rule_id: str | None = None,
    reported_text: str | None = None,
    triggers: Provision | None = None,
    status: RuleStatus = R,
    tpsp_law: str | None = None,
    **extra: object,
) -> CyberJurisdiction:
    """A row whose clocks are only reported: due = strictest known clock, plus counsel review.

    ``triggers``: the reported trigger provision (CT, ND: "domicile rule; 250 rule"); without it the model's
    wording applies as an interpretation. Either way the home-state trigger is read broadly (being the home state
    suffices), with counsel review where only that reading makes the notice arise."""
    shown = reported_text or (reported_clock.describe() if reported_clock else "clock unread")
    trigger = triggers or provision(MODEL_TRIGGERS_RULE_ID, law, I)
    return CyberJurisdiction(
        state=state,
        regulator=regulator,
        status=status,
        source="JURISDICTIONS.md (reported)",
        commissioner=provision(
            commissioner_rule_id or f"{rule_prefix}.commissioner_notice.reported_clock",
            law,
            R,
            STRICTEST_KNOWN_CLOCK,
            f"Reported: {shown}; the strictest known clock (72 hours) applies until counsel confirms.",
        ),
        domicile_trigger=DomicileTrigger.HOME_STATE,
        domicile_provision=trigger,
        residents_trigger=ResidentsTrigger.THRESHOLD_AND_GOVERNMENT_NOTICE_OR_HARM,
        residents_provision=trigger,
        tpsp=(
            provision(
                f"{rule_prefix}.tpsp.day_after",
                tpsp_law or law,
                R,
                summary="Reported: deadlines start the day after the TPSP's notice or actual knowledge, whichever is "
                "sooner.",
            )
            if tpsp_day_after
            else MODEL_TPSP_PROVISION
        ),
        tpsp_day_after=tpsp_day_after,
        reported_clock=reported_clock,
        **{"report_items": MODEL_REPORT_ITEMS_PROVISION, "material_updates": MODEL_MATERIAL_UPDATES_PROVISION, **extra},  # type: ignore[arg-type]
    )


MO = reported_row(
    "MO",
    "Missouri Director of the Department of Commerce and Insurance",
    "RSMo §§ 375.1400–375.1427",
    MO_REPORTED_COMMISSIONER_NOTICE,
    tpsp_day_after=True,
    rule_prefix="mo",
    consumer_copy_to="Missouri Director of the Department of Commerce and Insurance",
    reported_consumer_rule=provision(
        "mo.consumer_notice.reported",
        "RSMo § 407.1500; RSMo §§ 375.1400–375.1427",
        R,
        summary="Reported: consumer notice under RSMo § 407.1500 with a copy to the director.",
    ),
    producer=provision(
        "mo.producer_notice.reported",
        "RSMo §§ 375.1400–375.1427",
        R,
        summary="Reported: producers of record no later than the consumer notice.",
    ),
    foreign_assuming_insurer_excluded=provision(
        "mo.licensee.foreign_assuming_insurer",
        "RSMo § 375.1402(10)",
        V,
        summary="'Licensee' excludes a licensee acting as an assuming insurer that is domiciled in another state.",
    ),
)

KY = reported_row(
    "KY",
    "Kentucky Commissioner of Insurance (through the department's eServices)",
    "KRS 304.3-750 to 304.3-768",
    KY_REPORTED_COMMISSIONER_NOTICE,
    tpsp_day_after=False,
    rule_prefix="ky",
    size_exemptions=(
        SizeExemption(
            provision=provision(
                "ky.commissioner_notice.small_licensee_exemption",
                "Kentucky Department of Insurance (department page)",
                R,
                summary="Reported: licensees with fewer than 50 employees are exempt from the whole act (department "
                "page). Reported, so never applied: the obligation stays and counsel is told the licensee's size.",
            ),
            measure=SizeMeasure.EMPLOYEES,
            below=KY_SMALL_LICENSEE_EMPLOYEES,
            removes_notice=True,
            covers="the whole act",
        ),
    ),
    notes=(
        "KY: the clock is reported as 'within three days'; the unit (calendar or business days) was not read.",
        "KY: licensees with fewer than 50 employees are reported exempt from the whole act (department page); the "
        "engine keeps the obligation and asks counsel to confirm.",
        "KY: the notice is filed through the department's eServices.",
    ),
)

CT = reported_row(
    "CT",
    "Connecticut Insurance Commissioner",
    "Conn. Gen. Stat. § 38a-38",
    CT_REPORTED_COMMISSIONER_NOTICE,
    tpsp_day_after=False,
    rule_prefix="ct",
    reported_text="3 business days after first determination (text seen only as quoted)",
    triggers=provision(
        "ct.commissioner_notice.triggers",
        "Conn. Gen. Stat. § 38a-38",
        R,
        summary="Reported: domicile rule (domicile or home state and material harm) and 250 rule; the home-state "
        "trigger is read broadly until counsel confirms.",
    ),
)

IN = reported_row(
    "IN",
    "Indiana Commissioner of Insurance",
    "IC 27-2-27-21",
    None,
    tpsp_day_after=False,
    rule_prefix="in",
    reported_text="main clock unread",
    assuming_insurer=provision(
        "in.ceding_insurer_notice.reported",
        "IC 27-2-27-22",
        R,
        IN_REPORTED_ASSUMING_INSURER_NOTICE,
        "Reported: an assuming insurer notifies within 3 business days; the strictest known clock applies until "
        "counsel confirms.",
    ),
    notes=("IN: consumer notice follows IC 24-4.9-3-3 (45 days after discovery, reported).",),
)

HI = reported_row(
    "HI",
    "Hawaii Insurance Commissioner",
    "HRS ch. 431 art. 3B",
    None,
    tpsp_day_after=False,
    rule_prefix="hi",
    reported_text="main clock unread",
    assuming_insurer=provision(
        "hi.ceding_insurer_notice.reported",
        "HRS § 431:3B-305",
        R,
        HI_REPORTED_ASSUMING_INSURER_NOTICE,
        "Reported: an assuming insurer notifies within 3 business days; the strictest known clock applies until "
        "counsel confirms.",
    ),
    producer=provision(
        "hi.producer_notice.reported",
        "HRS § 431:3B-306",
        R,
        summary="Reported: producers of record are notified 'as soon as practicable'.",
    ),
)

_ND_LAW = "N.D.C.C. § 26.1-02.2-05"
_ND_TRIGGERS = provision(
    "nd.commissioner_notice.triggers",
    _ND_LAW,
    R,
    summary="Reported: domicile rule (domicile or home state and material harm) and 250 rule; the home-state trigger "
    "is read broadly until counsel confirms.",
)
#: The older text: 3 business days (reported).
ND_OLDER = reported_row(
    "ND",
    "North Dakota Insurance Commissioner",
    _ND_LAW,
    ND_OLDER_REPORTED_COMMISSIONER_NOTICE,
    tpsp_day_after=False,
    rule_prefix="nd",
    reported_text="3 business days (the text before 2025 SB 2088)",
    triggers=_ND_TRIGGERS,
    notes=("ND: the text before 2025 SB 2088 (3 business days, reported) is applied to this event.",),
)
#: 2025 SB 2088: 72 hours (reported), from its assumed effective date.
ND_SB_2088 = replace(
    reported_row(
        "ND",
        "North Dakota Insurance Commissioner",
        _ND_LAW,
        ND_SB_2088_REPORTED_COMMISSIONER_NOTICE,
        tpsp_day_after=False,
        rule_prefix="nd",
        commissioner_rule_id="nd.commissioner_notice.reported_clock_sb_2088",
        reported_text="72 hours (2025 SB 2088)",
        triggers=_ND_TRIGGERS,
        notes=(
            "ND: 2025 SB 2088 replaces the 3 business days with 72 hours (reported); its effective date is not in "
            "JURISDICTIONS.md — 1 August 2025, the usual date for acts of the 2025 session, is assumed: counsel "
            "confirms.",
        ),
    ),
    effective_from=ND_SB_2088_EFFECTIVE_ASSUMED,
)

# ============================================================================================
# The fallback, and the states without an insurance act
# ============================================================================================

#: NAIC #668 § 6, the fallback for every state without a row in force.
MODEL_FALLBACK = replace(
    reported_row(
        "TN",  # placeholder state, replaced per state by ``fallback_row``
        "chief insurance regulator",
        MODEL_LAW,
        MODEL_REPORTED_COMMISSIONER_NOTICE,
        tpsp_day_after=True,
        rule_prefix="model",
        tpsp_law=f"NAIC #668 § 6(E) {MODEL_MARK}",
    ),
    fallback=True,
)

#: JURISDICTIONS.md "Terms": "No insurance act was found for OR, TX, NE, AR, AZ, MT, CO, KS, WV, NC, GA, UT, CA:
#: there the general breach law below governs."
NO_INSURANCE_ACT_STATES: frozenset[str] = frozenset(
    ("OR", "TX", "NE", "AR", "AZ", "MT", "CO", "KS", "WV", "NC", "GA", "UT", "CA")
)
#: JURISDICTIONS.md, TX general breach law: "TDI bulletin B-0009-23 asks insurers to e-mail TDI (no deadline)".
TX_TDI_BULLETIN = "TDI bulletin B-0009-23 asks insurers to e-mail the Texas Department of Insurance (no deadline)."
NO_INSURANCE_ACT_NOTES: dict[str, tuple[str, ...]] = {"TX": (f"TX: {TX_TDI_BULLETIN}",)}

UNLISTED_SOURCE = "not listed in JURISDICTIONS.md: NAIC model fallback"


def fallback_row(state: str, later: CyberJurisdiction | None = None) -> CyberJurisdiction:
    """The model fallback for ``state``: a state not listed, a state without an insurance act, or a listed state
    before its row took effect (``later``: the state's earliest row)."""
    name = STATE_NAMES[state]
    notes: tuple[str, ...] = NO_INSURANCE_ACT_NOTES.get(state, ())
    source = UNLISTED_SOURCE
    if later is not None and later.effective_from is not None:
        source = (
            f"JURISDICTIONS.md row ({later.commissioner.citation}) in force from {later.effective_from.isoformat()}; "
            "before it: NAIC model fallback"
        )
        notes = (
            *notes,
            f"{state}: {later.commissioner.citation} takes effect on {later.effective_from.isoformat()}, after this "
            "event's trigger date; the NAIC model fallback applies.",
        )
    return replace(
        MODEL_FALLBACK,
        state=state,
        regulator=f"chief insurance regulator of {name}",
        source=source,
        no_insurance_act=state in NO_INSURANCE_ACT_STATES,
        fallback_until=later.effective_from if later is not None else None,
        notes=notes,
    )
