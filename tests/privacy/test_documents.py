"""Privacy-notice documents: content checked against 28 TAC § 22.10 before anything is sent,
rendered once per policy version and kind, delivered per § 22.13 through the real channels (an
SMTP server on loopback, print batches on disk) with only the envelope personal."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from activities.delivery import SmtpChannel
from activities.privacy_documents import NoticeLintError, PrivacyDocuments, choose_channel
from activities.privacy_store import PrivacyStore
from models.privacy import DeliveryChannel, NoticeKind
from models.privacy_lifecycle import ConsumerFlags, DeliveryStatus, NoticeDeliveryRequest
from noticeflow.settings import Settings
from tests.activities.conftest import SmtpServer
from tests.privacy.builders import consumer, policy_record, ref, relationship

CT = dt.timezone(dt.timedelta(hours=-6))
AS_OF = dt.datetime(2025, 3, 3, 9, 0, tzinfo=CT)


@pytest.fixture
def settings(tmp_path: Path, db_url: str, smtp_server: SmtpServer) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        home=tmp_path / "home",
        db_url=db_url,
        smtp_host=smtp_server.host,
        smtp_port=smtp_server.port,
        mail_from="privacy@brazos.example",
    )


@pytest.fixture
def docs(settings: Settings) -> Iterator[PrivacyDocuments]:
    store = PrivacyStore.open(settings)
    try:
        yield PrivacyDocuments(settings.documents_dir, settings.outbox_dir, store, lambda: SmtpChannel(settings))
    finally:
        store.close()


def flags(ref_: str, *, email: bool = True, postal: bool = True, electronic: bool = False, consent: bool | None = None) -> ConsumerFlags:
    return ConsumerFlags(
        consumer_ref=ref_, jurisdiction="TX", has_email=email, has_postal_address=postal,
        e_delivery_consent=electronic if consent is None else consent, transacts_electronically=electronic,
    )


def test_email_only_for_consumers_who_transact_electronically_and_agreed_else_mail_22_13() -> None:
    electronic = choose_channel([flags(ref("A"), electronic=True)])
    assert (electronic.channel, electronic.consumer_agreed_electronic) == (DeliveryChannel.EMAIL, True)
    agreed_but_offline = choose_channel([flags(ref("A"), electronic=False, consent=True)])
    assert agreed_but_offline.channel is DeliveryChannel.MAIL and "(b)(2)" in agreed_but_offline.citation
    # A joint relationship: e-mail only if every joint consumer transacts electronically and agreed.
    joint = choose_channel([flags(ref("A"), electronic=True), flags(ref("B"), electronic=False)])
    assert joint.channel is DeliveryChannel.MAIL
    nothing = choose_channel([flags(ref("A"), email=True, postal=False)])
    assert nothing.channel is None and "(e)" in nothing.citation


def test_a_notice_failing_22_10_b_is_refused_with_its_findings_and_nothing_is_sent(
    docs: PrivacyDocuments, smtp_server: SmtpServer, settings: Settings
) -> None:
    bad = policy_record("v1", confidentiality_security=None, opt_out={"explanation": "You may opt out."})
    docs.store.put_policy(bad)
    docs.store.upsert_consumers([consumer("C-1", electronic=True)])
    docs.store.register_relationships([relationship("REL-1", "C-1")])
    req = NoticeDeliveryRequest(relationship_id="REL-1", notice_id="initial-v1", kind=NoticeKind.INITIAL, policy_version="v1",
                                include_opt_out_notice=True, as_of=AS_OF)
    import asyncio

    with pytest.raises(NoticeLintError) as err:
        asyncio.run(docs.deliver([req], batch_id="b1"))
    items = {f.item for f in err.value.findings}
    assert {"§ 22.10(b)(8)", "§ 22.10(b)(6)"} <= items
    assert "28 TAC § 22.10" in str(err.value)
    assert smtp_server.recorder.received == []
    assert docs.store.deliveries_of("REL-1") == []
    assert not (settings.outbox_dir / "print").exists()


async def test_rendered_once_per_version_and_kind_mailed_and_emailed_with_only_the_envelope_personal(
    docs: PrivacyDocuments, smtp_server: SmtpServer, settings: Settings
) -> None:
    docs.store.put_policy(policy_record("v1"))
    docs.store.upsert_consumers([consumer("C-1", electronic=True), consumer("C-2", n=2), consumer("C-3", n=3)])
    docs.store.register_relationships([relationship("REL-1", "C-1"), relationship("REL-JOINT", "C-2", "C-3")])
    reqs = [
        NoticeDeliveryRequest(relationship_id=r, notice_id="initial-v1", kind=NoticeKind.INITIAL, policy_version="v1",
                              include_opt_out_notice=True, as_of=AS_OF)
        for r in ("REL-1", "REL-JOINT")
    ]
    results = await docs.deliver(reqs, batch_id="batch-1")
    email, joint = (r.delivery for r in results)
    assert (email.channel, email.status, email.consumer_agreed_electronic) == (DeliveryChannel.EMAIL, DeliveryStatus.SENT, True)
    assert (joint.channel, joint.status) == (DeliveryChannel.MAIL, DeliveryStatus.SENT)
    assert results[0].documents == results[1].documents  # one rendering for both
    # The e-mail's body is the specimen's text: nothing about the person but the envelope.
    (message,) = smtp_server.recorder.messages()
    assert message["To"] == "jordan.c-1@mail.example"
    body = message.get_body(("plain",)).get_content()
    assert "Jordan" not in body and "Your right to opt out".upper() in body
    specimen = (settings.documents_dir / results[0].documents[1].path).read_text()
    assert [l.rstrip() for l in body.strip().splitlines()] == [l.rstrip() for l in specimen.strip().splitlines()]
    # One letter for the joint relationship, addressed to both, to one address (§ 22.13(h)).
    batch = settings.outbox_dir / "print" / "privacy-batch-1"
    letters = sorted((batch / "letters").iterdir())
    assert len(letters) == 1 and (batch / "READY").exists()
    letter = letters[0].read_text()
    assert "Jordan Alvarez C-2 and Jordan Alvarez C-3" in letter and "102 Congress Ave" in letter
    # Again: nothing is sent twice; the recorded deliveries come back.
    again = await docs.deliver(reqs, batch_id="batch-1")
    assert [r.delivery.status for r in again] == [DeliveryStatus.SENT, DeliveryStatus.SENT]
    assert len(smtp_server.recorder.received) == 1
