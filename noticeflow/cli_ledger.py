"""``noticeflow ledger …`` — keys, manual evidence, tree heads, verification and exports.

Every command reads the database URL and key path from settings (``NOTICEFLOW_DB_URL``,
``NOTICEFLOW_KEY_PATH``) and takes ``--db`` / ``--key`` to override them.
"""

from __future__ import annotations

import getpass
import json
import os
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from pydantic import ValidationError

from ledger.errors import LedgerError
from ledger.export import export_bundle, load_tree_head, verify_bundle
from ledger.keys import Keyring, generate_key, load_keyring, load_signer, normalize_ts
from ledger.store import EntryFilter, Ledger
from ledger.verify import VerifyReport, verify_against_earlier_head, verify_entries
from models.ledger import EntryDraft
from noticeflow.settings import get_settings

app = typer.Typer(help="The signed, hash-chained audit ledger.", no_args_is_help=True)

DbOption = Annotated[str | None, typer.Option("--db", help="Ledger database URL (default: settings).")]
KeyOption = Annotated[
    Path | None, typer.Option("--key", help="Key directory or private-key PEM (default: settings).")
]


def _fail(message: str, code: int = 2) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def _print_json(obj: Any) -> None:
    typer.echo(json.dumps(obj, indent=2, ensure_ascii=False))


def _db_url(db: str | None) -> str:
    return db or get_settings().resolved_db_url()


def _key_path(key: Path | None) -> Path:
    return key or get_settings().resolved_key_path()


def _open(db: str | None, key: Path | None, *, signing: bool) -> Ledger:
    try:
        signer = load_signer(_key_path(key), get_settings().key_passphrase) if signing else None
        return Ledger.open(_db_url(db), signer)
    except LedgerError as exc:
        _fail(str(exc))


def _validation_message(exc: ValidationError, prefix: str = "") -> str:
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or "input"
        parts.append(f"{prefix}{where}: {err['msg']}")
    return "; ".join(parts)


