"""Named API keys (issue 11): created, listed and revoked by an operator (``noticeflow apikey``) or
an admin (``/v1/access/api-keys``), ledgered on ``admin:access``; only an HMAC under a server-side
pepper is stored; revoked and expired keys get 401. The API's door: authentication before the body
is read, 413 past the body limit, 429 after repeated failures, single sign-on as the second way
in, and the versioned OpenAPI 3.1 description.

The key store runs on SQLite and a real PostgreSQL server; the app over ASGI (and once over a real
socket) — none of these tests needs Temporal: every answer here is given before a workflow is
reached."""

from __future__ import annotations

import asyncio
import getpass
import hashlib
import hmac
import json
import stat
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import text
from typer.testing import CliRunner

from activities import db
from api.access import Principal, Role
from api.apikeys import (
    ACCESS_STREAM,
    ApiKeyStore,
    KeyConflict,
    KeyRefused,
    create_api_key,
    load_pepper,
    pepper_file,
    revoke_api_keys,
)
from api.app import create_app
from api.guard import FailureThrottle
from ledger.keys import generate_key, load_signer
from ledger.store import EntryFilter, Ledger
from noticeflow.cli import app as cli
from noticeflow.devstack import free_port
from noticeflow.settings import Settings, get_settings
from tests.api.conftest import bearer, issue_key

PEPPER = b"test-pepper-0f3c9a"
OPERATOR = "user:ops.lee"


# -- the store, on SQLite and PostgreSQL ----------------------------------------------------------------


@pytest.fixture
def stores(db_url: str, tmp_path: Path) -> Iterator[tuple[ApiKeyStore, Ledger]]:
    signer = generate_key(tmp_path / "keys")
    ledger = Ledger.open(db_url, signer)
    engine = db.open_engine(db_url)
    try:
        yield ApiKeyStore(engine, PEPPER), ledger
    finally:
        ledger.close()
        engine.dispose()


def test_a_key_authenticates_as_its_name_with_its_roles_and_only_a_peppered_hmac_is_stored(
    stores: tuple[ApiKeyStore, Ledger], db_url: str
) -> None:
    store, ledger = stores
    key, token = create_api_key(store, ledger, name="c.hale", roles={Role.INTAKE, Role.RESPONDER}, actor=OPERATOR,
                                expires_in=timedelta(days=90))
    assert token.startswith(f"nfk_{key.key_id}_")
    assert store.authenticate(token).principal == Principal("c.hale", "key", frozenset({Role.INTAKE, Role.RESPONDER}))
    with store.engine.connect() as conn:
        row = conn.execute(text("SELECT * FROM api_keys")).mappings().one()
    stored = row["token_hmac"]
    assert stored == hmac.new(PEPPER, token.encode(), hashlib.sha256).hexdigest()
    assert stored != hashlib.sha256(token.encode()).hexdigest() and token not in stored
    assert not any(token in str(value) or token.split("_", 2)[2] in str(value) for value in row.values())
    if db_url.startswith("sqlite"):  # the token's secret is nowhere in the database's files, its WAL included
        base = Path(db_url.removeprefix("sqlite:///"))
        raw = b"".join(f.read_bytes() for f in base.parent.glob(base.name + "*"))
        assert token.split("_", 2)[2].encode() not in raw and stored.encode() in raw
    # Ledgered before it was stored: who, which key, which roles, until when — no token, no hash.
    (entry,) = list(ledger.entries(EntryFilter(stream=ACCESS_STREAM)))
    assert (entry.type, entry.actor) == ("access.api_key_created", OPERATOR)
    assert entry.data == {"key_id": key.key_id, "name": "c.hale", "roles": ["intake", "responder"],
                          "expires_at": key.expires_at.isoformat()}  # type: ignore[union-attr]
    assert token not in entry.model_dump_json() and stored not in entry.model_dump_json()


