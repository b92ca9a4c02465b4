"""Entry format 2 in the store (docs/ledger-format.md §2, §5, §13): every append links to the
previous entry of its stream; the stream tips move in the same transaction; format 1 entries of an
older ledger read back and verify unchanged, and the stream chain counts them; signed stream heads
and consistency proofs for the bundle writer (SQLite and PostgreSQL alike)."""

from __future__ import annotations

import multiprocessing
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from ledger.chain import V1_FIELDS, V2_FIELDS, entry_hash
from ledger.errors import LedgerError, StepConflictError
from ledger.keys import Keyring, Signer
from ledger.merkle import MerkleTree, verify_consistency
from ledger.store import Ledger
from ledger.verify import check_stream_head_signature, verify_entries
from models.ledger import GENESIS_PREV_HASH, LedgerEntry, StreamHead
from tests.ledger.conftest import draft
from tests.ledger.format1 import write_format1_ledger

A, B, C = "incident:INC-7", "incident:INC-8", "privacy:policy-3"


def _tips(ledger: Ledger) -> dict[str, tuple[int, str, int]]:
    with ledger.engine.connect() as conn:
        rows = conn.execute(text("SELECT stream, size, last_hash, last_seq FROM ledger_stream_tips")).all()
    return {stream: (size, last_hash, last_seq) for stream, size, last_hash, last_seq in rows}


def _expected_tips(entries: list[dict]) -> dict[str, tuple[int, str, int]]:
    tips: dict[str, tuple[int, str, int]] = {}
    for e in entries:
        tips[e["stream"]] = (tips.get(e["stream"], (0, "", 0))[0] + 1, e["hash"], e["seq"])
    return tips


# -- appending -------------------------------------------------------------------------------------


def test_every_append_is_format_2_and_links_to_the_previous_entry_of_its_stream(ledger: Ledger, keyring: Keyring) -> None:
    first = ledger.append(draft(1, stream=A))
    other = ledger.append(draft(2, stream=B))
    second = ledger.append(draft(3, stream=A))
    assert (first.v, first.stream_seq, first.stream_prev_hash) == (2, 1, GENESIS_PREV_HASH)
    assert (other.stream_seq, other.stream_prev_hash) == (1, GENESIS_PREV_HASH)
    assert (second.stream_seq, second.stream_prev_hash) == (2, first.hash)
    assert second.prev_hash == other.hash  # the global chain is unchanged
    assert tuple(next(ledger.iter_raw())) == V2_FIELDS
    assert entry_hash(second.model_dump()) == second.hash
    assert verify_entries(ledger.iter_raw(), keyring).ok


def test_the_stream_fields_are_inside_the_hash(ledger: Ledger) -> None:
    entry = ledger.append(draft(1)).model_dump()
    assert entry_hash(entry | {"stream_seq": 2}) != entry["hash"]
    assert entry_hash(entry | {"stream_prev_hash": "ab" * 32}) != entry["hash"]
    as_format_1 = {k: v for k, v in entry.items() if k not in ("v", "stream_seq", "stream_prev_hash")}
    assert entry_hash(as_format_1) != entry["hash"]


def test_a_batch_touching_several_streams_several_times_numbers_each_stream_in_order(
    ledger: Ledger, keyring: Keyring
) -> None:
    ledger.append_many([draft(1, stream=A), draft(2, stream=B)])
    streams = [A, A, C, B, A, C, C, B]
    entries = ledger.append_many([draft(n, stream=s) for n, s in enumerate(streams, start=10)])
    positions = {s: [e.stream_seq for e in entries if e.stream == s] for s in (A, B, C)}
    assert positions == {A: [2, 3, 4], B: [2, 3], C: [1, 2, 3]}
    everything = list(ledger.iter_raw())
    for stream in (A, B, C):
        chain = [e for e in everything if e["stream"] == stream]
        assert [e["stream_prev_hash"] for e in chain] == [GENESIS_PREV_HASH] + [e["hash"] for e in chain[:-1]]
    assert _tips(ledger) == _expected_tips(everything)
    assert verify_entries(ledger.iter_raw(), keyring).ok


def test_a_large_batch_signed_in_parallel_keeps_every_stream_chain(ledger: Ledger, keyring: Keyring) -> None:
    entries = ledger.append_many([draft(n, stream=(A, B, C)[n % 3]) for n in range(1, 701)])
    assert [e.stream_seq for e in entries if e.stream == C][-1] == 233
    assert _tips(ledger) == _expected_tips(list(ledger.iter_raw()))
    report = verify_entries(ledger.iter_raw(), keyring)
    assert report.ok and report.entries_checked == 700


def test_a_batch_that_fails_moves_no_stream_tip(ledger: Ledger) -> None:
    ledger.append_many([draft(1, stream=A), draft(2, stream=B)])
    before = _tips(ledger)
    with pytest.raises(StepConflictError):
        ledger.append_many([draft(3, stream=A), draft(4, stream=C), draft(1, stream=A, data={"changed": True})])
    assert _tips(ledger) == before and ledger.size() == 2


