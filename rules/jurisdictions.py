"""The jurisdiction table: every clock, threshold and trigger variant the engine applies, with its citation.

Numbers live in the table's modules, as named constants, and the rule functions read them through the rows
(``CyberJurisdiction``). This module is the one callers import from: it re-exports the rows and their
constants, picks the version of a row in force on an event's trigger date (:func:`jurisdiction_for`), and
gives the citation of each kind of entry per state. Rows come from ``JURISDICTIONS.md`` and the seed texts:

* ``verified`` — checked against the statute or the department's own page (TN from the seed;
  ``rules.commissioner_rows``);
* ``reported`` — only reported (MO clocks, KY, CT, IN, HI, ND, the NAIC model fallback;
  ``rules.commissioner_reported_rows``): the engine computes the reported clock for information, but the
  obligation's ``due`` applies the **strictest known clock** (72 hours) and asks for counsel review;
* a state without a row in force gets the model row: strictest clock, counsel review — with the reason that
  no insurance act was found where JURISDICTIONS.md says so (``NO_INSURANCE_ACT_STATES``).

The shape of a row is in ``rules.jurisdiction_row``; the state names and time zones in ``rules.states``.
"""

from __future__ import annotations

import datetime as dt
from functools import cache

from rules.commissioner_reported_rows import (
    CT_REPORTED_COMMISSIONER_NOTICE,
    HI_REPORTED_ASSUMING_INSURER_NOTICE,
    IN_REPORTED_ASSUMING_INSURER_NOTICE,
    KY_REPORTED_COMMISSIONER_NOTICE,
    KY_REPORTED_COMMISSIONER_NOTICE_DAYS,
    KY_SMALL_LICENSEE_EMPLOYEES,
    MO_REPORTED_COMMISSIONER_NOTICE,
    MODEL_FALLBACK,
    MODEL_REPORTED_COMMISSIONER_NOTICE,
    ND_OLDER_REPORTED_COMMISSIONER_NOTICE,
    ND_SB_2088_EFFECTIVE_ASSUMED,
    ND_SB_2088_REPORTED_COMMISSIONER_NOTICE,
    NO_INSURANCE_ACT_STATES,
    TX_TDI_BULLETIN,
    fallback_row,
)
from rules.commissioner_rows import (
    AK_EFFECTIVE,
    CYBER_JURISDICTION_VERSIONS,
    CYBER_JURISDICTIONS,
    DE_CONSUMER_NOTICE,
    DE_CONSUMER_NOTICE_DAYS,
    IL_EFFECTIVE,
    MI_COMMISSIONER_NOTICE,
    MI_COMMISSIONER_NOTICE_BUSINESS_DAYS,
    MN_COMMISSIONER_NOTICE,
    MN_COMMISSIONER_NOTICE_BUSINESS_DAYS,
    MS_SMALL_LICENSEE_EMPLOYEES,
    NY_COMMISSIONER_NOTICE,
    NY_EXTORTION_EXPLANATION_DAYS,
    NY_EXTORTION_PAYMENT_NOTICE_HOURS,
    OK_SMALL_LICENSEE_REVENUE_USD,
    PA_COMMISSIONER_NOTICE,
    PA_COMMISSIONER_NOTICE_BUSINESS_DAYS,
    RI_EFFECTIVE,
    SC_COMMISSIONER_NOTICE,
    SUBSTITUTE_NOTICE_CLASS_THRESHOLD,
    SUBSTITUTE_NOTICE_COST_THRESHOLD_USD,
    TN_ASSUMING_INSURER_NOTICE,
    TN_ASSUMING_INSURER_NOTICE_BUSINESS_DAYS,
    TN_COMMISSIONER_NOTICE,
    TN_COMMISSIONER_NOTICE_BUSINESS_DAYS,
    TN_CONSUMER_NOTICE,
    TN_CONSUMER_NOTICE_DAYS,
    VT_DFR_NOTICE,
    VT_DFR_NOTICE_BUSINESS_DAYS,
    VT_RESIDENTS_THRESHOLD,
)
from rules.effective import in_force
from rules.jurisdiction_row import (
    MODEL_LAW,
    MODEL_MARK,
    MODEL_MATERIAL_UPDATES,
    MODEL_REPORT_ITEMS,
    RESIDENTS_THRESHOLD,
    SEVENTY_TWO_HOURS,
    STRICTEST_KNOWN_CLOCK,
    STRICTEST_KNOWN_CLOCK_HOURS,
    THREE_BUSINESS_DAYS,
    THREE_BUSINESS_DAYS_CLOCK,
    TN_LAW,
    ClockOrigin,
    CyberJurisdiction,
    DomicileTrigger,
    LicenseeScope,
    Provision,
    ResidentsTrigger,
    SizeExemption,
    SizeMeasure,
)
from rules.states import STATE_NAMES, STATE_TIMEZONES

