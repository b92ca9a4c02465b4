"""The four notice obligations of a cybersecurity event, one child workflow each
(Tenn. Code Ann. § 56-2-1006). Each starts from its obligation as the rules computed it and runs
the shared lifecycle of ``ObligationWorkflow``: deadline, reminders, overdue, waiver, manual
completion. What differs is the automated work, which lives here.
"""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from models.content import DocumentRef
    from models.incident import IncidentIntake
    from models.lifecycle import DeliveryCounts, EventAmendment, Finding, MaterialUpdate, ObligationInput, ObligationState
    from models.notice import (
        CedingInsurerNoticeInput,
        CedingInsurerNoticeResult,
        CommissionerReportResult,
        ConsumerNoticeInput,
        ConsumerNoticeResult,
        DeliveryReport,
        ProducerNoticeInput,
        ProducerNoticeResult,
        RegulatorReceipt,
        RenderCommissionerReportInput,
        SubmitToRegulatorInput,
    )
    from models.obligation import Obligation

from workflows.common import (
    DELIVER_CEDING_INSURER_NOTICE,
    DELIVER_CONSUMER_NOTICE,
    DELIVER_PRODUCER_NOTICE,
    DELIVERY,
    QUICK,
    RENDER_COMMISSIONER_REPORT,
    SUBMIT_TO_REGULATOR,
)
from workflows.obligation_base import ObligationWorkflow

#: Follow-up rounds after the first delivery: a bounced e-mail becomes a letter, a returned letter
#: an e-mail where the consumer agreed to electronic notice.
CONSUMER_FOLLOW_UP_ROUNDS = 2


@workflow.defn(name="CommissionerNoticeWorkflow")
class CommissionerNoticeWorkflow(ObligationWorkflow):
    """Initial report with items (A)–(N) "as much … as is available" (§ 56-2-1006(b)(1)), then a
    material update for every change to the event while it is open (§ 56-2-1006(b)(2))."""

    @workflow.run
    async def run(self, inp: ObligationInput) -> ObligationState:
        self._queue: list[MaterialUpdate] = []
        self._version = 0
        self._previous: DocumentRef | None = None
        return await self._lifecycle(self._work)

    @workflow.signal
    def material_update(self, update: MaterialUpdate) -> None:
        if not self._inp.delivered_with:  # the obligation delivered with ours re-files for both
            self._queue.append(update)

    def _work_pending(self) -> bool:
        return bool(self._queue)

    async def _work(self) -> None:
        self._waiting_for = "the initial report to be rendered and filed with the commissioner"
        await self._publish()
        inp = self._inp
        receipt = await self._file(inp.intake, inp.findings, inp.amendments, [], [], inp.roster_id, [])
        await self._met(receipt.submitted_at, data={"version": 1, "submission_id": receipt.submission_id})
        self._waiting_for = "material updates to report, until the event is closed"
        await self._publish()
        while True:
            await workflow.wait_condition(lambda: bool(self._queue) or self._event_closed)
            if not self._queue:
                return
            update = self._queue[0]
            self._busy += 1
            try:
                await self._file(
                    update.intake, update.findings, update.amendments, update.consumer_obligations,
                    update.consumer_notice_documents, update.roster_id, update.changes, summary=update.summary,
                )
                self._updates_sent += 1
            finally:
                self._queue.pop(0)
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
                "consumer_estimate": report.consumer_estimate,
                "items_not_yet_available": [i.value for i in report.not_yet_available],
                "changes": [c.summary for c in report.changes] or changes,
                "summary": summary,
            },
        )
        return receipt


