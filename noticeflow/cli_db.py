"""``noticeflow db …`` — the database schema: upgrade to the newest migration, show where it stands,
write the next migration.

The database URL comes from settings (``NOTICEFLOW_DB_URL``; SQLite under the home when empty);
``--db`` overrides it. See docs/operations.md.
"""

from __future__ import annotations

from typing import Annotated, NoReturn

import typer
from sqlalchemy.engine import make_url

from ledger.errors import LedgerError
from noticeflow.settings import get_settings

app = typer.Typer(help="The database schema: migrations (Alembic).", no_args_is_help=True)

DbOption = Annotated[str | None, typer.Option("--db", help="Database URL (default: settings).")]


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="db")


def _fail(message: str, code: int = 2) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def _url(db: str | None) -> str:
    return db or get_settings().resolved_db_url()


def _shown(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 — an unparsable URL is reported by the operation itself
        return "<database URL>"


@app.command()
def upgrade(db: DbOption = None) -> None:
    """Bring the database to the newest migration; adopt one made before migrations."""
    from ledger import migrate

    url = _url(db)
    try:
        result = migrate.upgrade(url)
    except LedgerError as exc:
        _fail(f"{_shown(url)}: {exc}")
    except Exception as exc:  # noqa: BLE001 — unreachable server, bad URL: say which database
        _fail(f"{_shown(url)}: {type(exc).__name__}: {exc}")
    typer.echo(f"{_shown(url)}: {result.describe()}")


@app.command()
def current(
    db: DbOption = None,
    check: Annotated[bool, typer.Option("--check", help="Exit 1 unless the database is at the newest migration.")] = False,
) -> None:
    """Show the database's migration revision and the newest one this code has."""
    from ledger import migrate

    url = _url(db)
    try:
        state = migrate.status(url)
    except LedgerError as exc:
        _fail(f"{_shown(url)}: {exc}")
    except Exception as exc:  # noqa: BLE001
        _fail(f"{_shown(url)}: {type(exc).__name__}: {exc}")
    typer.echo(f"{_shown(url)}: {state.describe()}")
    if check and not state.up_to_date:
        raise typer.Exit(1)


@app.command()
def revision(
    message: Annotated[str, typer.Option("-m", "--message", help="What the migration changes, e.g. 'api idempotency keys'.")],
    autogenerate: Annotated[
        bool,
        typer.Option("--autogenerate", help="Fill in the operations that turn a database at head into the code's schema."),
    ] = False,
    db: Annotated[
        str | None,
        typer.Option("--db", help="Compare against this database (at head) instead of a scratch SQLite one."),
    ] = None,
) -> None:
    """Write the next migration file (review it, then add a test and commit it)."""
    from ledger import migrate

    try:
        path = migrate.new_revision(message, autogenerate=autogenerate, db_url=db)
    except LedgerError as exc:
        _fail(str(exc))
    typer.echo(str(path))
