"""Routes of the privacy-notice lifecycles (SPEC §4): the disclosure gate, opt-out elections, and
where a consumer relationship stands.

The gate answers "may NPI category C of this relationship's consumers go to recipient R under basis
B now?" through the relationship workflow's ``decide_disclosure`` update: the rules decide from the
lifecycle's notices and opt outs (28 TAC § 22.14, § 22.12, §§ 22.16–22.19), and the decision, with
its rule and citation, is ledgered in the caller's name before the answer comes back.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from fastapi import APIRouter
from temporalio.client import (
    RPCError,
    RPCTimeoutOrCancelledError,
    WorkflowHandle,
    WorkflowQueryFailedError,
)
from temporalio.service import RPCStatusCode

from api.auth import names_caller
from api.deps import Actor, ApiContext, Context
from api.gateway import run_update
from api.errors import ActorMismatch, ApiError, StepRefused, StepTimedOut, TemporalUnavailable
from api.schemas import error_responses
from models.privacy import DisclosureDecision
from models.privacy_lifecycle import GateQuestion, OptOutRequest, RelationshipState
from workflows.privacy_relationship import ConsumerRelationshipWorkflow, relationship_workflow_id

router = APIRouter(prefix="/privacy", tags=["privacy"])

ERRORS = error_responses(
    "No such relationship lifecycle.", "The workflow refused the step; `detail` names the field and the rule."
)


class RelationshipNotFound(ApiError):
    status_code = 404

    def __init__(self, relationship_id: str) -> None:
        super().__init__(
            f"no privacy relationship {relationship_id!r}: register it and start its lifecycle "
            f"(workflow {relationship_workflow_id(relationship_id)}) first"
        )


def _translate(exc: RPCError, relationship_id: str) -> ApiError:
    if exc.status == RPCStatusCode.NOT_FOUND:
        return RelationshipNotFound(relationship_id)
    if exc.status == RPCStatusCode.UNAVAILABLE:
        return TemporalUnavailable(f"Temporal cannot be reached: {exc.message}. Nothing was recorded; try again.")
    if exc.status in (RPCStatusCode.DEADLINE_EXCEEDED, RPCStatusCode.CANCELLED):
        return StepTimedOut(f"the worker did not answer in time for relationship {relationship_id!r}")
    if exc.status == RPCStatusCode.FAILED_PRECONDITION:
        return StepRefused(f"the lifecycle of relationship {relationship_id!r} has ended and takes no further steps")
    return ApiError(f"Temporal refused the request for relationship {relationship_id!r}: {exc.message}")


async def _handle(ctx: ApiContext, relationship_id: str) -> WorkflowHandle[Any, Any]:
    client = await ctx.gateway.client()
    return client.get_workflow_handle_for(ConsumerRelationshipWorkflow.run, relationship_workflow_id(relationship_id))


async def _step(ctx: ApiContext, relationship_id: str, update: Callable[..., Any], arg: Any) -> Any:
    handle = await _handle(ctx, relationship_id)
    try:
        return await run_update(handle, update, arg, ctx.gateway.step_timeout, f"/v1/privacy/relationships/{relationship_id}")
    except RPCError as exc:
        raise _translate(exc, relationship_id) from None


@router.get("/relationships/{relationship_id}", response_model=RelationshipState, responses=ERRORS,
            summary="Where a consumer relationship's privacy lifecycle stands")
async def get_relationship(relationship_id: str, ctx: Context, actor: Actor) -> RelationshipState:
    handle = await _handle(ctx, relationship_id)
    timeout = ctx.gateway.query_timeout
    try:
        state: RelationshipState = await asyncio.wait_for(
            handle.query(ConsumerRelationshipWorkflow.state, rpc_timeout=timedelta(seconds=timeout)), timeout + 1
        )
        return state
    except (TimeoutError, RPCTimeoutOrCancelledError):
        raise StepTimedOut(
            f"the worker did not answer for relationship {relationship_id!r} within {timeout:.0f} s: "
            f"is a noticeflow worker running on task queue {ctx.settings.task_queue!r}?"
        ) from None
    except WorkflowQueryFailedError as exc:
        raise ApiError(f"the lifecycle of relationship {relationship_id!r} could not report its state: {exc}") from None
    except RPCError as exc:
        raise _translate(exc, relationship_id) from None


@router.post(
    "/relationships/{relationship_id}/disclosure-decisions",
    response_model=DisclosureDecision,
    responses=ERRORS,
    summary="May this disclosure happen now? Decided by the rules, cited and ledgered",
)
async def decide(relationship_id: str, body: GateQuestion, ctx: Context, actor: Actor) -> DisclosureDecision:
    if body.asked_by != "worker" and not names_caller(body.asked_by, actor):
        raise ActorMismatch(
            f"asked_by is {body.asked_by!r} but the request is authenticated as {actor!r}: a decision is recorded in "
            f"the name of the person who asks; leave asked_by out or set it to {actor!r}"
        )
    decision: DisclosureDecision = await _step(
        ctx, relationship_id, ConsumerRelationshipWorkflow.decide_disclosure, body.model_copy(update={"asked_by": actor})
    )
    return decision


@router.post(
    "/relationships/{relationship_id}/opt-outs",
    response_model=RelationshipState,
    responses=ERRORS,
    summary="Record a consumer's opt-out (28 TAC § 22.2(22)); in effect before the answer",
)
async def opt_out(relationship_id: str, body: OptOutRequest, ctx: Context, actor: Actor) -> RelationshipState:
    if not names_caller(body.received_by, actor):
        raise ActorMismatch(
            f"received_by is {body.received_by!r} but the request is authenticated as {actor!r}: set it to {actor!r}"
        )
    election = body.model_copy(update={"received_by": actor})
    state: RelationshipState = await _step(ctx, relationship_id, ConsumerRelationshipWorkflow.elect_opt_out, election)
    return state
