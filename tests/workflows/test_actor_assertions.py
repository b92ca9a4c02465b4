"""The actor cannot be forged below the API: a step that reaches Temporal without the API's signed
actor assertion for the person it names is refused by the ledger, records nothing and changes
nothing, and the event takes its next (vouched-for) step."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from temporalio.client import Client, WorkflowFailureError, WorkflowUpdateFailedError
from temporalio.exceptions import ActivityError, ApplicationError

from api.actor_signing import SigningInterceptor, signing_client
from ledger.actor_assertions import AssertionSigner, load_signer
from models.lifecycle import Finding, IncidentStart, ObligationAction, ObligationStatus, Waiver
from tests.actors import actor_in_step
from tests.workflows.conftest import NOTICES, Stack, eventually, make_intake
from workflows.incident import CybersecurityEventWorkflow as Event
from workflows.incident import incident_workflow_id
from workflows.obligation_base import ObligationWorkflow

FINDING_TEXT = "The claims server's export job ran under a shared service account."


def refusal_type(err: BaseException) -> str | None:
    """The type of the ``ApplicationError`` behind a failed update or workflow."""
    cause: BaseException | None = err
    while cause is not None:
        if isinstance(cause, ApplicationError):
            return cause.type
        cause = cause.cause if isinstance(cause, WorkflowUpdateFailedError | ActivityError | WorkflowFailureError) else None
    return None


def finding(by: str = "jdoe", n: int = 1) -> Finding:
    return Finding(kind="nature_and_scope", report_items=["B"], recorded_by=by, summary=f"{FINDING_TEXT} (observation {n})")


@dataclass(frozen=True)
class ElsewhereSigner(AssertionSigner):
    """Signs honestly, but for another workflow than the step's."""

    def issue(self, actor: str, workflow_id: str, now: datetime) -> str:
        return super().issue(actor, "incident-INC-ELSEWHERE", now)


def forging_client(stack: Stack, kind: str) -> Client:
    api_key = load_signer(stack.settings.resolved_actor_assertion_key_file(), stack.settings.actor_assertion_ttl_seconds)

    async def stale() -> datetime:
        return await stack.now() - timedelta(minutes=10)

    interceptor = {
        "untrusted key": SigningInterceptor(AssertionSigner(Ed25519PrivateKey.generate()), actor_of=actor_in_step, clock=stack.now),
        "someone else's assertion": SigningInterceptor(api_key, actor_of=lambda name, args: "user:mallory", clock=stack.now),
        "another workflow's assertion": SigningInterceptor(ElsewhereSigner(api_key.private_key), actor_of=actor_in_step, clock=stack.now),
        "an expired assertion": SigningInterceptor(api_key, actor_of=actor_in_step, clock=stale),
    }[kind]
    return signing_client(stack.env.client, interceptor)


async def test_a_step_sent_straight_to_temporal_names_nobody_and_changes_nothing(stack: Stack) -> None:
    handle = await stack.start(make_intake(await stack.now(), incident_id="INC-RAW"))
    await handle.execute_update(Event.record_finding, finding(n=1))
    raw = stack.env.client.get_workflow_handle_for(Event.run, incident_workflow_id("INC-RAW"))  # no assertion
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await raw.execute_update(Event.record_finding, finding(by="cco", n=2))
    assert refusal_type(refused.value) == "actor_assertion_missing"
    state = await handle.query(Event.state)
    assert len(state.findings) == 1
    assert stack.types("INC-RAW").count("incident.finding_recorded") == 1
    assert all(e.actor != "user:cco" for e in stack.entries("INC-RAW"))
    # Not wedged: the same step, vouched for, is recorded next.
    state = await handle.execute_update(Event.record_finding, finding(by="cco", n=2))
    assert len(state.findings) == 2
    (second,) = [e for e in stack.entries("INC-RAW") if e.type == "incident.finding_recorded" and e.actor == "user:cco"]
    stack.verify()


@pytest.mark.parametrize(
    ("kind", "rule"),
    [
        ("untrusted key", "actor_assertion_untrusted"),
        ("someone else's assertion", "actor_assertion_mismatch"),
        ("another workflow's assertion", "actor_assertion_mismatch"),
        ("an expired assertion", "actor_assertion_expired"),
    ],
)
async def test_a_forged_or_replayed_assertion_is_refused(stack: Stack, kind: str, rule: str) -> None:
    incident_id = "INC-FORGED"
    handle = await stack.start(make_intake(await stack.now(), incident_id=incident_id))
    forged = forging_client(stack, kind).get_workflow_handle_for(Event.run, incident_workflow_id(incident_id))
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await forged.execute_update(Event.record_finding, finding(by="jdoe"))
    assert refusal_type(refused.value) == rule
    assert "incident.finding_recorded" not in stack.types(incident_id)
    state = await handle.execute_update(Event.record_finding, finding(by="jdoe"))
    assert len(state.findings) == 1


