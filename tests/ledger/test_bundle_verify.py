"""Verifying bundles (docs/ledger-format.md §8): format 1 still verifies as before; known
checkpoints; trust anchors; ``noticeflow ledger export`` / ``verify`` and their exit codes."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ledger.bundle import export_bundle
from ledger.bundle_files import (
    BUNDLE_FORMAT_1,
    MANIFEST,
    MANIFEST_SIG,
    pretty_json,
    sha256_file,
)
from ledger.bundle_verify import verify_bundle
from ledger.checkpoint import sign_checkpoint
from ledger.errors import BundleError
from ledger.key_statement import build_key_statement
from ledger.keys import Keyring, Signer, generate_key, load_signer
from ledger.merkle import MerkleTree, leaf_hash
from ledger.store import EntryFilter, Ledger
from noticeflow.cli import app
from noticeflow.settings import get_settings
from reports.pdf import find_chromium
from tests.ledger.bundle_cases import (
    INC5,
    INC7,
    ORIGIN,
    DemoBundles,
    demo_bundles,
    step,
)
from tests.ledger.format1 import write_format1_ledger

__all__ = ["demo_bundles"]

runner = CliRunner()
FORMAT_1_FILES = ("entries.jsonl", "keys.json", "tree_head.json", "proofs.jsonl", "privilege_log.json", "report.html", "VERIFY.md")


def _as_format_1(bundle: Path, *, complete: bool) -> Path:
    """Rewrite a bundle of format-1 entries as the format-1 exporter wrote it."""
    manifest = json.loads((bundle / MANIFEST).read_text())
    for name in ("checkpoint.txt", "stream_heads.json", "boundaries.jsonl", "consistency.jsonl", MANIFEST_SIG):
        (bundle / name).unlink()
    old = {
        "format": BUNDLE_FORMAT_1, "generated_at": manifest["generated_at"], "filter": manifest["filter"],
        "complete": complete, "entry_count": manifest["entry_count"], "tree_size": manifest["tree_size"],
        "files": {name: sha256_file(bundle / name) for name in FORMAT_1_FILES},
    }
    (bundle / MANIFEST).write_text(pretty_json(old))
    return bundle


@pytest.fixture
def format1_ledger(db_url: str, signer: Signer) -> Iterator[Ledger]:
    """A ledger of 8 format 1 entries, as the code before the per-stream chain wrote it."""
    write_format1_ledger(db_url, signer, [
        step(INC5 if n % 2 else INC7, "commissioner_notice.sent", f"s{n}", jurisdiction="TN", data={"n": n})
        for n in range(1, 9)
    ])
    ledger = Ledger.open(db_url, signer)
    try:
        yield ledger
    finally:
        ledger.close()


def test_a_format_1_bundle_verifies_as_before_and_says_its_manifest_is_unsigned(
    format1_ledger: Ledger, keyring: Keyring, tmp_path: Path
) -> None:
    complete = _as_format_1(export_bundle(format1_ledger, tmp_path / "all", keyring).path, complete=True)
    report = verify_bundle(complete, trusted_keys=keyring)
    assert report.ok and report.format == BUNDLE_FORMAT_1 and report.entries_checked == 8
    assert any("format-1 bundle: its manifest is not signed" in note for note in report.notes)
    filtered = _as_format_1(export_bundle(format1_ledger, tmp_path / "inc5", keyring, EntryFilter(stream=INC5)).path,
                            complete=False)
    report = verify_bundle(filtered, trusted_keys=keyring)
    assert report.ok and report.entries_checked == 4
    assert any("completeness of the selection is proven only by a complete export" in n for n in report.notes)


def test_a_format_1_bundle_with_a_changed_entry_fails_at_its_seq(format1_ledger: Ledger, keyring: Keyring, tmp_path: Path) -> None:
    bundle = _as_format_1(export_bundle(format1_ledger, tmp_path / "all", keyring).path, complete=True)
    lines = (bundle / "entries.jsonl").read_text().splitlines()
    lines[4] = lines[4].replace('"n":5', '"n":50')
    (bundle / "entries.jsonl").write_text("\n".join(lines) + "\n")
    report = verify_bundle(bundle, trusted_keys=keyring)
    assert report.problem.seq == 5 and "hash mismatch" in report.problem.what


def test_a_format_2_bundle_relabelled_format_1_to_escape_its_signed_manifest_fails(
    demo_bundles: DemoBundles, tmp_path: Path
) -> None:
    bundle = shutil.copytree(demo_bundles.bundles["stream"], tmp_path / "relabelled")
    (bundle / "report.html").write_text("<p>every obligation met</p>")
    _as_format_1(bundle, complete=False)
    report = verify_bundle(bundle, key_statement=demo_bundles.statement)
    assert not report.ok and "a format-2 bundle was relabelled" in report.problem.what


def test_a_complete_bundle_proves_a_checkpoint_no_head_was_stored_for_from_its_entries_a_filtered_one_cannot(
    demo_bundles: DemoBundles, tmp_path: Path
) -> None:
    full = demo_bundles.bundles["full"]
    leaves = [leaf_hash(bytes.fromhex(json.loads(line)["hash"])) for line in (full / "entries.jsonl").read_text().splitlines()]
    kept = tmp_path / "checkpoint-5.txt"
    kept.write_text(sign_checkpoint(demo_bundles.signer, ORIGIN, 5, MerkleTree(leaves).root(5)))
    report = verify_bundle(full, key_statement=demo_bundles.statement, known_checkpoints=[kept])
    assert report.ok and report.checkpoints_checked == 1
    report = verify_bundle(demo_bundles.bundles["stream"], key_statement=demo_bundles.statement, known_checkpoints=[kept])
    assert not report.ok
    assert f"{kept}: the bundle's ledger does not extend checkpoint 5" in report.problem.what
    assert "consistency.jsonl holds no proof from tree size 5" in report.problem.what


def test_a_known_checkpoint_not_signed_by_a_trusted_key_fails_naming_the_file(demo_bundles: DemoBundles, tmp_path: Path) -> None:
    stranger = generate_key(tmp_path / "stranger")
    forged = tmp_path / "checkpoint-forged.txt"
    head = json.loads((demo_bundles.bundles["full"] / "tree_head.json").read_text())
    forged.write_text(sign_checkpoint(stranger, ORIGIN, 17, bytes.fromhex(head["root_hash"])))
    report = verify_bundle(demo_bundles.bundles["full"], key_statement=demo_bundles.statement, known_checkpoints=[forged])
    assert not report.ok and report.problem.what.startswith(f"{forged}: the checkpoint does not verify under the trusted keys")


def test_a_bundle_whose_checkpoint_origin_is_not_the_statements_fails_on_checkpoint_txt(
    demo_bundles: DemoBundles, tmp_path: Path
) -> None:
    statement = json.loads(demo_bundles.statement.read_text())
    other = build_key_statement(demo_bundles.keyring, [demo_bundles.signer], licensee="Acme Mutual", origin="other.example/log")
    path = tmp_path / "statement.json"
    path.write_text(json.dumps(other))
    assert statement["origin"] == ORIGIN
    report = verify_bundle(demo_bundles.bundles["full"], key_statement=path)
    assert not report.ok and report.problem.what.startswith("checkpoint.txt: checkpoint origin")


def test_unusable_input_is_an_error_not_a_verdict(demo_bundles: DemoBundles, tmp_path: Path) -> None:
    with pytest.raises(BundleError, match="not a bundle directory"):
        verify_bundle(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(BundleError, match="no manifest.json"):
        verify_bundle(tmp_path / "empty")
    broken = tmp_path / "statement.json"
    broken.write_text(demo_bundles.statement.read_text().replace('"signatures"', '"signatures_"'))
    with pytest.raises(BundleError, match="the key statement does not verify"):
        verify_bundle(demo_bundles.bundles["full"], key_statement=broken)
    with pytest.raises(BundleError, match="cannot read the checkpoint"):
        verify_bundle(demo_bundles.bundles["full"], known_checkpoints=[tmp_path / "missing.txt"])


def test_verify_cli_exit_codes_0_verified_1_failed_2_unusable(demo_bundles: DemoBundles, tmp_path: Path) -> None:
    full = str(demo_bundles.bundles["full"])
    statement, keyring = str(demo_bundles.statement), str(demo_bundles.root / "keys" / "keyring.json")
    ok = runner.invoke(app, ["ledger", "verify", full, "--keys", keyring])
    assert ok.exit_code == 0 and ok.stdout.startswith("OK: 17 entries verified")
    assert "not from a key statement" in ok.stdout
    as_json = json.loads(runner.invoke(app, ["ledger", "verify", full, "--trusted-keys", statement, "--json"]).stdout)
    assert as_json["ok"] is True and as_json["completeness"]["proven"] == "ledger" and as_json["files_checked"] == 11 + 3  # the files and 3 documents
    failed = runner.invoke(app, ["ledger", "verify", full, "--trusted-keys", str(demo_bundles.other_statement)])
    assert failed.exit_code == 1 and failed.stdout.startswith("FAILED: manifest.sig: signed by key")
    for args in (
        [str(tmp_path)],
        [full, "--trusted-keys", str(tmp_path / "absent.json")],
        [full, "--known-checkpoint", str(tmp_path / "absent.txt")],
        [full, "--trusted-keys", statement, "--keys", keyring],
    ):
        result = runner.invoke(app, ["ledger", "verify", *args])
        assert result.exit_code == 2, (args, result.output)
        assert result.output.startswith("error: "), result.output


def test_export_and_verify_from_the_command_line_with_the_filed_key_statement(tmp_path: Path) -> None:
    keys, db = tmp_path / "keys", f"sqlite:///{tmp_path / 'ledger.db'}"
    assert runner.invoke(app, ["ledger", "keygen", "--out", str(keys)]).exit_code == 0
    for n in range(4):
        appended = runner.invoke(app, [
            "ledger", "append", "--stream", INC7 if n % 2 else INC5, "--type", "consumer_notice.mailed_by_hand",
            "--step", f"s{n}", "--jurisdiction", "TN", "--data", '{"letters": 12}', "--actor", "user:jdoe",
            "--db", db, "--key", str(keys),
        ])
        assert appended.exit_code == 0, appended.output
    statement = tmp_path / "statement.json"
    made = runner.invoke(app, ["ledger", "key", "statement", "--out", str(statement), "--licensee", "Acme Mutual",
                               "--key", str(keys)])
    assert made.exit_code == 0, made.output
    filed = tmp_path / "filed.txt"
    head = json.loads(runner.invoke(app, ["ledger", "head", "--db", db, "--key", str(keys)]).stdout)
    filed.write_text(sign_checkpoint(load_signer(keys), get_settings().ledger_origin, head["tree_size"],
                                     bytes.fromhex(head["root_hash"])))

    exported = runner.invoke(app, ["ledger", "export", "--out", str(tmp_path / "b"), "--stream", INC7, "--db", db,
                                   "--key", str(keys)])
    assert exported.exit_code == 0, exported.output
    summary = json.loads(exported.stdout)
    assert summary["entries"] == 2 and summary["completeness"]["proven"] == "streams" and summary["streams"] == {INC7: 2}

    checked = runner.invoke(app, ["ledger", "verify", str(tmp_path / "b"), "--trusted-keys", str(statement),
                                  "--known-checkpoint", str(filed)])
    assert checked.exit_code == 0, checked.output
    first = checked.stdout.splitlines()[0]
    assert first.startswith("OK: 2 entries verified") and "1 known checkpoint(s) extended" in first
    assert "trust: the key statement statement.json" in first

    database = runner.invoke(app, ["ledger", "verify", "--db", db, "--key", str(keys), "--trusted-keys", str(statement),
                                   "--known-checkpoint", str(filed)])
    assert database.exit_code == 0 and database.stdout.startswith("OK: 4 entries verified"), database.output
    beyond = tmp_path / "beyond.txt"
    beyond.write_text(sign_checkpoint(load_signer(keys), get_settings().ledger_origin, 9, bytes(32)))
    database = runner.invoke(app, ["ledger", "verify", "--db", db, "--key", str(keys), "--known-checkpoint", str(beyond)])
    assert database.exit_code == 1 and "does not extend checkpoint 9" in database.output

    again = runner.invoke(app, ["ledger", "export", "--out", str(tmp_path / "b"), "--db", db, "--key", str(keys)])
    assert again.exit_code == 2 and "not empty" in again.output


def test_export_pdf_prints_the_examiners_report_with_chromium_into_the_bundle(tmp_path: Path) -> None:
    if find_chromium() is None and not os.environ.get("CI"):
        pytest.skip("Chromium is not installed (in CI this test fails instead)")
    keys, db = tmp_path / "keys", f"sqlite:///{tmp_path / 'ledger.db'}"
    generate_key(keys)
    ledger = Ledger.open(db, load_signer(keys))
    ledger.append_many([step(INC7, "incident.intake_recorded", "intake", data={"consumers": 12}),
                        step(INC7, "incident.determination_recorded", "determination", jurisdiction="TN")])
    ledger.close()
    exported = runner.invoke(app, ["ledger", "export", "--out", str(tmp_path / "b"), "--pdf", "--db", db, "--key", str(keys)])
    assert exported.exit_code == 0, exported.output
    bundle = tmp_path / "b"
    assert (bundle / "report.pdf").read_bytes().startswith(b"%PDF")
    manifest = json.loads((bundle / MANIFEST).read_text())
    assert manifest["files"]["report.pdf"] == sha256_file(bundle / "report.pdf")
    assert "verify_bundle.py" in (bundle / "report.html").read_text("utf-8")  # the examiner's report, not the built-in one
    assert verify_bundle(bundle).ok
