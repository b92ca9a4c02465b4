"""Fixtures of the notice-activity tests: a real SMTP server on loopback, settings pointing at a
fresh database and home, the sample Tennessee event and its obligations, and rosters."""

from __future__ import annotations

from contextlib import contextmanager

import email
import email.policy
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from activities.notices import NoticeActivities
from activities.roster import RosterStore
from ledger.keys import generate_key
from ledger.npi import npi_digest
from models.incident import IncidentIntake
from models.notice import ConsumerContact, NoticeContact, NoticeContent, PostalAddress, Representative
from models.obligation import Obligation
from noticeflow.settings import Settings
from rules import compute_obligations

REPO = Path(__file__).resolve().parents[2]
EXAMPLE_EVENT = REPO / "docs" / "examples" / "event-tpsp-multistate.json"
NPI_KEY = "test-npi-digest-key"
AS_OF = datetime(2025, 12, 8, 15, 0, tzinfo=UTC)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class SmtpRecorder:
    """aiosmtpd handler: accepts mail, refuses (550) or defers (451) chosen recipients."""

    refuse: set[str] = field(default_factory=set)
    defer: set[str] = field(default_factory=set)
    received: list[tuple[list[str], bytes]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: ANN001, N802
        if address in self.refuse:
            return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"
        if address in self.defer:
            return f"451 4.2.1 <{address}>: Mailbox busy, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: ANN001, N802
        with self.lock:
            self.received.append((list(envelope.rcpt_tos), envelope.content))
        return "250 Message accepted for delivery"

    def messages(self) -> list[EmailMessage]:
        with self.lock:
            return [email.message_from_bytes(raw, policy=email.policy.default) for _, raw in self.received]  # type: ignore[misc]

    def recipients(self) -> list[str]:
        with self.lock:
            return [r for rcpts, _ in self.received for r in rcpts]


@dataclass
class SmtpServer:
    host: str
    port: int
    recorder: SmtpRecorder


@contextmanager
def running_smtp(recorder: SmtpRecorder) -> Iterator[SmtpServer]:
    """A real aiosmtpd server on a free loopback port, answering with ``recorder``."""
    port = _free_port()
    controller = Controller(recorder, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield SmtpServer("127.0.0.1", port, recorder)
    finally:
        controller.stop()


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    with running_smtp(SmtpRecorder()) as server:
        yield server


#: The queue id a Postfix-like relay names in its reply to DATA.
RELAY_QUEUE_ID = "4F1A2B3C9D"


class PostfixLikeRecorder(SmtpRecorder):
    """A relay that answers DATA as Postfix does: ``250 2.0.0 Ok: queued as <id>``."""

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        await super().handle_DATA(server, session, envelope)
        return f"250 2.0.0 Ok: queued as {RELAY_QUEUE_ID}"


@pytest.fixture
def relay() -> Iterator[SmtpServer]:
    with running_smtp(PostfixLikeRecorder()) as server:
        yield server


@pytest.fixture
def settings(tmp_path: Path, db_url: str, smtp_server: SmtpServer) -> Settings:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        home=tmp_path / "home",
        db_url=db_url,
        smtp_host=smtp_server.host,
        smtp_port=smtp_server.port,
        mail_from="notices@cumberland.example",
        npi_digest_key=NPI_KEY,
    )
    # A filing carries the ledger's checkpoint (issue 10 spec G): the ledger's signing key.
    generate_key(settings.resolved_key_path(), now="2000-01-01T00:00:00.000000Z")
    return settings


@pytest.fixture
def notices(settings: Settings) -> Iterator[NoticeActivities]:
    acts = NoticeActivities(settings)
    try:
        yield acts
    finally:
        acts.close()


@pytest.fixture
def roster_store(notices: NoticeActivities) -> RosterStore:
    return notices.rosters


@pytest.fixture(scope="session")
def intake() -> IncidentIntake:
    return IncidentIntake.model_validate_json(EXAMPLE_EVENT.read_text())


@pytest.fixture(scope="session")
def obligations(intake: IncidentIntake) -> dict[str, Obligation]:
    return {o.obligation_id: o for o in compute_obligations(intake).obligations}


def obligation(obligations: dict[str, Obligation], kind: str, state: str) -> Obligation:
    (found,) = [o for o in obligations.values() if o.kind.value == kind and o.jurisdiction == state]
    return found


@pytest.fixture(scope="session")
def content() -> NoticeContent:
    return NoticeContent(
        contact=NoticeContact(phone="1-800-555-0134", email="privacy@cumberland.example", hours="Monday–Friday, 8–6 Central"),
        signatory="Dana Whitfield, Chief Privacy Officer",
        services_offered="We are offering 24 months of credit monitoring at no cost to you.",
        notice_page_url="https://www.cumberland.example/notice",
        representative=Representative(
            name="Dana Whitfield", title="Chief Privacy Officer", email="dana.whitfield@cumberland.example", phone="615-555-0199"
        ),
        privacy_policy_url="https://www.cumberland.example/privacy",
    )


def consumer_ref(consumer_id: str) -> str:
    return npi_digest(consumer_id, NPI_KEY.encode())


def make_contact(
    n: int,
    state: str,
    *,
    email: bool = True,
    postal: bool = True,
    consent: bool = False,
    producer: str | None = None,
) -> ConsumerContact:
    return ConsumerContact(
        consumer_ref=consumer_ref(f"C{state}{n:06d}"),
        state=state,
        name=f"Consumer {state} Number{n}",
        email=f"c{n}.{state.lower()}@mail.example" if email else None,
        postal_address=PostalAddress(line1=f"{n} Elm Street", city="Springfield", region=state, postal_code=f"{37000 + n}")
        if postal
        else None,
        electronic_consent=consent,
        producer_of_record=producer,
    )
