"""The consumer-notice obligation: notice to a state's affected consumers by the method the rules
chose (Tenn. Code Ann. § 56-2-1006(c)), reconciled with the state's affected count.

Sent is not received. Once the delivery reconciles, the notice is recorded *given*
(``consumer_notice.sent``, timeliness judged then) with each channel's evidence — letters' mailing
manifests, the e-mails' relay ids (count and digest), the website posting's URL and the media
outlets — and *met* only when confirmed: letters by their mailing manifests unless returned,
e-mails when the bounce window (``NOTICEFLOW_BOUNCE_WINDOW_DAYS``) passes with no hard bounce, the
substitute parts by their posting URL and the media channel's submission record. A bounce or a
returned letter within the window (read from the bounce mailbox, ``NOTICEFLOW_BOUNCE_MAILDIR``,
every hour; or ``record_returned_notices``, then the signal ``notices_returned``; or found when the
window ends) reopens the notice: a follow-up round
notifies those consumers another way, and the notice is sent again and confirmed after a new window.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from models.consumer_evidence import ConsumerEvidenceInput, ConsumerNoticeEvidence
    from models.lifecycle import (
        DeliveryCounts,
        ObligationInput,
        ObligationState,
        ObligationStatus,
    )
    from models.notice import (
        ConsumerNoticeInput,
        ConsumerNoticeReconciliation,
        ConsumerNoticeResult,
        DeliveryReport,
        ReconciliationOutcome,
    )
    from rules.consumer_reconciliation import reconcile_consumer_notice

from workflows.common import (
    CONSUMER_NOTICE_EVIDENCE,
    DELIVER_CONSUMER_NOTICE,
    DELIVERY,
    QUICK,
    iso,
    markdown_deadline,
)
from workflows.obligation_base import BOUNCE_POLL_INTERVAL, ObligationWorkflow

#: Follow-up rounds after the first delivery: a bounced e-mail becomes a letter, a returned letter
#: an e-mail where the consumer agreed to electronic notice.
CONSUMER_FOLLOW_UP_ROUNDS = 2
#: Reading a large roster's evidence (one row per consumer and channel) takes longer than QUICK allows.
EVIDENCE = {**QUICK, "start_to_close_timeout": timedelta(minutes=5)}


@workflow.defn(name="ConsumerNoticeWorkflow")
class ConsumerNoticeWorkflow(ObligationWorkflow):
    """Notice to the state's affected consumers within the state's clock (§ 56-2-1006(c)), by the
    method the rules chose: written, electronic, or substitute (e-mail where known + website
    posting + major statewide media). Sent only after a compliance officer's approval.

    Sent only when every affected consumer — the state's current best estimate, not only the
    roster — is notified individually or covered by substitute notice
    (``rules/consumer_reconciliation.py``); met when that notice is confirmed. A roster short of
    the estimate waits for a corrected roster (``attach_roster``: the consumers on it not yet
    reached are notified) or a recorded reconciliation that revises the estimate
    (``estimate_revised``). Either, arriving while the notice awaits its confirmation, is
    reconciled at once: a corrected roster reopens the notice for the consumers it adds, an
    estimate the roster no longer covers reopens it until it does.
    """

    @workflow.init
    def __init__(self, inp: ObligationInput) -> None:
        super().__init__(inp)
        self._roster_id: str | None = inp.roster_id
        self._rosters_attached = 0
        self._approved_by: str | None = None
        affected = inp.intake.affected_in(inp.obligation.jurisdiction)
        self._intake_estimate = affected.consumers if affected is not None else 0
        self._estimate = self._intake_estimate
        self._estimate_revisions = 0
        self._round = 0
        # What the delivery loop has acted on: roster attachments, estimate revisions, returns.
        self._roster_seen = -1
        self._estimate_seen = 0
        self._follow_up_owed = False
        self._returns_reported = 0

    @workflow.run
    async def run(self, inp: ObligationInput) -> ObligationState:
        return await self._lifecycle(self._work)

    @workflow.signal
    def attach_roster(self, roster_id: str) -> None:
        self._roster_id = roster_id
        self._rosters_attached += 1

    @workflow.signal
    def approve(self, approved_by: str) -> None:
        if self._approved_by is None:
            self._approved_by = approved_by

    @workflow.signal
    def estimate_revised(self, consumers: int) -> None:
        """A recorded reconciliation step revised the state's estimate (item (I)); the event
        workflow validated and ledgered it with its reason."""
        if consumers >= 0 and not self._status.resolved:
            self._estimate = consumers
            self._estimate_revisions += 1

    @workflow.signal
    def notices_returned(self) -> None:
        """A bounce or a returned letter was recorded for this notice (``record_returned_notices``):
        look now, not only at the end of the bounce window."""
        self._returns_reported += 1

    async def _work(self) -> None:
        method = self._method
        if self._roster_id is None:
            self._waiting_for = "the affected consumers' contact list (attach_roster)"
            await self._publish()
            await workflow.wait_condition(lambda: self._status.resolved or self._roster_id is not None)
        if self._approved_by is None and not self._status.resolved:
            self._waiting_for = f"a compliance officer's approval to send the {method} notice"
            await self._publish()
            await workflow.wait_condition(lambda: self._status.resolved or self._approved_by is not None)
        result: ConsumerNoticeResult | None = None
        reconciliation: ConsumerNoticeReconciliation | None = None
        delivered_at: datetime | None = None
        while not self._status.resolved:
            if self._rosters_attached != self._roster_seen or self._follow_up_owed:
                # First delivery; a corrected roster (everyone on it not yet reached); or the
                # follow-up rounds for consumers whose notice came back.
                whole_roster = result is not None and self._rosters_attached != self._roster_seen
                self._roster_seen, self._follow_up_owed = self._rosters_attached, False
                self._estimate_seen = self._estimate_revisions
                before = _notices_out(result) if result is not None else None
                result = await self._deliver(whole_roster=whole_roster)
                if before is None or _notices_out(result) != before:
                    # Notice is given when a delivery that sent something finishes; a pass that
                    # sent nothing (a corrected roster listing nobody new) leaves it as it was.
                    delivered_at = workflow.now()
                reconciliation = self._reconcile(result)
                await self._record("delivered", f"delivery/round-{result.round}", data=self._delivered_data(result, reconciliation))
            elif self._estimate_revisions != self._estimate_seen:
                assert result is not None
                reconciliation = await self._record_reconciled(result)
            if self._status.resolved:
                return
            assert result is not None and reconciliation is not None and delivered_at is not None
            if reconciliation.met:
                reopened = await self._send_and_confirm(result, reconciliation, delivered_at)
                if reopened is None:
                    return
                reconciliation = reopened
                continue
            self._waiting_for = _shortfall_words(reconciliation)
            await self._publish()
            await workflow.wait_condition(
                lambda rosters=self._roster_seen, estimates=self._estimate_seen: self._status.resolved
                or self._rosters_attached != rosters
                or self._estimate_revisions != estimates
            )

    async def _record_reconciled(self, result: ConsumerNoticeResult) -> ConsumerNoticeReconciliation:
        """A revised estimate, reconciled with the deliveries as they stand: ``consumer_notice.reconciled``."""
        self._estimate_seen = self._estimate_revisions
        reconciliation = self._reconcile(result)
        await self._record(
            "reconciled", f"reconciled/{self._estimate_seen}",
            data={"estimate_revisions": self._estimate_seen, "roster_sha256": result.roster_sha256, **reconciliation.ledger_data()},
        )
        return reconciliation

    # -- sent, then confirmed -------------------------------------------------------------------

    async def _send_and_confirm(
        self, result: ConsumerNoticeResult, reconciliation: ConsumerNoticeReconciliation, delivered_at: datetime
    ) -> ConsumerNoticeReconciliation | None:
        """``consumer_notice.sent`` at ``delivered_at`` with every channel's evidence, then
        ``met`` (or ``met_late``, judged on ``delivered_at``) once confirmed. None when the
        obligation is resolved; otherwise the reconciliation as it stands when the notice was not
        sent after all or was reopened — notices came back, a corrected roster, or an estimate the
        roster no longer covers."""
        sent = await self._read_evidence()
        # Validate before recording: a bounce recorded since the delivery finished leaves that
        # consumer unreached, and the notice is not given until a follow-up reaches them.
        reconciliation = self._reconcile(_as_checked(result, sent))
        if not reconciliation.met:
            self._follow_up_owed = sent.outstanding > 0
            return reconciliation
        # Letters and the substitute parts are confirmed by what is already on record; an e-mail
        # only when no hard bounce came back within the window.
        window = sent.bounce_window if sent.emails_sent else timedelta(0)
        await self._sent(delivered_at, self._sent_data(result, reconciliation, delivered_at, sent),
                         waiting_for=_awaiting_confirmation(window, workflow.now() + window))
        if self._status is not ObligationStatus.SENT:
            return None  # resolved by a person while the entry was written
        window_ends = workflow.now() + window
        self._waiting_for = _awaiting_confirmation(window, window_ends)
        await self._publish()
        # E-mails are read against the bounce mailbox during the window (and once more at its end)
        # until it says none is configured; a hard bounce read there counts as one recorded. A run
        # that waited out its window under release 2026-12-01 keeps one timer, no mailbox read
        # (patch "bounce-mailbox-intake", ObligationWorkflow._reads_bounce_mailbox).
        mailbox = bool(window) and self._reads_bounce_mailbox()
        while self._status is ObligationStatus.SENT:
            seen = (self._returns_reported, self._rosters_attached, self._estimate_revisions)
            remaining = window_ends - workflow.now()
            if remaining > timedelta(0):
                try:
                    await workflow.wait_condition(
                        lambda seen=seen: self._status is not ObligationStatus.SENT
                        or (self._returns_reported, self._rosters_attached, self._estimate_revisions) != seen,
                        timeout=min(remaining, BOUNCE_POLL_INTERVAL) if mailbox else remaining,
                    )
                except TimeoutError:
                    pass
            if self._status is not ObligationStatus.SENT:
                return None  # completed or waived by a person meanwhile
            woken = (self._returns_reported, self._rosters_attached, self._estimate_revisions) != seen
            detected_by = "reported" if self._returns_reported != seen[0] else "window_end"
            if mailbox and not woken:
                found = await self._read_bounces(self._obligation.obligation_id)
                mailbox = found.configured
                if found.returned > sent.returned[0]:
                    detected_by = "bounce_mailbox"
                elif workflow.now() < window_ends:
                    continue  # nothing came back yet
                if self._status is not ObligationStatus.SENT:
                    return None
            if self._rosters_attached != self._roster_seen:
                await self._reopen_notice({
                    "reason": "corrected_roster",
                    "note": "a corrected roster was attached: the consumers on it not yet notified are notified, "
                    "then the notice is sent again",
                })
                # Still sent: a person is completing it meanwhile (nothing was reopened).
                return None if self._status is ObligationStatus.SENT else reconciliation
            check = await self._read_evidence()
            checked = _as_checked(result, check)
            if self._estimate_revisions != self._estimate_seen:
                current = await self._record_reconciled(checked)
            else:
                current = self._reconcile(checked)
            if not current.met:
                self._follow_up_owed = check.outstanding > 0
                await self._reopen_notice({
                    "reason": "returned" if self._follow_up_owed else "estimate_revised",
                    "detected_by": detected_by,
                    # Come back since this notice was sent: counts only, the consumers are in the delivery store.
                    "emails_returned": check.returned[0] - sent.returned[0],
                    "letters_returned": check.returned[1] - sent.returned[1],
                    "follow_up": self._follow_up_owed,
                    **current.ledger_data(),
                })
                return None if self._status is ObligationStatus.SENT else current
            if workflow.now() >= window_ends:
                await self._confirmed(
                    workflow.now(),
                    _confirmation(check, window, window_ends, mailbox),
                    data={
                        "method": result.method.value, "approved_by": self._approved_by, "reconciled_at": iso(workflow.now()),
                        "delivered_at": iso(delivered_at), "roster_sha256": result.roster_sha256, **current.ledger_data(),
                    },
                )
                return None
        return None

    async def _read_evidence(self) -> ConsumerNoticeEvidence:
        self._busy += 1
        try:
            return await workflow.execute_activity(
                CONSUMER_NOTICE_EVIDENCE,
                ConsumerEvidenceInput(
                    obligation=self._obligation,
                    notice_page_url=self._inp.notices.content.notice_page_url,
                    media_outlets=self._inp.notices.media_outlets.get(self._obligation.jurisdiction, []),
                ),
                result_type=ConsumerNoticeEvidence,
                **EVIDENCE,  # type: ignore[arg-type]
            )
        finally:
            self._busy -= 1

    def _sent_data(
        self, result: ConsumerNoticeResult, reconciliation: ConsumerNoticeReconciliation, delivered_at: datetime,
        sent: ConsumerNoticeEvidence,
    ) -> dict[str, Any]:
        """What ``consumer_notice.sent`` states: each channel's evidence (counts, digests, the
        posting's URL and the outlets — no recipient list), and whom it reaches."""
        return {
            "method": result.method.value,
            "approved_by": self._approved_by,
            "delivered_at": iso(delivered_at),
            "round": result.round,
            "roster_sha256": result.roster_sha256,
            "channels": sent.channels_data(),
            "documents": [d.sha256 for d in self._documents],
            "reconciliation": reconciliation.ledger_data(),
        }

    @property
    def _method(self) -> str:
        return self._obligation.method.value if self._obligation.method else "written"

    async def _deliver(self, *, whole_roster: bool) -> ConsumerNoticeResult:
        """One pass over the roster, then follow-up rounds while consumers remain unreached."""
        assert self._roster_id is not None
        result: ConsumerNoticeResult | None = None
        for follow_up in range(CONSUMER_FOLLOW_UP_ROUNDS + 1):
            round_ = self._round
            self._round += 1
            self._waiting_for = f"delivery of the {self._method} notice" + (f" (follow-up round {follow_up})" if follow_up else "")
            await self._publish()
            self._busy += 1
            try:
                result = await workflow.execute_activity(
                    DELIVER_CONSUMER_NOTICE,
                    ConsumerNoticeInput(
                        obligation=self._obligation, intake=self._inp.intake, content=self._inp.notices.content,
                        roster_id=self._roster_id, as_of=workflow.now(), round=round_,
                        media_outlets=self._inp.notices.media_outlets.get(self._obligation.jurisdiction, []),
                        whole_roster=whole_roster and follow_up == 0,
                    ),
                    result_type=ConsumerNoticeResult,
                    **DELIVERY,  # type: ignore[arg-type]
                )
            finally:
                self._busy -= 1
            self._absorb(result)
            if result.complete or result.outstanding == 0:
                break
            if follow_up < CONSUMER_FOLLOW_UP_ROUNDS:
                await self._record(
                    "delivered", f"delivery/round-{round_}", data=self._delivered_data(result, self._reconcile(result))
                )
        assert result is not None
        return result

    def _reconcile(self, result: ConsumerNoticeResult) -> ConsumerNoticeReconciliation:
        revised = self._estimate_revisions > 0
        return reconcile_consumer_notice(
            self._obligation,
            self._inp.intake.affected_in(self._obligation.jurisdiction),
            self._estimate,
            result,
            estimate_revised_from=self._intake_estimate if revised else None,
        )

    def _delivered_data(self, result: ConsumerNoticeResult, reconciliation: ConsumerNoticeReconciliation) -> dict[str, Any]:
        """A delivery round's entry: the channels' counts, and the roster reconciled with the
        estimate as it stands after the round (counts and digests only, no NPI)."""
        return {
            "round": result.round,
            "method": result.method.value,
            "approved_by": self._approved_by,
            "channels": _channel_counts(result.reports),
            "roster_sha256": result.roster_sha256,
            "documents": [d.sha256 for d in result.documents],
            **reconciliation.ledger_data(),
        }

    def _absorb(self, result: ConsumerNoticeResult) -> None:
        self._deliveries = DeliveryCounts(
            sent=result.counts.sent, pending=result.counts.pending, failed=result.counts.failed,
            returned=result.counts.returned,
        )
        known = {d.sha256 for d in self._documents}
        self._documents.extend(d for d in result.documents if d.sha256 not in known)


