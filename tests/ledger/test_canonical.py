"""Canonical JSON and entry hashes (RFC 8785)."""

from __future__ import annotations

import hashlib

import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.canonical import canonical_json
from ledger.chain import HASHED_FIELDS, entry_hash

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1) | st.text(),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=8), children, max_size=5),
    max_leaves=30,
)


@settings(max_examples=400, deadline=None)
@given(json_values)
def test_canonical_json_is_byte_identical_to_rfc8785(value: object) -> None:
    assert canonical_json(value) == rfc8785.dumps(value)


def test_keys_outside_the_basic_plane_sort_by_utf16_code_units() -> None:
    # U+1D11E sorts after U+FFFD by code point but before it by UTF-16 code unit (0xD834 < 0xFFFD).
    value = {"\ufffd": 1, "\U0001d11e": 2}
    assert canonical_json(value) == rfc8785.dumps(value)
    assert canonical_json(value).index("\U0001d11e".encode()) < canonical_json(value).index("\ufffd".encode())


def test_entry_hash_is_sha256_of_canonical_entry_without_hash_and_sig() -> None:
    entry = {name: None for name in HASHED_FIELDS} | {"seq": 1, "data": {"b": 1, "a": "x"}, "hash": "h", "sig": "s"}
    body = {k: v for k, v in entry.items() if k not in ("hash", "sig")}
    assert entry_hash(entry) == hashlib.sha256(rfc8785.dumps(body)).hexdigest()


def test_every_hashed_field_changes_the_hash() -> None:
    entry = {name: f"v-{name}" for name in HASHED_FIELDS} | {"seq": 3, "data": {"n": 1}}
    original = entry_hash(entry)
    for name in HASHED_FIELDS:
        changed = dict(entry)
        changed[name] = 4 if name == "seq" else ({"n": 2} if name == "data" else "other")
        assert entry_hash(changed) != original, name
