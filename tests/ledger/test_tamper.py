"""Tampering is detected, and the verifier names the first bad seq (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import text

from ledger.chain import entry_hash
from ledger.keys import Keyring, Signer
from ledger.store import Ledger
from ledger.verify import verify_against_earlier_head, verify_entries
from models.ledger import GENESIS_PREV_HASH, TreeHead
from tests.ledger.conftest import draft, fill

SIZE = 10


@pytest.fixture
def filled(ledger: Ledger, keyring: Keyring) -> Ledger:
    fill(ledger, SIZE)
    assert verify_entries(ledger.iter_raw(), keyring).ok
    return ledger


def _sql(ledger: Ledger, statement: str, **params: object) -> None:
    with ledger.engine.begin() as conn:
        conn.execute(text(statement), params)


def _row(ledger: Ledger, seq: int) -> dict:
    return next(e for e in ledger.iter_raw() if e["seq"] == seq)


def _verify(ledger: Ledger, keyring: Keyring, heads: list[TreeHead] | None = None):
    return verify_entries(ledger.iter_raw(), keyring, heads if heads is not None else ledger.stored_heads())


def test_changed_data_field_is_detected_at_its_seq(filled: Ledger, keyring: Keyring) -> None:
    data = _row(filled, 4)["data"] | {"consumers": 1}
    _sql(filled, "UPDATE ledger_entries SET data = :d WHERE seq = 4", d=json.dumps(data))
    report = _verify(filled, keyring)
    assert report.problem.seq == 4 and "hash mismatch" in report.problem.what


def test_changed_citation_is_detected_at_its_seq(filled: Ledger, keyring: Keyring) -> None:
    _sql(filled, "UPDATE ledger_entries SET citation = 'Tenn. Code Ann. § 56-2-1006(c)' WHERE seq = 7")
    report = _verify(filled, keyring)
    assert report.problem.seq == 7 and "hash mismatch" in report.problem.what


def test_deleted_entry_is_detected_at_its_seq(filled: Ledger, keyring: Keyring) -> None:
    _sql(filled, "DELETE FROM ledger_entries WHERE seq = 5")
    report = _verify(filled, keyring)
    assert report.problem.seq == 5 and "missing" in report.problem.what


def test_deleted_entry_with_later_entries_renumbered_is_detected(filled: Ledger, keyring: Keyring) -> None:
    _sql(filled, "DELETE FROM ledger_entries WHERE seq = 5")
    for seq in range(6, SIZE + 1):
        _sql(filled, "UPDATE ledger_entries SET seq = :new WHERE seq = :old", new=seq - 1, old=seq)
    report = _verify(filled, keyring)
    assert report.problem.seq == 5


def test_inserted_entry_is_detected_at_its_seq(filled: Ledger, keyring: Keyring) -> None:
    """A forger shifts seq 6.. up by one and writes a well-formed entry at 6, chained to seq 5,
    signed with a key of their own (in a stream of its own, so the stream chain is in order)."""
    for seq in range(SIZE, 5, -1):
        _sql(filled, "UPDATE ledger_entries SET seq = :new WHERE seq = :old", new=seq + 1, old=seq)
    forger = Signer.generate()
    forged = {
        **_row(filled, 5),
        "seq": 6,
        "stream": "incident:INC-9",
        "step": "forged",
        "type": "consumer_notice.sent",
        "prev_hash": _row(filled, 5)["hash"],
        "stream_seq": 1,
        "stream_prev_hash": GENESIS_PREV_HASH,
        "key_id": forger.key_id,
    }
    forged["hash"] = entry_hash(forged)
    forged["sig"] = forger.sign(bytes.fromhex(forged["hash"]))
    _sql(
        filled,
        "INSERT INTO ledger_entries (v, seq, ts, stream, type, step, workflow_id, run_id, jurisdiction, citation,"
        " actor, data, prev_hash, stream_seq, stream_prev_hash, key_id, hash, sig) VALUES (:v, :seq, :ts, :stream,"
        " :type, :step, :workflow_id, :run_id, :jurisdiction, :citation, :actor, :data, :prev_hash, :stream_seq,"
        " :stream_prev_hash, :key_id, :hash, :sig)",
        **{**forged, "data": json.dumps(forged["data"])},
    )
    report = _verify(filled, keyring)
    assert report.problem.seq == 6 and "unknown key" in report.problem.what


def test_two_swapped_entries_are_detected_at_the_first(filled: Ledger, keyring: Keyring) -> None:
    _sql(filled, "UPDATE ledger_entries SET seq = -3 WHERE seq = 3")
    _sql(filled, "UPDATE ledger_entries SET seq = 3 WHERE seq = 4")
    _sql(filled, "UPDATE ledger_entries SET seq = 4 WHERE seq = -3")
    report = _verify(filled, keyring)
    assert report.problem.seq == 3 and "hash mismatch" in report.problem.what


def test_entry_resigned_with_a_foreign_key_under_its_own_key_id_is_detected(
    filled: Ledger, keyring: Keyring
) -> None:
    entry = _row(filled, 8)
    entry["data"] = entry["data"] | {"channel": "email"}
    new_hash = entry_hash(entry)
    _sql(
        filled,
        "UPDATE ledger_entries SET data = :d, hash = :h, sig = :s WHERE seq = 8",
        d=json.dumps(entry["data"]),
        h=new_hash,
        s=Signer.generate().sign(bytes.fromhex(new_hash)),
    )
    report = _verify(filled, keyring)
    assert report.problem.seq == 8 and "signature does not verify" in report.problem.what


def test_rewritten_tail_resigned_by_a_foreign_key_is_detected_at_its_first_entry(
    filled: Ledger, keyring: Keyring
) -> None:
    """Re-chaining every later entry does not help a forger without the licensee's key."""
    forger = Signer.generate()
    prev = _row(filled, 5)["hash"]
    for seq in range(6, SIZE + 1):
        entry = _row(filled, seq) | {"prev_hash": prev, "key_id": forger.key_id}
        if seq == 6:
            entry["data"] = entry["data"] | {"consumers": 0}
        entry["hash"] = prev = entry_hash(entry)
        _sql(
            filled,
            "UPDATE ledger_entries SET data = :d, prev_hash = :p, key_id = :k, hash = :h, sig = :s WHERE seq = :seq",
            d=json.dumps(entry["data"]),
            p=entry["prev_hash"],
            k=forger.key_id,
            h=entry["hash"],
            s=forger.sign(bytes.fromhex(entry["hash"])),
            seq=seq,
        )
    report = _verify(filled, keyring)
    assert report.problem.seq == 6 and "unknown key" in report.problem.what


