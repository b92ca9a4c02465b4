"""Examination bundles: complete and filtered exports verify offline, with noticeflow and with
the independent verifier printed in their VERIFY.md."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from ledger.errors import LedgerError
from ledger.export import export_bundle, load_tree_head, verify_bundle
from ledger.keys import Keyring
from ledger.store import EntryFilter, Ledger
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


def _independent_verifier(bundle: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    text = (bundle / "VERIFY.md").read_text()
    script = re.search(r"```python\n(.*?)```", text, re.S).group(1)
    path = tmp_path / "verify_bundle.py"
    path.write_text(script)
    return subprocess.run([sys.executable, str(path), str(bundle)], capture_output=True, text=True, timeout=60)


def test_complete_bundle_verifies_with_noticeflow_and_independently(mixed: Ledger, keyring: Keyring, tmp_path: Path) -> None:
    result = export_bundle(mixed, tmp_path / "all", keyring)
    assert result.complete and result.entries == 24 and result.tree_head.tree_size == 24
    report = verify_bundle(result.path, trusted_keys=keyring)
    assert report.ok and report.entries_checked == 24 and report.heads_checked == 1
    run = _independent_verifier(result.path, tmp_path)
    assert run.stdout.strip() == "OK", run.stdout + run.stderr


def test_independent_verifier_names_the_first_bad_seq(mixed: Ledger, keyring: Keyring, tmp_path: Path) -> None:
    bundle = export_bundle(mixed, tmp_path / "all", keyring).path
    lines = (bundle / "entries.jsonl").read_text().splitlines()
    entry = json.loads(lines[9])
    entry["citation"] = "RSMo § 375.1402(3)"
    lines[9] = json.dumps(entry, ensure_ascii=False)
    (bundle / "entries.jsonl").write_text("\n".join(lines) + "\n")
    run = _independent_verifier(bundle, tmp_path)
    assert run.returncode == 1 and run.stdout.startswith("FAIL seq 10: hash mismatch")
    assert verify_bundle(bundle).problem.seq == 10


def test_filtered_bundle_proves_each_entry_and_discloses_no_other_stream(
    mixed: Ledger, keyring: Keyring, tmp_path: Path
) -> None:
    result = export_bundle(mixed, tmp_path / "inc7", keyring, EntryFilter(stream="incident:INC-7"))
    assert not result.complete and result.entries == 12
    entries = [json.loads(line) for line in (result.path / "entries.jsonl").read_text().splitlines()]
    proofs = [json.loads(line) for line in (result.path / "proofs.jsonl").read_text().splitlines()]
    assert {e["stream"] for e in entries} == {"incident:INC-7"}
    assert [p["seq"] for p in proofs] == [e["seq"] for e in entries] == list(range(1, 24, 2))
    assert all(p["leaf_index"] == p["seq"] - 1 and p["tree_size"] == 24 for p in proofs)
    for file in result.path.iterdir():
        content = file.read_text()
        assert "zebra" not in content and SECRET_STREAM not in content and '"MO"' not in content, file.name
    assert verify_bundle(result.path, trusted_keys=keyring).ok
    assert _independent_verifier(result.path, tmp_path).stdout.strip() == "OK"


def test_filtered_bundle_with_a_forged_proof_fails_at_that_seq(mixed: Ledger, keyring: Keyring, tmp_path: Path) -> None:
    bundle = export_bundle(mixed, tmp_path / "b", keyring, EntryFilter(jurisdiction="TN")).path
    proofs = [json.loads(line) for line in (bundle / "proofs.jsonl").read_text().splitlines()]
    proofs[2]["audit_path"][0] = "00" * 32
    (bundle / "proofs.jsonl").write_text("".join(json.dumps(p) + "\n" for p in proofs))
    report = verify_bundle(bundle)
    assert report.problem.seq == proofs[2]["seq"] and "inclusion proof" in report.problem.what
    run = _independent_verifier(bundle, tmp_path)
    assert run.returncode == 1 and f"seq {proofs[2]['seq']}" in run.stdout


def test_time_range_export_selects_by_ts(ledger: Ledger, keyring: Keyring, tmp_path: Path) -> None:
    ledger.append_many([draft(n) for n in range(1, 4)])
    cut = ledger.get(3).ts
    ledger.append_many([draft(n) for n in range(4, 7)])
    later = [e for e in ledger.entries() if e.ts > cut]
    result = export_bundle(ledger, tmp_path / "b", keyring, EntryFilter(since=later[0].ts))
    assert result.entries == len(later) and verify_bundle(result.path).ok


def test_complete_bundle_checked_against_an_earlier_head(mixed: Ledger, keyring: Keyring, tmp_path: Path) -> None:
    first = export_bundle(mixed, tmp_path / "first", keyring)
    mixed.append_many([draft(n) for n in range(40, 45)])
    second = export_bundle(mixed, tmp_path / "second", keyring)
    earlier = load_tree_head(first.path / "tree_head.json")
    assert verify_bundle(second.path, earlier_head=earlier).ok
    forged_root = earlier.model_copy(update={"root_hash": "11" * 32})
    report = verify_bundle(second.path, earlier_head=forged_root)
    assert not report.ok  # the forged head's signature no longer holds


def test_report_lists_entries_with_their_rules_and_the_manifest_digests_hold(
    mixed: Ledger, keyring: Keyring, tmp_path: Path
) -> None:
    bundle = export_bundle(mixed, tmp_path / "b", keyring).path
    html = (bundle / "report.html").read_text()
    assert html.count("<tr>\n  <td>") == 24
    assert "Tenn. Code Ann. § 56-2-1006(a)" in html and "commissioner_notice.sent" in html
    manifest = json.loads((bundle / "manifest.json").read_text())
    for name, digest in manifest["files"].items():
        assert hashlib.sha256((bundle / name).read_bytes()).hexdigest() == digest


def test_export_refuses_a_non_empty_directory(mixed: Ledger, keyring: Keyring, tmp_path: Path) -> None:
    target = tmp_path / "b"
    target.mkdir()
    (target / "old.txt").write_text("earlier evidence")
    with pytest.raises(LedgerError, match="not empty"):
        export_bundle(mixed, target, keyring)
    assert [p.name for p in target.iterdir()] == ["old.txt"]
