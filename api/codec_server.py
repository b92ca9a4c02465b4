"""Payload codec server: lets authorised Temporal UI and CLI users read encrypted payloads.

Implements Temporal's remote codec protocol: ``POST /encode`` and ``POST /decode`` (also under any
prefix, e.g. ``/{namespace}/decode``, since clients only look at the last path segment), each
taking and returning ``{"payloads": [{"metadata": {k: base64}, "data": base64}]}`` — the
``Payloads`` protobuf in its JSON form.

**Who may.** Decoding reveals NPI (rosters, consumers' names and addresses, SSNs in an intake), so
the codec server authenticates exactly as the incident API does (``api/auth.py``):
``Authorization: Bearer <token>`` with a named API key (table ``api_keys`` of the settings'
database, under the same pepper) or, where single sign-on is set up, an access token of the
identity provider (RFC 9068). Both endpoints are for the roles in ``CODEC_ROLES`` —
``responder`` and ``privacy``, the people who work the consumers' data in the lifecycles
anyway — and for no other: an ``examiner`` reads and exports what the ledger holds (digests and
counts, never a consumer), an ``admin`` manages keys and sees no case data; neither gets the
plaintext of a workflow's payloads. No or bad credentials, or a revoked or expired key → 401
(``WWW-Authenticate: Bearer``); another role → 403; too many failed authentications from one
address → 429 with ``Retry-After`` (the API's ``FailureThrottle``); key store or identity
provider unreachable → 503. The body is read only after the caller is authorised.

Each encode and decode is logged with the caller's ledger actor (``key:<name>``,
``user:<name>``), the namespace and the payload count — never the token or a payload.

The Temporal UI sends the signed-in user's access token when ``TEMPORAL_CODEC_PASS_ACCESS_TOKEN``
is on; the CLI sends a key with ``--codec-auth 'Bearer nfk_…'``.

**The embedded dev stack only** (``dev_ui_origins``, which ``noticeflow/dev_codec_server.py``
passes and nothing else can — there is no setting or command-line flag for it): the dev
server's UI has no login and cannot send a token, so a request *without* an Authorization header
is let through as ``dev:temporal-ui`` when all of these hold — the client's address is loopback,
its ``Origin`` is one of the dev UI's origins, and its ``Host`` is a loopback name (so a web page
that rebinds its own DNS name to 127.0.0.1 gets nothing). Anything else needs a key.

Run it with ``uvicorn --factory api.codec_server:app_factory`` or ``noticeflow temporal
codec-server``; the embedded dev stack starts it in-process.
"""

from __future__ import annotations

import ipaddress
import os
import threading
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from urllib.parse import urlsplit

from fastapi import FastAPI, Request, Response
from fastapi.middleware.cors import CORSMiddleware
from google.protobuf import json_format
from sqlalchemy import Engine
from temporalio.api.common.v1 import Payloads

from activities import db
from api.access import Principal, Role
from api.apikeys import ApiKeyStore, load_pepper
from api.auth import AuthenticationFailed, Authenticator
from api.errors import (
    ApiError,
    KeyStoreUnavailable,
    NotAuthenticated,
    RoleRequired,
    TooManyFailures,
    install_handlers,
)
from api.guard import FailureThrottle
from api.sso import SsoVerifier
from noticeflow.codec import CodecError, EncryptionCodec, codec_from_settings
from noticeflow.logging import configure_logging, get_logger
from config.settings import Settings, get_settings

log = get_logger(__name__)

#: What the Temporal UI and CLI send: the JSON body, the namespace, and the user's token.
ALLOWED_HEADERS = ["Authorization", "Content-Type", "X-Namespace"]
#: Who may encode and decode payloads (see the module docstring for why these and no others).
CODEC_ROLES: frozenset[Role] = frozenset({Role.RESPONDER, Role.PRIVACY})
#: The actor the embedded dev stack's UI decodes as (no token; loopback and the UI's origin only).
DEV_UI_ACTOR = "dev:temporal-ui"
#: The environment variable of the plain-text tokens earlier releases read; now ignored (logged).
RETIRED_TOKENS_VARIABLE = "NOTICEFLOW_CODEC_SERVER_TOKENS"
_LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})