@workflow.defn(name="ConsumerNoticeWorkflow")
class ConsumerNoticeWorkflow(ObligationWorkflow):
    """Notice to the state's affected consumers within the state's clock (§ 56-2-1006(c)), by the
    method the rules chose: written, electronic, or substitute (e-mail where known + website
    posting + major statewide media). Sent only after a compliance officer's approval."""

    @workflow.run
    async def run(self, inp: ObligationInput) -> ObligationState:
        self._roster_id = inp.roster_id
        self._approved_by: str | None = None
        return await self._lifecycle(self._work)

    @workflow.signal
    def attach_roster(self, roster_id: str) -> None:
        self._roster_id = roster_id

    @workflow.signal
    def approve(self, approved_by: str) -> None:
        if self._approved_by is None:
            self._approved_by = approved_by

    async def _work(self) -> None:
        method = self._obligation.method.value if self._obligation.method else "written"
        if self._roster_id is None:
            self._waiting_for = "the affected consumers' contact list (attach_roster)"
            await self._publish()
            await workflow.wait_condition(lambda: self._status.resolved or self._roster_id is not None)
        if self._approved_by is None and not self._status.resolved:
            self._waiting_for = f"a compliance officer's approval to send the {method} notice"
            await self._publish()
            await workflow.wait_condition(lambda: self._status.resolved or self._approved_by is not None)
        if self._status.resolved:
            return
        assert self._roster_id is not None
        result: ConsumerNoticeResult | None = None
        for round_ in range(CONSUMER_FOLLOW_UP_ROUNDS + 1):
            self._waiting_for = f"delivery of the {method} notice" + (f" (follow-up round {round_})" if round_ else "")
            await self._publish()
            self._busy += 1
            try:
                result = await workflow.execute_activity(
                    DELIVER_CONSUMER_NOTICE,
                    ConsumerNoticeInput(
                        obligation=self._obligation, intake=self._inp.intake, content=self._inp.notices.content,
                        roster_id=self._roster_id, as_of=workflow.now(), round=round_,
                        media_outlets=self._inp.notices.media_outlets.get(self._obligation.jurisdiction, []),
                    ),
                    result_type=ConsumerNoticeResult,
                    **DELIVERY,  # type: ignore[arg-type]
                )
            finally:
                self._busy -= 1
            self._absorb(result)
            await self._record(
                "delivered",
                f"delivery/round-{round_}",
                actor="worker",
                data={
                    "round": round_,
                    "method": result.method.value,
                    "approved_by": self._approved_by,
                    "consumers": result.consumers,
                    "notified": result.notified,
                    "covered_by_substitute": result.covered_by_substitute,
                    "outstanding": result.outstanding,
                    "in_doubt": result.in_doubt,
                    "channels": _channel_counts(result.reports),
                    "documents": [d.sha256 for d in result.documents],
                },
            )
            if result.complete or result.outstanding == 0:
                break
        assert result is not None
        if result.complete:
            await self._met(workflow.now(), data={"method": result.method.value, "notified": result.notified,
                                                  "covered_by_substitute": result.covered_by_substitute})
        else:
            parts = []
            if result.outstanding:
                parts.append(f"{result.outstanding} consumer(s) could not be reached by any channel the {method} method allows")
            if result.in_doubt:
                parts.append(f"{result.in_doubt} e-mail(s) were interrupted while sending and may or may not have left "
                             "(check the relay's log)")
            self._waiting_for = (
                f"a person: {'; '.join(parts)} — give notice another way and complete manually, or waive with a reason"
            )
            await self._publish()

    def _absorb(self, result: ConsumerNoticeResult) -> None:
        self._deliveries = DeliveryCounts(
            sent=result.counts.sent, pending=result.counts.pending, failed=result.counts.failed,
            returned=result.counts.returned,
        )
        known = {d.sha256 for d in self._documents}
        self._documents.extend(d for d in result.documents if d.sha256 not in known)


