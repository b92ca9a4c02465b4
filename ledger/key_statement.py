"""The key statement (``noticeflow-key-statement/1``): the keys a licensee files with its regulator.

A statement lists every key of the ledger's keyring — key_id, raw public key, fingerprint, C2SP
verifier key, validity window — and is signed over its canonical JSON (without ``signatures``)
by the newest key and, once a key has been rotated, by the key before it. A regulator who holds
the statement filed before a rotation can so accept the next one: the key it already trusts
vouches for its successor. An examiner passes a statement with ``--trusted-keys``; the bundle's
keys must then appear in it with the same public keys, used within their windows.

The previous key signs the *statement* (not a separate rotation record): ``noticeflow ledger
keygen`` keeps every private key in the key directory, so at statement time both keys are at
hand. See docs/ledger-format.md, "Key statement".
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from itertools import pairwise
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from ledger.canonical import canonical_json
from ledger.chain import b64decode, b64encode
from ledger.checkpoint import CheckpointError, note_key_hash, note_verifier_key
from ledger.errors import LedgerError
from ledger.keys import (
    Keyring,
    PublicKeyRecord,
    Signer,
    _file_stem,
    key_id_for,
    load_private_key,
    normalize_ts,
    raw_public_key,
    utc_now,
)

FORMAT = "noticeflow-key-statement/1"
STATEMENT_FIELDS = ("format", "licensee", "origin", "issued_at", "keys", "signatures")
KEY_FIELDS = (
    "key_id",
    "algorithm",
    "public_key",
    "fingerprint",
    "note_verifier_key",
    "valid_from",
    "valid_until",
)
SIGNATURE_FIELDS = ("key_id", "sig")


class KeyStatementError(LedgerError):
    """A key statement is malformed, inconsistent, or not signed as a statement must be."""


def fingerprint(raw_public_key_bytes: bytes) -> str:
    """``SHA256:<hex>`` of the raw 32-byte public key — what is read aloud to confirm a key."""
    return "SHA256:" + hashlib.sha256(raw_public_key_bytes).hexdigest()


def signed_bytes(statement: Mapping[str, Any]) -> bytes:
    """The bytes every statement signature covers: canonical JSON without ``signatures``."""
    return canonical_json({k: v for k, v in statement.items() if k != "signatures"})


def _check_origin(origin: str) -> None:
    """The origin is the key name of the ledger's checkpoints, so it must be a valid note key name."""
    try:
        note_key_hash(origin, bytes(32))
    except CheckpointError as exc:
        raise KeyStatementError(f"origin: {exc}") from exc


def _key_json(record: PublicKeyRecord, origin: str) -> dict[str, Any]:
    return {
        "key_id": record.key_id,
        "algorithm": "ed25519",
        "public_key": b64encode(record.public_key),
        "fingerprint": fingerprint(record.public_key),
        "note_verifier_key": note_verifier_key(origin, record.public_key),
        "valid_from": record.valid_from,
        "valid_until": record.valid_until,
    }


def _ordered(keyring: Keyring) -> list[PublicKeyRecord]:
    try:
        return sorted(keyring.keys.values(), key=lambda r: normalize_ts(r.valid_from))
    except ValueError as exc:
        raise KeyStatementError(f"keyring: a valid_from is not an RFC 3339 timestamp ({exc})") from exc


def _signers_from_directory(
    directory: Path, records: Sequence[PublicKeyRecord], passphrase: str | None
) -> list[Signer]:
    signers = []
    for record in records:
        pem = directory / f"{_file_stem(record.key_id)}.pem"
        if not pem.exists():
            raise KeyStatementError(
                f"{pem}: the private key of {record.key_id} is missing; the statement must be signed "
                "by the newest key and, after a rotation, by the key it replaced — restore the "
                "retired key's PEM from backup to sign"
            )
        signers.append(load_private_key(pem, passphrase))
    return signers


