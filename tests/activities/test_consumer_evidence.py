"""``consumer_notice_evidence``: a consumer notice's evidence of sending, read from the delivery store
after a real delivery (real SMTP server, real print batches, SQLite and PostgreSQL) — counts,
manifest digests and a digest of the relay ids, never the recipients' list or addresses
(Tenn. Code Ann. § 56-2-1006(c))."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from pathlib import Path

from activities.notices import NoticeActivities
from activities.roster import RosterStore
from models.consumer_evidence import ConsumerEvidenceInput, ConsumerNoticeEvidence
from models.incident import IncidentIntake
from models.notice import NoticeContent, ReturnedNoticesInput
from models.obligation import Obligation
from noticeflow.settings import Settings
from tests.activities.conftest import SmtpServer, make_contact, obligation
from tests.activities.test_notices import consumer_request, deliver, environment


async def evidence(notices: NoticeActivities, ob: Obligation, content: NoticeContent) -> ConsumerNoticeEvidence:
    env, _ = environment()
    return await env.run(
        notices.consumer_evidence.consumer_notice_evidence,
        ConsumerEvidenceInput(obligation=ob, notice_page_url=content.notice_page_url, media_outlets=["The Tennessean"]),
    )


def manifest_digests(outbox: Path) -> list[str]:
    return sorted(hashlib.sha256(m.read_bytes()).hexdigest() for m in (outbox / "print").rglob("manifest.csv"))


async def test_letters_emails_and_substitute_parts_each_carry_their_evidence_of_sending_56_2_1006_c(
    notices: NoticeActivities,
    settings: Settings,
    smtp_server: SmtpServer,
    intake: IncidentIntake,
    obligations: dict[str, Obligation],
    content: NoticeContent,
    roster_store: RosterStore,
) -> None:
    # TN: written notice, substitute for the consumers without contact information.
    letters = [make_contact(i, "TN", email=False) for i in range(3)]
    emailed = [make_contact(3, "TN", postal=False), make_contact(4, "TN", postal=False)]
    nothing = make_contact(5, "TN", postal=False, email=False)
    roster_store.store_roster("INC-2025-0417-roster", [*letters, *emailed, nothing])
    ob = obligation(obligations, "consumer_notice", "TN")
    await deliver(notices, consumer_request(intake, ob, content))

    ev = await evidence(notices, ob, content)
    assert (ev.notified, ev.covered_by_substitute, ev.outstanding, ev.in_doubt) == (5, 1, 0, 0)
    assert ev.bounce_window == timedelta(days=settings.bounce_window_days)
    assert ev.letters is not None and (ev.letters.sent, ev.letters.returned) == (3, 0)
    assert ev.letters.manifests_sha256 == manifest_digests(settings.outbox_dir) != []

    # The relay named no queue id ("250 Message accepted"): each e-mail's Message-ID stands in.
    assert ev.emails is not None and (ev.emails.sent, ev.emails.queue_ids) == (2, 0)
    message_ids = {m["To"]: m["Message-ID"] for m in smtp_server.recorder.messages()}
    lines = sorted(f"{c.consumer_ref} {message_ids[c.email]}\n" for c in emailed)
    assert ev.emails.relay_ids_sha256 == hashlib.sha256("".join(lines).encode()).hexdigest()
    assert ev.emails.first_sent_at is not None and ev.emails.last_sent_at is not None

    assert ev.website is not None and ev.media is not None
    assert (ev.website.url, ev.website.confirmed_by, ev.website.sent_at is not None) == (
        "https://www.cumberland.example/notice", "posting_url", True
    )
    assert ev.website.location is not None and ev.website.document_sha256 == hashlib.sha256(
        (settings.outbox_dir / ev.website.location).read_bytes()
    ).hexdigest()
    assert (ev.media.outlets, ev.media.confirmed_by, ev.media.citation) == (
        ["The Tennessean"], "submission_record", "Tenn. Code Ann. § 56-2-1006(c)(3)(C)"
    )
    data = str(ev.channels_data())
    assert not any(c.email and c.email in data for c in emailed) and "Elm Street" not in data, "no NPI"
    assert emailed[0].consumer_ref not in data, "a digest of the relay ids, not their list"

    # A bounce after sending: that consumer is outstanding again, the e-mail counted as returned.
    env, _ = environment()
    await env.run(notices.record_returned_notices, ReturnedNoticesInput(
        obligation_id=ob.obligation_id, channel="email", recipient_refs=[emailed[0].consumer_ref], reason="550 user unknown",
    ))
    after = await evidence(notices, ob, content)
    assert after.emails is not None and (after.emails.sent, after.emails.returned) == (1, 1)
    assert after.returned == (1, 0) and (after.notified, after.outstanding) == (4, 1)
    assert after.emails.relay_ids_sha256 != ev.emails.relay_ids_sha256


async def test_a_written_notice_has_no_email_or_substitute_evidence(
    notices: NoticeActivities,
    settings: Settings,
    intake: IncidentIntake,
    obligations: dict[str, Obligation],
    content: NoticeContent,
    roster_store: RosterStore,
) -> None:
    roster_store.store_roster("INC-2025-0417-roster", [make_contact(i, "MO", email=False) for i in range(2)])
    ob = obligation(obligations, "consumer_notice", "MO")
    await deliver(notices, consumer_request(intake, ob, content))
    ev = await evidence(notices, ob, content)
    assert ev.emails is None and ev.website is None and ev.media is None and ev.emails_sent == 0
    assert ev.letters is not None and ev.letters.sent == 2 and set(ev.channels_data()) == {"postal"}
