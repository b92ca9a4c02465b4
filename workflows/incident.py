"""One durable workflow per cybersecurity event, id ``incident-<incident_id>``, from intake to
closure (SPEC §3; Tenn. Code Ann. § 56-2-1006, RSMo § 375.1402).

intake → investigation (findings) → determination → obligations (one child workflow each) →
material updates while open → closure when every obligation is met or waived.

Responders act through validated updates: a step the rules forbid is refused with a message
naming the rule, and nothing is recorded. Every accepted step is written to the ledger first.
Opening and steering the obligation workflows: ``workflows/incident_obligations.py``; the steps
that concern people: ``workflows/incident_people.py``.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from models.actors import ledger_actor
    from models.authority import StepAuthority, acting, current_authority
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
        ObligationAction,
        ObligationState,
        ObligationStatus,
        Stage,
    )
    from models.incident import EventSource
    from models.obligation import ObligationKind
    from models.steps import ConsumerReconciliation, ReportItemNotApplicable, Responders
    from rules.classification import classification_ledger_data, classify_event
    from rules.cyber import join_citations
    from rules.jurisdictions import (
        event_definition_citation,
        exclusion_citation,
        investigation_citation,
        law_enforcement_delay_citation,
        material_updates_citation,
        report_item_citation,
        retention_citation,
        tpsp_citation,
    )
    from rules.lifecycle import (
        amend_intake,
        describe_changes,
        determination_problem,
        law_enforcement_delay_active,
        retain_until,
        retention_ledger_data,
    )
    from rules.report_items import Problem, closure_problems, finding_problem
    from models.content import DocumentRef

from workflows import search_attributes as sa
from workflows.common import forwarded, iso, record, required_authority
from workflows.incident_obligations import (  # noqa: F401 — CHILD_WORKFLOWS re-exported
    CHILD_WORKFLOWS,
    ObligationSteps,
    computed_obligations,
)
from workflows.incident_people import PeopleSteps
from workflows.incident_checks import guard_free_text, intake_summary, reasons, require_active, require_obligation, responder_ids
from workflows.incident_view import incident_details, incident_waiting_for
from workflows.refusals import ledger_refusal, refuse_input, refuse_state
from workflows.obligation_base import OBLIGATION_CHANGED_SIGNAL
from workflows.rules_call import call_rules

#: Patch id (``workflow.patched``): the closure is recorded before the obligation workflows end.
CLOSE_BEFORE_CHILDREN = "close-before-children"
#: Patch id (``workflow.patched``, docs/temporal.md "Changing a workflow"): a consumer notice met by
#: the delivery of another (``_delivered_with``: an insurance act's and a general law's notice to the
#: same residents) sends no copy of its own to the commissioner — its lead's copy is that notice's
#: item (N). Before it, the follower's copy was sent again as a second updated report.
NOTICE_COPY_ONCE = "notice-copy-once"
#: Patch id: an obligation met by another's delivery is told when that delivery is *sent* (signal
#: ``sibling_sent``), so it records its notice given then — no overdue turn, no alert while the
#: shared delivery's confirmation is awaited. Before it (release 2026-12-02 and earlier) it heard
#: only of the lead's ``met``, and could turn overdue in between although the notice had gone out.
SIBLING_SENT = "sibling-sent"


def incident_workflow_id(incident_id: str) -> str:
    return f"incident-{incident_id}"


@workflow.defn(name="CybersecurityEventWorkflow")
class CybersecurityEventWorkflow(ObligationSteps, PeopleSteps):
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
        self._sibling_sent_news: list[tuple[str, ObligationState]] = []  # followers of a lead just sent
        self._dirty = False
        self._close: CloseEvent | None = None
        self._close_authority: StepAuthority | None = None  # the closure's actor assertion (models/authority.py)
        self._closed_at: datetime | None = None
        self._retain_until: datetime | None = None
        self._lock = asyncio.Lock()
        self._updates_made = 0
        self._delivered_with: dict[str, str] = {}  # obligation_id -> the obligation whose delivery meets it
        self._responders: Responders | None = inp.responders
        self._responder_changes = 0
        self._counsel_reviews: dict[str, str] = {}  # obligation_id -> counsel's decision
        self._not_applicable: list[ReportItemNotApplicable] = []
        self._reconciliations = 0
        self._returns_reported_count = 0

    # -- the lifecycle ----------------------------------------------------------------------

    @workflow.run
    async def run(self, inp: IncidentStart) -> IncidentState:
        await record(
            self._stream, "incident.intake_recorded", "intake",
            citation=call_rules(investigation_citation, self._domicile), actor=ledger_actor(inp.opened_by),
            data={**intake_summary(self._intake), "responders": responder_ids(self._responders)},
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
        await workflow.wait_condition(
            lambda: not self._notice_copies and not self._sibling_news and not self._sibling_sent_news
        )
        async with self._lock:
            reporter.cancel()
            publisher.cancel()
            await self._signal_each([(obligation_id, "event_closed", None) for obligation_id, state in self._obligations.items()
                                     if state.obligation.continuing_updates])
            # Patch "close-before-children" (docs/temporal.md): release 2026-12-01 waited for every
            # obligation workflow to end before recording the closure; deprecate once no event
            # opened before it is running.
            if not workflow.patched(CLOSE_BEFORE_CHILDREN):
                for handle in self._children.values():
                    await handle
            self._closed_at = workflow.now()
            self._retain_until = call_rules(retain_until, self._intake.discovered_at, self._closed_at)
            self._stage = Stage.CLOSED
            with acting(self._close_authority):
                await record(
                    self._stream, "incident.closed", "closed", citation=call_rules(retention_citation, self._domicile),
                    actor=ledger_actor(close.closed_by),
                    data={
                        "summary": close.summary,
                        "obligations": {oid: st.status.value for oid, st in sorted(self._obligations.items())},
                        "retain_until": iso(self._retain_until),
                        **call_rules(retention_ledger_data, {st.obligation.jurisdiction for st in self._obligations.values()} | {self._domicile}),
                    },
                )
            self._publish()
        # Children may still await a regulator's acknowledgement of a late filing (tracked for a
        # bounded time after closure); the workflow ends with them, unlocked meanwhile.
        for handle in self._children.values():
            await handle
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.state()

    @property
    def _stream(self) -> str:
        return f"incident:{self._intake.incident_id}"

    @property
    def _domicile(self) -> str:
        """The state whose law governs the licensee's own steps (investigation, determination,
        retention): its state of domicile, or home state for a producer."""
        return self._intake.licensee.home_jurisdiction

    # -- recording ----------------------------------------------------------------------------

    async def _write(self, type_: str, step: str, **kwargs: Any) -> None:
        """Ledger one step. Nothing of the workflow's state has changed yet when this runs: a write
        that fails leaves the event as it was, and the step is refused (not half-done)."""
        try:
            await record(self._stream, type_, step, **kwargs)
        except ActivityError as err:
            raise ledger_refusal(err) from None

    # -- investigation --------------------------------------------------------------------

    @workflow.update
    async def record_finding(self, finding: Finding) -> IncidentState:
        async with self._lock:
            self._check_finding(finding)
            n = len(self._findings) + 1
            data: dict[str, Any] = {"kind": finding.kind.value, "report_items": [i.value for i in finding.report_items]}
            if finding.privileged:
                assert finding.privilege_basis is not None
                sealed = await self._seal(f"finding/{n}", finding.summary, ledger_actor(finding.recorded_by), finding.privilege_basis)
                data.update(sealed.ledger_marker("summary"))
                data["report_statement"] = finding.report_statement
            else:
                data["summary"] = finding.summary
            await self._write(
                "incident.finding_recorded", f"finding/{n}",
                citation=call_rules(investigation_citation, self._domicile), actor=ledger_actor(finding.recorded_by), data=data,
            )
            self._findings.append(finding)
            if self._stage is Stage.NOTIFYING and finding.report_items:
                await self._material_update(
                    summary=f"finding: {finding.kind.value}",
                    changes=[f"report items now available: {', '.join(f'({i.value})' for i in finding.report_items)}"],
                    recorded_by=finding.recorded_by,
                    step=f"finding/{n}",
                )
            self._publish()
            return self.state()

    @record_finding.validator
    def _validate_finding(self, finding: Finding) -> None:
        self._check_finding(finding)

    def _check_finding(self, finding: Finding) -> None:
        require_active(self._stage, self._close is not None, "record a finding")
        if finding.kind is FindingKind.TPSP_INVESTIGATION_CONFIRMED and self._intake.source is not EventSource.THIRD_PARTY_SERVICE_PROVIDER:
            raise refuse_input(
                "tpsp_finding_without_tpsp", "kind",
                "tpsp_investigation_confirmed applies only to an event reported by a third-party service provider; "
                "this event's source is internal",
                citation=call_rules(tpsp_citation, self._domicile),
            )
        problem = call_rules(finding_problem, finding, self._domicile)
        if problem is not None:
            field, message, citation = problem
            raise refuse_input("finding_item_mismatch", field, message, citation=citation)
        if finding.privileged:  # sealed, never ledgered or sent; its report statement is both
            guard_free_text([("report_statement", finding.report_statement)])
        else:
            guard_free_text([("summary", finding.summary)])

    # -- determination --------------------------------------------------------------------

    @workflow.update
    async def determine(self, decision: Determination) -> IncidentState:
        async with self._lock:
            self._check_determination(decision)
            determined_at = decision.determined_at or workflow.now()
            actor = ledger_actor(decision.decided_by)
            if not decision.is_cybersecurity_event:
                await self._write(
                    "incident.determined_not_event", "determination",
                    citation=call_rules(exclusion_citation, self._domicile, decision.exclusion),
                    actor=actor,
                    data={"exclusion": decision.exclusion.value if decision.exclusion else None, "reason": decision.reason,
                          "determined_at": iso(determined_at),
                          **call_rules(classification_ledger_data, call_rules(classify_event, self._intake).reasons)},
                )
                self._determination, self._determined_at = decision, determined_at
                self._stage = Stage.NOT_AN_EVENT
                self._publish()
                return self.state()
            result = await computed_obligations(self._intake, determined_at)
            await self._write(
                "incident.determined", "determination",
                citation=call_rules(event_definition_citation, self._domicile), actor=actor,
                data={
                    "reason": decision.reason,
                    "determined_at": iso(determined_at),
                    "nonpublic_information": [c.value for c in result.nonpublic_information],
                    **call_rules(classification_ledger_data, result.reasons),
                    "obligations": [
                        {"obligation_id": o.obligation_id, "kind": o.kind.value, "jurisdiction": o.jurisdiction,
                         "due": iso(o.due), "citation": o.citation, "needs_counsel_review": o.needs_counsel_review}
                        for o in result.obligations
                    ],
                },
            )
            self._determination, self._determined_at = decision, determined_at
            # The notices state the determination's date: the children read it from the intake.
            self._intake = self._intake.model_copy(update={"determined_at": determined_at})
            self._stage = Stage.NOTIFYING
            await self._open_obligations(result.obligations)
            self._publish()
            return self.state()

    @determine.validator
    def _validate_determination(self, decision: Determination) -> None:
        self._check_determination(decision)

    def _check_determination(self, decision: Determination) -> None:
        if self._stage is not Stage.INVESTIGATION or self._determination is not None:
            raise refuse_state(
                "already_determined",
                f"the event is already determined (stage {self._stage.value}); a determination is made once",
                citation=call_rules(event_definition_citation, self._domicile),
            )
        problem = call_rules(determination_problem, self._intake, decision, workflow.now())
        if problem:
            raise refuse_input("determination_contradicts_facts", "determined_at" if "determined_at" in problem else "is_cybersecurity_event",
                               problem, citation=call_rules(event_definition_citation, self._domicile))
        guard_free_text([("reason", decision.reason)])

    # -- changes to an open event -------------------------------------------------------------

    @workflow.update
    async def amend_event(self, amendment: EventAmendment) -> IncidentState:
        async with self._lock:
            amended = self._check_amendment(amendment)
            changes = describe_changes(self._intake, amended)
            n = self._amendments + 1
            citation = (self._law_enforcement_citation() if amendment.law_enforcement_delay_until
                        else call_rules(material_updates_citation, self._domicile))
            await self._write(
                "incident.amended", f"amendment/{n}", citation=citation,
                actor=ledger_actor(amendment.recorded_by),
                data={"summary": amendment.summary, "changes": changes,
                      "law_enforcement_basis": amendment.law_enforcement_basis},
            )
            self._intake = amended
            self._amendments = n
            self._amendment_log.append(amendment)
            if self._stage is Stage.NOTIFYING:
                await self._reconcile_obligations()
                await self._material_update(amendment.summary, changes, amendment.recorded_by, step=f"amendment/{n}")
            self._publish()
            return self.state()

    @amend_event.validator
    def _validate_amendment(self, amendment: EventAmendment) -> None:
        self._check_amendment(amendment)

    def _check_amendment(self, amendment: EventAmendment) -> IncidentIntake:
        require_active(self._stage, self._close is not None, "amend the event")
        guard_free_text([("summary", amendment.summary), ("law_enforcement_basis", amendment.law_enforcement_basis)])
        try:
            amended = call_rules(amend_intake, self._intake, amendment)
        except (ValidationError, ValueError) as exc:
            raise refuse_input("amendment_invalid", "affected", f"the amended event is not valid: {reasons(exc)}") from None
        self._refuse_dropped_obligations(amended, "affected")
        return amended

    async def _publisher(self) -> None:
        while True:
            await workflow.wait_condition(lambda: self._dirty)
            self._dirty = False
            self._publish()

    async def _report_notice_copies(self) -> None:
        """When a state's consumer notice has gone out, its copy is item (N) of that state's
        commissioner report: send it as a material update (§ 56-2-1006(b)(1)(N), (b)(2))."""
        while True:
            await workflow.wait_condition(
                lambda: bool(self._notice_copies) or bool(self._sibling_news) or bool(self._sibling_sent_news)
            )
            if self._sibling_sent_news:
                told = workflow.patched(SIBLING_SENT)
                while self._sibling_sent_news:
                    follower, lead_state = self._sibling_sent_news.pop(0)
                    if told:
                        await self._signal(follower, "sibling_sent", lead_state)
            while self._sibling_news:
                follower, lead_state = self._sibling_news.pop(0)
                await self._signal(follower, "sibling_met", lead_state)
            if not self._notice_copies:
                continue
            obligation_id = self._notice_copies.pop(0)
            if obligation_id in self._delivered_with and workflow.patched(NOTICE_COPY_ONCE):
                continue  # one delivery, one notice: its lead's copy went to the commissioner already
            state = self._obligations[obligation_id]
            async with self._lock:
                await self._material_update(
                    f"consumer notice sent in {state.obligation.jurisdiction}",
                    ["(N) copy of the notice sent to affected consumers"],
                    "worker",
                    step=f"notice-copy/{obligation_id}",
                    only_state=state.obligation.jurisdiction,
                )

    # -- consumer notice ------------------------------------------------------------------------

    @workflow.update
    async def attach_roster(self, roster: AttachRoster) -> IncidentState:
        async with self._lock:
            require_active(self._stage, self._close is not None, "attach a consumer list")
            await self._write(
                "incident.roster_attached", f"roster/{roster.roster_id}",
                citation=self._consumer_citation(None), actor=ledger_actor(roster.attached_by), data={"roster_id": roster.roster_id},
            )
            self._roster_id = roster.roster_id
            await self._signal_each([
                (obligation_id, "attach_roster", roster.roster_id) for obligation_id, state in self._obligations.items()
                if state.obligation.kind in (ObligationKind.CONSUMER_NOTICE, ObligationKind.PRODUCER_NOTICE)
            ])
            return self.state()

    @attach_roster.validator
    def _validate_roster(self, roster: AttachRoster) -> None:
        require_active(self._stage, self._close is not None, "attach a consumer list")

    @workflow.update
    async def reconcile_consumers(self, reconciliation: ConsumerReconciliation) -> IncidentState:
        """A recorded revision of a state's affected-consumer estimate (item (I)); the consumer notice
        reconciles against it and the next report to that state's commissioner carries it."""
        async with self._lock:
            amended, before = self._check_reconciliation(reconciliation)
            n = self._reconciliations + 1
            await self._write(
                "consumer_notice.estimate_revised", f"reconciliation/{n}",
                jurisdiction=reconciliation.state, citation=call_rules(report_item_citation, reconciliation.state, "I"), actor=ledger_actor(reconciliation.recorded_by),
                data={"state": reconciliation.state, "estimate_before": before, "estimate_after": reconciliation.consumers,
                      "reason": reconciliation.reason},
            )
            self._reconciliations = n
            self._intake = amended
            if self._stage is Stage.NOTIFYING:
                await self._reconcile_obligations()
                await self._signal_each([
                    (obligation_id, "estimate_revised", reconciliation.consumers) for obligation_id, state in self._obligations.items()
                    if state.obligation.kind is ObligationKind.CONSUMER_NOTICE and state.obligation.jurisdiction == reconciliation.state
                ])
                await self._material_update(
                    f"affected consumers in {reconciliation.state} re-estimated",
                    [f"(I) best estimate for {reconciliation.state}: {before:,} → {reconciliation.consumers:,} — {reconciliation.reason}"],
                    reconciliation.recorded_by, step=f"reconciliation/{n}", only_state=reconciliation.state,
                )
            self._publish()
            return self.state()

    @reconcile_consumers.validator
    def _validate_reconciliation(self, reconciliation: ConsumerReconciliation) -> None:
        self._check_reconciliation(reconciliation)

    def _check_reconciliation(self, reconciliation: ConsumerReconciliation) -> tuple[IncidentIntake, int]:
        require_active(self._stage, self._close is not None, "revise the affected-consumer estimate")
        guard_free_text([("reason", reconciliation.reason)])
        row = self._intake.affected_in(reconciliation.state)
        if row is None:
            raise refuse_input(
                "state_not_affected", "state",
                f"state: no affected consumers were recorded in {reconciliation.state}; amend the event to add the state",
                citation=call_rules(report_item_citation, reconciliation.state, "I"),
            )
        if row.consumers == reconciliation.consumers:
            raise refuse_input("estimate_unchanged", "consumers", f"consumers: the estimate for {reconciliation.state} is already {row.consumers:,}")
        n = reconciliation.consumers
        # A re-count changes how many are affected; the contact figures are of those people, so
        # they cannot exceed the new count.
        rows = [r.model_copy(update={"consumers": n, "with_email": min(r.with_email, n),
                                     "without_contact": min(r.without_contact, n)}) if r.state == reconciliation.state else r
                for r in self._intake.affected]
        try:
            amended = call_rules(
                amend_intake, self._intake,
                EventAmendment(recorded_by=reconciliation.recorded_by, summary=reconciliation.reason, affected=rows),
            )
        except (ValidationError, ValueError) as exc:
            raise refuse_input("estimate_invalid", "consumers",
                               f"consumers: the revised estimate is not consistent with the event: {reasons(exc)}") from None
        self._refuse_dropped_obligations(amended, "consumers")
        return amended, row.consumers

    @workflow.update
    async def approve_consumer_notice(self, approval: ApproveConsumerNotice) -> IncidentState:
        async with self._lock:
            targets = self._check_approval(approval)
            await self._write(
                "consumer_notice.approved", f"consumer-approval/{'-'.join(sorted(targets))}",
                citation=self._consumer_citation(targets), actor=ledger_actor(approval.approved_by),
                data={"obligations": sorted(targets)},
            )
            await self._signal_each([(obligation_id, "approve", approval.approved_by) for obligation_id in targets])
            return self.state()

    @approve_consumer_notice.validator
    def _validate_approval(self, approval: ApproveConsumerNotice) -> None:
        self._check_approval(approval)

    def _check_approval(self, approval: ApproveConsumerNotice) -> list[str]:
        if self._stage is Stage.INVESTIGATION:
            raise refuse_state(
                "consumer_notice_before_determination",
                "a consumer notice cannot be sent before the determination that a cybersecurity event has occurred",
                citation=call_rules(event_definition_citation, self._domicile),
            )
        require_active(self._stage, self._close is not None, "send consumer notices")
        if law_enforcement_delay_active(self._intake, workflow.now()):
            until = self._intake.law_enforcement_delay_until
            raise refuse_state(
                "law_enforcement_delay",
                f"consumer notice is delayed at the request of law enforcement until {until.isoformat() if until else ''}; "
                "it cannot be sent before then",
                citation=self._law_enforcement_citation(),
            )
        if self._roster_id is None:
            raise refuse_state(
                "roster_required",
                "attach the affected consumers' contact list (attach_roster) before approving consumer notices",
                citation=self._consumer_citation(None),
            )
        targets = self._consumer_obligations(approval.jurisdictions)
        if not targets:
            wanted = ", ".join(approval.jurisdictions or []) or "any state"
            raise refuse_input("no_consumer_notice_owed", "jurisdictions", f"jurisdictions: no open consumer_notice obligation for {wanted}")
        return targets

    def _consumer_citation(self, obligation_ids: list[str] | None) -> str:
        """The sections of the consumer notices a step concerns (every state's, or the listed
        obligations'), each state's own law; before any is owed, the domicile's investigation duty."""
        citations = sorted({
            st.obligation.citation for oid, st in self._obligations.items()
            if st.obligation.kind is ObligationKind.CONSUMER_NOTICE and (obligation_ids is None or oid in obligation_ids)
        })
        return call_rules(join_citations, citations) if citations else call_rules(investigation_citation, self._domicile)

    def _law_enforcement_citation(self) -> str:
        """A documented law-enforcement delay of the consumer notices, each state's rule."""
        states = sorted({st.obligation.jurisdiction for st in self._obligations.values()
                         if st.obligation.kind is ObligationKind.CONSUMER_NOTICE}) or [self._domicile]
        return call_rules(join_citations, [call_rules(law_enforcement_delay_citation, st) for st in states])

    def _consumer_obligations(self, jurisdictions: list[str] | None) -> list[str]:
        return [
            oid for oid, st in self._obligations.items()
            if st.obligation.kind is ObligationKind.CONSUMER_NOTICE and not st.status.resolved
            and (jurisdictions is None or st.obligation.jurisdiction in jurisdictions)
        ]

    # -- obligations ------------------------------------------------------------------------------

    @workflow.signal(name=OBLIGATION_CHANGED_SIGNAL)
    def obligation_changed(self, state: ObligationState) -> None:
        before = self._obligations.get(state.obligation.obligation_id)
        self._obligations[state.obligation.obligation_id] = state
        # Item (N) is the copy of the notice *sent*: it goes to the commissioner once the consumer
        # notice is given, not when its delivery is later confirmed.
        given_now = state.sent_at is not None and (before is None or before.sent_at is None)
        if given_now and state.obligation.kind is ObligationKind.CONSUMER_NOTICE and state.documents:
            self._notice_copies.append(state.obligation.obligation_id)
        if given_now:
            for oid, lead in self._delivered_with.items():
                if lead == state.obligation.obligation_id:
                    self._sibling_sent_news.append((oid, state))
        met_now = state.status in (ObligationStatus.MET, ObligationStatus.MET_LATE) and (
            before is None or before.status not in (ObligationStatus.MET, ObligationStatus.MET_LATE)
        )
        if met_now:
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
            self._check_action(action)
            if action.waiver is not None:
                await self._signal(action.obligation_id, "waive", forwarded(action.waiver))
            else:
                await self._signal(action.obligation_id, "complete_manually", forwarded(action.completion))
            return self.state()

    @act_on_obligation.validator
    def _validate_action(self, action: ObligationAction) -> None:
        self._check_action(action)

    def _check_action(self, action: ObligationAction) -> None:
        state = require_obligation(self._obligations, action.obligation_id, "obligation_id")
        if state.status.resolved:
            raise refuse_state("obligation_resolved", f"obligation {action.obligation_id} is already {state.status.value}",
                               citation=state.obligation.citation)
        if action.waiver is not None:
            guard_free_text([("waiver.reason", action.waiver.reason)])
        if action.completion is not None:
            guard_free_text([("completion.evidence", action.completion.evidence)])

    # -- closure ------------------------------------------------------------------------------------

    @workflow.update
    async def close(self, request: CloseEvent) -> IncidentState:
        self._check_close(request)
        self._close, self._close_authority = request, current_authority()
        return self.state()

    @close.validator
    def _validate_close(self, request: CloseEvent) -> None:
        self._check_close(request)
        required_authority("closed_by")  # recorded later, by the run: refused now when no one vouches for it

    def _check_close(self, request: CloseEvent) -> None:
        if self._stage is not Stage.NOTIFYING or self._close is not None:
            raise refuse_state("event_not_closable", f"only a determined, open event can be closed (stage {self._stage.value})")
        guard_free_text([("summary", request.summary)])
        open_ = sorted(oid for oid, st in self._obligations.items() if not st.status.resolved)
        if open_:
            raise refuse_state(
                "obligations_open",
                "every obligation must be met or waived with a reason before closure; still open: " + ", ".join(open_),
                citation=call_rules(retention_citation, self._domicile),
            )
        problems = self._closure_problems()
        if problems:
            raise refuse_state(
                "closure_incomplete",
                "the event cannot be closed yet: " + "; ".join(message for _, message, _ in problems),
                citation=problems[0][2],
            )

    # -- what operators see ------------------------------------------------------------------------------

    @workflow.query
    def state(self) -> IncidentState:
        unresolved = [st for st in self._obligations.values() if not st.status.resolved]
        counsel_pending = sorted(
            oid for oid, st in self._obligations.items()
            if st.obligation.needs_counsel_review and oid not in self._counsel_reviews
        )
        state = IncidentState(
            incident_id=self._intake.incident_id,
            stage=self._stage,
            jurisdictions=sorted({row.state for row in self._intake.affected}),
            findings=[f.model_copy(update={"summary": "[privileged — sealed]"}) if f.privileged else f for f in self._findings],
            determination=self._determination,
            determined_at=self._determined_at,
            obligations=sorted(self._obligations.values(), key=lambda st: (st.due, st.obligation.obligation_id)),
            # A notice sent and awaiting its confirmation has no deadline left to meet.
            next_deadline=min((st.due for st in unresolved if st.status is not ObligationStatus.SENT), default=None),
            overdue=sorted(st.obligation.obligation_id for st in unresolved if st.status is ObligationStatus.OVERDUE),
            amendments=self._amendments,
            closed_at=self._closed_at,
            retain_until=self._retain_until,
            responders=self._responders,
            counsel_reviews=dict(self._counsel_reviews),
            counsel_reviews_pending=counsel_pending,
            report_items_missing=self._items_missing() if self._stage is Stage.NOTIFYING else {},
        )
        return state.model_copy(update={"waiting_for": incident_waiting_for(state)})

    def _closure_problems(self) -> list[Problem]:
        return call_rules(
            closure_problems,
            [st.obligation for st in self._obligations.values()],
            self._findings, self._amendment_log, self._not_applicable, self._intake, set(self._counsel_reviews),
            **self._report_context(),
        )

    def _report_context(self) -> dict[str, Any]:
        """What besides findings and marks answers report items: the licensee's notice content
        ((L), (M)), the consumer notices sent ((N)), and which reports were waived."""
        documents: dict[str, list[DocumentRef]] = {}
        for st in self._obligations.values():
            if st.obligation.kind is ObligationKind.CONSUMER_NOTICE:
                documents.setdefault(st.obligation.jurisdiction, []).extend(st.documents)
        return {
            "content": self._start.notices.content,
            "consumer_notice_documents": documents,
            "waived": {oid for oid, st in self._obligations.items() if st.status is ObligationStatus.WAIVED},
        }

    def _items_missing(self) -> dict[str, list[str]]:
        problems = self._closure_problems()
        missing: dict[str, list[str]] = {}
        for field, _message, _citation in problems:
            if field.startswith("report_items."):
                state, _, item = field.removeprefix("report_items.").partition(".")
                missing.setdefault(state, []).append(item)
        return missing

    def _publish(self) -> None:
        state = self.state()
        sa.upsert(
            [
                sa.INCIDENT_ID.value_set(state.incident_id),
                sa.STAGE.value_set(state.stage.value),
                sa.JURISDICTIONS.value_set(state.jurisdictions),
                sa.OVERDUE.value_set(bool(state.overdue)),
                sa.NEXT_DEADLINE.value_set(state.next_deadline) if state.next_deadline else sa.NEXT_DEADLINE.value_unset(),
            ]
        )
        workflow.set_current_details(incident_details(state))
