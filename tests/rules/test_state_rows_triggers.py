"""Issue 12, commissioner notice: each trigger variant of the new rows firing and not firing — AK's home-state
trigger without a material-harm condition, ME's every resident licensee, RI's domestic insurers only without a
250 rule, VT's one resident, NY's covered entity, the domicile and 250 rules of IL, NH and OK, the reported
triggers of CT and ND — and one multi-state event touching each kind."""

from __future__ import annotations

import pytest

from models.obligation import ObligationKind
from rules.cyber import compute_obligations
from rules.registry import verifies
from tests.rules.builders import find, kinds, only, state_row
from tests.rules.state_rows_builders import ROW, TERMS, event

COMMISSIONER = ObligationKind.COMMISSIONER_NOTICE

TRIGGER_REVIEW = ("home-state trigger", "licensed_states", "domestic insurer")


def _trigger_review(notice) -> list[str]:  # type: ignore[no-untyped-def]
    return [r for r in notice.counsel_review_reasons if any(k in r for k in TRIGGER_REVIEW)]


@verifies("ak.commissioner_notice.domicile_trigger", "ak.commissioner_notice.residents_trigger")
@pytest.mark.parametrize(
    ("kind", "domicile", "home", "rows", "fires"),
    [
        # "domicile / home-state trigger has **no material-harm condition**": a domestic insurer, no harm at all …
        ("insurer", "AK", "AK", [state_row("AK", 3, harm=False)], True),
        # … even with no Alaska resident affected,
        ("insurer", "AK", "AK", [], True),
        # "or producer whose home state is AK";
        ("producer", "WA", "AK", [state_row("AK", 1, harm=False)], True),
        # "non-domicile: 250 rule": 249 residents with harm are not enough …
        ("insurer", "WA", "WA", [state_row("AK", 249, harm=True, gov=True)], False),
        # … 250 are, with harm or a government notice,
        ("insurer", "WA", "WA", [state_row("AK", 250, harm=False, gov=True)], True),
        # but not without either.
        ("insurer", "WA", "WA", [state_row("AK", 5000, harm=False, gov=False)], False),
    ],
)
def test_alaska_home_state_trigger_has_no_material_harm_condition(kind: str, domicile: str, home: str, rows: list, fires: bool) -> None:
    """ROW["AK"]."""
    notice = find(compute_obligations(event(kind=kind, domicile=domicile, home=home, affected=rows)), COMMISSIONER, "AK")
    assert (notice is not None) is fires, ROW["AK"]
    if notice is not None:
        assert not _trigger_review(notice)  # verified wording: no "broader reading" review
        assert any("federal law-enforcement instruction" in n for n in notice.notes)


@verifies("me.commissioner_notice.domicile_trigger", "me.commissioner_notice.residents_trigger")
@pytest.mark.parametrize(
    ("domicile", "rows", "fires"),
    [
        ("ME", [state_row("ME", 1, harm=False)], True),  # "whatever the number of residents affected"
        ("ME", [], True),
        ("TN", [state_row("ME", 249, harm=True, gov=True)], False),  # "non-residents: 250 rule"
        ("TN", [state_row("ME", 250, harm=True)], True),
        ("TN", [state_row("ME", 250, harm=False)], False),
    ],
)
def test_maine_every_resident_licensee_notifies_non_residents_follow_the_250_rule(domicile: str, rows: list, fires: bool) -> None:
    """ROW["ME"]."""
    notice = find(compute_obligations(event(domicile=domicile, affected=rows)), COMMISSIONER, "ME")
    assert (notice is not None) is fires, ROW["ME"]
    if notice is not None:
        assert "online form" in notice.recipient_name and not _trigger_review(notice)


@verifies("il.commissioner_notice.domicile_trigger", "il.commissioner_notice.residents_trigger",
          "nh.commissioner_notice.domicile_trigger", "nh.commissioner_notice.residents_trigger",
          "ok.commissioner_notice.domicile_trigger", "ok.commissioner_notice.residents_trigger")
