"""Ed25519 signing keys and the keyring that says which public key was valid when.

A key directory written by ``noticeflow ledger keygen`` holds:

- ``<key_id>.pem``      the private key (PKCS#8 PEM, optionally passphrase-encrypted, mode 0600);
- ``<key_id>.pub.pem``  its public key (SubjectPublicKeyInfo PEM);
- ``keyring.json``      every public key ever used, with its validity, and the active key_id.

Rotation writes a new key, makes it active and closes the previous key's validity at the
rotation instant. Old public keys stay in the keyring so that what they signed still verifies;
an entry whose ``ts`` falls outside its key's validity (a retired key) fails verification, and so
does an entry signed by a key the keyring does not hold.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from functools import cached_property
from datetime import UTC, datetime
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from ledger.chain import b64decode, b64encode
from ledger.errors import LedgerKeyError

KEYRING_FILE = "keyring.json"


def utc_now() -> str:
    """The current instant as RFC 3339 UTC with microseconds, the ledger's only time format."""
    return format_ts(datetime.now(UTC))


def format_ts(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("timestamps must carry a time zone")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


_CANONICAL_TS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")


def normalize_ts(text: str) -> str:
    """``text`` in the ledger's own form (UTC, microseconds, ``Z``), which sorts as it reads."""
    return text if _CANONICAL_TS.match(text) else format_ts(parse_ts(text))


def parse_ts(text: str) -> datetime:
    """Parse an RFC 3339 timestamp (``Z`` or an offset); raises ``ValueError`` otherwise."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError(f"timestamp {text!r} has no offset; use RFC 3339, e.g. 2026-11-21T09:00:00Z")
    return moment.astimezone(UTC)


def raw_public_key(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id_for(public_key: Ed25519PublicKey) -> str:
    """A key's name: ``ed25519:`` + the first 16 hex digits of SHA-256 of its raw 32 bytes."""
    return "ed25519:" + hashlib.sha256(raw_public_key(public_key)).hexdigest()[:16]


def _file_stem(key_id: str) -> str:
    return key_id.replace(":", "-")


@dataclass(frozen=True)
class PublicKeyRecord:
    key_id: str
    public_key: bytes  # raw 32 bytes
    valid_from: str
    valid_until: str | None = None

    @cached_property
    def verifier(self) -> Ed25519PublicKey:
        return Ed25519PublicKey.from_public_bytes(self.public_key)

    @cached_property
    def _window(self) -> tuple[str, str | None]:
        return normalize_ts(self.valid_from), (
            normalize_ts(self.valid_until) if self.valid_until else None
        )

    def valid_at(self, ts: str) -> bool:
        """Whether ``ts`` lies in ``[valid_from, valid_until)``."""
        start, end = self._window
        moment = normalize_ts(ts)
        return start <= moment and (end is None or moment < end)

    def to_json(self) -> dict[str, str | None]:
        return {
            "algorithm": "ed25519",
            "public_key": b64encode(self.public_key),
            "valid_from": self.valid_from,
            "valid_until": self.valid_until,
        }

    @classmethod
    def from_json(cls, key_id: str, obj: dict) -> PublicKeyRecord:
        try:
            raw = b64decode(obj["public_key"])
        except (KeyError, ValueError) as exc:
            raise LedgerKeyError(f"keys[{key_id}].public_key: not base64 of 32 bytes") from exc
        if len(raw) != 32:
            raise LedgerKeyError(f"keys[{key_id}].public_key: {len(raw)} bytes, expected 32")
        if obj.get("algorithm", "ed25519") != "ed25519":
            raise LedgerKeyError(f"keys[{key_id}].algorithm: only ed25519 is supported")
        if "valid_from" not in obj:
            raise LedgerKeyError(f"keys[{key_id}].valid_from: missing")
        return cls(key_id, raw, obj["valid_from"], obj.get("valid_until"))


@dataclass
class Keyring:
    """Public keys by key_id, with validity; the trust anchor of every verification."""

    keys: dict[str, PublicKeyRecord] = field(default_factory=dict)
    active: str | None = None

    def get(self, key_id: str) -> PublicKeyRecord | None:
        return self.keys.get(key_id)

    def check(self, key_id: str, ts: str, raw_message: bytes, sig_b64: str) -> str | None:
        """None when ``sig_b64`` is a valid signature of ``raw_message`` by ``key_id`` at ``ts``;
        otherwise the reason, in words."""
        record = self.keys.get(key_id)
        if record is None:
            return f"signed by unknown key {key_id!r}"
        if not record.valid_at(ts):
            until = record.valid_until or "—"
            return (
                f"signed by key {key_id!r} outside its validity "
                f"[{record.valid_from}, {until}) — a retired or not-yet-valid key"
            )
        try:
            sig = b64decode(sig_b64)
            record.verifier.verify(sig, raw_message)
        except (ValueError, InvalidSignature):
            return f"signature does not verify under key {key_id!r}"
        return None

    def to_json(self) -> dict:
        return {"active": self.active, "keys": {k: r.to_json() for k, r in self.keys.items()}}

    def public_keys_json(self) -> dict:
        """``keys.json`` of an export bundle: key_id → public key and validity."""
        return {k: r.to_json() for k, r in self.keys.items()}

    @classmethod
    def from_json(cls, obj: dict) -> Keyring:
        keys = obj.get("keys", obj)
        if not isinstance(keys, dict):
            raise LedgerKeyError("keys: expected an object of key_id → public key")
        ring = cls({k: PublicKeyRecord.from_json(k, v) for k, v in keys.items() if k != "active"})
        active = obj.get("active") if "keys" in obj else None
        ring.active = active
        return ring

    @classmethod
    def load(cls, path: Path) -> Keyring:
        try:
            return cls.from_json(json.loads(Path(path).read_text("utf-8")))
        except FileNotFoundError as exc:
            raise LedgerKeyError(f"keyring {path} not found; run `noticeflow ledger keygen`") from exc
        except json.JSONDecodeError as exc:
            raise LedgerKeyError(f"keyring {path} is not valid JSON: {exc}") from exc

    def save(self, path: Path) -> None:
        tmp = Path(path).with_suffix(".tmp")
        tmp.write_text(json.dumps(self.to_json(), indent=2, sort_keys=True) + "\n", "utf-8")
        os.replace(tmp, path)


class Signer:
    """Signs entry hashes and tree heads with one private key."""

    def __init__(self, private_key: Ed25519PrivateKey, key_id: str | None = None) -> None:
        self._key = private_key
        self.public_key = private_key.public_key()
        self.key_id = key_id or key_id_for(self.public_key)

    def sign(self, message: bytes) -> str:
        return b64encode(self._key.sign(message))

    @classmethod
    def generate(cls) -> Signer:
        return cls(Ed25519PrivateKey.generate())

    def private_pem(self, passphrase: str | None = None) -> bytes:
        encryption = (
            serialization.BestAvailableEncryption(passphrase.encode("utf-8"))
            if passphrase
            else serialization.NoEncryption()
        )
        return self._key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
        )

    def public_pem(self) -> bytes:
        return self.public_key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )


