"""Notice to the producers of record of the affected consumers (Tenn. Code Ann. § 56-2-1006(f)).

Each state's producer obligation owes notice to the producers of record of *its* affected
consumers. A producer whose clients reside in several such states is owed notice under each of
those obligations and gets **one** e-mail per event: deliveries are tracked under the event and
the producer (``<incident>:producer_notice`` + producer_id), whichever obligation's activity sends
it, and that e-mail names the producer's affected clients in every state whose producer notice the
event owes. Every obligation then reads back the outcome of each of its own producers.

Obligations of one event run their activities concurrently. A producer claimed by another
obligation's attempt that is sending it right now is waited for (its outcome is recorded within
seconds); a claim left without an outcome for longer than ``CLAIM_SETTLE_SECONDS`` belongs to an
attempt that died mid-send: the e-mail may have left, so it is ``in_doubt`` and never re-sent.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Callable, Sequence

import structlog
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.delivery import (
    ChannelUnavailableError,
    DeliveryChannel,
    Envelope,
    OutcomeStatus,
    sent_evidence,
)
from activities.documents import (
    DocumentStore,
    notice_text,
    render_producer_notice,
    state_name,
)
from activities.roster import RosterNotFoundError, RosterStore
from activities.tracking import (
    CLAIMED,
    FAILED,
    IN_DOUBT,
    RETURNED,
    SENT,
    DeliveryTracker,
)
from models.content import Producer
from models.notice import (
    DeliveryReport,
    DocumentKind,
    DocumentRef,
    ProducerNoticeInput,
    ProducerNoticeResult,
)
from models.obligation import Obligation, ObligationKind
from rules import compute_obligations

log = structlog.get_logger("noticeflow.notices")

#: How long a claim may stay without an outcome before its sender is taken for dead: well past
#: one SMTP exchange (30 s timeout) and the activity's heartbeat timeout (1 minute).
CLAIM_SETTLE_SECONDS = 120.0
CLAIM_POLL_SECONDS = 0.5
#: Failures listed in a result (the rest stay in the delivery store).
MAX_FAILURES_LISTED = 200


def delivery_key(incident_id: str) -> str:
    """The delivery-tracking key of every producer notice of one event: one e-mail per producer."""
    return f"{incident_id}:{ObligationKind.PRODUCER_NOTICE.value}"


def owed_states(req: ProducerNoticeInput) -> tuple[dict[str, Obligation], dict[str, Obligation]]:
    """Every state whose producer notice the event owes (not excused), this obligation's included,
    and those states' consumer-notice obligations (whose method the notice describes)."""
    ob = req.obligation
    try:
        computed = compute_obligations(req.intake).obligations
    except ValueError:  # the intake no longer yields obligations: this one alone is known
        computed = []
    owed = {o.jurisdiction: o for o in computed if o.kind is ObligationKind.PRODUCER_NOTICE and not o.excused}
    owed[ob.jurisdiction] = ob
    consumer = {o.jurisdiction: o for o in computed if o.kind is ObligationKind.CONSUMER_NOTICE}
    return owed, consumer


def _states_words(states: Sequence[str]) -> str:
    names = [state_name(s) for s in states]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


