"""``/v1/dashboard``: the compliance officer's live, read-only dashboard, and how a browser signs in.

Pages (HTML, no JavaScript; roles in ``api/access.py``'s table — every role but ``admin``):

- ``GET /v1/dashboard`` — the open events with their timeline pictures, every obligation still to
  do or late by due date, the open privacy lifecycles; late in red *and* marked ⚠ LATE in words;
  links to each workflow in the Temporal UI;
- ``GET /v1/dashboard/events/{incident_id}`` — one event (open or closed): its timeline, every
  obligation, its steps in words.

Signing in (public routes; ``api/sessions.py`` holds the cookies and the OpenID Connect client):

- ``GET /v1/dashboard/sign-in`` — the page: "Sign in with your identity provider" and, where
  allowed (the dev stack), a form that takes an API key once;
- ``GET /v1/dashboard/sign-in/oidc`` → the provider → ``GET /v1/dashboard/callback`` — the
  authorization code flow with PKCE; ends with the session cookie;
- ``POST /v1/dashboard/sign-in/key`` — exchanges an API key for a session (the cookie names the
  key's id, never the key; each request re-checks that the key is still active);
- ``POST /v1/dashboard/sign-out``.

CSRF: the pages are GETs that change nothing. The two POSTs carry a token bound to the session (or,
before sign-in, to the sign-in form's own cookie) as a hidden field, and are refused when the
browser says the request is cross-site (``Origin``, ``Sec-Fetch-Site``). The token is what
protects; the headers are a second check. ``SameSite=Strict`` alone was not chosen: it counts a
sibling subdomain as same-site and a missing ``Origin`` would leave nothing to check — and the
session cookie itself must be ``Lax`` so that a link from an alert e-mail opens the dashboard.

``DashboardSessions`` (an ASGI middleware outside ``AccessGuard``) turns a valid session cookie into
the request's principal on the dashboard's pages only — no other route accepts the cookie, so no
state-changing API call can be made by a forged cross-site request. Without a valid cookie, a
browser (``Accept: text/html``) is sent to the sign-in page (303); any other client gets the
guard's 401. A request with ``Authorization`` is left to the guard (API keys and SSO tokens work
on the pages too).
"""

from __future__ import annotations

import asyncio
import secrets
import threading
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import PackageLoader
from sqlalchemy.exc import SQLAlchemyError
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from api.access import API_PREFIX, READERS, Role, is_public, match_route, roles_for
from api.apikeys import KeyRefused
from api.dashboard_view import LiveLedger, event_page, overview
from api.deps import ApiContext
from api.errors import (
    ApiError,
    KeyStoreUnavailable,
    NotAuthenticated,
    TooManyFailures,
    error_response,
)
from api.guard import PRINCIPAL_KEY, FailureThrottle, principal_of
from api.sessions import (
    FLOW_COOKIE,
    FLOW_SECONDS,
    SESSION_COOKIE,
    SIGN_IN_COOKIE,
    SIGN_IN_FORM_SECONDS,
    Flow,
    OidcClient,
    Session,
    SessionError,
    Signer,
    SignInError,
    cookie_is_secure,
    cookie_name,
    key_session_check,
    load_session_key,
    new_session,
)
from noticeflow.logging import get_logger
from reports.examiner import template_environment

log = get_logger("noticeflow.dashboard")

