"""Commissioner notice: the two trigger paths of Tenn. Code Ann. § 56-2-1006(a), state variants, clocks,
report items (A)–(N) and material updates."""

from __future__ import annotations

import pytest

from models.obligation import ClockStart, ObligationKind, ReportItemStatus
from rules.cyber import compute_obligations
from rules.jurisdictions import STATE_NAMES
from rules.registry import verifies
from tests.rules.builders import find, intake, only, state_row, ts

A1 = (
    '"(A) The licensee is domiciled in this state, in the case of an insurer, … or this state is the licensee\'s '
    'home state, in the case of an insurance producer …; and (B) The cybersecurity event has a reasonable '
    'likelihood of materially harming a consumer residing in this state or a material part of the licensee\'s '
    'normal operations" — Tenn. Code Ann. § 56-2-1006(a)(1)'
)
A2 = (
    '"The licensee reasonably believes that the nonpublic information of two hundred fifty (250) or more consumers '
    "residing in this state is involved … and that the cybersecurity event is: (A) … of which notice must be "
    "provided to a government body … or (B) … with a reasonable likelihood of materially harming a consumer "
    'residing in this state or a material part of the licensee\'s normal operations" — § 56-2-1006(a)(2)'
)

COMMISSIONER = ObligationKind.COMMISSIONER_NOTICE


@verifies("tn.commissioner_notice.trigger_a1", "tn.commissioner_notice.deadline")
@pytest.mark.parametrize(
    ("kind", "domicile", "home", "rows", "operations", "fires"),
    [
        # (a)(1): domiciled insurer + harm to a resident consumer
        ("insurer", "TN", "TN", [state_row("TN", 10, harm=True)], False, True),
        # (a)(1): domiciled insurer + harm to operations only, no TN consumers at all
        ("insurer", "TN", "TN", [], True, True),
        # (a)(1)(B) not met: domicile alone is not enough in Tennessee
        ("insurer", "TN", "TN", [state_row("TN", 10, harm=False)], False, False),
        # producer: the home state, not the domicile, is what counts
        ("producer", "GA", "TN", [state_row("TN", 5, harm=True)], False, True),
        ("producer", "TN", "GA", [state_row("TN", 5, harm=True)], False, False),
        # an insurer domiciled elsewhere gets no TN notice under (a)(1)
        ("insurer", "GA", "TN", [state_row("TN", 5, harm=True)], False, False),
    ],
)
def test_commissioner_notice_home_state_and_material_harm_56_2_1006_a_1(
    kind: str, domicile: str, home: str, rows: list, operations: bool, fires: bool
) -> None:
    """A1 (quoted above)."""
    result = compute_obligations(intake(kind=kind, domicile=domicile, home=home, affected=rows, operations=operations))
    notice = find(result, COMMISSIONER, "TN")
    assert (notice is not None) is fires
    if notice:
        assert "tn.commissioner_notice.trigger_a1" in notice.rule_ids
        assert notice.citation.startswith("Tenn. Code Ann. § 56-2-1006(a)")
        assert notice.due == ts("2025-03-12T23:59:59.999999-05:00")


@verifies("tn.commissioner_notice.trigger_a2")
@pytest.mark.parametrize(
    ("consumers", "gov", "harm", "operations", "fires"),
    [
        (249, True, True, True, False),  # below the threshold
        (250, True, False, False, True),  # (a)(2)(A): notice to a government body required
        (250, False, True, False, True),  # (a)(2)(B): harm to a resident consumer
        (250, False, False, True, True),  # (a)(2)(B): harm to normal operations
        (250, False, False, False, False),  # neither (A) nor (B)
        (100_000, False, False, False, False),
    ],
)
def test_commissioner_notice_250_residents_and_government_notice_or_harm_56_2_1006_a_2(
    consumers: int, gov: bool, harm: bool, operations: bool, fires: bool
) -> None:
    """A2 (quoted above). The licensee is domiciled in Georgia, so only (a)(2) can reach Tennessee."""
    result = compute_obligations(
        intake(domicile="GA", affected=[state_row("TN", consumers, harm=harm, gov=gov)], operations=operations)
    )
    notice = find(result, COMMISSIONER, "TN")
    assert (notice is not None) is fires
    if notice:
        assert notice.rule_ids[:2] == ["tn.commissioner_notice.deadline", "tn.commissioner_notice.trigger_a2"]
        assert notice.recipient_name == "Tennessee Commissioner of Commerce and Insurance"
        assert notice.status.value == "verified" and not notice.needs_counsel_review