class BadPayloads(ApiError):
    status_code = 400


def default_cors_origins(settings: Settings) -> list[str]:
    """The embedded dev server's UI, under both names a browser may have been given."""
    port = settings.temporal_ui_port
    return [f"http://localhost:{port}", f"http://127.0.0.1:{port}"]


def _is_loopback_host(host: str | None) -> bool:
    if not host:
        return False
    if host in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _check_dev_origin(origin: str) -> str:
    parts = urlsplit(origin)
    if parts.scheme != "http" or not _is_loopback_host(parts.hostname) or parts.path not in ("", "/"):
        raise ValueError(
            f"dev_ui_origins: {origin!r} is not the origin of a UI on this machine (http://127.0.0.1:<port> or "
            "http://localhost:<port>); the tokenless dev path is for the embedded dev stack only"
        )
    return origin.rstrip("/")


class CodecDoor:
    """Who is calling the codec server, and whether they may: the API's authenticator and throttle,
    the codec roles, and the dev UI's tokenless path when the dev stack turned it on."""

    def __init__(self, settings: Settings, *, dev_ui_origins: Sequence[str] = ()) -> None:
        self.settings = settings
        self.dev_ui_origins = frozenset(_check_dev_origin(o) for o in dev_ui_origins)
        self.authenticator = Authenticator(self._key_store, SsoVerifier.from_settings(settings))
        self.throttle = FailureThrottle(settings.api_auth_failure_limit, settings.api_auth_failure_window_seconds)
        self._lock = threading.Lock()
        self._engine: Engine | None = None
        self._keys: ApiKeyStore | None = None

    def _key_store(self) -> ApiKeyStore:
        """The API keys, opened on first use (blocking: the authenticator calls it from a thread)."""
        with self._lock:
            if self._keys is None:
                try:
                    pepper = load_pepper(self.settings)
                except (OSError, ValueError) as exc:
                    raise KeyStoreUnavailable(f"the API key pepper cannot be read: {exc}") from None
                self._engine = self._engine or db.open_engine(self.settings.resolved_db_url())
                self._keys = ApiKeyStore(self._engine, pepper)
            return self._keys

    def close(self) -> None:
        with self._lock:
            if self._engine is not None:
                self._engine.dispose()
            self._engine = self._keys = None

    def _dev_ui(self, request: Request) -> bool:
        """A tokenless request of the dev stack's own UI: loopback client, the UI's origin, a loopback Host."""
        if not self.dev_ui_origins or "authorization" in request.headers:
            return False
        client = request.client.host if request.client else None
        host = urlsplit(f"//{request.headers.get('host', '')}").hostname
        return (
            _is_loopback_host(client)
            and request.headers.get("origin", "").rstrip("/") in self.dev_ui_origins
            and _is_loopback_host(host)
        )

    async def authorise(self, request: Request, act: str) -> str:
        """The caller's actor, if they may ``act`` (encode/decode); raises 401/403/429/503 otherwise."""
        if self._dev_ui(request):
            return DEV_UI_ACTOR
        client = request.client.host if request.client else "unknown"
        wait = self.throttle.retry_after(client)
        if wait is not None:
            raise TooManyFailures(
                f"too many failed authentications from this address: try again in {wait} s", retry_after=wait
            )
        try:
            principal: Principal = await self.authenticator.authenticate(request.headers.get("authorization"))
        except NotAuthenticated as exc:
            if isinstance(exc, AuthenticationFailed):
                self.throttle.failed(client)
                log.info("codec_server_authentication_failed", client=client, reason=exc.detail)
            raise
        if not principal.holds_any(CODEC_ROLES):
            allowed = ", ".join(r.value for r in Role if r in CODEC_ROLES)
            held = ", ".join(r.value for r in Role if r in principal.roles) or "none"
            log.info("codec_server_role_refused", actor=principal.actor, act=act, namespace=_namespace(request))
            raise RoleRequired(
                f"payloads carry consumers' information: to {act} them is for the roles {allowed}; "
                f"{principal.actor} holds {held}. Nothing was {act}d."
            )
        return principal.actor


