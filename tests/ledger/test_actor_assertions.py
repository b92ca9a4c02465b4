"""Actor assertions: what the API signs and what the worker's ledger activity accepts."""

from __future__ import annotations

import base64
import json
import stat
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.rsa import generate_private_key
from cryptography.hazmat.primitives import serialization

from config.settings import Settings
from ledger.actor_assertions import (
    AssertionKeyError,
    AssertionRefused,
    AssertionSigner,
    AssertionVerifier,
    load_or_create_private_key,
    load_public_key,
    load_signer,
    load_verifier,
    public_pem,
)

NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
WF = "incident-INC-1"


@pytest.fixture
def key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def verifier_for(*keys: Ed25519PrivateKey) -> AssertionVerifier:
    return AssertionVerifier.trusting([k.public_key() for k in keys])


def refused(verifier: AssertionVerifier, token: str | None, **kw: object) -> str:
    args = {"actor": "key:c.hale", "workflow_ids": {WF}, "accepted_at": NOW + timedelta(seconds=1), **kw}
    with pytest.raises(AssertionRefused) as exc:
        verifier.verify(token, **args)  # type: ignore[arg-type]
    return exc.value.rule_id


def test_an_assertion_vouches_for_its_actor_and_workflow_while_valid(key: Ed25519PrivateKey) -> None:
    token = AssertionSigner(key).issue("key:c.hale", WF, NOW)
    claims = verifier_for(key).verify(token, actor="key:c.hale", workflow_ids={WF}, accepted_at=NOW + timedelta(minutes=4))
    assert claims.actor == "key:c.hale" and claims.workflow_id == WF
    assert claims.expires_at - claims.issued_at == timedelta(minutes=5)
    assert len(claims.nonce) == 32
    # Two assertions for the same step are never the same token.
    assert AssertionSigner(key).issue("key:c.hale", WF, NOW) != token


def test_a_step_without_an_assertion_is_refused(key: Ed25519PrivateKey) -> None:
    assert refused(verifier_for(key), None) == "actor_assertion_missing"
    assert refused(verifier_for(key), "") == "actor_assertion_missing"


def test_an_assertion_for_someone_else_or_another_workflow_is_refused(key: Ed25519PrivateKey) -> None:
    token = AssertionSigner(key).issue("key:c.hale", WF, NOW)
    assert refused(verifier_for(key), token, actor="user:d.okafor") == "actor_assertion_mismatch"
    assert refused(verifier_for(key), token, workflow_ids={"incident-INC-2"}) == "actor_assertion_mismatch"


def test_an_assertion_is_valid_only_for_steps_accepted_within_its_lifetime(key: Ed25519PrivateKey) -> None:
    token = AssertionSigner(key, ttl=timedelta(minutes=5)).issue("key:c.hale", WF, NOW)
    verifier = AssertionVerifier.trusting([key.public_key()], skew=timedelta(seconds=60))
    assert refused(verifier, token, accepted_at=NOW + timedelta(minutes=5, seconds=1)) == "actor_assertion_expired"
    assert refused(verifier, token, accepted_at=NOW - timedelta(seconds=61)) == "actor_assertion_expired"
    assert refused(verifier, token, accepted_at=None) == "actor_assertion_missing"
    # Within the allowed skew of the API's clock against Temporal's.
    verifier.verify(token, actor="key:c.hale", workflow_ids={WF}, accepted_at=NOW - timedelta(seconds=59))


def test_an_assertion_signed_by_a_key_the_worker_does_not_trust_is_refused(key: Ed25519PrivateKey) -> None:
    stranger = Ed25519PrivateKey.generate()
    token = AssertionSigner(stranger).issue("key:c.hale", WF, NOW)
    assert refused(verifier_for(key), token) == "actor_assertion_untrusted"
    # Rotation: trusting both keys accepts either.
    verifier_for(key, stranger).verify(token, actor="key:c.hale", workflow_ids={WF}, accepted_at=NOW)


def test_altered_or_malformed_assertions_are_refused(key: Ed25519PrivateKey) -> None:
    token = AssertionSigner(key).issue("key:c.hale", WF, NOW)
    body, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    claims["actor"] = "user:d.okafor"
    forged_body = base64.urlsafe_b64encode(json.dumps(claims, separators=(",", ":"), sort_keys=True).encode()).rstrip(b"=").decode()
    assert refused(verifier_for(key), f"{forged_body}.{signature}", actor="user:d.okafor") == "actor_assertion_invalid"
    # The same claims re-encoded in another JSON form: the signature covers the canonical bytes only.
    claims["actor"] = "key:c.hale"
    spaced = base64.urlsafe_b64encode(json.dumps(claims, indent=1).encode()).rstrip(b"=").decode()
    assert refused(verifier_for(key), f"{spaced}.{signature}") == "actor_assertion_invalid"
    for junk in ("not-a-token", "a.b.c", f"{body}.", f"{body}.!!!", "e30.AAAA"):
        assert refused(verifier_for(key), junk) == "actor_assertion_invalid"


def test_the_api_key_file_is_created_once_owner_only_and_shared_by_concurrent_starters(tmp_path: Path) -> None:
    path = tmp_path / "home" / "actor-assertion.key"
    keys: list[bytes] = []

    def start() -> None:
        keys.append(public_pem(load_or_create_private_key(path)))

    threads = [threading.Thread(target=start) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(keys)) == 1, "every process signs and verifies with the one key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["actor-assertion.key"], "no temporary file left behind"


def test_the_worker_trusts_listed_public_keys_or_else_the_api_key_files_public_half(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, home=tmp_path)  # type: ignore[call-arg]
    signer = load_signer(settings.resolved_actor_assertion_key_file(), settings.actor_assertion_ttl_seconds)
    token = signer.issue("user:dana", WF, NOW)
    same_host = load_verifier(settings.resolved_actor_assertion_key_file(), [], 60)
    same_host.verify(token, actor="user:dana", workflow_ids={WF}, accepted_at=NOW)
    # A worker given only the public key (production: the API's private key stays with the API).
    public = tmp_path / "api-assertion.pub.pem"
    public.write_bytes(public_pem(signer.private_key))
    split = load_verifier(tmp_path / "absent.key", [public], 60)
    split.verify(token, actor="user:dana", workflow_ids={WF}, accepted_at=NOW)
    assert not (tmp_path / "absent.key").exists(), "a worker with trusted keys creates no signing key"
    other = tmp_path / "other.pem"
    other.write_bytes(public_pem(Ed25519PrivateKey.generate()))
    assert refused(load_verifier(tmp_path / "absent.key", [other], 60), token, actor="user:dana") == "actor_assertion_untrusted"


def test_a_trusted_key_that_is_not_ed25519_is_refused_with_its_path(tmp_path: Path) -> None:
    rsa = tmp_path / "rsa.pem"
    rsa.write_bytes(
        generate_private_key(public_exponent=65537, key_size=2048).public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    with pytest.raises(AssertionKeyError, match="rsa.pem"):
        load_public_key(rsa)
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a key")
    with pytest.raises(AssertionKeyError, match="garbage.pem"):
        load_public_key(garbage)


def test_trusted_keys_are_read_from_a_comma_separated_setting(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("NOTICEFLOW_ACTOR_ASSERTION_TRUSTED_KEYS", f"{tmp_path}/a.pem, {tmp_path}/b.pem")
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.actor_assertion_trusted_keys == [tmp_path / "a.pem", tmp_path / "b.pem"]
