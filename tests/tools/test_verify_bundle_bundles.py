"""tools/verify_bundle.py on real bundles (SQLite and PostgreSQL ledgers, the package's exporter),
run as the examiner runs it: ``python verify_bundle.py BUNDLE …`` in a subprocess.

Issue 10 spec E: it fails at the first problem, naming the file, entry seq or checkpoint, with
exit status 1; 0 verified; 2 usage error or unreadable input."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from ledger.bundle import DEFAULT_ORIGIN
from ledger.checkpoint import sign_checkpoint
from ledger.keys import generate_key, load_keyring, load_signer
from ledger.merkle import MerkleTree, leaf_hash
from ledger.store import EntryFilter, Ledger
from tests.ledger.conftest import draft
from tests.ledger.format1 import write_format1_ledger
from tests.tools.conftest import INC7, INC9, Licensee, flip_byte, other_key, read_lines, resign, run_tool, write_lines


def _ok(bundle: Path, *args: str) -> list[str]:
    run = run_tool(bundle, *args)
    assert run.returncode == 0, run.stdout + run.stderr
    lines = run.stdout.splitlines()
    assert lines[0].startswith("OK: "), run.stdout
    return lines


def _failed(bundle: Path, *args: str) -> str:
    run = run_tool(bundle, *args)
    assert run.returncode == 1, run.stdout + run.stderr
    first = run.stdout.splitlines()[0]
    assert first.startswith("FAILED: "), run.stdout
    return first


# -- bundles that verify ----------------------------------------------------------------------------


def test_complete_bundle_verifies_with_keys_from_the_bundle_said_to_be_unauthenticated(licensee: Licensee) -> None:
    lines = _ok(licensee.export("all"))
    assert "9 entries, the complete ledger; tree size 9" in lines[0]
    assert "1 consistency proof(s)" in lines[0]
    assert any("keys.json, unauthenticated" in line for line in lines[1:])


def test_complete_bundle_verifies_under_the_filed_key_statement_and_extends_the_filed_checkpoint(
    licensee: Licensee,
) -> None:
    bundle = licensee.export("all")
    lines = _ok(bundle, "--trusted-keys", str(licensee.statement), "--known-checkpoint", str(licensee.known_checkpoint))
    assert "1 known checkpoint(s) extended" in lines[0]
    assert any("trusted key statement of Acme Mutual" in line for line in lines)
    assert not any("unauthenticated" in line for line in lines)


def test_json_output_reports_sizes_and_counts_or_the_problem(licensee: Licensee) -> None:
    bundle = licensee.export("s", EntryFilter(stream=INC7))
    run = run_tool(bundle, "--json")
    report = json.loads(run.stdout)
    assert run.returncode == 0 and report["result"] == "OK" and report["ok"] is True
    assert (report["entries"], report["boundaries"], report["tree_size"], report["proven"]) == (5, 0, 9, "streams")
    flip_byte(bundle / "report.html")
    run = run_tool(bundle, "--json")
    report = json.loads(run.stdout)
    assert run.returncode == 1 and (report["result"], report["ok"]) == ("FAILED", False)
    assert report["problem"].startswith("report.html: SHA-256")


def test_stream_bundle_proves_its_stream_complete_and_extends_the_filed_checkpoint(licensee: Licensee) -> None:
    bundle = licensee.export("s", EntryFilter(stream=INC9))
    lines = _ok(bundle, "--trusted-keys", str(licensee.statement), "--known-checkpoint", str(licensee.known_checkpoint))
    assert "4 entries of 1 stream(s), each stream complete" in lines[0]


def test_jurisdiction_bundle_is_whole_streams_with_an_entry_for_the_state(licensee: Licensee) -> None:
    bundle = licensee.export("mo", EntryFilter(jurisdiction="MO"))
    assert {e["stream"] for e in read_lines(bundle / "entries.jsonl")} == {INC9}
    _ok(bundle)


def test_time_window_bundle_is_bounded_by_the_entries_just_outside_it(licensee: Licensee) -> None:
    where = EntryFilter(since=licensee.ts(INC7, 2), until=licensee.ts(INC7, 4))
    bundle = licensee.export("window", where)
    boundaries = read_lines(bundle / "boundaries.jsonl")
    assert len(boundaries) == 4  # INC-7's 1st and 4th, INC-9's 1st and 4th
    lines = _ok(bundle, "--known-checkpoint", str(licensee.known_checkpoint))
    assert "and 4 boundary entries, each stream complete" in lines[0]


def test_the_cited_document_is_in_the_bundle_and_checked(licensee: Licensee) -> None:
    bundle = licensee.export("s", EntryFilter(stream=INC7))
    [document] = (bundle / "documents").iterdir()
    flip_byte(document)
    assert f"documents/{document.name}: SHA-256" in _failed(bundle)


# -- changed bytes: the signed manifest names the file ----------------------------------------------


def test_one_byte_of_the_report_fails_naming_report_html(licensee: Licensee) -> None:
    bundle = licensee.export("all")
    flip_byte(bundle / "report.html", b"INC-7")
    first = _failed(bundle)
    assert first.startswith("FAILED: report.html: SHA-256 ") and "does not match the manifest" in first


def test_one_byte_of_an_entry_fails_naming_entries_jsonl(licensee: Licensee) -> None:
    bundle = licensee.export("s", EntryFilter(stream=INC7))
    flip_byte(bundle / "entries.jsonl", b"portal")
    assert _failed(bundle).startswith("FAILED: entries.jsonl: SHA-256 ")


def test_a_file_added_or_removed_fails_naming_it(licensee: Licensee) -> None:
    bundle = licensee.export("all")
    (bundle / "run-me.py").write_text("print('trust me')\n")
    assert "run-me.py is in the bundle but not listed in the manifest" in _failed(bundle)
    (bundle / "run-me.py").unlink()
    (bundle / "VERIFY.md").unlink()
    assert "VERIFY.md is listed in the manifest but missing from the bundle" in _failed(bundle)


def test_the_manifest_unsigned_or_signed_by_another_key_fails(licensee: Licensee, tmp_path: Path) -> None:
    bundle = licensee.export("all")
    (bundle / "manifest.sig").unlink()
    assert "manifest.sig is missing" in _failed(bundle)
    stranger, _ = other_key(tmp_path)
    resign(bundle, stranger)
    assert "manifest.sig: the signature does not verify under key" in _failed(bundle)


def test_a_bundle_signed_by_a_key_not_in_the_trusted_statement_fails(licensee: Licensee, tmp_path: Path) -> None:
    stranger, ring = other_key(tmp_path)
    forged = Ledger.open(f"sqlite:///{tmp_path / 'forged.db'}", stranger)
    try:
        forged.append_many([draft(n) for n in range(1, 4)])
        from ledger.bundle import export_bundle

        bundle = export_bundle(forged, tmp_path / "forged", ring).path
    finally:
        forged.close()
    _ok(bundle)  # it verifies by itself, under its own keys.json …
    first = _failed(bundle, "--trusted-keys", str(licensee.statement))  # … not under the filed statement
    assert f"manifest.sig: signed by key '{stranger.key_id}', which is not in the trusted key statement" in first


# -- a rewritten and re-signed bundle: the chains and signed heads catch it -------------------------


def test_changed_entry_resigned_fails_at_its_seq_hash_mismatch(licensee: Licensee) -> None:
    bundle = licensee.export("all")
    entries = read_lines(bundle / "entries.jsonl")
    entries[5]["citation"] = "Tenn. Code Ann. § 56-2-1006(c)"
    write_lines(bundle / "entries.jsonl", entries)
    resign(bundle, licensee.signer)
    assert _failed(bundle).startswith("FAILED: seq 6: hash mismatch")


def test_deleted_middle_entry_of_a_complete_bundle_fails_naming_the_missing_seq(licensee: Licensee) -> None:
    bundle = licensee.export("all")
    entries = read_lines(bundle / "entries.jsonl")
    write_lines(bundle / "entries.jsonl", entries[:4] + entries[5:])
    resign(bundle, licensee.signer, entry_count=8)
    assert _failed(bundle).startswith("FAILED: seq 5: missing")


def test_deleted_middle_entry_of_a_stream_bundle_breaks_the_stream_chain(licensee: Licensee) -> None:
    bundle = licensee.export("s", EntryFilter(stream=INC7))
    entries = read_lines(bundle / "entries.jsonl")
    kept, gone, after = entries[1], entries[2], entries[3]
    write_lines(bundle / "entries.jsonl", entries[:2] + entries[3:])
    proofs = [p for p in read_lines(bundle / "proofs.jsonl") if p["seq"] != gone["seq"]]
    write_lines(bundle / "proofs.jsonl", proofs)
    resign(bundle, licensee.signer, entry_count=4, streams={INC7: 4})
    first = _failed(bundle)
    broken = f"FAILED: stream {INC7}: stream chain broken at seq {after['seq']}"
    assert first.startswith(f"{broken}: stream_prev_hash does not match entry seq {kept['seq']}, the previous entry")


def test_deleted_last_entry_of_a_stream_bundle_falls_short_of_the_signed_stream_head(licensee: Licensee) -> None:
    bundle = licensee.export("s", EntryFilter(stream=INC7))
    entries = read_lines(bundle / "entries.jsonl")
    write_lines(bundle / "entries.jsonl", entries[:-1])
    resign(bundle, licensee.signer, entry_count=4, streams={INC7: 4})
    first = _failed(bundle)
    assert f"stream {INC7}: the signed stream head says the stream has 5 entries" in first
    assert f"the bundle's last entry of it is seq {entries[-2]['seq']}" in first


def test_swapped_pair_fails_out_of_seq_order(licensee: Licensee) -> None:
    bundle = licensee.export("s", EntryFilter(stream=INC9))
    entries = read_lines(bundle / "entries.jsonl")
    entries[1], entries[2] = entries[2], entries[1]
    write_lines(bundle / "entries.jsonl", entries)
    resign(bundle, licensee.signer)
    assert f"seq {entries[2]['seq']}: entries.jsonl is out of seq order" in _failed(bundle)


def test_a_stream_head_removed_fails_naming_the_stream(licensee: Licensee) -> None:
    bundle = licensee.export("s", EntryFilter(stream=INC7))
    (bundle / "stream_heads.json").write_text(json.dumps({"format": "noticeflow-stream-heads/1", "heads": []}))
    resign(bundle, licensee.signer)
    assert _failed(bundle) == (
        f"FAILED: stream_heads.json: the bundle is filtered to stream {INC7}, but has heads for no stream"
    )


def test_a_window_boundary_removed_means_the_slice_does_not_start_at_the_stream_start(licensee: Licensee) -> None:
    where = EntryFilter(since=licensee.ts(INC7, 2), until=licensee.ts(INC7, 4))
    bundle = licensee.export("window", where)
    first_of_inc7 = licensee.entries[0]
    assert first_of_inc7["stream"] == INC7
    write_lines(bundle / "boundaries.jsonl", [b for b in read_lines(bundle / "boundaries.jsonl") if b["seq"] != 1])
    resign(bundle, licensee.signer, boundary_count=3)
    first = _failed(bundle)
    assert f"stream {INC7} starts in this bundle at stream position 2 with no boundary entry before it" in first


def test_an_entry_moved_outside_the_window_by_a_changed_filter_fails(licensee: Licensee) -> None:
    bundle = licensee.export("s", EntryFilter(stream=INC7))
    manifest = json.loads((bundle / "manifest.json").read_text())
    resign(bundle, licensee.signer, filter=manifest["filter"] | {"since": licensee.ts(INC7, 2)})
    assert _failed(bundle).startswith(f"FAILED: seq 1: ts {licensee.ts(INC7, 1)} lies outside the bundle's window")


def test_a_bad_inclusion_proof_fails_naming_the_seq(licensee: Licensee) -> None:
    bundle = licensee.export("s", EntryFilter(stream=INC9))
    proofs = read_lines(bundle / "proofs.jsonl")
    proofs[1]["audit_path"][0] = "ab" * 32
    write_lines(bundle / "proofs.jsonl", proofs)
    resign(bundle, licensee.signer)
    assert f"seq {proofs[1]['seq']}: the inclusion proof against the signed tree head fails" in _failed(bundle)


# -- checkpoints the examiner holds -----------------------------------------------------------------


def test_a_known_checkpoint_of_a_fork_fails_naming_it(licensee: Licensee, tmp_path: Path) -> None:
    """The same key signed another history (a rewrite): its checkpoint at size 4 has another root."""
    bundle = licensee.export("all")
    leaves = [leaf_hash(bytes.fromhex(e["hash"])) for e in licensee.entries[:4]]
    leaves[2] = leaf_hash(b"\x07" * 32)
    fork = tmp_path / "fork-checkpoint.txt"
    fork.write_text(sign_checkpoint(licensee.signer, DEFAULT_ORIGIN, 4, MerkleTree(leaves).root()))
    first = _failed(bundle, "--known-checkpoint", str(licensee.known_checkpoint), "--known-checkpoint", str(fork))
    assert first.startswith(f"FAILED: {fork}: the bundle's ledger does not extend checkpoint 4 (")
    assert "a fork or rewrite" in first
    # A filtered bundle proves it with consistency.jsonl instead of the entries.
    stream_bundle = licensee.export("s", EntryFilter(stream=INC7))
    assert "a fork or rewrite" in _failed(stream_bundle, "--known-checkpoint", str(fork))


def test_a_known_checkpoint_larger_than_the_bundle_means_truncation(licensee: Licensee, tmp_path: Path) -> None:
    bundle = licensee.export("all")
    later = tmp_path / "later.txt"
    later.write_text(sign_checkpoint(licensee.signer, DEFAULT_ORIGIN, 12, b"\x01" * 32))
    first = _failed(bundle, "--known-checkpoint", str(later))
    assert f"{later}: the bundle's ledger does not extend checkpoint 12" in first and "truncated" in first


def test_a_known_checkpoint_signed_by_an_untrusted_key_fails(licensee: Licensee, tmp_path: Path) -> None:
    stranger, _ = other_key(tmp_path)
    forged = tmp_path / "forged.txt"
    forged.write_text(sign_checkpoint(stranger, DEFAULT_ORIGIN, 4, b"\x01" * 32))
    first = _failed(licensee.export("all"), "--known-checkpoint", str(forged))
    assert first.startswith(f"FAILED: {forged}: the checkpoint does not verify under the trusted keys: ")
    assert "no signature by a key in keys.json" in first


def test_consistency_proof_tampered_fails_naming_its_line(licensee: Licensee) -> None:
    bundle = licensee.export("s", EntryFilter(stream=INC7))
    [row] = read_lines(bundle / "consistency.jsonl")
    row["proof"][0] = "cd" * 32
    write_lines(bundle / "consistency.jsonl", [row])
    resign(bundle, licensee.signer)
    assert _failed(bundle).startswith("FAILED: consistency.jsonl line 1: the ledger at tree size 9 does not extend")


# -- exit status 2 ------------------------------------------------------------------------------------


def test_usage_errors_and_unreadable_inputs_exit_2(licensee: Licensee, tmp_path: Path) -> None:
    bundle = licensee.export("all")
    absent = (["--known-checkpoint", str(tmp_path / "absent.txt")], ["--trusted-keys", str(tmp_path / "absent.json")])
    for args in (*absent, ["--no-such-option"]):
        run = run_tool(bundle, *args)
        assert run.returncode == 2 and run.stdout == "", (args, run.stdout, run.stderr)
    assert run_tool(tmp_path / "not-a-bundle").returncode == 2
    (bundle / "manifest.json").unlink()
    run = run_tool(bundle)
    assert run.returncode == 2 and "no readable manifest.json" in run.stderr


# -- ledgers that began in format 1 -----------------------------------------------------------------


def test_stream_of_format1_entries_continued_in_format2_verifies_with_a_note(tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    generate_key(keys, now="2020-01-01T00:00:00.000000Z")
    signer, ring = load_signer(keys), load_keyring(keys)
    url = f"sqlite:///{tmp_path / 'old.db'}"
    write_format1_ledger(url, signer, [draft(1), draft(2), draft(1, stream=INC9)])
    ledger = Ledger.open(url, signer)
    try:
        ledger.append_many([draft(3), draft(4)])
        from ledger.bundle import export_bundle

        complete = export_bundle(ledger, tmp_path / "all", ring).path
        stream = export_bundle(ledger, tmp_path / "s", ring, EntryFilter(stream=INC7)).path
    finally:
        ledger.close()
    _ok(complete)
    lines = _ok(stream)
    assert any(
        f"stream {INC7}: entries before stream position 3 predate the per-stream chain" in line for line in lines
    )
    # The first v2 entry names the v1 entry before it: dropping that one is caught by the link …
    pristine = tmp_path / "pristine"
    shutil.copytree(stream, pristine)
    entries = read_lines(stream / "entries.jsonl")
    write_lines(stream / "entries.jsonl", [entries[0], *entries[2:]])
    resign(stream, signer, entry_count=3, streams={INC7: 3})
    assert "stream_prev_hash does not match entry seq 1, the previous entry" in _failed(stream)
    # … and dropping the stream's first (v1) entry by the count: the slice claims the stream's start.
    shutil.rmtree(stream)
    shutil.copytree(pristine, stream)
    write_lines(stream / "entries.jsonl", entries[1:])
    resign(stream, signer, entry_count=3, streams={INC7: 3})
    assert f"stream {INC7}: stream chain broken at seq 4: stream_seq 3, but it is entry 2" in _failed(stream)


def test_bundle_copy_verifies_where_the_licensee_never_was(licensee: Licensee, tmp_path: Path) -> None:
    """An examiner's copy elsewhere verifies the same: nothing depends on absolute paths."""
    bundle = licensee.export("s", EntryFilter(stream=INC7))
    copy = tmp_path / "examiner" / "received"
    shutil.copytree(bundle, copy)
    _ok(copy, "--trusted-keys", str(licensee.statement))
