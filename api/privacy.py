"""Routes of the privacy-notice lifecycles (SPEC §4): where a consumer relationship stands, the
disclosure gate, and the steps people take on a relationship — opt-outs and their revocations,
returned mail, health-information authorizations and their revocations.

The gate answers "may NPI category C of this relationship's consumers go to recipient R under basis
B now?" through the relationship workflow's ``decide_disclosure`` update: the rules decide from the
lifecycle's notices, opt outs and health authorizations (28 TAC § 22.14, § 22.12, §§ 22.16–22.19,
§§ 22.53–22.56), and the decision, with its rule and citation, is ledgered in the caller's name
before the answer comes back. Every step is an update of the relationship's workflow: refused with
the rule it would break (422 naming the field, 409 when the lifecycle does not allow it now), or
ledgered in the caller's name and applied.

What the lifecycles act on is created by the routes of ``api/privacy_registry.py`` (relationships
registered in bulk, policy versions published) and ``api/privacy_revised.py`` (revised-notice
runs, a state's privacy bundle), included here under ``/privacy``.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from fastapi import APIRouter
from temporalio.client import (
    RPCError,
    RPCTimeoutOrCancelledError,
    WorkflowQueryFailedError,
)

from api import privacy_registry, privacy_revised
from api.bounds import RelationshipIdPath, as_domain
from api.deps import Actor, Context
from api.errors import ApiError, StepTimedOut
from api.privacy_common import (
    ERRORS,
    RelationshipNotFound,
    relationship_handle,
    relationship_step,
    require_caller,
    translate,
)
from api.privacy_schemas import (
    GateQuestionBody,
    HealthAuthorizationBody,
    HealthRevocationBody,
    OptOutBody,
    OptOutRevocationRequest,
    ReturnedMailRequest,
    step_body,
)
from models.privacy import DisclosureDecision
from models.privacy_lifecycle import (
    GateQuestion,
    HealthAuthorizationRequest,
    HealthRevocationRequest,
    OptOutRequest,
    RelationshipState,
    ReturnedMail,
    RevocationRequest,
)
from workflows.privacy_relationship import ConsumerRelationshipWorkflow

router = APIRouter(prefix="/privacy", tags=["privacy"])


@router.get("/relationships/{relationship_id}", response_model=RelationshipState, responses=ERRORS,
            summary="Where a consumer relationship's privacy lifecycle stands")
async def get_relationship(relationship_id: RelationshipIdPath, ctx: Context, actor: Actor) -> RelationshipState:
    handle = await relationship_handle(ctx, relationship_id)
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
        raise translate(exc, f"relationship {relationship_id!r}", RelationshipNotFound(relationship_id)) from None


@router.post(
    "/relationships/{relationship_id}/disclosure-decisions",
    response_model=DisclosureDecision,
    responses=ERRORS,
    summary="May this disclosure happen now? Decided by the rules, cited and ledgered",
)
async def decide(
    relationship_id: RelationshipIdPath, body: GateQuestionBody, ctx: Context, actor: Actor  # type: ignore[valid-type]
) -> DisclosureDecision:
    require_caller(body.asked_by, "asked_by", actor)
    decision: DisclosureDecision = await relationship_step(
        ctx, relationship_id, ConsumerRelationshipWorkflow.decide_disclosure, as_domain(body, GateQuestion, asked_by=actor)
    )
    return decision


@router.post(
    "/relationships/{relationship_id}/opt-outs",
    response_model=RelationshipState,
    responses=ERRORS,
    summary="Record a consumer's opt-out (28 TAC § 22.2(22)); in effect before the answer",
)
async def opt_out(
    relationship_id: RelationshipIdPath, body: OptOutBody, ctx: Context, actor: Actor  # type: ignore[valid-type]
) -> RelationshipState:
    require_caller(body.received_by, "received_by", actor)
    election = as_domain(body, OptOutRequest, received_by=actor)
    state: RelationshipState = await relationship_step(ctx, relationship_id, ConsumerRelationshipWorkflow.elect_opt_out, election)
    return state


@router.post(
    "/relationships/{relationship_id}/opt-out-revocations",
    response_model=RelationshipState,
    responses=ERRORS,
    summary="Record the revocation of an opt-out, in writing or electronically (28 TAC § 22.2(22))",
)
async def revoke_opt_out(
    relationship_id: RelationshipIdPath, body: OptOutRevocationRequest, ctx: Context, actor: Actor  # type: ignore[valid-type]
) -> RelationshipState:
    require_caller(body.received_by, "received_by", actor)
    revocation = step_body(body, RevocationRequest, actor)
    state: RelationshipState = await relationship_step(ctx, relationship_id, ConsumerRelationshipWorkflow.revoke_opt_out, revocation)
    return state


@router.post(
    "/relationships/{relationship_id}/returned-mail",
    response_model=RelationshipState,
    responses=ERRORS,
    summary="A mailed privacy notice came back undeliverable: it gave no notice (28 TAC § 22.13(a), § 22.9(b)(3))",
)
async def returned_mail(
    relationship_id: RelationshipIdPath, body: ReturnedMailRequest, ctx: Context, actor: Actor  # type: ignore[valid-type]
) -> RelationshipState:
    require_caller(body.recorded_by, "recorded_by", actor)
    returned = step_body(body, ReturnedMail, actor)
    state: RelationshipState = await relationship_step(ctx, relationship_id, ConsumerRelationshipWorkflow.report_returned_mail, returned)
    return state


@router.post(
    "/relationships/{relationship_id}/health-authorizations",
    response_model=RelationshipState,
    responses=ERRORS,
    summary="Record a written authorization to disclose health information (28 TAC §§ 22.53–22.55)",
)
async def health_authorization(
    relationship_id: RelationshipIdPath, body: HealthAuthorizationBody, ctx: Context, actor: Actor  # type: ignore[valid-type]
) -> RelationshipState:
    require_caller(body.recorded_by, "recorded_by", actor)
    request = step_body(body, HealthAuthorizationRequest, actor)
    state: RelationshipState = await relationship_step(
        ctx, relationship_id, ConsumerRelationshipWorkflow.record_health_authorization, request
    )
    return state


@router.post(
    "/relationships/{relationship_id}/health-authorization-revocations",
    response_model=RelationshipState,
    responses=ERRORS,
    summary="Record the revocation of a health authorization (28 TAC § 22.56); the gate stops relying on it at once",
)
async def revoke_health_authorization(
    relationship_id: RelationshipIdPath, body: HealthRevocationBody, ctx: Context, actor: Actor  # type: ignore[valid-type]
) -> RelationshipState:
    require_caller(body.recorded_by, "recorded_by", actor)
    request = step_body(body, HealthRevocationRequest, actor)
    state: RelationshipState = await relationship_step(
        ctx, relationship_id, ConsumerRelationshipWorkflow.revoke_health_authorization, request
    )
    return state


router.include_router(privacy_registry.router)
router.include_router(privacy_revised.router)
