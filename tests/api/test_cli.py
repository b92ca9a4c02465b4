"""``noticeflow incident …`` as a user runs it: a separate process speaking HTTP to a live API
(uvicorn on a free loopback port) in front of the time-skipping server and a real worker."""

from __future__ import annotations

import asyncio
import contextlib
import csv
import io
import json
import os
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
import uvicorn
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from ledger.export import verify_bundle
from noticeflow.devstack import free_port
from noticeflow.sample_event import sample_findings, sample_roster, scale_intake
from noticeflow.settings import Settings
from api.access import Role
from tests.api.conftest import EXAMPLE_RESPONDERS, TESTER_ACTOR, SampleEvent, bearer, issue_key
from tests.api.helpers import ROSTER_CSV, all_resolved, obligation_id, review_flagged, settle, wait_for_state


#: The event's owner and backup, as `incident start --responders` takes them.
RESPONDERS = str(EXAMPLE_RESPONDERS)


class _QuietServer(uvicorn.Server):
    """uvicorn inside the test's event loop, leaving SIGINT/SIGTERM to pytest."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@contextlib.asynccontextmanager
async def _serve(settings: Settings, client: Client, env: WorkflowEnvironment) -> AsyncIterator[str]:
    port = free_port()
    app = create_app(settings, client=client, step_timeout=60, clock=env.get_current_time)
    server = _QuietServer(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=False))
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


@pytest_asyncio.fixture
async def live_api(env: WorkflowEnvironment, client: Client, api_settings: Settings, worker: None) -> AsyncIterator[str]:
    async with _serve(api_settings, client, env) as url:
        yield url


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


async def noticeflow(*args: str, cwd: Path, env: dict[str, str] | None = None) -> Result:
    """Run ``noticeflow ARGS`` in its own process, with no NOTICEFLOW_* settings of the host."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("NOTICEFLOW_")}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "noticeflow.cli", *args,
        cwd=cwd, env={**clean, "NOTICEFLOW_LOG_JSON": "false", **(env or {})},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode is not None
    return Result(process.returncode, out.decode(), err.decode())


def _write_inputs(tmp_path: Path, sample: SampleEvent) -> tuple[Path, Path, Path]:
    event = tmp_path / "event.json"
    event.write_text(json.dumps(sample.intake))
    notices = tmp_path / "notices.json"
    notices.write_text(json.dumps(sample.notices))
    roster = tmp_path / "consumers.csv"
    roster.write_text(ROSTER_CSV)
    return event, notices, roster