def test_revoked_expired_and_forged_tokens_authenticate_nobody(stores: tuple[ApiKeyStore, Ledger]) -> None:
    store, ledger = stores
    now = datetime.now(UTC)
    _, short_token = create_api_key(store, ledger, name="ci-export", roles={Role.EXAMINER}, actor=OPERATOR,
                                        expires_in=timedelta(hours=1), now=now)
    assert store.authenticate(short_token, now + timedelta(minutes=59)).name == "ci-export"
    with pytest.raises(KeyRefused, match=r"expired at"):
        store.authenticate(short_token, now + timedelta(hours=1, seconds=1))
    key, token = create_api_key(store, ledger, name="d.okafor", roles={Role.COUNSEL}, actor=OPERATOR)
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    for bad in (forged, f"nfk_{'0' * 16}_{token.split('_', 2)[2]}", "nfk_short", "not-a-key"):
        with pytest.raises(KeyRefused, match="^this token is not a valid API key$"):
            store.authenticate(bad)
    with pytest.raises(KeyRefused):  # the same token under another pepper: a stolen table alone is no use
        ApiKeyStore(store.engine, b"another-pepper").authenticate(token)
    (revoked,) = revoke_api_keys(store, ledger, "d.okafor", actor=OPERATOR)
    assert revoked.key_id == key.key_id and revoked.revoked_by == OPERATOR
    with pytest.raises(KeyRefused, match=r"was revoked at"):
        store.authenticate(token)
    types = [(e.type, e.data["name"]) for e in ledger.entries(EntryFilter(stream=ACCESS_STREAM))]
    assert types == [("access.api_key_created", "ci-export"), ("access.api_key_created", "d.okafor"),
                     ("access.api_key_revoked", "d.okafor")]


def test_a_name_holds_one_active_key_and_replace_rotates_it_in_one_step(stores: tuple[ApiKeyStore, Ledger]) -> None:
    store, ledger = stores
    first, first_token = create_api_key(store, ledger, name="c.hale", roles={Role.INTAKE}, actor=OPERATOR)
    with pytest.raises(KeyConflict, match="holds an active key already"):
        create_api_key(store, ledger, name="c.hale", roles={Role.INTAKE}, actor=OPERATOR)
    second, second_token = create_api_key(store, ledger, name="c.hale", roles={Role.RESPONDER}, actor=OPERATOR, replace=True)
    with pytest.raises(KeyRefused, match="revoked"):
        store.authenticate(first_token)
    assert store.authenticate(second_token).roles == frozenset({Role.RESPONDER})
    assert [k.status(datetime.now(UTC)) for k in store.all_keys()] == ["revoked", "active"]
    with pytest.raises(KeyConflict, match="no active key to revoke"):
        revoke_api_keys(store, ledger, first.key_id, actor=OPERATOR)
    entries = [(e.type, e.data["key_id"]) for e in ledger.entries(EntryFilter(stream=ACCESS_STREAM))]
    assert entries[-2:] == [("access.api_key_revoked", first.key_id), ("access.api_key_created", second.key_id)]


def test_the_pepper_file_is_created_once_with_mode_0600(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, home=tmp_path / "home")  # type: ignore[call-arg]
    pepper = load_pepper(settings)
    assert stat.S_IMODE(pepper_file(settings).stat().st_mode) == 0o600
    assert load_pepper(settings) == pepper and len(pepper) == 64
    assert load_pepper(settings.model_copy(update={"api_key_pepper": "from-the-environment"})) == b"from-the-environment"


# -- the CLI ----------------------------------------------------------------------------------------------


@pytest.fixture
def operator_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    home = tmp_path / "home"
    monkeypatch.setenv("NOTICEFLOW_HOME", str(home))
    monkeypatch.setenv("NOTICEFLOW_LOG_JSON", "false")
    monkeypatch.delenv("NOTICEFLOW_DB_URL", raising=False)
    monkeypatch.delenv("NOTICEFLOW_API_KEY_PEPPER", raising=False)
    get_settings.cache_clear()
    generate_key(home / "keys")
    try:
        yield get_settings()
    finally:
        get_settings.cache_clear()


async def _whoami(settings: Settings, token: str) -> httpx.Response:
    app = create_app(settings)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1") as http:
        return await http.get("/v1/access/whoami", headers=bearer(token))


