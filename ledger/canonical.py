"""RFC 8785 (JSON Canonicalization Scheme) serialisation of ledger records.

For JSON without floats, RFC 8785 output is exactly Python's ``json.dumps`` with sorted keys,
no whitespace and no ASCII escaping — provided object keys sort the same by code point as by
UTF-16 code unit, which holds unless the text contains a character above U+FFFF. That fast path
is taken when it is exact (a property test compares it with the ``rfc8785`` library); anything
else goes through ``rfc8785`` itself.
"""

from __future__ import annotations

import json
import re
from typing import Any

import rfc8785

_dumps = json.JSONEncoder(
    ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False
).encode
_ASTRAL = re.compile("[\U00010000-\U0010ffff]")


def _has_float(value: Any) -> bool:
    if isinstance(value, dict):
        return any(_has_float(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(_has_float(v) for v in value)
    return isinstance(value, float)


def canonical_json(value: Any, *, floats_checked: bool = False) -> bytes:
    """The RFC 8785 canonical UTF-8 bytes of ``value``.

    ``floats_checked``: the caller guarantees ``value`` holds no floats (ledger records are
    validated so), which spares a walk over it.
    """
    if not floats_checked and _has_float(value):
        return rfc8785.dumps(value)
    text = _dumps(value)
    if text.isascii() or not _ASTRAL.search(text):
        return text.encode("utf-8")
    return rfc8785.dumps(value)
