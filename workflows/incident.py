"""One durable workflow per cybersecurity event, id ``incident-<incident_id>``, from intake to
closure (SPEC §3; Tenn. Code Ann. § 56-2-1006, RSMo § 375.1402).

intake → investigation (findings) → determination → obligations (one child workflow each) →
material updates while open → closure when every obligation is met or waived.

Responders act through validated updates: a step the rules forbid is refused with a message
naming the rule, and nothing is recorded. Every accepted step is written to the ledger first.
"""

from __future__ import annotations

import asyncio
from datetime import datetime

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from pydantic import ValidationError

    from models.incident import IncidentIntake
    from models.lifecycle import (
        ApproveConsumerNotice,
        AttachRoster,
        CloseEvent,
        Determination,
        EventAmendment,
        Finding,
        FindingKind,
        IncidentStart,
        IncidentState,
        MaterialUpdate,
        ObligationAction,
        ObligationInput,
        ObligationState,
        ObligationStatus,
        Stage,
    )
    from models.incident import EventSource
    from models.obligation import Obligation, ObligationKind
    from rules.cyber import compute_obligations
    from rules.lifecycle import (
        CITE_LAW_ENFORCEMENT_DELAY,
        CITE_RETENTION,
        amend_intake,
        describe_changes,
        determination_problem,
        law_enforcement_delay_active,
        retain_until,
    )

from workflows import search_attributes as sa
from workflows.common import iso, markdown_deadline, record
from workflows.obligation_base import OBLIGATION_CHANGED_SIGNAL, obligation_workflow_id
from workflows.rules_call import call_rules

CHILD_WORKFLOWS = {
    ObligationKind.COMMISSIONER_NOTICE: "CommissionerNoticeWorkflow",
    ObligationKind.CONSUMER_NOTICE: "ConsumerNoticeWorkflow",
    ObligationKind.PRODUCER_NOTICE: "ProducerNoticeWorkflow",
    ObligationKind.CEDING_INSURER_NOTICE: "CedingInsurerNoticeWorkflow",
}

CITE_EVENT = "RSMo § 375.1402(3)"
CITE_CONSUMER_NOTICE = "Tenn. Code Ann. § 56-2-1006(c)"


def incident_workflow_id(incident_id: str) -> str:
    return f"incident-{incident_id}"


def _intake_summary(intake: IncidentIntake) -> dict:
    """The intake as the ledger records it: facts and counts, no NPI."""
    return {
        "licensee": {"name": intake.licensee.name, "naic_code": intake.licensee.naic_code, "kind": intake.licensee.kind.value},
        "source": intake.source.value,
        "discovered_at": iso(intake.discovered_at),
        "tpsp_notified_at": iso(intake.tpsp_notified_at) if intake.tpsp_notified_at else None,
        "actual_knowledge_at": iso(intake.actual_knowledge_at) if intake.actual_knowledge_at else None,
        "data_elements": [e.value for e in intake.data_elements],
        "encrypted": intake.encrypted,
        "key_compromised": intake.key_compromised,
        "returned_or_destroyed_unused": intake.returned_or_destroyed_unused,
        "affected_consumers": {row.state: row.consumers for row in intake.affected},
    }


