"""Single sign-on: OAuth 2.0 access tokens in JWT form (RFC 9068) from the licensee's identity
provider, verified against the provider's published keys (a JWKS, from a URL or a file).

``SsoVerifier.verify(token)`` answers an ``SsoIdentity`` (who, with which noticeflow roles) or
raises ``SsoError`` saying why the token is refused. Signature and claim checks are PyJWT's; this
module adds what RFC 9068 asks of a resource server on top (§4):

- the header's ``typ`` is ``at+jwt`` (§2.1) — an OpenID Connect ID token, even one signed by the
  same provider for the same client, is refused: it says who signed in to a client, not that the
  client may call this API;
- ``iss`` is exactly the configured issuer, ``aud`` contains this API's audience, ``exp`` is in the
  future, ``iat`` is present, ``nbf`` (if any) has passed — all with ``leeway_seconds`` for clock
  skew; ``sub`` and ``client_id`` are present (§2.2: both REQUIRED — a token without
  ``client_id`` is refused; ``jti`` is REQUIRED too but noticeflow keeps no replay cache, so it is
  not demanded);
- the algorithm is on an allow-list of asymmetric algorithms — never ``none``, never ``HS*``: the
  JWKS is public, so a key from it must never serve as an HMAC secret (§4: "MUST NOT … none");
- the key is the JWKS key whose ``kid`` the header names; an unknown ``kid`` makes a URL source
  fetch the JWKS again (key rotation), at most once per ``min_refetch_interval_seconds``.

Roles come from a configurable claim (a top-level name, or a dotted path such as
``realm_access.roles``), optionally translated by a role map; only noticeflow's roles
(``ROLES``) are kept. A token without the roles claim yields an identity with no roles — the
caller authenticated, they are just not allowed anything (403, not 401).

Error messages name the reason, never the token.
"""

from __future__ import annotations

import ipaddress
import json
import os
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx
import jwt
from jwt.exceptions import (
    DecodeError,
    ExpiredSignatureError,
    ImmatureSignatureError,
    InvalidAlgorithmError,
    InvalidAudienceError,
    InvalidIssuedAtError,
    InvalidIssuerError,
    InvalidKeyError,
    InvalidSignatureError,
    InvalidTokenError,
    MissingRequiredClaimError,
    PyJWTError,
)

from api.access import Role
from noticeflow.logging import get_logger

if TYPE_CHECKING:
    from config.settings import Settings

log = get_logger("noticeflow.sso")

#: noticeflow's roles (their one home is ``api.access.Role``). A token's roles outside them are ignored.
ROLES: frozenset[str] = frozenset(role.value for role in Role)

#: Signature algorithms a verifier may allow: asymmetric only. ``none`` and ``HS*`` are never
#: allowed — a public JWKS must not be usable as an HMAC secret (RFC 9068 §4, RFC 8725 §3.1).
ASYMMETRIC_ALGORITHMS: frozenset[str] = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)
DEFAULT_ALGORITHMS: tuple[str, ...] = ("RS256", "ES256", "EdDSA")

#: ``typ`` header values of an RFC 9068 access token (§2.1; media types compare case-insensitively).
ACCESS_TOKEN_TYPES = frozenset({"at+jwt", "application/at+jwt"})
#: Claims that only an OpenID Connect ID token carries (OIDC Core §2, §3.1.3.6, §3.3.2.11).
ID_TOKEN_CLAIMS = ("nonce", "at_hash", "c_hash")
#: Claims an access token must carry (RFC 9068 §2.2; ``jti`` see the module docstring).
REQUIRED_CLAIMS = ("iss", "exp", "aud", "sub", "client_id", "iat")

#: Longer bearer strings are refused before any parsing.
MAX_TOKEN_CHARS = 16_384
#: A JWKS document larger than this is refused (a real one is a few kilobytes).
MAX_JWKS_BYTES = 1_048_576
#: Key types whose keys can verify each allowed algorithm.
_KTY_OF_ALG = {"RS": "RSA", "PS": "RSA", "ES": "EC", "Ed": "OKP"}


class SsoError(Exception):
    """A token is refused; the message says why (and never repeats the token)."""


class JwksUnavailable(SsoError):
    """The identity provider's keys could not be read at all (no earlier copy to fall back on):
    a service problem rather than a bad token — an API may answer 503 rather than 401."""


