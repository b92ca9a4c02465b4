"""The notice tables' write helpers on SQLite and on a real PostgreSQL server."""

from __future__ import annotations

from sqlalchemy import Column, Integer, MetaData, String, Table, select

from activities import db


def _table() -> Table:
    return Table("letters", MetaData(), Column("ref", String, primary_key=True), Column("batch", Integer))


def test_insert_ignore_counts_only_the_rows_it_inserted(db_url: str) -> None:
    engine = db.open_engine(db_url)
    table = _table()
    table.metadata.create_all(engine)
    try:
        with db.write(engine) as conn:
            assert db.insert_ignore(conn, table, [{"ref": f"r{i}", "batch": 1} for i in range(3)]) == 3
        with db.write(engine) as conn:
            # Two rows already there keep their first value; three are new.
            assert db.insert_ignore(conn, table, [{"ref": f"r{i}", "batch": 2} for i in range(1, 6)]) == 3
        with db.read(engine) as conn:
            rows = dict(conn.execute(select(table.c.ref, table.c.batch)).all())
        assert rows == {"r0": 1, "r1": 1, "r2": 1, "r3": 2, "r4": 2, "r5": 2}
    finally:
        engine.dispose()


def test_insert_ignore_counts_across_chunks(db_url: str, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(db, "INSERT_CHUNK", 4)
    engine = db.open_engine(db_url)
    table = _table()
    table.metadata.create_all(engine)
    try:
        with db.write(engine) as conn:
            assert db.insert_ignore(conn, table, [{"ref": f"r{i:02d}", "batch": 1} for i in range(0, 10, 2)]) == 5
        with db.write(engine) as conn:
            assert db.insert_ignore(conn, table, [{"ref": f"r{i:02d}", "batch": 1} for i in range(10)]) == 5
    finally:
        engine.dispose()
