"""The lifecycle every notice obligation shares: opened → reminders → met, or overdue → met late,
or waived — each step ledgered with the obligation's rule.

A concrete obligation workflow (commissioner, consumer, producer, ceding insurer) subclasses
``ObligationWorkflow``, defines its ``@workflow.run`` as ``return await self._lifecycle(self._work)``
and puts its automated steps in ``_work``. A missed deadline is never dropped: the workflow
records ``<kind>.overdue`` with the rule, turns the ``NoticeflowOverdue`` search attribute on,
and stays overdue until the notice is given (``<kind>.met_late``) or waived with a reason.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from models.lifecycle import (
        DeliveryCounts,
        ManualCompletion,
        ObligationInput,
        ObligationState,
        ObligationStatus,
        Waiver,
    )
    from models.obligation import Obligation

from workflows import search_attributes as sa
from workflows.common import iso, markdown_deadline, record

OBLIGATION_CHANGED_SIGNAL = "obligation_changed"


def obligation_workflow_id(obligation_id: str) -> str:
    """``obligation-<obligation_id>``: names the incident, kind, state and recipient, no person."""
    return f"obligation-{obligation_id}"


class ObligationWorkflow:
    """Shared state, signals, queries and deadline handling of the notice workflows."""

    @workflow.init
    def __init__(self, inp: ObligationInput) -> None:
        self._inp = inp
        self._obligation: Obligation = inp.obligation
        self._status = ObligationStatus.EXCUSED if inp.obligation.excused else ObligationStatus.PENDING
        self._due: datetime = inp.obligation.due
        self._met_at: datetime | None = None
        self._waiver: Waiver | None = None
        self._pending_waiver: Waiver | None = None
        self._pending_completion: ManualCompletion | None = None
        self._reminded: set[str] = set()
        self._reminders_sent = 0
        self._due_changed = False
        self._reschedules = 0
        self._event_closed = False
        self._waiting_for = "starting"
        self._documents: list[str] = []
        self._deliveries = DeliveryCounts()
        self._updates_sent = 0
        self._busy = 0
        self._resolving = False
        self._automation_failures = 0
        self._sibling: ObligationState | None = None

    # -- what the parent and operators see ---------------------------------------------------

    @workflow.query
    def state(self) -> ObligationState:
        return ObligationState(
            obligation=self._obligation,
            workflow_id=workflow.info().workflow_id,
            status=self._status,
            due=self._due,
            waiting_for=self._waiting_for,
            method=self._obligation.method,
            met_at=self._met_at,
            documents=list(self._documents),
            deliveries=self._deliveries,
            updates_sent=self._updates_sent,
            reminders_sent=self._reminders_sent,
            waiver=self._waiver,
        )

    # -- signals from the event workflow (validated there, as updates) -------------------------

    @workflow.signal
    def reschedule(self, obligation: Obligation) -> None:
        """The event changed (e.g. a documented law-enforcement delay): a new due instant."""
        if obligation.due != self._due:
            self._obligation = obligation
            self._due = obligation.due
            self._due_changed = True

    @workflow.signal
    def waive(self, waiver: Waiver) -> None:
        if not self._status.resolved and self._pending_waiver is None:
            self._pending_waiver = waiver

    @workflow.signal
    def complete_manually(self, completion: ManualCompletion) -> None:
        if not self._status.resolved and self._pending_completion is None:
            self._pending_completion = completion

    @workflow.signal
    def event_closed(self) -> None:
        self._event_closed = True

    @workflow.signal
    def sibling_met(self, sibling: ObligationState) -> None:
        """The obligation this one is delivered with was met: so is this one, by the same delivery."""
        self._sibling = sibling

    # -- the lifecycle ------------------------------------------------------------------------

    @property
    def _kind(self) -> str:
        return self._obligation.kind.value

    @property
    def _stream(self) -> str:
        return f"incident:{self._inp.incident_id}"

    async def _record(self, event: str, step: str, *, actor: str = "worker", data: dict | None = None) -> None:
        self._busy += 1
        try:
            await record(
                self._stream,
                f"{self._kind}.{event}",
                step,
                jurisdiction=self._obligation.jurisdiction,
                citation=self._obligation.citation,
                actor=actor,
                data={"obligation_id": self._obligation.obligation_id, **(data or {})},
            )
        finally:
            self._busy -= 1

    async def _lifecycle(self, work: Callable[[], Awaitable[None]]) -> ObligationState:
        ob = self._obligation
        await self._record(
            "opened",
            "opened",
            data={
                "recipient": ob.recipient.value,
                "due": iso(ob.due),
                "clock_starts_at": iso(ob.clock_starts_at),
                "clock_start": ob.clock_start.value,
                "basis": ob.basis,
                "rule_id": ob.rule_id,
                "method": ob.method.value if ob.method else None,
                "needs_counsel_review": ob.needs_counsel_review,
                "counsel_review_reasons": list(ob.counsel_review_reasons),
            },
        )
        if self._status is ObligationStatus.EXCUSED:
            self._waiting_for = f"nothing: excused — {ob.excused_reason}"
            await self._record("excused", "excused", data={"reason": ob.excused_reason})
            await self._publish()
            return self.state()

        await self._publish()
        watcher = asyncio.create_task(self._watch_deadline())
        resolver = asyncio.create_task(self._resolve_by_people())
        worker = asyncio.create_task(self._guarded(self._with_sibling if self._inp.delivered_with else work))
        await workflow.wait_condition(lambda: self._status.resolved)
        if ob.continuing_updates:
            self._waiting_for = "material updates to report, until the event is closed"
            await self._publish()
            await workflow.wait_condition(lambda: self._event_closed)
        await workflow.wait_condition(
            lambda: self._busy == 0 and not self._work_pending() and workflow.all_handlers_finished()
        )
        for task in (watcher, resolver, worker):
            if not task.done():
                task.cancel()
        self._waiting_for = "nothing: done"
        await self._publish()
        return self.state()

    async def _with_sibling(self) -> None:
        """Obligations sharing a recipient are met by one delivery (the earliest due governs)."""
        self._waiting_for = f"the delivery made for {self._inp.delivered_with}"
        await self._publish()
        await workflow.wait_condition(lambda: self._status.resolved or self._sibling is not None)
        sibling = self._sibling
        if sibling is None or sibling.met_at is None:
            return
        self._documents.extend(sibling.documents)
        await self._met(
            sibling.met_at,
            data={"delivered_with": self._inp.delivered_with, "documents": [d.sha256 for d in sibling.documents][:20]},
        )

    def _work_pending(self) -> bool:
        """Work accepted but not yet done, that must finish before the workflow ends."""
        return False

    async def _guarded(self, work: Callable[[], Awaitable[None]]) -> None:
        """Run the automated steps; if they fail for good, record it and leave the obligation
        open for a person to complete or waive — the deadline keeps running."""
        try:
            await work()
        except ActivityError as err:
            cause = err.cause
            message = cause.message if isinstance(cause, ApplicationError) else str(cause or err)
            self._automation_failures += 1
            self._waiting_for = f"a person: automated delivery failed ({message}); complete manually or waive"
            await self._record(
                "automation_failed", f"automation-failed/{self._automation_failures}", data={"error": message[:500]}
            )
            await self._publish()

    async def _met(self, at: datetime, *, actor: str = "worker", data: dict | None = None) -> None:
        """Record the notice as given at ``at`` — late when after the due instant."""
        if self._status.resolved or self._resolving:
            return
        self._resolving = True
        late = at > self._due
        payload = {"met_at": iso(at), "due": iso(self._due), **(data or {})}
        if late:
            payload["late_by_seconds"] = int((at - self._due).total_seconds())
        await self._record("met_late" if late else "met", "met", actor=actor, data=payload)
        self._status = ObligationStatus.MET_LATE if late else ObligationStatus.MET
        self._met_at = at
        await self._publish()

    async def _resolve_by_people(self) -> None:
        await workflow.wait_condition(
            lambda: self._status.resolved or self._pending_waiver is not None or self._pending_completion is not None
        )
        if self._status.resolved:
            return
        if self._pending_waiver is not None:
            if self._resolving:
                return
            self._resolving = True
            waiver = self._pending_waiver
            await self._record("waived", "waived", actor=f"user:{waiver.waived_by}", data={"reason": waiver.reason})
            self._status = ObligationStatus.WAIVED
            self._waiver = waiver
            await self._publish()
            return
        completion = self._pending_completion
        assert completion is not None
        await self._met(
            completion.completed_at or workflow.now(),
            actor=f"user:{completion.completed_by}",
            data={"manual": True, "evidence": completion.evidence, "evidence_sha256": completion.evidence_sha256},
        )

    async def _watch_deadline(self) -> None:
        while not self._status.resolved:
            now = workflow.now()
            due = self._due
            self._due_changed = False
            if now >= due:
                if self._status is ObligationStatus.PENDING:
                    self._status = ObligationStatus.OVERDUE
                    await self._record(
                        "overdue",
                        f"overdue/{iso(due)}",
                        data={"due": iso(due), "basis": self._obligation.basis},
                    )
                    await self._publish()
                await workflow.wait_condition(lambda: self._status.resolved or self._due_changed)
                if self._due_changed and self._status is ObligationStatus.OVERDUE and self._due > workflow.now():
                    self._status = ObligationStatus.PENDING
                if self._due_changed:
                    await self._record_reschedule()
                continue
            reminders = sorted(
                (due - offset, offset)
                for offset in self._inp.reminder_offsets
                if due - offset > now and f"{iso(due)}-{offset}" not in self._reminded
            )
            target, offset = reminders[0] if reminders else (due, None)
            try:
                await workflow.wait_condition(
                    lambda: self._status.resolved or self._due_changed, timeout=target - now
                )
            except asyncio.TimeoutError:
                if offset is not None:
                    await self._remind(due, offset)
                continue
            if self._due_changed:
                await self._record_reschedule()

    async def _record_reschedule(self) -> None:
        self._reschedules += 1
        ob = self._obligation
        await self._record(
            "rescheduled",
            f"rescheduled/{self._reschedules}",
            data={
                "due": iso(self._due),
                "law_enforcement_delay_until": iso(ob.law_enforcement_delay_until)
                if ob.law_enforcement_delay_until
                else None,
            },
        )
        await self._publish()

    async def _remind(self, due: datetime, offset: timedelta) -> None:
        self._reminded.add(f"{iso(due)}-{offset}")
        self._reminders_sent += 1
        hours = int(offset.total_seconds() // 3600)
        await self._record(
            "reminder",
            f"reminder/{iso(due)}/{int(offset.total_seconds())}",
            data={"due": iso(due), "hours_before": hours, "waiting_for": self._waiting_for},
        )
        workflow.logger.warning(
            "deadline approaching", extra={"obligation_id": self._obligation.obligation_id, "hours_before": hours}
        )
        await self._publish()

    async def _publish(self) -> None:
        """Search attributes, the UI's current details, and the event workflow's copy of our state."""
        unresolved = not self._status.resolved
        workflow.upsert_search_attributes(
            [
                sa.INCIDENT_ID.value_set(self._inp.incident_id),
                sa.OBLIGATION_KIND.value_set(self._kind),
                sa.JURISDICTIONS.value_set([self._obligation.jurisdiction]),
                sa.STAGE.value_set(self._status.value),
                sa.OVERDUE.value_set(self._status is ObligationStatus.OVERDUE),
                sa.NEXT_DEADLINE.value_set(self._due) if unresolved else sa.NEXT_DEADLINE.value_unset(),
            ]
        )
        ob = self._obligation
        lines = [
            f"**{self._kind.replace('_', ' ')}** — {ob.jurisdiction}, to {ob.recipient_name}",
            f"- status: **{self._status.value}**",
            f"- due: {markdown_deadline(self._due)} ({ob.citation})",
            f"- waiting for: {self._waiting_for}",
        ]
        if ob.needs_counsel_review:
            lines.append(f"- needs counsel review: {'; '.join(ob.counsel_review_reasons)}")
        workflow.set_current_details("\n".join(lines))
        parent = workflow.get_external_workflow_handle(self._inp.parent_workflow_id)
        self._busy += 1
        try:
            await parent.signal(OBLIGATION_CHANGED_SIGNAL, self.state())
        except Exception as exc:  # the event workflow already finished: nothing to tell it
            workflow.logger.info("event workflow not reachable", extra={"error": str(exc)})
        finally:
            self._busy -= 1
