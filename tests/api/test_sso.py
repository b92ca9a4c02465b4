"""Single sign-on (api/sso.py): RFC 9068 access tokens verified against the identity provider's
JWKS — from a file, or served by a real HTTP server on loopback. Keys are generated here; nothing
leaves the machine."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import FrozenInstanceError
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm

from api.sso import (
    ROLES,
    FileJwksSource,
    JwksSource,
    JwksUnavailable,
    SsoError,
    SsoIdentity,
    SsoVerifier,
    UrlJwksSource,
)
from noticeflow.settings import Settings

ISSUER = "https://idp.cumberland.example/realms/noticeflow"
AUDIENCE = "https://noticeflow.cumberland.example/v1"


# -- keys, JWKS and tokens --------------------------------------------------------------------------


class Signer:
    """A private key of the identity provider and its public JWK."""

    def __init__(self, kid: str, alg: str, private_key: Any) -> None:
        self.kid, self.alg, self.private_key = kid, alg, private_key
        to_jwk = {"RS256": RSAAlgorithm, "ES256": ECAlgorithm, "EdDSA": OKPAlgorithm}[alg].to_jwk
        self.jwk = {**to_jwk(private_key.public_key(), as_dict=True), "kid": kid, "use": "sig", "alg": alg}

    def public_pem(self) -> bytes:
        return self.private_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def token(self, claims: dict[str, Any] | None = None, *, drop: tuple[str, ...] = (), **header: Any) -> str:
        now = int(time.time())
        payload = {
            "iss": ISSUER,
            "aud": [AUDIENCE, "https://other-api.example"],
            "sub": "f3b1c1d2-0001",
            "client_id": "noticeflow-dashboard",
            "iat": now,
            "exp": now + 300,
            "jti": "at-1",
            "preferred_username": "alice.reyes",
            "roles": ["responder", "examiner"],
        }
        payload.update(claims or {})
        for name in drop:
            payload.pop(name, None)
        headers = {"kid": self.kid, "typ": "at+jwt", **header}
        return jwt.encode(payload, self.private_key, algorithm=self.alg, headers=headers)


@pytest.fixture(scope="module")
def rsa_signer() -> Signer:
    return Signer("rsa-2026-01", "RS256", rsa.generate_private_key(public_exponent=65537, key_size=2048))


@pytest.fixture(scope="module")
def ec_signer() -> Signer:
    return Signer("ec-2026-01", "ES256", ec.generate_private_key(ec.SECP256R1()))


@pytest.fixture(scope="module")
def ed_signer() -> Signer:
    return Signer("ed-2026-01", "EdDSA", ed25519.Ed25519PrivateKey.generate())


@pytest.fixture(scope="module")
def signers(rsa_signer: Signer, ec_signer: Signer, ed_signer: Signer) -> dict[str, Signer]:
    return {"RS256": rsa_signer, "ES256": ec_signer, "EdDSA": ed_signer}


def write_jwks(path: Path, *signers: Signer) -> Path:
    path.write_text(json.dumps({"keys": [s.jwk for s in signers]}), encoding="utf-8")
    return path


@pytest.fixture
def jwks_file(tmp_path: Path, signers: dict[str, Signer]) -> Path:
    return write_jwks(tmp_path / "jwks.json", *signers.values())


def verifier(jwks: JwksSource, **options: Any) -> SsoVerifier:
    return SsoVerifier(issuer=ISSUER, audience=AUDIENCE, jwks=jwks, **options)


def refusal(sso: SsoVerifier, token: str) -> str:
    with pytest.raises(SsoError) as caught:
        sso.verify(token)
    message = str(caught.value)
    assert token not in message
    assert not any(part in message for part in token.split(".") if len(part) > 8)
    return message


def b64url(data: bytes | dict[str, Any]) -> str:
    raw = json.dumps(data).encode() if isinstance(data, dict) else data
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


# -- a real JWKS endpoint on loopback -------------------------------------------------------------------


class JwksServer:
    """``GET /jwks`` on 127.0.0.1, serving whatever ``document`` is now; counts requests."""

    def __init__(self) -> None:
        self.document: dict[str, Any] = {"keys": []}
        self.status = 200
        self.requests = 0
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                owner.requests += 1
                body = json.dumps(owner.document).encode()
                self.send_response(owner.status)
                self.send_header("Content-Type", "application/jwk-set+json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/jwks"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def publish(self, *signers: Signer) -> None:
        self.document = {"keys": [s.jwk for s in signers]}


@pytest.fixture
def jwks_server() -> Iterator[JwksServer]:
    server = JwksServer()
    server.thread.start()
    try:
        yield server
    finally:
        server.httpd.shutdown()
        server.httpd.server_close()
        server.thread.join(timeout=5)


class Clock:
    """Monotonic seconds that a test moves forward (the cache's clock, not the tokens')."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# -- a valid access token ----------------------------------------------------------------------------


