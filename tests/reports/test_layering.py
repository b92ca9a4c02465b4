"""reports/ sits beside the ledger: it reads entries and may use models and rules (pure), and never
imports activities, api, workflows or the CLI — the live dashboard and the exporter both call it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPORTS = Path(__file__).resolve().parents[2] / "reports"
FORBIDDEN = {"activities", "api", "workflows", "noticeflow", "worker"}


@pytest.mark.parametrize("path", sorted(REPORTS.glob("*.py")), ids=lambda p: p.name)
def test_reports_import_nothing_from_activities_api_workflows_or_the_cli(path: Path) -> None:
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
            [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
        for name in names:
            assert name.split(".")[0] not in FORBIDDEN, f"{path.name} imports {name}"


def test_no_report_module_is_over_800_lines() -> None:
    for path in REPORTS.glob("*.py"):
        assert len(path.read_text("utf-8").splitlines()) <= 800, path.name
