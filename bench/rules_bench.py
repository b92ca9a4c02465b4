"""Rules-engine throughput, next to a baseline measured in the same run.

- obligations       ``compute_obligations()`` on realistic multi-state events (3–12 affected states,
                    internal and third-party-service-provider events, insurers, producers and assuming
                    insurers, holidays and DST in range): events/s, obligations/s and **ms per
                    event-jurisdiction** (each state the engine examines for an event) — target < 1 ms.
- baseline          validating the same events into their pydantic models (``IncidentIntake``), i.e.
                    the cost any request pays before a rule runs; printed as a ratio.
- disclosure gate   ``decide_disclosure()`` on the example request vs validating it.

Holiday calendars are cached per (state, year); the first call per state pays for building them,
reported separately as the cold start. Run: ``.venv/bin/python bench/rules_bench.py [--events 1000] [--repeats 3]``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.results import record  # noqa: E402
from models.incident import IncidentIntake  # noqa: E402
from models.privacy import DisclosureRequest  # noqa: E402
from rules.calendar import _holiday_dates  # noqa: E402
from rules.cyber import applicable_states, compute_obligations  # noqa: E402
from rules.disclosure import decide_disclosure  # noqa: E402

STATES = [
    "TN", "MO", "AL", "DE", "IA", "LA", "MD", "MI", "PA", "SC", "VA", "WI", "NY",  # listed
    "KY", "GA", "OH", "TX", "CA", "FL", "IL", "NC", "AR", "MS", "IN",  # not listed: model fallback
]  # fmt: skip
KINDS = ["insurer"] * 6 + ["producer"] * 2 + ["assuming_insurer", "other"]


def make_events(n: int, seed: int = 20251126) -> list[dict[str, Any]]:
    """Deterministic, realistic events: a few large states, a tail of small ones."""
    rng = random.Random(seed)
    start = dt.datetime(2025, 1, 2, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=-6)))
    events = []
    for i in range(n):
        states = rng.sample(STATES, rng.randint(3, 12))
        rows = []
        for j, state in enumerate(states):
            consumers = rng.choice([rng.randint(1, 249), rng.randint(250, 5000), rng.randint(5000, 600_000)]) if j else rng.randint(2_000, 80_000)
            rows.append(
                {
                    "state": state,
                    "consumers": consumers,
                    "material_harm_likely": rng.random() < 0.7,
                    "other_government_notice_required": rng.random() < 0.4,
                    "with_email": rng.randint(0, consumers),
                    "without_contact": rng.randint(0, min(consumers, 40)),
                    "notice_cost_usd": str(consumers * rng.choice([1, 2, 3])),
                    "producers_of_record_known": rng.random() < 0.8,
                    "electronic_primary_channel": rng.random() < 0.2,
                }
            )
        discovered = start + dt.timedelta(hours=rng.randint(0, 24 * 365 * 2))
        tpsp = rng.random() < 0.5
        kind = rng.choice(KINDS)
        events.append(
            {
                "incident_id": f"INC-B{i}",
                "licensee": {
                    "name": "Bench Mutual",
                    "naic_code": "10000",
                    "kind": kind,
                    "domicile_state": states[0],
                    "home_state": states[0],
                },
                "discovered_at": discovered.isoformat(),
                "determined_at": (discovered + dt.timedelta(hours=rng.randint(1, 24 * 10))).isoformat(),
                "source": "third_party_service_provider" if tpsp else "internal",
                "tpsp_notified_at": (discovered + dt.timedelta(hours=rng.randint(0, 48))).isoformat() if tpsp else None,
                "actual_knowledge_at": (discovered + dt.timedelta(hours=rng.randint(0, 72))).isoformat() if tpsp and rng.random() < 0.5 else None,
                "data_elements": rng.sample(["ssn", "drivers_license", "financial_account", "health", "biometric"], rng.randint(1, 3)),
                "encrypted": False,
                "key_compromised": False,
                "returned_or_destroyed_unused": False,
                "harms_operations": rng.random() < 0.2,
                "affected": rows,
                "law_enforcement_delay_until": (discovered + dt.timedelta(days=60)).isoformat() if rng.random() < 0.1 else None,
            }
        )
    return events


def best_of(repeats: int, fn: Any) -> float:
    """Best wall time of ``repeats`` runs (least disturbed by the machine)."""
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    raw = make_events(args.events)
    intakes = [IncidentIntake.model_validate(e) for e in raw]
    jurisdictions = sum(len(applicable_states(i)) for i in intakes)

    _holiday_dates.cache_clear()
    t0 = time.perf_counter()
    first = compute_obligations(intakes[0])
    cold_ms = (time.perf_counter() - t0) * 1000
    for intake in intakes:  # warm every (state, year) holiday calendar
        compute_obligations(intake)
    obligations = sum(len(compute_obligations(i).obligations) for i in intakes)

    # One event at a time, results dropped — as a workflow uses it (holding every result alive
    # would mostly measure the garbage collector walking them).
    def run_validate() -> None:
        for e in raw:
            IncidentIntake.model_validate(e)

    def run_rules() -> None:
        for i in intakes:
            compute_obligations(i)

    def run_end_to_end() -> None:
        for e in raw:
            compute_obligations(IncidentIntake.model_validate(e))

    validate = best_of(args.repeats, run_validate)
    rules = best_of(args.repeats, run_rules)
    end_to_end = best_of(args.repeats, run_end_to_end)
    per_event: list[float] = []
    for intake in intakes[: min(300, len(intakes))]:
        t = time.perf_counter()
        compute_obligations(intake)
        per_event.append((time.perf_counter() - t) * 1000 / len(applicable_states(intake)))

    request = DisclosureRequest.model_validate_json((ROOT / "docs/examples/privacy-request.json").read_text())
    request_raw = json.loads((ROOT / "docs/examples/privacy-request.json").read_text())
    n_gate = 2000
    def run_gate() -> None:
        for _ in range(n_gate):
            decide_disclosure(request)

    def run_gate_base() -> None:
        for _ in range(n_gate):
            DisclosureRequest.model_validate(request_raw)

    gate = best_of(args.repeats, run_gate)
    gate_base = best_of(args.repeats, run_gate_base)

    print(f"rules bench — {args.events} events, {jurisdictions} event-jurisdictions, {obligations} obligations "
          f"(best of {args.repeats}; Python {sys.version.split()[0]})")
    print()
    print(f"{'':34}{'total s':>10}{'events/s':>12}{'oblig./s':>12}{'ms/event-jur.':>15}")
    rows = [
        ("baseline: validate IncidentIntake", validate, None),
        ("compute_obligations()", rules, obligations),
        ("validate + compute (end to end)", end_to_end, obligations),
    ]
    for name, seconds, obl in rows:
        print(
            f"{name:34}{seconds:>10.3f}{args.events / seconds:>12,.0f}"
            f"{(f'{obl / seconds:,.0f}' if obl else '—'):>12}{seconds * 1000 / jurisdictions:>15.4f}"
        )
    print()
    print(f"compute_obligations / validation baseline: {rules / validate:.2f}×  "
          f"(per event-jurisdiction: median {statistics.median(per_event):.4f} ms, "
          f"p99 {sorted(per_event)[int(len(per_event) * 0.99) - 1]:.4f} ms; target < 1 ms)")
    print(f"cold start (first event, holiday calendars built): {cold_ms:.1f} ms for {len(first.obligations)} obligations")
    print(f"decide_disclosure(): {n_gate / gate:,.0f} decisions/s, {gate * 1000 / n_gate:.4f} ms each; "
          f"/ validating the request: {gate / gate_base:.2f}×")
    per_jurisdiction = rules * 1000 / jurisdictions
    record(measure="rules: compute_obligations() per event-jurisdiction", ours=per_jurisdiction,
           baseline=validate * 1000 / jurisdictions, unit="ms", baseline_label="validating IncidentIntake",
           target="< 1 ms", met=per_jurisdiction < 1, note=f"median {statistics.median(per_event):.4f} ms")
    record(measure="rules: decide_disclosure()", ours=gate * 1000 / n_gate, baseline=gate_base * 1000 / n_gate,
           unit="ms", baseline_label="validating the request")


if __name__ == "__main__":
    main()