async def test_a_workflow_started_without_the_apis_assertion_records_nothing(stack: Stack) -> None:
    raw = await stack.env.client.start_workflow(
        Event.run,
        IncidentStart(intake=make_intake(await stack.now(), incident_id="INC-RAW-START"), notices=NOTICES, opened_by="jdoe"),
        id=incident_workflow_id("INC-RAW-START"),
        task_queue=stack.task_queue,
    )
    with pytest.raises(WorkflowFailureError) as failed:
        await asyncio.wait_for(raw.result(), 60)
    assert refusal_type(failed.value) == "actor_assertion_missing"
    assert stack.entries("INC-RAW-START") == []


async def test_a_waiver_signalled_straight_to_an_obligation_is_refused_and_the_obligation_stays_open(stack: Stack) -> None:
    from models.lifecycle import Determination

    handle = await stack.start(make_intake(await stack.now(), incident_id="INC-WAIVE"))
    state = await handle.execute_update(
        Event.determine, Determination(is_cybersecurity_event=True, decided_by="jdoe", reason="Unencrypted SSNs were exfiltrated.")
    )
    producer = next(o for o in state.obligations if o.obligation.kind.value == "producer_notice")
    child = stack.env.client.get_workflow_handle(producer.workflow_id)  # no assertion
    await child.signal(ObligationWorkflow.waive, Waiver(waived_by="cco", reason="Signalled around the API, unsigned."))
    await asyncio.sleep(1.0)
    assert not any(t.endswith(".waived") for t in stack.types("INC-WAIVE"))
    state = await handle.query(Event.state)
    assert next(o for o in state.obligations if o.obligation.obligation_id == producer.obligation.obligation_id).status is not ObligationStatus.WAIVED

    # The waiver taken through the event workflow (as the API sends it) is recorded, in the person's name.
    await handle.execute_update(
        Event.act_on_obligation,
        ObligationAction(obligation_id=producer.obligation.obligation_id, waiver=Waiver(waived_by="cco", reason="Agency notified by phone; log kept.")),
    )

    async def waived() -> list:
        return [e for e in stack.entries("INC-WAIVE") if e.type == "producer_notice.waived"]

    (entry,) = await eventually(waived)
    assert entry.actor == "user:cco"
    stack.verify()


async def test_a_closure_sent_around_the_api_is_refused_before_it_is_accepted_and_the_event_closes_later(stack: Stack) -> None:
    from models.lifecycle import CloseEvent, Determination, Stage

    handle = await stack.start(make_intake(await stack.now(), incident_id="INC-CLOSE"))
    state = await handle.execute_update(
        Event.determine, Determination(is_cybersecurity_event=True, decided_by="jdoe", reason="Unencrypted SSNs were exfiltrated.")
    )
    for ob in state.obligations:
        await handle.execute_update(Event.act_on_obligation, ObligationAction(
            obligation_id=ob.obligation.obligation_id, waiver=Waiver(waived_by="cco", reason="Handled outside noticeflow; file kept."),
        ))

    async def all_waived() -> bool:
        st = await handle.query(Event.state)
        return all(o.status is ObligationStatus.WAIVED for o in st.obligations)

    await eventually(all_waived)
    raw = stack.env.client.get_workflow_handle_for(Event.run, incident_workflow_id("INC-CLOSE"))
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await raw.execute_update(Event.close, CloseEvent(closed_by="cco", summary="Closed around the API."))
    assert refusal_type(refused.value) == "actor_assertion_missing"
    assert (await handle.query(Event.state)).stage is Stage.NOTIFYING
    await handle.execute_update(Event.close, CloseEvent(closed_by="cco", summary="All obligations waived with reasons."))
    result = await asyncio.wait_for(handle.result(), 60)
    assert result.stage is Stage.CLOSED
    (closed,) = [e for e in stack.entries("INC-CLOSE") if e.type == "incident.closed"]
    assert closed.actor == "user:cco"