def test_a_stream_position_is_recorded_once(ledger: Ledger) -> None:
    from sqlalchemy.exc import IntegrityError

    ledger.append_many([draft(1), draft(2)])
    with pytest.raises(IntegrityError), ledger.engine.begin() as conn:
        conn.execute(text("UPDATE ledger_entries SET stream_seq = 1 WHERE seq = 2"))


def test_the_same_step_again_returns_the_format_2_entry_and_moves_no_tip(ledger: Ledger) -> None:
    first = ledger.append(draft(1))
    tips = _tips(ledger)
    assert ledger.append(draft(1, run_id="run-2")) == first
    assert _tips(ledger) == tips and ledger.size() == 1


# -- an older ledger: format 1 entries, then format 2 ------------------------------------------------


@pytest.fixture
def mixed(db_url: str, signer: Signer) -> tuple[Ledger, list[dict]]:
    """Five format 1 entries (A, B, A, A, B) recorded before the upgrade, then the store at head."""
    old = write_format1_ledger(db_url, signer, [draft(n, stream=s) for n, s in enumerate([A, B, A, A, B], start=1)])
    ledger = Ledger.open(db_url, signer)
    yield ledger, old
    ledger.close()


def test_format_1_entries_read_back_exactly_as_recorded(mixed: tuple[Ledger, list[dict]]) -> None:
    ledger, old = mixed
    assert list(ledger.iter_raw()) == old
    assert all(tuple(e) == V1_FIELDS for e in ledger.iter_raw())
    entry = ledger.get(3)
    assert entry.v is None and entry.model_dump() == old[2] and entry_hash(entry.model_dump()) == old[2]["hash"]
    assert LedgerEntry.model_validate_json(entry.model_dump_json()) == entry
    assert '"v"' not in entry.model_dump_json() and "stream_seq" not in entry.model_dump_json()


def test_the_stream_chain_continues_from_the_format_1_entries_of_each_stream(
    mixed: tuple[Ledger, list[dict]], keyring: Keyring
) -> None:
    ledger, old = mixed
    a, b, c = ledger.append_many([draft(6, stream=A), draft(7, stream=B), draft(8, stream=C)])
    # Stream positions count every entry of the stream, format 1 included.
    assert (a.stream_seq, a.stream_prev_hash) == (4, old[3]["hash"])
    assert (b.stream_seq, b.stream_prev_hash) == (3, old[4]["hash"])
    assert (c.stream_seq, c.stream_prev_hash) == (1, GENESIS_PREV_HASH)
    assert a.prev_hash == old[-1]["hash"]
    report = verify_entries(ledger.iter_raw(), keyring, [ledger.sign_tree_head()])
    assert report.ok, report.problem
    assert report.entries_checked == 8


def test_a_format_1_step_appended_again_returns_the_format_1_entry(mixed: tuple[Ledger, list[dict]]) -> None:
    ledger, old = mixed
    again = ledger.append_many([draft(2, stream=B, run_id="run-9"), draft(9, stream=B)])
    assert again[0].model_dump() == old[1] and again[0].v is None
    assert again[1].seq == 6 and again[1].stream_seq == 3
    with pytest.raises(StepConflictError) as caught:
        ledger.append(draft(2, stream=B, data={"n": 0}))
    assert caught.value.seq == 2


def test_a_format_2_entry_that_skips_a_format_1_entry_of_its_stream_is_detected(
    mixed: tuple[Ledger, list[dict]], keyring: Keyring
) -> None:
    ledger, old = mixed
    # Tips wrong (as if a format 1 entry of A were not counted): the next entry of A says position 3.
    with ledger.engine.begin() as conn:
        conn.execute(text("UPDATE ledger_stream_tips SET size = 2, last_hash = :h WHERE stream = :s"), {"h": old[2]["hash"], "s": A})
    ledger.append(draft(6, stream=A))
    report = verify_entries(ledger.iter_raw(), keyring)
    assert report.problem.seq == 6
    assert "stream_prev_hash does not match entry seq 4, the previous entry of incident:INC-7" in report.problem.what


# -- stream tips and heads -------------------------------------------------------------------------


def test_stream_tip_counts_the_stream_within_an_earlier_size(mixed: tuple[Ledger, list[dict]]) -> None:
    ledger, old = mixed
    ledger.append_many([draft(6, stream=A), draft(7, stream=B)])
    six = ledger.get(6)
    assert ledger.stream_tip(A, 7) == (4, six.hash, 6)
    assert ledger.stream_tip(A, 5) == (3, old[3]["hash"], 4)
    assert ledger.stream_tip(A, 2) == (1, old[0]["hash"], 1)
    assert ledger.stream_tip(B, 1) is None
    assert ledger.stream_tip(C, 7) is None


