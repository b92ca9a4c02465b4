"""``Idempotency-Key`` on the API's POSTs: a retried request is answered once, never executed twice.

The store against real SQLite and a real PostgreSQL server; the API over ASGI against the
time-skipping Temporal server with a real worker (ledger on SQLite, real SMTP).
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import Engine, create_engine, func, select
from sqlmodel import SQLModel
from temporalio.client import Client

from activities import db
from activities.roster import RosterRow
from activities.tracking import RegulatorSubmissionRow
from api.app import create_app
from api.idempotency import TABLE, IdempotencyStore, Outcome
from noticeflow.devstack import free_port
from noticeflow.settings import Settings
from api.access import Role
from tests.api.conftest import SampleEvent, bearer, issue_key
from tests.api.helpers import ROSTER_CSV, ROSTER_PII, wait_for_state
from tests.api.test_auth_and_availability import ALICE, BOB

SHA_A, SHA_B = "a" * 64, "b" * 64
FINDING = {
    "kind": "tpsp_investigation_confirmed",
    "summary": "The vendor's forensic report confirms access to the claims-imaging server from Nov 18 to 22.",
    "report_items": ["B", "C"],
}


# -- the store, on SQLite and PostgreSQL ------------------------------------------------------------


@pytest.fixture
def store_engine(db_url: str) -> Iterator[Engine]:
    engine = db.open_engine(db_url)
    try:
        yield engine
    finally:
        engine.dispose()


def test_the_key_table_registers_in_the_metadata_the_other_tables_use() -> None:
    assert SQLModel.metadata.tables["api_idempotency_keys"] is TABLE
    assert {c.name for c in TABLE.primary_key.columns} == {"scope", "key"}
    assert {
        "key", "scope", "request_sha256", "status", "response_status", "response_body", "created_at", "expires_at",
        "update_id",
    } <= set(TABLE.c.keys())  # fmt: skip


def test_of_concurrent_claims_of_one_key_exactly_one_runs(store_engine: Engine) -> None:
    store = IdempotencyStore(store_engine, ttl=timedelta(hours=24))
    barrier = threading.Barrier(8)
    outcomes: list[Outcome] = []
    lock = threading.Lock()

    def claim() -> None:
        barrier.wait()
        result = store.claim("local POST /incidents/I-1/findings", "k-1", SHA_A)
        with lock:
            outcomes.append(result.outcome)

    threads = [threading.Thread(target=claim) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == sorted([Outcome.CLAIMED] + [Outcome.IN_FLIGHT] * 7)


def test_a_completed_key_replays_its_answer_and_refuses_another_request(store_engine: Engine) -> None:
    store = IdempotencyStore(store_engine, ttl=timedelta(hours=24))
    scope = "local POST /incidents/I-1/findings"
    first = store.claim(scope, "k-1", SHA_A)
    assert first.outcome is Outcome.CLAIMED
    assert store.complete(scope, "k-1", first.created_at, 200, '{"stage":"notifying"}', {"content-type": "application/json"})

    replay = store.claim(scope, "k-1", SHA_A)
    assert (replay.outcome, replay.response_status, replay.response_body) == (Outcome.REPLAY, 200, '{"stage":"notifying"}')
    assert replay.response_headers == {"content-type": "application/json"}
    assert store.claim(scope, "k-1", SHA_B).outcome is Outcome.MISMATCH
    # Another caller, or another route, with the same key is another request.
    assert store.claim("alice POST /incidents/I-1/findings", "k-1", SHA_B).outcome is Outcome.CLAIMED
    assert store.claim("local POST /incidents/I-1/close", "k-1", SHA_B).outcome is Outcome.CLAIMED


def test_a_released_key_runs_again_reusing_the_update_only_when_the_step_may_have_been_taken(store_engine: Engine) -> None:
    store = IdempotencyStore(store_engine, ttl=timedelta(hours=24))
    start = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
    first = store.claim("s", "k", SHA_A, now=start)
    assert first.outcome is Outcome.CLAIMED and first.update_id

    # 504: the worker did not answer in time; the step may have been taken. The retry runs, under
    # the same update id, so Temporal hands back the step already taken.
    store.release("s", "k", first.created_at, 504)
    retry = store.claim("s", "k", SHA_A, now=start + timedelta(seconds=40))
    assert (retry.outcome, retry.update_id) == (Outcome.CLAIMED, first.update_id)
    # The same after a request that ended without an answer.
    store.release("s", "k", retry.created_at, None)
    again = store.claim("s", "k", SHA_A, now=start + timedelta(seconds=50))
    assert (again.outcome, again.update_id) == (Outcome.CLAIMED, first.update_id)

    # 500: the step failed (an activity it needed); the retry is a new update, or it would be
    # handed the same failure.
    store.release("s", "k", again.created_at, 500)
    fresh = store.claim("s", "k", SHA_A, now=start + timedelta(seconds=60))
    assert fresh.outcome is Outcome.CLAIMED and fresh.update_id not in (None, first.update_id)

    # A released key may be used for another request: its first one was never answered.
    store.release("s", "k", fresh.created_at, 503)
    other = store.claim("s", "k", SHA_B, now=start + timedelta(seconds=70))
    assert other.outcome is Outcome.CLAIMED and other.update_id != fresh.update_id


def test_an_expired_or_abandoned_key_is_claimed_anew_and_expired_keys_are_purged(store_engine: Engine) -> None:
    store = IdempotencyStore(store_engine, ttl=timedelta(hours=24), lease=timedelta(minutes=10))
    start = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
    done = store.claim("s", "done", SHA_A, now=start)
    assert store.complete("s", "done", done.created_at, 201, "{}", {})
    store.claim("s", "stuck", SHA_A, now=start)

    # Within the lease and the retention: the in-flight key is still taken, the answer replayed.
    assert store.claim("s", "stuck", SHA_A, now=start + timedelta(minutes=9)).outcome is Outcome.IN_FLIGHT
    assert store.claim("s", "done", SHA_A, now=start + timedelta(hours=23)).outcome is Outcome.REPLAY
    # The process that claimed "stuck" died: after the lease a retry runs (its step may have been
    # taken: under the same update id).
    stuck = store.claim("s", "stuck", SHA_A, now=start + timedelta(minutes=11))
    assert stuck.outcome is Outcome.CLAIMED
    # After the retention the key is free again, even for another request.
    assert store.claim("s", "done", SHA_B, now=start + timedelta(hours=25)).outcome is Outcome.CLAIMED

    store.claim("s", "old", SHA_A, now=start)
    assert store.purge_expired(start + timedelta(hours=24, minutes=1)) == 1
    with db.read(store_engine) as conn:
        assert sorted(conn.execute(select(TABLE.c.key)).scalars()) == ["done", "stuck"]


# -- the API ------------------------------------------------------------------------------------------


def _key() -> dict[str, str]:
    return {"Idempotency-Key": str(uuid.uuid4())}


async def _determined(api: httpx.AsyncClient, sample: SampleEvent) -> dict[str, Any]:
    started = await api.post("/v1/incidents", json=sample.start_body())
    assert started.status_code == 201, started.text
    decided = await api.post(
        f"/v1/incidents/{sample.incident_id}/determination",
        json={"is_cybersecurity_event": True, "reason": "Claim images with SSNs and health information were exfiltrated."},
    )
    assert decided.status_code == 200, decided.text
    state: dict[str, Any] = decided.json()
    return state


async def _entries(api: httpx.AsyncClient, incident_id: str, kind: str) -> list[dict[str, Any]]:
    entries = (await api.get(f"/v1/incidents/{incident_id}/ledger", params={"limit": 5000})).json()["entries"]
    return [e for e in entries if e["type"] == kind]


def _commissioner(state: dict[str, Any]) -> list[dict[str, Any]]:
    return [o for o in state["obligations"] if o["obligation"]["kind"] == "commissioner_notice"]


def _submissions(settings: Settings, obligation_ids: list[str]) -> dict[str, int]:
    engine = create_engine(settings.resolved_db_url())
    try:
        with engine.connect() as conn:
            table = RegulatorSubmissionRow.__table__  # type: ignore[attr-defined]
            rows = conn.execute(
                select(table.c.obligation_id, func.count()).where(table.c.obligation_id.in_(obligation_ids)).group_by(table.c.obligation_id)
            ).all()
    finally:
        engine.dispose()
    return {r[0]: r[1] for r in rows}


async def test_five_concurrent_identical_findings_under_one_key_record_one_finding_and_file_one_update_per_state(
    api: httpx.AsyncClient, sample: SampleEvent, api_settings: Settings
) -> None:
    await _determined(api, sample)
    path = f"/v1/incidents/{sample.incident_id}/findings"
    headers = _key()

    responses = await asyncio.gather(*(api.post(path, json=FINDING, headers=headers) for _ in range(5)))

    executed = [r for r in responses if r.status_code == 200 and "idempotency-replayed" not in r.headers]
    assert len(executed) == 1, [(r.status_code, dict(r.headers)) for r in responses]
    for other in responses:
        if other is executed[0]:
            continue
        assert other.status_code in (200, 409), other.text
        if other.status_code == 200:
            assert other.headers["idempotency-replayed"] == "true"
            assert other.content == executed[0].content
        else:
            assert "still being processed" in other.json()["detail"]
    # A retry after the answer is its replay.
    again = await api.post(path, json=FINDING, headers=headers)
    assert (again.status_code, again.headers["idempotency-replayed"]) == (200, "true")
    assert again.content == executed[0].content

    assert len(await _entries(api, sample.incident_id, "incident.finding_recorded")) == 1
    # One material update per commissioner: the initial report (v1) and one updated report (v2).
    state = await wait_for_state(
        api, sample.incident_id, lambda s: all(o["status"] == "met" and o["updates_sent"] >= 1 for o in _commissioner(s)),
        timeout=180,
    )
    await asyncio.sleep(1.0)  # room for a duplicate filing to show
    state = (await api.get(f"/v1/incidents/{sample.incident_id}")).json()
    commissioners = _commissioner(state)
    assert commissioners and all(o["updates_sent"] == 1 for o in commissioners), [
        (o["obligation"]["jurisdiction"], o["status"], o["updates_sent"]) for o in commissioners
    ]
    ids = [o["obligation"]["obligation_id"] for o in commissioners if not o["obligation"].get("delivered_with")]
    filed = _submissions(api_settings, ids)
    assert filed and set(filed.values()) == {2}, filed


async def test_the_same_key_with_another_body_is_422_naming_the_header_and_records_nothing(
    api: httpx.AsyncClient, sample: SampleEvent
) -> None:
    started = await api.post("/v1/incidents", json=sample.start_body())
    assert started.status_code == 201, started.text
    path = f"/v1/incidents/{sample.incident_id}/findings"
    headers = _key()
    first = await api.post(path, json=FINDING, headers=headers)
    assert first.status_code == 200, first.text

    other = await api.post(path, json={**FINDING, "summary": "Another finding altogether."}, headers=headers)
    assert other.status_code == 422
    body = other.json()
    assert [e["field"] for e in body["errors"]] == ["Idempotency-Key"]
    assert body["errors"][0]["type"] == "idempotency_key_reused"
    assert "Idempotency-Key" in body["detail"]
    assert len(await _entries(api, sample.incident_id, "incident.finding_recorded")) == 1


async def test_a_replayed_start_gives_the_first_answer_with_its_location_not_incident_exists(
    api: httpx.AsyncClient, sample: SampleEvent
) -> None:
    headers = _key()
    first = await api.post("/v1/incidents", json=sample.start_body(), headers=headers)
    assert first.status_code == 201, first.text
    assert "idempotency-replayed" not in first.headers

    again = await api.post("/v1/incidents", json=sample.start_body(), headers=headers)
    assert again.status_code == 201
    assert again.headers["idempotency-replayed"] == "true"
    assert again.headers["location"] == f"/v1/incidents/{sample.incident_id}"
    assert again.headers["content-type"] == "application/json"
    assert again.content == first.content
    # Without the key the same start is what it always was: the id is used once.
    assert (await api.post("/v1/incidents", json=sample.start_body())).status_code == 409


async def test_a_refusal_is_kept_and_replayed(api: httpx.AsyncClient, sample: SampleEvent) -> None:
    assert (await api.post("/v1/incidents", json=sample.start_body())).status_code == 201
    path = f"/v1/incidents/{sample.incident_id}/consumer-notice/approve"
    headers = _key()
    early = await api.post(path, json={}, headers=headers)
    assert early.status_code == 409, early.text
    replay = await api.post(path, json={}, headers=headers)
    assert (replay.status_code, replay.headers["idempotency-replayed"]) == (409, "true")
    assert replay.content == early.content


async def test_a_roster_upload_retried_under_its_key_stores_one_roster_and_keeps_only_counts(
    api: httpx.AsyncClient, sample: SampleEvent, api_settings: Settings
) -> None:
    await _determined(api, sample)
    path = f"/v1/incidents/{sample.incident_id}/roster"
    headers = {**_key(), "Content-Type": "text/csv"}
    first = await api.post(path, content=ROSTER_CSV, headers=headers)
    assert first.status_code == 201, first.text
    again = await api.post(path, content=ROSTER_CSV, headers=headers)
    assert (again.status_code, again.headers["idempotency-replayed"]) == (201, "true")
    assert again.json() == first.json()

    engine = create_engine(api_settings.resolved_db_url())
    try:
        with engine.connect() as conn:
            rosters = conn.execute(select(RosterRow.__table__.c.roster_id)).scalars().all()  # type: ignore[attr-defined]
            kept = conn.execute(select(TABLE.c.response_body)).scalars().all()
    finally:
        engine.dispose()
    assert [r for r in rosters if r.startswith(sample.incident_id)] == [f"{sample.incident_id}-r1"]
    assert len(await _entries(api, sample.incident_id, "incident.roster_attached")) == 1
    stored = "".join(b or "" for b in kept)
    assert '"total":6' in stored
    assert not [pii for pii in ROSTER_PII if pii in stored]


async def test_a_malformed_key_is_422_naming_the_header(api: httpx.AsyncClient, sample: SampleEvent) -> None:
    response = await api.post("/v1/incidents", json=sample.start_body(), headers={"Idempotency-Key": "two words"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "Idempotency-Key"
    assert (await api.get(f"/v1/incidents/{sample.incident_id}")).status_code == 404


@pytest_asyncio.fixture
async def secured(client: Client, api_settings: Settings, worker: None) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(api_settings, client=client, step_timeout=60)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1", timeout=120) as http:
        yield http


async def test_two_callers_with_the_same_key_do_not_collide(
    secured: httpx.AsyncClient, api_settings: Settings, sample: SampleEvent
) -> None:
    alice = bearer(issue_key(api_settings, ALICE, {Role.INTAKE}))
    bob = bearer(issue_key(api_settings, BOB, {Role.INTAKE}))
    assert (await secured.post("/v1/incidents", json=sample.start_body(), headers=alice)).status_code == 201
    path = f"/v1/incidents/{sample.incident_id}/findings"
    key = {"Idempotency-Key": "shared-key-1"}
    by_alice = await secured.post(path, json=FINDING, headers={**alice, **key})
    by_bob = await secured.post(path, json={**FINDING, "summary": "Bob's own finding."}, headers={**bob, **key})
    assert (by_alice.status_code, by_bob.status_code) == (200, 200), by_bob.text
    assert "idempotency-replayed" not in by_bob.headers
    assert [f["recorded_by"] for f in by_bob.json()["findings"]] == [f"key:{ALICE}", f"key:{BOB}"]


async def test_a_5xx_releases_the_key_so_the_retry_runs(api_settings: Settings, tester_token: str) -> None:
    settings = api_settings.model_copy(update={"temporal_address": f"127.0.0.1:{free_port()}"})
    app = create_app(settings)
    headers = {**_key(), **bearer(tester_token)}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1", timeout=60) as http:
        first = await http.post("/v1/incidents/INC-ANY/findings", json=FINDING, headers=headers)
        assert first.status_code == 503
        # Released: the same key is not bound to the first body (no 422), and runs again (503 again).
        other = await http.post("/v1/incidents/INC-ANY/findings", json={**FINDING, "summary": "x"}, headers=headers)
        assert other.status_code == 503
        assert "idempotency-replayed" not in other.headers
    engine = create_engine(api_settings.resolved_db_url())
    try:
        with engine.connect() as conn:
            rows = conn.execute(select(TABLE.c.status, TABLE.c.response_status, TABLE.c.response_body)).all()
    finally:
        engine.dispose()
    assert [tuple(r) for r in rows] == [("released", 503, None)]


async def test_every_post_documents_the_idempotency_key(api_settings: Settings) -> None:
    schema = create_app(api_settings).openapi()
    posts = {path: ops["post"] for path, ops in schema["paths"].items() if "post" in ops}
    assert len(posts) >= 15
    for path, operation in posts.items():
        assert "Idempotency-Key" in [p["name"] for p in operation.get("parameters", [])], path


async def test_a_retry_after_a_504_attaches_to_the_step_already_taken_not_a_second_one(
    client: Client, api_settings: Settings, worker: None, sample: SampleEvent, tmp_path: Path, tester_token: str
) -> None:
    impatient = create_app(api_settings, client=client, step_timeout=1)
    patient = create_app(api_settings, client=client, step_timeout=60)
    # The keys in a database of their own, so that the test can hold the ledger's write lock (the
    # worker's ledger entry waits, the API gives up: 504) while the keys stay writable.
    keys = db.open_engine(f"sqlite:///{tmp_path / 'keys.db'}")
    store = IdempotencyStore(keys, ttl=timedelta(hours=24))
    impatient.state.noticeflow._idempotency = patient.state.noticeflow._idempotency = store
    headers = _key()
    path = f"/v1/incidents/{sample.incident_id}/findings"
    try:
        async with (
            httpx.AsyncClient(transport=httpx.ASGITransport(app=impatient), base_url="http://127.0.0.1", timeout=60,
                              headers=bearer(tester_token)) as first,
            httpx.AsyncClient(transport=httpx.ASGITransport(app=patient), base_url="http://127.0.0.1", timeout=60,
                              headers=bearer(tester_token)) as second,
        ):
            assert (await second.post("/v1/incidents", json=sample.start_body())).status_code == 201
            lock = sqlite3.connect(api_settings.resolved_db_url().removeprefix("sqlite:///"), isolation_level=None)
            try:
                lock.execute("BEGIN IMMEDIATE")
                timed_out = await first.post(path, json=FINDING, headers=headers)
            finally:
                lock.execute("ROLLBACK")
                lock.close()
            assert timed_out.status_code == 504, timed_out.text
            # The worker takes the step once the ledger is writable again.
            state = await wait_for_state(second, sample.incident_id, lambda s: len(s["findings"]) == 1, timeout=60)
            assert len(state["findings"]) == 1

            retried = await second.post(path, json=FINDING, headers=headers)
            assert retried.status_code == 200, retried.text
            assert "idempotency-replayed" not in retried.headers  # Temporal's answer: the step already taken
            assert len(retried.json()["findings"]) == 1
            assert len(await _entries(second, sample.incident_id, "incident.finding_recorded")) == 1
            # Its answer is kept now: a further retry is a replay.
            replay = await second.post(path, json=FINDING, headers=headers)
            assert (replay.status_code, replay.headers["idempotency-replayed"]) == (200, "true")
    finally:
        keys.dispose()
