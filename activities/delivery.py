"""Delivery channels: e-mail over SMTP, postal print batches, website postings, media notices,
and the regulator portal.

Every channel takes a batch of :class:`Envelope` s and returns one :class:`Outcome` per envelope.
Two kinds of channel differ in what a retry may do, and the caller (``activities/notices.py``)
relies on it:

* ``replaces_batches = True`` — files handed to a vendor or a web server (print batch, posting,
  media notice). Delivering the same batch id again *replaces* the earlier files with identical
  ones, so a batch interrupted halfway is simply delivered again.
* ``replaces_batches = False`` — SMTP. A message handed to the server cannot be taken back, so
  the caller claims each recipient before sending and never sends a claimed recipient again.

The regulator portal is the true external boundary and is pluggable (:class:`RegulatorPortal`);
the default files each submission into an outbox for the compliance team to upload, and reads the
regulator's acknowledgement from ``<submission id>.ack.json`` beside it.

**Sent is not received.** Every channel returns its evidence of sending — the relay's reply to
DATA with its queue id, the print vendor's mailing manifest digest, the portal's receipt — which
the tracker keeps per recipient (:func:`sent_evidence`). Confirmation comes later and elsewhere:
a regulator's acknowledgement, or no hard bounce within the bounce window.
"""

from __future__ import annotations

import asyncio
import csv
import fcntl
import hashlib
import io
import json
import re
import shutil
import smtplib
import ssl
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import formatdate
from enum import StrEnum
from pathlib import Path
from typing import ClassVar, Protocol, runtime_checkable

import structlog
from pydantic import ValidationError

from activities.files import replace_directory, safe_name, write_atomically
from models.notice import (
    DeliveryChannelName,
    DocumentRef,
    FailureKind,
    PostalAddress,
    RegulatorAcknowledgement,
    RegulatorReceipt,
    SentEvidence,
)
from config.settings import Settings

log = structlog.get_logger("noticeflow.delivery")

_ADDRESS_IN_TEXT = re.compile(r"<?[^\s<>@]+@[^\s<>@]+>?")
#: Postfix "queued as 4F2A1", Exim "id=1rX…", Sendmail "… Message accepted for delivery" (none).
_QUEUE_ID = re.compile(r"\bqueued as ([A-Za-z0-9._-]+)|\bid=([A-Za-z0-9._-]+)", re.IGNORECASE)

MANIFEST_COLUMNS = (
    "sequence",
    "letter_file",
    "consumer_ref",
    "name",
    "address_line1",
    "address_line2",
    "city",
    "region",
    "postal_code",
    "country",
    "document_sha256",
    "specimen_sha256",
)


def redact_addresses(text: str) -> str:
    """Servers quote the refused address in their reply; failures are recorded without it."""
    return _ADDRESS_IN_TEXT.sub("<recipient>", text)


def relay_queue_id(reply: str | None) -> str | None:
    """The relay's queue id in its reply to DATA, when it names one."""
    match = _QUEUE_ID.search(reply or "")
    return (match.group(1) or match.group(2)) if match else None


READY_FILE = "READY"


class PrintBatchSealedError(Exception):
    """A print batch already handed to the mail vendor would change: never expected."""


class ChannelUnavailableError(Exception):
    """The channel cannot deliver anything now (server down, credentials refused): nothing was sent."""


class OutcomeStatus(StrEnum):
    SENT = "sent"
    FAILED = "failed"  # permanent: the recipient or the message was refused
    DEFERRED = "deferred"  # temporary refusal: not sent, try again later
    IN_DOUBT = "in_doubt"  # the connection broke mid-message: it may or may not have been accepted


@dataclass(frozen=True)
class Envelope:
    recipient_ref: str
    name: str
    subject: str
    text: str
    html: str
    email: str | None = None
    postal_address: PostalAddress | None = None
    message_id: str | None = None
    specimen_sha256: str | None = None


@dataclass(frozen=True)
class Outcome:
    recipient_ref: str
    status: OutcomeStatus
    kind: FailureKind | None = None
    reason: str | None = None
    document_sha256: str | None = None
    #: The server's reply to a message it accepted, e.g. "250 2.0.0 Ok: queued as 4F1A2B3C".
    relay_reply: str | None = None
    #: When the relay accepted it / the batch was written (the channel's clock).
    sent_at: datetime | None = None
    #: host:port of the relay that accepted it.
    relay: str | None = None