@pytest.mark.parametrize("alg", ["RS256", "ES256", "EdDSA"])
def test_valid_access_token_gives_identity_with_mapped_roles_rfc9068_4(
    alg: str, signers: dict[str, Signer], jwks_file: Path
) -> None:
    sso = verifier(
        JwksSource.from_file(jwks_file),
        role_map={"IR-Team": "responder", "Legal": "counsel", "Auditors": "examiner"},
    )
    signer = signers[alg]
    token = signer.token({"roles": ["IR-Team", "Legal", "Marketing"], "exp": 4_102_444_800})

    identity = sso.verify(token)

    assert identity == SsoIdentity(
        subject="f3b1c1d2-0001",
        name="alice.reyes",
        roles=frozenset({"responder", "counsel"}),
        issuer=ISSUER,
        expires_at=datetime(2100, 1, 1, tzinfo=UTC),
        claims=identity.claims,
    )
    assert identity.claims["client_id"] == "noticeflow-dashboard"
    assert token not in repr(identity) and all(token != value for value in vars(identity).values())
    with pytest.raises(FrozenInstanceError):
        identity.roles = frozenset({"admin"})  # type: ignore[misc]
    with pytest.raises(TypeError):
        identity.claims["roles"] = ["admin"]  # type: ignore[index]


def test_name_falls_back_to_subject_without_the_name_claim(rsa_signer: Signer, jwks_file: Path) -> None:
    sso = verifier(JwksSource.from_file(jwks_file))
    assert sso.verify(rsa_signer.token(drop=("preferred_username",))).name == "f3b1c1d2-0001"
    assert verifier(JwksSource.from_file(jwks_file), name_claim="email").verify(
        rsa_signer.token({"email": "alice@cumberland.example"})
    ).name == "alice@cumberland.example"


def test_application_at_jwt_media_type_accepted_case_insensitively_rfc9068_2_1(
    ec_signer: Signer, jwks_file: Path
) -> None:
    sso = verifier(JwksSource.from_file(jwks_file))
    assert sso.verify(ec_signer.token(typ="application/AT+JWT")).subject == "f3b1c1d2-0001"


# -- time -----------------------------------------------------------------------------------------------


def test_expired_token_refused_beyond_leeway_rfc9068_4(rsa_signer: Signer, jwks_file: Path) -> None:
    sso = verifier(JwksSource.from_file(jwks_file), leeway_seconds=60)
    now = int(time.time())
    assert sso.verify(rsa_signer.token({"iat": now - 600, "exp": now - 30})).subject  # inside the leeway
    message = refusal(sso, rsa_signer.token({"iat": now - 600, "exp": now - 120}))
    assert "expired at " in message and "leeway 60 s" in message


def test_token_not_yet_valid_refused_nbf_rfc7519_4_1_5(rsa_signer: Signer, jwks_file: Path) -> None:
    sso = verifier(JwksSource.from_file(jwks_file), leeway_seconds=60)
    now = int(time.time())
    assert sso.verify(rsa_signer.token({"nbf": now + 30})).subject  # inside the leeway
    assert "not yet valid (nbf at " in refusal(sso, rsa_signer.token({"nbf": now + 600}))
    assert "not yet valid (iat" in refusal(sso, rsa_signer.token({"iat": now + 600}))