def build_key_statement(
    keyring: Keyring,
    signers: Sequence[Signer] | Path | str,
    *,
    licensee: str,
    origin: str,
    issued_at: str | None = None,
    passphrase: str | None = None,
) -> dict[str, Any]:
    """The key statement of ``keyring``, signed by its newest key and (after a rotation) the
    previous one. ``signers``: their :class:`Signer` objects, or the key directory holding
    their private keys (``passphrase`` decrypts them)."""
    if not licensee or not licensee.strip():
        raise KeyStatementError("licensee: the name the statement is filed under is required")
    records = _ordered(keyring)
    if not records:
        raise KeyStatementError("keyring: holds no keys; run `noticeflow ledger keygen`")
    newest = records[-1]
    if keyring.active is not None and keyring.active != newest.key_id:
        raise KeyStatementError(
            f"keyring: the active key {keyring.active} is not the newest ({newest.key_id}); "
            "a statement is made for the key that signs from now on"
        )
    _check_origin(origin)
    required = [newest, *records[-2:-1]]
    if isinstance(signers, str | Path):
        signers = _signers_from_directory(Path(signers), required, passphrase)
    by_key = {raw_public_key(s.public_key): s for s in signers}
    missing = [r.key_id for r in required if r.public_key not in by_key]
    if missing:
        raise KeyStatementError(
            f"the statement must be signed by {' and '.join(r.key_id for r in required)}; "
            f"no signer given for {', '.join(missing)}"
        )
    listed = {r.public_key for r in records}
    stranger = [s.key_id for s in signers if raw_public_key(s.public_key) not in listed]
    if stranger:
        raise KeyStatementError(f"signer {', '.join(stranger)} is not a key of the keyring")
    body: dict[str, Any] = {
        "format": FORMAT,
        "licensee": licensee.strip(),
        "origin": origin,
        "issued_at": _ts(issued_at, "issued_at") if issued_at else utc_now(),
        "keys": [_key_json(r, origin) for r in records],
    }
    message = signed_bytes(body)
    body["signatures"] = [{"key_id": r.key_id, "sig": by_key[r.public_key].sign(message)} for r in required]
    verify_key_statement(body)
    return body


# -- verification ---------------------------------------------------------------------------


def _fields(obj: Any, expected: Sequence[str], where: str) -> dict[str, Any]:
    if not isinstance(obj, dict):
        raise KeyStatementError(f"{where}: expected a JSON object")
    missing = [k for k in expected if k not in obj]
    if missing:
        raise KeyStatementError(f"{where}: missing field {', '.join(missing)}")
    extra = sorted(set(obj) - set(expected))
    if extra:
        raise KeyStatementError(f"{where}: unexpected field {', '.join(extra)}")
    return obj


