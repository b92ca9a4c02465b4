"""RFC 9162 §2.1 Merkle Hash Trees for the audit ledger.

The ledger commits to its entries with the Merkle Tree Hash (MTH) of RFC 9162 §2.1.1 over
SHA-256. Leaf ``i`` is the entry with ``seq == i + 1``; its leaf data is the 32 raw bytes of
the entry's hash, so the value placed in the tree is ``leaf_hash(entry_hash)``.

Pieces:

* :func:`leaf_hash`, :func:`node_hash`, :data:`EMPTY_ROOT` — the hashing of §2.1.1, with the
  0x00 / 0x01 domain-separation prefixes that keep leaves and interior nodes apart.
* :class:`CompactRange` — a streaming root over leaves appended in order, O(log n) memory.
* :class:`MerkleTree` — an in-memory tree built once from leaf hashes; roots, inclusion
  proofs (§2.1.3.1) and consistency proofs (§2.1.4.1) for the full tree or any older size.
* :func:`verify_inclusion`, :func:`root_from_inclusion`, :func:`verify_consistency` — the
  verification algorithms of §2.1.3.2 and §2.1.4.2, step for step; every failure raises
  :class:`ProofError` saying what is wrong.

Pure Python; the only dependency is :mod:`hashlib`.
"""

from __future__ import annotations

import hashlib
import operator
from collections.abc import Sequence

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "CompactRange",
    "MerkleTree",
    "ProofError",
    "leaf_hash",
    "node_hash",
    "root_from_inclusion",
    "verify_consistency",
    "verify_inclusion",
]

#: Size in bytes of every hash in the tree (SHA-256).
HASH_SIZE = 32

_sha256 = hashlib.sha256
_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"


class ProofError(ValueError):
    """A Merkle proof did not verify; the message says why (index out of range, wrong proof
    length, malformed node, root mismatch, ...)."""


# --------------------------------------------------------------------------------------------
# Hashing (RFC 9162 §2.1.1)
# --------------------------------------------------------------------------------------------