def load_private_key(path: Path, passphrase: str | None = None) -> Signer:
    data = Path(path).read_bytes()
    try:
        key = serialization.load_pem_private_key(
            data, password=passphrase.encode("utf-8") if passphrase else None
        )
    except TypeError as exc:
        raise LedgerKeyError(
            f"{path}: the private key is passphrase-encrypted; set NOTICEFLOW_KEY_PASSPHRASE"
            if passphrase is None
            else f"{path}: {exc}"
        ) from exc
    except ValueError as exc:
        raise LedgerKeyError(f"{path}: cannot load the private key ({exc}); wrong passphrase?") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise LedgerKeyError(f"{path}: not an Ed25519 private key")
    return Signer(key)


def generate_key(out_dir: Path, passphrase: str | None = None, now: str | None = None) -> Signer:
    """Write a new key into ``out_dir`` and make it the active key, retiring the previous one.

    The previous key's validity ends at the same instant the new key's begins, so every moment
    has exactly one signing key.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    signer = Signer.generate()
    now = now or utc_now()
    ring_path = out_dir / KEYRING_FILE
    ring = Keyring.load(ring_path) if ring_path.exists() else Keyring()
    if ring.active and ring.active in ring.keys:
        old = ring.keys[ring.active]
        ring.keys[ring.active] = PublicKeyRecord(old.key_id, old.public_key, old.valid_from, now)
    ring.keys[signer.key_id] = PublicKeyRecord(signer.key_id, raw_public_key(signer.public_key), now)
    ring.active = signer.key_id

    stem = _file_stem(signer.key_id)
    private_path = out_dir / f"{stem}.pem"
    fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(signer.private_pem(passphrase))
    os.chmod(private_path, 0o600)
    (out_dir / f"{stem}.pub.pem").write_bytes(signer.public_pem())
    ring.save(ring_path)
    return signer


def load_signer(key_path: Path, passphrase: str | None = None) -> Signer:
    """The signer for ``key_path``: a key directory (its active key) or one private-key PEM."""
    key_path = Path(key_path)
    if key_path.is_dir():
        ring = Keyring.load(key_path / KEYRING_FILE)
        if not ring.active:
            raise LedgerKeyError(f"{key_path / KEYRING_FILE}: no active key")
        pem = key_path / f"{_file_stem(ring.active)}.pem"
        if not pem.exists():
            raise LedgerKeyError(f"{pem}: the active key's private key file is missing")
        return load_private_key(pem, passphrase)
    if not key_path.exists():
        raise LedgerKeyError(f"signing key {key_path} not found; run `noticeflow ledger keygen`")
    return load_private_key(key_path, passphrase)


def load_keyring(key_path: Path) -> Keyring:
    """The keyring that goes with ``key_path`` (a key directory, or a PEM file beside one)."""
    key_path = Path(key_path)
    ring_path = key_path / KEYRING_FILE if key_path.is_dir() else key_path.parent / KEYRING_FILE
    return Keyring.load(ring_path)