async def test_apikey_create_prints_the_token_once_on_its_last_line_and_list_and_revoke_follow(
    operator_home: Settings,
) -> None:
    runner = CliRunner()
    created = runner.invoke(cli, ["apikey", "create", "--name", "c.hale", "--role", "intake", "--role", "responder",
                                  "--expires", "P90D"])
    assert created.exit_code == 0, created.output
    lines = created.stdout.splitlines()  # logs go to stderr
    token = lines[-1]
    assert token.startswith("nfk_") and token.count(" ") == 0
    assert "key:c.hale" in lines[0] and "intake, responder" in lines[0]
    assert sum(token in line for line in created.output.splitlines()) == 1
    me = await _whoami(operator_home, token)
    assert me.status_code == 200 and me.json()["actor"] == "key:c.hale"

    listed = runner.invoke(cli, ["apikey", "list", "--json"])
    assert listed.exit_code == 0, listed.output
    (row,) = json.loads(listed.stdout)
    assert (row["name"], row["roles"], row["status"]) == ("c.hale", ["intake", "responder"], "active")
    assert row["created_by"] == f"user:{getpass.getuser()}"
    assert token not in listed.output and token.split("_", 2)[2] not in listed.output
    expires = datetime.fromisoformat(row["expires_at"]) - datetime.fromisoformat(row["created_at"])
    assert expires == timedelta(days=90)

    again = runner.invoke(cli, ["apikey", "create", "--name", "c.hale", "--role", "intake"])
    assert again.exit_code == 1 and "holds an active key already" in again.output
    unknown = runner.invoke(cli, ["apikey", "create", "--name", "x", "--role", "superuser"])
    assert unknown.exit_code == 2 and "unknown role 'superuser'" in unknown.output

    revoked = runner.invoke(cli, ["apikey", "revoke", "c.hale"])
    assert revoked.exit_code == 0, revoked.output
    assert f"API key {row['key_id']} (key:c.hale) revoked" in revoked.output
    refused = await _whoami(operator_home, token)
    assert refused.status_code == 401 and "was revoked at" in refused.json()["detail"]
    ledger = Ledger.open(operator_home.resolved_db_url())
    try:
        acts = [(e.type, e.actor, e.data["key_id"]) for e in ledger.entries(EntryFilter(stream=ACCESS_STREAM))]
    finally:
        ledger.close()
    actor = f"user:{getpass.getuser()}"
    assert acts == [("access.api_key_created", actor, row["key_id"]), ("access.api_key_revoked", actor, row["key_id"])]


async def test_an_expired_key_gets_401(operator_home: Settings) -> None:
    created = CliRunner().invoke(cli, ["apikey", "create", "--name", "short-lived", "--role", "examiner", "--expires", "PT1S"])
    assert created.exit_code == 0, created.output
    token = created.stdout.splitlines()[-1]
    assert (await _whoami(operator_home, token)).status_code == 200
    await asyncio.sleep(1.1)
    expired = await _whoami(operator_home, token)
    assert expired.status_code == 401 and "expired at" in expired.json()["detail"]


# -- the API's door -------------------------------------------------------------------------------------


@pytest.fixture
def door_settings(tmp_path: Path) -> Settings:
    """No Temporal behind it: every answer these tests look at comes before a workflow is reached."""
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        home=tmp_path / "home", db_url=f"sqlite:///{tmp_path / 'ledger.db'}", log_json=False,
        temporal_address=f"127.0.0.1:{free_port()}", api_max_body_bytes=4096,
        api_auth_failure_limit=3, api_auth_failure_window_seconds=60,
    )
    generate_key(settings.resolved_key_path())
    return settings


