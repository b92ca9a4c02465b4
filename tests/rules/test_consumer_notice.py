"""Consumer notice: trigger, 45/60-day clocks, method (written / electronic / substitute) and the
law-enforcement delay — Tenn. Code Ann. § 56-2-1006(c)."""

from __future__ import annotations

import datetime as dt

import pytest

from models.obligation import NoticeMethod, ObligationKind, SubstituteTrigger
from rules.cyber import compute_obligations
from rules.registry import verifies
from tests.rules.builders import find, intake, only, state_row, ts

C = (
    '"Following a determination that a cybersecurity event has occurred and that the cybersecurity event has a '
    "reasonable likelihood of materially harming a consumer, a licensee shall notify consumers residing in this "
    "state … The disclosure must be made no later than forty-five (45) days after the determination of the "
    'cybersecurity event, unless a longer period of time is required due to the legitimate needs of law '
    'enforcement" — Tenn. Code Ann. § 56-2-1006(c)'
)
C3 = (
    '"(3) Substitute notice, if the licensee demonstrates that the cost of providing notice would exceed two '
    "hundred fifty thousand dollars ($250,000), the affected class of subject persons to be notified exceeds five "
    "hundred thousand (500,000) persons, or the licensee does not have sufficient contact information and the notice "
    "consists of the following: (A) Email notice, when the licensee has an email address for the consumer; (B) "
    "Conspicuous posting of the notice on the licensee's website, if the licensee maintains a website page; and (C) "
    'Notification to major statewide media" — § 56-2-1006(c)(3)'
)

CONSUMER = ObligationKind.CONSUMER_NOTICE


@verifies("tn.consumer_notice.deadline")
@pytest.mark.parametrize(
    ("consumers", "harm", "required"),
    [(1, True, True), (1000, True, True), (1000, False, False), (0, True, False)],
)
def test_consumer_notice_where_material_harm_is_likely_56_2_1006_c(consumers: int, harm: bool, required: bool) -> None:
    """C (quoted above)."""
    result = compute_obligations(intake(affected=[state_row("TN", consumers, harm=harm)]))
    notice = find(result, CONSUMER, "TN")
    assert (notice is not None) is required
    if notice:
        assert notice.due == ts("2025-04-21T23:59:59.999999-05:00")  # 45 days after 7 March
        assert notice.clock_starts_at == ts("2025-03-07T16:30:00-06:00")
        assert notice.citation.startswith("Tenn. Code Ann. § 56-2-1006(c)")
        assert notice.status.value == "verified" and not notice.needs_counsel_review
        assert notice.recipient_key == "consumers:TN"


@verifies("de.consumer_notice.deadline")
def test_delaware_consumer_notice_within_60_days() -> None:
    """JURISDICTIONS.md, DE (verified): "consumer notice ≤ 60 days"."""
    result = compute_obligations(intake(affected=[state_row("DE", 50)]))
    notice = only(result, CONSUMER, "DE")
    assert notice.due.isoformat() == "2025-05-06T23:59:59.999999-04:00"
    assert notice.rule_id == "de.consumer_notice.deadline"
    # The clock is verified; only the method thresholds borrowed from Tennessee need confirming, and the
    # citation says they are Tennessee's: an interpretation for Delaware.
    assert notice.status.value == "interpretation"
    assert len(notice.counsel_review_reasons) == 1 and "substitute-notice rule" in notice.counsel_review_reasons[0]
    assert notice.citation == (
        "18 Del. C. §§ 8601–8611; Tenn. Code Ann. § 56-2-1006(c)(1)–(3) (Tennessee's rule applied; DE section not verified)"
    )


