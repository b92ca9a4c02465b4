#!/usr/bin/env python3
"""Verify a noticeflow examination bundle (``noticeflow-ledger-bundle/2``) offline.

    python3 verify_bundle.py BUNDLE [--trusted-keys STATEMENT] [--known-checkpoint FILE]... [--json]

This is the examiner's verifier. It is one file, needs Python 3.11+ and the ``cryptography``
package (``pip install cryptography``) and nothing of noticeflow: it implements noticeflow's
published ledger format (docs/ledger-format.md) from the standards cited below, so a bundle is
checked without trusting the software of the licensee that produced it. Do not run a verifier
that came inside a bundle; take this file from the published source and compare its SHA-256
with the one printed in docs/ledger-format.md ("The external verifier").

What it checks, in this order. It stops at the first failure and names the file, the entry
``seq`` or the checkpoint concerned.

1. ``manifest.sig`` is an Ed25519 signature (RFC 8032) of the exact bytes of ``manifest.json``
   by the manifest's ``key_id``, a key valid at ``generated_at``; the manifest format is known.
2. Every file the manifest lists is present with the SHA-256 it states, no other file is
   present, and each ``documents/<sha256>.<ext>`` has the digest its name states.
3. ``tree_head.json`` is signed; ``checkpoint.txt`` is a C2SP signed note (tlog-checkpoint)
   that verifies and states the same tree size and root; so does the manifest.
4. Entries: the exact field set of their format version (v1, or v2 with the per-stream chain),
   ``hash`` = SHA-256 of their RFC 8785 canonical JSON, ``sig`` by a key valid at their ``ts``.
   A complete bundle: seq 1..n with no gap, the ``prev_hash`` chain, ``ts`` never running
   backwards, every stream's ``stream_seq``/``stream_prev_hash`` chain, and the RFC 9162 Merkle
   tree hash of all entries equal to the signed root with n equal to the tree size.
   A filtered bundle: an RFC 9162 inclusion proof for every entry and boundary entry; for every
   stream an unbroken stream chain from stream position 1 (or a boundary entry before the time
   window) to the last entry named by its signed stream head (or a boundary entry after the
   window); every entry inside the bundle's filter; counts equal to the manifest's.
5. ``consistency.jsonl``: each RFC 9162 consistency proof, from a tree size the ledger signed
   earlier to this bundle's, verifies.
6. Each ``--known-checkpoint FILE`` (a checkpoint the examiner already holds, e.g. from a
   filing) verifies under the trusted keys, and the bundle's tree extends it.
7. Trust: with ``--trusted-keys`` the licensee's key statement (``noticeflow-key-statement/1``)
   is the only source of keys. It is checked on its own first (§12): exactly its fields, a
   licensee and an origin that is a note key name; each key's id, fingerprint and verifier key
   recomputed, keys oldest first with each retired key's window closed by its successor's start;
   issued_at not before the newest key; each listed key signing at most once, the newest key and,
   on rotation, the key before it. A statement that does not verify is unusable input (exit 2).
   Without it the keys come from the bundle's ``keys.json``, and the output says they are
   unauthenticated.

Exit status: 0 verified, 1 verification failed, 2 usage error or unreadable input. The first
line of output is ``OK: …`` or ``FAILED: <what>``; ``--json`` prints one JSON object instead.

Standards: RFC 8785 (JSON Canonicalization Scheme) §3.2; RFC 8032 §5.1 (Ed25519); RFC 9162
(Certificate Transparency 2.0) §2.1.1 Merkle Tree Hash, §2.1.3.2 inclusion and §2.1.4.2
consistency proof verification; c2sp.org/tlog-checkpoint and c2sp.org/signed-note; RFC 3339
timestamps. Section numbers "§n" without an RFC refer to docs/ledger-format.md.

Length: about 1350 lines. It is a single file on purpose, so that an examiner fetches, hashes
and reads one thing; the noticeflow project's 800-line limit applies to its package modules.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import hashlib
import json
import os
import re
import sys
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import pairwise
from pathlib import Path
from typing import Any

try:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
except ImportError:  # pragma: no cover - depends on the examiner's machine
    sys.stderr.write("verify_bundle.py needs the 'cryptography' package: pip install cryptography\n")
    raise SystemExit(2) from None

BUNDLE_FORMAT = "noticeflow-ledger-bundle/2"
STREAM_HEADS_FORMAT = "noticeflow-stream-heads/1"
STATEMENT_FORMAT = "noticeflow-key-statement/1"
ZERO_HASH = "0" * 64
MAX_SAFE_INTEGER = 2**53 - 1

#: The hashed fields of a version 1 entry (§2); a v2 entry adds three (issue 10 spec A).
V1_FIELDS = ("seq", "ts", "stream", "type", "step", "workflow_id", "run_id", "jurisdiction",
             "citation", "actor", "data", "prev_hash", "key_id")
V2_FIELDS = (*V1_FIELDS, "v", "stream_seq", "stream_prev_hash")
TREE_HEAD_FIELDS = ("tree_size", "root_hash", "timestamp", "key_id", "sig")
STREAM_HEAD_FIELDS = ("stream", "stream_size", "last_hash", "tree_size", "root_hash",
                      "timestamp", "key_id", "sig")
#: The files every bundle lists in its manifest (§8.1); report.pdf and documents/ come and go.
REQUIRED_FILES = ("entries.jsonl", "keys.json", "tree_head.json", "checkpoint.txt", "proofs.jsonl",
                  "stream_heads.json", "boundaries.jsonl", "consistency.jsonl", "privilege_log.json",
                  "report.html", "VERIFY.md")
MANIFEST_FIELDS = ("format", "generated_at", "key_id", "filter", "completeness", "entry_count",
                   "boundary_count", "tree_size", "root_hash", "streams", "missing_documents", "files")
UNSIGNED_FILES = ("manifest.json", "manifest.sig")

_HEX64 = re.compile(r"^[0-9a-f]{64}$")


class Failed(Exception):
    """The bundle does not verify. The message names the file, entry seq or checkpoint."""


class Unreadable(Exception):
    """A usage error or an input that cannot be read at all (exit status 2)."""


class ProofError(ValueError):
    """An RFC 9162 proof does not verify; the message says why."""


# ------------------------------------------------------------------------------------------
# Strict JSON input and RFC 8785 canonical output
# ------------------------------------------------------------------------------------------


def _reject_float(text: str) -> Any:
    raise ValueError(f"number {text} is not an integer; the format has no floating-point numbers")


def _reject_constant(text: str) -> Any:
    raise ValueError(f"{text} is not JSON")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj: dict[str, Any] = {}
    for key, value in pairs:
        if key in obj:
            raise ValueError(f"member {key!r} appears twice in one object")
        obj[key] = value
    return obj


def parse_json(text: str) -> Any:
    """JSON as the format allows it: no floats, no NaN/Infinity, no duplicate member names
    (each would make the canonical form, and so the hash, ambiguous). Raises ``ValueError``."""
    try:
        return json.loads(text, parse_float=_reject_float, parse_constant=_reject_constant,
                          object_pairs_hook=_no_duplicates)
    except RecursionError:
        raise ValueError("nested too deeply") from None


_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}
_NEEDS_ESCAPE = re.compile(r'["\\\x00-\x1f]')


def _escape(match: re.Match[str]) -> str:
    ch = match.group()
    return _ESCAPES.get(ch) or f"\\u{ord(ch):04x}"


def canonical_string(text: str) -> str:
    """A JSON string as ECMAScript JSON.stringify writes it (RFC 8785 §3.2.2.2): only ``"``,
    ``\\`` and U+0000–U+001F are escaped (``\\b \\t \\n \\f \\r`` or ``\\u00xx``, lowercase hex)."""
    return '"' + _NEEDS_ESCAPE.sub(_escape, text) + '"'


def _utf16_key(name: str) -> bytes:
    # Big-endian UTF-16 bytes compare exactly as the sequences of UTF-16 code units do.
    return name.encode("utf-16-be", "surrogatepass")


def _canonical(value: Any, path: str) -> str:
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        if abs(value) > MAX_SAFE_INTEGER:
            raise ValueError(f"{path}: integer {value} is beyond 2^53-1 (RFC 8785 §3.2.2.3)")
        return str(value)
    if isinstance(value, str):
        return canonical_string(value)
    if isinstance(value, list):
        return "[" + ",".join(_canonical(v, f"{path}[{i}]") for i, v in enumerate(value)) + "]"
    if isinstance(value, dict):
        names = sorted(value, key=_utf16_key)  # RFC 8785 §3.2.3
        return "{" + ",".join(f"{canonical_string(k)}:{_canonical(value[k], f'{path}.{k}')}"
                              for k in names) + "}"
    raise ValueError(f"{path}: {type(value).__name__} is not a value the format allows (no floats)")


def canonical_json(value: Any) -> bytes:
    """RFC 8785 canonical JSON (UTF-8) of a value made of strings, integers within ±(2^53-1),
    booleans, null, arrays and objects; anything else raises ``ValueError``."""
    text = _canonical(value, "$")
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("a string holds a lone surrogate, which is not Unicode text") from None


# ------------------------------------------------------------------------------------------
# Small parsers: timestamps, base64, hex
# ------------------------------------------------------------------------------------------

_RFC3339 = re.compile(r"^\d{4}-\d\d-\d\d[Tt]\d\d:\d\d:\d\d(\.\d{1,9})?([Zz]|[+-]\d\d:\d\d)$")


def parse_time(value: Any, what: str) -> datetime:
    """An RFC 3339 timestamp with ``Z`` or an offset, as an aware UTC datetime."""
    if not isinstance(value, str) or not _RFC3339.match(value):
        raise Failed(f"{what}: {value!r} is not an RFC 3339 timestamp")
    try:
        return datetime.fromisoformat(value.upper()).astimezone(UTC)
    except ValueError:
        raise Failed(f"{what}: {value!r} is not a valid date and time") from None


def signed_json(obj: dict[str, Any], what: str) -> bytes:
    """What a head's ``sig`` signs: the canonical JSON of the head without ``sig`` (§6)."""
    try:
        return canonical_json({k: v for k, v in obj.items() if k != "sig"})
    except ValueError as exc:
        raise Failed(f"{what}: {exc}") from None


