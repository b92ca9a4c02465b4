"""The commissioner-notice obligation: the initial report and its material updates
(Tenn. Code Ann. § 56-2-1006(b)).
"""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from models.content import DocumentRef
    from models.incident import IncidentIntake
    from models.lifecycle import EventAmendment, Finding, MaterialUpdate, ObligationInput, ObligationState
    from models.notice import (
        CommissionerReportResult,
        RegulatorReceipt,
        RenderCommissionerReportInput,
        SubmitToRegulatorInput,
    )
    from models.obligation import Obligation

from workflows.common import (
    DELIVERY,
    QUICK,
    RENDER_COMMISSIONER_REPORT,
    SUBMIT_TO_REGULATOR,
)
from workflows.obligation_base import ObligationWorkflow


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


def _commissioner_state(obligation: Obligation) -> str:
    """Whose commissioner receives the filing: the recipient's state (``commissioner:<state>``),
    which for an assuming insurer is its state of domicile whichever state's law requires it."""
    prefix, _, state = obligation.recipient_key.partition(":")
    return state if prefix == "commissioner" and state else obligation.jurisdiction

