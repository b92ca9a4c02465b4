"""The key statement (noticeflow-key-statement/1): what a licensee files with its regulator, and
what an examiner checks a bundle's keys against. Keys come from the real keygen (ledger/keys.py,
``noticeflow ledger keygen``)."""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import re
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from typer.testing import CliRunner

from ledger.canonical import canonical_json
from ledger.chain import b64encode
from ledger.checkpoint import note_verifier_key
from ledger.errors import LedgerError
from ledger.key_statement import (
    FORMAT,
    KeyStatementError,
    build_key_statement,
    check_keys_against_statement,
    fingerprint,
    signed_bytes,
    verify_key_statement,
)
from ledger.keys import (
    Keyring,
    PublicKeyRecord,
    Signer,
    generate_key,
    key_id_for,
    load_keyring,
    load_signer,
    raw_public_key,
)
from noticeflow.cli import app
from tests.conftest import REPO

ORIGIN = "ledger.acme-mutual.example/notices"
LICENSEE = "Acme Mutual Insurance Company"
T0 = "2026-01-01T00:00:00.000000Z"
T1 = "2026-06-01T00:00:00.000000Z"
T2 = "2026-09-01T00:00:00.000000Z"
runner = CliRunner()


@pytest.fixture
def rotated(tmp_path: Path) -> tuple[Path, Signer, Signer]:
    """A key directory after one rotation: the first key retired at T1, the second in use."""
    key_dir = tmp_path / "keys"
    first = generate_key(key_dir, now=T0)
    second = generate_key(key_dir, now=T1)
    return key_dir, first, second


def _build(key_dir: Path, issued_at: str = "2026-06-02T00:00:00Z") -> dict[str, Any]:
    return build_key_statement(
        load_keyring(key_dir), key_dir, licensee=LICENSEE, origin=ORIGIN, issued_at=issued_at
    )


def _resign(statement: dict[str, Any], *signers: Signer) -> dict[str, Any]:
    message = signed_bytes(statement)
    statement["signatures"] = [{"key_id": s.key_id, "sig": s.sign(message)} for s in signers]
    return statement


def _key_json(signer: Signer, valid_from: str, valid_until: str | None) -> dict[str, Any]:
    raw = raw_public_key(signer.public_key)
    return {
        "key_id": signer.key_id,
        "algorithm": "ed25519",
        "public_key": b64encode(raw),
        "fingerprint": fingerprint(raw),
        "note_verifier_key": note_verifier_key(ORIGIN, raw),
        "valid_from": valid_from,
        "valid_until": valid_until,
    }


# -- building and verifying ----------------------------------------------------------------


def test_statement_after_one_rotation_lists_both_keys_and_is_signed_by_both(rotated) -> None:
    key_dir, first, second = rotated
    statement = _build(key_dir)
    assert statement["format"] == FORMAT and statement["licensee"] == LICENSEE
    assert statement["origin"] == ORIGIN and statement["issued_at"] == "2026-06-02T00:00:00.000000Z"
    assert [k["key_id"] for k in statement["keys"]] == [first.key_id, second.key_id]
    assert statement["keys"][0] == _key_json(first, T0, T1)
    assert statement["keys"][1] == _key_json(second, T1, None)
    assert [s["key_id"] for s in statement["signatures"]] == [second.key_id, first.key_id]
    for sig in statement["signatures"]:  # each over the canonical JSON without "signatures"
        signer = first if sig["key_id"] == first.key_id else second
        without = {k: v for k, v in statement.items() if k != "signatures"}
        signer.public_key.verify(base64.b64decode(sig["sig"]), canonical_json(without))
    keyring = verify_key_statement(statement)
    assert keyring.active == second.key_id
    assert keyring.get(first.key_id).valid_until == T1 and keyring.get(second.key_id).valid_until is None


def test_statement_of_a_single_key_is_signed_by_that_key(tmp_path: Path) -> None:
    signer = generate_key(tmp_path / "keys", now=T0)
    statement = _build(tmp_path / "keys", issued_at=T0)
    assert [s["key_id"] for s in statement["signatures"]] == [signer.key_id]
    assert list(verify_key_statement(statement).keys) == [signer.key_id]


def test_statement_round_trips_through_json_text(rotated) -> None:
    key_dir, _, second = rotated
    text = json.dumps(_build(key_dir), indent=2, ensure_ascii=False)
    assert verify_key_statement(json.loads(text)).active == second.key_id


