"""Layers point down: the activities, the ledger and the API read their settings from ``config``,
never from the CLI package, and the activities never import the CLI or the API."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


@pytest.mark.parametrize("package", ["activities", "ledger", "api"])
def test_settings_come_from_config_not_the_cli_package(package: str) -> None:
    offenders = {str(p.relative_to(REPO)) for p in (REPO / package).rglob("*.py") if "noticeflow.settings" in _imports(p)}
    assert not offenders, f"import config.settings instead: {sorted(offenders)}"


def test_activities_never_import_the_cli_or_the_api() -> None:
    offenders = {
        f"{p.relative_to(REPO)}: {m}"
        for p in (REPO / "activities").rglob("*.py")
        for m in _imports(p)
        if m == "api" or m.startswith(("api.", "noticeflow.cli"))
    }
    assert not offenders, sorted(offenders)
