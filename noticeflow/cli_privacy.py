"""``noticeflow privacy gate …`` and ``noticeflow privacy schedules`` — the privacy lifecycles.

``gate`` asks the incident API's disclosure gate (the relationship workflow decides, cites the rule
and ledgers the decision in the caller's name); ``schedules`` creates or updates the Temporal
Schedules of the annual-notice sweep and the annual certification reminder.
"""

from __future__ import annotations

import json
import urllib.parse
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError

from models.privacy_lifecycle import GateQuestion
from noticeflow.cli_incident import ApiOption, TokenOption, call
from noticeflow.cli_rules import validation_message


def _fail(message: str, code: int = 2) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def gate(
    relationship_id: Annotated[str, typer.Argument(help="The relationship id (opaque; never NPI).")],
    question: Annotated[Path, typer.Argument(help="JSON file of the question (npi_category, recipient, purpose, …).", dir_okay=False)],
    api_url: ApiOption = None,
    token: TokenOption = None,
) -> None:
    """May NPI category C go to recipient R under basis B now? Prints the decision with its rule;
    exit status 0 when allowed, 3 when not."""
    try:
        raw = json.loads(question.read_text(encoding="utf-8"))
    except OSError as exc:
        _fail(f"{question}: {exc.strerror or exc}")
    except ValueError as exc:
        _fail(f"{question} is not valid JSON: {exc}")
    try:
        body = GateQuestion.model_validate(raw)
    except ValidationError as exc:
        _fail(validation_message(exc, question.name))
    path = f"/v1/privacy/relationships/{urllib.parse.quote(relationship_id, safe='')}/disclosure-decisions"
    decision = call(api_url, token, "POST", path, body=body.model_dump(mode="json", exclude={"asked_by"}))
    typer.echo(json.dumps(decision, indent=2, ensure_ascii=False))
    raise typer.Exit(0 if decision.get("allowed") else 3)


def schedules(
    lead_days: Annotated[int, typer.Option(help="Annual notices go out this many days before their period ends.")] = 30,
    licensee: Annotated[str, typer.Option(help="Licensee named in the certification reminder.")] = "licensee",
) -> None:
    """Create or update the Temporal Schedules: the daily annual-notice sweep and the yearly
    certification reminder (safe to run again)."""
    from noticeflow.cli_temporal import _run_then_exit
    from noticeflow.privacy_schedules import ensure_privacy_schedules
    from noticeflow.settings import get_settings
    from noticeflow.temporal import connect

    async def main() -> None:
        settings = get_settings()
        client = await connect(settings)
        for line in await ensure_privacy_schedules(client, settings.task_queue, lead_days=lead_days, licensee=licensee):
            typer.echo(line)

    _run_then_exit(main())


def register(app: typer.Typer) -> None:
    """Add ``gate`` and ``schedules`` to the ``privacy`` group the rules commands created."""
    for group in app.registered_groups:
        if group.name == "privacy" and group.typer_instance is not None:
            group.typer_instance.command("gate")(gate)
            group.typer_instance.command("schedules")(schedules)
            return
    privacy = typer.Typer(help="Privacy notices and the disclosure gate.", no_args_is_help=True)
    privacy.command("gate")(gate)
    privacy.command("schedules")(schedules)
    app.add_typer(privacy, name="privacy")
