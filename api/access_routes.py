"""``/v1/access``: who the caller is, and the API keys (``admin`` only).

Creating and revoking a key through the API is the same ledgered act as ``noticeflow apikey …``
(``api/apikeys.py``), in the admin's name: ``access.api_key_created`` / ``access.api_key_revoked``
on stream ``admin:access`` before the key table changes. The token is in the answer to the create,
once; no other answer carries it or its hash.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field

from api.access import Role
from api.apikeys import ApiKeyError, KeyConflict, create_api_key, revoke_api_keys
from api.deps import Actor, ApiContext, Caller, Context
from api.errors import ApiError, LedgerUnavailable, StepRefused
from api.schemas import error_responses
from ledger.errors import LedgerError

router = APIRouter(prefix="/access", tags=["access"])

ERRORS = error_responses("No such API key.", "The key cannot be changed so.")


class WhoAmI(BaseModel):
    name: str
    kind: str = Field(description="`key` (an API key) or `user` (single sign-on).")
    actor: str = Field(description="How the ledger names the caller's steps.")
    roles: list[Role]


class ApiKeyInfo(BaseModel):
    key_id: str
    name: str
    actor: str
    roles: list[Role]
    status: str = Field(description="active | revoked | expired")
    created_at: datetime
    created_by: str
    expires_at: datetime | None = None
    revoked_at: datetime | None = None
    revoked_by: str | None = None


class CreateApiKey(BaseModel):
    name: str = Field(min_length=1, max_length=64, description="The principal: its steps are recorded as key:<name>.")
    roles: list[Role] = Field(min_length=1)
    expires: timedelta | None = Field(None, description="ISO 8601 duration from now, e.g. P90D. None: no expiry.")
    replace: bool = Field(False, description="Revoke the name's active key in the same step (rotation).")


class CreatedApiKey(BaseModel):
    key: ApiKeyInfo
    token: str = Field(description="Shown once: only its HMAC is stored.")


class KeyNotFound(ApiError):
    status_code = 404


@router.get("/whoami", response_model=WhoAmI, responses=ERRORS, summary="The caller: name, roles, ledger actor")
async def whoami(caller: Caller) -> WhoAmI:
    return WhoAmI(name=caller.name, kind=caller.kind, actor=caller.actor, roles=[r for r in Role if r in caller.roles])


@router.get("/api-keys", response_model=list[ApiKeyInfo], responses=ERRORS, summary="Every API key (never a token)")
async def list_keys(ctx: Context) -> list[ApiKeyInfo]:
    now = datetime.now(UTC)
    keys = await asyncio.to_thread(lambda: ctx.api_keys.all_keys())
    return [ApiKeyInfo.model_validate(k.describe(now)) for k in keys]


def _ledgered(ctx: ApiContext, act: Any) -> Any:
    try:
        return act(ctx.api_keys, ctx.signing_ledger)
    except KeyConflict as exc:
        raise StepRefused(str(exc)) from None
    except ApiKeyError as exc:
        raise RequestValidationError([{"loc": ("body", exc.field), "msg": str(exc), "type": "api_key"}]) from None
    except LedgerError as exc:
        raise LedgerUnavailable(f"the act could not be ledgered, so nothing changed: {exc}") from None


@router.post("/api-keys", status_code=201, response_model=CreatedApiKey, responses=ERRORS,
             summary="Create an API key (ledgered); its token is shown once")
async def create_key(body: CreateApiKey, ctx: Context, actor: Actor) -> CreatedApiKey:
    key, token = await asyncio.to_thread(
        _ledgered, ctx,
        lambda store, ledger: create_api_key(
            store, ledger, name=body.name, roles=body.roles, actor=actor, expires_in=body.expires, replace=body.replace
        ),
    )
    return CreatedApiKey(key=ApiKeyInfo.model_validate(key.describe(datetime.now(UTC))), token=token)


@router.post("/api-keys/{key_id}/revoke", response_model=list[ApiKeyInfo], responses=ERRORS,
             summary="Revoke an API key (ledgered); it authenticates nobody from now on")
async def revoke_key(key_id: str, ctx: Context, actor: Actor) -> list[ApiKeyInfo]:
    known = await asyncio.to_thread(lambda: [k for k in ctx.api_keys.all_keys() if k.key_id == key_id])
    if not known:
        raise KeyNotFound(f"no API key {key_id!r} (GET /v1/access/api-keys lists them)")
    revoked = await asyncio.to_thread(
        _ledgered, ctx, lambda store, ledger: revoke_api_keys(store, ledger, key_id, actor=actor)
    )
    now = datetime.now(UTC)
    return [ApiKeyInfo.model_validate(k.describe(now)) for k in revoked]
