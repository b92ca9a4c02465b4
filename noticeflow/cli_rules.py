"""``noticeflow obligations …``, ``noticeflow privacy …``, ``noticeflow rules …`` — the rules engine.

Every command reads JSON, prints JSON on stdout, and on bad input prints an error naming the
field to stderr and exits with status 2.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar

import typer
from pydantic import AwareDatetime, BaseModel, TypeAdapter, ValidationError

from models.incident import IncidentIntake
from models.privacy import DisclosureRequest, NoticeLintRequest, PrivacyNotice, PrivacyPolicyVersion
from rules.cyber import compute_obligations
from rules.disclosure import decide_disclosure
from rules.errors import RuleInputError
from rules.privacy_notices import diff_policies, lint_notice

M = TypeVar("M", bound=BaseModel)

REPO = Path(__file__).resolve().parents[1]
TRACEABILITY = REPO / "docs" / "traceability.md"
RULE_TESTS = REPO / "tests" / "rules"


def _fail(message: str, code: int = 2) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def _print_json(model: BaseModel | dict[str, Any]) -> None:
    data = model.model_dump(mode="json") if isinstance(model, BaseModel) else model
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False))


def _location(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def validation_message(exc: ValidationError, source: str) -> str:
    """One line per problem, each naming the field: ``affected[0].consumers: …``."""
    lines = []
    for err in exc.errors(include_url=False):
        loc = _location(tuple(p for p in err["loc"] if p not in ("function-after", "function-plain")))
        lines.append(f"{source}: {loc or '(top level)'}: {err['msg']}")
    return "\n  ".join(lines)


def _read_json(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        _fail(f"{path}: no such file")
    except OSError as exc:
        _fail(f"{path}: cannot read ({exc.strerror})")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        _fail(f"{path}: not valid JSON: line {exc.lineno} column {exc.colno}: {exc.msg}")


def _load(model: type[M], path: Path, data: Any | None = None) -> M:
    raw = _read_json(path) if data is None else data
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        _fail(validation_message(exc, path.name))


PathArg = Annotated[Path, typer.Argument(help="JSON file.", dir_okay=False)]


def obligations(
    event: Annotated[Path, typer.Argument(help="The event intake (JSON).", dir_okay=False)],
    determined_at: Annotated[
        str | None,
        typer.Option("--determined-at", help="Determination time, ISO 8601 with offset (overrides the file)."),
    ] = None,
) -> None:
    """Which obligations a cybersecurity event creates, per jurisdiction, with due instants and citations."""
    intake = _load(IncidentIntake, event)
    when = None
    if determined_at is not None:
        try:
            when = TypeAdapter(AwareDatetime).validate_python(determined_at)
        except ValidationError as exc:
            _fail(f"--determined-at: {exc.errors(include_url=False)[0]['msg']} (got {determined_at!r})")
    try:
        result = compute_obligations(intake, determined_at=when)
    except RuleInputError as exc:
        name = "--determined-at" if exc.field == "determined_at" and when is not None else exc.field
        _fail(f"{event.name}: {name}: {exc.message}")
    _print_json(result)


def privacy_decide(request: PathArg) -> None:
    """May information category C of a consumer go to recipient R now? Allow/deny, first date, rule."""
    _print_json(decide_disclosure(_load(DisclosureRequest, request)))


def privacy_diff(old: PathArg, new: PathArg) -> None:
    """Does a policy change need a revised notice (28 TAC § 22.12)? Lists the changes."""
    _print_json(diff_policies(_load(PrivacyPolicyVersion, old), _load(PrivacyPolicyVersion, new)))


def privacy_lint(
    notice: PathArg,
    policy: Annotated[
        Path | None, typer.Option("--policy", help="The policy version the notice describes (JSON).", dir_okay=False)
    ] = None,
    fail_on_findings: Annotated[
        bool, typer.Option("--fail-on-findings", help="Exit with status 1 when an item is missing.")
    ] = False,
) -> None:
    """Which items of 28 TAC § 22.10(b)(1)–(9) / § 22.10(a) a privacy notice is missing.

    NOTICE.json is a notice, or {"notice": …, "policy": …}."""
    raw = _read_json(notice)
    if isinstance(raw, dict) and "notice" in raw:
        request = _load(NoticeLintRequest, notice, raw)
    else:
        request = NoticeLintRequest(notice=_load(PrivacyNotice, notice, raw))
    if policy is not None:
        request = request.model_copy(update={"policy": _load(PrivacyPolicyVersion, policy)})
    result = lint_notice(request.notice, request.policy)
    _print_json(result)
    if fail_on_findings and not result.ok:
        raise typer.Exit(1)


def traceability(
    write: Annotated[bool, typer.Option("--write", help="Write docs/traceability.md.")] = False,
    check: Annotated[bool, typer.Option("--check", help="Exit 1 if docs/traceability.md is stale or a rule has no test.")] = False,
) -> None:
    """Render the rule → section → code → tests matrix from the rule registry."""
    text, issues = render_traceability()
    if check:
        stale = not TRACEABILITY.exists() or TRACEABILITY.read_text(encoding="utf-8") != text
        for issue in issues:
            typer.echo(f"error: {issue}", err=True)
        if stale:
            typer.echo(f"error: {TRACEABILITY.relative_to(REPO)} is stale: run `noticeflow rules traceability --write`", err=True)
        raise typer.Exit(1 if stale or issues else 0)
    if write:
        TRACEABILITY.parent.mkdir(parents=True, exist_ok=True)
        TRACEABILITY.write_text(text, encoding="utf-8")
        for issue in issues:
            typer.echo(f"warning: {issue}", err=True)
        typer.echo(f"wrote {TRACEABILITY.relative_to(REPO)}", err=True)
        return
    typer.echo(text, nl=False)


def render_traceability() -> tuple[str, list[str]]:
    """The traceability document for the current registry and tests, and any gaps."""
    from rules import traceability as tr
    from rules.registry import RULES

    sources = {
        path.relative_to(REPO).as_posix(): path.read_text(encoding="utf-8") for path in sorted(RULE_TESTS.glob("test_*.py"))
    }
    tests = tr.collect_verifies(sources)
    return tr.render(RULES, tests), tr.problems(RULES, tests)


def register(app: typer.Typer) -> None:
    """Add the rules-engine commands to the ``noticeflow`` CLI."""
    app.command("obligations")(obligations)
    privacy = typer.Typer(help="Privacy notices: disclosure gate, revised-notice check, notice content.", no_args_is_help=True)
    privacy.command("decide")(privacy_decide)
    privacy.command("diff")(privacy_diff)
    privacy.command("lint")(privacy_lint)
    app.add_typer(privacy, name="privacy")
    rules_app = typer.Typer(help="The rule registry and its traceability matrix.", no_args_is_help=True)
    rules_app.command("traceability")(traceability)
    app.add_typer(rules_app, name="rules")
