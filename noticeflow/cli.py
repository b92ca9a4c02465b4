"""The ``noticeflow`` command: the single entry point for operators and examiners.

Each domain registers its own sub-commands from its own module; this file only wires them — and
lazily: a domain's module (and what it imports: SQLAlchemy, Temporal's client, the settings) is
loaded only when one of its commands runs, so ``noticeflow --help`` and every command start
without loading the others. The listing's one-line help is kept in ``COMMANDS``;
``tests/platform/test_cli_startup.py`` checks it against each command's own help.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from importlib import import_module
from typing import Any

import click
import typer
from typer.core import TyperGroup

#: Top-level commands in listing order: name → (the modules whose ``register(app)`` adds it, in
#: registration order; the one-line help shown by ``noticeflow --help``).
COMMANDS: dict[str, tuple[tuple[str, ...], str]] = {
    "worker": (("noticeflow.cli_incident",), "Run the noticeflow worker (every workflow and activity) until Ctrl-C."),
    "api": (("noticeflow.cli_incident",), "Serve the incident API with uvicorn until Ctrl-C."),
    "obligations": (
        ("noticeflow.cli_rules",),
        "Which obligations a cybersecurity event creates, per jurisdiction, with due instants and citations.",
    ),
    "demo": (
        ("noticeflow.cli_temporal",),
        "The main job: the embedded stack runs a sample event through its notices; ledger verified and exported.",
    ),
    "ledger": (("noticeflow.cli_ledger",), "The signed, hash-chained audit ledger."),
    "db": (("noticeflow.cli_db",), "The database schema: migrations (Alembic)."),
    "incident": (
        ("noticeflow.cli_incident",),
        "Drive a cybersecurity event through the incident API (start, findings, determination, notices, closure).",
    ),
    "privacy": (
        ("noticeflow.cli_rules", "noticeflow.cli_privacy"),
        "Privacy notices: disclosure gate, revised-notice check, notice content.",
    ),
    "rules": (("noticeflow.cli_rules",), "The rule registry and its traceability matrix."),
    "temporal": (("noticeflow.cli_temporal",), "Temporal cluster setup and payload encryption keys."),
    "dev": (("noticeflow.cli_temporal",), "The embedded development stack (Temporal dev server, UI, codec server)."),
    "apikey": (
        ("noticeflow.cli_apikey",),
        "Named API keys of the incident API (create, list, revoke) and who may do what.",
    ),
    "contacts": (
        ("noticeflow.cli_contacts",),
        "Consumers' contact data at rest: legal holds, the retention sweep (crypto-shredding), the key-encryption key.",
    ),
}


@cache
def real_command(name: str) -> click.Command:
    """The command ``name`` as its module(s) define it, loading them now."""
    modules, _ = COMMANDS[name]
    root = typer.Typer()
    for module_name in modules:
        register: Callable[[typer.Typer], None] = import_module(module_name).register
        register(root)
    group = typer.main.get_group(root)
    command = group.get_command(click.Context(group), name)
    if command is None:
        raise LookupError(f"{', '.join(modules)} registered no command {name!r}")
    return command


class _LazyCommand(click.Command):
    """Stands for a top-level command in the listing; the first use of it loads the real one."""

    def __init__(self, name: str, help_text: str) -> None:
        super().__init__(name=name, help=help_text)

    def make_context(self, info_name: str | None, args: list[str], parent: click.Context | None = None, **extra: Any) -> click.Context:
        assert self.name is not None
        return real_command(self.name).make_context(info_name, args, parent=parent, **extra)

    def invoke(self, ctx: click.Context) -> Any:
        assert self.name is not None
        return real_command(self.name).invoke(ctx)


class _LazyGroup(TyperGroup):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return [*COMMANDS, *(n for n in super().list_commands(ctx) if n not in COMMANDS)]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in COMMANDS:
            return _LazyCommand(cmd_name, COMMANDS[cmd_name][1])
        return super().get_command(ctx, cmd_name)


app = typer.Typer(
    name="noticeflow",
    cls=_LazyGroup,
    help="Regulatory notice lifecycles with a signed, hash-chained audit ledger.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root() -> None:
    from noticeflow.logging import configure_logging
    from noticeflow.settings import get_settings

    settings = get_settings()
    configure_logging(settings.log_level, settings.log_json)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
