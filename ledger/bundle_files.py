"""What writing and verifying an examination bundle share: its file names, formats, JSON reading,
the privilege log, and how an entry cites documents (docs/ledger-format.md §8).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from ledger.errors import BundleError

BUNDLE_FORMAT_1 = "noticeflow-ledger-bundle/1"
BUNDLE_FORMAT = "noticeflow-ledger-bundle/2"
STREAM_HEADS_FORMAT = "noticeflow-stream-heads/1"
PRIVILEGE_LOG_FORMAT = "noticeflow-privilege-log/1"

MANIFEST = "manifest.json"
MANIFEST_SIG = "manifest.sig"
#: The files every format-2 bundle has (``report.pdf`` and ``documents/…`` come and go).
REQUIRED_FILES = (
    "entries.jsonl",
    "keys.json",
    "tree_head.json",
    "checkpoint.txt",
    "proofs.jsonl",
    "stream_heads.json",
    "boundaries.jsonl",
    "consistency.jsonl",
    "privilege_log.json",
    "report.html",
    "VERIFY.md",
)
DOCUMENTS_DIR = "documents"

_HEX64 = re.compile(r"^[0-9a-f]{64}$")


def jsonl(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")) + "\n"


def pretty_json(obj: Any) -> str:
    return json.dumps(obj, indent=2, ensure_ascii=False) + "\n"


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_json(path: Path) -> Any:
    try:
        return json.loads(Path(path).read_text("utf-8"))
    except FileNotFoundError as exc:
        raise BundleError(f"{Path(path).name} is missing from the bundle") from exc
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BundleError(f"{Path(path).name}: not valid JSON ({exc})") from exc


def iter_jsonl(path: Path) -> Iterator[Any]:
    """The JSON values of a JSON-lines file, blank lines skipped; raises ``BundleError`` naming
    the file and line of anything that is not JSON."""
    try:
        fh = open(path, encoding="utf-8")
    except FileNotFoundError as exc:
        raise BundleError(f"{Path(path).name} is missing from the bundle") from exc
    with fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                yield json.loads(line)
            except json.JSONDecodeError as exc:
                raise BundleError(f"{Path(path).name} line {lineno}: not valid JSON ({exc})") from exc


def is_safe_bundle_path(name: str) -> bool:
    """Whether ``name`` is a plain relative path inside a bundle (``/`` separators, no ``..``)."""
    if not isinstance(name, str) or not name or "\\" in name or "\x00" in name or name.startswith("/"):
        return False
    parts = PurePosixPath(name).parts
    return all(part not in ("", ".", "..") for part in parts) and "/".join(parts) == name


# -- the privilege log ---------------------------------------------------------------------------


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


# -- documents an entry cites ----------------------------------------------------------------------


@dataclass(frozen=True)
class DocumentCitation:
    """One document an entry's data names.

    ``path`` (relative to the document store) and ``media_type`` are known for a DocumentRef-shaped
    value (an object with ``sha256``, ``path`` and ``media_type`` — ``models/content.py``); such a
    document must be in the store. A bare digest (``document_sha256``, ``html_sha256``,
    ``specimen_sha256``, a ``documents`` list, an object with ``sha256`` and ``media_type``) is
    looked up in the store as ``<sha256>.<ext>`` and copied when it is there: the same digests also
    name things the store never holds (a personal letter of a print batch, a roster)."""

    sha256: str
    path: str | None
    media_type: str | None
    kind: str | None
    required: bool


def document_citations(data: Any) -> list[DocumentCitation]:
    """Every document ``data`` (an entry's ``data``) names, in the order they appear, deduplicated
    by digest (a DocumentRef-shaped mention wins over a bare digest)."""
    found: dict[str, DocumentCitation] = {}

    def add(citation: DocumentCitation) -> None:
        seen = found.get(citation.sha256)
        if seen is None or (citation.required and not seen.required):
            found[citation.sha256] = citation

    def walk(value: Any, key: str | None) -> None:
        if isinstance(value, dict):
            digest = value.get("sha256")
            if isinstance(digest, str) and _HEX64.match(digest):
                path, media_type = value.get("path"), value.get("media_type")
                kind = value.get("kind") if isinstance(value.get("kind"), str) else None
                if isinstance(path, str) and isinstance(media_type, str):
                    add(DocumentCitation(digest, path, media_type, kind, True))
                elif isinstance(media_type, str):
                    add(DocumentCitation(digest, None, media_type, kind, False))
            for k, item in value.items():
                walk(item, k)
        elif isinstance(value, list):
            for item in value:
                walk(item, key)
        elif isinstance(value, str) and key is not None and _names_a_document(key) and _HEX64.match(value):
            add(DocumentCitation(value, None, None, None, False))

    walk(data, None)
    return list(found.values())


def _names_a_document(key: str) -> bool:
    return key == "documents" or key.endswith("_sha256")