@verifies("tn.commissioner_notice.trigger_a1", "tn.commissioner_notice.trigger_a2")
def test_both_trigger_paths_give_one_notice_citing_both() -> None:
    result = compute_obligations(intake(affected=[state_row("TN", 400, harm=True)]))
    notice = only(result, COMMISSIONER, "TN")
    assert notice.citation.startswith("Tenn. Code Ann. § 56-2-1006(a), (a)(1), (a)(2)")
    assert "state of domicile" in notice.basis and "400 consumers" in notice.basis


@verifies(
    "al.commissioner_notice.deadline", "de.commissioner_notice.deadline", "ia.commissioner_notice.deadline",
    "la.commissioner_notice.deadline", "md.commissioner_notice.deadline", "mi.commissioner_notice.deadline",
    "pa.commissioner_notice.deadline", "sc.commissioner_notice.deadline", "va.commissioner_notice.deadline",
    "wi.commissioner_notice.deadline",
)
@pytest.mark.parametrize(
    ("state", "citation", "due"),
    [
        # JURISDICTIONS.md, verified rows: determination Friday 7 March 2025, 16:30 Central
        ("AL", "Ala. Code § 27-62-6", "2025-03-12T23:59:59.999999-05:00"),  # 3 business days
        ("DE", "18 Del. C. §§ 8601–8611", "2025-03-12T23:59:59.999999-04:00"),
        ("IA", "Iowa Code § 507F.7", "2025-03-12T23:59:59.999999-05:00"),
        ("LA", "La. R.S. 22:2506", "2025-03-12T23:59:59.999999-05:00"),
        ("MD", "Md. Code Ann., Ins. § 33-105", "2025-03-12T23:59:59.999999-04:00"),
        ("MI", "MCL 500.559–500.561", "2025-03-21T23:59:59.999999-04:00"),  # 10 business days
        ("PA", "Pennsylvania Insurance Data Security Act", "2025-03-14T23:59:59.999999-04:00"),  # 5 business days
        ("SC", "S.C. Code § 38-99-40", "2025-03-10T18:30:00-04:00"),  # 72 hours, exact
        ("VA", "Va. Code § 38.2-625", "2025-03-12T23:59:59.999999-04:00"),
        ("WI", "Wis. Stat. § 601.954", "2025-03-12T23:59:59.999999-05:00"),
    ],
)
def test_verified_state_commissioner_clocks_jurisdictions_table(state: str, citation: str, due: str) -> None:
    result = compute_obligations(intake(domicile="GA", affected=[state_row(state, 300, harm=True)]))
    notice = only(result, COMMISSIONER, state)
    assert notice.citation.startswith(citation)
    assert notice.due.isoformat() == due
    # The clock is verified; only the report's sections are the model's, which asks for counsel.
    assert notice.counsel_review_reasons == [
        f"NAIC #668 § 6(B), (C) (model; state section not verified): {STATE_NAMES[state]}'s own section is neither "
        "in the seed texts nor in JURISDICTIONS.md; counsel confirms the state's law."
    ] if state != "MD" else [
        f"NAIC #668 § 6(B) (model; state section not verified): {STATE_NAMES[state]}'s own section is neither "
        "in the seed texts nor in JURISDICTIONS.md; counsel confirms the state's law."
    ]
    assert notice.rule_id == f"{state.lower()}.commissioner_notice.deadline"


@verifies("al.commissioner_notice.domicile_trigger", "ia.commissioner_notice.domicile_trigger", "model.commissioner_notice.triggers")
@pytest.mark.parametrize(
    ("state", "harm", "gov", "fires", "review"),
    [
        # AL: "domicile trigger also needs reasonable likelihood of material harm"
        ("AL", False, False, False, False),
        ("AL", True, False, True, False),
        # IA: "domicile trigger needs government notice required OR material harm"
        ("IA", False, False, False, False),
        ("IA", False, True, True, False),
        ("IA", True, False, True, False),
        # PA: trigger wording not verified — the model's broader reading, with counsel review
        ("PA", False, False, True, True),
        ("PA", True, False, True, False),
    ],
)
def test_domicile_trigger_variants_by_state(state: str, harm: bool, gov: bool, fires: bool, review: bool) -> None:
    result = compute_obligations(intake(domicile=state, affected=[state_row(state, 20, harm=harm, gov=gov)]))
    notice = find(result, COMMISSIONER, state)
    assert (notice is not None) is fires
    if notice:
        trigger_review = [r for r in notice.counsel_review_reasons if "model's wording of the home-state trigger" in r]
        assert bool(trigger_review) is review


