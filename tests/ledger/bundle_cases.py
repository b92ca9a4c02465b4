"""Demo-like examination bundles and the tamper matrix both bundle verifiers are held to.

``demo_bundles`` (a fixture, SQLite and PostgreSQL) builds a realistic ledger — incidents in TN
and KY, a privacy stream, a stream whose first entries predate the per-stream chain (format 1), a
privileged counsel review, documents in a real document store cited from the entries — signs a
tree head and a checkpoint mid-way (what a filing does), forks a second ledger from the same first
entries, and exports bundles: ``full``, ``stream`` (incident:INC-7), ``jurisdiction`` (KY),
``jurisdiction_tn`` (TN: the stream with format-1 entries, written by tests/ledger/format1.py) and ``window`` (a time slice),
and ``format1_stream`` (incident:INC-3 of a second ledger that holds only format-1 entries).

``TAMPER_CASES`` lists ``TamperCase(name, bundle, mutate, expected, …)``: ``prepare(case, demo,
workdir)`` copies the pristine bundle, applies ``mutate(bundle_dir)``, re-signs the manifest with
the licensee's own key when ``case.resign`` (a licensee rewriting its own evidence), and returns
the bundle and the arguments to verify it with. Every verifier must fail on every case with a
message containing ``case.expected`` (noticeflow's ``verify_bundle`` and tools/verify_bundle.py).

``STATEMENT_CASES`` lists key statements, signed by the licensee's own keys, that break a rule of
docs §12: ``prepare_statement(case, demo, workdir)`` writes one and returns the complete bundle
with it as ``--trusted-keys``. Every verifier must refuse it as unusable input (exit 2) with a
message containing ``case.expected``.
"""

from __future__ import annotations

import json
import shutil
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import MetaData, delete, insert, select

from activities.documents import DocumentStore
from ledger.bundle import export_bundle
from ledger.bundle_files import MANIFEST, MANIFEST_SIG, pretty_json, sha256_file
from ledger.chain import b64encode
from ledger.checkpoint import note_verifier_key, sign_checkpoint
from ledger.key_statement import build_key_statement, fingerprint, signed_bytes
from ledger.keys import (
    Keyring,
    Signer,
    generate_key,
    load_keyring,
    load_signer,
    raw_public_key,
)
from ledger.store import EntryFilter, Ledger
from models.content import DocumentKind
from models.ledger import EntryDraft
from tests.ledger.format1 import write_format1_ledger
from tests.postgres import PostgresServer

ORIGIN = "ledger.acme-mutual.example/notices"
LICENSEE = "Acme Mutual Insurance Company"
TN = "Tenn. Code Ann. § 56-2-1006"
KY = "Ky. Rev. Stat. § 304.3-760"
INC7, INC8, INC5, POLICY = "incident:INC-7", "incident:INC-8", "incident:INC-5", "privacy:POL-1"
#: The privileged text: never in a bundle.
COUNSEL_NOTES = "Counsel advises the vendor contract indemnity clause applies"


# -- building the ledger ---------------------------------------------------------------------


def step(stream: str, type_: str, name: str, *, jurisdiction: str | None = None, citation: str | None = None,
         data: dict[str, Any] | None = None, actor: str = "worker") -> EntryDraft:
    return EntryDraft(
        stream=stream, type=type_, step=f"{stream}/{name}", workflow_id=f"wf-{stream.split(':')[-1]}", run_id="run-1",
        jurisdiction=jurisdiction, citation=citation, actor=actor, data=data or {},
    )


def copy_ledger(source: Ledger, target: Ledger) -> None:
    """Make ``target`` (a fresh ledger) hold exactly what ``source`` holds: same entries, tips, heads."""
    tables = ("ledger_entries", "ledger_tip", "ledger_stream_tips", "ledger_tree_heads")
    meta = MetaData()
    meta.reflect(source.engine, only=tables)
    with source.engine.connect() as src, target.engine.begin() as dst:
        for name in tables:
            table = meta.tables[name]
            rows = [dict(r._mapping) for r in src.execute(select(table))]
            dst.execute(delete(table))
            if rows:
                dst.execute(insert(table), rows)


