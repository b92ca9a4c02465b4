"""Routes of a cybersecurity event's lifecycle (SPEC §3): start, findings, determination,
amendments, responders, counsel reviews, consumer reconciliations, report items not applicable,
consumer-notice approval, waivers and manual completions, closure.

Each step is one validated update of the event's workflow; the workflow records it in the
ledger in the caller's name, or refuses it with the rule it would break: 422 naming the field
when the value breaks the rule, 409 when the lifecycle does not allow the step now.
"""

from __future__ import annotations

import re
from typing import Any

from models.content import NOTICE_FREE_TEXT
from ledger.npi import npi_digest
from models.notice import AcknowledgeFiling, RegulatorAcknowledgement, ReportReturned
from rules.npi import npi_problem
from fastapi import APIRouter, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from api.auth import check_actor
from api.bounds import INCIDENT_ID_PATTERN as INCIDENT_ID
from api.bounds import IncidentIdPath, ObligationIdPath, as_request_error
from api.deps import Actor, Context
from api.errors import ApiError
from api.schemas import (
    AcknowledgementRequest,
    ReturnedRequest,
    AmendmentRequest,
    ApprovalRequest,
    CloseRequest,
    CompletionRequest,
    CounselReviewRequest,
    DeterminationRequest,
    FindingRequest,
    NotApplicableRequest,
    ReconciliationRequest,
    RespondersRequest,
    StartedIncident,
    StartIncidentRequest,
    WaiverRequest,
    error_responses,
    reminder_offsets_given,
    to_domain,
)
from models.lifecycle import (
    ApproveConsumerNotice,
    CloseEvent,
    Determination,
    EventAmendment,
    Finding,
    IncidentStart,
    IncidentState,
    ManualCompletion,
    ObligationAction,
    ObligationState,
    Waiver,
)
from models.steps import AssignResponders, ConsumerReconciliation, CounselReview, ReportItemNotApplicable
from noticeflow.logging import get_logger
from workflows.incident import CybersecurityEventWorkflow, incident_workflow_id

log = get_logger("noticeflow.api")

#: The form of an incident id (api/bounds.py): checked at the start, and on every path that names one.
INCIDENT_ID_PATTERN = re.compile(INCIDENT_ID)

router = APIRouter(prefix="/incidents", tags=["incidents"])

ERRORS = error_responses("No such incident.", "The workflow refused the step; `detail` names the rule.")


@router.post(
    "",
    status_code=201,
    response_model=IncidentState,
    responses={**ERRORS, 202: {"model": StartedIncident, "description": "Started; the worker has not answered yet."}},
    summary="Start the lifecycle of a cybersecurity event",
)
async def start_incident(body: StartIncidentRequest, ctx: Context, actor: Actor, response: Response) -> Any:  # type: ignore[valid-type]
    check_actor(body, IncidentStart, actor)
    incident_id = body.intake.incident_id
    if not INCIDENT_ID_PATTERN.match(incident_id):
        raise RequestValidationError(
            [
                {
                    "loc": ("body", "intake", "incident_id"),
                    "msg": "an incident id is 1–190 letters, digits and . _ : - (starting with a letter or digit): "
                    "it becomes part of URLs, the workflow id and roster ids",
                    "type": "incident_id_pattern",
                }
            ]
        )
    # An SSN typed into the notice text would reach every letter, e-mail and website posting:
    # refused here, naming the field, before the event starts.
    content = body.notices.content
    for name in NOTICE_FREE_TEXT:
        problem = npi_problem(f"notices.content.{name}", getattr(content, name) or "")
        if problem:
            raise RequestValidationError(
                [{"loc": ("body", "notices", "content", name), "msg": problem, "type": "npi_in_free_text"}]
            )
    extra = {} if reminder_offsets_given(body) else {"reminder_offsets": ctx.settings.reminder_offsets}
    start = to_domain(body, IncidentStart, actor, **extra)
    state = await ctx.gateway.start(start)
    log.info("incident.started", incident_id=incident_id, actor=actor, answered=state is not None)
    location = f"/v1/incidents/{incident_id}"
    if state is None:
        started = StartedIncident(
            incident_id=incident_id,
            workflow_id=incident_workflow_id(incident_id),
            detail=f"the workflow has started but no worker has answered yet; see GET {location}",
        )
        return JSONResponse(started.model_dump(), status_code=202, headers={"Location": location})
    response.headers["Location"] = location
    return state


@router.get("/{incident_id}", response_model=IncidentState, responses=ERRORS, summary="Where the event stands")
async def get_incident(incident_id: IncidentIdPath, ctx: Context, actor: Actor) -> IncidentState:
    return await ctx.gateway.state(incident_id)


@router.get(
    "/{incident_id}/obligations",
    response_model=list[ObligationState],
    responses=ERRORS,
    summary="Every obligation, its deadline and status",
)
async def get_obligations(incident_id: IncidentIdPath, ctx: Context, actor: Actor) -> list[ObligationState]:
    return (await ctx.gateway.state(incident_id)).obligations


