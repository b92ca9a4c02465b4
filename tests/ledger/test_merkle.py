"""Tests for ledger.merkle: RFC 9162 §2.1 Merkle trees, proofs and their verification.

Three independent sources of truth:

* the RFC 9162 proof-verification conformance corpus (one test per JSON case), read from
  ``../shared/conformance/rfc9162-merkle/testdata`` beside the repository or from
  ``$NOTICEFLOW_CONFORMANCE_DIR``;
* the Certificate Transparency reference tree of 8 leaves with its published roots and
  sub-tree hashes;
* a naive transcription of RFC 9162's recursive definitions (MTH, PATH, PROOF), written here
  with hashlib only, which the module's results must equal for random trees (hypothesis).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.merkle import (
    EMPTY_ROOT,
    HASH_SIZE,
    CompactRange,
    MerkleTree,
    ProofError,
    leaf_hash,
    node_hash,
    root_from_inclusion,
    verify_consistency,
    verify_inclusion,
)

# ---------------------------------------------------------------------------------------------
# Naive RFC 9162 §2.1 reference, straight from the recursive definitions
# ---------------------------------------------------------------------------------------------


def _k(n: int) -> int:
    """Largest power of two smaller than n (n > 1)."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def ref_mth(d: Sequence[bytes]) -> bytes:
    """MTH(D_n), RFC 9162 §2.1.1."""
    n = len(d)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return hashlib.sha256(b"\x00" + d[0]).digest()
    k = _k(n)
    return hashlib.sha256(b"\x01" + ref_mth(d[:k]) + ref_mth(d[k:])).digest()


def ref_path(m: int, d: Sequence[bytes]) -> list[bytes]:
    """PATH(m, D_n), RFC 9162 §2.1.3.1."""
    n = len(d)
    if n == 1:
        return []
    k = _k(n)
    if m < k:
        return ref_path(m, d[:k]) + [ref_mth(d[k:])]
    return ref_path(m - k, d[k:]) + [ref_mth(d[:k])]


def ref_subproof(m: int, d: Sequence[bytes], b: bool) -> list[bytes]:
    """SUBPROOF(m, D_n, b), RFC 9162 §2.1.4.1."""
    n = len(d)
    if m == n:
        return [] if b else [ref_mth(d)]
    k = _k(n)
    if m <= k:
        return ref_subproof(m, d[:k], b) + [ref_mth(d[k:])]
    return ref_subproof(m - k, d[k:], False) + [ref_mth(d[:k])]


def ref_proof(m: int, d: Sequence[bytes]) -> list[bytes]:
    """PROOF(m, D_n), RFC 9162 §2.1.4.1."""
    return ref_subproof(m, d, True)


def ledger_data(n: int, salt: bytes = b"") -> list[bytes]:
    """Leaf data shaped like the ledger's: 32 raw bytes of an entry hash per leaf."""
    return [hashlib.sha256(salt + i.to_bytes(8, "big")).digest() for i in range(n)]


