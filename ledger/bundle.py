"""Writing an examination bundle, format 2 (docs/ledger-format.md §8).

A bundle is a directory an examiner verifies without noticeflow: the selected entries; the signed
head of the whole ledger they are pinned to, also as a C2SP checkpoint; inclusion proofs, signed
stream heads and boundary entries that prove a filtered selection complete stream by stream;
consistency proofs from every earlier head the ledger signed; the documents the entries cite; the
privilege log; the examiner's report; ``VERIFY.md``; and ``manifest.json`` listing the SHA-256 of
every file, signed in ``manifest.sig``. It is written beside its target and renamed into place.

The ledger layer renders no examiner's report of its own beyond a minimal one: the caller (the
CLI) passes ``render_report`` (``reports/examiner.py``) and, for ``report.pdf``, ``render_pdf``.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from ledger.bundle_files import (
    BUNDLE_FORMAT,
    DOCUMENTS_DIR,
    MANIFEST,
    MANIFEST_SIG,
    PRIVILEGE_LOG_FORMAT,
    STREAM_HEADS_FORMAT,
    DocumentCitation,
    document_citations,
    jsonl,
    pretty_json,
    privilege_log_entry,
    sha256_file,
)
from ledger.checkpoint import keyring_verifier_keys, sign_checkpoint
from ledger.errors import LedgerError
from ledger.keys import Keyring, utc_now
from ledger.merkle import MerkleTree
from ledger.store import EntryFilter, Ledger
from models.ledger import TreeHead

#: The checkpoint origin when the caller names none (``Settings.ledger_origin``'s default).
DEFAULT_ORIGIN = "noticeflow.example/ledger"
#: The built-in report lists at most this many entries; entries.jsonl always holds all.
REPORT_ROW_LIMIT = 20_000

#: ``render_report(entries, *, tree_head, keys, filter, completeness, privilege_log, documents,
#: generated_at, verifier_sha256, checkpoint) -> HTML``.
ReportRenderer = Callable[..., str]
#: ``render_pdf(html_path, pdf_path)``: print the report to PDF.
PdfRenderer = Callable[[Path, Path], Any]

_env = Environment(loader=PackageLoader("ledger", "templates"), autoescape=select_autoescape(["html"]))
_EXTENSIONS = {
    "text/html": "html",
    "text/plain": "txt",
    "application/json": "json",
    "application/pdf": "pdf",
    "text/csv": "csv",
    "message/rfc822": "eml",
}


@dataclass(frozen=True)
class ExportResult:
    path: Path
    entries: int
    tree_head: TreeHead
    complete: bool
    completeness: dict[str, str] = field(default_factory=dict)
    boundaries: int = 0
    streams: dict[str, int] = field(default_factory=dict)
    documents: int = 0
    missing_documents: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Selection:
    """What a bundle holds: the selected entries and the boundary entries around time slices
    (both in seq order), and the streams given a signed head (none for a complete bundle)."""

    entries: list[dict[str, Any]]
    boundaries: list[dict[str, Any]] = field(default_factory=list)
    streams: list[str] = field(default_factory=list)
    #: Streams whose slice holds format-1 entries: stream → first format-2 position of the slice
    #: (0: none is format 2).
    predating: dict[str, int] = field(default_factory=dict)


def export_bundle(
    ledger: Ledger,
    out: Path,
    keyring: Keyring,
    where: EntryFilter | None = None,
    *,
    documents_dir: Path | None = None,
    render_report: ReportRenderer | None = None,
    render_pdf: PdfRenderer | None = None,
    verifier_sha256: str | None = None,
    origin: str = DEFAULT_ORIGIN,
) -> ExportResult:
    """Write a format-2 bundle of the entries ``where`` selects (everything when None) to ``out``.

    A fresh tree head is signed first and everything is pinned to its size, so entries appended
    while the export runs are neither half-included nor left out of the proofs. Filter semantics
    (docs/ledger-format.md §8): ``stream`` → that stream; ``jurisdiction`` → every stream with an
    entry for it; a time window → each selected stream's slice in the window, with the entries
    just outside it as boundaries. Each selected stream gets a signed stream head.

    ``documents_dir``: the document store the entries' documents are copied from (a document an
    entry cites by DocumentRef that is not there is listed in ``missing_documents``).
    ``render_report``/``render_pdf``: the examiner's report (None: a minimal built-in report; no
    PDF). ``verifier_sha256``: the SHA-256 of ``tools/verify_bundle.py`` printed in VERIFY.md.
    ``origin``: the checkpoint origin (``Settings.ledger_origin``).
    """
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise LedgerError(f"{out} exists and is not empty; choose a new directory for the bundle")
    signer = ledger.signer
    if signer is None:
        raise LedgerError("this ledger was opened without a signing key; it cannot sign a bundle")
    if signer.key_id not in keyring.keys:
        raise LedgerError(f"the signing key {signer.key_id} is not in the keyring given for keys.json")
    where = where or EntryFilter()
    head = ledger.sign_tree_head()
    size = head.tree_size
    complete = where.is_everything
    if size == 0:
        raise LedgerError("the ledger is empty; there is nothing to export")

    selection = select_entries(ledger, where, size)
    tree = MerkleTree(list(_take(ledger.leaf_hashes(), size)))
    if tree.root().hex() != head.root_hash:
        raise LedgerError("the ledger changed under the export: its root no longer matches the head just signed")
    stream_heads = [ledger.sign_stream_head(stream, head) for stream in selection.streams]
    completeness = completeness_statement(where, selection, size)
    checkpoint = sign_checkpoint(signer, origin, size, bytes.fromhex(head.root_hash))

    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        _write_lines(staging / "entries.jsonl", selection.entries)
        _write_lines(staging / "boundaries.jsonl", selection.boundaries)
        proven = [] if complete else sorted(selection.entries + selection.boundaries, key=lambda e: e["seq"])
        _write_lines(staging / "proofs.jsonl", (_inclusion_proof(tree, e["seq"], size) for e in proven))
        _write_lines(staging / "consistency.jsonl", consistency_proofs(ledger, tree, size))
        (staging / "keys.json").write_text(pretty_json(keyring.public_keys_json()), "utf-8")
        (staging / "tree_head.json").write_text(pretty_json(head.model_dump()), "utf-8")
        (staging / "checkpoint.txt").write_bytes(checkpoint.encode("utf-8"))
        (staging / "stream_heads.json").write_text(
            pretty_json({"format": STREAM_HEADS_FORMAT, "heads": [h.model_dump() for h in stream_heads]}), "utf-8"
        )
        privilege_log = [p for p in map(privilege_log_entry, selection.entries) if p is not None]
        (staging / "privilege_log.json").write_text(
            pretty_json({"format": PRIVILEGE_LOG_FORMAT, "entries": privilege_log}), "utf-8"
        )
        documents, missing = copy_documents(selection.entries, documents_dir, staging / DOCUMENTS_DIR)

        generated_at = utc_now()
        streams = dict(sorted(Counter(e["stream"] for e in selection.entries).items()))
        report_args = {
            "tree_head": head,
            "keys": keyring.public_keys_json(),
            "filter": where.to_json(),
            "completeness": completeness,
            "privilege_log": privilege_log,
            "documents": documents,
            "generated_at": generated_at,
            "verifier_sha256": verifier_sha256,
            "checkpoint": checkpoint,
        }
        renderer = render_report or _builtin_report
        (staging / "report.html").write_text(renderer(selection.entries, **report_args), "utf-8")
        if render_pdf is not None:
            render_pdf(staging / "report.html", staging / "report.pdf")
            if not (staging / "report.pdf").is_file():
                raise LedgerError("the PDF renderer wrote no report.pdf")
        (staging / "VERIFY.md").write_text(
            _env.get_template("VERIFY.md.j2").render(
                **report_args,
                head=head,
                count=len(selection.entries),
                boundary_count=len(selection.boundaries),
                streams=streams,
                stream_heads=stream_heads,
                origin=origin,
                verifier_keys=keyring_verifier_keys(keyring, origin),
                fingerprints={k: "SHA256:" + hashlib.sha256(r.public_key).hexdigest() for k, r in keyring.keys.items()},
                missing_documents=missing,
                pdf=render_pdf is not None,
                key_id=signer.key_id,
            ),
            "utf-8",
        )
        manifest = {
            "format": BUNDLE_FORMAT,
            "generated_at": generated_at,
            "key_id": signer.key_id,
            "filter": where.to_json(),
            "completeness": completeness,
            "entry_count": len(selection.entries),
            "boundary_count": len(selection.boundaries),
            "tree_size": size,
            "root_hash": head.root_hash,
            "streams": streams,
            "missing_documents": missing,
            "files": {name: sha256_file(staging / name) for name in _bundle_files(staging)},
        }
        manifest_bytes = pretty_json(manifest).encode("utf-8")
        (staging / MANIFEST).write_bytes(manifest_bytes)
        (staging / MANIFEST_SIG).write_text(signer.sign(manifest_bytes) + "\n", "ascii")
        if out.exists():
            out.rmdir()
        os.replace(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return ExportResult(
        out,
        len(selection.entries),
        head,
        complete,
        completeness,
        len(selection.boundaries),
        streams,
        sum(1 for d in documents if d["status"] == "included"),
        missing,
    )


# -- selection ---------------------------------------------------------------------------------


def select_entries(ledger: Ledger, where: EntryFilter, size: int) -> Selection:
    """The entries of the bundle pinned to the ledger's first ``size`` entries (§8 filter semantics)."""
    if where.is_everything:
        return Selection(list(ledger.iter_raw(EntryFilter(max_seq=size))))
    matching = EntryFilter(where.stream, where.jurisdiction, where.since, where.until, max_seq=size)
    streams = sorted({e["stream"] for e in ledger.iter_raw(matching)})
    if not streams:
        raise LedgerError(f"no entry of the ledger's first {size} matches {_describe(where)}; nothing to export")
    windowed = bool(where.since or where.until)
    selection = Selection([], streams=streams)
    slices: list[list[dict[str, Any]]] = []
    for stream in streams:
        entries = list(ledger.iter_raw(EntryFilter(stream=stream, max_seq=size), chunk=1000))
        lo, hi = 0, len(entries)
        if windowed:
            inside = [i for i, e in enumerate(entries) if _in_window(e["ts"], where.since, where.until)]
            lo, hi = inside[0], inside[-1] + 1
            if lo > 0:
                selection.boundaries.append(entries[lo - 1])
            if hi < len(entries):
                selection.boundaries.append(entries[hi])
        chosen = entries[lo:hi]
        slices.append(chosen)
        if any("v" not in e for e in chosen):
            # As the verifier notes it (ledger.verify.verify_stream_slice): the first format-2
            # position of the slice, or 0 when all its entries are format 1.
            selection.predating[stream] = next((e["stream_seq"] for e in chosen if "v" in e), 0)
    selection.entries = sorted((e for part in slices for e in part), key=lambda e: e["seq"])
    selection.boundaries.sort(key=lambda e: e["seq"])
    return selection


