"""One stream's slice of a filtered bundle proves itself complete against its signed stream head
(docs/ledger-format.md §13.2): removing an entry anywhere — first, middle, last —
or leaving the window's edges unshown is named; format 1 entries before the per-stream chain are
counted and noted. The slices here are cut from real ledgers as the bundle writer cuts them."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ledger.keys import Signer
from ledger.store import EntryFilter, Ledger
from ledger.verify import StreamSliceCheck, verify_stream_slice
from models.ledger import StreamHead
from tests.ledger.conftest import draft
from tests.ledger.format1 import write_format1_ledger

A, B = "incident:INC-7", "incident:INC-8"


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'ledger.db'}"


@pytest.fixture
def paced(sqlite_url: str, signer: Signer) -> Iterator[Ledger]:
    """Twelve entries, one append each (distinct ts): A at odd n, B at even n."""
    ledger = Ledger.open(sqlite_url, signer)
    for n in range(1, 13):
        ledger.append(draft(n, stream=A if n % 2 else B))
        time.sleep(0.002)
    yield ledger
    ledger.close()


def cut(ledger: Ledger, stream: str, since: str | None = None, until: str | None = None) -> tuple[list[dict], set[int], StreamHead]:
    """The stream's entries in the window, with the boundary entries a bundle carries, and its head."""
    tree = ledger.sign_tree_head()
    everything = list(ledger.iter_raw(EntryFilter(stream=stream, max_seq=tree.tree_size)))
    chosen = [i for i, e in enumerate(everything) if (not since or e["ts"] >= since) and (not until or e["ts"] < until)]
    lo, hi = chosen[0], chosen[-1]
    sliced = everything[max(lo - 1, 0) : hi + 2]
    return sliced, {everything[i]["seq"] for i in chosen}, ledger.sign_stream_head(stream, tree)


def check(entries: list[dict], selected: set[int], head: StreamHead, since: str | None = None, until: str | None = None) -> StreamSliceCheck:
    return verify_stream_slice(entries, head, since=since, until=until, selected_seqs=selected)


# -- whole streams ---------------------------------------------------------------------------------


def test_a_whole_format_2_stream_is_proven_complete(paced: Ledger) -> None:
    entries, selected, head = cut(paced, A)
    result = check(entries, selected, head)
    assert result.ok and result.notes == [] and result.format1_before is None
    assert [e["stream_seq"] for e in entries] == [1, 2, 3, 4, 5, 6]


def test_a_removed_middle_entry_is_named_at_the_next_entry_of_the_stream(paced: Ledger) -> None:
    entries, selected, head = cut(paced, A)
    del entries[2]  # seq 5
    problem = check(entries, selected, head).problem
    assert problem.seq == 7
    assert problem.what == (
        "stream incident:INC-7: stream chain broken: stream_prev_hash of seq 7 does not match seq 3, the previous "
        "entry of this stream in the bundle — an entry of this stream was removed, inserted or reordered"
    )


def test_a_removed_last_entry_is_detected_against_the_stream_head(paced: Ledger) -> None:
    entries, selected, head = cut(paced, B)
    problem = check(entries[:-1], selected, head).problem
    assert problem.seq == 10 and "entries at the end of this stream were removed" in problem.what


def test_a_removed_first_entry_is_detected(paced: Ledger) -> None:
    entries, selected, head = cut(paced, B)
    problem = check(entries[1:], selected, head).problem
    assert problem.seq == 4 and "starts at stream position 2" in problem.what


def test_entries_out_of_seq_order_are_refused(paced: Ledger) -> None:
    entries, selected, head = cut(paced, A)
    entries[1], entries[2] = entries[2], entries[1]
    problem = check(entries, selected, head).problem
    assert problem.seq == 3 and "not in seq order" in problem.what


def test_an_entry_of_another_stream_is_refused(paced: Ledger) -> None:
    entries, selected, head = cut(paced, A)
    other, _, _ = cut(paced, B)
    mixed = sorted(entries + other[:1], key=lambda e: e["seq"])
    problem = check(mixed, selected | {other[0]["seq"]}, head).problem
    assert problem.seq == 2 and "belongs to stream 'incident:INC-8'" in problem.what


def test_a_stream_head_of_another_size_does_not_fit_the_slice(paced: Ledger) -> None:
    entries, selected, _ = cut(paced, A)
    earlier = paced.sign_stream_head(A, paced.sign_tree_head().model_copy(update={"tree_size": 9}))
    problem = check(entries, selected, earlier).problem
    assert problem.seq == 11 and "beyond the stream head's tree size 9" in problem.what


# -- time windows ----------------------------------------------------------------------------------


def test_a_window_slice_between_boundary_entries_is_proven(paced: Ledger) -> None:
    since, until = paced.get(5).ts, paced.get(9).ts
    entries, selected, head = cut(paced, A, since, until)
    assert [e["seq"] for e in entries] == [3, 5, 7, 9] and selected == {5, 7}
    assert check(entries, selected, head, since, until).ok


