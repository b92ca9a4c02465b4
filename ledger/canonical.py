"""RFC 8785 (JSON Canonicalization Scheme) serialisation of ledger records.

Ledger records hold no floats (``models.ledger.check_json_value``), so their RFC 8785 form is
exactly Python's ``json.dumps`` with sorted keys, no whitespace and no ASCII escaping — provided
object keys sort the same by code point as by UTF-16 code unit, which holds unless a key contains
a character above U+FFFF. That fast path is taken when it is exact (a property test compares it
with the ``rfc8785`` library); anything else goes through ``rfc8785`` itself.
"""

from __future__ import annotations

import json
from typing import Any

import rfc8785

_dumps = json.JSONEncoder(
    ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False
).encode


def _fast_path_exact(value: Any) -> bool:
    if isinstance(value, dict):
        for k, v in value.items():
            if not isinstance(k, str) or any(ord(c) > 0xFFFF for c in k):
                return False
            if not _fast_path_exact(v):
                return False
        return True
    if isinstance(value, (list, tuple)):
        return all(_fast_path_exact(v) for v in value)
    return not isinstance(value, float)


def canonical_json(value: Any) -> bytes:
    """The RFC 8785 canonical UTF-8 bytes of ``value``."""
    if _fast_path_exact(value):
        return _dumps(value).encode("utf-8")
    return rfc8785.dumps(value)