@pytest.mark.parametrize("claim", ["exp", "iat", "sub", "client_id", "iss", "aud"])
def test_token_without_a_required_claim_refused_rfc9068_2_2(claim: str, ed_signer: Signer, jwks_file: Path) -> None:
    sso = verifier(JwksSource.from_file(jwks_file))
    assert f"no '{claim}' claim" in refusal(sso, ed_signer.token(drop=(claim,)))


def test_numeric_date_given_as_a_string_refused_rfc7519_2(ed_signer: Signer, jwks_file: Path) -> None:
    sso = verifier(JwksSource.from_file(jwks_file))
    exp = str(int(time.time()) + 300)
    assert "'exp' claim is not a number" in refusal(sso, ed_signer.token({"exp": exp}))


# -- issuer, audience, token type ----------------------------------------------------------------------


def test_wrong_issuer_refused_exact_match_rfc9068_4(rsa_signer: Signer, jwks_file: Path) -> None:
    sso = verifier(JwksSource.from_file(jwks_file))
    assert "wrong issuer" in refusal(sso, rsa_signer.token({"iss": "https://evil.example/realms/noticeflow"}))
    assert "wrong issuer" in refusal(sso, rsa_signer.token({"iss": ISSUER + "/"}))


def test_wrong_audience_refused_rfc9068_4(rsa_signer: Signer, jwks_file: Path) -> None:
    sso = verifier(JwksSource.from_file(jwks_file))
    assert "wrong audience" in refusal(sso, rsa_signer.token({"aud": "https://other-api.example"}))
    assert "wrong audience" in refusal(sso, rsa_signer.token({"aud": ["noticeflow-dashboard"]}))
    assert sso.verify(rsa_signer.token({"aud": AUDIENCE})).subject  # a single string naming us is fine


def test_id_token_refused_as_not_an_access_token_rfc9068_2_1(rsa_signer: Signer, jwks_file: Path) -> None:
    sso = verifier(JwksSource.from_file(jwks_file))
    # What an OpenID provider signs for the same client: typ JWT, aud = the client, a nonce.
    assert "an ID token is not an access token" in refusal(sso, rsa_signer.token({"nonce": "n-0S6_WzA2Mj"}, typ="JWT"))
    assert "an ID token is not an access token" in refusal(sso, rsa_signer.token({"at_hash": "77QmUPtjPfzWtF2A"}, typ=None))
    assert "an ID token is not an access token" in refusal(sso, rsa_signer.token(typ="JWT"))
    assert "requires 'at+jwt'" in refusal(sso, rsa_signer.token(typ=None))
    assert "requires 'at+jwt'" in refusal(sso, rsa_signer.token(typ="dpop+jwt"))


# -- algorithms and signatures -------------------------------------------------------------------------


def test_alg_none_refused_rfc9068_4(rsa_signer: Signer, jwks_file: Path) -> None:
    sso = verifier(JwksSource.from_file(jwks_file))
    genuine = rsa_signer.token()
    payload = genuine.split(".")[1]
    for alg in ("none", "None", "NONE"):
        unsigned = f"{b64url({'alg': alg, 'typ': 'at+jwt', 'kid': rsa_signer.kid})}.{payload}."
        assert f"algorithm '{alg}' is not allowed" in refusal(sso, unsigned)


def test_hs256_signed_with_the_public_key_refused_rfc8725_3_1(rsa_signer: Signer, jwks_file: Path) -> None:
    """The classic key-confusion attack: the JWKS is public, so an attacker can HMAC with it."""
    sso = verifier(JwksSource.from_file(jwks_file))
    claims = json.loads(base64.urlsafe_b64decode(rsa_signer.token().split(".")[1] + "==="))
    claims["roles"] = ["admin"]
    for secret in (rsa_signer.public_pem(), json.dumps(rsa_signer.jwk).encode()):
        signing_input = f"{b64url({'alg': 'HS256', 'typ': 'at+jwt', 'kid': rsa_signer.kid})}.{b64url(claims)}"
        mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
        assert "algorithm 'HS256' is not allowed" in refusal(sso, f"{signing_input}.{b64url(mac)}")


