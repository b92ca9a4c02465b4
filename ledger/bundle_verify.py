"""Verifying an examination bundle offline (docs/ledger-format.md §8; spec steps 1–7).

Format 2 (``noticeflow-ledger-bundle/2``): the signed manifest, every file's SHA-256, the tree
head and its checkpoint, every entry (complete: whole chains and the Merkle root; filtered:
inclusion proofs and per-stream chains bounded by signed stream heads and boundary entries), the
consistency proofs, and each checkpoint the examiner already holds. The first failure is reported,
naming the file, the entry ``seq`` or the checkpoint. Format 1 bundles verify as they always did.

Trust comes from ``key_statement`` (the key statement the licensee filed) or ``trusted_keys`` (a
keyring); without either the bundle's own ``keys.json`` is used, and the report says so.
``BundleError`` means the input is unusable (not a bundle, an unreadable statement or
checkpoint file); every verification failure is ``report.problem``.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ledger.bundle_files import (
    BUNDLE_FORMAT,
    BUNDLE_FORMAT_1,
    MANIFEST,
    MANIFEST_SIG,
    REQUIRED_FILES,
    STREAM_HEADS_FORMAT,
    is_safe_bundle_path,
    iter_jsonl,
    read_json,
    sha256_file,
)
from ledger.checkpoint import Checkpoint, CheckpointError, verify_checkpoint
from ledger.errors import BundleError, LedgerError
from ledger.key_statement import check_keys_against_statement, verify_key_statement
from ledger.keys import Keyring, normalize_ts
from ledger.merkle import MerkleTree, ProofError, leaf_hash, verify_consistency
from ledger.verify import (
    Problem,
    StreamSliceCheck,
    VerifyReport,
    check_head_signature,
    check_stream_head_signature,
    verify_against_earlier_head,
    verify_entries,
    verify_included_entries,
    verify_stream_slice,
)
from models.ledger import StreamHead, TreeHead

MANIFEST_FIELDS = (
    "format", "generated_at", "key_id", "filter", "completeness", "entry_count", "boundary_count",
    "tree_size", "root_hash", "streams", "files",
)
#: Files whose digest failure is followed by a look at the entries, to name the seq that changed.
_ENTRY_FILES = ("entries.jsonl", "boundaries.jsonl", "proofs.jsonl", "stream_heads.json")


@dataclass
class BundleReport(VerifyReport):
    """A bundle's verification: the ``VerifyReport`` fields plus what the bundle claims."""

    format: str = ""
    completeness: dict[str, Any] = field(default_factory=dict)
    trust: str = ""
    files_checked: int = 0
    boundaries_checked: int = 0
    stream_heads_checked: int = 0
    consistency_checked: int = 0
    checkpoints_checked: int = 0

    def to_json(self) -> dict[str, Any]:
        return super().to_json() | {
            "format": self.format,
            "completeness": self.completeness,
            "trust": self.trust,
            "files_checked": self.files_checked,
            "boundaries_checked": self.boundaries_checked,
            "stream_heads_checked": self.stream_heads_checked,
            "consistency_checked": self.consistency_checked,
            "checkpoints_checked": self.checkpoints_checked,
        }


class _Failed(Exception):
    def __init__(self, problem: Problem) -> None:
        super().__init__(str(problem))
        self.problem = problem


def _fail(what: str, seq: int | None = None) -> _Failed:
    return _Failed(Problem(seq, what))


@dataclass(frozen=True)
class _Trust:
    keyring: Keyring | None  # None: take keys.json from the bundle
    label: str
    origin: str | None = None
    statement: Keyring | None = None


def load_tree_head(path: Path) -> TreeHead:
    try:
        return TreeHead.model_validate(read_json(Path(path)))
    except ValueError as exc:
        if isinstance(exc, BundleError):
            raise
        raise BundleError(f"{Path(path).name}: not a signed tree head ({exc})") from exc


def load_key_statement(path: Path) -> tuple[Keyring, str]:
    """The keyring and origin of a key statement file; ``BundleError`` when it is unreadable or
    does not verify on its own."""
    path = Path(path)
    try:
        statement = json.loads(path.read_text("utf-8"))
    except FileNotFoundError as exc:
        raise BundleError(f"{path}: key statement not found") from exc
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BundleError(f"{path}: the key statement is not valid JSON ({exc})") from exc
    try:
        keyring = verify_key_statement(statement)
    except LedgerError as exc:
        raise BundleError(f"{path}: the key statement does not verify: {exc}") from exc
    return keyring, statement["origin"]


