"""The notices to businesses about their clients: producers of record (Tenn. Code Ann.
§ 56-2-1006(f)) and, for an assuming insurer, ceding insurers (§ 56-2-1006(e)).
"""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from models.lifecycle import DeliveryCounts, ObligationInput, ObligationState
    from models.notice import (
        CedingInsurerNoticeInput,
        CedingInsurerNoticeResult,
        ProducerNoticeInput,
        ProducerNoticeResult,
    )

from workflows.common import (
    DELIVER_CEDING_INSURER_NOTICE,
    DELIVER_PRODUCER_NOTICE,
    DELIVERY,
)
from workflows.obligation_base import ObligationWorkflow


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
