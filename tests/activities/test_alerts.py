"""Alerts to the event's responders against real endpoints: an aiosmtpd relay on loopback that
answers like Postfix ("queued as …"), and a webhook receiver (http.server on loopback) that
answers what each test tells it to. The activity runs in Temporal's ActivityEnvironment, whose
``info`` plays the retry policy's attempts."""

from __future__ import annotations

import dataclasses
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.alerts import AlertActivities, alert_message_id
from models.alerts import (
    AlertWhat,
    ChannelStatus,
    ResponderAlert,
    ResponderRole,
    alert_recipients,
)
from models.obligation import Obligation
from models.steps import Responder, Responders
from noticeflow.settings import Settings
from tests.activities.conftest import SmtpServer, _free_port, obligation

OWNER = Responder(responder_id="jdoe", name="Jordan Doe", email="jordan.doe@cumberland.example")
BACKUP = Responder(responder_id="asmith", name="Alex Smith", email="alex.smith@cumberland.example")
RESPONDERS = Responders(owner=OWNER, backup=BACKUP)
from tests.activities.conftest import RELAY_QUEUE_ID as QUEUE_ID


@dataclass
class WebhookSink:
    """A webhook receiver: records each POSTed JSON body, answers the next scripted status (200 when none)."""

    url: str = ""
    posts: list[dict[str, Any]] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


@pytest.fixture
def webhook() -> Iterator[WebhookSink]:
    sink = WebhookSink()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            with sink.lock:
                sink.posts.append(json.loads(body))
                status = sink.statuses.pop(0) if sink.statuses else 200
            reply = b"ok" if status < 400 else b"invalid_payload"
            self.send_response(status)
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    sink.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/noticeflow"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield sink
    finally:
        server.shutdown()
        server.server_close()


def _settings(tmp_path: Path, db_url: str, relay: SmtpServer | None, webhook: WebhookSink | None, **extra: Any) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        home=tmp_path / "home",
        db_url=db_url,
        smtp_host="127.0.0.1",
        smtp_port=relay.port if relay else _free_port(),  # nothing listens there: the relay is down
        mail_from="notices@cumberland.example",
        alert_webhook_url=webhook.url if webhook else None,
        **extra,
    )


@pytest.fixture
def make_alerts(tmp_path: Path) -> Iterator[Any]:
    opened: list[AlertActivities] = []

    def make(relay: SmtpServer | None, webhook: WebhookSink | None = None, db_url: str | None = None, **extra: Any) -> AlertActivities:
        acts = AlertActivities(_settings(tmp_path, db_url or f"sqlite:///{tmp_path / 'alerts.db'}", relay, webhook, **extra))
        opened.append(acts)
        return acts

    yield make
    for acts in opened:
        acts.close()


def _alert(ob: Obligation, what: AlertWhat, responders: Responders | None, *, step: str | None = None, waiting_for: str | None = None) -> ResponderAlert:
    due = ob.due
    as_of = {AlertWhat.REMINDER: due - timedelta(hours=4), AlertWhat.OVERDUE: due, AlertWhat.ESCALATION: due + timedelta(hours=24)}.get(what, due)
    return ResponderAlert(
        step=step or f"obligation-{ob.obligation_id}/{what.value}/{due.isoformat()}",
        workflow_id=f"obligation-{ob.obligation_id}",
        incident_id="INC-ALERT-1",
        obligation_id=ob.obligation_id,
        kind=ob.kind,
        jurisdiction=ob.jurisdiction,
        citation=ob.citation,
        recipient_name=ob.recipient_name,
        due=due,
        as_of=as_of.astimezone(UTC),
        what=what,
        waiting_for=waiting_for or "the initial report to be rendered and filed with the commissioner",
        recipients=alert_recipients(responders, with_backup=what is not AlertWhat.REMINDER),
    )


def _attempt(n: int, of: int = 10) -> ActivityEnvironment:
    env = ActivityEnvironment()
    env.info = dataclasses.replace(env.info, attempt=n, retry_policy=RetryPolicy(maximum_attempts=of))
    return env


