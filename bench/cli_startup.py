"""How long the ``noticeflow`` command takes to start, next to Temporal's own CLI.

- ``noticeflow --help``          the listing (loads no domain module)
- ``noticeflow rules --help``    one domain's group (loads that domain only)
- ``noticeflow obligations``     a real command, rules engine loaded, on docs/examples/event-tpsp-multistate.json
- baseline: ``temporal --version`` (the Go binary the dev server ships with), same run

Each is run ``--runs`` times as a fresh process; the median wall time is printed with its ratio
to the baseline. Run: ``.venv/bin/python bench/cli_startup.py [--runs 15]``.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
BIN = Path(sys.executable).parent

from bench.results import record  # noqa: E402

#: Issue 14's target for ``noticeflow --help`` (wall time, fresh process).
HELP_TARGET_S = 0.3
EVENT = ROOT / "docs" / "examples" / "event-tpsp-multistate.json"


def _median(cmd: list[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, capture_output=True, text=True, check=True, cwd=ROOT)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    runs = parser.parse_args().runs
    baseline = _median([str(BIN / "temporal"), "--version"], runs)
    rows = [
        ("noticeflow --help", _median([str(BIN / "noticeflow"), "--help"], runs)),
        ("noticeflow rules --help", _median([str(BIN / "noticeflow"), "rules", "--help"], runs)),
        ("noticeflow obligations EVENT", _median([str(BIN / "noticeflow"), "obligations", str(EVENT)], runs)),
    ]
    print(f"baseline  temporal --version: {baseline * 1000:7.1f} ms (median of {runs})")
    for name, seconds in rows:
        print(f"{name:28s} {seconds * 1000:7.1f} ms   ratio to baseline {seconds / baseline:5.1f}x")
        help_only = name == "noticeflow --help"
        record(measure=f"`{name}` wall time (median of {runs})", ours=seconds, baseline=baseline, unit="s",
               baseline_label="`temporal --version`", target=f"≤ {HELP_TARGET_S} s" if help_only else None,
               met=seconds <= HELP_TARGET_S if help_only else None)


if __name__ == "__main__":
    main()
