"""Writing bundle format 2 (docs/ledger-format.md §8): the files, the signed manifest, the filter
semantics and their completeness statements, the documents, the report and PDF hooks."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from ledger.bundle import export_bundle
from ledger.bundle_files import BUNDLE_FORMAT, REQUIRED_FILES, STREAM_HEADS_FORMAT
from ledger.bundle_verify import verify_bundle
from ledger.checkpoint import verify_checkpoint
from ledger.errors import LedgerError
from ledger.keys import Keyring
from ledger.merkle import verify_consistency
from ledger.store import EntryFilter, Ledger
from tests.ledger.bundle_cases import (
    INC5,
    INC7,
    INC8,
    ORIGIN,
    POLICY,
    DemoBundles,
    demo_bundles,
    step,
)

__all__ = ["demo_bundles"]

MANIFEST_KEYS = [
    "format", "generated_at", "key_id", "filter", "completeness", "entry_count", "boundary_count", "tree_size",
    "root_hash", "streams", "missing_documents", "files",
]


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]


def _json(path: Path) -> Any:
    return json.loads(path.read_text("utf-8"))


def _files(bundle: Path) -> set[str]:
    return {p.relative_to(bundle).as_posix() for p in bundle.rglob("*") if p.is_file()}


def test_a_complete_bundle_has_every_format_2_file_and_a_manifest_signed_over_its_exact_bytes(
    demo_bundles: DemoBundles,
) -> None:
    bundle = demo_bundles.bundles["full"]
    docs = {f"documents/{d}" for d in demo_bundles.documents.values()}
    assert {n.rsplit(".", 1)[0] for n in _files(bundle) if n.startswith("documents/")} == docs
    assert _files(bundle) - {n for n in _files(bundle) if n.startswith("documents/")} == {
        *REQUIRED_FILES, "manifest.json", "manifest.sig"
    }
    manifest_bytes = (bundle / "manifest.json").read_bytes()
    manifest = json.loads(manifest_bytes)
    assert list(manifest) == MANIFEST_KEYS
    head = _json(bundle / "tree_head.json")
    assert manifest["format"] == BUNDLE_FORMAT and manifest["key_id"] == demo_bundles.signer.key_id
    assert manifest["filter"] == {"stream": None, "jurisdiction": None, "since": None, "until": None}
    assert manifest["completeness"]["proven"] == "ledger" and "every entry of the ledger, seq 1 to 17" in manifest["completeness"]["statement"]
    assert (manifest["entry_count"], manifest["boundary_count"], manifest["tree_size"]) == (17, 0, 17)
    assert manifest["root_hash"] == head["root_hash"] and head["tree_size"] == 17
    assert manifest["streams"] == {INC5: 4, INC7: 7, INC8: 3, POLICY: 3}
    assert manifest["missing_documents"] == []
    assert set(manifest["files"]) == _files(bundle) - {"manifest.json", "manifest.sig"}
    for name, digest in manifest["files"].items():
        assert hashlib.sha256((bundle / name).read_bytes()).hexdigest() == digest, name
    sig = (bundle / "manifest.sig").read_text().strip()
    assert demo_bundles.keyring.check(manifest["key_id"], manifest["generated_at"], manifest_bytes, sig) is None
    assert demo_bundles.keyring.check(manifest["key_id"], manifest["generated_at"], manifest_bytes + b" ", sig)

    assert [e["seq"] for e in _lines(bundle / "entries.jsonl")] == list(range(1, 18))
    assert _lines(bundle / "proofs.jsonl") == [] and _lines(bundle / "boundaries.jsonl") == []
    assert _json(bundle / "stream_heads.json") == {"format": STREAM_HEADS_FORMAT, "heads": []}
    checkpoint = verify_checkpoint((bundle / "checkpoint.txt").read_text("utf-8"), demo_bundles.keyring, ORIGIN)
    assert (checkpoint.tree_size, checkpoint.root_hash) == (17, head["root_hash"])


def test_consistency_proofs_run_from_every_earlier_signed_head_to_the_bundle_head(demo_bundles: DemoBundles) -> None:
    bundle = demo_bundles.bundles["stream"]
    head = _json(bundle / "tree_head.json")
    lines = _lines(bundle / "consistency.jsonl")
    assert [(c["from_size"], c["to_size"]) for c in lines] == [(10, 17), (14, 17)]
    for line in lines:
        verify_consistency(line["from_size"], 17, bytes.fromhex(line["from_root"]), bytes.fromhex(head["root_hash"]),
                           [bytes.fromhex(n) for n in line["proof"]])


def test_a_stream_bundle_holds_the_whole_stream_under_its_signed_head_and_nothing_of_other_streams(
    demo_bundles: DemoBundles,
) -> None:
    bundle = demo_bundles.bundles["stream"]
    entries = _lines(bundle / "entries.jsonl")
    assert [e["seq"] for e in entries] == [4, 5, 7, 9, 11, 14, 16]
    assert [e["stream_seq"] for e in entries] == list(range(1, 8))
    assert [p["seq"] for p in _lines(bundle / "proofs.jsonl")] == [4, 5, 7, 9, 11, 14, 16]
    heads = _json(bundle / "stream_heads.json")["heads"]
    head = _json(bundle / "tree_head.json")
    assert len(heads) == 1 and heads[0]["stream"] == INC7
    assert (heads[0]["stream_size"], heads[0]["last_hash"]) == (7, entries[-1]["hash"])
    assert (heads[0]["tree_size"], heads[0]["root_hash"]) == (17, head["root_hash"])
    manifest = _json(bundle / "manifest.json")
    assert manifest["completeness"]["proven"] == "streams" and manifest["streams"] == {INC7: 7}
    assert manifest["completeness"]["statement"].startswith(f"Complete for stream {INC7}: every entry of the stream")
    assert "licensee's selection" not in manifest["completeness"]["statement"]
    # Nothing of the other streams but the hashes on the proofs.
    for name in _files(bundle):
        text = (bundle / name).read_bytes().decode("utf-8")
        for other in (INC5, INC8, POLICY, "TN-2026-0001", "annual_sent", "opt_out"):
            assert other not in text, (name, other)
    log = _json(bundle / "privilege_log.json")["entries"]
    assert [(p["seq"], p["privilege_basis"], p["status"]) for p in log] == [(9, "attorney_client", "withheld")]


def test_a_jurisdiction_bundle_holds_every_stream_with_an_entry_for_it_whole_and_says_the_choice_is_the_licensees(
    demo_bundles: DemoBundles,
) -> None:
    bundle = demo_bundles.bundles["jurisdiction"]
    manifest = _json(bundle / "manifest.json")
    assert manifest["streams"] == {INC7: 7, INC8: 3}  # INC-7 whole, its TN and unnamed entries too
    assert [h["stream"] for h in _json(bundle / "stream_heads.json")["heads"]] == [INC7, INC8]
    statement = manifest["completeness"]["statement"]
    assert manifest["completeness"]["proven"] == "streams"
    assert "those with an entry for KY" in statement and "rests on the licensee's selection" in statement


def test_a_stream_with_entries_from_before_the_per_stream_chain_is_exported_with_that_said(
    demo_bundles: DemoBundles,
) -> None:
    bundle = demo_bundles.bundles["jurisdiction_tn"]
    entries = _lines(bundle / "entries.jsonl")
    assert [e["seq"] for e in entries if e["stream"] == INC5] == [1, 2, 3, 10]
    assert ["v" in e for e in entries if e["stream"] == INC5] == [False, False, False, True]
    note = f"Stream {INC5}: entries before stream position 4 predate the per-stream chain; their completeness is not proven."
    assert note in _json(bundle / "manifest.json")["completeness"]["statement"]
    report = verify_bundle(bundle, key_statement=demo_bundles.statement)
    assert report.ok and note.lower().rstrip(".") in [n.lower() for n in report.notes]


def test_a_time_window_bundle_holds_each_streams_slice_between_boundary_entries_outside_the_window(
    demo_bundles: DemoBundles,
) -> None:
    bundle = demo_bundles.bundles["window"]
    since, until = demo_bundles.window
    entries, boundaries = _lines(bundle / "entries.jsonl"), _lines(bundle / "boundaries.jsonl")
    assert [e["seq"] for e in entries] == [11, 12, 13, 14]
    assert all(since <= e["ts"] < until for e in entries)
    assert [(b["seq"], b["stream"]) for b in boundaries] == [(6, POLICY), (8, INC8), (9, INC7), (15, INC8), (16, INC7), (17, POLICY)]
    assert all(b["ts"] < since for b in boundaries[:3]) and all(b["ts"] >= until for b in boundaries[3:])
    assert [p["seq"] for p in _lines(bundle / "proofs.jsonl")] == [6, 8, 9, 11, 12, 13, 14, 15, 16, 17]
    manifest = _json(bundle / "manifest.json")
    assert (manifest["entry_count"], manifest["boundary_count"]) == (4, 6)
    assert manifest["filter"] == {"stream": None, "jurisdiction": None, "since": since, "until": until}
    statement = manifest["completeness"]["statement"]
    assert f"recorded from {since} until (not including) {until}" in statement and "boundaries.jsonl" in statement
    assert "rests on the licensee's selection" in statement


def test_the_documents_the_entries_cite_are_copied_by_digest_and_linked_from_the_report(demo_bundles: DemoBundles) -> None:
    bundle = demo_bundles.bundles["stream"]
    store = demo_bundles.documents_dir
    for name, digest in demo_bundles.documents.items():
        copied = list((bundle / "documents").glob(f"{digest}.*"))
        assert len(copied) == 1, name
        assert copied[0].read_bytes() == next(store.glob(f"{digest}.*")).read_bytes()
        assert f'href="documents/{copied[0].name}"' in (bundle / "report.html").read_text("utf-8")
    assert (bundle / "documents" / f"{demo_bundles.documents['report_json']}.json").exists()
    # The window's INC-7 slice cites only the letter; documents of boundary entries stay out.
    window = demo_bundles.bundles["window"]
    assert [p.name.split(".")[0] for p in (window / "documents").iterdir()] == [demo_bundles.documents["letter"]]


def test_verify_md_sends_the_examiner_to_the_external_verifier_and_carries_no_code(demo_bundles: DemoBundles) -> None:
    bundle = demo_bundles.bundles["stream"]
    text = (bundle / "VERIFY.md").read_text("utf-8")
    assert "5" * 64 in text and "--trusted-keys" in text and "--known-checkpoint" in text
    assert "```python" not in text and "import " not in text
    assert (bundle / "checkpoint.txt").read_text("utf-8") in text
    assert "SHA256:" + hashlib.sha256(demo_bundles.keyring.keys[demo_bundles.signer.key_id].public_key).hexdigest() in text
    assert f"`{INC7}` | 7 | 7 |" in text


def test_a_cited_document_the_store_lacks_is_listed_as_missing_and_the_report_says_so(
    ledger: Ledger, keyring: Keyring, tmp_path: Path
) -> None:
    store = tmp_path / "documents"
    store.mkdir()
    outside = tmp_path / "secret.txt"
    outside.write_bytes(b"not a document of the store")
    outside_digest = hashlib.sha256(outside.read_bytes()).hexdigest()
    absent = "ab" * 32
    ledger.append_many([
        step(INC7, "commissioner_notice.submitted", "report/v1", jurisdiction="TN",
             data={"report": {"kind": "commissioner_report", "sha256": absent, "path": f"{absent}.json",
                              "media_type": "application/json", "size": 10, "citation": "x"}}),
        step(INC7, "commissioner_notice.updated", "report/v2", jurisdiction="TN",
             data={"report": {"sha256": outside_digest, "path": "../secret.txt", "media_type": "text/plain"}}),
    ])
    result = export_bundle(ledger, tmp_path / "b", keyring, documents_dir=store)
    assert result.documents == 0
    missing = {m["sha256"]: m for m in result.missing_documents}
    assert missing[absent]["cited_by"] == [1] and missing[absent]["reason"] == "not in the document store"
    assert "outside the document store" in missing[outside_digest]["reason"]
    manifest = _json(result.path / "manifest.json")
    assert manifest["missing_documents"] == result.missing_documents
    assert not (result.path / "documents").exists()
    assert "not in this bundle" in (result.path / "report.html").read_text("utf-8")
    assert "not a document of the store" not in "".join(
        p.read_bytes().decode("utf-8") for p in result.path.rglob("*") if p.is_file()
    )
    assert verify_bundle(result.path, trusted_keys=keyring).ok


def test_the_report_renderer_gets_the_bundle_facts_and_the_pdf_is_listed_in_the_manifest(
    ledger: Ledger, keyring: Keyring, tmp_path: Path
) -> None:
    ledger.append_many([step(INC7, "incident.intake_recorded", "intake"), step(INC8, "incident.intake_recorded", "intake")])
    seen: dict[str, Any] = {}

    def render_report(entries: list[dict[str, Any]], **context: Any) -> str:
        seen.update(context, entries=entries)
        return "<html><body>examiner's report</body></html>"

    def render_pdf(html: Path, pdf: Path) -> None:
        assert html.read_text() == "<html><body>examiner's report</body></html>"
        pdf.write_bytes(b"%PDF-1.7\n%%EOF\n")

    result = export_bundle(ledger, tmp_path / "b", keyring, EntryFilter(stream=INC7), render_report=render_report,
                           render_pdf=render_pdf, verifier_sha256="ab" * 32, origin=ORIGIN)
    assert [e["stream"] for e in seen["entries"]] == [INC7]
    assert set(seen) == {"entries", "tree_head", "keys", "filter", "completeness", "privilege_log", "documents",
                         "generated_at", "verifier_sha256", "checkpoint"}
    assert seen["tree_head"] == result.tree_head and seen["completeness"]["proven"] == "streams"
    assert seen["checkpoint"] == (result.path / "checkpoint.txt").read_text("utf-8")
    assert seen["verifier_sha256"] == "ab" * 32 and seen["filter"]["stream"] == INC7
    manifest = _json(result.path / "manifest.json")
    assert manifest["generated_at"] == seen["generated_at"]
    assert manifest["files"]["report.pdf"] == hashlib.sha256(b"%PDF-1.7\n%%EOF\n").hexdigest()
    assert verify_bundle(result.path, trusted_keys=keyring).ok


def test_an_export_that_fails_half_way_leaves_nothing_behind(ledger: Ledger, keyring: Keyring, tmp_path: Path) -> None:
    ledger.append(step(INC7, "incident.intake_recorded", "intake"))

    def broken_pdf(html: Path, pdf: Path) -> None:
        raise LedgerError("chromium exited with status 1")

    with pytest.raises(LedgerError, match="chromium"):
        export_bundle(ledger, tmp_path / "b", keyring, render_pdf=broken_pdf)
    assert not (tmp_path / "b").exists()
    assert not any(p.name.startswith(".b.") for p in tmp_path.iterdir())


def test_a_filter_nothing_matches_is_refused(ledger: Ledger, keyring: Keyring, tmp_path: Path) -> None:
    ledger.append(step(INC7, "incident.intake_recorded", "intake", jurisdiction="TN"))
    with pytest.raises(LedgerError, match="no entry of the ledger's first 1 matches jurisdiction KY"):
        export_bundle(ledger, tmp_path / "b", keyring, EntryFilter(jurisdiction="KY"))
    assert not (tmp_path / "b").exists()
