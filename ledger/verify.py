"""Verification: recompute every hash, link, signature and Merkle root, and name the first bad seq.

Works over any iterator of entry dicts in ``seq`` order — the database or an export bundle —
in bounded memory: one entry at a time, an O(log n) compact Merkle range, and one
``(count, last hash, last seq)`` per stream for the per-stream chain of format 2 entries.
``verify_stream_slice`` checks one stream's slice of a filtered bundle against its signed
stream head (docs/ledger-format.md §5, §13).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

from ledger.chain import UnknownVersionError, entry_hash, entry_version, fields_for
from ledger.keys import Keyring, normalize_ts
from ledger.merkle import (
    CompactRange,
    MerkleTree,
    ProofError,
    leaf_hash,
    verify_consistency,
    verify_inclusion,
)
from ledger.store import head_message, stream_head_message
from models.ledger import GENESIS_PREV_HASH, StreamHead, TreeHead, check_json_value

_HEX64 = re.compile(r"^[0-9a-f]{64}$")


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


def check_stream_head_signature(head: StreamHead, keyring: Keyring) -> str | None:
    """Why ``head``'s signature does not verify under ``keyring`` at its timestamp, or None."""
    return keyring.check(head.key_id, head.timestamp, stream_head_message(head), head.sig)


def _entry_problem(entry: dict[str, Any], keyring: Keyring) -> str | None:
    """What is wrong with one entry on its own (fields, hash, signature), or None. The field set
    is the one of the entry's format: ``v`` absent → format 1, ``v`` = 2 → format 2."""
    try:
        names = fields_for(entry)
    except UnknownVersionError as exc:
        return str(exc)
    missing = [name for name in names if name not in entry]
    if missing:
        return f"malformed entry: missing field(s) {', '.join(missing)}"
    extra = sorted(set(entry) - set(names))
    if extra:
        return f"malformed entry: unexpected field(s) {', '.join(extra)}"
    if not isinstance(entry["data"], dict):
        return "malformed entry: data is not a JSON object"
    if "v" in entry:
        stream_seq = entry["stream_seq"]
        if type(stream_seq) is not int or stream_seq < 1:
            return f"malformed entry: stream_seq {stream_seq!r} is not an integer ≥ 1"
        if not isinstance(entry["stream_prev_hash"], str) or not _HEX64.match(entry["stream_prev_hash"]):
            return "malformed entry: stream_prev_hash is not 64 lowercase hex digits"
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
    streams: dict[str, tuple[int, str, int]] = {}  # stream → (entries so far, last hash, last seq)
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
        stream = entry["stream"]
        count, stream_last_hash, stream_last_seq = streams.get(stream, (0, GENESIS_PREV_HASH, 0))
        why = _stream_link_problem(entry, stream, count, stream_last_hash, stream_last_seq)
        if why:
            report.problem = Problem(seq, why)
            return report
        streams[stream] = (count + 1, entry["hash"], seq)
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


def _stream_link_problem(
    entry: dict[str, Any], stream: str, count: int, last_hash: str, last_seq: int
) -> str | None:
    """Format 2 only: ``entry`` must be entry ``count + 1`` of ``stream`` and link to its
    previous entry (``last_hash``, seq ``last_seq``; zeros when ``count`` is 0)."""
    if "v" not in entry:
        return None
    if entry["stream_prev_hash"] != last_hash:
        if count == 0:
            return (
                f"stream chain broken: this is the first entry of {stream} but its stream_prev_hash is "
                "not 64 zeros — an earlier entry of this stream was removed"
            )
        return (
            f"stream chain broken: stream_prev_hash does not match entry seq {last_seq}, the previous "
            f"entry of {stream} — an entry of this stream was removed, inserted or reordered"
        )
    if entry["stream_seq"] != count + 1:
        return (
            f"stream chain broken: stream_seq is {entry['stream_seq']} but this is entry {count + 1} of "
            f"{stream} — an entry of this stream was removed, inserted or reordered"
        )
    return None


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


# -- one stream's slice of a filtered bundle -------------------------------------------------------


@dataclass
class StreamSliceCheck:
    """The outcome of ``verify_stream_slice``: the first problem (None: the slice is proven
    complete as the docs' §5 defines it) and notes for the examiner."""

    stream: str
    problem: Problem | None = None
    notes: list[str] = field(default_factory=list)
    #: When the slice holds format 1 entries: the stream position before which its entries predate
    #: the per-stream chain (``stream_size + 1`` when none of its entries is format 2).
    format1_before: int | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None


