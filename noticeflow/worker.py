"""The noticeflow worker: every workflow and every activity on one task queue.

``python worker.py`` and ``noticeflow worker`` both run it. Tests build the same worker with
``build_worker`` against their own Temporal environment.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from temporalio.client import Client
from temporalio.worker import Worker

from activities.alerts import AlertActivities
from activities.bounces import BounceActivities
from activities.delivery import RegulatorPortal
from activities.ledger import LedgerActivities
from activities.notices import NoticeActivities
from activities.obligations import compute_obligations_activity
from activities.privacy import PrivacyActivities
from activities.revised_notice import RevisedNoticeActivities
from activities.sealed_documents import SealedDocumentActivities, SealedDocumentStore
from ledger.actor_assertions import load_verifier
from ledger.keys import load_signer
from ledger.migrate import upgrade
from ledger.store import Ledger
from noticeflow.logging import configure_logging, get_logger
from noticeflow.settings import Settings
from noticeflow.temporal import connect
from workflows.interceptors import ActorAssertionInterceptor
from workflows.registry import ALL_WORKFLOWS, RUNNERS

log = get_logger("noticeflow.worker")


class WorkerResources:
    """What the activities hold open: the ledger, the notice store and channels."""

    def __init__(self, settings: Settings, *, portal: RegulatorPortal | None = None) -> None:
        self.ledger = Ledger.open(
            settings.resolved_db_url(), load_signer(settings.resolved_key_path(), settings.key_passphrase)
        )
        self.notices = NoticeActivities(settings, portal=portal, ledger=self.ledger)
        self.bounces = BounceActivities(settings, self.notices.tracker)
        self.privacy = PrivacyActivities(settings, self.ledger)
        self.revised = RevisedNoticeActivities(settings)
        self.alerts = AlertActivities(settings)
        self.sealed = SealedDocumentStore.open(settings)
        self.activities: Sequence[object] = [
            LedgerActivities(self.ledger, load_verifier(
                settings.resolved_actor_assertion_key_file(), settings.actor_assertion_trusted_keys,
                settings.actor_assertion_skew_seconds,
            )).record,
            *self.notices.activities(),
            *self.bounces.activities(),
            *self.privacy.activities(),
            *self.revised.activities(),
            *self.alerts.activities(),
            SealedDocumentActivities(self.sealed).seal_privileged_text,
            compute_obligations_activity,
        ]

    def close(self) -> None:
        self.sealed.close()
        self.alerts.close()
        self.privacy.close()
        self.revised.close()
        self.notices.close()
        self.ledger.close()


def build_worker(client: Client, settings: Settings, resources: WorkerResources, *, task_queue: str | None = None) -> Worker:
    return Worker(
        client,
        task_queue=task_queue or settings.task_queue,
        workflows=ALL_WORKFLOWS,
        activities=list(resources.activities),  # type: ignore[arg-type]
        workflow_runner=RUNNERS[settings.workflow_sandbox],
        interceptors=[ActorAssertionInterceptor()],
        max_concurrent_workflow_tasks=settings.worker_max_concurrent_workflow_tasks,
        activity_executor=ThreadPoolExecutor(max_workers=16),
        max_concurrent_activities=16,
    )


async def run_worker(settings: Settings) -> None:
    """Run until SIGINT/SIGTERM, then finish the tasks in hand and stop."""
    configure_logging(settings.log_level, settings.log_json)
    # Migrate first: a database the migrations cannot take forward stops the worker before it
    # takes any task (SchemaError says why).
    schema = await asyncio.to_thread(upgrade, settings.resolved_db_url())
    log.info("worker.database", revision=schema.after, adopted=schema.adopted)
    client = await connect(settings)
    resources = WorkerResources(settings)
    worker = build_worker(client, settings, resources)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    log.info("worker.started", task_queue=settings.task_queue, temporal=settings.temporal_address,
             namespace=settings.temporal_namespace)
    try:
        async with worker:
            await stop.wait()
    finally:
        resources.close()
        log.info("worker.stopped")