def _in_window(ts: str, since: str | None, until: str | None) -> bool:
    return (since is None or ts >= since) and (until is None or ts < until)


def _describe(where: EntryFilter) -> str:
    parts = [f"{k} {v}" for k, v in where.to_json().items() if v]
    return ", ".join(parts) or "everything"


def completeness_statement(where: EntryFilter, selection: Selection, size: int) -> dict[str, str]:
    """``{"proven", "statement"}`` of manifest.json, in plain words."""
    if where.is_everything:
        return {
            "proven": "ledger",
            "statement": (
                f"Complete: this bundle holds every entry of the ledger, seq 1 to {size}. The hash chain, the "
                "per-stream chains and the Merkle root signed in tree_head.json and checkpoint.txt show that no "
                "entry is missing, added, reordered or changed."
            ),
        }
    streams = selection.streams
    if len(streams) <= 5:
        named = f"{'stream' if len(streams) == 1 else 'streams'} {', '.join(streams)}"
    else:
        named = f"{len(streams):,} streams (listed in manifest.json)"
    window = ""
    if where.since and where.until:
        window = f" recorded from {where.since} until (not including) {where.until}"
    elif where.since:
        window = f" recorded from {where.since} on"
    elif where.until:
        window = f" recorded before {where.until}"
    words = [
        f"Complete for {named}: every entry of "
        f"{'the stream' if len(streams) == 1 else 'each stream'}{window} within the ledger's first {size} entries, "
        "as the signed stream heads in stream_heads.json show"
        + (" together with the entries just outside the window in boundaries.jsonl" if window else "")
        + ". Entries of other streams are not included; each entry here is proven in place in the whole "
        "ledger by its inclusion proof."
    ]
    if where.jurisdiction or (window and not where.stream):
        reason = f"an entry for {where.jurisdiction}" if where.jurisdiction else "an entry"
        words.append(
            f"The streams are complete, but the choice of streams — those with {reason}"
            f"{' in the window' if window else ''} — rests on the licensee's selection: this bundle cannot show "
            "that no other stream has such an entry; a complete export can."
        )
    for stream, position in sorted(selection.predating.items()):
        words.append(
            f"Stream {stream}: "
            + (f"entries before stream position {position} predate" if position else "its entries predate")
            + " the per-stream chain; their completeness is not proven."
        )
    return {"proven": "streams", "statement": " ".join(words)}


