"""Delivery channels against real endpoints: an SMTP server on loopback, print batches, postings,
and the regulator outbox."""

from __future__ import annotations

import csv
import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from activities.delivery import (
    MANIFEST_COLUMNS,
    ChannelUnavailableError,
    Envelope,
    MediaChannel,
    OutboxPortal,
    OutcomeStatus,
    PrintBatchChannel,
    PrintBatchSealedError,
    RegulatorSubmission,
    SmtpChannel,
    WebsiteChannel,
    redact_addresses,
)
from models.notice import DocumentKind, DocumentRef, FailureKind, PostalAddress
from noticeflow.settings import Settings
from tests.activities.conftest import SmtpServer, _free_port


def _settings(tmp_path: Path, server: SmtpServer | None = None, port: int | None = None) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        home=tmp_path,
        smtp_host="127.0.0.1",
        smtp_port=server.port if server else (port or 1),
        mail_from="notices@cumberland.example",
    )


def _envelope(ref: str, email: str | None = None, address: PostalAddress | None = None, name: str = "Avery Moss") -> Envelope:
    return Envelope(
        recipient_ref=ref,
        name=name,
        subject="Notice of a data security incident — Cumberland Mutual",
        text=f"Dear {name},\n\nNotice text.\n",
        html=f"<p>Dear {name},</p><p>Notice text — {ref}.</p>",
        email=email,
        postal_address=address,
        message_id=f"<{ref}@cumberland.example>",
        specimen_sha256="a" * 64,
    )


async def test_email_reaches_the_smtp_server_as_text_and_html(tmp_path: Path, smtp_server: SmtpServer) -> None:
    channel = SmtpChannel(_settings(tmp_path, smtp_server))
    try:
        result = await channel.deliver("b1", [_envelope("r1", "avery@mail.example"), _envelope("r2", "blake@mail.example")])
    finally:
        await channel.aclose()
    assert [o.status for o in result.outcomes] == [OutcomeStatus.SENT, OutcomeStatus.SENT]
    assert smtp_server.recorder.recipients() == ["avery@mail.example", "blake@mail.example"]
    message = smtp_server.recorder.messages()[0]
    assert message["From"] == "notices@cumberland.example" and message["Message-ID"] == "<r1@cumberland.example>"
    assert message["Subject"] == "Notice of a data security incident — Cumberland Mutual"
    assert message.get_body(("plain",)).get_content().startswith("Dear Avery Moss,")
    assert "<p>Dear Avery Moss,</p>" in message.get_body(("html",)).get_content()


async def test_a_refused_recipient_is_a_bounce_with_the_reason_and_without_the_address(tmp_path: Path, smtp_server: SmtpServer) -> None:
    smtp_server.recorder.refuse.add("gone@mail.example")
    channel = SmtpChannel(_settings(tmp_path, smtp_server))
    try:
        result = await channel.deliver("b", [_envelope("r1", "gone@mail.example"), _envelope("r2", "ok@mail.example")])
    finally:
        await channel.aclose()
    bounced, sent = result.outcomes
    assert bounced.status is OutcomeStatus.FAILED and bounced.kind is FailureKind.BOUNCED
    assert bounced.reason is not None and bounced.reason.startswith("550 5.1.1 <recipient>: Recipient address rejected")
    assert "gone@mail.example" not in bounced.reason
    assert sent.status is OutcomeStatus.SENT, "the connection stays usable after a refusal"
    assert smtp_server.recorder.recipients() == ["ok@mail.example"]


async def test_a_temporary_refusal_is_deferred_not_failed(tmp_path: Path, smtp_server: SmtpServer) -> None:
    smtp_server.recorder.defer.add("busy@mail.example")
    channel = SmtpChannel(_settings(tmp_path, smtp_server))
    try:
        (outcome,) = (await channel.deliver("b", [_envelope("r1", "busy@mail.example")])).outcomes
    finally:
        await channel.aclose()
    assert outcome.status is OutcomeStatus.DEFERRED and outcome.reason and outcome.reason.startswith("451")


async def test_an_unreachable_relay_is_channel_unavailable(tmp_path: Path) -> None:
    channel = SmtpChannel(_settings(tmp_path, port=_free_port()), timeout=2)
    with pytest.raises(ChannelUnavailableError, match="SMTP relay 127.0.0.1:"):
        await channel.deliver("b", [_envelope("r1", "a@mail.example")])


def test_redact_addresses_removes_every_address() -> None:
    assert redact_addresses("550 <a.b@c.example>: no; also x@y.example") == "550 <recipient>: no; also <recipient>"