def test_symmetric_or_none_algorithms_cannot_be_allowed() -> None:
    source = FileJwksSource("/nonexistent/jwks.json")
    for algorithms in (("HS256",), ("RS256", "none"), ()):
        with pytest.raises(ValueError, match="only asymmetric"):
            verifier(source, algorithms=algorithms)


def test_algorithm_outside_the_configured_allow_list_refused(ec_signer: Signer, jwks_file: Path) -> None:
    sso = verifier(JwksSource.from_file(jwks_file), algorithms=("RS256",))
    assert "algorithm 'ES256' is not allowed" in refusal(sso, ec_signer.token())


def test_key_of_another_type_than_the_algorithm_refused(rsa_signer: Signer, ec_signer: Signer, tmp_path: Path) -> None:
    # The JWK under the RSA kid is an EC key: an RS256 token naming it must not verify with it.
    impostor = dict(ec_signer.jwk, kid=rsa_signer.kid)
    (tmp_path / "jwks.json").write_text(json.dumps({"keys": [impostor]}), encoding="utf-8")
    sso = verifier(JwksSource.from_file(tmp_path / "jwks.json"))
    assert "is not a key for RS256" in refusal(sso, rsa_signer.token())


def test_tampered_payload_refused_bad_signature(rsa_signer: Signer, ed_signer: Signer, jwks_file: Path) -> None:
    sso = verifier(JwksSource.from_file(jwks_file))
    for signer in (rsa_signer, ed_signer):
        header, payload, signature = signer.token().split(".")
        claims = json.loads(base64.urlsafe_b64decode(payload + "==="))
        claims["roles"] = ["admin"]
        assert "bad signature" in refusal(sso, f"{header}.{b64url(claims)}.{signature}")


def test_token_signed_by_a_key_not_in_the_jwks_under_a_known_kid_refused(rsa_signer: Signer, jwks_file: Path) -> None:
    forger = Signer(rsa_signer.kid, "RS256", rsa.generate_private_key(public_exponent=65537, key_size=2048))
    assert "bad signature" in refusal(verifier(JwksSource.from_file(jwks_file)), forger.token())


@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")  # minting the weak token
def test_rsa_key_shorter_than_2048_bits_refused(tmp_path: Path) -> None:
    weak = Signer("rsa-weak", "RS256", rsa.generate_private_key(public_exponent=65537, key_size=1024))
    sso = verifier(JwksSource.from_file(write_jwks(tmp_path / "jwks.json", weak)))
    assert "not acceptable" in refusal(sso, weak.token())


def test_malformed_tokens_refused_with_a_reason(jwks_file: Path) -> None:
    sso = verifier(JwksSource.from_file(jwks_file))
    assert "not a JWT" in refusal(sso, "opaque-reference-token-7f3a91c2")
    assert "encrypted tokens (JWE)" in refusal(sso, "a.b.c.d.e")
    assert "header is not base64url-encoded JSON" in refusal(sso, "!!!.e30.sig")
    assert "longer than" in refusal(sso, "a." + "b" * 20_000 + ".c")
    assert "names no key id" in refusal(sso, f"{b64url({'alg': 'RS256', 'typ': 'at+jwt'})}.e30.c2ln")


# -- roles ------------------------------------------------------------------------------------------


def test_missing_roles_claim_gives_identity_without_roles(rsa_signer: Signer, jwks_file: Path) -> None:
    identity = verifier(JwksSource.from_file(jwks_file)).verify(rsa_signer.token(drop=("roles",)))
    assert identity.roles == frozenset() and identity.subject == "f3b1c1d2-0001"


def test_roles_outside_noticeflow_roles_ignored_without_a_role_map(rsa_signer: Signer, jwks_file: Path) -> None:
    sso = verifier(JwksSource.from_file(jwks_file))
    identity = sso.verify(rsa_signer.token({"roles": ["examiner", "superuser", "Admin", "offline_access"]}))
    assert identity.roles == frozenset({"examiner"})
    assert sso.verify(rsa_signer.token({"roles": "intake privacy"})).roles == frozenset({"intake", "privacy"})