@dataclass(frozen=True)
class SsoIdentity:
    """Who a verified access token speaks for. The token itself is not kept."""

    subject: str
    name: str
    roles: frozenset[str]
    issuer: str
    expires_at: datetime
    claims: Mapping[str, Any] = field(hash=False, repr=False)


# -- the identity provider's keys -------------------------------------------------------------------


class JwksSource(ABC):
    """The identity provider's public keys, by ``kid``."""

    @abstractmethod
    def keys_for(self, kid: str) -> list[Mapping[str, Any]]:
        """The JWKs with this ``kid`` (usually one; empty when the provider has no such key).

        Raises ``JwksUnavailable`` when no key set could be read at all."""

    @staticmethod
    def from_url(url: str, **options: Any) -> UrlJwksSource:
        return UrlJwksSource(url, **options)

    @staticmethod
    def from_file(path: str | os.PathLike[str]) -> FileJwksSource:
        return FileJwksSource(path)


def parse_jwks(document: bytes | str, where: str) -> dict[str, list[Mapping[str, Any]]]:
    """A JWKS document (RFC 7517 §5) → its signing keys by ``kid``. Keys without a ``kid``, and
    keys marked for encryption only, are left out."""
    try:
        data = json.loads(document)
    except (ValueError, UnicodeDecodeError) as error:
        raise ValueError(f"{where} is not JSON ({error})") from None
    if not isinstance(data, dict) or not isinstance(data.get("keys"), list):
        raise ValueError(f'{where} is not a JWKS: expected a JSON object with a "keys" array')
    by_kid: dict[str, list[Mapping[str, Any]]] = {}
    for jwk in data["keys"]:
        if not isinstance(jwk, dict) or not isinstance(jwk.get("kid"), str) or not jwk["kid"]:
            continue
        if jwk.get("use", "sig") != "sig":
            continue
        ops = jwk.get("key_ops")
        if ops is not None and (not isinstance(ops, list) or "verify" not in ops):
            continue
        by_kid.setdefault(jwk["kid"], []).append(MappingProxyType(dict(jwk)))
    return by_kid


class UrlJwksSource(JwksSource):
    """The JWKS at the provider's ``jwks_uri``, fetched with a timeout and kept ``ttl_seconds``.

    An unknown ``kid`` (the provider rotated its keys) makes it fetch again — but never sooner
    than ``min_refetch_interval_seconds`` after the last attempt, so tokens with made-up ``kid``s
    cannot make noticeflow hammer the provider. If a fetch fails, the keys fetched before stay in
    use (logged as a warning); with none, verification fails with ``JwksUnavailable``.
    """

    def __init__(
        self,
        url: str,
        *,
        timeout_seconds: float = 5.0,
        ttl_seconds: float = 300.0,
        min_refetch_interval_seconds: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        _check_jwks_url(url)
        if min_refetch_interval_seconds < 0 or ttl_seconds < min_refetch_interval_seconds:
            raise ValueError("JWKS cache: need 0 <= min_refetch_interval_seconds <= ttl_seconds")
        self.url = url
        self.timeout_seconds = timeout_seconds
        self.ttl_seconds = ttl_seconds
        self.min_refetch_interval_seconds = min_refetch_interval_seconds
        self._clock = clock
        self._transport = transport
        self._lock = threading.Lock()
        self._keys: dict[str, list[Mapping[str, Any]]] | None = None
        self._fetched_at: float | None = None
        self._attempted_at: float | None = None
        self._last_error = ""
        #: Fetch attempts so far, successful or not (for tests and metrics).
        self.fetch_count = 0

    def keys_for(self, kid: str) -> list[Mapping[str, Any]]:
        with self._lock:
            now = self._clock()
            stale = self._fetched_at is None or now - self._fetched_at >= self.ttl_seconds
            if stale and self._may_attempt(now):
                self._refresh(now)
            if self._keys is None:
                raise JwksUnavailable(
                    f"the identity provider's keys could not be fetched from {self.url} ({self._last_error}); "
                    f"next attempt in at most {self.min_refetch_interval_seconds:g} s"
                )
            if kid not in self._keys and self._may_attempt(now):
                self._refresh(now)  # a new key: the provider may have rotated since we fetched
            return list(self._keys.get(kid, ()))

    def _may_attempt(self, now: float) -> bool:
        return self._attempted_at is None or now - self._attempted_at >= self.min_refetch_interval_seconds

    def _refresh(self, now: float) -> None:
        self._attempted_at = now
        self.fetch_count += 1
        try:
            self._keys = parse_jwks(self._fetch(), f"the JWKS at {self.url}")
            self._fetched_at = now
        except (httpx.HTTPError, ValueError) as error:
            self._last_error = str(error) or type(error).__name__
            log.warning(
                "sso.jwks_fetch_failed", url=self.url, error=str(error), keeping_previous_keys=self._keys is not None
            )

    def _fetch(self) -> bytes:
        headers = {"Accept": "application/jwk-set+json, application/json"}
        client = httpx.Client(timeout=self.timeout_seconds, transport=self._transport, follow_redirects=False)
        with client, client.stream("GET", self.url, headers=headers) as response:
            if response.status_code != 200:
                raise ValueError(f"the JWKS at {self.url} answered HTTP {response.status_code}")
            body = bytearray()
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) > MAX_JWKS_BYTES:
                    raise ValueError(f"the JWKS at {self.url} is larger than {MAX_JWKS_BYTES} bytes")
            return bytes(body)