@pytest.fixture
def tn_report(obligations: dict[str, Obligation]) -> Obligation:
    return obligation(obligations, "commissioner_notice", "TN")


# =============================================================================================
# E-mail
# =============================================================================================


async def test_reminder_emails_the_owner_alone_with_the_obligation_due_and_citation(make_alerts: Any, relay: SmtpServer, tn_report: Obligation) -> None:
    acts = make_alerts(relay)
    req = _alert(tn_report, AlertWhat.REMINDER, RESPONDERS)

    outcome = await _attempt(1).run(acts.alert_responders, req)

    assert relay.recorder.recipients() == [OWNER.email]
    (msg,) = relay.recorder.messages()
    assert msg["Subject"].strip() == "[noticeflow] Reminder: commissioner notice for TN due 2025-12-02 23:59 (UTC-06:00)"
    assert msg["Message-ID"].strip() == alert_message_id(f"alert:{req.step}", "jdoe", "notices@cumberland.example")
    body = msg.get_body(("plain",)).get_content()
    assert "due in 4 hours" in body
    assert tn_report.citation in body
    assert "Waiting for: the initial report to be rendered and filed with the commissioner" in body
    assert "Hello Jordan Doe," in body
    assert [(r.responder_id, r.role, r.status, r.queue_id) for r in outcome.recipients] == [
        ("jdoe", ResponderRole.OWNER, ChannelStatus.SENT, QUEUE_ID)
    ]
    assert outcome.recipients[0].relay_reply == f"250 2.0.0 Ok: queued as {QUEUE_ID}"
    assert outcome.webhook is None
    assert outcome.delivered


async def test_overdue_alert_emails_owner_and_backup(make_alerts: Any, relay: SmtpServer, tn_report: Obligation) -> None:
    acts = make_alerts(relay)

    outcome = await _attempt(1).run(acts.alert_responders, _alert(tn_report, AlertWhat.OVERDUE, RESPONDERS))

    assert sorted(relay.recorder.recipients()) == sorted([OWNER.email, BACKUP.email])
    assert {m["Subject"].strip() for m in relay.recorder.messages()} == {"[noticeflow] OVERDUE: commissioner notice for TN was due 2025-12-02 23:59 (UTC-06:00)"}
    assert {(r.responder_id, r.role, r.status) for r in outcome.recipients} == {
        ("jdoe", ResponderRole.OWNER, ChannelStatus.SENT),
        ("asmith", ResponderRole.BACKUP, ChannelStatus.SENT),
    }


async def test_ledger_data_names_responder_ids_and_relay_evidence_never_an_address(make_alerts: Any, relay: SmtpServer, tn_report: Obligation) -> None:
    acts = make_alerts(relay)
    outcome = await _attempt(1).run(acts.alert_responders, _alert(tn_report, AlertWhat.OVERDUE, RESPONDERS))

    data = outcome.ledger_data()

    assert [(r["responder_id"], r["status"], r["queue_id"]) for r in data["recipients"]] == [
        ("jdoe", "sent", QUEUE_ID), ("asmith", "sent", QUEUE_ID)
    ]
    assert "@" not in json.dumps(data)


async def test_refused_recipient_is_recorded_failed_without_its_address(make_alerts: Any, relay: SmtpServer, tn_report: Obligation) -> None:
    relay.recorder.refuse.add(BACKUP.email)
    acts = make_alerts(relay)

    outcome = await _attempt(1).run(acts.alert_responders, _alert(tn_report, AlertWhat.OVERDUE, RESPONDERS))

    backup = next(r for r in outcome.recipients if r.responder_id == "asmith")
    assert backup.status is ChannelStatus.FAILED
    assert backup.reason is not None and backup.reason.startswith("550") and "@" not in backup.reason
    assert not outcome.delivered