async def test_print_batch_manifest_rows_match_the_letters(tmp_path: Path) -> None:
    outbox = tmp_path / "outbox"
    channel = PrintBatchChannel(outbox)
    envs = [
        _envelope("hmac-sha256:" + f"{i:064x}", address=PostalAddress(line1=f"{i} Elm", line2="Apt 1" if i == 2 else None, city="Nashville", region="TN", postal_code="37201"), name=f"Person {i}")
        for i in range(1, 4)
    ]
    result = await channel.deliver("INC-1:consumer_notice:TN-r0-b00000", envs)
    batch = outbox / "print" / "INC-1_consumer_notice_TN-r0-b00000"
    assert result.location == "print/INC-1_consumer_notice_TN-r0-b00000/manifest.csv"
    with open(batch / "manifest.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert tuple(rows[0].keys()) == MANIFEST_COLUMNS
    assert len(rows) == 3 == len(list((batch / "letters").iterdir()))
    for row, env, outcome in zip(rows, envs, result.outcomes, strict=True):
        letter = (batch / row["letter_file"]).read_bytes()
        assert hashlib.sha256(letter).hexdigest() == row["document_sha256"] == outcome.document_sha256
        assert row["consumer_ref"] == env.recipient_ref and row["name"] == env.name
        assert env.name.encode() in letter
        assert row["address_line1"] == env.postal_address.line1 and row["postal_code"] == "37201"  # type: ignore[union-attr]
    assert rows[1]["address_line2"] == "Apt 1"
    assert json.loads((batch / "batch.json").read_text())["letters"] == 3


async def test_printing_a_batch_again_replaces_it_with_the_same_files(tmp_path: Path) -> None:
    outbox = tmp_path / "outbox"
    channel = PrintBatchChannel(outbox)
    env = _envelope("r1", address=PostalAddress(line1="1 Elm", city="Nashville", region="TN", postal_code="37201"))
    await channel.deliver("b", [env])
    first = (outbox / "print" / "b" / "manifest.csv").read_bytes()
    await channel.deliver("b", [env])
    assert (outbox / "print" / "b" / "manifest.csv").read_bytes() == first
    assert sorted(p.name for p in (outbox / "print").iterdir()) == ["b"], "no staging directories are left behind"


async def test_a_sealed_print_batch_never_changes(tmp_path: Path) -> None:
    outbox = tmp_path / "outbox"
    channel = PrintBatchChannel(outbox)
    address = PostalAddress(line1="1 Elm", city="Nashville", region="TN", postal_code="37201")
    await channel.deliver("b", [_envelope("r1", address=address)])
    assert await channel.seal("b")
    assert (outbox / "print" / "b" / "READY").read_text().startswith("manifest.csv sha256 ")
    await channel.deliver("b", [_envelope("r1", address=address)])  # the same letters: nothing to do
    with pytest.raises(PrintBatchSealedError, match="sealed for the mail vendor"):
        await channel.deliver("b", [_envelope("r2", address=address)])
    assert not await channel.seal("never-printed")


async def test_website_posting_and_index(tmp_path: Path) -> None:
    outbox = tmp_path / "outbox"
    channel = WebsiteChannel(outbox)
    await channel.deliver("INC-1:consumer_notice:TN", [_envelope("website:TN")])
    await channel.deliver("INC-1:consumer_notice:TN", [_envelope("website:TN")])
    await channel.deliver("INC-1:consumer_notice:KY", [_envelope("website:KY")])
    index = json.loads((outbox / "website" / "index.json").read_text())
    assert sorted(e["file"] for e in index) == ["INC-1_consumer_notice_KY.html", "INC-1_consumer_notice_TN.html"]
    assert 'href="INC-1_consumer_notice_TN.html"' in (outbox / "website" / "index.html").read_text()


async def test_media_notice_directory(tmp_path: Path) -> None:
    outbox = tmp_path / "outbox"
    result = await MediaChannel(outbox, ["The Tennessean", "WSMV"]).deliver("INC-1:consumer_notice:TN", [_envelope("media:TN")])
    folder = outbox / "media" / "INC-1_consumer_notice_TN"
    assert result.location == "media/INC-1_consumer_notice_TN/notice.html"
    assert json.loads((folder / "distribution.json").read_text())["outlets"] == ["The Tennessean", "WSMV"]
    assert (folder / "notice.txt").read_text().startswith("Dear")


async def test_outbox_portal_files_once_and_returns_the_same_receipt(tmp_path: Path) -> None:
    doc = tmp_path / "report.json"
    doc.write_bytes(b'{"report":1}')
    sha = hashlib.sha256(doc.read_bytes()).hexdigest()
    ref = DocumentRef(kind=DocumentKind.COMMISSIONER_REPORT, sha256=sha, path=f"{sha}.json", media_type="application/json", size=12, citation="Tenn. Code Ann. § 56-2-1006(b)(1)")
    sub = RegulatorSubmission("INC-1_commissioner_notice_TN-v1", "INC-1:commissioner_notice:TN", "TN", "Tennessee Commissioner", 1, (ref,), (doc,))
    portal = OutboxPortal(tmp_path / "outbox")
    first = await portal.submit(sub)
    again = await portal.submit(sub)
    assert first == again and first.document_sha256 == sha and first.submitted_at <= datetime.now(UTC)
    folder = tmp_path / "outbox" / "regulators" / "TN" / "INC-1_commissioner_notice_TN-v1"
    submission = json.loads((folder / "submission.json").read_text())
    assert submission["documents"][0]["sha256"] == sha
    assert (folder / submission["documents"][0]["file"]).read_bytes() == doc.read_bytes()


async def test_smtp_login_with_the_configured_credentials(tmp_path: Path) -> None:
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult, LoginPassword

    from tests.activities.conftest import SmtpRecorder

    def authenticate(server, session, envelope, mechanism, auth_data):  # noqa: ANN001, ANN202
        ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (b"notices", b"s3cret")
        return AuthResult(success=ok)

    recorder = SmtpRecorder()
    port = _free_port()
    controller = Controller(recorder, hostname="127.0.0.1", port=port, authenticator=authenticate, auth_require_tls=False)
    controller.start()
    try:
        good = _settings(tmp_path, port=port).model_copy(update={"smtp_username": "notices", "smtp_password": "s3cret"})
        channel = SmtpChannel(good)
        try:
            (outcome,) = (await channel.deliver("b", [_envelope("r1", "a@mail.example")])).outcomes
        finally:
            await channel.aclose()
        assert outcome.status is OutcomeStatus.SENT and recorder.recipients() == ["a@mail.example"]
        bad = good.model_copy(update={"smtp_password": "wrong"})
        with pytest.raises(ChannelUnavailableError, match="unavailable"):
            await SmtpChannel(bad, timeout=3).deliver("b", [_envelope("r2", "b@mail.example")])
        assert recorder.recipients() == ["a@mail.example"]
    finally:
        controller.stop()
