"""Appending to the ledger: the chain, idempotency on step, all-or-nothing batches (SQLite and
PostgreSQL alike)."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from ledger.chain import entry_hash
from ledger.errors import LedgerError, NPIError, StepConflictError
from ledger.keys import Keyring
from ledger.store import EntryFilter, Ledger
from ledger.verify import verify_entries
from models.ledger import GENESIS_PREV_HASH
from tests.ledger.conftest import draft, fill


def _count_rows(ledger: Ledger) -> int:
    with ledger.engine.connect() as conn:
        return conn.execute(text("SELECT COUNT(*) FROM ledger_entries")).scalar_one()


def test_entries_are_numbered_from_one_and_chained_from_the_zero_hash(ledger: Ledger, keyring: Keyring) -> None:
    first = ledger.append(draft(1))
    second = ledger.append(draft(2))
    assert (first.seq, second.seq) == (1, 2)
    assert first.prev_hash == GENESIS_PREV_HASH
    assert second.prev_hash == first.hash
    assert entry_hash(first.model_dump()) == first.hash
    assert keyring.check(first.key_id, first.ts, bytes.fromhex(first.hash), first.sig) is None
    assert first.ts <= second.ts and first.ts.endswith("Z")


def test_stored_entry_reads_back_exactly_as_returned(ledger: Ledger) -> None:
    entry = ledger.append(draft(1, data={"nested": {"b": [1, "x", None, True], "a": "é ✓ 𝄞"}, "z": -5}))
    assert ledger.get(1) == entry
    assert ledger.get_by_step(entry.step) == entry


def test_same_step_twice_returns_first_entry_and_writes_nothing(ledger: Ledger) -> None:
    first = ledger.append(draft(1))
    again = ledger.append(draft(1, run_id="run-2"))  # an activity retried after a worker restart
    assert again == first
    assert ledger.size() == 1 and _count_rows(ledger) == 1


def test_same_step_with_different_content_is_an_error_not_an_overwrite(ledger: Ledger) -> None:
    first = ledger.append(draft(1))
    with pytest.raises(StepConflictError) as caught:
        ledger.append(draft(1, data={"n": 999}))
    assert caught.value.seq == 1 and caught.value.differences == ["data"]
    assert "already recorded as seq 1" in str(caught.value)
    assert ledger.get(1) == first and ledger.size() == 1


def test_batch_appends_in_order_in_one_transaction(ledger: Ledger, keyring: Keyring) -> None:
    ledger.append(draft(1))
    entries = ledger.append_many([draft(n) for n in range(2, 602)])  # above the parallel-sign threshold
    assert [e.seq for e in entries] == list(range(2, 602))
    assert all(b.prev_hash == a.hash for a, b in zip(entries, entries[1:], strict=False))
    report = verify_entries(ledger.iter_raw(), keyring)
    assert report.ok, report.problem
    assert report.entries_checked == 601


def test_batch_with_a_conflicting_step_writes_nothing(ledger: Ledger) -> None:
    fill(ledger, 3)
    with pytest.raises(StepConflictError):
        ledger.append_many([draft(4), draft(5), draft(2, data={"changed": True})])
    assert ledger.size() == 3 and _count_rows(ledger) == 3
    assert ledger.get_by_step(draft(4).step) is None


def test_batch_reuses_recorded_steps_and_records_only_the_new_ones(ledger: Ledger) -> None:
    fill(ledger, 2)
    entries = ledger.append_many([draft(1), draft(3), draft(2), draft(3)])
    assert [e.seq for e in entries] == [1, 3, 2, 3]
    assert ledger.size() == 3


def test_batch_with_one_step_twice_and_different_content_is_rejected(ledger: Ledger) -> None:
    with pytest.raises(StepConflictError):
        ledger.append_many([draft(1), draft(1, type="consumer_notice.sent")])
    assert ledger.size() == 0


def test_raw_npi_in_data_is_refused_and_nothing_is_written(ledger: Ledger) -> None:
    ledger.append(draft(1))
    with pytest.raises(NPIError, match=r"entries\[1\]\.data\.note: looks like a Social Security number"):
        ledger.append_many([draft(2), draft(3, data={"note": "consumer 123-45-6789 called"})])
    assert ledger.size() == 1


def test_floats_are_refused_with_the_field_named() -> None:
    with pytest.raises(ValueError, match=r"data\.cost_usd: floating-point numbers are not allowed"):
        draft(1, data={"cost_usd": 250000.5})


def test_a_ledger_opened_without_a_key_reads_but_cannot_append(ledger: Ledger, db_url: str) -> None:
    fill(ledger, 2)
    reader = Ledger.open(db_url)
    try:
        assert [e.seq for e in reader.entries()] == [1, 2]
        with pytest.raises(LedgerError, match="without a signing key"):
            reader.append(draft(3))
    finally:
        reader.close()


def test_filters_select_by_stream_jurisdiction_and_time(ledger: Ledger) -> None:
    ledger.append_many([draft(n) for n in range(1, 4)] + [draft(n, stream="privacy:policy-3", jurisdiction="TX") for n in range(1, 3)])
    assert [e.seq for e in ledger.entries(EntryFilter(stream="privacy:policy-3"))] == [4, 5]
    assert [e.seq for e in ledger.entries(EntryFilter(jurisdiction="TN"))] == [1, 2, 3]
    ts = ledger.get(1).ts
    assert len(list(ledger.entries(EntryFilter(since=ts)))) == 5
    assert list(ledger.entries(EntryFilter(until=ts))) == []


def test_reading_in_chunks_yields_every_entry_once_in_order(ledger: Ledger) -> None:
    fill(ledger, 25)
    assert [e["seq"] for e in ledger.iter_raw(chunk=7)] == list(range(1, 26))


def test_reading_can_start_after_a_seq_within_a_filter(ledger: Ledger) -> None:
    ledger.append_many([draft(n, stream="incident:INC-7" if n % 2 else "incident:INC-8") for n in range(1, 11)])
    seqs = [e["seq"] for e in ledger.iter_raw(EntryFilter(stream="incident:INC-8"), after=4, chunk=2)]
    assert seqs == [6, 8, 10]


def test_tree_head_is_signed_and_stored(ledger: Ledger, keyring: Keyring) -> None:
    fill(ledger, 5)
    head = ledger.sign_tree_head()
    assert head.tree_size == 5
    assert ledger.stored_heads() == [head]
    assert verify_entries(ledger.iter_raw(), keyring, [head]).heads_checked == 1


def test_appends_are_logged_by_seq_and_type_without_their_data(ledger: Ledger) -> None:
    from structlog.testing import capture_logs

    with capture_logs() as logs:
        ledger.append_many([draft(1, data={"consumer": "hmac-sha256:" + "ab" * 32, "channel": "courier-77"}), draft(2)])
    (event,) = [e for e in logs if e["event"] == "ledger.appended"]
    assert (event["first_seq"], event["last_seq"], event["count"]) == (1, 2, 2)
    assert "hmac-sha256" not in repr(logs) and "courier-77" not in repr(logs)
