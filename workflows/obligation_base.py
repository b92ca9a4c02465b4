"""The lifecycle every notice obligation shares: opened → reminders → sent → met, or overdue →
sent late → met late, or waived — each step ledgered with the obligation's rule.

A concrete obligation workflow (commissioner, consumer, producer, ceding insurer) subclasses
``ObligationWorkflow``, defines its ``@workflow.run`` as ``return await self._lifecycle(self._work)``
and puts its automated steps in ``_work``. A missed deadline is never dropped: the workflow
records ``<kind>.overdue`` with the rule, turns the ``NoticeflowOverdue`` search attribute on,
and stays overdue until the notice is given (``<kind>.met_late``) or waived with a reason.

Sent is not received. A workflow records the notice *given* with the channel's evidence —
``_sent(at, evidence)``: ``<kind>.sent``, status ``sent`` — and *confirmed* when the confirmation
comes — ``_confirmed(at, evidence)``: ``<kind>.met`` / ``<kind>.met_late``, judged on when it was
sent, since the statute asks that notice be *given* by the deadline. Once sent, no reminder and no
overdue turn; a notice that did not reach (a hard bounce within the window) is reopened with
``_reopen_notice``. ``_met`` records both at once: a person's completion with evidence, or the delivery
of the obligation this one is delivered with.

A bounce reaches the workflow two ways: a person records it (``report_returned``, then the signal
``notices_returned``), or — with ``NOTICEFLOW_BOUNCE_MAILDIR`` set — the relay's delivery status
notification is read from the bounce mailbox by ``collect_bounces`` (``activities/bounces.py``),
polled every ``BOUNCE_POLL_INTERVAL`` during the window and once more when it ends (``_read_bounces``).
Either marks the recipient ``returned`` in the delivery store, and the workflow reopens it the same way.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    # The alert activity is named by type; its module (SMTP, HTTP) loads outside the sandbox.
    from activities.alerts import AlertActivities
    from models.actors import ledger_actor
    from models.alerts import AlertWhat, ResponderAlert, alert_recipients
    from models.authority import StepAuthority, acting, current_authority
    from models.lifecycle import (
        DeliveryCounts,
        ManualCompletion,
        ObligationInput,
        ObligationState,
        ObligationStatus,
        Waiver,
    )
    from models.notice import BounceIntakeInput, BounceIntakeResult
    from models.obligation import Obligation
    from models.steps import Responders

from workflows import search_attributes as sa
from workflows.common import (
    ALERT_RETRY,
    ALERT_TIMEOUT,
    COLLECT_BOUNCES,
    LEAN_HISTORY,
    iso,
    markdown_deadline,
    quick_step,
    record,
)
from workflows.incident_view import evidence_words
from workflows.refusals import actor_refused

OBLIGATION_CHANGED_SIGNAL = "obligation_changed"
#: How often the bounce mailbox is read while an e-mailed notice waits out its bounce window.
BOUNCE_POLL_INTERVAL = timedelta(hours=1)
#: Patch id (``workflow.patched``, docs/temporal.md "Changing a workflow"): the bounce window reads
#: the bounce mailbox. Before it (release 2026-12-01) the window was one timer, then the evidence.
BOUNCE_MAILBOX_INTAKE = "bounce-mailbox-intake"


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
        self._sent_at: datetime | None = None
        self._confirmed_at: datetime | None = None
        self._evidence: dict[str, Any] = {}
        self._sends = 0
        self._reopens = 0
        self._waiver: Waiver | None = None
        self._pending_waiver: Waiver | None = None
        self._pending_completion: ManualCompletion | None = None
        #: The actor assertion the waiver or completion was forwarded under (``models/authority.py``).
        self._people_authority: StepAuthority | None = None
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
        self._sibling_sent: ObligationState | None = None  # the shared delivery, sent, not yet confirmed
        self._responders: Responders | None = inp.responders
        self._overdue_since: datetime | None = None
        self._escalated: set[str] = set()
        #: Patch ``lean-history`` (``workflows/common.py``): the event workflow is told our state by
        #: ``_tell_parent`` once per workflow task, only when it changed (``_untold``: a change not
        #: yet told); ``_finishing``: the run is about to return its state, which tells the rest.
        self._tell_once_per_task = False
        self._untold = False
        self._told: ObligationState | None = None
        self._finishing = False
        self._recording = 0  # ledger appends in flight: a state is told once its entries are written

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
            sent_at=self._sent_at,
            confirmed_at=self._confirmed_at,
            evidence=dict(self._evidence),
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
    def restated(self, obligation: Obligation) -> None:
        """The event's facts changed how the obligation is described (e.g. the number of affected
        consumers in its recipient's name after a reconciliation); its rule and clock did not."""
        self._obligation = self._obligation.model_copy(update={"recipient_name": obligation.recipient_name})
        # The event workflow changed its copy already; a state told before this signal arrived
        # would undo that, so tell it again (``lean-history``; the old path told it at the next step).
        self._untold = self._untold or self._tell_once_per_task

    @workflow.signal
    def waive(self, waiver: Waiver) -> None:
        if not self._status.resolved and self._pending_waiver is None:
            self._pending_waiver = waiver.model_copy(update={"forwarded_under": None})
            self._people_authority = waiver.forwarded_under or current_authority()

    @workflow.signal
    def complete_manually(self, completion: ManualCompletion) -> None:
        if not self._status.resolved and self._pending_completion is None:
            self._pending_completion = completion.model_copy(update={"forwarded_under": None})
            self._people_authority = completion.forwarded_under or current_authority()

    @workflow.signal
    def event_closed(self) -> None:
        self._event_closed = True

    @workflow.signal
    def responders_changed(self, responders: Responders) -> None:
        """The event's owner or backup changed (recorded by the event workflow): the next alert goes to them."""
        self._responders = responders

    @workflow.signal
    def sibling_sent(self, sibling: ObligationState) -> None:
        """The delivery this one shares was sent: this notice is given too, its confirmation awaited."""
        self._sibling_sent = sibling

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
        self._recording += 1
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
            self._recording -= 1

    async def _lifecycle(self, work: Callable[[], Awaitable[None]]) -> ObligationState:
        ob = self._obligation
        self._tell_once_per_task = workflow.patched(LEAN_HISTORY)
        teller = asyncio.create_task(self._tell_parent()) if self._tell_once_per_task else None
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
                "regime": ob.regime.value,
                "laws_satisfied": list(ob.laws_satisfied),
                "needs_counsel_review": ob.needs_counsel_review,
                "counsel_review_reasons": list(ob.counsel_review_reasons),
            },
        )
        if self._status is ObligationStatus.EXCUSED:
            self._waiting_for = f"nothing: excused — {ob.excused_reason}"
            await self._record("excused", "excused", data={"reason": ob.excused_reason})
            await self._publish()
            await self._told_parent(teller)
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
        await self._told_parent(teller)
        return self.state()

    async def _with_sibling(self) -> None:
        """Obligations sharing a recipient are met by one delivery (the earliest due governs)."""
        self._waiting_for = f"the delivery made for {self._inp.delivered_with}"
        await self._publish()
        while not (self._status.resolved or self._sibling is not None):
            await workflow.wait_condition(
                lambda: self._status.resolved or self._sibling is not None or self._sibling_sent is not None
            )
            sent, self._sibling_sent = self._sibling_sent, None
            if self._status.resolved or self._sibling is not None or sent is None or sent.sent_at is None:
                continue
            # Given when the shared delivery was sent (timeliness judged then); confirmed with it.
            self._documents.extend(d for d in sent.documents if d not in self._documents)
            await self._sent(
                sent.sent_at,
                {"delivered_with": self._inp.delivered_with, "evidence": sent.evidence},
                waiting_for=f"confirmation of the delivery made for {self._inp.delivered_with}",
            )
        sibling = self._sibling
        if sibling is None or sibling.met_at is None:
            return
        self._documents.extend(d for d in sibling.documents if d not in self._documents)
        # Given when the shared delivery was sent, confirmed when it was.
        await self._met(
            sibling.sent_at or sibling.met_at,
            confirmed_at=sibling.confirmed_at,
            data={"delivered_with": self._inp.delivered_with, "documents": [d.sha256 for d in sibling.documents][:20],
                  "evidence": sibling.evidence},
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

    async def _sent(self, at: datetime, evidence: dict[str, Any], *, waiting_for: str | None = None) -> None:
        """Record the notice as given at ``at`` with the channel's evidence (``<kind>.sent``): status
        ``sent``, awaiting its confirmation (``waiting_for``, shown with the status at once).
        Timeliness is judged here, on ``at``; from now on the deadline brings no reminder and no
        overdue turn."""
        if self._status.resolved or self._resolving or self._sent_at is not None:
            return
        self._sends += 1
        on_time = at <= self._due
        payload: dict[str, Any] = {"sent_at": iso(at), "due": iso(self._due), "on_time": on_time, "evidence": evidence}
        if not on_time:
            payload["late_by_seconds"] = int((at - self._due).total_seconds())
        await self._record("sent", f"sent/{self._sends}", data=payload)
        if self._status.resolved or self._resolving:  # a person resolved it while the entry was written
            return
        self._sent_at, self._evidence = at, {"sent": evidence}
        self._waiting_for = waiting_for or self._waiting_for
        self._status = ObligationStatus.SENT
        await self._publish()

    async def _confirmed(
        self, at: datetime, evidence: dict[str, Any], *, actor: str = "worker", data: dict[str, Any] | None = None
    ) -> None:
        """Record the notice sent as confirmed at ``at`` (an acknowledgement, the bounce window
        passed without a bounce): ``<kind>.met``, or ``met_late`` when it was *sent* after the due
        instant — however late the confirmation. ``data``: what else the entry states (e.g. the
        recipients it covers)."""
        if self._status.resolved or self._resolving or self._sent_at is None:
            return
        self._resolving = True
        sent_at = self._sent_at
        late = sent_at > self._due
        payload: dict[str, Any] = {
            **(data or {}),
            "met_at": iso(sent_at), "sent_at": iso(sent_at), "confirmed_at": iso(at), "due": iso(self._due),
            "on_time": not late, "sent_evidence": self._evidence.get("sent"), "confirmation": evidence,
        }
        if late:
            payload["late_by_seconds"] = int((sent_at - self._due).total_seconds())
        try:
            await self._record("met_late" if late else "met", "met", actor=actor, data=payload)
        except BaseException:
            self._resolving = False
            raise
        self._status = ObligationStatus.MET_LATE if late else ObligationStatus.MET
        self._met_at, self._confirmed_at = sent_at, at
        self._evidence = {**self._evidence, "confirmation": evidence}
        await self._publish()

    async def _reopen_notice(self, data: dict[str, Any]) -> None:
        """The notice sent did not reach (a hard bounce within the window): ``<kind>.reopened``, and
        the obligation waits again — overdue once its deadline has passed."""
        if self._status is not ObligationStatus.SENT or self._resolving or self._sent_at is None:
            return
        self._reopens += 1
        await self._record("reopened", f"reopened/{self._reopens}", data={"sent_at": iso(self._sent_at), **data})
        if self._status is not ObligationStatus.SENT or self._resolving:
            return
        self._sent_at, self._evidence = None, {}
        overdue_recorded = self._overdue_since is not None and workflow.now() >= self._due
        # Overdue already recorded for this deadline (sent late): overdue again, without a second entry;
        # otherwise the deadline watcher records the overdue turn when it comes.
        self._status = ObligationStatus.OVERDUE if overdue_recorded else ObligationStatus.PENDING
        await self._publish()

    def _reads_bounce_mailbox(self) -> bool:
        """Whether this run reads the bounce mailbox during its bounce windows (patch
        ``bounce-mailbox-intake``): True for every run that reaches a window on this code. A run
        already waiting out a window under release 2026-12-01 keeps its old path — one timer to the
        window's end, then the evidence, a bounce known only when a person records it. Deprecate
        the patch (``workflow.deprecate_patch``) once no obligation workflow started before its
        release is still running."""
        return workflow.patched(BOUNCE_MAILBOX_INTAKE)

    async def _read_bounces(self, delivery_key: str, refs: list[str] | None = None) -> BounceIntakeResult:
        """Read the bounce mailbox (every delivery's new reports, each hard bounce recorded once) and
        count this delivery's e-mails recorded returned (among ``refs`` when given)."""
        self._busy += 1
        try:
            return await quick_step(
                COLLECT_BOUNCES,
                BounceIntakeInput(delivery_key=delivery_key, recipient_refs=refs or []),
                result_type=BounceIntakeResult,
            )
        finally:
            self._busy -= 1

    async def _met(
        self, at: datetime, *, actor: str = "worker", data: dict | None = None, confirmed_at: datetime | None = None
    ) -> None:
        """Record the notice as given at ``at`` and confirmed (at ``confirmed_at``, else ``at``) —
        a person's completion with evidence, or a sibling's delivery — late when given after the
        due instant. The same two entries as a delivery of our own (``sent``, then ``met``), so an
        event's ledger has one shape whoever gave the notice."""
        if self._status.resolved or self._resolving:
            return
        self._resolving = True
        late = at > self._due
        confirmed = confirmed_at or at
        given = {k: v for k, v in (data or {}).items() if k in ("manual", "evidence", "evidence_sha256", "delivered_with")}
        payload = {"met_at": iso(at), "sent_at": iso(at), "confirmed_at": iso(confirmed), "due": iso(self._due),
                   "on_time": not late, **(data or {})}
        if late:
            payload["late_by_seconds"] = int((at - self._due).total_seconds())
        try:
            if self._sent_at is None:
                self._sends += 1
                await self._record("sent", f"sent/{self._sends}", actor=actor, data={
                    "sent_at": iso(at), "due": iso(self._due), "on_time": not late, "evidence": given})
            await self._record("met_late" if late else "met", "met", actor=actor, data=payload)
        except BaseException:
            self._resolving = False
            raise
        self._status = ObligationStatus.MET_LATE if late else ObligationStatus.MET
        self._met_at, self._sent_at, self._confirmed_at = at, at, confirmed
        self._evidence = {"sent": {k: v for k, v in payload.items() if k in ("manual", "evidence", "evidence_sha256", "delivered_with")}}
        await self._publish()

    async def _resolve_by_people(self) -> None:
        while True:
            await workflow.wait_condition(
                lambda: self._status.resolved or self._pending_waiver is not None or self._pending_completion is not None
            )
            if self._status.resolved:
                return
            try:
                with acting(self._people_authority):
                    await self._resolve_as_told()
                return
            except ActivityError as exc:
                if not actor_refused(exc):
                    raise
                # Sent to this workflow without the API's assertion for the person it names:
                # nothing was recorded; the obligation stays open for a step that is vouched for.
                workflow.logger.warning("waiver or completion refused: actor not vouched for", extra={"error": str(exc.cause)})
                self._pending_waiver = self._pending_completion = self._people_authority = None
                self._resolving = False

    async def _resolve_as_told(self) -> None:
        if self._pending_waiver is not None:
            if self._resolving:
                return
            self._resolving = True
            waiver = self._pending_waiver
            await self._record("waived", "waived", actor=ledger_actor(waiver.waived_by), data={"reason": waiver.reason})
            self._status = ObligationStatus.WAIVED
            self._waiver = waiver
            await self._publish()
            return
        completion = self._pending_completion
        assert completion is not None
        manual = {"manual": True, "evidence": completion.evidence, "evidence_sha256": completion.evidence_sha256}
        if self._sent_at is not None:
            # Already sent: the person's evidence is the confirmation; timeliness stays on the sending.
            await self._confirmed(completion.completed_at or workflow.now(), manual, actor=ledger_actor(completion.completed_by))
            return
        await self._met(completion.completed_at or workflow.now(), actor=ledger_actor(completion.completed_by), data=manual)

    async def _watch_deadline(self) -> None:
        while not self._status.resolved:
            if self._status is ObligationStatus.SENT:
                # Given: no reminder, no overdue turn while its confirmation is awaited. A bounce
                # that reopens it starts the watch again.
                self._due_changed = False
                await workflow.wait_condition(lambda: self._status is not ObligationStatus.SENT or self._due_changed)
                if self._due_changed and self._status is ObligationStatus.SENT:
                    await self._record_reschedule()
                continue
            now = workflow.now()
            due = self._due
            self._due_changed = False
            if now >= due:
                if self._status is ObligationStatus.PENDING:
                    step = f"overdue/{iso(due)}"
                    await self._record("overdue", step, data={"due": iso(due), "basis": self._obligation.basis})
                    if self._status is ObligationStatus.PENDING:  # not met while the entry was written
                        self._status = ObligationStatus.OVERDUE
                        self._overdue_since = now
                        await self._publish()
                        await self._alert(AlertWhat.OVERDUE, step, due)
                await self._while_overdue(due)
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
                    lambda: self._status.resolved or self._status is ObligationStatus.SENT or self._due_changed,
                    timeout=target - now,
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
        await self._alert(AlertWhat.REMINDER, f"reminder/{iso(due)}/{int(offset.total_seconds())}", due)

    # -- alerts to the event's responders --------------------------------------------------------

    async def _while_overdue(self, due: datetime) -> None:
        """Wait for the notice, a waiver or a new due instant; escalate once if it stays overdue
        for the escalation interval."""

        def moved_on() -> bool:
            return self._status.resolved or self._status is ObligationStatus.SENT or self._due_changed

        if self._status is ObligationStatus.OVERDUE and iso(due) not in self._escalated:
            since = self._overdue_since or due
            wait = max(since + self._inp.escalation_interval - workflow.now(), timedelta(seconds=1))
            try:
                await workflow.wait_condition(moved_on, timeout=wait)
            except TimeoutError:
                await self._escalate(due, since)
        await workflow.wait_condition(moved_on)

    async def _escalate(self, due: datetime, since: datetime) -> None:
        """Still overdue after the escalation interval: the backup (and the owner) are alerted."""
        self._escalated.add(iso(due))
        step = f"escalation/{iso(due)}"
        backup = self._responders.backup if self._responders else None
        await self._record(
            "escalated",
            step,
            data={
                "due": iso(due),
                "overdue_since": iso(since),
                "escalation_interval_seconds": int(self._inp.escalation_interval.total_seconds()),
                "backup": backup.responder_id if backup else None,
                "note": None if backup else "no backup assigned: the owner alone is alerted",
            },
        )
        await self._alert(AlertWhat.ESCALATION, step, due)

    async def _alert(self, what: AlertWhat, step: str, due: datetime) -> None:
        """Tell the responders — the owner; the backup too from overdue on — by e-mail and the
        webhook, then record what reached whom: ``<kind>.alert_sent`` when every channel owed took
        it, ``<kind>.alert_failed`` naming who was not reached (responders by id, never an address)."""
        ob = self._obligation
        workflow_id = workflow.info().workflow_id
        recipients = alert_recipients(self._responders, with_backup=what is not AlertWhat.REMINDER)
        request = ResponderAlert(
            step=f"{workflow_id}/{step}",
            workflow_id=workflow_id,
            incident_id=self._inp.incident_id,
            obligation_id=ob.obligation_id,
            kind=ob.kind,
            jurisdiction=ob.jurisdiction,
            citation=ob.citation,
            recipient_name=ob.recipient_name,
            due=due,
            as_of=workflow.now(),
            what=what,
            waiting_for=self._waiting_for[:2000],
            recipients=recipients,
        )
        self._busy += 1
        try:
            try:
                outcome = await workflow.execute_activity_method(
                    AlertActivities.alert_responders, request, start_to_close_timeout=ALERT_TIMEOUT, retry_policy=ALERT_RETRY
                )
            except ActivityError as err:
                cause = err.cause
                message = cause.message if isinstance(cause, ApplicationError) else str(cause or err)
                await self._record(
                    "alert_failed",
                    f"{step}/alert",
                    data={
                        "alert": what.value,
                        "recipients": [{"responder_id": r.responder.responder_id, "role": r.role.value} for r in recipients],
                        "error": message[:500],
                    },
                )
                return
            await self._record("alert_sent" if outcome.delivered else "alert_failed", f"{step}/alert", data=outcome.ledger_data())
        finally:
            self._busy -= 1

    async def _publish(self) -> None:
        """Search attributes, the UI's current details, and the event workflow's copy of our state
        (since ``lean-history`` the first and last once this workflow task's steps are taken)."""
        workflow.set_current_details(self._details())
        if self._tell_once_per_task:
            self._untold = True
            return
        sa.upsert(self._search_attributes())
        await self._signal_parent(self.state())

    def _search_attributes(self) -> list[Any]:
        # A notice sent has no deadline ahead of it, whatever its confirmation awaits.
        unresolved = not self._status.resolved and self._status is not ObligationStatus.SENT
        return [
            sa.INCIDENT_ID.value_set(self._inp.incident_id),
            sa.OBLIGATION_KIND.value_set(self._kind),
            sa.JURISDICTIONS.value_set([self._obligation.jurisdiction]),
            sa.STAGE.value_set(self._status.value),
            sa.OVERDUE.value_set(self._status is ObligationStatus.OVERDUE),
            sa.NEXT_DEADLINE.value_set(self._due) if unresolved else sa.NEXT_DEADLINE.value_unset(),
        ]

    def _details(self) -> str:
        ob = self._obligation
        lines = [
            f"**{self._kind.replace('_', ' ')}** — {ob.jurisdiction}, to {ob.recipient_name}",
            f"- status: **{self._status.value}**",
            f"- due: {markdown_deadline(self._due)} ({ob.citation})",
            f"- waiting for: {self._waiting_for}",
        ]
        if self._sent_at is not None:
            lines.append(f"- sent: {markdown_deadline(self._sent_at)}" + (
                f", confirmed {markdown_deadline(self._confirmed_at)}" if self._confirmed_at else ", awaiting confirmation"))
        if self._evidence and evidence_words(self._evidence):
            lines.append(f"- evidence: {evidence_words(self._evidence)}")
        if ob.needs_counsel_review:
            lines.append(f"- needs counsel review: {'; '.join(ob.counsel_review_reasons)}")
        return "\n".join(lines)

    async def _signal_parent(self, state: ObligationState) -> None:
        parent = workflow.get_external_workflow_handle(self._inp.parent_workflow_id)
        self._busy += 1
        try:
            await parent.signal(OBLIGATION_CHANGED_SIGNAL, state)
        except Exception as exc:  # the event workflow already finished: nothing to tell it
            workflow.logger.info("event workflow not reachable", extra={"error": str(exc)})
        finally:
            self._busy -= 1

    async def _tell_parent(self) -> None:
        """Since ``lean-history``: once a workflow task's steps are taken and their ledger entries
        written, our search attributes (those that changed) and the event workflow's copy of our
        state — once however many changes the steps made, not when it is what was told last, and
        not for a run about to return (the event workflow takes the state the run returns as if
        told, ``IncidentObligations._watched``). The event workflow misses no transition it acts
        on: a state carries ``sent_at`` and the status, so a notice sent and met in one task is
        seen as both."""
        while True:
            await workflow.wait_condition(lambda: self._untold and self._recording == 0)
            self._untold = False
            sa.upsert(self._search_attributes())
            state = self.state()
            if state == self._told or self._finishing:
                continue
            self._told = state
            await self._signal_parent(state)

    async def _told_parent(self, teller: asyncio.Task[None] | None) -> None:
        """Before the run returns (``lean-history``): every change the event workflow acts on told."""
        if teller is None:
            return
        self._finishing = True
        await workflow.wait_condition(lambda: not self._untold and self._busy == 0)
        teller.cancel()
