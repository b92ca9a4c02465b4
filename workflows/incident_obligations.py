"""Opening, grouping and steering the event's obligation workflows: one child workflow per
obligation the rules compute (``CHILD_WORKFLOWS``, by kind), obligations whose recipient is
provably the same met by one delivery (``_group_lead``), new facts reconciled against the
obligations already owed, material updates re-reported to the commissioners, and signals to the
children. Mixed into ``CybersecurityEventWorkflow`` (``workflows/incident.py``).

Moved here from ``workflows/incident.py`` unchanged: the commands these methods issue, and their
order, are those the saved histories recorded.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import Priority

with workflow.unsafe.imports_passed_through():
    from models.incident import IncidentIntake
    from models.lifecycle import MaterialUpdate, ObligationInput, ObligationState, ObligationStatus, Stage
    from models.obligation import Obligation, ObligationKind, ObligationsQuery, ObligationsResult
    from rules.cyber import compute_obligations
    from rules.jurisdictions import material_updates_citation

from workflows import priorities
from workflows.common import COMPUTE_OBLIGATIONS, LEAN_HISTORY
from workflows.incident_view import obligation_static_details, obligation_summary
from workflows.obligation_base import obligation_workflow_id
from workflows.refusals import refuse_input
from workflows.rules_call import call_rules

#: The workflow that runs each kind of obligation (``workflows/registry.py`` hosts them all).
CHILD_WORKFLOWS = {
    ObligationKind.COMMISSIONER_NOTICE: "CommissionerNoticeWorkflow",
    ObligationKind.CONSUMER_NOTICE: "ConsumerNoticeWorkflow",
    ObligationKind.PRODUCER_NOTICE: "ProducerNoticeWorkflow",
    ObligationKind.CEDING_INSURER_NOTICE: "CedingInsurerNoticeWorkflow",
    ObligationKind.ATTORNEY_GENERAL_NOTICE: "AttorneyGeneralNoticeWorkflow",
}

#: Patch id (``workflow.patched``, docs/temporal.md "Changing a workflow"): the obligations of a
#: determination (and of every later recomputation) come from the local activity
#: ``compute_obligations`` and are kept in the history, so a change to the rules never changes the
#: obligations an event already has on replay. Before it (release 2026-12-01) they were computed
#: inline, and replaying such an event recomputes them under the rules of the running worker.
OBLIGATIONS_RECORDED = "obligations-recorded"
#: Patch id: a determination's obligation workflows are started together, in one workflow task
#: (``_open_obligations``). Before it (release 2026-12-02 and earlier) one by one, each start
#: awaited before the next — a round trip to the server per obligation before the step answered.
CHILDREN_STARTED_TOGETHER = "children-started-together"


async def computed_obligations(intake: IncidentIntake, determined_at: datetime | None) -> ObligationsResult:
    """The obligations of ``intake`` determined at ``determined_at``: recorded in the history
    (``OBLIGATIONS_RECORDED``), or, replaying an event of the previous release, computed inline."""
    if workflow.patched(OBLIGATIONS_RECORDED):
        return await workflow.execute_local_activity(
            COMPUTE_OBLIGATIONS,
            ObligationsQuery(intake=intake, determined_at=determined_at),
            result_type=ObligationsResult,
            start_to_close_timeout=timedelta(seconds=30),
        )
    return call_rules(compute_obligations, intake, determined_at=determined_at)


class ObligationSteps:
    """The event workflow's handling of its obligations (the attributes below are set by
    ``CybersecurityEventWorkflow.__init__``)."""

    _stage: Stage
    _start: Any
    _intake: IncidentIntake
    _determined_at: Any
    _domicile: str
    _obligations: dict[str, ObligationState]
    _children: dict[str, workflow.ChildWorkflowHandle]
    obligation_changed: Any  # the event workflow's signal handler (workflows/incident.py)
    _delivered_with: dict[str, str]
    _findings: list[Any]
    _amendment_log: list[Any]
    _not_applicable: list[Any]
    _roster_id: str | None
    _responders: Any
    _updates_made: int
    _closed_at: Any

    def _refuse_dropped_obligations(self, amended: IncidentIntake, field: str) -> None:
        if self._stage is not Stage.NOTIFYING:
            return
        before = {o.obligation_id for o in call_rules(compute_obligations, self._intake, determined_at=self._determined_at).obligations}
        after = {o.obligation_id for o in call_rules(compute_obligations, amended, determined_at=self._determined_at).obligations}
        dropped = sorted(before - after)
        if dropped:
            raise refuse_input(
                "obligation_cannot_be_dropped", field,
                "a change to the event cannot remove obligations already owed; waive them with a reason instead: "
                + ", ".join(dropped),
                citation=call_rules(material_updates_citation, self._domicile),
            )

    async def _reconcile_obligations(self) -> None:
        """Open obligations the new facts add; move deadlines the new facts move."""
        result = await computed_obligations(self._intake, self._determined_at)
        for obligation in result.obligations:
            known = self._obligations.get(obligation.obligation_id)
            if known is None:
                await self._open_obligation(obligation)
            elif not known.status.resolved and obligation.due != known.due:
                await self._signal(obligation.obligation_id, "reschedule", obligation)
            elif not known.status.resolved and obligation.recipient_name != known.obligation.recipient_name:
                await self._signal(obligation.obligation_id, "restated", obligation)
                restated = known.obligation.model_copy(update={"recipient_name": obligation.recipient_name})
                self._obligations[obligation.obligation_id] = known.model_copy(update={"obligation": restated})

    async def _material_update(
        self, summary: str, changes: list[str], recorded_by: str, *, step: str, only_state: str | None = None
    ) -> None:
        """Re-report to every commissioner owed a report (or only ``only_state``'s). ``step`` names
        the step that caused it: a commissioner's workflow files one updated report per step, and
        coalesces the steps that arrive while it is filing into the next one."""
        self._updates_made += 1
        for obligation_id, state in self._obligations.items():
            ob = state.obligation
            if ob.kind is not ObligationKind.COMMISSIONER_NOTICE or (only_state and ob.jurisdiction != only_state):
                continue
            if obligation_id in self._delivered_with:
                continue
            consumer = [
                st for st in self._obligations.values()
                if st.obligation.kind is ObligationKind.CONSUMER_NOTICE and st.obligation.jurisdiction == ob.jurisdiction
            ]
            update = MaterialUpdate(
                sequence=self._updates_made, step=step, summary=summary, changes=changes, recorded_by=recorded_by,
                intake=self._intake, findings=list(self._findings), amendments=list(self._amendment_log),
                not_applicable=list(self._not_applicable),
                consumer_obligations=[st.obligation for st in consumer],
                consumer_notice_documents=[d for st in consumer for d in st.documents],
                roster_id=self._roster_id,
            )
            await self._signal(obligation_id, "material_update", update)

    async def _signal(self, obligation_id: str, name: str, arg: object = None) -> None:
        """Signal an obligation's workflow that is still running; one that has finished (met,
        waived or excused, and not reporting updates) has nothing left to hear."""
        state = self._obligations[obligation_id]
        if state.status.resolved and not (state.obligation.continuing_updates and self._closed_at is None):
            return
        handle = self._children[obligation_id]
        try:
            if arg is None:
                await handle.signal(name)
            else:
                await handle.signal(name, arg)
        except Exception as exc:  # it finished between our look and the signal
            workflow.logger.info("obligation workflow not reachable", extra={"obligation_id": obligation_id, "error": str(exc)})

    async def _signal_each(self, signals: list[tuple[str, str, object]]) -> None:
        """Signal several obligations' workflows (``(obligation_id, name, arg)``): since patch
        ``lean-history`` all in one workflow task (one round trip to the server, whatever their
        number), before it one after another (a round trip each — what kept a roster step waiting
        behind eight children when the worker was busy)."""
        if workflow.patched(LEAN_HISTORY):
            await asyncio.gather(*(self._signal(obligation_id, name, arg) for obligation_id, name, arg in signals))
            return
        for obligation_id, name, arg in signals:
            await self._signal(obligation_id, name, arg)

    def _group_lead(self, obligation: Obligation) -> str | None:
        """The open obligation whose delivery also meets this one, if any. Only deliveries whose
        recipients are provably the same may be shared — one commissioner owed one filing under
        several states' laws, the same ceding insurers. Producers of record never: each state's
        obligation owes the producers of that state's affected consumers (§ 56-2-1006(f)), and a
        delivery made for one state's consumers does not reach the others'."""
        if obligation.kind is ObligationKind.PRODUCER_NOTICE:
            return None
        for oid, state in self._obligations.items():
            ob = state.obligation
            if ob.kind is obligation.kind and ob.recipient_key == obligation.recipient_key and oid not in self._delivered_with and not ob.excused:
                return oid
        return None

    async def _open_obligations(self, obligations: list[Obligation]) -> None:
        """Open a determination's obligations. Since ``CHILDREN_STARTED_TOGETHER`` every child is
        registered first (so each finds the lead whose delivery it shares, in order), then all are
        started in one workflow task: the step answers after one round trip to the server, not one
        per obligation. Before it (release 2026-12-02 and earlier) they were started one by one."""
        if not workflow.patched(CHILDREN_STARTED_TOGETHER):
            for obligation in obligations:
                await self._open_obligation(obligation)
            return
        planned = [(obligation, self._register_obligation(obligation)) for obligation in obligations]
        handles = await asyncio.gather(*(self._start_obligation(obligation, lead) for obligation, lead in planned))
        for (obligation, _), handle in zip(planned, handles, strict=True):
            self._children[obligation.obligation_id] = self._watched(obligation.obligation_id, handle)

    def _register_obligation(self, obligation: Obligation) -> str | None:
        """The obligation known to the event, with the lead whose delivery meets it (if any)."""
        lead = None if obligation.excused else self._group_lead(obligation)
        if lead is not None:
            self._delivered_with[obligation.obligation_id] = lead
        self._obligations[obligation.obligation_id] = self._starting_state(obligation)
        return lead

    def _starting_state(self, obligation: Obligation) -> ObligationState:
        return ObligationState(
            obligation=obligation, workflow_id=obligation_workflow_id(obligation.obligation_id),
            status=ObligationStatus.EXCUSED if obligation.excused else ObligationStatus.PENDING,
            due=obligation.due, waiting_for="starting", method=obligation.method,
        )

    async def _open_obligation(self, obligation: Obligation) -> None:
        """One obligation opened alone (a later step's new obligation, or the path before
        ``CHILDREN_STARTED_TOGETHER``): its child started, then the obligation known to the event."""
        lead = None if obligation.excused else self._group_lead(obligation)
        if lead is not None:
            self._delivered_with[obligation.obligation_id] = lead
        self._children[obligation.obligation_id] = self._watched(
            obligation.obligation_id, await self._start_obligation(obligation, lead))
        self._obligations[obligation.obligation_id] = self._starting_state(obligation)

    def _watched(self, obligation_id: str, handle: Any) -> Any:
        """``handle``, whose final state (the run's result) is taken as if the obligation's
        workflow had signalled it: since patch ``lean-history`` it does not signal what it returns
        (``ObligationWorkflow._tell_parent``). A run on the old path signalled its final state
        before returning, so the result changes nothing there and issues no command."""

        def returned(done: Any) -> None:
            if done.cancelled() or done.exception() is not None:
                return
            state = done.result()
            if isinstance(state, ObligationState) and state != self._obligations.get(obligation_id):
                self.obligation_changed(state)

        handle.add_done_callback(returned)
        return handle

    async def _start_obligation(self, obligation: Obligation, lead: str | None) -> Any:
        child_id = obligation_workflow_id(obligation.obligation_id)
        return await workflow.start_child_workflow(
            CHILD_WORKFLOWS[obligation.kind],
            ObligationInput(
                incident_id=self._intake.incident_id,
                parent_workflow_id=workflow.info().workflow_id,
                obligation=obligation,
                intake=self._intake,
                notices=self._start.notices,
                findings=list(self._findings),
                amendments=list(self._amendment_log),
                not_applicable=list(self._not_applicable),
                roster_id=self._roster_id,
                reminder_offsets=self._start.reminder_offsets,
                delivered_with=lead,
                responders=self._responders,
            ),
            id=child_id,
            result_type=ObligationState,
            task_queue=workflow.info().task_queue,
            # Since ``lean-history``: behind the event's own steps when the workers are behind
            # (workflows/priorities.py); before it the child inherited the event's priority.
            priority=priorities.NOTICES if workflow.patched(LEAN_HISTORY) else Priority.default,
            static_summary=obligation_summary(obligation, self._intake.incident_id),
            static_details=obligation_static_details(obligation),
        )
