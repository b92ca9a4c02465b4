"""``Idempotency-Key`` on every POST of the API: a retried request is answered, not executed again.

A client that sends ``Idempotency-Key: <key>`` (1–255 visible ASCII characters, e.g. a UUID) with a
POST gets, for the same key and the same request again, the first answer replayed — same status,
same body, with ``Idempotency-Replayed: true`` — and the step is taken once. The same key with a
different request is 422 naming the header; a request still being processed under the key is 409
(``Retry-After: 1``). Keys are scoped to the authenticated caller and the request path: two callers,
or two routes, never share one. A request answered with a 5xx releases its key, so the retry runs;
a 2xx, 3xx or 4xx answer is kept for ``api_idempotency_ttl_hours`` (24 h by default).

The keys live in the ledger database, table ``api_idempotency_keys``. The claim is one atomic
``INSERT … ON CONFLICT DO NOTHING`` (``activities/db.py``), so of two identical requests arriving
at once exactly one runs. The stored answers are the API's responses: states, counts and ids, never
a roster's contents (a roster upload answers with counts only), so the table holds no NPI.

Under a key, the Temporal update the request makes is sent with an update id kept with the key
(``current_update_id``): a retry after a 504 — the step may have been taken — reuses it and so
attaches to the update the workflow already accepted instead of taking the step a second time;
after any other 5xx (the step failed, or never reached Temporal) the retry gets a new one.

The request body is hashed as it streams in and spooled (in memory up to ``SPOOL_IN_MEMORY``, on
disk beyond), then handed on to the route: a large roster upload is not held twice in memory.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from tempfile import SpooledTemporaryFile
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI
from sqlalchemy import DateTime, Engine, delete, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Field, SQLModel
from starlette.datastructures import Headers
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from activities import db
from api.guard import principal_of
from api.errors import ApiError, IdempotencyConflict, IdempotencyKeyInvalid, LedgerUnavailable, error_response
from noticeflow.logging import get_logger

if TYPE_CHECKING:
    from api.deps import ApiContext

log = get_logger("noticeflow.api")

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotency-Replayed"
#: How long a request may stay "in flight" before its key is taken to be abandoned (the process
#: that claimed it died): longer than any request takes, a large roster upload included.
IN_FLIGHT_LEASE = timedelta(minutes=10)
#: Request bodies up to this size are spooled in memory, larger ones on disk.
SPOOL_IN_MEMORY = 1 << 20
#: Chunks in which a spooled body is handed to the route.
READ_CHUNK = 1 << 16
#: Answers larger than this are not kept (the key is released): no route answers with as much.
MAX_STORED_BODY = 4 << 20
#: Response headers replayed with the body.
REPLAYED_HEADERS = ("content-type", "location")
#: Scopes longer than this are kept as their digest.
MAX_SCOPE = 512
#: Expired keys are deleted at most this often (seconds), by the request that claims a key.
PURGE_INTERVAL = 60.0


class KeyStatus(StrEnum):
    IN_FLIGHT = "in_flight"
    DONE = "done"
    #: Answered with a 5xx (or not at all): the next request under the key runs.
    RELEASED = "released"


class IdempotencyKeyRow(SQLModel, table=True):
    """One ``Idempotency-Key`` of one caller on one route, and the answer it was given."""

    __tablename__ = "api_idempotency_keys"

    scope: str = Field(primary_key=True, description="The caller and the route: '<actor> POST <path>'.")
    key: str = Field(primary_key=True, description="The client's Idempotency-Key (1–255 visible ASCII characters).")
    request_sha256: str = Field(description="SHA-256 of the request (media type, query, body).")
    status: str = Field(description="in_flight | done | released")
    update_id: str = Field(description="The Temporal update id the request's step is sent with.")
    response_status: int | None = Field(default=None, description="The answer's status; released: the 5xx, or none if unknown.")
    response_body: str | None = Field(default=None, description="The JSON answer, exactly as sent.")
    response_headers: str | None = Field(default=None, description="JSON object: the answer's Content-Type and Location.")
    created_at: datetime = Field(sa_type=DateTime(timezone=True))  # type: ignore[call-overload]
    expires_at: datetime = Field(sa_type=DateTime(timezone=True), index=True)  # type: ignore[call-overload]


TABLE = IdempotencyKeyRow.__table__  # type: ignore[attr-defined]
TABLES = (TABLE,)

#: A released request whose step may still have been taken: the worker did not answer in time
#: (504), or the request ended without an answer. Its retry sends the step under the same update
#: id, so Temporal hands back the step already taken instead of taking it again; after any other
#: 5xx (the step failed, or never reached Temporal) the retry is a new update.
OUTCOME_UNKNOWN = frozenset({504, None})


def _utc(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; every moment stored here is UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def new_update_id(scope: str, key: str, request_sha256: str, claimed_at: datetime) -> str:
    seed = f"{scope}\n{key}\n{request_sha256}\n{claimed_at.isoformat()}"
    return "idem-" + hashlib.sha256(seed.encode()).hexdigest()[:40]


class Outcome(StrEnum):
    CLAIMED = "claimed"
    REPLAY = "replay"
    IN_FLIGHT = "in_flight"
    MISMATCH = "mismatch"


@dataclass(frozen=True)
class Claim:
    outcome: Outcome
    #: The row's ``created_at``: whoever claimed the key completes or releases the row it created.
    created_at: datetime
    #: ``CLAIMED``: the update id to send the request's step with.
    update_id: str | None = None
    response_status: int | None = None
    response_body: str | None = None
    response_headers: dict[str, str] = field(default_factory=dict)


class IdempotencyStore:
    """The ``api_idempotency_keys`` table (blocking: call from a worker thread)."""

    def __init__(self, engine: Engine, *, ttl: timedelta, lease: timedelta = IN_FLIGHT_LEASE) -> None:
        if ttl <= timedelta(0):
            raise ValueError("the retention of idempotency keys must be positive")
        self.engine = engine
        self.ttl = ttl
        self.lease = lease
        self._last_purge = 0.0
        db.ensure_tables(engine, TABLES)

    def claim(self, scope: str, key: str, request_sha256: str, *, now: datetime | None = None) -> Claim:
        """Claim ``key`` for a request, or say why not: its answer to replay, still in flight, or
        first used with another request. Atomic: of concurrent claims exactly one is ``CLAIMED``.

        A key that was released (5xx), whose in-flight request was abandoned (its process died:
        older than the lease) or whose retention ended is claimed anew."""
        now = now or datetime.now(UTC)
        self._maybe_purge(now)
        fresh = {
            "scope": scope, "key": key, "request_sha256": request_sha256, "status": KeyStatus.IN_FLIGHT.value,
            "update_id": new_update_id(scope, key, request_sha256, now),
            "response_status": None, "response_body": None, "response_headers": None,
            "created_at": now, "expires_at": now + self.ttl,
        }
        where = (TABLE.c.scope == scope, TABLE.c.key == key)
        for _ in range(5):
            with db.write(self.engine) as conn:
                if db.insert_ignore(conn, TABLE, [fresh]):
                    return Claim(Outcome.CLAIMED, now, fresh["update_id"])
                row = conn.execute(select(TABLE).where(*where)).first()
                if row is None:  # purged between our insert and our read: try again
                    continue
                created_at, expires_at = _utc(row.created_at), _utc(row.expires_at)
                abandoned = row.status == KeyStatus.IN_FLIGHT and created_at <= now - self.lease
                released = row.status == KeyStatus.RELEASED
                if expires_at <= now or abandoned or released:
                    values = {k: v for k, v in fresh.items() if k not in ("scope", "key")}
                    unknown = abandoned or (released and row.response_status in OUTCOME_UNKNOWN)
                    if unknown and expires_at > now and row.request_sha256 == request_sha256:
                        values["update_id"] = row.update_id  # the step may have been taken: attach to it
                    taken = conn.execute(
                        update(TABLE)
                        .where(*where, TABLE.c.status == row.status, TABLE.c.created_at == row.created_at)
                        .values(values)
                    )
                    if taken.rowcount == 1:
                        if abandoned:
                            log.warning("api.idempotency_key_abandoned", scope=scope, since=created_at.isoformat())
                        return Claim(Outcome.CLAIMED, now, values["update_id"])
                    continue
                if row.request_sha256 != request_sha256:
                    return Claim(Outcome.MISMATCH, created_at)
                if row.status == KeyStatus.IN_FLIGHT:
                    return Claim(Outcome.IN_FLIGHT, created_at)
                return Claim(
                    Outcome.REPLAY, created_at, None, row.response_status, row.response_body,
                    json.loads(row.response_headers) if row.response_headers else {},
                )
        raise RuntimeError(f"the idempotency key of {scope!r} could not be claimed: it kept changing")

    def complete(
        self, scope: str, key: str, created_at: datetime, status: int, body: str, headers: dict[str, str]
    ) -> bool:
        """Keep the answer of the request that claimed the key; False if the claim was lost."""
        with db.write(self.engine) as conn:
            done = conn.execute(
                update(TABLE)
                .where(*self._owned(scope, key, created_at))
                .values(status=KeyStatus.DONE.value, response_status=status, response_body=body,
                        response_headers=json.dumps(headers, sort_keys=True))
            )
            return done.rowcount == 1

    def release(self, scope: str, key: str, created_at: datetime, status: int | None) -> None:
        """Release an in-flight key: the request was answered with the 5xx ``status``, or not at all
        (``None``). The next request under the key runs; nothing of the answer is kept."""
        with db.write(self.engine) as conn:
            conn.execute(
                update(TABLE)
                .where(*self._owned(scope, key, created_at))
                .values(status=KeyStatus.RELEASED.value, response_status=status, response_body=None, response_headers=None)
            )

    @staticmethod
    def _owned(scope: str, key: str, created_at: datetime) -> tuple[Any, ...]:
        return (
            TABLE.c.scope == scope, TABLE.c.key == key, TABLE.c.created_at == created_at,
            TABLE.c.status == KeyStatus.IN_FLIGHT.value,
        )

    def purge_expired(self, now: datetime | None = None) -> int:
        """Delete every key past its retention; how many."""
        with db.write(self.engine) as conn:
            result = conn.execute(delete(TABLE).where(TABLE.c.expires_at <= (now or datetime.now(UTC))))
            return int(result.rowcount or 0)

    def _maybe_purge(self, now: datetime) -> None:
        tick = time.monotonic()
        if tick - self._last_purge >= PURGE_INTERVAL:
            self._last_purge = tick
            self.purge_expired(now)


# -- the update id a key stands for -----------------------------------------------------------------

_UPDATE_ID: ContextVar[str | None] = ContextVar("noticeflow_idempotent_update_id", default=None)


def current_update_id() -> str | None:
    """The Temporal update id for the request being served under an ``Idempotency-Key`` (else
    None: Temporal picks one). Each route sends at most one update per workflow."""
    return _UPDATE_ID.get()


# -- the middleware ------------------------------------------------------------------------------------


def check_key(value: str) -> str:
    if not 1 <= len(value) <= 255 or not all("!" <= ch <= "~" for ch in value):
        raise IdempotencyKeyInvalid(
            f"the {HEADER} header must be 1–255 visible ASCII characters without spaces (e.g. a UUID)",
            type_="idempotency_key_format",
        )
    return value


def scope_of(actor: str, path: str) -> str:
    scope = f"{actor} POST {path}"
    return scope if len(scope) <= MAX_SCOPE else "sha256:" + hashlib.sha256(scope.encode()).hexdigest()


class _Spool:
    """The request body, hashed as it arrives and kept for the route."""

    def __init__(self, scope: Scope) -> None:
        headers = Headers(scope=scope)
        media_type = headers.get("content-type", "").split(";", 1)[0].strip().lower()
        self.digest = hashlib.sha256()
        self.digest.update(media_type.encode("latin-1") + b"\n" + bytes(scope.get("query_string", b"")) + b"\n")
        self.file: SpooledTemporaryFile[bytes] = SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)
        self.size = 0

    async def fill(self, receive: Receive) -> bool:
        """Read the whole body; False when the client went away first."""
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return False
            chunk = message.get("body", b"")
            if chunk:
                self.digest.update(chunk)
                self.file.write(chunk)
                self.size += len(chunk)
            if not message.get("more_body", False):
                self.file.seek(0)
                return True

    def receive_from(self, receive: Receive) -> Receive:
        """A ``receive`` that hands the spooled body on, then the client's own messages."""
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if sent:
                return await receive()
            chunk = self.file.read(READ_CHUNK)
            more = self.file.tell() < self.size
            sent = not more
            return {"type": "http.request", "body": chunk, "more_body": more}

        return replay

    def close(self) -> None:
        self.file.close()


