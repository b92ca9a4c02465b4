"""An opt-out election is unique within its relationship only (migration 0008): two relationships
may each hold an election "OPT-1", both are stored and honoured, and revoking one leaves the other
in effect — on SQLite and PostgreSQL, and for a database migrated from 0007 with its rows kept."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, text

from activities.privacy_store import NotFoundError, PrivacyStore, PrivacyStoreError
from ledger import migrate
from ledger.store import create_ledger_engine
from models.privacy_lifecycle import OptOutRecord
from tests.privacy.builders import consumer, ref, relationship
from tests.privacy.test_store import store

__all__ = ["store"]  # the fixture, imported for pytest

AT = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=-6)))


def _election(rel: str, consumer_id: str, election: str = "OPT-1") -> OptOutRecord:
    return OptOutRecord(election_id=election, relationship_id=rel, consumer_ref=ref(consumer_id), received_at=AT, effective_at=AT)


def test_two_relationships_with_the_same_election_id_are_both_stored_honoured_and_revoked_apart(store: PrivacyStore) -> None:
    store.upsert_consumers([consumer("C-1", n=1), consumer("C-2", n=2)])
    store.register_relationships([relationship("REL-A", "C-1"), relationship("REL-B", "C-2")])
    assert store.record_opt_outs([_election("REL-A", "C-1")]) == 1
    # Before 0008 this second election was dropped as a duplicate: REL-B's opt-out went unhonoured.
    assert store.record_opt_outs([_election("REL-B", "C-2")]) == 1
    assert store.record_opt_outs([_election("REL-B", "C-2")]) == 0  # a retry stores nothing twice
    assert store.opted_out(["REL-A", "REL-B"]) == {"REL-A", "REL-B"}

    revoked = store.record_revocation("OPT-1", AT + dt.timedelta(days=2), "written", relationship_id="REL-B")
    assert revoked.relationship_id == "REL-B" and revoked.as_revocation() is not None
    assert store.opted_out(["REL-A", "REL-B"]) == {"REL-A"}  # REL-A's election is untouched
    assert store.opt_outs_of("REL-A")[0].revocation_received_at is None

    # Without the relationship, an election id held by two relationships is not guessed at.
    with pytest.raises(PrivacyStoreError, match="held by 2 relationships"):
        store.record_revocation("OPT-1", AT + dt.timedelta(days=3), "written")
    with pytest.raises(NotFoundError):
        store.record_revocation("OPT-1", AT, "written", relationship_id="REL-C")


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    e = create_ledger_engine(db_url)
    yield e
    e.dispose()


def _insert(conn, election: str, rel: str) -> None:  # type: ignore[no-untyped-def]
    conn.execute(
        text(
            "INSERT INTO privacy_opt_outs (election_id, relationship_id, consumer_ref, received_at, effective_at) "
            "VALUES (:e, :r, :c, :t, :t)"
        ),
        {"e": election, "r": rel, "c": f"ref-{rel}", "t": AT.isoformat()},
    )


def test_0008_rekeys_the_table_keeping_every_row_and_its_downgrade_refuses_shared_ids(engine: Engine) -> None:
    migrate.upgrade(engine, "0007")
    with engine.begin() as conn:
        _insert(conn, "OPT-1", "REL-A")
        _insert(conn, "OPT-2", "REL-A")
        conn.execute(text("UPDATE privacy_opt_outs SET revocation_received_at = :t, revocation_form = 'written' "
                          "WHERE election_id = 'OPT-2'"), {"t": AT.isoformat()})
    migrate.upgrade(engine, "0008")
    with engine.begin() as conn:
        rows = conn.execute(text("SELECT election_id, relationship_id, revocation_form FROM privacy_opt_outs "
                                 "ORDER BY election_id")).all()
        assert [tuple(r) for r in rows] == [("OPT-1", "REL-A", None), ("OPT-2", "REL-A", "written")]
        _insert(conn, "OPT-1", "REL-B")  # refused by the old key, taken by the new one
    with pytest.raises(migrate.SchemaError, match="held by several relationships"):
        _alembic_downgrade(engine, "0007")
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM privacy_opt_outs WHERE relationship_id = 'REL-B'"))
    _alembic_downgrade(engine, "0007")
    with engine.begin() as conn, pytest.raises(Exception):  # noqa: B017 — the old key refuses it again
        _insert(conn, "OPT-1", "REL-B")


def _alembic_downgrade(engine: Engine, revision: str) -> None:
    from alembic import command

    with engine.begin() as conn:
        cfg = migrate.alembic_config()
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, revision)
