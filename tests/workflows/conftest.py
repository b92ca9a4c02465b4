"""A real worker — every workflow and activity, a real ledger, a real SMTP server — on the
session's Temporal environment (time-skipping by default)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.testservice.v1 import SleepRequest
from temporalio.api.workflowservice.v1 import DescribeWorkflowExecutionRequest
from temporalio.client import Client, WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from activities.roster import contacts_from_upload
from ledger.keys import generate_key, load_keyring
from ledger.store import EntryFilter, Ledger
from ledger.verify import verify_entries
from models.incident import IncidentIntake
from models.lifecycle import Finding, IncidentStart, NoticeSetup
from models.notice import RegulatorAcknowledgement, RosterUploadRow
from noticeflow.settings import Settings
from noticeflow.worker import WorkerResources, build_worker
from tests.actors import signing_test_client
from tests.activities.conftest import SmtpServer, smtp_server  # noqa: F401 — the fixture
from tests.conftest import REPO
from workflows.incident import CybersecurityEventWorkflow, incident_workflow_id

NPI_KEY = "workflow-test-npi-key"
NOTICES = NoticeSetup.model_validate(
    {
        "content": {
            "contact": {"phone": "1-800-555-0142", "email": "privacy@cumberland.example", "hours": "Mon–Fri 8–6 Central"},
            "what_happened": "A claims-processing vendor found an intruder in its systems.",
            "services_offered": "24 months of credit monitoring at no cost.",
            "signatory": "Dana Whitfield, Chief Privacy Officer",
            "notice_page_url": "https://www.cumberland.example/notice",
            "privacy_policy_url": "https://www.cumberland.example/privacy",
            "representative": {"name": "Dana Whitfield", "title": "Chief Privacy Officer",
                               "email": "dwhitfield@cumberland.example", "phone": "615-555-0100"},
        },
        "producers": [{"producer_id": "P-100", "name": "Volunteer Insurance Agency", "email": "agency@volunteer.example"}],
        "media_outlets": {"TN": ["The Tennessean"]},
    }
)


def make_intake(now: datetime, *, incident_id: str, **overrides: Any) -> IncidentIntake:
    """A Tennessee-domiciled insurer's event, reported by its claims vendor a day ago."""
    data: dict[str, Any] = {
        "incident_id": incident_id,
        "licensee": {"name": "Cumberland Mutual Insurance Company", "naic_code": "24871", "kind": "insurer",
                     "domicile_state": "TN", "home_state": "TN", "timezone": "America/Chicago"},
        "discovered_at": (now - timedelta(days=2)).isoformat(),
        "source": "third_party_service_provider",
        "tpsp_notified_at": (now - timedelta(days=1)).isoformat(),
        "data_elements": ["ssn", "health"],
        "encrypted": False,
        "key_compromised": False,
        "returned_or_destroyed_unused": False,
        "harms_operations": False,
        "affected": [
            {"state": "TN", "consumers": 3, "material_harm_likely": True, "other_government_notice_required": False,
             "with_email": 2, "without_contact": 0, "producers_of_record_known": True,
             "electronic_primary_channel": True},
        ],
    }
    data.update(overrides)
    return IncidentIntake.model_validate(data)


def complete_findings(intake: IncidentIntake, recorded_by: str = "jdoe") -> list[Finding]:
    """The demo's investigation findings for ``intake``'s clock: with the intake and the notice
    content they answer every item (A)–(N) of a commissioner report."""
    from noticeflow.sample_event import sample_findings

    clock = {"discovered_at": intake.discovered_at.isoformat(),
             "tpsp_notified_at": (intake.tpsp_notified_at or intake.discovered_at).isoformat()}
    return [Finding.model_validate({**f, "recorded_by": recorded_by}) for f in sample_findings(clock)]


ROSTER = [
    {"consumer_id": "C-1", "state": "TN", "name": "Avery Lane", "email": "avery@example.net", "electronic_consent": True,
     "address_line1": "12 Elm St", "city": "Nashville", "region": "TN", "postal_code": "37203", "producer_of_record": "P-100"},
    {"consumer_id": "C-2", "state": "TN", "name": "Blake Moss", "email": "blake@example.net", "electronic_consent": True,
     "address_line1": "9 Oak Ave", "city": "Memphis", "region": "TN", "postal_code": "38103", "producer_of_record": "P-100"},
    {"consumer_id": "C-3", "state": "TN", "name": "Casey Fox", "address_line1": "4 Pine Rd", "city": "Knoxville",
     "region": "TN", "postal_code": "37902"},
]


