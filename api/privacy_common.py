"""What the privacy routes share: the privacy store, the Temporal errors they translate, a
relationship's workflow handle and steps, the caller check, and ledgered acts of the API itself.

Most privacy steps are updates of a workflow, which ledgers them in the caller's name. Three acts
are the API's own, ledgered here before the store changes (as ``api/apikeys.py`` does for keys):
publishing a policy version and registering relationships — what the workflows then act on.
"""

from __future__ import annotations

import asyncio
import threading
import weakref
from collections.abc import Callable, Sequence
from typing import Any

from temporalio.client import RPCError, WorkflowHandle
from temporalio.service import RPCStatusCode

from activities.contact_store import ContactStore
from activities.privacy_store import PrivacyStore
from api.auth import require_caller as caller_named
from api.deps import ApiContext
from api.errors import (
    ApiError,
    LedgerUnavailable,
    StepRefused,
    StepTimedOut,
    TemporalUnavailable,
    too_large_for_temporal,
)
from api.gateway import run_update
from api.schemas import error_responses
from ledger.errors import LedgerError, NPIError, StepConflictError
from models.authority import SYSTEM_ACTOR
from models.ledger import EntryDraft, LedgerEntry
from workflows.privacy_relationship import (
    ConsumerRelationshipWorkflow,
    relationship_workflow_id,
)

ERRORS = error_responses(
    "No such relationship lifecycle, policy version or revised-notice run.",
    "The workflow refused the step; `detail` names the field and the rule.",
)

_stores: weakref.WeakKeyDictionary[ApiContext, PrivacyStore] = weakref.WeakKeyDictionary()
_stores_lock = threading.Lock()


def privacy_store(ctx: ApiContext) -> PrivacyStore:
    """The privacy store in the context's database (opened on first use; blocking: call from a
    worker thread). Contacts are sealed under the contact KEK of the settings, as the worker does."""
    engine = ctx.engine
    with _stores_lock:
        store = _stores.get(ctx)
        if store is None or store.engine is not engine:
            store = PrivacyStore(engine, ContactStore.for_settings(engine, ctx.settings))
            _stores[ctx] = store
        return store


async def in_thread(ctx: ApiContext, work: Callable[[PrivacyStore], Any]) -> Any:
    """``work(store)`` in a worker thread."""
    return await asyncio.to_thread(lambda: work(privacy_store(ctx)))


def require_caller(named: str | None, field: str, actor: str) -> None:
    """The person a body names as acting, if any, must be the caller (``api/auth.py``); ``worker``,
    the sweeps' own name, is taken as leaving it out — the step is the caller's either way."""
    caller_named(None if named == SYSTEM_ACTOR else named, field, actor)


# -- the ledger: the API's own acts -------------------------------------------------------------------


class LedgerConflict(StepRefused):
    """The same act was recorded before with other content (409)."""


def append_entries(ctx: ApiContext, drafts: Sequence[EntryDraft], conflict: Callable[[StepConflictError], str]) -> list[LedgerEntry]:
    """Record ``drafts`` in one transaction (all or nothing); a step recorded before with the same
    content is not recorded again. Blocking."""
    try:
        return ctx.signing_ledger.append_many(drafts)
    except StepConflictError as exc:
        raise LedgerConflict(conflict(exc), rule_id="ledger_step_conflict") from None
    except NPIError as exc:
        raise StepRefused(f"the ledger refused the entry as NPI, so nothing was recorded or changed: {exc}",
                          rule_id="ledger_refused_npi") from None
    except LedgerError as exc:
        raise LedgerUnavailable(f"the act could not be ledgered, so nothing changed: {exc}") from None


# -- a relationship's lifecycle ---------------------------------------------------------------------------


class RelationshipNotFound(ApiError):
    status_code = 404

    def __init__(self, relationship_id: str) -> None:
        super().__init__(
            f"no privacy relationship lifecycle {relationship_id!r}: register it with POST /v1/privacy/relationships "
            f"(its lifecycle runs as workflow {relationship_workflow_id(relationship_id)})"
        )


def translate(exc: RPCError, what: str, not_found: ApiError) -> ApiError:
    """Temporal's RPC error as the API's answer for ``what`` (e.g. "relationship 'R-1'")."""
    too_large = too_large_for_temporal(exc, f"the request for {what}")
    if too_large is not None:
        return too_large
    if exc.status == RPCStatusCode.NOT_FOUND:
        return not_found
    if exc.status == RPCStatusCode.UNAVAILABLE:
        return TemporalUnavailable(f"Temporal cannot be reached: {exc.message}. Nothing was recorded; try again.")
    if exc.status in (RPCStatusCode.DEADLINE_EXCEEDED, RPCStatusCode.CANCELLED):
        return StepTimedOut(f"the worker did not answer in time for {what}")
    if exc.status == RPCStatusCode.FAILED_PRECONDITION:
        return StepRefused(f"the lifecycle of {what} has ended and takes no further steps")
    return ApiError(f"Temporal refused the request for {what}: {exc.message}")


async def relationship_handle(ctx: ApiContext, relationship_id: str) -> WorkflowHandle[Any, Any]:
    client = await ctx.gateway.client()
    return client.get_workflow_handle_for(ConsumerRelationshipWorkflow.run, relationship_workflow_id(relationship_id))


async def relationship_step(ctx: ApiContext, relationship_id: str, update: Callable[..., Any], arg: Any) -> Any:
    """One validated update of the relationship's lifecycle: its answer, or the refusal typed."""
    handle = await relationship_handle(ctx, relationship_id)
    try:
        return await run_update(handle, update, arg, ctx.gateway.step_timeout, f"/v1/privacy/relationships/{relationship_id}")
    except RPCError as exc:
        raise translate(exc, f"relationship {relationship_id!r}", RelationshipNotFound(relationship_id)) from None
