"""Signing keys: file modes, passphrases, rotation, retired and unknown keys."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from ledger.errors import LedgerKeyError
from ledger.keys import Keyring, generate_key, load_keyring, load_signer
from ledger.store import Ledger
from ledger.verify import verify_entries
from tests.ledger.conftest import draft


def test_keygen_writes_a_private_key_readable_only_by_its_owner(tmp_path: Path) -> None:
    signer = generate_key(tmp_path / "k")
    private = tmp_path / "k" / f"{signer.key_id.replace(':', '-')}.pem"
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    assert b"PRIVATE KEY" in private.read_bytes()
    ring = json.loads((tmp_path / "k" / "keyring.json").read_text())
    assert ring["active"] == signer.key_id
    assert ring["keys"][signer.key_id]["valid_until"] is None


def test_encrypted_key_needs_its_passphrase(tmp_path: Path) -> None:
    signer = generate_key(tmp_path / "k", passphrase="correct horse")
    private = tmp_path / "k" / f"{signer.key_id.replace(':', '-')}.pem"
    assert b"ENCRYPTED PRIVATE KEY" in private.read_bytes()
    with pytest.raises(LedgerKeyError, match="passphrase-encrypted"):
        load_signer(tmp_path / "k")
    with pytest.raises(LedgerKeyError, match="wrong passphrase"):
        load_signer(tmp_path / "k", "battery staple")
    assert load_signer(tmp_path / "k", "correct horse").key_id == signer.key_id


def test_missing_key_directory_says_how_to_create_one(tmp_path: Path) -> None:
    with pytest.raises(LedgerKeyError, match="noticeflow ledger keygen"):
        load_signer(tmp_path / "nowhere")


def test_rotation_keeps_old_entries_verifiable(tmp_path: Path) -> None:
    keys = tmp_path / "k"
    old = generate_key(keys, now="2020-01-01T00:00:00.000000Z")
    url = f"sqlite:///{tmp_path / 'l.db'}"
    ledger = Ledger.open(url, load_signer(keys))
    ledger.append_many([draft(n) for n in range(1, 4)])
    new = generate_key(keys)  # rotation: the old key is retired from now on
    ledger.signer = load_signer(keys)
    ledger.append_many([draft(n) for n in range(4, 7)])
    ring = load_keyring(keys)
    assert ring.active == new.key_id and ring.get(old.key_id).valid_until == ring.get(new.key_id).valid_from
    assert [e.key_id for e in ledger.entries()] == [old.key_id] * 3 + [new.key_id] * 3
    report = verify_entries(ledger.iter_raw(), ring, [ledger.sign_tree_head()])
    assert report.ok, report.problem


def test_entry_signed_by_a_retired_key_fails(tmp_path: Path) -> None:
    keys = tmp_path / "k"
    generate_key(keys, now="2020-01-01T00:00:00.000000Z")
    retired_signer = load_signer(keys)
    generate_key(keys)
    ledger = Ledger.open(f"sqlite:///{tmp_path / 'l.db'}", retired_signer)  # a worker that missed the rotation
    ledger.append(draft(1))
    report = verify_entries(ledger.iter_raw(), load_keyring(keys))
    assert report.problem.seq == 1 and "retired" in report.problem.what


def test_entry_signed_by_an_unknown_key_fails(tmp_path: Path) -> None:
    generate_key(tmp_path / "a")
    generate_key(tmp_path / "b")
    ledger = Ledger.open(f"sqlite:///{tmp_path / 'l.db'}", load_signer(tmp_path / "b"))
    ledger.append(draft(1))
    report = verify_entries(ledger.iter_raw(), load_keyring(tmp_path / "a"))
    assert report.problem.seq == 1 and "unknown key" in report.problem.what


def test_keyring_with_a_bad_public_key_names_the_key(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    path.write_text(json.dumps({"ed25519:abc": {"public_key": "AAAA", "valid_from": "2020-01-01T00:00:00Z"}}))
    with pytest.raises(LedgerKeyError, match=r"keys\[ed25519:abc\]\.public_key: 3 bytes, expected 32"):
        Keyring.load(path)
