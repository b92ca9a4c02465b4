"""What the compliance officer's dashboard shows, read live from the ledger.

The ledger is the record: an event is open while its stream has no ``incident.closed`` entry, a
privacy relationship while it has no ``privacy_relationship.closed``, a revised-notice run while
it has no ``revised_notice.completed``. ``LiveLedger`` keeps the entries of the open streams in
memory and, at each look, reads only the entries appended since the last one (one query from the
last ``seq``), so a page costs the new entries, not the whole ledger.

The view model is the examiner's report's (``reports.examiner.fold_entries``): the same obligation
rows, judged as of now, the same timeline pictures, the same privacy folds — rendered by the same
template parts (``reports/templates/_parts.html.j2``).
"""

from __future__ import annotations

import heapq
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from ledger.store import EntryFilter, Ledger
from config.settings import Settings
from reports.examiner import EventView, LedgerFold, fold_entries
from reports.obligations import ObligationRow
from reports.privacy import PrivacyStreamView
from reports.times import parse_instant

INCIDENT, PRIVACY, REVISED = "incident:", "privacy:", "revised_notice:"
#: The entry that ends each lifecycle the dashboard follows.
CLOSING = {"incident.closed": INCIDENT, "privacy_relationship.closed": PRIVACY, "revised_notice.completed": REVISED}
#: The stream of the annual-notice sweeps (workflows/privacy_schedules.py): never closed.
ANNUAL_SWEEPS = f"{PRIVACY}annual-sweeps"
#: Privacy lifecycles listed on the overview at most (those with something late first).
LIFECYCLE_ROWS = 200
#: The search attribute every workflow of an event carries (workflows/search_attributes.py).
INCIDENT_SEARCH_ATTRIBUTE = "NoticeflowIncidentId"


def _followed(stream: str) -> bool:
    return stream.startswith((INCIDENT, PRIVACY, REVISED))


@dataclass(frozen=True)
class Snapshot:
    """The open streams' entries (each list in ``seq`` order) as of ledger size ``size``."""

    streams: dict[str, list[dict[str, Any]]]
    size: int

    def of_kind(self, prefix: str) -> Iterable[dict[str, Any]]:
        """The entries of every open stream with this prefix, in ``seq`` order."""
        lists = [entries for stream, entries in sorted(self.streams.items()) if stream.startswith(prefix)]
        return heapq.merge(*lists, key=lambda e: e["seq"])


class LiveLedger:
    """The entries of the open lifecycles, kept up to date from the ledger (blocking: call from a
    worker thread)."""

    def __init__(self, ledger: Callable[[], Ledger]) -> None:
        self._ledger = ledger
        self._lock = threading.Lock()
        self._after = 0
        self._open: dict[str, list[dict[str, Any]]] = {}
        self._closed: set[str] = set()

    def refresh(self) -> Snapshot:
        with self._lock:
            for entry in self._ledger().iter_raw(after=self._after):
                self._after = entry["seq"]
                stream = entry["stream"]
                if not _followed(stream) or stream in self._closed:
                    continue
                if entry["type"] in CLOSING and stream.startswith(CLOSING[entry["type"]]):
                    self._closed.add(stream)
                    self._open.pop(stream, None)
                    continue
                self._open.setdefault(stream, []).append(entry)
            return Snapshot({stream: list(entries) for stream, entries in self._open.items()}, self._after)

    def is_closed(self, stream: str) -> bool:
        with self._lock:
            return stream in self._closed

    def stream(self, stream: str) -> list[dict[str, Any]]:
        """Every entry of one stream, open or closed, straight from the ledger."""
        return list(self._ledger().iter_raw(EntryFilter(stream=stream)))


# -- links --------------------------------------------------------------------------------------------


