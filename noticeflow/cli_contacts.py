"""``noticeflow contacts …``: consumers' contact data at rest — legal holds, the retention sweep, keys.

    noticeflow contacts hold set INC-2025-0417 --matter "Doe v. Cumberland, No. 3:26-cv-0101"
    noticeflow contacts hold lift INC-2025-0417 --matter "Doe v. Cumberland, No. 3:26-cv-0101"
    noticeflow contacts hold list [INCIDENT]
    noticeflow contacts shred-expired          # daily, from the deployment's scheduler
    noticeflow contacts status INC-2025-0417
    noticeflow contacts rotate-kek             # new key-encryption key; live data keys rewrapped
    noticeflow contacts rewrap                 # rewrap under the current KEK (it was set in the environment)

Holds and destructions are ledgered (stream ``admin:retention``) in the name of the operating-system
user who ran the command (``user:<login>``) — the sweep as ``worker:retention-sweep`` — so the
ledger's signing key must be at hand (``NOTICEFLOW_KEY_PATH``), as must the contact KEK
(``NOTICEFLOW_CONTACT_KEK`` / ``_FILE``). Nothing printed here is key material: key ids only.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, NoReturn

import typer
from sqlalchemy.exc import SQLAlchemyError

from activities import db
from activities.contact_retention import (
    ContactRetention,
    RetentionError,
    incident_scope,
)
from activities.contact_store import (
    ContactStore,
    ContactStoreError,
    load_kek_ring,
    rotate_kek_file,
)
from ledger.errors import LedgerError
from ledger.keys import load_signer
from ledger.store import Ledger
from noticeflow.cli_apikey import operator_actor
from noticeflow.settings import get_settings

contacts_app = typer.Typer(
    help="Consumers' contact data at rest: legal holds, the retention sweep (crypto-shredding), the key-encryption key.",
    no_args_is_help=True,
)
hold_app = typer.Typer(help="Legal holds: while one is on, the event's contact data is not destroyed.", no_args_is_help=True)
contacts_app.add_typer(hold_app, name="hold")

IncidentArg = Annotated[str, typer.Argument(help="The incident id, e.g. INC-2025-0417.")]
MatterOption = Annotated[str, typer.Option("--matter", help="The matter's reference (docket, claim or counsel's file number).")]


def register(app: typer.Typer) -> None:
    app.add_typer(contacts_app, name="contacts")


def _fail(message: str, code: int = 2) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


@contextmanager
def _retention(*, signing: bool = True) -> Iterator[ContactRetention]:
    settings = get_settings()
    url = settings.resolved_db_url()
    try:
        engine = db.open_engine(url)
        contacts = ContactStore(engine, load_kek_ring(settings))
        signer = load_signer(settings.resolved_key_path(), settings.key_passphrase) if signing else None
        ledger = Ledger.open(url, signer)
        retention = ContactRetention(contacts, ledger)
    except (LedgerError, ContactStoreError, SQLAlchemyError, OSError, ValueError) as exc:
        _fail(f"the contact store in {url} cannot be opened: {exc}")
    try:
        yield retention
    except (RetentionError, ContactStoreError, LedgerError) as exc:
        _fail(str(exc))
    finally:
        ledger.close()
        engine.dispose()


@hold_app.command("set")
def hold_set(incident_id: IncidentArg, matter: MatterOption) -> None:
    """Put the event's contact data on legal hold: it is not destroyed while the hold is on."""
    with _retention() as retention:
        hold = retention.set_hold(incident_id, matter, by=operator_actor())
    typer.echo(f"legal hold {hold.hold_id} on {incident_id} for {hold.matter!r} set by {hold.set_by}; ledgered on admin:retention")


@hold_app.command("lift")
def hold_lift(incident_id: IncidentArg, matter: MatterOption) -> None:
    """Lift a legal hold; once none is left and the retention has ended, the next sweep destroys."""
    with _retention() as retention:
        hold = retention.lift_hold(incident_id, matter, by=operator_actor())
        left = retention.holds(incident_id)
    typer.echo(f"legal hold {hold.hold_id} on {incident_id} for {hold.matter!r} lifted by {hold.lifted_by}; ledgered on admin:retention")
    if left:
        typer.echo(f"still on hold for: {', '.join(h.matter for h in left)}")


@hold_app.command("list")
def hold_list(incident_id: Annotated[str | None, typer.Argument(help="Only this incident.")] = None) -> None:
    """The legal holds in force."""
    with _retention(signing=False) as retention:
        holds = retention.holds(incident_id)
    for h in holds:
        typer.echo(f"{h.incident_id}  {h.hold_id}  {h.matter}  set {h.set_at[:19]} by {h.set_by}")
    if not holds:
        typer.echo("no legal hold in force")


@contacts_app.command("shred-expired")
def shred_expired() -> None:
    """Destroy the data key of every closed event whose retention has ended and that no legal hold
    keeps (crypto-shredding); ledgered. Safe to run at any time — run it daily."""
    with _retention() as retention:
        result = retention.sweep()
    for line in result.lines():
        typer.echo(line)


@contacts_app.command("status")
def status(incident_id: IncidentArg) -> None:
    """The event's data keys (ids, never material), its retention and its legal holds."""
    with _retention(signing=False) as retention:
        keys = retention.contacts.key_info(incident_scope(incident_id))
        closure = retention.closure(incident_id)
        holds = retention.holds(incident_id)
    if closure is None:
        typer.echo(f"{incident_id}: not closed (no retention date yet)")
    else:
        typer.echo(f"{incident_id}: closed; retained until {closure.retain_until.isoformat()} ({closure.citation})")
    for k in keys:
        state = (
            f"destroyed {k.destroyed_at[:19] if k.destroyed_at else ''} under {k.destroyed_under}" if k.destroyed else "live"
        )
        typer.echo(f"data key {k.key_id} (wrapped by {k.kek_id}, created {k.created_at[:19]}): {state}")
    if not keys:
        typer.echo("no contact data stored")
    for h in holds:
        typer.echo(f"legal hold {h.hold_id}: {h.matter} (set {h.set_at[:19]} by {h.set_by})")


@contacts_app.command("rotate-kek")
def rotate_kek() -> None:
    """Put a new key-encryption key first in the KEK file and rewrap every live data key under it.
    Remove an old KEK only once no data key uses it and the backups made under it have expired:
    then the copies of destroyed data keys those backups hold are useless too."""
    settings = get_settings()
    try:
        ring = rotate_kek_file(settings)
    except (ContactStoreError, OSError) as exc:
        _fail(str(exc))
    _rewrap(ring.current_id)


@contacts_app.command("rewrap")
def rewrap() -> None:
    """Rewrap every live data key under the current KEK (after it was put first in NOTICEFLOW_CONTACT_KEK)."""
    try:
        current = load_kek_ring(get_settings()).current_id
    except (ContactStoreError, OSError) as exc:
        _fail(str(exc))
    _rewrap(current)


def _rewrap(current: str) -> None:
    with _retention(signing=False) as retention:
        count = retention.contacts.rewrap()
        in_use = retention.contacts.kek_ids_in_use()
    typer.echo(f"{count} data keys rewrapped under {current}")
    for kek_id in retention.contacts.kek.ids:
        typer.echo(f"{kek_id}  {'wraps new keys' if kek_id == current else 'unwrap only'}  live data keys: {in_use.get(kek_id, 0)}")
