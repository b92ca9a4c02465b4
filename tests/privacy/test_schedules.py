"""Annual notices and the certification reminder from Temporal Schedules: the sweep pages through
the customers due (continuing as new between pages), signals their relationship workflows, which
send the annual notice at once (28 TAC § 22.9(a)); the schedules themselves are created and updated
idempotently on a real Temporal dev server."""

from __future__ import annotations

import datetime as dt
from datetime import timedelta

from temporalio.testing import WorkflowEnvironment

from models.privacy_lifecycle import (
    AnnualSweepInput,
    CertificationReminderInput,
    RelationshipStage,
    RelationshipStatusChange,
)
from noticeflow.privacy_schedules import ANNUAL_SWEEP_SCHEDULE, CERTIFICATION_SCHEDULE, ensure_privacy_schedules
from tests.privacy.builders import consumer, policy_record, relationship
from tests.privacy.conftest import Privacy
from workflows.privacy_relationship import ConsumerRelationshipWorkflow
from workflows.privacy_schedules import AnnualNoticeSweepWorkflow, PrivacyCertificationReminderWorkflow


async def test_the_sweep_pages_through_customers_due_and_their_annual_notice_goes_out_when_signalled_22_9_a(
    privacy: Privacy,
) -> None:
    consumers = [consumer(f"C-S{i}", n=20 + i) for i in range(3)]
    running = [relationship(f"REL-S{i}", f"C-S{i}") for i in range(2)]
    idle = relationship("REL-S2", "C-S2")  # registered, its lifecycle not started
    privacy.register([policy_record("v1")], consumers, [*running, idle])
    # The relationships send on their own only on the last day of the period (lead 0 days).
    handles = [await privacy.start(r, annual_send_lead_days=0) for r in running]
    for r in running:
        await privacy.wait_for(r.relationship_id, "initial_notice.sent")
    for h in handles:
        await privacy.state_when(h, lambda st: st.next_annual_due is not None)
    due = (await handles[0].query(ConsumerRelationshipWorkflow.state)).next_annual_due
    privacy.store.update_relationships(
        [RelationshipStatusChange(relationship_id="REL-S2", stage=RelationshipStage.CUSTOMER, next_annual_due=due)]
    )
    # Move to 30 days before the period ends, then run the sweep as its schedule would.
    now = await privacy.stack.now()
    await privacy.stack.skip(dt.datetime.combine(due - timedelta(days=30), dt.time(12), tzinfo=now.tzinfo) - now)
    assert not any("annual_notice.sent" in privacy.types(r.relationship_id) for r in running)
    result = await privacy.stack.client.execute_workflow(
        AnnualNoticeSweepWorkflow.run, AnnualSweepInput(lead_days=30, page_size=1, pages_per_run=1),
        id="privacy-annual-sweep-test", task_queue=privacy.stack.task_queue,
    )
    assert (result.signalled, result.not_running) == (2, 1)
    for r in running:
        (sent,) = await privacy.wait_for(r.relationship_id, "annual_notice.sent")
        assert sent.data["notice_id"] == f"annual-{due.isoformat()}"
        assert dt.datetime.fromisoformat(sent.data["mailed_at"]).date() < due  # sent on the signal, not on its own timer
    (completed,) = [e for e in privacy.stack.ledger.entries() if e.type == "annual_notice.sweep_completed"]
    assert completed.data["signalled"] == 2 and completed.citation == "28 TAC § 22.9(a)"
    # One page per run: the sweep continued as new between pages.
    history = await privacy.stack.client.get_workflow_handle("privacy-annual-sweep-test").fetch_history()
    started = history.events[0].workflow_execution_started_event_attributes
    assert started.continued_execution_run_id
    privacy.stack.verify()
    await privacy.save_history("privacy_annual_sweep", privacy.stack.client.get_workflow_handle("privacy-annual-sweep-test"))


async def test_certification_reminder_is_ledgered_as_reported_with_counsel_review(privacy: Privacy) -> None:
    result = await privacy.stack.client.execute_workflow(
        PrivacyCertificationReminderWorkflow.run, CertificationReminderInput(licensee="Brazos Mutual"),
        id="privacy-certification-test", task_queue=privacy.stack.task_queue,
    )
    assert result.needs_counsel_review and "(reported)" in result.citation
    assert (result.due_on.month, result.due_on.day) == (2, 15)
    (entry,) = [e for e in privacy.stack.ledger.entries() if e.type == "annual_certification.reminder"]
    assert entry.citation == "NAIC Insurance Data Security Model Law (#668) § 4I (reported)"
    assert entry.data["needs_counsel_review"] is True
    await privacy.save_history("privacy_certification", privacy.stack.client.get_workflow_handle("privacy-certification-test"))


async def test_schedules_are_created_then_updated_on_a_real_dev_server(dev_env: WorkflowEnvironment, task_queue: str) -> None:
    client = dev_env.client
    first = await ensure_privacy_schedules(client, task_queue, lead_days=30)
    second = await ensure_privacy_schedules(client, task_queue, lead_days=45, licensee="Brazos Mutual")
    assert first == [f"{ANNUAL_SWEEP_SCHEDULE}: created", f"{CERTIFICATION_SCHEDULE}: created"]
    assert second == [f"{ANNUAL_SWEEP_SCHEDULE}: updated", f"{CERTIFICATION_SCHEDULE}: updated"]
    sweep = await client.get_schedule_handle(ANNUAL_SWEEP_SCHEDULE).describe()
    assert sweep.schedule.action.workflow == "AnnualNoticeSweepWorkflow"  # type: ignore[union-attr]
    assert sweep.schedule.action.task_queue == task_queue  # type: ignore[union-attr]
    assert sweep.schedule.spec.time_zone_name == "America/Chicago"
    reminder = await client.get_schedule_handle(CERTIFICATION_SCHEDULE).describe()
    assert reminder.schedule.action.workflow == "PrivacyCertificationReminderWorkflow"  # type: ignore[union-attr]
    for schedule_id in (ANNUAL_SWEEP_SCHEDULE, CERTIFICATION_SCHEDULE):
        await client.get_schedule_handle(schedule_id).delete()
