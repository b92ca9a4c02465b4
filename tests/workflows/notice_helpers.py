"""Start one obligation's workflow on its own (no event workflow above it) and watch it: the
producer- and consumer-notice tests drive their workflows directly, on the real worker, ledger and
SMTP server of ``tests/workflows/conftest.py``."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from temporalio.client import WorkflowHandle

from models.incident import IncidentIntake
from models.lifecycle import NoticeSetup, ObligationInput, ObligationState
from models.obligation import Obligation
from rules import compute_obligations
from tests.workflows.conftest import Stack, eventually, make_intake
from workflows.obligation_base import obligation_workflow_id


def affected(state: str, consumers: int, **overrides: Any) -> dict[str, Any]:
    row = {"state": state, "consumers": consumers, "material_harm_likely": True, "other_government_notice_required": False,
           "with_email": 0, "without_contact": 0, "producers_of_record_known": True}
    row.update(overrides)
    return row


def event(now: datetime, incident_id: str, rows: list[dict[str, Any]]) -> IncidentIntake:
    return make_intake(now, incident_id=incident_id, affected=rows, determined_at=now.isoformat())


def obligation_for(intake: IncidentIntake, kind: str, state: str) -> Obligation:
    (found,) = [o for o in compute_obligations(intake).obligations if o.kind.value == kind and o.jurisdiction == state]
    return found


async def start_obligation(
    stack: Stack, intake: IncidentIntake, ob: Obligation, notices: NoticeSetup, *, roster_id: str | None
) -> WorkflowHandle:
    workflow = {"producer_notice": "ProducerNoticeWorkflow", "consumer_notice": "ConsumerNoticeWorkflow"}[ob.kind.value]
    return await stack.client.start_workflow(
        workflow,
        ObligationInput(
            incident_id=intake.incident_id,
            # No event workflow runs above it in these tests: its state updates go nowhere.
            parent_workflow_id=f"no-event-{intake.incident_id}",
            obligation=ob,
            intake=intake,
            notices=notices,
            roster_id=roster_id,
        ),
        id=obligation_workflow_id(ob.obligation_id),
        task_queue=stack.task_queue,
    )


async def state_of(handle: WorkflowHandle) -> ObligationState:
    return await handle.query("state", result_type=ObligationState)


async def until(handle: WorkflowHandle, predicate: Any, timeout: float = 60.0) -> ObligationState:
    async def check() -> ObligationState | None:
        st = await state_of(handle)
        return st if predicate(st) else None

    check.__name__ = f"{handle.id} reaches the expected state"
    return await eventually(check, timeout=timeout)


async def until_confirmed(stack: Stack, *handles: WorkflowHandle, window: timedelta = timedelta(days=3, hours=1)) -> list[ObligationState]:
    """E-mailed notices: each one sent, then the bounce window (NOTICEFLOW_BOUNCE_WINDOW_DAYS, 3 days)
    passes on the test server's clock with no bounce recorded — and each is resolved."""
    for handle in handles:
        await until(handle, lambda st: st.sent_at is not None or st.status.resolved)
    await stack.skip(window)
    return [await until(handle, lambda st: st.status.resolved) for handle in handles]


def entries(stack: Stack, incident_id: str, type_: str, obligation_id: str) -> list[dict[str, Any]]:
    return [e.data for e in stack.entries(incident_id) if e.type == type_ and e.data.get("obligation_id") == obligation_id]
