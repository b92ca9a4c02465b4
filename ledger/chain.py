"""Entry hashing and signing: the hash chain's two primitives.

``hash`` = hex SHA-256 of the RFC 8785 canonical JSON of the entry without ``hash`` and ``sig``;
``sig`` = base64 Ed25519 signature over the 32 raw hash bytes (docs/ledger-format.md §3–4).

Two entry formats exist side by side (docs/ledger-format.md §2): format 1 has no ``v`` field and
13 hashed fields; format 2 has ``"v": 2`` and three more hashed fields, ``v``, ``stream_seq`` and
``stream_prev_hash`` (the per-stream chain). The field set is decided by ``v`` alone.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from ledger.canonical import canonical_json

#: Format 1: the entry fields covered by ``hash``, in format order.
V1_HASHED_FIELDS = (
    "seq",
    "ts",
    "stream",
    "type",
    "step",
    "workflow_id",
    "run_id",
    "jurisdiction",
    "citation",
    "actor",
    "data",
    "prev_hash",
    "key_id",
)
#: Format 1: every field of an entry, in format order (no ``v``: absent means format 1).
V1_FIELDS = (*V1_HASHED_FIELDS, "hash", "sig")

#: Format 2: the v1 hashed fields plus the format version and the per-stream chain (16 fields).
V2_HASHED_FIELDS = ("v", *V1_HASHED_FIELDS[:12], "stream_seq", "stream_prev_hash", "key_id")
#: Format 2: every field of an entry, in format order.
V2_FIELDS = (*V2_HASHED_FIELDS, "hash", "sig")

#: The format every new entry is written in.
CURRENT_VERSION = 2

#: Backward-compatible names: format 1's field sets.
HASHED_FIELDS = V1_HASHED_FIELDS
ENTRY_FIELDS = V1_FIELDS


class UnknownVersionError(ValueError):
    """An entry's ``v`` is neither absent (format 1) nor 2."""

    def __init__(self, version: Any) -> None:
        super().__init__(f"unknown entry format version {version!r} (v is absent for format 1, or 2)")
        self.version = version


def entry_version(entry: dict[str, Any]) -> int:
    """1 when ``entry`` has no ``v``; 2 when ``v`` is the integer 2; else ``UnknownVersionError``."""
    if "v" not in entry:
        return 1
    version = entry["v"]
    if type(version) is int and version == 2:
        return 2
    raise UnknownVersionError(version)


def fields_for(entry: dict[str, Any]) -> tuple[str, ...]:
    """Every field an entry of ``entry``'s format has (``hash`` and ``sig`` included)."""
    return V2_FIELDS if entry_version(entry) == 2 else V1_FIELDS


def hashed_fields_for(entry: dict[str, Any]) -> tuple[str, ...]:
    """The fields ``hash`` covers for ``entry``'s format: 13 for format 1, 16 for format 2."""
    return V2_HASHED_FIELDS if entry_version(entry) == 2 else V1_HASHED_FIELDS


def entry_hash(entry: dict[str, Any]) -> str:
    """Hex SHA-256 of the canonical JSON of ``entry``'s hashed fields (``hash``/``sig`` ignored),
    the field set chosen by ``v`` (absent: format 1; 2: format 2; else ``UnknownVersionError``).

    The entry's data must already be checked to hold no floats (``check_json_value``): drafts
    are validated on creation, and the verifier checks each entry before hashing it.
    """
    body = {name: entry[name] for name in hashed_fields_for(entry)}
    return hashlib.sha256(canonical_json(body, floats_checked=True)).hexdigest()


def b64encode(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def b64decode(text: str) -> bytes:
    """Strict standard base64 (with padding); raises ``ValueError`` on anything else."""
    return base64.b64decode(text.encode("ascii"), validate=True)
