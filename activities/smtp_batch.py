"""E-mail to many recipients of one notice over one SMTP connection, pipelined where the relay
offers it (RFC 2920).

:class:`SmtpBatchChannel` is :class:`~activities.delivery.SmtpChannel` (same settings, same
connection set-up, same outcomes per recipient: ``sent`` with the relay's reply, ``failed`` when
refused, ``deferred`` on a 4xx, ``in_doubt`` when the connection broke mid-message) with two
differences that matter at fan-out scale:

* The message is built once per notice (:class:`MailTemplate`): the MIME body — the same rendered
  notice for everyone — is flattened and dot-stuffed once; each recipient only adds ``To``,
  ``Date`` and ``Message-ID``. An address that is not plain ASCII goes the ``SmtpChannel`` way.
* Where the relay's EHLO lists ``PIPELINING`` (RFC 2920), ``MAIL FROM``, ``RCPT TO`` and ``DATA``
  go in one write, and with a message's content goes the next message's command group: one round
  trip per message instead of four. Without it, each command waits for its reply as ``smtplib``
  does.

The connection opens on the first message and stays open for the batch (``aclose`` ends it with
``QUIT``); after a broken connection the next message opens a new one.

While the relay works on a command group or a message, the sending thread may do other work of
the same batch (``idle``, e.g. the batch's letters): it is handed a ``replied()`` test and works
in short steps until the relay's reply is there. It runs on the same thread, so the replies never
wait for the interpreter lock behind a second thread, and the relay (another process, another
core) works meanwhile.
"""

from __future__ import annotations

import asyncio
import io
import re
import select
import smtplib
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.generator import BytesGenerator
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import formatdate

from activities.delivery import (
    ChannelUnavailableError,
    Envelope,
    Outcome,
    OutcomeStatus,
    SmtpChannel,
    redact_addresses,
)
from models.notice import FailureKind

#: Addresses the prepared path takes: printable ASCII, no spaces, brackets or line breaks.
_PLAIN_ADDRESS = re.compile(r"[!#-;=?A-~]+@[!#-;=?A-~]+")
_PERIODS = re.compile(rb"(?m)^\.")
#: Other work done while the relay answers: called with a test that turns true once it has.
Idle = Callable[[Callable[[], bool]], object]


class BatchInterruptedError(ChannelUnavailableError):
    """The relay became unavailable part-way: ``outcomes`` holds the messages handled before, in
    order; the message that met the failure and the rest were not handed over."""

    def __init__(self, message: str, outcomes: list[Outcome]) -> None:
        super().__init__(message)
        self.outcomes = outcomes


@dataclass(frozen=True)
class MailTemplate:
    """One notice as e-mail, flattened once: the shared headers and MIME body, dot-stuffed with
    CRLF line ends. :meth:`message` adds one recipient's ``To``, ``Date`` and ``Message-ID``."""

    content: bytes
    eight_bit: bool

    @classmethod
    def build(cls, mail_from: str, subject: str, text: str, html: str) -> MailTemplate:
        msg = EmailMessage()
        msg["From"] = mail_from
        msg["Subject"] = subject
        msg.set_content(text)
        msg.add_alternative(html, subtype="html")
        out = io.BytesIO()
        BytesGenerator(out, policy=SMTP_POLICY).flatten(msg)
        data = out.getvalue()
        return cls(content=_PERIODS.sub(b"..", data), eight_bit=any(b > 0x7F for b in data))

    def message(self, to: str, message_id: str | None, date: str) -> bytes:
        head = f"To: {to}\r\nDate: {date}\r\n" + (f"Message-ID: {message_id}\r\n" if message_id else "")
        data = head.encode("ascii") + self.content
        if not data.endswith(b"\r\n"):
            data += b"\r\n"
        return data + b".\r\n"


def _readable(sock: socket.socket) -> Callable[[], bool]:
    """A test, without waiting, of whether the relay's reply has arrived (poll: any descriptor number)."""
    if hasattr(select, "poll"):
        poller = select.poll()
        poller.register(sock, select.POLLIN)
        return lambda: bool(poller.poll(0))
    return lambda: bool(select.select([sock], [], [], 0)[0])


def prepared(env: Envelope) -> bool:
    """Whether the envelope can go the prepared way (a plain ASCII address, message id)."""
    return bool(env.email and _PLAIN_ADDRESS.fullmatch(env.email) and (env.message_id is None or env.message_id.isascii()))


