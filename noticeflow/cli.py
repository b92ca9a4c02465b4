"""The ``noticeflow`` command: the single entry point for operators and examiners.

Each domain registers its own sub-commands from its own module; this file only wires them.
"""

from __future__ import annotations

import typer

from noticeflow.logging import configure_logging
from noticeflow.settings import get_settings

app = typer.Typer(
    name="noticeflow",
    help="Regulatory notice lifecycles with a signed, hash-chained audit ledger.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root() -> None:
    settings = get_settings()
    configure_logging(settings.log_level, settings.log_json)


def _register() -> None:
    from noticeflow import cli_apikey
    from noticeflow import cli_contacts
    from noticeflow import cli_db
    from noticeflow import cli_incident
    from noticeflow import cli_ledger
    from noticeflow import cli_privacy
    from noticeflow import cli_rules
    from noticeflow import cli_temporal

    app.add_typer(cli_ledger.app, name="ledger")
    cli_db.register(app)
    cli_incident.register(app)
    cli_rules.register(app)
    cli_temporal.register(app)
    cli_privacy.register(app)
    cli_apikey.register(app)
    cli_contacts.register(app)


_register()


def main() -> None:
    app()


if __name__ == "__main__":
    main()
