"""``POST /incidents/{id}/roster``: the affected consumers' contact list.

The list is the one upload that carries personal information, so it never travels through
Temporal: it is parsed and stored here in the roster store (consumer ids replaced by their
digests) under roster id ``<incident_id>-r<n>``, and only that id is passed to the workflow
(``attach_roster``). The response gives counts per state, never a name or an address.

All or nothing: a list that does not validate stores nothing — no roster number is used up, so
the next good upload still gets it —; a roster the workflow then refuses (the event closed
meanwhile) is removed again. Refusals: a body that is not UTF-8, a column the roster does not have,
a row that does not validate → 422 with ``errors`` naming each field (``body``,
``columns.<name>``, ``rows[<n>].<column>``, n = 1 for the first data row) and never a value; a
media type other than JSON or CSV, or a character set other than UTF-8 → 415; more bytes or rows
than ``NOTICEFLOW_ROSTER_MAX_BYTES`` / ``NOTICEFLOW_ROSTER_MAX_ROWS`` → 413. The contacts are
sealed before they are written (``activities/contact_store.py``). Sent with an ``Idempotency-Key``
(``api/idempotency.py``), a retried upload is answered with the first upload's counts and stores
nothing again; the body is hashed as it streams in, not read twice into memory.
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy import select

from activities import db
from activities.contact_store import DataKeyDestroyedError
from activities.roster import (
    RosterMediaTypeError,
    RosterRow,
    RosterTooLargeError,
    RosterUploadError,
    contacts_from_upload,
    media_type_of,
    parse_upload,
)
from api.access import API_PREFIX, register_body_limit
from api.bounds import IncidentIdPath
from api.deps import Actor, ApiContext, Context
from api.errors import (
    ApiError,
    InvalidUpload,
    PayloadTooLarge,
    StepInvalid,
    StepRefused,
    UnsupportedMediaType,
)
from api.incidents import ERRORS
from api.schemas import ErrorBody
from models.lifecycle import AttachRoster, Stage
from models.notice import RosterSummary
from noticeflow.logging import get_logger
from workflows.incident import CybersecurityEventWorkflow

log = get_logger("noticeflow.api")

router = APIRouter(prefix="/incidents", tags=["incidents"])

_UPLOAD_DOC: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "One row per affected consumer: consumer_id, state, name, and email and/or a postal "
        "address (address_line1, address_line2, city, region, postal_code, country), electronic_consent, "
        "producer_of_record. A JSON list of objects, or CSV with a header row.",
        "content": {
            "application/json": {"schema": {"type": "array", "items": {"type": "object"}}},
            "text/csv": {"schema": {"type": "string"}},
        },
    }
}


def roster_ids(ctx: ApiContext, incident_id: str) -> list[str]:
    """Roster ids already used by the incident (``<incident_id>-r<n>``)."""
    prefix = f"{incident_id}-r"
    with db.read(ctx.rosters.engine) as conn:
        table = RosterRow.__table__
        rows = conn.execute(select(table.c.roster_id).where(table.c.roster_id.startswith(prefix, autoescape=True)))
        return [r.roster_id for r in rows]


def next_roster_id(ctx: ApiContext, incident_id: str) -> str:
    prefix = f"{incident_id}-r"
    numbers = [int(rid[len(prefix):]) for rid in roster_ids(ctx, incident_id) if rid[len(prefix):].isdigit()]
    return f"{prefix}{max(numbers, default=0) + 1}"


class RosterInvalid(InvalidUpload):
    """A roster that does not validate: 422 with ``errors``, one per field, as every 422 of the API."""

    def __init__(self, exc: RosterUploadError) -> None:
        super().__init__(str(exc))
        self.errors = exc.errors

    def body(self) -> dict[str, Any]:
        return {"detail": self.detail, "errors": self.errors}


def _limit_bytes(settings: Any) -> int:
    return int(settings.roster_max_bytes)


# The API's own body limit (api/access.py) lets a roster be as large as its setting allows.
register_body_limit("POST", f"{API_PREFIX}/incidents/{{incident_id}}/roster", _limit_bytes)


def _too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"the roster is larger than {limit} bytes (NOTICEFLOW_ROSTER_MAX_BYTES): split it into several uploads, or raise the limit"
    )


async def read_limited(request: Request, limit: int) -> bytes:
    """The request body, refused with 413 as soon as it passes ``limit`` bytes (before reading it
    all when Content-Length says so)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


def store_upload(ctx: ApiContext, incident_id: str, data: bytes, media_type: str) -> RosterSummary:
    """Parse and store an upload under the incident's next roster id. Nothing is stored, and no
    roster number used up, when it is refused."""
    rows = parse_upload(data, media_type, max_rows=ctx.settings.roster_max_rows)
    if not rows:
        message = "the roster is empty: give one row per affected consumer"
        raise RosterUploadError(message, errors=[{"field": "body", "message": message, "type": "roster_empty"}])
    roster_id = next_roster_id(ctx, incident_id)
    return ctx.rosters.store_roster(roster_id, contacts_from_upload(rows, ctx.npi_key), incident_id=incident_id)


def discard_roster(ctx: ApiContext, roster_id: str) -> None:
    """Remove a roster the workflow did not accept: its contacts, its header row, and the
    incident's data key if no other roster uses it."""
    ctx.rosters.discard_roster(roster_id)


@router.post(
    "/{incident_id}/roster",
    status_code=201,
    response_model=RosterSummary,
    responses={**ERRORS, 415: {"model": ErrorBody, "description": "Neither application/json nor text/csv, or not UTF-8."}},
    openapi_extra=_UPLOAD_DOC,
    summary="Upload the affected consumers' contact list (counts returned, never the list)",
)
async def upload_roster(incident_id: IncidentIdPath, request: Request, ctx: Context, actor: Actor) -> RosterSummary:
    try:
        media_type = media_type_of(request.headers.get("content-type", "application/json"))
    except RosterMediaTypeError as exc:
        raise UnsupportedMediaType(str(exc)) from None
    limit = ctx.settings.roster_max_bytes
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    # Refuse before storing anything when the event cannot take a roster (unknown, closed).
    state = await ctx.gateway.state(incident_id, for_step=True)
    if state.stage in (Stage.CLOSED, Stage.NOT_AN_EVENT):
        raise StepRefused(f"cannot attach a consumer list: the event is {state.stage.value}")
    data = await read_limited(request, limit)
    async with ctx.roster_locks[incident_id]:
        try:
            summary = await asyncio.to_thread(store_upload, ctx, incident_id, data, media_type)
        except RosterUploadError as exc:
            raise RosterInvalid(exc) from None
        except RosterTooLargeError as exc:
            raise PayloadTooLarge(str(exc)) from None
        except DataKeyDestroyedError as exc:  # the event's retention ended and its contact data was destroyed
            raise StepRefused(f"cannot attach a consumer list: {exc}") from None
        attach = AttachRoster(roster_id=summary.roster_id, attached_by=actor)
        try:
            await ctx.gateway.step(incident_id, CybersecurityEventWorkflow.attach_roster, attach)
        except ApiError as exc:
            if isinstance(exc, (StepRefused, StepInvalid)):  # refused: the roster was not attached
                await asyncio.to_thread(discard_roster, ctx, summary.roster_id)
            log.info("incident.step_refused", incident_id=incident_id, step="roster", actor=actor, status=exc.status_code)
            raise
    log.info(
        "incident.step", incident_id=incident_id, step="roster", actor=actor, roster_id=summary.roster_id,
        consumers=summary.total, generation=summary.generation,
    )
    return summary