# -- proofs ------------------------------------------------------------------------------------


def _inclusion_proof(tree: MerkleTree, seq: int, size: int) -> dict[str, Any]:
    path = tree.inclusion_proof(seq - 1, size)
    return {"seq": seq, "leaf_index": seq - 1, "tree_size": size, "audit_path": [node.hex() for node in path]}


def consistency_proofs(ledger: Ledger, tree: MerkleTree, size: int) -> list[dict[str, Any]]:
    """RFC 9162 consistency proofs to ``size`` from every smaller size the ledger signed a head for.

    A stored head whose root is not the root of the ledger's first entries at its size means the
    ledger was rewritten after that head was signed: the export refuses rather than hide it."""
    proofs: list[dict[str, Any]] = []
    seen: set[int] = set()
    for old_size, old_root in ledger.stored_head_sizes():
        if not 0 < old_size < size:
            continue
        root = tree.root(old_size).hex()
        if root != old_root:
            raise LedgerError(
                f"the ledger's first {old_size} entries no longer have the root of the tree head signed for that "
                "size — the ledger was rewritten; run `noticeflow ledger verify`"
            )
        if old_size in seen:
            continue
        seen.add(old_size)
        proof = tree.consistency_proof(old_size, size)
        proofs.append({"from_size": old_size, "from_root": root, "to_size": size, "proof": [n.hex() for n in proof]})
    return proofs


