"""Robustness proof (issue 11): Schemathesis against the live schema of a running API.

The real app is served by uvicorn on a loopback port (a background thread), its schema read from
``/v1/openapi.json`` as a client would; behind it the time-skipping Temporal test server and a real
worker (ledger on SQLite, a real SMTP server). A live incident (started, its determination made,
so that it has obligations) and a live privacy relationship (a policy version published, the
relationship registered with its lifecycle started) are set up through the API first, so that
generated bodies reach the workflows: most generated path parameters are replaced by those live
ids. Every operation is called with every role's token (one API key per role): the roles it allows
get many cases, each other role a few (403 before the body is read). Positive and negative data.

Every answer must be no server error (5xx), a status the schema declares for the operation, of a
declared content type, and of the declared schema. The test prints the number of cases; at least
2,000 are run. What it found is pinned by the tests after it.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Self

import httpx
import hypothesis
import pytest
import requests
import schemathesis
import uvicorn
from hypothesis import HealthCheck, Phase
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from temporalio.client import Client

from api.access import ROUTE_ROLES, Role
from api.app import create_app
from noticeflow.settings import Settings
from tests.api.conftest import SampleEvent, bearer, issue_key
from tests.privacy.builders import policy_record

#: Cases per operation for each role the route allows (the body is read, workflows reached) …
ALLOWED_EXAMPLES = 20
#: … and for each role it refuses (403 from the request line: cheap, but checked all the same).
REFUSED_EXAMPLES = 3
#: The public routes (health, schema, docs, dashboard sign-in) per role.
PUBLIC_EXAMPLES = 3
MIN_CASES = 2000
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
LIVE_RELATIONSHIP = "REL-FUZZ-1"


class LiveServer:
    """The app served by uvicorn on a free loopback port, in a thread of its own."""

    def __init__(self, app: Any) -> None:
        # IPPROTO_TCP named: asyncio sets TCP_NODELAY only on such sockets; without it every answer on
        # a kept-alive connection waits out the client's delayed ACK (~40 ms).
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on", timeout_keep_alive=60)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def __aenter__(self) -> Self:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            assert self.thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
            await asyncio.sleep(0.05)
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.server.should_exit = True
        await asyncio.to_thread(self.thread.join, 30)
        self.sock.close()


@dataclass
class Live:
    """The live ids generated path parameters are replaced with."""

    incident_id: str
    obligation_ids: list[str]
    relationship_id: str = LIVE_RELATIONSHIP
    versions: tuple[str, str] = ("v1", "v2")

    def path_parameters(self, names: Sequence[str]) -> st.SearchStrategy[dict[str, str]]:
        values: dict[str, st.SearchStrategy[str]] = {
            "incident_id": st.just(self.incident_id),
            "obligation_id": st.sampled_from(self.obligation_ids),
            "relationship_id": st.just(self.relationship_id),
            "version_id": st.sampled_from(self.versions),
            "old_version": st.just(self.versions[0]),
            "new_version": st.just(self.versions[1]),
        }
        return st.fixed_dictionaries({name: values[name] for name in names if name in values})


@dataclass
class Tally:
    cases: int = 0
    by_status: Counter[int] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    pairs: set[tuple[str, str]] = field(default_factory=set)
    operations: int = 0


async def _set_up_live(http: httpx.AsyncClient, tokens: dict[Role, str], sample: SampleEvent) -> Live:
    """A live incident (started, determined: obligations exist) and relationship, through the API."""
    started = await http.post("/v1/incidents", json=sample.start_body(), headers=bearer(tokens[Role.INTAKE]))
    assert started.status_code == 201, started.text
    incident_id = sample.incident_id
    determined = await http.post(
        f"/v1/incidents/{incident_id}/determination",
        json={"is_cybersecurity_event": True, "reason": "Claim images with SSNs were exfiltrated."},
        headers=bearer(tokens[Role.RESPONDER]),
    )
    assert determined.status_code == 200, determined.text
    obligations = [o["obligation"]["obligation_id"] for o in determined.json()["obligations"]]
    assert obligations
    privacy = bearer(tokens[Role.PRIVACY])
    for version in ("v1", "v2"):
        published = await http.post("/v1/privacy/policies", json=policy_record(version).model_dump(mode="json"), headers=privacy)
        assert published.status_code == 201, published.text
    given = (sample.now - timedelta(days=31)).date().isoformat()
    rows = ("relationship_id,consumer_id,name,address_line1,city,postal_code,policy_version,initial_notice_given_at\n"
            f"{LIVE_RELATIONSHIP},C-FUZZ-1,Marisol Trevino,100 Guadalupe St,Austin,78701,v1,{given}\n")
    registered = await http.post("/v1/privacy/relationships", content=rows.encode(), headers={**privacy, "Content-Type": "text/csv"})
    assert registered.status_code == 201 and registered.json()["lifecycles_started"] == 1, registered.text
    return Live(incident_id=incident_id, obligation_ids=obligations)


def _strategy(operation: Any, live: Live) -> st.SearchStrategy[Any]:
    names = [p.name for p in operation.path_parameters]
    modes = [GenerationMode.POSITIVE, GenerationMode.NEGATIVE]
    generated = [operation.as_strategy(generation_mode=mode) for mode in modes]
    if not names:
        return st.one_of(generated)
    on_live = [live.path_parameters(names).flatmap(
        lambda params, mode=mode: operation.as_strategy(generation_mode=mode, path_parameters=params)) for mode in modes]
    # Three in four cases act on the live incident / relationship, the rest on generated ids.
    return st.sampled_from([0, 0, 0, 1]).flatmap(lambda i: st.one_of(on_live) if i == 0 else st.one_of(generated))


def _run(schema: Any, base_url: str, tokens: dict[Role, str], live: Live) -> Tally:
    """Every operation with every role's token; failures collected, not raised, so one run shows them all."""
    tally = Tally()
    with requests.Session() as session:  # kept-alive connections, as a client would
        for result in schema.get_all_operations():
            operation = result.ok()
            tally.operations += 1
            allowed = ROUTE_ROLES.get((operation.method.upper(), operation.path))
            strategy = _strategy(operation, live)
            for role, token in tokens.items():
                examples = PUBLIC_EXAMPLES if allowed is None else ALLOWED_EXAMPLES if role in allowed else REFUSED_EXAMPLES
                _fuzz(operation, strategy, examples, role, token, base_url, session, tally)
    return tally