def test_build_from_signer_objects_equals_build_from_the_key_directory(rotated) -> None:
    key_dir, first, second = rotated
    from_dir = _build(key_dir)
    from_signers = build_key_statement(
        load_keyring(key_dir),
        [first, second],
        licensee=LICENSEE,
        origin=ORIGIN,
        issued_at="2026-06-02T00:00:00Z",
    )
    assert from_signers == from_dir  # Ed25519 signatures are deterministic


def test_encrypted_keys_sign_the_statement_with_the_passphrase(tmp_path: Path) -> None:
    key_dir = tmp_path / "keys"
    generate_key(key_dir, passphrase="correct horse", now=T0)
    generate_key(key_dir, passphrase="correct horse", now=T1)
    statement = build_key_statement(
        load_keyring(key_dir), key_dir, licensee=LICENSEE, origin=ORIGIN, passphrase="correct horse"
    )
    assert len(verify_key_statement(statement).keys) == 2
    with pytest.raises(LedgerError, match="passphrase"):
        build_key_statement(load_keyring(key_dir), key_dir, licensee=LICENSEE, origin=ORIGIN)


def test_a_rotation_cannot_be_stated_without_the_previous_private_key(rotated) -> None:
    key_dir, first, second = rotated
    (key_dir / f"{first.key_id.replace(':', '-')}.pem").unlink()
    with pytest.raises(KeyStatementError, match=f"private key of {first.key_id} is missing"):
        _build(key_dir)
    with pytest.raises(KeyStatementError, match=f"no signer given for {first.key_id}"):
        build_key_statement(load_keyring(key_dir), [second], licensee=LICENSEE, origin=ORIGIN)


@pytest.mark.parametrize(
    ("licensee", "origin", "message"),
    [("", ORIGIN, "licensee: .* required"), (LICENSEE, "acme ledger", "origin: .*spaces")],
)
def test_build_refuses_a_statement_without_licensee_or_with_a_bad_origin(
    rotated, licensee, origin, message
) -> None:
    key_dir, _, _ = rotated
    with pytest.raises(KeyStatementError, match=message):
        build_key_statement(load_keyring(key_dir), key_dir, licensee=licensee, origin=origin)


# -- what verification refuses -------------------------------------------------------------


def test_a_statement_whose_newest_key_was_swapped_for_an_attacker_key_fails(rotated) -> None:
    key_dir, first, _ = rotated
    attacker = Signer.generate()
    forged = _build(key_dir)
    forged["keys"][1] = _key_json(attacker, T1, None)
    kept = [s for s in forged["signatures"] if s["key_id"] == first.key_id]
    _resign(forged, attacker)
    forged["signatures"] += kept  # the genuine previous-key signature no longer covers the content
    with pytest.raises(KeyStatementError, match=f"signature of {first.key_id} does not verify"):
        verify_key_statement(forged)
    _resign(forged, attacker)  # and without the previous key's signature
    with pytest.raises(KeyStatementError, match=f"previous key {first.key_id} did not sign"):
        verify_key_statement(forged)


def test_a_statement_with_the_previous_key_signature_removed_fails(rotated) -> None:
    key_dir, first, _second = rotated
    statement = _build(key_dir)
    statement["signatures"] = [s for s in statement["signatures"] if s["key_id"] != first.key_id]
    with pytest.raises(KeyStatementError, match=f"previous key {first.key_id} did not sign"):
        verify_key_statement(statement)


def test_a_statement_not_signed_by_its_newest_key_fails(rotated) -> None:
    key_dir, _first, second = rotated
    statement = _build(key_dir)
    statement["signatures"] = [s for s in statement["signatures"] if s["key_id"] != second.key_id]
    with pytest.raises(KeyStatementError, match=f"newest key {second.key_id} did not sign"):
        verify_key_statement(statement)


def _mutate(statement: dict[str, Any], path: tuple, value: Any) -> dict[str, Any]:
    changed = copy.deepcopy(statement)
    target = changed
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    return changed


