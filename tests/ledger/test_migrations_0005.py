"""Migration 0005 (the per-stream chain) on a ledger the previous code wrote, on SQLite and a real
PostgreSQL server: existing entries stay format 1 and untouched, each stream's tip is filled from
them, the schema equals the code's, and appends go on in format 2 from those tips."""

from __future__ import annotations

from sqlalchemy import inspect, text

from ledger import migrate
from ledger.keys import Keyring, Signer
from ledger.schema import target_metadata
from ledger.store import Ledger, create_ledger_engine
from ledger.verify import verify_entries
from tests.ledger.conftest import draft
from tests.ledger.format1 import FORMAT1_REVISION, write_format1_ledger

A, B, C = "incident:INC-7", "incident:INC-8", "privacy:policy-3"
STREAMS = [A, B, A, C, A, B, A]


def test_0005_fills_each_stream_tip_from_the_format_1_entries_and_leaves_them_unchanged(
    db_url: str, signer: Signer, keyring: Keyring
) -> None:
    old = write_format1_ledger(db_url, signer, [draft(n, stream=s) for n, s in enumerate(STREAMS, start=1)])
    engine = create_ledger_engine(db_url)
    try:
        result = migrate.upgrade(engine)
        assert (result.before, result.after) == (FORMAT1_REVISION, migrate.head())
        with engine.connect() as conn:
            tips = conn.execute(text("SELECT stream, size, last_hash, last_seq FROM ledger_stream_tips ORDER BY stream")).all()
            rows = conn.execute(text("SELECT seq, v, stream_seq, stream_prev_hash, hash FROM ledger_entries ORDER BY seq")).all()
            assert migrate.schema_differences(conn, target_metadata()) == []
            indexes = {i["name"]: i for i in inspect(conn).get_indexes("ledger_entries")}
        assert [tuple(t) for t in tips] == [
            (A, 4, old[6]["hash"], 7),
            (B, 2, old[5]["hash"], 6),
            (C, 1, old[3]["hash"], 4),
        ]
        assert [tuple(r) for r in rows] == [(e["seq"], 1, None, None, e["hash"]) for e in old]
        assert indexes["ux_ledger_entries_stream_seq"]["unique"]
        assert indexes["ux_ledger_entries_stream_seq"]["column_names"] == ["stream", "stream_seq"]
    finally:
        engine.dispose()

    ledger = Ledger.open(db_url, signer)
    try:
        assert list(ledger.iter_raw()) == old  # read back exactly as recorded
        new = ledger.append_many([draft(20, stream=A), draft(21, stream=C), draft(22, stream=B), draft(23, stream=A)])
        assert [(e.seq, e.stream_seq) for e in new] == [(8, 5), (9, 2), (10, 3), (11, 6)]
        assert new[0].stream_prev_hash == old[6]["hash"] and new[3].stream_prev_hash == new[0].hash
        report = verify_entries(ledger.iter_raw(), keyring, [ledger.sign_tree_head()])
        assert report.ok, report.problem
        assert report.entries_checked == 11
    finally:
        ledger.close()


def test_0005_on_an_empty_ledger_starts_every_stream_at_position_1(db_url: str, signer: Signer, keyring: Keyring) -> None:
    write_format1_ledger(db_url, signer, [])
    ledger = Ledger.open(db_url, signer)
    try:
        with ledger.engine.connect() as conn:
            assert conn.execute(text("SELECT COUNT(*) FROM ledger_stream_tips")).scalar_one() == 0
        first = ledger.append(draft(1))
        assert (first.seq, first.stream_seq) == (1, 1)
        assert verify_entries(ledger.iter_raw(), keyring).ok
    finally:
        ledger.close()
