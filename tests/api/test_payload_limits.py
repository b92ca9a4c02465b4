"""Oversized workflow inputs are refused at the API (issue 11): about 3 MB of media outlets in an
event's start was a 500 "Blob data size exceeds limit" from Temporal. Now a body past the byte
limit is a 413 before it is read, and a list or text past its bound (api/bounds.py) a 422 naming
the field — nothing reaches Temporal, nothing is ledgered, and the event takes its next good step.
Should Temporal still refuse a payload as too large (a lower limit set there), the answer is a 413
naming the request, never a 500: checked against the real Temporal dev server, which enforces its
blob size limit (the time-skipping test server does not)."""

from __future__ import annotations

import copy
import json
from typing import Any

import httpx
import pytest
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.workflowservice.v1 import DescribeWorkflowExecutionRequest
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from api.errors import PayloadTooLarge
from api.gateway import IncidentGateway
from api.privacy_common import RelationshipNotFound, translate
from ledger.store import EntryFilter, Ledger
from models.lifecycle import IncidentStart
from noticeflow.settings import Settings
from tests.api.conftest import TESTER_ACTOR, SampleEvent, bearer
from workflows.incident import incident_workflow_id

#: About 3 MB of Tennessee media outlets: 30,000 names of 100 characters.
MANY_OUTLETS = [f"The Tennessee Statewide Outlet No. {i:06d} ".ljust(100, "x") for i in range(30_000)]
#: About 3 MB in three names.
LONG_OUTLETS = ["T" * 1_000_000] * 3


def _with_outlets(sample: SampleEvent, outlets: list[str]) -> dict[str, Any]:
    body = copy.deepcopy(sample.start_body())
    body["notices"]["media_outlets"]["TN"] = outlets
    return body


def _ledger(settings: Settings) -> Ledger:
    return Ledger.open(settings.resolved_db_url())


def _incident_entries(settings: Settings, incident_id: str) -> list[str]:
    ledger = _ledger(settings)
    try:
        return [e.type for e in ledger.entries(EntryFilter(stream=f"incident:{incident_id}"))]
    finally:
        ledger.close()


async def _workflow_exists(client: Client, incident_id: str) -> bool:
    request = DescribeWorkflowExecutionRequest(
        namespace=client.namespace, execution=WorkflowExecution(workflow_id=incident_workflow_id(incident_id))
    )
    try:
        await client.workflow_service.describe_workflow_execution(request)
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            return False
        raise
    return True


def _fields(response: httpx.Response) -> dict[str, str]:
    body = response.json()
    assert set(body) == {"detail", "errors"} and body["errors"], body
    return {e["field"]: e["type"] for e in body["errors"]}


async def test_three_megabytes_of_media_outlets_are_refused_at_the_api_naming_the_field_and_the_event_then_starts(
    api: httpx.AsyncClient, client: Client, api_settings: Settings, sample: SampleEvent, tester_token: str
) -> None:
    many = json.dumps(_with_outlets(sample, MANY_OUTLETS)).encode()
    assert len(many) > 3_000_000
    ledger_before = _ledger(api_settings)
    size_before = ledger_before.size()
    ledger_before.close()

    # Past the byte limit (1 MiB by default): 413 from Content-Length, before a byte is read.
    too_big = await api.post("/v1/incidents", content=many, headers={"Content-Type": "application/json"})
    assert too_big.status_code == 413, too_big.text
    assert "NOTICEFLOW_API_MAX_BODY_BYTES" in too_big.json()["detail"]

    # With the byte limit raised past it: 422 naming the list, or the name, that is too long.
    roomy = api_settings.model_copy(update={"api_max_body_bytes": 8 << 20})
    app = create_app(roomy, client=client, step_timeout=60)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1", timeout=120,
                                 headers=bearer(tester_token)) as roomy_api:
        too_many = await roomy_api.post("/v1/incidents", content=many, headers={"Content-Type": "application/json"})
        assert too_many.status_code == 422, too_many.text
        assert _fields(too_many) == {"notices.media_outlets.TN": "too_long"}
        assert "notices.media_outlets.TN" in too_many.json()["detail"]

        too_long = await roomy_api.post("/v1/incidents", json=_with_outlets(sample, LONG_OUTLETS))
        assert too_long.status_code == 422, too_long.text
        assert _fields(too_long) == {f"notices.media_outlets.TN[{i}]": "string_too_long" for i in range(3)}

    # Nothing reached Temporal, nothing was ledgered.
    assert not await _workflow_exists(client, sample.incident_id)
    ledger_after = _ledger(api_settings)
    assert ledger_after.size() == size_before
    ledger_after.close()

    # The event's next good step: its start, under the same id, with the state's real outlets.
    started = await api.post("/v1/incidents", json=sample.start_body())
    assert started.status_code == 201, started.text
    assert _incident_entries(api_settings, sample.incident_id)[0] == "incident.intake_recorded"


