"""The revised-notice fan-out's channels per batch (28 TAC § 22.13): letters as one print stream
(§ 22.13(b)(2)), e-mails over one SMTP connection (§ 22.13(a), (c)(2)) — the batch activity on a
real privacy store (contacts sealed at rest) and a real aiosmtpd relay, without Temporal."""

from __future__ import annotations

import email
import email.policy
import hashlib
import json
import random
import socket
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email.generator import BytesGenerator
from io import BytesIO
from pathlib import Path
from types import SimpleNamespace

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.delivery import Envelope, SmtpChannel
from activities.print_stream import read_stream, reproduce_letter
from activities.privacy_documents import PrivacyDocuments, email_envelope
from activities.privacy_store import PrivacyStore
from activities.revised_notice import RevisedNoticeActivities
from activities.smtp_batch import MailTemplate
from models.privacy import NoticeKind
from models.privacy_lifecycle import DeliveryStatus
from models.revised_notice import DeliverBatchInput, DeliverBatchResult, revised_notice_id
from noticeflow.settings import Settings
from tests.activities.conftest import SmtpRecorder
from tests.privacy.builders import NPI_KEY, ref
from tests.revised.conftest import V2, Population, SmtpServer, relationship_id, relay_server

NOTICE = revised_notice_id("v2")
AS_OF = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)


def key(i: int) -> str:
    return f"{relationship_id(i)}/{NOTICE}"


def page(*, after: str | None = None, limit: int = 12, batch_no: int = 0) -> DeliverBatchInput:
    return DeliverBatchInput(old_version="v1", new_version="v2", notice_id=NOTICE, jurisdiction="TX",
                             include_former_customers=False, after=after, limit=limit, batch_no=batch_no, as_of=AS_OF)


@dataclass
class Fanout:
    settings: Settings
    store: PrivacyStore
    pop: Population

    def activities(self, relay: SmtpServer) -> RevisedNoticeActivities:
        return RevisedNoticeActivities(self.settings.model_copy(update={"smtp_host": relay.host, "smtp_port": relay.port}),
                                       store=self.store)

    @property
    def print_dir(self) -> Path:
        return self.settings.outbox_dir / "print"


@pytest.fixture
def fanout(tmp_path: Path) -> Iterator[Fanout]:
    settings = Settings(_env_file=None, home=tmp_path / "home", db_url=f"sqlite:///{tmp_path / 'fanout.db'}",  # type: ignore[call-arg]
                        mail_from="notices@brazos.example", npi_digest_key=NPI_KEY)
    store = PrivacyStore.open(settings)
    pop = Population(SimpleNamespace(resources=SimpleNamespace(revised=SimpleNamespace(store=store))))  # type: ignore[arg-type]
    try:
        yield Fanout(settings, store, pop)
    finally:
        store.close()


async def deliver(acts: RevisedNoticeActivities, req: DeliverBatchInput) -> DeliverBatchResult:
    return await ActivityEnvironment().run(acts.deliver_batch, req)


