"""Ledger throughput, each figure next to a baseline measured in the same run.

- single append/s      vs plain single-row INSERT of the same rows (one transaction each)
- batched append/s     vs plain multi-row INSERT of the same rows, same batch size
- verified entries/s   vs raw SHA-256 + Ed25519 verify of the same bytes
- bounded memory       peak RSS of a verifier process over N and over N/10 entries

Both sides use the same engine (SQLite, WAL, synchronous=FULL) and the same schema and indexes.
Run: ``.venv/bin/python bench/ledger_bench.py [--entries 1000000] [--quick]``.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import insert  # noqa: E402

from bench.results import record  # noqa: E402
from ledger.canonical import canonical_json  # noqa: E402
from ledger.keys import Keyring, PublicKeyRecord, Signer, raw_public_key  # noqa: E402
from ledger.store import Ledger, LedgerEntryRow, create_ledger_engine  # noqa: E402
from ledger.verify import verify_entries  # noqa: E402
from models.ledger import EntryDraft  # noqa: E402
from sqlmodel import SQLModel  # noqa: E402


def make_drafts(n: int, offset: int = 0) -> list[EntryDraft]:
    return [
        EntryDraft(
            stream=f"incident:INC-{(i % 50) + 1}",
            type="consumer_notice.sent",
            step=f"bench/{offset + i}",
            workflow_id=f"consumer-notice-INC-{(i % 50) + 1}-TN",
            run_id="7b1c6f3e-1d2a-4a8e-9c61-1f2e3d4c5b6a",
            jurisdiction="TN",
            citation="Tenn. Code Ann. § 56-2-1006(c)(1)",
            actor="worker",
            data={"consumer": f"hmac-sha256:{hashlib.sha256(str(i).encode()).hexdigest()}", "channel": "mail", "batch": i // 1000},
        )
        for i in range(n)
    ]


def plain_rows(drafts: list[EntryDraft]) -> list[dict]:
    """The rows a ledger append writes, pre-built: what a plain INSERT of the same rows inserts
    (format 2: with the per-stream position and link)."""
    positions: dict[str, int] = {}
    rows = []
    for i, d in enumerate(drafts):
        positions[d.stream] = positions.get(d.stream, 0) + 1
        rows.append({
            "v": 2, "seq": i + 1, "ts": "2026-11-21T09:00:00.000000Z", "stream": d.stream, "type": d.type,
            "step": d.step, "workflow_id": d.workflow_id, "run_id": d.run_id, "jurisdiction": d.jurisdiction,
            "citation": d.citation, "actor": d.actor, "data": canonical_json(d.data).decode(),
            "prev_hash": "0" * 64, "stream_seq": positions[d.stream], "stream_prev_hash": "0" * 64,
            "key_id": "ed25519:0000000000000000", "hash": "a" * 64, "sig": "s" * 88,
        })  # fmt: skip
    return rows


def plain_engine(path: Path):
    engine = create_ledger_engine(f"sqlite:///{path}")
    SQLModel.metadata.create_all(engine, tables=[LedgerEntryRow.__table__])
    return engine


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def bench_single(tmp: Path, signer: Signer, n: int) -> tuple[float, float]:
    drafts = make_drafts(n)
    rows = plain_rows(drafts)
    engine = plain_engine(tmp / "plain-single.db")
    table = LedgerEntryRow.__table__

    def plain() -> None:
        for row in rows:
            with engine.connect() as conn:
                conn = conn.execution_options(sqlite_begin="IMMEDIATE")
                with conn.begin():
                    conn.execute(insert(table), [row])

    ledger = Ledger.open(f"sqlite:///{tmp / 'ledger-single.db'}", signer)
    base = n / timed(plain)
    ours = n / timed(lambda: [ledger.append(d) for d in drafts])
    ledger.close()
    return base, ours


def bench_batched(tmp: Path, signer: Signer, n: int, batch: int) -> tuple[float, float]:
    drafts = make_drafts(n)
    rows = plain_rows(drafts)
    engine = plain_engine(tmp / "plain-batch.db")
    table = LedgerEntryRow.__table__

    def plain() -> None:
        for i in range(0, n, batch):
            with engine.connect() as conn:
                conn = conn.execution_options(sqlite_begin="IMMEDIATE")
                with conn.begin():
                    conn.execute(insert(table), rows[i : i + batch])

    ledger = Ledger.open(f"sqlite:///{tmp / 'ledger-batch.db'}", signer)
    base = n / timed(plain)
    ours = n / timed(lambda: [ledger.append_many(drafts[i : i + batch]) for i in range(0, n, batch)])
    ledger.close()
    return base, ours


def bench_verify(db: Path, signer: Signer, keyring: Keyring) -> tuple[float, float, int]:
    ledger = Ledger.open(f"sqlite:///{db}")
    entries = list(ledger.iter_raw())
    ledger.close()
    messages = [(canonical_json({k: v for k, v in e.items() if k not in ("hash", "sig")}), e["sig"]) for e in entries]
    import base64

    verifier = signer.public_key

    def raw() -> None:
        for body, sig in messages:
            verifier.verify(base64.b64decode(sig), hashlib.sha256(body).digest())

    base = len(messages) / timed(raw)
    ledger = Ledger.open(f"sqlite:///{db}")
    start = time.perf_counter()
    report = verify_entries(ledger.iter_raw(), keyring)
    ours = report.entries_checked / (time.perf_counter() - start)
    assert report.ok, report.problem
    ledger.close()
    return base, ours, len(messages)


def fill(db: Path, signer: Signer, n: int, batch: int = 5000) -> None:
    ledger = Ledger.open(f"sqlite:///{db}", signer, sqlite_synchronous="NORMAL")
    have = ledger.size()
    for i in range(have, n, batch):
        ledger.append_many(make_drafts(min(batch, n - i), offset=i))
    ledger.close()


VERIFY_CHILD = """
import sys, resource
sys.path.insert(0, {root!r})
from ledger.keys import Keyring
from ledger.store import Ledger
from ledger.verify import verify_entries
import json
ring = Keyring.from_json(json.loads({ring!r}))
ledger = Ledger.open({url!r})
report = verify_entries(ledger.iter_raw(), ring)
assert report.ok, report.problem
print(report.entries_checked, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def verify_in_child(db: Path, keyring: Keyring) -> tuple[int, int, float]:
    import json

    code = VERIFY_CHILD.format(
        root=str(Path(__file__).resolve().parents[1]), ring=json.dumps(keyring.to_json()), url=f"sqlite:///{db}"
    )
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    return int(out[0]), int(out[1]), time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--entries", type=int, default=1_000_000, help="ledger size for the bounded-memory check")
    parser.add_argument("--single", type=int, default=2_000, help="entries for the single-append comparison")
    parser.add_argument("--batched", type=int, default=50_000, help="entries for the batched comparison")
    parser.add_argument("--batch", type=int, default=1_000, help="batch size")
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    args = parser.parse_args()
    if args.quick:
        args.entries, args.single, args.batched = 20_000, 300, 5_000

    from noticeflow.logging import configure_logging

    configure_logging("WARNING", json=False)  # the ledger logs every append at INFO
    signer = Signer.generate()
    keyring = Keyring({signer.key_id: PublicKeyRecord(signer.key_id, raw_public_key(signer.public_key), "2000-01-01T00:00:00.000000Z")})
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}, SQLite WAL synchronous=FULL")
    with tempfile.TemporaryDirectory(prefix="noticeflow-bench-") as tmpdir:
        tmp = Path(tmpdir)
        rows = []
        base, ours = bench_single(tmp, signer, args.single)
        rows.append(("single append", "plain INSERT, 1 row/txn", base, ours))
        base, ours = bench_batched(tmp, signer, args.batched, args.batch)
        rows.append((f"batched append ({args.batch}/txn)", f"plain INSERT, {args.batch} rows/txn", base, ours))
        base, ours, _ = bench_verify(tmp / "ledger-batch.db", signer, keyring)
        rows.append(("verify (hash, link, sig, Merkle)", "raw SHA-256 + Ed25519 verify", base, ours))

        print(f"\n{'measure':38} {'baseline':30} {'baseline/s':>12} {'ledger/s':>12} {'ratio':>7}")
        for name, what, b, o in rows:
            print(f"{name:38} {what:30} {b:12,.0f} {o:12,.0f} {o / b:7.1%}")
            record(measure=f"ledger: {name}", ours=o, baseline=b, unit="entries/s", baseline_label=what)

        small, big = max(args.entries // 10, 1), args.entries
        db = tmp / "big.db"
        fill(db, signer, small)
        n_small, rss_small, t_small = verify_in_child(db, keyring)
        fill(db, signer, big)
        n_big, rss_big, t_big = verify_in_child(db, keyring)
        print(
            f"\nbounded memory: verifying {n_small:,} entries peaks at {rss_small / 1024:,.0f} MiB RSS "
            f"({n_small / t_small:,.0f}/s incl. start-up); {n_big:,} entries at {rss_big / 1024:,.0f} MiB "
            f"({n_big / t_big:,.0f}/s) — ratio {rss_big / rss_small:.2f}× for {big // small}× the entries"
        )
        record(measure=f"ledger: verifier peak RSS over {n_big:,} entries", ours=rss_big / 1024, baseline=rss_small / 1024,
               unit="MiB", baseline_label=f"over {n_small:,} entries")


if __name__ == "__main__":
    main()
