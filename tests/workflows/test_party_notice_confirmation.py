"""Sent is not received: CedingInsurerNoticeWorkflow and ProducerNoticeWorkflow on the
time-skipping server with a real worker, ledger and SMTP server (aiosmtpd answering like Postfix,
"250 2.0.0 Ok: queued as …"). The relay's acceptance makes the notice ``sent`` with each
recipient's queue id; it is ``met`` only when the bounce window (NOTICEFLOW_BOUNCE_WINDOW_DAYS,
3 days) passes without a hard bounce; a bounce inside the window reopens it (Tenn. Code Ann.
§ 56-2-1006(e), (f)).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from temporalio.client import WorkflowHandle

from models.content import CedingInsurer
from models.lifecycle import ObligationInput, ObligationStatus
from models.notice import ReturnedNoticesInput
from models.obligation import Obligation
from tests.workflows.conftest import NOTICES, Stack, make_intake
from tests.workflows.notice_helpers import (
    affected,
    entries,
    event,
    obligation_for,
    start_obligation,
    state_of,
    until,
)
from tests.workflows.test_producer_notice import PRODUCERS, consumer
from workflows.obligation_base import obligation_workflow_id
from workflows.party_notices import CedingInsurerNoticeWorkflow

INSURERS = [
    CedingInsurer(name="Cumberland Mutual Insurance Company", naic_code="24871", email="claims@cumberland.example"),
    CedingInsurer(name="Volunteer State Casualty", naic_code="19870", email="notices@volunteer-casualty.example"),
]


def _postfix_like(stack: Stack) -> None:
    """The relay names its queue id in its reply to DATA, as Postfix does."""
    recorder = stack.smtp.recorder
    plain = recorder.handle_DATA

    async def handle_DATA(server, session, envelope):
        await plain(server, session, envelope)
        return f"250 2.0.0 Ok: queued as Q{len(recorder.received):04d}ABC"

    recorder.handle_DATA = handle_DATA  # type: ignore[method-assign]


async def _send(stack: Stack, incident_id: str) -> tuple[WorkflowHandle, Obligation]:
    _postfix_like(stack)
    now = await stack.now()
    intake = make_intake(
        now, incident_id=incident_id, determined_at=now.isoformat(),
        licensee={"name": "Appalachian Re", "naic_code": "31990", "kind": "assuming_insurer",
                  "domicile_state": "TN", "home_state": "TN"},
        affected=[{"state": "TN", "consumers": 800, "material_harm_likely": True, "other_government_notice_required": False,
                   "with_email": 0, "without_contact": 0, "producers_of_record_known": False}],
    )
    ob = obligation_for(intake, "ceding_insurer_notice", "TN")
    handle = await stack.client.start_workflow(
        CedingInsurerNoticeWorkflow.run,
        ObligationInput(
            incident_id=incident_id, parent_workflow_id=f"no-event-{incident_id}", obligation=ob, intake=intake,
            notices=NOTICES.model_copy(update={"ceding_insurers": INSURERS}),
        ),
        id=obligation_workflow_id(ob.obligation_id),
        task_queue=stack.task_queue,
    )
    await until(handle, lambda st: st.status is ObligationStatus.SENT)
    return handle, ob


def _one(stack: Stack, incident_id: str, type_: str, ob: Obligation) -> dict[str, Any]:
    (found,) = entries(stack, incident_id, type_, ob.obligation_id)
    return found


async def test_ceding_insurer_notice_is_met_when_the_bounce_window_passes_without_a_bounce_56_2_1006_e(stack: Stack) -> None:
    handle, ob = await _send(stack, "INC-CED-OK")
    sent = _one(stack, "INC-CED-OK", "ceding_insurer_notice.sent", ob)
    recipients = {r["recipient_ref"]: r for r in sent["evidence"]["recipients"]}
    assert set(recipients) == {"24871", "19870"} and sent["on_time"] is True
    assert {r["queue_id"] for r in recipients.values()} == {"Q0001ABC", "Q0002ABC"}
    assert all(r["relay_reply"].startswith("250 2.0.0 Ok: queued as") and r["message_id"] for r in recipients.values())
    assert not any(i.email in str(sent) for i in INSURERS), "no address in the ledger"

    await stack.skip(timedelta(days=2, hours=20))
    state = await state_of(handle)
    assert state.status is ObligationStatus.SENT and "bounce window" in state.waiting_for
    assert not entries(stack, "INC-CED-OK", "ceding_insurer_notice.met", ob.obligation_id)

    await stack.skip(timedelta(hours=5))
    met = await until(handle, lambda st: st.status.resolved)
    assert met.status is ObligationStatus.MET
    assert met.sent_at is not None and met.confirmed_at is not None
    assert met.confirmed_at - met.sent_at >= timedelta(days=3)
    entry = _one(stack, "INC-CED-OK", "ceding_insurer_notice.met", ob)
    assert entry["on_time"] is True and sorted(entry["confirmation"]["recipients_confirmed"]) == ["19870", "24871"]
    assert entry["sent_at"] == sent["sent_at"]
    stack.verify()


async def test_a_bounce_inside_the_window_reopens_the_notice_and_it_is_never_met_56_2_1006_e(stack: Stack) -> None:
    handle, ob = await _send(stack, "INC-CED-BOUNCE")
    key = (await state_of(handle)).evidence["sent"]["delivery_key"]
    await stack.skip(timedelta(days=1))
    returned = await stack.resources.notices.record_returned_notices(ReturnedNoticesInput(
        obligation_id=key, channel="email", recipient_refs=["19870"], reason="550 5.1.1 <recipient>: mailbox unavailable",
    ))
    assert returned.recorded == 1
    await handle.signal(CedingInsurerNoticeWorkflow.notices_returned)
    reopened = await until(handle, lambda st: st.status is not ObligationStatus.SENT)
    assert reopened.status is ObligationStatus.PENDING and reopened.sent_at is None
    assert "19870" in reopened.waiting_for and "complete manually" in reopened.waiting_for
    entry = _one(stack, "INC-CED-BOUNCE", "ceding_insurer_notice.reopened", ob)
    assert [r["recipient_ref"] for r in entry["returned"]] == ["19870"] and entry["confirmed"] == ["24871"]
    assert "550 5.1.1" in entry["returned"][0]["reason"]

    await stack.skip(timedelta(days=4))
    state = await state_of(handle)
    assert state.status is ObligationStatus.OVERDUE, "its deadline passed while a notice was undelivered"
    assert not entries(stack, "INC-CED-BOUNCE", "ceding_insurer_notice.met", ob.obligation_id)
    assert entries(stack, "INC-CED-BOUNCE", "ceding_insurer_notice.overdue", ob.obligation_id)


async def test_a_bounce_recorded_without_telling_the_workflow_is_found_at_the_end_of_the_window(stack: Stack) -> None:
    handle, ob = await _send(stack, "INC-CED-QUIET")
    key = (await state_of(handle)).evidence["sent"]["delivery_key"]
    # No bounce mailbox is configured: the first hourly reading says so, and nothing is read after it.
    await stack.skip(timedelta(hours=2))
    await stack.resources.notices.record_returned_notices(ReturnedNoticesInput(
        obligation_id=key, channel="email", recipient_refs=["24871"], reason="bounce: 550 user unknown",
    ))
    await stack.skip(timedelta(days=1))
    assert (await state_of(handle)).status is ObligationStatus.SENT, "looked at when the window ends"
    await stack.skip(timedelta(days=2))
    reopened = await until(handle, lambda st: st.status is not ObligationStatus.SENT)
    assert not reopened.status.resolved
    entry = _one(stack, "INC-CED-QUIET", "ceding_insurer_notice.reopened", ob)
    assert [r["recipient_ref"] for r in entry["returned"]] == ["24871"]
    assert datetime.fromisoformat(entry["sent_at"]) == datetime.fromisoformat(
        _one(stack, "INC-CED-QUIET", "ceding_insurer_notice.sent", ob)["sent_at"]
    )
    assert not entries(stack, "INC-CED-QUIET", "ceding_insurer_notice.met", ob.obligation_id)


async def test_a_producer_notice_is_met_only_after_the_window_and_a_bounce_reopens_it_56_2_1006_f(stack: Stack) -> None:
    _postfix_like(stack)
    now = await stack.now()
    intake = event(now, "INC-PROD-BOUNCE", [affected("TN", 2)])
    stack.store_roster("INC-PROD-BOUNCE-roster", [consumer(1, "TN", "P-1001"), consumer(2, "TN", "P-1002")])
    ob = obligation_for(intake, "producer_notice", "TN")
    handle = await start_obligation(stack, intake, ob, PRODUCERS, roster_id="INC-PROD-BOUNCE-roster")
    sent_state = await until(handle, lambda st: st.status is ObligationStatus.SENT)
    sent = _one(stack, "INC-PROD-BOUNCE", "producer_notice.sent", ob)
    assert sorted(r["recipient_ref"] for r in sent["evidence"]["recipients"]) == ["P-1001", "P-1002"]
    assert all(r["queue_id"].endswith("ABC") for r in sent["evidence"]["recipients"])

    await stack.skip(timedelta(days=1))
    assert (await state_of(handle)).status is ObligationStatus.SENT
    assert not entries(stack, "INC-PROD-BOUNCE", "producer_notice.met", ob.obligation_id)
    await stack.resources.notices.record_returned_notices(ReturnedNoticesInput(
        obligation_id=sent_state.evidence["sent"]["delivery_key"], channel="email", recipient_refs=["P-1002"],
        reason="550 5.1.1 mailbox unavailable",
    ))
    await handle.signal("notices_returned")
    reopened = await until(handle, lambda st: st.status is not ObligationStatus.SENT)
    assert not reopened.status.resolved and "P-1002" in reopened.waiting_for
    await stack.skip(timedelta(days=3))
    assert not entries(stack, "INC-PROD-BOUNCE", "producer_notice.met", ob.obligation_id)
    entry = _one(stack, "INC-PROD-BOUNCE", "producer_notice.reopened", ob)
    assert [r["recipient_ref"] for r in entry["returned"]] == ["P-1002"] and entry["confirmed"] == ["P-1001"]
