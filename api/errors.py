"""What can go wrong in an API call, and the HTTP answer each gets.

Every error body is ``{"detail": "<a sentence a responder can act on>"}``; a request that does not
validate (422) adds ``errors``, one per field. No error repeats the input it refuses: an upload
may carry consumers' information.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from noticeflow.logging import get_logger

log = get_logger("noticeflow.api")


class ApiError(Exception):
    """An error with its HTTP status and a message for the caller."""

    status_code = 500

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class IncidentNotFound(ApiError):
    status_code = 404

    def __init__(self, incident_id: str) -> None:
        super().__init__(f"no incident {incident_id!r}: start it with POST /incidents")


class IncidentExists(ApiError):
    status_code = 409


class StepRefused(ApiError):
    """The workflow refused the step: its validator's message names the rule (409)."""

    status_code = 409


class InvalidUpload(ApiError):
    status_code = 422


class UnsupportedMediaType(ApiError):
    status_code = 415


class NotAuthenticated(ApiError):
    status_code = 401


class ActorMismatch(ApiError):
    status_code = 403


class TemporalUnavailable(ApiError):
    status_code = 503


class StepTimedOut(ApiError):
    status_code = 504


class LedgerUnavailable(ApiError):
    status_code = 500


def field_path(loc: Sequence[Any]) -> str:
    """``("body", "intake", "affected", 0, "with_email")`` → ``intake.affected[0].with_email``."""
    parts = list(loc)
    if parts and parts[0] == "body":
        parts = parts[1:]
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += ("." if text else "") + str(part)
    return text or "request body"


def _message(error: dict[str, Any]) -> str:
    msg = str(error.get("msg", "invalid"))
    # pydantic prefixes the message of a ValueError raised in a validator; the rule speaks for itself.
    for prefix in ("Value error, ", "Assertion failed, "):
        if msg.startswith(prefix):
            msg = msg[len(prefix):]
    return msg


def validation_body(errors: Sequence[dict[str, Any]]) -> dict[str, Any]:
    items = [{"field": field_path(e.get("loc", ())), "message": _message(e), "type": str(e.get("type", ""))} for e in errors]
    return {
        "detail": "; ".join(f"{i['field']}: {i['message']}" for i in items) or "the request is not valid",
        "errors": items,
    }


def install_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else None
        if exc.status_code >= 500:
            log.warning("api.error", path=request.url.path, status=exc.status_code, detail=exc.detail)
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse(validation_body(exc.errors()), status_code=422)