async def _step(
    ctx: Any, incident_id: str, name: str, actor: str, update: Any, arg: Any, body: type[Any] | None = None
) -> IncidentState:
    try:
        state: IncidentState = await ctx.gateway.step(incident_id, update, arg, body=body)
    except ApiError as exc:
        log.info("incident.step_refused", incident_id=incident_id, step=name, actor=actor, status=exc.status_code)
        raise
    log.info("incident.step", incident_id=incident_id, step=name, actor=actor, stage=state.stage.value)
    return state


@router.post("/{incident_id}/findings", response_model=IncidentState, responses=ERRORS, summary="Record an investigation finding")
async def record_finding(incident_id: IncidentIdPath, body: FindingRequest, ctx: Context, actor: Actor) -> IncidentState:  # type: ignore[valid-type]
    check_actor(body, Finding, actor)
    finding = to_domain(body, Finding, actor)
    return await _step(ctx, incident_id, "finding", actor, CybersecurityEventWorkflow.record_finding, finding)


@router.post(
    "/{incident_id}/determination",
    response_model=IncidentState,
    responses=ERRORS,
    summary="Decide whether a cybersecurity event has occurred",
)
async def determine(incident_id: IncidentIdPath, body: DeterminationRequest, ctx: Context, actor: Actor) -> IncidentState:  # type: ignore[valid-type]
    check_actor(body, Determination, actor)
    decision = to_domain(body, Determination, actor)
    return await _step(ctx, incident_id, "determination", actor, CybersecurityEventWorkflow.determine, decision)


@router.post(
    "/{incident_id}/amendments",
    response_model=IncidentState,
    responses=ERRORS,
    summary="Record new facts about the event (a material update)",
)
async def amend(incident_id: IncidentIdPath, body: AmendmentRequest, ctx: Context, actor: Actor) -> IncidentState:  # type: ignore[valid-type]
    check_actor(body, EventAmendment, actor)
    amendment = to_domain(body, EventAmendment, actor)
    return await _step(ctx, incident_id, "amendment", actor, CybersecurityEventWorkflow.amend_event, amendment)


@router.post(
    "/{incident_id}/responders",
    response_model=IncidentState,
    responses=ERRORS,
    summary="Change the event's owner or backup (reminders and overdue alerts go to them), with the reason",
)
async def assign_responders(incident_id: IncidentIdPath, body: RespondersRequest, ctx: Context, actor: Actor) -> IncidentState:  # type: ignore[valid-type]
    check_actor(body, AssignResponders, actor)
    assignment = to_domain(body, AssignResponders, actor)
    return await _step(ctx, incident_id, "responders", actor, CybersecurityEventWorkflow.assign_responders, assignment)


@router.post(
    "/{incident_id}/counsel-reviews",
    response_model=IncidentState,
    responses=ERRORS,
    summary="Counsel's review of an obligation flagged needs_counsel_review (the notes are sealed, their digest ledgered)",
)
async def record_counsel_review(incident_id: IncidentIdPath, body: CounselReviewRequest, ctx: Context, actor: Actor) -> IncidentState:  # type: ignore[valid-type]
    check_actor(body, CounselReview, actor)
    review = to_domain(body, CounselReview, actor)
    return await _step(ctx, incident_id, "counsel_review", actor, CybersecurityEventWorkflow.record_counsel_review, review)


@router.post(
    "/{incident_id}/consumer-reconciliations",
    response_model=IncidentState,
    responses=ERRORS,
    summary="Revise a state's affected-consumer estimate (report item (I)), with the reason",
)
async def reconcile_consumers(incident_id: IncidentIdPath, body: ReconciliationRequest, ctx: Context, actor: Actor) -> IncidentState:  # type: ignore[valid-type]
    check_actor(body, ConsumerReconciliation, actor)
    reconciliation = to_domain(body, ConsumerReconciliation, actor)
    return await _step(
        ctx, incident_id, "consumer_reconciliation", actor, CybersecurityEventWorkflow.reconcile_consumers, reconciliation
    )


@router.post(
    "/{incident_id}/report-items/not-applicable",
    response_model=IncidentState,
    responses=ERRORS,
    summary="Mark a commissioner-report item not applicable to this event, with the reason (closure needs every item answered or so marked)",
)
async def mark_item_not_applicable(incident_id: IncidentIdPath, body: NotApplicableRequest, ctx: Context, actor: Actor) -> IncidentState:  # type: ignore[valid-type]
    check_actor(body, ReportItemNotApplicable, actor)
    mark = to_domain(body, ReportItemNotApplicable, actor)
    return await _step(ctx, incident_id, "report_item_not_applicable", actor, CybersecurityEventWorkflow.mark_item_not_applicable, mark)


