"""The notice activities' tables live in the ledger's database (``Settings.resolved_db_url()``),
opened with the ledger's connection discipline: on SQLite, writers take the write lock when they
begin (``BEGIN IMMEDIATE``) so two workers queue instead of failing halfway."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from ledger import migrate
from ledger.store import create_ledger_engine

#: Rows per INSERT statement when loading many rows.
INSERT_CHUNK = 2000


def open_engine(url: str) -> Engine:
    return create_ledger_engine(url)


@contextmanager
def write(engine: Engine) -> Iterator[Connection]:
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            conn = conn.execution_options(sqlite_begin="IMMEDIATE")
        with conn.begin():
            yield conn


@contextmanager
def read(engine: Engine) -> Iterator[Connection]:
    with engine.connect() as conn, conn.begin():
        yield conn


def ensure_tables(engine: Engine, tables: Sequence[Table]) -> None:
    """The database at the newest migration (once per engine), holding ``tables``. Tables are
    made by migrations only (``ledger/migrations``): one declared in code that no migration
    creates fails here, by name, instead of at its first query."""
    migrate.ensure_schema(engine)
    migrate.require_tables(engine, tables)


def _insert_ignore_stmt(conn: Connection, table: Table, chunk: Sequence[dict[str, Any]]) -> Any:
    module: Any = postgresql if conn.dialect.name == "postgresql" else sqlite
    return module.insert(table).values(list(chunk)).on_conflict_do_nothing()


def insert_ignore(conn: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> int:
    """INSERT, skipping rows whose key exists already; returns how many were inserted.

    Counted from ``RETURNING`` rows: a driver's ``rowcount`` for a multi-row ``INSERT … ON
    CONFLICT DO NOTHING`` is not reliable on every dialect."""
    inserted = 0
    key = list(table.primary_key.columns)[:1]
    for start in range(0, len(rows), INSERT_CHUNK):
        stmt = _insert_ignore_stmt(conn, table, rows[start : start + INSERT_CHUNK]).returning(*key)
        inserted += len(conn.execute(stmt).all())
    return inserted


def insert_ignore_returning(conn: Connection, table: Table, rows: Sequence[dict[str, Any]], column: str) -> set[Any]:
    """INSERT, skipping rows whose key exists already; returns ``column`` of the rows inserted.

    The claim that makes delivery at-most-once: of two attempts inserting the same
    (obligation, recipient, channel), exactly one gets the row back (SQLite ≥ 3.35, PostgreSQL).
    """
    won: set[Any] = set()
    for start in range(0, len(rows), INSERT_CHUNK):
        stmt = _insert_ignore_stmt(conn, table, rows[start : start + INSERT_CHUNK]).returning(table.c[column])
        won.update(conn.execute(stmt).scalars())
    return won