def leaf_hash(data: bytes) -> bytes:
    """Hash of a single leaf: ``SHA-256(0x00 || data)`` — RFC 9162 §2.1.1, ``MTH({d(0)})``."""
    return _sha256(_LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Hash of an interior node: ``SHA-256(0x01 || left || right)`` — RFC 9162 §2.1.1."""
    return _sha256(_NODE_PREFIX + left + right).digest()


#: Root of the empty tree: ``MTH({}) = SHA-256()`` — RFC 9162 §2.1.1.
EMPTY_ROOT: bytes = _sha256(b"").digest()


def _split(n: int) -> int:
    """The largest power of two strictly smaller than ``n`` (``n >= 2``): the ``k`` of
    RFC 9162 §2.1.1 at which ``D_n`` is split into ``D[0:k]`` and ``D[k:n]``."""
    return 1 << ((n - 1).bit_length() - 1)


def _inclusion_proof_length(index: int, size: int) -> int:
    """Number of nodes in ``PATH(index, D_size)`` (RFC 9162 §2.1.3.1), ``0 <= index < size``.

    Below the level where the paths to ``index`` and to ``size - 1`` meet, every level
    contributes one sibling (``inner``); above it, only levels where ``index`` lies in a
    right subtree do (``border``).
    """
    inner = (index ^ (size - 1)).bit_length()
    border = (index >> inner).bit_count()
    return inner + border


def _consistency_proof_length(old_size: int, new_size: int) -> int:
    """Number of nodes in ``PROOF(old_size, D_new_size)`` (RFC 9162 §2.1.4.1) for
    ``0 < old_size < new_size``.

    It is the inclusion path of leaf ``old_size - 1`` in the new tree, minus the levels inside
    the largest perfect subtree ending at ``old_size`` (``shift`` of them), plus that
    subtree's own hash unless it is the whole old tree (``old_size`` a power of two).
    """
    shift = (old_size & -old_size).bit_length() - 1  # trailing zero bits of old_size
    seed = 0 if old_size == 1 << shift else 1
    return _inclusion_proof_length(old_size - 1, new_size) - shift + seed


def _as_size(value: int, what: str) -> int:
    value = operator.index(value)
    if value < 0:
        raise ProofError(f"{what} must not be negative (got {value})")
    return value


def _check_hash(value: bytes, what: str, error: type[ValueError] = ProofError) -> None:
    if len(value) != HASH_SIZE:
        raise error(f"{what} must be {HASH_SIZE} bytes, got {len(value)}")


def _check_proof_nodes(proof: Sequence[bytes]) -> None:
    for i, node in enumerate(proof):
        _check_hash(node, f"proof node {i}")


# --------------------------------------------------------------------------------------------
# Streaming root
# --------------------------------------------------------------------------------------------


class CompactRange:
    """Streaming Merkle Tree Hash over leaves appended in order, in O(log n) memory.

    Keeps the roots of the perfect subtrees that make up the leaves so far — one per set bit
    of ``size``, largest (leftmost) first. Appending merges equal-sized neighbours like a
    binary counter; :meth:`root` folds them right to left, which is exactly the recursive
    split of RFC 9162 §2.1.1.
    """

    __slots__ = ("_size", "_stack")

    def __init__(self) -> None:
        self._size = 0
        self._stack: list[bytes] = []

    @property
    def size(self) -> int:
        """Number of leaves appended so far."""
        return self._size

    def append_leaf_hash(self, lh: bytes) -> None:
        """Append the next leaf; ``lh`` is its leaf hash, ``leaf_hash(data)``."""
        _check_hash(lh, "leaf hash", ValueError)
        h = bytes(lh)
        n = self._size
        stack = self._stack
        while n & 1:
            h = node_hash(stack.pop(), h)
            n >>= 1
        stack.append(h)
        self._size += 1

    def root(self) -> bytes:
        """MTH of all leaves appended so far (RFC 9162 §2.1.1); :data:`EMPTY_ROOT` when none."""
        stack = self._stack
        if not stack:
            return EMPTY_ROOT
        h = stack[-1]
        for left in reversed(stack[:-1]):
            h = node_hash(left, h)
        return h

    def __repr__(self) -> str:
        return f"CompactRange(size={self._size})"


# --------------------------------------------------------------------------------------------
# In-memory tree
# --------------------------------------------------------------------------------------------


class MerkleTree:
    """An RFC 9162 Merkle tree over a fixed list of leaf hashes, built once.

    Construction hashes level by level, pairing nodes left to right and carrying an unpaired
    last node up unchanged. Node ``i`` of level ``k`` is then the MTH of leaves
    ``[i * 2**k, min((i + 1) * 2**k, size))`` — the same tree as RFC 9162 §2.1.1's
    largest-power-of-two split. Each level is one contiguous ``bytes`` (32 bytes a node),
    about ``2 * size * 32`` bytes in all.

    :meth:`root`, :meth:`inclusion_proof` and :meth:`consistency_proof` also answer for any
    older tree size: sub-tree hashes for ranges that end inside a level are assembled from
    the perfect sub-trees that cover them. For the full size each proof costs O(log n) slices;
    for an older size O(log² n) at most.
    """

    __slots__ = ("_levels", "_size")

    def __init__(self, leaf_hashes: Sequence[bytes]) -> None:
        for i, lh in enumerate(leaf_hashes):
            if len(lh) != HASH_SIZE:
                raise ValueError(f"leaf hash {i} must be {HASH_SIZE} bytes, got {len(lh)}")
        size = len(leaf_hashes)
        level = b"".join(leaf_hashes)
        levels = [level]
        count = size
        while count > 1:
            view = memoryview(level)
            end = (count >> 1) * 2 * HASH_SIZE
            parents = [
                _sha256(_NODE_PREFIX + view[j : j + 2 * HASH_SIZE]).digest()
                for j in range(0, end, 2 * HASH_SIZE)
            ]
            if count & 1:
                parents.append(level[end:])  # unpaired last node: carried up unchanged
            view.release()
            level = b"".join(parents)
            levels.append(level)
            count = (count + 1) >> 1
        self._levels: list[bytes] = levels
        self._size = size

    @property
    def size(self) -> int:
        """Number of leaves in the tree."""
        return self._size

    def __len__(self) -> int:
        return self._size

    def __repr__(self) -> str:
        return f"MerkleTree(size={self._size})"

    # -- internals ---------------------------------------------------------------------------

    def _tree_size(self, size: int | None) -> int:
        if size is None:
            return self._size
        size = operator.index(size)
        if not 0 <= size <= self._size:
            raise ValueError(f"tree size {size} is outside 0..{self._size}")
        return size

    def _node(self, level: int, index: int) -> bytes:
        start = index * HASH_SIZE
        return self._levels[level][start : start + HASH_SIZE]

    def _range_hash(self, lo: int, hi: int) -> bytes:
        """MTH(D[lo:hi]) for ``lo < hi <= size`` where ``lo`` is a multiple of a power of two
        ``>= hi - lo`` — true of every sub-tree in RFC 9162's recursive split."""
        n = hi - lo
        if n & (n - 1) == 0:  # a perfect, aligned sub-tree: one cached node
            level = n.bit_length() - 1
            return self._node(level, lo >> level)
        if hi == self._size:  # the right edge of the full tree: the (carried) last node
            level = (n - 1).bit_length()
            return self._node(level, lo >> level)
        # Otherwise: the perfect sub-trees for the set bits of n, largest first, then fold.
        parts: list[bytes] = []
        pos = lo
        for level in range(n.bit_length() - 1, -1, -1):
            if n >> level & 1:
                parts.append(self._node(level, pos >> level))
                pos += 1 << level
        h = parts.pop()
        while parts:
            h = node_hash(parts.pop(), h)
        return h

    # -- public ------------------------------------------------------------------------------

    def root(self, size: int | None = None) -> bytes:
        """MTH of the first ``size`` leaves (all when None) — RFC 9162 §2.1.1.

        :data:`EMPTY_ROOT` for size 0; :class:`ValueError` when ``size`` exceeds the tree.
        """
        size = self._tree_size(size)
        if size == 0:
            return EMPTY_ROOT
        return self._range_hash(0, size)

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        """Audit path ``PATH(index, D[size])`` of RFC 9162 §2.1.3.1, leaf first, root last.

        ``size`` defaults to the whole tree. Raises :class:`ValueError` unless
        ``0 <= index < size <= self.size``.
        """
        size = self._tree_size(size)
        index = operator.index(index)
        if not 0 <= index < size:
            raise ValueError(f"leaf index {index} is out of range for tree size {size}")
        # PATH(m, D_n) = PATH(m, D[0:k]) : MTH(D[k:n])      if m < k
        #              = PATH(m - k, D[k:n]) : MTH(D[0:k])  if m >= k
        # Walk the split from the root down, collecting siblings; the path lists them upwards.
        path: list[bytes] = []
        lo, hi = 0, size
        while hi - lo > 1:
            mid = lo + _split(hi - lo)
            if index < mid:
                path.append(self._range_hash(mid, hi))
                hi = mid
            else:
                path.append(self._range_hash(lo, mid))
                lo = mid
        path.reverse()
        return path

    def consistency_proof(self, old_size: int, new_size: int | None = None) -> list[bytes]:
        """Consistency proof ``PROOF(old_size, D[new_size])`` of RFC 9162 §2.1.4.1.

        ``new_size`` defaults to the whole tree. ``old_size == new_size`` gives the empty
        proof. RFC 9162 defines consistency proofs only for ``0 < old_size``, so 0 raises
        :class:`ValueError`, as do ``old_size > new_size`` and sizes beyond the tree.
        """
        new_size = self._tree_size(new_size)
        old_size = operator.index(old_size)
        if not 0 < old_size <= new_size:
            raise ValueError(
                f"consistency proofs need 0 < old_size <= new_size "
                f"(got old_size={old_size}, new_size={new_size})"
            )
        # PROOF(m, D_n) = SUBPROOF(m, D_n, true)
        # SUBPROOF(m, D_m, true)  = {}
        # SUBPROOF(m, D_m, false) = {MTH(D_m)}
        # SUBPROOF(m, D_n, b) = SUBPROOF(m, D[0:k], b) : MTH(D[k:n])          if m <= k
        #                     = SUBPROOF(m - k, D[k:n], false) : MTH(D[0:k])  if m > k
        proof: list[bytes] = []
        lo, hi = 0, new_size
        whole_old_tree = True  # the "b" flag: the current sub-tree starts at leaf 0
        while hi != old_size:
            mid = lo + _split(hi - lo)
            if old_size <= mid:
                proof.append(self._range_hash(mid, hi))
                hi = mid
            else:
                proof.append(self._range_hash(lo, mid))
                lo = mid
                whole_old_tree = False
        if not whole_old_tree:
            proof.append(self._range_hash(lo, hi))
        proof.reverse()
        return proof


# --------------------------------------------------------------------------------------------
# Verification (RFC 9162 §2.1.3.2 and §2.1.4.2)
# --------------------------------------------------------------------------------------------


def root_from_inclusion(
    leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes]
) -> bytes:
    """The root implied by an inclusion proof: RFC 9162 §2.1.3.2 steps 1-4 and the ``sn == 0``
    check of step 5 (the caller compares the result with the expected root).

    Raises :class:`ProofError` when ``index`` is not below ``size``, when the proof does not
    have exactly the number of nodes ``PATH(index, D[size])`` has (missing, extra or trailing
    nodes), or when the leaf hash or a proof node is not a 32-byte hash.
    """
    size = _as_size(size, "tree size")
    index = operator.index(index)
    # Step 1: leaf_index >= tree_size fails.
    if index < 0 or index >= size:
        raise ProofError(f"leaf index {index} is out of range for tree size {size}")
    _check_hash(leaf_hash, "leaf hash")
    expected = _inclusion_proof_length(index, size)
    if len(proof) != expected:
        raise ProofError(
            f"wrong inclusion proof length: got {len(proof)} nodes, expected {expected} "
            f"for leaf index {index} in a tree of size {size}"
        )
    _check_proof_nodes(proof)

    # Step 2-3.
    fn, sn = index, size - 1
    r = bytes(leaf_hash)
    # Step 4.
    for p in proof:
        if sn == 0:  # 4a (unreachable after the length check; kept as the RFC states it)
            raise ProofError("inclusion proof has more nodes than the tree has levels")
        if fn & 1 or fn == sn:  # 4b
            r = node_hash(p, r)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1  # 4c
        sn >>= 1
    # Step 5 (first half).
    if sn != 0:
        raise ProofError("inclusion proof has fewer nodes than the tree has levels")
    return r