def _shortfall_words(rec: ConsumerNoticeReconciliation) -> str:
    """What the obligation waits for, saying exactly what is short."""
    if rec.outcome is ReconciliationOutcome.ROSTER_SHORT:
        return f"{rec.shortfall}: attach the corrected roster or record a reconciliation with the reason"
    if rec.outcome is ReconciliationOutcome.SUBSTITUTE_INCOMPLETE:
        return (
            f"a person: {rec.shortfall} — make it (media_outlets names the state's major statewide media) and "
            "complete manually, or waive with a reason"
        )
    return (
        f"a person: {rec.shortfall} — give notice another way and complete manually, attach a corrected roster, "
        "or waive with a reason"
    )


def _channel_counts(reports: list[DeliveryReport]) -> dict[str, dict[str, int]]:
    return {
        r.channel: {"sent": r.sent, "failed": r.failed, "returned": r.returned, "in_doubt": r.in_doubt}
        for r in reports
    }


def _notices_out(result: ConsumerNoticeResult) -> int:
    """Notices that left, on every channel (those come back since included): it grows only when
    a pass sends something."""
    return sum(r.sent + r.returned for r in result.reports)


def _as_checked(result: ConsumerNoticeResult, check: ConsumerNoticeEvidence) -> ConsumerNoticeResult:
    """The last delivery's result with the consumers as the delivery store counts them now."""
    return result.model_copy(update={
        "notified": check.notified, "covered_by_substitute": check.covered_by_substitute,
        "outstanding": check.outstanding, "in_doubt": check.in_doubt,
    })