@dataclass
class DemoBundles:
    """Pristine bundles of one demo ledger, and what an examiner holds to verify them."""

    root: Path
    bundles: dict[str, Path]
    statement: Path  # the licensee's key statement, filed earlier
    other_statement: Path  # a statement of keys that did not sign these bundles
    checkpoints: dict[str, Path]  # "filed": size 10 (extended); "fork": a fork's; "later": beyond the bundles
    signer: Signer
    keyring: Keyring
    documents_dir: Path
    documents: dict[str, str] = field(default_factory=dict)  # name → sha256
    window: tuple[str, str] = ("", "")
    tree_size: int = 0


#: An older incident, recorded before the per-stream chain: seq 1-3, format 1.
FORMAT1_STEPS = [
    step(INC5, "incident.intake_recorded", "intake", citation=f"{TN}(a)", data={"affected_states": ["TN"]}),
    step(INC5, "commissioner_notice.submitted", "report/v1", jurisdiction="TN", citation=f"{TN}(b)(1)",
         data={"version": 1, "submission_id": "TN-2026-0001"}),
    step(INC5, "consumer_notice.batch_mailed", "letters/1", jurisdiction="TN", citation=f"{TN}(c)(1)",
         data={"letters": 212, "manifest_sha256": "ab" * 32}),
]

INC3, POL0 = "incident:INC-3", "privacy:POL-0"
#: A second, older ledger written entirely before the per-stream chain (format 1, seq 1-6), whose
#: bundle ``format1_stream`` (incident:INC-3, 4 entries: seq 1, 2, 4, 6) holds no format 2 entry:
#: its completeness rests on the positions of §13.2 rules 4-5 and the signed stream head alone.
FORMAT1_ONLY_STEPS = [
    step(INC3, "incident.intake_recorded", "intake", citation=f"{TN}(a)", data={"affected_states": ["TN"]}),
    step(INC3, "incident.determination_recorded", "determination", jurisdiction="TN", citation=f"{TN}(a)",
         data={"cybersecurity_event": True}, actor="user:dwhitfield"),
    step(POL0, "privacy_notice.annual_sent", "annual/2025", citation="15 U.S.C. § 6803(a)", data={"notices": 4980}),
    step(INC3, "commissioner_notice.submitted", "report/v1", jurisdiction="TN", citation=f"{TN}(b)(1)",
         data={"version": 1, "submission_id": "TN-2025-0007"}),
    step(POL0, "opt_out.received", "opt-out/1", citation="15 U.S.C. § 6802(b)", data={"consumer": "hmac-sha256:" + "1a" * 32}),
    step(INC3, "incident.closed", "closed", citation=f"{TN}(a)", data={"closed_by": "user:dwhitfield"}),
]