@dataclass
class Stack:
    env: WorkflowEnvironment
    client: Client
    task_queue: str
    settings: Settings
    resources: WorkerResources
    smtp: SmtpServer

    @property
    def ledger(self) -> Ledger:
        return self.resources.ledger

    async def now(self) -> datetime:
        return await self.env.get_current_time()

    async def skip(self, duration: timedelta) -> None:
        """Advance the test server's clock by ``duration``; timers due meanwhile fire in order.

        Every timer that fires may run activities (ledger appends, deliveries), which pause the
        virtual clock while they run in real time: a 45-day skip can take several seconds.
        """
        if not self.env.supports_time_skipping:
            pytest.skip("needs the time-skipping test server (--workflow-environment time-skipping)")
        # In steps of at most a day: one long skip across many timers whose handlers run
        # activities can stall on the test server, a day at a time never has.
        while duration > timedelta(0):
            step = min(duration, timedelta(days=1))
            request = SleepRequest()
            request.duration.FromTimedelta(step)
            await self.client.test_service.unlock_time_skipping_with_sleep(request, timeout=timedelta(minutes=2))
            duration -= step

    async def start(self, intake: IncidentIntake, notices: NoticeSetup = NOTICES) -> WorkflowHandle:
        handle = await self.client.start_workflow(
            CybersecurityEventWorkflow.run,
            IncidentStart(intake=intake, notices=notices, opened_by="jdoe"),
            id=incident_workflow_id(intake.incident_id),
            task_queue=self.task_queue,
        )
        return handle

    async def describe_raw(self, workflow_id: str) -> Any:
        """The server's description of a workflow, undecoded (the test server's encoding of a
        datetime search attribute is not one the client decodes)."""
        return await self.client.workflow_service.describe_workflow_execution(
            DescribeWorkflowExecutionRequest(
                namespace=self.client.namespace, execution=WorkflowExecution(workflow_id=workflow_id)
            )
        )

    async def search_attribute(self, workflow_id: str, name: str) -> Any:
        import json

        raw = await self.describe_raw(workflow_id)
        payload = raw.workflow_execution_info.search_attributes.indexed_fields.get(name)
        return None if payload is None else json.loads(payload.data)

    def store_roster(self, roster_id: str, rows: list[dict] = ROSTER) -> None:
        contacts = contacts_from_upload([RosterUploadRow.model_validate(r) for r in rows], NPI_KEY.encode())
        self.resources.notices.rosters.store_roster(roster_id, contacts)

    async def save_histories(self, name: str, handle: WorkflowHandle) -> None:
        """With NOTICEFLOW_RECORD_HISTORIES=1, keep the histories of this event's workflows
        under tests/workflows/histories/ (the current code's; earlier releases' stay in its
        ``release-<date>/`` directories) for the replay tests (see docs/temporal.md)."""
        import os

        if os.environ.get("NOTICEFLOW_RECORD_HISTORIES") != "1":
            return
        HISTORIES.mkdir(exist_ok=True)
        state = await handle.query(CybersecurityEventWorkflow.state)
        ids = [handle.id, *(o.workflow_id for o in state.obligations)]
        for workflow_id in ids:
            history = await self.client.get_workflow_handle(workflow_id).fetch_history()
            safe = workflow_id.replace(":", "_")
            (HISTORIES / f"{name}__{safe}.json").write_text(history.to_json())

    def entries(self, incident_id: str) -> list:
        return list(self.ledger.entries(EntryFilter(stream=f"incident:{incident_id}")))

    def types(self, incident_id: str) -> list[str]:
        return [e.type for e in self.entries(incident_id)]

    def verify(self) -> None:
        report = verify_entries(self.ledger.iter_raw(), load_keyring(self.settings.resolved_key_path()))
        assert report.ok, report.problem

    # -- the regulator's side: acknowledgements of filings ------------------------------------------

    def acknowledge(
        self, obligation_id: str, *, version: int = 1, reference: str | None = None, received_at: datetime | None = None
    ) -> RegulatorAcknowledgement:
        """The regulator acknowledges one filing: its ``<submission>.ack.json`` lands beside the
        filing in the outbox — the true external boundary, read by the workflow's next poll (10 s,
        1 min and 10 min after the filing, then hourly on the workflow's clock: skip time)."""
        from activities.files import safe_name

        submission_id = f"{safe_name(obligation_id)}-v{version}"
        receipt = self.resources.notices.tracker.receipt(submission_id)
        assert receipt is not None, f"{obligation_id}: version {version} was not filed"
        return self._drop_ack(receipt.jurisdiction, submission_id, receipt.submitted_at, version, reference, received_at,
                              office=receipt.office.value)

    async def acknowledge_filings(self, incident_id: str, *, then_skip: timedelta = timedelta(hours=1)) -> list[str]:
        """Every filing of the event not yet acknowledged gets its acknowledgement, then the clock
        moves ``then_skip`` so that each commissioner-notice workflow polls and finds its own
        (a commissioner notice is met only on the regulator's acknowledgement). Returns the
        submission ids acknowledged; wait for the obligations' state with ``eventually``."""
        import json

        done = []
        for submission in sorted((self.settings.outbox_dir / "regulators").rglob("submission.json")):
            filed = json.loads(submission.read_text())
            if not filed["obligation_id"].startswith(f"{incident_id}:"):
                continue
            receipt = self.resources.notices.tracker.receipt(filed["submission_id"])
            office = filed.get("office", "commissioner")  # the commissioner's, or an attorney general's
            path = self.resources.notices.portal.ack_path(filed["jurisdiction"], filed["submission_id"], office)  # type: ignore[attr-defined]
            if receipt is None or path.exists():
                continue
            self._drop_ack(filed["jurisdiction"], filed["submission_id"], receipt.submitted_at, filed["version"], None, None,
                           office=office)
            done.append(filed["submission_id"])
        if then_skip:
            await self.skip(then_skip)
        return done

    def _drop_ack(
        self, state: str, submission_id: str, submitted_at: datetime, version: int, reference: str | None,
        received_at: datetime | None, *, office: str = "commissioner",
    ) -> RegulatorAcknowledgement:
        import hashlib

        ack = RegulatorAcknowledgement(
            reference=reference or f"{state}-ACK-{hashlib.sha256(submission_id.encode()).hexdigest()[:8].upper()}",
            received_at=received_at or submitted_at + timedelta(minutes=30),
            recorded_by="regulator",
        )
        path = self.resources.notices.portal.ack_path(state, submission_id, office)  # type: ignore[attr-defined]
        path.write_text(ack.model_dump_json(exclude={"recorded_by", "version", "simulated"}, exclude_none=True))
        return ack


