"""The API's one door to Temporal: start an event's workflow, ask its state, submit a step.

Temporal's errors become the API's (``api/errors.py``): an unknown workflow is an unknown incident
(404); a step the workflow refused with a typed refusal (``workflows/refusals.py``) is 422 naming
the field when the input breaks a rule (``refuse_input``) and 409 with the rule when the lifecycle
does not allow it now (``refuse_state``); an untyped refusal is 409 with its message; a step that
failed inside the worker (an activity failed) is 500 — never presented as a rule — and 503 when it
timed out; a cluster that cannot be reached is 503, a worker that does not answer in time is 504.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable, Collection
from datetime import timedelta
from typing import Any

from pydantic import BaseModel
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.workflowservice.v1 import DescribeWorkflowExecutionRequest
from temporalio.client import (
    Client,
    RPCError,
    RPCTimeoutOrCancelledError,
    WorkflowExecutionStatus,
    WorkflowFailureError,
    WorkflowHandle,
    WorkflowQueryFailedError,
    WorkflowQueryRejectedError,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import (
    ActivityError,
    ApplicationError,
    ChildWorkflowError,
    WorkflowAlreadyStartedError,
)
from temporalio.exceptions import (
    TimeoutError as TemporalTimeoutError,
)
from temporalio.service import RPCStatusCode

from api.actor_signing import Clock, SigningInterceptor, signing_client, wall_clock
from api.errors import (
    ApiError,
    IncidentExists,
    IncidentNotFound,
    StepFailed,
    StepInvalid,
    StepRefused,
    StepTimedOut,
    TemporalUnavailable,
)
from api.idempotency import current_update_id
from config.settings import Settings
from ledger.actor_assertions import load_signer
from models.lifecycle import IncidentStart, IncidentState
from noticeflow.logging import get_logger
from noticeflow.temporal import connect
from workflows.incident import CybersecurityEventWorkflow, incident_workflow_id
from workflows.incident_view import incident_summary
from workflows.refusals import INVALID, refusal_details

log = get_logger("noticeflow.api")

#: How long a step (an update) may take before the API answers 504. A step appends to the ledger
#: and may start child workflows; a healthy worker takes well under a second.
STEP_TIMEOUT = 30.0
#: How long a state query may wait for a worker.
QUERY_TIMEOUT = 10.0
#: How long a worker that died keeps its workflows: their tasks and queries go to its sticky
#: queue until the worker's sticky schedule-to-start timeout (the SDK's default, 10 s) hands them to
#: another worker. A query asked in that window waits it out, so a read asks again past it rather
#: than answering 504 while a successor is already running.
WORKER_TAKEOVER = 10.0
#: After a start, how long to wait for the first answer to a state query.
START_STATE_WAIT = 10.0

_UNREACHABLE = (RPCStatusCode.UNAVAILABLE,)
_TIMED_OUT = (RPCStatusCode.DEADLINE_EXCEEDED, RPCStatusCode.CANCELLED)


class IncidentGateway:
    """Drives ``CybersecurityEventWorkflow`` instances for the API."""

    def __init__(
        self,
        settings: Settings,
        client: Client | None = None,
        *,
        step_timeout: float = STEP_TIMEOUT,
        query_timeout: float = QUERY_TIMEOUT,
        start_wait: float = START_STATE_WAIT,
        clock: Clock = wall_clock,
    ) -> None:
        self.settings = settings
        # Every start and step the API sends carries its caller's actor assertion (api/actor_signing.py).
        self._signing = SigningInterceptor(
            load_signer(settings.resolved_actor_assertion_key_file(), settings.actor_assertion_ttl_seconds), clock=clock
        )
        self._client = signing_client(client, self._signing) if client is not None else None
        self._connecting = asyncio.Lock()
        self.step_timeout = step_timeout
        self.query_timeout = query_timeout
        self.takeover = WORKER_TAKEOVER
        self.start_wait = start_wait

    # -- connection -------------------------------------------------------------------------

    async def client(self) -> Client:
        """The Temporal client, connecting on first use (and again after a failed attempt)."""
        if self._client is not None:
            return self._client
        async with self._connecting:
            if self._client is None:
                try:
                    self._client = signing_client(await connect(self.settings), self._signing)
                except Exception as exc:  # the SDK raises RuntimeError for a refused connection
                    raise self._unreachable(exc) from None
        return self._client

    def _unreachable(self, exc: BaseException) -> TemporalUnavailable:
        return TemporalUnavailable(
            f"Temporal at {self.settings.temporal_address} (namespace {self.settings.temporal_namespace}) "
            f"cannot be reached: {_short(exc)}. Nothing was recorded; try again when it is back."
        )

    async def health(self) -> str:
        client = await self.client()
        try:
            await client.service_client.check_health(timeout=timedelta(seconds=5))
        except Exception as exc:
            raise self._unreachable(exc) from None
        return "reachable"

    async def _handle(self, incident_id: str) -> WorkflowHandle[Any, Any]:
        client = await self.client()
        return client.get_workflow_handle_for(CybersecurityEventWorkflow.run, incident_workflow_id(incident_id))

    # -- start ------------------------------------------------------------------------------

    async def start(self, start: IncidentStart) -> IncidentState | None:
        """Start the event's workflow; its first state, or None if no worker answered in time."""
        incident_id = start.intake.incident_id
        client = await self.client()
        try:
            handle = await client.start_workflow(
                CybersecurityEventWorkflow.run,
                start,
                id=incident_workflow_id(incident_id),
                task_queue=self.settings.task_queue,
                # Temporal's default priority: a responder waits on each of the event's steps, which
                # go before the notices' work when the workers are behind (workflows/priorities.py).
                # An incident id is used once: a closed event is not reopened under the same id,
                # whose ledger stream and step keys it would share.
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                static_summary=incident_summary(
                    incident_id, start.intake.licensee.name, sorted({row.state for row in start.intake.affected})
                ),
            )
        except WorkflowAlreadyStartedError:
            raise IncidentExists(
                f"incident {incident_id!r} already exists (workflow {incident_workflow_id(incident_id)}); "
                "an incident id is used once — see GET /v1/incidents/" + incident_id
            ) from None
        except RPCError as exc:
            raise self._translate(exc, incident_id) from None
        deadline = time.monotonic() + self.start_wait
        while True:
            try:
                return await handle.query(
                    CybersecurityEventWorkflow.state, rpc_timeout=timedelta(seconds=max(0.5, min(2.0, deadline - time.monotonic())))
                )
            except (RPCError, RPCTimeoutOrCancelledError, WorkflowQueryRejectedError) as exc:
                if isinstance(exc, RPCError) and exc.status in _UNREACHABLE:
                    raise self._unreachable(exc) from None
                if time.monotonic() >= deadline:
                    return None
            await asyncio.sleep(0.1)

    # -- state and steps ----------------------------------------------------------------------

    async def state(self, incident_id: str, *, for_step: bool = False) -> IncidentState:
        """The event's state, asked of its workflow, again until ``query_timeout`` and a worker's
        takeover (``WORKER_TAKEOVER``) have passed. ``for_step``: read before a step (a roster's
        upload), which asks again until the step itself would time out (``step_timeout``) — a
        worker busy with other events, or one taking over from a worker that died, answers late,
        and a step must not be refused for that sooner than it would be itself."""
        handle = await self._handle(incident_id)
        patience = max(self.query_timeout, self.step_timeout) if for_step else self.query_timeout + self.takeover
        deadline = time.monotonic() + patience
        while True:
            timeout = max(0.5, min(self.query_timeout, deadline - time.monotonic()))
            try:
                return await asyncio.wait_for(
                    handle.query(CybersecurityEventWorkflow.state, rpc_timeout=timedelta(seconds=timeout)), timeout + 1,
                )
            except (TimeoutError, RPCTimeoutOrCancelledError):
                pass
            except WorkflowQueryFailedError as exc:
                raise ApiError(f"the workflow of incident {incident_id!r} could not report its state: {exc}") from None
            except RPCError as exc:
                # A query waits for a worker to answer it; the server gives up with a timeout.
                if exc.status not in _TIMED_OUT:
                    raise self._translate(exc, incident_id) from None
            if time.monotonic() >= deadline:
                raise self._no_worker(incident_id, patience) from None
            log.info("api.state_query_retried", incident_id=incident_id, retry_in=0.2)
            await asyncio.sleep(0.2)

    def _no_worker(self, incident_id: str, timeout: float | None = None) -> StepTimedOut:
        return StepTimedOut(
            f"the worker did not answer for incident {incident_id!r} within {timeout or self.query_timeout:.0f} s: "
            f"is a noticeflow worker running on task queue {self.settings.task_queue!r}?"
        )

    async def require(self, incident_id: str) -> None:
        """Raises IncidentNotFound unless the incident's workflow exists (running or ended)."""
        await self._status(incident_id)

    async def _status(self, incident_id: str) -> WorkflowExecutionStatus:
        """The workflow's execution status; IncidentNotFound when there is none.

        Read from the raw description: the API needs the status only, and decoding the search
        attributes as well would fail the call for an attribute the SDK cannot parse.
        """
        client = await self.client()
        request = DescribeWorkflowExecutionRequest(
            namespace=client.namespace, execution=WorkflowExecution(workflow_id=incident_workflow_id(incident_id))
        )
        try:
            response = await client.workflow_service.describe_workflow_execution(
                request, timeout=timedelta(seconds=self.query_timeout)
            )
        except RPCError as exc:
            raise self._translate(exc, incident_id) from None
        return WorkflowExecutionStatus(response.workflow_execution_info.status)

    async def step(
        self, incident_id: str, update: Callable[..., Any], arg: Any, *, body: type[BaseModel] | None = None
    ) -> IncidentState:
        """Submit one validated update; the workflow's state after it. ``body`` is the model of the
        request body when it is not ``arg``'s (a refused field is named as the body names it)."""
        handle = await self._handle(incident_id)
        try:
            result: IncidentState = await run_update(
                handle, update, arg, self.step_timeout, f"/v1/incidents/{incident_id}",
                body_fields=_fields(body) if body is not None else None,
            )
            return result
        except RPCError as exc:
            if exc.status in (RPCStatusCode.NOT_FOUND, RPCStatusCode.FAILED_PRECONDITION):
                await self._refuse_if_finished(incident_id)
            raise self._translate(exc, incident_id) from None

    async def _refuse_if_finished(self, incident_id: str) -> None:
        """A step sent to an event whose workflow has ended: refused (409), not unknown (404)."""
        try:
            status = await self._status(incident_id)
        except ApiError:
            return
        if status != WorkflowExecutionStatus.RUNNING:
            stage = "ended"
            try:
                stage = (await self._final_state(incident_id) if status == WorkflowExecutionStatus.COMPLETED
                         else await self.state(incident_id)).stage.value
            except ApiError:
                pass
            raise StepRefused(f"incident {incident_id!r} is {stage}: its workflow has ended and takes no further steps")

    async def _final_state(self, incident_id: str) -> IncidentState:
        """A completed event's last state: the result its workflow returned, read from its history
        by the server alone (a query would need a worker to replay the whole event)."""
        handle = await self._handle(incident_id)
        try:
            result: IncidentState = await asyncio.wait_for(
                handle.result(rpc_timeout=timedelta(seconds=self.query_timeout)), self.query_timeout + 1
            )
        except (TimeoutError, RPCTimeoutOrCancelledError, RPCError, WorkflowFailureError) as exc:
            raise ApiError(f"the result of incident {incident_id!r} could not be read: {exc}") from None
        return result

    def _translate(self, exc: RPCError, incident_id: str) -> ApiError:
        from api.errors import too_large_for_temporal  # a payload past Temporal's size limit: 413, not 500

        if (too_large := too_large_for_temporal(exc, f"the request for incident {incident_id!r}")) is not None:
            return too_large
        if exc.status == RPCStatusCode.NOT_FOUND:
            return IncidentNotFound(incident_id)
        if exc.status in _UNREACHABLE:
            return self._unreachable(exc)
        if exc.status in _TIMED_OUT:
            return StepTimedOut(f"Temporal did not answer in time for incident {incident_id!r}: {exc.message}")
        return ApiError(f"Temporal refused the request for incident {incident_id!r}: {exc.message}")