MUTATIONS = {
    "unknown format": (("format",), "noticeflow-key-statement/2", "unknown key statement format"),
    "changed licensee": (("licensee",), "Acme Mutual Holdings", "signature of .* does not verify"),
    "changed window": (("keys", 0, "valid_until"), T2, "still valid when"),
    "fingerprint of another key": (
        ("keys", 1, "fingerprint"),
        "SHA256:" + "00" * 32,
        "fingerprint: does not match",
    ),
    "note key of another origin": (
        ("keys", 1, "note_verifier_key"),
        note_verifier_key("other.example/ledger", bytes(32)),
        "note_verifier_key: does not match",
    ),
    "key_id not naming the key": (("keys", 1, "key_id"), "ed25519:0000000000000000", "key_id: does not name"),
    "public key not 32 bytes": (
        ("keys", 1, "public_key"),
        b64encode(bytes(31)),
        "not standard base64 of 32 bytes",
    ),
    "signature byte": (("signatures", 0, "sig"), None, "does not verify"),
    "signature by an unlisted key": (("signatures", 0, "key_id"), "ed25519:ffffffffffffffff", "not listed"),
    "extra field": (("note",), "trust me", "unexpected field note"),
    "issued before the newest key": (("issued_at",), "2026-05-01T00:00:00Z", "before the newest key"),
    "keys out of order": (
        ("keys",),
        None,
        "listed after .* but not valid from later; keys are listed oldest first",
    ),
}


@pytest.mark.parametrize("case", MUTATIONS, ids=list(MUTATIONS))
def test_a_changed_or_inconsistent_statement_fails_naming_the_problem(rotated, case: str) -> None:
    key_dir, _, _ = rotated
    statement = _build(key_dir)
    path, value, message = MUTATIONS[case]
    if case == "signature byte":
        sig = statement["signatures"][0]["sig"]
        value = ("B" if sig[0] == "A" else "A") + sig[1:]
    if case == "keys out of order":
        value = list(reversed(statement["keys"]))
    with pytest.raises(KeyStatementError, match=message) as failure:
        verify_key_statement(_mutate(statement, path, value))
    assert isinstance(failure.value, LedgerError)


def test_duplicate_key_ids_are_refused(tmp_path: Path) -> None:
    signer = generate_key(tmp_path / "keys", now=T0)
    statement = _build(tmp_path / "keys", issued_at=T1)
    statement["keys"] = [_key_json(signer, T0, T1), _key_json(signer, T1, None)]
    _resign(statement, signer)
    with pytest.raises(KeyStatementError, match=f"keys\\[1\\]: duplicate key_id {signer.key_id}"):
        verify_key_statement(statement)


def test_a_signature_listed_twice_is_refused(rotated) -> None:
    key_dir, _, _ = rotated
    statement = _build(key_dir)
    statement["signatures"].append(dict(statement["signatures"][0]))
    with pytest.raises(KeyStatementError, match="signed twice"):
        verify_key_statement(statement)


# -- a statement the regulator already holds ---------------------------------------------


def test_the_statement_after_a_rotation_extends_the_one_filed_before(tmp_path: Path) -> None:
    key_dir = tmp_path / "keys"
    generate_key(key_dir, now=T0)
    filed = _build(key_dir, issued_at=T0)
    second = generate_key(key_dir, now=T1)
    assert verify_key_statement(_build(key_dir, issued_at=T1), earlier=filed).active == second.key_id
    generate_key(key_dir, now=T2)
    with pytest.raises(KeyStatementError, match="earlier statement's newest key .* did not sign"):
        verify_key_statement(_build(key_dir, issued_at=T2), earlier=filed)


def test_a_statement_that_rewrites_a_filed_key_does_not_extend_it(tmp_path: Path) -> None:
    key_dir = tmp_path / "keys"
    first = generate_key(key_dir, now=T0)
    filed = _build(key_dir, issued_at=T0)
    attacker = Signer.generate()
    rewrite = _build(key_dir, issued_at=T0)
    rewrite["keys"] = [_key_json(attacker, T0, None)]
    _resign(rewrite, attacker)
    assert verify_key_statement(rewrite).active == attacker.key_id  # self-consistent on its own
    with pytest.raises(KeyStatementError, match=f"key {first.key_id} of the earlier statement is missing"):
        verify_key_statement(rewrite, earlier=filed)


# -- the statement as trust anchor ---------------------------------------------------------