def _ts(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise KeyStatementError(f"{where}: expected an RFC 3339 timestamp")
    try:
        return normalize_ts(value)
    except ValueError as exc:
        raise KeyStatementError(f"{where}: {value!r} is not an RFC 3339 timestamp with offset") from exc


def _key_record(obj: Any, index: int, origin: str) -> PublicKeyRecord:
    key = _fields(obj, KEY_FIELDS, f"keys[{index}]")
    where = f"keys[{index}] ({key['key_id']})"
    if key["algorithm"] != "ed25519":
        raise KeyStatementError(f"{where}.algorithm: only ed25519 is supported")
    try:
        raw = b64decode(key["public_key"])
    except (ValueError, AttributeError, TypeError):
        raw = b""
    if len(raw) != 32:
        raise KeyStatementError(f"{where}.public_key: not standard base64 of 32 bytes")
    try:
        public_key = Ed25519PublicKey.from_public_bytes(raw)
    except ValueError as exc:
        raise KeyStatementError(f"{where}.public_key: not a valid Ed25519 public key") from exc
    if key["key_id"] != key_id_for(public_key):
        raise KeyStatementError(f"{where}.key_id: does not name this public key (ed25519:<SHA-256 prefix>)")
    if key["fingerprint"] != fingerprint(raw):
        raise KeyStatementError(f"{where}.fingerprint: does not match the public key ({fingerprint(raw)})")
    if key["note_verifier_key"] != note_verifier_key(origin, raw):
        raise KeyStatementError(
            f"{where}.note_verifier_key: does not match the public key under origin {origin!r}"
        )
    start = _ts(key["valid_from"], f"{where}.valid_from")
    if key["valid_until"] is not None and _ts(key["valid_until"], f"{where}.valid_until") <= start:
        raise KeyStatementError(f"{where}.valid_until: not after valid_from")
    return PublicKeyRecord(key["key_id"], raw, key["valid_from"], key["valid_until"])


def _check_windows(records: list[PublicKeyRecord]) -> None:
    """Keys are listed oldest first and their windows do not overlap: at every moment one key."""
    for index, (old, new) in enumerate(pairwise(records)):
        if normalize_ts(new.valid_from) <= normalize_ts(old.valid_from):
            raise KeyStatementError(
                f"keys[{index + 1}] ({new.key_id}): listed after {old.key_id} but not valid from later; "
                "keys are listed oldest first"
            )
        if old.valid_until is None or normalize_ts(old.valid_until) > normalize_ts(new.valid_from):
            raise KeyStatementError(
                f"keys[{index}] ({old.key_id}): still valid when {new.key_id} begins; "
                "a rotated key's valid_until must close by its successor's valid_from"
            )


def _parse(statement: Any) -> tuple[dict[str, Any], list[PublicKeyRecord]]:
    if not isinstance(statement, dict):
        raise KeyStatementError("key statement: expected a JSON object")
    if statement.get("format") != FORMAT:
        raise KeyStatementError(
            f"unknown key statement format {statement.get('format')!r}; expected {FORMAT!r}"
        )
    _fields(statement, STATEMENT_FIELDS, "key statement")
    if not isinstance(statement["licensee"], str) or not statement["licensee"].strip():
        raise KeyStatementError("licensee: must be the licensee's name")
    origin = statement["origin"]
    if not isinstance(origin, str):
        raise KeyStatementError("origin: must be the checkpoint origin (text)")
    _check_origin(origin)
    issued_at = _ts(statement["issued_at"], "issued_at")
    keys = statement["keys"]
    if not isinstance(keys, list) or not keys:
        raise KeyStatementError("keys: must list at least one key")
    records = [_key_record(obj, i, origin) for i, obj in enumerate(keys)]
    seen: dict[str, int] = {}
    for index, record in enumerate(records):
        if record.key_id in seen:
            raise KeyStatementError(
                f"keys[{index}]: duplicate key_id {record.key_id} (also keys[{seen[record.key_id]}])"
            )
        seen[record.key_id] = index
    _check_windows(records)
    if issued_at < normalize_ts(records[-1].valid_from):
        raise KeyStatementError(
            f"issued_at {statement['issued_at']} is before the newest key {records[-1].key_id} was valid"
        )
    return statement, records


def _signed_by(statement: dict[str, Any], records: list[PublicKeyRecord]) -> list[str]:
    sigs = statement["signatures"]
    if not isinstance(sigs, list) or not sigs:
        raise KeyStatementError("signatures: the statement is not signed")
    by_id = {r.key_id: r for r in records}
    message = signed_bytes(statement)
    signed: list[str] = []
    for index, obj in enumerate(sigs):
        sig = _fields(obj, SIGNATURE_FIELDS, f"signatures[{index}]")
        if not isinstance(sig["key_id"], str) or not isinstance(sig["sig"], str):
            raise KeyStatementError(f"signatures[{index}]: key_id and sig must be strings")
        record = by_id.get(sig["key_id"])
        if record is None:
            raise KeyStatementError(
                f"signatures[{index}]: key {sig['key_id']!r} is not listed in the statement's keys"
            )
        if record.key_id in signed:
            raise KeyStatementError(f"signatures[{index}]: key {record.key_id} signed twice")
        try:
            record.verifier.verify(b64decode(sig["sig"]), message)
        except (InvalidSignature, ValueError, TypeError, AttributeError) as exc:
            raise KeyStatementError(
                f"signatures[{index}]: the signature of {record.key_id} does not verify — the statement "
                "was changed after signing, or the signature is not that key's"
            ) from exc
        signed.append(record.key_id)
    return signed


def verify_key_statement(statement: Any, *, earlier: Any = None) -> Keyring:
    """Check a statement and return its keys as a :class:`Keyring` (active = the newest key).

    Every signature must verify under the public key the statement lists for it; the newest key
    must have signed, and when the statement lists two or more keys, the key before the newest
    too. ``earlier``: a statement the regulator already holds — this one must then keep each of
    its keys unchanged (a still-open window may be closed) and be signed by its newest key.
    """
    statement, records = _parse(statement)
    signed = _signed_by(statement, records)
    newest = records[-1]
    if newest.key_id not in signed:
        raise KeyStatementError(f"the newest key {newest.key_id} did not sign the statement")
    if len(records) >= 2 and records[-2].key_id not in signed:
        raise KeyStatementError(
            f"the previous key {records[-2].key_id} did not sign the statement; a statement listing "
            f"a rotation must be signed by the key it replaced as well as by {newest.key_id}"
        )
    if earlier is not None:
        _check_extends(verify_key_statement(earlier), records, signed)
    return Keyring({r.key_id: r for r in records}, active=newest.key_id)


def _check_extends(before: Keyring, records: list[PublicKeyRecord], signed: list[str]) -> None:
    now = {r.key_id: r for r in records}
    for key_id, old in before.keys.items():
        new = now.get(key_id)
        if new is None:
            raise KeyStatementError(f"key {key_id} of the earlier statement is missing from this one")
        if new.public_key != old.public_key:
            raise KeyStatementError(f"key {key_id}: public key differs from the earlier statement's")
        if normalize_ts(new.valid_from) != normalize_ts(old.valid_from):
            raise KeyStatementError(f"key {key_id}: valid_from differs from the earlier statement's")
        if old.valid_until is not None and (
            new.valid_until is None or normalize_ts(new.valid_until) != normalize_ts(old.valid_until)
        ):
            raise KeyStatementError(f"key {key_id}: valid_until differs from the earlier statement's")
    if before.active not in signed:
        raise KeyStatementError(
            f"the earlier statement's newest key {before.active} did not sign this statement; "
            "each rotation needs its own statement, signed by the key it replaced"
        )


def check_keys_against_statement(
    used: Mapping[str, Any],
    statement_keyring: Keyring,
    *,
    signed_at: Iterable[tuple[str, str]] = (),
) -> str | None:
    """None when every key in ``used`` (key_id → base64 public key, or a ``keys.json`` record
    holding ``public_key``) is in the statement with the same public key and every
    ``(key_id, timestamp)`` of ``signed_at`` lies in that key's window; else the first problem."""
    for key_id, value in used.items():
        public_b64 = value.get("public_key") if isinstance(value, Mapping) else value
        record = statement_keyring.get(key_id)
        if record is None:
            return f"key {key_id} is not in the key statement"
        try:
            raw = b64decode(public_b64)
        except (ValueError, AttributeError, TypeError):
            return f"key {key_id}: public key is not base64"
        if raw != record.public_key:
            return f"key {key_id}: public key differs from the one in the key statement"
    for key_id, ts in signed_at:
        record = statement_keyring.get(key_id)
        if record is None:
            return f"key {key_id} is not in the key statement"
        if not record.valid_at(ts):
            return (
                f"key {key_id} signed at {ts}, outside its window "
                f"[{record.valid_from}, {record.valid_until or '—'}) in the key statement"
            )
    return None