def b64decode(value: Any, what: str) -> bytes:
    """Standard base64 with padding, in its one canonical spelling; raises ``ValueError``."""
    if not isinstance(value, str):
        raise ValueError(f"{what} is not a string")
    try:
        raw = base64.b64decode(value.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        raise ValueError(f"{what} is not standard base64") from None
    if base64.b64encode(raw).decode("ascii") != value:
        raise ValueError(f"{what} is not canonical standard base64 (with padding)")
    return raw


def _b64_or_empty(value: str) -> bytes:
    try:
        return b64decode(value, "sig")
    except ValueError:
        return b""


def is_hex64(value: Any) -> bool:
    return isinstance(value, str) and bool(_HEX64.match(value))


def is_count(value: Any, minimum: int = 0) -> bool:
    return type(value) is int and minimum <= value <= MAX_SAFE_INTEGER


def short(hex_hash: str) -> str:
    return f"{hex_hash[:16]}…"


# ------------------------------------------------------------------------------------------
# Keys (§7) and the key statement (noticeflow-key-statement/1)
# ------------------------------------------------------------------------------------------


def key_id_of(raw: bytes) -> str:
    """``ed25519:`` + the first 16 hex digits of SHA-256 of the raw 32-byte public key (§2)."""
    return "ed25519:" + hashlib.sha256(raw).hexdigest()[:16]


def fingerprint_of(raw: bytes) -> str:
    return "SHA256:" + hashlib.sha256(raw).hexdigest()


def ed25519_verifies(raw_public_key: bytes, signature: bytes, message: bytes) -> bool:
    """Pure Ed25519 (RFC 8032 §5.1.7)."""
    try:
        Ed25519PublicKey.from_public_bytes(raw_public_key).verify(signature, message)
    except (InvalidSignature, ValueError):
        return False
    return True


@dataclass(frozen=True)
class Key:
    key_id: str
    raw: bytes
    valid_from: datetime
    valid_until: datetime | None

    def valid_at(self, moment: datetime) -> bool:
        """Whether ``moment`` lies in ``[valid_from, valid_until)`` (§7)."""
        return self.valid_from <= moment and (self.valid_until is None or moment < self.valid_until)

    def window(self) -> str:
        until = self.valid_until.isoformat() if self.valid_until else "still in use"
        return f"[{self.valid_from.isoformat()}, {until})"


@dataclass
class Trust:
    """The keys signatures are checked with, and where they came from."""

    keys: dict[str, Key]
    source: str  # "the trusted key statement" or "keys.json"
    anchored: bool
    origin: str | None = None
    licensee: str | None = None
    issued_at: str | None = None

    def check(self, key_id: Any, moment: datetime | None, message: bytes, sig: Any, what: str) -> None:
        """Raise ``Failed`` naming ``what`` unless ``sig`` (base64) is ``key_id``'s signature of
        ``message`` and the key was valid at ``moment`` (None: no time to check)."""
        key = self.keys.get(key_id) if isinstance(key_id, str) else None
        if key is None:
            raise Failed(f"{what}: signed by key {key_id!r}, which is not in {self.source}")
        if moment is not None and not key.valid_at(moment):
            raise Failed(f"{what}: signed by key {key_id!r} at {moment.isoformat()}, outside its "
                         f"validity {key.window()} — a retired or not-yet-valid key")
        try:
            signature = b64decode(sig, "sig")
        except ValueError as exc:
            raise Failed(f"{what}: {exc}") from None
        if not ed25519_verifies(key.raw, signature, message):
            raise Failed(f"{what}: the signature does not verify under key {key_id!r}")


def parse_key(key_id: Any, obj: Any, what: str, *, algorithm_required: bool) -> Key:
    if not isinstance(obj, dict):
        raise Failed(f"{what}: not a JSON object")
    algorithm = obj.get("algorithm") if algorithm_required else obj.get("algorithm", "ed25519")
    if algorithm != "ed25519":
        raise Failed(f"{what}: algorithm {algorithm!r}; only ed25519 is defined")
    try:
        raw = b64decode(obj.get("public_key"), "public_key")
    except ValueError as exc:
        raise Failed(f"{what}: {exc}") from None
    if len(raw) != 32:
        raise Failed(f"{what}: public_key is {len(raw)} bytes, not 32")
    if key_id != key_id_of(raw):
        raise Failed(f"{what}: key_id {key_id!r} does not name its public key ({key_id_of(raw)} does)")
    valid_from = parse_time(obj.get("valid_from"), f"{what}.valid_from")
    until = obj.get("valid_until")
    valid_until = None if until is None else parse_time(until, f"{what}.valid_until")
    return Key(key_id, raw, valid_from, valid_until)


def load_bundle_keys(bundle: Path) -> Trust:
    """The bundle's own keys.json (§7): usable, but not evidence of whose keys they are."""
    ring = read_json(bundle / "keys.json", "keys.json")
    if not isinstance(ring, dict) or not ring:
        raise Failed("keys.json: not a keyring (an object of key_id → public key)")
    keys = {kid: parse_key(kid, obj, f"keys.json: {kid}", algorithm_required=False) for kid, obj in ring.items()}
    return Trust(keys, "keys.json", anchored=False)


STATEMENT_FIELDS = ("format", "licensee", "origin", "issued_at", "keys", "signatures")
STATEMENT_KEY_FIELDS = ("key_id", "algorithm", "public_key", "fingerprint", "note_verifier_key", "valid_from",
                        "valid_until")
STATEMENT_SIGNATURE_FIELDS = ("key_id", "sig")


def _exact_fields(obj: Any, expected: tuple[str, ...], where: str) -> dict[str, Any]:
    """``obj`` is a JSON object with exactly the fields ``expected`` (§12 rule 1)."""
    if not isinstance(obj, dict):
        raise Failed(f"{where}: not a JSON object")
    missing = [name for name in expected if name not in obj]
    if missing:
        raise Failed(f"{where}: missing field {', '.join(missing)}")
    extra = sorted(set(obj) - set(expected))
    if extra:
        raise Failed(f"{where}: unexpected field {', '.join(extra)}")
    return obj


def check_note_key_name(name: Any, what: str) -> None:
    """A signed-note key name (c2sp.org/signed-note): non-empty, no spaces or '+', no control
    characters. The key statement's origin is the key name of the ledger's checkpoints (§11)."""
    if not isinstance(name, str) or not name:
        raise Failed(f"{what}: key name: empty; a note key name must be non-empty")
    if "+" in name or any(ch.isspace() for ch in name):
        raise Failed(f"{what}: key name {name!r}: must not contain spaces or '+' (c2sp.org/signed-note)")
    if any(ord(ch) < 0x20 for ch in name):
        raise Failed(f"{what}: key name {name!r}: must not contain control characters")


def _statement_key(obj: Any, index: int, origin: str, where: str) -> Key:
    """keys[index] of a statement (§12 rule 2): its fields, key_id, fingerprint and note verifier
    key recomputed from the public key, and a window that is not empty."""
    _exact_fields(obj, STATEMENT_KEY_FIELDS, f"{where}keys[{index}]")
    what = f"{where}keys[{index}] ({obj['key_id']})"
    key = parse_key(obj["key_id"], obj, what, algorithm_required=True)
    if obj["fingerprint"] != fingerprint_of(key.raw):
        raise Failed(f"{what}.fingerprint: does not match the public key ({fingerprint_of(key.raw)})")
    if obj["note_verifier_key"] != note_verifier_key(origin, key.raw):
        raise Failed(f"{what}.note_verifier_key: does not match the public key under origin {origin!r}")
    if key.valid_until is not None and key.valid_until <= key.valid_from:
        raise Failed(f"{what}.valid_until: not after valid_from")
    return key


def load_statement(path: Path) -> Trust:
    """A key statement the examiner holds, checked on its own before use (§12 "Verification"):
    exactly its fields; a licensee and an origin that is a valid note key name; each key's id,
    fingerprint and note verifier key recomputed from its public key, no key twice; keys listed
    oldest first, each retired key's window closed by its successor's valid_from (one signing
    key at every moment); issued_at not before the newest key's valid_from; every signature by a
    listed key, at most once per key, verifying under the key the statement itself lists; the
    newest key signed, and when there are several, the previous one. Raises ``Unreadable`` for a
    file that is not a key statement at all, ``Failed`` for one that does not verify."""
    try:
        statement = parse_json(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise Unreadable(f"{path}: cannot be read as a key statement ({exc})") from None
    if not isinstance(statement, dict) or statement.get("format") != STATEMENT_FORMAT:
        raise Unreadable(f"{path}: not a key statement (format {STATEMENT_FORMAT!r} expected)")
    where = f"{path}: "
    _exact_fields(statement, STATEMENT_FIELDS, f"{where}key statement")
    licensee, origin = statement["licensee"], statement["origin"]
    if not isinstance(licensee, str) or not licensee.strip():
        raise Failed(f"{where}licensee: must be the licensee's name (it is empty)")
    check_note_key_name(origin, f"{where}origin")
    issued_at = parse_time(statement["issued_at"], f"{where}issued_at")
    keys_json = statement["keys"]
    if not isinstance(keys_json, list) or not keys_json:
        raise Failed(f"{where}keys: must list at least one key")
    listed = [_statement_key(obj, i, origin, where) for i, obj in enumerate(keys_json)]
    keys: dict[str, Key] = {}
    for i, key in enumerate(listed):
        if key.key_id in keys:
            raise Failed(f"{where}keys[{i}]: duplicate key_id {key.key_id}")
        keys[key.key_id] = key
    for i, (older, newer) in enumerate(pairwise(listed)):
        if newer.valid_from <= older.valid_from:
            raise Failed(f"{where}keys[{i + 1}] ({newer.key_id}): listed after {older.key_id} but not valid from "
                         "later; keys are listed oldest first")
        if older.valid_until is None or older.valid_until > newer.valid_from:
            raise Failed(f"{where}keys[{i}] ({older.key_id}): still valid when {newer.key_id} begins; a rotated "
                         "key's valid_until must close by its successor's valid_from")
    newest = listed[-1]
    if issued_at < newest.valid_from:
        raise Failed(f"{where}issued_at {statement['issued_at']} is before the newest key {newest.key_id} was valid")
    signatures = statement["signatures"]
    if not isinstance(signatures, list) or not signatures:
        raise Failed(f"{where}signatures: the statement is not signed")
    try:
        message = canonical_json({k: v for k, v in statement.items() if k != "signatures"})
    except ValueError as exc:
        raise Failed(f"{where}{exc}") from None
    signed: list[str] = []
    for i, item in enumerate(signatures):
        _exact_fields(item, STATEMENT_SIGNATURE_FIELDS, f"{where}signatures[{i}]")
        key = keys.get(item["key_id"]) if isinstance(item["key_id"], str) else None
        if key is None:
            raise Failed(f"{where}signatures[{i}]: key {item['key_id']!r} is not listed in the statement's keys")
        if key.key_id in signed:
            raise Failed(f"{where}signatures[{i}]: key {key.key_id} signed twice")
        try:
            ok = ed25519_verifies(key.raw, b64decode(item["sig"], "sig"), message)
        except ValueError:
            ok = False
        if not ok:
            raise Failed(f"{where}signatures[{i}]: the signature of {key.key_id} does not verify — the statement "
                         "was changed after signing, or the signature is not that key's")
        signed.append(key.key_id)
    if newest.key_id not in signed:
        raise Failed(f"{where}the newest key {newest.key_id} did not sign the statement")
    if len(listed) >= 2 and listed[-2].key_id not in signed:
        raise Failed(f"{where}the previous key {listed[-2].key_id} did not sign the statement; a statement listing a "
                     f"rotation must be signed by the key it replaced as well as by {newest.key_id}")
    return Trust(keys, "the trusted key statement", anchored=True, origin=origin, licensee=licensee,
                 issued_at=statement["issued_at"])


# ------------------------------------------------------------------------------------------
# Entries (§2–§5; entry format version 2)
# ------------------------------------------------------------------------------------------


def hashed_fields(entry: dict[str, Any], where: str) -> tuple[str, ...]:
    """The fields ``hash`` covers, decided by ``v``: absent → version 1, 2 → version 2."""
    if "v" not in entry:
        return V1_FIELDS
    if type(entry["v"]) is int and entry["v"] == 2:
        return V2_FIELDS
    raise Failed(f"{where}: unknown entry format version {entry['v']!r}")


def entry_hash(entry: dict[str, Any]) -> str:
    """Hex SHA-256 of the RFC 8785 canonical JSON of the entry without ``hash`` and ``sig`` (§3)."""
    fields = hashed_fields(entry, "entry")
    return hashlib.sha256(canonical_json({name: entry[name] for name in fields})).hexdigest()


def _check_field_set(entry: dict[str, Any], where: str) -> None:
    fields = (*hashed_fields(entry, where), "hash", "sig")
    missing = [name for name in fields if name not in entry]
    if missing:
        raise Failed(f"{where}: malformed entry: missing field(s) {', '.join(missing)}")
    extra = sorted(set(entry) - set(fields))
    if extra:
        raise Failed(f"{where}: malformed entry: unexpected field(s) {', '.join(extra)}")


def _check_field_types(entry: dict[str, Any], where: str) -> None:
    for name in ("ts", "stream", "type", "step", "actor", "key_id", "sig"):
        if not isinstance(entry[name], str):
            raise Failed(f"{where}: malformed entry: {name} is not a string")
    for name in ("workflow_id", "run_id", "jurisdiction", "citation"):
        if entry[name] is not None and not isinstance(entry[name], str):
            raise Failed(f"{where}: malformed entry: {name} is neither a string nor null")
    if not isinstance(entry["data"], dict):
        raise Failed(f"{where}: malformed entry: data is not a JSON object")
    for name in ("hash", "prev_hash", "stream_prev_hash"):
        if name in entry and not is_hex64(entry[name]):
            raise Failed(f"{where}: malformed entry: {name} is not 64 lowercase hex digits")
    if "stream_seq" in entry and not is_count(entry["stream_seq"], 1):
        raise Failed(f"{where}: malformed entry: stream_seq is not a positive integer")


def check_entry(entry: dict[str, Any], trust: Trust, where: str) -> datetime:
    """One entry on its own: field set and types, hash (§3), key validity and signature (§4).
    Returns its ``ts``."""
    _check_field_set(entry, where)
    _check_field_types(entry, where)
    try:
        recomputed = entry_hash(entry)
    except ValueError as exc:
        raise Failed(f"{where}: malformed entry: {exc}") from None
    if recomputed != entry["hash"]:
        raise Failed(f"{where}: hash mismatch: the entry's content hashes to {short(recomputed)}, not "
                     f"the recorded {short(entry['hash'])} — the entry was changed after it was recorded")
    ts = parse_time(entry["ts"], f"{where}: ts")
    trust.check(entry["key_id"], ts, bytes.fromhex(entry["hash"]), entry["sig"], where)
    return ts


def is_v2(entry: dict[str, Any]) -> bool:
    return "v" in entry


# ------------------------------------------------------------------------------------------
# RFC 9162 §2.1 Merkle tree: tree hash, inclusion and consistency proof verification
# ------------------------------------------------------------------------------------------

EMPTY_ROOT = hashlib.sha256(b"").digest()


def leaf_hash(data: bytes) -> bytes:
    """``SHA-256(0x00 ‖ data)``; the ledger's leaf data is the 32 raw bytes of an entry hash (§6)."""
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def merkle_root(leaves: list[bytes], lo: int = 0, hi: int | None = None) -> bytes:
    """MTH(D[lo:hi]) of RFC 9162 §2.1.1 over leaf hashes, straight from its definition:
    split at k, the largest power of two smaller than n."""
    hi = len(leaves) if hi is None else hi
    n = hi - lo
    if n == 0:
        return EMPTY_ROOT
    if n == 1:
        return leaves[lo]
    k = 1 << ((n - 1).bit_length() - 1)
    return node_hash(merkle_root(leaves, lo, lo + k), merkle_root(leaves, lo + k, hi))


def _check_nodes(nodes: list[bytes], what: str) -> None:
    for i, node in enumerate(nodes):
        if len(node) != 32:
            raise ProofError(f"{what} node {i} is {len(node)} bytes, not 32")


def root_from_inclusion(leaf: bytes, index: int, size: int, proof: list[bytes]) -> bytes:
    """The root an inclusion proof implies — RFC 9162 §2.1.3.2 steps 1–5 (``sn`` must end at 0);
    the caller compares it with the signed root."""
    if not 0 <= index < size:  # step 1
        raise ProofError(f"leaf index {index} is not below tree size {size}")
    if len(leaf) != 32:
        raise ProofError(f"leaf hash is {len(leaf)} bytes, not 32")
    _check_nodes(proof, "inclusion proof")
    fn, sn, r = index, size - 1, leaf  # steps 2-3
    for p in proof:  # step 4
        if sn == 0:
            raise ProofError("the inclusion proof has more nodes than the path to the root")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:  # step 5
        raise ProofError("the inclusion proof has fewer nodes than the path to the root")
    return r


def verify_inclusion(leaf: bytes, index: int, size: int, proof: list[bytes], root: bytes) -> None:
    computed = root_from_inclusion(leaf, index, size, proof)
    if computed != root:
        raise ProofError(f"the proof leads to root {short(computed.hex())}, not the signed {short(root.hex())}")


def verify_consistency(first: int, second: int, first_root: bytes, second_root: bytes,
                       proof: list[bytes]) -> None:
    """That the tree of ``second`` leaves extends the tree of ``first`` — RFC 9162 §2.1.4.2.
    Proofs exist only for 0 < first ≤ second; equal sizes need an empty proof and equal roots."""
    if first <= 0 or first > second:
        raise ProofError(f"no consistency proof exists from tree size {first} to {second}")
    if first == second:
        if proof:
            raise ProofError("equal tree sizes need an empty consistency proof")
        if first_root != second_root:
            raise ProofError(f"tree size {first} with two different roots")
        return
    if not proof:  # step 1
        raise ProofError("empty consistency proof between different tree sizes")
    _check_nodes(proof, "consistency proof")
    path = [first_root, *proof] if first & (first - 1) == 0 else list(proof)  # step 2
    fn, sn = first - 1, second - 1  # step 3
    while fn & 1:  # step 4
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]  # step 5
    for c in path[1:]:  # step 6
        if sn == 0:
            raise ProofError("the consistency proof has more nodes than the trees have levels")
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:  # step 7
        raise ProofError("the consistency proof has fewer nodes than the trees have levels")
    if fr != first_root:
        raise ProofError(f"the proof gives {short(fr.hex())} for tree size {first}, not {short(first_root.hex())}")
    if sr != second_root:
        raise ProofError(f"the proof gives {short(sr.hex())} for tree size {second}, not {short(second_root.hex())}")


def hex_nodes(value: Any, what: str) -> list[bytes]:
    if not isinstance(value, list) or not all(is_hex64(node) for node in value):
        raise ProofError(f"{what} is not a list of 64-digit hex hashes")
    return [bytes.fromhex(node) for node in value]


# ------------------------------------------------------------------------------------------
# Checkpoints: c2sp.org/tlog-checkpoint bodies in c2sp.org/signed-note notes
# ------------------------------------------------------------------------------------------

SIGNATURE_LINE = "\u2014 "  # EM DASH, space


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    tree_size: int
    root: bytes
    body: bytes  # the signed text: the checkpoint lines, each ending in "\n"
    signatures: list[tuple[str, bytes, bytes]]  # (key name, 4-byte key hash, signature)


def note_key_hash(name: str, raw: bytes) -> bytes:
    """A signed-note Ed25519 key ID: SHA-256(name ‖ 0x0A ‖ 0x01 ‖ public key)[:4]."""
    return hashlib.sha256(name.encode("utf-8") + b"\n\x01" + raw).digest()[:4]


def note_verifier_key(name: str, raw: bytes) -> str:
    """``<name>+<hex key ID>+<base64(0x01 ‖ public key)>``, the form generic tools take."""
    typed_key = base64.b64encode(b"\x01" + raw).decode("ascii")
    return f"{name}+{note_key_hash(name, raw).hex()}+{typed_key}"


def parse_checkpoint(text: str, what: str) -> Checkpoint:
    """Split a signed note into its text and signature lines, and read the text as a checkpoint:
    origin, decimal tree size, base64 root, then optional non-empty extension lines."""
    if "\r" in text or not text.endswith("\n"):
        raise Failed(f"{what}: not a signed note (it must end in a newline and use LF line ends)")
    split = text.rfind("\n\n")
    if split < 0:
        raise Failed(f"{what}: not a signed note (no blank line before the signature lines)")
    body, signature_block = text[: split + 1], text[split + 2 :]
    signatures = []
    for line in signature_block[:-1].split("\n"):
        if not line.startswith(SIGNATURE_LINE) or line.count(" ") != 2:
            raise Failed(f"{what}: signature line {line!r} is not '— <key name> <base64>'")
        _, name, blob = line.split(" ")
        try:
            raw = b64decode(blob, "signature")
        except ValueError as exc:
            raise Failed(f"{what}: signature line of {name!r}: {exc}") from None
        if not name or "+" in name or len(raw) < 5:
            raise Failed(f"{what}: signature line of {name!r} is malformed")
        signatures.append((name, raw[:4], raw[4:]))
    lines = body[:-1].split("\n")
    if len(lines) < 3 or not all(lines):
        raise Failed(f"{what}: a checkpoint needs origin, tree size and root lines, none empty")
    origin, size_text, root_text = lines[:3]
    if not re.fullmatch(r"0|[1-9][0-9]{0,19}", size_text):
        raise Failed(f"{what}: tree size {size_text!r} is not a decimal number")
    try:
        root = b64decode(root_text, "root")
    except ValueError as exc:
        raise Failed(f"{what}: {exc}") from None
    if len(root) != 32:
        raise Failed(f"{what}: the root is {len(root)} bytes, not 32")
    return Checkpoint(origin, int(size_text), root, body.encode("utf-8"), signatures)


def verify_checkpoint(checkpoint: Checkpoint, trust: Trust, what: str, at: datetime | None = None) -> str:
    """The key_id of a trusted key whose signature line (key name = the origin) verifies the note.
    Lines of unknown keys are ignored; a trusted key's line that does not verify fails, and so
    does a note no trusted key signed. ``at``: the time the key must have been valid."""
    if trust.origin is not None and checkpoint.origin != trust.origin:
        raise Failed(f"{what}: origin {checkpoint.origin!r} is not the trusted key statement's {trust.origin!r}")
    accepted = None
    for name, key_hash, signature in checkpoint.signatures:
        if name != checkpoint.origin:
            continue
        for key in trust.keys.values():
            if note_key_hash(name, key.raw) != key_hash:
                continue
            if not ed25519_verifies(key.raw, signature, checkpoint.body):
                raise Failed(f"{what}: the signature of key {key.key_id} does not verify — the checkpoint was altered")
            if at is not None and not key.valid_at(at):
                raise Failed(f"{what}: signed by key {key.key_id}, not valid at {at.isoformat()} {key.window()}")
            accepted = accepted or key.key_id
    if accepted is None:
        raise Failed(f"{what}: no signature by a key in {trust.source} for origin {checkpoint.origin!r}")
    return accepted


# ------------------------------------------------------------------------------------------
# Reading bundle files
# ------------------------------------------------------------------------------------------


def read_json(path: Path, name: str) -> Any:
    try:
        return parse_json(path.read_text("utf-8"))
    except FileNotFoundError:
        raise Failed(f"{name}: missing from the bundle") from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise Failed(f"{name}: not valid JSON ({exc})") from None


def read_jsonl(path: Path, name: str) -> list[tuple[int, dict[str, Any]]]:
    """(line number, object) for every non-blank line."""
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError:
        raise Failed(f"{name}: missing from the bundle") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise Failed(f"{name}: cannot be read ({exc})") from None
    rows = []
    for lineno, line in enumerate(text.split("\n"), 1):
        if not line.strip():
            continue
        try:
            obj = parse_json(line)
        except ValueError as exc:
            raise Failed(f"{name} line {lineno}: not valid JSON ({exc})") from None
        if not isinstance(obj, dict):
            raise Failed(f"{name} line {lineno}: not a JSON object")
        rows.append((lineno, obj))
    return rows


def read_entries(path: Path, name: str) -> list[dict[str, Any]]:
    """Entries in strictly increasing seq order, as the bundle must hold them."""
    entries: list[dict[str, Any]] = []
    for lineno, entry in read_jsonl(path, name):
        seq = entry.get("seq")
        if not is_count(seq, 1):
            raise Failed(f"{name} line {lineno}: seq {seq!r} is not a positive integer")
        if entries and seq <= entries[-1]["seq"]:
            raise Failed(f"seq {seq}: {name} is out of seq order (seq {seq} follows seq {entries[-1]['seq']})")
        entries.append(entry)
    return entries


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def bundle_files(bundle: Path) -> set[str]:
    """Every file under the bundle directory, as ``/``-separated relative paths."""
    found = set()
    for directory, dirs, files in os.walk(bundle):
        for name in [*dirs, *files]:
            path = Path(directory, name)
            if path.is_symlink():
                raise Failed(f"{path.relative_to(bundle).as_posix()}: a symbolic link; a bundle holds plain files")
        found.update(Path(directory, name).relative_to(bundle).as_posix() for name in files)
    return found


def _plain_relative(name: str) -> bool:
    parts = name.split("/")
    return "\\" not in name and all(part not in ("", ".", "..") for part in parts)


# ------------------------------------------------------------------------------------------
# The bundle, step by step (issue 10 spec E)
# ------------------------------------------------------------------------------------------


@dataclass
class Outcome:
    """The result: ``ok``, or the first ``problem``; ``notes`` for the examiner; ``facts`` (counts,
    tree size and root) for the summary line and ``--json``."""

    ok: bool = False
    problem: str | None = None
    notes: list[str] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)


