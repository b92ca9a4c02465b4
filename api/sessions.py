"""The dashboard's sessions: signed cookies, and signing in through the identity provider.

A browser cannot send a bearer token from a page without JavaScript, so the dashboard
(``api/dashboard.py``) signs its user in once and then recognises a cookie:

- **through the identity provider** — OpenID Connect's authorization code flow with PKCE (S256):
  ``state`` and ``nonce`` checked, the code exchanged at the token endpoint with the PKCE verifier
  (and the client secret, if the client has one), the ID token verified — signature against the
  provider's JWKS (the single sign-on key source of ``api/sso.py``), ``iss``, ``aud`` = the
  client id (``azp`` too when there are several audiences), ``exp``, ``iat``, ``nonce``; the
  user's name and roles are read from the same claims as single sign-on's access tokens;
- **with an API key**, for the dev stack: the key is presented once, in a form, and exchanged for
  a session; the cookie names the key's id, never the key.

The session cookie is ``v1.<payload>.<HMAC-SHA-256>``, the payload (base64url JSON) carrying the
principal's name, kind and roles, a random session id and the expiry; it is signed with a key
from the settings or ``home/dashboard-session.key`` (0600, made on first use) — each use
(session, sign-in flow, CSRF token, PKCE) under its own key derived from that one. It is HttpOnly,
``SameSite=Lax``, ``Secure`` and ``__Host-``-prefixed — except over plain http on a loopback
address (the dev stack), where a browser would not send a Secure cookie.

The state, nonce and PKCE verifier of a sign-in are not stored anywhere: they are HMACs of a random
flow id that travels in a short-lived signed cookie, so nothing secret sits in a cookie and a
callback can only complete the flow its own browser began.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import json
import secrets
import stat
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
import jwt
from jwt.exceptions import PyJWTError
from sqlalchemy import select

from activities import db
from activities.files import write_atomically
from api.access import Principal, Role
from api.apikeys import TABLE as API_KEYS
from api.apikeys import ApiKey, ApiKeyStore
from api.auth import (
    LEDGER_NAME,  # the user names the ledger can record: one home, api/auth.py
)
from api.sso import (
    ASYMMETRIC_ALGORITHMS,
    DEFAULT_ALGORITHMS,
    JwksSource,
    JwksUnavailable,
    SsoError,
    SsoVerifier,
)
from noticeflow.logging import get_logger
from config.settings import Settings

log = get_logger("noticeflow.dashboard")

SESSION_KEY_FILE = "dashboard-session.key"
#: Cookie names; ``__Host-`` is added when the cookie is Secure (it then has Path=/ and no Domain,
#: so no sibling host can set or shadow it).
SESSION_COOKIE = "nf_dashboard"
FLOW_COOKIE = "nf_sign_in_flow"
SIGN_IN_COOKIE = "nf_sign_in_form"
#: How long a sign-in may take, from the redirect to the provider to its callback (seconds).
FLOW_SECONDS = 600
#: How long the API-key form stays usable once shown (seconds).
SIGN_IN_FORM_SECONDS = 1800
#: A cookie value longer than this is not even parsed.
MAX_COOKIE_CHARS = 4096
#: Seconds of clock skew allowed between this server and the identity provider.
LEEWAY_SECONDS = 60
#: The ID token's header ``typ`` values that say it is something else (an RFC 9068 access token).
_NOT_ID_TOKEN = frozenset({"at+jwt", "application/at+jwt"})


class SessionError(Exception):
    """A cookie that opens no session; ``tampered`` when its signature or shape is wrong (counted as a
    failed authentication), not when it merely expired or its key was revoked."""

    def __init__(self, message: str, *, tampered: bool = False) -> None:
        super().__init__(message)
        self.tampered = tampered


class SignInError(Exception):
    """A sign-in that cannot complete; the message is shown to the user (never a token or a code)."""

    def __init__(self, message: str, *, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


# -- the signing key ------------------------------------------------------------------------------------


def load_session_key(settings: Settings) -> bytes:
    """``NOTICEFLOW_DASHBOARD_SESSION_KEY``, else the home's key file (created 0600 on first use)."""
    if settings.dashboard_session_key:
        return settings.dashboard_session_key.strip().encode("utf-8")
    path = settings.home / SESSION_KEY_FILE
    if not path.exists() and write_atomically(path, (secrets.token_hex(32) + "\n").encode("ascii"), mode=0o600,
                                              replace=False):
        log.info("dashboard.session_key_created", path=str(path))
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        log.warning("dashboard.session_key_permissions", path=str(path), mode=oct(mode), expected="0o600")
    key = path.read_text(encoding="utf-8").strip()
    if len(key) < 32:
        raise ValueError(f"{path} holds no usable key (at least 32 characters): delete it to make a new one")
    return key.encode("utf-8")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def same(given: str, expected: str) -> bool:
    """Constant-time equality of a value the client sent and the one expected. As bytes:
    ``hmac.compare_digest`` raises TypeError on a str with non-ASCII characters, and what a client
    sends (a cookie, a form field, a query parameter) may hold any."""
    return hmac.compare_digest(given.encode("utf-8", "surrogatepass"), expected.encode("utf-8"))


