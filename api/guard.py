"""The API's door: authenticate, authorise and bound every request before its body is read.

``AccessGuard`` is the outermost middleware of the app (outside ``Idempotency-Key`` handling,
which reads bodies). From the request line and headers alone it

1. lets the public routes through (``/healthz``, ``/v1/openapi.json``, ``/v1/docs``);
2. answers **429** (``Retry-After``) to a client address with too many failed authentications in
   the sliding window (``api_auth_failure_limit`` in ``api_auth_failure_window_seconds``);
3. authenticates (``api/auth.py``): **401** without reading a byte of the body — a 100 MB upload
   without a valid token costs the server its headers only;
4. authorises against the route table (``api/access.py``): **403** when the caller holds none of
   the route's roles — before anything is read, started or recorded;
5. bounds the body: **413** when ``Content-Length`` exceeds the route's limit, or as soon as a
   streamed body does.

The principal is left in the request's scope for the routes (``api/deps.py``) and the
idempotency middleware (keys are scoped to it).
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from typing import TYPE_CHECKING

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.access import (
    API_PREFIX,
    Principal,
    Role,
    body_limit,
    is_public,
    match_route,
    roles_for,
)
from api.actor_signing import calling_as
from api.auth import AuthenticationFailed
from api.errors import (
    ApiError,
    MethodNotAllowed,
    NoSuchRoute,
    NotAuthenticated,
    PayloadTooLarge,
    RoleRequired,
    TooManyFailures,
    error_response,
)
from noticeflow.logging import get_logger

if TYPE_CHECKING:
    from api.deps import ApiContext

log = get_logger("noticeflow.api")

#: Where the guard leaves the authenticated principal in the ASGI scope.
PRINCIPAL_KEY = "noticeflow.principal"
#: Client addresses whose failures are remembered at most (the oldest are forgotten first).
MAX_TRACKED_CLIENTS = 10_000


def principal_of(scope: Scope) -> Principal | None:
    principal = scope.get(PRINCIPAL_KEY)
    return principal if isinstance(principal, Principal) else None


class FailureThrottle:
    """Failed authentications per client address in a sliding window (in-process)."""

    def __init__(self, limit: int, window: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.window = window
        self._clock = clock
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()

    def _recent(self, client: str, now: float) -> deque[float] | None:
        times = self._failures.get(client)
        if times is None:
            return None
        while times and times[0] <= now - self.window:
            times.popleft()
        if not times:
            del self._failures[client]
            return None
        return times

    def retry_after(self, client: str) -> int | None:
        """Seconds until the client may try again, or None when it is not held back."""
        now = self._clock()
        times = self._recent(client, now)
        if times is None or len(times) < self.limit:
            return None
        return max(1, math.ceil(times[-self.limit] + self.window - now))

    def failed(self, client: str) -> None:
        now = self._clock()
        times = self._recent(client, now) or deque()
        times.append(now)
        while len(times) > self.limit:
            times.popleft()
        self._failures[client] = times
        self._failures.move_to_end(client)
        while len(self._failures) > MAX_TRACKED_CLIENTS:
            self._failures.popitem(last=False)


class _BodyTooLarge(Exception):
    pass


class AccessGuard:
    """ASGI middleware: see the module docstring."""

    def __init__(self, app: ASGIApp, context: ApiContext) -> None:
        self.app = app
        self.context = context
        settings = context.settings
        self.throttle = FailureThrottle(settings.api_auth_failure_limit, settings.api_auth_failure_window_seconds)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method = scope["method"]
        path = _route_path(scope)
        matched = match_route(path)
        template = matched[0] if matched is not None else None
        if template is not None and is_public(method, template):
            await self.app(scope, receive, send)
            return
        client = scope["client"][0] if scope.get("client") else "unknown"
        headers = Headers(scope=scope)
        wait = self.throttle.retry_after(client)
        if wait is not None:
            throttled = TooManyFailures(
                f"too many failed authentications from this address: try again in {wait} s", retry_after=wait
            )
            await error_response(throttled, path)(scope, receive, send)
            return
        try:
            principal = _session_principal(scope, template) or await self.context.authenticator.authenticate(
                headers.get("authorization")
            )
        except NotAuthenticated as exc:
            if isinstance(exc, AuthenticationFailed):
                self.throttle.failed(client)
                log.info("api.authentication_failed", path=path, client=client, reason=exc.detail)
            await error_response(exc, path)(scope, receive, send)
            return
        except ApiError as exc:
            await error_response(exc, path)(scope, receive, send)
            return
        scope[PRINCIPAL_KEY] = principal
        # A route the table does not list is no route at all: access is never granted by omission.
        if matched is None:
            await error_response(NoSuchRoute(f"no route {method} {path}: see /v1/openapi.json"), path)(scope, receive, send)
            return
        template, methods = matched
        roles = roles_for(method, template)
        if roles is None:
            refusal: ApiError = MethodNotAllowed(f"{path} takes {', '.join(sorted(methods))}, not {method}")
            await error_response(refusal, path)(scope, receive, send)
            return
        if not principal.holds_any(roles):
            allowed = ", ".join(r.value for r in Role if r in roles)
            held = ", ".join(r.value for r in Role if r in principal.roles) or "none"
            refusal = RoleRequired(
                f"{method} {template} is for the roles {allowed}; {principal.actor} holds {held}. Nothing was done."
            )
            log.info("api.role_refused", path=path, actor=principal.actor, route=template)
            await error_response(refusal, path)(scope, receive, send)
            return
        limit = body_limit(method, template, self.context.settings)
        declared = headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await error_response(_too_large(limit), path)(scope, receive, send)
            return
        # The workflows' steps this request sends are signed for its caller (api/actor_signing.py).
        with calling_as(principal.actor):
            await self._bounded(scope, receive, send, limit)

    async def _bounded(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        """Run the app, answering 413 once a streamed body passes ``limit``."""
        received = 0
        exceeded = False
        started = False

        async def counting() -> Message:
            nonlocal received, exceeded
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    exceeded = True
                    raise _BodyTooLarge
            return message

        async def sending(message: Message) -> None:
            nonlocal started
            if exceeded:  # whatever the app made of the refused read, the answer is 413
                if message["type"] == "http.response.start" and not started:
                    started = True
                    await error_response(_too_large(limit), scope["path"])(scope, receive, send)
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting, sending)
        except _BodyTooLarge:
            if not started:
                await error_response(_too_large(limit), scope["path"])(scope, receive, send)


def _route_path(scope: Scope) -> str:
    """The path the routes see: without the ``root_path`` a proxy mounted the API under."""
    path: str = scope["path"]
    root = scope.get("root_path", "")
    return path[len(root):] if root and path.startswith(root) else path


def _too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"the request body is larger than this route accepts ({limit:,} bytes; NOTICEFLOW_API_MAX_BODY_BYTES): "
        "nothing was read further or done"
    )


# -- the dashboard's sessions (api/dashboard.py) ---------------------------------------------------------

#: The only routes on which the principal may come from the dashboard's session cookie.
SESSION_ROUTES = f"{API_PREFIX}/dashboard"


def _session_principal(scope: Scope, template: str | None) -> Principal | None:
    """The principal ``DashboardSessions`` (api/dashboard.py, the middleware outside this guard) read
    from a valid session cookie — honoured on the dashboard's pages only, so no other route can be
    driven by a cookie (and so by a forged cross-site request). Roles are checked below as for any."""
    if template is None or not (template == SESSION_ROUTES or template.startswith(SESSION_ROUTES + "/")):
        return None
    return principal_of(scope)