async def test_cli_walks_an_event_from_start_to_export(
    live_api: str, sample: SampleEvent, tmp_path: Path, env: WorkflowEnvironment, tester_token: str
) -> None:
    # The sample event at 1/100 of its size, with a roster that agrees with its figures.
    sample.intake = scale_intake(sample.intake, 0.01)
    event, notices, roster_file = _write_inputs(tmp_path, sample)
    roster_file.write_bytes(sample_roster(sample.intake))
    people = list(csv.DictReader(io.StringIO(roster_file.read_text())))
    incident = sample.incident_id
    api = ("--api", live_api, "--token", tester_token)

    started = await noticeflow(
        "incident", "start", str(event), "--notices", str(notices), "--responders", RESPONDERS, *api, cwd=tmp_path
    )
    assert started.code == 0, started.stderr
    assert started.json()["stage"] == "investigation"

    findings = sample_findings(sample.intake)
    first, review = findings[0], next(f for f in findings if f["kind"] == "internal_review")
    found = await noticeflow(
        "incident", "finding", incident, "--kind", first["kind"], "--summary", first["summary"],
        *[a for i in first["report_items"] for a in ("--item", i)], *api, cwd=tmp_path,
    )  # fmt: skip
    assert found.code == 0, found.stderr
    assert found.json()["findings"][0]["report_items"] == first["report_items"]
    sealed = await noticeflow(
        "incident", "finding", incident, "--kind", "internal_review", "--summary", review["summary"], "--item", "J",
        "--report-statement", review["report_statement"], *api, cwd=tmp_path,
    )  # fmt: skip
    assert sealed.code == 0, sealed.stderr
    assert sealed.json()["findings"][1]["privileged"] is True
    async with httpx.AsyncClient(base_url=live_api, timeout=60, headers=bearer(tester_token)) as http:
        for body in findings:
            if body not in (first, review):
                assert (await http.post(f"/v1/incidents/{incident}/findings", json=body)).status_code == 200

    decided = await noticeflow(
        "incident", "determine", incident, "--event", "--reason", "SSNs and claim images exfiltrated.", *api, cwd=tmp_path
    )
    assert decided.code == 0, decided.stderr
    state = decided.json()
    assert state["stage"] == "notifying"

    amended = await noticeflow("incident", "amend", incident, "--summary", "Vendor confirmed the server was rebuilt.", *api, cwd=tmp_path)
    assert amended.code == 0, amended.stderr
    assert amended.json()["amendments"] == 1

    uploaded = await noticeflow("incident", "roster", incident, str(roster_file), *api, cwd=tmp_path)
    assert uploaded.code == 0, uploaded.stderr
    assert uploaded.json()["total"] == len(people)
    assert not [p for p in people if p["name"] in uploaded.stdout + uploaded.stderr]

    evidence = tmp_path / "de-mailing-proof.pdf"
    evidence.write_bytes(b"%PDF-1.4 proof of mailing, batch 2025-118")
    completed = await noticeflow(
        "incident", "complete", incident, obligation_id(state, "consumer_notice", "DE"),
        "--evidence", "Letters mailed by the print vendor, batch 2025-118.", "--evidence-file", str(evidence),
        *api, cwd=tmp_path,
    )  # fmt: skip
    assert completed.code == 0, completed.stderr

    approved = await noticeflow("incident", "approve", incident, "--state", "TN", "--state", "KY", "--state", "MO", *api, cwd=tmp_path)
    assert approved.code == 0, approved.stderr

    async with httpx.AsyncClient(base_url=live_api, timeout=60, headers=bearer(tester_token)) as http:
        state = await settle(http, env, incident)
        assert all_resolved(state)
        pending = state["counsel_reviews_pending"]
        assert pending
        reviewed = await noticeflow(
            "incident", "counsel-review", incident, pending[0], "--decision", "confirmed",
            "--notes", "The clock applied matches the statute as enacted.", *api, cwd=tmp_path,
        )  # fmt: skip
        assert reviewed.code == 0, reviewed.stderr
        await review_flagged(http, incident, reviewed.json())

    obligations = await noticeflow("incident", "obligations", incident, *api, cwd=tmp_path)
    assert obligations.code == 0
    assert {o["status"] for o in obligations.json()} <= {"met", "excused"}

    closed = await noticeflow("incident", "close", incident, "--summary", "All notices given.", *api, cwd=tmp_path)
    assert closed.code == 0, closed.stderr
    async with httpx.AsyncClient(base_url=live_api, headers=bearer(tester_token)) as http:
        await wait_for_state(http, incident, lambda s: s["stage"] == "closed")
    shown = await noticeflow("incident", "show", incident, *api, cwd=tmp_path)
    assert shown.json()["stage"] == "closed"

    ledger = await noticeflow("incident", "ledger", incident, "--limit", "5000", *api, cwd=tmp_path)
    entries = ledger.json()["entries"]
    (manual,) = [e for e in entries if e["type"] == "consumer_notice.met" and e["data"].get("manual")]
    assert manual["actor"] == TESTER_ACTOR
    assert len(manual["data"]["evidence_sha256"]) == 64
    assert review["summary"] not in ledger.stdout  # the privileged review is sealed, not ledgered

    exported = await noticeflow("incident", "export", incident, *api, cwd=tmp_path)
    assert exported.code == 0, exported.stderr
    assert exported.json()["entries"] == len(entries)
    assert verify_bundle(Path(exported.json()["path"])).ok


