"""rules/ and models/ are safe to call from workflow code: no I/O, no wall clock, no randomness, and they
import nothing from ledger/, activities/, workflows/ or api/ (STYLE.md: the arrows point one way)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MINE = sorted(
    [p for p in (ROOT / "rules").glob("*.py")]
    + [p for p in (ROOT / "models").glob("*.py") if p.name in {"common.py", "licensee.py", "incident.py", "obligation.py", "privacy.py"}]
)
FORBIDDEN_PACKAGES = {"ledger", "activities", "workflows", "api", "noticeflow"}
FORBIDDEN_MODULES = {"random", "secrets", "time", "os", "socket", "subprocess", "requests", "httpx", "uuid"}
FORBIDDEN_CALLS = {"now", "utcnow", "today", "open", "read_text", "write_text"}


@pytest.mark.parametrize("path", MINE, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_rules_and_models_import_nothing_from_the_outer_layers(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module]
        for name in names:
            top = name.split(".")[0]
            assert top not in FORBIDDEN_PACKAGES, f"{path.name} imports {name}"
            assert top not in FORBIDDEN_MODULES, f"{path.name} imports {name} (I/O, clock or randomness)"


@pytest.mark.parametrize("path", MINE, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_rules_and_models_never_read_the_clock_or_files(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
            assert name not in FORBIDDEN_CALLS, f"{path.name}:{node.lineno} calls {name}()"


def test_same_input_gives_the_same_answer() -> None:
    from models.incident import IncidentIntake
    from rules.cyber import compute_obligations

    data = (ROOT / "docs" / "examples" / "event-tpsp-multistate.json").read_text(encoding="utf-8")
    first = compute_obligations(IncidentIntake.model_validate_json(data)).model_dump_json()
    second = compute_obligations(IncidentIntake.model_validate_json(data)).model_dump_json()
    assert first == second