def sent_evidence(outcome: Outcome, channel: DeliveryChannelName, *, message_id: str | None = None,
                  manifest_sha256: str | None = None) -> SentEvidence:
    """One sent recipient's evidence: the queue id, or the Message-ID, relay and reply when the
    relay named no queue id; a letter's mailing-manifest digest."""
    return SentEvidence(
        recipient_ref=outcome.recipient_ref,
        channel=channel,
        sent_at=outcome.sent_at or datetime.now(UTC),
        queue_id=relay_queue_id(outcome.relay_reply),
        message_id=message_id,
        relay=outcome.relay,
        relay_reply=outcome.relay_reply,
        manifest_sha256=manifest_sha256,
    )


@dataclass
class BatchOutcome:
    outcomes: list[Outcome]
    location: str | None = None  # relative to the outbox: print batch dir, posting, media notice
    #: Print batches: the SHA-256 of the mailing manifest handed to the vendor (the letters' sent evidence).
    manifest_sha256: str | None = None


@runtime_checkable
class DeliveryChannel(Protocol):
    name: DeliveryChannelName
    replaces_batches: bool

    async def deliver(self, batch_id: str, envelopes: Sequence[Envelope]) -> BatchOutcome: ...

    async def aclose(self) -> None: ...


# =============================================================================================
# E-mail over SMTP
# =============================================================================================


class _RelaySession(smtplib.SMTP):
    """An SMTP session that keeps the relay's reply to each message (``sendmail`` drops it): the
    relay's queue id is the evidence that it took the message."""

    last_reply: str | None = None

    def data(self, msg: str | bytes) -> tuple[int, bytes]:
        code, reply = super().data(msg)
        self.last_reply = f"{code} {reply.decode('utf-8', 'replace')}".strip()
        return code, reply


