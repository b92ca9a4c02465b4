"""Who is calling: every step in the ledger names the person who took it.

``Authorization: Bearer <token>`` with a token of ``NOTICEFLOW_API_TOKENS`` (a JSON object, token →
user name) makes the caller that user. With no tokens configured, an API bound to loopback
(``NOTICEFLOW_API_HOST=127.0.0.1``, the dev stack) serves requests arriving over loopback as user
``local``; anything else is refused (401). A body that names the person acting (``recorded_by``,
``decided_by``, …) must name the caller (403 otherwise), so nobody records a step in another's
name.
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Mapping

from fastapi import Request
from pydantic import BaseModel

from api.errors import ActorMismatch, NotAuthenticated
from api.schemas import ACTOR_FIELDS

#: The caller on a loopback-bound API without tokens: a developer at their own machine.
LOCAL_USER = "local"


def is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Authenticator:
    """FastAPI dependency: the authenticated user name of a request."""

    def __init__(self, tokens: Mapping[str, str], *, bind_host: str) -> None:
        self._tokens = [(token.encode("utf-8"), user) for token, user in tokens.items() if token and user]
        self.local_dev = not self._tokens and is_loopback(bind_host)

    def __call__(self, request: Request) -> str:
        header = request.headers.get("authorization")
        if header is None:
            if self.local_dev and _over_loopback(request):
                return LOCAL_USER
            if not self._tokens:
                raise NotAuthenticated(
                    "no API tokens are configured (NOTICEFLOW_API_TOKENS): only an API bound to 127.0.0.1 "
                    "serves requests without a token, and only over loopback"
                )
            raise NotAuthenticated("a bearer token is required: send 'Authorization: Bearer <token>'")
        scheme, _, token = header.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise NotAuthenticated("the Authorization header must be 'Bearer <token>'")
        presented = token.encode("utf-8")
        # Compare with every token, so the time taken does not tell which one nearly matched.
        user: str | None = None
        for known, name in self._tokens:
            if hmac.compare_digest(presented, known):
                user = name
        if user is None:
            raise NotAuthenticated("this token is not valid for the incident API")
        return user


def _over_loopback(request: Request) -> bool:
    client = request.client.host if request.client else None
    server = request.scope.get("server")
    server_host = server[0] if server else None
    return is_loopback(client) and (server_host is None or is_loopback(server_host))


def check_actor(request_body: BaseModel, domain: type[BaseModel], actor: str) -> None:
    """The person named in the body, if any, must be the caller."""
    field = ACTOR_FIELDS[domain]
    named = getattr(request_body, field, None)
    if named is not None and named != actor:
        raise ActorMismatch(
            f"{field} is {named!r} but the request is authenticated as {actor!r}: a step is recorded in the "
            f"name of the person who takes it; leave {field} out or set it to {actor!r}"
        )
