"""Checkpoints as C2SP signed notes (c2sp.org/signed-note, c2sp.org/tlog-checkpoint).

Known answers come from outside this code: the Go ``golang.org/x/mod/sumdb/note`` examples
(PeterNeumann / EnochRoot) and a checkpoint signed by the Go checksum database
(sum.golang.org). A checkpoint is also built byte by byte from the spec's rules with
``cryptography`` alone and compared with what ledger/checkpoint.py writes.
"""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from ledger.checkpoint import (
    Checkpoint,
    CheckpointError,
    checkpoint_body,
    keyring_verifier_keys,
    note_key_hash,
    note_verifier_key,
    open_note,
    parse_checkpoint,
    parse_verifier_key,
    sign_checkpoint,
    sign_note,
    verify_checkpoint,
)
from ledger.errors import LedgerError
from ledger.keys import (
    Keyring,
    PublicKeyRecord,
    Signer,
    generate_key,
    load_keyring,
    load_signer,
    raw_public_key,
)
from ledger.merkle import MerkleTree
from tests.conftest import REPO

EM_DASH = "\u2014"

# -- golang.org/x/mod/sumdb/note, example_test.go (ExampleSign, ExampleSign_add_signatures) ----
GO_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
ENOCH_VKEY = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop"  # seed: 32 zero bytes
GO_TEXT = (
    "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n"
)
PETER_LINE = "— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
ENOCH_LINE = "— EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n"

# -- a checkpoint of the Go checksum database, as in transparency-dev/formats log tests -----
SUMDB_VKEY = "sum.golang.org+033de0ae+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuAn8"
SUMDB_CHECKPOINT = (
    "go.sum database tree\n6476701\nmb8QLQIs0Z0yP5Cstq6guj87oXWeC9gEM8oVikmm9Wk=\n\n"
    "— sum.golang.org Az3grsLX85Gz+s1SiTbgkuqxgItqFq7gsMUEyVnrsa9LM7Us9S+1xbFIGu95949rj4nPRYfvimWEPWL+o3GeoWwOoAw=\n"
)

ORIGIN = "ledger.acme-mutual.example/notices"


def _go_signer(skey: str) -> Signer:
    typed = base64.b64decode(skey.split("+", 4)[4])  # PRIVATE+KEY+name+hash+key
    assert typed[0] == 0x01
    return Signer(Ed25519PrivateKey.from_private_bytes(typed[1:]))


def _verifiers(*vkeys: str) -> dict:
    found: dict = {}
    for vkey in vkeys:
        name, key_hash, raw = parse_verifier_key(vkey)
        found[(name, key_hash)] = [Ed25519PublicKey.from_public_bytes(raw)]
    return found


@pytest.fixture
def example() -> tuple[Signer, Keyring]:
    """A fixed key (seed = SHA-256 of a text), valid from 2026, and its keyring."""
    private = Ed25519PrivateKey.from_private_bytes(hashlib.sha256(b"noticeflow checkpoint test key").digest())
    signer = Signer(private)
    record = PublicKeyRecord(signer.key_id, raw_public_key(signer.public_key), "2026-01-01T00:00:00.000000Z")
    return signer, Keyring({signer.key_id: record}, active=signer.key_id)


ROOT = MerkleTree([hashlib.sha256(f"entry {n}".encode()).digest() for n in range(1, 8)]).root()


# -- known answers --------------------------------------------------------------------------


def test_sign_note_reproduces_the_go_sumdb_note_example_byte_for_byte() -> None:
    peter = _go_signer(GO_SKEY)
    assert note_verifier_key("PeterNeumann", raw_public_key(peter.public_key)) == GO_VKEY
    assert note_key_hash("PeterNeumann", raw_public_key(peter.public_key)).hex() == "c74f20a3"
    assert sign_note(GO_TEXT, [("PeterNeumann", peter)]) == GO_TEXT + "\n" + PETER_LINE


def test_a_second_signer_appends_its_line_as_go_does_for_enoch_root() -> None:
    enoch = Signer(Ed25519PrivateKey.from_private_bytes(bytes(32)))
    assert note_verifier_key("EnochRoot", raw_public_key(enoch.public_key)) == ENOCH_VKEY
    both = sign_note(GO_TEXT, [("PeterNeumann", _go_signer(GO_SKEY)), ("EnochRoot", enoch)])
    assert both == GO_TEXT + "\n" + PETER_LINE + ENOCH_LINE