def read_checkpoints(paths: Iterable[Path]) -> list[tuple[str, str]]:
    """``(name, text)`` of each checkpoint file; ``BundleError`` for one that cannot be read."""
    found = []
    for path in paths:
        try:
            found.append((str(path), Path(path).read_bytes().decode("utf-8")))
        except OSError as exc:
            raise BundleError(f"{path}: cannot read the checkpoint ({exc.strerror or exc})") from exc
        except UnicodeDecodeError as exc:
            raise BundleError(f"{path}: the checkpoint is not UTF-8 text") from exc
    return found


def verify_bundle(
    bundle: Path,
    *,
    trusted_keys: Keyring | None = None,
    key_statement: Path | None = None,
    known_checkpoints: Sequence[Path] = (),
    earlier_head: TreeHead | None = None,
) -> BundleReport:
    """Verify an examination bundle offline; format 1 and format 2.

    ``key_statement``: the licensee's key statement (trust anchor; its origin is the expected
    checkpoint origin). ``trusted_keys``: a keyring instead (``--keys``). ``known_checkpoints``:
    checkpoint files the examiner holds; the bundle's ledger must extend each. ``earlier_head``:
    a ``tree_head.json`` kept from before, checked the same way.
    """
    bundle = Path(bundle)
    if not bundle.is_dir():
        raise BundleError(f"{bundle} is not a bundle directory")
    if not (bundle / MANIFEST).is_file():
        raise BundleError(f"{bundle}: no manifest.json — not an examination bundle")
    if key_statement is not None and trusted_keys is not None:
        raise BundleError("give either a key statement (--trusted-keys) or a keyring (--keys), not both")
    if key_statement is not None:
        statement, origin = load_key_statement(key_statement)
        trust = _Trust(statement, f"the key statement {Path(key_statement).name}", origin, statement)
    elif trusted_keys is not None:
        trust = _Trust(trusted_keys, "the keyring given with --keys")
    else:
        trust = _Trust(None, "keys.json of the bundle (unauthenticated)")
    checkpoints = read_checkpoints(known_checkpoints)
    manifest_bytes = (bundle / MANIFEST).read_bytes()
    report = BundleReport(trust=trust.label)
    try:
        manifest = json.loads(manifest_bytes)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        report.problem = Problem(None, f"manifest.json: not valid JSON ({exc})")
        return report
    report.format = str(manifest.get("format")) if isinstance(manifest, dict) else ""
    if report.format == BUNDLE_FORMAT_1:
        return _verify_format1(bundle, manifest, trust, checkpoints, earlier_head, report)
    try:
        _Format2(bundle, manifest, manifest_bytes, trust, report).run(checkpoints, earlier_head)
    except _Failed as failed:
        report.problem = failed.problem
    if trust.statement is None:
        report.notes.append(
            "keys taken from "
            + ("the keyring given with --keys" if trust.keyring is not None else "the bundle's keys.json")
            + ", not from a key statement the licensee filed: pass --trusted-keys STATEMENT to know who signed"
        )
    return report