class ProducerDelivery:
    """One run of ``deliver_producer_notice``."""

    def __init__(
        self,
        *,
        rosters: RosterStore,
        tracker: DeliveryTracker,
        store: DocumentStore,
        email_channel: Callable[[], DeliveryChannel],
        message_id: Callable[[str, str], str],
        req: ProducerNoticeInput,
    ) -> None:
        self.rosters, self.tracker, self.store = rosters, tracker, store
        self.email_channel, self.message_id = email_channel, message_id
        self.req = req
        self.ob = req.obligation
        self.key = delivery_key(req.intake.incident_id)
        self.consumer_notices: dict[str, Obligation] = {}

    async def run(self) -> ProducerNoticeResult:
        ob, req = self.ob, self.req
        if ob.kind is not ObligationKind.PRODUCER_NOTICE:
            raise ApplicationError(f"{ob.obligation_id} is not a producer_notice obligation", type="InvalidNoticeRequest", non_retryable=True)
        owed, self.consumer_notices = owed_states(req)
        try:
            counts = await asyncio.to_thread(self.rosters.producer_counts_by_state, req.roster_id, sorted(owed))
            summary = await asyncio.to_thread(self.rosters.roster_summary, req.roster_id)
        except RosterNotFoundError as exc:
            raise ApplicationError(str(exc), type="RosterNotFound", non_retryable=True) from None
        mine = counts[ob.jurisdiction]
        directory = {p.producer_id: p for p in req.producers}
        named = sorted(pid for pid in mine if pid is not None)
        known = [pid for pid in named if pid in directory]
        unknown = [pid for pid in named if pid not in directory]
        docs = await asyncio.to_thread(self._specimens)
        envelopes = [self._envelope(directory[pid], owed, counts, docs[0].sha256) for pid in known]
        await self._send(envelopes)
        result = await asyncio.to_thread(self._result, known, unknown, mine, docs, summary.content_sha256)
        log.info(
            "producer_notice_delivered",
            obligation_id=ob.obligation_id,
            producers=len(named),
            notified=len(result.notified),
            failed=len(result.failed),
            in_doubt=len(result.in_doubt),
            unknown=len(unknown),
        )
        return result

    # -- documents ------------------------------------------------------------------------------

    def _specimens(self) -> list[DocumentRef]:
        ob, req = self.ob, self.req
        text = notice_text(ob, req.intake, req.content, req.as_of, ob.citation)
        specimen = render_producer_notice(ob, text, None, None, ob.due, self.consumer_notices.get(ob.jurisdiction))
        return [
            self.store.put(DocumentKind.PRODUCER_NOTICE, specimen.text.encode(), "text/plain", ob.citation),
            self.store.put(DocumentKind.PRODUCER_NOTICE, specimen.html.encode(), "text/html", ob.citation),
        ]

    def _envelope(
        self, producer: Producer, owed: dict[str, Obligation], counts: dict[str, dict[str | None, int]], specimen: str
    ) -> Envelope:
        """The one e-mail to ``producer`` for the whole event: its clients in every state whose
        producer notice is owed, under each of those states' citations. The same text whichever
        state's obligation sends it."""
        pid = producer.producer_id
        states = [s for s in sorted(owed) if counts.get(s, {}).get(pid)]
        clients = sum(counts[s][pid] for s in states)
        first = owed[states[0]]
        citations = dict.fromkeys(owed[s].citation for s in states)
        citation = (
            next(iter(citations)) if len(citations) == 1 else "; ".join(f"{state_name(s)}: {owed[s].citation}" for s in states)
        )
        text = notice_text(first, self.req.intake, self.req.content, self.req.as_of, citation)
        text = dataclasses.replace(text, state_name=_states_words(states))
        # One state: its consumer-notice deadline and method. Several: they differ, so neither.
        single = len(states) == 1
        body = render_producer_notice(
            first.model_copy(update={"citation": citation}), text, producer, clients,
            first.due if single else None, self.consumer_notices.get(states[0]) if single else None,
        )
        return Envelope(
            recipient_ref=pid,
            name=producer.name,
            subject=body.subject,
            text=body.text,
            html=body.html,
            email=producer.email,
            message_id=self.message_id(self.key, pid),
            specimen_sha256=specimen,
        )

    # -- sending ---------------------------------------------------------------------------------

    async def _send(self, envelopes: Sequence[Envelope]) -> None:
        """Send each producer's e-mail at most once per event; deferred ones fail the attempt
        retryably and its retry sends to them alone."""
        channel: DeliveryChannel | None = None
        deferred = 0
        try:
            for env in envelopes:
                ref = env.recipient_ref
                won = await asyncio.to_thread(self.tracker.claim, self.key, "email", [ref], 0, 0)
                if not won:
                    await self._settle(ref)
                    continue
                if channel is None:
                    channel = self.email_channel()
                try:
                    outcome = (await channel.deliver(f"{self.key}/{ref}", [env])).outcomes[0]
                except ChannelUnavailableError as exc:
                    await asyncio.to_thread(self.tracker.unclaim, self.key, "email", ref)
                    raise ApplicationError(str(exc), type="ChannelUnavailable", non_retryable=False) from None
                if outcome.status is OutcomeStatus.DEFERRED:
                    deferred += 1
                    await asyncio.to_thread(self.tracker.unclaim, self.key, "email", ref)
                    continue
                await asyncio.to_thread(
                    self.tracker.record,
                    self.key,
                    "email",
                    [(ref, outcome.status.value, outcome.kind.value if outcome.kind else None, outcome.reason, env.specimen_sha256)],
                    # The relay's queue id (or Message-ID, relay and reply): the evidence it was sent.
                    evidence={ref: sent_evidence(outcome, "email", message_id=env.message_id)}
                    if outcome.status is OutcomeStatus.SENT else None,
                )
                activity.heartbeat({"obligation_id": self.ob.obligation_id, "producer": ref})
        finally:
            if channel is not None:
                await channel.aclose()
        if deferred:
            raise ApplicationError(
                f"{deferred} producer notice e-mail(s) for {self.ob.obligation_id} were deferred by the mail server; retrying",
                type="DeliveryDeferred",
                non_retryable=False,
            )

    async def _settle(self, ref: str) -> None:
        """Another attempt holds ``ref``'s claim: wait for its outcome; one that never comes
        means the attempt died mid-send, and the e-mail is in doubt."""
        started = time.monotonic()
        while await asyncio.to_thread(self.tracker.status_of, self.key, "email", ref) == CLAIMED:
            if time.monotonic() - started > CLAIM_SETTLE_SECONDS:
                await asyncio.to_thread(self.tracker.mark_in_doubt_if_claimed, self.key, "email", ref)
                return
            activity.heartbeat({"obligation_id": self.ob.obligation_id, "waiting_for_producer": ref})
            await asyncio.sleep(CLAIM_POLL_SECONDS)

    # -- result ----------------------------------------------------------------------------------

    def _result(
        self, known: list[str], unknown: list[str], mine: dict[str | None, int], docs: list[DocumentRef], roster_sha256: str
    ) -> ProducerNoticeResult:
        attempts = self.tracker.attempts(self.key, known)
        status = {pid: next((a.status for a in attempts.get(pid, []) if a.channel == "email"), None) for pid in known}
        notified = [pid for pid in known if status[pid] == SENT]
        failed = [pid for pid in known if status[pid] in (FAILED, RETURNED)]
        in_doubt = [pid for pid in known if status[pid] in (IN_DOUBT, CLAIMED)]
        failures, _ = self.tracker.failures(self.key, ["email"], MAX_FAILURES_LISTED)
        listed = [f for f in failures if f.recipient_ref in set(known)]
        report = DeliveryReport(
            channel="email",
            sent=len(notified),
            failed=len([p for p in failed if status[p] == FAILED]),
            returned=len([p for p in failed if status[p] == RETURNED]),
            in_doubt=len(in_doubt),
            failures=listed,
            documents=[d.sha256 for d in docs],
        )
        consumers = sum(mine.values())
        with_producer = sum(n for pid, n in mine.items() if pid is not None)
        return ProducerNoticeResult(
            obligation_id=self.ob.obligation_id,
            jurisdiction=self.ob.jurisdiction,
            documents=docs,
            report=report,
            producers=sorted([*known, *unknown]),
            notified=notified,
            failed=failed,
            in_doubt=in_doubt,
            unknown_producers=unknown,
            consumers=consumers,
            consumers_with_producer=with_producer,
            consumers_without_producer=mine.get(None, 0),
            roster_sha256=roster_sha256,
            complete=consumers > 0 and not unknown and len(notified) == len(known),
        )
