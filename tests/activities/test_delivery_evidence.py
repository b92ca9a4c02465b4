"""Sent is not received: each channel's evidence of sending, kept per recipient, and the regulator's
acknowledgement read from the outbox — against a real SMTP server (aiosmtpd answering like
Postfix, "250 2.0.0 Ok: queued as <id>"), real print batches and a real database."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from temporalio.testing import ActivityEnvironment

from activities.delivery import (
    AcknowledgementUnreadableError,
    Envelope,
    OutboxPortal,
    OutcomeStatus,
    RegulatorSubmission,
    SmtpChannel,
    relay_queue_id,
    sent_evidence,
)
from activities.notices import NoticeActivities
from models.incident import IncidentIntake
from models.notice import (
    AcknowledgementQuery,
    ConsumerContact,
    ConsumerNoticeInput,
    DocumentKind,
    DocumentRef,
    NoticeContent,
)
from models.obligation import Obligation
from noticeflow.settings import Settings
from tests.activities.conftest import (
    AS_OF,
    NPI_KEY,
    SmtpServer,
    make_contact,
    obligation,
)

from tests.activities.conftest import RELAY_QUEUE_ID as QUEUE_ID


def _settings(home: Path, server: SmtpServer, db_url: str | None = None, **overrides: object) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        home=home, db_url=db_url or f"sqlite:///{home / 'ledger.db'}", smtp_host=server.host, smtp_port=server.port,
        mail_from="notices@cumberland.example", npi_digest_key=NPI_KEY, **overrides,  # type: ignore[arg-type]
    )


def _envelope(ref: str, email: str) -> Envelope:
    return Envelope(recipient_ref=ref, name="Avery Moss", subject="Notice", text="Notice text.\n", html="<p>Notice</p>",
                    email=email, message_id=f"<{ref}@cumberland.example>")


# -- e-mail: the relay's reply to DATA ----------------------------------------------------------------


async def test_the_relays_queue_id_is_the_evidence_an_e_mail_was_sent(tmp_path: Path, relay: SmtpServer) -> None:
    channel = SmtpChannel(_settings(tmp_path, relay))
    try:
        (outcome,) = (await channel.deliver("b", [_envelope("r1", "avery@mail.example")])).outcomes
    finally:
        await channel.aclose()
    assert outcome.status is OutcomeStatus.SENT
    assert outcome.relay_reply == f"250 2.0.0 Ok: queued as {QUEUE_ID}"
    evidence = sent_evidence(outcome, "email", message_id="<r1@cumberland.example>")
    assert evidence.queue_id == QUEUE_ID and evidence.relay == f"127.0.0.1:{relay.port}"
    assert evidence.sent_at is not None and abs(evidence.sent_at - datetime.now(UTC)) < timedelta(minutes=1)


async def test_without_a_queue_id_the_evidence_is_the_message_id_the_relay_and_its_reply(
    tmp_path: Path, smtp_server: SmtpServer
) -> None:
    channel = SmtpChannel(_settings(tmp_path, smtp_server))
    try:
        (outcome,) = (await channel.deliver("b", [_envelope("r1", "avery@mail.example")])).outcomes
    finally:
        await channel.aclose()
    evidence = sent_evidence(outcome, "email", message_id="<r1@cumberland.example>")
    assert evidence.queue_id is None
    assert (evidence.message_id, evidence.relay, evidence.relay_reply) == (
        "<r1@cumberland.example>", f"127.0.0.1:{smtp_server.port}", "250 Message accepted for delivery"
    )


@pytest.mark.parametrize(
    ("reply", "queue_id"),
    [
        ("250 2.0.0 Ok: queued as 4F2A1", "4F2A1"),
        ("250 OK id=1rXyZ9-0004Ab-3c", "1rXyZ9-0004Ab-3c"),
        ("250 2.0.0 Message accepted for delivery", None),
    ],
)
def test_queue_ids_of_common_relays(reply: str, queue_id: str | None) -> None:
    assert relay_queue_id(reply) == queue_id


async def test_consumer_e_mails_and_letters_keep_their_evidence_in_the_tracker(
    tmp_path: Path, db_url: str, relay: SmtpServer, intake: IncidentIntake, obligations: dict[str, Obligation],
    content: NoticeContent,
) -> None:
    settings = _settings(tmp_path / "home", relay, db_url)
    notices = NoticeActivities(settings)
    try:
        mo: list[ConsumerContact] = [make_contact(i, "MO") for i in range(3)] + [make_contact(3, "MO", postal=False, consent=True)]
        notices.rosters.store_roster("R-EVIDENCE", mo)
        ob = obligation(obligations, "consumer_notice", "MO")
        await ActivityEnvironment().run(
            notices.render_and_deliver_consumer_notice,
            ConsumerNoticeInput(obligation=ob, intake=intake, content=content, roster_id="R-EVIDENCE", as_of=AS_OF),
        )
        refs = [c.consumer_ref for c in mo]
        emailed = notices.tracker.sent_evidence(ob.obligation_id, "email", refs)
        printed = notices.tracker.sent_evidence(ob.obligation_id, "postal", refs)
    finally:
        notices.close()
    assert set(emailed) == {mo[3].consumer_ref}
    assert emailed[mo[3].consumer_ref].queue_id == QUEUE_ID
    assert set(printed) == {c.consumer_ref for c in mo[:3]}
    (manifest,) = (settings.outbox_dir / "print").glob("*/manifest.csv")
    digest = hashlib.sha256(manifest.read_bytes()).hexdigest()
    assert {e.manifest_sha256 for e in printed.values()} == {digest}, "the vendor's mailing manifest is the letters' evidence"
    assert (manifest.parent / "READY").read_text().strip().endswith(digest)


# -- the regulator's acknowledgement ----------------------------------------------------------------


def _submission(tmp_path: Path, submission_id: str = "INC-1_commissioner_notice_TN-v1") -> RegulatorSubmission:
    doc = tmp_path / "report.json"
    doc.write_bytes(b'{"report":1}')
    sha = hashlib.sha256(doc.read_bytes()).hexdigest()
    ref = DocumentRef(kind=DocumentKind.COMMISSIONER_REPORT, sha256=sha, path=f"{sha}.json", media_type="application/json",
                      size=12, citation="Tenn. Code Ann. § 56-2-1006(b)(1)")
    return RegulatorSubmission(submission_id, "INC-1:commissioner_notice:TN", "TN", "Tennessee Commissioner", 1, (ref,), (doc,))


async def test_the_outbox_reads_the_regulators_acknowledgement_beside_the_filing(tmp_path: Path) -> None:
    portal = OutboxPortal(tmp_path / "outbox")
    sub = _submission(tmp_path)
    await portal.submit(sub)
    assert await portal.acknowledgement("TN", sub.submission_id) is None, "filed is not acknowledged"
    path = tmp_path / "outbox" / "regulators" / "TN" / f"{sub.submission_id}.ack.json"
    assert portal.ack_path("TN", sub.submission_id) == path
    path.write_text(json.dumps({"reference": "TN-DOI-0042", "received_at": "2026-12-02T10:15:00-06:00"}))
    ack = await portal.acknowledgement("TN", sub.submission_id)
    assert ack is not None and ack.reference == "TN-DOI-0042" and ack.recorded_by == "portal:outbox"
    assert not ack.simulated and ack.received_at == datetime(2026, 12, 2, 16, 15, tzinfo=UTC)


async def test_an_unreadable_acknowledgement_says_which_field_and_why(tmp_path: Path) -> None:
    portal = OutboxPortal(tmp_path / "outbox")
    sub = _submission(tmp_path)
    await portal.submit(sub)
    portal.ack_path("TN", sub.submission_id).write_text(json.dumps({"reference": "TN 0042", "received_at": "2026-12-02"}))
    with pytest.raises(AcknowledgementUnreadableError) as err:
        await portal.acknowledgement("TN", sub.submission_id)
    assert "reference" in str(err.value) and "received_at" in str(err.value)


async def test_simulated_acknowledgements_only_with_the_setting_and_marked_simulated(tmp_path: Path) -> None:
    sub = _submission(tmp_path)
    real = OutboxPortal(tmp_path / "outbox")
    await real.submit(sub)
    assert await real.acknowledgement("TN", sub.submission_id) is None
    assert await OutboxPortal(tmp_path / "outbox", simulate_acks=True).acknowledgement("TN", "never-filed-v1") is None
    ack = await OutboxPortal(tmp_path / "outbox", simulate_acks=True).acknowledgement("TN", sub.submission_id)
    assert ack is not None and ack.simulated and ack.reference.startswith("SIM-")
    assert "simulated" in str(ack.confirmation_evidence()["simulated"])
    assert await real.acknowledgement("TN", sub.submission_id) == ack, "written once, read back as it was"


async def test_the_first_acknowledgement_of_a_filing_is_kept(tmp_path: Path, smtp_server: SmtpServer) -> None:
    notices = NoticeActivities(_settings(tmp_path / "home", smtp_server))
    try:
        sub = _submission(tmp_path, "INC-2_commissioner_notice_TN-v1")
        receipt = await notices.portal.submit(sub)
        notices.tracker.save_receipt(sub.obligation_id, receipt)
        query = AcknowledgementQuery(jurisdiction="TN", submission_ids=[sub.submission_id, "INC-2_commissioner_notice_TN-v2"])
        env = ActivityEnvironment()
        assert (await env.run(notices.check_regulator_acknowledgements, query)).acknowledgements == {}
        path = notices.portal.ack_path("TN", sub.submission_id)  # type: ignore[attr-defined]
        path.write_text(json.dumps({"reference": "TN-FIRST", "received_at": "2026-12-02T10:15:00-06:00"}))
        first = await env.run(notices.check_regulator_acknowledgements, query)
        path.write_text(json.dumps({"reference": "TN-SECOND", "received_at": "2026-12-03T10:15:00-06:00"}))
        again = await env.run(notices.check_regulator_acknowledgements, query)
    finally:
        notices.close()
    assert list(first.acknowledgements) == [sub.submission_id]
    assert first.acknowledgements[sub.submission_id].reference == "TN-FIRST" == again.acknowledgements[sub.submission_id].reference


async def test_an_acknowledgement_whose_reference_looks_like_npi_is_never_taken(tmp_path: Path, smtp_server: SmtpServer) -> None:
    notices = NoticeActivities(_settings(tmp_path / "home", smtp_server))
    try:
        sub = _submission(tmp_path, "INC-3_commissioner_notice_TN-v1")
        notices.tracker.save_receipt(sub.obligation_id, await notices.portal.submit(sub))
        notices.portal.ack_path("TN", sub.submission_id).write_text(  # type: ignore[attr-defined]
            json.dumps({"reference": "078-05-1120", "received_at": "2026-12-02T10:15:00-06:00"})
        )
        found = await ActivityEnvironment().run(
            notices.check_regulator_acknowledgements, AcknowledgementQuery(jurisdiction="TN", submission_ids=[sub.submission_id])
        )
    finally:
        notices.close()
    assert found.acknowledgements == {}
    assert "reference" in found.unreadable[sub.submission_id]
