"""Every entry and document cites the law of the jurisdiction it concerns (JURISDICTIONS.md, issue 9
item 11): the state's own section where the seed texts or JURISDICTIONS.md give it; otherwise the
model's (or Tennessee's rule, when the engine applies it elsewhere), marked "section not verified",
with counsel review."""

from __future__ import annotations

import pytest

from models.lifecycle import Exclusion
from models.obligation import ObligationKind
from rules.cyber import compute_obligations, join_citations
from rules.jurisdictions import (
    CYBER_JURISDICTIONS,
    consumer_notice_citation,
    event_definition_citation,
    exclusion_citation,
    investigation_citation,
    law_enforcement_delay_citation,
    material_updates_citation,
    needs_counsel_review,
    producer_notice_citation,
    report_item_citation,
    report_items_citation,
    retention_citation,
    substitute_part_citation,
    tpsp_citation,
)
from rules.lifecycle import CITE_RETENTION
from rules.registry import verifies
from tests.rules.builders import intake, only, state_row

COMMISSIONER = ObligationKind.COMMISSIONER_NOTICE
CONSUMER = ObligationKind.CONSUMER_NOTICE
PRODUCER = ObligationKind.PRODUCER_NOTICE
MODEL_ITEMS = "NAIC #668 § 6(B) (model; state section not verified)"
MODEL_UPDATES = "NAIC #668 § 6(C) (model; state section not verified)"


@verifies("tn.commissioner_notice.report_items", "model.commissioner_notice.report_items", "engine.citations.jurisdiction")
@pytest.mark.parametrize(
    ("state", "items", "item_a"),
    [
        # The seed: Tenn. Code Ann. § 56-2-1006(b)(1)(A)–(N).
        ("TN", "Tenn. Code Ann. § 56-2-1006(b)(1)", "Tenn. Code Ann. § 56-2-1006(b)(1)(A)"),
        # JURISDICTIONS.md gives these states' notice sections, not their report-content sections.
        ("DE", MODEL_ITEMS, MODEL_ITEMS),
        ("MO", MODEL_ITEMS, MODEL_ITEMS),
        ("KY", MODEL_ITEMS, MODEL_ITEMS),
        ("VA", MODEL_ITEMS, MODEL_ITEMS),
        ("MI", MODEL_ITEMS, MODEL_ITEMS),
        ("GA", MODEL_ITEMS, MODEL_ITEMS),  # not listed at all
    ],
)
def test_report_items_cite_the_states_own_section_or_the_model_marked(state: str, items: str, item_a: str) -> None:
    assert report_items_citation(state) == items
    assert report_item_citation(state, "A") == item_a
    assert needs_counsel_review(items) is (state != "TN")


@verifies("model.commissioner_notice.report_items", "model.commissioner_notice.material_updates", "engine.citations.jurisdiction")
@pytest.mark.parametrize("state", ["DE", "MO", "KY", "VA", "MI"])
def test_report_of_another_state_never_cites_tennessee_and_asks_for_counsel(state: str) -> None:
    """The demo's DE, MO and KY reports said "required by § 56-2-1006(b)(1)" — Tennessee's law."""
    result = compute_obligations(intake(domicile="GA", affected=[state_row(state, 300, gov=True)]))
    notice = only(result, COMMISSIONER, state)
    assert "56-2-1006" not in notice.citation
    assert {item.citation for item in notice.report_items or []} == {MODEL_ITEMS}
    assert notice.needs_counsel_review
    assert any(r.startswith("NAIC #668 § 6(B), (C) (model; state section not verified)") for r in notice.counsel_review_reasons)


@verifies("tn.commissioner_notice.report_items", "tn.commissioner_notice.material_updates")
def test_tennessee_report_cites_tennessee_and_needs_no_review_for_it() -> None:
    notice = only(compute_obligations(intake(affected=[state_row("TN", 300, gov=True)])), COMMISSIONER, "TN")
    assert notice.citation == "Tenn. Code Ann. § 56-2-1006(a), (a)(1), (a)(2), (b)(1), (b)(2)"
    assert not notice.needs_counsel_review
    assert material_updates_citation("TN") == "Tenn. Code Ann. § 56-2-1006(b)(2)"