def _fuzz(operation: Any, strategy: st.SearchStrategy[Any], examples: int, role: Role, token: str, base_url: str,
          session: requests.Session, tally: Tally) -> None:
    label = f"{operation.method.upper()} {operation.path}"
    headers = bearer(token)

    @hypothesis.settings(
        max_examples=examples, derandomize=True, database=None, deadline=None,
        phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck),
        verbosity=hypothesis.Verbosity.quiet,
    )
    @hypothesis.given(case=strategy)
    def run(case: Any) -> None:
        response = case.call(base_url=base_url, session=session, headers=headers, timeout=90)
        tally.cases += 1
        tally.by_status[response.status_code] += 1
        tally.pairs.add((label, role.value))
        try:
            case.validate_response(response, checks=CHECKS, headers=headers)
        except (Failure, FailureGroup) as exc:
            lines = [line for line in str(exc).strip().splitlines() if line.strip()]
            tally.failures.append(f"{label} as {role.value}: {response.status_code} — " + " | ".join(lines[:14]))

    run()


@pytest.mark.slow
async def test_schemathesis_finds_no_server_error_and_no_schema_violation_on_the_live_api(
    client: Client, api_settings: Settings, worker: None, sample: SampleEvent
) -> None:
    tokens = {role: issue_key(api_settings, f"fuzz-{role.value}", {role}) for role in Role}
    app = create_app(api_settings, client=client, step_timeout=30)
    began = time.monotonic()
    async with LiveServer(app) as server:
        async with httpx.AsyncClient(base_url=server.url, timeout=120) as http:
            live = await _set_up_live(http, tokens, sample)
        schema = schemathesis.openapi.from_url(f"{server.url}/v1/openapi.json", config=schemathesis.Config())
        tally = await asyncio.to_thread(_run, schema, server.url, tokens, live)
    seconds = time.monotonic() - began
    statuses = ", ".join(f"{s}: {n}" for s, n in sorted(tally.by_status.items()))
    print(f"schemathesis: {tally.cases} cases over {len(tally.pairs)} operation×role pairs in {seconds:.0f} s ({statuses})")
    assert not tally.failures, f"{len(tally.failures)} failures:\n" + "\n".join(tally.failures[:60])
    assert tally.cases >= MIN_CASES
    assert not any(status >= 500 for status in tally.by_status)
    # Every operation of the schema, each with every role's token.
    assert tally.operations >= len(ROUTE_ROLES) and len(tally.pairs) == tally.operations * len(Role)


# -- what it found, each pinned ----------------------------------------------------------------------------


async def test_a_body_that_is_not_utf8_is_a_422_naming_the_body_and_its_encoding_not_a_400(
    api: httpx.AsyncClient, sample: SampleEvent
) -> None:
    """FastAPI answered 400 "There was an error parsing the body", which no route declares."""
    started = await api.post("/v1/incidents", json=sample.start_body())
    assert started.status_code == 201, started.text
    for path in ("/v1/incidents", f"/v1/incidents/{sample.incident_id}/findings", "/v1/privacy/revised-notices"):
        answer = await api.post(path, content=b'{"summary": "caf\xe9"}', headers={"Content-Type": "application/json"})
        assert answer.status_code == 422, (path, answer.text)
        assert answer.json()["errors"] == [{"field": "request body", "type": "encoding", "message": answer.json()["errors"][0]["message"]}]
        assert "UTF-8" in answer.json()["detail"] and "caf" not in answer.text
    broken = await api.post("/v1/incidents", content=b'{"intake": ', headers={"Content-Type": "application/json"})
    assert broken.status_code == 422
    assert [(e["field"], e["type"]) for e in broken.json()["errors"]] == [("request body", "json_invalid")]
    # A roster upload's 422 has the same shape: `errors`, naming the body and the encoding.
    roster = await api.post(f"/v1/incidents/{sample.incident_id}/roster", content=b"consumer_id,state\nC-1,T\xe9N\n",
                            headers={"Content-Type": "text/csv"})
    assert roster.status_code == 422, roster.text
    assert [(e["field"], e["type"]) for e in roster.json()["errors"]] == [("body", "encoding")]
    assert "UTF-8" in roster.json()["detail"]


