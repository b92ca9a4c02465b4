"""Request and response bodies of the incident API.

The API speaks the lifecycle models of ``models/lifecycle.py``; the only difference in a request
is that the person acting (``recorded_by``, ``decided_by``, …) may be left out: it is taken from
the caller's credentials, and when given it must be the caller (``api/auth.py``).
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, Field, create_model

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
from models.ledger import TreeHead

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


#: ``POST /incidents``: the intake and notice setup; ``opened_by`` is the caller.
StartIncidentRequest = actor_optional(IncidentStart, "opened_by")
FindingRequest = actor_optional(Finding, "recorded_by")
DeterminationRequest = actor_optional(Determination, "decided_by")
AmendmentRequest = actor_optional(EventAmendment, "recorded_by")
ApprovalRequest = actor_optional(ApproveConsumerNotice, "approved_by")
WaiverRequest = actor_optional(Waiver, "waived_by")
CompletionRequest = actor_optional(ManualCompletion, "completed_by")
CloseRequest = actor_optional(CloseEvent, "closed_by")

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
}


def to_domain(request: BaseModel, model: type[M], actor: str, **extra: Any) -> M:
    """The lifecycle model for ``request`` with its actor set to ``actor`` (already checked to match)."""
    values = {name: getattr(request, name) for name in type(request).model_fields}
    values[ACTOR_FIELDS[model]] = actor
    values.update(extra)
    return model.model_validate(values)


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


class Health(BaseModel):
    status: str
    temporal: str


class ErrorBody(BaseModel):
    detail: str


class FieldError(BaseModel):
    field: str
    message: str
    type: str


class ValidationErrorBody(BaseModel):
    detail: str = Field(description="Every problem, one per field: 'field: message; …'.")
    errors: list[FieldError]


def reminder_offsets_given(request: BaseModel) -> bool:
    return "reminder_offsets" in request.model_fields_set


__all__ = [
    "AmendmentRequest",
    "ApprovalRequest",
    "CloseRequest",
    "CompletionRequest",
    "DeterminationRequest",
    "ErrorBody",
    "ExportResponse",
    "FieldError",
    "FindingRequest",
    "Health",
    "LedgerEntries",
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
        409: {"model": ErrorBody, "description": refused},
        422: {"model": ValidationErrorBody, "description": "The body is not valid; each field is named."},
        503: {"model": ErrorBody, "description": "Temporal cannot be reached; nothing was recorded."},
        504: {"model": ErrorBody, "description": "The worker did not answer in time."},
    }