class _Format2:
    def __init__(self, bundle: Path, manifest: Any, manifest_bytes: bytes, trust: _Trust, report: BundleReport) -> None:
        self.bundle = bundle
        self.manifest = manifest
        self.manifest_bytes = manifest_bytes
        self.trust = trust
        self.report = report
        self.keyring: Keyring = trust.keyring or Keyring()
        self.head: TreeHead | None = None
        self.checkpoint: Checkpoint | None = None
        self.entries: list[dict[str, Any]] = []
        self.consistency: dict[int, tuple[str, list[bytes]]] = {}

    # -- steps ----------------------------------------------------------------------------------

    def run(self, checkpoints: list[tuple[str, str]], earlier_head: TreeHead | None) -> None:
        self.check_manifest()  # 1
        self.check_files()  # 2
        self.check_head()  # 3
        self.check_entries()  # 4
        self.check_consistency()  # 5
        for name, text in checkpoints:  # 6
            self.check_known_checkpoint(name, text)
        if earlier_head is not None:
            why = check_head_signature(earlier_head, self.keyring)
            if why:
                raise _fail(f"the earlier tree head of {earlier_head.timestamp}: {why}")
            self.check_extends(f"the earlier tree head of {earlier_head.timestamp}", earlier_head.tree_size, earlier_head.root_hash)
        self.check_statement_keys()  # 7

    def check_manifest(self) -> None:
        manifest = self.manifest
        if not isinstance(manifest, dict):
            raise _fail("manifest.json: not a JSON object")
        for name in ("key_id", "generated_at"):
            if name not in manifest:
                raise _fail(f"manifest.json: missing field {name} — it cannot name the key that signed it")
        if self.trust.keyring is None:
            try:
                self.keyring = Keyring.from_json(read_json(self.bundle / "keys.json"))
            except LedgerError as exc:
                raise _fail(f"keys.json: {exc}") from None
        sig_path = self.bundle / MANIFEST_SIG
        if not sig_path.is_file():
            raise _fail("manifest.sig is missing: the manifest is not signed")
        try:
            sig = sig_path.read_text("ascii").strip()
        except (UnicodeDecodeError, OSError):
            raise _fail("manifest.sig: not a base64 signature") from None
        key_id = manifest["key_id"]
        if not isinstance(key_id, str) or self.keyring.get(key_id) is None:
            where = "the trusted key statement" if self.trust.statement is not None else (
                "the trusted keyring" if self.trust.keyring is not None else "keys.json"
            )
            raise _fail(f"manifest.sig: signed by key {key_id!r}, which is not in {where}")
        try:
            why = self.keyring.check(key_id, manifest["generated_at"], self.manifest_bytes, sig)
        except (TypeError, ValueError):
            why = f"generated_at {manifest['generated_at']!r} is not an RFC 3339 timestamp"
        if why:
            raise _fail(f"manifest.sig: {why} — manifest.json is not as the licensee signed it")
        if manifest.get("format") != BUNDLE_FORMAT:
            raise _fail(f"manifest.json: unknown format {manifest.get('format')!r}")
        missing = [name for name in MANIFEST_FIELDS if name not in manifest]
        if missing:
            raise _fail(f"manifest.json: missing field(s) {', '.join(missing)}")
        if not isinstance(manifest["completeness"], dict) or manifest["completeness"].get("proven") not in (
            "ledger", "streams", "none"
        ):
            raise _fail("manifest.json: completeness.proven must be \"ledger\", \"streams\" or \"none\"")
        if not isinstance(manifest["filter"], dict):
            raise _fail("manifest.json: filter is not an object")
        self.report.completeness = manifest["completeness"]

    def check_files(self) -> None:
        files = self.manifest["files"]
        if not isinstance(files, dict):
            raise _fail("manifest.json: files is not an object of file name → SHA-256")
        for name in REQUIRED_FILES:
            if name not in files:
                raise _fail(f"manifest.json does not list {name}, which every format-2 bundle has")
        for name in sorted(files):
            if not is_safe_bundle_path(name) or name in (MANIFEST, MANIFEST_SIG):
                raise _fail(f"manifest.json lists {name!r}, which is not a file name inside the bundle")
            path = self.bundle / name
            if path.is_symlink():
                raise _fail(f"{name} is a symbolic link; a bundle holds only plain files")
            if not path.is_file():
                raise _fail(f"{name} is listed in the manifest but missing from the bundle")
        for name in sorted(files):
            actual = sha256_file(self.bundle / name)
            if actual != files[name]:
                what = f"{name}: SHA-256 {actual} does not match the manifest ({str(files[name])[:16]}…)"
                raise _Failed(self._diagnosed(name, what))
            self.report.files_checked += 1
        for path in sorted(self.bundle.rglob("*")):
            name = path.relative_to(self.bundle).as_posix()
            if path.is_symlink():
                raise _fail(f"{name} is a symbolic link; a bundle holds only plain files")
            if path.is_file() and name not in files and name not in (MANIFEST, MANIFEST_SIG):
                raise _fail(f"{name} is in the bundle but not listed in the manifest")

    def _diagnosed(self, name: str, what: str) -> Problem:
        """The digest failure of ``name``; for an entry file, with the first seq found wrong."""
        if name not in _ENTRY_FILES:
            return Problem(None, what)
        try:
            self.check_head()
            self.check_entries()
        except _Failed as failed:
            if failed.problem.seq is not None:
                return Problem(failed.problem.seq, f"{what} — {failed.problem.what}")
            return Problem(None, f"{what} — {failed.problem.what}")
        except (LedgerError, ValueError, TypeError, KeyError):
            pass
        return Problem(None, what)

    def check_head(self) -> None:
        try:
            head = TreeHead.model_validate(read_json(self.bundle / "tree_head.json"))
        except (ValidationError, BundleError) as exc:
            raise _fail(f"tree_head.json: not a signed tree head ({exc})") from None
        why = check_head_signature(head, self.keyring)
        if why:
            raise _fail(f"tree_head.json: {why}")
        try:
            text = (self.bundle / "checkpoint.txt").read_bytes()
            checkpoint = verify_checkpoint(text, self.keyring, self.trust.origin, at=head.timestamp)
        except CheckpointError as exc:
            raise _fail(f"checkpoint.txt: {exc}") from None
        if (checkpoint.tree_size, checkpoint.root_hash) != (head.tree_size, head.root_hash):
            raise _fail(
                f"checkpoint.txt states tree size {checkpoint.tree_size}, root {checkpoint.root_hash[:16]}…, but "
                f"tree_head.json states {head.tree_size}, {head.root_hash[:16]}…"
            )
        if (self.manifest["tree_size"], self.manifest["root_hash"]) != (head.tree_size, head.root_hash):
            raise _fail(
                f"manifest.json states tree size {self.manifest['tree_size']}, root "
                f"{str(self.manifest['root_hash'])[:16]}…, but tree_head.json states {head.tree_size}, {head.root_hash[:16]}…"
            )
        self.head, self.checkpoint = head, checkpoint
        self.report.tree_size, self.report.root_hash = head.tree_size, head.root_hash

    def _read_entries(self, name: str) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        try:
            for row in iter_jsonl(self.bundle / name):
                if not isinstance(row, dict) or type(row.get("seq")) is not int:
                    raise _fail(f"{name} line {len(rows) + 1}: not a ledger entry with an integer seq")
                if rows and row["seq"] <= rows[-1]["seq"]:
                    raise _fail(
                        f"{name}: seq {row['seq']} comes after seq {rows[-1]['seq']} — entries out of seq order",
                        row["seq"],
                    )
                rows.append(row)
        except BundleError as exc:
            raise _fail(str(exc)) from None
        return rows

    def check_entries(self) -> None:
        assert self.head is not None
        head, manifest, report = self.head, self.manifest, self.report
        entries = self._read_entries("entries.jsonl")
        boundaries = self._read_entries("boundaries.jsonl")
        proven = manifest["completeness"]["proven"]
        if proven == "ledger":
            if any(manifest["filter"].get(k) for k in ("stream", "jurisdiction", "since", "until")):
                raise _fail("manifest.json: a bundle with a filter cannot prove the whole ledger complete")
            if boundaries:
                raise _fail("boundaries.jsonl: a complete bundle has no boundary entries", boundaries[0]["seq"])
            result = verify_entries(iter(entries), self.keyring, [head], expected_size=head.tree_size)
            if result.problem is not None:
                raise _Failed(result.problem)
            report.entries_checked, report.heads_checked = result.entries_checked, result.heads_checked
            report.notes.extend(result.notes)
        else:
            self._check_filtered(entries, boundaries)
        self._check_counts(entries, boundaries)
        self.entries = entries

    def _check_filtered(self, entries: list[dict[str, Any]], boundaries: list[dict[str, Any]]) -> None:
        assert self.head is not None
        head, report, flt = self.head, self.report, self.manifest["filter"]
        selected = {e["seq"] for e in entries}
        both = selected & {b["seq"] for b in boundaries}
        if both:
            raise _fail(f"seq {min(both)} is both in entries.jsonl and in boundaries.jsonl", min(both))
        merged = sorted(entries + boundaries, key=lambda e: e["seq"])
        try:
            proofs = {p["seq"]: p for p in iter_jsonl(self.bundle / "proofs.jsonl") if isinstance(p, dict) and "seq" in p}
        except BundleError as exc:
            raise _fail(str(exc)) from None
        result = verify_included_entries(iter(merged), proofs, self.keyring, head)
        if result.problem is not None:
            what = result.problem.what
            if result.problem.seq is not None and result.problem.seq not in selected:
                what = f"boundaries.jsonl: {what}"
            raise _Failed(Problem(result.problem.seq, what))
        report.entries_checked, report.boundaries_checked = len(entries), len(boundaries)
        report.heads_checked = 1
        if self.manifest["completeness"]["proven"] == "none":
            report.notes.append("the bundle does not claim to be complete: each entry is proven, not the selection")
            return
        heads = self._stream_heads()
        in_bundle = sorted({e["stream"] for e in merged})
        for stream in in_bundle:
            if stream not in heads:
                raise _fail(f"stream {stream} has entries in the bundle but no signed head in stream_heads.json")
        if flt.get("stream") and set(heads) != {flt["stream"]}:
            others = ", ".join(sorted(set(heads) - {flt["stream"]})) or "none of it"
            raise _fail(f"manifest.json filters stream {flt['stream']} but the bundle holds streams {others}")
        if set(heads) != set(self.manifest["streams"]):
            raise _fail(
                "manifest.json: its streams differ from the streams of stream_heads.json "
                f"({', '.join(sorted(set(heads) ^ set(self.manifest['streams'])))})"
            )
        since, until = flt.get("since"), flt.get("until")
        try:
            since = normalize_ts(since) if since else None
            until = normalize_ts(until) if until else None
        except (TypeError, ValueError):
            raise _fail("manifest.json: filter since/until is not an RFC 3339 timestamp") from None
        for stream, stream_head in sorted(heads.items()):
            part = [e for e in merged if e["stream"] == stream]
            outcome = verify_stream_slice(
                part, stream_head, since=since, until=until, selected_seqs={e["seq"] for e in part if e["seq"] in selected}
            )
            self._take_slice_outcome(stream, outcome)
            report.stream_heads_checked += 1
        report.heads_checked += report.stream_heads_checked

    def _take_slice_outcome(self, stream: str, outcome: StreamSliceCheck) -> None:
        if outcome.problem is not None:
            raise _Failed(outcome.problem)  # it names the stream
        self.report.notes.extend(outcome.notes)

    def _stream_heads(self) -> dict[str, StreamHead]:
        assert self.head is not None
        try:
            doc = read_json(self.bundle / "stream_heads.json")
        except BundleError as exc:
            raise _fail(str(exc)) from None
        if not isinstance(doc, dict) or doc.get("format") != STREAM_HEADS_FORMAT or not isinstance(doc.get("heads"), list):
            raise _fail(f"stream_heads.json: not {{\"format\": \"{STREAM_HEADS_FORMAT}\", \"heads\": [...]}}")
        heads: dict[str, StreamHead] = {}
        for index, raw in enumerate(doc["heads"]):
            try:
                head = StreamHead.model_validate(raw)
            except ValidationError as exc:
                raise _fail(f"stream_heads.json: head {index + 1} is not a signed stream head ({exc})") from None
            if head.stream in heads:
                raise _fail(f"stream_heads.json: stream {head.stream} has two heads")
            why = check_stream_head_signature(head, self.keyring)
            if why:
                raise _fail(f"stream_heads.json: stream {head.stream}: {why}")
            if (head.tree_size, head.root_hash) != (self.head.tree_size, self.head.root_hash):
                raise _fail(
                    f"stream_heads.json: the head of stream {head.stream} is pinned to tree size {head.tree_size}, "
                    f"root {head.root_hash[:16]}…, not to the bundle's tree head ({self.head.tree_size}, "
                    f"{self.head.root_hash[:16]}…)"
                )
            heads[head.stream] = head
        return heads

    def _check_counts(self, entries: list[dict[str, Any]], boundaries: list[dict[str, Any]]) -> None:
        manifest = self.manifest
        if manifest["entry_count"] != len(entries):
            raise _fail(f"manifest.json declares {manifest['entry_count']} entries but entries.jsonl holds {len(entries)}")
        if manifest["boundary_count"] != len(boundaries):
            raise _fail(
                f"manifest.json declares {manifest['boundary_count']} boundary entries but boundaries.jsonl holds "
                f"{len(boundaries)}"
            )
        counted = dict(Counter(e["stream"] for e in entries))
        if manifest["streams"] != counted:
            differing = sorted(
                s for s in set(counted) | set(manifest["streams"]) if counted.get(s, 0) != manifest["streams"].get(s, 0)
            )
            stream = differing[0]
            raise _fail(
                f"manifest.json declares {manifest['streams'].get(stream, 0)} entries of stream {stream} but "
                f"entries.jsonl holds {counted.get(stream, 0)}"
            )

    def check_consistency(self) -> None:
        assert self.head is not None
        root = bytes.fromhex(self.head.root_hash)
        try:
            lines = list(iter_jsonl(self.bundle / "consistency.jsonl"))
        except BundleError as exc:
            raise _fail(str(exc)) from None
        for lineno, line in enumerate(lines, 1):
            where = f"consistency.jsonl line {lineno}"
            try:
                old_size, old_root = line["from_size"], line["from_root"]
                if line["to_size"] != self.head.tree_size:
                    raise ProofError(f"the proof is to tree size {line['to_size']}, not the bundle's {self.head.tree_size}")
                if type(old_size) is not int or not 0 < old_size < self.head.tree_size:
                    raise ProofError(f"from_size {old_size!r} is not between 0 and the tree size {self.head.tree_size}")
                nodes = [bytes.fromhex(n) for n in line["proof"]]
                verify_consistency(old_size, self.head.tree_size, bytes.fromhex(old_root), root, nodes)
            except (KeyError, TypeError, ValueError) as exc:
                raise _fail(f"{where}: {exc if isinstance(exc, ProofError) else f'malformed proof ({exc})'}") from None
            if old_size in self.consistency and self.consistency[old_size][0] != old_root:
                raise _fail(f"{where}: a second proof from tree size {old_size} with another root")
            self.consistency[old_size] = (old_root, nodes)
            self.report.consistency_checked += 1

    def check_known_checkpoint(self, name: str, text: str) -> None:
        assert self.checkpoint is not None
        origin = self.trust.origin or self.checkpoint.origin
        try:
            known = verify_checkpoint(text, self.keyring, origin)
        except CheckpointError as exc:
            raise _fail(f"{name}: the checkpoint does not verify under the trusted keys: {exc}") from None
        self.check_extends(name, known.tree_size, known.root_hash, label=f"checkpoint {known.tree_size}")
        self.report.checkpoints_checked += 1

    def check_extends(self, name: str, size: int, root_hash: str, *, label: str | None = None) -> None:
        """Fail unless the bundle's tree extends the tree of ``size`` leaves with root ``root_hash``."""
        assert self.head is not None
        label = label or f"tree size {size}"
        fork = f"{name}: the bundle's ledger does not extend {label} ({root_hash[:16]}…) — a fork or rewrite"
        if size > self.head.tree_size:
            raise _fail(
                f"{name}: the bundle's ledger does not extend {label} ({root_hash[:16]}…) — the bundle's tree has only "
                f"{self.head.tree_size} entries; the ledger was truncated, or the bundle is older than the checkpoint"
            )
        if size == self.head.tree_size:
            if root_hash != self.head.root_hash:
                raise _fail(fork)
            return
        if size in self.consistency:
            if self.consistency[size][0] != root_hash:
                raise _fail(fork)
            return
        if self.manifest["completeness"]["proven"] == "ledger" and size > 0:
            tree = MerkleTree([leaf_hash(bytes.fromhex(e["hash"])) for e in self.entries])
            if tree.root(size).hex() != root_hash:
                raise _fail(fork)
            return
        raise _fail(f"{fork}: consistency.jsonl holds no proof from tree size {size}")

    def check_statement_keys(self) -> None:
        """Step 7: the keys the bundle names in keys.json are the statement's (when one is given)."""
        if self.trust.statement is None:
            return
        used = {self.manifest["key_id"]}
        if self.head is not None:
            used.add(self.head.key_id)
        used.update(e["key_id"] for e in self.entries if isinstance(e.get("key_id"), str))
        try:
            bundle_keys = read_json(self.bundle / "keys.json")
        except BundleError as exc:
            raise _fail(str(exc)) from None
        listed = {k: v for k, v in bundle_keys.items() if k in used} if isinstance(bundle_keys, dict) else {}
        why = check_keys_against_statement(listed, self.trust.statement)
        if why:
            raise _fail(f"keys.json: {why}")