def test_a_signed_stream_head_states_the_stream_within_the_pinned_tree(
    mixed: tuple[Ledger, list[dict]], keyring: Keyring
) -> None:
    ledger, old = mixed
    pinned = ledger.sign_tree_head()  # size 5
    ledger.append_many([draft(6, stream=A)])  # after the pin: not counted
    head = ledger.sign_stream_head(A, pinned)
    assert isinstance(head, StreamHead)
    assert list(head.model_dump()) == [
        "stream", "stream_size", "last_hash", "tree_size", "root_hash", "timestamp", "key_id", "sig",
    ]
    assert (head.stream, head.stream_size, head.last_hash) == (A, 3, old[3]["hash"])
    assert (head.tree_size, head.root_hash) == (pinned.tree_size, pinned.root_hash)
    assert check_stream_head_signature(head, keyring) is None
    forged = StreamHead(**(head.model_dump() | {"stream_size": 2}))
    assert "signature does not verify" in check_stream_head_signature(forged, keyring)


def test_a_stream_head_is_refused_for_a_stream_without_entries_or_a_head_beyond_the_ledger(ledger: Ledger) -> None:
    ledger.append(draft(1, stream=A))
    pinned = ledger.sign_tree_head()
    with pytest.raises(LedgerError, match=r"stream 'incident:INC-8' has no entry within the ledger's first 1 entries"):
        ledger.sign_stream_head(B, pinned)
    beyond = pinned.model_copy(update={"tree_size": 2})
    with pytest.raises(LedgerError, match="covers 2 entries but the ledger holds 1"):
        ledger.sign_stream_head(A, beyond)


def test_stored_head_sizes_are_distinct_and_ascending(ledger: Ledger) -> None:
    assert ledger.stored_head_sizes() == []
    ledger.append_many([draft(1), draft(2)])
    two = ledger.sign_tree_head()
    ledger.sign_tree_head()  # same size and root again
    ledger.append(draft(3))
    three = ledger.sign_tree_head()
    ledger.sign_tree_head(store=False)
    assert ledger.stored_head_sizes() == [(2, two.root_hash), (3, three.root_hash)]


def test_consistency_proofs_match_the_in_memory_tree_and_verify(ledger: Ledger) -> None:
    ledger.append_many([draft(n, stream=(A, B)[n % 2]) for n in range(1, 22)])
    leaves = list(ledger.leaf_hashes())
    tree = MerkleTree(leaves)
    for new in (1, 2, 7, 8, 13, 21):
        for old in range(1, new + 1):
            proof = ledger.consistency_proof(old, new)
            assert proof == tree.consistency_proof(old, new), (old, new)
            verify_consistency(old, new, tree.root(old), tree.root(new), proof)
    with pytest.raises(LedgerError, match="0 < old_size <= new_size"):
        ledger.consistency_proof(0, 5)
    with pytest.raises(LedgerError, match="0 < old_size <= new_size"):
        ledger.consistency_proof(6, 5)
    with pytest.raises(LedgerError, match="holds 21 entries, fewer than 22"):
        ledger.consistency_proof(5, 22)


# -- several processes, one stream -----------------------------------------------------------------

WRITERS, PER_WRITER = 3, 30


def _append_to_one_stream(url: str, key_dir: str, writer: int, start: Any) -> None:
    from ledger.keys import load_signer

    ledger = Ledger.open(url, load_signer(Path(key_dir)))
    start.wait(30)
    for n in range(PER_WRITER):
        if n % 3:
            ledger.append(draft(n, stream=A, step=f"{A}/writer-{writer}/{n}"))
        else:  # a batch across the shared stream and the writer's own
            ledger.append_many(
                [draft(n, stream=A, step=f"{A}/writer-{writer}/{n}"), draft(n, stream=f"incident:W{writer}")]
            )
    ledger.close()


def test_processes_appending_to_one_stream_at_once_keep_one_gapless_stream_chain(
    db_url: str, key_dir: Path, keyring: Keyring
) -> None:
    Ledger.open(db_url).close()
    ctx = multiprocessing.get_context("spawn")
    start = ctx.Event()
    procs = [ctx.Process(target=_append_to_one_stream, args=(db_url, str(key_dir), w, start)) for w in range(WRITERS)]
    for p in procs:
        p.start()
    start.set()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0] * WRITERS

    ledger = Ledger.open(db_url)
    try:
        entries = list(ledger.iter_raw())
        shared = [e for e in entries if e["stream"] == A]
        assert [e["stream_seq"] for e in shared] == list(range(1, WRITERS * PER_WRITER + 1))
        assert _tips(ledger) == _expected_tips(entries)
        report = verify_entries(iter(entries), keyring)
        assert report.ok, report.problem
    finally:
        ledger.close()


def test_a_stream_whose_tip_is_missing_is_refused_rather_than_restarted(ledger: Ledger) -> None:
    ledger.append_many([draft(1, stream=A), draft(2, stream=B)])
    with ledger.engine.begin() as conn:
        conn.execute(text("DELETE FROM ledger_stream_tips WHERE stream = :s"), {"s": A})
    with pytest.raises(LedgerError, match="stream 'incident:INC-7' has entries but no row in ledger_stream_tips"):
        ledger.append(draft(3, stream=A))
    assert ledger.size() == 2
    assert ledger.append(draft(4, stream=C)).stream_seq == 1  # a stream that is really new still starts