async def test_a_batchs_letters_are_one_print_stream_and_each_letter_is_reproduced_from_the_notice_and_its_envelope_22_13_b_2(
    fanout: Fanout,
) -> None:
    fanout.pop.register(12, email_every=4)  # 0, 4, 8 by e-mail; 9 letters
    with relay_server() as (server, _):
        acts = fanout.activities(server)
        res = await deliver(acts, page())
    assert (res.counts.mail, res.counts.email, res.counts.sent) == (9, 3, 12)

    batch = fanout.print_dir / "revised-v2-000000"
    assert sorted(p.name for p in batch.iterdir()) == ["READY", "batch.json", "manifest.csv", "notice.html"]  # no file per letter
    manifest = (batch / "manifest.csv").read_bytes()
    digest = hashlib.sha256(manifest).hexdigest()
    assert res.print_batch == "revised-v2-000000" and res.manifest_sha256 == digest
    assert json.loads((batch / "batch.json").read_text())["manifest_sha256"] == digest
    assert (batch / "READY").read_text() == f"manifest.csv sha256 {digest}\n"
    # The addresses are at least as protected as the letter files were: the batch directory is the
    # worker's alone (0700) and so is every file in it (0600).
    assert stat.S_IMODE(batch.stat().st_mode) == 0o700
    assert {stat.S_IMODE(p.stat().st_mode) for p in batch.iterdir()} == {0o600}

    rows = read_stream(batch)
    letters = [i for i in range(12) if i % 4]
    assert [r["delivery_key"] for r in rows] == [key(i) for i in letters]
    assert [r["letter_id"] for r in rows] == [f"revised-v2-000000-{n:06d}" for n in range(1, 10)]
    template = hashlib.sha256((batch / "notice.html").read_bytes()).hexdigest()
    package = acts.documents.prepare(acts.documents.policy("v2"), NoticeKind.REVISED, True)
    assert {(r["template_sha256"], r["specimen_sha256"]) for r in rows} == {(template, package.documents[0].sha256)}
    for row in random.Random(14).sample(rows, 3):
        letter = reproduce_letter(batch, row)
        assert hashlib.sha256(letter).hexdigest() == row["letter_sha256"]
        # …and it is, byte for byte, the letter the privacy documents render for that consumer
        # from the sealed contact (the letter file of before): the evidence means what it meant.
        i = int(row["delivery_key"].split("/")[0].removeprefix("REL-"))
        contact = fanout.store.consumer_contacts([ref(f"C{i}")])[ref(f"C{i}")]
        assert letter == PrivacyDocuments.letter(package, [contact], contact, AS_OF.date()).encode("utf-8")
        assert (row["name"], row["address_line1"], row["mailed_on"]) == (contact.name, f"{100 + i} Congress Ave", "2026-03-02")

    recorded = fanout.store.get_delivery(key(1))
    assert recorded is not None and (recorded.status, recorded.batch_id) == (DeliveryStatus.SENT, "revised-v2-000000")
    # What goes back to the workflow (and from there into the ledger) names nobody.
    payload = res.model_dump_json()
    assert "Jordan" not in payload and "Congress" not in payload and "@" not in payload


@pytest.mark.parametrize("pipelining", [True, False], ids=["relay offers PIPELINING", "relay does not"])
async def test_a_batchs_emails_go_over_one_smtp_connection_pipelined_where_the_relay_offers_it_22_13_a(
    fanout: Fanout, pipelining: bool
) -> None:
    fanout.pop.register(30, email_every=2)  # 15 e-mails in three batches of 10
    with relay_server(pipelining=pipelining) as (server, relay):
        acts = fanout.activities(server)
        after = None
        for no in range(3):
            res = await deliver(acts, page(after=after, limit=10, batch_no=no))
            assert res.counts.email == 5 and res.counts.mail == 5
            after = res.last_id
    assert relay.connections == 3, "one connection per batch, not one per message"
    assert sorted(relay.recipients()) == sorted(f"jordan.{i}@mail.example" for i in range(0, 30, 2))
    assert relay.pipelined == (15 if pipelining else 0)
    assert relay.chained == (12 if pipelining else 0), "a message's end carries the next message's commands"
    for msg in relay.messages():
        i = int(msg["To"].removeprefix("jordan.").split("@")[0])
        assert msg["Message-ID"] == email_envelope(key(i), acts.documents.prepare(acts.documents.policy("v2"), NoticeKind.REVISED, True),
                                                   fanout.store.consumer_contacts([ref(f"C{i}")])[ref(f"C{i}")]).message_id
        assert "opt out" in msg.get_body(("plain",)).get_content().lower()  # type: ignore[union-attr]
    assert acts.totals(NOTICE) == {"sent": 30}


async def test_refused_and_deferred_recipients_are_recorded_per_recipient_and_the_rest_go_on_the_same_connection(
    fanout: Fanout,
) -> None:
    fanout.pop.register(12, email_every=2)  # e-mails 0, 2, 4, 6, 8, 10
    with relay_server(refuse={"jordan.0@mail.example"}, defer={"jordan.4@mail.example"}) as (server, relay):
        res = await deliver(fanout.activities(server), page())
    assert relay.connections == 1
    assert sorted(relay.recipients()) == sorted(f"jordan.{i}@mail.example" for i in (2, 6, 8, 10))
    refused, deferred = fanout.store.get_delivery(key(0)), fanout.store.get_delivery(key(4))
    assert refused is not None and refused.status is DeliveryStatus.FAILED
    assert refused.failure == "550 5.1.1 <recipient>: Recipient address rejected: User unknown"
    assert deferred is not None and deferred.status is DeliveryStatus.FAILED
    assert deferred.failure == "451 4.2.1 <recipient>: Mailbox busy, try again later"
    assert all(fanout.store.get_delivery(key(i)).status is DeliveryStatus.SENT for i in (2, 6, 8, 10))  # type: ignore[union-attr]
    assert (res.counts.failed, res.counts.email, res.counts.mail, res.counts.sent) == (2, 4, 6, 10)


