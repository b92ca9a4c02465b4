"""Entry hashing and signing: the hash chain's two primitives.

``hash`` = hex SHA-256 of the RFC 8785 canonical JSON of the entry without ``hash`` and ``sig``;
``sig`` = base64 Ed25519 signature over the 32 raw hash bytes (docs/ledger-format.md §3–4).
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from ledger.canonical import canonical_json

#: The entry fields covered by ``hash``, in format order.
HASHED_FIELDS = (
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
ENTRY_FIELDS = (*HASHED_FIELDS, "hash", "sig")


def entry_hash(entry: dict[str, Any]) -> str:
    """Hex SHA-256 of the canonical JSON of ``entry``'s hashed fields (``hash``/``sig`` ignored).

    The entry's data must already be checked to hold no floats (``check_json_value``): drafts
    are validated on creation, and the verifier checks each entry before hashing it.
    """
    body = {name: entry[name] for name in HASHED_FIELDS}
    return hashlib.sha256(canonical_json(body, floats_checked=True)).hexdigest()


def b64encode(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def b64decode(text: str) -> bytes:
    """Strict standard base64 (with padding); raises ``ValueError`` on anything else."""
    return base64.b64decode(text.encode("ascii"), validate=True)
