"""Issue 12, commissioner notice: size exemptions (known, unknown, not applicable), the states without an insurance
act, the assuming-insurer clocks of IL, IN and HI, HI's producers, and `noticeflow obligations` reading the
licensee's size from its JSON input. Each case quotes JURISDICTIONS.md (``state_rows_builders``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from models.obligation import ObligationKind
from noticeflow.cli import app
from rules.cyber import compute_obligations
from rules.jurisdictions import NO_INSURANCE_ACT_STATES, STATE_NAMES, STRICTEST_KNOWN_CLOCK
from rules.registry import verifies
from tests.rules.builders import only, state_row
from tests.rules.state_rows_builders import ROW, TERMS, event

COMMISSIONER = ObligationKind.COMMISSIONER_NOTICE
CEDING = ObligationKind.CEDING_INSURER_NOTICE
EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "event-tpsp-multistate.json"


def _insurance_act(result, state: str) -> list:  # type: ignore[no-untyped-def]
    return [o for o in result.obligations if o.jurisdiction == state and o.regime.value == "insurance_data_security"]


# ============================================================================================
# Oklahoma: verified, removes the act
# ============================================================================================


@verifies("ok.commissioner_notice.small_licensee_exemption")
@pytest.mark.parametrize(
    ("revenue", "exempt", "review"),
    [
        (4_999_999, True, False),  # known, under $5M: no Oklahoma insurance-act obligation, a reason instead
        (0, True, False),
        (5_000_000, False, False),  # known, not under $5M: the notice stands, nothing to confirm
        (None, False, True),  # unknown: the notice stands, counsel confirms the revenue
    ],
)
def test_oklahoma_licensees_under_5m_revenue_are_exempt_from_the_act(revenue: int | None, exempt: bool, review: bool) -> None:
    """ROW["OK"]: "licensees under $5M gross annual revenue exempt from the act (department page) | verified"."""
    result = compute_obligations(event(domicile="TN", revenue=revenue, employees=4, affected=[state_row("OK", 900, gov=True)]))
    reason = next((r for r in result.reasons if r.code == "exemption.ok.small_licensee"), None)
    assert (reason is not None) is exempt, ROW["OK"]
    assert bool(_insurance_act(result, "OK")) is not exempt
    if reason is not None:
        assert reason.citation == "36 O.S. § 675; Oklahoma Insurance Department (department page)"
        assert "under $5,000,000 gross annual revenue" in reason.message and reason.jurisdiction == "OK"
        return
    notice = only(result, COMMISSIONER, "OK")
    assert "ok.commissioner_notice.small_licensee_exemption" in notice.rule_ids
    revenue_review = [r for r in notice.counsel_review_reasons if "annual_revenue_usd" in r or "revenue" in r]
    assert bool(revenue_review) is review
    if review:
        assert "annual_revenue_usd is not in its profile" in revenue_review[0]


@verifies("ok.commissioner_notice.small_licensee_exemption")
def test_an_exemption_of_one_state_does_not_reach_another() -> None:
    """Not applicable: a $1M licensee is exempt in Oklahoma only; Tennessee has no such exemption."""
    result = compute_obligations(event(revenue=1_000_000, employees=2, affected=[state_row("TN", 900), state_row("OK", 900)]))
    tn = only(result, COMMISSIONER, "TN")
    assert not tn.needs_counsel_review and not any("exempt" in n for n in tn.notes)
    assert not _insurance_act(result, "OK")


# ============================================================================================
# Kentucky: reported, never applied
# ============================================================================================


@verifies("ky.commissioner_notice.small_licensee_exemption", "ky.commissioner_notice.reported_clock")
@pytest.mark.parametrize(
    ("employees", "known"),
    [
        (49, "the licensee has 49 employees, so it may be exempt"),
        (50, "the licensee has 50 employees, so the reported exemption would not apply"),
        (None, "the licensee's employees is not in its profile, so whether it applies is not known"),
    ],
)
def test_kentucky_reported_exemption_keeps_the_notice_and_tells_counsel_what_is_known(employees: int | None, known: str) -> None:
    """ROW["KY"]: "licensees with < 50 employees exempt from the whole act (department page) | reported"; TERMS:
    "KY reported, so counsel confirms"."""
    result = compute_obligations(event(domicile="TN", employees=employees, affected=[state_row("KY", 300, gov=True)]))
    notice = only(result, COMMISSIONER, "KY")
    assert notice.needs_counsel_review and notice.status.value == "reported", TERMS
    flag = next(r for r in notice.counsel_review_reasons if "fewer than 50 employees" in r)
    assert known in flag and "Reported, so not applied" in flag
    assert not any(r.code.startswith("exemption.ky") for r in result.reasons)


# ============================================================================================
# MN, OH, MS: exemptions that never remove notice
# ============================================================================================


@verifies(
    "mn.commissioner_notice.small_licensee_exemption", "oh.commissioner_notice.small_licensee_exemption",
    "ms.commissioner_notice.small_licensee_exemption", "mn.commissioner_notice.deadline",
    "oh.commissioner_notice.deadline", "ms.commissioner_notice.deadline",
)  # fmt: skip
@pytest.mark.parametrize(
    ("state", "words"),
    [
        ("MN", "does not cover notification"),  # "(§ 60A.9856) does **not** cover notification"
        ("OH", "do not cover reporting"),  # "(ORC 3965.07) do not cover reporting"
        ("MS", "program sections only, not from notice"),  # "< 50 employees exempt from the program sections only"
    ],
)
@pytest.mark.parametrize(("employees", "revenue"), [(1, 1_000), (None, None)])
def test_small_licensee_exemptions_that_do_not_cover_notice_never_remove_it(
    state: str, words: str, employees: int | None, revenue: int | None
) -> None:
    """ROW["MN"], ROW["OH"], ROW["MS"]; TERMS: "those that do not (MN, OH, MS) must not be applied to notice" — a
    one-person licensee with $1,000 revenue notifies as any other, and no size question is put to counsel."""
    result = compute_obligations(
        event(domicile="TN", employees=employees, revenue=revenue, affected=[state_row(state, 300, gov=True)])
    )
    notice = only(result, COMMISSIONER, state)
    assert notice.rule_id == f"{state.lower()}.commissioner_notice.deadline", ROW[state]
    assert f"{state.lower()}.commissioner_notice.small_licensee_exemption" in notice.rule_ids
    assert any(words in n for n in notice.notes)
    assert not any("employees" in r or "revenue" in r for r in notice.counsel_review_reasons)
    assert not any(r.code.startswith("exemption.") for r in result.reasons)
    if state == "MS" and employees is not None:
        assert any("the licensee has 1 employee)" in n for n in notice.notes)


# ============================================================================================
# States without an insurance act
# ============================================================================================


@verifies("model.commissioner_notice.no_insurance_act", "model.commissioner_notice.reported_clock")
@pytest.mark.parametrize("state", sorted(NO_INSURANCE_ACT_STATES))
def test_no_insurance_act_states_keep_the_fallback_notice_and_say_why(state: str) -> None:
    """TERMS: "No insurance act was found for OR, TX, NE, AR, AZ, MT, CO, KS, WV, NC, GA, UT, CA: there the
    general breach law below governs." The fallback commissioner obligation stays — never silent — and says so."""
    notice = only(compute_obligations(event(domicile="TN", affected=[state_row(state, 300, gov=True)])), COMMISSIONER, state)
    assert notice.clock == STRICTEST_KNOWN_CLOCK and notice.needs_counsel_review
    reason = next(r for r in notice.counsel_review_reasons if "no insurance data security act" in r)
    assert f"no insurance data security act for {STATE_NAMES[state]}" in reason
    assert "the general breach law governs consumer and attorney-general notice" in reason
    assert ("TDI bulletin B-0009-23" in reason) is (state == "TX")
    if state == "TX":
        assert "e-mail the Texas Department of Insurance (no deadline)" in reason
        assert any("B-0009-23" in n for n in notice.notes)


