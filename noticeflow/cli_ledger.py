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

from ledger.bundle import export_bundle
from ledger.bundle_files import BUNDLE_FORMAT_1
from ledger.bundle_verify import (
    BundleReport,
    load_key_statement,
    load_tree_head,
    read_checkpoints,
    verify_bundle,
)
from ledger.checkpoint import CheckpointError, verify_checkpoint
from ledger.errors import LedgerError
from ledger.keys import Keyring, generate_key, load_keyring, load_signer, normalize_ts
from ledger.merkle import MerkleTree
from ledger.store import EntryFilter, Ledger
from ledger.verify import (
    Problem,
    VerifyReport,
    verify_against_earlier_head,
    verify_entries,
)
from models.ledger import EntryDraft
from noticeflow.bundle_options import bundle_export_options
from noticeflow.cli_ledger_keys import key_app
from noticeflow.settings import get_settings
from noticeflow.verifier_tool import verifier_command
from reports.pdf import ReportPrintError

app = typer.Typer(help="The signed, hash-chained audit ledger.", no_args_is_help=True)
app.add_typer(key_app, name="key")
app.command("verifier")(verifier_command)

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


def _bundle_report(report: BundleReport, as_json: bool) -> None:
    """``OK …`` or ``FAILED: <what>`` on the first line (docs/ledger-format.md §8); exit 1 on failure."""
    if as_json:
        _print_json(report.to_json())
    elif report.ok:
        proven = (report.completeness or {}).get("proven")
        parts = [f"{report.entries_checked} entries verified"]
        if report.boundaries_checked:
            parts.append(f"{report.boundaries_checked} boundary entries")
        parts.append(f"tree size {report.tree_size}, root {report.root_hash}")
        if proven:
            parts.append(f"complete: {'the whole ledger' if proven == 'ledger' else proven}")
        parts.append(f"{report.heads_checked} signed head(s) hold")
        if report.format != BUNDLE_FORMAT_1:
            parts.append(f"{report.files_checked} files match the signed manifest")
            parts.append(f"{report.consistency_checked} consistency proof(s)")
            parts.append(f"{report.checkpoints_checked} known checkpoint(s) extended")
        parts.append(f"trust: {report.trust}")
        typer.echo("OK: " + "; ".join(parts))
        if (report.completeness or {}).get("statement"):
            typer.echo(f"completeness: {report.completeness['statement']}")
        for note in report.notes:
            typer.echo(f"note: {note}")
    else:
        typer.echo(f"FAILED: {report.problem}")
    if not report.ok:
        raise typer.Exit(1)


def _check_ledger_extends(ledger: Ledger, keyring: Keyring, checkpoints: list[Path], origin: str | None) -> Problem | None:
    """The database's ledger must extend each known checkpoint (its root at that size)."""
    if not checkpoints:
        return None
    tree = MerkleTree(list(ledger.leaf_hashes()))
    for name, text in read_checkpoints(checkpoints):
        try:
            known = verify_checkpoint(text, keyring, origin)
        except CheckpointError as exc:
            return Problem(None, f"{name}: the checkpoint does not verify under the trusted keys: {exc}")
        if known.tree_size > tree.size:
            why = f"it holds only {tree.size} entries — the ledger was truncated"
        elif known.tree_size > 0 and tree.root(known.tree_size).hex() != known.root_hash:
            why = "a fork or rewrite"
        else:
            continue
        return Problem(None, f"{name}: the ledger does not extend checkpoint {known.tree_size} ({known.root_hash[:16]}…) — {why}")
    return None


