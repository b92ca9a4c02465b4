"""Examination bundles: a self-contained directory an examiner verifies without noticeflow.

A bundle holds ``entries.jsonl``, ``keys.json``, ``tree_head.json``, ``proofs.jsonl``,
``report.html``, ``VERIFY.md`` and ``manifest.json`` (docs/ledger-format.md §7). A filtered
bundle (one stream, jurisdiction or time range) carries one RFC 9162 inclusion proof per entry
against the signed head of the whole ledger, and so discloses nothing of other streams beyond the
hashes on those proofs.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from ledger.errors import BundleError, LedgerError
from ledger.keys import Keyring, utc_now
from ledger.merkle import MerkleTree, leaf_hash
from ledger.store import EntryFilter, Ledger
from ledger.verify import Problem, VerifyReport, verify_against_earlier_head, verify_entries, verify_included_entries
from models.ledger import TreeHead

BUNDLE_FORMAT = "noticeflow-ledger-bundle/1"
BUNDLE_FILES = (
    "entries.jsonl", "keys.json", "tree_head.json", "proofs.jsonl", "privilege_log.json", "report.html", "VERIFY.md",
)
PRIVILEGE_LOG_FORMAT = "noticeflow-privilege-log/1"

_env = Environment(loader=PackageLoader("ledger", "templates"), autoescape=select_autoescape(["html"]))


def _jsonl(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")) + "\n"


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def privilege_log_entry(entry: dict[str, Any]) -> dict[str, Any] | None:
    """The privilege-log line of a ledger entry whose text is withheld, or None.

    A privileged step (a privileged finding, counsel's notes, the (J) internal review) is ledgered
    with ``data.privileged = true`` and its marker ``data.privilege`` (basis, the field withheld,
    the digest of the sealed text, the sealed document's id — ``models/privileged.py``); the text
    itself was never ledgered, so the bundle lists the entry here instead of any content."""
    data = entry.get("data") or {}
    if data.get("privileged") is not True:
        return None
    marker = data.get("privilege") if isinstance(data.get("privilege"), dict) else {}
    digest = marker.get("digest") or next(
        (v for k, v in sorted(data.items()) if isinstance(v, str) and k.endswith(("_sha256", "_digest"))), None
    )
    return {
        "seq": entry["seq"],
        "ts": entry["ts"],
        "stream": entry["stream"],
        "type": entry["type"],
        "actor": entry["actor"],
        "withheld": marker.get("withheld"),
        "digest": digest,
        "digest_scheme": marker.get("digest_scheme"),
        "privilege_basis": marker.get("basis") or "not stated",
        "sealed_document": marker.get("sealed_document") or data.get("sealed_document"),
        "status": "withheld",
    }


@dataclass(frozen=True)
class ExportResult:
    path: Path
    entries: int
    tree_head: TreeHead
    complete: bool


def export_bundle(ledger: Ledger, out: Path, keyring: Keyring, where: EntryFilter | None = None) -> ExportResult:
    """Write a bundle of the entries matching ``where`` (all when None) to the directory ``out``.

    A fresh tree head is signed first and the export is pinned to its size, so entries appended
    while the export runs are neither half-included nor left out of the proofs. The bundle is
    written beside ``out`` and renamed into place: an interrupted export leaves nothing behind.
    """
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise LedgerError(f"{out} exists and is not empty; choose a new directory for the bundle")
    where = where or EntryFilter()
    head = ledger.sign_tree_head()
    pinned = EntryFilter(where.stream, where.jurisdiction, where.since, where.until, max_seq=head.tree_size)
    complete = where.is_everything

    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        tree = None if complete else MerkleTree(list(_take(ledger.leaf_hashes(), head.tree_size)))
        count, streams, types, jurisdictions = 0, Counter(), Counter(), Counter()
        timeline: list[dict[str, Any]] = []
        privilege_log: list[dict[str, Any]] = []
        with open(staging / "entries.jsonl", "w", encoding="utf-8") as entries_fh, open(
            staging / "proofs.jsonl", "w", encoding="utf-8"
        ) as proofs_fh:
            for entry in ledger.iter_raw(pinned):
                entries_fh.write(_jsonl(entry))
                if tree is not None:
                    path = tree.inclusion_proof(entry["seq"] - 1, head.tree_size)
                    proofs_fh.write(
                        _jsonl(
                            {
                                "seq": entry["seq"],
                                "leaf_index": entry["seq"] - 1,
                                "tree_size": head.tree_size,
                                "audit_path": [node.hex() for node in path],
                            }
                        )
                    )
                count += 1
                if (withheld := privilege_log_entry(entry)) is not None:
                    privilege_log.append(withheld)
                streams[entry["stream"]] += 1
                types[entry["type"]] += 1
                jurisdictions[entry["jurisdiction"] or "—"] += 1
                if len(timeline) < REPORT_ROW_LIMIT:
                    timeline.append(entry)

        (staging / "keys.json").write_text(json.dumps(keyring.public_keys_json(), indent=2) + "\n", "utf-8")
        (staging / "tree_head.json").write_text(json.dumps(head.model_dump(), indent=2) + "\n", "utf-8")
        (staging / "privilege_log.json").write_text(
            json.dumps({"format": PRIVILEGE_LOG_FORMAT, "entries": privilege_log}, indent=2, ensure_ascii=False) + "\n", "utf-8"
        )
        context = {
            "generated_at": utc_now(),
            "filter": where.to_json(),
            "complete": complete,
            "count": count,
            "head": head,
            "streams": streams.most_common(),
            "types": types.most_common(),
            "jurisdictions": jurisdictions.most_common(),
            "timeline": timeline,
            "truncated_report": count > len(timeline),
            "report_row_limit": REPORT_ROW_LIMIT,
            "keys": keyring.public_keys_json(),
            "privilege_log": privilege_log,
        }
        (staging / "report.html").write_text(_env.get_template("report.html.j2").render(**context), "utf-8")
        (staging / "VERIFY.md").write_text(_env.get_template("VERIFY.md.j2").render(**context), "utf-8")
        manifest = {
            "format": BUNDLE_FORMAT,
            "generated_at": context["generated_at"],
            "filter": where.to_json(),
            "complete": complete,
            "entry_count": count,
            "tree_size": head.tree_size,
            "files": {name: _sha256_file(staging / name) for name in BUNDLE_FILES},
        }
        (staging / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", "utf-8")
        if out.exists():
            out.rmdir()
        os.replace(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return ExportResult(out, count, head, complete)


#: The report lists at most this many entries; the bundle's entries.jsonl always holds all.
REPORT_ROW_LIMIT = 20_000


def _take(iterator: Any, n: int) -> Any:
    for i, item in enumerate(iterator):
        if i >= n:
            return
        yield item


# -- reading and verifying a bundle ----------------------------------------------------------


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text("utf-8"))
    except FileNotFoundError as exc:
        raise BundleError(f"{path.name} is missing from the bundle") from exc
    except json.JSONDecodeError as exc:
        raise BundleError(f"{path.name}: not valid JSON ({exc})") from exc


def _iter_jsonl(path: Path) -> Any:
    try:
        fh = open(path, encoding="utf-8")
    except FileNotFoundError as exc:
        raise BundleError(f"{path.name} is missing from the bundle") from exc
    with fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                yield json.loads(line)
            except json.JSONDecodeError as exc:
                raise BundleError(f"{path.name} line {lineno}: not valid JSON ({exc})") from exc


def load_tree_head(path: Path) -> TreeHead:
    try:
        return TreeHead.model_validate(_read_json(Path(path)))
    except ValueError as exc:
        if isinstance(exc, BundleError):
            raise
        raise BundleError(f"{Path(path).name}: not a signed tree head ({exc})") from exc


def verify_bundle(
    bundle: Path, *, trusted_keys: Keyring | None = None, earlier_head: TreeHead | None = None
) -> VerifyReport:
    """Verify an export bundle offline.

    ``trusted_keys`` (the licensee's published public keys) replaces the bundle's own
    ``keys.json`` as the trust anchor; without it, the bundle's keys are used and the report
    says so. ``earlier_head`` — a tree head the examiner kept from an earlier export — must be
    extended by this bundle's ledger (complete bundles only).
    """
    bundle = Path(bundle)
    if not bundle.is_dir():
        raise BundleError(f"{bundle} is not a bundle directory")
    manifest = _read_json(bundle / "manifest.json")
    if manifest.get("format") != BUNDLE_FORMAT:
        raise BundleError(f"manifest.json: unknown format {manifest.get('format')!r}")
    keyring = trusted_keys or Keyring.from_json(_read_json(bundle / "keys.json"))
    head = load_tree_head(bundle / "tree_head.json")
    if manifest.get("complete"):
        report = verify_entries(_iter_jsonl(bundle / "entries.jsonl"), keyring, [head], expected_size=head.tree_size)
        if report.ok and earlier_head is not None:
            leaves = [leaf_hash(bytes.fromhex(e["hash"])) for e in _iter_jsonl(bundle / "entries.jsonl")]
            problem = verify_against_earlier_head(earlier_head, keyring, leaves)
            if problem:
                report.problem = problem
            else:
                report.heads_checked += 1
    else:
        proofs = {p["seq"]: p for p in _iter_jsonl(bundle / "proofs.jsonl") if isinstance(p, dict) and "seq" in p}
        report = verify_included_entries(_iter_jsonl(bundle / "entries.jsonl"), proofs, keyring, head)
        if report.ok and report.entries_checked != manifest.get("entry_count"):
            report.problem = Problem(
                None,
                f"manifest.json declares {manifest.get('entry_count')} entries but entries.jsonl holds "
                f"{report.entries_checked}",
            )
        report.notes.append(
            "filtered bundle: each entry is proven authentic and in place in the signed ledger; "
            "completeness of the selection is proven only by a complete export"
        )
        if earlier_head is not None:
            report.notes.append("--against needs a complete bundle; the earlier head was not checked")
    if trusted_keys is None:
        report.notes.append(
            "keys taken from the bundle's keys.json: compare their key_ids with the keys the "
            "licensee registered, or pass --keys"
        )
    return report
