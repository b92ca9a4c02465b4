"""The steps in words (reports/words.py): each entry as a sentence, names where the ledger recorded
them, the JSON as stored (no escapes)."""

from __future__ import annotations

import json
from pathlib import Path

from reports.people import People, obligation_label
from reports.words import describe, entry_json, to_step
from tests.reports.synthetic import synthetic_entries

FIXTURE = Path(__file__).parent / "fixtures" / "demo-entries.jsonl"


def _by_type(entries: list[dict], type_: str) -> dict:
    return next(e for e in entries if e["type"] == type_)


def test_approval_names_the_responder_the_ledger_recorded_and_the_states() -> None:
    entries = synthetic_entries()
    people = People()
    for entry in entries:
        people.learn(entry["data"])
    assert describe(_by_type(entries, "consumer_notice.approved"), people) == "Dana Whitfield approved the consumer notice for TN."


def test_a_user_without_a_recorded_name_is_named_by_id_and_the_worker_as_noticeflow() -> None:
    people = People()
    assert people.actor("user:c.hale") == "c.hale"
    assert people.actor("worker") == "noticeflow"
    assert people.actor("portal:tdci") == "portal:tdci"


def test_late_sending_is_said_late_with_the_states_local_times() -> None:
    sentence = describe(_by_type(synthetic_entries(), "consumer_notice.sent"), People())
    assert sentence == ("The TN consumer notice was sent LATE by 2 days 9 h at 2026-04-19 09:00 CDT "
                        "(due 2026-04-16 23:59 CDT); its confirmation is awaited.")


def test_counsel_review_says_the_decision_and_that_the_notes_are_withheld() -> None:
    sentence = describe(_by_type(synthetic_entries(), "incident.counsel_review_recorded"), People())
    assert sentence.startswith("j.counsel (counsel) reviewed the KY commissioner notice: confirmed")
    assert "withheld (privileged)" in sentence


def test_entry_json_keeps_section_signs_and_every_field() -> None:
    entry = _by_type(synthetic_entries(), "commissioner_notice.met")
    text = entry_json(entry)
    assert "Tenn. Code Ann. § 56-2-1006(a), (b)" in text and "\\u00a7" not in text
    assert json.loads(text) == entry


def test_obligation_label_reads_state_and_kind_from_the_id() -> None:
    assert obligation_label("INC-DEMO-1:producer_notice:MO:producers_of_record") == "MO producer notice"
    assert obligation_label("INC-7:consumer_notice:TN:consumers:TN") == "TN consumer notice"


def test_every_demo_entry_gets_a_sentence_not_a_fallback() -> None:
    people = People()
    for line in FIXTURE.read_text("utf-8").splitlines():
        entry = json.loads(line)
        people.learn(entry["data"])
        step = to_step(entry, people)
        assert step.sentence and "not described" not in step.sentence, step
        assert " recorded " not in step.sentence or entry["type"].startswith("incident."), (entry["type"], step.sentence)