def test_dotted_roles_claim_reads_nested_claims(rsa_signer: Signer, jwks_file: Path) -> None:
    sso = verifier(JwksSource.from_file(jwks_file), roles_claim="realm_access.roles")
    token = rsa_signer.token({"realm_access": {"roles": ["counsel", "uma_authorization"]}, "roles": ["admin"]})
    assert sso.verify(token).roles == frozenset({"counsel"})
    assert sso.verify(rsa_signer.token({"realm_access": {}})).roles == frozenset()
    # A namespaced claim whose name has dots is read as it is named.
    namespaced = verifier(JwksSource.from_file(jwks_file), roles_claim="https://noticeflow.example/roles")
    assert namespaced.verify(rsa_signer.token({"https://noticeflow.example/roles": ["admin"]})).roles == {"admin"}


def test_role_map_translates_groups_and_ignores_the_rest(ec_signer: Signer, jwks_file: Path) -> None:
    sso = verifier(
        JwksSource.from_file(jwks_file),
        roles_claim="groups",
        role_map={"/cyber/ir": "responder", "/cyber/intake": "intake", "/legal": "counsel"},
    )
    token = ec_signer.token({"groups": ["/cyber/ir", "/cyber/intake", "/hr"], "roles": ["admin"]})
    assert sso.verify(token).roles == frozenset({"responder", "intake"})
    # With a map, a provider value that happens to be a noticeflow role name grants nothing by itself.
    assert sso.verify(ec_signer.token({"groups": ["admin"]})).roles == frozenset()


def test_role_map_to_an_unknown_role_is_a_configuration_error(jwks_file: Path) -> None:
    with pytest.raises(ValueError, match="sso_role_map.*superuser"):
        verifier(JwksSource.from_file(jwks_file), role_map={"ops": "superuser"})


def test_roles_claim_of_the_wrong_shape_refused(rsa_signer: Signer, jwks_file: Path) -> None:
    sso = verifier(JwksSource.from_file(jwks_file))
    assert "must be a list of strings" in refusal(sso, rsa_signer.token({"roles": {"admin": True}}))
    assert "must be a list of strings" in refusal(sso, rsa_signer.token({"roles": ["admin", 7]}))


def test_every_noticeflow_role_can_come_from_the_identity_provider(rsa_signer: Signer, jwks_file: Path) -> None:
    assert ROLES == {"intake", "responder", "counsel", "privacy", "examiner", "admin"}
    sso = verifier(JwksSource.from_file(jwks_file))
    assert sso.verify(rsa_signer.token({"roles": sorted(ROLES)})).roles == ROLES


# -- the JWKS from a URL ---------------------------------------------------------------------------------


def test_jwks_fetched_from_url_and_cached(jwks_server: JwksServer, rsa_signer: Signer, ec_signer: Signer) -> None:
    jwks_server.publish(rsa_signer, ec_signer)
    clock = Clock()
    source = UrlJwksSource(jwks_server.url, ttl_seconds=300, min_refetch_interval_seconds=30, clock=clock)
    sso = verifier(source)
    for _ in range(3):
        assert sso.verify(rsa_signer.token()).subject
        assert sso.verify(ec_signer.token()).subject
    assert jwks_server.requests == 1

    clock.now += 301  # past the TTL: fetched again
    assert sso.verify(rsa_signer.token()).subject
    assert jwks_server.requests == 2


def test_unknown_kid_refetches_once_then_refused(jwks_server: JwksServer, rsa_signer: Signer) -> None:
    jwks_server.publish(rsa_signer)
    clock = Clock()
    sso = verifier(UrlJwksSource(jwks_server.url, min_refetch_interval_seconds=30, clock=clock))
    assert sso.verify(rsa_signer.token()).subject
    clock.now += 31
    stranger = Signer("rsa-unknown", "RS256", rsa_signer.private_key)

    assert "unknown key id 'rsa-unknown'" in refusal(sso, stranger.token())
    assert jwks_server.requests == 2  # the first fetch, and one refetch for the unknown kid


