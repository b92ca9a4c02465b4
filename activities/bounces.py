"""Bounces the relay sends back: the licensee's bounce mailbox, read as RFC 3464 delivery status
notifications, each hard bounce recorded once against the e-mail it reports.

Sent is not received: an e-mail notice is confirmed only when no hard bounce comes back within the
bounce window (``NOTICEFLOW_BOUNCE_WINDOW_DAYS``), and a bounce reopens its recipient. A person can
record one (``report_returned``); with ``NOTICEFLOW_BOUNCE_MAILDIR`` set, the relay's own reports
are read here, during the window, by the notice workflows (``collect_bounces``).

* The mailbox is a Maildir (``new/``, ``cur/``, ``tmp/``). Each file in ``new/`` is read once and
  moved to ``cur/`` with the Seen flag (``<name>:2,S``), whatever it held; a file that is not a
  readable delivery status notification goes to the ``.Quarantine`` folder (Maildir++) for a person
  to look at, and the log names the file and why — never an address.
* A report is ``multipart/report; report-type=delivery-status``. A per-recipient block with
  ``Action: failed`` and a ``Status`` of class 5 is a hard bounce; class 4 or ``Action: delayed``
  is not (the relay is still trying or gave up on a temporary failure), nor is a delivery report.
* It is matched to the e-mail we sent by the Message-ID we set (``activities/notices.py``
  ``_message_id``, kept in the delivery store's evidence): ``Original-Message-ID`` where the relay
  gives one, else the ``Message-ID`` of the returned message or headers. Never by the recipient
  address. A report for a message we do not know is logged (a digest of its Message-ID) and left.
* Recording is idempotent: a delivery turns ``returned`` only from ``sent``, so a report read again
  after a crash (before its file was moved) changes nothing. The reason kept says the status and
  what it means, nothing the remote server wrote (its diagnostic may quote the address).
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import hashlib
import json
import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import Message
from email.parser import HeaderParser
from pathlib import Path

import structlog
from sqlalchemy import func, select, update
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities import db
from activities.tracking import RETURNED, SENT, DeliveryTracker, NoticeDeliveryRow
from models.notice import BounceIntakeInput, BounceIntakeResult, FailureKind
from config.settings import Settings

log = structlog.get_logger("noticeflow.bounces")

_D = NoticeDeliveryRow.__table__
#: The Maildir++ folder a file that is no readable report is moved to.
QUARANTINE = ".Quarantine"
#: Bigger than any delivery status notification we expect (they return headers, at most the message).
MAX_REPORT_BYTES = 10 * 1024 * 1024
_STATUS = re.compile(r"^([245])\.(\d{1,3})\.(\d{1,3})$")
_MESSAGE_ID = re.compile(r"<[^<>\s]+>")
#: RFC 3463 enhanced status codes a person reads most often.
_STATUS_WORDS = {
    "5.1.1": "bad destination mailbox address",
    "5.1.2": "bad destination system address",
    "5.1.3": "bad destination mailbox address syntax",
    "5.1.6": "destination mailbox has moved",
    "5.1.10": "recipient address has a null MX",
    "5.2.1": "mailbox disabled, not accepting messages",
    "5.2.2": "mailbox full",
    "5.3.0": "mail system failure",
    "5.4.4": "unable to route",
    "5.7.1": "delivery not authorized, message refused",
}


class MalformedReportError(Exception):
    """The file is not a delivery status notification this module can read."""


@dataclass(frozen=True)
class DeliveryStatus:
    """What one report says: the Message-ID of the message it reports on, and per recipient
    (action, status). Addresses are not kept."""

    message_id: str | None
    recipients: tuple[tuple[str, str], ...]

    @property
    def hard_bounce(self) -> str | None:
        """The status of the first permanent failure (``Action: failed``, class 5), else None."""
        for action, status in self.recipients:
            if action == "failed" and status.startswith("5."):
                return status
        return None


def _blocks(part: Message) -> list[Message]:
    """The header blocks of a ``message/delivery-status`` part: per-message, then per-recipient."""
    payload = part.get_payload()
    if isinstance(payload, list):
        return [b for b in payload if isinstance(b, Message)]
    text = payload if isinstance(payload, str) else ""
    return [HeaderParser().parsestr(chunk.strip() + "\n") for chunk in re.split(r"\r?\n\s*\r?\n", text) if chunk.strip()]


def _returned_message_id(report: Message) -> str | None:
    """The Message-ID of the returned message (``message/rfc822``) or headers (``text/rfc822-headers``)."""
    parts = report.get_payload()
    for part in parts if isinstance(parts, list) else []:
        kind = part.get_content_type()
        if kind in ("message/rfc822", "message/global"):
            inner = part.get_payload()
            inner = inner[0] if isinstance(inner, list) and inner else inner
            if isinstance(inner, Message) and inner.get("Message-ID"):
                return str(inner.get("Message-ID"))
        elif kind in ("text/rfc822-headers", "message/rfc822-headers", "message/global-headers"):
            raw = part.get_payload(decode=True) or b""
            headers = HeaderParser().parsestr(raw.decode("utf-8", "replace"))
            if headers.get("Message-ID"):
                return str(headers.get("Message-ID"))
    return None


def parse_delivery_status(raw: bytes) -> DeliveryStatus:
    """Read an RFC 3464 report; raises :class:`MalformedReportError` saying why it cannot."""
    if not raw.strip():
        raise MalformedReportError("empty file")
    report = email.message_from_bytes(raw, policy=email.policy.compat32)
    if report.get_content_type() != "multipart/report" or (report.get_param("report-type") or "").lower() != "delivery-status":
        raise MalformedReportError(
            f"not a delivery status notification (Content-Type {report.get_content_type()}, "
            f"report-type {report.get_param('report-type') or 'none'})"
        )
    parts = report.get_payload()
    status_parts = [p for p in parts if isinstance(p, Message) and p.get_content_type() in (
        "message/delivery-status", "message/global-delivery-status")] if isinstance(parts, list) else []
    if not status_parts:
        raise MalformedReportError("multipart/report without a message/delivery-status part")
    blocks = _blocks(status_parts[0])
    per_message, per_recipient = (blocks[0], blocks[1:]) if blocks else (None, [])
    recipients: list[tuple[str, str]] = []
    for block in per_recipient:
        action = str(block.get("Action", "")).strip().lower()
        status = str(block.get("Status", "")).strip().split()[0] if block.get("Status") else ""
        if not action or not _STATUS.match(status):
            raise MalformedReportError("a per-recipient block without a valid Action and Status (RFC 3464 §2.3)")
        recipients.append((action, status))
    if not recipients:
        raise MalformedReportError("no per-recipient fields (RFC 3464 §2.3)")
    original = per_message.get("Original-Message-ID") if per_message is not None else None
    found = _MESSAGE_ID.search(str(original or "")) or _MESSAGE_ID.search(_returned_message_id(report) or "")
    return DeliveryStatus(message_id=found.group(0) if found else None, recipients=tuple(recipients))


def bounce_reason(status: str) -> str:
    """What the delivery store (and a reopened notice's entry) says of a hard bounce."""
    words = _STATUS_WORDS.get(status) or "permanent failure"
    return f"hard bounce {status} ({words}), reported by the relay's delivery status notification"


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class BounceMailbox:
    """One Maildir of delivery status notifications, read against the delivery store."""

    def __init__(self, path: Path, tracker: DeliveryTracker) -> None:
        self.path, self.tracker = path, tracker

    def _check(self) -> None:
        missing = [d for d in ("new", "cur") if not (self.path / d).is_dir()]
        if missing:
            raise ApplicationError(
                f"the bounce mailbox {self.path} is not a Maildir (no {', '.join(missing)}/): no bounce can be read, "
                "so no e-mail is confirmed until it is (check NOTICEFLOW_BOUNCE_MAILDIR)",
                type="BounceMailboxUnavailable",
                non_retryable=False,
            )

    def read_new(self) -> tuple[int, int]:
        """Read every report in ``new/``: (reports read, hard bounces recorded now)."""
        self._check()
        read = hard = 0
        for entry in sorted(os.scandir(self.path / "new"), key=lambda e: e.name):
            if entry.name.startswith(".") or not entry.is_file():
                continue
            read += 1
            hard += self._one(Path(entry.path))
        return read, hard

    def _one(self, path: Path) -> int:
        name = path.name
        try:
            if path.stat().st_size > MAX_REPORT_BYTES:
                raise MalformedReportError(f"larger than {MAX_REPORT_BYTES} bytes")
            status = parse_delivery_status(path.read_bytes())
        except FileNotFoundError:
            return 0  # another worker took it
        except MalformedReportError as exc:
            self._move(path, quarantine=True)
            log.warning("bounce_report_quarantined", file=name, reason=str(exc), folder=QUARANTINE)
            return 0
        except Exception as exc:  # noqa: BLE001 — untrusted input: whatever the parser trips on, a person looks
            self._move(path, quarantine=True)
            log.warning("bounce_report_quarantined", file=name, reason=f"unreadable ({type(exc).__name__})",
                        folder=QUARANTINE)
            return 0
        recorded = 0
        code = status.hard_bounce
        if status.message_id is None:
            log.warning("bounce_report_without_message_id", file=name, hard_bounce=code is not None)
        else:
            rows = self._deliveries(status.message_id)
            if not rows:
                log.info("bounce_report_for_unknown_message", file=name, message_id_sha256=_digest(status.message_id),
                         hard_bounce=code is not None)
            elif code is None:
                log.info("bounce_report_not_a_hard_bounce", file=name, deliveries=len(rows),
                         statuses=sorted({f"{a} {s}" for a, s in status.recipients}))
            else:
                recorded = self._mark_returned(rows, bounce_reason(code))
                log.info("bounce_recorded", file=name, deliveries=[oid for oid, _ in rows], status=code, recorded=recorded)
        self._move(path, quarantine=False)
        return recorded

    def _deliveries(self, message_id: str) -> list[tuple[str, str]]:
        """The (delivery key, recipient_ref) of e-mails sent with this Message-ID."""
        with db.read(self.tracker.engine) as conn:
            rows = conn.execute(
                select(_D.c.obligation_id, _D.c.recipient_ref, _D.c.evidence).where(
                    _D.c.channel == "email",
                    _D.c.status.in_((SENT, RETURNED)),
                    _D.c.evidence.contains(message_id, autoescape=True),
                )
            ).all()
        out = []
        for row in rows:
            try:
                if json.loads(row.evidence).get("message_id") == message_id:
                    out.append((row.obligation_id, row.recipient_ref))
            except (TypeError, ValueError):
                continue
        return out

    def _mark_returned(self, rows: list[tuple[str, str]], reason: str) -> int:
        """``sent`` → ``returned``, once: a row already returned is left as it is."""
        count = 0
        with db.write(self.tracker.engine) as conn:
            for obligation_id, ref in rows:
                result = conn.execute(
                    update(_D)
                    .where(_D.c.obligation_id == obligation_id, _D.c.channel == "email", _D.c.recipient_ref == ref,
                           _D.c.status == SENT)
                    .values(status=RETURNED, failure_kind=FailureKind.BOUNCED.value, reason=reason,
                            updated_at=_now())
                )
                count += max(result.rowcount, 0)
        return count

    def _move(self, path: Path, *, quarantine: bool) -> None:
        """Into ``cur/`` with the Seen flag, or into the quarantine folder's ``new/`` for a person."""
        if quarantine:
            folder = self.path / QUARANTINE
            for sub in ("new", "cur", "tmp"):
                (folder / sub).mkdir(parents=True, exist_ok=True)
            target = folder / "new" / path.name
        else:
            target = self.path / "cur" / f"{path.name.split(':', 1)[0]}:2,S"
        try:
            os.replace(path, target)
        except FileNotFoundError:
            pass  # moved by another worker meanwhile



def returned_count(tracker: DeliveryTracker, delivery_key: str, refs: list[str]) -> int:
    """E-mails of ``delivery_key`` (among ``refs`` when given) recorded returned."""
    where = [_D.c.obligation_id == delivery_key, _D.c.channel == "email", _D.c.status == RETURNED]
    with db.read(tracker.engine) as conn:
        if not refs:
            return int(conn.execute(select(func.count()).select_from(_D).where(*where)).scalar_one())
        total = 0
        for start in range(0, len(refs), 500):
            chunk = list(refs[start : start + 500])
            total += int(conn.execute(select(func.count()).select_from(_D).where(*where, _D.c.recipient_ref.in_(chunk))).scalar_one())
        return total


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


class BounceActivities:
    """``collect_bounces``: registered by the worker beside the notice activities."""

    def __init__(self, settings: Settings, tracker: DeliveryTracker) -> None:
        self.settings, self.tracker = settings, tracker
        self._lock = asyncio.Lock()

    def activities(self) -> list[object]:
        return [self.collect_bounces]

    @activity.defn(name="collect_bounces")
    async def collect_bounces(self, req: BounceIntakeInput) -> BounceIntakeResult:
        """Read the bounce mailbox's new reports (every delivery's), record each hard bounce once,
        then count the e-mails of ``req.delivery_key`` recorded returned — by this reading, an
        earlier one or a person. Without a configured mailbox, only the count."""
        refs = list(dict.fromkeys(req.recipient_refs))
        path = self.settings.bounce_maildir
        if path is None:
            returned = await asyncio.to_thread(returned_count, self.tracker, req.delivery_key, refs)
            return BounceIntakeResult(configured=False, returned=returned)
        mailbox = BounceMailbox(Path(path), self.tracker)
        async with self._lock:  # one reader per worker; other workers' readers are harmless (see module doc)
            read, hard = await asyncio.to_thread(mailbox.read_new)
        returned = await asyncio.to_thread(returned_count, self.tracker, req.delivery_key, refs)
        return BounceIntakeResult(configured=True, read=read, hard_bounces=hard, returned=returned)