DASHBOARD = f"{API_PREFIX}/dashboard"
EVENT = f"{DASHBOARD}/events/{{incident_id}}"
SIGN_IN = f"{DASHBOARD}/sign-in"
SIGN_IN_OIDC = f"{DASHBOARD}/sign-in/oidc"
SIGN_IN_KEY = f"{DASHBOARD}/sign-in/key"
CALLBACK = f"{DASHBOARD}/callback"
SIGN_OUT = f"{DASHBOARD}/sign-out"
#: The pages a session opens, and who may see them (``api/access.py`` lists them in ROUTE_ROLES).
PAGE_ROLES = {("GET", DASHBOARD): READERS, ("GET", EVENT): READERS}
#: The sign-in routes: public (``api/access.py`` lists them in PUBLIC_ROUTES).
PUBLIC = frozenset({("GET", SIGN_IN), ("GET", SIGN_IN_OIDC), ("GET", CALLBACK), ("POST", SIGN_IN_KEY), ("POST", SIGN_OUT)})
#: The largest sign-in or sign-out form read (bytes); the guard does not bound public routes.
FORM_LIMIT = 4096
#: Where the middleware leaves the session (for the sign-out form's CSRF token).
SESSION_SCOPE_KEY = "noticeflow.dashboard_session"
#: Seconds between the overview's reloads (a meta refresh: no JavaScript).
REFRESH_SECONDS = 60

_HEADERS = {
    "Cache-Control": "no-store",
    # No script at all; styles inline; forms post only here; never framed; no code or path leaks
    # to the Temporal UI or the provider through Referer.
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
}

router = APIRouter(prefix="/dashboard", tags=["dashboard"])


def _html(text: str) -> dict[str, Any]:
    return {"description": text, "content": {"text/html": {"schema": {"type": "string"}}}}


def _redirect(text: str) -> dict[str, Any]:
    return {"description": text, "headers": {"Location": {"schema": {"type": "string"}}}}


#: How the pages answer (documented in /v1/openapi.json; the guard's 401/403/413/429 are added there).
PAGE_ANSWERS: dict[int | str, dict[str, Any]] = {
    200: _html("The page (HTML, no JavaScript)."),
    303: _redirect("A browser (Accept: text/html) without a valid session is sent to the sign-in page."),
    404: _html("No entry of this event is in the ledger."),
    503: _html("The ledger or the API keys cannot be read now."),
}
#: How the sign-in routes answer (HTML pages; the cookies are set with a 303 to the next page).
SIGN_IN_ANSWERS: dict[int | str, dict[str, Any]] = {
    200: _html("The sign-in page."),
    303: _redirect("On to the identity provider, or — signed in or out — on to the next page (Set-Cookie)."),
    **{status: _html(text) for status, text in (
        (400, "The sign-in cannot complete: no flow begun in this browser, a wrong state, no code."),
        (401, "The API key, the code or the ID token is refused."),
        (403, "The form did not come from this dashboard (CSRF token, Origin), or the roles do not open it."),
        (404, "This way of signing in is not configured."),
        (413, f"The form is larger than {FORM_LIMIT} bytes."),
        (415, "The form is not application/x-www-form-urlencoded."),
        (422, "A field of the form is missing."),
        (429, "Too many failed sign-ins from this address."),
        (502, "The identity provider answered with an error."),
        (503, "The identity provider or the session key cannot be reached now."),
    )},
}
_FORM_BODY = {"requestBody": {"required": True, "content": {"application/x-www-form-urlencoded": {"schema": {
    "type": "object", "properties": {"api_key": {"type": "string"}, "csrf": {"type": "string"}, "next": {"type": "string"}},
}}}}}


class DashboardAuth:
    """The dashboard's sign-in machinery for one app: the session signer (its key read on first
    use), the OpenID Connect client, the failure throttle of the sign-in routes, the live ledger."""

    def __init__(self, context: ApiContext) -> None:
        settings = context.settings
        self.context = context
        self.settings = settings
        self._lock = threading.Lock()
        self._signer: Signer | None = None
        sso = context.authenticator.sso
        self.oidc = OidcClient.from_settings(settings, self.signer, sso.jwks if sso is not None else None)
        self.key_sign_in = settings.dashboard_key_sign_in if settings.dashboard_key_sign_in is not None else self.oidc is None
        self.throttle = FailureThrottle(settings.api_auth_failure_limit, settings.api_auth_failure_window_seconds)
        self.live = LiveLedger(lambda: context.ledger)
        self.templates = template_environment(PackageLoader("api", "templates"))

    def signer(self) -> Signer:
        with self._lock:
            if self._signer is None:
                try:
                    self._signer = Signer(load_session_key(self.settings))
                except (OSError, ValueError) as exc:
                    raise SignInError(f"the dashboard's session key cannot be read: {exc}", status=503) from None
            return self._signer

    def session(self, value: str) -> Session:
        """The session a cookie holds, re-checked against its API key (blocking)."""
        session = Session.from_payload(self.signer().open("session", value, time.time()))
        if session.kind == "key":
            try:
                session = key_session_check(self.context.api_keys, session)
            except SQLAlchemyError as exc:
                raise KeyStoreUnavailable(f"API keys cannot be checked now ({type(exc).__name__}); try again") from None
        return session

    def render(self, template: str, status: int = 200, **values: Any) -> HTMLResponse:
        html = self.templates.get_template(template).render(key_sign_in=self.key_sign_in, oidc=self.oidc is not None,
                                                            **values)
        return HTMLResponse(html, status_code=status, headers=_HEADERS)


