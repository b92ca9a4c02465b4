"""``POST /incidents/{id}/roster``: the affected consumers' contact list.

The list is the one upload that carries personal information, so it never travels through
Temporal: it is parsed and stored here in the roster store (consumer ids replaced by their
digests) under roster id ``<incident_id>-r<n>``, and only that id is passed to the workflow
(``attach_roster``). The response gives counts per state, never a name or an address.

All or nothing: a list that does not validate stores nothing; a roster the workflow then refuses
(the event closed meanwhile) is removed again. Sent with an ``Idempotency-Key``
(``api/idempotency.py``), a retried upload is answered with the first upload's counts and stores
nothing again; the body is hashed as it streams in, not read twice into memory.
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy import delete, select

from activities import db
from activities.roster import RosterContactRow, RosterRow, RosterUploadError, contacts_from_upload, parse_upload
from api.deps import Actor, ApiContext, Context
from api.errors import ApiError, InvalidUpload, StepInvalid, StepRefused, UnsupportedMediaType
from api.incidents import ERRORS
from models.lifecycle import AttachRoster, Stage
from models.notice import RosterSummary
from noticeflow.logging import get_logger
from workflows.incident import CybersecurityEventWorkflow

log = get_logger("noticeflow.api")

router = APIRouter(prefix="/incidents", tags=["incidents"])

MEDIA_TYPES = {"application/json": "application/json", "text/csv": "text/csv"}

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


def store_upload(ctx: ApiContext, incident_id: str, data: bytes, media_type: str) -> RosterSummary:
    rows = parse_upload(data, media_type)
    if not rows:
        raise RosterUploadError("the roster is empty: give one row per affected consumer")
    roster_id = next_roster_id(ctx, incident_id)
    return ctx.rosters.store_roster(roster_id, contacts_from_upload(rows, ctx.npi_key))


def discard_roster(ctx: ApiContext, roster_id: str) -> None:
    """Remove a roster the workflow did not accept: its contacts, then its header row."""
    contacts, rosters = RosterContactRow.__table__, RosterRow.__table__
    with db.write(ctx.rosters.engine) as conn:
        conn.execute(delete(contacts).where(contacts.c.roster_id == roster_id))
        conn.execute(delete(rosters).where(rosters.c.roster_id == roster_id))


@router.post(
    "/{incident_id}/roster",
    status_code=201,
    response_model=RosterSummary,
    responses={**ERRORS, 415: {"description": "Neither application/json nor text/csv."}},
    openapi_extra=_UPLOAD_DOC,
    summary="Upload the affected consumers' contact list (counts returned, never the list)",
)
async def upload_roster(incident_id: str, request: Request, ctx: Context, actor: Actor) -> RosterSummary:
    media_type = request.headers.get("content-type", "application/json").split(";", 1)[0].strip().lower()
    if media_type not in MEDIA_TYPES:
        raise UnsupportedMediaType(
            f"a roster is uploaded as application/json (a list of objects) or text/csv (a header row), not {media_type!r}"
        )
    # Refuse before storing anything when the event cannot take a roster (unknown, closed).
    state = await ctx.gateway.state(incident_id)
    if state.stage in (Stage.CLOSED, Stage.NOT_AN_EVENT):
        raise StepRefused(f"cannot attach a consumer list: the event is {state.stage.value}")
    data = await request.body()
    async with ctx.roster_locks[incident_id]:
        try:
            summary = await asyncio.to_thread(store_upload, ctx, incident_id, data, media_type)
        except RosterUploadError as exc:
            raise InvalidUpload(str(exc)) from None
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