def build_demo(ledger: Ledger, fork: Ledger, root: Path, key_dir: Path) -> DemoBundles:
    """The demo ledger on ``ledger`` (holding FORMAT1_STEPS, tests/ledger/format1.py), its fork on
    ``fork`` (empty), its bundles and the examiner's files under ``root``."""
    signer, keyring = ledger.signer, load_keyring(key_dir)
    assert signer is not None
    store = DocumentStore(root / "documents")
    report_json = store.put(DocumentKind.COMMISSIONER_REPORT, b'{"licensee": "Acme Mutual", "item_a": "2026-11-02"}',
                            "application/json", f"{TN}(b)(1)")
    report_html = store.put(DocumentKind.COMMISSIONER_REPORT, b"<h1>Report to the Commissioner</h1>", "text/html", f"{TN}(b)(1)")
    letter = store.put(DocumentKind.CONSUMER_LETTER, b"<p>Dear [consumer name],</p><p>Notice of a data breach.</p>",
                       "text/html", f"{KY}(2)")

    # 1-3 (FORMAT1_STEPS): written before the per-stream chain, by the fixture. Format 2 from 4 on.
    assert ledger.size() == 3 and ledger.get(3).v is None
    ledger.append_many([
        step(INC7, "incident.intake_recorded", "intake", citation=f"{TN}(a)", data={"affected_states": ["TN", "KY"], "consumers": 1843}),
        step(INC7, "incident.determination_recorded", "determination", jurisdiction="TN", citation=f"{TN}(a)",
             data={"cybersecurity_event": True}, actor="user:dwhitfield"),
        step(POLICY, "privacy_notice.annual_sent", "annual/2026", citation="15 U.S.C. § 6803(a)", data={"notices": 5120}),
        step(INC7, "commissioner_notice.submitted", "report/v1", jurisdiction="TN", citation=f"{TN}(b)(1)",
             data={"version": 1, "report": report_json.model_dump(mode="json"), "html_sha256": report_html.sha256,
                   "submission_id": "TN-2026-0042"}),
        step(INC8, "incident.intake_recorded", "intake", jurisdiction="KY", citation=f"{KY}(1)", data={"consumers": 17}),
        step(INC7, "incident.counsel_review_recorded", "counsel-review", citation=f"{TN}(b)(1)", actor="user:counsel",
             data={"privileged": True, "privilege": {"basis": "attorney_client", "withheld": "notes",
                                                     "digest": "hmac-sha256:" + "c4" * 32,
                                                     "digest_scheme": "hmac-sha256-commitment/v1",
                                                     "sealed_document": "INC-7/counsel-review"}}),
        step(INC5, "commissioner_notice.acknowledged", "report/v1/ack", jurisdiction="TN", citation=f"{TN}(b)(1)",
             data={"acknowledged_by": "TN Department of Commerce & Insurance"}),
    ])
    filed = ledger.sign_tree_head()  # a commissioner filing signs and stores the head of that moment
    assert filed.tree_size == 10
    copy_ledger(ledger, fork)  # the fork shares the first 10 entries

    # 11-14: the window.
    ledger.append_many([
        step(INC7, "consumer_notice.batch_mailed", "letters/KY/1", jurisdiction="KY", citation=f"{KY}(2)",
             data={"letters": 17, "documents": [letter.sha256], "specimen_sha256": [letter.sha256],
                   "manifest_sha256": "cd" * 32}),
        step(INC8, "commissioner_notice.submitted", "report/v1", jurisdiction="KY", citation=f"{KY}(4)",
             data={"version": 1, "submission_id": "KY-77"}),
        step(POLICY, "opt_out.received", "opt-out/1", citation="15 U.S.C. § 6802(b)", data={"consumer": "hmac-sha256:" + "0e" * 32}),
        step(INC7, "consumer_notice.met", "consumer/KY/met", jurisdiction="KY", citation=f"{KY}(2)", data={"notified": 17}),
    ])
    ledger.sign_tree_head()  # a second filing, at 14
    fork.append_many([
        step(INC7, "consumer_notice.batch_mailed", "letters/KY/1", jurisdiction="KY", citation=f"{KY}(2)",
             data={"letters": 9}),  # the forked history: fewer letters
        step(INC8, "commissioner_notice.submitted", "report/v1", jurisdiction="KY", citation=f"{KY}(4)", data={"version": 1}),
        step(POLICY, "opt_out.received", "opt-out/1", citation="15 U.S.C. § 6802(b)", data={"consumer": "hmac-sha256:" + "0f" * 32}),
        step(INC7, "consumer_notice.met", "consumer/KY/met", jurisdiction="KY", citation=f"{KY}(2)", data={"notified": 9}),
    ])
    fork_size, fork_root = fork.root_at()
    # 15-17: after the window.
    ledger.append_many([
        step(INC8, "consumer_notice.batch_mailed", "letters/KY/1", jurisdiction="KY", citation=f"{KY}(2)", data={"letters": 17}),
        step(INC7, "incident.closed", "closed", citation=f"{TN}(a)", data={"closed_by": "user:dwhitfield"}),
        step(POLICY, "privacy_notice.annual_sent", "annual/2027", citation="15 U.S.C. § 6803(a)", data={"notices": 5200}),
    ])
    window = (ledger.get(11).ts, ledger.get(15).ts)
    assert ledger.get(10).ts < window[0] and ledger.get(14).ts < window[1]

    bundles_dir = root / "bundles"
    filters = {
        "full": EntryFilter(),
        "stream": EntryFilter(stream=INC7),
        "jurisdiction": EntryFilter(jurisdiction="KY"),
        "jurisdiction_tn": EntryFilter(jurisdiction="TN"),
        "window": EntryFilter(since=window[0], until=window[1]),
    }
    bundles = {
        name: export_bundle(ledger, bundles_dir / name, keyring, where, documents_dir=root / "documents", origin=ORIGIN,
                            verifier_sha256="5" * 64).path
        for name, where in filters.items()
    }
    size = ledger.size()
    assert size == 17

    examiner = root / "examiner"
    examiner.mkdir()
    statement = build_key_statement(keyring, [signer], licensee=LICENSEE, origin=ORIGIN)
    (examiner / "key-statement.json").write_text(json.dumps(statement, indent=2))
    stranger_dir = root / "stranger-keys"
    stranger = generate_key(stranger_dir)
    other = build_key_statement(load_keyring(stranger_dir), [stranger], licensee="Another Licensee", origin=ORIGIN)
    (examiner / "other-statement.json").write_text(json.dumps(other, indent=2))
    ledger.append(step(INC8, "incident.closed", "closed", citation=f"{KY}(1)"))
    later_size, later_root = ledger.root_at()
    checkpoints = {
        "filed": sign_checkpoint(signer, ORIGIN, filed.tree_size, bytes.fromhex(filed.root_hash)),
        "fork": sign_checkpoint(signer, ORIGIN, fork_size, fork_root),
        "later": sign_checkpoint(signer, ORIGIN, later_size, later_root),
    }
    paths = {}
    for name, text in checkpoints.items():
        paths[name] = examiner / f"checkpoint-{name}.txt"
        paths[name].write_text(text, encoding="utf-8")
    return DemoBundles(
        root, bundles, examiner / "key-statement.json", examiner / "other-statement.json", paths, signer, keyring,
        root / "documents",
        {"report_json": report_json.sha256, "report_html": report_html.sha256, "letter": letter.sha256},
        window, size,
    )


