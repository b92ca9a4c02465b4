"""Contact data never reaches the database in plaintext — the raw files, searched byte by byte.

Rosters (uploaded, replaced, discarded) and privacy consumers (stored, then updated) go through the
real stores; then every file of the database is searched for the consumers' names, e-mail and
street addresses: on SQLite the main file, its WAL and shared-memory index (free pages included);
on a real PostgreSQL server, after a CHECKPOINT, the whole data directory — heap files, dead
tuples, pg_wal, the server log. A plaintext control written and deleted beside them is found by
the same search, so a search that could not see such copies would fail here.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import Engine, text

from activities import db
from activities.privacy_store import PrivacyStore
from activities.roster import RosterStore
from models.content import PostalAddress
from models.notice import ConsumerContact
from models.privacy_lifecycle import PrivacyConsumer
from noticeflow.settings import Settings
from tests.activities.conftest import consumer_ref


def sqlite_files(url: str) -> list[Path]:
    path = Path(url.split("///", 1)[1])
    return [p for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")) if p.exists()]


def postgres_files(server: object) -> list[Path]:
    with psycopg.connect(server.admin_dsn, autocommit=True) as conn:  # type: ignore[attr-defined]
        conn.execute("CHECKPOINT")
    root: Path = server.root  # type: ignore[attr-defined]
    return [p for p in root.rglob("*") if p.is_file()]


@pytest.fixture
def raw_files(db_url: str, request: pytest.FixtureRequest) -> Callable[[], list[Path]]:
    """Every file that holds the database, flushed (PostgreSQL: CHECKPOINT first)."""
    if db_url.startswith("sqlite"):
        return lambda: sqlite_files(db_url)
    server = request.getfixturevalue("postgres_server")
    return lambda: postgres_files(server)


def hits(files: list[Path], needles: list[str]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    encoded = [(n, n.encode("utf-8")) for n in needles]
    for path in files:
        try:
            data = path.read_bytes()
        except OSError:  # a WAL segment recycled while we read
            continue
        for needle, raw in encoded:
            if raw in data:
                found.setdefault(needle, []).append(path.name)
    return found


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    e = db.open_engine(db_url)
    yield e
    e.dispose()


def _people(tag: str, n: int) -> list[tuple[str, str, str]]:
    """(name, e-mail, street address) of ``n`` consumers no other test uses."""
    return [(f"Quillon Vantreese {tag}{i}", f"qv{i}.{tag}@sealed-contacts.example", f"{40 + i} Wrenfield {tag} Row") for i in range(n)]


def _control(engine: Engine, marker: str) -> None:
    """Plaintext written, updated and deleted: what a table, a dead tuple, a free page and the WAL hold."""
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE IF NOT EXISTS plaintext_control (x VARCHAR)"))
        conn.execute(text("INSERT INTO plaintext_control VALUES (:x)"), {"x": f"{marker}-kept"})
        conn.execute(text("INSERT INTO plaintext_control VALUES (:x)"), {"x": f"{marker}-deleted"})
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM plaintext_control WHERE x = :x"), {"x": f"{marker}-deleted"})


def test_an_uploaded_replaced_and_discarded_roster_leaves_no_plaintext_in_the_database_files(
    engine: Engine, db_url: str, tmp_path: Path, raw_files: Callable[[], list[Path]]
) -> None:
    tag = uuid.uuid4().hex[:8]
    people = _people(tag, 6)
    settings = Settings(_env_file=None, home=tmp_path / "home", db_url=db_url)  # type: ignore[call-arg]
    rosters = RosterStore.for_settings(engine, settings)

    def roster(rows: list[tuple[str, str, str]]) -> list[ConsumerContact]:
        return [
            ConsumerContact(
                consumer_ref=consumer_ref(f"{tag}-{name}"), state="TN", name=name, email=email,
                postal_address=PostalAddress(line1=street, city="Franklin", region="TN", postal_code="37064"),
            )
            for name, email, street in rows
        ]

    rosters.store_roster(f"INC-{tag}-r1", roster(people[:4]))
    rosters.store_roster(f"INC-{tag}-r1", roster(people[2:5]))  # replaced: the first generation deleted
    rosters.store_roster(f"INC-{tag}-r2", roster(people[5:]))
    rosters.discard_roster(f"INC-{tag}-r2")  # refused by the workflow: removed
    opened = rosters.get_contacts(f"INC-{tag}-r1", [consumer_ref(f"{tag}-{people[3][0]}")])
    assert [c.name for c in opened.values()] == [people[3][0]]
    _control(engine, f"control-{tag}")

    files = raw_files()
    found = hits(files, [f"control-{tag}-kept", f"control-{tag}-deleted", *(v for person in people for v in person)])

    assert {f"control-{tag}-kept", f"control-{tag}-deleted"} <= set(found), (
        "the control: plaintext written (and deleted) beside the roster is found by this search"
    )
    leaked = {k: v for k, v in found.items() if not k.startswith("control-")}
    assert leaked == {}, f"contact data in plaintext in the database files: {leaked}"


def test_privacy_consumers_stored_and_updated_leave_no_plaintext_in_the_database_files(
    engine: Engine, db_url: str, tmp_path: Path, raw_files: Callable[[], list[Path]]
) -> None:
    tag = uuid.uuid4().hex[:8]
    people = _people(tag, 4)
    settings = Settings(_env_file=None, home=tmp_path / "home", db_url=db_url)  # type: ignore[call-arg]
    store = PrivacyStore(engine, RosterStore.for_settings(engine, settings).contacts)

    def consumers(rows: list[tuple[str, str, str]], city: str) -> list[PrivacyConsumer]:
        return [
            PrivacyConsumer(
                consumer_ref=consumer_ref(f"{tag}-{name}"), jurisdiction="TX", name=name, email=email,
                postal_address=PostalAddress(line1=street, city=city, region="TX", postal_code="78701"),
            )
            for name, email, street in rows
        ]

    store.upsert_consumers(consumers(people, "Austin"))
    store.upsert_consumers(consumers(people[:2], "Round Rock"))  # moved: rows replaced
    assert store.consumer_contacts([consumer_ref(f"{tag}-{people[0][0]}")])[consumer_ref(f"{tag}-{people[0][0]}")].email == people[0][1]
    _control(engine, f"control-{tag}")

    found = hits(raw_files(), [f"control-{tag}-deleted", *(v for person in people for v in person)])

    assert f"control-{tag}-deleted" in found, "the control: deleted plaintext is found by this search"
    leaked = {k: v for k, v in found.items() if not k.startswith("control-")}
    assert leaked == {}, f"contact data in plaintext in the database files: {leaked}"