def test_key_rotation_accepted_after_refetch(jwks_server: JwksServer, rsa_signer: Signer, ed_signer: Signer) -> None:
    jwks_server.publish(rsa_signer)
    clock = Clock()
    sso = verifier(UrlJwksSource(jwks_server.url, ttl_seconds=3600, min_refetch_interval_seconds=30, clock=clock))
    assert sso.verify(rsa_signer.token()).subject
    clock.now += 45

    jwks_server.publish(rsa_signer, ed_signer)  # the provider rotates in a new key
    assert sso.verify(ed_signer.token()).subject
    assert jwks_server.requests == 2
    assert sso.verify(rsa_signer.token()).subject  # the old key still works while published
    assert jwks_server.requests == 2


def test_refetch_for_unknown_kids_is_rate_limited(jwks_server: JwksServer, rsa_signer: Signer) -> None:
    jwks_server.publish(rsa_signer)
    clock = Clock()
    sso = verifier(UrlJwksSource(jwks_server.url, min_refetch_interval_seconds=30, clock=clock))
    assert sso.verify(rsa_signer.token()).subject
    assert jwks_server.requests == 1

    # An attacker's tokens with random kids, one after another: no request reaches the provider.
    for n in range(25):
        clock.now += 1
        assert "unknown key id" in refusal(sso, Signer(f"random-{n}", "RS256", rsa_signer.private_key).token())
    assert jwks_server.requests == 1

    clock.now += 5  # 30 s since the last fetch: one more is allowed, then quiet again
    for n in range(5):
        refusal(sso, Signer(f"again-{n}", "RS256", rsa_signer.private_key).token())
    assert jwks_server.requests == 2


def test_provider_outage_keeps_the_keys_fetched_before(jwks_server: JwksServer, rsa_signer: Signer) -> None:
    jwks_server.publish(rsa_signer)
    clock = Clock()
    sso = verifier(UrlJwksSource(jwks_server.url, ttl_seconds=60, min_refetch_interval_seconds=10, clock=clock))
    assert sso.verify(rsa_signer.token()).subject

    jwks_server.status = 503
    clock.now += 61
    assert sso.verify(rsa_signer.token()).subject
    assert jwks_server.requests == 2


def test_jwks_unreachable_from_the_start_is_jwks_unavailable(jwks_server: JwksServer, rsa_signer: Signer) -> None:
    jwks_server.status = 500
    clock = Clock()
    sso = verifier(UrlJwksSource(jwks_server.url, min_refetch_interval_seconds=30, clock=clock))
    for _ in range(3):
        with pytest.raises(JwksUnavailable, match="could not be fetched .*HTTP 500"):
            sso.verify(rsa_signer.token())
    assert jwks_server.requests == 1  # failed attempts are rate-limited too

    jwks_server.status = 200
    jwks_server.publish(rsa_signer)
    clock.now += 30
    assert sso.verify(rsa_signer.token()).subject


def test_oversized_jwks_document_refused(jwks_server: JwksServer, rsa_signer: Signer) -> None:
    jwks_server.publish(rsa_signer)
    jwks_server.document["padding"] = "x" * 2_000_000
    with pytest.raises(JwksUnavailable, match="larger than 1048576 bytes"):
        verifier(UrlJwksSource(jwks_server.url)).verify(rsa_signer.token())


def test_jwks_url_must_be_https_except_on_loopback() -> None:
    with pytest.raises(ValueError, match="https"):
        UrlJwksSource("http://idp.cumberland.example/jwks")
    UrlJwksSource("https://idp.cumberland.example/jwks")
    UrlJwksSource("http://localhost:8080/jwks")


# -- the JWKS from a file ---------------------------------------------------------------------------------


def test_jwks_file_reloaded_when_it_changes(tmp_path: Path, rsa_signer: Signer, ed_signer: Signer) -> None:
    path = write_jwks(tmp_path / "jwks.json", rsa_signer)
    source = FileJwksSource(path)
    sso = verifier(source)
    assert sso.verify(rsa_signer.token()).subject
    assert "unknown key id" in refusal(sso, ed_signer.token())
    assert source.load_count == 1

    write_jwks(path, ed_signer)
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert sso.verify(ed_signer.token()).subject
    assert "unknown key id" in refusal(sso, rsa_signer.token())  # removed from the file: no longer trusted
    assert source.load_count == 2