def _ts_option(name: str, value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return normalize_ts(value)
    except ValueError:
        _fail(f"{name}: {value!r} is not an RFC 3339 timestamp with offset, e.g. 2026-11-21T09:00:00Z")


@app.command()
def keygen(
    out: Annotated[Path, typer.Option("--out", help="Key directory (created; an existing one is rotated).")],
    encrypt: Annotated[
        bool, typer.Option("--encrypt", help="Encrypt the private key with a passphrase (prompted, or NOTICEFLOW_KEY_PASSPHRASE).")
    ] = False,
) -> None:
    """Write a new Ed25519 signing key (mode 0600) and make it the active key.

    In an existing key directory this is a rotation: the previous key is retired from now on and
    stays in keyring.json so that what it signed still verifies.
    """
    passphrase = None
    if encrypt:
        passphrase = get_settings().key_passphrase or os.environ.get("NOTICEFLOW_KEY_PASSPHRASE")
        if not passphrase:
            passphrase = getpass.getpass("Passphrase for the new key: ")
            if passphrase != getpass.getpass("Repeat the passphrase: "):
                _fail("the passphrases differ; no key was written")
        if not passphrase:
            _fail("--encrypt needs a non-empty passphrase")
    try:
        signer = generate_key(out, passphrase)
    except (LedgerError, OSError) as exc:
        _fail(str(exc))
    ring = Keyring.load(out / "keyring.json")
    _print_json(
        {
            "key_id": signer.key_id,
            "directory": str(out),
            "private_key": str(out / f"{signer.key_id.replace(':', '-')}.pem"),
            "encrypted": passphrase is not None,
            "keys": ring.public_keys_json(),
        }
    )


@app.command()
def append(
    stream: Annotated[str, typer.Option(help="Stream, e.g. incident:INC-7.")],
    type_: Annotated[str, typer.Option("--type", help="Entry type, e.g. commissioner_notice.call_logged.")],
    step: Annotated[str, typer.Option(help="Idempotency key: the same step twice is recorded once.")],
    data: Annotated[str, typer.Option(help="JSON object: digests, counts and facts — no raw NPI.")] = "{}",
    jurisdiction: Annotated[str | None, typer.Option(help="State code, e.g. TN.")] = None,
    citation: Annotated[str | None, typer.Option(help="The rule, e.g. 'Tenn. Code Ann. § 56-2-1006(a)'.")] = None,
    actor: Annotated[str | None, typer.Option(help="Who took the step (default: user:<login>).")] = None,
    db: DbOption = None,
    key: KeyOption = None,
) -> None:
    """Record manual evidence — a call with the commissioner, a letter mailed by hand."""
    try:
        payload = json.loads(data)
    except json.JSONDecodeError as exc:
        _fail(f"--data: not valid JSON ({exc.msg} at column {exc.colno})")
    if not isinstance(payload, dict):
        _fail("--data: must be a JSON object, e.g. '{\"letters\": 12}'")
    try:
        draft = EntryDraft(
            stream=stream,
            type=type_,
            step=step,
            jurisdiction=jurisdiction,
            citation=citation,
            actor=actor or f"user:{getpass.getuser()}",
            data=payload,
        )
    except ValidationError as exc:
        _fail(_validation_message(exc, "--"))
    ledger = _open(db, key, signing=True)
    try:
        entry = ledger.append(draft)
    except (LedgerError, ValueError) as exc:
        _fail(str(exc), 1)
    finally:
        ledger.close()
    _print_json(entry.model_dump())


@app.command()
def head(db: DbOption = None, key: KeyOption = None) -> None:
    """Sign and print the current tree head; it is also kept in the database, so a later
    truncation or rewrite of what it covers is detected."""
    ledger = _open(db, key, signing=True)
    try:
        _print_json(ledger.sign_tree_head().model_dump())
    finally:
        ledger.close()


def _report(report: VerifyReport, as_json: bool) -> None:
    if as_json:
        _print_json(report.to_json())
    elif report.ok:
        typer.echo(
            f"OK: {report.entries_checked} entries verified; tree size {report.tree_size}, "
            f"root {report.root_hash}; {report.heads_checked} signed tree head(s) hold"
        )
        for note in report.notes:
            typer.echo(f"note: {note}")
    else:
        typer.echo(f"FAIL: {report.problem}", err=True)
    if not report.ok:
        raise typer.Exit(1)


@app.command()
def verify(
    bundle: Annotated[Path | None, typer.Argument(help="An export bundle; the configured database when omitted.")] = None,
    against: Annotated[
        Path | None, typer.Option(help="A tree_head.json kept from earlier: the ledger must extend it.")
    ] = None,
    keys: Annotated[
        Path | None, typer.Option(help="Trusted public keys (keys.json or keyring.json) instead of the bundle's own.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    db: DbOption = None,
    key: KeyOption = None,
) -> None:
    """Check every hash, link, signature and signed tree head; name the first bad seq."""
    try:
        earlier = load_tree_head(against) if against else None
        trusted = Keyring.load(keys) if keys else None
        if bundle is not None:
            report = verify_bundle(bundle, trusted_keys=trusted, earlier_head=earlier)
        else:
            keyring = trusted or load_keyring(_key_path(key))
            ledger = _open(db, None, signing=False)
            try:
                report = verify_entries(ledger.iter_raw(), keyring, ledger.stored_heads())
                if report.ok and earlier is not None:
                    problem = verify_against_earlier_head(earlier, keyring, ledger.leaf_hashes())
                    if problem:
                        report.problem = problem
                    else:
                        report.heads_checked += 1
            finally:
                ledger.close()
    except LedgerError as exc:
        _fail(str(exc))
    _report(report, as_json)


@app.command()
def export(
    out: Annotated[Path, typer.Option("--out", help="New directory for the bundle.")],
    stream: Annotated[str | None, typer.Option(help="Only this stream, e.g. incident:INC-7.")] = None,
    jurisdiction: Annotated[str | None, typer.Option(help="Only entries of this jurisdiction.")] = None,
    since: Annotated[str | None, typer.Option(help="Entries at or after this RFC 3339 time.")] = None,
    until: Annotated[str | None, typer.Option(help="Entries before this RFC 3339 time.")] = None,
    db: DbOption = None,
    key: KeyOption = None,
) -> None:
    """Write a self-contained examination bundle that verifies offline."""
    where = EntryFilter(stream, jurisdiction, _ts_option("--since", since), _ts_option("--until", until))
    ledger = _open(db, key, signing=True)
    try:
        keyring = load_keyring(_key_path(key))
        result = export_bundle(ledger, out, keyring, where)
    except LedgerError as exc:
        _fail(str(exc))
    finally:
        ledger.close()
    _print_json(
        {
            "bundle": str(result.path),
            "entries": result.entries,
            "complete": result.complete,
            "tree_head": result.tree_head.model_dump(),
        }
    )
