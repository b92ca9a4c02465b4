"""The relay's bounces reach the workflows without a person (issue 9 item 6: "a bounce reopens
that recipient"). A real worker on the time-skipping server sends real e-mails through a real
SMTP server (answering like Postfix); the bounce mailbox is a real Maildir
(NOTICEFLOW_BOUNCE_MAILDIR) into which RFC 3464 reports, built the way Postfix writes them, are
delivered. The notice workflows read it every hour of the bounce window: a hard bounce reopens
its recipient exactly as a recorded return does, and the notice is not met on it; a delay does not.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest_asyncio
from temporalio.testing import WorkflowEnvironment

from models.lifecycle import ObligationStatus
from tests.activities.bounce_reports import cur_files, drop, new_files, postfix_dsn
from tests.activities.conftest import SmtpServer
from tests.workflows.conftest import Stack, running_stack
from tests.workflows.notice_helpers import affected, entries, state_of, until
from tests.workflows.test_consumer_notice_confirmation import WINDOW, electronic, ref
from tests.workflows.test_consumer_notice_confirmation import (
    _start as start_consumer_notice,
)
from tests.workflows.test_party_notice_confirmation import INSURERS
from tests.workflows.test_party_notice_confirmation import (
    _send as send_ceding_insurer_notices,
)


@pytest_asyncio.fixture
async def stack(
    time_skipping_env: WorkflowEnvironment, task_queue: str, tmp_path: Path, smtp_server: SmtpServer
) -> AsyncIterator[Stack]:
    maildir = tmp_path / "bounces"
    for sub in ("new", "cur", "tmp"):
        (maildir / sub).mkdir(parents=True)
    async with running_stack(time_skipping_env, task_queue, tmp_path, smtp_server, bounce_maildir=maildir) as running:
        yield running


def _maildir(stack: Stack) -> Path:
    assert stack.settings.bounce_maildir is not None
    return Path(stack.settings.bounce_maildir)


def _sent_to(stack: Stack, address: str) -> EmailMessage:
    (message,) = [m for m in stack.smtp.recorder.messages() if m["To"] == address]
    return message


def _no_address(stack: Stack, incident_id: str, addresses: list[str]) -> None:
    text = str([e.data for e in stack.entries(incident_id)])
    assert not any(a in text for a in addresses), "no e-mail address in the ledger"


async def test_a_hard_bounce_in_the_mailbox_reopens_that_insurer_and_the_notice_is_never_met_56_2_1006_e(
    stack: Stack,
) -> None:
    handle, ob = await send_ceding_insurer_notices(stack, "INC-DSN-CED")
    await stack.skip(timedelta(hours=5))
    assert (await state_of(handle)).status is ObligationStatus.SENT
    # The relay's report for Volunteer State Casualty's e-mail lands in the bounce mailbox; nobody records it.
    drop(_maildir(stack), postfix_dsn(_sent_to(stack, "notices@volunteer-casualty.example"), status="5.1.1"))
    await stack.skip(timedelta(hours=1, minutes=5))

    reopened = await until(handle, lambda st: st.status is not ObligationStatus.SENT)
    assert reopened.status is ObligationStatus.PENDING and reopened.sent_at is None
    assert "19870" in reopened.waiting_for and "came back undelivered" in reopened.waiting_for
    (entry,) = entries(stack, "INC-DSN-CED", "ceding_insurer_notice.reopened", ob.obligation_id)
    assert entry["detected_by"] == "bounce_mailbox"
    assert [r["recipient_ref"] for r in entry["returned"]] == ["19870"] and entry["confirmed"] == ["24871"]
    assert entry["returned"][0]["reason"].startswith("hard bounce 5.1.1")
    assert new_files(_maildir(stack)) == [] and len(cur_files(_maildir(stack))) == 1, "read once, kept as seen"

    await stack.skip(WINDOW)
    assert not entries(stack, "INC-DSN-CED", "ceding_insurer_notice.met", ob.obligation_id)
    assert (await state_of(handle)).status in (ObligationStatus.PENDING, ObligationStatus.OVERDUE)
    _no_address(stack, "INC-DSN-CED", [i.email for i in INSURERS])
    stack.verify()


async def test_a_delay_report_does_not_reopen_and_the_notice_is_met_when_the_window_passes(stack: Stack) -> None:
    handle, ob = await send_ceding_insurer_notices(stack, "INC-DSN-DELAY")
    drop(_maildir(stack), postfix_dsn(_sent_to(stack, "claims@cumberland.example"), action="delayed", status="4.4.1",
                                      diagnostic="smtp; 451 4.4.1 mx.example.net: connection timed out"))
    await stack.skip(timedelta(hours=2))
    assert (await state_of(handle)).status is ObligationStatus.SENT
    assert cur_files(_maildir(stack)), "the delay report was read"
    await stack.skip(WINDOW)
    met = await until(handle, lambda st: st.status.resolved)
    assert met.status is ObligationStatus.MET
    (entry,) = entries(stack, "INC-DSN-DELAY", "ceding_insurer_notice.met", ob.obligation_id)
    assert sorted(entry["confirmation"]["recipients_confirmed"]) == ["19870", "24871"]
    assert entry["confirmation"]["bounce_mailbox_read"] is True
    assert not entries(stack, "INC-DSN-DELAY", "ceding_insurer_notice.reopened", ob.obligation_id)


async def test_a_report_for_a_message_we_never_sent_changes_nothing(stack: Stack) -> None:
    handle, _ = await send_ceding_insurer_notices(stack, "INC-DSN-STRANGER")
    stranger = _sent_to(stack, "claims@cumberland.example")
    stranger.replace_header("Message-ID", "<newsletter-77@marketing.example>")
    drop(_maildir(stack), postfix_dsn(stranger))
    await stack.skip(WINDOW + timedelta(hours=1))
    met = await until(handle, lambda st: st.status.resolved)
    assert met.status is ObligationStatus.MET


async def test_a_consumer_email_bounce_in_the_mailbox_reopens_that_consumer_and_a_letter_follows_56_2_1006_c(
    stack: Stack,
) -> None:
    tn = affected("TN", 3, with_email=3, electronic_primary_channel=True)
    ob, handle = await start_consumer_notice(stack, "INC-DSN-CON", tn, [electronic(n) for n in range(1, 4)])
    await until(handle, lambda st: st.status is ObligationStatus.SENT)
    (first,) = entries(stack, "INC-DSN-CON", "consumer_notice.sent", ob.obligation_id)
    drop(_maildir(stack), postfix_dsn(_sent_to(stack, "person2@example.net"), status="5.1.1", headers_only=True))
    await stack.skip(timedelta(hours=1, minutes=5))

    # As a recorded return does: reopened, a letter to that consumer, sent again.
    await until(handle, lambda st: len(entries(stack, "INC-DSN-CON", "consumer_notice.sent", ob.obligation_id)) == 2)
    (reopened,) = entries(stack, "INC-DSN-CON", "consumer_notice.reopened", ob.obligation_id)
    assert (reopened["reason"], reopened["detected_by"], reopened["emails_returned"], reopened["follow_up"]) == (
        "returned", "bounce_mailbox", 1, True
    )
    assert reopened["sent_at"] == first["sent_at"]
    status = stack.resources.notices.tracker.outcome_of(ob.obligation_id, "email", ref("C-TN-2"))
    assert status is not None and status[0] == "returned"
    letters = [line for m in (stack.settings.outbox_dir / "print").rglob("manifest.csv") for line in m.read_text().splitlines()[1:]]
    assert len(letters) == 1 and ref("C-TN-2") in letters[0]
    assert not entries(stack, "INC-DSN-CON", "consumer_notice.met", ob.obligation_id)

    await stack.skip(WINDOW + timedelta(hours=1))
    met = await until(handle, lambda st: st.status.resolved)
    assert met.status is ObligationStatus.MET
    (entry,) = entries(stack, "INC-DSN-CON", "consumer_notice.met", ob.obligation_id)
    confirmation: dict[str, Any] = entry["confirmation"]
    assert confirmation["email"]["confirmed"] == 2 and confirmation["postal"]["confirmed"] == 1
    assert confirmation["email"]["bounce_mailbox_read"] is True
    _no_address(stack, "INC-DSN-CON", [f"person{n}@example.net" for n in range(1, 4)])
    stack.verify()
