"""One table of every benchmark's figures: what each bench records and how ``bench/results.md`` is written.

A bench calls :func:`record` once per measure, next to the lines it prints::

    record(measure="determination answered (idle stack)", ours=0.222, baseline=0.011, unit="s",
           baseline_label="bare update round trip", target="< 1 s", met=0.222 < 1)

When ``NOTICEFLOW_BENCH_RESULTS`` names a file (``bench/run_all.py`` sets it), the figure is appended
there as one JSON line; otherwise nothing is written, so every bench still runs on its own and only
prints. ``bench/run_all.py`` adds a line per bench run (command, wall time, exit status) and one for
the machine, and :func:`render` turns the lines into ``bench/results.md``.

The ratio is always ours ÷ baseline: above 1 is faster for a rate, slower for a time.
"""

from __future__ import annotations

import json
import math
import os
import platform
import sys
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

#: The file the figures are appended to, one JSON line each (unset: record nothing).
RESULTS_ENV = "NOTICEFLOW_BENCH_RESULTS"
#: The bench's name as ``run_all.py`` lists it (unset: the script's file name).
BENCH_ENV = "NOTICEFLOW_BENCH_NAME"


def _number(value: float | None) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"a figure must be a number, not {value!r}")
    return None if isinstance(value, float) and not math.isfinite(value) else value


def record(
    *,
    measure: str,
    ours: float | None,
    baseline: float | None = None,
    unit: str = "",
    baseline_unit: str | None = None,
    baseline_label: str | None = None,
    target: str | None = None,
    met: bool | None = None,
    note: str | None = None,
) -> dict[str, Any]:
    """One measure of this bench, with its same-run baseline and the target it is held to.

    ``ours``/``baseline`` are in ``unit`` (``baseline_unit`` when the baseline counts something
    else, e.g. workflows/s next to events/s); ``ours=None`` when the bench could not measure it.
    ``target`` is the text of the target (``"≥ 3,300/s and ≥ 0.7× plain loop"``), ``met`` whether
    this run met it (``None``: no target). Returns the line, appended to ``$NOTICEFLOW_BENCH_RESULTS``
    when that is set.
    """
    ours, baseline = _number(ours), _number(baseline)
    line: dict[str, Any] = {
        "kind": "measure",
        "bench": os.environ.get(BENCH_ENV) or Path(sys.argv[0]).stem,
        "measure": measure,
        "ours": ours,
        "baseline": baseline,
        "ratio": ours / baseline if ours is not None and baseline else None,
        "unit": unit,
        "baseline_unit": unit if baseline_unit is None else baseline_unit,
        "baseline_label": baseline_label,
        "target": target,
        "met": None if met is None else bool(met),
        "note": note,
    }
    path = os.environ.get(RESULTS_ENV)
    if path:
        append(Path(path), line)
    return line


def append(path: Path, line: dict[str, Any]) -> None:
    """One JSON line, written with a single append (a bench killed mid-run leaves whole lines)."""
    with path.open("a", encoding="utf-8") as f:
        f.write(json.dumps(line, ensure_ascii=False) + "\n")


def load(path: Path) -> list[dict[str, Any]]:
    """The lines of a results file; a line that is not JSON (a bench killed while writing) is kept
    as ``{"kind": "unreadable", ...}`` so the table says so."""
    lines = []
    for n, text in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not text.strip():
            continue
        try:
            lines.append(json.loads(text))
        except json.JSONDecodeError:
            lines.append({"kind": "unreadable", "line": n, "text": text[:200]})
    return lines


# -- the machine ----------------------------------------------------------------------------------


def _cpu_model() -> str:
    try:
        for text in Path("/proc/cpuinfo").read_text().splitlines():
            if text.startswith("model name"):
                return text.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _ram_gib() -> float | None:
    try:
        for text in Path("/proc/meminfo").read_text().splitlines():
            if text.startswith("MemTotal:"):
                return int(text.split()[1]) / 1024**2
    except OSError:
        pass
    return None


def _os_name() -> str:
    try:
        release = dict(
            text.split("=", 1) for text in Path("/etc/os-release").read_text().splitlines() if "=" in text
        )
        name = release.get("PRETTY_NAME", "").strip('"')
    except OSError:
        name = ""
    kernel = f"{platform.system()} {platform.release()}"
    return f"{name} ({kernel})" if name else kernel


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def machine() -> dict[str, Any]:
    """What the figures were measured on (the ``machine`` line of a results file)."""
    return {
        "kind": "machine",
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "ram_gib": _ram_gib(),
        "os": _os_name(),
        "python": platform.python_version(),
        "temporalio": _version("temporalio"),
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "load_before": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
    }


# -- the table ------------------------------------------------------------------------------------


def fmt(value: float | None, unit: str = "") -> str:
    """A figure as the table shows it: thousands separated, three significant digits below 100."""
    if value is None:
        return "—"
    if isinstance(value, int) or abs(value) >= 100:
        text = f"{value:,.0f}"
    elif abs(value) >= 10:
        text = f"{value:.1f}"
    elif abs(value) >= 1:
        text = f"{value:.2f}"
    else:
        text = f"{value:.3g}"
    if not unit:
        return text
    return f"{text}{unit}" if unit.startswith(("/", "%", "×")) else f"{text} {unit}"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _met(value: bool | None) -> str:
    return "—" if value is None else ("yes" if value else "**NO**")