def _check_jwks_url(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return
    if parts.scheme == "http" and parts.hostname:
        host = parts.hostname
        try:
            loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = False
        if loopback:
            return
    raise ValueError(
        f"sso_jwks_url {url!r}: the identity provider's keys must come over https (http only from loopback)"
    )


class FileJwksSource(JwksSource):
    """A JWKS file (for providers without a reachable ``jwks_uri``, or air-gapped sites), read
    again whenever its modification time or size changes. A file that cannot be read or parsed
    leaves the keys read before in use (and is tried again at the next token)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._keys: dict[str, list[Mapping[str, Any]]] | None = None
        self._stamp: tuple[int, int] | None = None
        #: Successful reads so far (for tests).
        self.load_count = 0

    def keys_for(self, kid: str) -> list[Mapping[str, Any]]:
        with self._lock:
            problem: str | None = None
            try:
                stat = self.path.stat()
                stamp = (stat.st_mtime_ns, stat.st_size)
                if stamp != self._stamp:
                    self._keys = parse_jwks(self.path.read_bytes(), f"the JWKS file {self.path}")
                    self._stamp = stamp
                    self.load_count += 1
            except (OSError, ValueError) as error:
                problem = str(error)
                log.warning("sso.jwks_file_unreadable", path=str(self.path), error=problem)
            if self._keys is None:
                raise JwksUnavailable(f"the identity provider's keys could not be read: {problem}")
            return list(self._keys.get(kid, ()))


# -- the verifier -------------------------------------------------------------------------------------


class SsoVerifier:
    """Verifies the identity provider's access tokens for this API (RFC 9068)."""

    def __init__(
        self,
        issuer: str,
        audience: str,
        jwks: JwksSource,
        roles_claim: str = "roles",
        name_claim: str = "preferred_username",
        role_map: Mapping[str, str] | None = None,
        leeway_seconds: int = 60,
        algorithms: Sequence[str] = DEFAULT_ALGORITHMS,
    ) -> None:
        if not issuer:
            raise ValueError("sso_issuer: the identity provider's issuer identifier is required")
        if not audience:
            raise ValueError("sso_audience: this API's audience (resource identifier) is required")
        if not roles_claim:
            raise ValueError("sso_roles_claim: name the claim that carries the caller's roles")
        if not name_claim:
            raise ValueError("sso_name_claim: name the claim that carries the caller's user name")
        if leeway_seconds < 0 or leeway_seconds > 300:
            raise ValueError("leeway_seconds: between 0 and 300 seconds of clock skew")
        refused = [alg for alg in algorithms if alg not in ASYMMETRIC_ALGORITHMS]
        if refused or not algorithms:
            raise ValueError(
                f"algorithms: {refused or 'none given'} not allowed — only asymmetric signature algorithms "
                f"({', '.join(sorted(ASYMMETRIC_ALGORITHMS))}); never 'none' or HS*"
            )
        unknown = {source: role for source, role in (role_map or {}).items() if role not in ROLES}
        if unknown:
            raise ValueError(
                f"sso_role_map: {unknown} maps to no noticeflow role; the roles are {', '.join(sorted(ROLES))}"
            )
        self.issuer = issuer
        self.audience = audience
        self.jwks = jwks
        self.roles_claim = roles_claim
        self.name_claim = name_claim
        self.role_map: Mapping[str, str] | None = MappingProxyType(dict(role_map)) if role_map else None
        self.leeway_seconds = leeway_seconds
        self.algorithms: tuple[str, ...] = tuple(algorithms)

    @classmethod
    def from_settings(cls, settings: Settings) -> SsoVerifier | None:
        """The verifier the settings describe, or None when single sign-on is not configured
        (``sso_issuer`` unset). A half-made configuration is a ``ValueError`` naming the setting."""
        issuer = (settings.sso_issuer or "").strip()
        url = (settings.sso_jwks_url or "").strip()
        path = settings.sso_jwks_file
        audience = (settings.sso_audience or "").strip()
        if not issuer:
            if audience or url or path:
                raise ValueError("NOTICEFLOW_SSO_ISSUER is required when any other NOTICEFLOW_SSO_* is set")
            return None
        if not audience:
            raise ValueError("NOTICEFLOW_SSO_AUDIENCE is required with NOTICEFLOW_SSO_ISSUER: this API's audience")
        if bool(url) == (path is not None):
            raise ValueError(
                "single sign-on needs exactly one of NOTICEFLOW_SSO_JWKS_URL (the provider's jwks_uri) "
                "or NOTICEFLOW_SSO_JWKS_FILE"
            )
        jwks: JwksSource = JwksSource.from_file(path) if path is not None else JwksSource.from_url(url)
        return cls(
            issuer=issuer,
            audience=audience,
            jwks=jwks,
            roles_claim=settings.sso_roles_claim,
            name_claim=settings.sso_name_claim,
            role_map=settings.sso_role_map or None,
        )

    def verify(self, token: str) -> SsoIdentity:
        """The identity of a valid access token; ``SsoError`` saying why otherwise."""
        if not isinstance(token, str) or not token:
            raise SsoError("no token")
        if len(token) > MAX_TOKEN_CHARS:
            raise SsoError(f"the token is longer than {MAX_TOKEN_CHARS} characters")
        dots = token.count(".")
        if dots == 4:
            raise SsoError("encrypted tokens (JWE) are not supported: the access token must be a signed JWT")
        if dots != 2:
            raise SsoError("the token is not a JWT (three base64url parts separated by dots)")
        try:
            header = jwt.get_unverified_header(token)
        except DecodeError:
            raise SsoError("the token's header is not base64url-encoded JSON") from None

        alg = header.get("alg")
        if alg not in self.algorithms:
            raise SsoError(
                f"algorithm {_shown(alg)} is not allowed (allowed: {', '.join(self.algorithms)}; never none or HS*)"
            )
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise SsoError("the token's header names no key id (kid)")
        key = self.key_for(kid, alg)

        try:
            claims = jwt.decode(
                token,
                key=key,
                algorithms=[alg],
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway_seconds,
                options={"require": list(REQUIRED_CLAIMS), "enforce_minimum_key_length": True},
            )
        except PyJWTError as error:
            raise self._refusal(error, token) from None

        expires_at = self._check_access_token(header, claims)
        return SsoIdentity(
            subject=claims["sub"],
            name=self.name_of(claims),
            roles=self.roles_of(claims),
            issuer=claims["iss"],
            expires_at=expires_at,
            claims=MappingProxyType(claims),
        )

    # -- steps ----------------------------------------------------------------------------------------

    def key_for(self, kid: str, alg: str) -> jwt.PyJWK:
        candidates = self.jwks.keys_for(kid)
        if not candidates:
            raise SsoError(f"unknown key id {_shown(kid)}: the identity provider's JWKS has no such signing key")
        kty = _KTY_OF_ALG[alg[:2]]
        usable = [jwk for jwk in candidates if jwk.get("kty") == kty and jwk.get("alg", alg) == alg]
        if not usable:
            raise SsoError(f"key {_shown(kid)} of the identity provider's JWKS is not a key for {alg}")
        try:
            return jwt.PyJWK(dict(usable[0]), algorithm=alg)
        except PyJWTError as error:
            raise SsoError(f"key {_shown(kid)} of the identity provider's JWKS cannot be used: {error}") from None

    def _refusal(self, error: PyJWTError, token: str) -> SsoError:
        if isinstance(error, ExpiredSignatureError):
            return SsoError(f"the token expired{_at(_unverified(token).get('exp'))} (leeway {self.leeway_seconds} s)")
        if isinstance(error, ImmatureSignatureError):
            which = "iat" if "(iat)" in str(error) else "nbf"
            return SsoError(f"the token is not yet valid ({which}{_at(_unverified(token).get(which))})")
        if isinstance(error, InvalidIssuerError):
            return SsoError(
                f"wrong issuer: the token was issued by {_shown(_unverified(token).get('iss'))}, "
                f"not by {self.issuer!r}"
            )
        if isinstance(error, InvalidAudienceError):
            return SsoError(f"wrong audience: the token is not meant for this API ({self.audience!r})")
        if isinstance(error, MissingRequiredClaimError):
            return SsoError(f"the token has no {error.claim!r} claim (required by RFC 9068 §2.2)")
        if isinstance(error, InvalidSignatureError):
            return SsoError("bad signature: the token was not signed by the identity provider's key it names")
        if isinstance(error, InvalidAlgorithmError):
            return SsoError(f"algorithm not allowed: {error}")
        if isinstance(error, InvalidKeyError):
            return SsoError(f"the identity provider's key is not acceptable: {error}")
        if isinstance(error, InvalidIssuedAtError | DecodeError | InvalidTokenError):
            return SsoError(f"the token is malformed: {error}")
        return SsoError(f"the token is refused: {type(error).__name__}")

    def _check_access_token(self, header: Mapping[str, Any], claims: Mapping[str, Any]) -> datetime:
        """RFC 9068's checks beyond PyJWT's; answers the expiry."""
        typ = header.get("typ")
        if not (isinstance(typ, str) and typ.lower() in ACCESS_TOKEN_TYPES):
            if (isinstance(typ, str) and typ.lower() in ("jwt", "application/jwt")) or any(
                name in claims for name in ID_TOKEN_CLAIMS
            ):
                raise SsoError(
                    "an ID token is not an access token: send the access token the identity provider issued "
                    "for this API (header typ at+jwt, RFC 9068 §2.1)"
                )
            raise SsoError(f"not an access token: header typ is {_shown(typ)}, RFC 9068 §2.1 requires 'at+jwt'")
        for name in ("exp", "iat", "nbf"):
            if name in claims and (isinstance(claims[name], bool) or not isinstance(claims[name], int | float)):
                raise SsoError(f"the token's {name!r} claim is not a number of seconds (RFC 7519 NumericDate)")
        for name in ("sub", "client_id"):
            if not isinstance(claims[name], str) or not claims[name]:
                raise SsoError(f"the token's {name!r} claim is not a non-empty string")
        try:
            return datetime.fromtimestamp(claims["exp"], tz=UTC)
        except (OverflowError, OSError, ValueError):
            raise SsoError("the token's 'exp' claim is not a representable time") from None

    def name_of(self, claims: Mapping[str, Any]) -> str:
        name = _claim_at(claims, self.name_claim)
        if isinstance(name, str) and name.strip() and len(name) <= 256 and name.isprintable():
            return name.strip()
        return str(claims["sub"])

    def roles_of(self, claims: Mapping[str, Any]) -> frozenset[str]:
        granted = _claim_at(claims, self.roles_claim)
        if granted is None:
            return frozenset()  # authenticated, allowed nothing: the API answers 403
        if isinstance(granted, str):
            values = granted.split()  # a space-separated list, as OAuth writes `scope`
        elif isinstance(granted, list) and all(isinstance(value, str) for value in granted):
            values = granted
        else:
            raise SsoError(f"the token's roles claim {self.roles_claim!r} must be a list of strings")
        if self.role_map is not None:
            values = [self.role_map[value] for value in values if value in self.role_map]
        return frozenset(value for value in values if value in ROLES)


def _claim_at(claims: Mapping[str, Any], path: str) -> Any:
    """The claim ``path`` names: a top-level claim of that exact name (namespaced claims such as
    ``https://acme.example/roles`` contain dots), else a dotted path into nested objects."""
    if path in claims:
        return claims[path]
    value: Any = claims
    for part in path.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


def _unverified(token: str) -> Mapping[str, Any]:
    """Claims of a token whose signature PyJWT has already checked (claims fail after the
    signature), read again only to word the refusal."""
    try:
        return jwt.decode(token, options={"verify_signature": False})
    except PyJWTError:
        return {}


def _at(value: Any) -> str:
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            return " at " + datetime.fromtimestamp(value, tz=UTC).isoformat().replace("+00:00", "Z")
        except (OverflowError, OSError, ValueError):
            return ""
    return ""


def _shown(value: Any) -> str:
    """A header or claim value from the token, quoted and cut short for a message."""
    text = repr(value)
    return text if len(text) <= 66 else text[:63] + "..."
