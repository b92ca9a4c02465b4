"""``noticeflow ledger key …`` — the key statement a licensee files with its regulator, and its check.

Mounted under ``noticeflow ledger`` by noticeflow/cli_ledger.py (``app.add_typer(key_app, name="key")``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

from ledger.errors import LedgerError
from ledger.key_statement import KeyStatementError, build_key_statement, verify_key_statement
from ledger.keys import load_keyring
from noticeflow.settings import get_settings

key_app = typer.Typer(
    help="Key provenance: the key statement filed with regulators, and its verification.",
    no_args_is_help=True,
)


def _fail(message: str, code: int = 2) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def _key_lines(statement: dict[str, Any]) -> list[str]:
    lines = []
    for key in statement["keys"]:
        window = f"{key['valid_from']} – {key['valid_until'] or 'in use'}"
        lines.append(f"{key['key_id']}  {key['fingerprint']}  {window}")
    signed = ", ".join(s["key_id"] for s in statement["signatures"])
    lines.append(f"signed by {signed}")
    return lines


@key_app.command("statement")
def statement(
    out: Annotated[
        Path | None, typer.Option("--out", help="Write the statement here (default: stdout).")
    ] = None,
    licensee: Annotated[
        str | None,
        typer.Option("--licensee", help="The licensee's name (default: NOTICEFLOW_LICENSEE_NAME)."),
    ] = None,
    origin: Annotated[
        str | None, typer.Option("--origin", help="Checkpoint origin (default: NOTICEFLOW_LEDGER_ORIGIN).")
    ] = None,
    key: Annotated[
        Path | None,
        typer.Option(
            "--key", help="Key directory written by `noticeflow ledger keygen` (default: settings)."
        ),
    ] = None,
) -> None:
    """Write the key statement: every key id, public key, fingerprint and validity window, signed by
    the current key and, after a rotation, by the key it replaced. File it with each regulator once
    and again after every rotation."""
    settings = get_settings()
    name = licensee or settings.licensee_name
    if not name:
        _fail(
            "--licensee: required (or set NOTICEFLOW_LICENSEE_NAME) — the name the statement is filed under"
        )
    key_dir = key or settings.resolved_key_path()
    if not key_dir.is_dir():
        _fail(f"--key: {key_dir} is not a key directory; the statement lists every key of its keyring.json")
    try:
        made = build_key_statement(
            load_keyring(key_dir),
            key_dir,
            licensee=name,
            origin=origin or settings.ledger_origin,
            passphrase=settings.key_passphrase,
        )
    except LedgerError as exc:
        _fail(str(exc))
    text = json.dumps(made, indent=2, ensure_ascii=False) + "\n"
    if out is None:
        typer.echo(text, nl=False)
        for line in _key_lines(made):
            typer.echo(line, err=True)
        return
    try:
        out.write_text(text, "utf-8")
    except OSError as exc:
        _fail(f"--out: cannot write {out} ({exc.strerror})")
    typer.echo(f"key statement of {made['licensee']} written to {out}")
    for line in _key_lines(made):
        typer.echo(line)


def _read(path: Path, option: str) -> Any:
    try:
        return json.loads(path.read_text("utf-8"))
    except OSError as exc:
        _fail(f"{option}: cannot read {path} ({exc.strerror})")
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        _fail(f"{option}: {path} is not a JSON key statement ({exc})")


@key_app.command("verify-statement")
def verify_statement(
    file: Annotated[Path, typer.Argument(help="A key statement (JSON).")],
    earlier: Annotated[
        Path | None,
        typer.Option(
            "--earlier", help="A statement filed before: this one must extend it and be signed by its key."
        ),
    ] = None,
) -> None:
    """Check a key statement's signatures (newest key, and the previous key after a rotation) and
    that each key's fingerprint and verifier key match its public key. Exit 0 OK, 1 FAILED, 2 unreadable."""
    statement_json = _read(file, "FILE")
    earlier_json = _read(earlier, "--earlier") if earlier is not None else None
    try:
        keyring = verify_key_statement(statement_json, earlier=earlier_json)
    except KeyStatementError as exc:
        typer.echo(f"FAILED: {file}: {exc}")
        raise typer.Exit(1) from None
    extends = f"; extends {earlier}" if earlier is not None else ""
    typer.echo(
        f"OK: key statement of {statement_json['licensee']} (origin {statement_json['origin']}, issued "
        f"{statement_json['issued_at']}): {len(keyring.keys)} key(s), current {keyring.active}{extends}"
    )
    for line in _key_lines(statement_json):
        typer.echo(line)
