"""The notice activities run as Temporal activities (ActivityEnvironment: heartbeats, errors),
against a real SMTP server and a real database (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import csv
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
import structlog
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities import producer_delivery
from activities.delivery import (
    BatchOutcome,
    Envelope,
    OutboxPortal,
    PortalUnavailableError,
    PrintBatchChannel,
    RegulatorSubmission,
    SmtpChannel,
    SubmissionRejectedError,
)
from activities.notices import NoticeActivities
from activities.roster import RosterStore
from models.incident import IncidentIntake
from models.notice import (
    CedingInsurer,
    CedingInsurerNoticeInput,
    ConsumerContact,
    ConsumerNoticeInput,
    ConsumerNoticeResult,
    DocumentKind,
    FailureKind,
    NoticeContent,
    Producer,
    ProducerNoticeInput,
    RegulatorReceipt,
    RenderCommissionerReportInput,
    ReturnedNoticesInput,
    RosterSummaryInput,
    SubmitToRegulatorInput,
)
from models.obligation import Obligation
from noticeflow.settings import Settings
from rules import compute_obligations
from tests.activities.conftest import AS_OF, SmtpServer, make_contact, obligation

ROSTER = "INC-2025-0417-roster"


class Heartbeats:
    def __init__(self) -> None:
        self.details: list[Any] = []

    def __call__(self, *details: Any) -> None:
        self.details.extend(details)


def environment() -> tuple[ActivityEnvironment, Heartbeats]:
    env = ActivityEnvironment()
    beats = Heartbeats()
    env.on_heartbeat = beats
    return env, beats


async def deliver(notices: NoticeActivities, req: ConsumerNoticeInput) -> tuple[ConsumerNoticeResult, Heartbeats]:
    env, beats = environment()
    result = await env.run(notices.render_and_deliver_consumer_notice, req)
    return result, beats


def consumer_request(
    intake: IncidentIntake, ob: Obligation, content: NoticeContent, *, round_: int = 0, batch_size: int = 2
) -> ConsumerNoticeInput:
    return ConsumerNoticeInput(
        obligation=ob,
        intake=intake,
        content=content,
        roster_id=ROSTER,
        as_of=AS_OF,
        round=round_,
        batch_size=batch_size,
        media_outlets=["The Tennessean"],
    )


def manifest_rows(outbox: Path) -> list[dict[str, str]]:
    rows = []
    for manifest in sorted((outbox / "print").glob("*/manifest.csv")):
        with open(manifest, newline="") as f:
            rows.extend(csv.DictReader(f))
    return rows


def report(result: ConsumerNoticeResult, channel: str) -> Any:
    (found,) = [r for r in result.reports if r.channel == channel]
    return found


# -- written notice, batches, heartbeats -----------------------------------------------------------


@pytest.fixture
def mo_roster(roster_store: RosterStore) -> list[ConsumerContact]:
    contacts = [make_contact(i, "MO") for i in range(5)]  # postal + e-mail without consent
    contacts.append(make_contact(5, "MO", postal=False, consent=True))  # e-mail with consent only
    contacts.append(make_contact(6, "MO", postal=False, email=False))  # no contact information
    contacts.append(make_contact(0, "TN"))  # another state: not this obligation's
    roster_store.store_roster(ROSTER, contacts)
    return contacts


async def test_written_notice_prints_one_letter_per_consumer_in_batches_with_heartbeats_56_2_1006_c_1(
    notices: NoticeActivities,
    settings: Settings,
    smtp_server: SmtpServer,
    intake: IncidentIntake,
    obligations: dict[str, Obligation],
    content: NoticeContent,
    mo_roster: list[ConsumerContact],
) -> None:
    ob = obligation(obligations, "consumer_notice", "MO")
    result, beats = await deliver(notices, consumer_request(intake, ob, content))
    rows = manifest_rows(settings.outbox_dir)
    mo = [c for c in mo_roster if c.state == "MO"]
    assert sorted(r["consumer_ref"] for r in rows) == sorted(c.consumer_ref for c in mo[:5])
    assert smtp_server.recorder.recipients() == [mo[5].email], "written notice may be electronic where consent is recorded"
    assert (result.notified, result.outstanding, result.consumers) == (6, 1, 7)
    assert [f.kind for f in result.unreachable] == [FailureKind.NO_CONTACT] and result.unreachable[0].recipient_ref == mo[6].consumer_ref
    assert not result.complete
    assert report(result, "postal").sent == 5 and len(report(result, "postal").manifest_paths) == 3
    assert [b["batch"] for b in beats.details if "recipients" in b] == [0, 1, 2, 3]
    assert {d.kind for d in result.documents} == {DocumentKind.CONSUMER_LETTER, DocumentKind.CONSUMER_EMAIL}
    assert result.counts.sent == 6 and result.counts.failed == 1


async def test_running_the_notice_again_sends_nobody_twice(
    notices: NoticeActivities,
    settings: Settings,
    smtp_server: SmtpServer,
    intake: IncidentIntake,
    obligations: dict[str, Obligation],
    content: NoticeContent,
    mo_roster: list[ConsumerContact],
) -> None:
    ob = obligation(obligations, "consumer_notice", "MO")
    first, _ = await deliver(notices, consumer_request(intake, ob, content))
    second, beats = await deliver(notices, consumer_request(intake, ob, content))
    assert len(manifest_rows(settings.outbox_dir)) == 5
    assert len(smtp_server.recorder.recipients()) == 1
    assert second.model_dump(exclude={"documents"}) == first.model_dump(exclude={"documents"})
    assert not [b for b in beats.details if "recipients" in b], "every batch was already done"


class CrashingEmail:
    """The SMTP channel, but the worker 'dies' at the n-th message: before it leaves, or after."""

    def __init__(self, settings: Settings, crash_at: int, after_send: bool) -> None:
        self.inner = SmtpChannel(settings)
        self.crash_at = crash_at
        self.after_send = after_send
        self.count = 0
        self.name = self.inner.name
        self.replaces_batches = self.inner.replaces_batches

    async def deliver(self, batch_id: str, envelopes: Sequence[Envelope]) -> BatchOutcome:
        self.count += 1
        if self.count == self.crash_at and not self.after_send:
            raise RuntimeError("worker lost")
        outcome = await self.inner.deliver(batch_id, envelopes)
        if self.count == self.crash_at:
            raise RuntimeError("worker lost")
        return outcome

    async def aclose(self) -> None:
        await self.inner.aclose()


@pytest.fixture
def de_roster(roster_store: RosterStore) -> list[ConsumerContact]:
    contacts = [make_contact(i, "DE", consent=True) for i in range(6)]
    contacts.append(make_contact(6, "DE", email=False))  # postal only
    roster_store.store_roster(ROSTER, contacts)
    return contacts


async def test_a_retried_delivery_resumes_after_the_last_finished_batch_and_never_sends_twice(
    notices: NoticeActivities,
    settings: Settings,
    smtp_server: SmtpServer,
    intake: IncidentIntake,
    obligations: dict[str, Obligation],
    content: NoticeContent,
    de_roster: list[ConsumerContact],
) -> None:
    ob = obligation(obligations, "consumer_notice", "DE")
    env, beats = environment()

    def worker_dies_at_second_batch_heartbeat(*details: Any) -> None:
        beats(*details)
        if len([b for b in beats.details if "recipients" in b]) == 2:
            raise RuntimeError("worker lost")

    env.on_heartbeat = worker_dies_at_second_batch_heartbeat
    with pytest.raises(RuntimeError, match="worker lost"):
        await env.run(notices.render_and_deliver_consumer_notice, consumer_request(intake, ob, content))
    assert len(smtp_server.recorder.recipients()) + len(manifest_rows(settings.outbox_dir)) == 4, "two batches of two"

    retry, retry_beats = await deliver(notices, consumer_request(intake, ob, content))
    assert [b["batch"] for b in retry_beats.details if "recipients" in b] == [2, 3], "batches 0 and 1 are not read again"
    counts = Counter(smtp_server.recorder.recipients())
    assert sorted(counts) == sorted(c.email for c in de_roster if c.email) and set(counts.values()) == {1}
    assert (retry.notified, retry.outstanding, retry.in_doubt, retry.complete) == (7, 0, 0, True)
    assert len(manifest_rows(settings.outbox_dir)) == 1


async def test_a_send_interrupted_mid_message_is_in_doubt_and_not_repeated(
    settings: Settings,
    smtp_server: SmtpServer,
    intake: IncidentIntake,
    obligations: dict[str, Obligation],
    content: NoticeContent,
    de_roster: list[ConsumerContact],
) -> None:
    ob = obligation(obligations, "consumer_notice", "DE")
    crashing = NoticeActivities(settings, email_channel=lambda: CrashingEmail(settings, crash_at=2, after_send=True))
    try:
        with pytest.raises(RuntimeError):
            await deliver(crashing, consumer_request(intake, ob, content))
    finally:
        crashing.close()
    retry = NoticeActivities(settings)
    try:
        result, _ = await deliver(retry, consumer_request(intake, ob, content))
    finally:
        retry.close()
    counts = Counter(smtp_server.recorder.recipients())
    assert set(counts.values()) == {1} and len(counts) == 6
    assert result.in_doubt == 1 and not result.complete
    (doubt,) = [f for f in report(result, "email").failures if f.kind is FailureKind.IN_DOUBT]
    assert doubt.reason == "interrupted while sending; not re-sent automatically"


async def test_a_print_batch_interrupted_before_it_was_recorded_is_printed_again_identically(
    notices: NoticeActivities,
    settings: Settings,
    intake: IncidentIntake,
    obligations: dict[str, Obligation],
    content: NoticeContent,
    mo_roster: list[ConsumerContact],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ob = obligation(obligations, "consumer_notice", "MO")
    original = PrintBatchChannel.deliver
    calls = 0

    async def crash_after_second_batch(self: PrintBatchChannel, batch_id: str, envelopes: Sequence[Envelope]) -> BatchOutcome:
        nonlocal calls
        calls += 1
        outcome = await original(self, batch_id, envelopes)
        if calls == 2:
            raise RuntimeError("worker lost after printing")
        return outcome

    monkeypatch.setattr(PrintBatchChannel, "deliver", crash_after_second_batch)
    with pytest.raises(RuntimeError):
        await deliver(notices, consumer_request(intake, ob, content))
    monkeypatch.setattr(PrintBatchChannel, "deliver", original)
    printed_before = {p.parent.name: p.read_bytes() for p in (settings.outbox_dir / "print").glob("*/manifest.csv")}
    assert len(printed_before) == 2
    sealed = sorted(p.parent.name for p in (settings.outbox_dir / "print").glob("*/READY"))
    assert len(sealed) == 1, "the interrupted batch is not handed to the vendor"
    result, _ = await deliver(notices, consumer_request(intake, ob, content))
    rows = manifest_rows(settings.outbox_dir)
    assert len(rows) == 5 and len({r["consumer_ref"] for r in rows}) == 5, "every letter printed once"
    for batch, manifest in printed_before.items():
        assert (settings.outbox_dir / "print" / batch / "manifest.csv").read_bytes() == manifest
    assert report(result, "postal").sent == 5
    batches = list((settings.outbox_dir / "print").glob("*/manifest.csv"))
    assert all((m.parent / "READY").exists() for m in batches), "every batch sealed once all its letters are recorded"


# -- bounces, returned mail, follow-up rounds ---------------------------------------------------------


async def test_a_bounced_email_is_recorded_and_a_follow_up_round_sends_a_letter(
    notices: NoticeActivities,
    settings: Settings,
    smtp_server: SmtpServer,
    intake: IncidentIntake,
    obligations: dict[str, Obligation],
    content: NoticeContent,
    de_roster: list[ConsumerContact],
) -> None:
    bounced = de_roster[2]
    assert bounced.email is not None
    smtp_server.recorder.refuse.add(bounced.email)
    ob = obligation(obligations, "consumer_notice", "DE")
    first, _ = await deliver(notices, consumer_request(intake, ob, content))
    email = report(first, "email")
    assert (email.sent, email.failed) == (5, 1)
    (failure,) = email.failures
    assert failure.recipient_ref == bounced.consumer_ref and failure.kind is FailureKind.BOUNCED
    assert failure.reason.startswith("550") and bounced.email not in failure.reason
    assert first.outstanding == 1 and not first.complete

    follow_up, _ = await deliver(notices, consumer_request(intake, ob, content, round_=1))
    letters = manifest_rows(settings.outbox_dir)
    assert {r["consumer_ref"] for r in letters} == {bounced.consumer_ref, de_roster[6].consumer_ref}
    assert follow_up.outstanding == 0 and follow_up.complete
    assert len(smtp_server.recorder.recipients()) == 5


async def test_returned_mail_is_recorded_and_the_follow_up_uses_email_where_consented(
    notices: NoticeActivities,
    settings: Settings,
    smtp_server: SmtpServer,
    intake: IncidentIntake,
    obligations: dict[str, Obligation],
    content: NoticeContent,
    roster_store: RosterStore,
) -> None:
    consented = make_contact(1, "MO", consent=True)
    no_consent = make_contact(2, "MO")
    roster_store.store_roster(ROSTER, [consented, no_consent])
    ob = obligation(obligations, "consumer_notice", "MO")
    await deliver(notices, consumer_request(intake, ob, content))
    env, _ = environment()
    returned = await env.run(
        notices.record_returned_notices,
        ReturnedNoticesInput(
            obligation_id=ob.obligation_id,
            channel="postal",
            recipient_refs=[consented.consumer_ref, no_consent.consumer_ref],
            reason="Return to sender: insufficient address",
        ),
    )
    assert (returned.recorded, returned.unknown) == (2, 0)
    result, _ = await deliver(notices, consumer_request(intake, ob, content, round_=1))
    assert smtp_server.recorder.recipients() == [consented.email]
    assert report(result, "postal").returned == 2
    assert result.notified == 1 and result.outstanding == 1
    assert [f.recipient_ref for f in result.unreachable] == [no_consent.consumer_ref]


async def test_a_deferred_email_fails_the_attempt_retryably_and_the_retry_sends_it_alone(
    notices: NoticeActivities,
    smtp_server: SmtpServer,
    intake: IncidentIntake,
    obligations: dict[str, Obligation],
    content: NoticeContent,
    de_roster: list[ConsumerContact],
) -> None:
    busy = de_roster[1].email
    assert busy is not None
    smtp_server.recorder.defer.add(busy)
    ob = obligation(obligations, "consumer_notice", "DE")
    with pytest.raises(ApplicationError) as err:
        await deliver(notices, consumer_request(intake, ob, content))
    assert err.value.type == "DeliveryDeferred" and not err.value.non_retryable
    assert busy not in smtp_server.recorder.recipients()
    smtp_server.recorder.defer.clear()
    result, _ = await deliver(notices, consumer_request(intake, ob, content))
    counts = Counter(smtp_server.recorder.recipients())
    assert counts[busy] == 1 and set(counts.values()) == {1} and result.complete


async def test_an_unavailable_mail_relay_is_a_retryable_error_and_claims_nothing(
    settings: Settings,
    smtp_server: SmtpServer,
    intake: IncidentIntake,
    obligations: dict[str, Obligation],
    content: NoticeContent,
    de_roster: list[ConsumerContact],
) -> None:
    down = settings.model_copy(update={"smtp_port": 1})
    acts = NoticeActivities(settings, email_channel=lambda: SmtpChannel(down, timeout=2))
    ob = obligation(obligations, "consumer_notice", "DE")
    try:
        with pytest.raises(ApplicationError) as err:
            await deliver(acts, consumer_request(intake, ob, content))
    finally:
        acts.close()
    assert err.value.type == "ChannelUnavailable" and not err.value.non_retryable
    retry = NoticeActivities(settings)
    try:
        result, _ = await deliver(retry, consumer_request(intake, ob, content))
    finally:
        retry.close()
    assert result.complete and len(smtp_server.recorder.recipients()) == 6


# -- substitute notice -----------------------------------------------------------------------------


async def test_substitute_notice_writes_email_website_posting_and_media_notice_56_2_1006_c_3(
    notices: NoticeActivities,
    settings: Settings,
    smtp_server: SmtpServer,
    intake: IncidentIntake,
    obligations: dict[str, Obligation],
    content: NoticeContent,
    roster_store: RosterStore,
) -> None:
    # TN: substitute notice for the consumers without sufficient contact information, written
    # notice to the others (the rules' choice for the sample event).
    with_address = [make_contact(i, "TN") for i in range(3)]
    email_only = make_contact(3, "TN", postal=False)
    nothing = make_contact(4, "TN", postal=False, email=False)
    roster_store.store_roster(ROSTER, [*with_address, email_only, nothing])
    ob = obligation(obligations, "consumer_notice", "TN")
    assert ob.substitute_notice is not None and ob.substitute_notice.applies_to == "consumers_without_contact"
    result, _ = await deliver(notices, consumer_request(intake, ob, content))

    assert smtp_server.recorder.recipients() == [email_only.email], "(A) e-mail where an address is known, without consent"
    mail = smtp_server.recorder.messages()[0]
    assert "Tenn. Code Ann. § 56-2-1006(c)(3)(A)" in mail.get_body(("plain",)).get_content()
    posting = (settings.outbox_dir / "website" / "INC-2025-0417_consumer_notice_TN_consumers_TN.html").read_text()
    assert "Tenn. Code Ann. § 56-2-1006(c)(3)(B)" in posting and "residents of Tennessee" in posting
    media = settings.outbox_dir / "media" / "INC-2025-0417_consumer_notice_TN_consumers_TN"
    assert "Tenn. Code Ann. § 56-2-1006(c)(3)(C)" in (media / "notice.txt").read_text()
    assert {r["consumer_ref"] for r in manifest_rows(settings.outbox_dir)} == {c.consumer_ref for c in with_address}
    assert (result.notified, result.covered_by_substitute, result.outstanding, result.complete) == (4, 1, 0, True)
    kinds = Counter(d.kind for d in result.documents)
    assert kinds[DocumentKind.WEBSITE_POSTING] == 1 and kinds[DocumentKind.MEDIA_NOTICE] == 2
    assert report(result, "website").sent == 1 and report(result, "media").sent == 1

    again, _ = await deliver(notices, consumer_request(intake, ob, content))
    assert len(smtp_server.recorder.recipients()) == 1 and again.complete


async def test_class_wide_substitute_notice_emails_everyone_with_an_address_and_covers_the_rest(
    notices: NoticeActivities,
    settings: Settings,
    smtp_server: SmtpServer,
    intake: IncidentIntake,
    obligations: dict[str, Obligation],
    content: NoticeContent,
    roster_store: RosterStore,
) -> None:
    tn = obligation(obligations, "consumer_notice", "TN")
    assert tn.substitute_notice is not None
    class_wide = tn.model_copy(
        update={"substitute_notice": tn.substitute_notice.model_copy(update={"applies_to": "all_affected", "individual_method": None})}
    )
    roster_store.store_roster(ROSTER, [make_contact(0, "TN"), make_contact(1, "TN", email=False)])
    result, _ = await deliver(notices, consumer_request(intake, class_wide, content))
    assert smtp_server.recorder.recipients() == [make_contact(0, "TN").email]
    assert not (settings.outbox_dir / "print").exists(), "no letters: the posting and media notice reach the others"
    assert (result.notified, result.covered_by_substitute, result.complete) == (1, 1, True)


# -- commissioner report and regulator submission ----------------------------------------------------


class CountingPortal:
    name = "counting"

    def __init__(self, inner: OutboxPortal | None = None, error: Exception | None = None) -> None:
        self.inner, self.error, self.calls = inner, error, 0

    async def submit(self, submission: RegulatorSubmission) -> RegulatorReceipt:
        self.calls += 1
        if self.error is not None:
            raise self.error
        assert self.inner is not None
        return await self.inner.submit(submission)


async def test_commissioner_report_is_rendered_and_filed_once_per_version(
    settings: Settings,
    intake: IncidentIntake,
    obligations: dict[str, Obligation],
    content: NoticeContent,
    mo_roster: list[ConsumerContact],
) -> None:
    portal = CountingPortal(OutboxPortal(settings.outbox_dir))
    acts = NoticeActivities(settings, portal=portal)
    try:
        env, _ = environment()
        ob = obligation(obligations, "commissioner_notice", "MO")
        rendered = await env.run(
            acts.render_commissioner_report,
            RenderCommissionerReportInput(obligation=ob, intake=intake, content=content, roster_id=ROSTER, as_of=AS_OF),
        )
        assert rendered.version == 1 and not rendered.material_update and rendered.consumer_estimate == 2100
        assert "M" in rendered.available and "N" in rendered.not_yet_available
        submit = SubmitToRegulatorInput(
            obligation_id=ob.obligation_id,
            jurisdiction="MO",
            recipient_name=ob.recipient_name,
            documents=[rendered.json_document, rendered.html_document],
        )
        receipt = await env.run(acts.submit_to_regulator, submit)
        again = await env.run(acts.submit_to_regulator, submit)
        assert receipt == again and portal.calls == 1
        assert receipt.document_sha256 == rendered.json_document.sha256 and receipt.portal == "outbox"
        folder = settings.outbox_dir / "regulators" / "MO" / receipt.submission_id
        assert (folder / "receipt.json").exists() and len(list(folder.glob("commissioner_report-v1-*"))) == 2

        update = await env.run(
            acts.render_commissioner_report,
            RenderCommissionerReportInput(
                obligation=ob, intake=intake, content=content, roster_id=ROSTER, as_of=AS_OF, version=2, previous=rendered.json_document
            ),
        )
        assert update.material_update and update.changes == []
    finally:
        acts.close()


@pytest.mark.parametrize(
    ("error", "type_", "non_retryable"),
    [
        (PortalUnavailableError("503 Service Unavailable"), "PortalUnavailable", False),
        (SubmissionRejectedError("missing signature page"), "SubmissionRejected", True),
    ],
)
async def test_portal_failures_are_typed_errors(
    settings: Settings,
    intake: IncidentIntake,
    obligations: dict[str, Obligation],
    error: Exception,
    type_: str,
    non_retryable: bool,
) -> None:
    acts = NoticeActivities(settings, portal=CountingPortal(error=error))
    try:
        env, _ = environment()
        ob = obligation(obligations, "commissioner_notice", "TN")
        rendered = await env.run(acts.render_commissioner_report, RenderCommissionerReportInput(obligation=ob, intake=intake, as_of=AS_OF))
        with pytest.raises(ApplicationError) as err:
            await env.run(
                acts.submit_to_regulator,
                SubmitToRegulatorInput(obligation_id=ob.obligation_id, jurisdiction="TN", recipient_name="x", documents=[rendered.json_document]),
            )
    finally:
        acts.close()
    assert err.value.type == type_ and err.value.non_retryable is non_retryable
    assert str(error) in str(err.value)


# -- producers of record, ceding insurers ------------------------------------------------------------


async def test_producers_of_record_are_notified_once_with_their_client_counts_56_2_1006_f(
    notices: NoticeActivities,
    smtp_server: SmtpServer,
    intake: IncidentIntake,
    obligations: dict[str, Obligation],
    content: NoticeContent,
    roster_store: RosterStore,
) -> None:
    roster_store.store_roster(
        ROSTER,
        [
            make_contact(0, "TN", producer="P-1"),
            make_contact(1, "TN", producer="P-1"),
            make_contact(2, "TN", producer="P-2"),
            make_contact(3, "TN", producer="P-9"),
            make_contact(4, "TN"),
            make_contact(5, "MO", producer="P-2"),
        ],
    )
    producers = [
        Producer(producer_id="P-1", name="Volunteer Insurance Agency", email="p1@agency.example"),
        Producer(producer_id="P-2", name="Music City Brokers", email="p2@agency.example"),
        Producer(producer_id="P-3", name="No Affected Clients LLC", email="p3@agency.example"),
    ]
    req = ProducerNoticeInput(
        obligation=obligation(obligations, "producer_notice", "TN"), intake=intake, content=content, roster_id=ROSTER, producers=producers, as_of=AS_OF
    )
    env, _ = environment()
    result = await env.run(notices.deliver_producer_notice, req)
    again = await env.run(notices.deliver_producer_notice, req)
    assert sorted(smtp_server.recorder.recipients()) == ["p1@agency.example", "p2@agency.example"]
    bodies = {m["To"]: m.get_body(("plain",)).get_content() for m in smtp_server.recorder.messages()}
    assert "2 of your clients residing in Tennessee" in bodies["p1@agency.example"]
    assert "1 of your clients residing in Tennessee" in bodies["p2@agency.example"]
    assert (result.notified, result.consumers, result.consumers_with_producer, result.consumers_without_producer) == (
        ["P-1", "P-2"], 5, 4, 1
    )
    assert result.producers == ["P-1", "P-2", "P-9"] and result.unknown_producers == ["P-9"] and not result.complete
    assert again == result


def _producer_request(
    obligations: dict[str, Obligation], state: str, intake: IncidentIntake, content: NoticeContent, producers: list[Producer]
) -> ProducerNoticeInput:
    return ProducerNoticeInput(
        obligation=obligation(obligations, "producer_notice", state), intake=intake, content=content, roster_id=ROSTER,
        producers=producers, as_of=AS_OF,
    )


PRODUCERS = [
    Producer(producer_id="P-1001", name="Volunteer Insurance Agency", email="p1001@agency.example"),
    Producer(producer_id="P-1002", name="Bluegrass Brokers", email="p1002@agency.example"),
    Producer(producer_id="P-1003", name="First State Agency", email="p1003@agency.example"),
]


async def test_a_producer_owed_notice_under_two_states_gets_one_email_naming_both_and_both_obligations_list_it_56_2_1006_f(
    notices: NoticeActivities,
    smtp_server: SmtpServer,
    intake: IncidentIntake,
    obligations: dict[str, Obligation],
    content: NoticeContent,
    roster_store: RosterStore,
) -> None:
    roster_store.store_roster(
        ROSTER,
        [
            make_contact(0, "TN", producer="P-1001"),
            make_contact(1, "TN", producer="P-1002"),
            make_contact(2, "KY", producer="P-1002"),
            make_contact(3, "KY", producer="P-1002"),
            make_contact(4, "DE", producer="P-1003"),
        ],
    )
    env, _ = environment()
    # The event's producer obligations run concurrently, as the event workflow starts them.
    tn, ky, de = await asyncio.gather(
        *(env.run(notices.deliver_producer_notice, _producer_request(obligations, s, intake, content, PRODUCERS)) for s in ("TN", "KY", "DE"))
    )
    assert Counter(smtp_server.recorder.recipients()) == {
        "p1001@agency.example": 1, "p1002@agency.example": 1, "p1003@agency.example": 1
    }
    assert (tn.producers, tn.notified, tn.complete) == (["P-1001", "P-1002"], ["P-1001", "P-1002"], True)
    assert (ky.producers, ky.notified, ky.complete) == (["P-1002"], ["P-1002"], True)
    assert (de.producers, de.notified, de.complete) == (["P-1003"], ["P-1003"], True)
    bodies = {m["To"]: m.get_body(("plain",)).get_content() for m in smtp_server.recorder.messages()}
    assert "3 of your clients residing in Kentucky and Tennessee" in bodies["p1002@agency.example"]
    assert "1 of your clients residing in Tennessee." in bodies["p1001@agency.example"]
    assert "1 of your clients residing in Delaware" in bodies["p1003@agency.example"]
    again = await env.run(notices.deliver_producer_notice, _producer_request(obligations, "KY", intake, content, PRODUCERS))
    assert again.notified == ["P-1002"] and len(smtp_server.recorder.recipients()) == 3


async def test_a_producer_notice_refused_for_one_state_is_not_notified_for_the_other_either_56_2_1006_f(
    notices: NoticeActivities,
    smtp_server: SmtpServer,
    intake: IncidentIntake,
    obligations: dict[str, Obligation],
    content: NoticeContent,
    roster_store: RosterStore,
) -> None:
    roster_store.store_roster(ROSTER, [make_contact(0, "TN", producer="P-1002"), make_contact(1, "KY", producer="P-1002")])
    smtp_server.recorder.refuse.add("p1002@agency.example")
    env, _ = environment()
    tn = await env.run(notices.deliver_producer_notice, _producer_request(obligations, "TN", intake, content, PRODUCERS))
    ky = await env.run(notices.deliver_producer_notice, _producer_request(obligations, "KY", intake, content, PRODUCERS))
    for result in (tn, ky):
        assert (result.notified, result.failed, result.complete) == ([], ["P-1002"], False)
        assert result.report.failures[0].recipient_ref == "P-1002" and result.report.failures[0].kind is FailureKind.BOUNCED
    assert smtp_server.recorder.recipients() == []


async def test_a_producer_email_interrupted_mid_send_is_in_doubt_for_every_state_and_never_resent_56_2_1006_f(
    settings: Settings,
    smtp_server: SmtpServer,
    intake: IncidentIntake,
    obligations: dict[str, Obligation],
    content: NoticeContent,
    roster_store: RosterStore,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(producer_delivery, "CLAIM_SETTLE_SECONDS", 0.5)
    roster_store.store_roster(ROSTER, [make_contact(0, "TN", producer="P-1002"), make_contact(1, "KY", producer="P-1002")])
    crashing = NoticeActivities(settings, email_channel=lambda: CrashingEmail(settings, crash_at=1, after_send=True))
    try:
        with pytest.raises(RuntimeError):
            await environment()[0].run(crashing.deliver_producer_notice, _producer_request(obligations, "TN", intake, content, PRODUCERS))
    finally:
        crashing.close()
    retry = NoticeActivities(settings)
    try:
        env, _ = environment()
        ky = await env.run(retry.deliver_producer_notice, _producer_request(obligations, "KY", intake, content, PRODUCERS))
        tn = await env.run(retry.deliver_producer_notice, _producer_request(obligations, "TN", intake, content, PRODUCERS))
    finally:
        retry.close()
    assert smtp_server.recorder.recipients() == ["p1002@agency.example"], "sent once, by the interrupted attempt"
    for result in (tn, ky):
        assert (result.notified, result.in_doubt, result.complete) == ([], ["P-1002"], False)


async def test_ceding_insurers_are_notified_once_for_every_state_obligation_56_2_1006_e(
    notices: NoticeActivities,
    smtp_server: SmtpServer,
    intake: IncidentIntake,
    content: NoticeContent,
) -> None:
    assuming = IncidentIntake.model_validate(
        {**intake.model_dump(mode="json"), "licensee": {**intake.licensee.model_dump(mode="json"), "kind": "assuming_insurer"}}
    )
    ceding = [o for o in compute_obligations(assuming).obligations if o.kind.value == "ceding_insurer_notice"]
    assert len(ceding) > 1
    smtp_server.recorder.refuse.add("claims@gone.example")
    insurers = [
        CedingInsurer(name="Harpeth Casualty Company", naic_code="11111", email="notices@harpeth.example"),
        CedingInsurer(name="Gone Mutual", naic_code="22222", email="claims@gone.example"),
    ]
    env, _ = environment()
    results = [
        await env.run(
            notices.deliver_ceding_insurer_notice,
            CedingInsurerNoticeInput(obligation=ob, intake=assuming, content=content, ceding_insurers=insurers, as_of=AS_OF),
        )
        for ob in ceding
    ]
    assert smtp_server.recorder.recipients() == ["notices@harpeth.example"]
    body = smtp_server.recorder.messages()[0].get_body(("plain",)).get_content()
    assert "acting as assuming insurer" in body and "Tennessee: 18,400" in body
    last = results[-1].report
    assert (last.sent, last.failed) == (1, 1) and last.failures[0].recipient_ref == "22222"
    assert not results[-1].complete


# -- no NPI leaves the roster ------------------------------------------------------------------------


async def test_no_name_address_or_email_in_activity_results_or_logs(
    notices: NoticeActivities,
    smtp_server: SmtpServer,
    intake: IncidentIntake,
    obligations: dict[str, Obligation],
    content: NoticeContent,
    de_roster: list[ConsumerContact],
) -> None:
    smtp_server.recorder.refuse.add(de_roster[0].email or "")
    ob = obligation(obligations, "consumer_notice", "DE")
    with structlog.testing.capture_logs() as logs:
        result, beats = await deliver(notices, consumer_request(intake, ob, content))
        env, _ = environment()
        summary = await env.run(notices.roster_summary, RosterSummaryInput(roster_id=ROSTER))
    payloads = " ".join([result.model_dump_json(), summary.model_dump_json(), repr(logs), repr(beats.details)])
    for contact in de_roster:
        assert contact.name not in payloads
        assert not contact.email or contact.email not in payloads
        assert not contact.postal_address or contact.postal_address.line1 not in payloads
    assert summary.by_state["DE"].electronic == 6


def test_activity_inputs_and_outputs_round_trip_through_the_pydantic_data_converter(
    intake: IncidentIntake, obligations: dict[str, Obligation], content: NoticeContent
) -> None:
    converter = pydantic_data_converter.payload_converter
    req = consumer_request(intake, obligation(obligations, "consumer_notice", "TN"), content)
    (payload,) = converter.to_payloads([req])
    (back,) = converter.from_payloads([payload], [ConsumerNoticeInput])
    assert back == req


async def test_a_roster_whose_data_key_was_destroyed_fails_delivery_for_good_with_a_typed_error(
    notices: NoticeActivities,
    roster_store: RosterStore,
    intake: IncidentIntake,
    obligations: dict[str, Obligation],
    content: NoticeContent,
    mo_roster: list[ConsumerContact],
) -> None:
    """Once an event's retention ended and its contacts were shredded, no retry can open them: the
    activity fails non-retryably, naming the citation the key was destroyed under."""
    from datetime import UTC, datetime

    from activities.roster import incident_of
    from temporalio.exceptions import ApplicationError

    roster_store.contacts.destroy(
        f"incident:{incident_of(ROSTER)}", at=datetime.now(UTC), citation="Tenn. Code Ann. § 56-2-1006(h)",
        reason="retention ended",
    )
    ob = obligation(obligations, "consumer_notice", "MO")
    with pytest.raises(ApplicationError) as refused:
        await deliver(notices, consumer_request(intake, ob, content))
    assert refused.value.type == "contact_data_destroyed" and refused.value.non_retryable
    assert refused.value.details[0]["citation"] == "Tenn. Code Ann. § 56-2-1006(h)"
