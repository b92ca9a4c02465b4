"""Whether a general breach law reaches the event, both laws at once, and a multi-state event.

Issue 12: "A general-law obligation exists only when that law reaches the event: the data elements
fall within the state's definition of personal information, no cited exemption applies (encryption
safe harbor, an entity regulated under GLBA or HIPAA where the law carves it out), and its threshold
is met. What the table cannot decide → `needs_counsel_review`, never silence. Where an insurance act
and a general law both apply to the same residents, both obligations exist, the earlier deadline
governs the delivery, and the report says which laws each notice satisfies."
"""

from __future__ import annotations

from dataclasses import replace
from types import MappingProxyType

import pytest

from models.common import Clock, ClockUnit, RuleStatus
from models.obligation import ClockStart, LawRegime, Obligation, ObligationKind, ObligationsResult
from rules import breach_laws
from rules.breach_laws import BreachLaw, ClockBasis, ConsumerClock
from rules.cyber import compute_obligations, consumer_notice
from rules.general_law import governs_consumer_notice
from rules.jurisdictions import Provision, jurisdiction_for
from rules.obligation_draft import Context
from rules.registry import verifies
from tests.rules.builders import intake, state_row

CONSUMER = ObligationKind.CONSUMER_NOTICE
AG = ObligationKind.ATTORNEY_GENERAL_NOTICE
PRODUCER = ObligationKind.PRODUCER_NOTICE
END = "T23:59:59.999999"


def of(result: ObligationsResult, kind: ObligationKind, state: str, regime: LawRegime | None = None) -> list[Obligation]:
    return [
        o
        for o in result.obligations
        if o.kind is kind and o.jurisdiction == state and (regime is None or o.regime is regime)
    ]


def reasons(result: ObligationsResult, prefix: str) -> list[str]:
    return [r.message for r in result.reasons if r.code.startswith(prefix)]


# ============================================================================================
# Definition of personal information and exemptions
# ============================================================================================


@verifies("engine.breach_law.personal_information")
def test_only_business_information_reaches_no_general_law_and_says_so_for_counsel() -> None:
    """No state's definition is in the table: the engine's consumer data elements decide, and a "no" is flagged."""
    result = compute_obligations(intake(affected=[state_row("TX", 300)], elements=("business",), operations=True))
    assert of(result, CONSUMER, "TX") == [] and of(result, AG, "TX") == []
    reason = next(r for r in result.reasons if r.code == "general_law.TX.no_personal_information")
    assert reason.needs_counsel_review and reason.citation == "Tex. Bus. & Com. Code § 521.053"
    assert "(business)" in reason.message


@verifies("engine.breach_law.personal_information", "engine.breach_law.glba_hipaa")
@pytest.mark.parametrize(
    ("elements", "hipaa"), [(("ssn",), False), (("drivers_license",), False), (("health",), True), (("biometric", "health"), True)]
)
def test_consumer_data_elements_reach_the_law_with_the_definition_and_carve_outs_flagged(
    elements: tuple[str, ...], hipaa: bool
) -> None:
    notice = of(compute_obligations(intake(affected=[state_row("OR", 300)], elements=elements)), CONSUMER, "OR")[0]
    review = " ".join(notice.counsel_review_reasons)
    assert "definition of personal information under ORS 646A.604 is not in the table" in review
    assert "Gramm-Leach-Bliley" in review  # never a silent exemption
    assert ("HIPAA" in review) is hipaa
    assert {"engine.breach_law.personal_information", "engine.breach_law.glba_hipaa"} <= set(notice.rule_ids)
    assert notice.status is RuleStatus.INTERPRETATION  # it rests on the engine's reading of the definition


