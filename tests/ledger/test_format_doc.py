"""docs/ledger-format.md §9 is a test vector: every value in it is recomputed here."""

from __future__ import annotations

import hashlib
import json
import re

import rfc8785
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ledger.chain import b64decode, b64encode, entry_hash
from ledger.keys import Keyring, PublicKeyRecord, key_id_for, raw_public_key
from ledger.merkle import leaf_hash
from ledger.verify import check_head_signature, verify_entries
from models.ledger import TreeHead
from tests.conftest import REPO

DOC = (REPO / "docs" / "ledger-format.md").read_text("utf-8")


def _block(name: str) -> str:
    return re.search(rf"<!-- example:{name} -->\n```\w*\n(.*?)\n```", DOC, re.S).group(1)


def test_worked_example_recomputes_from_the_documented_key() -> None:
    key = Ed25519PrivateKey.from_private_bytes(hashlib.sha256(b"noticeflow ledger-format example key").digest())
    public = key.public_key()
    assert key_id_for(public) == "ed25519:89f76f812a77a188"
    assert b64encode(raw_public_key(public)) in DOC

    entry = json.loads(_block("entry"))
    body = {k: v for k, v in entry.items() if k not in ("hash", "sig")}
    assert _block("canonical").encode("utf-8") == rfc8785.dumps(body)
    assert hashlib.sha256(_block("canonical").encode("utf-8")).hexdigest() == entry["hash"] == entry_hash(entry)
    public.verify(b64decode(entry["sig"]), bytes.fromhex(entry["hash"]))

    head = TreeHead.model_validate_json(_block("head"))
    assert head.root_hash == leaf_hash(bytes.fromhex(entry["hash"])).hex()
    ring = Keyring({head.key_id: PublicKeyRecord(head.key_id, raw_public_key(public), "2026-01-01T00:00:00.000000Z")})
    assert check_head_signature(head, ring) is None
    assert verify_entries([entry], ring, [head]).ok
