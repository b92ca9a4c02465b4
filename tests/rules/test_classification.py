"""Classification of an event under RSMo § 375.1402(3) and (12) (seed 002) — read, and cited, under
the law of each state examined."""

from __future__ import annotations

import datetime as dt

import pytest

from models.lifecycle import Determination
from models.obligation import NpiCategory
from rules.classification import (
    classification_ledger_data,
    classify_event,
    nonpublic_information,
)
from rules.cyber import compute_obligations
from rules.lifecycle import determination_problem, retention_ledger_data
from rules.registry import verifies
from tests.rules.builders import intake, state_row

#: A Missouri insurer's event with Missouri residents only: the seed's own sections apply.
MISSOURI = {"domicile": "MO", "affected": [state_row("MO")]}

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
    result = compute_obligations(intake(encrypted=True, key=False, **MISSOURI))
    assert not result.is_cybersecurity_event
    assert result.obligations == []
    assert any(r.citation == "RSMo § 375.1402(3)(a)" for r in result.reasons)


@verifies("cyber.classification.returned_exclusion")
def test_returned_unused_data_gives_no_obligation_375_1402_3_b() -> None:
    result = compute_obligations(intake(returned=True, **MISSOURI))
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


# ---- every reason cites the law of the state it concerns (issue 9 item 11) ------------------------


def test_tennessee_only_event_cites_tennessee_law_never_rsmo_56_2_1003() -> None:
    """A Tennessee examiner saw RSMo in the determination of a Tennessee insurer's event with
    Tennessee residents only: every reason now reads Tennessee's definitions."""
    result = compute_obligations(intake(domicile="TN", affected=[state_row("TN")], elements=("ssn", "health", "business")))
    stated = [r for r in result.reasons if r.citation]
    assert stated and all(r.citation and r.citation.startswith("Tenn. Code Ann. § 56-2-1003") for r in stated)
    assert {r.jurisdiction for r in stated} == {"TN"}
    assert not any("RSMo" in (r.citation or "") or "RSMo" in r.message for r in result.reasons)
    (event,) = [r for r in result.reasons if r.code == "event"]
    assert event.citation == "Tenn. Code Ann. § 56-2-1003" and not event.needs_counsel_review
    assert classification_ledger_data(result.reasons) == {
        "definitions": {"TN": "Tenn. Code Ann. § 56-2-1003"}, "definitions_need_counsel_review": [],
        "no_obligation_reasons": []}


def test_multistate_event_gives_one_reason_per_state_each_citing_its_own_law() -> None:
    result = classify_event(intake(domicile="TN", affected=[state_row("TN"), state_row("MO"), state_row("OH")],
                                   elements=("ssn",)))
    events = {r.jurisdiction: r for r in result.reasons if r.code == "event"}
    assert set(events) == {"TN", "MO", "OH"}  # exactly one per state examined
    assert len([r for r in result.reasons if r.code == "event"]) == 3
    assert events["TN"].citation == "Tenn. Code Ann. § 56-2-1003"
    assert events["MO"].citation == "RSMo § 375.1402(3)"
    assert events["OH"].citation == "NAIC #668 § 3(D) (model; state section not verified)"
    assert "Under Missouri law" in events["MO"].message and "Under Ohio law" in events["OH"].message
    npi = {r.jurisdiction: r.citation for r in result.reasons if r.code == "npi.consumer_identifying"}
    assert npi == {"TN": "Tenn. Code Ann. § 56-2-1003", "MO": "RSMo § 375.1402(12)(b)",
                   "OH": "NAIC #668 § 3(K) (model; state section not verified)"}


def test_a_state_known_only_from_the_model_says_so_and_needs_counsel_review() -> None:
    result = classify_event(intake(domicile="TN", affected=[state_row("TN"), state_row("GA")], elements=("health",)))
    for reason in result.reasons:
        model_only = reason.jurisdiction == "GA"
        assert reason.needs_counsel_review is model_only, reason
        assert ("(model; state section not verified)" in (reason.citation or "")) is model_only
    assert classification_ledger_data(result.reasons)["definitions_need_counsel_review"] == ["GA"]


def test_exclusion_cites_each_states_wording_and_flags_what_is_not_verified_375_1402_3_a() -> None:
    result = classify_event(intake(domicile="TN", affected=[state_row("TN"), state_row("MO")], encrypted=True))
    assert not result.is_cybersecurity_event
    excluded = {r.jurisdiction: r for r in result.reasons if r.code == "exclusion.encrypted"}
    assert excluded["MO"].citation == "RSMo § 375.1402(3)(a)" and not excluded["MO"].needs_counsel_review
    # Tennessee's definitions section is known; its wording of the exclusion is not in the seeds.
    assert excluded["TN"].citation.startswith("Tenn. Code Ann. § 56-2-1003") and excluded["TN"].needs_counsel_review
    assert classification_ledger_data(result.reasons)["definitions_need_counsel_review"] == ["TN"]


def test_assuming_insurer_examines_its_domicile_and_its_consumers_states_only() -> None:
    result = classify_event(intake(kind="assuming_insurer", domicile="MO",
                                   affected=[state_row("TN"), state_row("KY", consumers=0)]))
    assert sorted(r.jurisdiction for r in result.reasons if r.code == "event") == ["MO", "TN"]


def test_refused_determination_names_the_licensees_own_law() -> None:
    facts = intake(domicile="TN", affected=[state_row("TN")], encrypted=True)
    decision = Determination(is_cybersecurity_event=True, decided_by="jdoe", reason="Vendor breach.")
    problem = determination_problem(facts, decision, dt.datetime(2025, 3, 8, tzinfo=dt.UTC))
    assert problem is not None and "Tenn. Code Ann. § 56-2-1003" in problem and "RSMo" not in problem
    mo = intake(domicile="MO", affected=[state_row("MO")], encrypted=True)
    assert "RSMo § 375.1402(3)(a)" in (determination_problem(mo, decision, dt.datetime(2025, 3, 8, tzinfo=dt.UTC)) or "")


def test_closure_cites_each_states_retention_rule_model_marked_and_flagged() -> None:
    """Closure cited the NAIC model without saying for whom: it names each state's rule, and the
    states resting on the model only need counsel review."""
    data = retention_ledger_data(["TN", "MO", "TN", "GA"])
    assert list(data["retention"]) == ["GA", "MO", "TN"]  # type: ignore[arg-type]
    assert all(c == "NAIC #668 § 5(D) (model; state section not verified)" for c in data["retention"].values())  # type: ignore[union-attr]
    assert data["retention_needs_counsel_review"] == ["GA", "MO", "TN"]