async def test_cli_assigns_responders_reconciles_a_state_and_records_counsel_review(
    live_api: str, sample: SampleEvent, tmp_path: Path, tester_token: str
) -> None:
    event, notices, _ = _write_inputs(tmp_path, sample)
    incident = sample.incident_id
    api = ("--api", live_api, "--token", tester_token)
    start = ("incident", "start", str(event), "--notices", str(notices), "--responders", RESPONDERS, *api)
    assert (await noticeflow(*start, cwd=tmp_path)).code == 0
    decided = await noticeflow("incident", "determine", incident, "--event", "--reason", "SSNs exfiltrated.", *api, cwd=tmp_path)
    assert decided.code == 0, decided.stderr

    assigned = await noticeflow(
        "incident", "responders", incident, "--owner", "marcus.lee,Marcus Lee,marcus.lee@cumberland.example",
        "--backup", "priya.nair,Priya Nair,priya.nair@cumberland.example", "--reason", "Dana is on leave.", *api, cwd=tmp_path,
    )  # fmt: skip
    assert assigned.code == 0, assigned.stderr
    assert assigned.json()["responders"]["backup"]["responder_id"] == "priya.nair"
    malformed = await noticeflow("incident", "responders", incident, "--owner", "marcus.lee", "--reason", "x", *api, cwd=tmp_path)
    assert malformed.code == 2
    assert "USER_ID,NAME,EMAIL" in malformed.stderr

    tn = next(a for a in sample.intake["affected"] if a["state"] == "TN")
    reconciled = await noticeflow(
        "incident", "reconcile", incident, "--state", "TN", "--consumers", str(tn["consumers"] - 10),
        "--reason", "Duplicates across policies removed from the index count.", *api, cwd=tmp_path,
    )  # fmt: skip
    assert reconciled.code == 0, reconciled.stderr

    flagged = [o["obligation"]["obligation_id"] for o in decided.json()["obligations"] if o["obligation"]["needs_counsel_review"]]
    assert flagged
    notes = tmp_path / "counsel-note.txt"
    notes.write_text("The conservative 72-hour clock stands for this state.")
    no_notes = await noticeflow("incident", "counsel-review", incident, flagged[0], "--decision", "confirmed", *api, cwd=tmp_path)
    assert no_notes.code == 2
    reviewed = await noticeflow(
        "incident", "counsel-review", incident, flagged[0], "--decision", "confirmed", "--notes-file", str(notes), *api,
        cwd=tmp_path,
    )  # fmt: skip
    assert reviewed.code == 0, reviewed.stderr
    assert reviewed.json()["counsel_reviews"] == {flagged[0]: "confirmed"}
    again = await noticeflow(
        "incident", "counsel-review", incident, flagged[0], "--decision", "changed", "--notes", "Second thoughts.", *api,
        cwd=tmp_path,
    )  # fmt: skip
    assert (again.code, again.stderr.startswith("error: 409 ")) == (1, True)

    marked = await noticeflow(
        "incident", "not-applicable", incident, "--item", "D", "--reason", "Nothing was lost that could be recovered.", *api,
        cwd=tmp_path,
    )  # fmt: skip
    assert marked.code == 0, marked.stderr

    entries = (await noticeflow("incident", "ledger", incident, *api, cwd=tmp_path)).json()["entries"]
    types = {e["type"] for e in entries}
    assert {
        "incident.responders_assigned", "consumer_notice.estimate_revised", "incident.counsel_review_recorded",
        "incident.report_item_not_applicable",
    } <= types  # fmt: skip
    assert "conservative 72-hour clock" not in json.dumps(entries)