def install(app: FastAPI, context: ApiContext) -> None:
    """Add the dashboard to ``app``: its routes and the session middleware (outermost, so it runs
    before ``AccessGuard``). Call after the app's other middleware is added."""
    auth = DashboardAuth(context)
    app.state.dashboard = auth
    app.add_middleware(DashboardSessions, auth=auth)
    app.include_router(router, prefix=API_PREFIX)

    async def sign_in_unavailable(request: Request, exc: Exception) -> Response:
        """E.g. the session key cannot be read: a page that says so, not a bare 500."""
        assert isinstance(exc, SignInError)
        return _message(request, exc.status, "The dashboard is unavailable", str(exc))

    app.add_exception_handler(SignInError, sign_in_unavailable)


def _auth(request: Request) -> DashboardAuth:
    auth: DashboardAuth = request.app.state.dashboard
    return auth


# -- who is looking ---------------------------------------------------------------------------------------


def wants_html(headers: Headers | Mapping[str, str]) -> bool:
    return "text/html" in (headers.get("accept") or "")


def _secure(scope: Scope) -> bool:
    return cookie_is_secure(scope.get("scheme", "http"), Headers(scope=scope).get("host") or "")


def _base(scope: Scope) -> str:
    return f"{scope.get('root_path', '')}{DASHBOARD}"


def _route_path(scope: Scope) -> str:
    path: str = scope["path"]
    root = scope.get("root_path", "")
    return path[len(root):] if root and path.startswith(root) else path


def _safe_next(scope: Scope, value: str | None) -> str:
    """Where to go after signing in: a dashboard page of this server, else the overview."""
    base = _base(scope)
    if value and "\\" not in value and not value.startswith("//"):
        parts = urlsplit(value)
        if not parts.scheme and not parts.netloc and (parts.path == base or parts.path.startswith(base + "/")):
            return value
    return base


def _sign_in_url(scope: Scope, next_url: str | None = None, reason: str | None = None) -> str:
    query = {k: v for k, v in (("next", next_url), ("reason", reason)) if v}
    return f"{_base(scope)}/sign-in" + (f"?{urlencode(query)}" if query else "")


def _requested(scope: Scope) -> str:
    query = scope.get("query_string", b"").decode("latin-1")
    return f"{scope.get('root_path', '')}{_route_path(scope)}" + (f"?{query}" if query else "")


def _set_cookie(response: Response, scope: Scope, base: str, value: str, max_age: int, samesite: str = "lax") -> None:
    secure = _secure(scope)
    response.set_cookie(cookie_name(base, secure), value, max_age=max_age, path="/", secure=secure, httponly=True,
                        samesite=samesite)  # type: ignore[arg-type]


def _clear_cookie(response: Response, scope: Scope, base: str) -> None:
    secure = _secure(scope)
    response.delete_cookie(cookie_name(base, secure), path="/", secure=secure, httponly=True, samesite="lax")


def _cookie(request: Request, base: str) -> str | None:
    return request.cookies.get(cookie_name(base, _secure(request.scope)))


def _client(scope: Scope) -> str:
    return scope["client"][0] if scope.get("client") else "unknown"