@verifies("engine.breach_law.encryption_safe_harbor")
def test_encrypted_information_with_the_key_safe_is_no_notice_but_the_safe_harbor_is_flagged() -> None:
    """As rules/classification.py: "encrypted … if the encryption, process, or key is not also acquired"."""
    result = compute_obligations(intake(affected=[state_row("TX", 300), state_row("VT", 2)], encrypted=True))
    assert not result.is_cybersecurity_event and result.obligations == []
    for state in ("TX", "VT"):
        reason = next(r for r in result.reasons if r.code == f"general_law.{state}.encryption_safe_harbor")
        assert reason.needs_counsel_review and reason.jurisdiction == state
        assert "RSMo § 375.1402(3)(a)" in reason.message
    keyed = compute_obligations(intake(affected=[state_row("TX", 300)], encrypted=True, key=True))
    assert of(keyed, CONSUMER, "TX") and of(keyed, AG, "TX")  # the key went too: no safe harbor


@verifies("engine.breach_law.encryption_safe_harbor")
def test_information_returned_unused_is_no_exclusion_in_the_table_so_counsel_decides() -> None:
    result = compute_obligations(intake(affected=[state_row("IL", 40)], returned=True))
    assert not result.is_cybersecurity_event
    reason = next(r for r in result.reasons if r.code == "general_law.IL.returned_or_destroyed")
    assert reason.needs_counsel_review and "815 ILCS 530/10" in reason.message


@verifies("engine.breach_law.personal_information")
@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"affected": [state_row("TX", 300, harm=False)]}, "no risk-of-harm exception"),
        ({"affected": [state_row("TX", 300)], "paper_only": True}, "paper records"),
        ({"affected": [state_row("TX", 300)], "delay": "2025-06-30T00:00:00-05:00"}, "deadline is not extended"),
    ],
)
def test_what_the_table_cannot_decide_keeps_the_notice_and_asks_counsel(change: dict, words: str) -> None:  # type: ignore[type-arg]
    result = compute_obligations(intake(**change))
    notice = of(result, CONSUMER, "TX", LawRegime.GENERAL_BREACH_LAW)[0]
    assert any(words in r for r in notice.counsel_review_reasons)
    assert notice.due.isoformat() == "2025-05-06" + END + "-05:00"  # never moved by what the table does not give
    assert of(result, AG, "TX")


def test_an_assuming_insurer_gets_no_general_law_notice_and_a_reason_for_counsel() -> None:
    result = compute_obligations(intake(kind="assuming_insurer", affected=[state_row("TX", 300)]))
    assert not [o for o in result.obligations if o.regime is LawRegime.GENERAL_BREACH_LAW]
    reason = next(r for r in result.reasons if r.code == "general_law.TX.assuming_insurer")
    assert reason.needs_counsel_review


def test_reported_rows_without_an_office_notice_ask_counsel_to_confirm_none_is_owed() -> None:
    """IN and ME: the table's "regulator / AG notice" column is "—"."""
    result = compute_obligations(intake(affected=[state_row("IN", 900), state_row("ME", 900)]))
    for state in ("IN", "ME"):
        assert of(result, AG, state) == []
        notice = of(result, CONSUMER, state)[0]
        assert any("lists no attorney-general or regulator notice" in r for r in notice.counsel_review_reasons)


# ============================================================================================
# The general law governs; both laws
# ============================================================================================


@verifies("engine.breach_law.governs_consumer_notice")
def test_where_the_general_law_governs_the_insurance_acts_72_hour_fallback_is_not_also_produced() -> None:
    """TX has no insurance act; NY's (23 NYCRR 500.17) and IN's say nothing verified of consumer notice."""
    result = compute_obligations(intake(affected=[state_row("TX", 10), state_row("NY", 10), state_row("IN", 10)]))
    for state in ("TX", "NY", "IN"):
        notices = of(result, CONSUMER, state)
        assert [o.regime for o in notices] == [LawRegime.GENERAL_BREACH_LAW]
        assert notices[0].clock.unit is not ClockUnit.HOURS
        # the producers of record are told no later than that consumer notice
        producer = of(result, PRODUCER, state)[0]
        assert producer.due == notices[0].due and producer.clock_start is notices[0].clock_start


