"""The tamper matrix (tests/ledger/bundle_cases.py): every pristine demo bundle verifies; every
tampered one fails naming what changed — in ``verify_bundle`` and in ``noticeflow ledger verify``
(first line ``FAILED: …``, exit 1). docs/ledger-format.md §8."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from ledger.bundle_verify import verify_bundle
from noticeflow.cli import app
from tests.ledger.bundle_cases import (
    TAMPER_CASES,
    DemoBundles,
    TamperCase,
    demo_bundles,
    prepare,
    pristine,
)

__all__ = ["demo_bundles"]  # the fixture, imported for pytest

runner = CliRunner()

#: What noticeflow's own verifier says beyond the shared ``case.expected``.
NOTICEFLOW_WORDS = {
    "unlisted_file_full": "notes.txt is in the bundle but not listed in the manifest",
    "listed_file_removed": "report.html is listed in the manifest but missing from the bundle",
    "manifest_unsigned": "manifest.sig is missing: the manifest is not signed",
    "deleted_middle_full": "seq 9: entries.jsonl: SHA-256",
    "deleted_last_stream": "seq 14: entries.jsonl: SHA-256",
    "resigned_deleted_middle_stream": "seq 11: stream incident:INC-7: stream chain broken",
    "resigned_deleted_last_stream": "seq 14: stream incident:INC-7: the slice ends at seq 14",
    "resigned_boundary_removed_window": "seq 11: stream incident:INC-7: the slice starts at stream position 5",
    "resigned_stream_head_changed": "stream_heads.json: stream incident:INC-7: signature does not verify",
    "untrusted_key_stream": "which is not in the trusted key statement",
    "forked_checkpoint_stream": "checkpoint-fork.txt: the bundle's ledger does not extend checkpoint 14",
}


@pytest.mark.parametrize("name", ["full", "stream", "jurisdiction", "jurisdiction_tn", "window"])
def test_every_demo_bundle_verifies_under_the_key_statement_and_extends_the_filed_checkpoint(
    demo_bundles: DemoBundles, name: str
) -> None:
    bundle = pristine(demo_bundles, name)
    report = verify_bundle(bundle.bundle, key_statement=bundle.trusted_keys, known_checkpoints=bundle.known_checkpoints)
    assert report.ok, report.problem
    assert report.checkpoints_checked == 1 and report.consistency_checked == 2
    assert report.tree_size == demo_bundles.tree_size and report.trust.startswith("the key statement")
    result = runner.invoke(app, ["ledger", "verify", *bundle.cli_args()])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("OK: ")


@pytest.mark.parametrize("case", TAMPER_CASES, ids=[c.name for c in TAMPER_CASES])
def test_a_tampered_bundle_fails_naming_what_changed(demo_bundles: DemoBundles, case: TamperCase, tmp_path: Path) -> None:
    bundle = prepare(case, demo_bundles, tmp_path)
    report = verify_bundle(bundle.bundle, key_statement=bundle.trusted_keys, known_checkpoints=bundle.known_checkpoints)
    assert not report.ok, f"{case.name} was not detected"
    assert case.expected in str(report.problem), str(report.problem)
    assert NOTICEFLOW_WORDS.get(case.name, case.expected) in str(report.problem), str(report.problem)

    result = runner.invoke(app, ["ledger", "verify", *bundle.cli_args()])
    assert result.exit_code == 1, result.output
    first = result.stdout.splitlines()[0]
    assert first.startswith("FAILED: ") and case.expected in first, first


def test_without_a_key_statement_the_bundle_keys_are_used_and_said_to_be_unauthenticated(
    demo_bundles: DemoBundles,
) -> None:
    report = verify_bundle(demo_bundles.bundles["stream"])
    assert report.ok and report.trust == "keys.json of the bundle (unauthenticated)"
    assert any("--trusted-keys" in note for note in report.notes)