def _database(request: pytest.FixtureRequest, kind: str, path: Path) -> str:
    if kind == "sqlite":
        return f"sqlite:///{path}"
    server: PostgresServer = request.getfixturevalue("postgres_server")
    return server.create_database()


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def demo_bundles(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoBundles]:
    """The demo ledger's bundles, once per module and database (SQLite, PostgreSQL)."""
    root = tmp_path_factory.mktemp(f"demo-{request.param}")
    key_dir = root / "keys"
    generate_key(key_dir, now="2020-01-01T00:00:00.000000Z")
    signer = load_signer(key_dir)
    url = _database(request, request.param, root / "ledger.db")
    write_format1_ledger(url, signer, FORMAT1_STEPS)
    ledger = Ledger.open(url, signer)
    fork = Ledger.open(_database(request, request.param, root / "fork.db"), signer)
    try:
        demo = build_demo(ledger, fork, root, key_dir)
        add_format1_only_bundle(demo, _database(request, request.param, root / "format1.db"))
        yield demo
    finally:
        ledger.close()
        fork.close()


def add_format1_only_bundle(demo: DemoBundles, url: str) -> None:
    """Bundle ``format1_stream``: incident:INC-3 of a ledger (on ``url``) that holds only format 1
    entries (FORMAT1_ONLY_STEPS), migrated to the current schema and exported today."""
    write_format1_ledger(url, demo.signer, FORMAT1_ONLY_STEPS)
    old = Ledger.open(url, demo.signer)
    try:
        assert old.size() == len(FORMAT1_ONLY_STEPS) and all(e.get("v") is None for e in old.iter_raw())
        demo.bundles["format1_stream"] = export_bundle(
            old, demo.root / "bundles" / "format1_stream", demo.keyring, EntryFilter(stream=INC3),
            documents_dir=demo.documents_dir, origin=ORIGIN, verifier_sha256="5" * 64,
        ).path
    finally:
        old.close()


# -- tampering ---------------------------------------------------------------------------------


