"""Workflows run by Temporal Schedules (``noticeflow/privacy_schedules.py`` creates them).

* ``AnnualNoticeSweepWorkflow`` — daily: pages through the customers whose annual privacy notice
  falls due within ``lead_days`` (28 TAC § 22.9(a)) and signals each relationship workflow
  ``annual_notice_due``, one activity per page, continuing as new every ``pages_per_run`` pages so
  no history grows with the number of customers. The relationship workflow sends the notice (once
  per period) and keeps its own timer as well, so a missed sweep never drops a notice.
* ``PrivacyCertificationReminderWorkflow`` — yearly: records a reminder of the annual certification
  of compliance due to the domiciliary commissioner. The seed texts and the verified jurisdiction
  table do not contain it; the reminder cites the NAIC Insurance Data Security Model Law (#668)
  § 4I (insurers domiciled in an adopting state certify by February 15) as *reported* and marks it
  for counsel review, so a person confirms the date and the duty for each state.
"""

from __future__ import annotations

from datetime import date, timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from models.privacy_lifecycle import (
        AnnualSweepInput,
        AnnualSweepResult,
        CertificationReminderInput,
        CertificationReminderResult,
        DuePage,
        DuePageInput,
        SignalAnnualInput,
        SignalAnnualResult,
    )
    from rules.calendar import state_zone

from workflows.common import QUICK, record
from workflows.rules_call import call_rules

ANNUAL_DUE_PAGE = "privacy_annual_due_page"
SIGNAL_ANNUAL_DUE = "privacy_signal_annual_due"

CITE_ANNUAL = "28 TAC § 22.9(a)"
CITE_CERTIFICATION = "NAIC Insurance Data Security Model Law (#668) § 4I (reported)"
CERTIFICATION_REVIEW = (
    "The annual certification is not in the seed texts or the verified jurisdiction table: its date and whether the "
    "licensee's domiciliary state requires it are reported from the NAIC model (#668 § 4I), not verified."
)

SIGNAL_OPTIONS = {
    "start_to_close_timeout": timedelta(minutes=30),
    "heartbeat_timeout": timedelta(minutes=2),
    "retry_policy": QUICK["retry_policy"],
}


@workflow.defn(name="AnnualNoticeSweepWorkflow")
class AnnualNoticeSweepWorkflow:
    @workflow.run
    async def run(self, inp: AnnualSweepInput) -> AnnualSweepResult:
        sweep_id = inp.sweep_id or workflow.info().workflow_id
        due_by = inp.due_by or (workflow.now().date() + timedelta(days=inp.lead_days))
        after = inp.after
        signalled, not_running = inp.signalled, inp.not_running
        for _ in range(inp.pages_per_run):
            page: DuePage = await workflow.execute_activity(
                ANNUAL_DUE_PAGE, DuePageInput(due_by=due_by, after=after, limit=inp.page_size), result_type=DuePage, **QUICK  # type: ignore[arg-type]
            )
            if page.relationship_ids:
                result: SignalAnnualResult = await workflow.execute_activity(
                    SIGNAL_ANNUAL_DUE,
                    SignalAnnualInput(relationship_ids=page.relationship_ids, due_by=due_by, sweep_id=sweep_id),
                    result_type=SignalAnnualResult,
                    **SIGNAL_OPTIONS,  # type: ignore[arg-type]
                )
                signalled += result.signalled
                not_running += result.not_running
            if page.next_after is None:
                await record(
                    "privacy:annual-sweeps", "annual_notice.sweep_completed", f"sweep/{due_by.isoformat()}", citation=CITE_ANNUAL,
                    data={"sweep_id": sweep_id, "due_by": due_by.isoformat(), "signalled": signalled, "not_running": not_running},
                )
                return AnnualSweepResult(sweep_id=sweep_id, due_by=due_by, signalled=signalled, not_running=not_running)
            after = page.next_after
        workflow.continue_as_new(
            inp.model_copy(update={"after": after, "due_by": due_by, "sweep_id": sweep_id, "signalled": signalled, "not_running": not_running})
        )


@workflow.defn(name="PrivacyCertificationReminderWorkflow")
class PrivacyCertificationReminderWorkflow:
    @workflow.run
    async def run(self, inp: CertificationReminderInput) -> CertificationReminderResult:
        today = workflow.now().astimezone(call_rules(state_zone, inp.jurisdiction)).date()
        due = date(today.year, inp.due_month, inp.due_day)
        if due < today:
            due = date(today.year + 1, inp.due_month, inp.due_day)
        await record(
            f"compliance:{inp.jurisdiction}", "annual_certification.reminder", f"certification/{due.isoformat()}",
            jurisdiction=inp.jurisdiction, citation=CITE_CERTIFICATION,
            data={"licensee": inp.licensee, "due_on": due.isoformat(), "needs_counsel_review": True,
                  "counsel_review_reasons": [CERTIFICATION_REVIEW]},
        )
        return CertificationReminderResult(
            due_on=due, citation=CITE_CERTIFICATION, needs_counsel_review=True, counsel_review_reasons=[CERTIFICATION_REVIEW]
        )
