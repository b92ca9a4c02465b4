"""Payload codec server: lets authorised Temporal UI and CLI users read encrypted payloads.

Implements Temporal's remote codec protocol: ``POST /encode`` and ``POST /decode`` (also under any
prefix, e.g. ``/{namespace}/decode``, since clients only look at the last path segment), each
taking and returning ``{"payloads": [{"metadata": {k: base64}, "data": base64}]}`` — the
``Payloads`` protobuf in its JSON form.

Decoding reveals NPI, so both endpoints require ``Authorization: Bearer <token>`` with a token
from ``NOTICEFLOW_CODEC_SERVER_TOKENS``: no or malformed header → 401, unknown token → 403. The
Temporal UI sends the signed-in user's access token when its codec settings have "pass access
token" on (``TEMPORAL_CODEC_PASS_ACCESS_TOKEN=true``); the CLI sends one with
``--codec-auth 'Bearer …'``. Each decode is logged with a fingerprint of the token (never the
token) and the namespace, so who read what stays traceable.

Run it with ``uvicorn --factory api.codec_server:app_factory``; the embedded dev stack starts it
in-process.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence

from fastapi import FastAPI, HTTPException, Request, Response
from fastapi.middleware.cors import CORSMiddleware
from google.protobuf import json_format
from temporalio.api.common.v1 import Payloads

from noticeflow.codec import CodecError, EncryptionCodec, codec_from_settings
from noticeflow.logging import configure_logging, get_logger
from noticeflow.settings import Settings, get_settings

log = get_logger(__name__)

#: What the Temporal UI and CLI send: the JSON body, the namespace, and the user's token.
ALLOWED_HEADERS = ["Authorization", "Content-Type", "X-Namespace"]


def default_cors_origins(settings: Settings) -> list[str]:
    """The embedded dev server's UI, under both names a browser may have been given."""
    configured: Sequence[str] | None = getattr(settings, "codec_server_cors_origins", None)
    if configured:
        return list(configured)
    port = settings.temporal_ui_port
    return [f"http://localhost:{port}", f"http://127.0.0.1:{port}"]


def token_fingerprint(token: str) -> str:
    """Names a token in logs without revealing it."""
    return "t" + hashlib.sha256(token.encode("utf-8")).hexdigest()[:12]


class _Authoriser:
    def __init__(self, tokens: Sequence[str], allow_anonymous: bool) -> None:
        self._tokens = [t.encode("utf-8") for t in tokens if t]
        self._allow_anonymous = allow_anonymous

    def __call__(self, request: Request) -> str:
        """The caller's token fingerprint, or ``anonymous`` on the dev stack; raises 401/403."""
        header = request.headers.get("authorization")
        if header is None:
            if self._allow_anonymous:
                return "anonymous"
            raise HTTPException(
                status_code=401,
                detail="a bearer token is required: send 'Authorization: Bearer <token>' "
                "(Temporal UI: codec server setting 'pass access token')",
                headers={"WWW-Authenticate": "Bearer"},
            )
        scheme, _, token = header.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise HTTPException(
                status_code=401,
                detail="the Authorization header must be 'Bearer <token>'",
                headers={"WWW-Authenticate": "Bearer"},
            )
        presented = token.encode("utf-8")
        # Compare against every token, so the time taken does not say which one nearly matched.
        matched = False
        for known in self._tokens:
            matched |= hmac.compare_digest(presented, known)
        if not matched:
            raise HTTPException(status_code=403, detail="this token may not encode or decode payloads")
        return token_fingerprint(token)


async def _read_payloads(request: Request) -> Payloads:
    body = await request.body()
    try:
        return json_format.Parse(body, Payloads(), ignore_unknown_fields=True)
    except (json_format.ParseError, UnicodeDecodeError) as exc:
        raise HTTPException(status_code=400, detail=f"body is not Payloads JSON: {exc}") from None


def _payloads_response(payloads: Payloads) -> Response:
    return Response(content=json_format.MessageToJson(payloads), media_type="application/json")


def create_app(
    settings: Settings | None = None,
    *,
    codec: EncryptionCodec | None = None,
    tokens: Sequence[str] | None = None,
    cors_origins: Sequence[str] | None = None,
    allow_anonymous: bool = False,
) -> FastAPI:
    """The codec server for ``settings`` (default: the process settings).

    ``allow_anonymous`` lets requests without an Authorization header through; only the embedded
    dev stack sets it, bound to loopback, because the dev server's UI has no login to take a
    token from.
    """
    settings = settings or get_settings()
    codec = codec or codec_from_settings(settings)
    tokens = list(tokens if tokens is not None else settings.codec_server_tokens)
    if not tokens and not allow_anonymous:
        log.warning("codec_server_no_tokens", effect="every encode and decode request is refused")
    authorise = _Authoriser(tokens, allow_anonymous)

    app = FastAPI(title="noticeflow payload codec server", docs_url=None, redoc_url=None, openapi_url=None)
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
        caller = authorise(request)
        payloads = await _read_payloads(request)
        encoded = await codec.encode(list(payloads.payloads))
        log.info(
            "codec_server_encode",
            caller=caller,
            namespace=request.headers.get("x-namespace", ""),
            payloads=len(encoded),
        )
        return _payloads_response(Payloads(payloads=encoded))

    async def decode(request: Request) -> Response:
        caller = authorise(request)
        payloads = await _read_payloads(request)
        try:
            decoded = await codec.decode(list(payloads.payloads))
        except CodecError as exc:
            raise HTTPException(status_code=400, detail=str(exc)) from None
        log.info(
            "codec_server_decode",
            caller=caller,
            namespace=request.headers.get("x-namespace", ""),
            payloads=len(decoded),
        )
        return _payloads_response(Payloads(payloads=decoded))

    for path in ("/encode", "/{prefix:path}/encode"):
        app.add_api_route(path, encode, methods=["POST"], include_in_schema=False)
    for path in ("/decode", "/{prefix:path}/decode"):
        app.add_api_route(path, decode, methods=["POST"], include_in_schema=False)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "key_id": codec.key_id}

    return app


def app_factory() -> FastAPI:
    """Entry point for ``uvicorn --factory``: process settings, structured logs, tokens required."""
    settings = get_settings()
    configure_logging(settings.log_level, settings.log_json)
    return create_app(settings)
