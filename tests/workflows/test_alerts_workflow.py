"""Reminders and overdue alerts reach the event's responders: an obligation workflow on the
time-skipping server with a real worker, a real ledger and a real SMTP server passes its reminder
offsets, its due instant and the escalation interval; each turn e-mails the people it owes and
records who was reached, by responder id.

The obligation runs as its own workflow (its event workflow is not needed to pass a deadline):
a consumer notice waits for a roster and an approval that never come, so its clock runs out.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from temporalio.client import WorkflowHandle

from models.ledger import LedgerEntry as Entry
from models.lifecycle import (
    Determination,
    IncidentStart,
    ManualCompletion,
    ObligationInput,
    ObligationState,
    ObligationStatus,
)
from models.obligation import Obligation
from models.steps import AssignResponders, Responder, Responders
from rules import compute_obligations
from tests.workflows.conftest import NOTICES, Stack, eventually, make_intake
from workflows.consumer_notice import ConsumerNoticeWorkflow
from workflows.incident import CybersecurityEventWorkflow, incident_workflow_id
from workflows.obligation_base import obligation_workflow_id

OWNER = Responder(responder_id="jdoe", name="Jordan Doe", email="jordan.doe@cumberland.example")
BACKUP = Responder(responder_id="asmith", name="Alex Smith", email="alex.smith@cumberland.example")
NEW_OWNER = Responder(responder_id="mlee", name="Morgan Lee", email="morgan.lee@cumberland.example")
#: The deadline, from the workflow's start: the 24 h reminder falls 6 h in, the 4 h one at 26 h.
DUE_IN = timedelta(hours=30)


async def _start(stack: Stack, incident_id: str, responders: Responders | None) -> tuple[WorkflowHandle, Obligation]:
    now = await stack.now()
    intake = make_intake(now, incident_id=incident_id)
    (consumer,) = [o for o in compute_obligations(intake).obligations if o.kind.value == "consumer_notice"]
    ob = consumer.model_copy(update={"due": now + DUE_IN})
    handle = await stack.client.start_workflow(
        ConsumerNoticeWorkflow.run,
        ObligationInput(
            incident_id=incident_id,
            parent_workflow_id=f"incident-{incident_id}",  # not running: the obligation's state goes nowhere
            obligation=ob,
            intake=intake,
            notices=NOTICES,
            responders=responders,
        ),
        id=obligation_workflow_id(ob.obligation_id),
        task_queue=stack.task_queue,
    )
    return handle, ob


async def _entry(stack: Stack, incident_id: str, type_: str, count: int = 1) -> list[Entry]:
    async def recorded() -> list[Entry] | None:
        found = [e for e in stack.entries(incident_id) if e.type == type_]
        return found if len(found) >= count else None

    recorded.__name__ = f"{count} × {type_}"
    return await eventually(recorded)


def _who(entry: Entry) -> list[tuple[str, str, str]]:
    return [(r["responder_id"], r["role"], r["status"]) for r in entry.data["recipients"]]


def _mail_to(stack: Stack) -> list[str]:
    return stack.smtp.recorder.recipients()


async def test_reminders_overdue_alert_and_escalation_reach_owner_then_backup(stack: Stack) -> None:
    handle, ob = await _start(stack, "INC-ALERT", Responders(owner=OWNER, backup=BACKUP))

    await stack.skip(timedelta(hours=7))  # past the 24 h reminder
    (first,) = await _entry(stack, "INC-ALERT", "consumer_notice.alert_sent")
    assert first.step.endswith(f"/reminder/{ob.due.isoformat()}/86400/alert")
    assert first.data["alert"] == "reminder"
    assert _who(first) == [("jdoe", "owner", "sent")]
    assert first.data["recipients"][0]["relay_reply"] == "250 Message accepted for delivery"
    assert _mail_to(stack) == [OWNER.email]

    await stack.skip(timedelta(hours=24))  # past the 4 h reminder and the deadline
    sent = await _entry(stack, "INC-ALERT", "consumer_notice.alert_sent", 3)
    assert [e.data["alert"] for e in sent] == ["reminder", "reminder", "overdue"]
    assert _who(sent[2]) == [("jdoe", "owner", "sent"), ("asmith", "backup", "sent")]
    assert sorted(_mail_to(stack)) == sorted([OWNER.email, OWNER.email, OWNER.email, BACKUP.email])
    state: ObligationState = await handle.query(ConsumerNoticeWorkflow.state)
    assert state.status is ObligationStatus.OVERDUE
    assert not [e for e in stack.entries("INC-ALERT") if e.type == "consumer_notice.escalated"]

    await stack.skip(timedelta(hours=25))  # still overdue a day later: escalated to the backup
    (escalated,) = await _entry(stack, "INC-ALERT", "consumer_notice.escalated")
    assert escalated.data["backup"] == "asmith" and escalated.data["escalation_interval_seconds"] == 86400
    sent = await _entry(stack, "INC-ALERT", "consumer_notice.alert_sent", 4)
    assert sent[3].data["alert"] == "escalation"
    assert _who(sent[3]) == [("jdoe", "owner", "sent"), ("asmith", "backup", "sent")]
    subjects = [m["Subject"].strip() for m in stack.smtp.recorder.messages()]
    assert sum(s.startswith("[noticeflow] ESCALATED: consumer notice for TN overdue by 1 day") for s in subjects) == 2

    types = [e.type for e in stack.entries("INC-ALERT")]
    assert types.index("consumer_notice.overdue") < types.index("consumer_notice.escalated")
    alerts = [e for e in stack.entries("INC-ALERT") if ".alert_" in e.type]
    assert all(e.citation == ob.citation and e.jurisdiction == "TN" for e in alerts)
    assert "@" not in json.dumps([e.data for e in alerts])  # responders by id, never their e-mail
    stack.verify()


async def test_responders_changed_redirects_the_next_alert(stack: Stack) -> None:
    handle, _ = await _start(stack, "INC-REASSIGN", Responders(owner=OWNER, backup=BACKUP))
    await stack.skip(timedelta(hours=7))
    await _entry(stack, "INC-REASSIGN", "consumer_notice.alert_sent")

    await handle.signal(ConsumerNoticeWorkflow.responders_changed, Responders(owner=NEW_OWNER, backup=OWNER))
    await stack.skip(timedelta(hours=20))  # past the 4 h reminder only
    sent = await _entry(stack, "INC-REASSIGN", "consumer_notice.alert_sent", 2)

    assert _who(sent[1]) == [("mlee", "owner", "sent")]
    assert _mail_to(stack) == [OWNER.email, NEW_OWNER.email]


async def test_with_no_responder_assigned_the_ledger_says_nobody_was_told(stack: Stack) -> None:
    await _start(stack, "INC-NOBODY", None)
    await stack.skip(timedelta(hours=7))

    (failed,) = await _entry(stack, "INC-NOBODY", "consumer_notice.alert_failed")

    assert failed.data["alert"] == "reminder"
    assert failed.data["recipients"] == [] and failed.data["webhook"] is None
    assert failed.data["note"] == "no responder assigned; no webhook configured — nobody was told"
    assert _mail_to(stack) == []
    assert not [e for e in stack.entries("INC-NOBODY") if e.type == "consumer_notice.alert_sent"]


async def test_no_escalation_once_the_overdue_notice_is_given(stack: Stack) -> None:
    handle, _ = await _start(stack, "INC-LATEMET", Responders(owner=OWNER, backup=BACKUP))
    await stack.skip(DUE_IN + timedelta(hours=1))
    await _entry(stack, "INC-LATEMET", "consumer_notice.alert_sent", 3)  # two reminders, overdue

    await handle.signal(
        ConsumerNoticeWorkflow.complete_manually,
        ManualCompletion(completed_by="jdoe", evidence="Letters mailed by the print vendor; manifest in the file."),
    )
    await _entry(stack, "INC-LATEMET", "consumer_notice.met_late")
    await stack.skip(timedelta(hours=30))

    entries: list[Any] = stack.entries("INC-LATEMET")
    assert not [e for e in entries if e.type == "consumer_notice.escalated"]
    assert len([e for e in entries if e.type == "consumer_notice.alert_sent"]) == 3
    assert sorted(_mail_to(stack)) == sorted([OWNER.email, OWNER.email, OWNER.email, BACKUP.email])


async def test_event_responders_reach_its_obligations_and_a_reassignment_redirects_them(stack: Stack) -> None:
    """Set at intake, changed by the event's ``assign_responders`` step: every obligation follows."""
    intake = make_intake(await stack.now(), incident_id="INC-EVENT-ALERT")
    handle = await stack.client.start_workflow(
        CybersecurityEventWorkflow.run,
        IncidentStart(intake=intake, notices=NOTICES, opened_by="jdoe", responders=Responders(owner=OWNER, backup=BACKUP)),
        id=incident_workflow_id(intake.incident_id),
        task_queue=stack.task_queue,
    )
    await handle.execute_update(
        CybersecurityEventWorkflow.determine,
        Determination(is_cybersecurity_event=True, decided_by="jdoe", reason="Unencrypted SSNs were exfiltrated."),
    )
    state = await handle.query(CybersecurityEventWorkflow.state)
    (consumer,) = [o for o in state.obligations if o.obligation.kind.value == "consumer_notice"]

    await stack.skip(consumer.due - await stack.now() - timedelta(hours=23))  # past the 24 h reminder
    (first,) = await _entry(stack, "INC-EVENT-ALERT", "consumer_notice.alert_sent")
    assert _who(first) == [("jdoe", "owner", "sent")]

    await handle.execute_update(
        CybersecurityEventWorkflow.assign_responders,
        AssignResponders(responders=Responders(owner=NEW_OWNER, backup=BACKUP), assigned_by="cco", reason="Jordan is on leave."),
    )
    await stack.skip(timedelta(hours=20))  # past the 4 h reminder
    sent = await _entry(stack, "INC-EVENT-ALERT", "consumer_notice.alert_sent", 2)
    assert _who(sent[1]) == [("mlee", "owner", "sent")]
    consumer_mail = [
        m["To"].strip() for m in stack.smtp.recorder.messages() if "consumer notice for TN" in m["Subject"]
    ]
    assert consumer_mail == [OWNER.email, NEW_OWNER.email]