@pytest.mark.parametrize("state", ["IL", "NH", "OK"])
@pytest.mark.parametrize(
    ("domestic", "consumers", "harm", "gov", "operations", "fires"),
    [
        (True, 3, True, False, False, True),  # domicile rule: domicile AND material harm to a resident …
        (True, 0, False, False, True, True),  # … or to the licensee's operations
        (True, 3, False, True, False, False),  # domicile without harm: unlike AK, no notice
        (False, 250, False, True, False, True),  # 250 rule: 250 residents AND a government notice …
        (False, 250, True, False, False, True),  # … or material harm
        (False, 249, True, True, False, False),
        (False, 250, False, False, False, False),
    ],
)  # fmt: skip
def test_domicile_rule_and_250_rule(state: str, domestic: bool, consumers: int, harm: bool, gov: bool, operations: bool, fires: bool) -> None:
    """ROW["IL"], ROW["NH"], ROW["OK"]: "domicile rule; 250 rule", with TERMS (quoted in state_rows_builders)."""
    rows = [state_row(state, consumers, harm=harm, gov=gov)] if consumers else []
    result = compute_obligations(event(domicile=state if domestic else "TN", affected=rows, operations=operations))
    notice = find(result, COMMISSIONER, state)
    assert (notice is not None) is fires, (ROW[state], TERMS)
    if notice is not None:
        assert notice.rule_ids[1] == f"{state.lower()}.commissioner_notice.{'domicile' if domestic else 'residents'}_trigger"
        assert not _trigger_review(notice)


@verifies("ri.commissioner_notice.domicile_trigger", "ri.commissioner_notice.residents_trigger")
@pytest.mark.parametrize(
    ("kind", "domicile", "rows", "fires", "review"),
    [
        ("insurer", "RI", [state_row("RI", 2, harm=True)], True, False),  # material harm reasonably likely
        ("insurer", "RI", [state_row("RI", 2, harm=False, gov=True)], True, False),  # another law requires notice
        ("insurer", "RI", [state_row("RI", 2, harm=False, gov=False)], False, False),
        # "**domestic insurers only**": a producer whose home state is RI gives no notice …
        ("producer", "RI", [state_row("RI", 2, harm=True, gov=True)], False, False),
        # … "no 250 rule": nor does a foreign insurer, whatever the residents;
        ("insurer", "TN", [state_row("RI", 100_000, harm=True, gov=True)], False, False),
        # a licensee of kind 'other' domiciled in RI: kept, counsel confirms it is a domestic insurer.
        ("other", "RI", [state_row("RI", 2, harm=True)], True, True),
    ],
)
def test_rhode_island_domestic_insurers_only_no_250_rule(kind: str, domicile: str, rows: list, fires: bool, review: bool) -> None:
    """ROW["RI"]."""
    result = compute_obligations(event(kind=kind, domicile=domicile, affected=rows))
    notice = find(result, COMMISSIONER, "RI")
    assert (notice is not None) is fires, ROW["RI"]
    if notice is not None:
        assert any("domestic insurer" in r for r in notice.counsel_review_reasons) is review
    if not fires:
        reason = next(r for r in result.reasons if r.code in ("no_obligation.RI", "no_commissioner_notice.RI"))
        why = "domestic insurers only" if kind == "producer" or domicile != "RI" else "home-state trigger"
        assert why in reason.message


@verifies("ri.commissioner_notice.domicile_trigger")
def test_rhode_island_law_does_not_reach_an_assuming_insurer_domiciled_elsewhere() -> None:
    """ROW["RI"]: "**domestic insurers only**"."""
    result = compute_obligations(event(kind="assuming_insurer", domicile="TN", affected=[state_row("RI", 900)]))
    assert not any(o.jurisdiction == "RI" for o in result.obligations)
    reason = next(r for r in result.reasons if r.code == "exclusion.ri.domestic_insurers_only")
    assert reason.citation == "R.I. Gen. Laws § 27-1-47" and reason.jurisdiction == "RI"
    domestic = compute_obligations(event(kind="assuming_insurer", domicile="RI", affected=[state_row("RI", 900)]))
    assert ("ceding_insurer_notice", "RI") in kinds(domestic)


