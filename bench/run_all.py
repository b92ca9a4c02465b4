"""Every benchmark, one after the other, and one table of their figures in ``bench/results.md``.

Each bench in :data:`BENCHES` runs as its own process, in turn (the figures are meant for a 2-core
machine: two benches at once would measure each other), with ``NOTICEFLOW_BENCH_RESULTS`` naming a
JSON-lines file that its ``record(...)`` calls append to (``bench/results.py``). Its output streams
to the terminal as when it runs alone. Then the lines, with each bench's command, wall time and exit
status and the machine, are rendered into ``bench/results.md``; a bench that fails, times out or
records nothing is marked there, and this script exits non-zero.

Run: ``make bench`` (``make bench FANOUT_MILLION=1`` adds the fan-out at 10^6), or
``.venv/bin/python bench/run_all.py [--million] [--only fanout_bench,cli_startup] [--json FILE]``;
``--render FILE`` re-renders ``results.md`` from a kept JSON-lines file without running anything.
"""

from __future__ import annotations

import argparse
import collections
import os
import shlex
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.results import BENCH_ENV, RESULTS_ENV, append, load, machine, render  # noqa: E402


@dataclass(frozen=True)
class Bench:
    """A bench script and its arguments; ``million`` replaces them under ``--million``."""

    script: str
    args: tuple[str, ...] = ()
    million: tuple[str, ...] | None = None
    #: Longest it may run before it is stopped and marked failed (seconds).
    timeout: float = 3600
    million_timeout: float | None = None

    @property
    def name(self) -> str:
        return Path(self.script).stem

    def argv(self, million: bool) -> list[str]:
        return [self.script, *(self.million if million and self.million is not None else self.args)]


#: Every benchmark, in the order of issue 14's table, then the rest. The one list: the Makefile's
#: ``bench`` target runs this script.
BENCHES: list[Bench] = [
    Bench("bench/fanout_bench.py", ("--sizes", "10000,100000"), million=("--sizes", "10000,100000,1000000"),
          timeout=3600, million_timeout=4 * 3600),
    Bench("bench/determination_latency.py"),
    Bench("bench/history_events.py"),
    Bench("bench/onboarding_bench.py", timeout=5 * 3600),
    Bench("bench/cli_startup.py"),
    Bench("bench/workflow_bench.py"),
    Bench("bench/ledger_bench.py", timeout=2 * 3600),
    Bench("bench/rules_bench.py"),
    Bench("bench/assertion_bench.py"),
]
#: Modules in bench/ that are not benches (helpers the benches import, and this runner).
NOT_BENCHES = {"results", "run_all", "sdk_shape", "sdk_update_shape", "worker_processes"}


def _shown(argv: list[str]) -> str:
    python = Path(sys.executable)
    try:
        python = python.relative_to(ROOT)
    except ValueError:
        pass
    return shlex.join([str(python), *argv])


def run_one(bench: Bench, results: Path, million: bool, timeout: float | None = None) -> dict[str, object]:
    """Run ``bench`` to its end (or its timeout) with its output streamed through; the run's line."""
    argv = bench.argv(million)
    line: dict[str, object] = {"kind": "run", "bench": bench.name, "command": _shown(argv), "seconds": 0.0,
                               "returncode": None, "timed_out": False, "missing": False, "last_line": None}
    if not (ROOT / bench.script).exists():
        line["missing"] = True
        print(f"== {bench.name}: {bench.script} not found — marked failed", flush=True)
        return line
    limit = timeout or (bench.million_timeout if million and bench.million_timeout else bench.timeout)
    env = {**os.environ, RESULTS_ENV: str(results), BENCH_ENV: bench.name, "PYTHONUNBUFFERED": "1"}
    print(f"\n== {bench.name}: {line['command']}", flush=True)
    tail: collections.deque[str] = collections.deque(maxlen=20)
    started = time.perf_counter()
    # Its own session: a timeout stops the bench and what it started (dev server, relay) together.
    proc = subprocess.Popen([sys.executable, *argv], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, errors="replace", start_new_session=True)

    def pump() -> None:
        assert proc.stdout is not None
        for text in proc.stdout:
            sys.stdout.write(text)
            sys.stdout.flush()
            if text.strip():
                tail.append(text.rstrip())

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    try:
        line["returncode"] = proc.wait(timeout=limit)
    except subprocess.TimeoutExpired:
        line["timed_out"] = True
        _stop(proc)
        line["returncode"] = proc.returncode
    except KeyboardInterrupt:
        _stop(proc, signal.SIGINT)
        raise
    finally:
        reader.join(timeout=10)
        line["seconds"] = time.perf_counter() - started
    if line["returncode"] or line["timed_out"]:
        line["last_line"] = tail[-1] if tail else None
    return line


def _stop(proc: subprocess.Popen[str], first: int = signal.SIGTERM) -> None:
    """Stop the bench's process group: ``first``, then SIGKILL if it has not ended in 30 s."""
    for sig, grace in ((first, 30), (signal.SIGKILL, 10)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=grace)
            return
        except subprocess.TimeoutExpired:
            continue


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--million", action="store_true", help="the fan-out at 10^6 as well (about an hour more)")
    parser.add_argument("--only", default="", help="comma-separated bench names (e.g. fanout_bench,cli_startup)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results.md")
    parser.add_argument("--json", type=Path, default=None, help="keep the JSON lines in this file (default: a temporary file)")
    parser.add_argument("--timeout", type=float, default=None, help="seconds per bench (default: each bench's own)")
    parser.add_argument("--render", type=Path, default=None, metavar="FILE",
                        help="only render --out from a kept JSON-lines file")
    args = parser.parse_args()

    if args.render:
        args.out.write_text(render(load(args.render)), encoding="utf-8")
        print(f"wrote {args.out}")
        return 0

    only = {name.strip().removesuffix(".py") for name in args.only.split(",") if name.strip()}
    unknown = only - {b.name for b in BENCHES}
    if unknown:
        parser.error(f"no such bench: {', '.join(sorted(unknown))} (benches: {', '.join(b.name for b in BENCHES)})")
    benches = [b for b in BENCHES if not only or b.name in only]

    with tempfile.TemporaryDirectory(prefix="noticeflow-bench-results-") as tmp:
        results = args.json or Path(tmp) / "results.jsonl"
        results.parent.mkdir(parents=True, exist_ok=True)
        results.write_text("")
        info = machine()
        append(results, info)
        runs = []
        for bench in benches:
            run = run_one(bench, results, args.million, args.timeout)
            append(results, run)
            runs.append(run)
        info["load_after"] = os.getloadavg()[0]
        append(results, info)
        title = "Benchmark results" + (f" (only {', '.join(b.name for b in benches)})" if only else "")
        lines = load(results)
        args.out.write_text(render(lines, title=title), encoding="utf-8")

    recorded = {x["bench"] for x in lines if x.get("kind") == "measure"}
    failed = [r["bench"] for r in runs if r["returncode"] or r["timed_out"] or r["missing"] or r["bench"] not in recorded]
    print(f"\nwrote {args.out.relative_to(ROOT) if args.out.is_relative_to(ROOT) else args.out}"
          + (f" — failed: {', '.join(map(str, failed))}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