class TemporalUi:
    """Links into the Temporal UI: a workflow's page, and every workflow of an event."""

    def __init__(self, settings: Settings) -> None:
        base = settings.temporal_ui_url or f"http://127.0.0.1:{settings.temporal_ui_port}"
        self.base = base.rstrip("/")
        self.namespace = settings.temporal_namespace

    def workflow(self, workflow_id: str | None) -> str | None:
        if not workflow_id:
            return None
        return f"{self.base}/namespaces/{quote(self.namespace, safe='')}/workflows/{quote(workflow_id, safe='')}"

    def event_workflows(self, incident_id: str) -> str:
        query = f'{INCIDENT_SEARCH_ATTRIBUTE}="{incident_id}"'
        return f"{self.base}/namespaces/{quote(self.namespace, safe='')}/workflows?query={quote(query, safe='')}"


def _workflow_ids(entries: Iterable[dict[str, Any]]) -> tuple[dict[str, str], dict[str, str]]:
    """Per stream, the workflow that recorded its first entry (the annual sweeps: its latest, one
    workflow per sweep); per obligation, its own workflow."""
    streams: dict[str, str] = {}
    obligations: dict[str, str] = {}
    for entry in entries:
        workflow_id = entry.get("workflow_id")
        if not workflow_id:
            continue
        if entry["stream"] == ANNUAL_SWEEPS:
            streams[ANNUAL_SWEEPS] = workflow_id
        else:
            streams.setdefault(entry["stream"], workflow_id)
        data = entry.get("data")
        if isinstance(data, dict) and isinstance(data.get("obligation_id"), str) and workflow_id.startswith("obligation-"):
            obligations.setdefault(data["obligation_id"], workflow_id)
    return streams, obligations


@dataclass
class Links:
    """What ``_parts.html.j2``'s ``links`` asks: where an entry, an event and a workflow are shown."""

    base: str  # the dashboard's own path, e.g. /v1/dashboard
    ui: TemporalUi
    obligation_workflows: dict[str, str]
    events: bool = False
    #: Entries are on this page (the event's page): their anchors stay as they are.
    entries_here: bool = False

    def event_href(self, row: ObligationRow) -> str:
        return f"{self.base}/events/{quote(_incident_of(row.stream), safe='')}"

    def event_label(self, row: ObligationRow) -> str:
        return _incident_of(row.stream)

    def entry(self, row: ObligationRow, href: str) -> str:
        return href if self.entries_here else f"{self.event_href(row)}{href}"

    def workflow(self, row: ObligationRow) -> str | None:
        return self.ui.workflow(self.obligation_workflows.get(row.obligation_id))


def _incident_of(stream: str) -> str:
    return stream.split(":", 1)[1] if ":" in stream else stream


# -- the overview ----------------------------------------------------------------------------------------


@dataclass
class OpenEvent:
    view: EventView
    page: str
    workflow: str | None
    all_workflows: str
    last_activity: datetime | None

    @property
    def counts(self) -> dict[str, int]:
        return self.view.counts


@dataclass
class Lifecycle:
    """One open privacy lifecycle: a consumer relationship, a revised-notice run, or the annual sweeps."""

    stream: str
    kind: str
    subject: str
    jurisdiction: str | None
    entries: int
    last_activity: datetime | None
    open_windows: int
    next_window_end: datetime | None
    late: list[str]
    workflow: str | None


@dataclass
class Overview:
    as_of: datetime
    ledger_size: int
    events: list[OpenEvent]
    due: list[ObligationRow]
    links: Links
    lifecycles: list[Lifecycle]
    lifecycles_open: int
    privacy_late: int
    counts: dict[str, int] = field(default_factory=dict)


def _lifecycle(view: PrivacyStreamView, workflow: str | None) -> Lifecycle:
    if view.stream.startswith(REVISED):
        kind, subject = "revised notice run", "policy " + view.stream[len(REVISED):].replace(":", " → ")
    elif view.stream == ANNUAL_SWEEPS:
        kind, subject = "annual notice sweeps", "every customer relationship"
    else:
        kind, subject = "consumer relationship", view.stream[len(PRIVACY):]
    windows = [i for i in view.items if i.what == "opt-out window" and i.status == "open"]
    ends = [i.until for i in windows if i.until is not None]
    late = [f"{i.what}: {i.status}" + (f" ({i.reason})" if i.reason else "") for i in view.items if i.late]
    return Lifecycle(view.stream, kind, subject, view.jurisdiction, view.entries, view.last_ts, len(windows),
                     min(ends) if ends else None, late, workflow)


