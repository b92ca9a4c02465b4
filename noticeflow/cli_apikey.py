"""``noticeflow apikey …``: named API keys for the incident API, and the role table.

    noticeflow apikey create --name c.hale --role intake --role responder --expires P90D
    noticeflow apikey list
    noticeflow apikey revoke c.hale            # or the key id
    noticeflow apikey roles [--write docs/api.md | --check docs/api.md]

``create`` prints the token once, alone on the last line of its output (``| tail -1`` takes it).
Keys live in the database the settings name (``NOTICEFLOW_DB_URL``); creating and revoking one is
ledgered in the name of the operating-system user who ran the command (``user:<login>``), so the
ledger's signing key must be at hand (``NOTICEFLOW_KEY_PATH``).
"""

from __future__ import annotations

import getpass
import json
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from sqlalchemy.exc import SQLAlchemyError

from activities import db
from api.access import Role, parse_roles, role_table_markdown, with_role_table
from api.apikeys import (
    ApiKeyError,
    ApiKeyStore,
    create_api_key,
    load_pepper,
    parse_expiry,
    revoke_api_keys,
)
from ledger.errors import LedgerError
from ledger.keys import load_signer
from ledger.store import Ledger
from noticeflow.settings import get_settings

apikey_app = typer.Typer(help="Named API keys of the incident API (create, list, revoke) and who may do what.",
                         no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(apikey_app, name="apikey")


def _fail(message: str, code: int = 1) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def operator_actor() -> str:
    """The person at the terminal, as the ledger names them: ``user:<login>``."""
    try:
        login = getpass.getuser()
    except (KeyError, OSError):
        login = f"uid-{os.getuid()}"
    return f"user:{login}"


@contextmanager
def _stores(*, signing: bool) -> Iterator[tuple[ApiKeyStore, Ledger | None]]:
    settings = get_settings()
    url = settings.resolved_db_url()
    ledger: Ledger | None = None
    try:
        engine = db.open_engine(url)
        store = ApiKeyStore(engine, load_pepper(settings))
        if signing:
            ledger = Ledger.open(url, load_signer(settings.resolved_key_path(), settings.key_passphrase))
    except (LedgerError, SQLAlchemyError, OSError, ValueError) as exc:
        _fail(f"the API keys in {url} cannot be opened: {exc}")
    try:
        yield store, ledger
    finally:
        if ledger is not None:
            ledger.close()
        engine.dispose()


@apikey_app.command()
def create(
    name: Annotated[str, typer.Option("--name", help="The principal, e.g. c.hale: the ledger names its steps key:<name>.")],
    role: Annotated[list[str], typer.Option("--role", help=f"A role (repeatable): {', '.join(r.value for r in Role)}.")],
    expires: Annotated[str | None, typer.Option("--expires", help="Lifetime, an ISO 8601 duration such as P90D.")] = None,
    replace: Annotated[bool, typer.Option("--replace", help="Revoke the name's active key in the same step (rotation).")] = False,
) -> None:
    """Create a key; its token is printed once, alone on the last line."""
    try:
        roles = parse_roles(role)
        lifetime = parse_expiry(expires) if expires is not None else None
    except ValueError as exc:
        _fail(str(exc), 2)
    with _stores(signing=True) as (store, ledger):
        assert ledger is not None
        try:
            key, token = create_api_key(
                store, ledger, name=name, roles=roles, actor=operator_actor(), expires_in=lifetime, replace=replace
            )
        except ApiKeyError as exc:
            _fail(str(exc), 2 if type(exc) is ApiKeyError else 1)
        except (LedgerError, SQLAlchemyError) as exc:
            _fail(f"the key could not be created (nothing was stored): {exc}")
    expiry = key.expires_at.isoformat() if key.expires_at else "never"
    typer.echo(f"API key {key.key_id} created for {key.principal.actor}: roles {', '.join(key.role_names())}; "
               f"expires {expiry}; ledgered on admin:access")
    typer.echo("Keep the token now; it is not stored and is shown only this once. Send it as 'Authorization: Bearer <token>'.")
    typer.echo(token)


@apikey_app.command("list")
def list_keys(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON array.")] = False,
) -> None:
    """Every key: id, name, roles, status, expiry — never a token."""
    with _stores(signing=False) as (store, _):
        try:
            keys = store.all_keys()
        except SQLAlchemyError as exc:
            _fail(f"the API keys cannot be read: {exc}")
    now = datetime.now(UTC)
    rows = [k.describe(now) for k in keys]
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        typer.echo("no API keys (noticeflow apikey create --name NAME --role ROLE)")
        return
    for r in rows:
        expiry = r["expires_at"] or "no expiry"
        typer.echo(f"{r['key_id']}  {r['name']:<24} {r['status']:<8} {','.join(r['roles']):<32} expires {expiry}  "  # type: ignore[arg-type]
                   f"created {r['created_at']} by {r['created_by']}")


@apikey_app.command()
def revoke(
    name_or_id: Annotated[str, typer.Argument(metavar="NAME|ID", help="The key's name or id.")],
) -> None:
    """Revoke a key: it authenticates nobody from now on (401)."""
    with _stores(signing=True) as (store, ledger):
        assert ledger is not None
        try:
            revoked = revoke_api_keys(store, ledger, name_or_id, actor=operator_actor())
        except ApiKeyError as exc:
            _fail(str(exc))
        except (LedgerError, SQLAlchemyError) as exc:
            _fail(f"the key could not be revoked: {exc}")
    for key in revoked:
        typer.echo(f"API key {key.key_id} ({key.principal.actor}) revoked; ledgered on admin:access")


@apikey_app.command()
def roles(
    write: Annotated[Path | None, typer.Option("--write", help="Regenerate the role table in this document.")] = None,
    check: Annotated[Path | None, typer.Option("--check", help="Exit 1 if this document's role table is not the code's.")] = None,
) -> None:
    """The route → roles table of the API (api/access.py), as docs/api.md shows it."""
    target = write or check
    if target is None:
        typer.echo(role_table_markdown(), nl=False)
        return
    text = target.read_text(encoding="utf-8")
    try:
        fresh = with_role_table(text)
    except ValueError as exc:
        _fail(f"{target}: {exc}", 2)
    if write is not None:
        if fresh != text:
            target.write_text(fresh, encoding="utf-8")
        typer.echo(f"{target}: role table {'updated' if fresh != text else 'already current'}")
    elif fresh != text:
        _fail(f"{target}: the role table differs from api/access.py; run `noticeflow apikey roles --write {target}`")


#: The roles a developer's own key gets on the dev stack: every role that works cases.
DEV_ROLES = (Role.INTAKE, Role.RESPONDER, Role.COUNSEL, Role.PRIVACY, Role.EXAMINER)


def dev_key_hint(home: Path, api_url: str) -> list[str]:
    """What ``noticeflow dev up`` prints: where the API is, and the exact command that makes a key
    for it (there is no anonymous caller, on the dev stack either)."""
    from noticeflow.settings import DEFAULT_HOME

    login = operator_actor().partition(":")[2]
    name = login if re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}", login) else "developer"
    env = "" if home.resolve() == DEFAULT_HOME.resolve() else f"NOTICEFLOW_HOME={home} "
    roles = " ".join(f"--role {r.value}" for r in DEV_ROLES)
    return [
        f"API:           {api_url}/v1 (OpenAPI 3.1: {api_url}/v1/openapi.json); every call needs a key:",
        f"  {env}noticeflow apikey create --name {name} {roles} --expires P30D --replace",
        "  prints the token on its last line: export NOTICEFLOW_API_TOKEN=<it> for `noticeflow incident …`,",
        "  or send 'Authorization: Bearer <it>'",
        f"Dashboard:     {api_url}/v1/dashboard (sign in once with that key; the browser keeps a session)",
    ]