class DashboardSessions:
    """ASGI middleware: the session cookie → the principal, on the dashboard's pages only."""

    def __init__(self, app: ASGIApp, auth: DashboardAuth) -> None:
        self.app = app
        self.auth = auth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self._page(scope):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        if headers.get("authorization") is not None:
            await self.app(scope, receive, send)  # a bearer token: the guard decides
            return
        html = wants_html(headers)
        request = Request(scope)
        value = _cookie(request, SESSION_COOKIE)
        if value is None:
            if html:
                await RedirectResponse(_sign_in_url(scope, _requested(scope)), 303, headers=_HEADERS)(scope, receive, send)
            else:
                await self.app(scope, receive, send)  # the guard answers 401, as on every route
            return
        client = _client(scope)
        wait = self.auth.throttle.retry_after(client)
        if wait is not None:
            refusal = TooManyFailures(f"too many failed sign-ins from this address: try again in {wait} s", retry_after=wait)
            await error_response(refusal, scope["path"])(scope, receive, send)
            return
        try:
            session = await asyncio.to_thread(self.auth.session, value)
        except SessionError as exc:
            if exc.tampered:
                self.auth.throttle.failed(client)
                log.info("dashboard.session_refused", client=client, reason=str(exc))
            answer: Response = (RedirectResponse(_sign_in_url(scope, _requested(scope), "ended"), 303, headers=_HEADERS)
                                if html else error_response(NotAuthenticated(f"{exc}: sign in again at {SIGN_IN}"), scope["path"]))
            _clear_cookie(answer, scope, SESSION_COOKIE)
            await answer(scope, receive, send)
            return
        except (ApiError, SignInError) as exc:
            status = exc.status_code if isinstance(exc, ApiError) else exc.status
            await self.auth.render("message.html.j2", status, title="The dashboard is unavailable", message=str(exc),
                                   principal=None, base=_base(scope))(scope, receive, send)
            return
        scope[PRINCIPAL_KEY] = session.principal
        scope[SESSION_SCOPE_KEY] = session
        matched = match_route(_route_path(scope))
        allowed = roles_for(scope["method"], matched[0]) if matched else None
        if html and allowed is not None and not session.principal.holds_any(allowed):
            await self._forbidden(scope, session, allowed)(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def _page(self, scope: Scope) -> bool:
        path = _route_path(scope)
        if not (path == DASHBOARD or path.startswith(DASHBOARD + "/")):
            return False
        matched = match_route(path)
        return matched is not None and not is_public(scope["method"], matched[0])

    def _forbidden(self, scope: Scope, session: Session, allowed: frozenset[Role]) -> HTMLResponse:
        held = ", ".join(r.value for r in Role if r in session.roles) or "no role"
        names = ", ".join(r.value for r in Role if r in allowed)
        return self.auth.render(
            "message.html.j2", 403, title="Not for your roles",
            message=f"The dashboard is for the roles {names}; {session.principal.actor} holds {held}. "
            "Ask an administrator for a role that reads cases, or sign in as someone else.",
            principal=session.principal, session=session, csrf=self.auth.signer().csrf_token(session.sid), base=_base(scope))


# -- the pages ----------------------------------------------------------------------------------------------


def _page_values(request: Request) -> dict[str, Any]:
    principal = principal_of(request.scope)
    session: Session | None = request.scope.get(SESSION_SCOPE_KEY)
    auth = _auth(request)
    return {"principal": principal, "session": session, "base": _base(request.scope),
            "csrf": auth.signer().csrf_token(session.sid) if session is not None else None}


def _unavailable(auth: DashboardAuth, request: Request, exc: ApiError) -> HTMLResponse:
    return auth.render("message.html.j2", exc.status_code, title="The ledger cannot be read now", message=exc.detail,
                       **_page_values(request))


@router.get("", response_class=HTMLResponse, responses=PAGE_ANSWERS, summary="The compliance officer's dashboard")
async def dashboard(request: Request) -> HTMLResponse:
    auth = _auth(request)
    try:
        snapshot = await asyncio.to_thread(auth.live.refresh)
    except ApiError as exc:
        return _unavailable(auth, request, exc)
    view = await asyncio.to_thread(overview, snapshot, auth.settings, _base(request.scope))
    return auth.render("dashboard.html.j2", ov=view, refresh=REFRESH_SECONDS, **_page_values(request))


@router.get("/events/{incident_id}", response_class=HTMLResponse, responses=PAGE_ANSWERS, summary="One event on the dashboard")
async def event(incident_id: str, request: Request) -> HTMLResponse:
    auth = _auth(request)
    stream = f"incident:{incident_id}"
    try:
        snapshot = await asyncio.to_thread(auth.live.refresh)
        entries = snapshot.streams.get(stream) or await asyncio.to_thread(auth.live.stream, stream)
    except ApiError as exc:
        return _unavailable(auth, request, exc)
    closed = stream not in snapshot.streams
    page = await asyncio.to_thread(event_page, entries, auth.settings, _base(request.scope), closed=closed)
    if page is None:
        return auth.render("message.html.j2", 404, title="No such event",
                           message=f"The ledger holds no entry of event {incident_id}.", **_page_values(request))
    return auth.render("event.html.j2", p=page, **_page_values(request))


# -- signing in -----------------------------------------------------------------------------------------------


REASONS = {
    "ended": "Your session has ended (it expired, was signed out, or its API key was revoked): sign in again.",
    "signed-out": "You are signed out.",
}


def _sign_in_page(request: Request, status: int = 200, error: str | None = None, next_url: str | None = None) -> HTMLResponse:
    auth = _auth(request)
    scope = request.scope
    next_url = _safe_next(scope, next_url if next_url is not None else request.query_params.get("next"))
    values: dict[str, Any] = {"principal": None, "base": _base(scope), "next": next_url, "error": error,
                              "notice": REASONS.get(request.query_params.get("reason") or ""),
                              "oidc_href": f"{_base(scope)}/sign-in/oidc?{urlencode({'next': next_url})}"}
    form_id = secrets.token_urlsafe(16) if auth.key_sign_in else None
    if form_id is not None:
        values["csrf"] = auth.signer().csrf_token(f"sign-in:{form_id}")
    response = auth.render("sign_in.html.j2", status, **values)
    if form_id is not None:
        _set_cookie(response, scope, SIGN_IN_COOKIE, form_id, SIGN_IN_FORM_SECONDS, samesite="strict")
    return response


@router.get("/sign-in", response_class=HTMLResponse, responses=SIGN_IN_ANSWERS, summary="Sign in to the dashboard")
async def sign_in(request: Request) -> HTMLResponse:
    return _sign_in_page(request)


class _FormRefused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _cross_site(request: Request) -> bool:
    """What the browser says about where the request comes from (a second check after the token)."""
    if request.headers.get("sec-fetch-site") == "cross-site":
        return True
    origin = request.headers.get("origin")
    if origin is None:
        return False
    if origin == "null":
        return True
    parts = urlsplit(origin)
    return (parts.netloc or "").lower() != (request.headers.get("host") or "").lower() or not parts.scheme


async def _form(request: Request) -> dict[str, str]:
    """The POSTed form, read to at most ``FORM_LIMIT`` bytes (public routes are not bounded by the guard)."""
    if _cross_site(request):
        raise _FormRefused(403, "This form was sent from another site: refused.")
    media = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
    if media != "application/x-www-form-urlencoded":
        raise _FormRefused(415, "The form must be sent as application/x-www-form-urlencoded.")
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > FORM_LIMIT:
        raise _FormRefused(413, f"The form is larger than {FORM_LIMIT} bytes.")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > FORM_LIMIT:
            raise _FormRefused(413, f"The form is larger than {FORM_LIMIT} bytes.")
    try:
        fields = parse_qs(body.decode("utf-8"), keep_blank_values=True, max_num_fields=8)
    except (UnicodeDecodeError, ValueError):
        raise _FormRefused(400, "The form could not be read.") from None
    return {name: values[0] for name, values in fields.items()}


def _session_response(request: Request, session: Session, next_url: str) -> RedirectResponse:
    auth = _auth(request)
    response = RedirectResponse(next_url, 303, headers=_HEADERS)
    max_age = max(1, int(session.expires_at - time.time()))
    _set_cookie(response, request.scope, SESSION_COOKIE, auth.signer().seal("session", session.payload()), max_age)
    log.info("dashboard.signed_in", actor=session.principal.actor, via=session.via, expires_at=session.expires_text)
    return response


def _message(request: Request, status: int, title: str, message: str) -> HTMLResponse:
    return _auth(request).render("message.html.j2", status, title=title, message=message, principal=None,
                                 base=_base(request.scope), sign_in=_sign_in_url(request.scope))


@router.post("/sign-in/key", response_class=HTMLResponse, responses=SIGN_IN_ANSWERS, openapi_extra=_FORM_BODY,
             summary="Exchange an API key for a dashboard session")
async def sign_in_with_key(request: Request) -> Response:
    auth = _auth(request)
    client = _client(request.scope)
    if not auth.key_sign_in:
        return _message(request, 404, "No sign-in with API keys here",
                        "This dashboard signs in through the identity provider only (NOTICEFLOW_DASHBOARD_KEY_SIGN_IN).")
    wait = auth.throttle.retry_after(client)
    if wait is not None:
        response = _message(request, 429, "Too many failed sign-ins", f"Try again in {wait} s.")
        response.headers["Retry-After"] = str(wait)
        return response
    try:
        form = await _form(request)
    except _FormRefused as exc:
        return _message(request, exc.status, "Sign-in refused", str(exc))
    next_url = _safe_next(request.scope, form.get("next"))
    form_id = _cookie(request, SIGN_IN_COOKIE)
    if form_id is None or not auth.signer().csrf_ok(f"sign-in:{form_id}", form.get("csrf")):
        return _sign_in_page(request, 403, "This sign-in form has expired or was not shown by this server: try again.", next_url)
    token = (form.get("api_key") or "").strip()
    if not token:
        return _sign_in_page(request, 422, "api_key: enter the API key (noticeflow apikey create prints it).", next_url)
    try:
        key = await asyncio.to_thread(lambda: auth.context.api_keys.authenticate(token))
    except KeyRefused:
        auth.throttle.failed(client)
        log.info("dashboard.key_refused", client=client)
        return _sign_in_page(request, 401, "This API key is not valid, revoked or expired.", next_url)
    except ApiError as exc:
        return _message(request, exc.status_code, "Sign-in unavailable", exc.detail)
    if not key.principal.holds_any(READERS):
        held = ", ".join(key.role_names())
        return _message(request, 403, "Not for your roles",
                        f"key:{key.name} holds {held}: the dashboard is for the roles that read cases.")
    session = new_session(key.name, "key", key.roles, hours=auth.settings.dashboard_session_hours, via="api-key",
                          key_id=key.key_id, not_after=key.expires_at)
    response = _session_response(request, session, next_url)
    _clear_cookie(response, request.scope, SIGN_IN_COOKIE)
    return response


@router.get("/sign-in/oidc", response_class=HTMLResponse, responses=SIGN_IN_ANSWERS,
            summary="Sign in through the identity provider")
async def sign_in_with_provider(request: Request) -> Response:
    auth = _auth(request)
    if auth.oidc is None:
        return _message(request, 404, "No identity provider here", "Single sign-on is not configured (NOTICEFLOW_OIDC_CLIENT_ID).")
    flow = Flow(secrets.token_urlsafe(24), _safe_next(request.scope, request.query_params.get("next")), _redirect_uri(request))
    try:
        target = await auth.oidc.authorization_url(flow)
    except SignInError as exc:
        return _message(request, exc.status, "Sign-in unavailable", str(exc))
    response = RedirectResponse(target, 303, headers=_HEADERS)
    sealed = auth.signer().seal("flow", {"flow": flow.flow_id, "next": flow.next, "exp": int(time.time()) + FLOW_SECONDS})
    _set_cookie(response, request.scope, FLOW_COOKIE, sealed, FLOW_SECONDS)
    return response


def _redirect_uri(request: Request) -> str:
    configured = _auth(request).settings.oidc_redirect_url
    if configured:
        return configured
    scope = request.scope
    return f"{scope.get('scheme', 'http')}://{request.headers.get('host') or 'localhost'}{_base(scope)}/callback"


@router.get("/callback", response_class=HTMLResponse, responses=SIGN_IN_ANSWERS,
            summary="The identity provider's redirect back to the dashboard")
async def callback(request: Request) -> Response:
    auth = _auth(request)
    client = _client(request.scope)
    if auth.oidc is None:
        return _message(request, 404, "No identity provider here", "Single sign-on is not configured.")
    params = request.query_params
    if params.get("error"):
        detail = (params.get("error_description") or "")[:200]
        return _message(request, 401, "The identity provider did not sign you in",
                        f"It answered {params['error'][:60]!r}{': ' + detail if detail else ''}.")
    sealed = _cookie(request, FLOW_COOKIE)
    try:
        if sealed is None:
            raise SignInError("This sign-in was not begun in this browser, or took longer than "
                              f"{FLOW_SECONDS // 60} minutes: start again.")
        try:
            payload = auth.signer().open("flow", sealed, time.time())
        except SessionError as exc:
            raise SignInError(f"This sign-in cannot be completed ({exc}): start again.") from None
        flow = Flow(str(payload.get("flow")), _safe_next(request.scope, payload.get("next")), _redirect_uri(request))
        auth.oidc.check_state(flow, params.get("state"))
        code = params.get("code")
        if not code or len(code) > 2048:
            raise SignInError("The identity provider's answer carries no authorization code.")
        id_token = await auth.oidc.exchange(flow, code)
        principal = await asyncio.to_thread(auth.oidc.verify_id_token, id_token, flow)
    except SignInError as exc:
        auth.throttle.failed(client)
        log.info("dashboard.sign_in_refused", client=client, reason=str(exc))
        response = _message(request, exc.status, "Sign-in failed", str(exc))
        _clear_cookie(response, request.scope, FLOW_COOKIE)
        return response
    if not principal.holds_any(READERS):
        held = ", ".join(r.value for r in Role if r in principal.roles) or "no role"
        return _message(request, 403, "Not for your roles",
                        f"{principal.actor} holds {held}: the dashboard is for the roles that read cases.")
    session = new_session(principal.name, "user", principal.roles, hours=auth.settings.dashboard_session_hours, via="oidc")
    response = _session_response(request, session, flow.next)
    _clear_cookie(response, request.scope, FLOW_COOKIE)
    return response


@router.post("/sign-out", response_class=HTMLResponse, responses=SIGN_IN_ANSWERS, openapi_extra=_FORM_BODY,
             summary="Sign out of the dashboard")
async def sign_out(request: Request) -> Response:
    auth = _auth(request)
    try:
        form = await _form(request)
    except _FormRefused as exc:
        return _message(request, exc.status, "Sign-out refused", str(exc))
    value = _cookie(request, SESSION_COOKIE)
    if value is not None:
        try:
            session = Session.from_payload(auth.signer().open("session", value, time.time()))
        except SessionError:
            session = None  # an expired or broken cookie: nothing to protect, just clear it
        if session is not None and not auth.signer().csrf_ok(session.sid, form.get("csrf")):
            return _message(request, 403, "Sign-out refused", "The sign-out form did not come from this dashboard.")
        if session is not None:
            log.info("dashboard.signed_out", actor=session.principal.actor)
    response = RedirectResponse(_sign_in_url(request.scope, reason="signed-out"), 303, headers=_HEADERS)
    _clear_cookie(response, request.scope, SESSION_COOKIE)
    return response