class SmtpChannel:
    """One SMTP connection, opened on first use and reused; smtplib runs on a worker thread."""

    name: ClassVar[DeliveryChannelName] = "email"
    replaces_batches: ClassVar[bool] = False

    def __init__(self, settings: Settings, timeout: float = 30.0) -> None:
        self._settings = settings
        self._timeout = timeout
        self._smtp: _RelaySession | None = None

    def _connect(self) -> _RelaySession:
        s = self._settings
        try:
            smtp = _RelaySession(s.smtp_host, s.smtp_port, timeout=self._timeout)
            smtp.ehlo()
            if s.smtp_starttls:
                smtp.starttls(context=ssl.create_default_context())
                smtp.ehlo()
            if s.smtp_username:
                smtp.login(s.smtp_username, s.smtp_password or "")
        except (OSError, smtplib.SMTPException) as exc:
            raise ChannelUnavailableError(
                f"SMTP relay {s.smtp_host}:{s.smtp_port} unavailable: {type(exc).__name__}: {redact_addresses(str(exc))}"
            ) from None
        return smtp

    def _message(self, env: Envelope) -> EmailMessage:
        msg = EmailMessage()
        msg["From"] = self._settings.mail_from
        msg["To"] = env.email
        msg["Subject"] = env.subject
        msg["Date"] = formatdate(localtime=False)
        if env.message_id:
            msg["Message-ID"] = env.message_id
        msg.set_content(env.text)
        msg.add_alternative(env.html, subtype="html")
        return msg

    def _send_one(self, env: Envelope) -> Outcome:
        if self._smtp is None:
            self._smtp = self._connect()
        smtp = self._smtp
        smtp.last_reply = None
        try:
            smtp.send_message(self._message(env))
        except smtplib.SMTPRecipientsRefused as exc:
            code, reply = next(iter(exc.recipients.values()), (550, b""))
            return self._refused(env, code, reply, FailureKind.BOUNCED)
        except smtplib.SMTPSenderRefused as exc:
            self._drop()
            raise ChannelUnavailableError(f"the SMTP relay refused the sender: {exc.smtp_code}") from None
        except smtplib.SMTPDataError as exc:
            return self._refused(env, exc.smtp_code, exc.smtp_error, FailureKind.REJECTED)
        except (smtplib.SMTPServerDisconnected, OSError) as exc:
            # The message may have reached the server: never send it again on our own.
            self._drop()
            return Outcome(env.recipient_ref, OutcomeStatus.IN_DOUBT, FailureKind.IN_DOUBT, f"connection lost while sending: {type(exc).__name__}")
        except smtplib.SMTPException as exc:
            # HELO/EHLO refused, an extension missing: raised before the message was handed over.
            self._drop()
            raise ChannelUnavailableError(f"the SMTP relay refused the session: {type(exc).__name__}") from None
        reply = smtp.last_reply
        return Outcome(
            env.recipient_ref,
            OutcomeStatus.SENT,
            relay_reply=redact_addresses(reply)[:300] if reply else None,
            sent_at=datetime.now(UTC),
            relay=f"{self._settings.smtp_host}:{self._settings.smtp_port}",
        )

    def _refused(self, env: Envelope, code: int, reply: bytes | str, kind: FailureKind) -> Outcome:
        text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
        reason = redact_addresses(f"{code} {text}".strip())
        if 400 <= code < 500:
            return Outcome(env.recipient_ref, OutcomeStatus.DEFERRED, None, reason)
        return Outcome(env.recipient_ref, OutcomeStatus.FAILED, kind, reason)

    def _drop(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is not None:
            try:
                smtp.close()
            except OSError:
                pass

    async def deliver(self, batch_id: str, envelopes: Sequence[Envelope]) -> BatchOutcome:
        outcomes = []
        for env in envelopes:
            if not env.email:
                outcomes.append(Outcome(env.recipient_ref, OutcomeStatus.FAILED, FailureKind.NO_CONTACT, "no e-mail address"))
                continue
            outcomes.append(await asyncio.to_thread(self._send_one, env))
        return BatchOutcome(outcomes)

    async def aclose(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is not None:
            try:
                await asyncio.to_thread(smtp.quit)
            except (OSError, smtplib.SMTPException):
                smtp.close()


# =============================================================================================
# Postal mail: print batches for a mail vendor
# =============================================================================================


@dataclass(frozen=True)
class PrintLetter:
    sequence: int
    file: str
    sha256: str


class PrintBatchChannel:
    """``outbox/print/<batch id>/``: one print-ready HTML file per letter under ``letters/``,
    ``manifest.csv`` (one row per letter), ``batch.json`` and, once every letter of the batch is
    recorded, ``READY``. The directory appears whole or not at all; delivering a batch id again
    before it is sealed replaces it with the same files."""

    name: ClassVar[DeliveryChannelName] = "postal"
    replaces_batches: ClassVar[bool] = True

    def __init__(self, outbox_dir: Path) -> None:
        self.root = outbox_dir / "print"
        self.outbox_dir = outbox_dir

    def _write(self, batch_id: str, envelopes: Sequence[Envelope]) -> BatchOutcome:
        final = self.root / safe_name(batch_id)
        self.root.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=self.root, prefix=f".{final.name}."))
        try:
            (staging / "letters").mkdir()
            manifest = io.StringIO()
            writer = csv.writer(manifest, lineterminator="\n")
            writer.writerow(MANIFEST_COLUMNS)
            outcomes: list[Outcome] = []
            for seq, env in enumerate(envelopes, start=1):
                address = env.postal_address
                if address is None:
                    outcomes.append(Outcome(env.recipient_ref, OutcomeStatus.FAILED, FailureKind.NO_CONTACT, "no postal address"))
                    continue
                data = env.html.encode("utf-8")
                digest = hashlib.sha256(data).hexdigest()
                letter = f"letters/{seq:06d}.html"
                (staging / letter).write_bytes(data)
                writer.writerow(
                    (
                        seq,
                        letter,
                        env.recipient_ref,
                        env.name,
                        address.line1,
                        address.line2 or "",
                        address.city,
                        address.region,
                        address.postal_code,
                        address.country,
                        digest,
                        env.specimen_sha256 or "",
                    )
                )
                outcomes.append(Outcome(env.recipient_ref, OutcomeStatus.SENT, document_sha256=digest, sent_at=datetime.now(UTC)))
            manifest_bytes = manifest.getvalue().encode("utf-8")
            (staging / "manifest.csv").write_bytes(manifest_bytes)
            summary = {
                "batch_id": batch_id,
                "letters": sum(o.status is OutcomeStatus.SENT for o in outcomes),
                "manifest_sha256": hashlib.sha256(manifest_bytes).hexdigest(),
                "specimen_sha256": sorted({e.specimen_sha256 for e in envelopes if e.specimen_sha256}),
                "format": "print-ready HTML, US Letter, one file per letter; address block for a window envelope",
            }
            (staging / "batch.json").write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n", encoding="utf-8")
            existing = final / "manifest.csv"
            if existing.exists() and existing.read_bytes() == manifest_bytes:
                shutil.rmtree(staging)  # the same batch is already in place
            elif (final / READY_FILE).exists():
                raise PrintBatchSealedError(
                    f"print batch {batch_id} is sealed for the mail vendor and cannot change; "
                    "its letters are recorded as sent"
                )
            else:
                replace_directory(staging, final)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return BatchOutcome(
            outcomes,
            location=str((final / "manifest.csv").relative_to(self.outbox_dir)),
            manifest_sha256=hashlib.sha256(manifest_bytes).hexdigest(),
        )

    async def deliver(self, batch_id: str, envelopes: Sequence[Envelope]) -> BatchOutcome:
        return await asyncio.to_thread(self._write, batch_id, envelopes)

    def _seal(self, batch_id: str) -> bool:
        final = self.root / safe_name(batch_id)
        manifest = final / "manifest.csv"
        if not manifest.exists():
            return False
        digest = hashlib.sha256(manifest.read_bytes()).hexdigest()
        write_atomically(final / READY_FILE, f"manifest.csv sha256 {digest}\n".encode("ascii"))
        return True

    async def seal(self, batch_id: str) -> bool:
        """Mark a batch whose letters are all recorded as ready for the mail vendor: from then on
        it never changes. The vendor takes only directories holding ``READY``."""
        return await asyncio.to_thread(self._seal, batch_id)

    async def aclose(self) -> None:
        return None


