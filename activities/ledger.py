"""The ledger as a Temporal activity: every workflow step is recorded through here.

The step key is ``<workflow_id>/<step>`` taken from the activity's own context, so it is the
same on every retry and every replay, and the ledger records the step exactly once.
"""

from __future__ import annotations

import asyncio

from temporalio import activity
from temporalio.exceptions import ApplicationError

from ledger.errors import NPIError, StepConflictError
from ledger.store import Ledger
from models.ledger import EntryDraft, LedgerStep, RecordedStep


class LedgerActivities:
    def __init__(self, ledger: Ledger) -> None:
        self._ledger = ledger

    @activity.defn(name="ledger_record")
    async def record(self, steps: list[LedgerStep]) -> list[RecordedStep]:
        """Record the workflow's steps in one transaction, in order."""
        info = activity.info()
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
