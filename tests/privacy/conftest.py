"""Fixtures of the privacy-lifecycle tests: a real worker (every workflow and activity), a real
ledger, a real SMTP server and the time-skipping test server (``stack``, from the workflow tests),
and helpers to register consumers and start relationship workflows."""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
import pytest_asyncio
from temporalio.client import WorkflowHandle

from api.access import Role
from api.app import create_app

from ledger.store import EntryFilter
from models.privacy_lifecycle import PrivacyConsumer, PrivacyPolicyRecord, RelationshipRecord, RelationshipStart
from tests.activities.conftest import SmtpServer, smtp_server  # noqa: F401 — the fixture
from tests.api.conftest import bearer, issue_key
from tests.workflows.conftest import HISTORIES, Stack, eventually, stack  # noqa: F401 — the fixture
from workflows.privacy_relationship import ConsumerRelationshipWorkflow, relationship_workflow_id

__all__ = ["Privacy", "SmtpServer", "eventually", "smtp_server", "stack"]


@dataclass
class Privacy:
    stack: Stack

    @property
    def store(self):  # type: ignore[no-untyped-def]
        return self.stack.resources.privacy.store

    def register(self, policies: Sequence[PrivacyPolicyRecord], consumers: Sequence[PrivacyConsumer], relationships: Sequence[RelationshipRecord]) -> None:
        for p in policies:
            self.store.put_policy(p)
        self.store.upsert_consumers(consumers)
        self.store.register_relationships(relationships)

    async def start(self, rel: RelationshipRecord, **overrides: Any) -> WorkflowHandle:
        start = RelationshipStart.model_validate(
            {
                "relationship_id": rel.relationship_id,
                "jurisdiction": rel.jurisdiction,
                "consumer_refs": rel.consumer_refs,
                "is_customer": rel.is_customer,
                "isolated_transaction": rel.isolated_transaction,
                "policy_version": rel.policy_version,
                "started_by": "ops",
                **overrides,
            }
        )
        return await self.stack.client.start_workflow(
            ConsumerRelationshipWorkflow.run, start, id=relationship_workflow_id(rel.relationship_id), task_queue=self.stack.task_queue
        )

    def entries(self, relationship_id: str) -> list:
        return list(self.stack.ledger.entries(EntryFilter(stream=f"privacy:{relationship_id}")))

    def types(self, relationship_id: str) -> list[str]:
        return [e.type for e in self.entries(relationship_id)]

    async def wait_for(self, relationship_id: str, type_: str, count: int = 1, timeout: float = 60.0) -> list:
        async def found() -> list:
            hits = [e for e in self.entries(relationship_id) if e.type == type_]
            return hits if len(hits) >= count else []

        found.__name__ = f"{count} x {type_} on {relationship_id}"
        return await eventually(found, timeout=timeout)

    async def state_when(self, handle: WorkflowHandle, check: Any, timeout: float = 30.0) -> Any:
        """The relationship's state once ``check(state)`` holds (a step may be half-way when queried)."""
        async def ready() -> Any:
            state = await handle.query(ConsumerRelationshipWorkflow.state)
            return state if check(state) else None

        ready.__name__ = f"state of {handle.id}"
        return await eventually(ready, timeout=timeout)

    def assert_no_npi(self, relationship_id: str, consumers: Sequence[PrivacyConsumer]) -> None:
        text = json.dumps([e.model_dump(mode="json") for e in self.entries(relationship_id)])
        for c in consumers:
            assert c.name not in text
            if c.email:
                assert c.email not in text
            if c.postal_address:
                assert c.postal_address.line1 not in text

    async def save_history(self, name: str, handle: WorkflowHandle) -> None:
        """With NOTICEFLOW_RECORD_HISTORIES=1, keep the (latest run's) history for the replay tests."""
        if os.environ.get("NOTICEFLOW_RECORD_HISTORIES") != "1":
            return
        HISTORIES.mkdir(exist_ok=True)
        history = await self.stack.client.get_workflow_handle(handle.id).fetch_history()
        (HISTORIES / f"{name}__{handle.id.replace(':', '_')}.json").write_text(history.to_json())


@pytest_asyncio.fixture
async def privacy(stack: Stack) -> Privacy:  # noqa: F811
    return Privacy(stack)


@contextlib.asynccontextmanager
async def privacy_api(stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    """The API over ASGI on ``stack``'s worker, called with a privacy officer's key (``key:p.ortiz``);
    its actor assertions dated by the test server's clock."""
    settings = stack.settings.model_copy(update={"task_queue": stack.task_queue, "log_json": False})
    app = create_app(settings, client=stack.client, step_timeout=60, clock=stack.env.get_current_time)
    token = issue_key(settings, "p.ortiz", {Role.PRIVACY})
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1", timeout=120,
                                 headers=bearer(token)) as http:
        http.app_settings = settings  # type: ignore[attr-defined]
        yield http


@pytest_asyncio.fixture
async def api(privacy: Privacy) -> AsyncIterator[httpx.AsyncClient]:
    async with privacy_api(privacy.stack) as http:
        yield http
