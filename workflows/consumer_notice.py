"""The consumer-notice obligation: notice to a state's affected consumers by the method the rules
chose (Tenn. Code Ann. § 56-2-1006(c)).
"""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from models.lifecycle import DeliveryCounts, ObligationInput, ObligationState
    from models.notice import (
        ConsumerNoticeInput,
        ConsumerNoticeResult,
        DeliveryReport,
    )

from workflows.common import (
    DELIVER_CONSUMER_NOTICE,
    DELIVERY,
)
from workflows.obligation_base import ObligationWorkflow



#: Follow-up rounds after the first delivery: a bounced e-mail becomes a letter, a returned letter
#: an e-mail where the consumer agreed to electronic notice.
CONSUMER_FOLLOW_UP_ROUNDS = 2


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


def _channel_counts(reports: list[DeliveryReport]) -> dict[str, dict[str, int]]:
    return {
        r.channel: {"sent": r.sent, "failed": r.failed, "returned": r.returned, "in_doubt": r.in_doubt}
        for r in reports
    }
