"""Every workflow the noticeflow worker hosts, and the sandbox they run in."""

from __future__ import annotations

from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from workflows.incident import CybersecurityEventWorkflow
from workflows.attorney_general_notice import AttorneyGeneralNoticeWorkflow
from workflows.commissioner_notice import CommissionerNoticeWorkflow
from workflows.consumer_notice import ConsumerNoticeWorkflow
from workflows.party_notices import CedingInsurerNoticeWorkflow, ProducerNoticeWorkflow
from workflows.privacy_relationship import ConsumerRelationshipWorkflow
from workflows.privacy_schedules import AnnualNoticeSweepWorkflow, PrivacyCertificationReminderWorkflow
from workflows.revised_notice import RevisedNoticeBatchWorkflow, RevisedNoticeWorkflow

ALL_WORKFLOWS = [
    CybersecurityEventWorkflow,
    CommissionerNoticeWorkflow,
    ConsumerNoticeWorkflow,
    ProducerNoticeWorkflow,
    CedingInsurerNoticeWorkflow,
    AttorneyGeneralNoticeWorkflow,
    ConsumerRelationshipWorkflow,
    AnnualNoticeSweepWorkflow,
    PrivacyCertificationReminderWorkflow,
    RevisedNoticeWorkflow,
    RevisedNoticeBatchWorkflow,
]

#: ``models`` and ``rules`` are pure and load once per worker, not once per workflow run; so do
#: the libraries the rules read calendars from (``holidays`` loads countries lazily, and its
#: ``dateutil`` reads the wall clock at import, which the sandbox would refuse).
WORKFLOW_RUNNER = SandboxedWorkflowRunner(
    restrictions=SandboxRestrictions.default.with_passthrough_modules("models", "rules", "holidays", "dateutil")
)