class Signer:
    """HMAC-SHA-256 under keys derived from the session key, one per use."""

    def __init__(self, key: bytes) -> None:
        if len(key) < 32:
            raise ValueError("the dashboard session key must be at least 32 bytes")
        self._key = key

    def _derived(self, use: str) -> bytes:
        return hmac.new(self._key, b"noticeflow-dashboard/" + use.encode(), hashlib.sha256).digest()

    def mac(self, use: str, message: str) -> str:
        return _b64(hmac.new(self._derived(use), message.encode("utf-8"), hashlib.sha256).digest())

    def seal(self, use: str, payload: Mapping[str, Any]) -> str:
        body = _b64(json.dumps(payload, separators=(",", ":"), sort_keys=True).encode("utf-8"))
        return f"v1.{body}.{self.mac(use, 'v1.' + body)}"

    def open(self, use: str, value: str, now: float) -> dict[str, Any]:
        """The payload of a value ``seal`` made for ``use``; SessionError if it was not, or expired."""
        if not value or len(value) > MAX_COOKIE_CHARS or value.count(".") != 2:
            raise SessionError("the cookie is not one this server made", tampered=True)
        version, body, mac = value.split(".")
        if version != "v1" or not same(mac, self.mac(use, f"v1.{body}")):
            raise SessionError("the cookie's signature does not verify", tampered=True)
        try:
            payload = json.loads(_unb64(body))
        except (ValueError, UnicodeDecodeError):
            raise SessionError("the cookie's content is unreadable", tampered=True) from None
        expires = payload.get("exp") if isinstance(payload, dict) else None
        if not isinstance(expires, int | float) or isinstance(expires, bool):
            raise SessionError("the cookie carries no expiry", tampered=True)
        if expires <= now:
            raise SessionError("the session expired")
        return payload

    def csrf_token(self, bound_to: str) -> str:
        """The token a form must send back: bound to the session (or the sign-in form) it was shown in."""
        return self.mac("csrf", bound_to)

    def csrf_ok(self, bound_to: str, token: str | None) -> bool:
        return bool(token) and same(str(token), self.csrf_token(bound_to))


# -- sessions -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Session:
    """A signed-in browser: who, as which kind of principal, with which roles, until when."""

    sid: str
    name: str
    kind: str  # "user" (identity provider) or "key" (an API key exchanged once)
    roles: frozenset[Role]
    expires_at: float
    key_id: str | None = None
    via: str = "oidc"

    @property
    def principal(self) -> Principal:
        return Principal(name=self.name, kind="key" if self.kind == "key" else "user", roles=self.roles)

    def payload(self) -> dict[str, Any]:
        out: dict[str, Any] = {"sid": self.sid, "name": self.name, "kind": self.kind, "via": self.via,
                               "roles": sorted(r.value for r in self.roles), "exp": int(self.expires_at)}
        if self.key_id is not None:
            out["key_id"] = self.key_id
        return out

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> Session:
        try:
            roles = frozenset(Role(r) for r in payload["roles"])
            kind = payload["kind"]
            if kind not in ("user", "key") or (kind == "key") != isinstance(payload.get("key_id"), str):
                raise ValueError(kind)
            return cls(sid=str(payload["sid"]), name=str(payload["name"]), kind=kind, roles=roles,
                       expires_at=float(payload["exp"]), key_id=payload.get("key_id"), via=str(payload.get("via", "")))
        except (KeyError, TypeError, ValueError):
            raise SessionError("the session cookie is malformed", tampered=True) from None

    @property
    def expires_text(self) -> str:
        return datetime.fromtimestamp(self.expires_at, tz=UTC).strftime("%Y-%m-%d %H:%M UTC")