def test_open_note_accepts_the_go_example_under_its_verifier_key_only() -> None:
    text, _, verified = open_note(GO_TEXT + "\n" + PETER_LINE, _verifiers(GO_VKEY))
    assert text == GO_TEXT
    assert [(s.name, s.key_hash.hex()) for s in verified] == [("PeterNeumann", "c74f20a3")]
    with pytest.raises(CheckpointError, match="no signature by a known key"):
        open_note(GO_TEXT + "\n" + PETER_LINE, _verifiers(ENOCH_VKEY))
    changed = GO_TEXT.replace("problem,", "problem;") + "\n" + PETER_LINE
    with pytest.raises(CheckpointError, match="does not verify"):
        open_note(changed, _verifiers(GO_VKEY))


def test_a_checkpoint_signed_by_the_go_checksum_database_parses_and_verifies() -> None:
    checkpoint = parse_checkpoint(SUMDB_CHECKPOINT)
    assert (checkpoint.origin, checkpoint.tree_size) == ("go.sum database tree", 6476701)
    assert checkpoint.root_hash == base64.b64decode("mb8QLQIs0Z0yP5Cstq6guj87oXWeC9gEM8oVikmm9Wk=").hex()
    assert checkpoint.signatures[0].key_hash.hex() == "033de0ae"
    text, _, verified = open_note(SUMDB_CHECKPOINT, _verifiers(SUMDB_VKEY))
    assert text == checkpoint.body and len(verified) == 1
    with pytest.raises(CheckpointError, match="does not verify"):
        open_note(SUMDB_CHECKPOINT.replace("6476701", "6476702"), _verifiers(SUMDB_VKEY))


def test_verifier_key_strings_that_do_not_match_their_key_are_refused() -> None:
    assert parse_verifier_key(SUMDB_VKEY)[0] == "sum.golang.org"  # '+' inside the base64 is fine
    name, key_hash, raw = parse_verifier_key(GO_VKEY)
    assert (name, key_hash.hex()) == ("PeterNeumann", "c74f20a3")
    for bad in (
        GO_VKEY.replace("c74f20a3", "c74f20a4"),  # key ID of another key
        GO_VKEY.replace("PeterNeumann", "PaulNeumann"),  # ID no longer matches the name
        "PeterNeumann+c74f20a3+" + base64.b64encode(b"\x02" + raw).decode(),  # not Ed25519
        "Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
    ):
        with pytest.raises(CheckpointError):
            parse_verifier_key(bad)


# -- noticeflow checkpoints -----------------------------------------------------------------


def _by_hand(private: Ed25519PrivateKey, origin: str, size: int, root: bytes) -> str:
    """The checkpoint per the C2SP rules, using only hashlib, base64 and cryptography."""
    public = private.public_key().public_bytes_raw()
    body = f"{origin}\n{size}\n{base64.b64encode(root).decode()}\n"
    key_id = hashlib.sha256(origin.encode() + b"\x0a" + b"\x01" + public).digest()[:4]
    signature = private.sign(body.encode("utf-8"))
    return body + "\n" + EM_DASH + " " + origin + " " + base64.b64encode(key_id + signature).decode() + "\n"


def test_sign_checkpoint_writes_exactly_the_note_built_by_hand_from_the_c2sp_rules(example) -> None:
    signer, keyring = example
    private = Ed25519PrivateKey.from_private_bytes(hashlib.sha256(b"noticeflow checkpoint test key").digest())
    expected = _by_hand(private, ORIGIN, 7, ROOT)
    assert sign_checkpoint(signer, ORIGIN, 7, ROOT) == expected
    assert checkpoint_body(ORIGIN, 7, ROOT) == expected.split("\n\n")[0] + "\n"
    checkpoint = verify_checkpoint(expected, keyring, ORIGIN)
    assert checkpoint == Checkpoint(
        ORIGIN, 7, ROOT.hex(), [], parse_checkpoint(expected).signatures, [signer.key_id]
    )


def test_the_empty_tree_checkpoint_has_size_0_and_the_hash_of_nothing(example) -> None:
    signer, keyring = example
    empty = hashlib.sha256(b"").digest()
    note = sign_checkpoint(signer, ORIGIN, 0, empty)
    assert note.startswith(f"{ORIGIN}\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n\n")
    assert verify_checkpoint(note, keyring).tree_size == 0


def _swap_line(note: str, index: int, new: str) -> str:
    lines = note.split("\n")
    lines[index] = new
    return "\n".join(lines)


