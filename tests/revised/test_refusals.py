"""Refused marks of the revised-notice lifecycle (returned mail, 28 TAC § 22.13(a);
acknowledgements, § 22.13(b)(3)), on the time-skipping server with a real worker, ledger and
privacy store.

A refused batch of marks is typed (the ``ApplicationError``'s type is the rule id, its details
name the field), changes no count, no delivery and no ledger entry; a batch the ledger refuses
leaves the lifecycle able to take the next; two batches under one ``batch_ref`` at once make one
ledger entry and one typed refusal.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError

from models.ledger import EntryDraft
from models.privacy_lifecycle import DeliveryStatus
from models.revised_notice import MarkDeliveries, RevisedPhase, revised_notice_id, revised_stream
from tests.revised.conftest import Population, SmtpServer, Stack, eventually, relationship_id
from workflows.refusals import refusal_details
from workflows.revised_notice import RevisedNoticeWorkflow as W

NOTICE = revised_notice_id("v2")
N = 4


def key(i: int) -> str:
    return f"{relationship_id(i)}/{NOTICE}"


def returned(*keys: str, batch_ref: str = "returns-1", **extra: Any) -> MarkDeliveries:
    return MarkDeliveries.model_validate(
        {"delivery_keys": list(keys), "status": "returned", "recorded_by": "mailroom", "batch_ref": batch_ref, **extra}
    )


async def _delivered(stack: Stack) -> tuple[Population, WorkflowHandle]:
    pop = Population(stack)
    pop.register(N, email_every=0)
    handle = await pop.start(batch_size=N)

    async def waiting() -> Any:
        state = await pop.progress(handle)
        return state if state.phase is RevisedPhase.WAITING_FOR_WINDOWS else None

    await eventually(waiting, timeout=60)
    return pop, handle


async def _snapshot(pop: Population, handle: WorkflowHandle) -> dict[str, Any]:
    return {
        "progress": (await pop.progress(handle)).model_dump(mode="json"),
        "ledger": [e.seq for e in pop.entries()],
        "deliveries": [pop.store.get_delivery(key(i)).model_dump(mode="json") for i in range(N)],  # type: ignore[union-attr]
    }


async def refused(pop: Population, handle: WorkflowHandle, marks: MarkDeliveries, rule_id: str, field: str | None) -> None:
    before = await _snapshot(pop, handle)
    with pytest.raises(WorkflowUpdateFailedError) as err:
        await handle.execute_update(W.mark_deliveries, marks)
    cause = err.value.cause
    assert isinstance(cause, ApplicationError) and cause.type == rule_id, cause
    details = refusal_details(cause)
    assert details is not None and details["field"] == field, details
    assert await _snapshot(pop, handle) == before


async def test_refused_marks_are_typed_change_nothing_and_ledger_nothing_22_13(stack: Stack, smtp_server: SmtpServer) -> None:
    pop, handle = await _delivered(stack)
    now = await stack.now()
    await refused(pop, handle, returned(key(0), f"{relationship_id(1)}/annual-2025"), "delivery_key_of_another_notice", "delivery_keys[1]")
    await refused(pop, handle, returned(key(0), at=(now + timedelta(days=2)).isoformat()), "time_in_future", "at")
    # batch_ref is ledgered (in the step key): no SSN-shaped file name.
    await refused(pop, handle, returned(key(0), batch_ref="078-05-1120"), "npi_in_free_text", "batch_ref")

    first = await handle.execute_update(W.mark_deliveries, returned(key(1)))
    assert (first.marked, first.returned_total) == (1, 1)
    await refused(pop, handle, returned(key(2)), "batch_ref_already_used", "batch_ref")
    await refused(pop, handle, returned(key(1), recorded_by="someone-else"), "batch_ref_already_used", "batch_ref")
    before = await _snapshot(pop, handle)
    again = await handle.execute_update(W.mark_deliveries, returned(key(1)))  # the same file of returns, sent again
    assert (again.marked, again.already, again.returned_total) == (0, 1, 1)
    assert (await _snapshot(pop, handle))["ledger"] == before["ledger"]
    assert pop.types().count("revised_notice.returned") == 1
    await handle.terminate(reason="test over")
    stack.verify()


async def test_two_batches_under_one_batch_ref_at_once_make_one_entry_and_one_typed_refusal(
    stack: Stack, smtp_server: SmtpServer
) -> None:
    pop, handle = await _delivered(stack)
    results = await asyncio.gather(
        handle.execute_update(W.mark_deliveries, returned(key(1), batch_ref="returns-2")),
        handle.execute_update(W.mark_deliveries, returned(key(2), batch_ref="returns-2")),
        return_exceptions=True,
    )
    failed = [r for r in results if isinstance(r, WorkflowUpdateFailedError)]
    assert len(failed) == 1 and getattr(failed[0].cause, "type", None) == "batch_ref_already_used"
    assert pop.types().count("revised_notice.returned") == 1
    statuses = [pop.store.get_delivery(key(i)).status for i in (1, 2)]  # type: ignore[union-attr]
    assert sorted(statuses) == sorted([DeliveryStatus.RETURNED, DeliveryStatus.SENT])
    assert (await pop.progress(handle)).counts.returned == 1
    await handle.terminate(reason="test over")
    stack.verify()


async def test_a_batch_the_ledger_refuses_changes_nothing_and_the_next_batch_is_recorded_22_13_a(
    stack: Stack, smtp_server: SmtpServer
) -> None:
    pop, handle = await _delivered(stack)
    # The ledger already holds this batch's step with other content (an earlier run's marks).
    stack.ledger.append(EntryDraft(
        stream=revised_stream("v1", "v2"), type="revised_notice.returned", step=f"{handle.id}/marks/returned/returns-3",
        actor="worker", data={"note": "recorded by an earlier run"},
    ))
    await refused(pop, handle, returned(key(1), batch_ref="returns-3"), "batch_ref_already_used", "batch_ref")
    assert pop.store.get_delivery(key(1)).status is DeliveryStatus.SENT  # type: ignore[union-attr]
    result = await handle.execute_update(W.mark_deliveries, returned(key(1), batch_ref="returns-4"))
    assert (result.marked, result.returned_total) == (1, 1)
    assert (await pop.progress(handle)).counts.returned == 1
    await handle.terminate(reason="test over")
    stack.verify()