async def test_retry_after_a_deferral_sends_only_what_did_not_leave(make_alerts: Any, relay: SmtpServer, tn_report: Obligation, db_url: str) -> None:
    relay.recorder.defer.add(BACKUP.email)
    acts = make_alerts(relay, db_url=db_url)
    req = _alert(tn_report, AlertWhat.OVERDUE, RESPONDERS)

    with pytest.raises(ApplicationError) as raised:
        await _attempt(1).run(acts.alert_responders, req)
    assert raised.value.type == "AlertDeferred" and not raised.value.non_retryable
    assert relay.recorder.recipients() == [OWNER.email]

    relay.recorder.defer.clear()
    outcome = await _attempt(2).run(acts.alert_responders, req)
    again = await _attempt(1).run(acts.alert_responders, req)  # the same alert once more: a replayed step

    assert sorted(relay.recorder.recipients()) == sorted([OWNER.email, BACKUP.email])
    assert [(r.responder_id, r.status, r.queue_id) for r in outcome.recipients] == [
        ("jdoe", ChannelStatus.SENT, QUEUE_ID), ("asmith", ChannelStatus.SENT, QUEUE_ID)
    ]
    assert again == outcome


async def test_relay_down_on_the_last_attempt_records_each_recipient_failed(make_alerts: Any, tn_report: Obligation) -> None:
    acts = make_alerts(None)
    req = _alert(tn_report, AlertWhat.OVERDUE, RESPONDERS)

    with pytest.raises(ApplicationError):
        await _attempt(1, of=3).run(acts.alert_responders, req)
    outcome = await _attempt(3, of=3).run(acts.alert_responders, req)

    assert [(r.responder_id, r.status) for r in outcome.recipients] == [("jdoe", ChannelStatus.FAILED), ("asmith", ChannelStatus.FAILED)]
    assert all(r.reason and r.reason.startswith("gave up after 3 attempts: SMTP relay") for r in outcome.recipients)


async def test_npi_shaped_waiting_for_text_is_withheld_from_the_email(make_alerts: Any, relay: SmtpServer, tn_report: Obligation) -> None:
    acts = make_alerts(relay)
    req = _alert(tn_report, AlertWhat.REMINDER, RESPONDERS, waiting_for="a person: call back 615-555-0100 about 078-05-1120")

    await _attempt(1).run(acts.alert_responders, req)

    (msg,) = relay.recorder.messages()
    body = msg.get_body(("plain",)).get_content()
    assert "078-05-1120" not in body and "615-555-0100" not in body
    assert "Waiting for: [withheld: the text looked like it carried personal information]" in body


# =============================================================================================
# Webhook
# =============================================================================================


async def test_webhook_gets_slack_compatible_text_and_the_facts_as_fields(
    make_alerts: Any, relay: SmtpServer, webhook: WebhookSink, tn_report: Obligation
) -> None:
    acts = make_alerts(relay, webhook, alert_ui_url="http://temporal.example/namespaces/default/workflows/{workflow_id}")
    req = _alert(tn_report, AlertWhat.OVERDUE, RESPONDERS)

    outcome = await _attempt(1).run(acts.alert_responders, req)

    (post,) = webhook.posts
    assert set(post) == {"text", "noticeflow"}
    assert post["text"].startswith("[noticeflow] OVERDUE: commissioner notice for TN")
    assert "Responders: jdoe (owner), asmith (backup)" in post["text"]
    assert post["noticeflow"] == {
        "alert": "overdue",
        "incident_id": "INC-ALERT-1",
        "obligation_id": tn_report.obligation_id,
        "kind": "commissioner_notice",
        "jurisdiction": "TN",
        "citation": tn_report.citation,
        "due": tn_report.due.isoformat(),
        "waiting_for": "the initial report to be rendered and filed with the commissioner",
        "responders": [{"responder_id": "jdoe", "role": "owner"}, {"responder_id": "asmith", "role": "backup"}],
        "url": f"http://temporal.example/namespaces/default/workflows/obligation-{tn_report.obligation_id}",
        "step": req.step,
    }
    assert "@" not in json.dumps(post)  # responders by id; their e-mail stays in the e-mail
    assert outcome.webhook is not None and (outcome.webhook.status, outcome.webhook.status_code) == (ChannelStatus.SENT, 200)
    assert outcome.delivered


