"""Verification: recompute every hash, link, signature and Merkle root, and name the first bad seq.

Works over any iterator of entry dicts in ``seq`` order — the database or an export bundle —
in bounded memory: one entry at a time plus an O(log n) compact Merkle range.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from ledger.chain import ENTRY_FIELDS, entry_hash
from ledger.keys import Keyring, normalize_ts
from ledger.store import head_message
from ledger.merkle import CompactRange, MerkleTree, ProofError, leaf_hash, verify_consistency, verify_inclusion
from models.ledger import GENESIS_PREV_HASH, TreeHead, check_json_value


@dataclass(frozen=True)
class Problem:
    """The first thing found wrong: the entry (``seq``) or tree head it concerns, and what."""

    seq: int | None
    what: str

    def __str__(self) -> str:
        return f"seq {self.seq}: {self.what}" if self.seq is not None else self.what


@dataclass
class VerifyReport:
    entries_checked: int = 0
    tree_size: int = 0
    root_hash: str = ""
    heads_checked: int = 0
    problem: Problem | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.problem is None

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "entries_checked": self.entries_checked,
            "tree_size": self.tree_size,
            "root_hash": self.root_hash,
            "heads_checked": self.heads_checked,
            "first_bad_seq": self.problem.seq if self.problem else None,
            "problem": str(self.problem) if self.problem else None,
            "notes": self.notes,
        }


def check_head_signature(head: TreeHead, keyring: Keyring) -> str | None:
    return keyring.check(head.key_id, head.timestamp, head_message(head), head.sig)


def _entry_problem(entry: dict[str, Any], keyring: Keyring) -> str | None:
    """What is wrong with one entry on its own (fields, hash, signature), or None."""
    missing = [name for name in ENTRY_FIELDS if name not in entry]
    if missing:
        return f"malformed entry: missing field(s) {', '.join(missing)}"
    extra = sorted(set(entry) - set(ENTRY_FIELDS))
    if extra:
        return f"malformed entry: unexpected field(s) {', '.join(extra)}"
    if not isinstance(entry["data"], dict):
        return "malformed entry: data is not a JSON object"
    try:
        check_json_value(entry["data"])
        recomputed = entry_hash(entry)
    except (TypeError, ValueError) as exc:
        return f"malformed entry: {exc}"
    if recomputed != entry["hash"]:
        return (
            f"hash mismatch: the entry's content hashes to {recomputed[:16]}…, not the recorded "
            f"{str(entry['hash'])[:16]}… — the entry was changed after it was recorded"
        )
    try:
        normalize_ts(entry["ts"])
    except (TypeError, ValueError):
        return f"malformed entry: ts {entry['ts']!r} is not an RFC 3339 timestamp"
    return keyring.check(entry["key_id"], entry["ts"], bytes.fromhex(entry["hash"]), entry["sig"])


def verify_entries(
    entries: Iterable[dict[str, Any]],
    keyring: Keyring,
    heads: Sequence[TreeHead] = (),
    *,
    expected_size: int | None = None,
) -> VerifyReport:
    """Verify a whole ledger, from seq 1, against ``keyring`` and the signed ``heads``.

    Every signed head must carry a valid signature and match the Merkle root of the entries up
    to its ``tree_size``; a head larger than the ledger means entries were removed at the tail.
    ``expected_size`` (a bundle's declared size) must equal the number of entries.
    """
    report = VerifyReport()
    for head in heads:
        why = check_head_signature(head, keyring)
        if why:
            report.problem = Problem(None, f"tree head of {head.timestamp} (size {head.tree_size}): {why}")
            return report
    checkpoints: dict[int, list[TreeHead]] = {}
    for head in heads:
        checkpoints.setdefault(head.tree_size, []).append(head)

    compact = CompactRange()
    prev_hash, prev_ts, expected = GENESIS_PREV_HASH, "", 1
    for entry in entries:
        seq = entry.get("seq")
        if not isinstance(seq, int) or isinstance(seq, bool):
            report.problem = Problem(expected, f"malformed entry in place of seq {expected}: seq is {seq!r}")
            return report
        if seq != expected:
            if seq > expected:
                what = f"missing: the entry after seq {expected - 1} has seq {seq}"
            else:
                what = f"seq {seq} appears again or out of order where seq {expected} belongs"
            report.problem = Problem(expected, what)
            return report
        why = _entry_problem(entry, keyring)
        if why:
            report.problem = Problem(seq, why)
            return report
        if entry["prev_hash"] != prev_hash:
            report.problem = Problem(
                seq,
                f"prev_hash does not match the hash of seq {seq - 1} — an entry before it was "
                "removed, inserted or reordered",
            )
            return report
        ts = normalize_ts(entry["ts"])
        if ts < prev_ts:
            report.problem = Problem(seq, f"ts {entry['ts']} is earlier than seq {seq - 1}'s {prev_ts}")
            return report
        compact.append_leaf_hash(leaf_hash(bytes.fromhex(entry["hash"])))
        for head in checkpoints.get(seq, ()):
            if compact.root().hex() != head.root_hash:
                report.problem = Problem(
                    seq,
                    f"the Merkle root over seq 1..{seq} differs from the tree head signed at "
                    f"{head.timestamp}: entries up to seq {seq} were rewritten after that head",
                )
                return report
            report.heads_checked += 1
        prev_hash, prev_ts, expected = entry["hash"], ts, expected + 1
        report.entries_checked += 1

    size = expected - 1
    report.tree_size, report.root_hash = size, compact.root().hex()
    if 0 in checkpoints:
        report.heads_checked += len(checkpoints[0])
    longer = [h for h in heads if h.tree_size > size]
    if longer:
        head = max(longer, key=lambda h: h.tree_size)
        report.problem = Problem(
            size + 1,
            f"missing: the tree head signed at {head.timestamp} covers {head.tree_size} entries but "
            f"only {size} remain — entries seq {size + 1}..{head.tree_size} were removed",
        )
        return report
    if expected_size is not None and expected_size != size:
        report.problem = Problem(
            size + 1 if expected_size > size else expected_size + 1,
            f"the bundle declares {expected_size} entries but holds {size}",
        )
    return report


def verify_against_earlier_head(
    earlier: TreeHead, keyring: Keyring, leaf_hashes: Iterator[bytes] | Sequence[bytes]
) -> Problem | None:
    """Check, through an RFC 9162 §2.1.4 consistency proof, that the ledger whose leaves are
    ``leaf_hashes`` extends the tree an examiner kept as ``earlier`` — nothing signed then was
    changed or removed since."""
    why = check_head_signature(earlier, keyring)
    if why:
        return Problem(None, f"the earlier tree head of {earlier.timestamp}: {why}")
    tree = MerkleTree(list(leaf_hashes))
    if tree.size < earlier.tree_size:
        return Problem(
            tree.size + 1,
            f"missing: the tree head signed at {earlier.timestamp} covers {earlier.tree_size} "
            f"entries but only {tree.size} remain — the ledger was truncated",
        )
    proof = tree.consistency_proof(earlier.tree_size, tree.size)
    try:
        verify_consistency(
            earlier.tree_size, tree.size, bytes.fromhex(earlier.root_hash), tree.root(), proof
        )
    except ProofError as exc:
        return Problem(
            earlier.tree_size,
            f"the ledger does not extend the tree head signed at {earlier.timestamp} "
            f"({exc}): entries up to seq {earlier.tree_size} were changed or removed",
        )
    return None


def verify_included_entries(
    entries: Iterable[dict[str, Any]],
    proofs: dict[int, dict[str, Any]],
    keyring: Keyring,
    head: TreeHead,
) -> VerifyReport:
    """Verify a filtered export: each entry on its own, and its inclusion proof against ``head``."""
    report = VerifyReport(tree_size=head.tree_size, root_hash=head.root_hash)
    why = check_head_signature(head, keyring)
    if why:
        report.problem = Problem(None, f"tree head of {head.timestamp}: {why}")
        return report
    report.heads_checked = 1
    root = bytes.fromhex(head.root_hash)
    last_seq, last_hash = 0, None
    for entry in entries:
        seq = entry.get("seq")
        if not isinstance(seq, int) or seq <= last_seq:
            report.problem = Problem(seq if isinstance(seq, int) else None, "entries out of seq order")
            return report
        why = _entry_problem(entry, keyring)
        if why:
            report.problem = Problem(seq, why)
            return report
        if seq == last_seq + 1 and last_hash is not None and entry["prev_hash"] != last_hash:
            report.problem = Problem(seq, f"prev_hash does not match the hash of seq {last_seq}")
            return report
        proof = proofs.get(seq)
        if proof is None:
            report.problem = Problem(seq, "no inclusion proof for this entry in proofs.jsonl")
            return report
        try:
            if proof.get("leaf_index") != seq - 1 or proof.get("tree_size") != head.tree_size:
                raise ProofError(
                    f"proof is for leaf {proof.get('leaf_index')} of a tree of {proof.get('tree_size')}, "
                    f"expected leaf {seq - 1} of {head.tree_size}"
                )
            path = [bytes.fromhex(node) for node in proof.get("audit_path", [])]
            verify_inclusion(leaf_hash(bytes.fromhex(entry["hash"])), seq - 1, head.tree_size, path, root)
        except (ProofError, ValueError, TypeError) as exc:
            report.problem = Problem(seq, f"inclusion proof against the signed tree head fails: {exc}")
            return report
        last_seq, last_hash = seq, entry["hash"]
        report.entries_checked += 1
    return report
