"""Several real processes appending at once never fork the chain, skip a seq or record a step
twice (SQLite and PostgreSQL)."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

from ledger.keys import Keyring, load_signer
from ledger.store import Ledger
from ledger.verify import verify_entries
from tests.ledger.conftest import draft

PROCESSES = 4
SINGLES = 40
BATCH = 60
SHARED_STEPS = 15


def _worker(url: str, key_dir: str, worker: int, start: multiprocessing.Event) -> None:  # type: ignore[valid-type]
    ledger = Ledger.open(url, load_signer(Path(key_dir)))
    start.wait(30)
    stream = f"incident:INC-{worker}"
    for n in range(SINGLES):
        ledger.append(draft(n, stream=stream))
        if n % 10 == 0:
            # Every process records the same shared steps: an activity retried on several workers.
            ledger.append_many([draft(k, stream="incident:SHARED") for k in range(SHARED_STEPS)])
    ledger.append_many([draft(n, stream=stream) for n in range(SINGLES, SINGLES + BATCH)])
    ledger.close()


def test_concurrent_appends_from_processes_keep_one_gapless_chain(db_url: str, key_dir: Path, keyring: Keyring) -> None:
    Ledger.open(db_url).close()  # create the schema once, as a deployment's migration step would
    ctx = multiprocessing.get_context("spawn")
    start = ctx.Event()
    procs = [ctx.Process(target=_worker, args=(db_url, str(key_dir), w, start)) for w in range(PROCESSES)]
    for p in procs:
        p.start()
    start.set()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0] * PROCESSES

    ledger = Ledger.open(db_url)
    try:
        entries = list(ledger.iter_raw())
        expected = PROCESSES * (SINGLES + BATCH) + SHARED_STEPS
        assert [e["seq"] for e in entries] == list(range(1, expected + 1))
        steps = [e["step"] for e in entries]
        assert len(set(steps)) == len(steps)
        assert ledger.size() == expected
        report = verify_entries(iter(entries), keyring)
        assert report.ok, report.problem
    finally:
        ledger.close()


def test_schema_creation_races_are_harmless(db_url: str) -> None:
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_open_only, args=(db_url,)) for _ in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0, 0, 0]


def _open_only(url: str) -> None:
    Ledger.open(url).close()