@verifies("model.commissioner_notice.reported_clock")
def test_a_state_with_an_insurance_act_unlisted_gets_no_such_sentence() -> None:
    notice = only(compute_obligations(event(domicile="TN", affected=[state_row("WA", 300, gov=True)])), COMMISSIONER, "WA")
    assert not any("no insurance data security act" in r for r in notice.counsel_review_reasons)


# ============================================================================================
# Assuming insurers (IL verified; IN, HI reported) and HI's producers
# ============================================================================================


@verifies("il.ceding_insurer_notice.assuming_insurer", "in.ceding_insurer_notice.reported", "engine.unverified.strictest_clock")
def test_assuming_insurer_clocks_of_illinois_indiana_and_hawaii() -> None:
    """ROW["IL"]: "assuming insurer 3 business days" (verified); ROW["IN"]: "assuming insurer: 3 business days,
    § 27-2-27-22" (reported). Determination Wednesday 16 April 2025, 10:00 Central."""
    result = compute_obligations(
        event(kind="assuming_insurer", domicile="IL", determined="2025-04-16T10:00:00-05:00",
              discovered="2025-04-16T09:00:00-05:00", affected=[state_row("IL", 40), state_row("IN", 40)])
    )  # fmt: skip
    il = only(result, CEDING, "IL")
    assert il.rule_id == "il.ceding_insurer_notice.assuming_insurer" and il.citation.startswith("215 ILCS 215/20")
    assert il.due.isoformat() == "2025-04-21T23:59:59.999999-05:00"  # Thu 17, Fri 18 (no holiday in IL), Mon 21
    assert not any("verified for TN only" in r for r in il.counsel_review_reasons)
    assert il.reported_clock is None
    indiana = only(result, CEDING, "IN")
    assert indiana.rule_id == "in.ceding_insurer_notice.reported" and indiana.citation.startswith("IC 27-2-27-22")
    assert indiana.clock == STRICTEST_KNOWN_CLOCK and indiana.due.isoformat() == "2025-04-19T11:00:00-04:00"
    # Indiana closes on Good Friday (18 April): the reported 3 business days are Thu 17, Mon 21, Tue 22.
    assert indiana.reported_due is not None and indiana.reported_due.isoformat() == "2025-04-22T23:59:59.999999-04:00"
    assert "IN assuming-insurer clock is reported, not verified" in indiana.counsel_review_reasons[0]
    # Both owe the notice to the domicile commissioner, Illinois's.
    commissioners = [o for o in result.obligations if o.kind is COMMISSIONER]
    assert {o.recipient_key for o in commissioners} == {"commissioner:IL"}
    assert all(o.recipient_name == "Illinois Director of Insurance (state of domicile)" for o in commissioners)


