"""The codec server: Temporal's remote codec protocol, CORS for the UI, bearer-token authorisation."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from temporalio.api.common.v1 import Payload

from api.codec_server import create_app, token_fingerprint
from noticeflow.codec import ENCODING, CodecKeyring, EncryptionCodec, generate_key
from noticeflow.settings import Settings

TOKEN = "examiner-desk-token"
UI_ORIGIN = "http://localhost:8233"
SSN = b"078-05-1120"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _json_payload(data: bytes) -> dict[str, object]:
    return {"metadata": {"encoding": _b64(b"json/plain")}, "data": _b64(data)}


@pytest.fixture
def codec() -> EncryptionCodec:
    return EncryptionCodec(CodecKeyring((generate_key(),)))


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path, codec_server_tokens=[TOKEN, "second-user"], _env_file=None)  # type: ignore[call-arg]


@pytest.fixture
def http(settings: Settings, codec: EncryptionCodec) -> TestClient:
    return TestClient(create_app(settings, codec=codec))


def _auth(token: str = TOKEN) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _encrypted_body(codec: EncryptionCodec, data: bytes = b'{"ssn":"078-05-1120"}') -> dict[str, object]:
    sealed = codec.encrypt(Payload(metadata={"encoding": b"json/plain"}, data=data))
    return {"payloads": [{"metadata": {k: _b64(v) for k, v in sealed.metadata.items()}, "data": _b64(sealed.data)}]}


def test_decode_returns_the_plaintext_payloads(http: TestClient, codec: EncryptionCodec) -> None:
    response = http.post("/decode", json=_encrypted_body(codec), headers=_auth())
    assert response.status_code == 200
    [payload] = response.json()["payloads"]
    assert base64.b64decode(payload["metadata"]["encoding"]) == b"json/plain"
    assert base64.b64decode(payload["data"]) == b'{"ssn":"078-05-1120"}'


def test_encode_then_decode_round_trips(http: TestClient, codec: EncryptionCodec) -> None:
    body = {"payloads": [_json_payload(b'"a"'), _json_payload(SSN)]}
    encoded = http.post("/encode", json=body, headers=_auth())
    assert encoded.status_code == 200
    for payload in encoded.json()["payloads"]:
        assert base64.b64decode(payload["metadata"]["encoding"]) == ENCODING
        assert SSN not in base64.b64decode(payload["data"])
    decoded = http.post("/decode", json=encoded.json(), headers=_auth("second-user"))
    assert decoded.json() == body


@pytest.mark.parametrize("path", ["/default/decode", "/tenants/acme/decode"])
def test_endpoints_answer_under_any_prefix_such_as_the_namespace(
    http: TestClient, codec: EncryptionCodec, path: str
) -> None:
    response = http.post(path, json=_encrypted_body(codec), headers={**_auth(), "X-Namespace": "default"})
    assert response.status_code == 200


@pytest.mark.parametrize("path", ["/decode", "/encode"])
def test_request_without_a_token_is_401_with_bearer_challenge(http: TestClient, codec: EncryptionCodec, path: str) -> None:
    response = http.post(path, json=_encrypted_body(codec))
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert SSN.decode() not in response.text


@pytest.mark.parametrize("header", ["Basic dXNlcjpwYXNz", "Bearer", "Bearer    ", TOKEN])
def test_malformed_authorization_header_is_401(http: TestClient, codec: EncryptionCodec, header: str) -> None:
    assert http.post("/decode", json=_encrypted_body(codec), headers={"Authorization": header}).status_code == 401


@pytest.mark.parametrize("token", ["wrong", TOKEN + "x", TOKEN[:-1]])
def test_unknown_token_is_403_and_reveals_nothing(http: TestClient, codec: EncryptionCodec, token: str) -> None:
    response = http.post("/decode", json=_encrypted_body(codec), headers=_auth(token))
    assert response.status_code == 403
    assert "ssn" not in response.text


def test_without_configured_tokens_every_request_is_refused(tmp_path: Path, codec: EncryptionCodec) -> None:
    settings = Settings(home=tmp_path, _env_file=None)  # type: ignore[call-arg]
    http = TestClient(create_app(settings, codec=codec))
    assert http.post("/decode", json=_encrypted_body(codec)).status_code == 401
    assert http.post("/decode", json=_encrypted_body(codec), headers=_auth("anything")).status_code == 403


def test_anonymous_mode_of_the_dev_stack_decodes_without_a_header(tmp_path: Path, codec: EncryptionCodec) -> None:
    settings = Settings(home=tmp_path, _env_file=None)  # type: ignore[call-arg]
    http = TestClient(create_app(settings, codec=codec, allow_anonymous=True))
    assert http.post("/decode", json=_encrypted_body(codec)).status_code == 200


def test_payload_under_an_unknown_key_is_400_naming_the_key(http: TestClient) -> None:
    other = EncryptionCodec(CodecKeyring((generate_key(),)))
    response = http.post("/decode", json=_encrypted_body(other), headers=_auth())
    assert response.status_code == 400
    assert other.key_id in response.json()["detail"]


def test_tampered_payload_is_400(http: TestClient, codec: EncryptionCodec) -> None:
    body = _encrypted_body(codec)
    payload = body["payloads"][0]  # type: ignore[index]
    data = bytearray(base64.b64decode(payload["data"]))
    data[-1] ^= 1
    payload["data"] = _b64(bytes(data))
    response = http.post("/decode", json=body, headers=_auth())
    assert response.status_code == 400
    assert "failed authentication" in response.json()["detail"]


@pytest.mark.parametrize("body", [b"not json", b'{"payloads": "nope"}', b'{"payloads": [{"data": 5}]}'])
def test_body_that_is_not_payloads_json_is_400(http: TestClient, body: bytes) -> None:
    response = http.post("/decode", content=body, headers={**_auth(), "Content-Type": "application/json"})
    assert response.status_code == 400


def test_only_post_is_served(http: TestClient) -> None:
    assert http.get("/decode", headers=_auth()).status_code == 405


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


def test_cors_refuses_other_origins(http: TestClient, codec: EncryptionCodec) -> None:
    preflight = http.options(
        "/decode", headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"}
    )
    assert preflight.status_code == 400
    response = http.post("/decode", json=_encrypted_body(codec), headers={**_auth(), "Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in response.headers


def test_configured_cors_origins_replace_the_dev_ui_default(tmp_path: Path, codec: EncryptionCodec) -> None:
    settings = Settings(home=tmp_path, codec_server_tokens=[TOKEN], _env_file=None)  # type: ignore[call-arg]
    http = TestClient(create_app(settings, codec=codec, cors_origins=["https://temporal.licensee.example"]))
    ok = http.options(
        "/decode",
        headers={"Origin": "https://temporal.licensee.example", "Access-Control-Request-Method": "POST"},
    )
    assert ok.headers["access-control-allow-origin"] == "https://temporal.licensee.example"
    refused = http.options("/decode", headers={"Origin": UI_ORIGIN, "Access-Control-Request-Method": "POST"})
    assert refused.status_code == 400


def test_decodes_are_logged_by_token_fingerprint_never_by_token(
    http: TestClient, codec: EncryptionCodec, capsys: pytest.CaptureFixture[str]
) -> None:
    http.post("/decode", json=_encrypted_body(codec), headers={**_auth(), "X-Namespace": "default"})
    captured = capsys.readouterr()
    err = captured.out + captured.err
    assert "codec_server_decode" in err
    assert token_fingerprint(TOKEN) in err
    assert TOKEN not in err
    assert SSN.decode() not in err


def test_health_names_the_encrypting_key_id(http: TestClient, codec: EncryptionCodec) -> None:
    assert http.get("/healthz").json() == {"status": "ok", "key_id": codec.key_id}