async def run_update(
    handle: WorkflowHandle[Any, Any],
    update: Callable[..., Any],
    arg: Any,
    timeout: float,
    state_path: str,
    *,
    body_fields: Collection[str] | None = None,
) -> Any:
    """Execute one validated update within ``timeout``.

    A refusal becomes ``update_failure``'s answer; a timeout a 504 that points at ``state_path``
    (the step may still be taken). Under an ``Idempotency-Key`` the update's id is the one kept with
    the key (``api/idempotency.py``), so a retry after a timeout attaches to the step already taken
    instead of taking it again. RPC errors are left to the caller, which knows what the workflow id
    stands for. ``body_fields``: the request body's field names (default: ``arg``'s)."""
    try:
        return await asyncio.wait_for(_until_taken(handle, update, arg), timeout)
    except WorkflowUpdateFailedError as exc:
        fields = body_fields if body_fields is not None else _fields(type(arg)) if isinstance(arg, BaseModel) else None
        raise update_failure(exc.cause, fields, state_path) from None
    except (TimeoutError, WorkflowUpdateRPCTimeoutOrCancelledError):
        raise StepTimedOut(
            f"the worker did not complete the step within {timeout:.0f} s; it may still be taken — "
            f"check GET {state_path} before repeating it"
        ) from None