def _flip_sig_byte(note: str) -> str:
    body, line = note[:-1].rsplit("\n", 1)
    prefix, b64 = line.rsplit(" ", 1)
    raw = bytearray(base64.b64decode(b64))
    raw[10] ^= 0x01
    return f"{body}\n{prefix} {base64.b64encode(bytes(raw)).decode()}\n"


TAMPERS = {
    "tree size": (lambda n: _swap_line(n, 1, "8"), "does not verify"),
    "root hash": (lambda n: _swap_line(n, 2, base64.b64encode(bytes(32)).decode()), "does not verify"),
    "origin, signature line kept": (
        lambda n: _swap_line(n, 0, "ledger.other.example/notices"),
        "no signature by a known key",
    ),
    "origin and signature name": (
        lambda n: n.replace(ORIGIN, "ledger.other.example/notices"),
        "no signature by a known key",
    ),
    "signature byte": (_flip_sig_byte, "does not verify"),
    "blank line before the signatures": (lambda n: n.replace("\n\n", "\n\n\n"), "body line 4: empty"),
    "blank line inside the body": (lambda n: n.replace("\n7\n", "\n\n7\n", 1), "line 2: empty"),
    "size with a leading zero": (lambda n: _swap_line(n, 1, "07"), "leading zeros"),
    "size with a plus sign": (lambda n: _swap_line(n, 1, "+7"), "not a decimal"),
    "root of 31 bytes": (lambda n: _swap_line(n, 2, base64.b64encode(bytes(31)).decode()), "32 bytes"),
    "root not base64": (lambda n: _swap_line(n, 2, "not*base64"), "not standard base64"),
    "hyphen for the em dash": (lambda n: n.replace(EM_DASH, "-"), "not a signature line"),
    "CRLF line ends": (lambda n: n.replace("\n", "\r\n"), "control character U\\+000D"),
    "no final newline": (lambda n: n[:-1], "does not end with a newline"),
    "no signature block": (lambda n: n.split("\n\n")[0] + "\n", "no blank line"),
    "two lines in the body": (
        lambda n: "\n".join(n.split("\n")[1:]),
        r"body has 2 line\(s\); it needs origin, tree size and root hash",
    ),
}


@pytest.mark.parametrize("case", TAMPERS, ids=list(TAMPERS))
def test_a_changed_checkpoint_fails_verification_naming_what_is_wrong(example, case: str) -> None:
    signer, keyring = example
    change, message = TAMPERS[case]
    with pytest.raises(CheckpointError, match=message) as failure:
        verify_checkpoint(change(sign_checkpoint(signer, ORIGIN, 7, ROOT)), keyring)
    assert isinstance(failure.value, LedgerError)


def test_an_unexpected_origin_is_refused_even_when_the_signature_holds(example) -> None:
    signer, keyring = example
    with pytest.raises(CheckpointError, match="checkpoint origin .* expected 'noticeflow.example/ledger'"):
        verify_checkpoint(sign_checkpoint(signer, ORIGIN, 7, ROOT), keyring, "noticeflow.example/ledger")


def test_signatures_by_unknown_keys_are_ignored_and_one_known_good_signature_suffices(example) -> None:
    signer, keyring = example
    stranger = Signer.generate()
    note = sign_note(
        checkpoint_body(ORIGIN, 7, ROOT),
        [("witness.example/w1", stranger), (ORIGIN, stranger), (ORIGIN, signer)],
    )
    checkpoint = verify_checkpoint(note, keyring)
    assert checkpoint.verified_by == [signer.key_id] and len(checkpoint.signatures) == 3
    only_strangers = sign_note(checkpoint_body(ORIGIN, 7, ROOT), [(ORIGIN, stranger)])
    with pytest.raises(CheckpointError, match="no signature by a known key"):
        verify_checkpoint(only_strangers, keyring)


def test_a_bad_signature_by_a_known_key_rejects_the_note_even_beside_a_good_one(example) -> None:
    signer, keyring = example
    good = sign_checkpoint(signer, ORIGIN, 7, ROOT)
    bad_line = _flip_sig_byte(good).rsplit("\n", 2)[-2]
    with pytest.raises(CheckpointError, match="does not verify"):
        verify_checkpoint(good + bad_line + "\n", keyring)


