"""Migration 0007 on SQLite and PostgreSQL: a database at 0006 holding roster contacts in plaintext
and privacy contacts sealed under the codec-derived key is migrated; afterwards every contact opens
through the stores, the schema is the code's, and the plaintext is gone — from every table, and from
the database's files (SQLite: main file, WAL, shared memory; PostgreSQL: the database's directory
after a CHECKPOINT. PostgreSQL's pg_wal keeps the inserts made before the migration until the server
recycles those segments: docs/operations.md says so and what to do). A KEK that cannot be loaded
stops the migration, which then changes nothing."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import Engine, text

from activities.contact_store import ContactKeyError, ContactStore, KekRing
from activities.privacy_store import PrivacyStore
from activities.roster import RosterStore
from activities.sealing import Sealer
from ledger import migrate
from ledger.schema import target_metadata
from ledger.store import create_ledger_engine
from noticeflow.codec import CodecKeyring
from tests.activities.conftest import consumer_ref

LEGACY_PURPOSE = "noticeflow/privacy-contact/v1"


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    e = create_ledger_engine(db_url)
    yield e
    e.dispose()


@pytest.fixture
def keys(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> tuple[bytes, bytes]:
    """The upgrading process's keys, in its environment: (contact KEK, codec key)."""
    kek, codec = os.urandom(32), hashlib.sha256(b"legacy codec key " + uuid.uuid4().bytes).digest()
    for name in [n for n in os.environ if n.startswith("NOTICEFLOW_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("NOTICEFLOW_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("NOTICEFLOW_CONTACT_KEK", base64.b64encode(kek).decode())
    monkeypatch.setenv("NOTICEFLOW_CODEC_KEY", base64.b64encode(codec).decode())
    return kek, codec


def _people(tag: str) -> list[dict]:
    return [
        {"id": f"P{i}", "name": f"Ottoline Brisbane {tag}{i}", "email": f"ob{i}.{tag}@migration.example",
         "street": f"{70 + i} Harrowgate {tag} Lane"}
        for i in range(3)
    ]


def _old_rows(engine: Engine, tag: str, codec: bytes) -> list[dict]:
    """What the code before 0007 wrote: roster contacts in plaintext, privacy contacts sealed
    under the codec-derived key (``ContactCipher``, purpose noticeflow/privacy-contact/v1)."""
    people = _people(tag)
    legacy = Sealer(CodecKeyring((codec,)), LEGACY_PURPOSE)
    with engine.begin() as conn:
        for roster_id in (f"INC-{tag}-r1", f"list-{tag}"):
            conn.execute(
                text("INSERT INTO notice_rosters (roster_id, generation, next_generation, total, content_sha256, summary) "
                     "VALUES (:r, 1, 2, 3, :sha, '{}')"),
                {"r": roster_id, "sha": "ab" * 32},
            )
            for p in people:
                address = {"line1": p["street"], "line2": None, "city": "Franklin", "region": "TN", "postal_code": "37064", "country": "US"}
                conn.execute(
                    text("INSERT INTO notice_roster_contacts (roster_id, generation, consumer_ref, state, name, email, postal_address, "
                         "electronic_consent, producer_of_record) VALUES (:r, 1, :c, 'TN', :n, :e, :a, :ec, 'P-1')"),
                    {"r": roster_id, "c": consumer_ref(f"{tag}{p['id']}"), "n": p["name"], "e": p["email"],
                     "a": json.dumps(address), "ec": p["id"] == "P0"},
                )
        for p in people:
            ref = consumer_ref(f"{tag}{p['id']}")
            contact = json.dumps({"name": p["name"], "email": p["email"], "postal_address": {
                "line1": p["street"], "line2": None, "city": "Austin", "region": "TX", "postal_code": "78701", "country": "US"}},
                separators=(",", ":")).encode()
            key_id, sealed = legacy.seal(ref, contact)
            conn.execute(
                text("INSERT INTO privacy_consumers (consumer_ref, jurisdiction, has_email, has_postal_address, e_delivery_consent, "
                     "transacts_electronically, key_id, contact) VALUES (:r, 'TX', true, true, false, false, :k, :c)"),
                {"r": ref, "k": key_id, "c": sealed},
            )
    return people


def _database_files(engine: Engine, db_url: str, request: pytest.FixtureRequest) -> list[Path]:
    if db_url.startswith("sqlite"):
        path = Path(db_url.split("///", 1)[1])
        return [p for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")) if p.exists()]
    server = request.getfixturevalue("postgres_server")
    with psycopg.connect(server.admin_dsn, autocommit=True) as conn:
        conn.execute("CHECKPOINT")
    with engine.connect() as conn:
        oid = conn.execute(text("SELECT oid FROM pg_database WHERE datname = current_database()")).scalar_one()
    return [p for p in (server.root / "data" / "base" / str(oid)).rglob("*") if p.is_file()]


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:  # a cache file (pg_internal.init) the server replaced while we read
        return b""


def _plaintext_in(files: list[Path], people: list[dict]) -> list[str]:
    raw = b"".join(_read(p) for p in files)
    return [v for p in people for v in (p["name"], p["email"], p["street"]) if v.encode() in raw]


def _plaintext_in_tables(engine: Engine, people: list[dict]) -> list[str]:
    with engine.connect() as conn:
        dump = " ".join(
            str(value)
            for table in sorted(target_metadata().tables)
            for row in conn.execute(text(f"SELECT * FROM {table}"))
            for value in row
        )
    return [v for p in people for v in (p["name"], p["email"], p["street"]) if v in dump]


def test_plaintext_roster_rows_and_codec_sealed_privacy_contacts_are_sealed_under_data_keys_by_0007(
    engine: Engine, db_url: str, keys: tuple[bytes, bytes], request: pytest.FixtureRequest
) -> None:
    kek, codec = keys
    tag = uuid.uuid4().hex[:8]
    migrate.upgrade(engine, "0006")
    people = _old_rows(engine, tag, codec)
    engine.dispose()  # SQLite: checkpointed into the main file, as a stopped worker leaves it
    assert len(_plaintext_in(_database_files(engine, db_url, request), people)) == 9, (
        "the control: the roster's plaintext is found in the files before the migration"
    )

    result = migrate.upgrade(db_url)

    assert (result.before, result.after) == ("0006", migrate.head())
    with engine.connect() as conn:
        assert migrate.schema_differences(conn, target_metadata()) == []
    contacts = ContactStore(engine, KekRing((kek,)))
    rosters = RosterStore(engine, contacts)
    refs = [consumer_ref(f"{tag}{p['id']}") for p in people]
    for roster_id, incident in ((f"INC-{tag}-r1", f"INC-{tag}"), (f"list-{tag}", f"list-{tag}")):
        opened = rosters.get_contacts(roster_id, refs)
        assert sorted((c.name, c.email, c.postal_address.line1) for c in opened.values()) == sorted(  # type: ignore[union-attr]
            (p["name"], p["email"], p["street"]) for p in people
        )
        assert opened[refs[0]].electronic_consent and opened[refs[0]].producer_of_record == "P-1"
        assert contacts.key_info(f"incident:{incident}")[0].key_id in {r for r in _key_ids(engine, roster_id)}
        assert rosters.roster_summary(roster_id).total == 3
    privacy = PrivacyStore(engine, contacts).consumer_contacts(refs)
    assert sorted(c.name for c in privacy.values()) == sorted(p["name"] for p in people)
    assert {c.postal_address.city for c in privacy.values()} == {"Austin"}  # type: ignore[union-attr]
    assert len({k.key_id for r in refs for k in contacts.key_info(f"consumer:{r}")}) == 3, "a data key per consumer"

    assert _plaintext_in_tables(engine, people) == []
    engine.dispose()
    assert _plaintext_in(_database_files(engine, db_url, request), people) == []


def _key_ids(engine: Engine, roster_id: str) -> set[str]:
    with engine.connect() as conn:
        return set(
            conn.execute(text("SELECT DISTINCT data_key_id FROM notice_roster_contacts WHERE roster_id = :r"), {"r": roster_id}).scalars()
        )


def test_without_a_usable_kek_0007_stops_and_changes_nothing(
    engine: Engine, keys: tuple[bytes, bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    tag = uuid.uuid4().hex[:8]
    migrate.upgrade(engine, "0006")
    people = _old_rows(engine, tag, keys[1])
    monkeypatch.setenv("NOTICEFLOW_CONTACT_KEK", "c2hvcnQ=")

    with pytest.raises(ContactKeyError, match="NOTICEFLOW_CONTACT_KEK: a contact key-encryption key is 32 bytes"):
        migrate.upgrade(engine)

    assert migrate.status(engine).revision == "0006"
    with engine.connect() as conn:
        names = set(conn.execute(text("SELECT name FROM notice_roster_contacts")).scalars())
        assert "contact_data_keys" not in set(conn.dialect.get_table_names(conn))
    assert names == {p["name"] for p in people}
