"""What the actor-assertion check adds to a person's step, next to the step's ledger append.

- verify/s   the ledger activity's check of one assertion (Ed25519 + canonical JSON + claims)
- append/s   baseline: one ledger append of the same step on SQLite (WAL, synchronous=FULL), the
             work the check guards
- ratio      how much of a person's step the check costs

Run: ``.venv/bin/python bench/assertion_bench.py [--steps 2000]``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import logging  # noqa: E402

import structlog  # noqa: E402
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey  # noqa: E402

from bench.results import record  # noqa: E402
from ledger.actor_assertions import AssertionSigner, AssertionVerifier  # noqa: E402
from ledger.keys import generate_key  # noqa: E402
from ledger.store import Ledger  # noqa: E402
from models.ledger import EntryDraft  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=2000)
    n = parser.parse_args().steps
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))  # no line per append
    key = Ed25519PrivateKey.generate()
    signer, verifier = AssertionSigner(key), AssertionVerifier.trusting([key.public_key()])
    now = datetime.now(UTC)
    tokens = [signer.issue("key:c.hale", f"incident-INC-{i % 50}", now) for i in range(n)]
    started = time.perf_counter()
    for i, token in enumerate(tokens):
        verifier.verify(token, actor="key:c.hale", workflow_ids={f"incident-INC-{i % 50}"}, accepted_at=now)
    verify_s = time.perf_counter() - started

    with tempfile.TemporaryDirectory() as tmp:
        ledger = Ledger.open(f"sqlite:///{tmp}/ledger.db", generate_key(Path(tmp) / "keys"))
        drafts = [
            EntryDraft(stream=f"incident:INC-{i % 50}", type="incident.finding_recorded", step=f"incident-INC-{i % 50}/finding/{i}",
                       workflow_id=f"incident-INC-{i % 50}", run_id="run", citation="Tenn. Code Ann. § 56-2-1006(b)",
                       actor="key:c.hale", data={"n": i})
            for i in range(n)
        ]
        started = time.perf_counter()
        for draft in drafts:
            ledger.append(draft)
        append_s = time.perf_counter() - started
        ledger.close()
    print(f"steps                 {n}")
    print(f"assertion verify/s    {n / verify_s:10.0f}   ({verify_s / n * 1e6:.0f} µs each)")
    print(f"baseline append/s     {n / append_s:10.0f}   ({append_s / n * 1e6:.0f} µs each)")
    print(f"check / append        {verify_s / append_s:10.3f}")
    record(measure="actor-assertion check per step", ours=verify_s / n * 1e6, baseline=append_s / n * 1e6, unit="µs",
           baseline_label="one ledger append of the step")


if __name__ == "__main__":
    main()