def test_a_window_slice_without_its_boundary_before_is_refused(paced: Ledger) -> None:
    since = paced.get(5).ts
    entries, selected, head = cut(paced, A, since)
    assert check(entries[1:], selected, head, since).problem.what.endswith(
        "entries at the start of this stream were removed"
    )


def test_a_window_slice_missing_its_first_window_entry_is_refused(paced: Ledger) -> None:
    # Dropping seq 5 and showing seq 3 as the boundary: seq 7 does not follow seq 3 in the stream.
    since, until = paced.get(5).ts, paced.get(9).ts
    entries, selected, head = cut(paced, A, since, until)
    problem = check([entries[0], *entries[2:]], selected - {5}, head, since, until).problem
    assert problem.seq == 7 and "stream chain broken" in problem.what


def test_a_boundary_entry_inside_the_window_is_refused(paced: Ledger) -> None:
    # The last window entry passed off as the boundary after the slice.
    since, until = paced.get(5).ts, paced.get(9).ts
    entries, selected, head = cut(paced, A, since, until)
    problem = check(entries[:-1], selected - {7}, head, since, until).problem
    assert problem.seq == 7 and "not at or after the window's until" in problem.what


def test_a_selected_entry_outside_the_window_is_refused(paced: Ledger) -> None:
    since, until = paced.get(5).ts, paced.get(9).ts
    entries, selected, head = cut(paced, A, since, until)
    problem = check(entries, selected | {9}, head, since, until).problem
    assert problem.seq == 9 and "is not before the window's until" in problem.what


def test_a_window_slice_cut_at_its_last_entry_is_refused(paced: Ledger) -> None:
    # A window reaching the stream's end must end at the stream head's last entry.
    since = paced.get(7).ts
    entries, selected, head = cut(paced, A, since)
    problem = check(entries[:-1], selected - {11}, head, since).problem
    assert problem.seq == 9 and "entries at the end of this stream were removed" in problem.what


def test_an_unselected_entry_inside_the_slice_is_refused(paced: Ledger) -> None:
    entries, selected, head = cut(paced, A)
    problem = check(entries, selected - {5}, head).problem
    assert problem.seq == 5 and "only its first and last may be boundary entries" in problem.what


# -- format 1 entries before the per-stream chain ----------------------------------------------------


@pytest.fixture
def mixed(sqlite_url: str, signer: Signer) -> Iterator[Ledger]:
    """Format 1: A, B, A, A, B, A (seq 1–6, a minute apart); then format 2: A, B, A (seq 7–9)."""
    write_format1_ledger(sqlite_url, signer, [draft(n, stream=s) for n, s in enumerate([A, B, A, A, B, A], start=1)])
    ledger = Ledger.open(sqlite_url, signer)
    for n, stream in ((7, A), (8, B), (9, A)):
        ledger.append(draft(n, stream=stream))
    yield ledger
    ledger.close()


def test_format_1_entries_before_the_chain_are_counted_and_noted(mixed: Ledger) -> None:
    entries, selected, head = cut(mixed, A)
    assert [e.get("v") for e in entries] == [None, None, None, None, 2, 2]
    result = check(entries, selected, head)
    assert result.ok and result.format1_before == 5
    assert result.notes == [
        (
            "stream incident:INC-7: entries before stream position 5 predate the per-stream chain; "
            "their completeness is not proven"
        )
    ]


def test_a_removed_format_1_entry_is_caught_by_the_first_format_2_position(mixed: Ledger) -> None:
    entries, selected, head = cut(mixed, A)
    del entries[1]  # seq 3, format 1
    problem = check(entries, selected, head).problem
    assert problem.seq == 7 and "stream_seq is 5 but the bundle's entries place it at stream position 4" in problem.what


def test_a_format_1_only_stream_is_counted_against_its_head_and_noted(sqlite_url: str, signer: Signer) -> None:
    write_format1_ledger(sqlite_url, signer, [draft(n, stream=A) for n in range(1, 5)])
    ledger = Ledger.open(sqlite_url, signer)
    try:
        entries, selected, head = cut(ledger, A)
        result = check(entries, selected, head)
        assert result.ok and result.format1_before == 5
        assert result.notes == ["stream incident:INC-7: its entries predate the per-stream chain; their completeness is not proven"]
        problem = check(entries[:1] + entries[2:], selected, head).problem
        assert problem.seq == 4 and "ends at stream position 3, but the stream head counts 4" in problem.what
    finally:
        ledger.close()


def test_a_window_after_a_format_1_boundary_is_placed_by_its_first_format_2_entry(mixed: Ledger) -> None:
    since = mixed.get(4).ts
    entries, selected, head = cut(mixed, A, since)
    assert [e["seq"] for e in entries] == [3, 4, 6, 7, 9] and selected == {4, 6, 7, 9}
    result = check(entries, selected, head, since)
    assert result.ok and result.format1_before == 5