def verify_stream_slice(
    entries: Sequence[dict[str, Any]],
    head: StreamHead,
    *,
    since: str | None,
    until: str | None,
    selected_seqs: Collection[int],
) -> StreamSliceCheck:
    """Check that ``entries`` — one stream's selected entries plus its boundary entries, in
    ``seq`` order — are that stream's complete slice as ``head`` states it (docs §13.2, "a stream's
    slice"): an unbroken stream chain that starts at stream position 1 or right after a boundary
    entry before ``since``, and ends at ``head.stream_size`` / ``head.last_hash`` or at a boundary
    entry at or after ``until``; every selected entry in the window.

    ``selected_seqs`` says which entries are selected (any other is a boundary entry); it may hold
    other streams' seqs too. Each entry's own fields, hash, signature and inclusion proof, and the
    stream head's signature and pinning to the bundle's tree head, are the caller's to check
    (``check_stream_head_signature``) — this function does not see the keys or the proofs.
    """
    check = StreamSliceCheck(head.stream)

    def fail(seq: int | None, what: str) -> StreamSliceCheck:
        check.problem = Problem(seq, f"stream {head.stream}: {what}")
        return check

    if not entries:
        return fail(None, "the bundle holds no entry of this stream")
    try:
        window_from = normalize_ts(since) if since else None
        window_to = normalize_ts(until) if until else None
    except (TypeError, ValueError) as exc:
        return fail(None, f"the time window is not RFC 3339: {exc}")

    # Shape: one stream, seq order, selected entries contiguous between at most two boundaries.
    previous_seq = 0
    for i, entry in enumerate(entries):
        seq = entry.get("seq")
        if type(seq) is not int or seq <= previous_seq:
            return fail(seq if type(seq) is int else None, f"entries are not in seq order (after seq {previous_seq})")
        if entry.get("stream") != head.stream:
            return fail(seq, f"the entry belongs to stream {entry.get('stream')!r}, not {head.stream}")
        if seq > head.tree_size:
            return fail(seq, f"the entry lies beyond the stream head's tree size {head.tree_size}")
        try:
            entry_version(entry)
        except UnknownVersionError as exc:
            return fail(seq, str(exc))
        if seq not in selected_seqs and 0 < i < len(entries) - 1:
            return fail(seq, "an entry that is not selected lies inside the slice: only its first and last may be boundary entries")
        previous_seq = seq
    selected = [e for e in entries if e["seq"] in selected_seqs]
    if not selected:
        return fail(None, "no selected entry: the bundle holds only boundary entries of this stream")

    for entry in entries:
        seq, ts = entry["seq"], entry.get("ts")
        try:
            ts = normalize_ts(ts)
        except (TypeError, ValueError):
            return fail(seq, f"ts {ts!r} is not an RFC 3339 timestamp")
        if seq in selected_seqs:
            if window_from and ts < window_from:
                return fail(seq, f"the entry's ts {entry['ts']} is before the window's since {since}")
            if window_to and ts >= window_to:
                return fail(seq, f"the entry's ts {entry['ts']} is not before the window's until {until}")
        elif entry is entries[0]:
            if not window_from or ts >= window_from:
                return fail(seq, f"boundary entry before the slice has ts {entry['ts']}, not before the window's since {since}")
        elif not window_to or ts < window_to:
            return fail(seq, f"boundary entry after the slice has ts {entry['ts']}, not at or after the window's until {until}")

    # The chain: each format 2 entry links to the entry before it and counts its position.
    first = entries[0]
    if "v" in first:
        position: int | None = first["stream_seq"]
        if first["stream_seq"] == 1 and first["stream_prev_hash"] != GENESIS_PREV_HASH:
            return fail(first["seq"], "the stream's first entry has a stream_prev_hash that is not 64 zeros")
        if first["seq"] in selected_seqs and first["stream_seq"] != 1:
            return fail(
                first["seq"],
                f"the slice starts at stream position {first['stream_seq']}, and no boundary entry before the "
                f"window shows that positions 1–{first['stream_seq'] - 1} fall outside it — entries at the start "
                "of this stream were removed",
            )
    else:
        # A format 1 entry carries no position: 1 if the slice claims the stream's start, else unknown.
        position = 1 if first["seq"] in selected_seqs else None
    for before, entry in pairwise(entries):
        if position is not None:
            position += 1
        if "v" not in entry:
            continue
        if entry["stream_prev_hash"] != before["hash"]:
            return fail(
                entry["seq"],
                f"stream chain broken: stream_prev_hash of seq {entry['seq']} does not match seq {before['seq']}, "
                "the previous entry of this stream in the bundle — an entry of this stream was removed, inserted or reordered",
            )
        if position is not None and entry["stream_seq"] != position:
            return fail(
                entry["seq"],
                f"stream chain broken: stream_seq is {entry['stream_seq']} but the bundle's entries place it at "
                f"stream position {position} — an entry of this stream was removed, inserted or reordered",
            )
        position = entry["stream_seq"]

    last = entries[-1]
    if last["seq"] in selected_seqs:
        if last["hash"] != head.last_hash:
            return fail(
                last["seq"],
                f"the slice ends at seq {last['seq']}, but the stream head's last entry (entry {head.stream_size} "
                f"of the stream, hash {head.last_hash[:16]}…) is another — entries at the end of this stream were removed",
            )
        if position is not None and position != head.stream_size:
            return fail(
                last["seq"],
                f"the slice ends at stream position {position}, but the stream head counts {head.stream_size} "
                "entries — an entry of this stream was removed or inserted",
            )
    elif position is not None and (position > head.stream_size or (position == head.stream_size) != (last["hash"] == head.last_hash)):
        return fail(
            last["seq"],
            f"the boundary entry after the slice is at stream position {position}, which does not agree with the "
            f"stream head ({head.stream_size} entries, last hash {head.last_hash[:16]}…)",
        )

    format2 = [e for e in selected if "v" in e]
    if len(format2) < len(selected):
        check.format1_before = format2[0]["stream_seq"] if format2 else head.stream_size + 1
        if format2:
            check.notes.append(
                f"stream {head.stream}: entries before stream position {check.format1_before} predate the "
                "per-stream chain; their completeness is not proven"
            )
        else:
            check.notes.append(
                f"stream {head.stream}: its entries predate the per-stream chain; their completeness is not proven"
            )
    return check
