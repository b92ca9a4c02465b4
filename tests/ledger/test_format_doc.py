"""docs/ledger-format.md §9 is a test vector: every value in it is recomputed here — the format 1
entry and its head, the format 2 entries, the three-entry head and the signed stream head."""

from __future__ import annotations

import hashlib
import json
import re

import rfc8785
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ledger.chain import V1_FIELDS, V2_FIELDS, b64decode, b64encode, entry_hash
from ledger.keys import Keyring, PublicKeyRecord, key_id_for, raw_public_key
from ledger.merkle import MerkleTree, leaf_hash
from ledger.store import stream_head_message
from ledger.verify import (
    check_head_signature,
    check_stream_head_signature,
    verify_entries,
    verify_stream_slice,
)
from models.ledger import GENESIS_PREV_HASH, StreamHead, TreeHead
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


def _key_and_ring() -> tuple[Ed25519PrivateKey, Keyring]:
    key = Ed25519PrivateKey.from_private_bytes(hashlib.sha256(b"noticeflow ledger-format example key").digest())
    public = key.public_key()
    return key, Keyring({key_id_for(public): PublicKeyRecord(key_id_for(public), raw_public_key(public), "2026-01-01T00:00:00.000000Z")})


def test_worked_example_format_2_entries_recompute_and_chain_per_stream() -> None:
    key, ring = _key_and_ring()
    entry1, entry2, entry3 = (json.loads(_block(name)) for name in ("entry", "entry2", "entry3"))
    assert "v" not in entry1 and tuple(entry1) == V1_FIELDS
    assert tuple(entry2) == tuple(entry3) == V2_FIELDS and entry2["v"] == entry3["v"] == 2

    # Entry 3's canonical JSON holds exactly its 16 hashed fields, and hashes to its hash.
    canonical = _block("canonical3").encode("utf-8")
    body = {k: v for k, v in entry3.items() if k not in ("hash", "sig")}
    assert len(body) == 16 and canonical == rfc8785.dumps(body)
    assert hashlib.sha256(canonical).hexdigest() == entry3["hash"] == entry_hash(entry3)
    for entry in (entry2, entry3):
        assert entry_hash(entry) == entry["hash"]
        key.public_key().verify(b64decode(entry["sig"]), bytes.fromhex(entry["hash"]))

    # The global chain and each stream's chain, as the text describes them.
    assert entry2["prev_hash"] == entry1["hash"] and entry3["prev_hash"] == entry2["hash"]
    assert (entry2["stream_seq"], entry2["stream_prev_hash"]) == (1, GENESIS_PREV_HASH)
    assert (entry3["stream"], entry3["stream_seq"], entry3["stream_prev_hash"]) == (entry1["stream"], 2, entry1["hash"])

    head3 = TreeHead.model_validate_json(_block("head3"))
    root = MerkleTree([leaf_hash(bytes.fromhex(e["hash"])) for e in (entry1, entry2, entry3)]).root()
    assert head3.tree_size == 3 and head3.root_hash == root.hex()
    assert check_head_signature(head3, ring) is None
    head1 = TreeHead.model_validate_json(_block("head"))
    report = verify_entries([entry1, entry2, entry3], ring, [head1, head3])
    assert report.ok, report.problem
    assert report.heads_checked == 2


def test_worked_example_stream_head_recomputes_and_bounds_the_stream() -> None:
    key, ring = _key_and_ring()
    entry1, entry3 = json.loads(_block("entry")), json.loads(_block("entry3"))
    head3 = TreeHead.model_validate_json(_block("head3"))
    stream_head = StreamHead.model_validate_json(_block("stream-head"))
    assert list(json.loads(_block("stream-head"))) == list(StreamHead.model_fields)

    message = _block("stream-head-message").encode("utf-8")
    assert message == stream_head_message(stream_head) == rfc8785.dumps(stream_head.model_dump(exclude={"sig"}))
    key.public_key().verify(b64decode(stream_head.sig), message)
    assert check_stream_head_signature(stream_head, ring) is None
    assert (stream_head.tree_size, stream_head.root_hash) == (head3.tree_size, head3.root_hash)
    assert (stream_head.stream, stream_head.stream_size, stream_head.last_hash) == ("incident:INC-7", 2, entry3["hash"])

    # The whole stream (entries 1 and 3) is the stream head's slice; without entry 1 it is not.
    whole = verify_stream_slice([entry1, entry3], stream_head, since=None, until=None, selected_seqs={1, 3})
    assert whole.ok and whole.format1_before == 2
    assert whole.notes == [
        (
            "stream incident:INC-7: entries before stream position 2 predate the per-stream chain; "
            "their completeness is not proven"
        )
    ]
    assert not verify_stream_slice([entry3], stream_head, since=None, until=None, selected_seqs={3}).ok
