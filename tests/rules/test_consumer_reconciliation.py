"""reconcile_consumer_notice: a state's consumer notice is met only when every affected consumer of
the state's estimate is notified or covered (Tenn. Code Ann. § 56-2-1006(c), (c)(3)). Pure cases;
the workflow tests (tests/workflows/test_consumer_notice.py) run them end to end."""

from __future__ import annotations

from typing import Any

from models.lifecycle import DeliveryCounts
from models.notice import ConsumerNoticeResult, ReconciliationOutcome
from models.obligation import NoticeMethod, Obligation
from rules import compute_obligations
from rules.consumer_reconciliation import reconcile_consumer_notice
from tests.rules.builders import intake, only, state_row


def _delivered(ob: Obligation, **figures: Any) -> ConsumerNoticeResult:
    base: dict[str, Any] = {
        "obligation_id": ob.obligation_id, "jurisdiction": ob.jurisdiction, "method": ob.method or NoticeMethod.WRITTEN,
        "round": 0, "documents": [], "reports": [], "counts": DeliveryCounts(), "consumers": 0, "notified": 0,
        "outstanding": 0, "complete": True,
    }
    return ConsumerNoticeResult(**{**base, **figures})


def _tn(**row: Any) -> tuple[Obligation, Any]:
    event = intake(affected=[state_row("TN", **row)])
    return only(compute_obligations(event), "consumer_notice", "TN"), event.affected_in("TN")


def test_a_roster_as_long_as_the_estimate_all_notified_is_met_56_2_1006_c() -> None:
    ob, affected = _tn(consumers=3)
    rec = reconcile_consumer_notice(ob, affected, 3, _delivered(ob, consumers=3, notified=3))
    assert (rec.met, rec.outcome, rec.not_reached, rec.shortfall) == (True, ReconciliationOutcome.RECONCILED, 0, None)


def test_a_roster_longer_than_the_estimate_is_met_and_says_the_estimate_is_low_56_2_1006_c() -> None:
    ob, affected = _tn(consumers=3)
    rec = reconcile_consumer_notice(ob, affected, 3, _delivered(ob, consumers=5, notified=5))
    assert (rec.met, rec.outcome) == (True, ReconciliationOutcome.ROSTER_EXCEEDS_ESTIMATE)


def test_a_short_roster_with_an_unreached_consumer_names_both_shortfalls_56_2_1006_c() -> None:
    ob, affected = _tn(consumers=1_000)
    rec = reconcile_consumer_notice(ob, affected, 1_000, _delivered(ob, consumers=4, notified=3, outstanding=1, complete=False))
    assert (rec.met, rec.outcome) == (False, ReconciliationOutcome.DELIVERIES_OUTSTANDING)
    assert rec.shortfall is not None
    assert "1 consumer(s) on the roster could not be reached" in rec.shortfall
    assert "roster has 4 of 1,000 estimated affected Tennessee residents" in rec.shortfall


def test_class_wide_substitute_notice_without_its_media_notice_is_not_met_56_2_1006_c_3() -> None:
    ob, affected = _tn(consumers=600_000, email=10)
    assert ob.substitute_notice is not None and ob.substitute_notice.applies_to == "all_affected"
    delivered = _delivered(ob, consumers=2, notified=1, covered_by_substitute=1, website_posted=True, media_notified=False)
    rec = reconcile_consumer_notice(ob, affected, 600_000, delivered)
    assert (rec.met, rec.outcome) == (False, ReconciliationOutcome.SUBSTITUTE_INCOMPLETE)
    assert rec.shortfall == "the substitute notice's (C) statewide media notice (Tenn. Code Ann. § 56-2-1006(c)(3)) has not been made"
    made = reconcile_consumer_notice(ob, affected, 600_000, delivered.model_copy(update={"media_notified": True}))
    assert (made.met, made.covered_by_substitute, made.substitute and made.substitute.triggers) == (
        True, 599_999, ob.substitute_notice.triggers
    )
    assert made.substitute is not None and (made.substitute.affected_class, made.substitute.class_threshold) == (600_000, 500_000)