@verifies("md.commissioner_notice.material_updates", "model.commissioner_notice.material_updates")
@pytest.mark.parametrize(
    ("state", "citation"),
    [
        ("TN", "Tenn. Code Ann. § 56-2-1006(b)(2)"),
        ("MD", "Md. Code Ann., Ins. § 33-105"),  # JURISDICTIONS.md, MD (verified): "continuing duty to update"
        ("DE", MODEL_UPDATES),
        ("KY", MODEL_UPDATES),
    ],
)
def test_material_updates_cite_the_states_continuing_duty(state: str, citation: str) -> None:
    assert material_updates_citation(state) == citation


@verifies("engine.citations.jurisdiction")
@pytest.mark.parametrize(
    ("domicile", "definition", "encrypted", "returned", "investigation"),
    [
        # The seed § 56-2-1006 defines its terms "See Tennessee Code 56-2-1003"; (d)(3) names § 56-2-1005.
        ("TN", "Tenn. Code Ann. § 56-2-1003",
         "Tenn. Code Ann. § 56-2-1003 (exclusion as in NAIC #668 § 3(D); state section not verified)",
         "Tenn. Code Ann. § 56-2-1003 (exclusion as in NAIC #668 § 3(D); state section not verified)",
         "Tenn. Code Ann. § 56-2-1005"),
        # The seed RSMo § 375.1402(3) with its exclusions (a) and (b).
        ("MO", "RSMo § 375.1402(3)", "RSMo § 375.1402(3)(a)", "RSMo § 375.1402(3)(b)",
         "NAIC #668 § 5 (model; state section not verified)"),
        ("DE", "NAIC #668 § 3(D) (model; state section not verified)", "NAIC #668 § 3(D) (model; state section not verified)",
         "NAIC #668 § 3(D) (model; state section not verified)", "NAIC #668 § 5 (model; state section not verified)"),
    ],
)  # fmt: skip
def test_determination_and_findings_cite_the_domiciles_law(
    domicile: str, definition: str, encrypted: str, returned: str, investigation: str
) -> None:
    """The determination cited RSMo for a Tennessee examiner; it cites the domicile's definition."""
    assert event_definition_citation(domicile) == definition
    assert exclusion_citation(domicile, Exclusion.ENCRYPTED_KEY_NOT_COMPROMISED) == encrypted
    assert exclusion_citation(domicile, Exclusion.RETURNED_OR_DESTROYED_UNUSED) == returned
    assert exclusion_citation(domicile, None) == definition
    assert investigation_citation(domicile) == investigation
    assert needs_counsel_review(encrypted) is (domicile != "MO")  # only Missouri's exclusions are a seed


def test_an_unknown_exclusion_is_refused_naming_the_values() -> None:
    with pytest.raises(ValueError, match="exclusion must be 'encrypted_key_not_compromised'"):
        exclusion_citation("TN", "paper_only")


@verifies("model.records.retention")
@pytest.mark.parametrize("state", ["TN", "MO", "DE", "KY", "GA"])
def test_closure_cites_the_five_year_records_rule_as_the_model_marked(state: str) -> None:
    """JURISDICTIONS.md: records "kept ≥ 5 years from the event" are common to all adopters, but no state's
    section is given: the closure entry says it cites the model, which asks for counsel review."""
    assert retention_citation(state) == "NAIC #668 § 5(D) (model; state section not verified)" == CITE_RETENTION
    assert needs_counsel_review(retention_citation(state))


@verifies("engine.citations.jurisdiction", "tn.consumer_notice.deadline", "de.consumer_notice.deadline")
@pytest.mark.parametrize(
    ("state", "consumer", "delay", "website", "producer"),
    [
        ("TN", "Tenn. Code Ann. § 56-2-1006(c)", "Tenn. Code Ann. § 56-2-1006(c)",
         "Tenn. Code Ann. § 56-2-1006(c)(3)(B)", "Tenn. Code Ann. § 56-2-1006(f)"),
        ("DE", "18 Del. C. §§ 8601–8611",
         "Tenn. Code Ann. § 56-2-1006(c) (Tennessee's rule applied; DE section not verified)",
         "Tenn. Code Ann. § 56-2-1006(c)(3)(B) (Tennessee's rule applied; DE section not verified)",
         "NAIC #668 § 6(G) (model; state section not verified)"),
        ("MO", "RSMo § 407.1500; RSMo §§ 375.1400–375.1427",
         "Tenn. Code Ann. § 56-2-1006(c) (Tennessee's rule applied; MO section not verified)",
         "Tenn. Code Ann. § 56-2-1006(c)(3)(B) (Tennessee's rule applied; MO section not verified)",
         "RSMo §§ 375.1400–375.1427"),
        ("KY", "NAIC #668 § 6(D) (model; state section not verified)",
         "Tenn. Code Ann. § 56-2-1006(c) (Tennessee's rule applied; KY section not verified)",
         "Tenn. Code Ann. § 56-2-1006(c)(3)(B) (Tennessee's rule applied; KY section not verified)",
         "NAIC #668 § 6(G) (model; state section not verified)"),
    ],
)  # fmt: skip
def test_consumer_and_producer_documents_cite_the_states_law(
    state: str, consumer: str, delay: str, website: str, producer: str
) -> None:
    assert consumer_notice_citation(state) == consumer
    assert law_enforcement_delay_citation(state) == delay
    assert substitute_part_citation(state, "B") == website
    assert producer_notice_citation(state) == producer


