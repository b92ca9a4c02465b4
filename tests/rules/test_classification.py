"""Classification of an event under RSMo § 375.1402(3) and (12) (seed 002)."""

from __future__ import annotations

import pytest

from models.obligation import NpiCategory
from rules.classification import classify_event, nonpublic_information
from rules.cyber import compute_obligations
from rules.registry import verifies
from tests.rules.builders import intake

EXCLUSION_A = (
    '"The term \'cybersecurity event\' does not include the unauthorized acquisition of encrypted, nonpublic '
    'information if the encryption, process, or key is not also acquired, released, or used without '
    'authorization" — RSMo § 375.1402(3)(a)'
)
EXCLUSION_B = (
    '"The term \'cybersecurity event\' does not include an event with regard to which the licensee has '
    "determined that the nonpublic information accessed by an unauthorized person has not been used or "
    'released and has been returned or destroyed" — RSMo § 375.1402(3)(b)'
)


@verifies("cyber.classification.event", "cyber.classification.encrypted_exclusion", "cyber.classification.returned_exclusion")
@pytest.mark.parametrize(
    ("encrypted", "key", "returned", "is_event", "reason_code"),
    [
        (False, False, False, True, "event"),
        (True, False, False, False, "exclusion.encrypted"),  # (3)(a): key not acquired
        (True, True, False, True, "event"),  # (3)(a) does not apply: the key went too
        (False, True, False, True, "event"),  # key status is irrelevant without encryption
        (False, False, True, False, "exclusion.returned_or_destroyed"),  # (3)(b)
        (True, True, True, False, "exclusion.returned_or_destroyed"),
    ],
)
def test_event_and_its_two_exclusions_375_1402_3(encrypted: bool, key: bool, returned: bool, is_event: bool, reason_code: str) -> None:
    """The table encodes EXCLUSION_A and EXCLUSION_B (quoted above)."""
    result = classify_event(intake(encrypted=encrypted, key=key, returned=returned))
    assert result.is_cybersecurity_event is is_event
    assert reason_code in [r.code for r in result.reasons]


@verifies("cyber.classification.encrypted_exclusion")
def test_encrypted_data_without_the_key_gives_no_obligation_375_1402_3_a() -> None:
    result = compute_obligations(intake(encrypted=True, key=False))
    assert not result.is_cybersecurity_event
    assert result.obligations == []
    assert any(r.citation == "RSMo § 375.1402(3)(a)" for r in result.reasons)


@verifies("cyber.classification.returned_exclusion")
def test_returned_unused_data_gives_no_obligation_375_1402_3_b() -> None:
    result = compute_obligations(intake(returned=True))
    assert not result.is_cybersecurity_event
    assert result.obligations == []
    assert any(r.citation == "RSMo § 375.1402(3)(b)" for r in result.reasons)


@verifies("cyber.npi.business", "cyber.npi.consumer", "cyber.npi.health")
@pytest.mark.parametrize(
    ("elements", "expected"),
    [
        # (12)(b) "a. Social Security number; b. Driver's license number …; c. Financial account number …;
        #  d. Any security code, access code, or password …; e. Biometric records; or f. Military identification number"
        (["ssn"], [NpiCategory.CONSUMER_IDENTIFYING]),
        (["drivers_license"], [NpiCategory.CONSUMER_IDENTIFYING]),
        (["financial_account"], [NpiCategory.CONSUMER_IDENTIFYING]),
        (["access_code"], [NpiCategory.CONSUMER_IDENTIFYING]),
        (["biometric"], [NpiCategory.CONSUMER_IDENTIFYING]),
        (["military_id"], [NpiCategory.CONSUMER_IDENTIFYING]),
        # (12)(c) "Any information … created by or derived from a health care provider or a consumer and that relates to …"
        (["health"], [NpiCategory.HEALTH]),
        # (12)(a) "Business-related information of a licensee, the tampering with which … would cause a material adverse impact"
        (["business"], [NpiCategory.BUSINESS]),
        (["business", "ssn", "health"], [NpiCategory.BUSINESS, NpiCategory.CONSUMER_IDENTIFYING, NpiCategory.HEALTH]),
        ([], []),
    ],
)
def test_nonpublic_information_categories_375_1402_12(elements: list[str], expected: list[NpiCategory]) -> None:
    assert nonpublic_information(elements) == expected  # type: ignore[arg-type]
    result = classify_event(intake(elements=tuple(elements)))
    assert result.nonpublic_information == expected
