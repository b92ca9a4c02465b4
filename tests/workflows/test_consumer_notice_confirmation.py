"""Sent is not received, for consumer notices (Tenn. Code Ann. § 56-2-1006(c)): ConsumerNoticeWorkflow
on the time-skipping server with a real worker, ledger and SMTP server (aiosmtpd answering like
Postfix). Once the delivery reconciles, ``consumer_notice.sent`` records each channel's evidence;
``consumer_notice.met`` comes only with the confirmation — letters by their mailing manifests,
e-mails when the bounce window (NOTICEFLOW_BOUNCE_WINDOW_DAYS, 3 days) passes without a hard bounce,
the substitute parts by the posting's URL and the media submission record. A bounce inside the
window reopens the notice, a letter follows, and it is sent again and confirmed after a new window.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from ledger.npi import npi_digest
from models.lifecycle import ObligationStatus
from models.notice import ReturnedNoticesInput, SentEvidence
from models.obligation import Obligation
from rules.registry import verifies
from tests.workflows.conftest import NOTICES, NPI_KEY, Stack
from tests.workflows.notice_helpers import (
    affected,
    entries,
    event,
    obligation_for,
    start_obligation,
    state_of,
    until,
)
from tests.workflows.test_consumer_notice import consumer
from tests.workflows.test_party_notice_confirmation import _postfix_like
from workflows.consumer_notice import ConsumerNoticeWorkflow

#: NOTICEFLOW_BOUNCE_WINDOW_DAYS is 3 days.
WINDOW = timedelta(days=3)


def ref(consumer_id: str) -> str:
    return npi_digest(consumer_id, NPI_KEY.encode())


def electronic(n: int) -> dict[str, Any]:
    """A consumer who agreed to electronic notice, with a postal address for a letter if it bounces."""
    return consumer(n, email=True) | {"electronic_consent": True}


async def _start(
    stack: Stack, incident_id: str, tn: dict[str, Any], roster: list[dict[str, Any]], *, approve: bool = True
) -> tuple[Obligation, Any]:
    _postfix_like(stack)
    intake = event(await stack.now(), incident_id, [tn])
    stack.store_roster(f"{incident_id}-roster", roster)
    ob = obligation_for(intake, "consumer_notice", "TN")
    handle = await start_obligation(stack, intake, ob, NOTICES, roster_id=f"{incident_id}-roster")
    if approve:
        await handle.signal("approve", "cco")
    return ob, handle


def _one(stack: Stack, incident_id: str, type_: str, ob: Obligation) -> dict[str, Any]:
    (found,) = entries(stack, incident_id, type_, ob.obligation_id)
    return found


def _manifest_digests(outbox: Path) -> set[str]:
    return {hashlib.sha256(m.read_bytes()).hexdigest() for m in (outbox / "print").rglob("manifest.csv")}


def _relay_ids_digest(stack: Stack, ob: Obligation) -> str:
    """The digest an examiner recomputes from the delivery store: '<consumer_ref> <queue id>' lines."""
    tracker = stack.resources.notices.tracker
    rows = [r for r in tracker.rows_page(ob.obligation_id, "email", None, 1000) if r.status == "sent"]
    lines = sorted(f"{r.recipient_ref} {SentEvidence.model_validate_json(r.evidence or '').queue_id}\n" for r in rows)
    return hashlib.sha256("".join(lines).encode()).hexdigest()


def _no_address(entry: dict[str, Any]) -> None:
    text = str(entry)
    assert "@example.net" not in text and "Main St" not in text and "Person Number" not in text, "no NPI in the ledger"


@verifies("tn.consumer_notice.method")
async def test_written_notice_is_sent_with_its_mailing_manifests_and_met_on_them_56_2_1006_c_1(stack: Stack) -> None:
    ob, handle = await _start(stack, "INC-CNC-LETTER", affected("TN", 3), [consumer(n) for n in range(1, 4)])
    assert ob.method is not None and ob.method.value == "written"
    met = await until(handle, lambda st: st.status.resolved)
    assert met.status is ObligationStatus.MET
    types = [e.type for e in stack.entries("INC-CNC-LETTER") if e.data.get("obligation_id") == ob.obligation_id]
    assert types.index("consumer_notice.sent") < types.index("consumer_notice.met")

    sent = _one(stack, "INC-CNC-LETTER", "consumer_notice.sent", ob)
    postal = sent["evidence"]["channels"]["postal"]
    manifests = _manifest_digests(stack.settings.outbox_dir)
    assert postal["sent"] == 3 and set(postal["manifests_sha256"]) == manifests and len(manifests) == 1
    assert "email" not in sent["evidence"]["channels"] and sent["on_time"] is True
    assert sent["evidence"]["reconciliation"]["outcome"] == "reconciled"
    _no_address(sent)

    entry = _one(stack, "INC-CNC-LETTER", "consumer_notice.met", ob)
    confirmation = entry["confirmation"]["postal"]
    assert confirmation["confirmed_by"] == "mailing_manifest" and set(confirmation["manifests_sha256"]) == manifests
    assert "email" not in entry["confirmation"], "no e-mail: no bounce window held it"
    assert entry["sent_at"] == sent["sent_at"] and (entry["estimate"], entry["notified"]) == (3, 3)
    stack.verify()


@verifies("tn.consumer_notice.method")
async def test_electronic_notice_is_sent_with_the_relays_queue_ids_and_met_when_the_bounce_window_passes_56_2_1006_c_2(
    stack: Stack,
) -> None:
    tn = affected("TN", 3, with_email=3, electronic_primary_channel=True)
    ob, handle = await _start(stack, "INC-CNC-EMAIL", tn, [electronic(n) for n in range(1, 4)])
    assert ob.method is not None and ob.method.value == "electronic"
    sent_state = await until(handle, lambda st: st.status is ObligationStatus.SENT)
    assert "bounce window" in sent_state.waiting_for
    sent = _one(stack, "INC-CNC-EMAIL", "consumer_notice.sent", ob)
    email = sent["evidence"]["channels"]["email"]
    assert (email["sent"], email["returned"], email["queue_ids"]) == (3, 0, 3)
    assert email["relay_ids_sha256"] == _relay_ids_digest(stack, ob), "the count and a digest of the relay's queue ids"
    assert "postal" not in sent["evidence"]["channels"] and "Q0001ABC" not in str(sent), "not the list itself"
    _no_address(sent)

    await stack.skip(WINDOW - timedelta(hours=4))
    assert (await state_of(handle)).status is ObligationStatus.SENT
    assert not entries(stack, "INC-CNC-EMAIL", "consumer_notice.met", ob.obligation_id)

    await stack.skip(timedelta(hours=5))
    met = await until(handle, lambda st: st.status.resolved)
    assert met.status is ObligationStatus.MET
    assert met.sent_at is not None and met.confirmed_at is not None and met.confirmed_at - met.sent_at >= WINDOW
    entry = _one(stack, "INC-CNC-EMAIL", "consumer_notice.met", ob)
    assert entry["confirmation"]["email"]["confirmed_by"] == "bounce_window"
    assert entry["confirmation"]["email"]["no_hard_bounce_within"] == "3 day(s)" and entry["confirmation"]["email"]["confirmed"] == 3
    assert entry["sent_at"] == sent["sent_at"] and entry["on_time"] is True
    stack.verify()


@verifies("tn.consumer_notice.method")
async def test_a_bounce_inside_the_window_reopens_the_notice_a_letter_follows_and_it_is_met_after_a_new_window_56_2_1006_c(
    stack: Stack,
) -> None:
    tn = affected("TN", 3, with_email=3, electronic_primary_channel=True)
    ob, handle = await _start(stack, "INC-CNC-BOUNCE", tn, [electronic(n) for n in range(1, 4)])
    await until(handle, lambda st: st.status is ObligationStatus.SENT)
    assert not (stack.settings.outbox_dir / "print").exists(), "electronic notice: no letter yet"
    first = _one(stack, "INC-CNC-BOUNCE", "consumer_notice.sent", ob)

    await stack.skip(timedelta(days=1))
    returned = await stack.resources.notices.record_returned_notices(ReturnedNoticesInput(
        obligation_id=ob.obligation_id, channel="email", recipient_refs=[ref("C-TN-2")],
        reason="550 5.1.1 <recipient>: mailbox unavailable",
    ))
    assert returned.recorded == 1
    await handle.signal(ConsumerNoticeWorkflow.notices_returned)

    # Reopened, the follow-up round prints a letter to the consumer whose e-mail bounced, and the
    # notice is sent again: two sent entries, the second after the bounce.
    await until(handle, lambda st: len(entries(stack, "INC-CNC-BOUNCE", "consumer_notice.sent", ob.obligation_id)) == 2)
    reopened = _one(stack, "INC-CNC-BOUNCE", "consumer_notice.reopened", ob)
    assert (reopened["reason"], reopened["emails_returned"], reopened["letters_returned"], reopened["follow_up"]) == (
        "returned", 1, 0, True
    )
    assert reopened["outstanding_on_roster"] == 1 and reopened["sent_at"] == first["sent_at"]
    letters = [line for m in (stack.settings.outbox_dir / "print").rglob("manifest.csv") for line in m.read_text().splitlines()[1:]]
    assert len(letters) == 1 and ref("C-TN-2") in letters[0]
    assert len(stack.smtp.recorder.recipients()) == 3, "nobody e-mailed twice"

    second = entries(stack, "INC-CNC-BOUNCE", "consumer_notice.sent", ob.obligation_id)[1]
    assert datetime.fromisoformat(second["sent_at"]) > datetime.fromisoformat(first["sent_at"]) + timedelta(days=1)
    channels = second["evidence"]["channels"]
    assert (channels["email"]["sent"], channels["email"]["returned"], channels["postal"]["sent"]) == (2, 1, 1)
    assert channels["postal"]["manifests_sha256"] == sorted(_manifest_digests(stack.settings.outbox_dir))

    # Confirmed only when a new window has passed since the second sending.
    await stack.skip(WINDOW - timedelta(hours=6))
    state = await state_of(handle)
    assert state.status is ObligationStatus.SENT, "the first window has passed, the new one has not"
    assert not entries(stack, "INC-CNC-BOUNCE", "consumer_notice.met", ob.obligation_id)
    await stack.skip(timedelta(hours=7))
    met = await until(handle, lambda st: st.status.resolved)
    assert met.status is ObligationStatus.MET
    entry = _one(stack, "INC-CNC-BOUNCE", "consumer_notice.met", ob)
    assert entry["sent_at"] == second["sent_at"] and entry["notified"] == 3
    assert entry["confirmation"]["email"]["confirmed"] == 2 and entry["confirmation"]["postal"]["confirmed"] == 1
    assert datetime.fromisoformat(entry["confirmed_at"]) - datetime.fromisoformat(second["sent_at"]) >= WINDOW
    stack.verify()


@verifies("tn.consumer_notice.method")
async def test_substitute_notice_is_sent_with_the_posting_url_and_the_outlets_and_met_on_them_56_2_1006_c_3(
    stack: Stack,
) -> None:
    tn = affected("TN", 18_400, with_email=12_100, notice_cost_usd="300000")
    ob, handle = await _start(stack, "INC-CNC-SUB", tn, [consumer(1, email=True), consumer(2)])
    assert ob.substitute_notice is not None and ob.substitute_notice.triggers == ["cost_exceeds_threshold"]
    await until(handle, lambda st: st.status is ObligationStatus.SENT)
    sent = _one(stack, "INC-CNC-SUB", "consumer_notice.sent", ob)
    channels = sent["evidence"]["channels"]
    website, media = channels["website"], channels["media"]
    assert website["url"] == "https://www.cumberland.example/notice" and website["part"] == "B"
    assert website["citation"] == "Tenn. Code Ann. § 56-2-1006(c)(3)(B)"
    posting = stack.settings.outbox_dir / website["location"]
    assert website["document_sha256"] == hashlib.sha256(posting.read_bytes()).hexdigest()
    assert media["outlets"] == ["The Tennessean"] and media["citation"] == "Tenn. Code Ann. § 56-2-1006(c)(3)(C)"
    assert (stack.settings.outbox_dir / media["location"]).exists()
    assert channels["email"]["sent"] == 1 and "postal" not in channels, "class-wide: e-mail where known, no letters"
    assert sent["evidence"]["reconciliation"]["covered_by_substitute"] == 18_399

    await stack.skip(WINDOW + timedelta(hours=1))
    met = await until(handle, lambda st: st.status.resolved)
    assert met.status is ObligationStatus.MET
    confirmation = _one(stack, "INC-CNC-SUB", "consumer_notice.met", ob)["confirmation"]
    assert confirmation["website"]["confirmed_by"] == "posting_url" and "records no publication confirmation" in confirmation["website"]["note"]
    assert confirmation["media"]["confirmed_by"] == "submission_record" and "records no outlet confirmation" in confirmation["media"]["note"]
    assert confirmation["media"]["outlets"] == ["The Tennessean"] and confirmation["email"]["confirmed"] == 1


@verifies("tn.consumer_notice.deadline")
async def test_timeliness_is_judged_on_sending_not_on_the_confirmation_56_2_1006_c(stack: Stack) -> None:
    """Sent a day before the 45-day deadline, confirmed two days after it: met, on time, and no
    overdue turn. Sent after the deadline: met_late, late by the sending, not the confirmation."""
    tn = affected("TN", 1, with_email=1, electronic_primary_channel=True)
    ob, handle = await _start(stack, "INC-CNC-ONTIME", tn, [electronic(1)], approve=False)
    await stack.skip(ob.due - await stack.now() - timedelta(days=1))
    await handle.signal("approve", "cco")
    sent_state = await until(handle, lambda st: st.status is ObligationStatus.SENT)
    assert sent_state.sent_at is not None and sent_state.sent_at < ob.due
    await stack.skip(WINDOW + timedelta(hours=1))
    met = await until(handle, lambda st: st.status.resolved)
    assert met.status is ObligationStatus.MET
    assert met.confirmed_at is not None and met.confirmed_at > ob.due
    entry = _one(stack, "INC-CNC-ONTIME", "consumer_notice.met", ob)
    assert entry["on_time"] is True and "late_by_seconds" not in entry
    assert not entries(stack, "INC-CNC-ONTIME", "consumer_notice.overdue", ob.obligation_id), "sent: no overdue turn"


@verifies("tn.consumer_notice.deadline")
async def test_a_notice_sent_after_the_deadline_is_met_late_by_its_sending_56_2_1006_c(stack: Stack) -> None:
    tn = affected("TN", 1, with_email=1, electronic_primary_channel=True)
    ob, handle = await _start(stack, "INC-CNC-LATE", tn, [electronic(1)], approve=False)
    await stack.skip(ob.due - await stack.now() + timedelta(hours=6))
    await until(handle, lambda st: st.status is ObligationStatus.OVERDUE)
    await handle.signal("approve", "cco")
    sent_state = await until(handle, lambda st: st.status is ObligationStatus.SENT)
    assert sent_state.sent_at is not None
    sent = _one(stack, "INC-CNC-LATE", "consumer_notice.sent", ob)
    assert sent["on_time"] is False
    await stack.skip(WINDOW + timedelta(hours=1))
    met = await until(handle, lambda st: st.status.resolved)
    assert met.status is ObligationStatus.MET_LATE
    entry = _one(stack, "INC-CNC-LATE", "consumer_notice.met_late", ob)
    assert entry["late_by_seconds"] == int((sent_state.sent_at - ob.due).total_seconds())
    assert datetime.fromisoformat(entry["confirmed_at"]) - sent_state.sent_at >= WINDOW
    assert len(entries(stack, "INC-CNC-LATE", "consumer_notice.overdue", ob.obligation_id)) == 1


@verifies("tn.consumer_notice.method")
async def test_a_corrected_roster_inside_the_window_reopens_the_notice_for_the_consumers_it_adds_56_2_1006_c(
    stack: Stack,
) -> None:
    tn = affected("TN", 3, with_email=3, electronic_primary_channel=True)
    ob, handle = await _start(stack, "INC-CNC-ROSTER", tn, [electronic(n) for n in range(1, 4)])
    await until(handle, lambda st: st.status is ObligationStatus.SENT)
    await stack.skip(timedelta(days=1))
    stack.store_roster("INC-CNC-ROSTER-roster-2", [electronic(n) for n in range(1, 5)])
    await handle.signal("attach_roster", "INC-CNC-ROSTER-roster-2")
    await until(handle, lambda st: len(entries(stack, "INC-CNC-ROSTER", "consumer_notice.sent", ob.obligation_id)) == 2)
    assert _one(stack, "INC-CNC-ROSTER", "consumer_notice.reopened", ob)["reason"] == "corrected_roster"
    assert sorted(stack.smtp.recorder.recipients()) == [f"person{n}@example.net" for n in range(1, 5)], "only the one added"
    first, second = entries(stack, "INC-CNC-ROSTER", "consumer_notice.sent", ob.obligation_id)
    assert second["evidence"]["channels"]["email"]["sent"] == 4
    assert second["evidence"]["reconciliation"]["outcome"] == "roster_exceeds_estimate"
    assert datetime.fromisoformat(second["sent_at"]) > datetime.fromisoformat(first["sent_at"])
    await stack.skip(WINDOW + timedelta(hours=1))
    met = await until(handle, lambda st: st.status.resolved)
    assert met.status is ObligationStatus.MET
    assert _one(stack, "INC-CNC-ROSTER", "consumer_notice.met", ob)["sent_at"] == second["sent_at"]


@verifies("tn.consumer_notice.method")
async def test_an_estimate_the_roster_no_longer_covers_reopens_a_sent_notice_56_2_1006_c(stack: Stack) -> None:
    tn = affected("TN", 3, with_email=3, electronic_primary_channel=True)
    ob, handle = await _start(stack, "INC-CNC-EST", tn, [electronic(n) for n in range(1, 4)])
    await until(handle, lambda st: st.status is ObligationStatus.SENT)
    await handle.signal("estimate_revised", 5)
    reopened = await until(handle, lambda st: st.status is not ObligationStatus.SENT)
    assert reopened.status is ObligationStatus.PENDING and reopened.sent_at is None
    assert reopened.waiting_for.startswith("roster has 3 of 5 estimated affected Tennessee residents")
    entry = _one(stack, "INC-CNC-EST", "consumer_notice.reopened", ob)
    assert (entry["reason"], entry["follow_up"], entry["estimate"], entry["outcome"]) == ("estimate_revised", False, 5, "roster_short")
    (reconciled,) = entries(stack, "INC-CNC-EST", "consumer_notice.reconciled", ob.obligation_id)
    assert (reconciled["estimate"], reconciled["met"]) == (5, False)
    await stack.skip(WINDOW + timedelta(hours=1))
    assert not entries(stack, "INC-CNC-EST", "consumer_notice.met", ob.obligation_id), "not met while the roster is short"
