"""A licensee exempt from a state's insurance act by its size is not exempt from the state's general
breach law. Oklahoma: "licensees under $5M gross annual revenue exempt from the act (department page)"
(JURISDICTIONS.md) — the act, not 24 O.S.'s breach law, which the table does not hold: the consumer
notice stays, flagged, never silence; and the determination's ledger entry states the exemption."""

from __future__ import annotations

import datetime as dt

from models.obligation import ClockStart, ObligationKind
from rules.classification import classification_ledger_data
from rules.cyber import compute_obligations
from rules.general_law import RULE_UNLISTED
from rules.registry import verifies
from tests.rules.builders import state_row
from tests.rules.state_rows_builders import event


@verifies("engine.breach_law.unlisted_after_exemption")
def test_an_exempt_licensee_keeps_its_consumer_notice_under_the_states_unlisted_general_law() -> None:
    result = compute_obligations(event(domicile="TN", revenue=4_000_000, employees=12,
                                       affected=[state_row("OK", 900, gov=True)]))
    ok = [o for o in result.obligations if o.jurisdiction == "OK"]
    # No insurance-act obligation (the exemption), and one consumer notice under the general law.
    assert [(o.kind, o.regime.value) for o in ok] == [(ObligationKind.CONSUMER_NOTICE, "general_breach_law")]
    (notice,) = ok
    assert notice.obligation_id.endswith(":consumer_notice:OK:consumers:OK:general_law")
    assert notice.citation.startswith("Oklahoma's general breach-notification law (not in JURISDICTIONS.md; OK section not verified)")
    assert notice.rule_id == RULE_UNLISTED and notice.needs_counsel_review
    assert any("That exemption is from the insurance act only" in r for r in notice.counsel_review_reasons)
    # The shortest known general-law consumer clock (30 calendar days), from discovery, the earliest start.
    assert (notice.clock.amount, notice.clock.unit.value, notice.clock_start) == (30, "calendar_days", ClockStart.DISCOVERY)
    assert notice.due.date() - notice.clock_starts_at.date() == dt.timedelta(days=30)
    # The determination's entry states why Oklahoma's act gives nothing.
    stated = classification_ledger_data(result.reasons)["no_obligation_reasons"]
    # (Tennessee, the domicile, is examined for the home-state trigger and gives nothing either.)
    assert sorted(r["code"] for r in stated) == ["exemption.ok.small_licensee", "no_obligation.TN"]
    (exemption,) = [r for r in stated if r["code"] == "exemption.ok.small_licensee"]
    assert exemption["citation"] == "36 O.S. § 675; Oklahoma Insurance Department (department page)"


def test_a_licensee_not_exempt_gets_no_second_consumer_notice_in_oklahoma() -> None:
    result = compute_obligations(event(domicile="TN", revenue=9_000_000, affected=[state_row("OK", 900, gov=True)]))
    consumer = [o for o in result.obligations if o.jurisdiction == "OK" and o.kind is ObligationKind.CONSUMER_NOTICE]
    assert [o.regime.value for o in consumer] == ["insurance_data_security"]
    assert [r["code"] for r in classification_ledger_data(result.reasons)["no_obligation_reasons"]] == ["no_obligation.TN"]
