"""Who is calling: every request but ``/healthz`` and the API's description is authenticated, and
every step in the ledger names the principal who took it.

``Authorization: Bearer <token>`` carries either

- a named API key (``nfk_<id>_<secret>``, ``api/apikeys.py``): the caller is ``key:<name>`` with
  the key's roles — revoked and expired keys authenticate nobody; or
- an OAuth 2.0 access token in JWT form from the licensee's identity provider (three base64url
  parts separated by dots), when single sign-on is configured (``api/sso.py``): the caller is
  ``user:<name>`` with the roles its claim maps to.

There is no anonymous caller. A body that names the person acting (``recorded_by``,
``decided_by``, …) must name the caller (403 otherwise), so nobody records a step in another's
name; the workflow records the caller's full actor (``key:c.hale``, ``user:dana``).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from typing import TYPE_CHECKING

from pydantic import BaseModel
from sqlalchemy.exc import SQLAlchemyError

from api.access import Principal, Role
from api.apikeys import ApiKeyStore, KeyRefused, looks_like_api_key
from api.errors import (
    ActorMismatch,
    ApiError,
    IdentityProviderUnavailable,
    KeyStoreUnavailable,
    NotAuthenticated,
)
from api.schemas import ACTOR_FIELDS
from ledger.errors import LedgerError

if TYPE_CHECKING:
    from api.sso import SsoVerifier

#: A user name the ledger and every step model can carry as ``user:<name>`` (models/ledger.py's actor
#: pattern; at most 99 characters with its prefix).
LEDGER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:/@+-]{0,93}$")
#: Longer Authorization values are refused unread.
MAX_CREDENTIAL_CHARS = 16_384


class AuthenticationFailed(NotAuthenticated):
    """Credentials were presented and refused: counts towards the caller's failure limit."""


class Authenticator:
    """The principal of a request's ``Authorization`` header: an API key, or a single sign-on
    user when ``sso`` is configured. Raises ``NotAuthenticated`` (401) otherwise."""

    def __init__(self, keys: Callable[[], ApiKeyStore], sso: SsoVerifier | None = None) -> None:
        self._keys = keys
        self.sso = sso

    async def authenticate(self, authorization: str | None) -> Principal:
        if authorization is None:
            raise NotAuthenticated(
                "a bearer token is required: send 'Authorization: Bearer <token>' with an API key "
                "(noticeflow apikey create) or, where single sign-on is set up, your access token"
            )
        scheme, _, token = authorization.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token or len(token) > MAX_CREDENTIAL_CHARS:
            raise AuthenticationFailed("the Authorization header must be 'Bearer <token>'")
        if looks_like_api_key(token):
            return await asyncio.to_thread(self._api_key, token)
        if token.count(".") == 2:
            return await asyncio.to_thread(self._sso_user, token)
        raise AuthenticationFailed("this token is neither an API key nor an access token of the identity provider")

    def _api_key(self, token: str) -> Principal:
        try:
            return self._keys().authenticate(token).principal
        except KeyRefused as exc:
            raise AuthenticationFailed(str(exc)) from None
        except ApiError as exc:
            raise KeyStoreUnavailable(f"API keys cannot be checked now: {exc.detail}") from None
        except (SQLAlchemyError, LedgerError) as exc:
            reason = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
            raise KeyStoreUnavailable(f"API keys cannot be checked now ({reason}); nothing was done, try again") from None

    def _sso_user(self, token: str) -> Principal:
        if self.sso is None:
            raise AuthenticationFailed("single sign-on is not configured here: use an API key (noticeflow apikey create)")
        from api.sso import JwksUnavailable, SsoError

        try:
            identity = self.sso.verify(token)
        except JwksUnavailable as exc:
            raise IdentityProviderUnavailable(f"{exc}; nothing was done, try again") from None
        except SsoError as exc:
            raise AuthenticationFailed(f"the access token is refused: {exc}") from None
        name = next((n for n in (identity.name, identity.subject) if LEDGER_NAME.match(n)), None)
        if name is None:
            raise AuthenticationFailed(
                "the access token names no user the ledger can record (its user name and subject must be letters, "
                "digits and _.:/@+-): ask the identity provider's administrator"
            )
        roles = frozenset(role for role in Role if role.value in identity.roles)
        return Principal(name=name, kind="user", roles=roles)


def check_actor(request_body: BaseModel, domain: type[BaseModel], actor: str) -> None:
    """The person named in the body, if any, must be the caller (its actor, or its bare name)."""
    field = ACTOR_FIELDS[domain]
    require_caller(getattr(request_body, field, None), field, actor)


def require_caller(named: str | None, field: str, actor: str) -> None:
    """The person a body names as acting in ``field``, if any, must be the caller."""
    if named is not None and not names_caller(named, actor):
        raise ActorMismatch(
            f"{field} is {named!r} but the request is authenticated as {actor!r}: a step is recorded in the "
            f"name of the principal who takes it; leave {field} out or set it to {actor!r}"
        )


def names_caller(named: str, actor: str) -> bool:
    """``named`` stands for the caller ``actor`` (``key:c.hale``): the actor itself, or its name."""
    return named == actor or named == actor.partition(":")[2]