@workflow.defn(name="CybersecurityEventWorkflow")
class CybersecurityEventWorkflow:
    @workflow.init
    def __init__(self, inp: IncidentStart) -> None:
        self._start = inp
        self._intake: IncidentIntake = inp.intake
        self._stage = Stage.INVESTIGATION
        self._findings: list[Finding] = []
        self._determination: Determination | None = None
        self._determined_at: datetime | None = None
        self._obligations: dict[str, ObligationState] = {}
        self._children: dict[str, workflow.ChildWorkflowHandle] = {}
        self._roster_id: str | None = None
        self._amendments = 0
        self._amendment_log: list[EventAmendment] = []
        self._notice_copies: list[str] = []  # consumer obligations whose notice copy awaits reporting (N)
        self._sibling_news: list[tuple[str, ObligationState]] = []
        self._dirty = False
        self._close: CloseEvent | None = None
        self._closed_at: datetime | None = None
        self._retain_until: datetime | None = None
        self._lock = asyncio.Lock()
        self._updates_made = 0
        self._delivered_with: dict[str, str] = {}  # obligation_id -> the obligation whose delivery meets it

    # -- the lifecycle ----------------------------------------------------------------------

    @workflow.run
    async def run(self, inp: IncidentStart) -> IncidentState:
        await record(
            self._stream, "incident.intake_recorded", "intake",
            citation="Tenn. Code Ann. § 56-2-1006(a)", actor=f"user:{inp.opened_by}", data=_intake_summary(self._intake),
        )
        self._publish()
        reporter = asyncio.create_task(self._report_notice_copies())
        publisher = asyncio.create_task(self._publisher())
        await workflow.wait_condition(lambda: self._stage is Stage.NOT_AN_EVENT or self._close is not None)
        if self._stage is Stage.NOT_AN_EVENT:
            reporter.cancel()
            publisher.cancel()
            await workflow.wait_condition(workflow.all_handlers_finished)
            return self.state()

        close = self._close
        assert close is not None
        await workflow.wait_condition(lambda: not self._notice_copies and not self._sibling_news)
        async with self._lock:
            reporter.cancel()
            publisher.cancel()
            for obligation_id, state in self._obligations.items():
                if state.obligation.continuing_updates:
                    await self._signal(obligation_id, "event_closed")
            for handle in self._children.values():
                await handle
            self._closed_at = workflow.now()
            self._retain_until = call_rules(retain_until, self._intake.discovered_at, self._closed_at)
            self._stage = Stage.CLOSED
            await record(
                self._stream, "incident.closed", "closed", citation=CITE_RETENTION, actor=f"user:{close.closed_by}",
                data={
                    "summary": close.summary,
                    "obligations": {oid: st.status.value for oid, st in sorted(self._obligations.items())},
                    "retain_until": iso(self._retain_until),
                },
            )
            self._publish()
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.state()

    @property
    def _stream(self) -> str:
        return f"incident:{self._intake.incident_id}"

    # -- investigation --------------------------------------------------------------------

    @workflow.update
    async def record_finding(self, finding: Finding) -> IncidentState:
        async with self._lock:
            self._findings.append(finding)
            n = len(self._findings)
            await record(
                self._stream, "incident.finding_recorded", f"finding/{n}",
                citation="Tenn. Code Ann. § 56-2-1005", actor=f"user:{finding.recorded_by}",
                data={"kind": finding.kind.value, "summary": finding.summary, "report_items": [i.value for i in finding.report_items]},
            )
            if self._stage is Stage.NOTIFYING and finding.report_items:
                await self._material_update(
                    summary=f"finding: {finding.kind.value}",
                    changes=[f"report items now available: {', '.join(f'({i.value})' for i in finding.report_items)}"],
                    recorded_by=finding.recorded_by,
                )
            self._publish()
            return self.state()

    @record_finding.validator
    def _validate_finding(self, finding: Finding) -> None:
        self._require_active("record a finding")
        if finding.kind is FindingKind.TPSP_INVESTIGATION_CONFIRMED and self._intake.source is not EventSource.THIRD_PARTY_SERVICE_PROVIDER:
            raise ValueError(
                "tpsp_investigation_confirmed applies only to an event reported by a third-party service provider "
                "(Tenn. Code Ann. § 56-2-1006(d)); this event's source is internal"
            )

    # -- determination --------------------------------------------------------------------

    @workflow.update
    async def determine(self, decision: Determination) -> IncidentState:
        async with self._lock:
            self._determination = decision
            self._determined_at = decision.determined_at or workflow.now()
            actor = f"user:{decision.decided_by}"
            if not decision.is_cybersecurity_event:
                await record(
                    self._stream, "incident.determined_not_event", "determination",
                    citation=f"{CITE_EVENT}({'a' if decision.exclusion and decision.exclusion.value.startswith('encrypted') else 'b'})",
                    actor=actor,
                    data={"exclusion": decision.exclusion.value if decision.exclusion else None, "reason": decision.reason,
                          "determined_at": iso(self._determined_at)},
                )
                self._stage = Stage.NOT_AN_EVENT
                self._publish()
                return self.state()
            result = call_rules(compute_obligations, self._intake, determined_at=self._determined_at)
            await record(
                self._stream, "incident.determined", "determination", citation=CITE_EVENT, actor=actor,
                data={
                    "reason": decision.reason,
                    "determined_at": iso(self._determined_at),
                    "nonpublic_information": [c.value for c in result.nonpublic_information],
                    "obligations": [
                        {"obligation_id": o.obligation_id, "kind": o.kind.value, "jurisdiction": o.jurisdiction,
                         "due": iso(o.due), "citation": o.citation}
                        for o in result.obligations
                    ],
                },
            )
            self._stage = Stage.NOTIFYING
            for obligation in result.obligations:
                await self._open_obligation(obligation)
            self._publish()
            return self.state()

    @determine.validator
    def _validate_determination(self, decision: Determination) -> None:
        if self._stage is not Stage.INVESTIGATION or self._determination is not None:
            raise ValueError(f"the event is already determined (stage {self._stage.value}); a determination is made once")
        problem = call_rules(determination_problem, self._intake, decision, workflow.now())
        if problem:
            raise ValueError(problem)

    # -- changes to an open event -------------------------------------------------------------

    @workflow.update
    async def amend_event(self, amendment: EventAmendment) -> IncidentState:
        async with self._lock:
            before = self._intake
            self._intake = call_rules(amend_intake, before, amendment)
            changes = describe_changes(before, self._intake)
            self._amendments += 1
            self._amendment_log.append(amendment)
            citation = CITE_LAW_ENFORCEMENT_DELAY if amendment.law_enforcement_delay_until else "Tenn. Code Ann. § 56-2-1006(b)(2)"
            await record(
                self._stream, "incident.amended", f"amendment/{self._amendments}", citation=citation,
                actor=f"user:{amendment.recorded_by}",
                data={"summary": amendment.summary, "changes": changes,
                      "law_enforcement_basis": amendment.law_enforcement_basis},
            )
            if self._stage is Stage.NOTIFYING:
                await self._reconcile_obligations()
                await self._material_update(amendment.summary, changes, amendment.recorded_by)
            self._publish()
            return self.state()

    @amend_event.validator
    def _validate_amendment(self, amendment: EventAmendment) -> None:
        self._require_active("amend the event")
        try:
            amended = call_rules(amend_intake, self._intake, amendment)
        except (ValidationError, ValueError) as exc:
            raise ValueError(f"the amended event is not valid: {exc}") from None
        if self._stage is Stage.NOTIFYING:
            before = {o.obligation_id for o in call_rules(compute_obligations, self._intake, determined_at=self._determined_at).obligations}
            after = {o.obligation_id for o in call_rules(compute_obligations, amended, determined_at=self._determined_at).obligations}
            dropped = sorted(before - after)
            if dropped:
                raise ValueError(
                    "an amendment cannot remove obligations already owed; waive them with a reason instead: "
                    + ", ".join(dropped)
                )

    async def _reconcile_obligations(self) -> None:
        """Open obligations the new facts add; move deadlines the new facts move."""
        result = call_rules(compute_obligations, self._intake, determined_at=self._determined_at)
        for obligation in result.obligations:
            known = self._obligations.get(obligation.obligation_id)
            if known is None:
                await self._open_obligation(obligation)
            elif not known.status.resolved and obligation.due != known.due:
                await self._signal(obligation.obligation_id, "reschedule", obligation)

    async def _material_update(self, summary: str, changes: list[str], recorded_by: str, only_state: str | None = None) -> None:
        """Re-report to every commissioner owed a report (or only ``only_state``'s)."""
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
                sequence=self._updates_made, summary=summary, changes=changes, recorded_by=recorded_by,
                intake=self._intake, findings=list(self._findings), amendments=list(self._amendment_log),
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

    async def _publisher(self) -> None:
        while True:
            await workflow.wait_condition(lambda: self._dirty)
            self._dirty = False
            self._publish()

    async def _report_notice_copies(self) -> None:
        """When a state's consumer notice has gone out, its copy is item (N) of that state's
        commissioner report: send it as a material update (§ 56-2-1006(b)(1)(N), (b)(2))."""
        while True:
            await workflow.wait_condition(lambda: bool(self._notice_copies) or bool(self._sibling_news))
            while self._sibling_news:
                follower, lead_state = self._sibling_news.pop(0)
                await self._signal(follower, "sibling_met", lead_state)
            if not self._notice_copies:
                continue
            obligation_id = self._notice_copies.pop(0)
            state = self._obligations[obligation_id]
            async with self._lock:
                await self._material_update(
                    f"consumer notice sent in {state.obligation.jurisdiction}",
                    ["(N) copy of the notice sent to affected consumers"],
                    "worker",
                    only_state=state.obligation.jurisdiction,
                )

    # -- consumer notice ------------------------------------------------------------------------

    @workflow.update
    async def attach_roster(self, roster: AttachRoster) -> IncidentState:
        async with self._lock:
            self._roster_id = roster.roster_id
            await record(
                self._stream, "incident.roster_attached", f"roster/{roster.roster_id}",
                citation=CITE_CONSUMER_NOTICE, actor=f"user:{roster.attached_by}", data={"roster_id": roster.roster_id},
            )
            for obligation_id, state in self._obligations.items():
                if state.obligation.kind in (ObligationKind.CONSUMER_NOTICE, ObligationKind.PRODUCER_NOTICE):
                    await self._signal(obligation_id, "attach_roster", roster.roster_id)
            return self.state()

    @attach_roster.validator
    def _validate_roster(self, roster: AttachRoster) -> None:
        self._require_active("attach a consumer list")

    @workflow.update
    async def approve_consumer_notice(self, approval: ApproveConsumerNotice) -> IncidentState:
        async with self._lock:
            targets = self._consumer_obligations(approval.jurisdictions)
            await record(
                self._stream, "consumer_notice.approved", f"consumer-approval/{'-'.join(sorted(targets))}",
                citation=CITE_CONSUMER_NOTICE, actor=f"user:{approval.approved_by}",
                data={"obligations": sorted(targets)},
            )
            for obligation_id in targets:
                await self._signal(obligation_id, "approve", approval.approved_by)
            return self.state()

    @approve_consumer_notice.validator
    def _validate_approval(self, approval: ApproveConsumerNotice) -> None:
        if self._stage is Stage.INVESTIGATION:
            raise ValueError(
                "a consumer notice cannot be sent before the determination that a cybersecurity event has occurred "
                f"({CITE_CONSUMER_NOTICE}: notice follows the determination)"
            )
        self._require_active("send consumer notices")
        if law_enforcement_delay_active(self._intake, workflow.now()):
            until = self._intake.law_enforcement_delay_until
            raise ValueError(
                f"consumer notice is delayed at the request of law enforcement until {until.isoformat() if until else ''} "
                f"({CITE_LAW_ENFORCEMENT_DELAY}); it cannot be sent before then"
            )
        if self._roster_id is None:
            raise ValueError("attach the affected consumers' contact list (attach_roster) before approving consumer notices")
        if not self._consumer_obligations(approval.jurisdictions):
            wanted = ", ".join(approval.jurisdictions or []) or "any state"
            raise ValueError(f"no open consumer_notice obligation for {wanted}")

    def _consumer_obligations(self, jurisdictions: list[str] | None) -> list[str]:
        return [
            oid for oid, st in self._obligations.items()
            if st.obligation.kind is ObligationKind.CONSUMER_NOTICE and not st.status.resolved
            and (jurisdictions is None or st.obligation.jurisdiction in jurisdictions)
        ]

    # -- obligations ------------------------------------------------------------------------------

    def _group_lead(self, obligation: Obligation) -> str | None:
        """The open obligation of the same kind and recipient already being delivered, if any:
        one delivery meets both (rules: obligations sharing a ``recipient_key``)."""
        for oid, state in self._obligations.items():
            ob = state.obligation
            if ob.kind is obligation.kind and ob.recipient_key == obligation.recipient_key and oid not in self._delivered_with and not ob.excused:
                return oid
        return None

    async def _open_obligation(self, obligation: Obligation) -> None:
        child_id = obligation_workflow_id(obligation.obligation_id)
        lead = None if obligation.excused else self._group_lead(obligation)
        if lead is not None:
            self._delivered_with[obligation.obligation_id] = lead
        handle = await workflow.start_child_workflow(
            CHILD_WORKFLOWS[obligation.kind],
            ObligationInput(
                incident_id=self._intake.incident_id,
                parent_workflow_id=workflow.info().workflow_id,
                obligation=obligation,
                intake=self._intake,
                notices=self._start.notices,
                findings=list(self._findings),
                amendments=list(self._amendment_log),
                roster_id=self._roster_id,
                reminder_offsets=self._start.reminder_offsets,
                delivered_with=lead,
            ),
            id=child_id,
            task_queue=workflow.info().task_queue,
        )
        self._children[obligation.obligation_id] = handle
        self._obligations[obligation.obligation_id] = ObligationState(
            obligation=obligation, workflow_id=child_id,
            status=ObligationStatus.EXCUSED if obligation.excused else ObligationStatus.PENDING,
            due=obligation.due, waiting_for="starting", method=obligation.method,
        )

    @workflow.signal(name=OBLIGATION_CHANGED_SIGNAL)
    def obligation_changed(self, state: ObligationState) -> None:
        before = self._obligations.get(state.obligation.obligation_id)
        self._obligations[state.obligation.obligation_id] = state
        sent_now = state.status in (ObligationStatus.MET, ObligationStatus.MET_LATE) and (
            before is None or before.status not in (ObligationStatus.MET, ObligationStatus.MET_LATE)
        )
        if sent_now and state.obligation.kind is ObligationKind.CONSUMER_NOTICE and state.documents:
            self._notice_copies.append(state.obligation.obligation_id)
        if sent_now:
            for oid, lead in self._delivered_with.items():
                if lead == state.obligation.obligation_id:
                    self._sibling_news.append((oid, state))
        # Search attributes are upserted by ``_publisher`` after this activation's jobs: a command
        # issued from a signal handler could precede an update accepted in the same activation on
        # replay, and diverge from the original order.
        self._dirty = True

    @workflow.update
    async def act_on_obligation(self, action: ObligationAction) -> IncidentState:
        async with self._lock:
            if action.waiver is not None:
                await self._signal(action.obligation_id, "waive", action.waiver)
            else:
                await self._signal(action.obligation_id, "complete_manually", action.completion)
            return self.state()

    @act_on_obligation.validator
    def _validate_action(self, action: ObligationAction) -> None:
        state = self._obligations.get(action.obligation_id)
        if state is None:
            raise ValueError(f"no obligation {action.obligation_id!r} in this event")
        if state.status.resolved:
            raise ValueError(f"obligation {action.obligation_id} is already {state.status.value}")

    # -- closure ------------------------------------------------------------------------------------

    @workflow.update
    async def close(self, request: CloseEvent) -> IncidentState:
        self._close = request
        return self.state()

    @close.validator
    def _validate_close(self, request: CloseEvent) -> None:
        if self._stage is not Stage.NOTIFYING or self._close is not None:
            raise ValueError(f"only a determined, open event can be closed (stage {self._stage.value})")
        open_ = sorted(oid for oid, st in self._obligations.items() if not st.status.resolved)
        if open_:
            raise ValueError("every obligation must be met or waived with a reason before closure; still open: " + ", ".join(open_))

    # -- what operators see ------------------------------------------------------------------------------

    def _require_active(self, what: str) -> None:
        if self._stage in (Stage.CLOSED, Stage.NOT_AN_EVENT) or self._close is not None:
            raise ValueError(f"cannot {what}: the event is {self._stage.value if self._close is None else 'closing'}")

    @workflow.query
    def state(self) -> IncidentState:
        unresolved = [st for st in self._obligations.values() if not st.status.resolved]
        return IncidentState(
            incident_id=self._intake.incident_id,
            stage=self._stage,
            jurisdictions=sorted({row.state for row in self._intake.affected}),
            findings=list(self._findings),
            determination=self._determination,
            determined_at=self._determined_at,
            obligations=sorted(self._obligations.values(), key=lambda st: (st.due, st.obligation.obligation_id)),
            next_deadline=min((st.due for st in unresolved), default=None),
            overdue=sorted(st.obligation.obligation_id for st in unresolved if st.status is ObligationStatus.OVERDUE),
            waiting_for=self._waiting_for(),
            amendments=self._amendments,
            closed_at=self._closed_at,
            retain_until=self._retain_until,
        )

    def _waiting_for(self) -> str:
        if self._stage is Stage.INVESTIGATION:
            return "a responder's determination whether a cybersecurity event occurred"
        if self._stage is Stage.NOT_AN_EVENT:
            return "nothing: not a cybersecurity event"
        if self._stage is Stage.CLOSED:
            return "nothing: closed"
        unresolved = sorted((st for st in self._obligations.values() if not st.status.resolved), key=lambda st: st.due)
        if not unresolved:
            return "closure: every obligation is met or waived"
        first = unresolved[0]
        return f"{first.obligation.kind.value} ({first.obligation.jurisdiction}) due {markdown_deadline(first.due)}: {first.waiting_for}"

    def _publish(self) -> None:
        state = self.state()
        workflow.upsert_search_attributes(
            [
                sa.INCIDENT_ID.value_set(state.incident_id),
                sa.STAGE.value_set(state.stage.value),
                sa.JURISDICTIONS.value_set(state.jurisdictions),
                sa.OVERDUE.value_set(bool(state.overdue)),
                sa.NEXT_DEADLINE.value_set(state.next_deadline) if state.next_deadline else sa.NEXT_DEADLINE.value_unset(),
            ]
        )
        lines = [f"**Cybersecurity event {state.incident_id}** — stage **{state.stage.value}**",
                 f"- waiting for: {state.waiting_for}"]
        if state.overdue:
            lines.append(f"- **overdue**: {', '.join(state.overdue)}")
        for st in state.obligations:
            lines.append(f"- {st.obligation.kind.value} {st.obligation.jurisdiction}: {st.status.value}, due {markdown_deadline(st.due)}")
        workflow.set_current_details("\n".join(lines))
