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
_PURE = ("models", "rules", "holidays", "dateutil")

#: The sandbox that checks (``workflow_sandbox = "checking"``): every ``workflows`` module is
#: imported afresh inside the sandbox for each run, so workflow code that reads the wall clock,
#: does I/O or keeps state between runs fails the run at once. The test suite runs every workflow
#: under it (tests/conftest.py).
CHECKING_RUNNER = SandboxedWorkflowRunner(restrictions=SandboxRestrictions.default.with_passthrough_modules(*_PURE))

#: The worker's sandbox in production (``workflow_sandbox = "shared"``): the ``workflows``
#: modules load once per worker as well, and each run gets a fresh sandbox around the same
#: classes. Building a run costs about half as much CPU (replaying a privacy lifecycle and a consumer
#: notice: 76 ms → 33 ms a run, unsandboxed 18–25 ms), which is most of what onboarding a
#: relationship costs the worker. What it gives up — the import-time check of our own workflow
#: code — the test suite keeps: it runs the checking sandbox, and tests/workflows/test_replay.py
#: replays every saved history under both.
SHARED_RUNNER = SandboxedWorkflowRunner(
    restrictions=SandboxRestrictions.default.with_passthrough_modules(*_PURE, "workflows")
)

RUNNERS = {"checking": CHECKING_RUNNER, "shared": SHARED_RUNNER}
