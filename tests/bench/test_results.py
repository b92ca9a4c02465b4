"""`make bench`'s table (bench/results.py, bench/run_all.py), without running a benchmark: what a
bench's ``record(...)`` writes, how ``bench/results.md`` is rendered from the lines — a failed bench
marked in both tables — and that every bench in bench/ is run and records its figures."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

from bench import results, run_all
from bench.results import BENCH_ENV, RESULTS_ENV, load, record, render

ROOT = Path(__file__).resolve().parents[2]


def _table(markdown: str) -> list[list[str]]:
    """The rows of the first table (header and rule left out), each as its cells."""
    lines = markdown.splitlines()
    start = lines.index("| measure | ours | baseline (same run) | ratio | target | met |")
    rows = []
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in re.split(r"(?<!\\)\|", line)[1:-1]])
    return rows


# -- record ---------------------------------------------------------------------------------------


def test_record_writes_nothing_when_no_results_file_is_named(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(RESULTS_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    line = record(measure="m", ours=2.0, baseline=4.0, unit="s")
    assert line["ratio"] == 0.5
    assert list(tmp_path.iterdir()) == []


def test_record_appends_one_json_line_per_measure_with_the_ratio(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    out = tmp_path / "results.jsonl"
    monkeypatch.setenv(RESULTS_ENV, str(out))
    monkeypatch.setenv(BENCH_ENV, "fanout_bench")
    record(measure="revised-notice fan-out, 10^4 consumers", ours=3_253.0, baseline=4_393.0, unit="consumers/s",
           baseline_label="plain batched loop", target="≥ 3,300/s and ≥ 0.7× plain loop", met=False)
    record(measure="504 answers", ours=0, target="0", met=True)
    first, second = (json.loads(x) for x in out.read_text().splitlines())
    assert first["bench"] == "fanout_bench" and first["kind"] == "measure"
    assert first["ratio"] == pytest.approx(3_253 / 4_393)
    assert first["met"] is False
    assert second["baseline"] is None and second["ratio"] is None and second["met"] is True


def test_a_figure_that_is_not_finite_is_recorded_as_not_measured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(RESULTS_ENV, raising=False)
    line = record(measure="m", ours=float("nan"), baseline=0.0)
    assert line["ours"] is None and line["ratio"] is None
    with pytest.raises(TypeError):
        record(measure="m", ours="fast")  # type: ignore[arg-type]


# -- render ---------------------------------------------------------------------------------------

MACHINE = {"kind": "machine", "cpu": "AMD EPYC 7B13", "cores": 2, "ram_gib": 7.75, "os": "Ubuntu 24.04 (Linux 6.8)",
           "python": "3.11.9", "temporalio": "1.9.0", "date": "2026-12-03 10:00 UTC", "load_before": 0.4, "load_after": 2.1}


def _measure(bench: str, measure: str, ours: float | None, baseline: float | None = None, **kw: object) -> dict[str, object]:
    return {"kind": "measure", "bench": bench, "measure": measure, "ours": ours, "baseline": baseline,
            "ratio": ours / baseline if ours is not None and baseline else None, "unit": kw.get("unit", ""),
            "baseline_unit": kw.get("baseline_unit", kw.get("unit", "")), "baseline_label": kw.get("baseline_label"),
            "target": kw.get("target"), "met": kw.get("met"), "note": kw.get("note")}


def _run(bench: str, seconds: float, returncode: int | None = 0, **kw: object) -> dict[str, object]:
    return {"kind": "run", "bench": bench, "command": f".venv/bin/python bench/{bench}.py", "seconds": seconds,
            "returncode": returncode, "timed_out": False, "missing": False, "last_line": None, **kw}


SAMPLE = [
    MACHINE,
    _measure("fanout_bench", "revised-notice fan-out, 10^4 consumers", 3_500.0, 4_000.0, unit="consumers/s",
             baseline_label="plain batched loop", target="≥ 3,300/s and ≥ 0.7× plain loop", met=True),
    _measure("fanout_bench", "revised-notice fan-out, 10^5 consumers", 3_021.0, 3_515.0, unit="consumers/s",
             baseline_label="plain batched loop", target="≥ 3,300/s and ≥ 0.7× plain loop", met=False),
    _run("fanout_bench", 412.0),
    # Recorded its idle figure, then crashed in the 50-at-once part.
    _measure("determination_latency", "determination answered, idle stack", 0.222, 0.0114, unit="s",
             baseline_label="bare update round trip", target="< 1 s", met=True),
    _run("determination_latency", 95.5, 1, last_line="AssertionError: the stack did not start"),
    # Failed before recording anything.
    _run("history_events", 3.2, 2, last_line="KeyError: 'stage'"),
    _measure("cli_startup", "`noticeflow --help` wall time", 0.21, 0.07, unit="s",
             baseline_label="`temporal --version`", target="≤ 0.3 s", met=True),
    _run("cli_startup", 20.0),
    _run("onboarding_bench", 0.0, None, missing=True),
    _measure("workflow_bench", "sample event end to end", 0.5, 95.0, unit="events/s", baseline_unit="workflows/s",
             baseline_label="SDK one-activity workflow"),
    _run("workflow_bench", 7_260.0, -15, timed_out=True),
]


def test_results_md_has_one_row_per_measure_in_bench_order_with_its_ratio_and_target(tmp_path: Path) -> None:
    path = tmp_path / "results.jsonl"
    path.write_text("\n".join(json.dumps(x) for x in SAMPLE) + "\n")
    rows = _table(render(load(path)))

    assert [r[0].split(" (`")[0] for r in rows] == [
        "revised-notice fan-out, 10^4 consumers",
        "revised-notice fan-out, 10^5 consumers",
        "determination answered, idle stack",
        "`history_events`: **FAILED**: exit 2 — `KeyError: 'stage'`",
        "`noticeflow --help` wall time",
        "`onboarding_bench`: **FAILED**: script not found",
        "sample event end to end",
    ]
    fan_4, fan_5, idle, _, cli, _, flow = rows
    assert fan_4[1:] == ["3,500 consumers/s", "4,000 consumers/s (plain batched loop)", "0.88×",
                         "≥ 3,300/s and ≥ 0.7× plain loop", "yes"]
    assert fan_5[3:] == ["0.86×", "≥ 3,300/s and ≥ 0.7× plain loop", "**NO**"]
    assert idle[1:4] == ["0.222 s", "0.0114 s (bare update round trip)", "19.5×"]
    assert cli[1:] == ["0.21 s", "0.07 s (`temporal --version`)", "3.00×", "≤ 0.3 s", "yes"]
    assert flow[1:4] == ["0.5 events/s", "95.0 workflows/s (SDK one-activity workflow)", "0.0053×"]
    assert flow[4:] == ["—", "—"]  # no target: neither met nor missed


def test_a_failed_bench_is_marked_in_the_table_and_in_the_runs(tmp_path: Path) -> None:
    md = render(SAMPLE)
    rows = {r[0]: r for r in _table(md)}
    # Figures a bench recorded before it failed stay, marked; a bench that recorded nothing has a row.
    assert "determination answered, idle stack (`determination_latency` failed)" in rows
    assert "sample event end to end (`workflow_bench` failed)" in rows
    assert rows["`history_events`: **FAILED**: exit 2 — `KeyError: 'stage'`"][5] == "**NO**"
    assert "revised-notice fan-out, 10^4 consumers" in rows  # fanout_bench succeeded: no mark

    runs = md.split("## Runs", 1)[1]
    assert "| fanout_bench | `.venv/bin/python bench/fanout_bench.py` | 6 min 52 s | ok |" in runs
    assert "| determination_latency | `.venv/bin/python bench/determination_latency.py` | 1 min 36 s | **FAILED**: exit 1" in runs
    assert "| history_events | `.venv/bin/python bench/history_events.py` | 3.2 s | **FAILED**: exit 2" in runs
    assert "**FAILED**: script not found" in runs
    assert "| 2 h 01 min | **FAILED**: timed out after 7,260 s |" in runs

    summary = next(line for line in md.splitlines() if "targets met" in line)
    assert summary.startswith("3 of 4 targets met; **4 benches failed**: determination_latency, history_events,")


def test_results_md_names_the_machine() -> None:
    md = render(SAMPLE)
    assert ("**Machine:** AMD EPYC 7B13, 2 cores, 7.8 GiB RAM; Ubuntu 24.04 (Linux 6.8); Python 3.11.9; "
            "temporalio 1.9.0; 2026-12-03 10:00 UTC.") in md
    assert "Load average (1 min): 0.40 before and 2.10 after the run" in md


def test_a_bench_that_exits_cleanly_but_records_nothing_is_a_failure() -> None:
    md = render([MACHINE, _run("rules_bench", 12.0)])
    assert _table(md) == [["`rules_bench`: **FAILED**: exit 0 but recorded nothing", "—", "—", "—", "—", "**NO**"]]


def test_an_unreadable_line_is_reported_not_dropped(tmp_path: Path) -> None:
    path = tmp_path / "results.jsonl"
    path.write_text(json.dumps(SAMPLE[1]) + "\n" + '{"kind": "meas' + "\n")
    md = render(load(path))
    assert len(_table(md)) == 1
    assert "1 line(s) of the results file were not JSON" in md


def test_the_machine_line_is_filled_in_on_this_machine() -> None:
    m = results.machine()
    assert m["cores"] and m["python"] == ".".join(map(str, sys.version_info[:3]))
    assert m["temporalio"] != "not installed"


@pytest.mark.parametrize(("value", "unit", "shown"), [
    (3253.4, "consumers/s", "3,253 consumers/s"), (1_400, "events", "1,400 events"), (0, "", "0"),
    (12.345, "ms", "12.3 ms"), (2.5, "s", "2.50 s"), (0.0004123, "ms", "0.000412 ms"), (None, "s", "—"),
])
def test_figures_are_shown_with_thousands_and_three_significant_digits(value: float | None, unit: str, shown: str) -> None:
    assert results.fmt(value, unit) == shown


# -- run_all --------------------------------------------------------------------------------------


def test_a_bench_run_records_through_the_environment_and_a_failure_keeps_its_last_line(tmp_path: Path) -> None:
    script = tmp_path / "fake_bench.py"
    script.write_text(
        f"import sys\nsys.path.insert(0, {str(ROOT)!r})\nfrom bench.results import record\n"
        "record(measure='fake', ours=2, baseline=1, target='≥ 1', met=True)\n"
        "print('about to fail')\nsys.exit(3)\n"
    )
    out = tmp_path / "results.jsonl"
    run = run_all.run_one(run_all.Bench(str(script)), out, million=False)
    assert run["returncode"] == 3 and run["last_line"] == "about to fail" and not run["timed_out"]
    (line,) = load(out)
    assert line["bench"] == "fake_bench" and line["ratio"] == 2


def test_a_bench_that_overruns_its_timeout_is_stopped_and_marked(tmp_path: Path) -> None:
    script = tmp_path / "slow_bench.py"
    script.write_text("import time\nprint('started', flush=True)\ntime.sleep(60)\n")
    run = run_all.run_one(run_all.Bench(str(script), timeout=1), tmp_path / "r.jsonl", million=False)
    assert run["timed_out"] and run["seconds"] < 30


def test_every_bench_in_bench_is_run_by_make_bench() -> None:
    on_disk = {p.stem for p in (ROOT / "bench").glob("*.py")} - run_all.NOT_BENCHES
    listed = [b.name for b in run_all.BENCHES]
    assert sorted(listed) == sorted(set(listed)), "a bench listed twice"
    assert on_disk <= set(listed), f"benches not in bench/run_all.py's BENCHES: {sorted(on_disk - set(listed))}"
    for bench in run_all.BENCHES:
        assert "record(" in (ROOT / bench.script).read_text(), f"{bench.script} records no figure for bench/results.md"


def test_the_fan_out_runs_ten_to_the_four_and_five_and_ten_to_the_six_only_under_the_flag() -> None:
    (fanout,) = [b for b in run_all.BENCHES if b.name == "fanout_bench"]
    assert fanout.argv(million=False)[1:] == ["--sizes", "10000,100000"]
    assert fanout.argv(million=True)[1:] == ["--sizes", "10000,100000,1000000"]


def test_make_bench_runs_run_all_with_the_million_flag() -> None:
    makefile = (ROOT / "Makefile").read_text()
    target = makefile.split("\nbench:", 1)[1].split("\n\n", 1)[0]
    assert "bench/run_all.py" in target and "--million" in target and "FANOUT_MILLION" in target