@verifies("engine.breach_law.governs_consumer_notice")
def test_an_insurance_acts_verified_clock_of_the_same_law_is_not_a_second_notice() -> None:
    """VT's insurance row names the general law itself for consumer notice (9 V.S.A. § 2435(b)(1)): one law, one
    obligation."""
    row = replace(
        jurisdiction_for("VT"),
        status=RuleStatus.VERIFIED,
        consumer=Provision("vt.consumer_notice.test", "9 V.S.A. § 2435(b)(1)", RuleStatus.VERIFIED,
                           Clock(amount=45, unit=ClockUnit.CALENDAR_DAYS)),
    )  # fmt: skip
    data = intake(affected=[state_row("VT", 5)])
    ctx = _context(data)
    assert governs_consumer_notice(ctx, row) is not None
    assert consumer_notice(ctx, row, data.affected[0]) is None
    other = replace(row, consumer=replace(row.consumer, citation="18 Del. C. §§ 8601–8611"))  # type: ignore[arg-type]
    assert governs_consumer_notice(ctx, other) is None  # a different law of its own: both apply


def _context(data):  # type: ignore[no-untyped-def]
    from rules.classification import involves_consumer_npi

    assert data.determined_at is not None
    return Context(
        intake=data,
        determined_at=data.determined_at,
        determination_assumed=False,
        policy=data.licensee.deadline_policy,
        consumer_npi=involves_consumer_npi(data.data_elements),
    )


#: A general law given to Delaware for this test only: no row of JURISDICTIONS.md has both a verified
#: insurance-act consumer clock and a general-law row yet, so the rule is proved on a stand-in.
_DE_STAND_IN = BreachLaw(
    state="DE",
    consumer=Provision("breach_law.de.test_stand_in", "Stand-in general breach law (test)", RuleStatus.VERIFIED,
                       Clock(amount=30, unit=ClockUnit.CALENDAR_DAYS)),
    consumer_text="≤ 30 days after discovery (stand-in)",
    consumer_clock=ConsumerClock.DAYS,
    consumer_basis=ClockBasis.DISCOVERY,
)  # fmt: skip


