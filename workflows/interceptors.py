"""The worker's workflow interceptor: the actor assertion travels with the step it vouches for.

- A start or an update that arrives with the ``noticeflow-actor-assertion`` header runs under
  that assertion (``models/authority.py``): its acceptance time is the workflow's start time for a
  start (``workflow_start_time``: when Temporal accepted the start, not when a worker first ran it
  — a backlog of starts must not expire their assertions), the workflow's clock when the handler
  begins for an update.
- A signal sent with the header runs under it too, so that its handler can keep it with what it
  hands over. (A step the event workflow forwards to an obligation carries its assertion in the
  signal's payload instead, ``forwarded_under``: headers of signals sent by workflows are not kept
  by every Temporal server.)

The interceptor changes no command and reads nothing but headers, so histories replay as before.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from temporalio import workflow
from temporalio.api.common.v1 import Payload
from temporalio.worker import (
    ExecuteWorkflowInput,
    HandleSignalInput,
    HandleUpdateInput,
    Interceptor,
    WorkflowInboundInterceptor,
    WorkflowInterceptorClassInput,
)

from models.authority import ASSERTION_HEADER, StepAuthority, acting


def _authority(headers: Mapping[str, Payload], accepted_at: datetime) -> StepAuthority | None:
    """The header's assertion: the API's token, accepted at ``accepted_at``."""
    payload = headers.get(ASSERTION_HEADER)
    if payload is None:
        return None
    try:
        (value,) = workflow.payload_converter().from_payloads([payload])
    except Exception:  # an unreadable header vouches for nobody; the ledger refuses the step
        return None
    return StepAuthority(token=value, accepted_at=accepted_at) if isinstance(value, str) and value else None


class _Inbound(WorkflowInboundInterceptor):
    async def execute_workflow(self, input: ExecuteWorkflowInput) -> Any:
        authority = _authority(input.headers, workflow.info().workflow_start_time)
        if authority is None:
            return await super().execute_workflow(input)
        with acting(authority):
            return await super().execute_workflow(input)

    async def handle_signal(self, input: HandleSignalInput) -> None:
        with acting(_authority(input.headers, workflow.now())):
            return await super().handle_signal(input)

    def handle_update_validator(self, input: HandleUpdateInput) -> None:
        # A validator runs only when the update arrives, never on replay: it may refuse a step that
        # comes without an assertion (e.g. a closure the run records later).
        with acting(_authority(input.headers, workflow.now())):
            return super().handle_update_validator(input)

    async def handle_update_handler(self, input: HandleUpdateInput) -> Any:
        with acting(_authority(input.headers, workflow.now())):
            return await super().handle_update_handler(input)


class ActorAssertionInterceptor(Interceptor):
    """Give to the worker (and the replayer): ``Worker(..., interceptors=[ActorAssertionInterceptor()])``."""

    def workflow_interceptor_class(self, input: WorkflowInterceptorClassInput) -> type[WorkflowInboundInterceptor]:
        return _Inbound
