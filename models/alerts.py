"""Alerts to the event's responders: a reminder before a deadline, an overdue obligation, its
escalation to the backup, a regulator acknowledgement that did not come, a filing a portal refused.

An alert names the obligation, its state, due instant, citation and what it waits for — never a
consumer. Responders are the licensee's staff; their work e-mail is in the request (it travels in
an encrypted Temporal payload) but never in the outcome, which the workflow writes to the ledger:
there a responder is their ``responder_id``.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import AwareDatetime, Field

from models.common import NoticeflowModel, StateCode
from models.obligation import ObligationKind
from models.steps import Responder, Responders


class AlertWhat(StrEnum):
    REMINDER = "reminder"
    OVERDUE = "overdue"
    ESCALATION = "escalation"
    ACKNOWLEDGEMENT_MISSING = "acknowledgement_missing"
    #: The office's portal refused a filing: nothing was filed; it is tried again.
    FILING_REFUSED = "filing_refused"


class ResponderRole(StrEnum):
    OWNER = "owner"
    BACKUP = "backup"


class AlertRecipient(NoticeflowModel):
    role: ResponderRole
    responder: Responder


def alert_recipients(responders: Responders | None, *, with_backup: bool) -> list[AlertRecipient]:
    """The owner, and the backup too when ``with_backup`` (overdue, escalation)."""
    if responders is None:
        return []
    out = [AlertRecipient(role=ResponderRole.OWNER, responder=responders.owner)]
    if with_backup and responders.backup is not None:
        out.append(AlertRecipient(role=ResponderRole.BACKUP, responder=responders.backup))
    return out


class ResponderAlert(NoticeflowModel):
    """One alert about one obligation, sent once per ``step`` and recipient whatever the retries."""

    step: str = Field(
        min_length=1,
        description="The alert's key, `<workflow id>/<step>` of the step it alerts on: e-mails and the "
        "webhook post are claimed under it, so a retry never sends them twice.",
    )
    workflow_id: str
    incident_id: str
    obligation_id: str
    kind: ObligationKind
    jurisdiction: StateCode
    citation: str
    recipient_name: str = Field(description="Who the notice is owed to (a regulator, 'affected consumers'…).")
    due: AwareDatetime
    as_of: AwareDatetime = Field(description="The workflow's time of the alert (the texts say 'due in …' from it).")
    what: AlertWhat
    waiting_for: str = Field(max_length=2000, description="What the obligation waits for; no NPI.")
    recipients: list[AlertRecipient] = Field(default_factory=list)
    ui_url: str | None = Field(None, description="Where to see the obligation; the worker's setting when empty.")


class ChannelStatus(StrEnum):
    SENT = "sent"
    FAILED = "failed"
    #: The relay connection broke mid-message: it may have been accepted; never re-sent automatically.
    IN_DOUBT = "in_doubt"


class RecipientOutcome(NoticeflowModel):
    responder_id: str
    role: ResponderRole
    channel: str = "email"
    status: ChannelStatus
    relay_reply: str | None = Field(None, description="The relay's reply to the message (addresses redacted).")
    queue_id: str | None = Field(None, description="The relay's queue id, when its reply names one.")
    reason: str | None = None


class WebhookOutcome(NoticeflowModel):
    status: ChannelStatus
    status_code: int | None = None
    reason: str | None = None


class AlertOutcome(NoticeflowModel):
    step: str
    what: AlertWhat
    recipients: list[RecipientOutcome] = Field(default_factory=list)
    webhook: WebhookOutcome | None = Field(None, description="None: no webhook configured.")

    @property
    def delivered(self) -> bool:
        """Sent on every channel it was owed on — each assigned responder's e-mail and the webhook,
        if one is configured — and on at least one (with no responder and no webhook nobody was told)."""
        channels = [r.status for r in self.recipients] + ([self.webhook.status] if self.webhook else [])
        return bool(channels) and all(s is ChannelStatus.SENT for s in channels)

    def ledger_data(self) -> dict[str, Any]:
        """What the ledger keeps of the outcome: responder ids and channel evidence, no address."""
        data: dict[str, Any] = {
            "alert": self.what.value,
            "recipients": [
                {
                    "responder_id": r.responder_id,
                    "role": r.role.value,
                    "channel": r.channel,
                    "status": r.status.value,
                    "relay_reply": r.relay_reply,
                    "queue_id": r.queue_id,
                    "reason": r.reason,
                }
                for r in self.recipients
            ],
            "webhook": None
            if self.webhook is None
            else {"status": self.webhook.status.value, "status_code": self.webhook.status_code, "reason": self.webhook.reason},
        }
        if not self.recipients:
            data["note"] = "no responder assigned" + ("" if self.webhook else "; no webhook configured — nobody was told")
        return data


__all__ = [
    "AlertOutcome",
    "AlertRecipient",
    "AlertWhat",
    "ChannelStatus",
    "RecipientOutcome",
    "ResponderAlert",
    "ResponderRole",
    "WebhookOutcome",
    "alert_recipients",
]
