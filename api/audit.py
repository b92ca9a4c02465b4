"""The incident's audit trail: its ledger entries, and examination bundles of them.

Both read the ledger database directly, not the workflow: what was recorded is what the ledger
holds. Entries carry counts and ``consumer_ref`` digests, never a consumer's identity.
"""

from __future__ import annotations

import asyncio
import itertools
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query

from api.bounds import MAX_SAFE_INTEGER as MAX_SEQ
from api.bounds import IncidentIdPath
from api.deps import Actor, ApiContext, Context
from api.errors import LedgerUnavailable
from api.incidents import ERRORS
from api.schemas import ExportResponse, LedgerEntries
from ledger.bundle import export_bundle
from ledger.errors import LedgerError
from ledger.store import EntryFilter
from noticeflow.bundle_options import bundle_export_options
from noticeflow.logging import get_logger
from reports.pdf import ReportPrintError

log = get_logger("noticeflow.api")

router = APIRouter(prefix="/incidents", tags=["audit"])

#: Entries per page of ``GET /v1/incidents/{id}/ledger``, at most.
MAX_PAGE = 5000


def incident_stream(incident_id: str) -> str:
    """The ledger stream of an event and its obligations (``workflows/incident.py``)."""
    return f"incident:{incident_id}"


def exports_dir(ctx: ApiContext) -> Path:
    return ctx.settings.home / "exports"


def _read_page(ctx: ApiContext, stream: str, after: int, limit: int) -> list[dict[str, Any]]:
    # One query from the page's start (seq > after), not a scan from the stream's first entry.
    return list(itertools.islice(ctx.ledger.iter_raw(EntryFilter(stream=stream), after=after, chunk=limit + 1), limit + 1))


@router.get("/{incident_id}/ledger", response_model=LedgerEntries, responses=ERRORS, summary="The incident's ledger entries")
async def incident_ledger(
    incident_id: IncidentIdPath,
    ctx: Context,
    actor: Actor,
    after: Annotated[int, Query(ge=0, le=MAX_SEQ, description="Only entries with seq greater than this.")] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE, description="Entries per page.")] = 1000,
) -> LedgerEntries:
    stream = incident_stream(incident_id)
    try:
        page = await asyncio.to_thread(_read_page, ctx, stream, after, limit)
    except LedgerError as exc:
        raise LedgerUnavailable(f"the ledger cannot be read: {exc}") from None
    if not page and after == 0:
        await ctx.gateway.require(incident_id)  # 404 for an incident that does not exist
    more = len(page) > limit
    page = page[:limit]
    return LedgerEntries(stream=stream, entries=page, next_after=page[-1]["seq"] if more else None)


def _bundle_path(ctx: ApiContext, name: str) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    base = exports_dir(ctx) / f"{re.sub(r'[^A-Za-z0-9._-]', '_', name)}-{stamp}"
    path, n = base, 1
    while path.exists():
        n += 1
        path = base.with_name(f"{base.name}-{n}")
    return path


def write_bundle(ctx: ApiContext, name: str, where: EntryFilter, selection: str, pdf: bool) -> ExportResponse:
    """An examination bundle of the entries ``where`` selects, in a new directory of the exports
    named after ``name``; ``selection`` is what the response says was exported."""
    try:
        result = export_bundle(
            ctx.signing_ledger, _bundle_path(ctx, name), ctx.keyring(), where, **bundle_export_options(ctx.settings, pdf=pdf)
        )
    except (LedgerError, ReportPrintError) as exc:
        raise LedgerUnavailable(f"the examination bundle could not be written: {exc}") from None
    return ExportResponse(
        path=str(result.path), stream=selection, entries=result.entries, tree_head=result.tree_head,
        completeness=result.completeness, documents=result.documents,
        missing_documents=[d["sha256"] for d in result.missing_documents],
    )


def _export(ctx: ApiContext, incident_id: str, pdf: bool) -> ExportResponse:
    stream = incident_stream(incident_id)
    return write_bundle(ctx, incident_id, EntryFilter(stream=stream), stream, pdf)


@router.post(
    "/{incident_id}/export",
    status_code=201,
    response_model=ExportResponse,
    responses=ERRORS,
    summary="Write an examination bundle of the incident's entries",
)
async def export_incident(
    incident_id: IncidentIdPath, ctx: Context, actor: Actor,
    pdf: Annotated[bool, Query(description="Also print the examiner's report to report.pdf (needs Chromium).")] = False,
) -> ExportResponse:
    # The ledger outlives the workflow's history (records are kept for years, Temporal's only for
    # its retention period): only an incident with no entries at all is looked up in Temporal.
    try:
        recorded = await asyncio.to_thread(_read_page, ctx, incident_stream(incident_id), 0, 1)
    except LedgerError as exc:
        raise LedgerUnavailable(f"the ledger cannot be read: {exc}") from None
    if not recorded:
        await ctx.gateway.require(incident_id)
    result = await asyncio.to_thread(_export, ctx, incident_id, pdf)
    log.info("incident.exported", incident_id=incident_id, actor=actor, entries=result.entries, path=result.path,
             tree_size=result.tree_head.tree_size)
    return result
