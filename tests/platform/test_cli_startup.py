"""The CLI starts without loading what the command run does not need (noticeflow/cli.py): the
listing's help is the commands' own, every command is reachable, and ``noticeflow --help`` loads
no domain module — no SQLAlchemy, no Temporal client, no settings. (How fast: bench/cli_startup.py.)"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from noticeflow.cli import COMMANDS, app, real_command

runner = CliRunner()

#: Modules a domain command needs and the listing must not load.
HEAVY = ("sqlalchemy", "temporalio.client", "config.settings", "noticeflow.cli_ledger", "noticeflow.cli_incident",
         "noticeflow.cli_rules", "noticeflow.cli_privacy", "noticeflow.cli_temporal", "noticeflow.cli_apikey",
         "noticeflow.cli_contacts", "noticeflow.cli_db", "rules", "ledger", "activities", "api", "workflows")


@pytest.mark.parametrize("name", list(COMMANDS))
def test_the_listing_shows_each_commands_own_help(name: str) -> None:
    assert COMMANDS[name][1] == " ".join((real_command(name).help or "").split())


def test_every_command_of_the_real_tree_is_listed_and_no_other() -> None:
    import typer

    from noticeflow import (
        cli_apikey,
        cli_contacts,
        cli_db,
        cli_incident,
        cli_ledger,
        cli_privacy,
        cli_rules,
        cli_temporal,
    )

    root = typer.Typer()
    for module in (cli_ledger, cli_db, cli_incident, cli_rules, cli_temporal, cli_privacy, cli_apikey, cli_contacts):
        module.register(root)
    group = typer.main.get_group(root)
    import click

    assert sorted(group.list_commands(click.Context(group))) == sorted(COMMANDS)


@pytest.mark.parametrize("name", list(COMMANDS))
def test_each_command_answers_its_own_help(name: str) -> None:
    result = runner.invoke(app, [name, "--help"])
    assert result.exit_code == 0, result.output
    assert f"noticeflow {name}" in result.output


def test_the_listing_loads_no_domain_module() -> None:
    probe = (
        "import sys, json\n"
        "from noticeflow.cli import app\n"
        "try:\n"
        "    app(['--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        f"print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in {sorted({h.split('.')[0] for h in HEAVY})!r} "
        f"or m in {list(HEAVY)!r})))\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    loaded = json.loads(out.strip().splitlines()[-1])
    assert [m for m in loaded if m in HEAVY or m.split(".")[0] in ("sqlalchemy", "rules", "ledger", "activities", "api", "workflows")] == []


def test_a_command_still_runs_with_the_settings_applied() -> None:
    result = runner.invoke(app, ["rules", "traceability", "--help"])
    assert result.exit_code == 0 and "--write" in result.output