@app.command()
def verify(
    bundle: Annotated[Path | None, typer.Argument(help="An export bundle; the configured database when omitted.")] = None,
    trusted_keys: Annotated[
        Path | None,
        typer.Option(
            "--trusted-keys",
            help="The licensee's key statement (noticeflow-key-statement/1) you hold: the trust anchor.",
        ),
    ] = None,
    keys: Annotated[
        Path | None,
        typer.Option(help="Trusted public keys as a keyring (keys.json or keyring.json) instead of a key statement."),
    ] = None,
    known_checkpoint: Annotated[
        list[Path] | None,
        typer.Option(
            "--known-checkpoint",
            help="A ledger checkpoint you already hold (from a filing); the ledger must extend it. Repeatable.",
        ),
    ] = None,
    against: Annotated[
        Path | None, typer.Option(help="A tree_head.json kept from earlier: the ledger must extend it.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    db: DbOption = None,
    key: KeyOption = None,
) -> None:
    """Check every hash, link, signature, signed head and proof; name the first bad file, seq or checkpoint.

    Exit 0: verified; 1: verification failed; 2: usage error or unreadable input.
    """
    if trusted_keys is not None and keys is not None:
        _fail("give either --trusted-keys (a key statement) or --keys (a keyring), not both")
    checkpoints = list(known_checkpoint or [])
    try:
        earlier = load_tree_head(against) if against else None
        if bundle is not None:
            report = verify_bundle(
                bundle,
                trusted_keys=Keyring.load(keys) if keys else None,
                key_statement=trusted_keys,
                known_checkpoints=checkpoints,
                earlier_head=earlier,
            )
            _bundle_report(report, as_json)
            return
        origin = None
        if trusted_keys is not None:
            keyring, origin = load_key_statement(trusted_keys)
        else:
            keyring = Keyring.load(keys) if keys else load_keyring(_key_path(key))
        ledger = _open(db, None, signing=False)
        try:
            report = verify_entries(ledger.iter_raw(), keyring, ledger.stored_heads())
            if report.ok and earlier is not None:
                problem = verify_against_earlier_head(earlier, keyring, ledger.leaf_hashes())
                if problem:
                    report.problem = problem
                else:
                    report.heads_checked += 1
            if report.ok:
                report.problem = _check_ledger_extends(ledger, keyring, checkpoints, origin)
        finally:
            ledger.close()
    except LedgerError as exc:
        _fail(str(exc))
    _report(report, as_json)


@app.command()
def export(
    out: Annotated[Path, typer.Option("--out", help="New directory for the bundle.")],
    stream: Annotated[str | None, typer.Option(help="Only this stream, e.g. incident:INC-7, with its signed stream head.")] = None,
    jurisdiction: Annotated[
        str | None, typer.Option(help="Every stream with an entry of this jurisdiction, each whole (or its time slice).")
    ] = None,
    since: Annotated[str | None, typer.Option(help="Entries at or after this RFC 3339 time.")] = None,
    until: Annotated[str | None, typer.Option(help="Entries before this RFC 3339 time.")] = None,
    pdf: Annotated[bool, typer.Option("--pdf", help="Also print the report to report.pdf (headless Chromium).")] = False,
    db: DbOption = None,
    key: KeyOption = None,
) -> None:
    """Write an examination bundle (format 2) that an examiner verifies offline with the external verifier."""
    where = EntryFilter(stream, jurisdiction, _ts_option("--since", since), _ts_option("--until", until))
    options = bundle_export_options(get_settings(), pdf=pdf)
    ledger = _open(db, key, signing=True)
    try:
        keyring = load_keyring(_key_path(key))
        result = export_bundle(ledger, out, keyring, where, **options)
    except (LedgerError, ReportPrintError) as exc:
        _fail(str(exc))
    finally:
        ledger.close()
    for missing in result.missing_documents:
        typer.echo(
            f"warning: document {missing['sha256']} cited by seq {', '.join(map(str, missing['cited_by']))} "
            f"is not in the bundle: {missing['reason']}",
            err=True,
        )
    _print_json(
        {
            "bundle": str(result.path),
            "entries": result.entries,
            "boundaries": result.boundaries,
            "complete": result.complete,
            "completeness": result.completeness,
            "streams": result.streams,
            "documents": result.documents,
            "missing_documents": result.missing_documents,
            "tree_head": result.tree_head.model_dump(),
        }
    )


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="ledger")
