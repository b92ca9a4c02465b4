"""Fixtures of the incident API tests: the real API app over ASGI, the time-skipping Temporal test
server with a real noticeflow worker (ledger on SQLite, a fresh signing key, a real SMTP server),
named API keys created as an operator creates them, and the sample Tennessee event with its times
moved to the server's now."""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from temporalio.client import Client
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from activities import db
from api.access import Role
from api.app import create_app
from api.apikeys import ApiKeyStore, create_api_key, load_pepper
from ledger.keys import generate_key, load_signer
from ledger.store import Ledger
from noticeflow.settings import Settings
from noticeflow.worker import WorkerResources, build_worker
from tests.activities.conftest import SmtpServer, smtp_server  # noqa: F401 — the fixture
from workflows.incident import CybersecurityEventWorkflow, incident_workflow_id

REPO = Path(__file__).resolve().parents[2]
EXAMPLE_EVENT = REPO / "docs" / "examples" / "event-tpsp-multistate.json"
EXAMPLE_NOTICES = REPO / "docs" / "examples" / "notices.json"
EXAMPLE_RESPONDERS = REPO / "docs" / "examples" / "responders.json"
NPI_KEY = "api-test-npi-digest-key"
#: The tests' usual caller: an API key named ``tester`` holding every role that works cases.
TESTER = "tester"
TESTER_ACTOR = f"key:{TESTER}"
CASE_ROLES = frozenset({Role.INTAKE, Role.RESPONDER, Role.COUNSEL, Role.PRIVACY, Role.EXAMINER})
#: Who creates the tests' keys, as the CLI would name the operator.
OPERATOR = "user:test-operator"


def issue_key(
    settings: Settings, name: str, roles: Iterable[Role], *, expires_in: timedelta | None = None, replace: bool = False
) -> str:
    """Create a named API key in the settings' database (ledgered, as ``noticeflow apikey create``
    does); its token."""
    url = settings.resolved_db_url()
    ledger = Ledger.open(url, load_signer(settings.resolved_key_path(), settings.key_passphrase))
    engine = db.open_engine(url)
    try:
        store = ApiKeyStore(engine, load_pepper(settings))
        _, token = create_api_key(
            store, ledger, name=name, roles=roles, actor=OPERATOR, expires_in=expires_in, replace=replace
        )
    finally:
        ledger.close()
        engine.dispose()
    return token


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def api_settings(tmp_path: Path, task_queue: str, smtp_server: SmtpServer) -> Settings:  # noqa: F811
    home = tmp_path / "home"
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        home=home,
        db_url=f"sqlite:///{tmp_path / 'ledger.db'}",
        task_queue=task_queue,
        smtp_host=smtp_server.host,
        smtp_port=smtp_server.port,
        mail_from="notices@cumberland.example",
        npi_digest_key=NPI_KEY,
        log_json=False,
        # The regulator outbox acknowledges each filing (simulated, marked so), as in the dev stack:
        # these tests drive the API, not the acknowledgement tracking (tests/workflows covers it).
        outbox_simulate_acks=True,
    )
    generate_key(settings.resolved_key_path())
    return settings


@pytest.fixture
def incidents() -> list[str]:
    """The incident ids a test started, to be ended when it is over."""
    return []


async def end_incidents(client: Client, incident_ids: list[str]) -> None:
    """Terminate the tests' incident workflows and their obligation workflows.

    Against a server shared by several tests (``--workflow-environment local`` or ``host:port``),
    a workflow left waiting on a deadline timer would wake up later on a task queue nobody polls;
    on a time-skipping server that stalls the virtual clock.
    """
    for incident_id in incident_ids:
        handle = client.get_workflow_handle(incident_workflow_id(incident_id))
        children: list[str] = []
        try:
            state = await handle.query(CybersecurityEventWorkflow.state, rpc_timeout=timedelta(seconds=5))
            children = [o.workflow_id for o in state.obligations]
        except Exception:  # no worker answered: the parent's close policy ends its children
            pass
        for workflow_id in [*children, handle.id]:
            with contextlib.suppress(RPCError):  # already completed, or never started
                await client.get_workflow_handle(workflow_id).terminate(reason="test over")


@pytest_asyncio.fixture
async def worker(client: Client, api_settings: Settings, task_queue: str, incidents: list[str]) -> AsyncIterator[None]:
    resources = WorkerResources(api_settings)
    try:
        async with build_worker(client, api_settings, resources, task_queue=task_queue):
            yield
            await end_incidents(client, incidents)
    finally:
        resources.close()


@pytest.fixture
def tester_token(api_settings: Settings) -> str:
    return issue_key(api_settings, TESTER, CASE_ROLES)


@pytest_asyncio.fixture
async def api(
    env: WorkflowEnvironment, client: Client, api_settings: Settings, worker: None, tester_token: str
) -> AsyncIterator[httpx.AsyncClient]:
    """The API over ASGI, called with the ``tester`` key (actor ``key:tester``); its actor
    assertions dated by the Temporal server's clock (skipped time included)."""
    app = create_app(api_settings, client=client, step_timeout=60, clock=env.get_current_time)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://127.0.0.1", timeout=120, headers=bearer(tester_token)
    ) as http:
        yield http


@dataclass
class SampleEvent:
    """The sample event's request bodies, its times relative to the Temporal server's now."""

    now: datetime
    intake: dict[str, Any]
    notices: dict[str, Any]

    @property
    def incident_id(self) -> str:
        return str(self.intake["incident_id"])

    def start_body(self, **extra: Any) -> dict[str, Any]:
        responders = json.loads(EXAMPLE_RESPONDERS.read_text())
        return {"intake": self.intake, "notices": self.notices, "responders": responders, **extra}


def sample_intake(now: datetime, incident_id: str) -> dict[str, Any]:
    intake = json.loads(EXAMPLE_EVENT.read_text())
    intake["incident_id"] = incident_id
    intake["discovered_at"] = (now - timedelta(hours=30)).isoformat()
    intake["tpsp_notified_at"] = (now - timedelta(hours=20)).isoformat()
    intake["determined_at"] = None
    return intake


@pytest_asyncio.fixture
async def sample(env: WorkflowEnvironment, incidents: list[str]) -> SampleEvent:
    now = await env.get_current_time()
    # One incident id per test: ids are never reused on the shared test server.
    incident_id = f"INC-API-{uuid.uuid4().hex[:12]}"
    incidents.append(incident_id)
    return SampleEvent(now=now, intake=sample_intake(now, incident_id), notices=json.loads(EXAMPLE_NOTICES.read_text()))