# =============================================================================================
# Website posting and media notice (substitute notice, § 56-2-1006(c)(3)(B), (C))
# =============================================================================================


class _Publication:
    folder: ClassVar[str]

    def __init__(self, outbox_dir: Path) -> None:
        self.outbox_dir = outbox_dir
        self.root = outbox_dir / self.folder

    def _index(self, entry: dict[str, str]) -> None:
        """Keep ``index.json`` (and ``index.html``) listing every publication, one entry per id."""
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / ".lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            index_path = self.root / "index.json"
            entries: list[dict[str, str]] = json.loads(index_path.read_text("utf-8")) if index_path.exists() else []
            entries = [e for e in entries if e["id"] != entry["id"]] + [entry]
            entries.sort(key=lambda e: (e["published"], e["id"]), reverse=True)
            write_atomically(index_path, (json.dumps(entries, indent=2, sort_keys=True) + "\n").encode("utf-8"))
            self._write_index_html(entries)

    def _write_index_html(self, entries: list[dict[str, str]]) -> None:
        return None


class WebsiteChannel(_Publication):
    """``outbox/website/<id>.html`` for the web team to publish conspicuously, and an index page."""

    name: ClassVar[DeliveryChannelName] = "website"
    replaces_batches: ClassVar[bool] = True
    folder = "website"

    def _publish(self, batch_id: str, env: Envelope) -> Outcome:
        file = f"{safe_name(batch_id)}.html"
        data = env.html.encode("utf-8")
        write_atomically(self.root / file, data)
        self._index({"id": batch_id, "file": file, "title": env.subject, "published": datetime.now(UTC).date().isoformat()})
        return Outcome(env.recipient_ref, OutcomeStatus.SENT, document_sha256=hashlib.sha256(data).hexdigest())

    def _write_index_html(self, entries: list[dict[str, str]]) -> None:
        from html import escape

        items = "\n".join(
            f'  <li><a href="{escape(e["file"])}">{escape(e["title"])}</a> — posted {escape(e["published"])}</li>'
            for e in entries
        )
        page = (
            '<!DOCTYPE html>\n<html lang="en">\n<head><meta charset="utf-8"><title>Notices</title></head>\n'
            f"<body>\n<h1>Notices of data security incidents</h1>\n<ul>\n{items}\n</ul>\n</body>\n</html>\n"
        )
        write_atomically(self.root / "index.html", page.encode("utf-8"))

    async def deliver(self, batch_id: str, envelopes: Sequence[Envelope]) -> BatchOutcome:
        outcomes = [await asyncio.to_thread(self._publish, batch_id, env) for env in envelopes]
        return BatchOutcome(outcomes, location=f"{self.folder}/{safe_name(batch_id)}.html")

    async def aclose(self) -> None:
        return None