@asynccontextmanager
async def running_stack(
    env: WorkflowEnvironment, task_queue: str, tmp_path: Path, smtp_server: SmtpServer, **settings_overrides: Any  # noqa: F811
) -> AsyncIterator[Stack]:
    """A real worker on ``env`` with the test settings, ``settings_overrides`` applied."""
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        home=tmp_path / "home",
        **{
            "db_url": f"sqlite:///{tmp_path / 'noticeflow.db'}",
            "smtp_host": smtp_server.host,
            "smtp_port": smtp_server.port,
            "mail_from": "notices@cumberland.example",
            "npi_digest_key": NPI_KEY,
            **settings_overrides,
        },
    )
    generate_key(settings.resolved_key_path(), now="2000-01-01T00:00:00.000000Z")
    resources = WorkerResources(settings)
    client = signing_test_client(env, settings)
    worker = build_worker(client, settings, resources, task_queue=task_queue)
    try:
        async with worker:
            yield Stack(env, client, task_queue, settings, resources, smtp_server)
    finally:
        resources.close()


@pytest_asyncio.fixture
async def stack(
    time_skipping_env: WorkflowEnvironment, task_queue: str, tmp_path: Path, smtp_server: SmtpServer  # noqa: F811
) -> AsyncIterator[Stack]:
    async with running_stack(time_skipping_env, task_queue, tmp_path, smtp_server) as running:
        yield running


EXAMPLE_EVENT = REPO / "docs" / "examples" / "event-tpsp-multistate.json"
HISTORIES = Path(__file__).parent / "histories"


async def eventually(check: Any, *, timeout: float = 30.0, interval: float = 0.2) -> Any:
    """Poll ``check`` (an async callable) until it returns something truthy; activities run in
    real time, so waiting for them is waiting on the wall clock, not on the test server's."""
    import asyncio
    import time

    deadline = time.monotonic() + timeout
    while True:
        result = await check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s: {check.__name__}")
        await asyncio.sleep(interval)