#: Temporal's answer to an update while the workflow's last task failed or timed out (a worker
#: died mid-task, or a successor is still replaying): the update was not accepted, so it is sent
#: again until a worker takes the workflow's tasks again (bounded by the step's timeout).
_TASK_FAILED = "Workflow Task in failed state"


async def _until_taken(handle: WorkflowHandle[Any, Any], update: Callable[..., Any], arg: Any) -> Any:
    # One update id for every attempt: an update the server admitted before the task failed is
    # delivered with the next task, and a repeat under its id waits for that one, never a second.
    update_id = current_update_id() or str(uuid.uuid4())
    delay = 0.2
    while True:
        try:
            return await handle.execute_update(update, arg, id=update_id)
        except RPCError as exc:
            if _TASK_FAILED not in exc.message:
                raise
            log.info("api.update_waiting_for_workflow_task", workflow_id=handle.id, retry_in=delay)
        await asyncio.sleep(delay)
        delay = min(delay * 2, 2.0)


def update_failure(cause: BaseException | None, body_fields: Collection[str] | None, state_path: str) -> ApiError:
    """The API's answer to an update that failed with ``cause``.

    - a typed refusal (``workflows/refusals.py``): ``invalid`` → 422 naming the field as the
      request body names it, with the rule id and citation; ``conflict`` → 409 with both;
    - any other ``ApplicationError`` (a validator's untyped refusal) → 409 with its message;
    - an activity or child workflow that failed, or anything else → 500 (503 when it timed out):
      the worker could not complete the step, which is not a rule the caller broke.
    """
    details = refusal_details(cause) if cause is not None else None
    if details is not None and isinstance(cause, ApplicationError):
        rule_id = str(details["rule_id"])
        citation = details.get("citation")
        if details.get("category") == INVALID:
            return StepInvalid(
                cause.message, field=client_field(details.get("field"), body_fields), rule_id=rule_id, citation=citation
            )
        return StepRefused(cause.message, rule_id=rule_id, citation=citation)
    if isinstance(cause, ApplicationError):
        return StepRefused(cause.message)
    check = f"check GET {state_path} before repeating it"
    if isinstance(cause, ActivityError):
        inner = cause.cause
        what = f"the worker's {cause.activity_type or 'activity'} activity failed"
        return _step_failed(what, inner, check)
    if isinstance(cause, ChildWorkflowError):
        return _step_failed(f"the {cause.workflow_type or 'child'} workflow it started failed", cause.cause, check)
    return _step_failed("the workflow could not complete it", cause, check)


def _step_failed(what: str, inner: BaseException | None, check: str) -> StepFailed:
    reason = f" ({_short(inner)})" if inner is not None else ""
    failed = StepFailed(f"the step was accepted but could not be completed: {what}{reason}; {check}")
    if isinstance(inner, TemporalTimeoutError):
        failed.status_code = 503
    return failed


def client_field(field: str | None, body_fields: Collection[str] | None) -> str:
    """A refused field as the caller's request body names it.

    Workflows name a field after the update's model (``finding.summary``); the caller sent the
    finding itself, so it reads ``summary``. A path whose first part is a field of the body
    (``intake.discovered_at``) is kept as it is.
    """
    if not field:
        return "request body"
    head, dot, rest = field.partition(".")
    if dot and rest and (body_fields is None or head.split("[", 1)[0] not in body_fields):
        return rest
    return field


def _fields(model: type[BaseModel]) -> frozenset[str]:
    return frozenset(model.model_fields)


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:300] if text else type(exc).__name__