def test_bundle_keys_are_accepted_only_when_in_the_statement_with_the_same_public_key(rotated) -> None:
    key_dir, _first, second = rotated
    trusted = verify_key_statement(_build(key_dir))
    keys_json = load_keyring(key_dir).public_keys_json()  # a bundle's keys.json
    assert check_keys_against_statement(keys_json, trusted) is None
    assert (
        check_keys_against_statement({second.key_id: b64encode(raw_public_key(second.public_key))}, trusted)
        is None
    )

    stranger = Signer.generate()
    with_stranger = {
        **keys_json,
        stranger.key_id: {"public_key": b64encode(raw_public_key(stranger.public_key))},
    }
    assert (
        check_keys_against_statement(with_stranger, trusted)
        == f"key {stranger.key_id} is not in the key statement"
    )

    swapped = {second.key_id: b64encode(raw_public_key(stranger.public_key))}
    assert "public key differs" in check_keys_against_statement(swapped, trusted)


def test_a_key_used_outside_its_statement_window_fails(rotated) -> None:
    key_dir, first, second = rotated
    trusted = verify_key_statement(_build(key_dir))
    keys_json = load_keyring(key_dir).public_keys_json()
    inside = [(first.key_id, "2026-03-01T00:00:00Z"), (second.key_id, "2026-07-01T00:00:00Z")]
    assert check_keys_against_statement(keys_json, trusted, signed_at=inside) is None
    late = [(first.key_id, "2026-07-01T00:00:00Z")]
    problem = check_keys_against_statement(keys_json, trusted, signed_at=late)
    assert problem == (
        f"key {first.key_id} signed at 2026-07-01T00:00:00Z, outside its window [{T0}, {T1}) in the key statement"
    )
    # The returned keyring applies the same windows to every signature it checks.
    message = b"entry hash"
    assert (
        trusted.check(first.key_id, "2026-07-01T00:00:00.000000Z", message, first.sign(message)) is not None
    )
    assert trusted.check(first.key_id, "2026-03-01T00:00:00.000000Z", message, first.sign(message)) is None


# -- CLI ------------------------------------------------------------------------------------


