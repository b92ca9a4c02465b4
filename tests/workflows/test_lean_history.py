"""Patch ``lean-history`` (docs/workflows.md, "What each workflow costs in history events"): the
same steps and the same ledger, in fewer history events — ledger appends as local activities,
search attributes upserted only when they change, an obligation's state told once per workflow
task and not as its workflow returns (the event takes the returned state as told)."""

from __future__ import annotations

import asyncio

from temporalio.api.enums.v1 import EventType

from models.lifecycle import CloseEvent, Determination, ObligationAction, ObligationStatus, Stage, Waiver
from tests.workflows.conftest import Stack, eventually, make_intake
from workflows.incident import CybersecurityEventWorkflow as Event
from workflows.obligation_base import OBLIGATION_CHANGED_SIGNAL
from workflows.priorities import NOTICES

DETERMINED = Determination(is_cybersecurity_event=True, decided_by="jdoe", reason="Unencrypted SSNs were exfiltrated.")


def _upserts(events: list) -> list[dict[str, bytes]]:
    """noticeflow's search-attribute upserts (the SDK's own, ``TemporalChangeVersion`` for a patch,
    left out)."""
    upserts = [
        {k: v.data for k, v in e.upsert_workflow_search_attributes_event_attributes.search_attributes.indexed_fields.items()
         if k.startswith("Noticeflow")}
        for e in events if e.event_type == EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES
    ]
    return [u for u in upserts if u]


async def test_waived_obligations_are_ledgered_locally_tell_each_change_once_and_return_their_last_state(stack: Stack) -> None:
    handle = await stack.start(make_intake(await stack.now(), incident_id="INC-LEAN"))
    state = await handle.execute_update(Event.determine, DETERMINED)
    assert len(state.obligations) >= 3
    for ob in state.obligations:
        await handle.execute_update(Event.act_on_obligation, ObligationAction(
            obligation_id=ob.obligation.obligation_id, waiver=Waiver(waived_by="cco", reason="Handled outside noticeflow; file kept."),
        ))

    async def all_waived() -> bool:
        st = await handle.query(Event.state)
        return all(o.status is ObligationStatus.WAIVED for o in st.obligations)

    await eventually(all_waived)
    await handle.execute_update(Event.close, CloseEvent(closed_by="cco", summary="All obligations waived with reasons."))
    result = await asyncio.wait_for(handle.result(), 60)
    assert result.stage is Stage.CLOSED

    # Its obligation workflows were started behind a responder's steps (workflows/priorities.py):
    # priority key 4 each, where they used to inherit the event's.
    started = [e.start_child_workflow_execution_initiated_event_attributes
               for e in (await handle.fetch_history()).events
               if e.event_type == EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED]
    assert len(started) == len(result.obligations)
    assert {a.priority.priority_key for a in started} == {NOTICES.priority_key} == {4}

    # The event's copy of each obligation is the state its workflow returned — never signalled.
    assert {o.waiting_for for o in result.obligations} == {"nothing: done"}
    entries = stack.entries("INC-LEAN")
    for ob in result.obligations:
        events = (await stack.client.get_workflow_handle(ob.workflow_id).fetch_history()).events
        kinds = [e.event_type for e in events]
        # Every ledger entry of this workflow was a local activity: a marker, no scheduled activity.
        scheduled = [e.activity_task_scheduled_event_attributes.activity_type.name
                     for e in events if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED]
        assert "ledger_record" not in scheduled
        markers = [e for e in events if e.event_type == EventType.EVENT_TYPE_MARKER_RECORDED
                   and e.marker_recorded_event_attributes.marker_name == "core_local_activity"]
        own = [e for e in entries if e.workflow_id == ob.workflow_id]
        assert len(own) >= 2 and len(markers) >= len(own)  # at least one append per entry (an append may carry several)
        # Told: at most once per workflow task, and nothing in the task that returns.
        tells = [i for i, e in enumerate(events) if e.event_type == EventType.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED
                 and e.signal_external_workflow_execution_initiated_event_attributes.signal_name == OBLIGATION_CHANGED_SIGNAL]
        assert tells, ob.workflow_id
        last_task = max(i for i, k in enumerate(kinds) if k == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED)
        assert all(i < last_task for i in tells)
        task_of = [sum(1 for k in kinds[:i] if k == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED) for i in tells]
        assert len(task_of) == len(set(task_of)), f"two tells in one workflow task: {ob.workflow_id}"
        # Each search-attribute upsert changes a value.
        seen: dict[str, bytes] = {}
        for upsert in _upserts(events):
            assert any(seen.get(k) != v for k, v in upsert.items()), upsert
            seen.update(upsert)
        assert kinds[-1] == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED
    stack.verify()