class IdempotencyMiddleware:
    """ASGI middleware: claim, replay or refuse a POST by its ``Idempotency-Key``."""

    def __init__(self, app: ASGIApp, context: ApiContext) -> None:
        self.app = app
        self.context = context

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # Every request starts without an update id. A server may run the next request of a
        # kept-alive connection in a copy of this one's context — uvicorn resumes reading a large
        # body from inside the app — and a stale id would make Temporal answer that request's step
        # with the earlier step's outcome, taking nothing.
        token = _UPDATE_ID.set(None)
        try:
            await self._dispatch(scope, receive, send)
        finally:
            _UPDATE_ID.reset(token)

    async def _dispatch(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        raw_key = Headers(scope=scope).get(HEADER.lower())
        if raw_key is None:
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        principal = principal_of(scope)  # the guard, outside this middleware, authenticated the caller
        if principal is None:
            await self.app(scope, receive, send)  # the route answers 401
            return
        actor = principal.actor
        try:
            key = check_key(raw_key)
        except ApiError as exc:
            await error_response(exc, path)(scope, receive, send)
            return
        spool = _Spool(scope)
        try:
            if not await spool.fill(receive):
                return
            await self._serve(scope, spool, receive, send, scope_of(actor, path), key, spool.digest.hexdigest())
        finally:
            spool.close()

    async def _serve(
        self, scope: Scope, spool: _Spool, receive: Receive, send: Send, key_scope: str, key: str, digest: str
    ) -> None:
        path = scope["path"]
        try:
            store = await asyncio.to_thread(lambda: self.context.idempotency)
            claim = await asyncio.to_thread(store.claim, key_scope, key, digest)
        except (SQLAlchemyError, RuntimeError, LedgerUnavailable) as exc:
            detail = f"the {HEADER} store in the ledger database cannot be used ({_short(exc)}); nothing was done, try again"
            await error_response(LedgerUnavailable(detail), path)(scope, receive, send)
            return
        if claim.outcome is Outcome.MISMATCH:
            refusal: ApiError = IdempotencyKeyInvalid(
                f"this {HEADER} was first used with a different request to POST {path}: a key stands for one request "
                "— send a new key for a new request",
                type_="idempotency_key_reused",
            )
            await error_response(refusal, path)(scope, receive, send)
            return
        if claim.outcome is Outcome.IN_FLIGHT:
            refusal = IdempotencyConflict(
                f"a request with this {HEADER} is still being processed (since {claim.created_at.isoformat()}); "
                "ask again once it has finished to get its answer"
            )
            await error_response(refusal, path)(scope, receive, send)
            return
        if claim.outcome is Outcome.REPLAY:
            log.info("api.idempotent_replay", path=path, status=claim.response_status)
            await _replayed(claim)(scope, receive, send)
            return
        assert claim.update_id is not None
        await self._run(scope, spool.receive_from(receive), send, store, key_scope, key, claim.update_id, claim.created_at)

    async def _run(
        self, scope: Scope, receive: Receive, send: Send, store: IdempotencyStore,
        key_scope: str, key: str, step_update_id: str, created_at: datetime,
    ) -> None:
        """Run the route; keep its answer (or release the key on a 5xx) before the client sees it,
        so a retry that follows the answer is replayed, never refused as in flight."""
        start: Message | None = None
        chunks: list[bytes] = []

        async def finish(status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
            try:
                if status >= 500 or len(body) > MAX_STORED_BODY or not _is_json(body):
                    await asyncio.to_thread(store.release, key_scope, key, created_at, status)
                    return
                kept = {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in headers}
                kept = {name: kept[name] for name in REPLAYED_HEADERS if name in kept}
                stored = await asyncio.to_thread(
                    store.complete, key_scope, key, created_at, status, body.decode("utf-8"), kept
                )
                if not stored:
                    log.warning("api.idempotency_claim_lost", path=scope["path"], status=status)
            except (SQLAlchemyError, RuntimeError) as exc:
                log.warning("api.idempotency_not_stored", path=scope["path"], status=status, error=_short(exc))
                await _release_quietly(store, key_scope, key, created_at, status)

        async def capture(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
                return
            if message["type"] != "http.response.body" or start is None:
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            body = b"".join(chunks)
            await finish(int(start["status"]), list(start.get("headers", [])), body)
            await send(start)
            await send({"type": "http.response.body", "body": body, "more_body": False})

        token = _UPDATE_ID.set(step_update_id)
        try:
            await self.app(scope, receive, capture)
        except BaseException:
            await _release_quietly(store, key_scope, key, created_at, None)  # the step may have been taken
            raise
        finally:
            _UPDATE_ID.reset(token)
        if start is None:  # the route never answered
            await _release_quietly(store, key_scope, key, created_at, None)


async def _release_quietly(
    store: IdempotencyStore, key_scope: str, key: str, created_at: datetime, status: int | None
) -> None:
    try:
        await asyncio.to_thread(store.release, key_scope, key, created_at, status)
    except (SQLAlchemyError, RuntimeError) as exc:
        log.warning("api.idempotency_not_released", error=_short(exc))


def _replayed(claim: Claim) -> Response:
    headers = dict(claim.response_headers)
    media_type = headers.pop("content-type", "application/json")
    headers[REPLAYED_HEADER] = "true"
    return Response(
        (claim.response_body or "").encode("utf-8"), status_code=claim.response_status or 200,
        headers=headers, media_type=media_type,
    )


def _is_json(body: bytes) -> bool:
    try:
        json.loads(body)
    except ValueError:
        return False
    return True


def _short(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0][:200] if lines else type(exc).__name__


# -- OpenAPI ---------------------------------------------------------------------------------------------

_HEADER_DOC: dict[str, Any] = {
    "name": HEADER,
    "in": "header",
    "required": False,
    "description": "Makes the POST safe to retry: the same key with the same request replays the first answer "
    f"(with `{REPLAYED_HEADER}: true`) instead of taking the step again; the same key with another request is 422; "
    "while the first is still being processed, 409. Scoped to the caller and the path; kept 24 h by default. "
    "1–255 visible ASCII characters, e.g. a UUID.",
    "schema": {"type": "string", "minLength": 1, "maxLength": 255},
}


def document(app: FastAPI) -> None:
    """Add the ``Idempotency-Key`` header, and its 409 and 422, to every POST of the OpenAPI."""
    build: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = build()
        for operation in _posts(schema):
            operation.setdefault("parameters", []).append(dict(_HEADER_DOC))
            responses = operation.setdefault("responses", {})
            for status, note in (
                ("409", f"Also: a request with the same {HEADER} is still being processed."),
                ("422", f"Also: the {HEADER} is malformed, or was first used with a different request."),
            ):
                entry = responses.setdefault(status, {"description": ""})
                entry["description"] = (entry.get("description", "") + " " + note).strip()
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def _posts(schema: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for operations in schema.get("paths", {}).values():
        post = operations.get("post")
        if isinstance(post, dict):
            yield post
