"""The API's signature on every workflow start and step it sends: who it authenticated.

The access guard (``api/guard.py``) puts the authenticated caller's actor in :data:`caller`
while the request is handled; the Temporal client the API uses carries :class:`SigningInterceptor`,
which attaches to each start, update and signal sent meanwhile an actor assertion for that actor
and that workflow (``ledger/actor_assertions.py``). The worker records a step in a person's name
only under such an assertion — so a step sent to Temporal by anything but the API names nobody.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from temporalio.api.common.v1 import Payload
from temporalio.client import (
    Client,
    Interceptor,
    OutboundInterceptor,
    SignalWorkflowInput,
    StartWorkflowInput,
    StartWorkflowUpdateInput,
    StartWorkflowUpdateWithStartInput,
    WorkflowHandle,
    WorkflowUpdateHandle,
)
from temporalio.converter import DataConverter

from ledger.actor_assertions import AssertionSigner
from models.authority import ASSERTION_HEADER, SYSTEM_ACTOR

_CALLER: ContextVar[str | None] = ContextVar("noticeflow_api_caller", default=None)

#: Who a step is taken by: from the request's caller (the API), or from the step (tests).
ActorOf = Callable[[str, Sequence[Any]], str | None]
Clock = Callable[[], Awaitable[datetime]]


async def wall_clock() -> datetime:
    return datetime.now(UTC)


def caller(name: str, args: Sequence[Any]) -> str | None:
    """The API's rule: the authenticated caller of the request being handled, whatever the step says."""
    return _CALLER.get()


@contextmanager
def calling_as(actor: str) -> Iterator[None]:
    token = _CALLER.set(actor)
    try:
        yield
    finally:
        _CALLER.reset(token)


class SigningInterceptor(Interceptor):
    def __init__(self, signer: AssertionSigner, actor_of: ActorOf = caller, clock: Clock = wall_clock) -> None:
        self.signer = signer
        self.actor_of = actor_of
        self.clock = clock

    def intercept_client(self, next: OutboundInterceptor) -> OutboundInterceptor:
        return _Signing(next, self)


class _Signing(OutboundInterceptor):
    def __init__(self, next: OutboundInterceptor, root: SigningInterceptor) -> None:
        super().__init__(next)
        self.root = root

    async def _headers(self, headers: Mapping[str, Payload], name: str, args: Sequence[Any], workflow_id: str) -> Mapping[str, Payload]:
        actor = self.root.actor_of(name, args)
        if actor is None or actor == SYSTEM_ACTOR:
            return headers
        token = self.root.signer.issue(actor, workflow_id, await self.root.clock())
        (payload,) = DataConverter.default.payload_converter.to_payloads([token])
        return {**headers, ASSERTION_HEADER: payload}

    async def start_workflow(self, input: StartWorkflowInput) -> WorkflowHandle[Any, Any]:
        input.headers = await self._headers(input.headers, input.workflow, input.args, input.id)
        return await super().start_workflow(input)

    async def start_workflow_update(self, input: StartWorkflowUpdateInput) -> WorkflowUpdateHandle[Any]:
        input.headers = await self._headers(input.headers, input.update, input.args, input.id)
        return await super().start_workflow_update(input)

    async def start_update_with_start_workflow(self, input: StartWorkflowUpdateWithStartInput) -> WorkflowUpdateHandle[Any]:
        start, update = input.start_workflow_input, input.update_workflow_input
        start.headers = await self._headers(start.headers, start.workflow, start.args, start.id)
        update.headers = await self._headers(update.headers, update.update, update.args, start.id)
        return await super().start_update_with_start_workflow(input)

    async def signal_workflow(self, input: SignalWorkflowInput) -> None:
        input.headers = await self._headers(input.headers, input.signal, input.args, input.id)
        return await super().signal_workflow(input)


def signing_client(client: Client, interceptor: SigningInterceptor) -> Client:
    """``client`` with ``interceptor`` added (the same connection, converter and namespace)."""
    config = client.config()
    config["interceptors"] = [*config["interceptors"], interceptor]
    return Client(**config)
