"""The codec server (issue 11): Temporal's remote codec protocol and CORS for the UI, behind the
incident API's own authentication — named API keys from the ``api_keys`` table and single sign-on
access tokens — with decoding for the roles ``responder`` and ``privacy`` only; and the embedded
dev stack's tokenless path for its UI, from loopback and the UI's origin only.

The real codec server app over ASGI, real API keys (peppered, ledgered) in SQLite, access tokens
signed by a locally generated key against a JWKS file."""

from __future__ import annotations

import base64
import time
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi.testclient import TestClient
from temporalio.api.common.v1 import Payload

from activities import db
from api.access import Role
from api.apikeys import ApiKeyStore, create_api_key, load_pepper, revoke_api_keys
from api.codec_server import CODEC_ROLES, DEV_UI_ACTOR, create_app
from ledger.keys import generate_key as generate_ledger_key
from ledger.keys import load_signer
from ledger.store import Ledger
from noticeflow.codec import ENCODING, CodecKeyring, EncryptionCodec, generate_key
from noticeflow.settings import Settings
from tests.api.test_sso import AUDIENCE, ISSUER, Signer, write_jwks

UI_PORT = 8233
UI_ORIGIN = f"http://localhost:{UI_PORT}"
DEV_ORIGINS = [f"http://127.0.0.1:{UI_PORT}", UI_ORIGIN]
CODEC_BASE = "http://127.0.0.1:8081"
LOOPBACK_CLIENT = ("127.0.0.1", 50123)
SSN = "078-05-1120"
SECRET_PAYLOAD = b'{"ssn":"078-05-1120","name":"Cordelia Npi-Marker"}'


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _json_payload(data: bytes) -> dict[str, object]:
    return {"metadata": {"encoding": _b64(b"json/plain")}, "data": _b64(data)}


def _encrypted_body(codec: EncryptionCodec, data: bytes = SECRET_PAYLOAD) -> dict[str, object]:
    sealed = codec.encrypt(Payload(metadata={"encoding": b"json/plain"}, data=data))
    return {"payloads": [{"metadata": {k: _b64(v) for k, v in sealed.metadata.items()}, "data": _b64(sealed.data)}]}


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def codec() -> EncryptionCodec:
    return EncryptionCodec(CodecKeyring((generate_key(),)))


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        home=tmp_path / "home", db_url=f"sqlite:///{tmp_path / 'ledger.db'}", log_json=False,
        temporal_ui_port=UI_PORT, api_auth_failure_limit=3, api_auth_failure_window_seconds=60,
    )
    generate_ledger_key(settings.resolved_key_path())
    return settings