def test_truncated_tail_is_detected_against_a_stored_tree_head(filled: Ledger, keyring: Keyring) -> None:
    filled.sign_tree_head()
    _sql(filled, "DELETE FROM ledger_entries WHERE seq > 7")
    report = _verify(filled, keyring)
    assert report.problem.seq == 8 and "removed" in report.problem.what


def test_truncated_tail_is_detected_against_an_earlier_head_through_a_consistency_proof(
    filled: Ledger, keyring: Keyring
) -> None:
    """The operator also deleted the stored heads; the examiner kept one from an earlier export."""
    kept = filled.sign_tree_head(store=False)
    _sql(filled, "DELETE FROM ledger_entries WHERE seq > 6")
    assert _verify(filled, keyring).ok  # the chain alone cannot see a clean cut at the tail
    problem = verify_against_earlier_head(kept, keyring, filled.leaf_hashes())
    assert problem.seq == 7 and "truncated" in problem.what


def test_truncated_and_regrown_tail_fails_the_consistency_proof(filled: Ledger, keyring: Keyring, signer: Signer) -> None:
    """Even with the real key (a compromised worker), dropping entries 9–10 and appending
    others in their place cannot extend an earlier signed head."""
    kept = filled.sign_tree_head(store=False)
    _sql(filled, "DELETE FROM ledger_entries WHERE seq > 8")
    tip = _row(filled, 8)
    _sql(filled, "UPDATE ledger_tip SET size = 8, last_hash = :h", h=tip["hash"])
    _sql(filled, "UPDATE ledger_stream_tips SET size = 8, last_hash = :h, last_seq = 8", h=tip["hash"])
    filled.append_many([draft(n, data={"n": n, "rewritten": True}) for n in range(20, 24)])
    assert _verify(filled, keyring, heads=[]).ok
    problem = verify_against_earlier_head(kept, keyring, filled.leaf_hashes())
    assert problem is not None and problem.seq == SIZE and "does not extend" in problem.what