#: The names callers import from here (the table's modules define them).
__all__ = [
    "AK_EFFECTIVE", "CT_REPORTED_COMMISSIONER_NOTICE", "CYBER_JURISDICTIONS", "CYBER_JURISDICTION_VERSIONS",
    "ClockOrigin", "CyberJurisdiction", "DE_CONSUMER_NOTICE", "DE_CONSUMER_NOTICE_DAYS", "DomicileTrigger",
    "HI_REPORTED_ASSUMING_INSURER_NOTICE", "IL_EFFECTIVE", "IN_REPORTED_ASSUMING_INSURER_NOTICE",
    "KY_REPORTED_COMMISSIONER_NOTICE", "KY_REPORTED_COMMISSIONER_NOTICE_DAYS", "KY_SMALL_LICENSEE_EMPLOYEES",
    "LicenseeScope", "MI_COMMISSIONER_NOTICE", "MI_COMMISSIONER_NOTICE_BUSINESS_DAYS", "MN_COMMISSIONER_NOTICE",
    "MN_COMMISSIONER_NOTICE_BUSINESS_DAYS", "MODEL_FALLBACK", "MODEL_LAW", "MODEL_MARK", "MODEL_MATERIAL_UPDATES",
    "MODEL_REPORTED_COMMISSIONER_NOTICE", "MODEL_REPORT_ITEMS", "MO_REPORTED_COMMISSIONER_NOTICE",
    "MS_SMALL_LICENSEE_EMPLOYEES", "ND_OLDER_REPORTED_COMMISSIONER_NOTICE", "ND_SB_2088_EFFECTIVE_ASSUMED",
    "ND_SB_2088_REPORTED_COMMISSIONER_NOTICE", "NO_INSURANCE_ACT_STATES", "NY_COMMISSIONER_NOTICE",
    "NY_EXTORTION_EXPLANATION_DAYS", "NY_EXTORTION_PAYMENT_NOTICE_HOURS", "OK_SMALL_LICENSEE_REVENUE_USD",
    "PA_COMMISSIONER_NOTICE", "PA_COMMISSIONER_NOTICE_BUSINESS_DAYS", "Provision", "RESIDENTS_THRESHOLD",
    "RI_EFFECTIVE", "ResidentsTrigger", "SC_COMMISSIONER_NOTICE", "SEVENTY_TWO_HOURS", "STATE_NAMES",
    "STATE_TIMEZONES", "STRICTEST_KNOWN_CLOCK", "STRICTEST_KNOWN_CLOCK_HOURS", "SUBSTITUTE_NOTICE_CLASS_THRESHOLD",
    "SUBSTITUTE_NOTICE_COST_THRESHOLD_USD", "SizeExemption", "SizeMeasure", "THREE_BUSINESS_DAYS",
    "THREE_BUSINESS_DAYS_CLOCK", "TN_ASSUMING_INSURER_NOTICE", "TN_ASSUMING_INSURER_NOTICE_BUSINESS_DAYS",
    "TN_COMMISSIONER_NOTICE", "TN_COMMISSIONER_NOTICE_BUSINESS_DAYS", "TN_CONSUMER_NOTICE",
    "TN_CONSUMER_NOTICE_DAYS", "TN_LAW", "TX_TDI_BULLETIN", "VT_DFR_NOTICE", "VT_DFR_NOTICE_BUSINESS_DAYS",
    "VT_RESIDENTS_THRESHOLD",
    # privacy constants and citation helpers, defined below
    "ANNUAL_NOTICE_PERIOD_MONTHS", "EXCLUSION_ENCRYPTED", "EXCLUSION_RETURNED", "HEALTH_AUTHORIZATION_MAX_MONTHS",
    "HEALTH_REVOCATION_EFFECT_DAYS", "MODEL_CONSUMER_NOTICE", "MODEL_EVENT_DEFINITION", "MODEL_INVESTIGATION",
    "MODEL_PRODUCER_NOTICE", "MODEL_RETENTION", "NOT_VERIFIED", "OPT_OUT_REASONABLE_OPPORTUNITY_DAYS",
    "RELATIONSHIP_DORMANCY_MONTHS", "consumer_notice_citation", "describe_unverified", "event_definition_citation",
    "exclusion_citation", "investigation_citation", "jurisdiction_for", "law_enforcement_delay_citation",
    "material_updates_citation", "needs_counsel_review", "producer_notice_citation", "report_item_citation",
    "report_items_citation", "retention_citation", "substitute_part_citation", "tennessee_rule_applied",
    "tpsp_citation",
]  # fmt: skip

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
# The row in force
# ============================================================================================


@cache
def jurisdiction_for(state: str, on: dt.date | None = None) -> CyberJurisdiction:
    """The table row of ``state`` in force on ``on`` (``rules.effective.in_force``; None: the newest version).

    A state not listed, or listed only from a later date, gets the NAIC model fallback (reported), marked
    with the reason: not listed, no insurance act found (JURISDICTIONS.md), or the row's date still ahead."""
    versions = CYBER_JURISDICTION_VERSIONS.get(state, ())
    row = (versions[-1] if versions else None) if on is None else in_force(versions, on)
    if row is not None:
        return row
    return fallback_row(state, later=versions[0] if versions else None)


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