@verifies("tn.consumer_notice.method")
@pytest.mark.parametrize(
    ("consumers", "cost", "without", "electronic", "method", "triggers", "applies_to"),
    [
        (1000, None, 0, False, NoticeMethod.WRITTEN, [], None),
        (1000, None, 0, True, NoticeMethod.ELECTRONIC, [], None),
        # cost: "would exceed two hundred fifty thousand dollars ($250,000)"
        (1000, "250000", 0, False, NoticeMethod.WRITTEN, [], None),
        (1000, "250000.01", 0, False, NoticeMethod.SUBSTITUTE, [SubstituteTrigger.COST_EXCEEDS_THRESHOLD], "all_affected"),
        (1000, "250001", 0, False, NoticeMethod.SUBSTITUTE, [SubstituteTrigger.COST_EXCEEDS_THRESHOLD], "all_affected"),
        # class: "exceeds five hundred thousand (500,000) persons"
        (500_000, None, 0, False, NoticeMethod.WRITTEN, [], None),
        (500_001, None, 0, False, NoticeMethod.SUBSTITUTE, [SubstituteTrigger.CLASS_EXCEEDS_THRESHOLD], "all_affected"),
        # "does not have sufficient contact information": for those consumers only …
        (1000, None, 7, False, NoticeMethod.SUBSTITUTE, [SubstituteTrigger.INSUFFICIENT_CONTACT_INFORMATION], "consumers_without_contact"),
        # … or the whole class when nobody can be reached individually
        (30, None, 30, False, NoticeMethod.SUBSTITUTE, [SubstituteTrigger.INSUFFICIENT_CONTACT_INFORMATION], "all_affected"),
        (
            500_001,
            "900000",
            12,
            False,
            NoticeMethod.SUBSTITUTE,
            [SubstituteTrigger.COST_EXCEEDS_THRESHOLD, SubstituteTrigger.CLASS_EXCEEDS_THRESHOLD, SubstituteTrigger.INSUFFICIENT_CONTACT_INFORMATION],
            "all_affected",
        ),
    ],
)
def test_notice_method_and_substitute_thresholds_at_the_boundary_56_2_1006_c_3(
    consumers: int, cost: str | None, without: int, electronic: bool, method: NoticeMethod, triggers: list, applies_to: str | None
) -> None:
    """C3 (quoted above): both thresholds are "exceed", so $250,000 and 500,000 persons exactly do not qualify."""
    row = state_row("TN", consumers, email=min(consumers, 600), without=without, cost=cost, electronic=electronic)
    notice = only(compute_obligations(intake(affected=[row])), CONSUMER, "TN")
    assert notice.method is method
    if not triggers:
        assert notice.substitute_notice is None
        return
    sub = notice.substitute_notice
    assert sub is not None
    assert sub.triggers == triggers
    assert sub.applies_to == applies_to
    assert sub.email_where_known and sub.website_posting and sub.statewide_media  # (A), (B) and (C) together
    assert sub.citation == "Tenn. Code Ann. § 56-2-1006(c)(3)"
    if applies_to == "consumers_without_contact":
        assert sub.consumers == without
        assert sub.individual_method is NoticeMethod.WRITTEN
    else:
        assert sub.consumers == consumers and sub.consumers_with_email == min(consumers, 600)


@verifies("tn.consumer_notice.law_enforcement_delay")
@pytest.mark.parametrize(
    ("delay", "due", "delayed"),
    [
        (None, "2025-04-21T23:59:59.999999-05:00", False),
        ("2025-04-01T12:00:00-05:00", "2025-04-21T23:59:59.999999-05:00", False),  # ends before the 45 days: no change
        ("2025-06-02T09:00:00-05:00", "2025-06-02T09:00:00-05:00", True),  # extends to the delay's end, no further
    ],
)
def test_law_enforcement_delay_extends_consumer_notice_only_56_2_1006_c(delay: str | None, due: str, delayed: bool) -> None:
    """"… unless a longer period of time is required due to the legitimate needs of law enforcement" — § 56-2-1006(c)."""
    result = compute_obligations(intake(delay=delay))
    consumer = only(result, CONSUMER, "TN")
    assert consumer.due == ts(due)
    assert (consumer.law_enforcement_delay_until is not None) is delayed
    if delayed:
        assert "tn.consumer_notice.law_enforcement_delay" in consumer.rule_ids
    producer = only(result, ObligationKind.PRODUCER_NOTICE, "TN")
    assert producer.due == consumer.due  # never later than the consumer notice
    commissioner = only(result, ObligationKind.COMMISSIONER_NOTICE, "TN")
    assert commissioner.due == ts("2025-03-12T23:59:59.999999-05:00")  # unaffected


@verifies("engine.unverified.strictest_clock")
@pytest.mark.parametrize(
    ("state", "reason"),
    [
        ("AL", "consumer-notice clock is not verified"),  # verified row, consumer clock not listed
        ("MI", "consumer-notice clock is not verified"),
        ("WA", "not in the verified jurisdiction table"),  # unlisted state (OH has a verified row since issue 12)
    ],
)
def test_unverified_consumer_notice_clock_gets_72_hours_and_counsel_review(state: str, reason: str) -> None:
    """JURISDICTIONS.md: "For a reported row or a state not listed, the engine must not guess silently: it applies
    the strictest known clock (72 hours) and marks the obligation needs_counsel_review with the reason"."""
    notice = only(compute_obligations(intake(affected=[state_row(state, 100)])), CONSUMER, state)
    assert notice.clock.describe() == "72 hours"
    # exactly 72 hours (compared in UTC: DST began on 9 March)
    assert notice.due.astimezone(dt.UTC) - notice.clock_starts_at.astimezone(dt.UTC) == dt.timedelta(hours=72)
    assert notice.needs_counsel_review and any(reason in r for r in notice.counsel_review_reasons)
    assert notice.rule_id == "engine.unverified.strictest_clock"


@verifies("tn.consumer_notice.deadline")
def test_consumer_listed_without_a_consumer_data_element_asks_counsel() -> None:
    notice = only(compute_obligations(intake(elements=("business",))), CONSUMER, "TN")
    assert notice.needs_counsel_review
    assert "no consumer data element" in notice.counsel_review_reasons[0]
