"""In whose name steps are recorded (the caller's key: ``key:<name>``); what a caller sees when
Temporal is down. Who may call what: tests/api/test_access.py and test_apikeys.py."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio
from temporalio.client import Client

from api.app import create_app
from noticeflow.devstack import free_port
from noticeflow.settings import Settings
from api.access import Role
from tests.api.conftest import SampleEvent, bearer, end_incidents, issue_key


ALICE, BOB = "alice.reyes", "bob.tran"


@pytest_asyncio.fixture
async def secured(client: Client, api_settings: Settings, worker: None) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(api_settings, client=client)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1") as http:
        yield http


@pytest.fixture
def tokens(api_settings: Settings) -> dict[str, str]:
    """Alice opens events and runs them; Bob records findings."""
    return {
        ALICE: issue_key(api_settings, ALICE, {Role.INTAKE, Role.RESPONDER}),
        BOB: issue_key(api_settings, BOB, {Role.INTAKE}),
    }


async def test_authentication_comes_before_validation(secured: httpx.AsyncClient) -> None:
    response = await secured.post("/v1/incidents", json={"intake": {}})
    assert response.status_code == 401


async def test_each_step_is_recorded_in_the_name_of_the_key_holder(
    secured: httpx.AsyncClient, sample: SampleEvent, tokens: dict[str, str]
) -> None:
    base = f"/v1/incidents/{sample.incident_id}"
    started = await secured.post("/v1/incidents", json=sample.start_body(), headers=bearer(tokens[ALICE]))
    assert started.status_code == 201, started.text
    finding = await secured.post(
        f"{base}/findings",
        json={"kind": "nature_and_scope", "summary": "Claims-imaging server accessed.", "report_items": ["A"]},
        headers=bearer(tokens[BOB]),
    )
    assert finding.status_code == 200, finding.text
    assert finding.json()["findings"][0]["recorded_by"] == f"key:{BOB}"
    entries = (await secured.get(f"{base}/ledger", headers=bearer(tokens[ALICE]))).json()["entries"]
    actors = {e["type"]: e["actor"] for e in entries}
    assert actors["incident.intake_recorded"] == f"key:{ALICE}"
    assert actors["incident.finding_recorded"] == f"key:{BOB}"


async def test_a_body_naming_someone_else_as_actor_is_403_and_records_nothing(
    secured: httpx.AsyncClient, sample: SampleEvent, tokens: dict[str, str]
) -> None:
    alice = bearer(tokens[ALICE])
    base = f"/v1/incidents/{sample.incident_id}"
    assert (await secured.post("/v1/incidents", json=sample.start_body(), headers=alice)).status_code == 201
    for forged_name in (BOB, f"key:{BOB}", f"user:{ALICE}"):
        forged = await secured.post(
            f"{base}/determination",
            json={"is_cybersecurity_event": True, "reason": "NPI exfiltrated.", "decided_by": forged_name},
            headers=alice,
        )
        assert forged.status_code == 403, forged_name
        assert forged.json()["detail"].startswith(f"decided_by is {forged_name!r} but the request is authenticated as 'key:{ALICE}'")
    state = (await secured.get(base, headers=alice)).json()
    assert state["stage"] == "investigation"

    # The caller's own name, bare or as its actor: recorded as the actor.
    own = await secured.post(
        f"{base}/determination",
        json={"is_cybersecurity_event": True, "reason": "NPI exfiltrated.", "decided_by": ALICE},
        headers=alice,
    )
    assert own.status_code == 200, own.text
    assert own.json()["determination"]["decided_by"] == f"key:{ALICE}"


# -- Temporal unreachable ---------------------------------------------------------------------------


@pytest_asyncio.fixture
async def no_temporal(api_settings: Settings, tester_token: str) -> AsyncIterator[httpx.AsyncClient]:
    settings = api_settings.model_copy(update={"temporal_address": f"127.0.0.1:{free_port()}"})
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1", timeout=60,
                                 headers=bearer(tester_token)) as http:
        yield http


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/v1/incidents/INC-ANY"), ("POST", "/v1/incidents/INC-ANY/findings"), ("GET", "/healthz")],
)
async def test_temporal_unreachable_is_503_saying_so(no_temporal: httpx.AsyncClient, method: str, path: str) -> None:
    body = {"kind": "nature_and_scope", "summary": "x", "report_items": ["A"]} if method == "POST" else None
    began = time.monotonic()
    response = await no_temporal.request(method, path, json=body)
    assert response.status_code == 503
    assert time.monotonic() - began < 30
    detail = response.json().get("detail") or response.json().get("temporal")
    assert "cannot be reached" in detail


async def test_a_start_while_temporal_is_unreachable_is_503(no_temporal: httpx.AsyncClient, sample: SampleEvent) -> None:
    response = await no_temporal.post("/v1/incidents", json=sample.start_body())
    assert response.status_code == 503
    assert "Nothing was recorded" in response.json()["detail"]


async def test_health_answers_with_temporal_reachable(client: Client, api_settings: Settings) -> None:
    app = create_app(api_settings, client=client)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1") as http:
        response = await http.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "temporal": "reachable"}


async def test_without_a_worker_a_start_is_accepted_and_a_state_query_times_out(
    client: Client, api_settings: Settings, sample: SampleEvent, incidents: list[str], tester_token: str
) -> None:
    app = create_app(api_settings, client=client)  # no worker polls this test's task queue
    app.state.noticeflow.gateway.start_wait = 1.0
    app.state.noticeflow.gateway.query_timeout = 1.0
    app.state.noticeflow.gateway.takeover = 1.0
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1", timeout=30,
                                     headers=bearer(tester_token)) as http:
            started = await http.post("/v1/incidents", json=sample.start_body())
            assert started.status_code == 202, started.text
            assert started.headers["location"] == f"/v1/incidents/{sample.incident_id}"
            assert started.json()["workflow_id"] == f"incident-{sample.incident_id}"
            state = await http.get(f"/v1/incidents/{sample.incident_id}")
            assert state.status_code == 504, state.text
            assert "is a noticeflow worker running on task queue" in state.json()["detail"]
            again = await http.post("/v1/incidents", json=sample.start_body())
            assert again.status_code == 409
    finally:
        await end_incidents(client, incidents)