class Keys:
    """API keys created as ``noticeflow apikey create`` does (ledgered, peppered) in the settings' database."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def _open(self) -> tuple[ApiKeyStore, Ledger]:
        url = self.settings.resolved_db_url()
        ledger = Ledger.open(url, load_signer(self.settings.resolved_key_path()))
        return ApiKeyStore(db.open_engine(url), load_pepper(self.settings)), ledger

    def issue(self, name: str, roles: Iterable[Role], **options: object) -> str:
        store, ledger = self._open()
        try:
            _, token = create_api_key(store, ledger, name=name, roles=roles, actor="user:test-operator", **options)  # type: ignore[arg-type]
        finally:
            ledger.close()
            store.engine.dispose()
        return token

    def revoke(self, name: str) -> None:
        store, ledger = self._open()
        try:
            revoke_api_keys(store, ledger, name, actor="user:test-operator")
        finally:
            ledger.close()
            store.engine.dispose()


@pytest.fixture
def keys(settings: Settings) -> Keys:
    return Keys(settings)


@pytest.fixture
def responder(keys: Keys) -> str:
    return keys.issue("c.hale", {Role.RESPONDER})


@pytest.fixture
def http(settings: Settings, codec: EncryptionCodec) -> TestClient:
    """The production codec server (no dev path), called from another machine."""
    return TestClient(create_app(settings, codec=codec), base_url=CODEC_BASE, client=("10.20.30.40", 50000))


def _plaintext(response_json: dict[str, object]) -> bytes:
    [payload] = response_json["payloads"]  # type: ignore[misc]
    assert base64.b64decode(payload["metadata"]["encoding"]) == b"json/plain"
    return base64.b64decode(payload["data"])


# -- who may decode --------------------------------------------------------------------------------------


def test_decoding_is_for_the_responder_and_privacy_roles_only() -> None:
    assert CODEC_ROLES == {Role.RESPONDER, Role.PRIVACY}


@pytest.mark.parametrize("role", [Role.RESPONDER, Role.PRIVACY])
def test_a_responder_or_privacy_key_decodes_a_payload_the_real_codec_encrypted(
    http: TestClient, codec: EncryptionCodec, keys: Keys, role: Role
) -> None:
    token = keys.issue(f"only-{role.value}", {role})
    response = http.post("/decode", json=_encrypted_body(codec), headers=_auth(token))
    assert response.status_code == 200, response.text
    assert _plaintext(response.json()) == SECRET_PAYLOAD


@pytest.mark.parametrize("path", ["/decode", "/encode", "/default/decode"])
def test_no_token_is_401_with_bearer_challenge_and_reveals_nothing(http: TestClient, codec: EncryptionCodec, path: str) -> None:
    response = http.post(path, json=_encrypted_body(codec))
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert "apikey create" in response.json()["detail"]
    assert SSN not in response.text


@pytest.mark.parametrize("header", ["Basic dXNlcjpwYXNz", "Bearer", "Bearer    ", "nfk_0000000000000000_x"])
def test_malformed_authorization_header_is_401(http: TestClient, codec: EncryptionCodec, header: str) -> None:
    assert http.post("/decode", json=_encrypted_body(codec), headers={"Authorization": header}).status_code == 401


@pytest.mark.parametrize("role", [Role.EXAMINER, Role.ADMIN, Role.INTAKE, Role.COUNSEL])
@pytest.mark.parametrize("path", ["/decode", "/encode"])
def test_a_key_without_a_codec_role_is_403_and_nothing_is_decoded(
    http: TestClient, codec: EncryptionCodec, keys: Keys, role: Role, path: str
) -> None:
    token = keys.issue(f"only-{role.value}", {role})
    response = http.post(path, json=_encrypted_body(codec), headers=_auth(token))
    assert response.status_code == 403
    detail = response.json()["detail"]
    assert f"key:only-{role.value} holds {role.value}" in detail and "responder, privacy" in detail
    assert "Nothing was" in detail
    assert SSN not in response.text and "payloads" not in response.json()


def test_a_forged_revoked_or_expired_key_is_401(http: TestClient, codec: EncryptionCodec, keys: Keys, responder: str) -> None:
    body = _encrypted_body(codec)
    assert http.post("/decode", json=body, headers=_auth(responder)).status_code == 200
    forged = responder[:-4] + ("AAAA" if not responder.endswith("AAAA") else "BBBB")
    assert http.post("/decode", json=body, headers=_auth(forged)).status_code == 401
    keys.revoke("c.hale")
    revoked = http.post("/decode", json=body, headers=_auth(responder))
    assert revoked.status_code == 401
    assert "was revoked" in revoked.json()["detail"] and SSN not in revoked.text
    expired = keys.issue("short-lived", {Role.RESPONDER}, expires_in=timedelta(seconds=1),
                         now=datetime.now(UTC) - timedelta(minutes=5))
    refused = http.post("/decode", json=body, headers=_auth(expired))
    assert refused.status_code == 401 and "expired" in refused.json()["detail"]


def test_repeated_failed_authentication_from_one_address_is_429_with_retry_after(
    http: TestClient, codec: EncryptionCodec, responder: str
) -> None:
    for _ in range(3):  # api_auth_failure_limit
        assert http.post("/decode", json=_encrypted_body(codec), headers=_auth("nfk_bad")).status_code == 401
    held = http.post("/decode", json=_encrypted_body(codec), headers=_auth(responder))
    assert held.status_code == 429
    assert int(held.headers["retry-after"]) >= 1


def test_a_single_sign_on_access_token_with_a_codec_role_decodes_and_others_are_refused(
    settings: Settings, codec: EncryptionCodec, tmp_path: Path
) -> None:
    signer = Signer("idp-2026-01", "ES256", ec.generate_private_key(ec.SECP256R1()))
    sso = settings.model_copy(update={
        "sso_issuer": ISSUER, "sso_audience": AUDIENCE, "sso_jwks_file": write_jwks(tmp_path / "jwks.json", signer),
    })
    http = TestClient(create_app(sso, codec=codec), base_url=CODEC_BASE, client=("10.20.30.40", 50000))
    body = _encrypted_body(codec)
    privacy = signer.token({"preferred_username": "dana.whitfield", "roles": ["privacy"]})
    decoded = http.post("/decode", json=body, headers=_auth(privacy))
    assert decoded.status_code == 200, decoded.text
    assert _plaintext(decoded.json()) == SECRET_PAYLOAD
    examiner = http.post("/decode", json=body, headers=_auth(signer.token({"roles": ["examiner"]})))
    assert examiner.status_code == 403 and "user:alice.reyes holds examiner" in examiner.json()["detail"]
    expired = http.post("/decode", json=body, headers=_auth(signer.token({"exp": int(time.time()) - 3600})))
    assert expired.status_code == 401
    id_token = http.post("/decode", json=body, headers=_auth(signer.token(typ="JWT")))
    assert id_token.status_code == 401 and "ID token" in id_token.json()["detail"]


def test_encode_then_decode_round_trips(http: TestClient, keys: Keys, responder: str) -> None:
    privacy = keys.issue("p.okafor", {Role.PRIVACY})
    body = {"payloads": [_json_payload(b'"a"'), _json_payload(SSN.encode())]}
    encoded = http.post("/encode", json=body, headers=_auth(responder))
    assert encoded.status_code == 200
    for payload in encoded.json()["payloads"]:
        assert base64.b64decode(payload["metadata"]["encoding"]) == ENCODING
        assert SSN.encode() not in base64.b64decode(payload["data"])
    decoded = http.post("/decode", json=encoded.json(), headers=_auth(privacy))
    assert decoded.json() == body


@pytest.mark.parametrize("path", ["/default/decode", "/tenants/acme/decode"])
def test_endpoints_answer_under_any_prefix_such_as_the_namespace(
    http: TestClient, codec: EncryptionCodec, responder: str, path: str
) -> None:
    response = http.post(path, json=_encrypted_body(codec), headers={**_auth(responder), "X-Namespace": "default"})
    assert response.status_code == 200


def test_each_decode_is_logged_with_the_callers_actor_and_namespace_never_the_token(
    http: TestClient, codec: EncryptionCodec, keys: Keys, responder: str, capsys: pytest.CaptureFixture[str]
) -> None:
    examiner = keys.issue("e.marsh", {Role.EXAMINER})
    capsys.readouterr()
    http.post("/decode", json=_encrypted_body(codec), headers={**_auth(responder), "X-Namespace": "claims-prod"})
    http.post("/decode", json=_encrypted_body(codec), headers={**_auth(examiner), "X-Namespace": "claims-prod"})
    captured = capsys.readouterr()
    logged = captured.out + captured.err
    decode_line = next(line for line in logged.splitlines() if "codec_server_decode" in line)
    assert "key:c.hale" in decode_line and "claims-prod" in decode_line
    refusal = next(line for line in logged.splitlines() if "codec_server_role_refused" in line)
    assert "key:e.marsh" in refusal
    assert responder not in logged and responder.split("_", 2)[2] not in logged and examiner not in logged
    assert SSN not in logged


def test_the_retired_token_variable_is_ignored_and_said_so(
    settings: Settings, codec: EncryptionCodec, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("NOTICEFLOW_CODEC_SERVER_TOKENS", '["old-shared-token"]')
    capsys.readouterr()
    http = TestClient(create_app(settings, codec=codec), base_url=CODEC_BASE)
    captured = capsys.readouterr()
    assert "codec_server_tokens_ignored" in captured.out + captured.err
    assert "codec_server_tokens" not in Settings.model_fields
    assert http.post("/decode", json=_encrypted_body(codec), headers=_auth("old-shared-token")).status_code == 401


# -- the embedded dev stack's UI ------------------------------------------------------------------------


def _dev_client(settings: Settings, codec: EncryptionCodec, client: tuple[str, int] = LOOPBACK_CLIENT,
                base_url: str = CODEC_BASE) -> TestClient:
    app = create_app(settings, codec=codec, cors_origins=DEV_ORIGINS, dev_ui_origins=DEV_ORIGINS)
    return TestClient(app, base_url=base_url, client=client)


@pytest.mark.parametrize("origin", DEV_ORIGINS)
def test_dev_stack_ui_decodes_without_a_token_from_loopback_with_its_origin(
    settings: Settings, codec: EncryptionCodec, origin: str, capsys: pytest.CaptureFixture[str]
) -> None:
    http = _dev_client(settings, codec)
    response = http.post("/default/decode", json=_encrypted_body(codec), headers={"Origin": origin, "X-Namespace": "default"})
    assert response.status_code == 200, response.text
    assert _plaintext(response.json()) == SECRET_PAYLOAD
    assert response.headers["access-control-allow-origin"] == origin
    captured = capsys.readouterr()
    assert DEV_UI_ACTOR in next(line for line in (captured.out + captured.err).splitlines() if "codec_server_decode" in line)


@pytest.mark.parametrize(
    ("client", "headers", "base_url"),
    [
        pytest.param(("10.20.30.40", 50000), {"Origin": UI_ORIGIN}, CODEC_BASE, id="not-a-loopback-client"),
        pytest.param(("192.168.1.7", 50000), {"Origin": UI_ORIGIN}, "http://localhost:8081", id="lan-client-loopback-host"),
        pytest.param(LOOPBACK_CLIENT, {}, CODEC_BASE, id="no-origin"),
        pytest.param(LOOPBACK_CLIENT, {"Origin": "http://localhost:3000"}, CODEC_BASE, id="another-local-page"),
        pytest.param(LOOPBACK_CLIENT, {"Origin": "https://evil.example"}, CODEC_BASE, id="a-web-page"),
        pytest.param(LOOPBACK_CLIENT, {"Origin": UI_ORIGIN}, "http://rebound.evil.example:8081", id="dns-rebinding-host"),
        pytest.param(LOOPBACK_CLIENT, {"Origin": UI_ORIGIN, "Authorization": "Bearer nfk_not-a-key"}, CODEC_BASE,
                     id="a-bad-token-is-not-waved-through"),
    ],
)
def test_dev_stack_path_decodes_nothing_for_any_other_caller(
    settings: Settings, codec: EncryptionCodec, client: tuple[str, int], headers: dict[str, str], base_url: str
) -> None:
    http = _dev_client(settings, codec, client=client, base_url=base_url)
    response = http.post("/decode", json=_encrypted_body(codec), headers=headers)
    assert response.status_code == 401
    assert SSN not in response.text


def test_dev_stack_path_still_takes_keys_and_their_roles(settings: Settings, codec: EncryptionCodec, keys: Keys) -> None:
    http = _dev_client(settings, codec, client=("10.20.30.40", 50000))
    examiner = keys.issue("e.marsh", {Role.EXAMINER})
    responder = keys.issue("c.hale", {Role.RESPONDER})
    assert http.post("/decode", json=_encrypted_body(codec), headers=_auth(responder)).status_code == 200
    from_ui = {**_auth(examiner), "Origin": UI_ORIGIN}
    assert _dev_client(settings, codec).post("/decode", json=_encrypted_body(codec), headers=from_ui).status_code == 403


def test_without_the_dev_flag_the_ui_origin_from_loopback_is_not_enough(settings: Settings, codec: EncryptionCodec) -> None:
    http = TestClient(create_app(settings, codec=codec), base_url=CODEC_BASE, client=LOOPBACK_CLIENT)
    response = http.post("/decode", json=_encrypted_body(codec), headers={"Origin": UI_ORIGIN})
    assert response.status_code == 401


@pytest.mark.parametrize("origin", ["https://temporal.licensee.example", "http://10.0.0.5:8233", "http://localhost:8233/ui"])
def test_the_dev_flag_takes_loopback_ui_origins_only(settings: Settings, codec: EncryptionCodec, origin: str) -> None:
    with pytest.raises(ValueError, match="dev_ui_origins"):
        create_app(settings, codec=codec, dev_ui_origins=[origin])


# -- the protocol --------------------------------------------------------------------------------------


def test_payload_under_an_unknown_key_is_400_naming_the_key(http: TestClient, responder: str) -> None:
    other = EncryptionCodec(CodecKeyring((generate_key(),)))
    response = http.post("/decode", json=_encrypted_body(other), headers=_auth(responder))
    assert response.status_code == 400
    assert other.key_id in response.json()["detail"]


def test_tampered_payload_is_400(http: TestClient, codec: EncryptionCodec, responder: str) -> None:
    body = _encrypted_body(codec)
    payload = body["payloads"][0]  # type: ignore[index]
    data = bytearray(base64.b64decode(payload["data"]))
    data[-1] ^= 1
    payload["data"] = _b64(bytes(data))
    response = http.post("/decode", json=body, headers=_auth(responder))
    assert response.status_code == 400
    assert "failed authentication" in response.json()["detail"]


@pytest.mark.parametrize("body", [b"not json", b'{"payloads": "nope"}', b'{"payloads": [{"data": 5}]}'])
def test_body_that_is_not_payloads_json_is_400(http: TestClient, responder: str, body: bytes) -> None:
    response = http.post("/decode", content=body, headers={**_auth(responder), "Content-Type": "application/json"})
    assert response.status_code == 400


def test_only_post_is_served(http: TestClient, responder: str) -> None:
    assert http.get("/decode", headers=_auth(responder)).status_code == 405


def test_cors_preflight_from_the_ui_allows_the_token_and_namespace_headers(http: TestClient) -> None:
    response = http.options(
        "/decode",
        headers={
            "Origin": UI_ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type,x-namespace",
        },
    )
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == UI_ORIGIN
    assert response.headers["access-control-allow-credentials"] == "true"
    allowed = {h.strip().lower() for h in response.headers["access-control-allow-headers"].split(",")}
    assert {"authorization", "content-type", "x-namespace"} <= allowed


def test_cors_refuses_other_origins(http: TestClient, codec: EncryptionCodec, responder: str) -> None:
    preflight = http.options(
        "/decode", headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"}
    )
    assert preflight.status_code == 400
    response = http.post("/decode", json=_encrypted_body(codec), headers={**_auth(responder), "Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in response.headers


def test_configured_cors_origins_replace_the_dev_ui_default(settings: Settings, codec: EncryptionCodec) -> None:
    http = TestClient(create_app(settings, codec=codec, cors_origins=["https://temporal.licensee.example"]))
    ok = http.options(
        "/decode",
        headers={"Origin": "https://temporal.licensee.example", "Access-Control-Request-Method": "POST"},
    )
    assert ok.headers["access-control-allow-origin"] == "https://temporal.licensee.example"
    refused = http.options("/decode", headers={"Origin": UI_ORIGIN, "Access-Control-Request-Method": "POST"})
    assert refused.status_code == 400


def test_health_names_the_encrypting_key_id_without_credentials(http: TestClient, codec: EncryptionCodec) -> None:
    assert http.get("/healthz").json() == {"status": "ok", "key_id": codec.key_id}