async def test_a_connection_lost_mid_message_leaves_that_email_in_doubt_and_the_rest_go_on_a_new_connection(fanout: Fanout) -> None:
    fanout.pop.register(12, email_every=2)
    with relay_server(drop={"jordan.4@mail.example"}) as (server, relay):
        res = await deliver(fanout.activities(server), page())
    lost = fanout.store.get_delivery(key(4))
    assert lost is not None and lost.status is DeliveryStatus.IN_DOUBT  # it may have arrived: never sent again
    assert all(fanout.store.get_delivery(key(i)).status is DeliveryStatus.SENT for i in (0, 2, 6, 8, 10))  # type: ignore[union-attr]
    assert relay.connections == 2 and res.counts.in_doubt == 1


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_an_unavailable_relay_fails_the_batch_and_the_retry_sends_each_notice_once(fanout: Fanout) -> None:
    fanout.pop.register(12, email_every=4)
    down = fanout.activities(SmtpServer("127.0.0.1", _closed_port(), SmtpRecorder()))
    with pytest.raises(ApplicationError) as failed:
        await deliver(down, page())
    assert failed.value.type == "ChannelUnavailable"
    assert fanout.store.get_delivery(key(0)) is None, "an e-mail that was not handed over is released for the retry"
    assert not (fanout.print_dir / "revised-v2-000000" / "READY").exists()

    with relay_server() as (server, relay):
        res = await deliver(fanout.activities(server), page())
        again = await deliver(fanout.activities(server), page())
    assert (res.counts.email, res.counts.mail, res.counts.sent) == (3, 9, 12)
    assert len(relay.received) == 3 and len(read_stream(fanout.print_dir / "revised-v2-000000")) == 9
    assert again.already_recorded == 12 and again.digest == res.digest and again.manifest_sha256 == res.manifest_sha256
    assert len(relay.received) == 3, "nothing is sent twice"


async def test_a_batch_recorded_but_not_sealed_is_sealed_by_the_retry(fanout: Fanout) -> None:
    fanout.pop.register(6, email_every=0)
    with relay_server() as (server, _):
        acts = fanout.activities(server)
        first = await deliver(acts, page(limit=6))
        ready = fanout.print_dir / "revised-v2-000000" / "READY"
        ready.unlink()  # the attempt died after recording its letters, before sealing the batch
        retry = await deliver(acts, page(limit=6))
    assert retry.already_recorded == 6 and retry.manifest_sha256 == first.manifest_sha256
    assert ready.read_text() == f"manifest.csv sha256 {first.manifest_sha256}\n"


def test_the_email_built_once_per_notice_is_the_message_smtpchannel_builds_for_each_recipient(fanout: Fanout) -> None:
    documents = PrivacyDocuments(fanout.settings.documents_dir, fanout.settings.outbox_dir, fanout.store, lambda: None)  # type: ignore[arg-type, return-value]
    fanout.store.put_policy(V2)
    package = documents.prepare(documents.policy("v2"), NoticeKind.REVISED, True)
    env = Envelope(recipient_ref=key(3), name="Jordan Alvarez 3", subject=package.subject, text=package.text, html=package.html,
                   email="jordan.3@mail.example", message_id="<abc123@privacy.noticeflow>")
    prepared = MailTemplate.build(fanout.settings.mail_from, package.subject, package.text, package.html).message(
        env.email or "", env.message_id, "Mon, 02 Mar 2026 15:00:00 -0000"
    )
    assert prepared.endswith(b"\r\n.\r\n")
    ours = email.message_from_bytes(prepared[: -len(b".\r\n")].replace(b"\r\n..", b"\r\n."), policy=email.policy.default)
    out = BytesIO()
    BytesGenerator(out, policy=email.policy.SMTP).flatten(SmtpChannel(fanout.settings)._message(env))
    theirs = email.message_from_bytes(out.getvalue(), policy=email.policy.default)
    for header in ("From", "To", "Subject", "Message-ID"):
        assert ours[header] == theirs[header], header
    for part in ("plain", "html"):
        assert ours.get_body((part,)).get_content() == theirs.get_body((part,)).get_content()  # type: ignore[union-attr]