def new_session(name: str, kind: str, roles: frozenset[Role], *, hours: float, via: str, key_id: str | None = None,
                not_after: datetime | None = None, now: float | None = None) -> Session:
    now = time.time() if now is None else now
    expires = now + hours * 3600
    if not_after is not None:
        expires = min(expires, not_after.timestamp())
    return Session(sid=secrets.token_urlsafe(16), name=name, kind=kind, roles=roles, expires_at=expires,
                   key_id=key_id, via=via)


def key_session_check(store: ApiKeyStore, session: Session, now: datetime | None = None) -> Session:
    """An API key's session lives only as long as its key: one primary-key look-up per request.
    SessionError when the key was revoked, expired, or is not the one the session was made from."""
    now = now or datetime.now(UTC)
    with db.read(store.engine) as conn:
        row = conn.execute(select(API_KEYS).where(API_KEYS.c.key_id == session.key_id)).first()
    if row is None:
        raise SessionError("the API key this session was made from no longer exists")
    key = ApiKey.from_row(row)
    if key.name != session.name:
        raise SessionError("the session does not match its API key", tampered=True)
    status = key.status(now)
    if status != "active":
        raise SessionError(f"the API key this session was made from was {status}: sign in again")
    # The key's current roles, not the ones it had at sign-in (they only ever shrink by revocation).
    return Session(**{**session.__dict__, "roles": key.roles & session.roles})


# -- where the cookie goes ---------------------------------------------------------------------------------


