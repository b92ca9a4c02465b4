"""Render ``docs/traceability.md``: rule → section → code → tests, from the registry itself.

Pure functions: the caller reads the test sources and writes the file (``noticeflow rules
traceability``; ``tests/rules/test_traceability.py``).
"""

from __future__ import annotations

import ast
from collections.abc import Mapping

from rules.registry import Rule

HEADER = """# Rule traceability

Every rule the engine encodes, the section it rests on, the code that implements it and the tests
that prove it. Generated from `rules/registry.py` — do not edit by hand: run
`noticeflow rules traceability --write`. `tests/rules/test_traceability.py` fails when this file
is stale, when a rule has no test, or when a test names an unknown rule.

Status: **verified** — checked against the statute or the department's page (the seed texts
included); **reported** — only reported: the strictest known clock (72 hours) applies and the
obligation needs counsel review; **interpretation** — a reading the engine chose, documented in
`docs/rules.md` and configurable where a licensee may read it differently.
"""

_GROUPS = (
    ("Cybersecurity events", lambda rid: not rid.startswith(("tx.", "engine."))),
    ("Privacy notices and disclosures", lambda rid: rid.startswith("tx.")),
    ("Engine interpretations", lambda rid: rid.startswith("engine.")),
)


class TraceabilityError(ValueError):
    pass


def collect_verifies(sources: Mapping[str, str]) -> dict[str, list[str]]:
    """Map rule id → test node ids, from ``@verifies(...)`` decorators in test sources.

    ``sources`` maps a repository-relative path (``tests/rules/test_x.py``) to its text.
    """
    found: dict[str, list[str]] = {}
    for path in sorted(sources):
        tree = ast.parse(sources[path], filename=path)
        for node, owner in _functions(tree):
            for decorator in node.decorator_list:
                if not (isinstance(decorator, ast.Call) and _name(decorator.func) == "verifies"):
                    continue
                for arg in decorator.args:
                    if not (isinstance(arg, ast.Constant) and isinstance(arg.value, str)):
                        raise TraceabilityError(f"{path}:{decorator.lineno}: @verifies takes string literals only")
                    node_id = f"{path}::{owner + '::' if owner else ''}{node.name}"
                    found.setdefault(arg.value, [])
                    if node_id not in found[arg.value]:
                        found[arg.value].append(node_id)
    return found


def _functions(tree: ast.Module) -> list[tuple[ast.FunctionDef | ast.AsyncFunctionDef, str]]:
    out: list[tuple[ast.FunctionDef | ast.AsyncFunctionDef, str]] = []
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            out.append((node, ""))
        elif isinstance(node, ast.ClassDef):
            out.extend((child, node.name) for child in node.body if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)))
    return out


def _name(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return ""


def problems(rules: Mapping[str, Rule], tests: Mapping[str, list[str]]) -> list[str]:
    """Rules without a test, and tests naming a rule that does not exist."""
    issues = [f"rule {rid} has no test (@verifies)" for rid in rules if not tests.get(rid)]
    issues += [f"{t} verifies unknown rule {rid}" for rid, ts in tests.items() if rid not in rules for t in ts]
    return issues


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render(rules: Mapping[str, Rule], tests: Mapping[str, list[str]]) -> str:
    lines = [HEADER]
    for title, member in _GROUPS:
        ids = [rid for rid in rules if member(rid)]
        if not ids:
            continue
        lines += [f"## {title}", "", "| Rule | Section | Status | What it says | Code | Tests |", "|---|---|---|---|---|---|"]
        for rid in ids:
            rule = rules[rid]
            code = "<br>".join(rule.code_refs())
            proof = "<br>".join(f"`{t}`" for t in tests.get(rid, [])) or "**none**"
            lines.append(
                f"| `{rid}` | {_cell(rule.citation)} | {rule.status.value} | {_cell(rule.summary)} | {code} | {proof} |"
            )
        lines.append("")
    total = len(rules)
    by_status = {s: sum(1 for r in rules.values() if r.status.value == s) for s in ("verified", "reported", "interpretation")}
    lines.append(
        f"{total} rules: {by_status['verified']} verified, {by_status['reported']} reported, "
        f"{by_status['interpretation']} interpretations."
    )
    return "\n".join(lines) + "\n"