@verifies("ri.commissioner_notice.domicile_trigger")
def test_a_producer_out_of_rhode_islands_reach_is_told_why() -> None:
    result = compute_obligations(event(kind="producer", domicile="RI", affected=[state_row("RI", 2, harm=False)]))
    reason = next(r for r in result.reasons if r.code == "no_obligation.RI")
    assert "reaches domestic insurers only" in reason.message


@verifies("vt.commissioner_notice.one_resident")
@pytest.mark.parametrize(
    ("domicile", "rows", "fires"),
    [
        ("TN", [state_row("VT", 1, harm=False, gov=False)], True),  # "**one Vermont resident** is enough"
        ("TN", [state_row("VT", 0, harm=True, gov=True)], False),
        ("VT", [], False),  # no home-state trigger: a Vermont insurer with no Vermont resident affected
    ],
)
def test_vermont_one_resident_is_enough_and_nothing_else_triggers(domicile: str, rows: list, fires: bool) -> None:
    """ROW["VT"]."""
    result = compute_obligations(event(domicile=domicile, affected=rows, operations=True))
    notice = find(result, COMMISSIONER, "VT")
    assert (notice is not None) is fires, ROW["VT"]
    if domicile == "VT":
        reason = next(r for r in result.reasons if r.code == "no_obligation.VT")
        assert "at least one affected resident" in reason.message


@verifies("ny.commissioner_notice.covered_entity")
@pytest.mark.parametrize(
    ("domicile", "licensed", "rows", "fires", "review"),
    [
        # A covered entity: licensed in NY — a notice whatever the residents (NY need not even be affected) …
        ("TN", ["TN", "NY"], [state_row("TN", 300, gov=True)], True, False),
        # … or domiciled there.
        ("NY", None, [state_row("TN", 300, gov=True)], True, False),
        # Licensed elsewhere only: no covered entity, even with New York residents affected.
        ("TN", ["TN", "NJ"], [state_row("NY", 5000, gov=True)], False, False),
        # Licences unknown, New York residents affected: kept, counsel confirms.
        ("TN", None, [state_row("NY", 5, harm=False)], True, True),
        # Licences unknown, no New York resident: New York is not examined.
        ("TN", None, [state_row("TN", 300, gov=True)], False, False),
    ],
)
def test_new_york_covered_entity(domicile: str, licensed: list[str] | None, rows: list, fires: bool, review: bool) -> None:
    """ROW["NY"]."""
    result = compute_obligations(event(domicile=domicile, licensed=licensed, affected=rows))
    notice = find(result, COMMISSIONER, "NY")
    assert (notice is not None) is fires, ROW["NY"]
    if notice is not None:
        assert bool(_trigger_review(notice)) is review
        assert notice.recipient_name == "New York Superintendent of Financial Services"
        assert any("extortion payment" in n and "24 hours" in n for n in notice.notes)
    if licensed and "NY" not in licensed:
        # Other notices to New York residents exist (the general breach law): the missing one is still explained.
        reason = next(r for r in result.reasons if r.code in ("no_obligation.NY", "no_commissioner_notice.NY"))
        assert "not a covered entity" in reason.message


@verifies("ct.commissioner_notice.triggers", "nd.commissioner_notice.triggers", "model.commissioner_notice.triggers")
@pytest.mark.parametrize("state", ["CT", "ND", "MN", "MS", "OH"])
@pytest.mark.parametrize(("harm", "review"), [(False, True), (True, False)])
def test_unverified_trigger_wording_is_read_broadly_with_counsel_review(state: str, harm: bool, review: bool) -> None:
    """ROW["CT"], ROW["ND"] (reported: "domicile rule; 250 rule") and MN, MS, OH (verified clocks, trigger wording
    not given): being the home state suffices, the broadest reading; when only it makes the notice arise, counsel
    confirms."""
    notice = only(compute_obligations(event(domicile=state, affected=[state_row(state, 5, harm=harm)])), COMMISSIONER, state)
    assert bool([r for r in notice.counsel_review_reasons if "broader reading" in r]) is review