async def test_path_ids_past_their_form_are_a_422_naming_the_parameter_not_a_500(api: httpx.AsyncClient) -> None:
    """A version id is part of the revised-notice run's workflow id and of the delivery keys the
    marks update takes: outside its form, the update's model refused it inside the route (500)."""
    marks = {"relationship_ids": ["REL-1"], "status": "returned", "batch_ref": "RET-1"}
    answer = await api.post("/v1/privacy/revised-notices/v1/v%C3%A9/marks", json=marks)
    assert answer.status_code == 422, answer.text
    assert [e["field"] for e in answer.json()["errors"]] == ["path.new_version"]
    long_id = "I" * 191
    assert (await api.get(f"/v1/incidents/{long_id}")).json()["errors"][0]["field"] == "path.incident_id"
    obligation = "O" * 301
    waived = await api.post(f"/v1/incidents/INC-1/obligations/{obligation}/waive", json={"reason": "Counsel confirmed no notice is owed."})
    assert waived.status_code == 422 and waived.json()["errors"][0]["field"] == "path.obligation_id"


async def test_returned_recipients_that_are_no_recipient_reference_are_a_422_naming_each(
    api: httpx.AsyncClient, sample: SampleEvent
) -> None:
    """For a producer or ceding-insurer notice the ids go to the workflow as they are: one that is
    no recipient reference was refused by the update's model inside the route (500)."""
    started = await api.post("/v1/incidents", json=sample.start_body())
    assert started.status_code == 201, started.text
    obligation = f"{sample.incident_id}:producer_notice:TN:producers_of_record"
    answer = await api.post(f"/v1/incidents/{sample.incident_id}/obligations/{obligation}/returned",
                            json={"channel": "email", "recipients": ["P-1001", "not an id!"], "reason": "550 mailbox unknown"})
    assert answer.status_code == 422, answer.text
    assert [e["field"] for e in answer.json()["errors"]] == ["recipients[1]"]
    empty = await api.post(f"/v1/incidents/{sample.incident_id}/obligations/{obligation}/returned",
                           json={"channel": "email", "recipients": [""], "reason": "550"})
    assert empty.status_code == 422 and empty.json()["errors"][0]["field"] == "recipients[0]"


async def test_a_sign_in_form_with_a_non_ascii_csrf_token_is_refused_not_a_500(api: httpx.AsyncClient) -> None:
    """``hmac.compare_digest`` raises TypeError on a str with non-ASCII characters."""
    page = await api.get("/v1/dashboard/sign-in", headers={"Accept": "text/html"})
    assert page.status_code == 200 and page.cookies
    answer = await api.post("/v1/dashboard/sign-in/key", content=b"csrf=%C2%A6%C3%96&api_key=nfk_x",
                            headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert answer.status_code == 403, answer.text


async def test_each_step_on_a_kept_alive_connection_is_taken_once_never_answered_with_an_earlier_steps_outcome(
    client: Client, api_settings: Settings, worker: None, sample: SampleEvent
) -> None:
    """uvicorn resumes reading a large body from inside the app, so the next request of the
    connection ran in a copy of that request's context — with its ``Idempotency-Key``'s Temporal
    update id. Temporal then answered the next steps, sent without a key, with the earlier step's
    outcome: a finding was not recorded though the caller got 200, and a step of another type got
    a 500 (its answer could not be read)."""
    token = issue_key(api_settings, "keepalive", {Role.INTAKE})
    app = create_app(api_settings, client=client, step_timeout=30)
    finding = {"kind": "nature_and_scope", "summary": "Claims-imaging server accessed.", "report_items": ["A"]}
    async with LiveServer(app) as server:
        async with httpx.AsyncClient(base_url=server.url, timeout=60) as http:
            started = await http.post("/v1/incidents", json=sample.start_body(), headers=bearer(token))
            assert started.status_code == 201, started.text
        url = f"{server.url}/v1/incidents/{sample.incident_id}/findings"

        def steps() -> list[requests.Response]:
            with requests.Session() as session:  # one kept-alive connection
                large = session.post(url, json={**finding, "summary": "x" * 200_000}, headers={**bearer(token), "Idempotency-Key": "k-1"})
                first = session.post(url, json=finding, headers=bearer(token))
                second = session.post(url, json={**finding, "summary": "The vendor's logs show a second server."},
                                      headers=bearer(token))
                return [large, first, second]

        large, first, second = await asyncio.to_thread(steps)
    assert large.status_code == 422 and large.json()["errors"][0]["field"] == "summary"
    assert first.status_code == 200 and second.status_code == 200, (first.text, second.text)
    assert [f["summary"] for f in second.json()["findings"]] == [finding["summary"], "The vendor's logs show a second server."]
