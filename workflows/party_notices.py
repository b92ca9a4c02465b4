"""The notices to businesses about their clients: producers of record (Tenn. Code Ann.
§ 56-2-1006(f)) and, for an assuming insurer, ceding insurers (§ 56-2-1006(e)).

Both go by e-mail, and sent is not received: the relay's acceptance of every e-mail owed is
recorded as ``<kind>.sent`` with each recipient's queue id (timeliness judged then); the notice is
``met`` when the bounce window (``NOTICEFLOW_BOUNCE_WINDOW_DAYS``) has passed with no hard bounce
recorded for any of them. A bounce within the window — read from the bounce mailbox
(``NOTICEFLOW_BOUNCE_MAILDIR``, every hour), recorded by a person with ``record_returned_notices``
and told with the signal ``notices_returned``, or found when the window ends — reopens the
obligation for a person to notify those recipients another way.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from models.lifecycle import (
        DeliveryCounts,
        ObligationInput,
        ObligationState,
        ObligationStatus,
    )
    from models.notice import (
        CedingInsurerNoticeInput,
        CedingInsurerNoticeResult,
        DeliveryConfirmationInput,
        DeliveryConfirmationResult,
        ProducerNoticeInput,
        ProducerNoticeResult,
    )

from workflows.common import (
    CONFIRM_DELIVERIES,
    DELIVER_CEDING_INSURER_NOTICE,
    DELIVER_PRODUCER_NOTICE,
    DELIVERY,
    iso,
    markdown_deadline,
    quick_step,
)
from workflows.obligation_base import BOUNCE_POLL_INTERVAL, ObligationWorkflow


class _EmailedNotice(ObligationWorkflow):
    """An obligation met by e-mails: sent when the relay took them all, confirmed when the bounce
    window passes without a hard bounce, reopened on one."""

    @workflow.init
    def __init__(self, inp: ObligationInput) -> None:
        super().__init__(inp)
        self._returns_reported = 0

    @workflow.signal
    def notices_returned(self) -> None:
        """A bounce was recorded for these notices (``record_returned_notices``): look now, not
        only at the end of the bounce window."""
        self._returns_reported += 1

    async def _confirm_by_bounce_window(
        self, delivery_key: str, refs: list[str], window: timedelta, recipients: str, met_data: dict[str, Any]
    ) -> bool:
        """Wait out the bounce window, reading the bounce mailbox every ``BOUNCE_POLL_INTERVAL``
        (once more when it ends): True once met; False when reopened (a bounce came back, read from
        the mailbox or recorded by a person) or resolved otherwise by a person meanwhile."""
        window_ends = workflow.now() + window
        self._waiting_for = (
            f"the bounce window: the notices are confirmed on {markdown_deadline(window_ends)} unless a hard bounce "
            f"comes back from a {recipients}'s mail server"
        )
        await self._publish()
        # Read the bounce mailbox until it says none is configured; a run that waited out its window
        # under release 2026-12-01 keeps one timer, no mailbox read (patch "bounce-mailbox-intake").
        mailbox = self._reads_bounce_mailbox()
        while self._status is ObligationStatus.SENT:
            seen = self._returns_reported
            remaining = window_ends - workflow.now()
            if remaining > timedelta(0):
                try:
                    await workflow.wait_condition(
                        lambda seen=seen: self._status is not ObligationStatus.SENT or self._returns_reported != seen,
                        timeout=min(remaining, BOUNCE_POLL_INTERVAL) if mailbox else remaining,
                    )
                except TimeoutError:
                    pass
            if self._status is not ObligationStatus.SENT:
                return False  # completed or waived by a person meanwhile
            detected_by = "reported" if self._returns_reported != seen else "window_end"
            if mailbox and detected_by != "reported":
                found = await self._read_bounces(delivery_key, refs)
                mailbox = found.configured
                if found.returned:
                    detected_by = "bounce_mailbox"
                elif workflow.now() < window_ends:
                    continue
            if self._status is not ObligationStatus.SENT:
                return False
            check: DeliveryConfirmationResult = await quick_step(
                CONFIRM_DELIVERIES,
                DeliveryConfirmationInput(delivery_key=delivery_key, recipient_refs=refs),
                result_type=DeliveryConfirmationResult,
            )
            if check.returned or check.missing:
                await self._reopen_notice({
                    "returned": [{"recipient_ref": f.recipient_ref, "kind": f.kind.value, "reason": f.reason} for f in check.returned],
                    "missing": check.missing,
                    "confirmed": check.confirmed,
                    "detected_by": detected_by,
                })
                names = ", ".join([f.recipient_ref for f in check.returned] + check.missing)
                self._waiting_for = (
                    f"a person: the notice to {recipients}(s) {names} came back undelivered — notify them another way "
                    "and complete manually, or waive with a reason"
                )
                await self._publish()
                return False
            if workflow.now() >= window_ends:
                await self._confirmed(workflow.now(), {
                    "no_hard_bounce_within": f"{window.total_seconds() / 86400:g} day(s)",
                    "window_ended_at": iso(window_ends), "recipients_confirmed": check.confirmed,
                    "bounce_mailbox_read": mailbox,
                }, data=met_data)
                return self._status.resolved
        return False


@workflow.defn(name="ProducerNoticeWorkflow")
class ProducerNoticeWorkflow(_EmailedNotice):
    """Notice to the producers of record of the state's affected consumers "as soon as practicable"
    and no later than the consumer notice (§ 56-2-1006(f)); excused where they are not known.

    Met only when every producer of record of every consumer of the state on the roster was
    notified — the relay accepted its e-mail, sent under this obligation or another state's (one
    e-mail per producer per event). Consumers without current producer-of-record information
    excuse that part, recorded with their count. A producer id missing from the directory, a
    refused or interrupted e-mail, or a roster listing no consumer of the state leaves the
    obligation open: a corrected roster runs the delivery again, or a person completes or waives it.
    """

    @workflow.init
    def __init__(self, inp: ObligationInput) -> None:
        super().__init__(inp)
        self._roster_id: str | None = inp.roster_id
        self._rosters_attached = 0

    @workflow.run
    async def run(self, inp: ObligationInput) -> ObligationState:
        return await self._lifecycle(self._work)

    @workflow.signal
    def attach_roster(self, roster_id: str) -> None:
        self._roster_id = roster_id
        self._rosters_attached += 1

    async def _work(self) -> None:
        self._waiting_for = "the affected consumers' list, which names their producers of record"
        await self._publish()
        await workflow.wait_condition(lambda: self._status.resolved or self._roster_id is not None)
        passes = 0
        while not self._status.resolved:
            seen = self._rosters_attached
            passes += 1
            result = await self._deliver()
            data = _producer_data(result)
            await self._record("delivered", "delivery" if passes == 1 else f"delivery/{passes}", data=data)
            if result.complete:
                met_data = _met_data(result, self._obligation.citation)
                if not result.notified:  # no producer of record known for anyone: excused, nothing sent
                    await self._met(workflow.now(), data=met_data)
                    return
                await self._sent(max((e.sent_at for e in result.sent), default=workflow.now()), {
                    "channel": "email", "delivery_key": result.delivery_key,
                    "recipients": [e.ledger_data() for e in result.sent],
                })
                if await self._confirm_by_bounce_window(
                    result.delivery_key, result.notified, result.bounce_window, "producer", met_data
                ):
                    return
                await workflow.wait_condition(lambda seen=seen: self._status.resolved or self._rosters_attached != seen)
                continue
            self._waiting_for = _producer_shortfall(result, self._obligation.jurisdiction)
            await self._publish()
            await workflow.wait_condition(lambda seen=seen: self._status.resolved or self._rosters_attached != seen)

    async def _deliver(self) -> ProducerNoticeResult:
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
        self._deliveries = DeliveryCounts(sent=len(result.notified), failed=len(result.failed))
        known = {d.sha256 for d in self._documents}
        self._documents.extend(d for d in result.documents if d.sha256 not in known)
        return result


def _producer_data(result: ProducerNoticeResult) -> dict[str, Any]:
    """What a ``producer_notice.delivered`` entry says: producer ids and counts, no NPI."""
    return {
        "producers": result.producers,
        "producers_notified": result.notified,
        "producers_failed": result.failed,
        "producers_in_doubt": result.in_doubt,
        "unknown_producers": result.unknown_producers,
        "consumers": result.consumers,
        "consumers_with_producer": result.consumers_with_producer,
        "consumers_without_producer": result.consumers_without_producer,
        "roster_sha256": result.roster_sha256,
        "documents": [d.sha256 for d in result.documents],
    }


def _met_data(result: ProducerNoticeResult, citation: str) -> dict[str, Any]:
    """The met entry names the producers it covers and the consumers whose producer is not known
    (the statute's "if known": that part is excused)."""
    data: dict[str, Any] = {
        "producers_notified": result.notified,
        "consumers": result.consumers,
        "consumers_with_producer": result.consumers_with_producer,
        "roster_sha256": result.roster_sha256,
    }
    if result.consumers_without_producer:
        data["excused"] = {
            "consumers_without_producer": result.consumers_without_producer,
            "reason": "no current producer-of-record information for these consumers: the insurer is excused "
            "for them",
            "citation": citation,
        }
    return data


def _producer_shortfall(result: ProducerNoticeResult, state: str) -> str:
    """What a person must do, naming the producers (by id) that stand in the way."""
    if result.consumers == 0:
        return (
            f"a corrected roster: it lists no consumer residing in {state}, so no producer of record can be "
            "named — attach the roster that lists them, or waive with a reason"
        )
    parts = []
    if result.unknown_producers:
        parts.append(
            f"producer(s) {', '.join(result.unknown_producers)} named on the roster are not in the producer directory"
        )
    if result.failed:
        parts.append(f"the notice to producer(s) {', '.join(result.failed)} was refused by the mail server")
    if result.in_doubt:
        parts.append(
            f"the e-mail to producer(s) {', '.join(result.in_doubt)} was interrupted while sending and never re-sent "
            "automatically (check the relay's log for its Message-ID)"
        )
    return (
        f"a person: {'; '.join(parts)} — notify them and complete manually, attach a corrected roster, "
        "or waive with a reason"
    )


@workflow.defn(name="CedingInsurerNoticeWorkflow")
class CedingInsurerNoticeWorkflow(_EmailedNotice):
    """An assuming insurer without a direct relationship with the consumers notifies the affected
    ceding insurers within three business days (§ 56-2-1006(e)); they notify the consumers.

    Sent when the relay accepted every insurer's e-mail (``ceding_insurer_notice.sent``, with each
    one's queue id — timeliness judged then); met when the bounce window
    (``NOTICEFLOW_BOUNCE_WINDOW_DAYS``) has passed with no hard bounce recorded. A bounce recorded
    within the window (``record_returned_notices``, then the signal ``notices_returned``; or found
    at the window's end) reopens the obligation for those insurers: a person notifies them another
    way and completes it manually, or waives it."""

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
        if result.complete and result.sent:
            await self._sent(max(e.sent_at for e in result.sent), {
                "channel": "email", "delivery_key": result.delivery_key, "ceding_insurers": len(insurers),
                "recipients": [e.ledger_data() for e in result.sent],
            })
            await self._confirm_by_bounce_window(
                result.delivery_key, [e.recipient_ref for e in result.sent], result.bounce_window, "ceding insurer",
                {"ceding_insurers": len(insurers)},
            )
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