@router.post(
    "/{incident_id}/consumer-notice/approve",
    response_model=IncidentState,
    responses=ERRORS,
    summary="Approve sending the consumer notices (all states, or those listed)",
)
async def approve_consumer_notice(
    incident_id: IncidentIdPath, ctx: Context, actor: Actor, body: ApprovalRequest | None = None  # type: ignore[valid-type]
) -> IncidentState:
    body = body if body is not None else ApprovalRequest()
    check_actor(body, ApproveConsumerNotice, actor)
    approval = to_domain(body, ApproveConsumerNotice, actor)
    return await _step(ctx, incident_id, "consumer_notice_approval", actor, CybersecurityEventWorkflow.approve_consumer_notice, approval)


@router.post(
    "/{incident_id}/obligations/{obligation_id}/waive",
    response_model=IncidentState,
    responses=ERRORS,
    summary="Waive an obligation, with the reason",
)
async def waive(incident_id: IncidentIdPath, obligation_id: ObligationIdPath, body: WaiverRequest, ctx: Context, actor: Actor) -> IncidentState:  # type: ignore[valid-type]
    check_actor(body, Waiver, actor)
    action = ObligationAction(obligation_id=obligation_id, waiver=to_domain(body, Waiver, actor))
    return await _step(ctx, incident_id, "waiver", actor, CybersecurityEventWorkflow.act_on_obligation, action, Waiver)


@router.post(
    "/{incident_id}/obligations/{obligation_id}/complete",
    response_model=IncidentState,
    responses=ERRORS,
    summary="Record a notice given outside noticeflow, with its evidence",
)
async def complete(incident_id: IncidentIdPath, obligation_id: ObligationIdPath, body: CompletionRequest, ctx: Context, actor: Actor) -> IncidentState:  # type: ignore[valid-type]
    check_actor(body, ManualCompletion, actor)
    action = ObligationAction(obligation_id=obligation_id, completion=to_domain(body, ManualCompletion, actor))
    return await _step(
        ctx, incident_id, "manual_completion", actor, CybersecurityEventWorkflow.act_on_obligation, action, ManualCompletion
    )


@router.post(
    "/{incident_id}/obligations/{obligation_id}/acknowledgement",
    response_model=IncidentState,
    responses=ERRORS,
    summary="Record a regulator's (commissioner's or attorney general's) acknowledgement of a filing, with its reference number",
)
async def acknowledge(incident_id: IncidentIdPath, obligation_id: ObligationIdPath, body: AcknowledgementRequest, ctx: Context, actor: Actor) -> IncidentState:  # type: ignore[valid-type]
    """A filing is only *sent* until the regulator acknowledges it; an acknowledgement received
    outside the portal (an e-mail with a reference number) is recorded here and confirms it."""
    check_actor(body, RegulatorAcknowledgement, actor)
    request = AcknowledgeFiling(obligation_id=obligation_id, acknowledgement=to_domain(body, RegulatorAcknowledgement, actor))
    return await _step(ctx, incident_id, "acknowledgement", actor, CybersecurityEventWorkflow.record_acknowledgement, request,
                       RegulatorAcknowledgement)


@router.post(
    "/{incident_id}/obligations/{obligation_id}/returned",
    response_model=IncidentState,
    responses=ERRORS,
    summary="Report notices that did not reach (hard bounces, returned letters) while their delivery awaits confirmation",
)
async def report_returned(incident_id: IncidentIdPath, obligation_id: ObligationIdPath, body: ReturnedRequest, ctx: Context, actor: Actor) -> IncidentState:
    check_actor(body, ReportReturned, actor)
    recipients = list(dict.fromkeys(body.recipients))
    if ":consumer_notice:" in obligation_id:
        # The licensee's consumer ids go no further than this: the roster stores their digests.
        recipients = [npi_digest(consumer_id, ctx.npi_key) for consumer_id in recipients]
    try:
        report = ReportReturned(obligation_id=obligation_id, channel=body.channel, recipient_refs=recipients,
                                reason=body.reason, recorded_by=actor)
    except ValidationError as exc:  # e.g. a producer id or NAIC code that is no recipient reference
        raise as_request_error(exc, rename={"recipient_refs": "recipients"}) from None
    return await _step(ctx, incident_id, "returned", actor, CybersecurityEventWorkflow.report_returned, report)


@router.post(
    "/{incident_id}/close",
    response_model=IncidentState,
    responses=ERRORS,
    summary="Close the event once every obligation is met or waived",
)
async def close(incident_id: IncidentIdPath, body: CloseRequest, ctx: Context, actor: Actor) -> IncidentState:  # type: ignore[valid-type]
    check_actor(body, CloseEvent, actor)
    request = to_domain(body, CloseEvent, actor)
    return await _step(ctx, incident_id, "close", actor, CybersecurityEventWorkflow.close, request)