def test_broken_jwks_file_keeps_the_keys_read_before(tmp_path: Path, rsa_signer: Signer) -> None:
    path = write_jwks(tmp_path / "jwks.json", rsa_signer)
    sso = verifier(FileJwksSource(path))
    assert sso.verify(rsa_signer.token()).subject
    path.write_text('{"keys": [', encoding="utf-8")
    assert sso.verify(rsa_signer.token()).subject

    with pytest.raises(JwksUnavailable, match="not a JWKS"):
        (tmp_path / "empty.json").write_text("{}", encoding="utf-8")
        verifier(FileJwksSource(tmp_path / "empty.json")).verify(rsa_signer.token())
    with pytest.raises(JwksUnavailable, match="could not be read"):
        verifier(FileJwksSource(tmp_path / "missing.json")).verify(rsa_signer.token())


def test_encryption_keys_in_the_jwks_are_not_used_for_signatures(tmp_path: Path, rsa_signer: Signer) -> None:
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps({"keys": [dict(rsa_signer.jwk, use="enc")]}), encoding="utf-8")
    assert "unknown key id" in refusal(verifier(FileJwksSource(path)), rsa_signer.token())


# -- settings -------------------------------------------------------------------------------------------


def test_from_settings_none_when_sso_not_configured(tmp_path: Path) -> None:
    assert SsoVerifier.from_settings(Settings(home=tmp_path)) is None


def test_from_settings_builds_a_verifier_from_environment(
    tmp_path: Path, jwks_file: Path, ec_signer: Signer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NOTICEFLOW_SSO_ISSUER", ISSUER)
    monkeypatch.setenv("NOTICEFLOW_SSO_AUDIENCE", AUDIENCE)
    monkeypatch.setenv("NOTICEFLOW_SSO_JWKS_FILE", str(jwks_file))
    monkeypatch.setenv("NOTICEFLOW_SSO_ROLES_CLAIM", "realm_access.roles")
    monkeypatch.setenv("NOTICEFLOW_SSO_NAME_CLAIM", "email")
    monkeypatch.setenv("NOTICEFLOW_SSO_ROLE_MAP", '{"nf-responders": "responder", "nf-examiners": "examiner"}')
    sso = SsoVerifier.from_settings(Settings(home=tmp_path))

    assert sso is not None
    identity = sso.verify(
        ec_signer.token({"realm_access": {"roles": ["nf-examiners"]}, "email": "eve@cumberland.example"})
    )
    assert (identity.name, identity.roles) == ("eve@cumberland.example", frozenset({"examiner"}))


def test_from_settings_with_jwks_url(tmp_path: Path, jwks_server: JwksServer, rsa_signer: Signer) -> None:
    jwks_server.publish(rsa_signer)
    settings = Settings(home=tmp_path, sso_issuer=ISSUER, sso_audience=AUDIENCE, sso_jwks_url=jwks_server.url)
    sso = SsoVerifier.from_settings(settings)
    assert sso is not None and isinstance(sso.jwks, UrlJwksSource)
    assert sso.verify(rsa_signer.token()).roles == frozenset({"responder", "examiner"})


@pytest.mark.parametrize(
    ("settings", "named"),
    [
        ({"sso_issuer": ISSUER, "sso_jwks_file": "jwks.json"}, "NOTICEFLOW_SSO_AUDIENCE"),
        ({"sso_issuer": ISSUER, "sso_audience": AUDIENCE}, "NOTICEFLOW_SSO_JWKS_URL"),
        (
            {"sso_issuer": ISSUER, "sso_audience": AUDIENCE, "sso_jwks_file": "j.json", "sso_jwks_url": "https://x/j"},
            "exactly one",
        ),
        ({"sso_audience": AUDIENCE}, "NOTICEFLOW_SSO_ISSUER"),
        (
            {"sso_issuer": ISSUER, "sso_audience": AUDIENCE, "sso_jwks_file": "j.json", "sso_role_map": {"a": "root"}},
            "sso_role_map",
        ),
    ],
)
def test_from_settings_half_configured_names_the_setting(tmp_path: Path, settings: dict[str, Any], named: str) -> None:
    with pytest.raises(ValueError, match=named):
        SsoVerifier.from_settings(Settings(home=tmp_path, **settings))
