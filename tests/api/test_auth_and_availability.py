"""Who may call the API and in whose name steps are recorded; what a caller sees when Temporal
is down."""

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
from tests.api.conftest import SampleEvent, end_incidents


ALICE, BOB = "tok-alice-7f3a91c2", "tok-bob-0b44e6d1"
TOKENS = {ALICE: "alice.reyes@cumberland.example", BOB: "bob.tran@cumberland.example"}


@pytest_asyncio.fixture
async def secured(client: Client, api_settings: Settings, worker: None) -> AsyncIterator[httpx.AsyncClient]:
    settings = api_settings.model_copy(update={"api_tokens": TOKENS})
    app = create_app(settings, client=client)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1") as http:
        yield http


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_with_tokens_configured_a_request_without_one_is_401(secured: httpx.AsyncClient) -> None:
    response = await secured.get("/incidents/INC-ANY")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json()["detail"] == "a bearer token is required: send 'Authorization: Bearer <token>'"


async def test_an_unknown_token_is_401(secured: httpx.AsyncClient) -> None:
    response = await secured.get("/incidents/INC-ANY", headers=_bearer("tok-mallory"))
    assert response.status_code == 401
    assert response.json()["detail"] == "this token is not valid for the incident API"
    basic = await secured.get("/incidents/INC-ANY", headers={"Authorization": "Basic YWxpY2U6eA=="})
    assert basic.status_code == 401


async def test_authentication_comes_before_validation(secured: httpx.AsyncClient) -> None:
    response = await secured.post("/incidents", json={"intake": {}})
    assert response.status_code == 401


async def test_each_step_is_recorded_in_the_name_of_the_token_holder(secured: httpx.AsyncClient, sample: SampleEvent) -> None:
    base = f"/incidents/{sample.incident_id}"
    started = await secured.post("/incidents", json=sample.start_body(), headers=_bearer(ALICE))
    assert started.status_code == 201, started.text
    finding = await secured.post(
        f"{base}/findings",
        json={"kind": "nature_and_scope", "summary": "Claims-imaging server accessed.", "report_items": ["A"]},
        headers=_bearer(BOB),
    )
    assert finding.status_code == 200, finding.text
    assert finding.json()["findings"][0]["recorded_by"] == TOKENS[BOB]
    entries = (await secured.get(f"{base}/ledger", headers=_bearer(ALICE))).json()["entries"]
    actors = {e["type"]: e["actor"] for e in entries}
    assert actors["incident.intake_recorded"] == f"user:{TOKENS[ALICE]}"
    assert actors["incident.finding_recorded"] == f"user:{TOKENS[BOB]}"


async def test_a_body_naming_someone_else_as_actor_is_403_and_records_nothing(
    secured: httpx.AsyncClient, sample: SampleEvent
) -> None:
    base = f"/incidents/{sample.incident_id}"
    assert (await secured.post("/incidents", json=sample.start_body(), headers=_bearer(ALICE))).status_code == 201
    forged = await secured.post(
        f"{base}/determination",
        json={"is_cybersecurity_event": True, "reason": "NPI exfiltrated.", "decided_by": TOKENS[BOB]},
        headers=_bearer(ALICE),
    )
    assert forged.status_code == 403
    assert forged.json()["detail"].startswith(f"decided_by is {TOKENS[BOB]!r} but the request is authenticated as")
    state = (await secured.get(base, headers=_bearer(ALICE))).json()
    assert state["stage"] == "investigation"

    own = await secured.post(
        f"{base}/determination",
        json={"is_cybersecurity_event": True, "reason": "NPI exfiltrated.", "decided_by": TOKENS[ALICE]},
        headers=_bearer(ALICE),
    )
    assert own.status_code == 200, own.text
    assert own.json()["determination"]["decided_by"] == TOKENS[ALICE]


async def test_without_tokens_a_caller_from_another_host_is_401(client: Client, api_settings: Settings) -> None:
    app = create_app(api_settings, client=client)
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 51000))
    async with httpx.AsyncClient(transport=transport, base_url="http://198.51.100.4") as http:
        response = await http.get("/incidents/INC-ANY")
    assert response.status_code == 401
    assert "NOTICEFLOW_API_TOKENS" in response.json()["detail"]


async def test_without_tokens_an_api_bound_beyond_loopback_refuses_everyone(client: Client, api_settings: Settings) -> None:
    app = create_app(api_settings.model_copy(update={"api_host": "0.0.0.0"}), client=client)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1") as http:
        response = await http.get("/incidents/INC-ANY")
    assert response.status_code == 401


# -- Temporal unreachable ---------------------------------------------------------------------------


@pytest_asyncio.fixture
async def no_temporal(api_settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    settings = api_settings.model_copy(update={"temporal_address": f"127.0.0.1:{free_port()}"})
    app = create_app(settings)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1", timeout=60) as http:
        yield http


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/incidents/INC-ANY"), ("POST", "/incidents/INC-ANY/findings"), ("GET", "/healthz")],
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
    response = await no_temporal.post("/incidents", json=sample.start_body())
    assert response.status_code == 503
    assert "Nothing was recorded" in response.json()["detail"]


async def test_health_answers_with_temporal_reachable(client: Client, api_settings: Settings) -> None:
    app = create_app(api_settings, client=client)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1") as http:
        response = await http.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "temporal": "reachable"}


async def test_without_a_worker_a_start_is_accepted_and_a_state_query_times_out(
    client: Client, api_settings: Settings, sample: SampleEvent, incidents: list[str]
) -> None:
    app = create_app(api_settings, client=client)  # no worker polls this test's task queue
    app.state.noticeflow.gateway.start_wait = 1.0
    app.state.noticeflow.gateway.query_timeout = 1.0
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1", timeout=30) as http:
            started = await http.post("/incidents", json=sample.start_body())
            assert started.status_code == 202, started.text
            assert started.headers["location"] == f"/incidents/{sample.incident_id}"
            assert started.json()["workflow_id"] == f"incident-{sample.incident_id}"
            state = await http.get(f"/incidents/{sample.incident_id}")
            assert state.status_code == 504, state.text
            assert "is a noticeflow worker running on task queue" in state.json()["detail"]
            again = await http.post("/incidents", json=sample.start_body())
            assert again.status_code == 409
    finally:
        await end_incidents(client, incidents)
