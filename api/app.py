"""The incident API: starts and drives cybersecurity-event workflows through the Temporal client.

    uvicorn --factory api.app:create_app --host 127.0.0.1 --port 8000

Every route but ``/healthz`` is under ``/v1`` (OpenAPI 3.1 at ``/v1/openapi.json``). Routes by
concern: ``api/incidents.py`` (the lifecycle's steps), ``api/rosters.py`` (the consumers' contact
list), ``api/audit.py`` (ledger entries and examination bundles), ``api/privacy.py``,
``api/access_routes.py`` (who am I, API keys), ``api/admin_routes.py`` (legal holds, retention).
Who may call what is one table in ``api/access.py``, enforced by ``api/guard.py`` before a body
is read; credentials are checked in ``api/auth.py``; how errors read, in ``api/errors.py``; how
a retried POST is answered once (``Idempotency-Key``), in ``api/idempotency.py``; see
``docs/api.md``.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from temporalio.client import Client

from api import (
    access_routes,
    admin_routes,
    audit,
    dashboard,
    idempotency,
    incidents,
    privacy,
    rosters,
)
from api.access import API_PREFIX, annotate_openapi
from api.actor_signing import Clock, wall_clock
from api.deps import ApiContext
from api.errors import ApiError, install_handlers
from api.gateway import IncidentGateway
from api.guard import AccessGuard
from api.schemas import Health
from api.sso import SsoVerifier
from config.settings import Settings, get_settings
from noticeflow.logging import configure_logging, get_logger

log = get_logger("noticeflow.api")


def create_app(
    settings: Settings | None = None,
    *,
    client: Client | None = None,
    step_timeout: float | None = None,
    clock: Clock = wall_clock,
) -> FastAPI:
    """The incident API for ``settings`` (default: the process settings, with its logging).

    ``client`` is the Temporal client to use; by default one is connected on first use with
    ``noticeflow.temporal.connect`` (so the API starts, and says so on ``/healthz``, while
    Temporal is still coming up). ``clock`` dates the actor assertions the API signs: the wall
    clock, or a test server's skipped time.
    """
    if settings is None:
        settings = get_settings()
        configure_logging(settings.log_level, settings.log_json)
    if os.environ.get("NOTICEFLOW_API_TOKENS"):
        log.warning(
            "api_tokens_ignored",
            reason="NOTICEFLOW_API_TOKENS is no longer read: create a named API key per principal "
            "(noticeflow apikey create --name NAME --role ROLE)",
        )
    gateway = IncidentGateway(settings, client, step_timeout=step_timeout or settings.api_step_timeout, clock=clock)
    context = ApiContext(settings, gateway, SsoVerifier.from_settings(settings))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        context.close()

    app = FastAPI(
        title="noticeflow incident API",
        summary="Drive a cybersecurity event's notice lifecycle: intake, findings, determination, notices, closure.",
        version="1",
        lifespan=lifespan,
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=f"{API_PREFIX}/docs",
        swagger_ui_oauth2_redirect_url=f"{API_PREFIX}/docs/oauth2-redirect",
        redoc_url=None,
    )
    app.state.noticeflow = context
    install_handlers(app)
    # The last added runs first: the guard authenticates and authorises before the idempotency
    # middleware reads a body.
    app.add_middleware(idempotency.IdempotencyMiddleware, context=context)
    app.add_middleware(AccessGuard, context=context)
    # Outside the guard: the dashboard's session cookie becomes the principal on its pages only.
    dashboard.install(app, context)
    idempotency.document(app)
    _document_access(app)
    for router in (incidents.router, rosters.router, audit.router, privacy.router, access_routes.router, admin_routes.router):
        app.include_router(router, prefix=API_PREFIX)

    @app.get("/healthz", response_model=Health, responses={503: {"model": Health}}, tags=["health"])
    async def healthz() -> Health | JSONResponse:
        try:
            temporal = await context.gateway.health()
        except ApiError as exc:
            return JSONResponse(Health(status="unavailable", temporal=exc.detail).model_dump(), status_code=503)
        return Health(status="ok", temporal=temporal)

    return app


def _document_access(app: FastAPI) -> None:
    build: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        app.openapi_schema = annotate_openapi(build())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
