"""The examiner's report view model (reports/examiner.py) from a small synthetic ledger: what was
due against what was done, per obligation, in the ledger's own words."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

import pytest

from reports.examiner import (
    WORDS_LIMIT,
    build_examiner_report,
    key_fingerprint,
    render_examiner_report,
)
from tests.reports.synthetic import (
    DOCUMENTS,
    INITIAL_NOTICE,
    KY_CN,
    LETTER,
    MO_PROD,
    PRIVACY_STREAM,
    REPORT_HTML,
    REPORT_JSON,
    STREAM,
    TN_CN,
    TN_CONS,
    VA_CN,
    as_v2,
    report_args,
    synthetic_entries,
)


@pytest.fixture(scope="module")
def report() -> Any:
    return build_examiner_report(synthetic_entries(), **report_args())


def _row(report: Any, obligation_id: str) -> Any:
    (row,) = [r for r in report.obligations if r.obligation_id == obligation_id]
    return row


def test_commissioner_notice_acknowledged_before_its_due_instant_is_on_time_with_the_filed_report_linked_56_2_1006_a(report: Any) -> None:
    row = _row(report, TN_CN)
    assert (row.outcome, row.late, row.outcome_text) == ("on_time", False, "on time")
    assert row.due_local == "2026-03-05 23:59 CST"  # the state's clock, its zone named
    assert row.done_local == "2026-03-03 08:00 CST"
    assert row.recipient == "Tennessee Commissioner of Commerce and Insurance"
    assert row.citation == "Tenn. Code Ann. § 56-2-1006(a), (b)"
    filed = next(e for e in row.evidence if e.label == "report v1 as filed")
    assert filed.href == DOCUMENTS[REPORT_HTML]
    assert not any(REPORT_JSON in (e.href or "") for e in row.evidence), "a document not in the bundle is not linked"
    ack = next(e for e in row.evidence if e.label == "acknowledgement v1")
    assert ack.detail == "TDCI-2026-0142" and ack.href == "#e18"
    assert "acknowledged via portal:tdci" in row.done_by


def test_consumer_notice_sent_after_its_due_instant_is_late_by_the_ledgers_own_count_56_2_1006_c(report: Any) -> None:
    row = _row(report, TN_CONS)
    assert row.status == "met_late" and row.outcome == "late" and row.late
    assert row.outcome_text == "LATE by 2 days 9 h"
    assert row.due_local == "2026-04-16 23:59 CDT" and row.done_local == "2026-04-19 09:00 CDT"
    assert row.recipient == "1,200 affected consumers residing in Tennessee"
    assert [e.href for e in row.evidence if e.href and e.href.startswith("documents/")] == [
        DOCUMENTS[LETTER], DOCUMENTS["d4" * 32]]
    assert "approved by Dana Whitfield" in row.done_by  # the name the ledger recorded for d.whitfield


def test_open_obligation_past_its_due_instant_is_late_and_open_as_of_the_report(report: Any) -> None:
    row = _row(report, KY_CN)
    assert row.status == "overdue" and row.outcome == "late" and row.late
    assert row.outcome_text.startswith("LATE — still open, overdue by 56 days")
    assert row.done_at is None
    assert "escalated to the backup (Robin Ames)" in row.notes


def test_open_obligation_before_its_due_instant_is_open_not_late() -> None:
    entries = [e for e in synthetic_entries() if e["ts"] < "2026-03-04T00:00:00"]
    report = build_examiner_report(entries, **report_args(generated_at="2026-03-04T00:00:00.000000Z"))
    row = _row(report, KY_CN)
    assert (row.outcome, row.late) == ("open", False)
    assert row.outcome_text == "open — due in 1 day 16 h"


def test_waiver_and_excuse_are_listed_with_their_reasons_and_who_recorded_them(report: Any) -> None:
    waived, excused = _row(report, VA_CN), _row(report, MO_PROD)
    assert (waived.outcome, waived.reason) == ("waived", "Counsel: Va. Code § 38.2-625 does not reach a licensee with 40 residents affected.")
    assert excused.outcome == "excused" and excused.reason.startswith("The insurer does not have current producer-of-record")
    by_status = {x.status: x for x in report.exemptions}
    assert by_status["waived"].by == "Robin Ames" and by_status["waived"].seq == 19
    assert by_status["not required (excused)"].seq == 15 and by_status["not required (excused)"].by == "noticeflow, from the rules"
    assert by_status["not applicable"].what == "report item (F)" and by_status["not applicable"].reason == "No law-enforcement agency was notified."


def test_counsel_reviews_recorded_and_pending_are_listed_with_the_notes_withheld(report: Any) -> None:
    recorded = [c for c in report.counsel_reviews if not c.pending]
    pending = [c for c in report.counsel_reviews if c.pending]
    assert [(c.label, c.decision, c.reviewer, c.withheld) for c in recorded] == [("KY commissioner notice", "confirmed", "j.counsel", True)]
    assert [c.label for c in pending] == ["TN consumer notice"]  # flagged at opening, never reviewed


def test_privileged_finding_is_described_without_its_text_and_marked(report: Any) -> None:
    (step,) = [s for s in report.steps if s.type == "incident.finding_recorded"]
    assert step.privileged
    assert "its text is withheld (attorney client)" in step.sentence


def test_counts_and_late_list_cover_every_obligation(report: Any) -> None:
    assert report.counts == {"on_time": 1, "late": 2, "open": 0, "waived": 1, "excused": 1}
    assert {r.obligation_id for r in report.late} == {TN_CONS, KY_CN}
    assert [e.stream for e in report.events] == [STREAM]


def test_privacy_stream_lists_its_notice_window_opt_out_and_overdue_annual_notice_28_tac_22(report: Any) -> None:
    (view,) = report.privacy
    assert view.stream == PRIVACY_STREAM
    assert [(i.what, i.status) for i in view.items] == [
        ("initial notice", "sent (mail)"), ("opt-out window", "closed: held by opt out"), ("opt-out", "elected"),
        ("annual notice", "OVERDUE")]
    assert view.items[0].evidence[0].href == DOCUMENTS[INITIAL_NOTICE]
    assert view.items[1].until_local == "2026-02-04 04:01 CST"
    assert view.late_items == 1 and "<svg" in view.timeline_svg


def test_verification_names_key_fingerprints_and_entry_format_versions(report: Any) -> None:
    v = report.verification
    assert v.tree_size == 30 and v.root_hash == "ab" * 32
    (key,) = v.keys
    assert key.fingerprint == key_fingerprint(key.public_key)
    assert key.fingerprint.startswith("SHA256:") and len(key.fingerprint) == 7 + 64
    assert v.entry_versions == {"v1": 27}
    assert v.verifier_name == "verify_bundle.py" and v.verifier_sha256 == "9f" * 32


def test_v2_entries_read_as_v1_and_are_counted_by_version() -> None:
    v1 = build_examiner_report(synthetic_entries(), **report_args())
    mixed = synthetic_entries()[:10] + as_v2(synthetic_entries())[10:]
    v2 = build_examiner_report(mixed, **report_args())
    assert v2.verification.entry_versions == {"v1": 10, "v2": 17}
    assert [(r.obligation_id, r.outcome, r.outcome_text) for r in v2.obligations] == [
        (r.obligation_id, r.outcome, r.outcome_text) for r in v1.obligations]


def test_stream_filtered_bundle_says_what_it_holds_and_omits_other_streams() -> None:
    entries = [e for e in synthetic_entries() if e["stream"] == STREAM]
    report = build_examiner_report(entries, **report_args(
        filter={"stream": STREAM, "jurisdiction": None, "since": None, "until": None},
        completeness={"proven": "streams", "statement": "The stream incident:INC-7 is complete up to its signed head."}))
    assert report.filter_words == "the stream incident:INC-7"
    assert report.privacy == [] and len(report.obligations) == 5
    html = render_examiner_report(report)
    assert "each stream in this bundle is complete" in html and "Privacy notices and opt-outs" not in html


def test_time_window_judges_open_obligations_as_of_its_end() -> None:
    entries = [e for e in synthetic_entries() if e["ts"] < "2026-03-05T00:00:00"]
    report = build_examiner_report(entries, **report_args(
        filter={"stream": None, "jurisdiction": None, "since": None, "until": "2026-03-05T00:00:00.000000Z"}))
    assert report.as_of == datetime(2026, 3, 5, tzinfo=UTC)
    assert _row(report, KY_CN).outcome == "open"  # due 16:00 UTC that day: not yet late at the window's end


def test_empty_bundle_renders_a_report_that_says_so() -> None:
    report = build_examiner_report([], **report_args(privilege_log=[], documents={}))
    assert report.entry_count == 0 and report.obligations == [] and report.steps == []
    html = render_examiner_report(report)
    assert "This bundle holds no ledger entries" in html
    assert "Verification" in html and "ab" * 32 in html


def test_rendered_report_shows_section_signs_not_escapes_and_has_no_script(report: Any) -> None:
    html = render_examiner_report(report)
    assert "§ 56-2-1006" in html and "\\u00a7" not in html
    assert "<script" not in html.lower()
    assert html.count("<details>") == report.entry_count  # every entry's JSON one click away
    entry = json.loads(json.dumps(synthetic_entries()[0]))
    assert f'id="e{entry["seq"]}"' in html


def test_rendered_late_rows_say_late_in_words_and_carry_the_late_class(report: Any) -> None:
    html = render_examiner_report(report)
    late_rows = [chunk for chunk in html.split("<tr ")[1:] if 'class="ob late' in chunk.split(">", 1)[0]]
    assert len(late_rows) == 2
    assert all("⚠" in row and "LATE" in row for row in late_rows)
    assert 'class="late-part"' in html  # hatched past-deadline bars in the timeline


def _many(count: int) -> list[dict[str, Any]]:
    base = [e for e in synthetic_entries() if e["stream"] == STREAM]
    out: list[dict[str, Any]] = []
    n = 0
    while len(out) < count:
        n += 1
        text = json.dumps(base).replace("INC-7", f"INC-{n}")
        out.extend(json.loads(text))
    for seq, entry in enumerate(out, 1):
        entry["seq"] = seq
    return out


def test_twenty_thousand_entries_keep_every_obligation_row_and_cap_only_the_words() -> None:
    entries = _many(20_000)
    started = time.monotonic()
    report = build_examiner_report(entries, **report_args())
    html = render_examiner_report(report)
    elapsed = time.monotonic() - started
    events = len(entries) // 21 + (1 if len(entries) % 21 else 0)
    assert len(report.obligations) == 5 * events  # never cut
    assert len(report.steps) == WORDS_LIMIT and report.steps_truncated
    assert f"the first {WORDS_LIMIT:,} of {len(entries):,} entries are written out" in html
    assert html.count('<tr id="ob-') == len(report.obligations)
    assert elapsed < 60, f"{len(entries)} entries took {elapsed:.1f} s"


def test_keys_from_a_key_statement_keep_their_stated_fingerprints_and_unproven_completeness_is_said() -> None:
    statement = {"format": "noticeflow-key-statement/1", "keys": [
        {"key_id": "ed25519:aa", "algorithm": "ed25519", "public_key": "CWwEEaaDBYXT7bLIR3ICIf4Wp8ig0UV4D9pxQ9evsp8=",
         "fingerprint": "SHA256:" + "1" * 64, "note_verifier_key": "noticeflow.example/ledger+01020304+AQ==",
         "valid_from": "2026-01-01T00:00:00.000000Z", "valid_until": None}]}
    report = build_examiner_report(synthetic_entries(), **report_args(
        keys=statement, completeness={"proven": "none", "statement": "The selection of streams rests on the licensee's choice."}))
    (key,) = report.verification.keys
    assert (key.key_id, key.fingerprint, key.note_verifier_key) == ("ed25519:aa", "SHA256:" + "1" * 64, "noticeflow.example/ledger+01020304+AQ==")
    html = render_examiner_report(report)
    assert "not proven by this bundle" in html and "rests on the licensee&#39;s choice" in html


def test_revised_notice_bookkeeping_steps_are_words_not_privacy_rows() -> None:
    entries = synthetic_entries()
    extra = {**entries[-1], "seq": len(entries) + 1, "stream": "revised_notice:2026.1:2026.2", "type": "revised_notice.diffed",
             "data": {"changed": ["opt_out"]}, "ts": "2026-04-30T00:00:00.000000Z", "actor": "worker"}
    report = build_examiner_report([*entries, extra], **report_args())
    (revised,) = [p for p in report.privacy if p.stream.startswith("revised_notice:")]
    assert revised.items == [] and revised.entries == 1
    assert report.steps[-1].sentence == "noticeflow recorded revised notice: diffed."


def test_a_notice_shared_by_two_laws_says_which_laws_it_satisfies() -> None:
    """Issue 12: where an insurance act and a general breach law both owe the same residents one
    notice, the report says which laws that notice satisfies (the obligation's ``opened`` entry)."""
    entries = synthetic_entries()
    laws = ["TN: Tenn. Code Ann. § 56-2-1006(c)", "TN: a general breach law"]
    for entry in entries:
        if entry["type"] == "consumer_notice.opened" and entry["data"]["obligation_id"] == TN_CONS:
            entry["data"]["laws_satisfied"] = laws
    report = build_examiner_report(entries, **report_args())
    assert _row(report, TN_CONS).laws_satisfied == laws
    assert _row(report, TN_CN).laws_satisfied == []  # entries before the field: nothing claimed
    html = render_examiner_report(report)
    assert "this notice satisfies: TN: Tenn. Code Ann. § 56-2-1006(c); TN: a general breach law" in html
