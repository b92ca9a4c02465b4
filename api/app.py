"""The incident API: starts and drives cybersecurity-event workflows through the Temporal client.

    uvicorn --factory api.app:create_app --host 127.0.0.1 --port 8000

Routes by concern: ``api/incidents.py`` (the lifecycle's steps), ``api/rosters.py`` (the
consumers' contact list), ``api/audit.py`` (ledger entries and examination bundles). Who may call
is in ``api/auth.py``; how errors read, in ``api/errors.py``; how a retried POST is answered
once (``Idempotency-Key``), in ``api/idempotency.py``; see ``docs/api.md``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from temporalio.client import Client

from api import audit, idempotency, incidents, privacy, rosters
from api.auth import Authenticator
from api.deps import ApiContext
from api.errors import ApiError, install_handlers
from api.gateway import IncidentGateway
from api.schemas import Health
from noticeflow.logging import configure_logging, get_logger
from noticeflow.settings import Settings, get_settings

log = get_logger("noticeflow.api")


def api_tokens(settings: Settings) -> Mapping[str, str]:
    """Bearer token → user name (``NOTICEFLOW_API_TOKENS``)."""
    tokens: Mapping[str, str] = getattr(settings, "api_tokens", None) or {}
    return tokens


def create_app(
    settings: Settings | None = None,
    *,
    client: Client | None = None,
    step_timeout: float | None = None,
) -> FastAPI:
    """The incident API for ``settings`` (default: the process settings, with its logging).

    ``client`` is the Temporal client to use; by default one is connected on first use with
    ``noticeflow.temporal.connect`` (so the API starts, and says so on ``/healthz``, while
    Temporal is still coming up).
    """
    if settings is None:
        settings = get_settings()
        configure_logging(settings.log_level, settings.log_json)
    authenticator = Authenticator(api_tokens(settings), bind_host=settings.api_host)
    if authenticator.local_dev:
        log.warning(
            "api_local_dev_auth",
            reason="no NOTICEFLOW_API_TOKENS: requests over loopback act as user 'local', all others are refused",
        )
    context = ApiContext(settings, IncidentGateway(settings, client, step_timeout=step_timeout or settings.api_step_timeout), authenticator)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        context.close()

    app = FastAPI(
        title="noticeflow incident API",
        summary="Drive a cybersecurity event's notice lifecycle: intake, findings, determination, notices, closure.",
        version="1",
        lifespan=lifespan,
    )
    app.state.noticeflow = context
    install_handlers(app)
    app.add_middleware(idempotency.IdempotencyMiddleware, context=context)
    idempotency.document(app)
    app.include_router(incidents.router)
    app.include_router(rosters.router)
    app.include_router(audit.router)
    app.include_router(privacy.router)

    @app.get("/healthz", response_model=Health, responses={503: {"model": Health}}, tags=["health"])
    async def healthz() -> Health | JSONResponse:
        try:
            temporal = await context.gateway.health()
        except ApiError as exc:
            return JSONResponse(Health(status="unavailable", temporal=exc.detail).model_dump(), status_code=503)
        return Health(status="ok", temporal=temporal)

    return app