class MediaChannel(_Publication):
    """``outbox/media/<id>/``: the notice as HTML and text, and ``distribution.json`` naming the
    outlets it goes to, for the communications team or a newswire."""

    name: ClassVar[DeliveryChannelName] = "media"
    replaces_batches: ClassVar[bool] = True
    folder = "media"

    def __init__(self, outbox_dir: Path, outlets: Sequence[str] = ()) -> None:
        super().__init__(outbox_dir)
        self.outlets = list(outlets)

    def _publish(self, batch_id: str, env: Envelope) -> Outcome:
        final = self.root / safe_name(batch_id)
        self.root.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=self.root, prefix=f".{final.name}."))
        data = env.html.encode("utf-8")
        try:
            (staging / "notice.html").write_bytes(data)
            (staging / "notice.txt").write_text(env.text, encoding="utf-8")
            distribution = {"id": batch_id, "headline": env.subject, "outlets": self.outlets}
            (staging / "distribution.json").write_text(json.dumps(distribution, indent=2, sort_keys=True) + "\n", encoding="utf-8")
            replace_directory(staging, final)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        self._index({"id": batch_id, "file": f"{final.name}/notice.html", "title": env.subject, "published": datetime.now(UTC).date().isoformat()})
        return Outcome(env.recipient_ref, OutcomeStatus.SENT, document_sha256=hashlib.sha256(data).hexdigest())

    async def deliver(self, batch_id: str, envelopes: Sequence[Envelope]) -> BatchOutcome:
        outcomes = [await asyncio.to_thread(self._publish, batch_id, env) for env in envelopes]
        return BatchOutcome(outcomes, location=f"{self.folder}/{safe_name(batch_id)}/notice.html")

    async def aclose(self) -> None:
        return None


# =============================================================================================
# Regulator portal
# =============================================================================================


@dataclass(frozen=True)
class RegulatorSubmission:
    submission_id: str  # stable for the same obligation and version: the idempotency key
    obligation_id: str
    jurisdiction: str
    recipient_name: str
    version: int
    documents: tuple[DocumentRef, ...]
    files: tuple[Path, ...]
    #: The office of ``jurisdiction`` filed with (``RegulatorOffice``): the commissioner, or the attorney general.
    office: str = "commissioner"


class PortalUnavailableError(Exception):
    """The portal cannot take the submission now; retrying later may succeed."""


class SubmissionRejectedError(Exception):
    """The portal refused the submission; retrying the same submission will not help."""


class AcknowledgementUnreadableError(Exception):
    """The regulator's acknowledgement is there but cannot be read (the message says why)."""


@runtime_checkable
class RegulatorPortal(Protocol):
    name: str

    async def submit(self, submission: RegulatorSubmission) -> RegulatorReceipt:
        """File ``submission``; the same ``submission_id`` twice must not file twice."""
        ...

    async def acknowledgement(
        self, jurisdiction: str, submission_id: str, office: str = "commissioner"
    ) -> RegulatorAcknowledgement | None:
        """The regulator's acknowledgement of a filing, with its reference number; None while it
        has not come. Raises :class:`AcknowledgementUnreadableError` for one that cannot be read."""
        ...


#: Reference prefix of the dev outbox's simulated acknowledgements.
SIMULATED_REFERENCE_PREFIX = "SIM-"