def is_loopback_host(host: str) -> bool:
    name = host.strip("[]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def host_of(authority: str) -> str:
    """The host of a ``Host`` header or an origin's authority (without the port)."""
    return urlsplit(f"//{authority}").hostname or ""


def cookie_is_secure(scheme: str, host_header: str) -> bool:
    """Secure everywhere but plain http to a loopback address (the dev stack's browser on the same machine)."""
    return not (scheme == "http" and is_loopback_host(host_of(host_header)))


def cookie_name(base: str, secure: bool) -> str:
    return f"__Host-{base}" if secure else base


# -- OpenID Connect --------------------------------------------------------------------------------------


def _require_https(url: str, setting: str) -> str:
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return url
    if parts.scheme == "http" and parts.hostname and is_loopback_host(parts.hostname):
        return url
    raise ValueError(f"{setting} {url!r}: the identity provider must be reached over https (http only on loopback)")


def pkce_challenge(verifier: str) -> str:
    """RFC 7636 §4.2, S256: BASE64URL(SHA256(ASCII(code_verifier)))."""
    return _b64(hashlib.sha256(verifier.encode("ascii")).digest())


@dataclass(frozen=True)
class Flow:
    """One sign-in in progress: its id (in a signed cookie) and where to go afterwards; the state,
    nonce and PKCE verifier are derived from the id under the server's key."""

    flow_id: str
    next: str
    redirect_uri: str


class OidcClient:
    """The dashboard as an OpenID Connect relying party (a confidential client with a secret, or a
    public one with PKCE only)."""

    def __init__(self, settings: Settings, signer: Callable[[], Signer], jwks: JwksSource | None,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        client_id = (settings.oidc_client_id or "").strip()
        issuer = (settings.oidc_issuer or settings.sso_issuer or "").strip()
        if not issuer:
            raise ValueError("NOTICEFLOW_OIDC_ISSUER (or NOTICEFLOW_SSO_ISSUER) is required with NOTICEFLOW_OIDC_CLIENT_ID")
        if "openid" not in settings.oidc_scope.split():
            raise ValueError(f"NOTICEFLOW_OIDC_SCOPE {settings.oidc_scope!r} must include 'openid'")
        self.client_id = client_id
        self.client_secret = settings.oidc_client_secret or None
        self.issuer = issuer
        self.scope = settings.oidc_scope
        self._authorize_url = settings.oidc_authorize_url and _require_https(settings.oidc_authorize_url, "oidc_authorize_url")
        self._token_url = settings.oidc_token_url and _require_https(settings.oidc_token_url, "oidc_token_url")
        self._jwks_url = settings.oidc_jwks_url and _require_https(settings.oidc_jwks_url, "oidc_jwks_url")
        self._jwks = jwks if jwks is not None and not self._jwks_url else None
        self._signer = signer
        self._transport = transport
        self._settings = settings
        self._discovery: dict[str, str] | None = None
        self._verifier: SsoVerifier | None = None

    @classmethod
    def from_settings(cls, settings: Settings, signer: Callable[[], Signer], jwks: JwksSource | None) -> OidcClient | None:
        if not (settings.oidc_client_id or "").strip():
            return None
        return cls(settings, signer, jwks)

    # -- the flow ---------------------------------------------------------------------------------

    def state(self, flow_id: str) -> str:
        return self._signer().mac("oidc-state", flow_id)

    def nonce(self, flow_id: str) -> str:
        return self._signer().mac("oidc-nonce", flow_id)

    def verifier(self, flow_id: str) -> str:
        return self._signer().mac("oidc-pkce", flow_id)  # 43 characters of base64url: RFC 7636 §4.1

    async def authorization_url(self, flow: Flow) -> str:
        endpoints = await self._endpoints()
        query = {
            "response_type": "code", "client_id": self.client_id, "redirect_uri": flow.redirect_uri, "scope": self.scope,
            "state": self.state(flow.flow_id), "nonce": self.nonce(flow.flow_id),
            "code_challenge": pkce_challenge(self.verifier(flow.flow_id)), "code_challenge_method": "S256",
        }
        base = endpoints["authorization_endpoint"]
        return f"{base}{'&' if '?' in base else '?'}{urlencode(query)}"

    def check_state(self, flow: Flow, state: str | None) -> None:
        if not state or not same(state, self.state(flow.flow_id)):
            raise SignInError("the sign-in's state does not match the one this browser began: start again")

    async def exchange(self, flow: Flow, code: str) -> str:
        """The ID token for ``code`` (RFC 6749 §4.1.3 with the PKCE verifier, RFC 7636 §4.5)."""
        endpoints = await self._endpoints()
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": flow.redirect_uri,
                "code_verifier": self.verifier(flow.flow_id), "client_id": self.client_id}
        auth = httpx.BasicAuth(self.client_id, self.client_secret) if self.client_secret else None
        try:
            async with self._http() as http:
                answer = await http.post(endpoints["token_endpoint"], data=form, auth=auth,
                                         headers={"Accept": "application/json"})
        except httpx.HTTPError as exc:
            raise SignInError(f"the identity provider's token endpoint could not be reached ({type(exc).__name__})",
                              status=502) from None
        try:
            body = answer.json()
        except ValueError:
            body = {}
        if answer.status_code != 200:
            error = body.get("error") if isinstance(body, dict) else None
            log.info("dashboard.code_refused", status=answer.status_code, error=error)
            raise SignInError(f"the identity provider refused the sign-in code ({error or answer.status_code}): start again",
                              status=401 if answer.status_code in (400, 401) else 502)
        token = body.get("id_token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            raise SignInError("the identity provider answered without an ID token (is 'openid' among the scopes?)",
                              status=502)
        return token

    def verify_id_token(self, token: str, flow: Flow) -> Principal:
        """The user an ID token names (OpenID Connect Core §3.1.3.7), with noticeflow's roles."""
        try:
            header = jwt.get_unverified_header(token)
        except PyJWTError:
            raise SignInError("the ID token is not a JWT", status=401) from None
        alg, kid = header.get("alg"), header.get("kid")
        if alg not in DEFAULT_ALGORITHMS or alg not in ASYMMETRIC_ALGORITHMS:
            raise SignInError(f"the ID token's algorithm {alg!r} is not allowed ({', '.join(DEFAULT_ALGORITHMS)})",
                              status=401)
        if isinstance(header.get("typ"), str) and header["typ"].lower() in _NOT_ID_TOKEN:
            raise SignInError("an access token was returned where the ID token belongs", status=401)
        if not isinstance(kid, str) or not kid:
            raise SignInError("the ID token names no key id (kid)", status=401)
        claims_of = self._claims()
        try:
            key = claims_of.key_for(kid, alg)  # the JWKS key for kid and alg, picked as single sign-on picks it
            claims = jwt.decode(token, key=key, algorithms=[alg], audience=self.client_id, issuer=self.issuer,
                                leeway=LEEWAY_SECONDS, options={"require": ["iss", "sub", "aud", "exp", "iat", "nonce"]})
        except JwksUnavailable as exc:
            raise SignInError(f"the identity provider's keys cannot be read now: {exc}", status=503) from None
        except SsoError as exc:
            raise SignInError(f"the ID token is refused: {exc}", status=401) from None
        except PyJWTError as exc:
            raise SignInError(f"the ID token is refused: {type(exc).__name__}: {exc}", status=401) from None
        if not same(str(claims["nonce"]), self.nonce(flow.flow_id)):
            raise SignInError("the ID token's nonce is not this sign-in's: start again", status=401)
        audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
        if len(audiences) > 1 and claims.get("azp") != self.client_id:
            raise SignInError("the ID token has several audiences and its azp is not this dashboard", status=401)
        name = claims_of.name_of(claims)
        if not LEDGER_NAME.match(name):
            name = str(claims["sub"])
        if not LEDGER_NAME.match(name):
            raise SignInError("the ID token names no user the ledger can record (letters, digits and _.:/@+-)",
                              status=401)
        try:
            roles = claims_of.roles_of(claims)
        except SsoError as exc:
            raise SignInError(str(exc), status=401) from None
        return Principal(name=name, kind="user", roles=frozenset(r for r in Role if r.value in roles))

    def _claims(self) -> SsoVerifier:
        """Single sign-on's verifier over the ID tokens' keys: the user's name and roles come from the
        same claims as the access tokens' (sso_name_claim, sso_roles_claim, sso_role_map) — one
        mapping for both ways in — and the JWKS key is chosen the same way."""
        if self._jwks is None:
            raise SignInError("the identity provider's keys are not known yet: start the sign-in again", status=503)
        if self._verifier is None:
            settings = self._settings
            self._verifier = SsoVerifier(issuer=self.issuer, audience=self.client_id, jwks=self._jwks,
                                         roles_claim=settings.sso_roles_claim, name_claim=settings.sso_name_claim,
                                         role_map=settings.sso_role_map or None)
        return self._verifier

    # -- the provider's endpoints -------------------------------------------------------------------

    def _http(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(timeout=10.0, transport=self._transport, follow_redirects=False)

    async def _endpoints(self) -> dict[str, str]:
        try:
            return await self._configured_or_discovered()
        except ValueError as exc:  # an endpoint the provider named over plain http
            raise SignInError(str(exc), status=503) from None

    async def _configured_or_discovered(self) -> dict[str, str]:
        if self._authorize_url and self._token_url and (self._jwks is not None or self._jwks_url):
            self._ensure_jwks(self._jwks_url)
            return {"authorization_endpoint": self._authorize_url, "token_endpoint": self._token_url}
        discovered = await self._discover()
        self._ensure_jwks(self._jwks_url or discovered.get("jwks_uri"))
        return {
            "authorization_endpoint": self._authorize_url or _require_https(discovered["authorization_endpoint"],
                                                                             "authorization_endpoint"),
            "token_endpoint": self._token_url or _require_https(discovered["token_endpoint"], "token_endpoint"),
        }

    def _ensure_jwks(self, url: str | None) -> None:
        if self._jwks is None:
            if not url:
                raise SignInError("no key set for ID tokens: set NOTICEFLOW_OIDC_JWKS_URL or single sign-on's JWKS",
                                  status=503)
            self._jwks = JwksSource.from_url(_require_https(url, "jwks_uri"))

    async def _discover(self) -> dict[str, str]:
        """OpenID Connect Discovery 1.0 §4: the issuer's configuration, its ``issuer`` checked."""
        if self._discovery is not None:
            return self._discovery
        url = _require_https(self.issuer.rstrip("/") + "/.well-known/openid-configuration", "oidc_issuer")
        try:
            async with self._http() as http:
                answer = await http.get(url, headers={"Accept": "application/json"})
            document = answer.json() if answer.status_code == 200 else None
        except (httpx.HTTPError, ValueError):
            document = None
        if not isinstance(document, dict):
            raise SignInError(f"the identity provider's discovery document could not be read from {url}", status=503)
        if document.get("issuer") != self.issuer:
            raise SignInError(f"the discovery document at {url} names another issuer", status=503)
        needed = ("authorization_endpoint", "token_endpoint")
        if not all(isinstance(document.get(k), str) for k in needed):
            raise SignInError(f"the discovery document at {url} lacks {', '.join(needed)}", status=503)
        self._discovery = {k: v for k, v in document.items() if isinstance(v, str)}
        return self._discovery