def overview(snapshot: Snapshot, settings: Settings, base: str, now: datetime | None = None) -> Overview:
    """The dashboard's first page: open events with their timelines, what is due by due date, and the
    open privacy lifecycles — all as of ``now``."""
    now = now or datetime.now(UTC)
    ui = TemporalUi(settings)
    stream_workflows, obligation_workflows = _workflow_ids(e for entries in snapshot.streams.values() for e in entries)
    links = Links(base, ui, obligation_workflows, events=True)
    page_of = lambda incident_id: f"{base}/events/{quote(incident_id, safe='')}"
    events = fold_entries(snapshot.of_kind(INCIDENT), documents={}, as_of=now, words_limit=0, privacy_timeline_limit=0,
                          lane_href=lambda event, row: f"{page_of(event.incident_id)}#{row.anchor}")
    open_events = [
        OpenEvent(view=e, page=page_of(e.incident_id), workflow=ui.workflow(stream_workflows.get(e.stream)),
                  all_workflows=ui.event_workflows(e.incident_id),
                  last_activity=parse_instant(snapshot.streams[e.stream][-1].get("ts")) if snapshot.streams.get(e.stream) else None)
        for e in events.events
    ]
    due = sorted((row for e in events.events for row in e.obligations if row.outcome in ("open", "late")),
                 key=lambda r: (r.due is None, r.due or now, r.obligation_id))
    privacy = fold_entries(_privacy_entries(snapshot), documents={}, as_of=now, words_limit=0, privacy_timeline_limit=0)
    lifecycles = [_lifecycle(view, ui.workflow(stream_workflows.get(view.stream))) for view in privacy.privacy]
    lifecycles.sort(key=lambda c: (not c.late, -(c.last_activity or now).timestamp(), c.stream))
    counts = _counts(events)
    counts["events"] = len(open_events)
    return Overview(as_of=now, ledger_size=snapshot.size, events=open_events, due=due, links=links,
                    lifecycles=lifecycles[:LIFECYCLE_ROWS], lifecycles_open=len(lifecycles),
                    privacy_late=sum(1 for c in lifecycles if c.late), counts=counts)


def _privacy_entries(snapshot: Snapshot) -> Iterable[dict[str, Any]]:
    return heapq.merge(snapshot.of_kind(PRIVACY), snapshot.of_kind(REVISED), key=lambda e: e["seq"])


def _counts(fold: LedgerFold) -> dict[str, int]:
    rows = [row for e in fold.events for row in e.obligations]
    return {
        "obligations": len(rows),
        "overdue": sum(1 for r in rows if r.overdue),
        "late": sum(1 for r in rows if r.late),
        "open": sum(1 for r in rows if r.outcome == "open"),
        "on_time": sum(1 for r in rows if r.outcome == "on_time"),
    }


# -- one event ---------------------------------------------------------------------------------------------


@dataclass
class EventPage:
    view: EventView
    fold: LedgerFold
    closed: bool
    as_of: datetime
    workflow: str | None
    all_workflows: str
    links: Links


def event_page(entries: list[dict[str, Any]], settings: Settings, base: str, *, closed: bool,
               now: datetime | None = None) -> EventPage | None:
    """One event's page: its timeline, every obligation, and its steps in words; None for no entries."""
    if not entries:
        return None
    now = now or datetime.now(UTC)
    ui = TemporalUi(settings)
    stream_workflows, obligation_workflows = _workflow_ids(entries)
    fold = fold_entries(entries, documents={}, as_of=now, privacy_timeline_limit=0)
    (view,) = fold.events
    return EventPage(view=view, fold=fold, closed=closed, as_of=now, workflow=ui.workflow(stream_workflows.get(view.stream)),
                     all_workflows=ui.event_workflows(view.incident_id),
                     links=Links(base, ui, obligation_workflows, entries_here=True))
