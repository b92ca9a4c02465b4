"""Filed is sent, not received: CommissionerNoticeWorkflow on the time-skipping server with a real
worker, ledger and SMTP server. The filing (the outbox's receipt) makes the obligation ``sent``;
only the regulator's acknowledgement with its reference number — a ``.ack.json`` beside the
filing, the true external boundary, or a person's recorded step — makes it ``met``, judged on
when it was filed (Tenn. Code Ann. § 56-2-1006(b): notice *given* within three business days).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from temporalio.api.enums.v1 import WorkflowExecutionStatus
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from models.lifecycle import MaterialUpdate, ObligationInput, ObligationStatus
from models.notice import RegulatorAcknowledgement
from models.obligation import Obligation
from models.steps import Responder, Responders
from tests.activities.conftest import SmtpServer
from tests.workflows.conftest import NOTICES, Stack, eventually, running_stack
from tests.workflows.notice_helpers import (
    affected,
    entries,
    event,
    obligation_for,
    state_of,
    until,
)
from workflows.commissioner_notice import CommissionerNoticeWorkflow
from workflows.obligation_base import obligation_workflow_id

OWNER = Responder(responder_id="jdoe", name="Jordan Doe", email="jordan.doe@cumberland.example")


async def _file(stack: Stack, incident_id: str, *, due_in: timedelta, responders: Responders | None = None
                ) -> tuple[WorkflowHandle, Obligation]:
    now = await stack.now()
    intake = event(now, incident_id, [affected("TN", 3)])
    ob = obligation_for(intake, "commissioner_notice", "TN").model_copy(update={"due": now + due_in})
    handle = await stack.client.start_workflow(
        CommissionerNoticeWorkflow.run,
        ObligationInput(
            incident_id=incident_id, parent_workflow_id=f"no-event-{incident_id}", obligation=ob, intake=intake,
            notices=NOTICES, responders=responders,
        ),
        id=obligation_workflow_id(ob.obligation_id),
        task_queue=stack.task_queue,
    )
    await until(handle, lambda st: st.sent_at is not None)
    return handle, ob


def _one(stack: Stack, incident_id: str, type_: str, ob: Obligation) -> dict[str, Any]:
    (found,) = entries(stack, incident_id, type_, ob.obligation_id)
    return found


async def test_a_filed_report_is_sent_not_met_until_the_regulator_acknowledges_it_56_2_1006_b(stack: Stack) -> None:
    handle, ob = await _file(stack, "INC-ACK-1", due_in=timedelta(days=3))
    # Polled at 10 s, 1 min, 10 min and then hourly: a day without an acknowledgement stays sent.
    await stack.skip(timedelta(hours=20))
    state = await state_of(handle)
    assert state.status is ObligationStatus.SENT and not state.status.resolved
    assert state.sent_at is not None and state.confirmed_at is None and state.met_at is None
    assert "acknowledgement" in state.waiting_for and state.evidence["sent"]["portal"] == "outbox"
    sent = _one(stack, "INC-ACK-1", "commissioner_notice.sent", ob)
    assert sent["on_time"] is True and sent["evidence"]["submission_id"].endswith("-v1")
    assert not entries(stack, "INC-ACK-1", "commissioner_notice.met", ob.obligation_id)

    ack = stack.acknowledge(ob.obligation_id, reference="TN-DOI-2026-0042")
    await stack.skip(timedelta(hours=1))
    met = await until(handle, lambda st: st.status is ObligationStatus.MET)
    assert met.confirmed_at == ack.received_at and met.met_at == met.sent_at
    assert met.evidence["confirmation"]["acknowledgement_reference"] == "TN-DOI-2026-0042"
    entry = _one(stack, "INC-ACK-1", "commissioner_notice.met", ob)
    assert entry["confirmation"]["acknowledgement_reference"] == "TN-DOI-2026-0042"
    assert entry["sent_at"] == sent["sent_at"] and entry["on_time"] is True
    types = [e.type for e in stack.entries("INC-ACK-1")]
    assert types.index("commissioner_notice.sent") < types.index("commissioner_notice.met")
    stack.verify()


async def test_filed_before_the_deadline_and_acknowledged_after_it_is_met_on_time_56_2_1006_b(stack: Stack) -> None:
    handle, ob = await _file(stack, "INC-ACK-LATE", due_in=timedelta(hours=1))
    await stack.skip(timedelta(hours=3))
    assert (await state_of(handle)).status is ObligationStatus.SENT
    assert not entries(stack, "INC-ACK-LATE", "commissioner_notice.overdue", ob.obligation_id), "given in time: never overdue"

    after_due = ob.due + timedelta(hours=2)
    stack.acknowledge(ob.obligation_id, reference="TN-LATE-ACK-7", received_at=after_due)
    await stack.skip(timedelta(hours=1))
    met = await until(handle, lambda st: st.status.resolved)
    assert met.status is ObligationStatus.MET, "timeliness is judged on when the report was filed"
    assert met.sent_at is not None and met.sent_at <= ob.due < met.confirmed_at == after_due
    entry = _one(stack, "INC-ACK-LATE", "commissioner_notice.met", ob)
    assert entry["on_time"] is True and "late_by_seconds" not in entry
    assert not entries(stack, "INC-ACK-LATE", "commissioner_notice.met_late", ob.obligation_id)


async def test_no_acknowledgement_within_two_business_days_alerts_the_owner_and_shows_on_the_obligation(stack: Stack) -> None:
    handle, ob = await _file(stack, "INC-ACK-NONE", due_in=timedelta(days=20), responders=Responders(owner=OWNER))
    sent = _one(stack, "INC-ACK-NONE", "commissioner_notice.sent", ob)
    expected_by = datetime.fromisoformat(sent["evidence"]["acknowledgement_expected_by"])
    await stack.skip(expected_by - await stack.now() - timedelta(hours=2))
    assert not entries(stack, "INC-ACK-NONE", "commissioner_notice.acknowledgement_missing", ob.obligation_id)

    await stack.skip(timedelta(hours=3))

    async def missing() -> dict[str, Any] | None:
        found = entries(stack, "INC-ACK-NONE", "commissioner_notice.acknowledgement_missing", ob.obligation_id)
        alerts = entries(stack, "INC-ACK-NONE", "commissioner_notice.alert_sent", ob.obligation_id)
        return found[0] if found and alerts else None
    entry = await eventually(missing)
    assert entry["version"] == 1 and entry["expected_by"] == expected_by.isoformat()
    state = await state_of(handle)
    assert state.status is ObligationStatus.SENT
    assert "none came within two business days" in state.waiting_for and "record the acknowledgement" in state.waiting_for
    (alert,) = entries(stack, "INC-ACK-NONE", "commissioner_notice.alert_sent", ob.obligation_id)
    assert alert["alert"] == "acknowledgement_missing" and alert["recipients"][0]["responder_id"] == "jdoe"
    subjects = [m["Subject"] for m in stack.smtp.recorder.messages()]
    assert any(s.startswith("[noticeflow] No acknowledgement: commissioner notice for TN") for s in subjects)
    assert not entries(stack, "INC-ACK-NONE", "commissioner_notice.overdue", ob.obligation_id)


async def test_a_person_records_the_acknowledgement_and_updated_reports_are_tracked_too_56_2_1006_b_2(stack: Stack) -> None:
    handle, ob = await _file(stack, "INC-ACK-PERSON", due_in=timedelta(days=3))
    now = await stack.now()
    await handle.signal(
        CommissionerNoticeWorkflow.record_acknowledgement,
        RegulatorAcknowledgement(reference="TN-PHONE-1138", received_at=now, recorded_by="cco", evidence_sha256="b" * 64),
    )
    met = await until(handle, lambda st: st.status is ObligationStatus.MET)
    assert met.evidence["confirmation"]["recorded_by"] == "cco"
    (met_entry,) = [e for e in stack.entries("INC-ACK-PERSON") if e.type == "commissioner_notice.met"]
    assert met_entry.actor == "user:cco" and met_entry.data["confirmation"]["evidence_sha256"] == "b" * 64

    await handle.signal(
        CommissionerNoticeWorkflow.material_update,
        MaterialUpdate(sequence=1, step="finding/1", summary="the source was identified", changes=["(E) source identified"],
                       recorded_by="jdoe", intake=event(now, "INC-ACK-PERSON", [affected("TN", 3)])),
    )
    await until(handle, lambda st: st.updates_sent == 1)
    updated = _one(stack, "INC-ACK-PERSON", "commissioner_notice.updated", ob)
    assert updated["version"] == 2 and updated["sent_at"] and updated["submission_id"].endswith("-v2")
    assert "v2" in (await state_of(handle)).waiting_for

    stack.acknowledge(ob.obligation_id, version=2, reference="TN-UPD-2")
    await stack.skip(timedelta(hours=1))

    async def acknowledged() -> list[dict[str, Any]]:
        return entries(stack, "INC-ACK-PERSON", "commissioner_notice.acknowledged", ob.obligation_id)
    (ack2,) = await eventually(acknowledged)
    assert ack2["version"] == 2 and ack2["acknowledgement_reference"] == "TN-UPD-2"
    state = await state_of(handle)
    assert state.status is ObligationStatus.MET and "v2" not in state.waiting_for


async def test_the_dev_outbox_simulates_acknowledgements_only_when_asked_and_says_so(
    time_skipping_env: WorkflowEnvironment, task_queue: str, tmp_path: Path, smtp_server: SmtpServer
) -> None:
    async with running_stack(time_skipping_env, task_queue, tmp_path, smtp_server, outbox_simulate_acks=True) as stack:
        handle, _ = await _file(stack, "INC-ACK-SIM", due_in=timedelta(days=3))
        await stack.skip(timedelta(minutes=1))
        met = await until(handle, lambda st: st.status is ObligationStatus.MET)
    confirmation = met.evidence["confirmation"]
    assert confirmation["acknowledgement_reference"].startswith("SIM-")
    assert "simulated" in confirmation["simulated"] and confirmation["recorded_by"] == "portal:outbox (simulated)"
    (ack_file,) = (tmp_path / "home" / "outbox" / "regulators" / "TN").glob("*.ack.json")
    assert '"simulated": true' in ack_file.read_text()


# -- after the event is closed: an updated report filed just before still needs its acknowledgement ----


async def _met(stack: Stack, incident_id: str) -> tuple[WorkflowHandle, Obligation]:
    """The initial report filed and acknowledged: the obligation met, nothing owed."""
    handle, ob = await _file(stack, incident_id, due_in=timedelta(days=3), responders=Responders(owner=OWNER))
    stack.acknowledge(ob.obligation_id, reference="TN-ACK-1")
    await stack.skip(timedelta(minutes=2))
    await until(handle, lambda st: st.status is ObligationStatus.MET)
    return handle, ob


async def _met_then_updated_then_closed(stack: Stack, incident_id: str) -> tuple[WorkflowHandle, Obligation]:
    """The initial report acknowledged (met); an updated report (v2) filed; the event closed before
    the regulator acknowledged v2."""
    handle, ob = await _met(stack, incident_id)
    now = await stack.now()
    await handle.signal(
        CommissionerNoticeWorkflow.material_update,
        MaterialUpdate(sequence=1, step="finding/9", summary="the source was identified", changes=["(E) source identified"],
                       recorded_by="jdoe", intake=event(now, incident_id, [affected("TN", 3)])),
    )
    await until(handle, lambda st: st.updates_sent == 1)
    await handle.signal(CommissionerNoticeWorkflow.event_closed)
    return handle, ob


async def test_an_update_filed_before_closure_is_still_tracked_until_acknowledged_after_it_56_2_1006_b_2(stack: Stack) -> None:
    handle, ob = await _met_then_updated_then_closed(stack, "INC-ACK-CLOSED")
    # Closed, yet the workflow keeps asking the portal for v2's acknowledgement instead of ending.
    await stack.skip(timedelta(hours=3))
    state = await state_of(handle)
    assert "v2" in state.waiting_for and "the event is closed" in state.waiting_for
    raw = await stack.describe_raw(handle.id)
    assert raw.workflow_execution_info.status == WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_RUNNING

    stack.acknowledge(ob.obligation_id, version=2, reference="TN-UPD-CLOSED-2")
    await stack.skip(timedelta(hours=1))
    result = await handle.result()
    assert result.status is ObligationStatus.MET and result.waiting_for == "nothing: done"
    (ack2,) = entries(stack, "INC-ACK-CLOSED", "commissioner_notice.acknowledged", ob.obligation_id)
    assert ack2["version"] == 2 and ack2["acknowledgement_reference"] == "TN-UPD-CLOSED-2"
    assert not entries(stack, "INC-ACK-CLOSED", "commissioner_notice.acknowledgement_missing", ob.obligation_id)
    stack.verify()


async def test_after_closure_a_missing_acknowledgement_is_reminded_then_stated_plainly_and_the_workflow_ends(
    stack: Stack,
) -> None:
    handle, ob = await _met_then_updated_then_closed(stack, "INC-ACK-NEVER")
    updated = _one(stack, "INC-ACK-NEVER", "commissioner_notice.updated", ob)
    # No acknowledgement ever comes: the two-business-day alert, then — ten business days after the
    # last filing (NOTICEFLOW_ACKNOWLEDGEMENT_TRACKING_BUSINESS_DAYS) — the final entry, and the end.
    result = await handle.result()
    assert result.status is ObligationStatus.MET  # the initial report's acknowledgement still meets it
    missing = entries(stack, "INC-ACK-NEVER", "commissioner_notice.acknowledgement_missing", ob.obligation_id)
    assert [m.get("final", False) for m in missing] == [False, True]
    reminder, final = missing
    assert reminder["version"] == final["version"] == 2
    filed = datetime.fromisoformat(updated["sent_at"])
    ended = datetime.fromisoformat(final["tracking_ended_at"])
    assert timedelta(days=12) <= ended - filed <= timedelta(days=16)  # 10 business days, weekends and holidays between
    assert "No acknowledgement of version 2" in final["statement"] and "10 business days" in final["statement"]
    assert "event is closed" in final["statement"]
    alerts = [a["alert"] for a in entries(stack, "INC-ACK-NEVER", "commissioner_notice.alert_sent", ob.obligation_id)]
    assert alerts.count("acknowledgement_missing") == 2  # the reminder's and the final one's
    (final_entry,) = [e for e in stack.entries("INC-ACK-NEVER") if e.step.endswith("acknowledgement_missing/v2/final")]
    assert final_entry.citation == ob.citation and final_entry.jurisdiction == "TN"
    stack.verify()


async def test_a_last_update_arriving_with_the_closure_is_filed_and_tracked_until_acknowledged_56_2_1006_b_2(stack: Stack) -> None:
    """The closure and a last change (here, item (N) once the consumer notice went out) reach the
    commissioner's workflow together, with nothing else owed: the updated report is filed, and its
    acknowledgement is asked for after closure like any other — the run does not end with it owed."""
    handle, ob = await _met(stack, "INC-ACK-LAST")
    now = await stack.now()
    await handle.signal(
        CommissionerNoticeWorkflow.material_update,
        MaterialUpdate(sequence=1, step="consumer_notice/sent", summary="the consumer notice was sent",
                       changes=["(N) copy of the notice sent to affected consumers"], recorded_by="jdoe",
                       intake=event(now, "INC-ACK-LAST", [affected("TN", 3)])),
    )
    await handle.signal(CommissionerNoticeWorkflow.event_closed)
    await until(handle, lambda st: st.updates_sent == 1)
    await stack.skip(timedelta(hours=3))
    raw = await stack.describe_raw(handle.id)
    assert raw.workflow_execution_info.status == WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_RUNNING
    assert "v2" in (await state_of(handle)).waiting_for

    stack.acknowledge(ob.obligation_id, version=2, reference="TN-UPD-LAST-2")
    await stack.skip(timedelta(hours=1))
    result = await handle.result()
    assert result.status is ObligationStatus.MET
    (ack2,) = entries(stack, "INC-ACK-LAST", "commissioner_notice.acknowledged", ob.obligation_id)
    assert ack2["version"] == 2 and ack2["acknowledgement_reference"] == "TN-UPD-LAST-2"
    stack.verify()