async def test_webhook_4xx_is_recorded_failed_and_not_retried(
    make_alerts: Any, relay: SmtpServer, webhook: WebhookSink, tn_report: Obligation
) -> None:
    webhook.statuses = [400]
    acts = make_alerts(relay, webhook)
    req = _alert(tn_report, AlertWhat.REMINDER, RESPONDERS)

    outcome = await _attempt(1).run(acts.alert_responders, req)
    again = await _attempt(2).run(acts.alert_responders, req)

    assert outcome.webhook is not None
    assert (outcome.webhook.status, outcome.webhook.status_code) == (ChannelStatus.FAILED, 400)
    assert outcome.webhook.reason == "HTTP 400: invalid_payload"
    assert not outcome.delivered
    assert len(webhook.posts) == 1 and again == outcome


async def test_webhook_5xx_is_retried_without_sending_the_emails_again(
    make_alerts: Any, relay: SmtpServer, webhook: WebhookSink, tn_report: Obligation
) -> None:
    webhook.statuses = [503]
    acts = make_alerts(relay, webhook)
    req = _alert(tn_report, AlertWhat.OVERDUE, RESPONDERS)

    with pytest.raises(ApplicationError) as raised:
        await _attempt(1).run(acts.alert_responders, req)
    assert not raised.value.non_retryable and "HTTP 503" in str(raised.value)
    outcome = await _attempt(2).run(acts.alert_responders, req)

    assert len(webhook.posts) == 2
    assert sorted(relay.recorder.recipients()) == sorted([OWNER.email, BACKUP.email])  # each once
    assert outcome.webhook is not None and (outcome.webhook.status, outcome.webhook.status_code) == (ChannelStatus.SENT, 200)
    assert outcome.delivered


async def test_webhook_still_failing_on_the_last_attempt_is_recorded_failed(
    make_alerts: Any, relay: SmtpServer, webhook: WebhookSink, tn_report: Obligation
) -> None:
    webhook.statuses = [502, 502]
    acts = make_alerts(relay, webhook)
    req = _alert(tn_report, AlertWhat.REMINDER, RESPONDERS)

    with pytest.raises(ApplicationError):
        await _attempt(1, of=2).run(acts.alert_responders, req)
    outcome = await _attempt(2, of=2).run(acts.alert_responders, req)

    assert outcome.webhook is not None
    assert (outcome.webhook.status, outcome.webhook.status_code) == (ChannelStatus.FAILED, 502)
    assert outcome.webhook.reason == "HTTP 502; gave up after 2 attempts"
    assert [r.status for r in outcome.recipients] == [ChannelStatus.SENT]


async def test_with_no_responder_assigned_the_alert_goes_to_the_webhook_and_says_so(
    make_alerts: Any, relay: SmtpServer, webhook: WebhookSink, tn_report: Obligation
) -> None:
    acts = make_alerts(relay, webhook)

    outcome = await _attempt(1).run(acts.alert_responders, _alert(tn_report, AlertWhat.OVERDUE, None))

    assert relay.recorder.received == []
    assert "Responders: no responder assigned" in webhook.posts[0]["text"]
    assert outcome.ledger_data()["note"] == "no responder assigned"
    assert outcome.delivered


async def test_with_no_responder_and_no_webhook_nobody_is_told_and_the_outcome_says_so(
    make_alerts: Any, relay: SmtpServer, tn_report: Obligation
) -> None:
    acts = make_alerts(relay)

    outcome = await _attempt(1).run(acts.alert_responders, _alert(tn_report, AlertWhat.OVERDUE, None))

    assert relay.recorder.received == []
    assert not outcome.delivered
    assert outcome.ledger_data()["note"] == "no responder assigned; no webhook configured — nobody was told"