@verifies(
    "ak.commissioner_notice.domicile_trigger", "vt.commissioner_notice.one_resident", "ny.commissioner_notice.covered_entity",
    "ri.commissioner_notice.residents_trigger", "me.commissioner_notice.residents_trigger", "il.commissioner_notice.residents_trigger",
    "ok.commissioner_notice.small_licensee_exemption", "ky.commissioner_notice.small_licensee_exemption",
    "mn.commissioner_notice.small_licensee_exemption", "nd.commissioner_notice.reported_clock",
)  # fmt: skip
def test_one_event_across_the_new_rows() -> None:
    """An Alaska insurer licensed in New York, with 30 employees and $3M revenue, determines an event on Friday
    7 March 2025, 16:30 Central: each kind of new trigger and exemption answers in the same result."""
    result = compute_obligations(
        event(
            domicile="AK", employees=30, revenue=3_000_000, licensed=["AK", "NY", "IL", "OK", "KY", "MN"],
            determined="2025-03-07T16:30:00-06:00", discovered="2025-03-07T09:00:00-06:00",
            affected=[
                state_row("AK", 2, harm=False),  # home state, no harm: AK notifies anyway
                state_row("VT", 1, harm=False),  # one Vermont resident
                state_row("RI", 40_000, harm=True, gov=True),  # no 250 rule, not domestic: no RI notice
                state_row("ME", 249, harm=True, gov=True),  # non-resident licensee below 250: no ME notice
                state_row("IL", 250, harm=False, gov=True),  # 250 rule
                state_row("OK", 900, harm=True, gov=True),  # exempt: revenue under $5M
                state_row("KY", 300, harm=False, gov=True),  # reported exemption: kept, flagged
                state_row("MN", 300, harm=False, gov=True),  # exemption never covers notification
                state_row("ND", 300, harm=False, gov=True),  # SB 2088, reported
            ],
        )
    )  # fmt: skip
    commissioners = {o.jurisdiction: o for o in result.obligations if o.kind is COMMISSIONER}
    assert set(commissioners) == {"AK", "VT", "NY", "IL", "KY", "MN", "ND"}
    due = {state: o.due.isoformat() for state, o in commissioners.items()}
    assert due["AK"] == "2025-03-12T23:59:59.999999-08:00"  # Mon 10, Tue 11, Wed 12 (Anchorage)
    assert due["VT"] == "2025-03-27T23:59:59.999999-04:00"  # 14 business days from the discovery
    assert due["NY"] == "2025-03-10T18:30:00-04:00"  # 72 hours
    assert due["IL"] == "2025-03-12T23:59:59.999999-05:00"
    assert due["MN"] == "2025-03-14T23:59:59.999999-05:00"  # 5 business days
    assert due["KY"] == "2025-03-10T18:30:00-04:00"  # reported: 72 hours
    assert due["ND"] == "2025-03-10T17:30:00-05:00"  # reported: 72 hours
    # March 2025 is before 2025 SB 2088 took effect (assumed 1 August 2025): the older text is shown beside it.
    assert commissioners["ND"].rule_id == "nd.commissioner_notice.reported_clock"
    assert commissioners["ND"].reported_due is not None
    assert commissioners["ND"].reported_due.isoformat() == "2025-03-12T23:59:59.999999-05:00"
    assert not any(o.jurisdiction == "OK" and o.regime.value == "insurance_data_security" for o in result.obligations)
    assert any(r.code == "exemption.ok.small_licensee" for r in result.reasons)
    assert any("30 employees, so it may be exempt" in r for r in commissioners["KY"].counsel_review_reasons)
    assert any("does not cover notification" in n for n in commissioners["MN"].notes)
    assert "mn.commissioner_notice.small_licensee_exemption" in commissioners["MN"].rule_ids
    assert not _trigger_review(commissioners["AK"]) and not _trigger_review(commissioners["NY"])