@pytest_asyncio.fixture
async def door(door_settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(door_settings)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1", timeout=30) as http:
        yield http


FINDING_PATH = "/v1/incidents/INC-DOOR/findings"


async def test_without_valid_credentials_every_request_is_401_naming_what_to_send(door: httpx.AsyncClient) -> None:
    # There is no anonymous loopback user any more, and the unversioned routes are gone.
    assert (await door.post("/incidents", json={})).status_code == 401
    missing = await door.get("/v1/incidents/INC-DOOR")
    assert (missing.status_code, missing.headers["www-authenticate"]) == (401, "Bearer")
    assert missing.json()["detail"].startswith("a bearer token is required: send 'Authorization: Bearer <token>'")
    basic = await door.get("/v1/incidents/INC-DOOR", headers={"Authorization": "Basic YWxpY2U6eA=="})
    assert basic.status_code == 401 and basic.json()["detail"] == "the Authorization header must be 'Bearer <token>'"
    unknown = await door.get("/v1/incidents/INC-DOOR", headers=bearer("nfk_0123456789abcdef_" + "x" * 43))
    assert unknown.json()["detail"] == "this token is not a valid API key"
    jwt_shaped = await door.get("/v1/incidents/INC-DOOR", headers=bearer("eyJhbGciOiJFUzI1NiJ9.e30.c2ln"))
    assert jwt_shaped.status_code == 401 and "single sign-on is not configured" in jwt_shaped.json()["detail"]


async def test_an_unauthenticated_100_mb_body_gets_401_without_being_read(door: httpx.AsyncClient) -> None:
    sent = 0

    async def hundred_megabytes() -> AsyncIterator[bytes]:
        nonlocal sent
        for _ in range(100):
            sent += 1
            yield b"x" * (1 << 20)

    began = time.monotonic()
    response = await door.post(FINDING_PATH, content=hundred_megabytes(), headers={"Content-Type": "application/json"})
    assert response.status_code == 401
    assert sent == 0, f"{sent} MB of the body were read before the 401"
    assert time.monotonic() - began < 2


async def test_over_a_real_socket_a_declared_100_mb_body_without_a_token_is_answered_401_at_once(
    door_settings: Settings,
) -> None:
    import uvicorn

    from tests.api.test_cli import _QuietServer

    port = free_port()
    server = _QuietServer(uvicorn.Config(create_app(door_settings), host="127.0.0.1", port=port, log_config=None,
                                         access_log=False))
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            await asyncio.sleep(0.02)
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(f"POST {FINDING_PATH} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     f"Content-Length: {100 << 20}\r\n\r\n{{\"kind\":".encode())
        await writer.drain()
        status = await asyncio.wait_for(reader.readline(), timeout=5)
        writer.close()
        assert status.startswith(b"HTTP/1.1 401"), status
    finally:
        server.should_exit = True
        await task


async def test_an_authenticated_body_over_the_limit_is_413_declared_or_streamed(
    door: httpx.AsyncClient, door_settings: Settings
) -> None:
    token = issue_key(door_settings, "c.hale", {Role.INTAKE})
    large = {"kind": "nature_and_scope", "summary": "x" * 5000, "report_items": ["A"]}
    declared = await door.post(FINDING_PATH, json=large, headers=bearer(token))
    assert declared.status_code == 413 and "4,096 bytes" in declared.json()["detail"]

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(10):
            yield b" " * 1000

    for extra in ({}, {"Idempotency-Key": "k-413"}):  # read by the route, or spooled by the idempotency middleware
        streamed = await door.post(FINDING_PATH, content=chunks(), headers={**bearer(token), **extra,
                                                                             "Content-Type": "application/json"})
        assert streamed.status_code == 413, (extra, streamed.text)
    # Under the limit the request goes on to the route (here: Temporal is not running → 503).
    small = await door.post(FINDING_PATH, json={**large, "summary": "Server accessed."}, headers=bearer(token))
    assert small.status_code == 503


async def test_repeated_failed_authentication_from_one_address_is_slowed_with_429_and_retry_after(
    door_settings: Settings,
) -> None:
    token = issue_key(door_settings, "c.hale", {Role.INTAKE})
    app = create_app(door_settings)

    def client(address: str) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=(address, 40000)), base_url="http://api")

    async with client("203.0.113.7") as attacker, client("198.51.100.4") as colleague:
        for _ in range(5):  # no credentials at all is no guess: not counted
            assert (await attacker.get("/v1/access/whoami")).status_code == 401
        for n in range(3):
            guess = await attacker.get("/v1/access/whoami", headers=bearer(f"nfk_{n:016x}_" + "g" * 43))
            assert guess.status_code == 401
        slowed = await attacker.get("/v1/access/whoami", headers=bearer(token))
        assert slowed.status_code == 429
        assert 1 <= int(slowed.headers["retry-after"]) <= 60
        assert "too many failed authentications" in slowed.json()["detail"]
        assert (await colleague.get("/v1/access/whoami", headers=bearer(token))).status_code == 200


def test_the_failure_window_slides() -> None:
    now = [1000.0]
    throttle = FailureThrottle(limit=2, window=60, clock=lambda: now[0])
    throttle.failed("a")
    now[0] += 30
    throttle.failed("a")
    assert throttle.retry_after("a") == 30
    now[0] += 30.5
    assert throttle.retry_after("a") is None
    assert throttle.retry_after("b") is None


async def test_the_openapi_description_is_3_1_under_v1_with_each_routes_roles(door: httpx.AsyncClient) -> None:
    response = await door.get("/v1/openapi.json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.1.")
    assert all(path.startswith("/v1/") or path == "/healthz" for path in schema["paths"])
    finding = schema["paths"]["/v1/incidents/{incident_id}/findings"]["post"]
    assert finding["x-roles"] == ["intake"] and finding["security"] == [{"bearer": []}]
    assert {"401", "403", "413", "429"} <= set(finding["responses"])
    assert schema["paths"]["/healthz"]["get"]["security"] == []
    assert schema["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    assert (await door.get("/openapi.json")).status_code == 401


async def test_an_admin_manages_keys_through_the_api_and_the_ledger_names_the_admin(
    door: httpx.AsyncClient, door_settings: Settings
) -> None:
    admin = issue_key(door_settings, "it.admin", {Role.ADMIN})
    created = await door.post("/v1/access/api-keys", json={"name": "export-bot", "roles": ["examiner"], "expires": "P30D"},
                              headers=bearer(admin))
    assert created.status_code == 201, created.text
    token, key_id = created.json()["token"], created.json()["key"]["key_id"]
    me = await door.get("/v1/access/whoami", headers=bearer(token))
    assert me.json() == {"name": "export-bot", "kind": "key", "actor": "key:export-bot", "roles": ["examiner"]}
    listed = await door.get("/v1/access/api-keys", headers=bearer(admin))
    assert token not in listed.text and {k["name"] for k in listed.json()} == {"it.admin", "export-bot"}
    bad = await door.post("/v1/access/api-keys", json={"name": "has space", "roles": ["examiner"]}, headers=bearer(admin))
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "name"
    revoked = await door.post(f"/v1/access/api-keys/{key_id}/revoke", headers=bearer(admin))
    assert revoked.status_code == 200 and revoked.json()[0]["status"] == "revoked"
    assert (await door.get("/v1/access/whoami", headers=bearer(token))).status_code == 401
    again = await door.post(f"/v1/access/api-keys/{key_id}/revoke", headers=bearer(admin))
    assert again.status_code == 409
    ledger = Ledger.open(door_settings.resolved_db_url(), load_signer(door_settings.resolved_key_path()))
    try:
        acts = [(e.type, e.actor, e.data["name"]) for e in ledger.entries(EntryFilter(stream=ACCESS_STREAM))]
    finally:
        ledger.close()
    assert acts[-2:] == [("access.api_key_created", "key:it.admin", "export-bot"),
                         ("access.api_key_revoked", "key:it.admin", "export-bot")]


# -- single sign-on as the second way in ---------------------------------------------------------------


async def test_an_sso_access_token_acts_as_its_user_with_its_roles(door_settings: Settings, tmp_path: Path) -> None:
    from cryptography.hazmat.primitives.asymmetric import ec

    from tests.api.test_sso import AUDIENCE, ISSUER, Signer, write_jwks

    signer = Signer("kid-1", "ES256", ec.generate_private_key(ec.SECP256R1()))
    settings = door_settings.model_copy(update={
        "sso_issuer": ISSUER, "sso_audience": AUDIENCE, "sso_jwks_file": write_jwks(tmp_path / "jwks.json", signer),
    })
    app = create_app(settings)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1") as http:
        me = await http.get("/v1/access/whoami", headers=bearer(signer.token({"preferred_username": "dana.whitfield",
                                                                              "roles": ["counsel", "superuser"]})))
        assert me.status_code == 200, me.text
        assert me.json() == {"name": "dana.whitfield", "kind": "user", "actor": "user:dana.whitfield", "roles": ["counsel"]}
        forbidden = await http.post(FINDING_PATH, json={}, headers=bearer(signer.token({"roles": ["counsel"]})))
        assert forbidden.status_code == 403
        expired = await http.get("/v1/access/whoami", headers=bearer(signer.token({"exp": int(time.time()) - 3600})))
        assert expired.status_code == 401 and "the access token is refused: the token expired" in expired.json()["detail"]
        id_token = signer.token(typ="JWT")
        assert (await http.get("/v1/access/whoami", headers=bearer(id_token))).status_code == 401