def test_untampered_ledger_extends_its_earlier_head(filled: Ledger, keyring: Keyring) -> None:
    kept = filled.sign_tree_head(store=False)
    filled.append_many([draft(n) for n in range(11, 30)])
    assert verify_against_earlier_head(kept, keyring, filled.leaf_hashes()) is None


def test_forged_tree_head_is_rejected(filled: Ledger, keyring: Keyring) -> None:
    head = filled.sign_tree_head(store=False)
    forged = TreeHead(**(head.model_dump() | {"tree_size": 3}))
    report = _verify(filled, keyring, heads=[forged])
    assert not report.ok and "signature does not verify" in report.problem.what


def test_bundle_line_edits_are_detected(tmp_path: Path, filled: Ledger, keyring: Keyring) -> None:
    from ledger.export import export_bundle, verify_bundle

    bundle = export_bundle(filled, tmp_path / "bundle", keyring).path
    lines = (bundle / "entries.jsonl").read_text().splitlines()
    cases = {
        "swap": (lines[:2] + [lines[3], lines[2]] + lines[4:], 3),
        "delete": (lines[:5] + lines[6:], 6),
        "truncate": (lines[:8], 9),
        "edit": (lines[:1] + [lines[1].replace('"TN"', '"TX"')] + lines[2:], 2),
    }
    for name, (new_lines, bad_seq) in cases.items():
        (bundle / "entries.jsonl").write_text("\n".join(new_lines) + "\n")
        report = verify_bundle(bundle)
        assert report.problem is not None and report.problem.seq == bad_seq, (name, report.problem)


# -- the per-stream chain (entry format 2) ---------------------------------------------------------


def _rewrite(ledger: Ledger, seq: int, entry: dict) -> None:
    _sql(
        ledger,
        "UPDATE ledger_entries SET seq = :seq, prev_hash = :p, stream_seq = :ss, stream_prev_hash = :sp, hash = :h,"
        " sig = :s WHERE step = :step",
        seq=seq,
        p=entry["prev_hash"],
        ss=entry["stream_seq"],
        sp=entry["stream_prev_hash"],
        h=entry["hash"],
        s=entry["sig"],
        step=entry["step"],
    )


@pytest.fixture
def interleaved(ledger: Ledger, keyring: Keyring) -> Ledger:
    """Ten entries, odd seqs in incident:INC-7, even seqs in incident:INC-8."""
    ledger.append_many([draft(n, stream="incident:INC-7" if n % 2 else "incident:INC-8") for n in range(1, SIZE + 1)])
    assert verify_entries(ledger.iter_raw(), keyring).ok
    return ledger