def resign_manifest(bundle: Path, signer: Signer) -> None:
    """What a licensee with its own key could do after changing its bundle: list the files as they
    now are, recount, and sign the manifest again."""
    manifest = json.loads((bundle / MANIFEST).read_text("utf-8"))
    names = sorted(p.relative_to(bundle).as_posix() for p in bundle.rglob("*") if p.is_file())
    manifest["files"] = {n: sha256_file(bundle / n) for n in names if n not in (MANIFEST, MANIFEST_SIG)}
    entries = _lines(bundle / "entries.jsonl")
    manifest["entry_count"] = len(entries)
    manifest["boundary_count"] = len(_lines(bundle / "boundaries.jsonl"))
    manifest["streams"] = dict(sorted(Counter(e["stream"] for e in entries).items()))
    data = pretty_json(manifest).encode("utf-8")
    (bundle / MANIFEST).write_bytes(data)
    (bundle / MANIFEST_SIG).write_text(signer.sign(data) + "\n")


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]


def _write_lines(path: Path, rows: list[dict[str, Any]]) -> None:
    path.write_text("".join(json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n" for r in rows), "utf-8")


def flip_byte(name: str, offset: int = 200) -> Callable[[Path], None]:
    def mutate(bundle: Path) -> None:
        path = bundle / name
        data = bytearray(path.read_bytes())
        at = min(offset, len(data) - 1)
        data[at] = ord("X") if data[at] != ord("X") else ord("Y")
        path.write_bytes(bytes(data))

    return mutate


def first_document(bundle: Path) -> str:
    return min(p.relative_to(bundle).as_posix() for p in (bundle / "documents").iterdir())


def flip_document_byte(bundle: Path) -> None:
    flip_byte(first_document(bundle), 5)(bundle)


def edit_entry(bundle: Path) -> None:
    """One byte of one entry's data: 17 letters become 18."""
    path = bundle / "entries.jsonl"
    text = path.read_text("utf-8")
    assert '"letters":17' in text
    path.write_text(text.replace('"letters":17', '"letters":18', 1), "utf-8")


def delete_entry(index: int | Callable[[list[dict[str, Any]]], int]) -> Callable[[Path], None]:
    def mutate(bundle: Path) -> None:
        rows = _lines(bundle / "entries.jsonl")
        del rows[index(rows) if callable(index) else index]
        _write_lines(bundle / "entries.jsonl", rows)

    return mutate


def swap_pair(bundle: Path) -> None:
    rows = _lines(bundle / "entries.jsonl")
    rows[2], rows[3] = rows[3], rows[2]
    _write_lines(bundle / "entries.jsonl", rows)


def delete_boundary_before_inc7(bundle: Path) -> None:
    """Drop the entry just before incident:INC-7's window: its slice then seems to start the stream."""
    rows = _lines(bundle / "boundaries.jsonl")
    rows.remove(next(r for r in rows if r["stream"] == INC7))
    _write_lines(bundle / "boundaries.jsonl", rows)


def delete_seq(seq: int) -> Callable[[Path], None]:
    """Drop the entry with this ``seq`` from entries.jsonl (its inclusion proof stays behind)."""

    def mutate(bundle: Path) -> None:
        rows = _lines(bundle / "entries.jsonl")
        kept = [r for r in rows if r["seq"] != seq]
        assert len(kept) == len(rows) - 1, f"seq {seq} is not in {bundle.name}"
        _write_lines(bundle / "entries.jsonl", kept)

    return mutate


def add_file(bundle: Path) -> None:
    (bundle / "notes.txt").write_text("Examiner: please disregard seq 11.\n")


def remove_file(name: str) -> Callable[[Path], None]:
    return lambda bundle: (bundle / name).unlink()


def shrink_stream_head(bundle: Path) -> None:
    doc = json.loads((bundle / "stream_heads.json").read_text("utf-8"))
    doc["heads"][0]["stream_size"] -= 1
    (bundle / "stream_heads.json").write_text(pretty_json(doc), "utf-8")


def nothing(bundle: Path) -> None:
    return None


@dataclass(frozen=True)
class TamperCase:
    name: str
    bundle: str  # a key of DemoBundles.bundles
    mutate: Callable[[Path], None]
    #: A substring of the failure message both verifiers share: the file, entry seq or checkpoint it
    #: names (wording beyond that is each verifier's own).
    expected: str
    resign: bool = False  # re-sign the manifest with the licensee's key after mutating
    trusted: str = "statement"  # "statement" | "other_statement" | "bundle" (keys.json)
    known_checkpoints: tuple[str, ...] = ()  # keys of DemoBundles.checkpoints


_last = lambda rows: len(rows) - 1
_middle = lambda rows: len(rows) // 2

TAMPER_CASES: list[TamperCase] = [
    # One changed byte anywhere fails on the signed manifest, naming the file.
    TamperCase("report_byte_full", "full", flip_byte("report.html"), "report.html: SHA-256"),
    TamperCase("report_byte_stream", "stream", flip_byte("report.html"), "report.html: SHA-256"),
    TamperCase("document_byte_full", "full", flip_document_byte, "documents/"),
    TamperCase("document_byte_stream", "stream", flip_document_byte, "documents/"),
    TamperCase("entry_byte_full", "full", edit_entry, "entries.jsonl: SHA-256"),
    TamperCase("entry_byte_stream", "stream", edit_entry, "entries.jsonl: SHA-256"),
    TamperCase("deleted_middle_full", "full", delete_entry(8), "entries.jsonl: SHA-256"),
    TamperCase("deleted_middle_stream", "stream", delete_entry(_middle), "entries.jsonl: SHA-256"),
    TamperCase("deleted_last_full", "full", delete_entry(_last), "entries.jsonl: SHA-256"),
    TamperCase("deleted_last_stream", "stream", delete_entry(_last), "entries.jsonl: SHA-256"),
    TamperCase("swapped_pair_full", "full", swap_pair, "entries.jsonl: SHA-256"),
    TamperCase("swapped_pair_stream", "stream", swap_pair, "entries.jsonl: SHA-256"),
    TamperCase("unlisted_file_full", "full", add_file, "notes.txt"),
    TamperCase("unlisted_file_stream", "stream", add_file, "notes.txt"),
    TamperCase("listed_file_removed", "stream", remove_file("report.html"), "report.html"),
    TamperCase("manifest_byte", "full", flip_byte(MANIFEST, 40), "manifest.sig"),
    TamperCase("manifest_unsigned", "stream", remove_file(MANIFEST_SIG), "manifest.sig"),
    # The licensee re-signs what it changed: the chains, stream heads and boundaries still catch it.
    TamperCase("resigned_entry_byte_full", "full", edit_entry, "hash mismatch", resign=True),
    TamperCase("resigned_deleted_middle_full", "full", delete_entry(8), "seq 9: missing", resign=True),
    TamperCase("resigned_deleted_last_full", "full", delete_entry(_last), "seq 17", resign=True),
    TamperCase("resigned_swapped_pair_full", "full", swap_pair, "seq 3", resign=True),
    TamperCase("resigned_deleted_middle_stream", "stream", delete_entry(_middle), "seq 11", resign=True),
    TamperCase("resigned_deleted_last_stream", "stream", delete_entry(_last), "stream incident:INC-7", resign=True),
    TamperCase("resigned_swapped_pair_stream", "stream", swap_pair, "out of seq order", resign=True),
    TamperCase("resigned_deleted_first_window", "window", delete_entry(0), "seq 14", resign=True),
    TamperCase("resigned_boundary_removed_window", "window", delete_boundary_before_inc7, "seq 11", resign=True),
    TamperCase("resigned_stream_head_changed", "stream", shrink_stream_head, "stream_heads.json", resign=True),
    # Trust and history.
    TamperCase("untrusted_key_full", "full", nothing, "trusted key statement", trusted="other_statement"),
    TamperCase("untrusted_key_stream", "stream", nothing, "trusted key statement", trusted="other_statement"),
    TamperCase("forked_checkpoint_full", "full", nothing, "does not extend checkpoint 14", known_checkpoints=("filed", "fork")),
    TamperCase("forked_checkpoint_stream", "stream", nothing, "a fork or rewrite", known_checkpoints=("fork",)),
    TamperCase("checkpoint_larger_full", "full", nothing, "does not extend checkpoint 18", known_checkpoints=("later",)),
    TamperCase("checkpoint_larger_stream", "stream", nothing, "does not extend checkpoint 18", known_checkpoints=("later",)),
    # Format 1 entries carry no link, but §13.2 rules 4-5 count them from the stream's start: one
    # taken out of a slice that claims the stream's start moves every later position.
    # incident:INC-5 = seq 1, 2, 3 (format 1) and 10 (format 2, stream_seq 4).
    TamperCase("resigned_format1_deleted_first_tn", "jurisdiction_tn", delete_seq(1),
               "stream incident:INC-5: stream chain broken", resign=True),
    TamperCase("resigned_format1_deleted_middle_tn", "jurisdiction_tn", delete_seq(2),
               "stream incident:INC-5: stream chain broken", resign=True),
    TamperCase("resigned_format1_deleted_before_format2_tn", "jurisdiction_tn", delete_seq(3),
               "stream incident:INC-5: stream chain broken", resign=True),
    # A stream with no format 2 entry at all: the count must still reach the stream head's size.
    # incident:INC-3 = seq 1, 2, 4, 6 of the format-1-only ledger, stream head stream_size 4.
    TamperCase("resigned_format1_only_deleted_first", "format1_stream", delete_seq(1),
               "stream incident:INC-3: the slice ends at stream position 3", resign=True),
    TamperCase("resigned_format1_only_deleted_middle", "format1_stream", delete_seq(4),
               "stream incident:INC-3: the slice ends at stream position 3", resign=True),
    TamperCase("resigned_format1_only_deleted_last", "format1_stream", delete_seq(6), "stream incident:INC-3",
               resign=True),
]


@dataclass(frozen=True)
class Prepared:
    bundle: Path
    trusted_keys: Path | None  # a key statement; None: the bundle's keys.json
    known_checkpoints: list[Path]

    def cli_args(self) -> list[str]:
        """The same arguments for ``noticeflow ledger verify`` and ``tools/verify_bundle.py``."""
        args = [str(self.bundle)]
        if self.trusted_keys is not None:
            args += ["--trusted-keys", str(self.trusted_keys)]
        for checkpoint in self.known_checkpoints:
            args += ["--known-checkpoint", str(checkpoint)]
        return args


def prepare(case: TamperCase, demo: DemoBundles, workdir: Path) -> Prepared:
    """A copy of ``case.bundle`` tampered as ``case`` says, and the arguments to verify it with."""
    target = workdir / case.name
    shutil.copytree(demo.bundles[case.bundle], target)
    case.mutate(target)
    if case.resign:
        resign_manifest(target, demo.signer)
    trusted = {"statement": demo.statement, "other_statement": demo.other_statement, "bundle": None}[case.trusted]
    return Prepared(target, trusted, [demo.checkpoints[name] for name in case.known_checkpoints])


def pristine(demo: DemoBundles, name: str, known_checkpoints: tuple[str, ...] = ("filed",)) -> Prepared:
    """An untouched bundle with the examiner's statement and the checkpoints it extends."""
    return Prepared(demo.bundles[name], demo.statement, [demo.checkpoints[k] for k in known_checkpoints])


# -- key statements that do not verify on their own (docs §12) -----------------------------------

#: The demo key's predecessor in a rotated statement: retired the instant the demo key began.
RETIRED_FROM, ROTATED_AT = "2019-01-01T00:00:00.000000Z", "2020-01-01T00:00:00.000000Z"


def rotated_statement(demo: DemoBundles, retired: Signer) -> dict[str, Any]:
    """The statement a licensee files after rotating from ``retired`` to the demo key, unsigned:
    keys oldest first, the retired key's window closed when the demo key's opens."""
    statement = json.loads(demo.statement.read_text("utf-8"))
    assert statement["keys"][0]["valid_from"] == ROTATED_AT
    raw = raw_public_key(retired.public_key)
    old = {
        "key_id": retired.key_id, "algorithm": "ed25519", "public_key": b64encode(raw),
        "fingerprint": fingerprint(raw), "note_verifier_key": note_verifier_key(ORIGIN, raw),
        "valid_from": RETIRED_FROM, "valid_until": ROTATED_AT,
    }
    statement["keys"] = [old, *statement["keys"]]
    del statement["signatures"]
    return statement


def sign_statement(statement: dict[str, Any], signers: list[Signer]) -> dict[str, Any]:
    """``statement`` signed by each of ``signers`` whose key it lists, in its keys' order: what a
    licensee holding those private keys can make of any content."""
    message = signed_bytes(statement)
    by_id = {s.key_id: s for s in signers}
    sigs = [{"key_id": k["key_id"], "sig": by_id[k["key_id"]].sign(message)}
            for k in statement["keys"] if k["key_id"] in by_id]
    return {**statement, "signatures": sigs}


@dataclass(frozen=True)
class StatementCase:
    """A key statement the licensee signed with its own keys but that breaks a rule of §12: both
    verifiers must refuse it as a trust anchor — exit 2, unusable input, before reading the
    bundle — with a message containing ``expected``."""

    name: str
    #: Edits the unsigned statement (the rotated one when ``rotated``, else the demo's) in place.
    change: Callable[[dict[str, Any]], None]
    expected: str
    rotated: bool = False
    #: Edits the signature list after signing (None: leave it).
    change_signatures: Callable[[list[dict[str, Any]]], None] | None = None


def _set(*path: str | int, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(statement: dict[str, Any]) -> None:
        target: Any = statement
        for part in path[:-1]:
            target = target[part]
        target[path[-1]] = value

    return change


def _reverse_keys(statement: dict[str, Any]) -> None:
    statement["keys"].reverse()


def _keep(statement: dict[str, Any]) -> None:
    return None


STATEMENT_CASES: list[StatementCase] = [
    # 1. exactly the fields of §12
    StatementCase("statement_unexpected_field", _set("comment", value="filed with TN DCI"), "unexpected field comment"),
    StatementCase("key_unexpected_field", _set("keys", 0, "comment", value="HSM slot 2"), "keys[0]: unexpected field comment"),
    StatementCase("signature_unexpected_field", _keep, "signatures[0]: unexpected field signed_at",
                  change_signatures=lambda sigs: sigs[0].update(signed_at="2026-03-02T15:00:00Z")),
    StatementCase("licensee_blank", _set("licensee", value="  "), "licensee: must be"),
    StatementCase("origin_with_space", _set("origin", value="ledger.acme-mutual.example notices"),
                  "must not contain spaces or '+'"),
    StatementCase("origin_with_plus", _set("origin", value="ledger.acme-mutual.example+notices"),
                  "must not contain spaces or '+'"),
    # 2. keys oldest first, one signing key at every moment
    StatementCase("keys_newest_first", _reverse_keys, "keys are listed oldest first", rotated=True),
    StatementCase("retired_key_window_empty", _set("keys", 0, "valid_until", value=RETIRED_FROM),
                  "valid_until: not after valid_from", rotated=True),
    StatementCase("retired_key_overlaps_successor", _set("keys", 0, "valid_until", value="2020-06-01T00:00:00.000000Z"),
                  "still valid when", rotated=True),
    StatementCase("retired_key_never_closed", _set("keys", 0, "valid_until", value=None), "still valid when",
                  rotated=True),
    StatementCase("issued_before_newest_key", _set("issued_at", value="2019-06-01T00:00:00.000000Z"),
                  "is before the newest key", rotated=True),
    # 3. each key signs once
    StatementCase("key_signs_twice", _keep, "signed twice",
                  change_signatures=lambda sigs: sigs.append(dict(sigs[0]))),
]


def prepare_statement(case: StatementCase, demo: DemoBundles, workdir: Path) -> Prepared:
    """The complete demo bundle with ``case``'s statement, signed by every key it lists, as trust anchor."""
    retired = Signer.generate()
    if case.rotated:
        statement = rotated_statement(demo, retired)
    else:
        statement = json.loads(demo.statement.read_text("utf-8"))
        del statement["signatures"]
    case.change(statement)
    signed = sign_statement(statement, [demo.signer, retired])
    if case.change_signatures is not None:
        case.change_signatures(signed["signatures"])
    target = workdir / case.name
    target.mkdir()
    path = target / "statement.json"
    path.write_text(json.dumps(signed, indent=2, ensure_ascii=False), "utf-8")
    return Prepared(demo.bundles["full"], path, [])
