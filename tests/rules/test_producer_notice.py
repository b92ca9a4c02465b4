"""Producers of record — Tenn. Code Ann. § 56-2-1006(f)."""

from __future__ import annotations

import pytest

from models.obligation import ObligationKind
from rules.cyber import compute_obligations
from rules.registry import verifies
from tests.rules.builders import find, intake, only, state_row

F = (
    '"the insurer shall notify the producers of record of all affected consumers, if known, as soon as practicable, '
    "but not later than when such notice is provided to the affected consumers. The insurer is excused from this "
    "obligation in those instances in which the insurer does not have the current producer of record information "
    'for an individual consumer" — Tenn. Code Ann. § 56-2-1006(f)'
)

PRODUCER = ObligationKind.PRODUCER_NOTICE


@verifies("tn.producer_notice")
def test_producer_notice_due_no_later_than_consumer_notice_56_2_1006_f() -> None:
    """F (quoted above)."""
    result = compute_obligations(intake())
    producer = only(result, PRODUCER, "TN")
    consumer = only(result, ObligationKind.CONSUMER_NOTICE, "TN")
    assert producer.due == consumer.due
    assert producer.recipient_key == "producers_of_record"
    assert not producer.excused and not producer.needs_counsel_review


@verifies("tn.producer_notice")
def test_unknown_producer_of_record_excuses_the_notice_56_2_1006_f() -> None:
    producer = only(compute_obligations(intake(affected=[state_row("TN", 800, producers=False)])), PRODUCER, "TN")
    assert producer.excused
    assert producer.excused_reason and "producer-of-record information" in producer.excused_reason


@verifies("tn.producer_notice")
@pytest.mark.parametrize(("kind", "expected"), [("insurer", True), ("producer", False), ("other", False), ("assuming_insurer", False)])
def test_only_insurers_notify_producers_of_record(kind: str, expected: bool) -> None:
    assert (find(compute_obligations(intake(kind=kind)), PRODUCER, "TN") is not None) is expected


@verifies("tn.producer_notice")
def test_no_producer_notice_without_consumer_notice() -> None:
    assert find(compute_obligations(intake(affected=[state_row("TN", 800, harm=False, gov=True)])), PRODUCER, "TN") is None


@verifies("mo.producer_notice.reported", "mo.consumer_notice.reported")
def test_missouri_producer_and_consumer_rules_are_reported() -> None:
    """JURISDICTIONS.md, MO: "producers of record no later than consumer notice; consumer notice under RSMo § 407.1500
    with a copy to the director" — clocks reported from the 2024 bill text."""
    result = compute_obligations(intake(affected=[state_row("MO", 800)]))
    consumer = only(result, ObligationKind.CONSUMER_NOTICE, "MO")
    producer = only(result, PRODUCER, "MO")
    assert consumer.copy_to == "Missouri Director of the Department of Commerce and Insurance"
    assert consumer.citation.startswith("RSMo § 407.1500")
    assert producer.due == consumer.due
    assert producer.status.value == consumer.status.value == "reported"
    assert producer.needs_counsel_review and consumer.needs_counsel_review