# -- documents ---------------------------------------------------------------------------------


def copy_documents(
    entries: Iterable[dict[str, Any]], documents_dir: Path | None, target: Path
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Copy the documents the entries cite from the store into ``target`` as ``<sha256>.<ext>``.

    Returns ``(documents, missing)``: one record per cited document for the report
    (``sha256, media_type, kind, file, cited_by, status, reason``) and the manifest's
    ``missing_documents`` (a DocumentRef the store does not hold, or holds altered). Privileged
    entries are skipped (their material is in the privilege log), and nothing outside
    ``documents_dir`` is ever read."""
    cited: dict[str, tuple[DocumentCitation, list[int]]] = {}
    for entry in entries:
        data = entry.get("data") or {}
        if data.get("privileged") is True:
            continue
        for citation in document_citations(data):
            known = cited.get(citation.sha256)
            if known is None:
                cited[citation.sha256] = (citation, [entry["seq"]])
            else:
                if citation.required and not known[0].required:
                    cited[citation.sha256] = (citation, known[1])
                cited[citation.sha256][1].append(entry["seq"])
    store = Path(documents_dir).resolve() if documents_dir is not None else None
    documents: list[dict[str, Any]] = []
    missing: list[dict[str, Any]] = []
    for digest, (citation, seqs) in cited.items():
        source, reason = _find_document(store, citation)
        record: dict[str, Any] = {
            "sha256": digest,
            "media_type": citation.media_type,
            "kind": citation.kind,
            "file": None,
            "cited_by": seqs,
            "status": "included",
            "reason": None,
        }
        if source is not None:
            data = source.read_bytes()
            if hashlib.sha256(data).hexdigest() == digest:
                name = f"{DOCUMENTS_DIR}/{digest}.{_extension(source, citation.media_type)}"
                target.mkdir(exist_ok=True)
                (target.parent / name).write_bytes(data)
                documents.append(record | {"file": name})
                continue
            reason = "the stored file does not match its SHA-256 — the document store was altered"
        if not citation.required:
            continue  # a bare digest of something the store does not hold: not a document citation
        record |= {"status": "missing", "reason": reason}
        documents.append(record)
        missing.append(
            {"sha256": digest, "path": citation.path, "media_type": citation.media_type, "cited_by": seqs, "reason": reason}
        )
    return documents, missing


def _find_document(store: Path | None, citation: DocumentCitation) -> tuple[Path | None, str]:
    if store is None:
        return None, "no document store was given to the export"
    if citation.path is not None:
        candidate = (store / citation.path).resolve()
        if Path(citation.path).is_absolute() or not candidate.is_relative_to(store):
            return None, f"its path {citation.path!r} lies outside the document store; it was not copied"
        if not candidate.is_file():
            return None, "not in the document store"
        return candidate, ""
    for candidate in sorted(store.glob(f"{citation.sha256}.*")):
        resolved = candidate.resolve()
        if resolved.is_relative_to(store) and resolved.is_file():
            return resolved, ""
    return None, "not in the document store"


def _extension(source: Path, media_type: str | None) -> str:
    suffix = source.suffix.lstrip(".").lower()
    if suffix.isalnum() and 0 < len(suffix) <= 10:
        return suffix
    return _EXTENSIONS.get((media_type or "").split(";", 1)[0].strip(), "bin")


# -- files -------------------------------------------------------------------------------------


def _write_lines(path: Path, rows: Iterable[dict[str, Any]]) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        fh.writelines(jsonl(row) for row in rows)


def _bundle_files(root: Path) -> list[str]:
    """Every file of the bundle (``/`` separators, sorted) but the manifest and its signature."""
    names = [p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()]
    return sorted(n for n in names if n not in (MANIFEST, MANIFEST_SIG))


def _take(iterator: Iterator[Any], n: int) -> Iterator[Any]:
    for i, item in enumerate(iterator):
        if i >= n:
            return
        yield item


def _builtin_report(entries: list[dict[str, Any]], **kw: Any) -> str:
    """The minimal report the ledger layer writes when no examiner's report renderer is given."""
    head: TreeHead = kw["tree_head"]
    completeness = kw["completeness"]
    timeline = entries[:REPORT_ROW_LIMIT]
    return _env.get_template("report.html.j2").render(
        generated_at=kw["generated_at"],
        filter=kw["filter"],
        complete=completeness["proven"] == "ledger",
        completeness=completeness,
        count=len(entries),
        head=head,
        streams=Counter(e["stream"] for e in entries).most_common(),
        types=Counter(e["type"] for e in entries).most_common(),
        jurisdictions=Counter(e["jurisdiction"] or "—" for e in entries).most_common(),
        timeline=timeline,
        truncated_report=len(entries) > len(timeline),
        report_row_limit=REPORT_ROW_LIMIT,
        keys=kw["keys"],
        privilege_log=kw["privilege_log"],
        documents=kw["documents"],
        missing_documents=[d for d in kw["documents"] if d["status"] == "missing"],
    )


__all__ = [
    "DEFAULT_ORIGIN",
    "REPORT_ROW_LIMIT",
    "ExportResult",
    "Selection",
    "completeness_statement",
    "consistency_proofs",
    "copy_documents",
    "export_bundle",
    "select_entries",
]