@verifies("hi.producer_notice.reported")
def test_hawaii_producers_of_record_as_soon_as_practicable_reported() -> None:
    """ROW["HI"]: 'producers of record "as soon as practicable" (§ 431:3B-306)' — reported: due with the
    consumer notice at the latest, flagged."""
    result = compute_obligations(event(domicile="TN", affected=[state_row("HI", 40, harm=True)]))
    producer = only(result, ObligationKind.PRODUCER_NOTICE, "HI")
    assert producer.rule_id == "hi.producer_notice.reported" and producer.citation.startswith("HRS § 431:3B-306")
    assert any("HI producer-notice rule is reported" in r for r in producer.counsel_review_reasons)
    consumer = only(result, ObligationKind.CONSUMER_NOTICE, "HI")
    assert producer.due <= consumer.due


# ============================================================================================
# `noticeflow obligations` with the licensee's size
# ============================================================================================


@verifies("ok.commissioner_notice.small_licensee_exemption", "ky.commissioner_notice.small_licensee_exemption")
def test_cli_reads_employees_and_revenue_and_answers_with_the_exemptions(tmp_path: Path) -> None:
    """`noticeflow obligations` on the multistate example, the licensee given 12 employees and $2M revenue and
    900 Oklahoma residents added: no Oklahoma insurance-act obligation (the reason cites the exemption), and the
    Kentucky notice flagged with the employees known."""
    data = json.loads(EXAMPLE.read_text())
    data["licensee"].update(employees=12, annual_revenue_usd=2_000_000)
    data["affected"].append(
        {"state": "OK", "consumers": 900, "material_harm_likely": True, "other_government_notice_required": True,
         "with_email": 0, "without_contact": 0, "producers_of_record_known": True}
    )  # fmt: skip
    path = tmp_path / "event.json"
    path.write_text(json.dumps(data))
    result = CliRunner().invoke(app, ["obligations", str(path)])
    assert result.exit_code == 0, result.stderr
    out = json.loads(result.stdout)
    assert not any(o["jurisdiction"] == "OK" and o["regime"] == "insurance_data_security" for o in out["obligations"])
    reason = next(r for r in out["reasons"] if r["code"] == "exemption.ok.small_licensee")
    assert "Oklahoma Insurance Department (department page)" in reason["citation"]
    ky = next(o for o in out["obligations"] if o["kind"] == "commissioner_notice" and o["jurisdiction"] == "KY")
    assert ky["needs_counsel_review"]
    assert any("the licensee has 12 employees, so it may be exempt" in r for r in ky["counsel_review_reasons"])
    # Without the size, Oklahoma's notice stands and asks for the revenue.
    data["licensee"].pop("annual_revenue_usd")
    path.write_text(json.dumps(data))
    out = json.loads(CliRunner().invoke(app, ["obligations", str(path)]).stdout)
    ok = next(o for o in out["obligations"] if o["kind"] == "commissioner_notice" and o["jurisdiction"] == "OK")
    assert any("annual_revenue_usd is not in its profile" in r for r in ok["counsel_review_reasons"])