def _keygen(key_dir: Path) -> dict[str, Any]:
    result = runner.invoke(app, ["ledger", "keygen", "--out", str(key_dir)])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_cli_key_statement_writes_the_statement_and_prints_ids_and_fingerprints(tmp_path: Path) -> None:
    key_dir = tmp_path / "keys"
    first = _keygen(key_dir)["key_id"]
    second = _keygen(key_dir)["key_id"]  # a rotation
    out = tmp_path / "statement.json"
    result = runner.invoke(
        app,
        [
            "ledger",
            "key",
            "statement",
            "--key",
            str(key_dir),
            "--licensee",
            LICENSEE,
            "--origin",
            ORIGIN,
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    statement = json.loads(out.read_text("utf-8"))
    assert out.read_text("utf-8").startswith('{\n  "format": "noticeflow-key-statement/1",')
    assert verify_key_statement(statement).active == second
    for key in statement["keys"]:
        assert f"{key['key_id']}  {key['fingerprint']}" in result.stdout
    assert f"signed by {second}, {first}" in result.stdout
    assert key_id_for(load_signer(key_dir).public_key) == second

    check = runner.invoke(app, ["ledger", "key", "verify-statement", str(out)])
    assert check.exit_code == 0, check.output
    assert check.stdout.startswith(f"OK: key statement of {LICENSEE} (origin {ORIGIN}")


def test_cli_verify_statement_fails_with_exit_1_on_a_changed_statement(tmp_path: Path) -> None:
    key_dir = tmp_path / "keys"
    _keygen(key_dir)
    _keygen(key_dir)
    out = tmp_path / "statement.json"
    runner.invoke(
        app, ["ledger", "key", "statement", "--key", str(key_dir), "--licensee", LICENSEE, "--out", str(out)]
    )
    statement = json.loads(out.read_text("utf-8"))
    statement["keys"][0]["valid_until"] = None  # claim the retired key is still in use
    out.write_text(json.dumps(statement), "utf-8")
    result = runner.invoke(app, ["ledger", "key", "verify-statement", str(out)])
    assert result.exit_code == 1
    assert result.stdout.startswith(f"FAILED: {out}: keys[0] (")


def test_cli_verify_statement_checks_it_extends_an_earlier_statement(tmp_path: Path) -> None:
    key_dir = tmp_path / "keys"
    _keygen(key_dir)
    earlier = tmp_path / "2026.json"
    later = tmp_path / "2027.json"
    base = ["ledger", "key", "statement", "--key", str(key_dir), "--licensee", LICENSEE]
    assert runner.invoke(app, [*base, "--out", str(earlier)]).exit_code == 0
    _keygen(key_dir)
    assert runner.invoke(app, [*base, "--out", str(later)]).exit_code == 0
    result = runner.invoke(app, ["ledger", "key", "verify-statement", str(later), "--earlier", str(earlier)])
    assert result.exit_code == 0, result.output
    assert f"extends {earlier}" in result.stdout


def test_cli_verify_statement_exits_2_on_unreadable_input(tmp_path: Path) -> None:
    bad = tmp_path / "statement.json"
    bad.write_text("{not json", "utf-8")
    result = runner.invoke(app, ["ledger", "key", "verify-statement", str(bad)])
    assert result.exit_code == 2 and "is not a JSON key statement" in result.output
    missing = runner.invoke(app, ["ledger", "key", "verify-statement", str(tmp_path / "nope.json")])
    assert missing.exit_code == 2 and "cannot read" in missing.output


def test_cli_key_statement_reads_licensee_origin_and_keys_from_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from noticeflow.settings import get_settings

    monkeypatch.setenv("NOTICEFLOW_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("NOTICEFLOW_LICENSEE_NAME", LICENSEE)
    monkeypatch.setenv("NOTICEFLOW_LEDGER_ORIGIN", ORIGIN)
    get_settings.cache_clear()
    try:
        key_id = _keygen(tmp_path / "home" / "keys")["key_id"]
        result = runner.invoke(app, ["ledger", "key", "statement"])
        assert result.exit_code == 0, result.output
        statement = json.loads(result.stdout)  # no --out: the JSON alone on stdout
        assert (statement["licensee"], statement["origin"]) == (LICENSEE, ORIGIN)
        assert [k["key_id"] for k in statement["keys"]] == [key_id]
        assert key_id in result.stderr
    finally:
        get_settings.cache_clear()


def test_cli_key_statement_without_a_licensee_names_the_option(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from noticeflow.settings import get_settings

    monkeypatch.delenv("NOTICEFLOW_LICENSEE_NAME", raising=False)
    get_settings.cache_clear()
    try:
        _keygen(tmp_path / "keys")
        result = runner.invoke(app, ["ledger", "key", "statement", "--key", str(tmp_path / "keys")])
        assert result.exit_code == 2 and "--licensee: required" in result.output
    finally:
        get_settings.cache_clear()


def test_the_documented_key_statement_example_recomputes_from_the_example_key() -> None:
    """docs/ledger-format.md §12: the statement of the §9 key."""
    doc = (REPO / "docs" / "ledger-format.md").read_text("utf-8")
    block = re.search(r"<!-- example:key-statement -->\n```json\n(.*?)\n```", doc, re.DOTALL).group(1)
    signer = Signer(
        Ed25519PrivateKey.from_private_bytes(hashlib.sha256(b"noticeflow ledger-format example key").digest())
    )
    record = PublicKeyRecord(signer.key_id, raw_public_key(signer.public_key), "2026-01-01T00:00:00.000000Z")
    statement = build_key_statement(
        Keyring({signer.key_id: record}, active=signer.key_id),
        [signer],
        licensee=LICENSEE,
        origin="noticeflow.example/ledger",
        issued_at="2026-03-02T15:00:00.000000Z",
    )
    assert block == json.dumps(statement, indent=2, ensure_ascii=False)
    assert verify_key_statement(json.loads(block)).active == "ed25519:89f76f812a77a188"


def test_a_signature_whose_key_id_is_not_a_string_is_refused_with_a_typed_error(tmp_path: Path) -> None:
    from ledger.key_statement import KeyStatementError, build_key_statement, verify_key_statement
    from ledger.keys import generate_key, load_keyring

    generate_key(tmp_path / "keys")
    statement = build_key_statement(load_keyring(tmp_path / "keys"), tmp_path / "keys", licensee="Cumberland Mutual",
                                    origin="noticeflow.example/ledger")
    statement["signatures"][0]["key_id"] = [statement["signatures"][0]["key_id"]]
    with pytest.raises(KeyStatementError, match=r"signatures\[0\]: key_id and sig must be strings"):
        verify_key_statement(statement)