def test_a_note_with_more_than_100_signature_lines_is_refused(example) -> None:
    signer, keyring = example
    note = sign_checkpoint(signer, ORIGIN, 7, ROOT)
    line = note.rsplit("\n", 2)[-2] + "\n"
    with pytest.raises(CheckpointError, match="more than 100"):
        verify_checkpoint(note + line * 100, keyring)


def test_extension_lines_are_parsed_and_signed_with_the_body(example) -> None:
    signer, keyring = example
    note = sign_note(checkpoint_body(ORIGIN, 7, ROOT, ["ts 2026-03-02T14:05:10Z"]), [(ORIGIN, signer)])
    assert verify_checkpoint(note, keyring).extensions == ["ts 2026-03-02T14:05:10Z"]
    with pytest.raises(CheckpointError, match="does not verify"):
        verify_checkpoint(note.replace("14:05:10Z", "14:05:11Z"), keyring)


@pytest.mark.parametrize(
    ("origin", "size", "root", "message"),
    [
        ("noticeflow example/ledger", 7, ROOT, "must not contain spaces or '\\+'"),
        ("noticeflow.example+ledger", 7, ROOT, "must not contain spaces or '\\+'"),
        ("", 7, ROOT, "empty"),
        (ORIGIN, -1, ROOT, "tree size -1"),
        (ORIGIN, True, ROOT, "tree size True"),
        (ORIGIN, 7, ROOT[:31], "32 raw bytes"),
    ],
)
def test_sign_checkpoint_refuses_what_a_checkpoint_cannot_state(example, origin, size, root, message) -> None:
    signer, _ = example
    with pytest.raises(CheckpointError, match=message):
        sign_checkpoint(signer, origin, size, root)


# -- keyring integration --------------------------------------------------------------------


def test_checkpoints_verify_under_each_keyring_key_and_its_validity_window(tmp_path: Path) -> None:
    key_dir = tmp_path / "keys"
    first = generate_key(key_dir, now="2026-01-01T00:00:00.000000Z")
    second = generate_key(key_dir, now="2026-06-01T00:00:00.000000Z")
    keyring = load_keyring(key_dir)
    before = keyring.to_json()
    old_note = sign_checkpoint(first, ORIGIN, 7, ROOT)
    new_note = sign_checkpoint(load_signer(key_dir), ORIGIN, 9, ROOT)
    assert verify_checkpoint(old_note, keyring).verified_by == [first.key_id]
    assert verify_checkpoint(new_note, keyring).verified_by == [second.key_id]
    assert verify_checkpoint(old_note, keyring, at="2026-03-01T00:00:00Z").tree_size == 7
    with pytest.raises(CheckpointError, match=f"signed by key '{first.key_id}' outside its validity"):
        verify_checkpoint(old_note, keyring, at="2026-07-01T00:00:00Z")
    assert keyring.to_json() == before  # the keyring is read, not changed
    vkeys = keyring_verifier_keys(keyring, ORIGIN)
    assert vkeys[second.key_id] == note_verifier_key(ORIGIN, raw_public_key(second.public_key))
    assert parse_verifier_key(vkeys[second.key_id])[2] == raw_public_key(second.public_key)


def test_parse_checkpoint_accepts_bytes_and_refuses_invalid_utf8(example) -> None:
    signer, _ = example
    note = sign_checkpoint(signer, ORIGIN, 7, ROOT)
    assert parse_checkpoint(note.encode("utf-8")) == parse_checkpoint(note)
    with pytest.raises(CheckpointError, match="not valid UTF-8"):
        parse_checkpoint(note.encode("utf-8").replace(b"\xe2\x80\x94", b"\xe2\x80"))


def test_the_documented_checkpoint_example_recomputes_from_the_example_key() -> None:
    """docs/ledger-format.md §11: the checkpoint of the §9 key, tree size 1."""
    doc = (REPO / "docs" / "ledger-format.md").read_text("utf-8")
    block = re.search(r"<!-- example:checkpoint -->\n```\n(.*?)```", doc, re.DOTALL).group(1)
    signer = Signer(
        Ed25519PrivateKey.from_private_bytes(hashlib.sha256(b"noticeflow ledger-format example key").digest())
    )
    root = bytes.fromhex("963bb346ca77a55c7a7a8e5d7bee5832a5dcf4e1d2bfba2df6531f37a98683f2")
    assert block == sign_checkpoint(signer, "noticeflow.example/ledger", 1, root)
    vkey = note_verifier_key("noticeflow.example/ledger", raw_public_key(signer.public_key))
    assert f"(verifier key\n`{vkey}`)" in doc