class BundleVerifier:
    """The checks of one bundle, in the order of the header (docs/ledger-format.md §8.4)."""

    def __init__(self, bundle: Path, trust: Trust | None, known: list[tuple[str, str]]) -> None:
        self.bundle = bundle
        self.trust = trust or Trust({}, "keys.json", anchored=False)  # keys.json is read in step 1
        self.known = known  # (file name as given, its text)
        self.outcome = Outcome()
        self.note = self.outcome.notes.append
        self.facts = self.outcome.facts

    def run(self) -> Outcome:
        manifest = self.check_manifest_signature()  # 1
        self.check_files(manifest)  # 2
        head = self.check_tree_head(manifest)  # 3
        checkpoint = self.check_checkpoint(head)
        proven = manifest["completeness"]["proven"]
        self.facts.update(tree_size=head["tree_size"], root_hash=head["root_hash"], proven=proven)
        if proven == "ledger":  # 4
            leaves = self.check_complete_bundle(manifest, head)
        else:
            leaves = None
            self.check_filtered_bundle(manifest, head, proven)
        proofs = self.check_consistency_file(head)  # 5
        for name, text in self.known:  # 6
            self.check_known_checkpoint(name, text, checkpoint, head, proofs, leaves)
        if self.trust.anchored:  # 7
            self.check_bundle_keys_against_statement()
        self.outcome.ok = True
        return self.outcome

    # -- 1. the signed manifest --------------------------------------------------------------

    def check_manifest_signature(self) -> dict[str, Any]:
        try:
            raw = (self.bundle / "manifest.json").read_bytes()
        except OSError as exc:
            raise Unreadable(f"{self.bundle}: no readable manifest.json — not an examination bundle "
                             f"({exc.strerror})") from None
        if not self.trust.anchored:
            self.trust = load_bundle_keys(self.bundle)
        try:
            sig = (self.bundle / "manifest.sig").read_text("ascii").strip()
        except FileNotFoundError:
            old = b'"noticeflow-ledger-bundle/1"' in raw
            raise Failed("manifest.sig is missing: the manifest is not signed" + (
                " (a format 1 bundle, from before signed manifests: ask for a new export)" if old else "")) from None
        except (OSError, UnicodeDecodeError):
            raise Failed("manifest.sig: not base64 text") from None
        try:
            manifest = parse_json(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            manifest = f"not valid JSON ({exc})"
        if not isinstance(manifest, dict):
            # Without key_id the signer is unknown: did any trusted key sign these bytes?
            if not any(ed25519_verifies(k.raw, _b64_or_empty(sig), raw) for k in self.trust.keys.values()):
                raise Failed(f"manifest.sig: not a signature of manifest.json by any key in {self.trust.source}")
            raise Failed(f"manifest.json: {manifest if isinstance(manifest, str) else 'not a JSON object'}")
        generated_at = parse_time(manifest.get("generated_at"), "manifest.json: generated_at")
        self.trust.check(manifest.get("key_id"), generated_at, raw, sig, "manifest.sig")
        if manifest.get("format") != BUNDLE_FORMAT:
            raise Failed(f"manifest.json: unknown format {manifest.get('format')!r} "
                         f"(this verifier reads {BUNDLE_FORMAT})")
        self._check_manifest_fields(manifest)
        return manifest

    @staticmethod
    def _check_manifest_fields(manifest: dict[str, Any]) -> None:
        missing = [name for name in MANIFEST_FIELDS if name not in manifest]
        if missing:
            raise Failed(f"manifest.json: missing field(s) {', '.join(missing)}")
        flt, completeness, files = manifest.get("filter"), manifest.get("completeness"), manifest.get("files")
        if not isinstance(flt, dict) or set(flt) != {"stream", "jurisdiction", "since", "until"}:
            raise Failed("manifest.json: filter must have exactly stream, jurisdiction, since, until")
        if any(v is not None and not isinstance(v, str) for v in flt.values()):
            raise Failed("manifest.json: a filter value is neither a string nor null")
        for bound in ("since", "until"):
            if flt[bound] is not None:
                parse_time(flt[bound], f"manifest.json: filter.{bound}")
        if not isinstance(completeness, dict) or completeness.get("proven") not in ("ledger", "streams", "none"):
            raise Failed("manifest.json: completeness.proven must be 'ledger', 'streams' or 'none'")
        unfiltered = all(v is None for v in flt.values())
        if (completeness["proven"] == "ledger") != unfiltered:
            raise Failed("manifest.json: completeness.proven is 'ledger' exactly when the filter is empty")
        for name in ("entry_count", "boundary_count", "tree_size"):
            if not is_count(manifest.get(name)):
                raise Failed(f"manifest.json: {name} is not a non-negative integer")
        if not is_hex64(manifest.get("root_hash")):
            raise Failed("manifest.json: root_hash is not 64 lowercase hex digits")
        streams = manifest.get("streams")
        if not isinstance(streams, dict) or not all(is_count(n, 1) for n in streams.values()):
            raise Failed("manifest.json: streams must map each stream to its entry count")
        if not isinstance(files, dict) or not all(is_hex64(d) for d in files.values()):
            raise Failed("manifest.json: files must map each file name to its SHA-256 (hex)")

    # -- 2. every file, and nothing else --------------------------------------------------------

    def check_files(self, manifest: dict[str, Any]) -> None:
        listed: dict[str, str] = manifest["files"]
        for name in sorted(listed):
            if not _plain_relative(name) or name in UNSIGNED_FILES:
                raise Failed(f"manifest.json: {name!r} is not a file name a bundle may list")
        for name in REQUIRED_FILES:
            if name not in listed:
                raise Failed(f"manifest.json does not list {name}, which every bundle has")
        present = bundle_files(self.bundle)
        for name in sorted(listed):
            if name not in present:
                raise Failed(f"{name} is listed in the manifest but missing from the bundle")
            actual = sha256_file(self.bundle / name)
            if actual != listed[name]:
                raise Failed(f"{name}: SHA-256 {short(actual)} does not match the manifest ({short(listed[name])})")
        for name in sorted(present - set(listed) - set(UNSIGNED_FILES)):
            raise Failed(f"{name} is in the bundle but not listed in the manifest")
        for name in sorted(listed):
            stated = re.fullmatch(r"documents/([0-9a-f]{64})\.[A-Za-z0-9]+", name)
            if stated and listed[name] != stated.group(1):
                raise Failed(f"{name}: its SHA-256 is {short(listed[name])}, not the digest its name states")
        self.facts["files"] = len(listed)

    # -- 3. tree head and checkpoint -------------------------------------------------------------

    def check_tree_head(self, manifest: dict[str, Any]) -> dict[str, Any]:
        head = read_json(self.bundle / "tree_head.json", "tree_head.json")
        if not isinstance(head, dict) or set(head) != set(TREE_HEAD_FIELDS):
            raise Failed(f"tree_head.json: a signed tree head has exactly the fields {', '.join(TREE_HEAD_FIELDS)}")
        if not is_count(head["tree_size"]) or not is_hex64(head["root_hash"]):
            raise Failed("tree_head.json: tree_size or root_hash is malformed")
        moment = parse_time(head["timestamp"], "tree_head.json: timestamp")
        self.trust.check(head["key_id"], moment, signed_json(head, "tree_head.json"), head["sig"], "tree_head.json")
        if (manifest["tree_size"], manifest["root_hash"]) != (head["tree_size"], head["root_hash"]):
            raise Failed(f"manifest.json: tree_size {manifest['tree_size']} / root_hash {short(manifest['root_hash'])} "
                         f"differ from the signed tree head's {head['tree_size']} / {short(head['root_hash'])}")
        return head

    def check_checkpoint(self, head: dict[str, Any]) -> Checkpoint:
        try:
            text = (self.bundle / "checkpoint.txt").read_text("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise Failed(f"checkpoint.txt: cannot be read ({exc})") from None
        checkpoint = parse_checkpoint(text, "checkpoint.txt")
        at = parse_time(head["timestamp"], "tree_head.json: timestamp")
        verify_checkpoint(checkpoint, self.trust, "checkpoint.txt", at)
        if checkpoint.tree_size != head["tree_size"]:
            raise Failed(f"checkpoint.txt: states tree size {checkpoint.tree_size}, tree_head.json {head['tree_size']}")
        if checkpoint.root.hex() != head["root_hash"]:
            raise Failed(f"checkpoint.txt: states root {short(checkpoint.root.hex())}, "
                         f"tree_head.json {short(head['root_hash'])}")
        self.facts["origin"] = checkpoint.origin
        return checkpoint

    # -- 4a. a complete bundle: the whole ledger ---------------------------------------------------

    def check_complete_bundle(self, manifest: dict[str, Any], head: dict[str, Any]) -> list[bytes]:
        if read_jsonl(self.bundle / "boundaries.jsonl", "boundaries.jsonl"):
            raise Failed("boundaries.jsonl: a complete bundle has no boundary entries")
        entries = read_entries(self.bundle / "entries.jsonl", "entries.jsonl")
        size = head["tree_size"]
        prev_hash, prev_ts = ZERO_HASH, None
        stream_tips: dict[str, tuple[int, dict[str, Any] | None]] = {}  # stream -> (entries so far, last one)
        leaves = []
        for expected, entry in enumerate(entries, 1):
            seq = entry["seq"]
            if seq != expected:
                raise Failed(f"seq {expected}: missing — the entry after seq {expected - 1} has seq {seq}")
            if seq > size:
                raise Failed(f"seq {seq}: beyond the signed tree head, which covers {size} entries")
            ts = check_entry(entry, self.trust, f"seq {seq}")
            if entry["prev_hash"] != prev_hash:
                raise Failed(f"seq {seq}: prev_hash does not match the hash of seq {seq - 1} — an entry "
                             "before it was removed, inserted or reordered")
            if prev_ts is not None and ts < prev_ts:
                raise Failed(f"seq {seq}: ts {entry['ts']} is earlier than seq {seq - 1}'s")
            count, last = stream_tips.get(entry["stream"], (0, None))
            if is_v2(entry):
                self._check_stream_link(entry, count + 1, last, f"stream {entry['stream']}")
            stream_tips[entry["stream"]] = (count + 1, entry)
            prev_hash, prev_ts = entry["hash"], ts
            leaves.append(leaf_hash(bytes.fromhex(entry["hash"])))
        if len(entries) != size:
            raise Failed(f"seq {len(entries) + 1}: missing — entries.jsonl ends at seq {len(entries)} but the "
                         f"signed tree head covers {size} entries")
        root = merkle_root(leaves).hex()
        if root != head["root_hash"]:
            raise Failed(f"entries.jsonl: the Merkle tree hash of the entries is {short(root)}, not the signed "
                         f"root {short(head['root_hash'])}")
        self._check_counts(manifest, entries, [])
        self.facts.update(entries=len(entries), boundaries=0, streams=len(stream_tips))
        return leaves

    @staticmethod
    def _check_stream_link(entry: dict[str, Any], position: int | None, previous: dict[str, Any] | None,
                           name: str) -> int:
        """§5 rules 6-7 for one format 2 entry: ``stream_prev_hash`` names ``previous`` (the stream's
        entry before it; None: it is the stream's first) and ``stream_seq`` is ``position`` (None:
        not known). Returns the entry's ``stream_seq``."""
        broken = f"{name}: stream chain broken at seq {entry['seq']}"
        expected = previous["hash"] if previous is not None else ZERO_HASH
        if entry["stream_prev_hash"] != expected:
            what = f"entry seq {previous['seq']}, the previous entry of the stream" if previous else "64 zeros"
            raise Failed(f"{broken}: stream_prev_hash does not match {what} — an entry of this stream was "
                         "removed, inserted or reordered")
        if position is not None and entry["stream_seq"] != position:
            raise Failed(f"{broken}: stream_seq {entry['stream_seq']}, but it is entry {position} of the stream "
                         "— an entry of this stream was removed, inserted or reordered")
        return entry["stream_seq"]

    def _check_counts(self, manifest: dict[str, Any], entries: list[dict[str, Any]],
                      boundaries: list[dict[str, Any]]) -> None:
        if manifest["entry_count"] != len(entries):
            raise Failed(f"manifest.json: entry_count {manifest['entry_count']}, "
                         f"but entries.jsonl holds {len(entries)}")
        if manifest["boundary_count"] != len(boundaries):
            raise Failed(f"manifest.json: boundary_count {manifest['boundary_count']}, but boundaries.jsonl "
                         f"holds {len(boundaries)}")
        counts = dict(Counter(e["stream"] for e in entries))
        if manifest["streams"] != counts:
            differ = sorted(s for s in set(counts) | set(manifest["streams"])
                            if counts.get(s) != manifest["streams"].get(s))
            raise Failed(f"manifest.json: streams counts differ from entries.jsonl for {', '.join(differ)}")

    # -- 4b. a filtered bundle: entries in place, streams complete ---------------------------------

    def check_filtered_bundle(self, manifest: dict[str, Any], head: dict[str, Any], proven: str) -> None:
        entries = read_entries(self.bundle / "entries.jsonl", "entries.jsonl")
        boundaries = read_entries(self.bundle / "boundaries.jsonl", "boundaries.jsonl")
        proofs = self._read_inclusion_proofs()
        selected = {e["seq"] for e in entries}
        for b in boundaries:
            if b["seq"] in selected:
                raise Failed(f"seq {b['seq']} (boundaries.jsonl): also in entries.jsonl")
        items = sorted([(e, False) for e in entries] + [(b, True) for b in boundaries], key=lambda i: i[0]["seq"])
        previous: tuple[dict[str, Any], datetime] | None = None
        for entry, boundary in items:
            where = f"seq {entry['seq']}" + (" (boundaries.jsonl)" if boundary else "")
            ts = check_entry(entry, self.trust, where)
            self._check_inclusion(entry, proofs, head, where)
            if previous is not None:
                prior, prior_ts = previous
                if prior["seq"] == entry["seq"] - 1 and entry["prev_hash"] != prior["hash"]:
                    raise Failed(f"{where}: prev_hash does not match the hash of seq {prior['seq']}")
                if ts < prior_ts:
                    raise Failed(f"{where}: ts {entry['ts']} is earlier than seq {prior['seq']}'s")
            previous = (entry, ts)
        self._check_counts(manifest, entries, boundaries)
        streams = sorted({e["stream"] for e, _ in items})
        self.facts.update(entries=len(entries), boundaries=len(boundaries), streams=len(streams))
        if proven == "none":
            self.note("the manifest claims no completeness: each entry is proven authentic and in place "
                      "in the signed ledger, but entries of the selection may be missing")
            return
        heads = self._read_stream_heads(head)
        wanted = manifest["filter"]["stream"]
        if wanted is not None and set(heads) != {wanted}:
            raise Failed(f"stream_heads.json: the bundle is filtered to stream {wanted}, but has heads for "
                         f"{', '.join(sorted(heads)) or 'no stream'}")
        for stream in streams:
            if stream not in heads:
                raise Failed(f"stream {stream}: no signed stream head in stream_heads.json")
        if set(heads) != set(manifest["streams"]):
            raise Failed("manifest.json: its streams differ from those of stream_heads.json "
                         f"({', '.join(sorted(set(heads) ^ set(manifest['streams'])))})")
        for stream in sorted(heads):
            self._check_stream_slice(stream, [i for i in items if i[0]["stream"] == stream], heads[stream],
                                     manifest["filter"])

    def _read_inclusion_proofs(self) -> dict[int, dict[str, Any]]:
        proofs: dict[int, dict[str, Any]] = {}
        for lineno, proof in read_jsonl(self.bundle / "proofs.jsonl", "proofs.jsonl"):
            seq = proof.get("seq")
            if not is_count(seq, 1) or seq in proofs:
                raise Failed(f"proofs.jsonl line {lineno}: seq {seq!r} is not a new positive integer")
            proofs[seq] = proof
        return proofs

    @staticmethod
    def _check_inclusion(entry: dict[str, Any], proofs: dict[int, dict[str, Any]], head: dict[str, Any],
                         where: str) -> None:
        """RFC 9162 §2.1.3.2 against the signed head; leaf index = seq - 1 (§6)."""
        seq, proof = entry["seq"], proofs.get(entry["seq"])
        if proof is None:
            raise Failed(f"{where}: no inclusion proof in proofs.jsonl")
        try:
            if proof.get("leaf_index") != seq - 1 or proof.get("tree_size") != head["tree_size"]:
                raise ProofError(f"the proof is for leaf {proof.get('leaf_index')!r} of a tree of "
                                 f"{proof.get('tree_size')!r}, not leaf {seq - 1} of {head['tree_size']}")
            path = hex_nodes(proof.get("audit_path"), "audit_path")
            verify_inclusion(leaf_hash(bytes.fromhex(entry["hash"])), seq - 1, head["tree_size"], path,
                             bytes.fromhex(head["root_hash"]))
        except ProofError as exc:
            raise Failed(f"{where}: the inclusion proof against the signed tree head fails: {exc}") from None

    def _read_stream_heads(self, head: dict[str, Any]) -> dict[str, dict[str, Any]]:
        """Signed stream heads (§13.1), each pinned to the bundle's tree head."""
        doc = read_json(self.bundle / "stream_heads.json", "stream_heads.json")
        if not isinstance(doc, dict) or doc.get("format") != STREAM_HEADS_FORMAT or not isinstance(
                doc.get("heads"), list):
            raise Failed(f"stream_heads.json: not a {STREAM_HEADS_FORMAT} document")
        heads: dict[str, dict[str, Any]] = {}
        for i, sh in enumerate(doc["heads"]):
            if not isinstance(sh, dict) or set(sh) != set(STREAM_HEAD_FIELDS):
                raise Failed(f"stream_heads.json: heads[{i}] must have exactly {', '.join(STREAM_HEAD_FIELDS)}")
            if not isinstance(sh["stream"], str) or sh["stream"] in heads:
                raise Failed(f"stream_heads.json: heads[{i}]: stream is not a new stream name")
            what = f"stream_heads.json: stream {sh['stream']}"
            if not is_count(sh["stream_size"], 1) or not is_hex64(sh["last_hash"]):
                raise Failed(f"{what}: stream_size or last_hash is malformed")
            moment = parse_time(sh["timestamp"], f"{what}: timestamp")
            self.trust.check(sh["key_id"], moment, signed_json(sh, what), sh["sig"], what)
            if (sh["tree_size"], sh["root_hash"]) != (head["tree_size"], head["root_hash"]):
                raise Failed(f"{what}: pinned to tree size {sh['tree_size']} / root {short(str(sh['root_hash']))}, "
                             f"not the bundle's {head['tree_size']} / {short(head['root_hash'])}")
            heads[sh["stream"]] = sh
        return heads

    def _check_stream_slice(self, stream: str, items: list[tuple[dict[str, Any], bool]],
                            stream_head: dict[str, Any], flt: dict[str, Any]) -> None:
        """§13.2: the stream's selected and boundary entries, in seq order (E), are the stream
        itself from its start (or a boundary entry before the window) to its signed head (or a
        boundary entry after the window), with no entry left out. Rules 1-5 in order."""
        name = f"stream {stream}"
        if not any(not boundary for _, boundary in items):  # 1. shape
            raise Failed(f"{name}: the bundle holds no selected entry of it, only boundary entries")
        for i, (entry, boundary) in enumerate(items):
            if boundary and 0 < i < len(items) - 1:
                raise Failed(f"seq {entry['seq']} (boundaries.jsonl): lies inside the slice of {name} — only its "
                             "first and last entry may be boundary entries")
        self._check_slice_window(name, items, flt)  # 2
        position = self._check_slice_links(name, items)  # 3, 4
        last, last_is_boundary = items[-1]  # 5. the end, as the signed stream head states it
        size, last_hash = stream_head["stream_size"], stream_head["last_hash"]
        if not last_is_boundary:
            if last["hash"] != last_hash:
                raise Failed(f"seq {last['seq']}: {name}: the signed stream head says the stream has {size} entries "
                             f"ending with {short(last_hash)}, but the bundle's last entry of it is seq {last['seq']} "
                             "— entries at the end of this stream were removed")
            if position is not None and position != size:
                raise Failed(f"seq {last['seq']}: {name}: the slice ends at stream position {position}, but the signed "
                             f"stream head counts {size} entries — an entry of this stream was removed or inserted")
        elif position is not None and (position > size or (position == size) != (last["hash"] == last_hash)):
            raise Failed(f"seq {last['seq']} (boundaries.jsonl): at stream position {position}, which does not agree "
                         f"with the signed stream head of {name} ({size} entries, last {short(last_hash)})")
        selected = [entry for entry, boundary in items if not boundary]
        format2 = [entry for entry in selected if is_v2(entry)]
        if len(format2) < len(selected):
            self.note(f"{name}: entries before stream position {format2[0]['stream_seq']} predate the per-stream "
                      "chain; their completeness is not proven" if format2 else
                      f"{name}: its entries predate the per-stream chain; their completeness is not proven")

    @staticmethod
    def _check_slice_window(name: str, items: list[tuple[dict[str, Any], bool]], flt: dict[str, Any]) -> None:
        """§13.2 rule 2: selected entries in [since, until); a boundary entry first in E before
        ``since``, one last in E at or after ``until``."""
        since = parse_time(flt["since"], "filter.since") if flt["since"] else None
        until = parse_time(flt["until"], "filter.until") if flt["until"] else None
        window = f"[{flt['since'] or '…'}, {flt['until'] or '…'})"
        for i, (entry, boundary) in enumerate(items):
            ts = parse_time(entry["ts"], f"seq {entry['seq']}: ts")
            if not boundary:
                if (since and ts < since) or (until and ts >= until):
                    raise Failed(f"seq {entry['seq']}: ts {entry['ts']} lies outside the bundle's window {window}")
            elif i == 0 and not (since and ts < since):
                raise Failed(f"seq {entry['seq']} (boundaries.jsonl): the entry before the slice of {name} is not "
                             f"before the window {window}")
            elif i > 0 and not (until and ts >= until):
                raise Failed(f"seq {entry['seq']} (boundaries.jsonl): the entry after the slice of {name} is not at "
                             f"or after the end of the window {window}")

    def _check_slice_links(self, name: str, items: list[tuple[dict[str, Any], bool]]) -> int | None:
        """§13.2 rules 3-4. Returns the stream position of E's last entry (None: unknown).

        E's first entry is at its ``stream_seq`` when it is format 2; at 1 when it is selected
        (the slice claims the stream's start); else unknown. Each later entry is one further on,
        format 1 entries included; a format 2 entry must link to the entry before it in E and
        sit at the position counted."""
        first, first_is_boundary = items[0]
        if is_v2(first):
            if first["stream_seq"] == 1 and first["stream_prev_hash"] != ZERO_HASH:
                raise Failed(f"seq {first['seq']}: stream position 1 with a stream_prev_hash that is not 64 zeros")
            if not first_is_boundary and first["stream_seq"] != 1:
                raise Failed(f"seq {first['seq']}: {name} starts in this bundle at stream position "
                             f"{first['stream_seq']} with no boundary entry before it — entries at the start of "
                             "this stream were removed")
            position: int | None = first["stream_seq"]
        else:
            position = None if first_is_boundary else 1
        for (before, _), (entry, _) in pairwise(items):
            position = None if position is None else position + 1
            if is_v2(entry):
                position = self._check_stream_link(entry, position, before, name)
        return position

    # -- 5. consistency proofs ---------------------------------------------------------------------

    def check_consistency_file(self, head: dict[str, Any]) -> dict[int, list[str]]:
        """from_size → the from_roots proven consistent with the bundle's tree."""
        size, root = head["tree_size"], bytes.fromhex(head["root_hash"])
        proven: dict[int, list[str]] = {}
        for lineno, row in read_jsonl(self.bundle / "consistency.jsonl", "consistency.jsonl"):
            what = f"consistency.jsonl line {lineno}"
            m, from_root = row.get("from_size"), row.get("from_root")
            if not is_count(m, 1) or not is_hex64(from_root) or row.get("to_size") != size or m >= size:
                raise Failed(f"{what}: needs 0 < from_size < to_size = {size} and a 64-digit hex from_root")
            try:
                verify_consistency(m, size, bytes.fromhex(from_root), root, hex_nodes(row.get("proof"), "proof"))
            except ProofError as exc:
                raise Failed(f"{what}: the ledger at tree size {size} does not extend its signed size {m} "
                             f"({short(from_root)}): {exc}") from None
            proven.setdefault(m, []).append(from_root)
        self.facts["consistency_proofs"] = sum(len(v) for v in proven.values())
        return proven

    # -- 6. checkpoints the examiner already holds --------------------------------------------------

    def check_known_checkpoint(self, name: str, text: str, bundle_checkpoint: Checkpoint, head: dict[str, Any],
                               proofs: dict[int, list[str]], leaves: list[bytes] | None) -> None:
        try:
            known = parse_checkpoint(text, "the note")
            verify_checkpoint(known, self.trust, "the note")
        except Failed as exc:
            raise Failed(f"{name}: the checkpoint does not verify under the trusted keys: {exc}") from None
        if known.origin != bundle_checkpoint.origin:
            raise Failed(f"{name}: a checkpoint of log {known.origin!r}, "
                         f"not of this bundle's {bundle_checkpoint.origin!r}")
        size, root = head["tree_size"], known.root.hex()
        fork = f"{name}: the bundle's ledger does not extend checkpoint {known.tree_size} ({short(root)}) — "
        if known.tree_size > size:
            raise Failed(fork + f"the bundle's tree has only {size} entries: the ledger was truncated or the "
                         "bundle is older than the checkpoint")
        if known.tree_size == size:
            if root != head["root_hash"]:
                raise Failed(fork + "a fork or rewrite (same size, different root)")
        elif known.tree_size == 0:
            if known.root != EMPTY_ROOT:
                raise Failed(fork + "the empty tree has root SHA-256(\"\"), not this one")
        elif leaves is not None:
            if merkle_root(leaves[: known.tree_size]).hex() != root:
                raise Failed(fork + "a fork or rewrite (the bundle's first entries hash to a different root)")
        elif root not in proofs.get(known.tree_size, []):
            raise Failed(fork + f"a fork or rewrite (consistency.jsonl proves no root {short(root)} at that size)")
        self.facts["known_checkpoints"] = self.facts.get("known_checkpoints", 0) + 1

    # -- 7. with a key statement, keys.json must not contradict it ------------------------------------

    def check_bundle_keys_against_statement(self) -> None:
        """Every signature was checked under the statement's keys; keys.json, informative, must at
        least name no key differently (a key_id is derived from its public key, §2)."""
        for key_id, key in load_bundle_keys(self.bundle).keys.items():
            trusted = self.trust.keys.get(key_id)
            if trusted is not None and trusted.raw != key.raw:
                raise Failed(f"keys.json: key {key_id}: public key differs from the one in the key statement")


# ------------------------------------------------------------------------------------------
# Command line
# ------------------------------------------------------------------------------------------


def verify(bundle: Path, trusted_keys: Path | None = None, known_checkpoints: tuple[Path, ...] = ()) -> Outcome:
    """Verify ``bundle``. Raises ``Unreadable`` for usage errors and unreadable input; returns an
    ``Outcome`` whose ``problem`` names the first failure otherwise."""
    if not bundle.is_dir():
        raise Unreadable(f"{bundle}: not a bundle directory")
    known = []
    for path in known_checkpoints:
        try:
            known.append((str(path), path.read_text("utf-8")))
        except (OSError, UnicodeDecodeError) as exc:
            raise Unreadable(f"{path}: cannot be read ({exc})") from None
    try:
        trust = load_statement(trusted_keys) if trusted_keys else None
    except (Failed, KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
        # A trust anchor that does not verify on its own is unusable input (exit 2), as in
        # `noticeflow ledger verify`: no verdict on the bundle can rest on it.
        raise Unreadable(f"the key statement does not verify: {exc}") from None
    try:
        outcome = BundleVerifier(bundle, trust, known).run()
    except Failed as exc:
        return Outcome(ok=False, problem=str(exc))
    if trust is not None:
        outcome.notes.insert(0, f"keys: the trusted key statement of {trust.licensee} (origin {trust.origin}, "
                                f"issued {trust.issued_at})")
    else:
        outcome.notes.insert(0, "keys taken from the bundle's keys.json, unauthenticated: compare their key_ids "
                                "and fingerprints with those the licensee registered, or pass --trusted-keys")
    return outcome


def summary(outcome: Outcome) -> str:
    f = outcome.facts
    if f["proven"] == "ledger":
        what = f"{f['entries']} entries, the complete ledger"
    else:
        what = f"{f['entries']} entries of {f['streams']} stream(s)"
        if f["boundaries"]:
            what += f" and {f['boundaries']} boundary entries"
        what += ", each stream complete" if f["proven"] == "streams" else ", completeness not claimed"
    known = f.get("known_checkpoints", 0)
    return (f"OK: {what}; tree size {f['tree_size']}, root {f['root_hash']}; manifest and {f['files']} files, "
            f"tree head, checkpoint, {f['consistency_proofs']} consistency proof(s)"
            + (f", {known} known checkpoint(s) extended" if known else "") + " verified")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="verify_bundle.py", description="Verify a noticeflow examination bundle offline.")
    parser.add_argument("bundle", type=Path, help="the bundle directory")
    parser.add_argument("--trusted-keys", type=Path, metavar="STATEMENT",
                        help="the licensee's key statement (noticeflow-key-statement/1): the trust anchor")
    parser.add_argument("--known-checkpoint", type=Path, action="append", default=[], metavar="FILE",
                        help="a checkpoint you already hold; the bundle's tree must extend it (repeatable)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    try:
        outcome = verify(args.bundle, args.trusted_keys, tuple(args.known_checkpoint))
    except (KeyError, TypeError, ValueError, AttributeError, IndexError, RecursionError) as exc:
        # Input shaped in a way no check above anticipated: it does not verify.
        outcome = Outcome(ok=False, problem=f"malformed bundle ({type(exc).__name__}: {exc})")
    except Unreadable as exc:
        if args.json:
            print(json.dumps({"result": "ERROR", "ok": False, "problem": str(exc)}, ensure_ascii=False))
        else:
            print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        result = "OK" if outcome.ok else "FAILED"
        print(json.dumps({"result": result, "ok": outcome.ok, "problem": outcome.problem, **outcome.facts,
                          "notes": outcome.notes}, indent=2, ensure_ascii=False))
    elif outcome.ok:
        print(summary(outcome))
        for note in outcome.notes:
            print(f"note: {note}")
    else:
        print(f"FAILED: {outcome.problem}")
    return 0 if outcome.ok else 1


if __name__ == "__main__":
    sys.exit(main())