async def test_an_oversized_update_is_refused_naming_the_field_and_the_next_good_amendment_is_ledgered(
    api: httpx.AsyncClient, api_settings: Settings, sample: SampleEvent
) -> None:
    started = await api.post("/v1/incidents", json=sample.start_body())
    assert started.status_code == 201, started.text
    incident = sample.incident_id
    basis = {"law_enforcement_delay_until": (sample.now.replace(microsecond=0)).isoformat(),
             "summary": "The FBI asked for a delay of the consumer notices."}

    refused = await api.post(f"/v1/incidents/{incident}/amendments", json={**basis, "law_enforcement_basis": "x" * 900_000})
    assert refused.status_code == 422, refused.text
    assert _fields(refused) == {"law_enforcement_basis": "string_too_long"}
    many_rows = await api.post(f"/v1/incidents/{incident}/findings", json={
        "kind": "nature_and_scope", "summary": "Claims-imaging server accessed.", "report_items": ["A"] * 50_000})
    assert many_rows.status_code == 422 and _fields(many_rows) == {"report_items": "too_long"}, many_rows.text
    assert "incident.amended" not in _incident_entries(api_settings, incident)
    assert "incident.finding_recorded" not in _incident_entries(api_settings, incident)

    amended = await api.post(f"/v1/incidents/{incident}/amendments", json={"summary": "The vendor found 850 more files."})
    assert amended.status_code == 200, amended.text
    assert amended.json()["amendments"] == 1
    assert _incident_entries(api_settings, incident).count("incident.amended") == 1


@pytest.mark.slow
async def test_temporals_blob_size_refusal_is_a_413_naming_the_request_not_a_500(
    dev_env: WorkflowEnvironment, api_settings: Settings, sample: SampleEvent
) -> None:
    """The real Temporal dev server refuses a workflow input past 2 MB ("Blob data size exceeds
    limit"); the gateway answers 413 naming the incident. (An update's argument is not checked by
    the server when it is sent, only when a worker accepts it — so the API's bounds are what keep
    an update small: the tests above.)"""
    settings = api_settings.model_copy(update={"task_queue": f"no-worker-{sample.incident_id}"})
    gateway = IncidentGateway(settings, dev_env.client, start_wait=0.5)
    start = IncidentStart.model_validate({**_with_outlets(sample, MANY_OUTLETS), "opened_by": TESTER_ACTOR})
    with pytest.raises(PayloadTooLarge) as refused:
        await gateway.start(start)
    assert refused.value.status_code == 413
    assert sample.incident_id in refused.value.detail and "Temporal" in refused.value.detail
    assert "Blob data size exceeds limit" in refused.value.detail
    assert not await _workflow_exists(dev_env.client, sample.incident_id)

    # The privacy routes translate Temporal's refusal the same way (the server's own words).
    blob = RPCError("Blob data size exceeds limit.", RPCStatusCode.INVALID_ARGUMENT, b"")
    answer = translate(blob, "relationship 'REL-1'", RelationshipNotFound("REL-1"))
    assert isinstance(answer, PayloadTooLarge) and "relationship 'REL-1'" in answer.detail