@verifies("va.commissioner_notice.residents_trigger")
@pytest.mark.parametrize(
    ("consumers", "gov", "harm", "fires"),
    [
        (250, False, False, True),  # VA: 250 residents suffice
        (249, False, True, False),
        (40, True, False, True),  # VA: notice required under another law suffices
        (40, False, False, False),
    ],
)
def test_virginia_trigger_two_reads_250_residents_or_notice_under_another_law(consumers: int, gov: bool, harm: bool, fires: bool) -> None:
    result = compute_obligations(intake(domicile="GA", affected=[state_row("VA", consumers, harm=harm, gov=gov)]))
    assert (find(result, COMMISSIONER, "VA") is not None) is fires


@verifies("tn.commissioner_notice.report_items", "tn.commissioner_notice.material_updates")
def test_report_items_a_to_n_as_a_checklist_of_what_is_missing_56_2_1006_b() -> None:
    """"as much of the following information as is available: (A) The date of the cybersecurity event; …
    (I) The number of total consumers in this state affected … best estimate … update this estimate with each
    subsequent report …; (N) A copy of the notice sent to affected consumers, if the notice is required under
    subsection (c)" — § 56-2-1006(b)(1); "(2) Licensees shall continually provide material updates" — (b)(2)."""
    data = intake(affected=[state_row("TN", 1200), state_row("MO", 300, harm=False, gov=True)])
    data = data.model_copy(update={"report_items_provided": ["C", "M"]})
    result = compute_obligations(data)
    tn = {i.code.value: i for i in only(result, COMMISSIONER, "TN").report_items or []}
    mo = {i.code.value: i for i in only(result, COMMISSIONER, "MO").report_items or []}
    assert list(tn) == list("ABCDEFGHIJKLMN")
    assert tn["A"].status is ReportItemStatus.MISSING
    assert tn["C"].status is tn["M"].status is ReportItemStatus.PROVIDED
    assert tn["G"].status is ReportItemStatus.PROVIDED and "ssn" in (tn["G"].note or "")
    assert tn["I"].status is ReportItemStatus.PROVIDED and "1,200" in (tn["I"].note or "")
    assert tn["N"].status is ReportItemStatus.MISSING  # consumer notice required in TN
    assert mo["N"].status is ReportItemStatus.NOT_APPLICABLE  # no consumer notice in MO
    assert tn["A"].citation == "Tenn. Code Ann. § 56-2-1006(b)(1)(A)"
    assert only(result, COMMISSIONER, "TN").continuing_updates


@verifies("tn.commissioner_notice.deadline")
def test_commissioner_notice_is_not_moved_by_a_law_enforcement_delay_56_2_1006_a() -> None:
    result = compute_obligations(intake(delay="2025-06-30T00:00:00-05:00"))
    notice = only(result, COMMISSIONER, "TN")
    assert notice.due == ts("2025-03-12T23:59:59.999999-05:00")
    assert notice.law_enforcement_delay_until is None
    assert notice.clock_start is ClockStart.DETERMINATION


@verifies("tn.commissioner_notice.deadline", "engine.calendar.business_days")
def test_licensee_may_read_the_clock_in_its_own_time_zone() -> None:
    policy = {"timezone_source": "licensee"}
    result = compute_obligations(intake(timezone="America/New_York", policy=policy))
    assert only(result, COMMISSIONER, "TN").due.isoformat() == "2025-03-12T23:59:59.999999-04:00"
    default = compute_obligations(intake(timezone="America/New_York"))
    assert only(default, COMMISSIONER, "TN").due.isoformat() == "2025-03-12T23:59:59.999999-05:00"


@verifies("la.commissioner_notice.deadline")
def test_louisiana_notice_goes_through_the_department_portal() -> None:
    result = compute_obligations(intake(domicile="LA"))
    notice = only(result, COMMISSIONER, "LA")
    assert "portal" in notice.recipient_name
    assert any("portal" in n for n in notice.notes)
