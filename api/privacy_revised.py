"""Revised-notice runs (28 TAC § 22.12), and a state's privacy records as an examination bundle.

``POST /privacy/revised-notices`` starts one ``RevisedNoticeWorkflow`` per policy change (id
``revised-notice-<old>-<new>``; docs/revised-notices.md), after checking that both versions are
published and of one jurisdiction; the workflow records its start in the caller's name and
carries the change through: diff, render once, deliver in batches, wait out each cohort's
reasonable opportunity to opt out, open per relationship. ``GET …/{old}/{new}`` follows it (its
``progress`` query: phase and counts); ``POST …/{old}/{new}/marks`` records revised notices
returned as undeliverable or acknowledged, by relationship (its ``mark_deliveries`` update).

``POST /privacy/export`` writes an examination bundle of every ledger stream with an entry for a
state: the relationships' lifecycles, the policy versions, the revised-notice runs (and any
cybersecurity event with residents there) — each stream bounded by its signed stream head, the
bundle verifiable offline like an incident's.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.exceptions import RequestValidationError
from temporalio.client import (
    RPCError,
    RPCTimeoutOrCancelledError,
    WorkflowQueryFailedError,
    WorkflowQueryRejectedError,
)
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from activities.privacy_store import NotFoundError
from api.audit import write_bundle
from api.bounds import VersionIdPath
from api.deps import Actor, ApiContext, Context
from api.errors import ApiError, LedgerUnavailable, StepRefused, StepTimedOut
from api.gateway import run_update
from api.privacy_common import ERRORS, privacy_store, require_caller, translate
from api.privacy_schemas import (
    RevisedNoticeMarks,
    RevisedNoticeStarted,
    StartRevisedNotice,
)
from api.schemas import ExportResponse
from ledger.errors import LedgerError
from ledger.store import EntryFilter
from models.common import StateCode
from models.privacy_lifecycle import DeliveryStatus
from models.revised_notice import (
    MarkDeliveries,
    MarkResult,
    RevisedNoticeStart,
    RevisedNoticeState,
    revised_notice_id,
    revised_workflow_id,
)
from noticeflow.logging import get_logger
from workflows import priorities
from workflows.revised_notice import RevisedNoticeWorkflow

log = get_logger("noticeflow.api")

router = APIRouter()

#: How long a start waits for the run's first answer before returning without it.
FIRST_PROGRESS_WAIT = 5.0


class RevisedNoticeNotFound(ApiError):
    status_code = 404

    def __init__(self, old_version: str, new_version: str) -> None:
        super().__init__(
            f"no revised-notice run for {old_version} → {new_version}: start it with POST /v1/privacy/revised-notices "
            f"(workflow {revised_workflow_id(old_version, new_version)})"
        )


def _versions(ctx: ApiContext, body: StartRevisedNotice) -> None:
    """Both versions published, of one jurisdiction: else 422 naming the field. Blocking."""
    store = privacy_store(ctx)
    records = {}
    for name in ("old_version", "new_version"):
        version = getattr(body, name)
        try:
            records[name] = store.get_policy(version)
        except NotFoundError:
            raise RequestValidationError([{"loc": ("body", name), "type": "policy_version_unknown",
                                           "msg": f"no policy version {version!r} is published (POST /v1/privacy/policies)"}]) from None
    old, new = records["old_version"].policy, records["new_version"].policy
    if old.jurisdiction != new.jurisdiction:
        raise RequestValidationError([{"loc": ("body", "new_version"), "type": "jurisdiction_differs",
                                       "msg": f"{new.version_id!r} is a {new.jurisdiction} policy and {old.version_id!r} a "
                                              f"{old.jurisdiction} one: a revised notice follows a change of one policy"}])


async def _progress(ctx: ApiContext, old_version: str, new_version: str, *, wait: float | None = None) -> RevisedNoticeState | None:
    """The run's ``progress``; with ``wait``, None when the worker has not answered within it."""
    client = await ctx.gateway.client()
    handle = client.get_workflow_handle_for(RevisedNoticeWorkflow.run, revised_workflow_id(old_version, new_version))
    timeout = wait if wait is not None else ctx.gateway.query_timeout
    try:
        state: RevisedNoticeState = await asyncio.wait_for(
            handle.query(RevisedNoticeWorkflow.progress, rpc_timeout=timedelta(seconds=max(timeout, 0.5))), timeout + 1
        )
        return state
    except (TimeoutError, RPCTimeoutOrCancelledError, WorkflowQueryRejectedError):
        if wait is not None:
            return None
        raise StepTimedOut(
            f"the worker did not answer for the revised-notice run {old_version} → {new_version} within {timeout:.0f} s: "
            f"is a noticeflow worker running on task queue {ctx.settings.task_queue!r}?"
        ) from None
    except WorkflowQueryFailedError as exc:
        if wait is not None:
            return None
        raise ApiError(f"the revised-notice run {old_version} → {new_version} could not report its progress: {exc}") from None
    except RPCError as exc:
        if wait is not None and exc.status.name in ("DEADLINE_EXCEEDED", "CANCELLED"):
            return None
        raise translate(exc, f"the revised-notice run {old_version} → {new_version}",
                        RevisedNoticeNotFound(old_version, new_version)) from None


