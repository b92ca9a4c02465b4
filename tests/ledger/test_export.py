"""Examination bundles through ``ledger.export`` (the names callers have always imported): complete
and filtered exports verify offline; a forged proof, a truncation or a rewrite is named; the
built-in report lists the entries. Format 2 in depth: test_bundle_export/_verify/_tamper."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from ledger import bundle, bundle_verify
from ledger.errors import LedgerError
from ledger.export import export_bundle, load_tree_head, verify_bundle
from ledger.keys import Keyring, Signer
from ledger.store import EntryFilter, Ledger
from tests.ledger.bundle_cases import resign_manifest
from tests.ledger.conftest import draft

SECRET_STREAM = "incident:INC-OTHER"


@pytest.fixture
def mixed(ledger: Ledger) -> Ledger:
    drafts = []
    for n in range(1, 13):
        drafts.append(draft(n))
        drafts.append(draft(n, stream=SECRET_STREAM, jurisdiction="MO", data={"secret_marker": f"zebra-{n}"}))
    ledger.append_many(drafts)
    return ledger


def test_the_export_module_offers_the_bundle_writer_and_verifier() -> None:
    assert export_bundle is bundle.export_bundle and verify_bundle is bundle_verify.verify_bundle


def test_complete_bundle_verifies_against_the_licensees_keys(mixed: Ledger, keyring: Keyring, tmp_path: Path) -> None:
    result = export_bundle(mixed, tmp_path / "all", keyring)
    assert result.complete and result.entries == 24 and result.tree_head.tree_size == 24
    report = verify_bundle(result.path, trusted_keys=keyring)
    assert report.ok and report.entries_checked == 24 and report.heads_checked == 1


def test_filtered_bundle_proves_each_entry_and_its_stream_and_discloses_no_other_stream(
    mixed: Ledger, keyring: Keyring, tmp_path: Path
) -> None:
    result = export_bundle(mixed, tmp_path / "inc7", keyring, EntryFilter(stream="incident:INC-7"))
    assert not result.complete and result.entries == 12 and result.completeness["proven"] == "streams"
    entries = [json.loads(line) for line in (result.path / "entries.jsonl").read_text().splitlines()]
    proofs = [json.loads(line) for line in (result.path / "proofs.jsonl").read_text().splitlines()]
    assert {e["stream"] for e in entries} == {"incident:INC-7"}
    assert [p["seq"] for p in proofs] == [e["seq"] for e in entries] == list(range(1, 24, 2))
    assert all(p["leaf_index"] == p["seq"] - 1 and p["tree_size"] == 24 for p in proofs)
    for file in result.path.rglob("*"):
        content = file.read_text()
        assert "zebra" not in content and SECRET_STREAM not in content and '"MO"' not in content, file.name
    report = verify_bundle(result.path, trusted_keys=keyring)
    assert report.ok and report.stream_heads_checked == 1


def test_a_forged_inclusion_proof_fails_at_its_seq_even_when_the_manifest_is_re_signed(
    mixed: Ledger, keyring: Keyring, signer: Signer, tmp_path: Path
) -> None:
    path = export_bundle(mixed, tmp_path / "b", keyring, EntryFilter(jurisdiction="TN")).path
    proofs = [json.loads(line) for line in (path / "proofs.jsonl").read_text().splitlines()]
    proofs[2]["audit_path"][0] = "00" * 32
    (path / "proofs.jsonl").write_text("".join(json.dumps(p) + "\n" for p in proofs))
    report = verify_bundle(path)
    assert report.problem.seq == proofs[2]["seq"] and report.problem.what.startswith("proofs.jsonl: SHA-256")
    assert "inclusion proof against the signed tree head fails" in report.problem.what
    resign_manifest(path, signer)
    report = verify_bundle(path)
    assert report.problem.seq == proofs[2]["seq"] and report.problem.what.startswith("inclusion proof")


def test_time_range_export_selects_by_ts_with_boundary_entries(ledger: Ledger, keyring: Keyring, tmp_path: Path) -> None:
    ledger.append_many([draft(n) for n in range(1, 4)])
    cut = ledger.get(3).ts
    ledger.append_many([draft(n) for n in range(4, 7)])
    later = [e for e in ledger.entries() if e.ts > cut]
    result = export_bundle(ledger, tmp_path / "b", keyring, EntryFilter(since=later[0].ts))
    assert result.entries == len(later) and result.boundaries == 1  # seq 3, just before the window
    assert verify_bundle(result.path).ok


def test_complete_bundle_checked_against_an_earlier_head(mixed: Ledger, keyring: Keyring, tmp_path: Path) -> None:
    first = export_bundle(mixed, tmp_path / "first", keyring)
    mixed.append_many([draft(n) for n in range(40, 45)])
    second = export_bundle(mixed, tmp_path / "second", keyring)
    earlier = load_tree_head(first.path / "tree_head.json")
    assert verify_bundle(second.path, earlier_head=earlier).ok
    forged_root = earlier.model_copy(update={"root_hash": "11" * 32})
    report = verify_bundle(second.path, earlier_head=forged_root)
    assert not report.ok and "signature does not verify" in report.problem.what


def test_built_in_report_lists_entries_with_their_rules_and_the_manifest_digests_hold(
    mixed: Ledger, keyring: Keyring, tmp_path: Path
) -> None:
    path = export_bundle(mixed, tmp_path / "b", keyring).path
    html = (path / "report.html").read_text()
    assert html.count("<tr>\n  <td>") == 24
    assert "Tenn. Code Ann. § 56-2-1006(a)" in html and "commissioner_notice.sent" in html
    assert "Completeness:</strong> Complete: this bundle holds every entry of the ledger" in html
    manifest = json.loads((path / "manifest.json").read_text())
    for name, digest in manifest["files"].items():
        assert hashlib.sha256((path / name).read_bytes()).hexdigest() == digest


def test_export_refuses_a_non_empty_directory(mixed: Ledger, keyring: Keyring, tmp_path: Path) -> None:
    target = tmp_path / "b"
    target.mkdir()
    (target / "old.txt").write_text("earlier evidence")
    with pytest.raises(LedgerError, match="not empty"):
        export_bundle(mixed, target, keyring)
    assert [p.name for p in target.iterdir()] == ["old.txt"]