def flip(b: bytes, bit: int) -> bytes:
    out = bytearray(b)
    out[bit // 8] ^= 1 << (bit % 8)
    return bytes(out)


# ---------------------------------------------------------------------------------------------
# Hash primitives
# ---------------------------------------------------------------------------------------------


def test_hash_primitives() -> None:
    assert EMPTY_ROOT == hashlib.sha256(b"").digest()
    assert EMPTY_ROOT.hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert leaf_hash(b"").hex() == (
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
    )
    assert leaf_hash(b"abc") == hashlib.sha256(b"\x00abc").digest()
    a, b = leaf_hash(b"a"), leaf_hash(b"b")
    assert node_hash(a, b) == hashlib.sha256(b"\x01" + a + b).digest()
    assert node_hash(a, b) != node_hash(b, a)
    # Domain separation: a leaf whose data is two hashes is not the node over them.
    assert leaf_hash(a + b) != node_hash(a, b)
    assert HASH_SIZE == 32
    with pytest.raises(TypeError):  # an int is not leaf data (bytes(5) would be 5 zero bytes)
        leaf_hash(5)  # type: ignore[arg-type]
    assert issubclass(ProofError, ValueError)


# ---------------------------------------------------------------------------------------------
# The Certificate Transparency reference tree (RFC 6962 / RFC 9162 test leaves)
# ---------------------------------------------------------------------------------------------

REF_INPUTS = [
    bytes.fromhex(h)
    for h in (
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    )
]

#: MTH of the first `size` reference leaves, size 0..8 (transparency-dev/merkle
#: testonly.RootHashes, also certificate-transparency's merkle_tree_test.cc).
REF_ROOTS = [
    bytes.fromhex(h)
    for h in (
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    )
]

#: Hashes of every complete sub-tree of the 8-leaf reference tree, by level then position
#: (transparency-dev/merkle testonly.NodeHashes).
REF_NODES = [
    [
        bytes.fromhex(h)
        for h in (
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7",
            "07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1",
        )
    ],
    [
        bytes.fromhex(h)
        for h in (
            "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        )
    ],
    [
        bytes.fromhex(h)
        for h in (
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        )
    ],
    [bytes.fromhex("5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328")],
]

REF_LEAVES = [leaf_hash(x) for x in REF_INPUTS]


def test_reference_leaf_hashes() -> None:
    assert REF_LEAVES == REF_NODES[0]


@pytest.mark.parametrize("size", range(9))
def test_reference_tree_roots(size: int) -> None:
    full = MerkleTree(REF_LEAVES)
    assert full.root(size) == REF_ROOTS[size]
    assert MerkleTree(REF_LEAVES[:size]).root() == REF_ROOTS[size]
    assert ref_mth(REF_INPUTS[:size]) == REF_ROOTS[size]
    cr = CompactRange()
    for lh in REF_LEAVES[:size]:
        cr.append_leaf_hash(lh)
    assert cr.size == size
    assert cr.root() == REF_ROOTS[size]


@pytest.mark.parametrize("index", range(8))
def test_reference_tree_inclusion_paths(index: int) -> None:
    # In the perfect 8-leaf tree the path is the sibling at each level.
    want = [REF_NODES[level][(index >> level) ^ 1] for level in range(3)]
    tree = MerkleTree(REF_LEAVES)
    assert tree.inclusion_proof(index) == want
    assert want == ref_path(index, REF_INPUTS)
    verify_inclusion(REF_LEAVES[index], index, 8, want, REF_ROOTS[8])


def test_reference_tree_consistency_proofs() -> None:
    tree = MerkleTree(REF_LEAVES)
    # Hand-derived from the RFC's definition on the reference tree.
    n = REF_NODES
    assert tree.consistency_proof(1, 8) == [n[0][1], n[1][1], n[2][1]]
    assert tree.consistency_proof(4, 8) == [n[2][1]]
    assert tree.consistency_proof(6, 8) == [n[1][2], n[1][3], n[2][0]]
    assert tree.consistency_proof(2, 5) == [n[1][1], n[0][4]]
    for new in range(1, 9):
        for old in range(1, new + 1):
            proof = tree.consistency_proof(old, new)
            assert proof == ref_proof(old, REF_INPUTS[:new])
            verify_consistency(old, new, REF_ROOTS[old], REF_ROOTS[new], proof)


# ---------------------------------------------------------------------------------------------
# Conformance corpus: one test per JSON case
# ---------------------------------------------------------------------------------------------

_ENV = "NOTICEFLOW_CONFORMANCE_DIR"
_DEFAULT_DIR = (
    Path(__file__).resolve().parents[2].parent
    / "shared"
    / "conformance"
    / "rfc9162-merkle"
    / "testdata"
)
_KINDS = ("inclusion", "consistency")


def _locate_corpus() -> tuple[Path | None, str]:
    """(folder, problem). An explicit ``$NOTICEFLOW_CONFORMANCE_DIR`` that holds no corpus is
    an error; only an absent default folder is a reason to skip."""
    env = os.environ.get(_ENV)
    if env:
        base = Path(env)
        for cand in (base, base / "testdata", base / "rfc9162-merkle" / "testdata"):
            if any((cand / kind).is_dir() for kind in _KINDS):
                return cand, ""
        return None, f"error: {_ENV}={env} holds no inclusion/ or consistency/ folder"
    if any((_DEFAULT_DIR / kind).is_dir() for kind in _KINDS):
        return _DEFAULT_DIR, ""
    return None, (
        f"skip: RFC 9162 conformance corpus not found at {_DEFAULT_DIR} "
        f"(clone the shared folder beside the repository or set {_ENV})"
    )


_CORPUS, _CORPUS_PROBLEM = _locate_corpus()


def _corpus_params() -> list[Any]:
    if _CORPUS is None:
        if _CORPUS_PROBLEM.startswith("skip: "):
            reason = _CORPUS_PROBLEM.removeprefix("skip: ")
            return [pytest.param(None, id="corpus-absent", marks=pytest.mark.skip(reason=reason))]
        return [pytest.param(None, id="corpus-misconfigured")]
    files = sorted(p for kind in _KINDS for p in (_CORPUS / kind).rglob("*.json"))
    return [pytest.param(p, id=p.relative_to(_CORPUS).with_suffix("").as_posix()) for p in files]


def _b64(value: str | None) -> bytes:
    return b"" if value is None else base64.b64decode(value)


def _proof(value: list[str] | None) -> list[bytes]:
    return [_b64(p) for p in value or []]


@pytest.mark.parametrize("case_file", _corpus_params())
def test_conformance(case_file: Path | None) -> None:
    if case_file is None or _CORPUS is None:
        pytest.fail(_CORPUS_PROBLEM)
    case = json.loads(case_file.read_text())
    want_err = case["wantErr"]
    assert isinstance(want_err, bool)
    kind = case_file.relative_to(_CORPUS).parts[0]
    proof = _proof(case["proof"])

    if kind == "inclusion":
        lh, index, size, root = (
            _b64(case["leafHash"]),
            case["leafIdx"],
            case["treeSize"],
            _b64(case["root"]),
        )
        if want_err:
            with pytest.raises(ProofError):
                verify_inclusion(lh, index, size, proof, root)
            return
        verify_inclusion(lh, index, size, proof, root)
        assert root_from_inclusion(lh, index, size, proof) == root
        # Cases drawn from the reference tree: our generated proof is the published one.
        if size <= 8 and root == REF_ROOTS[size] and lh == REF_LEAVES[index]:
            assert MerkleTree(REF_LEAVES).inclusion_proof(index, size) == proof
    else:
        old, new, old_root, new_root = (
            case["size1"],
            case["size2"],
            _b64(case["root1"]),
            _b64(case["root2"]),
        )
        if want_err:
            with pytest.raises(ProofError):
                verify_consistency(old, new, old_root, new_root, proof)
            return
        verify_consistency(old, new, old_root, new_root, proof)
        if new <= 8 and old_root == REF_ROOTS[old] and new_root == REF_ROOTS[new]:
            assert MerkleTree(REF_LEAVES).consistency_proof(old, new) == proof


@pytest.mark.skipif(_CORPUS is None, reason="RFC 9162 conformance corpus not available")
def test_conformance_corpus_has_both_verdicts() -> None:
    """Guard against a half-copied corpus silently shrinking the conformance run."""
    assert _CORPUS is not None
    for kind in _KINDS:
        verdicts = [
            json.loads(p.read_text())["wantErr"] for p in (_CORPUS / kind).rglob("*.json")
        ]
        assert True in verdicts and False in verdicts, f"{kind}: corpus is incomplete"


# ---------------------------------------------------------------------------------------------
# Edge cases and argument checks
# ---------------------------------------------------------------------------------------------


def test_empty_tree() -> None:
    tree = MerkleTree([])
    assert tree.size == 0
    assert tree.root() == EMPTY_ROOT
    assert tree.root(0) == EMPTY_ROOT
    assert CompactRange().root() == EMPTY_ROOT
    assert CompactRange().size == 0
    with pytest.raises(ValueError, match="out of range"):
        tree.inclusion_proof(0)
    with pytest.raises(ValueError):
        tree.consistency_proof(0)


def test_single_leaf_tree() -> None:
    lh = leaf_hash(b"only")
    tree = MerkleTree([lh])
    assert tree.root() == lh
    assert tree.inclusion_proof(0) == []
    assert tree.consistency_proof(1) == []
    verify_inclusion(lh, 0, 1, [], lh)
    verify_consistency(1, 1, lh, lh, [])


def test_tree_argument_errors() -> None:
    leaves = [leaf_hash(x) for x in ledger_data(5)]
    tree = MerkleTree(leaves)
    with pytest.raises(ValueError, match="leaf hash 1 must be 32 bytes"):
        MerkleTree([leaves[0], b"short"])
    for bad_size in (-1, 6):
        with pytest.raises(ValueError, match="outside 0..5"):
            tree.root(bad_size)
    with pytest.raises(ValueError, match="out of range"):
        tree.inclusion_proof(5)
    with pytest.raises(ValueError, match="out of range"):
        tree.inclusion_proof(-1)
    with pytest.raises(ValueError, match="out of range"):
        tree.inclusion_proof(3, size=3)
    with pytest.raises(ValueError, match="0 < old_size <= new_size"):
        tree.consistency_proof(0)
    with pytest.raises(ValueError, match="0 < old_size <= new_size"):
        tree.consistency_proof(4, 3)
    with pytest.raises(ValueError, match="outside 0..5"):
        tree.consistency_proof(1, 6)
    assert tree.consistency_proof(3, 3) == []
    cr = CompactRange()
    with pytest.raises(ValueError, match="32 bytes"):
        cr.append_leaf_hash(b"x" * 31)
    assert cr.size == 0


def test_verify_inclusion_errors_say_what_is_wrong() -> None:
    data = ledger_data(7)
    leaves = [leaf_hash(x) for x in data]
    tree = MerkleTree(leaves)
    root = tree.root()
    proof = tree.inclusion_proof(3)
    verify_inclusion(leaves[3], 3, 7, proof, root)
    with pytest.raises(ProofError, match="out of range for tree size 0"):
        verify_inclusion(leaves[0], 0, 0, [], EMPTY_ROOT)
    with pytest.raises(ProofError, match="out of range"):
        verify_inclusion(leaves[3], 7, 7, proof, root)
    with pytest.raises(ProofError, match="out of range"):
        verify_inclusion(leaves[3], -1, 7, proof, root)
    with pytest.raises(ProofError, match="must not be negative"):
        verify_inclusion(leaves[3], 0, -1, proof, root)
    with pytest.raises(ProofError, match="wrong inclusion proof length: got 4 nodes, expected 3"):
        verify_inclusion(leaves[3], 3, 7, [*proof, root], root)
    with pytest.raises(ProofError, match="wrong inclusion proof length"):
        verify_inclusion(leaves[3], 3, 7, proof[:-1], root)
    with pytest.raises(ProofError, match="proof node 1 must be 32 bytes"):
        verify_inclusion(leaves[3], 3, 7, [proof[0], proof[1] + b"\x00", proof[2]], root)
    with pytest.raises(ProofError, match="leaf hash must be 32 bytes"):
        verify_inclusion(data[3][:31], 3, 7, proof, root)
    with pytest.raises(ProofError, match="root mismatch"):
        verify_inclusion(leaves[4], 3, 7, proof, root)
    # The leaf hash, not the raw leaf data, is what is proven.
    with pytest.raises(ProofError, match="root mismatch"):
        verify_inclusion(data[3], 3, 7, proof, root)


def test_verify_consistency_edge_cases() -> None:
    leaves = [leaf_hash(x) for x in ledger_data(7)]
    tree = MerkleTree(leaves)
    r3, r7 = tree.root(3), tree.root(7)
    proof = tree.consistency_proof(3, 7)
    verify_consistency(3, 7, r3, r7, proof)
    # old_size == new_size: empty proof and equal roots.
    verify_consistency(7, 7, r7, r7, [])
    with pytest.raises(ProofError, match="must be empty"):
        verify_consistency(7, 7, r7, r7, [r7])
    with pytest.raises(ProofError, match="roots differ"):
        verify_consistency(7, 7, r7, r3, [])
    # old_size 0: not a provable statement under RFC 9162, always rejected.
    with pytest.raises(ProofError, match="old tree size 0"):
        verify_consistency(0, 7, EMPTY_ROOT, r7, [])
    with pytest.raises(ProofError, match="old tree size 0"):
        verify_consistency(0, 0, EMPTY_ROOT, EMPTY_ROOT, [])
    with pytest.raises(ProofError, match="larger than new tree size"):
        verify_consistency(7, 3, r7, r3, proof)
    with pytest.raises(ProofError, match="must not be negative"):
        verify_consistency(-1, 3, r7, r3, proof)
    with pytest.raises(ProofError, match="empty consistency proof"):
        verify_consistency(3, 7, r3, r7, [])
    with pytest.raises(ProofError, match="wrong consistency proof length"):
        verify_consistency(3, 7, r3, r7, [*proof, r7])
    with pytest.raises(ProofError, match="wrong consistency proof length"):
        verify_consistency(3, 7, r3, r7, [r3, *proof])
    with pytest.raises(ProofError, match="wrong consistency proof length"):
        verify_consistency(3, 7, r3, r7, proof[:-1])
    with pytest.raises(ProofError, match="must be 32 bytes"):
        verify_consistency(3, 7, r3, r7, [proof[0][:16], *proof[1:]])
    with pytest.raises(ProofError, match="old root mismatch"):
        verify_consistency(3, 7, flip(r3, 0), r7, proof)
    with pytest.raises(ProofError, match="new root mismatch"):
        verify_consistency(3, 7, r3, flip(r7, 0), proof)


def test_deeper_tree_proofs_at_many_sizes() -> None:
    """A tree deeper than the property tests reach (4101 leaves, 13 levels): proofs for the
    full size and older sizes, checked against roots streamed by CompactRange."""
    n = 4101
    leaves = [leaf_hash(x) for x in ledger_data(n, b"deep")]
    tree = MerkleTree(leaves)
    check_sizes = {1, 2, 3, 4095, 4096, 4097, 4100, 4101, 1000, 2049, 3333}
    roots = {}
    cr = CompactRange()
    for i, lh in enumerate(leaves, start=1):
        cr.append_leaf_hash(lh)
        if i in check_sizes:
            roots[i] = cr.root()
    assert roots[n] == tree.root()
    for size in sorted(check_sizes):
        assert tree.root(size) == roots[size]
        for index in {i for i in (0, 1, size // 2, size - 2, size - 1) if 0 <= i < size}:
            proof = tree.inclusion_proof(index, size)
            verify_inclusion(leaves[index], index, size, proof, roots[size])
        for old in sorted(check_sizes):
            if old <= size:
                proof = tree.consistency_proof(old, size)
                verify_consistency(old, size, roots[old], roots[size], proof)


# ---------------------------------------------------------------------------------------------
# Properties over random trees
# ---------------------------------------------------------------------------------------------

_SIZES = st.integers(min_value=1, max_value=300)
_SALTS = st.binary(max_size=8)


@settings(max_examples=60, deadline=None)
@given(n=_SIZES, salt=_SALTS)
def test_every_prefix_root_agrees(n: int, salt: bytes) -> None:
    """CompactRange, MerkleTree.root(size), a tree built from the prefix and the naive
    recursive MTH agree for every prefix size 0..n."""
    data = ledger_data(n, salt)
    leaves = [leaf_hash(x) for x in data]
    tree = MerkleTree(leaves)
    cr = CompactRange()
    assert cr.root() == tree.root(0) == EMPTY_ROOT
    for size in range(1, n + 1):
        cr.append_leaf_hash(leaves[size - 1])
        want = ref_mth(data[:size])
        assert cr.size == size
        assert cr.root() == want, f"CompactRange at size {size}"
        assert tree.root(size) == want, f"MerkleTree.root({size})"
    assert tree.root() == cr.root()
    assert MerkleTree(leaves[: n // 2 + 1]).root() == ref_mth(data[: n // 2 + 1])


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_inclusion_proofs_verify_and_match_rfc_path(data: st.DataObject) -> None:
    n = data.draw(_SIZES, label="tree size")
    size = data.draw(st.integers(1, n), label="proof size")
    index = data.draw(st.integers(0, size - 1), label="index")
    d = ledger_data(n, data.draw(_SALTS, label="salt"))
    leaves = [leaf_hash(x) for x in d]
    tree = MerkleTree(leaves)
    proof = tree.inclusion_proof(index, size)
    assert proof == ref_path(index, d[:size])
    if size == n:
        assert proof == tree.inclusion_proof(index)
    root = ref_mth(d[:size])
    verify_inclusion(leaves[index], index, size, proof, root)
    assert root_from_inclusion(leaves[index], index, size, proof) == root


@settings(max_examples=50, deadline=None)
@given(data=st.data())
def test_inclusion_any_one_bit_change_is_rejected(data: st.DataObject) -> None:
    """Every single-bit change to a proof node, the leaf hash, the index or the root fails."""
    n = data.draw(_SIZES, label="tree size")
    size = data.draw(st.integers(1, n), label="proof size")
    index = data.draw(st.integers(0, size - 1), label="index")
    leaves = [leaf_hash(x) for x in ledger_data(n, data.draw(_SALTS, label="salt"))]
    tree = MerkleTree(leaves)
    lh, root = leaves[index], tree.root(size)
    proof = tree.inclusion_proof(index, size)
    verify_inclusion(lh, index, size, proof, root)
    for bit in range(HASH_SIZE * 8):
        with pytest.raises(ProofError):
            verify_inclusion(flip(lh, bit), index, size, proof, root)
        with pytest.raises(ProofError):
            verify_inclusion(lh, index, size, proof, flip(root, bit))
        for i in range(len(proof)):
            bad = [*proof[:i], flip(proof[i], bit), *proof[i + 1 :]]
            with pytest.raises(ProofError):
                verify_inclusion(lh, index, size, bad, root)
    for bit in range(64):
        with pytest.raises(ProofError):
            verify_inclusion(lh, index ^ (1 << bit), size, proof, root)


@settings(max_examples=120, deadline=None)
@given(data=st.data())
def test_consistency_proofs_verify_and_tampering_fails(data: st.DataObject) -> None:
    n = data.draw(_SIZES, label="tree size")
    new = data.draw(st.integers(1, n), label="new size")
    old = data.draw(st.integers(1, new), label="old size")
    d = ledger_data(n, data.draw(_SALTS, label="salt"))
    tree = MerkleTree([leaf_hash(x) for x in d])
    proof = tree.consistency_proof(old, new)
    assert proof == ref_proof(old, d[:new])
    if new == n:
        assert proof == tree.consistency_proof(old)
    old_root, new_root = ref_mth(d[:old]), ref_mth(d[:new])
    verify_consistency(old, new, old_root, new_root, proof)
    # Any tampered old root is rejected.
    bit = data.draw(st.integers(0, HASH_SIZE * 8 - 1), label="bit")
    with pytest.raises(ProofError):
        verify_consistency(old, new, flip(old_root, bit), new_root, proof)
    with pytest.raises(ProofError):
        verify_consistency(old, new, old_root, flip(new_root, bit), proof)
    for i in range(len(proof)):
        bad = [*proof[:i], flip(proof[i], bit), *proof[i + 1 :]]
        with pytest.raises(ProofError):
            verify_consistency(old, new, old_root, new_root, bad)
    if old < new:  # a root of some other tree of the old size
        other_old = ref_mth([b"other"] + list(d[1:old]))
        with pytest.raises(ProofError):
            verify_consistency(old, new, other_old, new_root, proof)
