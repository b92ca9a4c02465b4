"""docs/traceability.md is generated from the rule registry and cannot go stale."""

from __future__ import annotations

from pathlib import Path

from noticeflow.cli_rules import TRACEABILITY, render_traceability
from rules.registry import RULES
from rules.traceability import collect_verifies, problems


def test_traceability_matrix_is_up_to_date() -> None:
    text, _ = render_traceability()
    committed = TRACEABILITY.read_text(encoding="utf-8") if TRACEABILITY.exists() else ""
    assert committed == text, "docs/traceability.md is stale: run `noticeflow rules traceability --write`"


def test_every_rule_has_a_test_and_every_test_names_a_known_rule() -> None:
    _, issues = render_traceability()
    assert issues == []


def test_every_rule_cites_a_section_and_points_at_code() -> None:
    for rule in RULES.values():
        assert rule.citation and rule.summary, rule.rule_id
        assert rule.functions, rule.rule_id
        for fn in rule.functions:
            assert fn.__module__.startswith("rules."), (rule.rule_id, fn)


def test_generator_reads_verifies_decorators_and_reports_gaps() -> None:
    source = (
        "from rules.registry import verifies\n"
        "@verifies('a.rule', 'b.rule')\n"
        "def test_x():\n    pass\n"
        "class TestY:\n"
        "    @verifies('a.rule')\n"
        "    def test_z(self):\n        pass\n"
    )
    found = collect_verifies({"tests/rules/test_demo.py": source})
    assert found == {
        "a.rule": ["tests/rules/test_demo.py::test_x", "tests/rules/test_demo.py::TestY::test_z"],
        "b.rule": ["tests/rules/test_demo.py::test_x"],
    }
    issues = problems({}, found)
    assert "tests/rules/test_demo.py::test_x verifies unknown rule b.rule" in issues


def test_numbers_live_in_the_jurisdiction_table_not_inline() -> None:
    """STYLE.md: "the numbers (3 business days, 45 days, 250 consumers, $250,000, 500,000 persons, 30 days) as named
    constants in the jurisdiction table — never inline". Prose in docstrings and messages may quote them."""
    import ast

    statutory = {3, 5, 10, 12, 15, 24, 30, 45, 60, 72, 250, 250_000, 500_000}
    rules_dir = Path(__file__).resolve().parents[2] / "rules"
    modules = ("classification.py", "cyber.py", "triggers.py", "consumer_method.py", "report_checklist.py",
               "disclosure.py", "relationship.py", "privacy_notices.py")  # fmt: skip
    for name in modules:
        tree = ast.parse((rules_dir / name).read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and type(node.value) in (int, float) and node.value in statutory:
                raise AssertionError(f"rules/{name}:{node.lineno}: statutory number {node.value} inline")