# -- format 1 ------------------------------------------------------------------------------------


def _verify_format1(
    bundle: Path,
    manifest: dict[str, Any],
    trust: _Trust,
    checkpoints: list[tuple[str, str]],
    earlier_head: TreeHead | None,
    report: BundleReport,
) -> BundleReport:
    """A format-1 bundle (no signed manifest, no stream heads), verified as before — unless it is
    a format-2 bundle relabelled to escape the signed manifest (it holds format-2 entries, which no
    format-1 export ever held, or a manifest.sig)."""
    if (bundle / MANIFEST_SIG).exists():
        report.problem = Problem(None, "manifest.json says format 1, but the bundle has a manifest.sig: a format-2 bundle was relabelled")
        return report
    try:
        relabelled = next((e["seq"] for e in iter_jsonl(bundle / "entries.jsonl") if isinstance(e, dict) and "v" in e), None)
    except BundleError as exc:
        report.problem = Problem(None, str(exc))
        return report
    if relabelled is not None:
        report.problem = Problem(
            relabelled,
            "manifest.json says format 1, but entries.jsonl holds format-2 entries, which no format-1 bundle holds: "
            "a format-2 bundle was relabelled to escape its signed manifest",
        )
        return report
    try:
        keyring = trust.keyring or Keyring.from_json(read_json(bundle / "keys.json"))
        head = load_tree_head(bundle / "tree_head.json")
        if manifest.get("complete"):
            result = verify_entries(iter_jsonl(bundle / "entries.jsonl"), keyring, [head], expected_size=head.tree_size)
            leaves = [leaf_hash(bytes.fromhex(e["hash"])) for e in iter_jsonl(bundle / "entries.jsonl")] if result.ok else []
            if result.ok and earlier_head is not None:
                result.problem = verify_against_earlier_head(earlier_head, keyring, leaves)
                result.heads_checked += 0 if result.problem else 1
            for name, text in checkpoints if result.ok else ():
                try:
                    known = verify_checkpoint(text, keyring, trust.origin)
                except CheckpointError as exc:
                    result.problem = Problem(None, f"{name}: the checkpoint does not verify under the trusted keys: {exc}")
                    break
                tree = MerkleTree(leaves)
                if known.tree_size > tree.size or tree.root(known.tree_size).hex() != known.root_hash:
                    result.problem = Problem(
                        None,
                        f"{name}: the bundle's ledger does not extend checkpoint {known.tree_size} "
                        f"({known.root_hash[:16]}…) — a fork or rewrite",
                    )
                    break
                report.checkpoints_checked += 1
        else:
            proofs = {p["seq"]: p for p in iter_jsonl(bundle / "proofs.jsonl") if isinstance(p, dict) and "seq" in p}
            result = verify_included_entries(iter_jsonl(bundle / "entries.jsonl"), proofs, keyring, head)
            if result.ok and result.entries_checked != manifest.get("entry_count"):
                result.problem = Problem(
                    None,
                    f"manifest.json declares {manifest.get('entry_count')} entries but entries.jsonl holds "
                    f"{result.entries_checked}",
                )
            result.notes.append(
                "filtered bundle: each entry is proven authentic and in place in the signed ledger; "
                "completeness of the selection is proven only by a complete export"
            )
            if earlier_head is not None or checkpoints:
                result.problem = result.problem or Problem(
                    None, "a filtered format-1 bundle carries no consistency proofs; earlier heads and checkpoints cannot be checked"
                )
    except BundleError as exc:
        report.problem = Problem(None, str(exc))
        return report
    report.entries_checked, report.tree_size, report.root_hash = result.entries_checked, result.tree_size, result.root_hash
    report.heads_checked, report.problem, report.notes = result.heads_checked, result.problem, result.notes
    report.tree_size, report.root_hash = head.tree_size, head.root_hash
    report.notes.append(
        "format-1 bundle: its manifest is not signed and its files are not checked against it "
        "(report.html could have been changed); ask for a format-2 export"
    )
    if trust.keyring is None:
        report.notes.append(
            "keys taken from the bundle's keys.json: compare their key_ids with the keys the "
            "licensee registered, or pass --trusted-keys / --keys"
        )
    return report