def _confirmation(
    check: ConsumerNoticeEvidence, window: timedelta, window_ends: datetime, mailbox_read: bool
) -> dict[str, Any]:
    """What confirmed each channel, for ``consumer_notice.met``."""
    out: dict[str, Any] = {}
    if check.emails is not None and check.emails.sent:
        out["email"] = {
            "confirmed_by": "bounce_window",
            "no_hard_bounce_within": f"{window.total_seconds() / 86400:g} day(s)",
            "window_ended_at": iso(window_ends),
            "confirmed": check.emails.sent,
            "relay_ids_sha256": check.emails.relay_ids_sha256,
            # Whether the relay's bounce reports were read (NOTICEFLOW_BOUNCE_MAILDIR), or only a person's.
            "bounce_mailbox_read": mailbox_read,
        }
    if check.letters is not None and check.letters.sent:
        out["postal"] = {
            "confirmed_by": "mailing_manifest",
            "confirmed": check.letters.sent,
            "manifests_sha256": check.letters.manifests_sha256,
            "note": "the print vendor's mailing manifests listing the letters (their evidence of sending); letters "
            "reported returned are not counted",
        }
    for part in (check.website, check.media):
        if part is not None:
            out[part.channel] = part.ledger_data()
    return out


def _awaiting_confirmation(window: timedelta, window_ends: datetime) -> str:
    if not window:
        return "the confirmation of the notices sent"
    return (f"the bounce window: the consumer notices are confirmed on {markdown_deadline(window_ends)} unless a hard "
            "bounce or a returned letter is recorded (record_returned_notices, then notices_returned)")
