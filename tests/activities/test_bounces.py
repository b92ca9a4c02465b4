"""The relay's bounces, read from the licensee's bounce mailbox (a Maildir) as RFC 3464 delivery
status notifications: real notices sent through a real SMTP server, real reports built the way
Postfix writes them, a real database. A hard bounce marks the e-mail it reports ``returned`` once;
a delay does not; a report for a message we never sent is logged and left; a file that is no
report is quarantined (issue 9 item 6)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import structlog
from temporalio.testing import ActivityEnvironment

from activities.bounces import QUARANTINE, BounceActivities, parse_delivery_status
from activities.notices import NoticeActivities
from activities.tracking import RETURNED, SENT
from models.incident import IncidentIntake
from models.notice import (
    BounceIntakeInput,
    BounceIntakeResult,
    CedingInsurer,
    CedingInsurerNoticeInput,
    NoticeContent,
)
from noticeflow.settings import Settings
from rules import compute_obligations
from tests.activities.bounce_reports import cur_files, drop, new_files, postfix_dsn
from tests.activities.conftest import AS_OF, SmtpServer

INSURERS = [
    CedingInsurer(name="Harpeth Casualty Company", naic_code="11111", email="notices@harpeth.example"),
    CedingInsurer(name="Duck River Mutual", naic_code="22222", email="claims@duckriver.example"),
]


@pytest.fixture
def maildir(tmp_path: Path) -> Path:
    path = tmp_path / "bounces"
    for sub in ("new", "cur", "tmp"):
        (path / sub).mkdir(parents=True)
    return path


@pytest.fixture
def bounces(settings: Settings, notices: NoticeActivities, maildir: Path) -> BounceActivities:
    return BounceActivities(settings.model_copy(update={"bounce_maildir": maildir}), notices.tracker)


async def _send(notices: NoticeActivities, intake: IncidentIntake, content: NoticeContent) -> str:
    """Ceding-insurer notices to two insurers over SMTP; the delivery key they are tracked under."""
    assuming = IncidentIntake.model_validate(
        {**intake.model_dump(mode="json"), "licensee": {**intake.licensee.model_dump(mode="json"), "kind": "assuming_insurer"}}
    )
    ob = next(o for o in compute_obligations(assuming).obligations if o.kind.value == "ceding_insurer_notice")
    result = await ActivityEnvironment().run(
        notices.deliver_ceding_insurer_notice,
        CedingInsurerNoticeInput(obligation=ob, intake=assuming, content=content, ceding_insurers=INSURERS, as_of=AS_OF),
    )
    assert result.complete and {e.recipient_ref for e in result.sent} == {"11111", "22222"}
    return result.delivery_key


def _sent_to(smtp: SmtpServer, address: str):
    (message,) = [m for m in smtp.recorder.messages() if m["To"] == address]
    return message


async def _collect(bounces: BounceActivities, key: str, refs: list[str] | None = None) -> BounceIntakeResult:
    return await ActivityEnvironment().run(bounces.collect_bounces, BounceIntakeInput(delivery_key=key, recipient_refs=refs or []))


def _status(notices: NoticeActivities, key: str, ref: str) -> tuple[str, str | None]:
    found = notices.tracker.outcome_of(key, "email", ref)
    assert found is not None
    return found


async def test_a_hard_bounce_returns_the_email_it_reports_once_and_moves_the_report_to_cur(
    notices: NoticeActivities, bounces: BounceActivities, smtp_server: SmtpServer, maildir: Path,
    intake: IncidentIntake, content: NoticeContent,
) -> None:
    key = await _send(notices, intake, content)
    message = _sent_to(smtp_server, "notices@harpeth.example")
    assert message["Message-ID"], "we set the Message-ID the report is matched by"
    name = drop(maildir, postfix_dsn(message, status="5.1.1"))

    found = await _collect(bounces, key)

    assert (found.configured, found.read, found.hard_bounces, found.returned) == (True, 1, 1, 1)
    status, reason = _status(notices, key, "11111")
    assert status == RETURNED and reason is not None and reason.startswith("hard bounce 5.1.1")
    assert "@" not in reason, "the reason never quotes an address"
    assert _status(notices, key, "22222")[0] == SENT
    assert new_files(maildir) == [] and cur_files(maildir) == [f"{name}:2,S"]
    # Read again (a retry, another worker): nothing new, nothing counted twice.
    again = await _collect(bounces, key)
    assert (again.read, again.hard_bounces, again.returned) == (0, 0, 1)
    assert (await _collect(bounces, key, ["22222"])).returned == 0


async def test_a_report_read_twice_after_a_crash_records_the_bounce_once(
    notices: NoticeActivities, bounces: BounceActivities, smtp_server: SmtpServer, maildir: Path,
    intake: IncidentIntake, content: NoticeContent,
) -> None:
    key = await _send(notices, intake, content)
    raw = postfix_dsn(_sent_to(smtp_server, "claims@duckriver.example"), status="5.2.1", headers_only=True)
    drop(maildir, raw)
    drop(maildir, raw)  # the same report still in new/: its first reading died before the file was moved
    found = await _collect(bounces, key)
    assert (found.read, found.hard_bounces, found.returned) == (2, 1, 1)
    reason = "hard bounce 5.2.1 (mailbox disabled, not accepting messages), reported by the relay's delivery status notification"
    assert _status(notices, key, "22222") == (RETURNED, reason)
    assert len(cur_files(maildir)) == 2 and new_files(maildir) == []


async def test_matched_by_message_id_never_by_the_recipient_address(
    notices: NoticeActivities, bounces: BounceActivities, smtp_server: SmtpServer, maildir: Path,
    intake: IncidentIntake, content: NoticeContent,
) -> None:
    key = await _send(notices, intake, content)
    # A report naming Duck River's address but returning Harpeth's message: Harpeth's e-mail bounced.
    drop(maildir, postfix_dsn(_sent_to(smtp_server, "notices@harpeth.example"), final_recipient="claims@duckriver.example"))
    await _collect(bounces, key)
    assert _status(notices, key, "11111")[0] == RETURNED
    assert _status(notices, key, "22222")[0] == SENT


async def test_a_delay_or_a_temporary_failure_is_not_a_bounce(
    notices: NoticeActivities, bounces: BounceActivities, smtp_server: SmtpServer, maildir: Path,
    intake: IncidentIntake, content: NoticeContent,
) -> None:
    key = await _send(notices, intake, content)
    harpeth = _sent_to(smtp_server, "notices@harpeth.example")
    drop(maildir, postfix_dsn(harpeth, action="delayed", status="4.4.1",
                              diagnostic="smtp; 451 4.4.1 mx.example.net: connection timed out"))
    drop(maildir, postfix_dsn(harpeth, action="failed", status="4.4.7", diagnostic="smtp; 451 4.4.7 gave up"))
    found = await _collect(bounces, key)
    assert (found.read, found.hard_bounces, found.returned) == (2, 0, 0)
    assert _status(notices, key, "11111")[0] == SENT
    assert len(cur_files(maildir)) == 2


async def test_a_report_for_an_unknown_message_is_logged_without_npi_and_left(
    notices: NoticeActivities, bounces: BounceActivities, smtp_server: SmtpServer, maildir: Path,
    intake: IncidentIntake, content: NoticeContent,
) -> None:
    key = await _send(notices, intake, content)
    stranger = _sent_to(smtp_server, "notices@harpeth.example")
    stranger.replace_header("Message-ID", "<not-ours-123@elsewhere.example>")
    stranger.replace_header("To", "jane.consumer@mail.example")
    with structlog.testing.capture_logs() as logs:
        found = await _collect(bounces, key)  # nothing yet
        drop(maildir, postfix_dsn(stranger))
        found = await _collect(bounces, key)
    assert (found.read, found.hard_bounces, found.returned) == (1, 0, 0)
    assert [e for e in logs if e["event"] == "bounce_report_for_unknown_message"], logs
    assert "jane.consumer" not in json.dumps(logs, default=str) and "@" not in json.dumps(logs, default=str)
    assert _status(notices, key, "11111")[0] == SENT and len(cur_files(maildir)) == 1


NO_STATUS_PART = (
    b"Content-Type: multipart/report; report-type=delivery-status; boundary=x\n\n--x\nContent-Type: text/plain\n\n"
    b"hello\n--x--\n"
)
BAD_STATUS = (
    b"Content-Type: multipart/report; report-type=delivery-status; boundary=x\n\n--x\n"
    b"Content-Type: message/delivery-status\n\nReporting-MTA: dns; relay\n\nFinal-Recipient: rfc822; a@b\n"
    b"Action: failed\nStatus: five\n--x--\n"
)


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        (b"", "empty file"),
        (b"From: someone@example.com\nSubject: out of office\n\nI am away.\n", "not a delivery status notification"),
        (NO_STATUS_PART, "without a message/delivery-status part"),
        (BAD_STATUS, "valid Action and Status"),
    ],
    ids=["empty", "not_a_report", "no_status_part", "bad_status"],
)
async def test_a_file_that_is_no_readable_report_is_quarantined_and_the_reading_goes_on(
    notices: NoticeActivities, bounces: BounceActivities, smtp_server: SmtpServer, maildir: Path,
    intake: IncidentIntake, content: NoticeContent, raw: bytes, why: str,
) -> None:
    key = await _send(notices, intake, content)
    bad = drop(maildir, raw)
    good = drop(maildir, postfix_dsn(_sent_to(smtp_server, "notices@harpeth.example")))
    with structlog.testing.capture_logs() as logs:
        found = await _collect(bounces, key)
    assert (found.read, found.hard_bounces, found.returned) == (2, 1, 1)
    assert sorted(p.name for p in (maildir / QUARANTINE / "new").iterdir()) == [bad]
    assert cur_files(maildir) == [f"{good}:2,S"] and new_files(maildir) == []
    (quarantined,) = [e for e in logs if e["event"] == "bounce_report_quarantined"]
    assert quarantined["file"] == bad and why in quarantined["reason"] and "@" not in quarantined["reason"]


async def test_without_a_bounce_mailbox_only_the_recorded_returns_are_counted(
    settings: Settings, notices: NoticeActivities, intake: IncidentIntake, content: NoticeContent,
) -> None:
    key = await _send(notices, intake, content)
    found = await _collect(BounceActivities(settings, notices.tracker), key)
    assert (found.configured, found.read, found.returned) == (False, 0, 0)


async def test_a_mailbox_that_is_not_a_maildir_is_a_retryable_error_confirming_nothing(
    settings: Settings, notices: NoticeActivities, tmp_path: Path,
) -> None:
    from temporalio.exceptions import ApplicationError

    missing = BounceActivities(settings.model_copy(update={"bounce_maildir": tmp_path / "nowhere"}), notices.tracker)
    with pytest.raises(ApplicationError) as err:
        await _collect(missing, "INC-X:ceding_insurer_notice:TN:ceding_insurers")
    assert err.value.type == "BounceMailboxUnavailable" and not err.value.non_retryable


def test_the_status_and_message_id_are_read_from_the_returned_headers_rfc_3464() -> None:
    from email.message import EmailMessage

    sent = EmailMessage()
    sent["From"], sent["To"], sent["Subject"] = "notices@cumberland.example", "x@example.net", "Notice"
    sent["Message-ID"] = "<abc123@cumberland.example>"
    sent.set_content("body")
    for headers_only in (False, True):
        report = parse_delivery_status(postfix_dsn(sent, status="5.1.1", headers_only=headers_only))
        assert report.message_id == "<abc123@cumberland.example>" and report.hard_bounce == "5.1.1"
    delayed = parse_delivery_status(postfix_dsn(sent, action="delayed", status="4.4.1"))
    assert delayed.hard_bounce is None and delayed.recipients == (("delayed", "4.4.1"),)
