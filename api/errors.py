"""What can go wrong in an API call, and the HTTP answer each gets.

Every error body is ``{"detail": "<a sentence a responder can act on>"}``; a request that does not
validate (422) adds ``errors``, one per field — the same shape whether pydantic refused the body or
the workflow refused a field's value (``workflows/refusals.py``, then each error also carries the
rule's ``citation``). A body that cannot be read at all — not UTF-8, not JSON — is a 422 too,
naming ``request body`` (``type`` ``encoding`` or ``json_invalid``). A step the lifecycle does not
allow now (409) adds the ``rule_id`` and ``citation`` when the workflow gave them. No error repeats
the input it refuses: an upload may carry consumers' information.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from noticeflow.logging import get_logger

log = get_logger("noticeflow.api")


class ApiError(Exception):
    """An error with its HTTP status and a message for the caller."""

    status_code = 500

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail

    def body(self) -> dict[str, Any]:
        """The JSON body of the answer."""
        return {"detail": self.detail}

    def headers(self) -> dict[str, str] | None:
        return None


class IncidentNotFound(ApiError):
    status_code = 404

    def __init__(self, incident_id: str) -> None:
        super().__init__(f"no incident {incident_id!r}: start it with POST /v1/incidents")


class IncidentExists(ApiError):
    status_code = 409


class StepRefused(ApiError):
    """The workflow refused the step: the lifecycle does not allow it now (409). ``rule_id`` and
    ``citation`` come from a typed refusal (``refuse_state``); an untyped one has neither."""

    status_code = 409

    def __init__(self, detail: str, *, rule_id: str | None = None, citation: str | None = None) -> None:
        super().__init__(detail)
        self.rule_id = rule_id
        self.citation = citation

    def body(self) -> dict[str, Any]:
        if self.rule_id is None:
            return {"detail": self.detail}
        return {"detail": self.detail, "rule_id": self.rule_id, "citation": self.citation}


class StepInvalid(ApiError):
    """The workflow refused a field's value (``refuse_input``): 422 in the shape of a request that
    does not validate, naming the field of the request body, the rule and its citation."""

    status_code = 422

    def __init__(self, detail: str, *, field: str, rule_id: str, citation: str | None) -> None:
        super().__init__(detail)
        self.field = field
        self.rule_id = rule_id
        self.citation = citation

    def body(self) -> dict[str, Any]:
        return {
            "detail": self.detail,
            "errors": [{"field": self.field, "message": self.detail, "type": self.rule_id, "citation": self.citation}],
        }


class StepFailed(ApiError):
    """The workflow accepted the step but could not complete it: an activity it needed failed (or
    another internal failure). Not a rule: 500, and the caller checks the state before repeating."""

    status_code = 500


class InvalidUpload(ApiError):
    status_code = 422


class UnsupportedMediaType(ApiError):
    status_code = 415


class NotAuthenticated(ApiError):
    status_code = 401


class ActorMismatch(ApiError):
    status_code = 403


class RoleRequired(ApiError):
    """The caller is authenticated but holds none of the roles the route allows (403)."""

    status_code = 403


class NoSuchRoute(ApiError):
    status_code = 404


class MethodNotAllowed(ApiError):
    status_code = 405


class PayloadTooLarge(ApiError):
    status_code = 413


def too_large_for_temporal(exc: BaseException, what: str) -> PayloadTooLarge | None:
    """Temporal's refusal of a payload past its size limit ("Blob data size exceeds limit", or a
    gRPC message past its maximum) as the 413 it is, naming the request — never a 500. The API
    bounds every body first (``api/bounds.py``), so this answers only a limit set lower in Temporal."""
    message = str(getattr(exc, "message", None) or exc).strip()
    lowered = message.lower()
    if "size exceeds limit" not in lowered and "larger than max" not in lowered:
        return None
    return PayloadTooLarge(
        f"{what} is larger than Temporal accepts ({message}); nothing was recorded: send less in one request"
    )


class TooManyFailures(ApiError):
    """Too many failed authentications from the caller's address: slowed down (429)."""

    status_code = 429

    def __init__(self, detail: str, *, retry_after: int) -> None:
        super().__init__(detail)
        self.retry_after = retry_after

    def headers(self) -> dict[str, str] | None:
        return {"Retry-After": str(self.retry_after)}


class KeyStoreUnavailable(ApiError):
    """The API keys cannot be read (the database is down or behind the code's schema): 503."""

    status_code = 503


class IdentityProviderUnavailable(ApiError):
    """The identity provider's keys cannot be read: no token of it can be checked now (503)."""

    status_code = 503


class TemporalUnavailable(ApiError):
    status_code = 503


class IdempotencyConflict(ApiError):
    """A request under the same ``Idempotency-Key`` is still being processed (409)."""

    status_code = 409

    def headers(self) -> dict[str, str] | None:
        return {"Retry-After": "1"}


class IdempotencyKeyInvalid(ApiError):
    """The ``Idempotency-Key`` header is malformed, or was first used with another request (422)."""

    status_code = 422

    def __init__(self, detail: str, *, type_: str) -> None:
        super().__init__(detail)
        self.type = type_

    def body(self) -> dict[str, Any]:
        return {"detail": self.detail, "errors": [{"field": "Idempotency-Key", "message": self.detail, "type": self.type}]}


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


def _item(error: dict[str, Any]) -> dict[str, str]:
    if error.get("type") == "json_invalid":  # FastAPI's loc is ("body", <character offset>)
        loc = tuple(error.get("loc", ()))
        at = f" at character {loc[1]}" if len(loc) > 1 and isinstance(loc[1], int) else ""
        reason = str((error.get("ctx") or {}).get("error") or "not valid JSON")
        return {"field": "request body", "message": f"the body is not valid JSON: {reason}{at}", "type": "json_invalid"}
    return {"field": field_path(error.get("loc", ())), "message": _message(error), "type": str(error.get("type", ""))}


def validation_body(errors: Sequence[dict[str, Any]]) -> dict[str, Any]:
    items = [_item(e) for e in errors]
    return {
        "detail": "; ".join(f"{i['field']}: {i['message']}" for i in items) or "the request is not valid",
        "errors": items,
    }


def error_response(exc: ApiError, path: str) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else exc.headers()
    if exc.status_code >= 500:
        log.warning("api.error", path=path, status=exc.status_code, detail=exc.detail)
    return JSONResponse(exc.body(), status_code=exc.status_code, headers=headers)


def unreadable_body(cause: BaseException | None) -> dict[str, Any]:
    """The 422 of a JSON body that could not even be parsed: bytes that are not UTF-8 (FastAPI
    answers 400 for them, which no route declares), or nesting too deep to read."""
    if isinstance(cause, UnicodeDecodeError):
        message = (f"the body is not UTF-8: byte {cause.start} ({cause.reason}); "
                   "send JSON encoded as UTF-8 (RFC 8259 § 8.1)")
        kind = "encoding"
    else:
        message = f"the body could not be read as JSON ({type(cause).__name__ if cause else 'unreadable'})"
        kind = "json_invalid"
    return {"detail": f"request body: {message}", "errors": [{"field": "request body", "message": message, "type": kind}]}


def install_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc, request.url.path)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse(validation_body(exc.errors()), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        # FastAPI's one 400: "There was an error parsing the body" (the JSON could not be decoded).
        if exc.status_code == 400 and exc.__cause__ is not None:
            return JSONResponse(unreadable_body(exc.__cause__), status_code=422)
        return JSONResponse({"detail": str(exc.detail)}, status_code=exc.status_code, headers=exc.headers)