def _status(run: dict[str, Any]) -> str:
    if run.get("missing"):
        return "**FAILED**: script not found"
    if run.get("timed_out"):
        return f"**FAILED**: timed out after {run['seconds']:,.0f} s"
    if run.get("returncode"):
        last = run.get("last_line")
        return f"**FAILED**: exit {run['returncode']}" + (f" — `{_cell(last)}`" if last else "")
    if not run.get("measures"):
        return "**FAILED**: exit 0 but recorded nothing"
    return "ok"


def _duration(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    return f"{minutes} min {secs:02d} s" if minutes else f"{seconds:.1f} s"


def _ratio(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:.1f}×" if value >= 10 else f"{value:.2f}×" if value >= 0.1 else f"{value:.2g}×"


def machine_line(m: dict[str, Any]) -> str:
    ram = f"{m['ram_gib']:.1f} GiB RAM" if m.get("ram_gib") else "RAM unknown"
    return (f"{m.get('cpu', '?')}, {m.get('cores', '?')} cores, {ram}; {m.get('os', '?')}; "
            f"Python {m.get('python', '?')}; temporalio {m.get('temporalio', '?')}; {m.get('date', '?')}")


def render(lines: list[dict[str, Any]], *, title: str = "Benchmark results") -> str:
    """``bench/results.md`` from a results file's lines: the machine, one table of every measure
    (bench order, then the order each bench recorded them), and each bench's run — a bench that
    failed is marked in both tables."""
    machine_info = next((x for x in reversed(lines) if x.get("kind") == "machine"), None)
    runs = [x for x in lines if x.get("kind") == "run"]
    measures = [x for x in lines if x.get("kind") == "measure"]
    unreadable = [x for x in lines if x.get("kind") == "unreadable"]
    by_bench: dict[str, list[dict[str, Any]]] = {}
    for m in measures:
        by_bench.setdefault(m["bench"], []).append(m)
    order = [r["bench"] for r in runs] + [b for b in by_bench if b not in {r["bench"] for r in runs}]
    run_of = {r["bench"]: {**r, "measures": len(by_bench.get(r["bench"], []))} for r in runs}

    out = [f"# {title}", ""]
    out.append("Written by `make bench` (`bench/run_all.py`); do not edit by hand. Every figure is next to "
               "a baseline measured in the same run; ratio = ours ÷ baseline (above 1: faster for a rate, "
               "slower for a time).")
    out.append("")
    if machine_info:
        out.append(f"**Machine:** {machine_line(machine_info)}.")
        loads = [f"{machine_info[k]:.2f} {k.removeprefix('load_')}" for k in ("load_before", "load_after")
                 if machine_info.get(k) is not None]
        if loads:
            out.append(f"Load average (1 min): {' and '.join(loads)} the run (the machine may be shared; every "
                       "figure drops with its load).")
        out.append("")
    with_target = [m for m in measures if m.get("met") is not None]
    failed = [b for b in order if b in run_of and _status(run_of[b]) != "ok"]
    met = sum(1 for m in with_target if m["met"])
    summary = f"{met} of {len(with_target)} targets met"
    if failed:
        summary += f"; **{len(failed)} bench{'es' if len(failed) > 1 else ''} failed**: {', '.join(failed)}"
    out += [summary + ".", ""]

    out.append("| measure | ours | baseline (same run) | ratio | target | met |")
    out.append("|---|---|---|---|---|---|")
    for bench in order:
        run = run_of.get(bench)
        bad = run is not None and _status(run) != "ok"
        rows = by_bench.get(bench, [])
        for m in rows:
            baseline = fmt(m.get("baseline"), m.get("baseline_unit") or "")
            if m.get("baseline_label") and m.get("baseline") is not None:
                baseline += f" ({m['baseline_label']})"
            elif m.get("baseline_label"):
                baseline = m["baseline_label"]
            measure = m["measure"] + (f" — {m['note']}" if m.get("note") else "")
            if bad:
                measure += f" (`{bench}` failed)"
            out.append("| " + " | ".join(_cell(c) for c in (
                measure, fmt(m.get("ours"), m.get("unit") or ""), baseline,
                _ratio(m.get("ratio")), m.get("target") or "—", _met(m.get("met")),
            )) + " |")
        if bad and run is not None and not rows:
            out.append(f"| `{bench}`: {_cell(_status(run))} | — | — | — | — | **NO** |")
    out.append("")

    if runs:
        out += ["## Runs", "", "| bench | command | wall time | status |", "|---|---|---|---|"]
        for bench in order:
            if bench in run_of:
                run = run_of[bench]
                out.append(f"| {bench} | `{_cell(run['command'])}` | {_duration(run['seconds'])} | {_status(run)} |")
        total = sum(r["seconds"] for r in runs)
        out += ["", f"Total: {_duration(total)}.", ""]
    if unreadable:
        out.append(f"{len(unreadable)} line(s) of the results file were not JSON (a bench killed while writing).")
        out.append("")
    return "\n".join(out)