def test_a_stream_entry_removed_and_the_global_chain_resigned_with_the_real_key_breaks_the_stream_chain(
    interleaved: Ledger, keyring: Keyring, signer: Signer
) -> None:
    """A compromised worker deletes seq 5 (incident:INC-7) and renumbers, re-chains and re-signs
    every later entry with the licensee's own key: the global chain is whole again, but the next
    entry of the stream still names the removed one as its predecessor."""
    later = [_row(interleaved, seq) for seq in range(6, SIZE + 1)]
    _sql(interleaved, "DELETE FROM ledger_entries WHERE seq >= 5")
    prev = _row(interleaved, 4)["hash"]
    for new_seq, entry in enumerate(later, start=5):
        entry = entry | {"seq": new_seq, "prev_hash": prev}
        entry["hash"] = prev = entry_hash(entry)
        entry["sig"] = signer.sign(bytes.fromhex(entry["hash"]))
        _sql(
            interleaved,
            "INSERT INTO ledger_entries (v, seq, ts, stream, type, step, workflow_id, run_id, jurisdiction, citation,"
            " actor, data, prev_hash, stream_seq, stream_prev_hash, key_id, hash, sig) VALUES (:v, :seq, :ts,"
            " :stream, :type, :step, :workflow_id, :run_id, :jurisdiction, :citation, :actor, :data, :prev_hash,"
            " :stream_seq, :stream_prev_hash, :key_id, :hash, :sig)",
            **{**entry, "data": json.dumps(entry["data"])},
        )
    report = _verify(interleaved, keyring)
    assert report.problem.seq == 6
    assert report.problem.what == (
        "stream chain broken: stream_prev_hash does not match entry seq 3, the previous entry of incident:INC-7 "
        "— an entry of this stream was removed, inserted or reordered"
    )


def test_a_stream_position_changed_and_resigned_with_the_real_key_is_detected(
    interleaved: Ledger, keyring: Keyring, signer: Signer
) -> None:
    entry = _row(interleaved, SIZE) | {"stream_seq": 7}  # the 5th entry of incident:INC-8
    entry["hash"] = entry_hash(entry)
    entry["sig"] = signer.sign(bytes.fromhex(entry["hash"]))
    _rewrite(interleaved, SIZE, entry)
    report = _verify(interleaved, keyring)
    assert report.problem.seq == SIZE
    assert "stream_seq is 7 but this is entry 5 of incident:INC-8" in report.problem.what


def test_the_first_entry_of_a_stream_must_link_to_zeros(interleaved: Ledger, keyring: Keyring, signer: Signer) -> None:
    # seq 2 opens incident:INC-8; pointing it at another entry claims an earlier one existed.
    entry = _row(interleaved, 2) | {"stream_prev_hash": _row(interleaved, 1)["hash"]}
    entry["hash"] = entry_hash(entry)
    entry["sig"] = signer.sign(bytes.fromhex(entry["hash"]))
    _rewrite(interleaved, 2, entry)
    report = _verify(interleaved, keyring)
    assert report.problem.seq == 2 and "first entry of incident:INC-8" in report.problem.what


def test_changed_stream_fields_without_resigning_are_a_hash_mismatch(interleaved: Ledger, keyring: Keyring) -> None:
    # stream_seq and stream_prev_hash are inside the hashed content of a format 2 entry.
    _sql(interleaved, "UPDATE ledger_entries SET stream_seq = 40 WHERE seq = 7")
    report = _verify(interleaved, keyring)
    assert report.problem.seq == 7 and "hash mismatch" in report.problem.what


def test_a_format_2_entry_passed_off_as_format_1_is_a_hash_mismatch(interleaved: Ledger, keyring: Keyring) -> None:
    # Dropping the per-stream chain from an entry changes what it hashes to.
    _sql(interleaved, "UPDATE ledger_entries SET v = 1 WHERE seq = 4")
    assert "v" not in _row(interleaved, 4)
    report = _verify(interleaved, keyring)
    assert report.problem.seq == 4 and "hash mismatch" in report.problem.what


def test_an_unknown_entry_format_version_is_named(interleaved: Ledger, keyring: Keyring) -> None:
    _sql(interleaved, "UPDATE ledger_entries SET v = 3 WHERE seq = 4")
    report = _verify(interleaved, keyring)
    assert report.problem.seq == 4 and "unknown entry format version 3" in report.problem.what