def _namespace(request: Request) -> str:
    """The namespace the UI names (``X-Namespace``), else the path's prefix (``/default/decode``)."""
    named = request.headers.get("x-namespace")
    if named:
        return named
    prefix = request.url.path.rstrip("/").rsplit("/", 1)[0].strip("/")
    return prefix


async def _read_payloads(request: Request) -> Payloads:
    body = await request.body()
    try:
        return json_format.Parse(body, Payloads(), ignore_unknown_fields=True)
    except (json_format.ParseError, UnicodeDecodeError) as exc:
        raise BadPayloads(f"body is not Payloads JSON: {exc}") from None


def _payloads_response(payloads: Payloads) -> Response:
    return Response(content=json_format.MessageToJson(payloads), media_type="application/json")


def warn_if_retired_tokens_set() -> None:
    """Plain-text codec tokens in the environment are no longer read: say so, never silently."""
    if os.environ.get(RETIRED_TOKENS_VARIABLE):
        log.warning(
            "codec_server_tokens_ignored",
            reason=f"{RETIRED_TOKENS_VARIABLE} is no longer read: the codec server takes the incident API's "
            "named API keys (noticeflow apikey create --role responder|privacy) or single sign-on access tokens; "
            "remove the variable",
        )


def create_app(
    settings: Settings | None = None,
    *,
    codec: EncryptionCodec | None = None,
    cors_origins: Sequence[str] | None = None,
    dev_ui_origins: Sequence[str] = (),
) -> FastAPI:
    """The codec server for ``settings`` (default: the process settings).

    ``dev_ui_origins``: origins of the embedded dev stack's UI (loopback only, else ValueError)
    whose tokenless requests from a loopback client are let through; only the dev stack passes it.
    """
    settings = settings or get_settings()
    codec = codec or codec_from_settings(settings)
    warn_if_retired_tokens_set()
    door = CodecDoor(settings, dev_ui_origins=dev_ui_origins)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        door.close()

    app = FastAPI(
        title="noticeflow payload codec server", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan
    )
    app.state.codec_door = door
    install_handlers(app)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=list(cors_origins if cors_origins is not None else default_cors_origins(settings)),
        allow_methods=["POST"],
        allow_headers=ALLOWED_HEADERS,
        # The UI's "include cross-origin credentials" needs this to send cookies or auth headers.
        allow_credentials=True,
        max_age=600,
    )

    async def encode(request: Request) -> Response:
        actor = await door.authorise(request, "encode")
        payloads = await _read_payloads(request)
        encoded = await codec.encode(list(payloads.payloads))
        log.info("codec_server_encode", actor=actor, namespace=_namespace(request), payloads=len(encoded))
        return _payloads_response(Payloads(payloads=encoded))

    async def decode(request: Request) -> Response:
        actor = await door.authorise(request, "decode")
        payloads = await _read_payloads(request)
        try:
            decoded = await codec.decode(list(payloads.payloads))
        except CodecError as exc:
            raise BadPayloads(str(exc)) from None
        log.info("codec_server_decode", actor=actor, namespace=_namespace(request), payloads=len(decoded))
        return _payloads_response(Payloads(payloads=decoded))

    for path in ("/encode", "/{prefix:path}/encode"):
        app.add_api_route(path, encode, methods=["POST"], include_in_schema=False)
    for path in ("/decode", "/{prefix:path}/decode"):
        app.add_api_route(path, decode, methods=["POST"], include_in_schema=False)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "key_id": codec.key_id}

    if dev_ui_origins:
        log.warning(
            "codec_server_dev_ui_without_token",
            origins=sorted(door.dev_ui_origins),
            reason="embedded dev stack: its UI (no login) decodes without a token from loopback only",
        )
    return app


def app_factory() -> FastAPI:
    """Entry point for ``uvicorn --factory``: process settings, structured logs, credentials required."""
    settings = get_settings()
    configure_logging(settings.log_level, settings.log_json)
    return create_app(settings)


__all__ = ["CODEC_ROLES", "DEV_UI_ACTOR", "CodecDoor", "app_factory", "create_app", "default_cors_origins"]