def verify_inclusion(
    leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """Verify that ``leaf_hash`` is leaf ``index`` of the tree of ``size`` leaves whose MTH is
    ``root`` — RFC 9162 §2.1.3.2. Returns None on success; raises :class:`ProofError`."""
    computed = root_from_inclusion(leaf_hash, index, size, proof)
    if computed != root:
        raise ProofError(
            f"root mismatch: the inclusion proof for leaf index {index} gives "
            f"{computed.hex()} for tree size {size}, expected {bytes(root).hex()}"
        )


def verify_consistency(
    old_size: int,
    new_size: int,
    old_root: bytes,
    new_root: bytes,
    proof: Sequence[bytes],
) -> None:
    """Verify that the tree of ``new_size`` leaves with MTH ``new_root`` extends the tree of
    ``old_size`` leaves with MTH ``old_root`` — RFC 9162 §2.1.4.2.

    Edge cases: ``old_size == new_size`` needs an empty proof and equal roots (the proof
    ``SUBPROOF(m, D[m], true) = {}`` of §2.1.4.1). ``old_size == 0`` is rejected: RFC 9162
    defines consistency proofs only for ``0 < old_size``, and every tree extends the empty
    one, so such a "proof" would prove nothing. ``old_size > new_size``, an empty proof for
    ``old_size < new_size`` (step 1), a proof with missing, extra or trailing nodes and any
    root mismatch all raise :class:`ProofError`.
    """
    old_size = _as_size(old_size, "old tree size")
    new_size = _as_size(new_size, "new tree size")
    if old_size > new_size:
        raise ProofError(f"old tree size {old_size} is larger than new tree size {new_size}")
    if old_size == 0:
        raise ProofError(
            "consistency with the empty tree (old tree size 0) is not verifiable: RFC 9162 "
            "§2.1.4 defines consistency proofs only for 0 < old size"
        )
    if old_size == new_size:
        if len(proof) != 0:
            raise ProofError(
                f"tree sizes are equal ({old_size}), so the consistency proof must be empty; "
                f"got {len(proof)} nodes"
            )
        if old_root != new_root:
            raise ProofError(f"root mismatch: tree sizes are equal ({old_size}) but roots differ")
        return
    # Step 1.
    if len(proof) == 0:
        raise ProofError(
            f"empty consistency proof for old tree size {old_size} < new tree size {new_size}"
        )
    expected = _consistency_proof_length(old_size, new_size)
    if len(proof) != expected:
        raise ProofError(
            f"wrong consistency proof length: got {len(proof)} nodes, expected {expected} "
            f"from tree size {old_size} to {new_size}"
        )
    _check_proof_nodes(proof)

    # Step 2: if first is an exact power of 2, prepend first_hash.
    path = list(proof)
    if old_size & (old_size - 1) == 0:
        path.insert(0, bytes(old_root))
    # Step 3.
    fn, sn = old_size - 1, new_size - 1
    # Step 4.
    while fn & 1:
        fn >>= 1
        sn >>= 1
    # Step 5.
    fr = sr = path[0]
    # Step 6.
    for c in path[1:]:
        if sn == 0:  # 6a (unreachable after the length check; kept as the RFC states it)
            raise ProofError("consistency proof has more nodes than the trees have levels")
        if fn & 1 or fn == sn:  # 6b
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1  # 6c
        sn >>= 1
    # Step 7.
    if sn != 0:
        raise ProofError("consistency proof has fewer nodes than the trees have levels")
    if fr != old_root:
        raise ProofError(
            f"old root mismatch: the consistency proof gives {fr.hex()} for tree size "
            f"{old_size}, expected {bytes(old_root).hex()}"
        )
    if sr != new_root:
        raise ProofError(
            f"new root mismatch: the consistency proof gives {sr.hex()} for tree size "
            f"{new_size}, expected {bytes(new_root).hex()}"
        )