@verifies("tn.tpsp.clock_start", "model.tpsp.clock_start", "mo.tpsp.day_after")
@pytest.mark.parametrize(
    ("state", "citation"),
    [
        ("TN", "Tenn. Code Ann. § 56-2-1006(d)"),
        ("MO", "RSMo §§ 375.1400–375.1427"),  # reported: "the day after"
        ("DE", "NAIC #668 § 6(E) (model; state section not verified)"),
        ("GA", "NAIC #668 § 6(E) (model; state section not verified)"),
    ],
)
def test_a_providers_event_is_the_licensees_own_under_each_states_law(state: str, citation: str) -> None:
    assert tpsp_citation(state) == citation


def test_substitute_part_must_be_a_b_or_c() -> None:
    with pytest.raises(ValueError, match="part must be A, B or C"):
        substitute_part_citation("TN", "D")


@verifies("model.tpsp.clock_start", "engine.citations.jurisdiction")
def test_tennessee_rules_applied_elsewhere_say_so_in_every_citation() -> None:
    """A third-party service provider's event in Delaware: the clock follows Tennessee's (d) reading, cited as
    the model's § 6(E); the producers' timing and the substitute thresholds are Tennessee's, cited as such."""
    data = intake(
        domicile="GA", source="third_party_service_provider", tpsp="2025-03-05T10:00:00-06:00",
        affected=[state_row("DE", 300, gov=True, without=3)],
    )  # fmt: skip
    result = compute_obligations(data)
    commissioner = only(result, COMMISSIONER, "DE")
    assert commissioner.citation == "18 Del. C. §§ 8601–8611; NAIC #668 § 6(E), (B), (C) (model; state section not verified)"
    consumer = only(result, CONSUMER, "DE")
    assert consumer.substitute_notice is not None
    assert consumer.substitute_notice.citation == "Tenn. Code Ann. § 56-2-1006(c)(3) (Tennessee's rule applied; DE section not verified)"
    producer = only(result, PRODUCER, "DE")
    assert producer.citation == "Tenn. Code Ann. § 56-2-1006(f) (Tennessee's rule applied; DE section not verified)"
    assert producer.status.value == "interpretation" and producer.needs_counsel_review
    for obligation in result.obligations:
        assert "56-2-1006" not in obligation.citation or "Tennessee's rule applied; DE" in obligation.citation


@verifies("ky.commissioner_notice.reported_clock", "engine.unverified.strictest_clock")
def test_kentucky_cites_krs_with_its_reported_clock_and_counsel_review() -> None:
    """JURISDICTIONS.md, KY (reported): "KRS 304.3-750 to -768 | 'within three days' (unit unread) | licensees
    with < 50 employees exempt from the whole act (department page); filed through the department's eServices"."""
    notice = only(compute_obligations(intake(domicile="GA", affected=[state_row("KY", 300, gov=True)])), COMMISSIONER, "KY")
    assert notice.citation.startswith("KRS 304.3-750 to 304.3-768; ")
    assert notice.status.value == "reported" and notice.needs_counsel_review
    assert notice.reported_clock is not None and notice.reported_clock.describe() == "3 calendar days"
    assert "KY commissioner-notice clock is reported, not verified" in notice.counsel_review_reasons[0]
    assert any("50 employees" in n for n in notice.notes) and any("eServices" in n for n in notice.notes)
    assert "KY" in CYBER_JURISDICTIONS


def test_joined_citations_carry_the_mark_once_per_section() -> None:
    joined = join_citations(["Va. Code § 38.2-625", MODEL_ITEMS, MODEL_UPDATES, "Tenn. Code Ann. § 56-2-1006(f)"])
    assert joined == (
        "Va. Code § 38.2-625; NAIC #668 § 6(B), (C) (model; state section not verified); Tenn. Code Ann. § 56-2-1006(f)"
    )
