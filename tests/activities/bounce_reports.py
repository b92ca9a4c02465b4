"""Delivery status notifications (RFC 3464) built with the standard library the way Postfix's
bounce daemon writes them, and dropped into a Maildir as the licensee's bounce mailbox receives
them — the test side of ``activities/bounces.py``."""

from __future__ import annotations

import mailbox
from email.message import EmailMessage, Message
from email.mime.message import MIMEMessage
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import formatdate, make_msgid
from pathlib import Path

RELAY = "relay.cumberland.example"


def _block(**fields: str) -> Message:
    block = Message()
    for name, value in fields.items():
        block[name.replace("_", "-")] = value
    return block


def postfix_dsn(
    original: EmailMessage,
    *,
    action: str = "failed",
    status: str = "5.1.1",
    diagnostic: str | None = None,
    queue_id: str = "4F1A2B3C9D",
    headers_only: bool = False,
    final_recipient: str | None = None,
) -> bytes:
    """A bounce (``Action: failed``) or delay (``Action: delayed``) notice for ``original`` as it
    left our relay, with the returned message (``message/rfc822``) or only its headers
    (``text/rfc822-headers``)."""
    rcpt = final_recipient or str(original["To"])
    sender = str(original["From"])
    delayed = action == "delayed"
    report = MIMEMultipart("report", report_type="delivery-status")
    report["From"] = f"MAILER-DAEMON@{RELAY} (Mail Delivery System)"
    report["To"] = sender
    report["Subject"] = "Delayed Mail (still being retried)" if delayed else "Undelivered Mail Returned to Sender"
    report["Date"] = formatdate(localtime=False)
    report["Auto-Submitted"] = "auto-replied"
    report["Message-ID"] = make_msgid(domain=RELAY)
    said = diagnostic or f"smtp; 550 {status} <{rcpt}>: Recipient address rejected: User unknown in virtual mailbox table"
    human = (
        f"This is the mail system at host {RELAY}.\n\n"
        + ("####################################################################\n"
           "# THIS IS A WARNING ONLY.  YOU DO NOT NEED TO RESEND YOUR MESSAGE. #\n"
           "####################################################################\n\n"
           "Your message could not be delivered for 4.0 hours. It will be retried until it is 5.0 days old.\n\n"
           if delayed else
           "I'm sorry to have to inform you that your message could not\nbe delivered to one or more recipients.\n\n")
        + f"<{rcpt}>: host mx.example.net[198.51.100.7] said: {said.removeprefix('smtp; ')}\n"
    )
    notification = MIMEText(human, "plain", "us-ascii")
    notification["Content-Description"] = "Notification"
    report.attach(notification)
    status_part = Message()
    status_part.set_type("message/delivery-status")
    status_part["Content-Description"] = "Delivery report"
    per_recipient = _block(
        Final_Recipient=f"rfc822; {rcpt}",
        Original_Recipient=f"rfc822;{rcpt}",
        Action=action,
        Status=status,
        Remote_MTA="dns; mx.example.net",
        Diagnostic_Code=said,
    )
    if delayed:
        per_recipient["Will-Retry-Until"] = formatdate(localtime=False)
    status_part.set_payload([
        _block(Reporting_MTA=f"dns; {RELAY}", X_Postfix_Queue_ID=queue_id, X_Postfix_Sender=f"rfc822; {sender}",
               Arrival_Date=formatdate(localtime=False)),
        per_recipient,
    ])
    report.attach(status_part)
    if headers_only:
        head = original.as_bytes().split(b"\n\n", 1)[0].decode("utf-8", "replace") + "\n"
        returned = MIMEText(head, "rfc822-headers", "utf-8")
        returned["Content-Description"] = "Undelivered Message Headers"
    else:
        returned = MIMEMessage(original)
        returned["Content-Description"] = "Undelivered Message" if not delayed else "Delayed Message"
    report.attach(returned)
    return report.as_bytes()


def drop(maildir: Path, raw: bytes) -> str:
    """Deliver ``raw`` into the Maildir's ``new/`` (via ``tmp/``, as a delivery agent does); its key."""
    box = mailbox.Maildir(maildir, create=True)
    try:
        return box.add(raw)
    finally:
        box.close()


def new_files(maildir: Path) -> list[str]:
    return sorted(p.name for p in (maildir / "new").iterdir())


def cur_files(maildir: Path) -> list[str]:
    return sorted(p.name for p in (maildir / "cur").iterdir())