@verifies("engine.breach_law.governs_consumer_notice", "engine.breach_law.laws_satisfied", "de.consumer_notice.deadline")
def test_where_both_laws_apply_both_obligations_exist_and_one_delivery_satisfies_both(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """DE (verified): "consumer notice ≤ 60 days" under 18 Del. C. §§ 8601–8611, and a general law besides."""
    monkeypatch.setattr(breach_laws, "BREACH_LAWS", MappingProxyType({**breach_laws.BREACH_LAWS, "DE": (_DE_STAND_IN,)}))
    result = compute_obligations(intake(affected=[state_row("DE", 400)]))
    notices = of(result, CONSUMER, "DE")
    assert [o.regime for o in notices] == [LawRegime.GENERAL_BREACH_LAW, LawRegime.INSURANCE_DATA_SECURITY]
    general, act = notices
    assert general.obligation_id == "INC-T:consumer_notice:DE:consumers:DE:general_law"
    assert act.obligation_id == "INC-T:consumer_notice:DE:consumers:DE"
    assert general.recipient_key == act.recipient_key == "consumers:DE"  # one delivery serves both
    assert general.due.isoformat() == "2025-03-31" + END + "-04:00"  # 30 days after discovery
    assert act.due.isoformat() == "2025-05-06" + END + "-04:00"  # 60 days after the determination
    ids = [o.obligation_id for o in result.obligations]
    assert ids.index(general.obligation_id) < ids.index(act.obligation_id)  # the earlier due leads the delivery
    laws = ["DE: Stand-in general breach law (test)", "DE: 18 Del. C. §§ 8601–8611"]
    assert general.laws_satisfied == laws and act.laws_satisfied == laws
    assert of(result, PRODUCER, "DE")[0].due == general.due  # never later than the earlier consumer notice


@verifies("engine.breach_law.laws_satisfied")
def test_every_obligation_names_the_laws_its_delivery_satisfies() -> None:
    result = compute_obligations(intake(affected=[state_row("TN", 300), state_row("TX", 300)]))
    for o in result.obligations:
        assert o.laws_satisfied and o.laws_satisfied[0].startswith(f"{o.jurisdiction}: ")
        # a remark such as "(model; state section not verified)" stays whole
        assert all(law.count("(") == law.count(")") for law in o.laws_satisfied), o.laws_satisfied
        assert o.citation.startswith(o.laws_satisfied[0].split(": ", 1)[1])
    assert of(result, AG, "TX")[0].laws_satisfied == ["TX: Tex. Bus. & Com. Code § 521.053"]
    # producers of record are never one delivery across states
    assert all(len(o.laws_satisfied) == 1 for o in result.obligations if o.kind is PRODUCER)


# ============================================================================================
# A multi-state event
# ============================================================================================

#: (kind, state, recipient_key, due, clock days, clock start, citation starts with, status, reported due)
MULTI_STATE = [
    (CONSUMER, "TX", "consumers:TX", "2025-05-06" + END + "-05:00", 60, ClockStart.DETERMINATION,
     "Tex. Bus. & Com. Code § 521.053", RuleStatus.INTERPRETATION, None),
    (AG, "TX", "attorney_general:TX", "2025-04-06" + END + "-05:00", 30, ClockStart.DETERMINATION,
     "Tex. Bus. & Com. Code § 521.053", RuleStatus.INTERPRETATION, None),
    (CONSUMER, "OR", "consumers:OR", "2025-04-15" + END + "-07:00", 45, ClockStart.DISCOVERY,
     "ORS 646A.604", RuleStatus.INTERPRETATION, None),
    (AG, "OR", "attorney_general:OR", "2025-03-31" + END + "-07:00", 30, ClockStart.DISCOVERY,
     "ORS 646A.604", RuleStatus.INTERPRETATION, None),
    (CONSUMER, "VT", "consumers:VT", "2025-04-15" + END + "-04:00", 45, ClockStart.DISCOVERY,
     "9 V.S.A. § 2435(b)(1)", RuleStatus.INTERPRETATION, None),
    (CONSUMER, "IL", "consumers:IL", "2025-03-31" + END + "-05:00", 30, ClockStart.DISCOVERY,
     "815 ILCS 530/10", RuleStatus.INTERPRETATION, None),
    (AG, "IL", "attorney_general:IL", "2025-03-31" + END + "-05:00", 30, ClockStart.DISCOVERY,
     "815 ILCS 530/10", RuleStatus.INTERPRETATION, None),
    (CONSUMER, "CA", "consumers:CA", "2026-02-05" + END + "-08:00", 30, ClockStart.DISCOVERY,
     "Cal. Civ. Code § 1798.82 (as amended eff. 2026-01-01)", RuleStatus.REPORTED, "2026-02-05" + END + "-08:00"),
    (AG, "CA", "attorney_general:CA", "2026-02-05" + END + "-08:00", 30, ClockStart.DISCOVERY,
     "Cal. Civ. Code § 1798.82 (as amended eff. 2026-01-01)", RuleStatus.REPORTED, "2026-02-20" + END + "-08:00"),
    (CONSUMER, "FL", "consumers:FL", "2026-02-06" + END + "-05:00", 30, ClockStart.DETERMINATION,
     "Fla. Stat. § 501.171", RuleStatus.REPORTED, "2026-02-06" + END + "-05:00"),
    (CONSUMER, "NY", "consumers:NY", "2026-02-05" + END + "-05:00", 30, ClockStart.DISCOVERY,
     "N.Y. Gen. Bus. Law § 899-aa", RuleStatus.REPORTED, "2026-02-05" + END + "-05:00"),
    (CONSUMER, "IN", "consumers:IN", "2026-02-05" + END + "-05:00", 30, ClockStart.DISCOVERY,
     "IC 24-4.9-3-3", RuleStatus.REPORTED, "2026-02-20" + END + "-05:00"),
    (CONSUMER, "ME", "consumers:ME", "2026-02-05" + END + "-05:00", 30, ClockStart.DISCOVERY,
     "10 M.R.S. § 1348", RuleStatus.REPORTED, "2026-02-05" + END + "-05:00"),
]  # fmt: skip


@verifies(
    "breach_law.tx.consumer_notice", "breach_law.tx.attorney_general_notice", "breach_law.or.consumer_notice",
    "breach_law.or.attorney_general_notice", "breach_law.vt.consumer_notice", "breach_law.il.consumer_notice",
    "breach_law.il.attorney_general_notice", "breach_law.ca.consumer_notice", "breach_law.ca.attorney_general_notice",
    "breach_law.fl.consumer_notice", "breach_law.ny.consumer_notice", "breach_law.ny.office_notices",
    "breach_law.in.consumer_notice", "breach_law.me.consumer_notice",
)  # fmt: skip
def test_a_multi_state_event_gets_every_general_law_kind_clock_citation_and_flag() -> None:
    """TX 300 (≥ 250: AG), OR 251 (> 250: AG), VT 1, IL 10 (AG threshold unread), CA 600 (> 500: sample copy),
    FL 499 (< 500: no Department of Legal Affairs), NY 2 (three offices), IN 46, ME 3.

    TX, OR, VT, IL are judged on a 2025 determination; CA, FL, NY, IN, ME on one in 2026 (CA's amendment in force):
    the two halves are two events of one licensee, merged for the table below."""
    early = compute_obligations(
        intake(affected=[state_row("TX", 300), state_row("OR", 251), state_row("VT", 1), state_row("IL", 10)])
    )
    late = compute_obligations(
        intake(
            affected=[state_row("CA", 600), state_row("FL", 499), state_row("NY", 2), state_row("IN", 46),
                      state_row("ME", 3)],
            discovered="2026-01-06T09:00:00-06:00",
            determined="2026-01-07T16:30:00-06:00",
        )
    )  # fmt: skip
    general = [o for r in (early, late) for o in r.obligations if o.regime is LawRegime.GENERAL_BREACH_LAW]
    expected = {(k, s, key) for k, s, key, *_ in MULTI_STATE} | {
        (AG, "NY", "department_of_state:NY"), (AG, "NY", "state_police:NY"), (AG, "NY", "attorney_general:NY"),
    }  # fmt: skip
    assert {(o.kind, o.jurisdiction, o.recipient_key) for o in general} == expected
    by = {(o.kind, o.recipient_key): o for o in general}
    for kind, state, key, due, days, start, citation, status, reported in MULTI_STATE:
        o = by[(kind, key)]
        assert (o.due.isoformat(), o.clock.amount, o.clock_start) == (due, days, start), (state, kind)
        assert o.citation.startswith(citation) and o.status is status, (state, kind, o.citation, o.status)
        assert o.needs_counsel_review and o.obligation_id.endswith(":general_law")
        assert (o.reported_due.isoformat() if o.reported_due else None) == reported, (state, kind)
    # no general-law obligation is ever silent about what it could not verify
    assert all(any("definition of personal information" in r for r in o.counsel_review_reasons) for o in general)
    assert not of(late, AG, "FL")
    assert any("≥ 500 residents" in m for m in reasons(late, "general_law.FL.department_of_legal_affairs"))
    # the insurance acts' own obligations are still there (VT's Department notice, the commissioner notices)
    assert of(early, ObligationKind.COMMISSIONER_NOTICE, "VT")
    assert all(o.clock.unit is not ClockUnit.HOURS for o in early.obligations + late.obligations
               if o.kind is CONSUMER)  # fmt: skip
