"""Fixtures for the external verifier's tests: the verifier loaded from tools/verify_bundle.py as
an examiner would run it (no noticeflow import inside it), and a licensee's real ledger (SQLite or
PostgreSQL) exported with the package's exporter."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from ledger.bundle import DEFAULT_ORIGIN, export_bundle
from ledger.checkpoint import sign_checkpoint
from ledger.key_statement import build_key_statement
from ledger.keys import Keyring, Signer, generate_key, load_keyring, load_signer
from ledger.store import EntryFilter, Ledger
from tests.conftest import REPO
from tests.ledger.conftest import draft

TOOL = REPO / "tools" / "verify_bundle.py"
INC7, INC9 = "incident:INC-7", "incident:INC-9"


def load_tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location("verify_bundle_under_test", TOOL)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def vb() -> ModuleType:
    """tools/verify_bundle.py as a module, for its functions."""
    return load_tool()


def run_tool(bundle: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``python tools/verify_bundle.py BUNDLE ARGS…`` as the examiner runs it."""
    return subprocess.run(
        [sys.executable, str(TOOL), str(bundle), *args], capture_output=True, text=True, timeout=120, check=False
    )


@dataclass
class Licensee:
    """A licensee's key, ledger and document store, and what an examiner already holds of it."""

    root: Path
    key_dir: Path
    signer: Signer
    keyring: Keyring
    ledger: Ledger
    documents: Path
    statement: Path  # the key statement the licensee filed
    known_checkpoint: Path  # a checkpoint of an earlier tree size, as a filing carried it
    entries: list[dict[str, Any]]

    def export(self, name: str, where: EntryFilter | None = None) -> Path:
        return export_bundle(self.ledger, self.root / name, self.keyring, where, documents_dir=self.documents).path

    def ts(self, stream: str, n: int) -> str:
        """The ``ts`` of the n-th entry (1-based) of ``stream``."""
        return [e for e in self.entries if e["stream"] == stream][n - 1]["ts"]


def _document(store: Path, text: str) -> dict[str, Any]:
    data = text.encode("utf-8")
    digest = hashlib.sha256(data).hexdigest()
    (store / f"{digest}.html").write_bytes(data)
    return {"kind": "commissioner_report", "sha256": digest, "path": f"{digest}.html", "media_type": "text/html"}


@pytest.fixture
def licensee(db_url: str, tmp_path: Path) -> Iterator[Licensee]:
    """Two incident streams appended one entry per transaction (so every entry has its own ``ts``):
    INC-7 (TN) has 5 entries, INC-9 (MO) 4. A tree head and checkpoint are signed after the 4th
    entry — what a commissioner filing would carry. INC-7's 3rd entry cites a document."""
    key_dir = tmp_path / "keys"
    generate_key(key_dir, now="2020-01-01T00:00:00.000000Z")
    signer, keyring = load_signer(key_dir), load_keyring(key_dir)
    documents = tmp_path / "documents"
    documents.mkdir()
    ledger = Ledger.open(db_url, signer)
    report = _document(documents, "<html><body>Commissioner report, INC-7</body></html>")
    order = [(INC7, 1), (INC9, 1), (INC7, 2), (INC9, 2), None, (INC7, 3), (INC9, 3), (INC7, 4), (INC9, 4), (INC7, 5)]
    checkpoint = tmp_path / "filed-checkpoint.txt"
    try:
        for step in order:
            if step is None:
                head = ledger.sign_tree_head()
                root = bytes.fromhex(head.root_hash)
                checkpoint.write_text(sign_checkpoint(signer, DEFAULT_ORIGIN, head.tree_size, root))
                continue
            stream, n = step
            extra: dict[str, Any] = {}
            if stream == INC9:
                extra["jurisdiction"] = "MO"
                extra["citation"] = "Mo. Rev. Stat. § 375.1402"
            if (stream, n) == (INC7, 3):
                extra["data"] = {"n": n, "report": report}
            ledger.append(draft(n, stream=stream, **extra))
        statement = tmp_path / "key-statement.json"
        statement.write_text(
            json.dumps(build_key_statement(keyring, [signer], licensee="Acme Mutual", origin=DEFAULT_ORIGIN))
        )
        yield Licensee(
            tmp_path, key_dir, signer, keyring, ledger, documents, statement, checkpoint, list(ledger.iter_raw())
        )
    finally:
        ledger.close()


def other_key(tmp_path: Path, name: str = "other-keys") -> tuple[Signer, Keyring]:
    directory = tmp_path / name
    generate_key(directory, now="2020-01-01T00:00:00.000000Z")
    return load_signer(directory), load_keyring(directory)


# -- editing a bundle as a dishonest licensee would --------------------------------------------------


def read_lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]


def write_lines(path: Path, rows: list[dict[str, Any]]) -> None:
    path.write_text("".join(json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n" for r in rows), "utf-8")


def resign(bundle: Path, signer: Signer, **manifest_changes: Any) -> None:
    """Recompute manifest.json's file hashes (and apply ``manifest_changes``) and sign it again with
    ``signer``: what a licensee who rewrites a bundle with its own key can do. Only what the
    ledger's chains, proofs and signed heads show can catch such a bundle."""
    manifest = json.loads((bundle / "manifest.json").read_text("utf-8"))
    files = sorted(
        p.relative_to(bundle).as_posix()
        for p in bundle.rglob("*")
        if p.is_file() and p.name not in ("manifest.json", "manifest.sig")
    )
    manifest["files"] = {name: hashlib.sha256((bundle / name).read_bytes()).hexdigest() for name in files}
    manifest.update(manifest_changes)
    raw = (json.dumps(manifest, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
    (bundle / "manifest.json").write_bytes(raw)
    (bundle / "manifest.sig").write_text(signer.sign(raw) + "\n", "ascii")


def flip_byte(path: Path, needle: bytes | None = None) -> None:
    """Change one byte of ``path``: the first byte of ``needle`` when given, else the middle one."""
    data = bytearray(path.read_bytes())
    at = data.index(needle) if needle else len(data) // 2
    data[at] = data[at] ^ 0x01
    path.write_bytes(bytes(data))