@router.post(
    "/revised-notices", status_code=201, response_model=RevisedNoticeStarted, responses=ERRORS,
    summary="Start the revised notice of a policy change (28 TAC § 22.12): diff, render once, deliver in batches",
)
async def start_revised_notice(body: StartRevisedNotice, ctx: Context, actor: Actor) -> RevisedNoticeStarted:
    require_caller(body.started_by, "started_by", actor)
    if body.old_version == body.new_version:
        raise RequestValidationError([{"loc": ("body", "new_version"), "type": "same_version",
                                       "msg": "a revised notice compares two different policy versions"}])
    await asyncio.to_thread(_versions, ctx, body)
    start = RevisedNoticeStart(old_version=body.old_version, new_version=body.new_version, started_by=actor,
                               batch_size=body.batch_size, batches_per_child=body.batches_per_child)
    workflow_id = revised_workflow_id(body.old_version, body.new_version)
    client = await ctx.gateway.client()
    try:
        await client.start_workflow(
            RevisedNoticeWorkflow.run, start, id=workflow_id, task_queue=ctx.settings.task_queue,
            # One run per policy change: its stream and delivery keys name the two versions.
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            static_summary=f"Revised privacy notice {body.old_version} → {body.new_version}",
            priority=priorities.NOTICES,  # its batches inherit it: behind a responder's steps (workflows/priorities.py)
        )
    except WorkflowAlreadyStartedError:
        raise StepRefused(
            f"the revised notice of {body.old_version} → {body.new_version} was started already (workflow {workflow_id}): "
            f"follow it with GET /v1/privacy/revised-notices/{body.old_version}/{body.new_version}",
            rule_id="revised_notice_already_started",
        ) from None
    except RPCError as exc:
        raise translate(exc, f"the revised-notice run {workflow_id}", RevisedNoticeNotFound(body.old_version, body.new_version)) from None
    progress = await _progress(ctx, body.old_version, body.new_version, wait=FIRST_PROGRESS_WAIT)
    log.info("privacy.revised_notice_started", workflow_id=workflow_id, actor=actor)
    return RevisedNoticeStarted(workflow_id=workflow_id, old_version=body.old_version, new_version=body.new_version, progress=progress)


@router.get(
    "/revised-notices/{old_version}/{new_version}", response_model=RevisedNoticeState, responses=ERRORS,
    summary="Where a revised-notice run stands: phase, counts (sent, pending, returned, opened, …), what it waits for",
)
async def revised_notice_progress(old_version: VersionIdPath, new_version: VersionIdPath, ctx: Context, actor: Actor) -> RevisedNoticeState:
    state = await _progress(ctx, old_version, new_version)
    assert state is not None
    return state


@router.post(
    "/revised-notices/{old_version}/{new_version}/marks", response_model=MarkResult, responses=ERRORS,
    summary="Revised notices returned as undeliverable (28 TAC § 22.13(a)) or acknowledged (§ 22.14(b)(2)), by relationship",
)
async def mark_revised_notices(
    old_version: VersionIdPath, new_version: VersionIdPath, body: RevisedNoticeMarks, ctx: Context, actor: Actor
) -> MarkResult:
    require_caller(body.recorded_by, "recorded_by", actor)
    notice_id = revised_notice_id(new_version)
    marks = MarkDeliveries(
        delivery_keys=[f"{rid}/{notice_id}" for rid in body.relationship_ids], status=DeliveryStatus(body.status), at=body.at,
        recorded_by=actor, batch_ref=body.batch_ref,
    )
    client = await ctx.gateway.client()
    handle = client.get_workflow_handle_for(RevisedNoticeWorkflow.run, revised_workflow_id(old_version, new_version))
    path = f"/v1/privacy/revised-notices/{old_version}/{new_version}"
    try:
        result: MarkResult = await run_update(handle, RevisedNoticeWorkflow.mark_deliveries, marks, ctx.gateway.step_timeout, path,
                                              body_fields=frozenset(RevisedNoticeMarks.model_fields))
    except RPCError as exc:
        raise translate(exc, f"the revised-notice run {old_version} → {new_version}",
                        RevisedNoticeNotFound(old_version, new_version)) from None
    except ApiError as exc:
        _rename_field(exc)
        raise
    return result


def _rename_field(exc: ApiError) -> None:
    """The workflow names the delivery keys the API built from ``relationship_ids``."""
    field = getattr(exc, "field", None)
    if isinstance(field, str) and field.startswith("delivery_keys"):
        exc.field = "relationship_ids" + field[len("delivery_keys"):]  # type: ignore[attr-defined]


# -- a state's privacy records, as an examination bundle ---------------------------------------------


def _export(ctx: ApiContext, jurisdiction: str, pdf: bool) -> ExportResponse:
    return write_bundle(ctx, f"privacy-{jurisdiction}", EntryFilter(jurisdiction=jurisdiction), f"jurisdiction:{jurisdiction}", pdf)


class NothingToExport(ApiError):
    status_code = 404


@router.post(
    "/export", status_code=201, response_model=ExportResponse, responses=ERRORS,
    summary="Write an examination bundle of a state's privacy records: every stream with an entry for it",
)
async def export_privacy(
    ctx: Context, actor: Actor,
    jurisdiction: Annotated[StateCode, Query(description="The state whose records the bundle holds, e.g. TX.")] = "TX",
    pdf: Annotated[bool, Query(description="Also print the examiner's report to report.pdf (needs Chromium).")] = False,
) -> ExportResponse:
    def recorded() -> bool:
        return next(iter(ctx.ledger.iter_raw(EntryFilter(jurisdiction=jurisdiction), chunk=1)), None) is not None

    try:
        if not await asyncio.to_thread(recorded):
            raise NothingToExport(f"the ledger holds no entry for {jurisdiction}: nothing to export")
    except LedgerError as exc:
        raise LedgerUnavailable(f"the ledger cannot be read: {exc}") from None
    result = await asyncio.to_thread(_export, ctx, jurisdiction, pdf)
    log.info("privacy.exported", jurisdiction=jurisdiction, actor=actor, entries=result.entries, path=result.path)
    return result

