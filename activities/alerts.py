"""Alerts to the event's responders: e-mail through the notices' SMTP relay, and an optional
incoming webhook (Slack, Teams or any endpoint that takes JSON).

Sent once per alert step and recipient, whatever the retries: each e-mail and the webhook post
are claimed in the delivery tracker (``activities/tracking.py``) under ``alert:<step>`` before
anything leaves, exactly as notices are, and a retry reports what an earlier attempt sent instead
of sending it again. An e-mail interrupted mid-send is ``in_doubt`` and never re-sent.

What is retried: a relay that is down or defers (4xx), a webhook that answers 5xx, 408 or 429, or
cannot be reached. What is final: a refused recipient (5xx), a webhook's other 4xx. On the retry
policy's last attempt nothing is raised: what did not go out is returned as failed, so the
workflow records an outcome for every recipient.

The texts name the obligation, its state, due instant, citation and what it waits for; the
``waiting_for`` text is checked by the one NPI detector (``rules.npi``) and withheld if it trips.

Register with the worker::

    alerts = AlertActivities(settings)
    Worker(client, task_queue=..., activities=[*alerts.activities(), ...])
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from html import escape
from typing import Any

import httpx
import structlog
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities import db
from activities.delivery import (
    ChannelUnavailableError,
    DeliveryChannel,
    Envelope,
    OutcomeStatus,
    SmtpChannel,
    redact_addresses,
    relay_queue_id,
)
from activities.tracking import CLAIMED, FAILED, IN_DOUBT, SENT, DeliveryTracker
from models.alerts import (
    AlertOutcome,
    AlertRecipient,
    AlertWhat,
    ChannelStatus,
    RecipientOutcome,
    ResponderAlert,
    WebhookOutcome,
)
from config.settings import Settings
from rules.npi import find_npi

log = structlog.get_logger("noticeflow.alerts")

#: Seconds to connect to, and hear back from, the webhook.
WEBHOOK_TIMEOUT = 10.0
#: Webhook answers worth another attempt besides 5xx: request timeout, rate limit.
WEBHOOK_RETRY_STATUSES = frozenset({408, 429})
WEBHOOK_REF = "webhook"
_WITHHELD = "[withheld: the text looked like it carried personal information]"


def alert_key(step: str) -> str:
    """The delivery tracker's key of an alert: distinct from every notice's obligation id."""
    return f"alert:{step}"


def alert_message_id(key: str, responder_id: str, mail_from: str) -> str:
    """Same alert, same recipient, same Message-ID: a relay or mailbox that dedupes by it drops a copy."""
    domain = mail_from.rpartition("@")[2] or "noticeflow.invalid"
    return f"<alert.{hashlib.sha256(f'{key}|{responder_id}'.encode()).hexdigest()[:40]}@{domain}>"


def clean(text: str | None) -> str | None:
    """Relay replies and webhook bodies go into the ledger: no address, nothing NPI-shaped."""
    if not text:
        return None
    text = redact_addresses(text)[:300]
    return _WITHHELD if find_npi(text) else text


# =============================================================================================
# The texts
# =============================================================================================


def _duration(delta: timedelta) -> str:
    minutes = int(abs(delta.total_seconds()) // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    parts = [f"{days} day{'s' * (days != 1)}"] if days else []
    if hours:
        parts.append(f"{hours} hour{'s' * (hours != 1)}")
    if minutes and not days:
        parts.append(f"{minutes} minute{'s' * (minutes != 1)}")
    return " ".join(parts) or "less than a minute"


def shown_due(moment: datetime) -> str:
    """The due instant in the time of the state whose clock runs (its offset is in ``due``), with
    that offset: the same text whether ``due`` carries a zone name or only an offset."""
    offset = int((moment.utcoffset() or timedelta(0)).total_seconds() // 60)
    sign, offset = ("+" if offset >= 0 else "-"), abs(offset)
    return f"{moment.strftime('%Y-%m-%d %H:%M')} (UTC{sign}{offset // 60:02d}:{offset % 60:02d})"


@dataclass(frozen=True)
class AlertText:
    subject: str
    lines: list[tuple[str, str]]  # (label, value)
    headline: str
    url: str | None

    def plain(self, greeting: str | None = None) -> str:
        head = [greeting, ""] if greeting else []
        body = [f"{label}: {value}" for label, value in self.lines]
        tail = [f"Open: {self.url}"] if self.url else []
        return "\n".join([*head, self.headline, "", *body, *tail, ""])

    def html(self, greeting: str) -> str:
        rows = "\n".join(f"<tr><th align=\"left\">{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in self.lines)
        link = f'<p><a href="{escape(self.url)}">Open the obligation</a></p>' if self.url else ""
        return (
            f"<!DOCTYPE html>\n<html><body>\n<p>{escape(greeting)}</p>\n<p><strong>{escape(self.headline)}</strong></p>\n"
            f"<table>\n{rows}\n</table>\n{link}\n</body></html>\n"
        )


def alert_text(req: ResponderAlert, url: str | None) -> AlertText:
    kind = req.kind.value.replace("_", " ")
    what_for = f"{kind} for {req.jurisdiction}"
    due = shown_due(req.due)
    late = req.as_of - req.due
    subject, headline = {
        AlertWhat.REMINDER: (
            f"Reminder: {what_for} due {due}",
            f"The {what_for} is due in {_duration(-late)}, on {due}.",
        ),
        AlertWhat.OVERDUE: (
            f"OVERDUE: {what_for} was due {due}",
            f"The {what_for} was due on {due} and has not been given.",
        ),
        AlertWhat.ESCALATION: (
            f"ESCALATED: {what_for} overdue by {_duration(late)}",
            f"The {what_for} is still overdue, {_duration(late)} after its deadline of {due}; escalated to the backup.",
        ),
        AlertWhat.ACKNOWLEDGEMENT_MISSING: (
            f"No acknowledgement: {what_for}",
            f"The {what_for} was sent but its receipt has not been acknowledged (deadline {due}).",
        ),
        AlertWhat.FILING_REFUSED: (
            f"Filing refused: {what_for}",
            f"The portal refused the {what_for}: nothing was filed. It is tried again; the deadline ({due}) keeps running.",
        ),
    }[req.what]
    waiting_for = _WITHHELD if find_npi(req.waiting_for) else req.waiting_for
    lines = [
        ("Obligation", f"{kind} — {req.jurisdiction}, to {req.recipient_name}"),
        ("Due", due),
        ("Law", req.citation),
        ("Waiting for", waiting_for),
        ("Incident", req.incident_id),
        ("Obligation id", req.obligation_id),
    ]
    return AlertText(subject=f"[noticeflow] {subject}", lines=lines, headline=headline, url=url)


def webhook_payload(req: ResponderAlert, text: AlertText) -> dict[str, Any]:
    """Slack- and Teams-compatible: ``text`` is what their incoming webhooks show; ``noticeflow``
    carries the same facts as fields for any other receiver."""
    responders = [{"responder_id": r.responder.responder_id, "role": r.role.value} for r in req.recipients]
    who = ", ".join(f"{r['responder_id']} ({r['role']})" for r in responders) or "no responder assigned"
    return {
        "text": f"{text.subject}\n{text.plain().strip()}\nResponders: {who}",
        "noticeflow": {
            "alert": req.what.value,
            "incident_id": req.incident_id,
            "obligation_id": req.obligation_id,
            "kind": req.kind.value,
            "jurisdiction": req.jurisdiction,
            "citation": req.citation,
            "due": req.due.isoformat(),
            "waiting_for": dict(text.lines)["Waiting for"],
            "responders": responders,
            "url": text.url,
            "step": req.step,
        },
    }


# =============================================================================================
# The activity
# =============================================================================================


def _last_attempt() -> bool:
    info = activity.info()
    policy = info.retry_policy
    return bool(policy and policy.maximum_attempts and info.attempt >= policy.maximum_attempts)


class _Retry(Exception):
    """Something worth another attempt did not go out; raised after everything else was tried."""


class AlertActivities:
    def __init__(self, settings: Settings, *, email_channel: Callable[[], DeliveryChannel] | None = None) -> None:
        self.settings = settings
        self.engine = db.open_engine(settings.resolved_db_url())
        self.tracker = DeliveryTracker(self.engine)
        self._email_channel = email_channel or (lambda: SmtpChannel(settings))

    def activities(self) -> list[Callable[..., Any]]:
        return [self.alert_responders]

    def close(self) -> None:
        self.engine.dispose()

    @activity.defn(name="alert_responders")
    async def alert_responders(self, req: ResponderAlert) -> AlertOutcome:
        """E-mail each recipient and post to the webhook, once each per ``req.step``."""
        key = alert_key(req.step)
        final = _last_attempt()
        url = req.ui_url or (
            self.settings.alert_ui_url.replace("{workflow_id}", req.workflow_id) if self.settings.alert_ui_url else None
        )
        text = alert_text(req, url)
        retry: list[str] = []

        await asyncio.to_thread(self.tracker.mark_interrupted_sends_in_doubt, key, "email")
        recipients: list[RecipientOutcome] = []
        channel = self._email_channel() if req.recipients else None
        try:
            for rcpt in req.recipients:
                recipients.append(await self._email(channel, key, req, rcpt, text, final, retry))  # type: ignore[arg-type]
        finally:
            if channel is not None:
                await channel.aclose()
        webhook = await self._webhook(key, req, text, final, retry) if self.settings.alert_webhook_url else None

        if retry and not final:
            raise ApplicationError(
                f"alert {req.step} not yet delivered: {'; '.join(retry)}; retrying", type="AlertDeferred", non_retryable=False
            )
        outcome = AlertOutcome(step=req.step, what=req.what, recipients=recipients, webhook=webhook)
        log.info(
            "responders_alerted", step=req.step, alert=req.what.value, delivered=outcome.delivered,
            recipients=[(r.responder_id, r.status.value) for r in recipients],
            webhook=webhook.status.value if webhook else None,
        )
        return outcome

    # -- e-mail ------------------------------------------------------------------------------------

    async def _email(
        self, channel: DeliveryChannel, key: str, req: ResponderAlert, rcpt: AlertRecipient, text: AlertText,
        final: bool, retry: list[str],
    ) -> RecipientOutcome:
        ref = rcpt.responder.responder_id
        won = await asyncio.to_thread(self.tracker.claim, key, "email", [ref], 0, 0)
        if not won:
            return await self._recorded_email(key, rcpt)
        greeting = f"Hello {rcpt.responder.name},"
        env = Envelope(
            recipient_ref=ref,
            name=rcpt.responder.name,
            subject=text.subject,
            text=text.plain(greeting)
            + f"\nYou receive this as the event's {rcpt.role.value}. Recorded in the audit ledger under {req.step}.\n",
            html=text.html(greeting),
            email=rcpt.responder.email,
            message_id=alert_message_id(key, ref, self.settings.mail_from),
        )
        try:
            sent = (await channel.deliver(key, [env])).outcomes[0]
        except ChannelUnavailableError as exc:
            return await self._not_now(key, rcpt, str(exc), final, retry)
        if sent.status is OutcomeStatus.DEFERRED:
            return await self._not_now(key, rcpt, sent.reason or "deferred by the relay", final, retry)
        status = {OutcomeStatus.SENT: SENT, OutcomeStatus.IN_DOUBT: IN_DOUBT}.get(sent.status, FAILED)
        reason = clean(sent.relay_reply if status == SENT else sent.reason)
        await asyncio.to_thread(
            self.tracker.record, key, "email", [(ref, status, sent.kind.value if sent.kind else None, reason, None)]
        )
        return _email_outcome(rcpt, status, reason)

    async def _not_now(self, key: str, rcpt: AlertRecipient, reason: str, final: bool, retry: list[str]) -> RecipientOutcome:
        """Nothing left: forget the claim and try again — or, on the last attempt, record the failure."""
        ref = rcpt.responder.responder_id
        reason = clean(reason) or "not sent"
        if not final:
            await asyncio.to_thread(self.tracker.unclaim, key, "email", ref)
            retry.append(f"e-mail to {ref}: {reason}")
            return _email_outcome(rcpt, FAILED, reason)  # not returned: the attempt raises
        reason = f"gave up after {activity.info().attempt} attempts: {reason}"
        await asyncio.to_thread(self.tracker.record, key, "email", [(ref, FAILED, None, reason, None)])
        return _email_outcome(rcpt, FAILED, reason)

    async def _recorded_email(self, key: str, rcpt: AlertRecipient) -> RecipientOutcome:
        """An earlier attempt already handled this recipient: report what it recorded."""
        row = await asyncio.to_thread(self.tracker.outcome_of, key, "email", rcpt.responder.responder_id)
        status, reason = row if row is not None else (IN_DOUBT, None)
        if status == CLAIMED:  # another attempt is sending it right now
            status, reason = IN_DOUBT, "being sent by a concurrent attempt"
        return _email_outcome(rcpt, status, reason)

    # -- webhook -----------------------------------------------------------------------------------

    async def _webhook(self, key: str, req: ResponderAlert, text: AlertText, final: bool, retry: list[str]) -> WebhookOutcome:
        row = await asyncio.to_thread(self.tracker.outcome_of, key, "webhook", WEBHOOK_REF)
        if row is not None and row[0] in (SENT, FAILED):
            return _webhook_outcome(*row)
        # A webhook post interrupted mid-way is posted again: a duplicate chat message is better
        # than an alert nobody saw.
        await asyncio.to_thread(self.tracker.claim, key, "webhook", [WEBHOOK_REF], 0, 0)
        url = self.settings.alert_webhook_url
        assert url
        try:
            async with httpx.AsyncClient(timeout=WEBHOOK_TIMEOUT) as client:
                response = await client.post(url, json=webhook_payload(req, text))
        except httpx.HTTPError as exc:
            return await self._webhook_not_now(key, f"webhook unreachable: {type(exc).__name__}", final, retry)
        code = response.status_code
        if code >= 500 or code in WEBHOOK_RETRY_STATUSES:
            return await self._webhook_not_now(key, f"HTTP {code}", final, retry, code)
        status = SENT if 200 <= code < 300 else FAILED
        reason = f"HTTP {code}" + ("" if status == SENT else f": {clean(response.text) or response.reason_phrase}")
        await asyncio.to_thread(self.tracker.record, key, "webhook", [(WEBHOOK_REF, status, None, reason, None)])
        return _webhook_outcome(status, reason)

    async def _webhook_not_now(
        self, key: str, reason: str, final: bool, retry: list[str], code: int | None = None
    ) -> WebhookOutcome:
        if not final:
            await asyncio.to_thread(self.tracker.unclaim, key, "webhook", WEBHOOK_REF)
            retry.append(reason)
            return WebhookOutcome(status=ChannelStatus.FAILED, status_code=code, reason=reason)
        reason = f"{reason}; gave up after {activity.info().attempt} attempts"
        await asyncio.to_thread(self.tracker.record, key, "webhook", [(WEBHOOK_REF, FAILED, None, reason, None)])
        return _webhook_outcome(FAILED, reason)


def _email_outcome(rcpt: AlertRecipient, status: str, reason: str | None) -> RecipientOutcome:
    sent = status == SENT
    return RecipientOutcome(
        responder_id=rcpt.responder.responder_id,
        role=rcpt.role,
        status=ChannelStatus(status if status in (SENT, IN_DOUBT) else FAILED),
        relay_reply=reason if sent else None,
        queue_id=relay_queue_id(reason) if sent else None,
        reason=None if sent else reason,
    )


def _webhook_outcome(status: str, reason: str | None) -> WebhookOutcome:
    match = re.match(r"HTTP (\d{3})", reason or "")
    return WebhookOutcome(
        status=ChannelStatus.SENT if status == SENT else ChannelStatus.FAILED,
        status_code=int(match.group(1)) if match else None,
        reason=None if status == SENT else reason,
    )