async def test_cli_exits_non_zero_with_the_apis_message(
    live_api: str, sample: SampleEvent, tmp_path: Path, tester_token: str
) -> None:
    event, notices, _ = _write_inputs(tmp_path, sample)
    api = ("--api", live_api, "--token", tester_token)
    start = ("incident", "start", str(event), "--notices", str(notices), "--responders", RESPONDERS, *api)
    assert (await noticeflow(*start, cwd=tmp_path)).code == 0

    early = await noticeflow("incident", "approve", sample.incident_id, *api, cwd=tmp_path)
    assert early.code == 1
    assert early.stdout == ""
    assert early.stderr.startswith("error: 409 a consumer notice cannot be sent before the determination")
    assert "(Tenn. Code Ann. § 56-2-" in early.stderr  # the rule's citation, from the typed refusal

    unknown = await noticeflow("incident", "show", "INC-NONE", *api, cwd=tmp_path)
    assert (unknown.code, unknown.stderr.strip()) == (1, "error: 404 no incident 'INC-NONE': start it with POST /v1/incidents")

    bad = json.loads(event.read_text())
    bad["affected"][0]["state"] = "XX"
    event.write_text(json.dumps(bad))
    invalid = await noticeflow(*start, cwd=tmp_path)
    assert invalid.code == 1
    assert "error: 422 intake.affected[0].state: 'XX' is not a US state" in invalid.stderr


async def test_cli_says_when_the_api_cannot_be_reached_or_a_file_is_missing(tmp_path: Path) -> None:
    down = await noticeflow("incident", "show", "INC-1", "--api", f"http://127.0.0.1:{free_port()}", cwd=tmp_path)
    assert down.code == 1
    assert "cannot reach the incident API at http://127.0.0.1:" in down.stderr
    missing = await noticeflow(
        "incident", "start", "nope.json", "--notices", "nope.json", "--responders", "nope.json",
        "--api", "http://127.0.0.1:9", cwd=tmp_path,
    )  # fmt: skip
    assert missing.code == 2
    assert "error: event nope.json" in missing.stderr


async def test_cli_acts_as_the_key_holder(
    env: WorkflowEnvironment, client: Client, api_settings: Settings, worker: None, sample: SampleEvent, tmp_path: Path
) -> None:
    event, notices, _ = _write_inputs(tmp_path, sample)
    token = issue_key(api_settings, "c.hale", {Role.INTAKE})
    async with _serve(api_settings, client, env) as url:
        refused = await noticeflow(
            "incident", "start", str(event), "--notices", str(notices), "--responders", RESPONDERS, "--api", url, cwd=tmp_path
        )
        assert refused.code == 1
        assert refused.stderr.startswith("error: 401 ")
        started = await noticeflow(
            "incident", "start", str(event), "--notices", str(notices), "--responders", RESPONDERS, "--api", url,
            cwd=tmp_path, env={"NOTICEFLOW_API_TOKEN": token},
        )  # fmt: skip
        assert started.code == 0, started.stderr
        found = await noticeflow(
            "incident", "finding", sample.incident_id, "--kind", "nature_and_scope", "--summary", "Server accessed.", "--item", "A",
            "--api", url, "--token", token, cwd=tmp_path,
        )  # fmt: skip
        assert found.json()["findings"][0]["recorded_by"] == "key:c.hale"
        determined = await noticeflow(
            "incident", "determine", sample.incident_id, "--event", "--reason", "SSNs exfiltrated.",
            "--api", url, "--token", token, cwd=tmp_path,
        )  # fmt: skip
        assert determined.code == 1
        assert determined.stderr.startswith("error: 403 POST /v1/incidents/{incident_id}/determination is for the roles responder")


@pytest.mark.parametrize(
    ("command", "summary"),
    [("worker", "Run the noticeflow worker (every workflow and activity)"), ("api", "Serve the incident API with uvicorn")],
)
async def test_worker_and_api_commands_are_there(command: str, summary: str, tmp_path: Path) -> None:
    result = await noticeflow(command, "--help", cwd=tmp_path)
    assert result.code == 0, result.stderr
    assert summary in " ".join(result.stdout.split())