@workflow.defn(name="ProducerNoticeWorkflow")
class ProducerNoticeWorkflow(ObligationWorkflow):
    """Notice to the producers of record of the affected consumers "as soon as practicable" and
    no later than the consumer notice (§ 56-2-1006(f)); excused where they are not known."""

    @workflow.run
    async def run(self, inp: ObligationInput) -> ObligationState:
        self._roster_id = inp.roster_id
        return await self._lifecycle(self._work)

    @workflow.signal
    def attach_roster(self, roster_id: str) -> None:
        self._roster_id = roster_id

    async def _work(self) -> None:
        self._waiting_for = "the affected consumers' list, which names their producers of record"
        await self._publish()
        await workflow.wait_condition(lambda: self._status.resolved or self._roster_id is not None)
        if self._status.resolved:
            return
        assert self._roster_id is not None
        self._waiting_for = "delivery of the producer notices"
        await self._publish()
        self._busy += 1
        try:
            result: ProducerNoticeResult = await workflow.execute_activity(
                DELIVER_PRODUCER_NOTICE,
                ProducerNoticeInput(
                    obligation=self._obligation, intake=self._inp.intake, content=self._inp.notices.content,
                    roster_id=self._roster_id, producers=self._inp.notices.producers, as_of=workflow.now(),
                ),
                result_type=ProducerNoticeResult,
                **DELIVERY,  # type: ignore[arg-type]
            )
        finally:
            self._busy -= 1
        self._deliveries = DeliveryCounts(sent=result.report.sent, failed=result.report.failed)
        self._documents.extend(result.documents)
        data = {
            "producers_notified": result.producers_notified,
            "consumers_with_producer": result.consumers_with_producer,
            "consumers_without_producer": result.consumers_without_producer,
            "unknown_producers": result.unknown_producers,
            "in_doubt": result.report.in_doubt,
            "documents": [d.sha256 for d in result.documents],
        }
        await self._record("delivered", "delivery", data=data)
        if result.complete:
            await self._met(workflow.now(), data={"producers_notified": result.producers_notified})
        else:
            self._waiting_for = (
                "a person: some producers could not be notified "
                f"({result.report.failed} failed, {_in_doubt_words(result.report.in_doubt)}"
                f"unknown: {', '.join(result.unknown_producers) or 'none'})"
            )
            await self._publish()


@workflow.defn(name="CedingInsurerNoticeWorkflow")
class CedingInsurerNoticeWorkflow(ObligationWorkflow):
    """An assuming insurer without a direct relationship with the consumers notifies the affected
    ceding insurers within three business days (§ 56-2-1006(e)); they notify the consumers."""

    @workflow.run
    async def run(self, inp: ObligationInput) -> ObligationState:
        return await self._lifecycle(self._work)

    async def _work(self) -> None:
        insurers = self._inp.notices.ceding_insurers
        if not insurers:
            self._waiting_for = "a person: no ceding insurers were given — notify them and complete manually"
            await self._publish()
            return
        self._waiting_for = "delivery of the notices to the ceding insurers"
        await self._publish()
        self._busy += 1
        try:
            result: CedingInsurerNoticeResult = await workflow.execute_activity(
                DELIVER_CEDING_INSURER_NOTICE,
                CedingInsurerNoticeInput(
                    obligation=self._obligation, intake=self._inp.intake, content=self._inp.notices.content,
                    ceding_insurers=insurers, as_of=workflow.now(),
                ),
                result_type=CedingInsurerNoticeResult,
                **DELIVERY,  # type: ignore[arg-type]
            )
        finally:
            self._busy -= 1
        self._deliveries = DeliveryCounts(sent=result.report.sent, failed=result.report.failed)
        self._documents.extend(result.documents)
        await self._record(
            "delivered", "delivery",
            data={"ceding_insurers": len(insurers), "sent": result.report.sent, "failed": result.report.failed,
                  "in_doubt": result.report.in_doubt, "documents": [d.sha256 for d in result.documents]},
        )
        if result.complete:
            await self._met(workflow.now(), data={"ceding_insurers": len(insurers)})
        else:
            self._waiting_for = (
                f"a person: {result.report.failed} ceding insurer notice(s) failed"
                + (f", {_in_doubt_words(result.report.in_doubt)}".rstrip(", ") if result.report.in_doubt else "")
            )
            await self._publish()


def _in_doubt_words(in_doubt: int) -> str:
    """How a person is told of e-mails a dead worker may or may not have handed to the relay."""
    if not in_doubt:
        return ""
    return (f"{in_doubt} e-mail(s) interrupted while sending, never re-sent automatically — check the relay's "
            "log for their Message-ID, then complete manually or send again, ")


def _commissioner_state(obligation: Obligation) -> str:
    """Whose commissioner receives the filing: the recipient's state (``commissioner:<state>``),
    which for an assuming insurer is its state of domicile whichever state's law requires it."""
    prefix, _, state = obligation.recipient_key.partition(":")
    return state if prefix == "commissioner" and state else obligation.jurisdiction


def _channel_counts(reports: list[DeliveryReport]) -> dict[str, dict[str, int]]:
    return {
        r.channel: {"sent": r.sent, "failed": r.failed, "returned": r.returned, "in_doubt": r.in_doubt}
        for r in reports
    }
