"""Who may do what (issue 11): every route is in the one role table (``api/access.py``) that
docs/api.md's table is generated from; every route refuses a caller without a token (401) and
each role without the right (403) — with nothing recorded: the ledger, the workflow's history and
the set of workflows unchanged — and lets a role with the right through.

Against the real app over ASGI, the time-skipping Temporal server and a real worker."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from fastapi.routing import APIRoute
from starlette.routing import Route
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.workflowservice.v1 import DescribeWorkflowExecutionRequest
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from api.access import (
    PUBLIC_ROUTES,
    ROUTE_ROLES,
    Role,
    role_table_markdown,
    with_role_table,
)
from api.app import create_app
from ledger.store import Ledger
from noticeflow.settings import Settings
from tests.api.conftest import (
    EXAMPLE_RESPONDERS,
    REPO,
    SampleEvent,
    bearer,
    issue_key,
    sample_intake,
)
from tests.api.helpers import ROSTER_CSV
from tests.privacy.builders import policy_record
from workflows.incident import incident_workflow_id

DOCS = REPO / "docs" / "api.md"


def _app_routes(settings: Settings) -> set[tuple[str, str]]:
    """Every (method, path) the app serves: its operations, and its own pages (docs, schema)."""
    app = create_app(settings)
    found = {(method.upper(), path) for path, ops in app.openapi()["paths"].items() for method in ops}
    for route in app.routes:
        if isinstance(route, (APIRoute, Route)):
            found |= {(m, route.path) for m in route.methods or () if m not in ("HEAD", "OPTIONS")}
    return found


def test_every_route_of_the_app_declares_its_roles_in_the_one_table(api_settings: Settings) -> None:
    routes = _app_routes(api_settings)
    undeclared = sorted(routes - set(ROUTE_ROLES) - PUBLIC_ROUTES)
    assert not undeclared, f"routes missing from api/access.py ROUTE_ROLES (refused to everyone): {undeclared}"
    stale = sorted((set(ROUTE_ROLES) | PUBLIC_ROUTES) - routes)
    assert not stale, f"rows of the role table for routes the app does not have: {stale}"
    # Examiner: read and export only; admin: keys only, no case data.
    examiner = {key for key, roles in ROUTE_ROLES.items() if Role.EXAMINER in roles}
    assert all(method == "GET" or path.endswith("/export") for method, path in examiner - {("GET", "/v1/access/whoami")})
    admin = {path for (_, path), roles in ROUTE_ROLES.items() if Role.ADMIN in roles}
    assert admin == {"/v1/access/api-keys", "/v1/access/api-keys/{key_id}/revoke", "/v1/access/whoami",
                     "/v1/incidents/{incident_id}/retention", "/v1/incidents/{incident_id}/legal-holds",
                     "/v1/incidents/{incident_id}/legal-holds/{hold_id}/lift"}


def test_docs_api_md_shows_the_role_table_generated_from_the_code() -> None:
    text = DOCS.read_text(encoding="utf-8")
    assert with_role_table(text) == text, "docs/api.md's role table is stale: run `noticeflow apikey roles --write docs/api.md`"
    assert role_table_markdown() in text
    # The generator is no identity: a changed table shows.
    assert with_role_table(text.replace("| `POST /v1/incidents` | `intake` |", "| `POST /v1/incidents` | `examiner` |")) == text


# -- the live matrix -------------------------------------------------------------------------------------


def _bodies(incident_id: str, now: datetime) -> dict[tuple[str, str], dict[str, Any]]:
    """A request each route would act on, given the path parameters filled in."""
    responders = json.loads(EXAMPLE_RESPONDERS.read_text())
    question = {"request_id": "Q-1", "npi_category": "application information", "purpose": "direct_mail_marketing",
                "recipient": {"name": "Pecos Premium Finance", "kind": "nonaffiliated_third_party",
                              "category": "financial service providers"}}
    json_bodies: dict[str, Any] = {
        "/findings": {"kind": "nature_and_scope", "summary": "Claims-imaging server accessed.", "report_items": ["A"]},
        "/determination": {"is_cybersecurity_event": True, "reason": "Claim images with SSNs were exfiltrated."},
        "/amendments": {"summary": "The vendor found 850 more Tennessee files."},
        "/responders": {"responders": responders, "reason": "The owner is on leave this week."},
        "/counsel-reviews": {"obligation_id": f"{incident_id}:commissioner_notice:TN:commissioner:TN",
                             "decision": "confirmed", "notes": "The clock applied matches the statute as enacted."},
        "/consumer-reconciliations": {"state": "TN", "consumers": 100, "reason": "Duplicates across policies removed."},
        "/report-items/not-applicable": {"item": "D", "reason": "Nothing was lost that could be recovered."},
        "/consumer-notice/approve": {},
        "/waive": {"reason": "Counsel confirmed that no notice is owed in this state."},
        "/complete": {"evidence": "Letters mailed by the print vendor, batch 118."},
        "/acknowledgement": {"reference": "ACK-2025-1", "received_at": now.isoformat()},
        "/returned": {"channel": "email", "recipients": ["C-TN-0001"], "reason": "Hard bounce: no such mailbox."},
        "/close": {"summary": "All notices given; the vendor's access is suspended."},
        "/disclosure-decisions": question,
        "/opt-outs": {"election_id": "E-1", "consumer_ref": "hmac-sha256:" + "0" * 64},
        "/api-keys": {"name": "made-by-admin", "roles": ["examiner"]},
        # Privacy (tests/privacy/test_api_routes.py covers each route): a policy version, then steps on
        # the relationship the CSV below registers (its lifecycle started), then a revised notice.
        "/privacy/policies": policy_record("v1").model_dump(mode="json"),
        "/opt-out-revocations": {"election_id": "E-1", "form": "written"},
        "/returned-mail": {"notice_id": "initial-v1", "returned_on": now.date().isoformat()},
        "/health-authorizations": {"authorization_id": "HA-1", "consumer_ref": "hmac-sha256:" + "0" * 64,
                                   "signed_at": now.isoformat()},
        "/health-authorization-revocations": {"authorization_id": "HA-1"},
        "/privacy/revised-notices": {"old_version": "v1", "new_version": "v2"},
        "/marks": {"relationship_ids": ["REL-ACCESS"], "status": "returned", "batch_ref": "RET-1"},
        "/legal-holds": {"matter": "Doe v. Cumberland Mutual, No. 3:26-cv-0101"},
    }
    bodies: dict[tuple[str, str], dict[str, Any]] = {}
    for method, template in ROUTE_ROLES:
        if method != "POST":
            continue
        suffix = next((s for s in json_bodies if template.endswith(s)), None)
        if template.endswith("/roster"):
            bodies[(method, template)] = {"content": ROSTER_CSV.encode(), "headers": {"Content-Type": "text/csv"}}
        elif template.endswith("/privacy/relationships"):
            given = (now - timedelta(days=31)).date().isoformat()
            csv_body = ("relationship_id,consumer_id,name,address_line1,city,postal_code,policy_version,initial_notice_given_at\n"
                        f"REL-ACCESS,C-ACCESS,Marisol Trevino,100 Guadalupe St,Austin,78701,v1,{given}\n")
            bodies[(method, template)] = {"content": csv_body.encode(), "headers": {"Content-Type": "text/csv"}}
        elif suffix is not None:
            bodies[(method, template)] = {"json": json_bodies[suffix]}
    return bodies


class Matrix:
    """The app, a live incident under investigation, and one key per role."""

    def __init__(self, http: httpx.AsyncClient, settings: Settings, incident_id: str, fresh_id: str,
                 start: dict[str, Any], tokens: dict[Role, str], throwaway_key: str) -> None:
        self.http = http
        self.settings = settings
        self.incident_id = incident_id
        self.fresh_id = fresh_id
        self.start = start
        self.tokens = tokens
        self.throwaway_key = throwaway_key

    def path(self, template: str) -> str:
        return (template.replace("{incident_id}", self.incident_id)
                .replace("{obligation_id}", f"{self.incident_id}:commissioner_notice:TN:commissioner:TN")
                .replace("{relationship_id}", "REL-ACCESS").replace("{key_id}", self.throwaway_key)
                .replace("{hold_id}", "LH-0000000000000000")
                .replace("{version_id}", "v1").replace("{old_version}", "v1").replace("{new_version}", "v2"))

    def request_for(self, method: str, template: str) -> dict[str, Any]:
        if (method, template) == ("POST", "/v1/incidents"):
            return {"json": self.start}
        return _bodies(self.incident_id, datetime.now(UTC)).get((method, template), {})

    async def send(self, method: str, template: str, token: str | None) -> httpx.Response:
        request = self.request_for(method, template)
        headers = {**request.get("headers", {}), **(bearer(token) if token else {})}
        return await self.http.request(method, self.path(template), headers=headers,
                                       **{k: v for k, v in request.items() if k != "headers"})


@pytest_asyncio.fixture
async def matrix(
    client: Client, api_settings: Settings, worker: None, sample: SampleEvent, incidents: list[str], tester_token: str
) -> AsyncIterator[Matrix]:
    tokens = {role: issue_key(api_settings, f"only-{role.value}", {role}) for role in Role}
    throwaway = issue_key(api_settings, "throwaway", {Role.EXAMINER})
    throwaway_id = throwaway.split("_")[1]
    fresh_id = f"INC-ACCESS-{uuid.uuid4().hex[:10]}"
    incidents.append(fresh_id)
    start = {**sample.start_body(), "intake": sample_intake(sample.now, fresh_id)}
    app = create_app(api_settings, client=client, step_timeout=60)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1", timeout=120) as http:
        started = await http.post("/v1/incidents", json=sample.start_body(), headers=bearer(tester_token))
        assert started.status_code == 201, started.text
        yield Matrix(http, api_settings, sample.incident_id, fresh_id, start, tokens, throwaway_id)


def _ledger_size(settings: Settings) -> int:
    ledger = Ledger.open(settings.resolved_db_url())
    try:
        return ledger.size()
    finally:
        ledger.close()


async def _history_length(client: Client, incident_id: str) -> int:
    """Events in the incident workflow's history (read raw: the SDK's describe() decodes search
    attributes it cannot parse)."""
    request = DescribeWorkflowExecutionRequest(
        namespace=client.namespace, execution=WorkflowExecution(workflow_id=incident_workflow_id(incident_id))
    )
    response = await client.workflow_service.describe_workflow_execution(request)
    return int(response.workflow_execution_info.history_length)


async def _settled_history(client: Client, incident_id: str) -> int:
    """The history's length once the start's own steps are done (unchanged for a while)."""
    length = await _history_length(client, incident_id)
    for _ in range(40):
        await asyncio.sleep(0.25)
        again = await _history_length(client, incident_id)
        if again == length:
            return length
        length = again
    return length


async def test_every_route_refuses_no_token_401_and_each_role_without_the_right_403_recording_nothing(
    matrix: Matrix, client: Client
) -> None:
    history = await _settled_history(client, matrix.incident_id)
    size = _ledger_size(matrix.settings)
    wrong: list[str] = []
    for (method, template), allowed in ROUTE_ROLES.items():
        anonymous = await matrix.send(method, template, None)
        if anonymous.status_code != 401 or anonymous.headers.get("www-authenticate") != "Bearer":
            wrong.append(f"{method} {template} without a token: {anonymous.status_code} {anonymous.text[:120]}")
        for role in Role:
            if role in allowed:
                continue
            refused = await matrix.send(method, template, matrix.tokens[role])
            if refused.status_code != 403 or "Nothing was done" not in refused.json()["detail"]:
                wrong.append(f"{method} {template} as {role.value}: {refused.status_code} {refused.text[:160]}")
    assert not wrong, "\n".join(wrong)
    # Nothing recorded, nothing started, nothing changed.
    assert _ledger_size(matrix.settings) == size
    assert await _history_length(client, matrix.incident_id) == history
    with pytest.raises(RPCError) as not_started:
        await _history_length(client, matrix.fresh_id)
    assert not_started.value.status == RPCStatusCode.NOT_FOUND
    keys = await matrix.http.get("/v1/access/api-keys", headers=bearer(matrix.tokens[Role.ADMIN]))
    throwaway = next(k for k in keys.json() if k["key_id"] == matrix.throwaway_key)
    assert throwaway["status"] == "active" and not any(k["name"] == "made-by-admin" for k in keys.json())


async def test_every_route_lets_a_role_with_the_right_through(matrix: Matrix, client: Client) -> None:
    wrong: list[str] = []
    answers: dict[tuple[str, str], int] = {}
    for (method, template), allowed in ROUTE_ROLES.items():
        role = next(r for r in Role if r in allowed)
        answer = await matrix.send(method, template, matrix.tokens[role])
        answers[(method, template)] = answer.status_code
        if answer.status_code in (401, 403):
            wrong.append(f"{method} {template} as {role.value}: {answer.status_code} {answer.text[:160]}")
    assert not wrong, "\n".join(wrong)
    # The right role's requests did act: the event started, the finding was recorded in its name.
    assert answers[("POST", "/v1/incidents")] == 201
    # … the privacy routes reached the lifecycles: a policy published, a relationship registered
    # (its lifecycle started), the gate decided by its workflow, a state's bundle written.
    privacy = {path.removeprefix("/v1/privacy"): answers[(m, path)] for m, path in ROUTE_ROLES if path.startswith("/v1/privacy")}
    assert (privacy["/policies"], privacy["/relationships"], privacy["/export"]) == (201, 201, 201), privacy
    assert privacy["/relationships/{relationship_id}/disclosure-decisions"] == 200, privacy
    entries = (await matrix.http.get(f"/v1/incidents/{matrix.incident_id}/ledger",
                                     headers=bearer(matrix.tokens[Role.EXAMINER]))).json()["entries"]
    actors = {e["type"]: e["actor"] for e in entries}
    assert actors["incident.finding_recorded"] == "key:only-intake"
    assert actors["incident.determined"] == "key:only-responder"


async def test_a_principal_holding_several_roles_may_do_what_each_allows(
    matrix: Matrix, api_settings: Settings
) -> None:
    both = issue_key(api_settings, "c.hale", {Role.INTAKE, Role.RESPONDER})
    base = f"/v1/incidents/{matrix.incident_id}"
    finding = await matrix.http.post(f"{base}/findings", json=_bodies(matrix.incident_id, datetime.now(UTC))[
        ("POST", "/v1/incidents/{incident_id}/findings")]["json"], headers=bearer(both))
    assert finding.status_code == 200, finding.text
    assert finding.json()["findings"][-1]["recorded_by"] == "key:c.hale"
    counsel = await matrix.http.post(f"{base}/counsel-reviews", json={}, headers=bearer(both))
    assert counsel.status_code == 403
    assert counsel.json()["detail"].startswith(
        "POST /v1/incidents/{incident_id}/counsel-reviews is for the roles counsel; key:c.hale holds intake, responder."
    )
    me = await matrix.http.get("/v1/access/whoami", headers=bearer(both))
    assert me.json() == {"name": "c.hale", "kind": "key", "actor": "key:c.hale", "roles": ["intake", "responder"]}


def test_the_role_table_cli_checks_and_rewrites_the_docs(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from noticeflow.cli import app

    runner = CliRunner()
    stale = tmp_path / "api.md"
    stale.write_text(DOCS.read_text(encoding="utf-8").replace("| `GET /v1/incidents/{incident_id}` |", "| `GET /v1/gone` |"))
    checked = runner.invoke(app, ["apikey", "roles", "--check", str(stale)])
    assert checked.exit_code == 1 and "differs from api/access.py" in checked.output
    written = runner.invoke(app, ["apikey", "roles", "--write", str(stale)])
    assert written.exit_code == 0, written.output
    assert stale.read_text(encoding="utf-8") == DOCS.read_text(encoding="utf-8")
    assert runner.invoke(app, ["apikey", "roles", "--check", str(stale)]).exit_code == 0
