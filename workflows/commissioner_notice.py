"""The commissioner-notice obligation: the initial report and its material updates
(Tenn. Code Ann. § 56-2-1006(b)).

Filed is *sent*, not received: the portal's receipt is recorded as ``commissioner_notice.sent``
(status ``sent``); the obligation is ``met`` — or ``met_late``, judged on when the report was
filed — only on the regulator's acknowledgement with its reference number. The acknowledgement
is polled from the portal with a durable timer between polls (``check_regulator_acknowledgements``),
or recorded by a person (signal ``record_acknowledgement``). Without one within two business days
of the filing (the commissioner's state's business days) the responders are alerted
(``commissioner_notice.acknowledgement_missing``). Updated reports are filings too: their
acknowledgements are tracked the same way, the obligation staying met.

Closing the event does not stop the tracking: an updated report filed shortly before closure still
needs its acknowledgement (or the reminder and the alert). The workflow keeps asking until every
filing is acknowledged or the tracking horizon passes — ``NOTICEFLOW_ACKNOWLEDGEMENT_TRACKING_BUSINESS_DAYS``
(default 10) business days after the last filing —, then records a final
``acknowledgement_missing`` entry for each filing still unacknowledged and ends.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from models.actors import ledger_actor
    from models.authority import StepAuthority, acting, current_authority
    from models.alerts import AlertWhat
    from models.common import Clock, ClockUnit
    from models.content import DocumentRef
    from models.incident import IncidentIntake
    from models.lifecycle import (
        EventAmendment,
        Finding,
        MaterialUpdate,
        ObligationInput,
        ObligationState,
        ObligationStatus,
    )
    from models.notice import (
        AcknowledgementQuery,
        AcknowledgementsFound,
        CommissionerReportResult,
        RegulatorAcknowledgement,
        RegulatorReceipt,
        RenderCommissionerReportInput,
        SubmitToRegulatorInput,
    )
    from models.obligation import Obligation
    from models.steps import ReportItemNotApplicable
    from rules.calendar import deadline
    from rules.npi import npi_problem

from workflows.common import (
    CHECK_REGULATOR_ACKNOWLEDGEMENTS,
    DELIVERY,
    QUICK,
    RENDER_COMMISSIONER_REPORT,
    SUBMIT_TO_REGULATOR,
    iso,
    markdown_deadline,
)
from workflows.obligation_base import ObligationWorkflow
from workflows.refusals import actor_refused
from workflows.rules_call import call_rules

#: noticeflow's expectation, not the statute's (which asks for the notice, not its acknowledgement):
#: a regulator acknowledges a filing within two business days of its state, else the responders
#: are alerted to check the portal.
ACKNOWLEDGEMENT_EXPECTED_WITHIN = Clock(amount=2, unit=ClockUnit.BUSINESS_DAYS)
#: When the portal is asked for a filing's acknowledgement (durable timers): soon after filing,
#: for a portal that acknowledges at once; then hourly; every six hours once it is overdue.
ACK_FIRST_POLLS = (timedelta(seconds=10), timedelta(minutes=1), timedelta(minutes=10))
ACK_POLL_INTERVAL = timedelta(hours=1)
ACK_POLL_INTERVAL_OVERDUE = timedelta(hours=6)
#: After closure, acknowledgements are asked for until this many business days after the last
#: filing, unless the worker's setting (returned with each poll) says otherwise.
ACK_TRACKING_BUSINESS_DAYS = 10
#: Patch id (``workflow.patched``, docs/temporal.md "Changing a workflow"): acknowledgements are
#: tracked past closure. Before it (release 2026-12-01) the tracking stopped when the event closed.
ACKNOWLEDGEMENTS_AFTER_CLOSE = "acknowledgements-after-close"
#: Patch id: an updated report still being filed (or queued) when the event closes is tracked
#: like any other. Before it the tracking could end at closure with nothing owed while that
#: report was on its way, and the run ended with the report filed and its acknowledgement never
#: asked for — seen when a closure and a last change (item (N)) reached the workflow together.
UPDATES_TRACKED_AT_CLOSE = "updates-tracked-at-close"


@dataclass
class _Filing:
    """One version filed: its receipt (sent), its acknowledgement once it came (confirmed)."""

    version: int
    receipt: RegulatorReceipt
    expected_by: datetime
    acknowledged: RegulatorAcknowledgement | None = None
    missing_recorded: bool = False


@workflow.defn(name="CommissionerNoticeWorkflow")
class CommissionerNoticeWorkflow(ObligationWorkflow):
    """Initial report with items (A)–(N) "as much … as is available" (§ 56-2-1006(b)(1)), then a
    material update for every change to the event while it is open (§ 56-2-1006(b)(2))."""

    @workflow.init
    def __init__(self, inp: ObligationInput) -> None:
        super().__init__(inp)
        self._queue: list[MaterialUpdate] = []
        self._steps_seen: set[str] = set()
        self._polling = False  # an acknowledgement poll in flight
        self._version = 0
        self._previous: DocumentRef | None = None
        self._filings: dict[int, _Filing] = {}
        self._ack_inbox: list[RegulatorAcknowledgement] = []
        self._ack_held: list[RegulatorAcknowledgement] = []
        #: The actor assertion each recorded acknowledgement was forwarded under, keyed by the
        #: acknowledgement object while it waits in the inbox (``models/authority.py``).
        self._ack_authority: dict[int, StepAuthority | None] = {}
        self._acks_unreadable: dict[str, str] = {}
        self._tracking = False  # acknowledgements still tracked (holds the end of the workflow)
        self._filing_at_close_tracked = False  # patch ``updates-tracked-at-close``, decided when tracking starts
        self._after_close = False  # ... and past the event's closure (patch "acknowledgements-after-close")
        self._tracking_days = ACK_TRACKING_BUSINESS_DAYS
        self._tracking_ended: datetime | None = None

    @workflow.run
    async def run(self, inp: ObligationInput) -> ObligationState:
        return await self._lifecycle(self._work)

    @workflow.signal
    def record_acknowledgement(self, ack: RegulatorAcknowledgement) -> None:
        """A person records the regulator's acknowledgement of a filing (validated and routed by
        the event workflow): it confirms the filing as the portal's would."""
        authority, ack = ack.forwarded_under or current_authority(), ack.model_copy(update={"forwarded_under": None})
        self._ack_authority[id(ack)] = authority
        self._ack_inbox.append(ack)

    @workflow.signal
    def material_update(self, update: MaterialUpdate) -> None:
        if self._inp.delivered_with:  # the obligation delivered with ours re-files for both
            return
        if update.step and update.step in self._steps_seen:  # the same step told twice: one report
            return
        if update.step:
            self._steps_seen.add(update.step)
        self._queue.append(update)

    def _work_pending(self) -> bool:
        # Acknowledgements are tracked past closure (bounded), so the workflow ends after them; an
        # obligation told of no closure (no continuing updates) does not wait for them.
        return bool(self._queue) or self._polling or (
            self._tracking and self._after_close and self._obligation.continuing_updates
        )

    async def _work(self) -> None:
        self._waiting_for = "the initial report to be rendered and filed with the commissioner"
        await self._publish()
        inp = self._inp
        receipt = await self._file(inp.intake, inp.findings, inp.amendments, [], [], inp.roster_id, [],
                                   not_applicable=inp.not_applicable)
        first = self._filings[1]
        await self._sent(receipt.submitted_at, {**receipt.sent_evidence(), "version": 1,
                                                "acknowledgement_expected_by": iso(first.expected_by)})
        self._show_waiting()
        await self._publish()
        # Decided once, when tracking starts: a run that began tracking under release 2026-12-01
        # stops asking for acknowledgements when the event closes, and its end is not held for them.
        # Deprecate the patch once no commissioner notice that started tracking before it is running.
        self._after_close = workflow.patched(ACKNOWLEDGEMENTS_AFTER_CLOSE)
        self._filing_at_close_tracked = workflow.patched(UPDATES_TRACKED_AT_CLOSE)
        self._tracking = True
        try:
            await asyncio.gather(self._report_updates(), self._track_acknowledgements())
        finally:
            self._tracking = False

    async def _report_updates(self) -> None:
        while True:
            await workflow.wait_condition(lambda: bool(self._queue) or self._event_closed)
            if not self._queue:
                return
            # Steps that arrived while the last report was being filed are coalesced into one
            # updated report: it carries the latest facts and every step's changes.
            batch = list(self._queue)
            latest = batch[-1]
            changes = [c for u in batch for c in u.changes]
            summary = "; ".join(dict.fromkeys(u.summary for u in batch))
            self._busy += 1
            try:
                await self._file(
                    latest.intake, latest.findings, latest.amendments, latest.consumer_obligations,
                    latest.consumer_notice_documents, latest.roster_id, changes, summary=summary,
                    steps=[u.step for u in batch if u.step], not_applicable=latest.not_applicable,
                )
                self._updates_sent += 1
            finally:
                del self._queue[: len(batch)]
                self._busy -= 1
            await self._publish()

    async def _file(
        self,
        intake: IncidentIntake,
        findings: list[Finding],
        amendments: list[EventAmendment],
        consumer_obligations: list[Obligation],
        consumer_documents: list[DocumentRef],
        roster_id: str | None,
        changes: list[str],
        *,
        summary: str | None = None,
        steps: list[str] | None = None,
        not_applicable: list[ReportItemNotApplicable] | None = None,
    ) -> RegulatorReceipt:
        self._version += 1
        version = self._version
        report: CommissionerReportResult = await workflow.execute_activity(
            RENDER_COMMISSIONER_REPORT,
            RenderCommissionerReportInput(
                obligation=self._obligation, intake=intake, findings=findings, amendments=amendments,
                consumer_obligations=consumer_obligations, consumer_notice_documents=consumer_documents,
                content=self._inp.notices.content, roster_id=roster_id, version=version,
                previous=self._previous, reported_changes=changes, as_of=workflow.now(),
                not_applicable=not_applicable or [],
            ),
            result_type=CommissionerReportResult,
            **QUICK,  # type: ignore[arg-type]
        )
        self._previous = report.json_document
        receipt: RegulatorReceipt = await workflow.execute_activity(
            SUBMIT_TO_REGULATOR,
            SubmitToRegulatorInput(
                obligation_id=self._obligation.obligation_id, jurisdiction=_commissioner_state(self._obligation),
                recipient_name=self._obligation.recipient_name, version=version,
                documents=[report.json_document, report.html_document],
            ),
            result_type=RegulatorReceipt,
            **DELIVERY,  # type: ignore[arg-type]
        )
        self._documents.append(report.json_document)
        await self._record(
            "submitted" if version == 1 else "updated",
            f"report/v{version}",
            data={
                "version": version,
                "document_sha256": report.json_document.sha256,
                "html_sha256": report.html_document.sha256,
                "submission_id": receipt.submission_id,
                "portal": receipt.portal,
                "sent_at": iso(receipt.submitted_at),
                "portal_reference": receipt.reference,
                "consumer_estimate": report.consumer_estimate,
                "items_not_yet_available": [i.value for i in report.not_yet_available],
                "changes": [c.summary for c in report.changes] or changes,
                "summary": summary,
                "steps": steps or [],
                # The ledger checkpoint the filed document shows (issue 10 spec G).
                "checkpoint": report.checkpoint.model_dump(mode="json") if report.checkpoint else None,
            },
        )
        expected_by = call_rules(deadline, receipt.submitted_at, ACKNOWLEDGEMENT_EXPECTED_WITHIN, self._filed_with)
        self._filings[version] = _Filing(version, receipt, expected_by)
        # Acknowledgements a person recorded for this version before it was filed here.
        self._ack_inbox.extend(self._ack_held)
        self._ack_held.clear()
        return receipt

    # -- the regulator's acknowledgements ----------------------------------------------------------

    @property
    def _filed_with(self) -> str:
        return _commissioner_state(self._obligation)

    def _outstanding(self) -> list[_Filing]:
        return [f for _, f in sorted(self._filings.items()) if f.acknowledged is None]

    def _awaited(self) -> list[_Filing]:
        """Filings whose acknowledgement is still owed: the initial report only while its
        obligation awaits it (a person may have completed or waived it), every updated report."""
        return [f for f in self._outstanding() if not (f.version == 1 and self._status.resolved)]

    def _tracking_horizon(self) -> datetime:
        """After closure: the business days of ``NOTICEFLOW_ACKNOWLEDGEMENT_TRACKING_BUSINESS_DAYS``
        after the last filing, in the commissioner's state."""
        last = max(f.receipt.submitted_at for f in self._filings.values())
        clock = Clock(amount=self._tracking_days, unit=ClockUnit.BUSINESS_DAYS)
        return call_rules(deadline, last, clock, self._filed_with)

    async def _track_acknowledgements(self) -> None:
        """Ask the portal for the acknowledgement of every filing not yet acknowledged, with a
        durable timer between polls; take a person's as it comes; alert when one is overdue.
        After the event is closed, keep asking for those still owed until the tracking horizon,
        then say plainly that none came, and stop."""
        polls = 0
        while self._after_close or not self._event_closed:
            await self._take_recorded_acknowledgements()
            now = workflow.now()
            if self._event_closed:
                if not self._awaited():
                    if self._filing_at_close_tracked and self._queue:
                        # A last updated report is queued or being filed (``_report_updates`` takes
                        # a batch off the queue once it is filed): its acknowledgement is owed too.
                        await workflow.wait_condition(lambda: not self._queue)
                        continue
                    return
                horizon = self._tracking_horizon()
                if now >= horizon:
                    await self._tracking_gave_up(horizon)
                    return
            if not self._outstanding():
                await workflow.wait_condition(
                    lambda: bool(self._ack_inbox) or bool(self._outstanding()) or self._event_closed
                )
                polls = 0
                continue
            self._polling = True
            try:
                found: AcknowledgementsFound = await workflow.execute_activity(
                    CHECK_REGULATOR_ACKNOWLEDGEMENTS,
                    AcknowledgementQuery(jurisdiction=self._filed_with,
                                         submission_ids=[f.receipt.submission_id for f in self._outstanding()]),
                    result_type=AcknowledgementsFound,
                    **QUICK,  # type: ignore[arg-type]
                )
            finally:
                self._polling = False
            self._acks_unreadable = dict(found.unreadable)
            if found.tracking_business_days:
                self._tracking_days = found.tracking_business_days
            for filing in self._outstanding():
                ack = found.acknowledgements.get(filing.receipt.submission_id)
                if ack is not None:
                    await self._acknowledged(filing, ack)
            now = workflow.now()
            for filing in self._awaited():
                if not filing.missing_recorded and now >= filing.expected_by:
                    await self._acknowledgement_missing(filing)
            outstanding = self._outstanding()
            if not outstanding:
                continue
            if polls < len(ACK_FIRST_POLLS):
                interval = ACK_FIRST_POLLS[polls]
            elif all(f.missing_recorded for f in outstanding):
                interval = ACK_POLL_INTERVAL_OVERDUE
            else:
                interval = ACK_POLL_INTERVAL
            polls += 1
            wakes = [now + interval, *(f.expected_by for f in outstanding if not f.missing_recorded and f.expected_by > now)]
            closed = self._event_closed and self._after_close  # the old path's wait ends on closure
            if closed and self._awaited():
                wakes.append(self._tracking_horizon())
            wake = min(wakes)
            filed = len(self._filings)
            self._show_waiting()
            await self._publish()
            try:
                await workflow.wait_condition(
                    lambda filed=filed, closed=closed: bool(self._ack_inbox) or len(self._filings) != filed
                    or self._event_closed != closed,
                    timeout=max(wake - now, timedelta(seconds=1)),
                )
            except TimeoutError:
                pass
            if len(self._filings) != filed:
                polls = 0  # a new filing: ask soon

    async def _tracking_gave_up(self, horizon: datetime) -> None:
        """The event is closed and the tracking horizon passed: one final entry per filing still
        unacknowledged, saying so plainly, and the responders are alerted."""
        self._tracking_ended = horizon
        for filing in self._awaited():
            step = f"acknowledgement_missing/v{filing.version}/final"
            await self._record(
                "acknowledgement_missing",
                step,
                data={
                    "version": filing.version,
                    "submission_id": filing.receipt.submission_id,
                    "portal": filing.receipt.portal,
                    "sent_at": iso(filing.receipt.submitted_at),
                    "expected_by": iso(filing.expected_by),
                    "final": True,
                    "tracking_ended_at": iso(horizon),
                    "statement": f"No acknowledgement of version {filing.version} of the report filed with the "
                    f"{self._filed_with} commissioner on {iso(filing.receipt.submitted_at)} came from the regulator "
                    f"within {self._tracking_days} business days of the last filing. The event is closed and the "
                    "portal is no longer asked: the filing stays sent, unacknowledged; a person obtains the "
                    "acknowledgement from the regulator and keeps it with the event's records.",
                    "basis": "noticeflow's expectation of the regulator, not a statutory deadline",
                },
            )
            filing.missing_recorded = True
            self._show_waiting()
            await self._publish()
            await self._alert(AlertWhat.ACKNOWLEDGEMENT_MISSING, step, self._due)

    async def _take_recorded_acknowledgements(self) -> None:
        while self._ack_inbox:
            ack = self._ack_inbox.pop(0)
            problem = call_rules(npi_problem, "reference", ack.reference)
            if problem:  # refused by the event workflow's validator already; never ledgered
                workflow.logger.warning("acknowledgement refused", extra={"problem": problem})
                continue
            if ack.version is not None:
                target = self._filings.get(ack.version)
                if target is None:
                    self._ack_held.append(ack)  # that version is being filed now
                    continue
            else:
                outstanding = self._outstanding()
                target = outstanding[0] if outstanding else None
            if target is None or target.acknowledged is not None:
                workflow.logger.info("acknowledgement already recorded", extra={"version": ack.version})
                continue
            try:
                with acting(self._ack_authority.pop(id(ack), None)):
                    await self._acknowledged(target, ack, actor=ledger_actor(ack.recorded_by))
            except ActivityError as exc:
                if not actor_refused(exc):
                    raise
                # Not vouched for by the API: nothing recorded, the filing still awaits its acknowledgement.
                target.acknowledged = None
                workflow.logger.warning("acknowledgement refused: actor not vouched for", extra={"error": str(exc.cause)})

    async def _acknowledged(self, filing: _Filing, ack: RegulatorAcknowledgement, *, actor: str = "worker") -> None:
        """The initial report acknowledged: the obligation is met (on time if it was filed by the
        due instant, however late the acknowledgement). An updated report: recorded, tracked."""
        filing.acknowledged = ack
        evidence = {"version": filing.version, "submission_id": filing.receipt.submission_id, **ack.confirmation_evidence()}
        sent_at = filing.receipt.submitted_at
        if filing.version == 1 and self._status is ObligationStatus.SENT:
            await self._confirmed(max(ack.received_at, sent_at), evidence, actor=actor)
        else:
            await self._record("acknowledged", f"acknowledged/v{filing.version}", actor=actor,
                               data={**evidence, "sent_at": iso(sent_at)})
        self._show_waiting()
        await self._publish()

    async def _acknowledgement_missing(self, filing: _Filing) -> None:
        filing.missing_recorded = True
        step = f"acknowledgement_missing/v{filing.version}"
        await self._record(
            "acknowledgement_missing",
            step,
            data={
                "version": filing.version,
                "submission_id": filing.receipt.submission_id,
                "portal": filing.receipt.portal,
                "sent_at": iso(filing.receipt.submitted_at),
                "expected_by": iso(filing.expected_by),
                "expected_within": f"{ACKNOWLEDGEMENT_EXPECTED_WITHIN.describe()} of the filing ({self._filed_with})",
                "basis": "noticeflow's expectation of the regulator, not a statutory deadline",
            },
        )
        self._show_waiting()
        await self._publish()
        await self._alert(AlertWhat.ACKNOWLEDGEMENT_MISSING, step, self._due)

    def _show_waiting(self) -> None:
        """What the obligation waits for, as the filings' acknowledgements stand."""
        state = self._filed_with
        parts: list[str] = []
        first = self._filings.get(1)
        if self._status is ObligationStatus.SENT and first is not None and first.acknowledged is None:
            parts.append(
                f"the {state} commissioner's acknowledgement of the report filed {markdown_deadline(first.receipt.submitted_at)} "
                f"(submission {first.receipt.submission_id}), expected by {markdown_deadline(first.expected_by)}"
            )
        elif self._status.resolved and not self._event_closed:
            parts.append("material updates to report, until the event is closed")
        updates = [f for f in self._outstanding() if f.version > 1]
        if self._tracking_ended is not None:
            self._waiting_for = (
                "nothing: the event is closed and no acknowledgement came for "
                + ", ".join(f"v{f.version}" for f in self._awaited())
                + f" within {self._tracking_days} business days of the last filing — obtain it from the {state} "
                "commissioner and keep it with the records"
            )
            return
        if updates and self._event_closed and self._after_close:
            parts.append(
                "acknowledgement of updated report(s) " + ", ".join(f"v{f.version}" for f in updates)
                + f" (the event is closed; asked for until {markdown_deadline(self._tracking_horizon())})"
            )
        elif updates:
            parts.append("acknowledgement of updated report(s) " + ", ".join(f"v{f.version}" for f in updates))
        late = [f for f in self._outstanding() if f.missing_recorded]
        if late:
            parts.append(
                "none came within two business days for " + ", ".join(f"v{f.version}" for f in late)
                + f": check the {state} portal and record the acknowledgement with its reference number, "
                "or complete manually with the evidence"
            )
        for submission_id, reason in sorted(self._acks_unreadable.items()):
            parts.append(f"the acknowledgement of {submission_id} could not be read ({reason})")
        if parts:
            self._waiting_for = "; ".join(parts)


def _commissioner_state(obligation: Obligation) -> str:
    """Whose commissioner receives the filing: the recipient's state (``commissioner:<state>``),
    which for an assuming insurer is its state of domicile whichever state's law requires it."""
    prefix, _, state = obligation.recipient_key.partition(":")
    return state if prefix == "commissioner" and state else obligation.jurisdiction