class OutboxPortal:
    """``outbox/regulators/<state>/<submission id>/``: the documents, ``submission.json`` and
    ``receipt.json``, for the compliance team to file in the commissioner's portal or by e-mail
    in the format the commissioner directs (§ 56-2-1006(b)(1)). A filing with another office of
    the state goes to that office's folder, ``outbox/regulators/<office>/<state>/<submission id>/``
    — the attorney general's (``attorney_general/TX/``) under a general breach law.

    The regulator's acknowledgement is read from ``<folder>/<submission id>.ack.json`` — put there
    by whoever receives it (``{"reference": …, "received_at": …}``, optionally ``recorded_by``
    and ``evidence_sha256``). With ``simulate_acks`` (``NOTICEFLOW_OUTBOX_SIMULATE_ACKS``, demo
    and dev only) the outbox writes a simulated one, reference ``SIM-…`` and marked simulated,
    the first time a filing's acknowledgement is asked for."""

    name = "outbox"

    def __init__(self, outbox_dir: Path, *, simulate_acks: bool = False) -> None:
        self.root = outbox_dir / "regulators"
        self.simulate_acks = simulate_acks

    def folder(self, jurisdiction: str, office: str = "commissioner") -> Path:
        """Where one office's filings go: the commissioner's ``<state>/`` (as before offices),
        any other office's ``<office>/<state>/``."""
        return self.root / jurisdiction if office == "commissioner" else self.root / safe_name(office) / jurisdiction

    def ack_path(self, jurisdiction: str, submission_id: str, office: str = "commissioner") -> Path:
        return self.folder(jurisdiction, office) / f"{safe_name(submission_id)}.ack.json"

    def _acknowledgement(self, jurisdiction: str, submission_id: str, office: str = "commissioner") -> RegulatorAcknowledgement | None:
        path = self.ack_path(jurisdiction, submission_id, office)
        if not path.exists():
            if not self.simulate_acks or not (self.folder(jurisdiction, office) / safe_name(submission_id) / "receipt.json").exists():
                return None
            simulated = RegulatorAcknowledgement(
                reference=SIMULATED_REFERENCE_PREFIX + hashlib.sha256(submission_id.encode()).hexdigest()[:10].upper(),
                received_at=datetime.now(UTC),
                recorded_by=f"portal:{self.name} (simulated)",
                simulated=True,
            )
            write_atomically(path, (simulated.model_dump_json(indent=2, exclude_none=True) + "\n").encode("utf-8"))
        try:
            raw = json.loads(path.read_text("utf-8"))
            if not isinstance(raw, dict):
                raise TypeError("not a JSON object")
            raw.setdefault("recorded_by", f"portal:{self.name}")
            return RegulatorAcknowledgement.model_validate(raw)
        except (ValueError, TypeError) as exc:  # a ValidationError is a ValueError
            detail = "; ".join(
                f"{'.'.join(str(x) for x in e['loc']) or 'file'}: {e['msg']}" for e in exc.errors()
            ) if isinstance(exc, ValidationError) else str(exc)
            raise AcknowledgementUnreadableError(f"{path.name}: {detail[:300]}") from None

    async def acknowledgement(
        self, jurisdiction: str, submission_id: str, office: str = "commissioner"
    ) -> RegulatorAcknowledgement | None:
        return await asyncio.to_thread(self._acknowledgement, jurisdiction, submission_id, office)

    def _submit(self, sub: RegulatorSubmission) -> RegulatorReceipt:
        final = self.folder(sub.jurisdiction, sub.office) / safe_name(sub.submission_id)
        receipt_path = final / "receipt.json"
        if receipt_path.exists():
            return RegulatorReceipt.model_validate_json(receipt_path.read_text("utf-8"))
        final.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=final.parent, prefix=f".{final.name}."))
        try:
            names = []
            for ref, path in zip(sub.documents, sub.files, strict=True):
                name = f"{ref.kind.value}-v{sub.version}-{ref.sha256[:12]}{Path(ref.path).suffix}"
                shutil.copyfile(path, staging / name)
                names.append({"file": name, "sha256": ref.sha256, "media_type": ref.media_type, "citation": ref.citation})
            submission = {
                "submission_id": sub.submission_id,
                "obligation_id": sub.obligation_id,
                "jurisdiction": sub.jurisdiction,
                "office": sub.office,
                "recipient": sub.recipient_name,
                "version": sub.version,
                "documents": names,
            }
            (staging / "submission.json").write_text(json.dumps(submission, indent=2, sort_keys=True) + "\n", encoding="utf-8")
            receipt = RegulatorReceipt(
                jurisdiction=sub.jurisdiction,
                office=sub.office,
                submission_id=sub.submission_id,
                submitted_at=datetime.now(UTC),
                document_sha256=sub.documents[0].sha256,
                documents=[d.sha256 for d in sub.documents],
                portal=self.name,
                reference=None,
            )
            (staging / "receipt.json").write_text(receipt.model_dump_json(indent=2) + "\n", encoding="utf-8")
            try:
                staging.rename(final)
            except OSError:
                if receipt_path.exists():  # another attempt filed it first
                    shutil.rmtree(staging, ignore_errors=True)
                    return RegulatorReceipt.model_validate_json(receipt_path.read_text("utf-8"))
                raise
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return receipt

    async def submit(self, submission: RegulatorSubmission) -> RegulatorReceipt:
        return await asyncio.to_thread(self._submit, submission)
