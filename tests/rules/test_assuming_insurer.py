"""Assuming insurers — Tenn. Code Ann. § 56-2-1006(e); RSMo § 375.1402(10)."""

from __future__ import annotations

from models.obligation import ClockStart, ObligationKind, RecipientRole
from rules.cyber import compute_obligations
from rules.registry import verifies
from tests.rules.builders import intake, kinds, only, state_row, ts

E = (
    '"the assuming insurer shall notify the affected ceding insurers and the commissioner of the licensee\'s state of '
    'domicile within three (3) business days of determining that a cybersecurity event has occurred" — '
    "§ 56-2-1006(e)(1)(A); \"(B) The ceding insurers that have a direct contractual relationship with affected "
    'consumers must fulfill the consumer notification requirements"; "(3) Except as provided in this subsection '
    '(e), a licensee acting as assuming insurer has no other notice obligations"'
)


@verifies("tn.ceding_insurer_notice.assuming_insurer", "tn.ceding_insurer_notice.no_other_notice")
def test_assuming_insurer_notifies_ceding_insurers_and_domicile_commissioner_only_56_2_1006_e() -> None:
    """E (quoted above)."""
    result = compute_obligations(intake(kind="assuming_insurer", affected=[state_row("TN", 5000, gov=True)]))
    assert kinds(result) == {("ceding_insurer_notice", "TN"), ("commissioner_notice", "TN")}
    ceding = only(result, ObligationKind.CEDING_INSURER_NOTICE, "TN")
    assert ceding.recipient is RecipientRole.CEDING_INSURERS
    assert ceding.due == ts("2025-03-12T23:59:59.999999-05:00")
    assert ceding.citation == "Tenn. Code Ann. § 56-2-1006(e)(1), (e)(3)"
    commissioner = only(result, ObligationKind.COMMISSIONER_NOTICE, "TN")
    assert commissioner.recipient_key == "commissioner:TN"
    assert not commissioner.needs_counsel_review
    assert any(r.code == "assuming_insurer" for r in result.reasons)


@verifies("tn.ceding_insurer_notice.assuming_insurer", "tn.tpsp.clock_start")
def test_assuming_insurer_tpsp_clock_runs_from_provider_notice_56_2_1006_e_2() -> None:
    result = compute_obligations(
        intake(kind="assuming_insurer", source="third_party_service_provider", tpsp="2025-03-03T10:00:00-06:00",
               discovered="2025-03-01T09:00:00-06:00")
    )
    ceding = only(result, ObligationKind.CEDING_INSURER_NOTICE, "TN")
    assert ceding.clock_start is ClockStart.TPSP_NOTICE
    assert ceding.due == ts("2025-03-06T23:59:59.999999-06:00")
    assert "(e)(2)" in ceding.citation


@verifies("tn.ceding_insurer_notice.assuming_insurer")
def test_assuming_insurer_in_other_states_notifies_its_domicile_commissioner_under_each_law() -> None:
    result = compute_obligations(
        intake(kind="assuming_insurer", domicile="PA", affected=[state_row("TN", 300), state_row("MI", 300)])
    )
    assert kinds(result) == {
        ("ceding_insurer_notice", "TN"), ("commissioner_notice", "TN"),
        ("ceding_insurer_notice", "MI"), ("commissioner_notice", "MI"),
        ("ceding_insurer_notice", "PA"), ("commissioner_notice", "PA"),
    }
    for o in result.obligations:
        if o.kind is ObligationKind.COMMISSIONER_NOTICE:
            assert o.recipient_key == "commissioner:PA"  # always the domicile commissioner
    mi = only(result, ObligationKind.CEDING_INSURER_NOTICE, "MI")
    assert mi.needs_counsel_review and "verified for TN only" in mi.counsel_review_reasons[0]
    assert mi.due.isoformat() == "2025-03-21T23:59:59.999999-04:00"  # MI's 10 business days
    assert not any(o.kind in (ObligationKind.CONSUMER_NOTICE, ObligationKind.PRODUCER_NOTICE) for o in result.obligations)


@verifies("mo.licensee.foreign_assuming_insurer")
def test_missouri_licensee_excludes_an_assuming_insurer_domiciled_elsewhere_375_1402_10() -> None:
    """'"Licensee" … shall not include … a licensee that is acting as an assuming insurer that is domiciled in another
    state or jurisdiction' — RSMo § 375.1402(10)."""
    result = compute_obligations(intake(kind="assuming_insurer", affected=[state_row("MO", 900)]))
    assert not any(o.jurisdiction == "MO" for o in result.obligations)
    assert any(r.citation == "RSMo § 375.1402(10)" for r in result.reasons)
    domestic = compute_obligations(intake(kind="assuming_insurer", domicile="MO", affected=[state_row("MO", 900)]))
    assert ("ceding_insurer_notice", "MO") in kinds(domestic)
