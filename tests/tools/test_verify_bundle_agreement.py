"""The two verifiers agree (issue 10: "The external verifier and `noticeflow ledger verify` agree
on every case"): on the demo bundles of tests/ledger/bundle_cases.py (SQLite and PostgreSQL),
``noticeflow ledger verify`` and ``python tools/verify_bundle.py`` both say OK on every pristine
bundle, and on every case of the tamper matrix both say FAILED (exit 1) and name what changed; a
key statement that breaks a rule of docs §12 is refused by both as unusable input (exit 2)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ledger.keys import Signer
from noticeflow.cli import app
from tests.ledger.bundle_cases import (
    STATEMENT_CASES,
    TAMPER_CASES,
    DemoBundles,
    Prepared,
    StatementCase,
    TamperCase,
    demo_bundles,
    prepare,
    prepare_statement,
    pristine,
    rotated_statement,
    sign_statement,
)
from tests.tools.conftest import run_tool

__all__ = ["demo_bundles"]  # the fixture, imported for pytest

runner = CliRunner()


def _both(prepared: Prepared) -> tuple[tuple[int, str], tuple[int, str]]:
    """(exit status, first line of output) of the package CLI and of the external verifier."""
    args = prepared.cli_args()
    cli = runner.invoke(app, ["ledger", "verify", *args])
    tool = run_tool(Path(args[0]), *args[1:])
    assert tool.stderr == "", tool.stderr
    first = lambda text: (text.splitlines() or [""])[0]  # noqa: E731
    return (cli.exit_code, first(cli.stdout)), (tool.returncode, first(tool.stdout))


@pytest.mark.parametrize("name", ["full", "stream", "jurisdiction", "jurisdiction_tn", "window"])
def test_both_verifiers_accept_every_pristine_demo_bundle(demo_bundles: DemoBundles, name: str) -> None:
    (cli_code, cli_line), (tool_code, tool_line) = _both(pristine(demo_bundles, name, ("filed",)))
    assert (cli_code, tool_code) == (0, 0), (cli_line, tool_line)
    assert cli_line.startswith("OK: ") and tool_line.startswith("OK: ")
    assert f"tree size {demo_bundles.tree_size}" in cli_line and f"tree size {demo_bundles.tree_size}" in tool_line


def test_both_verifiers_note_the_stream_that_predates_the_per_stream_chain(demo_bundles: DemoBundles) -> None:
    tool = run_tool(*pristine(demo_bundles, "jurisdiction_tn").cli_args())
    assert tool.returncode == 0, tool.stdout
    assert "stream incident:INC-5: entries before stream position 4 predate the per-stream chain" in tool.stdout
    cli = runner.invoke(app, ["ledger", "verify", *pristine(demo_bundles, "jurisdiction_tn").cli_args()])
    assert cli.exit_code == 0 and "predate the per-stream chain" in cli.stdout


@pytest.mark.parametrize("case", TAMPER_CASES, ids=[c.name for c in TAMPER_CASES])
def test_both_verifiers_fail_every_tampered_bundle_naming_what_changed(
    demo_bundles: DemoBundles, case: TamperCase, tmp_path: Path
) -> None:
    (cli_code, cli_line), (tool_code, tool_line) = _both(prepare(case, demo_bundles, tmp_path))
    assert (cli_code, tool_code) == (1, 1), (cli_line, tool_line)
    assert cli_line.startswith("FAILED: ") and case.expected in cli_line, cli_line
    assert tool_line.startswith("FAILED: ") and case.expected in tool_line, tool_line


def test_both_verifiers_accept_a_stream_of_format1_entries_only_with_its_note(demo_bundles: DemoBundles) -> None:
    (cli_code, cli_line), (tool_code, tool_line) = _both(pristine(demo_bundles, "format1_stream", ()))
    assert (cli_code, tool_code) == (0, 0), (cli_line, tool_line)
    assert "tree size 6" in cli_line and "tree size 6" in tool_line
    tool = run_tool(*pristine(demo_bundles, "format1_stream", ()).cli_args())
    assert "note: stream incident:INC-3: its entries predate the per-stream chain; their completeness is not proven" in (
        tool.stdout
    )


def test_both_verifiers_accept_a_statement_signed_by_the_new_and_the_previous_key_on_rotation_12(
    demo_bundles: DemoBundles, tmp_path: Path
) -> None:
    retired = Signer.generate()
    statement = tmp_path / "rotated.json"
    statement.write_text(json.dumps(sign_statement(rotated_statement(demo_bundles, retired), [demo_bundles.signer, retired])))
    (cli_code, cli_line), (tool_code, tool_line) = _both(Prepared(demo_bundles.bundles["full"], statement, []))
    assert (cli_code, tool_code) == (0, 0), (cli_line, tool_line)


@pytest.mark.parametrize("case", STATEMENT_CASES, ids=[c.name for c in STATEMENT_CASES])
def test_both_verifiers_refuse_a_key_statement_that_breaks_a_rule_of_12_as_unusable(
    demo_bundles: DemoBundles, case: StatementCase, tmp_path: Path
) -> None:
    prepared = prepare_statement(case, demo_bundles, tmp_path)
    args = prepared.cli_args()
    cli = runner.invoke(app, ["ledger", "verify", *args])
    tool = run_tool(Path(args[0]), *args[1:])
    assert (cli.exit_code, tool.returncode) == (2, 2), (cli.output, tool.stdout, tool.stderr)
    assert tool.stdout == ""
    for output in (cli.output, tool.stderr):
        assert output.startswith("error: ") and "the key statement does not verify" in output, output
        assert case.expected in output, output
