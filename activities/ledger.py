"""The ledger as a Temporal activity: every workflow step is recorded through here.

The step key is ``<workflow_id>/<step>`` taken from the activity's own context, so it is the
same on every retry and every replay, and the ledger records the step exactly once.

A step in a person's name is recorded only under a valid actor assertion for that person
(``ledger/actor_assertions.py``): the API signs one for every caller it authenticated, so a
step sent straight to Temporal's frontend — or scheduled by anything posing as a worker —
cannot put someone else's name in the ledger.
"""

from __future__ import annotations

import asyncio

from temporalio import activity
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.workflowservice.v1 import DescribeWorkflowExecutionRequest
from temporalio.exceptions import ApplicationError

from ledger.actor_assertions import AssertionRefused, AssertionVerifier
from ledger.errors import NPIError, StepConflictError
from ledger.store import Ledger
from models.authority import SYSTEM_ACTOR
from models.ledger import EntryDraft, LedgerStep, RecordedStep


class LedgerActivities:
    def __init__(self, ledger: Ledger, verifier: AssertionVerifier) -> None:
        self._ledger = ledger
        self._verifier = verifier

    @activity.defn(name="ledger_record")
    async def record(self, steps: list[LedgerStep]) -> list[RecordedStep]:
        """Record the workflow's steps in one transaction, in order."""
        info = activity.info()
        for s in steps:
            if s.actor != SYSTEM_ACTOR:
                await self._vouched_for(s)
        drafts = [
            EntryDraft(
                stream=s.stream,
                type=s.type,
                step=f"{info.workflow_id}/{s.step}",
                workflow_id=info.workflow_id,
                run_id=info.workflow_run_id,
                jurisdiction=s.jurisdiction,
                citation=s.citation,
                actor=s.actor,
                data=s.data,
            )
            for s in steps
        ]
        try:
            entries = await asyncio.to_thread(self._ledger.append_many, drafts)
        except (StepConflictError, NPIError) as exc:
            # Retrying cannot fix either: a recorded step is never overwritten, and NPI never enters.
            raise ApplicationError(str(exc), type=type(exc).__name__, non_retryable=True) from exc
        return [RecordedStep(seq=e.seq, hash=e.hash, step=e.step) for e in entries]

    async def _vouched_for(self, step: LedgerStep) -> None:
        """Refuse ``step`` (typed, not retried) unless its assertion vouches for its actor, for this
        workflow or the parent that forwarded the step to it."""
        info = activity.info()
        workflow_ids = {info.workflow_id}
        try:
            try:
                self._verifier.verify(step.assertion, actor=step.actor, workflow_ids=workflow_ids, accepted_at=step.accepted_at)
            except AssertionRefused as exc:
                if exc.rule_id != "actor_assertion_mismatch" or (parent := await _parent_of(info)) is None:
                    raise
                workflow_ids.add(parent)
                self._verifier.verify(step.assertion, actor=step.actor, workflow_ids=workflow_ids, accepted_at=step.accepted_at)
        except AssertionRefused as exc:
            activity.logger.warning(
                "step refused: actor not vouched for", extra={"rule_id": exc.rule_id, "step": step.step, "actor": step.actor}
            )
            details = {"rule_id": exc.rule_id, "category": "conflict", "field": "actor", "citation": None}
            raise ApplicationError(
                f"the ledger refused step {step.step!r} in the name of {step.actor!r}: {exc}", details,
                type=exc.rule_id, non_retryable=True,
            ) from None


async def _parent_of(info: activity.Info) -> str | None:
    """The id of the workflow that started this activity's workflow, asked of the Temporal server
    (the raw description: the parent is all that is needed, and no search attribute is decoded)."""
    client = activity.client()
    response = await client.workflow_service.describe_workflow_execution(
        DescribeWorkflowExecutionRequest(
            namespace=info.workflow_namespace,
            execution=WorkflowExecution(workflow_id=info.workflow_id, run_id=info.workflow_run_id),
        )
    )
    parent = response.workflow_execution_info.parent_execution.workflow_id
    return parent or None
