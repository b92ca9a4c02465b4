"""Request and response bodies of the incident API.

The API speaks the lifecycle models of ``models/lifecycle.py`` and ``models/steps.py``; the only
difference in a request is that the person acting (``recorded_by``, ``decided_by``, ``reviewer``,
…) may be left out: it is taken from the caller's credentials, and when given it must be the caller
(``api/auth.py``). The start of an event also requires its responders (optional in the model, so
workflows started before they existed still replay). Every list, map and string of a request has a
largest size (``api/bounds.py``): past it, 422 naming the field, before anything reaches Temporal.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, create_model

from api.bounds import as_domain, bounded
from models.ledger import TreeHead
from models.lifecycle import (
    ApproveConsumerNotice,
    CloseEvent,
    Determination,
    EventAmendment,
    Finding,
    IncidentStart,
    ManualCompletion,
    Waiver,
)
from models.notice import RegulatorAcknowledgement, ReportReturned
from models.steps import (
    AssignResponders,
    ConsumerReconciliation,
    CounselReview,
    ReportItemNotApplicable,
    Responders,
)

M = TypeVar("M", bound=BaseModel)


def actor_optional(model: type[M], field: str) -> type[M]:
    """``model`` with its actor field optional: the API fills it from the authenticated user."""
    request: type[M] = create_model(  # type: ignore[call-overload]
        f"{model.__name__}Request",
        __base__=model,
        __doc__=f"{(model.__doc__ or model.__name__).strip()}\n\n"
        f"`{field}` defaults to the authenticated user; when given, it must be that user.",
        **{
            field: (
                str | None,
                Field(None, min_length=1, max_length=200, description="The authenticated user (filled in when omitted)."),
            )
        },
    )
    return request


#: ``POST /v1/incidents``: the intake, notice setup and responders (required here); ``opened_by`` is the caller.
_StartIncident = create_model(
    "IncidentStartRequest",
    __base__=actor_optional(IncidentStart, "opened_by"),
    __doc__=f"{(IncidentStart.__doc__ or '').strip()}\n\n`opened_by` defaults to the authenticated user; when given, "
    "it must be that user. `responders` is required.",
    responders=(
        Responders,
        Field(
            description="Who answers for the event's deadlines: reminders go to the owner, overdue alerts escalate "
            "to the backup. Required: an event nobody is answerable for has reminders that reach nobody."
        ),
    ),
)
#: What one event's start may list (api/bounds.py): the start is one workflow input, which Temporal
#: refuses past 2 MB. A state appears once among the affected (56 US jurisdictions); a producer
#: directory of 5,000 fits well within the body limit.
START_LIMITS: dict[str, int] = {
    "intake.affected": 56,
    "notices.producers": 5000,
    "notices.ceding_insurers": 1000,
    "notices.media_outlets": 56,
    "notices.media_outlets[]": 50,
    "notices.media_outlets[][]": 200,
    "reminder_offsets": 10,
}
StartIncidentRequest = bounded(_StartIncident, "IncidentStartRequest", START_LIMITS)
FindingRequest = bounded(actor_optional(Finding, "recorded_by"), "FindingRequest")
DeterminationRequest = bounded(actor_optional(Determination, "decided_by"), "DeterminationRequest")
AmendmentRequest = bounded(actor_optional(EventAmendment, "recorded_by"), "EventAmendmentRequest", {"affected": 56})
ApprovalRequest = bounded(actor_optional(ApproveConsumerNotice, "approved_by"), "ApproveConsumerNoticeRequest", {"jurisdictions": 56})
WaiverRequest = bounded(actor_optional(Waiver, "waived_by"), "WaiverRequest")
CompletionRequest = bounded(actor_optional(ManualCompletion, "completed_by"), "ManualCompletionRequest")
CloseRequest = bounded(actor_optional(CloseEvent, "closed_by"), "CloseEventRequest")
RespondersRequest = bounded(actor_optional(AssignResponders, "assigned_by"), "AssignRespondersRequest")
CounselReviewRequest = bounded(actor_optional(CounselReview, "reviewer"), "CounselReviewRequest")
ReconciliationRequest = bounded(actor_optional(ConsumerReconciliation, "recorded_by"), "ConsumerReconciliationRequest")
NotApplicableRequest = bounded(actor_optional(ReportItemNotApplicable, "recorded_by"), "ReportItemNotApplicableRequest")
AcknowledgementRequest = bounded(actor_optional(RegulatorAcknowledgement, "recorded_by"), "RegulatorAcknowledgementRequest")


class ReturnedRequest(BaseModel):
    """Notices that did not reach: consumers by the licensee's own consumer id (as on the roster;
    the API turns each into its digest), producers by producer id, ceding insurers by NAIC code."""

    model_config = ConfigDict(extra="forbid")

    channel: Literal["email", "postal"]
    recipients: list[Annotated[str, Field(min_length=1, max_length=200)]] = Field(min_length=1, max_length=10_000)
    reason: str = Field(min_length=1, max_length=500)
    recorded_by: str | None = Field(
        None, min_length=1, max_length=200, description="Defaults to the caller; must be the caller when given."
    )

#: Which field of each request names the person acting.
ACTOR_FIELDS: dict[type[BaseModel], str] = {
    IncidentStart: "opened_by",
    Finding: "recorded_by",
    Determination: "decided_by",
    EventAmendment: "recorded_by",
    ApproveConsumerNotice: "approved_by",
    Waiver: "waived_by",
    ManualCompletion: "completed_by",
    CloseEvent: "closed_by",
    AssignResponders: "assigned_by",
    CounselReview: "reviewer",
    ConsumerReconciliation: "recorded_by",
    ReportItemNotApplicable: "recorded_by",
    RegulatorAcknowledgement: "recorded_by",
    ReportReturned: "recorded_by",
}


def to_domain(request: BaseModel, model: type[M], actor: str, **extra: Any) -> M:
    """The lifecycle model for ``request`` with its actor set to ``actor`` (already checked to match)."""
    return as_domain(request, model, **{ACTOR_FIELDS[model]: actor, **extra})


class StartedIncident(BaseModel):
    """``202``: the workflow started but its worker has not answered yet."""

    incident_id: str
    workflow_id: str
    detail: str


class LedgerEntries(BaseModel):
    stream: str
    entries: list[dict[str, Any]] = Field(description="Entries in seq order, as in the ledger (docs/ledger-format.md).")
    next_after: int | None = Field(None, description="Pass as `after` for the next page; null on the last page.")


class ExportResponse(BaseModel):
    path: str = Field(description="The bundle directory; verify it with `noticeflow ledger verify PATH`.")
    stream: str
    entries: int
    tree_head: TreeHead
    completeness: dict[str, str] = Field(description="What the bundle proves complete (`proven`) and how, in words.")
    documents: int = Field(description="Documents the entries cite, included in documents/ by digest.")
    missing_documents: list[str] = Field(
        default_factory=list, description="Digests of cited documents the document store no longer holds."
    )


class Health(BaseModel):
    status: str
    temporal: str


class ErrorBody(BaseModel):
    detail: str


class FieldError(BaseModel):
    field: str = Field(description="The field as the request names it, e.g. `summary`, `intake.affected[0].consumers`.")
    message: str
    type: str = Field(description="pydantic's error type, or the id of the rule the workflow applied.")
    citation: str | None = Field(None, description="The rule's section, when the workflow refused the value.")


class ValidationErrorBody(BaseModel):
    detail: str = Field(description="Every problem, one per field: 'field: message; …' (a workflow's refusal: its message).")
    errors: list[FieldError]


class ConflictBody(BaseModel):
    detail: str = Field(description="Why the step is not allowed now.")
    rule_id: str | None = Field(None, description="The rule the workflow applied (absent for other conflicts).")
    citation: str | None = Field(None, description="The rule's section, when it has one.")


def reminder_offsets_given(request: BaseModel) -> bool:
    return "reminder_offsets" in request.model_fields_set


__all__ = [
    "AcknowledgementRequest",
    "AmendmentRequest",
    "ApprovalRequest",
    "CloseRequest",
    "CompletionRequest",
    "ConflictBody",
    "CounselReviewRequest",
    "DeterminationRequest",
    "ErrorBody",
    "ExportResponse",
    "FieldError",
    "FindingRequest",
    "Health",
    "LedgerEntries",
    "NotApplicableRequest",
    "ReconciliationRequest",
    "RespondersRequest",
    "ReturnedRequest",
    "StartIncidentRequest",
    "StartedIncident",
    "ValidationErrorBody",
    "WaiverRequest",
    "actor_optional",
    "reminder_offsets_given",
    "to_domain",
]


def error_responses(not_found: str, refused: str) -> dict[int | str, dict[str, Any]]:
    """The documented error answers of a router's routes (OpenAPI ``responses``)."""
    return {
        401: {"model": ErrorBody, "description": "No or unknown bearer token."},
        403: {"model": ErrorBody, "description": "The body names another person as the one acting."},
        404: {"model": ErrorBody, "description": not_found},
        409: {"model": ConflictBody, "description": refused},
        422: {
            "model": ValidationErrorBody,
            "description": "The body is not valid, or the workflow refused a field's value; each field is named "
            "(with the rule's id as `type` and its `citation`).",
        },
        500: {
            "model": ErrorBody,
            "description": "The step was accepted but could not be completed in the worker (e.g. an activity failed); "
            "check the state before repeating it.",
        },
        503: {"model": ErrorBody, "description": "Temporal cannot be reached (nothing was recorded), or the step timed out in the worker."},
        504: {"model": ErrorBody, "description": "The worker did not answer in time."},
    }
