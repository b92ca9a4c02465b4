"""Legal holds and the retention of an event's contact data, through the API (role ``admin``).

    GET  /v1/incidents/{incident_id}/retention                      data keys live/destroyed, retain_until, holds
    GET  /v1/incidents/{incident_id}/legal-holds                    every hold, in force or lifted
    POST /v1/incidents/{incident_id}/legal-holds                    {"matter": "Doe v. Cumberland, No. 3:26-cv-0101"}
    POST /v1/incidents/{incident_id}/legal-holds/{hold_id}/lift

The same acts as ``noticeflow contacts hold set|lift`` and ``contacts status`` — the same
functions (``activities/contact_retention.py``), the same ledger entries on stream
``admin:retention`` (``contacts.legal_hold_set`` / ``contacts.legal_hold_lifted``, written
before the hold changes) — in the name of the admin who called (``key:<name>``, ``user:<name>``)
instead of the operating-system login. While a hold is in force the retention sweep
(``noticeflow contacts shred-expired``) does not destroy the event's data key.

An event is known by its ledger stream (``incident:<id>``), not by its workflow: a hold may be
asked for years after the workflow left Temporal. An unknown incident is 404; a second hold for a
matter already holding the event, or lifting a hold already lifted, is 409; a matter that is not
1–200 printable characters is 422 naming ``matter``. Nothing here reads or returns a consumer's
data or key material: key ids, dates, citations and matters only.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field, field_validator
from sqlalchemy import select

from activities import db
from activities.contact_retention import (
    ContactRetention,
    LegalHold,
    RetentionError,
    incident_scope,
)
from activities.contact_store import ContactStore, ContactStoreError
from api.deps import Actor, ApiContext, Context
from api.errors import ApiError, LedgerUnavailable, StepRefused
from api.schemas import error_responses
from ledger.errors import LedgerError
from ledger.store import LedgerStreamTipRow

router = APIRouter(prefix="/incidents/{incident_id}", tags=["retention"])

ERRORS = error_responses(
    "No such incident in the ledger, or no such legal hold on it.",
    "The event is already on hold for that matter, or the hold was lifted already.",
)
_STREAM_TIPS = LedgerStreamTipRow.__table__  # type: ignore[attr-defined]
MATTER_EXAMPLE = "Doe v. Cumberland Mutual, No. 3:26-cv-0101"


class NotInLedger(ApiError):
    status_code = 404


class SetLegalHold(BaseModel):
    matter: str = Field(
        description="The matter's reference: docket, claim or counsel's file number (1–200 printable characters).",
        examples=[MATTER_EXAMPLE],
    )

    @field_validator("matter")
    @classmethod
    def _printable(cls, value: str) -> str:
        try:
            return ContactRetention._matter(value)  # the CLI's own rule, so both refuse the same matters
        except RetentionError as exc:
            raise ValueError(str(exc).removeprefix("matter: ")) from None


class LegalHoldInfo(BaseModel):
    hold_id: str
    incident_id: str
    matter: str
    status: Literal["in_force", "lifted"]
    set_at: datetime
    set_by: str = Field(description="The actor who set it (ledgered on admin:retention).")
    lifted_at: datetime | None = None
    lifted_by: str | None = None

    @classmethod
    def of(cls, hold: LegalHold) -> LegalHoldInfo:
        return cls(
            hold_id=hold.hold_id, incident_id=hold.incident_id, matter=hold.matter,
            status="lifted" if hold.lifted_at else "in_force", set_at=datetime.fromisoformat(hold.set_at),
            set_by=hold.set_by, lifted_at=datetime.fromisoformat(hold.lifted_at) if hold.lifted_at else None,
            lifted_by=hold.lifted_by,
        )


class DataKeyStatus(BaseModel):
    key_id: str = Field(description="The data key's id (never its material).")
    kek_id: str = Field(description="The key-encryption key that wraps (or wrapped) it.")
    created_at: datetime
    status: Literal["live", "destroyed"]
    destroyed_at: datetime | None = None
    destroyed_under: str | None = Field(None, description="The retention citation the destruction was recorded under.")


class RetentionStatus(BaseModel):
    incident_id: str
    closed: bool = Field(description="Whether the event's closure (incident.closed) is in the ledger.")
    retain_until: datetime | None = Field(None, description="From the closure entry: when the retention ends.")
    retention_citation: str | None = None
    destruction: Literal["no_contact_data", "not_closed", "not_due", "due", "held", "destroyed"] = Field(
        description="What the retention sweep does with the event's contact data: nothing to destroy; no retention "
        "date yet (not closed); retention not over; destroyed at the next sweep; kept by a legal hold; already destroyed."
    )
    data_keys: list[DataKeyStatus]
    legal_holds: list[LegalHoldInfo] = Field(description="The holds in force.")


# -- plumbing -----------------------------------------------------------------------------------------


def _retention(ctx: ApiContext, *, signing: bool = False) -> ContactRetention:
    """The CLI's ``ContactRetention`` over the API's database (blocking)."""
    try:
        contacts = ContactStore.for_settings(ctx.engine, ctx.settings)
    except (ContactStoreError, OSError) as exc:
        raise LedgerUnavailable(f"the contact store cannot be opened: {exc}") from None
    return ContactRetention(contacts, ctx.signing_ledger if signing else ctx.ledger)


def _known(retention: ContactRetention, incident_id: str) -> None:
    with db.read(retention.engine) as conn:
        stream = conn.execute(select(_STREAM_TIPS.c.size).where(_STREAM_TIPS.c.stream == f"incident:{incident_id}")).first()
    if stream is None:
        raise NotInLedger(
            f"incident_id: no incident {incident_id!r} in the ledger — a legal hold or a retention status names an "
            "event noticeflow recorded"
        )


async def _run(act: Any) -> Any:
    try:
        return await asyncio.to_thread(act)
    except LedgerError as exc:
        raise LedgerUnavailable(f"the act could not be ledgered, so nothing changed: {exc}") from None


def _when(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


# -- routes -------------------------------------------------------------------------------------------


@router.get("/retention", response_model=RetentionStatus, responses=ERRORS,
            summary="The event's contact data: data keys live or destroyed, retention date, legal holds in force")
async def retention_status(incident_id: str, ctx: Context) -> RetentionStatus:
    def read() -> RetentionStatus:
        retention = _retention(ctx)
        _known(retention, incident_id)
        keys = retention.contacts.key_info(incident_scope(incident_id))
        closure = retention.closure(incident_id)
        holds = retention.holds(incident_id)
        live = [k for k in keys if not k.destroyed]
        destruction: str
        if not keys:
            destruction = "no_contact_data"
        elif not live:
            destruction = "destroyed"
        elif closure is None:
            destruction = "not_closed"
        elif closure.retain_until > datetime.now(closure.retain_until.tzinfo):
            destruction = "not_due"
        else:
            destruction = "held" if holds else "due"
        return RetentionStatus(
            incident_id=incident_id, closed=closure is not None,
            retain_until=closure.retain_until if closure else None,
            retention_citation=closure.citation if closure else None,
            destruction=destruction,  # type: ignore[arg-type]
            data_keys=[
                DataKeyStatus(key_id=k.key_id, kek_id=k.kek_id, created_at=datetime.fromisoformat(k.created_at),
                              status="destroyed" if k.destroyed else "live", destroyed_at=_when(k.destroyed_at),
                              destroyed_under=k.destroyed_under)
                for k in keys
            ],
            legal_holds=[LegalHoldInfo.of(h) for h in holds],
        )

    result: RetentionStatus = await _run(read)
    return result


@router.get("/legal-holds", response_model=list[LegalHoldInfo], responses=ERRORS,
            summary="The event's legal holds, in force and lifted")
async def list_legal_holds(incident_id: str, ctx: Context) -> list[LegalHoldInfo]:
    def read() -> list[LegalHoldInfo]:
        retention = _retention(ctx)
        _known(retention, incident_id)
        return [LegalHoldInfo.of(h) for h in retention.holds(incident_id, active_only=False)]

    result: list[LegalHoldInfo] = await _run(read)
    return result


@router.post("/legal-holds", status_code=201, response_model=LegalHoldInfo, responses=ERRORS,
             summary="Put the event's contact data on legal hold for a matter (ledgered); destruction waits for its lift")
async def set_legal_hold(incident_id: str, body: SetLegalHold, ctx: Context, actor: Actor) -> LegalHoldInfo:
    def act() -> LegalHoldInfo:
        retention = _retention(ctx, signing=True)
        _known(retention, incident_id)
        if any(h.matter == body.matter for h in retention.holds(incident_id)):
            raise StepRefused(f"incident {incident_id} is already on legal hold for matter {body.matter!r}: nothing was done")
        try:
            return LegalHoldInfo.of(retention.set_hold(incident_id, body.matter, by=actor))
        except RetentionError as exc:  # a hold set meanwhile by another admin
            raise StepRefused(f"{exc}: nothing was done") from None

    result: LegalHoldInfo = await _run(act)
    return result


@router.post("/legal-holds/{hold_id}/lift", response_model=LegalHoldInfo, responses=ERRORS,
             summary="Lift a legal hold (ledgered); with none left and the retention over, the next sweep destroys")
async def lift_legal_hold(incident_id: str, hold_id: str, ctx: Context, actor: Actor) -> LegalHoldInfo:
    def act() -> LegalHoldInfo:
        retention = _retention(ctx, signing=True)
        _known(retention, incident_id)
        hold = next((h for h in retention.holds(incident_id, active_only=False) if h.hold_id == hold_id), None)
        if hold is None:
            raise NotInLedger(f"hold_id: no legal hold {hold_id!r} on incident {incident_id} "
                              f"(GET /v1/incidents/{incident_id}/legal-holds lists them)")
        if hold.lifted_at is not None:
            raise StepRefused(f"legal hold {hold_id} was lifted already, at {hold.lifted_at} by {hold.lifted_by}: "
                              "nothing was done")
        try:
            return LegalHoldInfo.of(retention.lift_hold(incident_id, hold.matter, by=actor))
        except RetentionError as exc:  # lifted meanwhile by another admin
            raise StepRefused(f"{exc}: nothing was done") from None

    result: LegalHoldInfo = await _run(act)
    return result
