"""The Temporal Schedules of the privacy lifecycles: create them, or bring them up to date.

``ensure_privacy_schedules`` is safe to run any number of times — by ``noticeflow privacy
schedules`` against a cluster, and from the dev stack's setup (call it with the stack's client and
task queue after the worker is up):

* ``noticeflow-privacy-annual-sweep`` — every day at 06:00 (America/Chicago), starts
  ``AnnualNoticeSweepWorkflow``: customers whose annual notice is due within ``lead_days`` are
  signalled in pages (28 TAC § 22.9(a)).
* ``noticeflow-privacy-certification-reminder`` — every 15 January at 09:00, starts
  ``PrivacyCertificationReminderWorkflow``, a month before the 15 February certification (NAIC #668
  § 4I, reported: counsel review).

Overlapping runs are skipped (a sweep still running when the next is due finishes first).
"""

from __future__ import annotations

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleCalendarSpec,
    SchedulePolicy,
    ScheduleOverlapPolicy,
    ScheduleRange,
    ScheduleSpec,
    ScheduleUpdate,
    ScheduleUpdateInput,
)

from models.privacy_lifecycle import AnnualSweepInput, CertificationReminderInput
from workflows.privacy_schedules import AnnualNoticeSweepWorkflow, PrivacyCertificationReminderWorkflow

ANNUAL_SWEEP_SCHEDULE = "noticeflow-privacy-annual-sweep"
CERTIFICATION_SCHEDULE = "noticeflow-privacy-certification-reminder"
TIME_ZONE = "America/Chicago"


def annual_sweep_schedule(task_queue: str, *, lead_days: int = 30) -> Schedule:
    return Schedule(
        action=ScheduleActionStartWorkflow(
            AnnualNoticeSweepWorkflow.run,
            AnnualSweepInput(lead_days=lead_days),
            id="privacy-annual-sweep",
            task_queue=task_queue,
        ),
        spec=ScheduleSpec(
            calendars=[ScheduleCalendarSpec(hour=[ScheduleRange(6)], comment="daily annual-notice sweep (28 TAC § 22.9(a))")],
            time_zone_name=TIME_ZONE,
        ),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
    )


def certification_schedule(task_queue: str, *, licensee: str = "licensee", jurisdiction: str = "TX") -> Schedule:
    return Schedule(
        action=ScheduleActionStartWorkflow(
            PrivacyCertificationReminderWorkflow.run,
            CertificationReminderInput(licensee=licensee, jurisdiction=jurisdiction),
            id="privacy-certification-reminder",
            task_queue=task_queue,
        ),
        spec=ScheduleSpec(
            calendars=[
                ScheduleCalendarSpec(
                    month=[ScheduleRange(1)], day_of_month=[ScheduleRange(15)], hour=[ScheduleRange(9)],
                    comment="a month before the 15 February certification (NAIC #668 § 4I, reported)",
                )
            ],
            time_zone_name=TIME_ZONE,
        ),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
    )


async def _ensure(client: Client, schedule_id: str, schedule: Schedule) -> str:
    try:
        await client.create_schedule(schedule_id, schedule)
        return f"{schedule_id}: created"
    except ScheduleAlreadyRunningError:
        def replace(_: ScheduleUpdateInput) -> ScheduleUpdate:
            return ScheduleUpdate(schedule=schedule)

        await client.get_schedule_handle(schedule_id).update(replace)
        return f"{schedule_id}: updated"


async def ensure_privacy_schedules(
    client: Client, task_queue: str, *, lead_days: int = 30, licensee: str = "licensee", jurisdiction: str = "TX"
) -> list[str]:
    """Create or update both schedules; one line per schedule saying which."""
    return [
        await _ensure(client, ANNUAL_SWEEP_SCHEDULE, annual_sweep_schedule(task_queue, lead_days=lead_days)),
        await _ensure(client, CERTIFICATION_SCHEDULE, certification_schedule(task_queue, licensee=licensee, jurisdiction=jurisdiction)),
    ]