class SmtpBatchChannel(SmtpChannel):
    """:class:`SmtpChannel` for many recipients of one notice (see the module docstring)."""

    def __init__(self, settings, timeout: float = 30.0) -> None:  # type: ignore[no-untyped-def]
        super().__init__(settings, timeout)
        self.connections = 0
        self.pipelined = 0
        self._idle: Idle | None = None
        self._sender = smtplib.quoteaddr(settings.mail_from)

    def _wait(self) -> None:
        """The relay has a command group or a message to answer: other work meanwhile, until the
        reply is there."""
        if self._idle is not None and self._smtp is not None and self._smtp.sock is not None:
            self._idle(_readable(self._smtp.sock))

    def _connect(self) -> smtplib.SMTP:  # type: ignore[override]
        smtp = super()._connect()
        self.connections += 1
        return smtp

    def _reset(self, smtp: smtplib.SMTP) -> None:
        """End a refused transaction so the next message starts clean."""
        try:
            code, _ = smtp.rset()
        except (smtplib.SMTPException, OSError):
            code = 0
        if code != 250:
            self._drop()

    def _commands(self, smtp: smtplib.SMTP, env: Envelope, template: MailTemplate) -> tuple[bytes, bytes, bytes, bytes]:
        """``MAIL FROM``, ``RCPT TO``, ``DATA`` and the content of one prepared message."""
        assert env.email is not None
        data = template.message(env.email, env.message_id, formatdate(localtime=False))
        options = ""
        if smtp.has_extn("size"):
            options += f" SIZE={len(data)}"
        if template.eight_bit and smtp.has_extn("8bitmime"):
            options += " BODY=8BITMIME"
        mail = f"MAIL FROM:{self._sender}{options}\r\n".encode("ascii")
        rcpt = f"RCPT TO:<{env.email}>\r\n".encode("ascii")  # a plain address (prepared())
        return mail, rcpt, b"DATA\r\n", data

    def _accepted(self, env: Envelope, code: int, reply: bytes) -> Outcome:
        """The outcome of a message whose content the relay answered."""
        if code != 250:
            return self._refused(env, code, reply, FailureKind.REJECTED)
        text = f"{code} {reply.decode('utf-8', 'replace')}".strip()
        return Outcome(
            env.recipient_ref,
            OutcomeStatus.SENT,
            relay_reply=redact_addresses(text)[:300],
            sent_at=datetime.now(UTC),
            relay=f"{self._settings.smtp_host}:{self._settings.smtp_port}",
        )

    def _lost(self, env: Envelope, exc: BaseException) -> Outcome:
        # The message may have reached the server: never send it again on our own.
        self._drop()
        return Outcome(env.recipient_ref, OutcomeStatus.IN_DOUBT, FailureKind.IN_DOUBT, f"connection lost while sending: {type(exc).__name__}")

    def _send_prepared(self, env: Envelope, template: MailTemplate) -> Outcome:
        """One prepared message, each command waiting for its reply (a relay without PIPELINING)."""
        if self._smtp is None:
            self._smtp = self._connect()  # type: ignore[assignment]
        smtp = self._smtp
        assert smtp is not None
        mail_cmd, rcpt_cmd, data_cmd, data = self._commands(smtp, env, template)
        try:
            smtp.send(mail_cmd)
            mail = smtp.getreply()
            rcpt = ready = (0, b"")
            if mail[0] == 250:
                smtp.send(rcpt_cmd)
                rcpt = smtp.getreply()
                if rcpt[0] in (250, 251):
                    smtp.send(data_cmd)
                    ready = smtp.getreply()
            if mail[0] != 250:
                self._drop()
                raise ChannelUnavailableError(f"the SMTP relay refused the sender: {mail[0]}")
            if rcpt[0] not in (250, 251):
                self._reset(smtp)
                return self._refused(env, rcpt[0], rcpt[1], FailureKind.BOUNCED)
            if ready[0] != 354:
                self._reset(smtp)
                return self._refused(env, ready[0], ready[1], FailureKind.REJECTED)
            smtp.send(data)
            self._wait()
            code, reply = smtp.getreply()
        except (smtplib.SMTPServerDisconnected, OSError) as exc:
            return self._lost(env, exc)
        except smtplib.SMTPException as exc:
            self._drop()
            raise ChannelUnavailableError(f"the SMTP relay refused the session: {type(exc).__name__}") from None
        if code != 250:
            self._reset(smtp)
        return self._accepted(env, code, reply)

    def _send_chain(self, envelopes: Sequence[Envelope], start: int, template: MailTemplate, outcomes: list[Outcome]) -> int:
        """Prepared envelopes from ``start``, pipelined (RFC 2920) across messages: one write holds a
        message's content and the next message's ``MAIL FROM``, ``RCPT TO`` and ``DATA`` (after an
        ``RSET`` when a refusal left a transaction open), so each message costs one round trip.
        Appends one outcome per envelope handled, in order; returns the index of the first envelope
        not handled: the chain ends at the end, at an envelope that cannot be prepared, or when the
        connection broke before a message's content went (that message starts the next chain, on
        a new connection)."""
        smtp = self._smtp
        assert smtp is not None
        current: int | None = start
        mail_cmd, rcpt_cmd, data_cmd, data = self._commands(smtp, envelopes[start], template)
        try:
            smtp.send(mail_cmd + rcpt_cmd + data_cmd)
        except (smtplib.SMTPServerDisconnected, OSError) as exc:
            outcomes.append(self._lost(envelopes[start], exc))
            return start + 1
        prev: int | None = None  # whose content went in the last write: its reply comes first
        after = start  # the first envelope without an outcome
        reset = False  # an RSET went in the last write, after that content
        try:
            while True:
                self._wait()
                if prev is not None:
                    try:
                        code, reply = smtp.getreply()
                    except (smtplib.SMTPServerDisconnected, OSError) as exc:
                        outcomes.append(self._lost(envelopes[prev], exc))
                        return current if current is not None else prev + 1
                    outcomes.append(self._accepted(envelopes[prev], code, reply))
                    after, prev = prev + 1, None
                if reset:
                    code, _ = smtp.getreply()
                    reset = False
                    if code != 250:
                        self._drop()
                        return current if current is not None else after
                if current is None:
                    return after
                env = envelopes[current]
                try:
                    mail, rcpt, ready = smtp.getreply(), smtp.getreply(), smtp.getreply()
                except (smtplib.SMTPServerDisconnected, OSError) as exc:
                    outcomes.append(self._lost(env, exc))
                    return current + 1
                self.pipelined += 1
                if mail[0] != 250:
                    self._drop()
                    raise ChannelUnavailableError(f"the SMTP relay refused the sender: {mail[0]}")
                write = b""
                if rcpt[0] not in (250, 251):
                    outcomes.append(self._refused(env, rcpt[0], rcpt[1], FailureKind.BOUNCED))
                    reset, after = True, current + 1
                elif ready[0] != 354:
                    outcomes.append(self._refused(env, ready[0], ready[1], FailureKind.REJECTED))
                    reset, after = True, current + 1
                else:
                    write, prev = data, current
                if reset:
                    write += b"RSET\r\n"
                nxt = current + 1
                if nxt < len(envelopes) and envelopes[nxt].email and prepared(envelopes[nxt]):
                    mail_cmd, rcpt_cmd, data_cmd, data = self._commands(smtp, envelopes[nxt], template)
                    write += mail_cmd + rcpt_cmd + data_cmd
                    current = nxt
                else:
                    current = None
                try:
                    smtp.send(write)
                except (smtplib.SMTPServerDisconnected, OSError) as exc:
                    if prev is not None:
                        outcomes.append(self._lost(envelopes[prev], exc))
                        return prev + 1
                    self._drop()
                    return after
        except (smtplib.SMTPServerDisconnected, OSError):
            self._drop()  # an RSET unanswered: nothing of a message was pending
            return current if current is not None else after
        except smtplib.SMTPException as exc:
            self._drop()
            raise ChannelUnavailableError(f"the SMTP relay refused the session: {type(exc).__name__}") from None

    def send_many(
        self, envelopes: Sequence[Envelope], template: MailTemplate | None = None, idle: Idle | None = None
    ) -> list[Outcome]:
        """Send each envelope, in order, over the batch's connection; blocking (run it on a worker
        thread). ``template``: the notice every envelope carries (its ``text`` and ``html``).
        ``idle(replied)``: called, on this thread, while a reply is awaited; it should return soon
        after ``replied()`` turns true, and must not raise.
        Raises :class:`BatchInterruptedError` with the outcomes so far when the relay becomes
        unavailable: nothing of that message or the rest was handed over."""
        self._idle = idle
        try:
            return self._send_all(envelopes, template)
        finally:
            self._idle = None

    def _send_all(self, envelopes: Sequence[Envelope], template: MailTemplate | None) -> list[Outcome]:
        outcomes: list[Outcome] = []
        i = 0
        while i < len(envelopes):
            env = envelopes[i]
            try:
                if not env.email:
                    outcomes.append(Outcome(env.recipient_ref, OutcomeStatus.FAILED, FailureKind.NO_CONTACT, "no e-mail address"))
                    i += 1
                elif template is not None and prepared(env):
                    if self._smtp is None:
                        self._smtp = self._connect()  # type: ignore[assignment]
                    assert self._smtp is not None
                    if self._smtp.has_extn("pipelining"):
                        i = self._send_chain(envelopes, i, template, outcomes)
                    else:
                        outcomes.append(self._send_prepared(env, template))
                        i += 1
                else:
                    outcomes.append(self._send_one(env))
                    i += 1
            except ChannelUnavailableError as exc:
                raise BatchInterruptedError(str(exc), outcomes) from None
        return outcomes

    async def deliver_many(
        self, envelopes: Sequence[Envelope], template: MailTemplate | None = None, idle: Idle | None = None
    ) -> list[Outcome]:
        return await asyncio.to_thread(self.send_many, envelopes, template, idle)


__all__ = ["BatchInterruptedError", "Idle", "MailTemplate", "SmtpBatchChannel", "prepared"]
