"""The examiner's report: a typed view of a bundle's entries, and its HTML.

``build_examiner_report`` reads the entries once, in ``seq`` order (20,000 or more is fine: the
obligation table is never cut; only the steps-in-words list is, with a note saying so), and
returns an :class:`ExaminerReport`. ``render_examiner_report`` turns it into one self-contained
HTML page with no JavaScript: the obligation table, a timeline picture per event, the steps in
words with each entry's JSON one click away, counsel reviews, waivers, the privilege log and how
to verify the bundle. The live dashboard renders the same view model.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from jinja2 import (
    BaseLoader,
    ChoiceLoader,
    Environment,
    PackageLoader,
    StrictUndefined,
    select_autoescape,
)

from reports.obligations import ObligationFold, ObligationRow
from reports.people import People, obligation_label
from reports.privacy import PrivacyFold, PrivacyStreamView, privacy_timeline
from reports.timeline import Lane, Mark, Timeline, render_svg
from reports.times import local_text, parse_instant, span_text, utc_text
from reports.words import Step, to_step

#: The steps-in-words list stops after this many entries (entries.jsonl always holds all).
WORDS_LIMIT = 5_000
#: Lanes drawn in one event's timeline (late ones first); the table always lists every obligation.
TIMELINE_LANE_LIMIT = 120
#: Privacy relationships drawn as a timeline; the rest are listed in tables only.
PRIVACY_TIMELINE_LIMIT = 50
#: The external verifier's file name (tools/verify_bundle.py).
VERIFIER_NAME = "verify_bundle.py"

_PRIVACY_PREFIXES = ("privacy", "revised_notice")


@dataclass(frozen=True)
class KeyView:
    key_id: str
    algorithm: str
    public_key: str
    fingerprint: str
    valid_from: str | None
    valid_until: str | None
    note_verifier_key: str | None = None


@dataclass(frozen=True)
class CounselReviewRow:
    obligation_id: str
    label: str
    decision: str
    reasons: list[str]
    reviewer: str | None
    when: str | None
    seq: int | None
    withheld: bool
    digest: str | None

    @property
    def pending(self) -> bool:
        return self.seq is None


@dataclass(frozen=True)
class ExemptionRow:
    """A waiver, an excuse, an item not applicable, a notice not owed — each with its reason."""

    what: str
    jurisdiction: str | None
    status: str
    reason: str | None
    by: str | None
    when: str | None
    seq: int | None
    citation: str | None = None


@dataclass
class EventView:
    stream: str
    incident_id: str
    licensee: str | None = None
    entries: int = 0
    discovered_at: datetime | None = None
    determined_at: datetime | None = None
    closed_at: datetime | None = None
    milestones: list[tuple[str, datetime]] = field(default_factory=list)
    obligations: list[ObligationRow] = field(default_factory=list)
    timeline_svg: str = ""
    timeline_lanes: int = 0

    @property
    def counts(self) -> dict[str, int]:
        return _counts(self.obligations)


@dataclass(frozen=True)
class StreamSummary:
    stream: str
    entries: int
    first: str | None
    last: str | None


@dataclass(frozen=True)
class Verification:
    tree_size: int | None
    root_hash: str | None
    head_timestamp: str | None
    head_key_id: str | None
    keys: list[KeyView]
    checkpoint: str | None
    completeness_proven: str
    completeness_statement: str
    verifier_name: str
    verifier_sha256: str | None
    entry_versions: dict[str, int]


@dataclass
class ExaminerReport:
    title: str
    generated_at: str
    as_of: datetime | None
    filter: dict[str, Any]
    filter_words: str
    entry_count: int
    streams: list[tuple[str, int]]
    events: list[EventView]
    privacy: list[PrivacyStreamView]
    privacy_timeline_limit: int
    other_streams: list[StreamSummary]
    counsel_reviews: list[CounselReviewRow]
    exemptions: list[ExemptionRow]
    privilege_log: list[dict[str, Any]]
    steps: list[Step]
    steps_limit: int
    verification: Verification
    documents: int

    @property
    def obligations(self) -> list[ObligationRow]:
        return [row for event in self.events for row in event.obligations]

    @property
    def counts(self) -> dict[str, int]:
        return _counts(self.obligations)

    @property
    def late(self) -> list[ObligationRow]:
        return [row for row in self.obligations if row.late]

    @property
    def steps_truncated(self) -> bool:
        return self.entry_count > len(self.steps)

    @property
    def step_seqs(self) -> frozenset[int]:
        return frozenset(s.seq for s in self.steps)

    @property
    def generated_text(self) -> str:
        return utc_text(parse_instant(self.generated_at)) or self.generated_at


def _counts(rows: Iterable[ObligationRow]) -> dict[str, int]:
    counts = Counter(row.outcome for row in rows)
    return {k: counts.get(k, 0) for k in ("on_time", "late", "open", "waived", "excused")}


def key_fingerprint(public_key_b64: str) -> str:
    """``SHA256:<hex>`` of the raw public key (docs/ledger-format.md, the key statement)."""
    try:
        raw = base64.b64decode(public_key_b64, validate=True)
    except (binascii.Error, ValueError):
        return "not a base64 key"
    return "SHA256:" + hashlib.sha256(raw).hexdigest()


def _keys(keys: Mapping[str, Any]) -> list[KeyView]:
    """``keys.json`` (``{key_id: {...}}``) or a key statement (``{"keys": [...]}``)."""
    records: list[tuple[str, Mapping[str, Any]]]
    if isinstance(keys.get("keys"), list):
        records = [(str(k.get("key_id")), k) for k in keys["keys"] if isinstance(k, Mapping)]
    else:
        records = [(kid, k) for kid, k in keys.items() if isinstance(k, Mapping)]
    return [
        KeyView(
            key_id=kid,
            algorithm=str(k.get("algorithm", "ed25519")),
            public_key=str(k.get("public_key", "")),
            fingerprint=str(k.get("fingerprint") or key_fingerprint(str(k.get("public_key", "")))),
            valid_from=k.get("valid_from"),
            valid_until=k.get("valid_until"),
            note_verifier_key=k.get("note_verifier_key"),
        )
        for kid, k in sorted(records)
    ]


def _filter_words(where: Mapping[str, Any]) -> str:
    parts = []
    if where.get("stream"):
        parts.append(f"the stream {where['stream']}")
    if where.get("jurisdiction"):
        parts.append(f"the streams with an entry for {where['jurisdiction']}")
    if where.get("since") or where.get("until"):
        parts.append(f"entries from {where.get('since') or 'the start'} until {where.get('until') or 'the export'}")
    return "; ".join(parts) if parts else "the whole ledger"


def _short_outcome(row: ObligationRow) -> str:
    if row.status in ("waived", "excused"):
        return row.status
    if row.late:
        if row.late_by and row.status in ("met", "met_late", "sent"):
            return f"LATE {span_text(row.late_by, short=True)}"
        return "LATE, open" if row.outcome == "open" or row.overdue else "LATE"
    return {"on_time": "on time", "open": "sent" if row.status == "sent" else "open"}[row.outcome]


def drawn_obligations(event: EventView, limit: int = TIMELINE_LANE_LIMIT) -> list[ObligationRow]:
    """The obligations the timeline draws: all, or — past ``limit`` — every late one and then the
    others in table order up to ``limit``."""
    rows = event.obligations
    if len(rows) <= limit:
        return rows
    keep = {id(r) for r in rows if r.late}
    for r in rows:
        if len(keep) >= limit:
            break
        keep.add(id(r))
    return [r for r in rows if id(r) in keep]


def event_timeline(event: EventView, as_of: datetime | None,
                   lane_href: Callable[[EventView, ObligationRow], str] | None = None) -> Timeline:
    """The timeline of one event's obligations (what ``render_svg`` draws). Each lane links to its
    row of the obligation table: ``#<anchor>`` on the same page, or where ``lane_href`` says."""
    lanes: list[Lane] = []
    labels = Counter(f"{r.jurisdiction or '?'} {r.kind_words}" for r in event.obligations)
    for row in drawn_obligations(event):
        label = f"{row.jurisdiction or '?'} {row.kind_words}"
        if labels[label] > 1:
            label += f" — {row.recipient}"
        given = row.met_at or row.sent_at if row.status in ("met", "met_late", "sent") else None
        still_open = row.status in ("open", "overdue")
        lane = Lane(
            label=label,
            outcome=_short_outcome(row),
            late=row.late,
            allowed_from=row.clock_starts_at,
            deadline=row.due,
            bar_from=row.opened_at or row.clock_starts_at,
            bar_to=given or (as_of if still_open else None),
            still_open=still_open,
            title=f"{label}: {row.outcome_text}; due {row.due_local or '—'}; given {row.done_local or '—'}",
            href=(lane_href(event, row) if lane_href else f"#{row.anchor}") if row.anchor else None,
        )
        if row.sent_at is not None and row.status in ("met", "met_late", "sent"):
            lane.marks.append(Mark("sent", row.sent_at))
        if row.confirmed_at is not None and row.status in ("met", "met_late"):
            lane.marks.append(Mark("confirmed", row.confirmed_at))
        if row.status in ("waived", "excused") and row.resolved_at is not None:
            lane.marks.append(Mark(row.status, row.resolved_at, row.status))
        lanes.append(lane)
    return Timeline(title=f"Timeline of event {event.incident_id}: deadlines and notices", lanes=lanes,
                    milestones=event.milestones, as_of=as_of)


@dataclass
class LedgerFold:
    """What a run of entries says, event by event: the part of the view model that the examiner's
    report and the live dashboard (``api/dashboard.py``) share."""

    events: list[EventView]
    privacy: list[PrivacyStreamView]
    other_streams: list[StreamSummary]
    counsel_reviews: list[CounselReviewRow]
    exemptions: list[ExemptionRow]
    steps: list[Step]
    entry_count: int
    streams: Counter[str]
    versions: Counter[str]
    people: People


def fold_entries(
    entries: Iterable[dict],
    *,
    documents: Mapping[str, str],
    as_of: datetime | None,
    words_limit: int = WORDS_LIMIT,
    privacy_timeline_limit: int = PRIVACY_TIMELINE_LIMIT,
    lane_href: Callable[[EventView, ObligationRow], str] | None = None,
) -> LedgerFold:
    """Fold ``entries`` (in ``seq`` order) into events with their obligation rows and timeline
    pictures, privacy streams, counsel reviews, exemptions and the steps in words. Open
    obligations are judged as of ``as_of``; evidence naming a digest in ``documents`` links there;
    timeline lanes link as ``lane_href`` says (default: the row's anchor on the same page)."""
    people = People()
    fold = ObligationFold(documents, people)
    privacy = PrivacyFold(documents)
    events: dict[str, EventView] = {}
    others: dict[str, list[Any]] = {}
    streams: Counter[str] = Counter()
    versions: Counter[str] = Counter()
    reviews: list[CounselReviewRow] = []
    exemptions: list[ExemptionRow] = []
    steps: list[Step] = []
    count = 0
    for entry in entries:
        count += 1
        stream = str(entry.get("stream", ""))
        streams[stream] += 1
        versions[f"v{entry.get('v', 1)}"] += 1
        data = entry.get("data") if isinstance(entry.get("data"), dict) else {}
        people.learn(data)
        if stream.startswith("incident:"):
            event = events.get(stream)
            if event is None:
                event = events[stream] = EventView(stream=stream, incident_id=stream.split(":", 1)[1])
            event.entries += 1
            _event_facts(event, entry, data)
            fold.add(entry)
            _incident_side(entry, data, people, reviews, exemptions)
        elif stream.startswith(_PRIVACY_PREFIXES):
            privacy.add(entry)
        else:
            seen = others.setdefault(stream, [0, entry.get("ts"), entry.get("ts")])
            seen[0] += 1
            seen[2] = entry.get("ts")
        if len(steps) < words_limit:
            steps.append(to_step(entry, people))

    rows = fold.finish(as_of)
    for row in rows:
        event = events.get(row.stream)
        if event is None:
            event = events[row.stream] = EventView(stream=row.stream, incident_id=row.stream.split(":", 1)[-1])
        event.obligations.append(row)
        if row.status in ("waived", "excused"):
            exemptions.append(ExemptionRow(
                what=f"{row.jurisdiction or '?'} {row.kind_words} to {row.recipient}", jurisdiction=row.jurisdiction,
                status="waived" if row.status == "waived" else "not required (excused)", reason=row.reason,
                by=row.resolved_by, when=utc_text(row.resolved_at), seq=row.resolved_seq, citation=row.citation))
        if row.needs_counsel_review and row.counsel_decision is None:
            reviews.append(CounselReviewRow(row.obligation_id, obligation_label(row.obligation_id), "PENDING", [], None, None,
                                            None, False, None))
    for event in events.values():
        for index, row in enumerate(event.obligations, 1):
            row.anchor = f"ob-{event.incident_id}-{index}"
        event.milestones = [(label, at) for label, at in (
            ("discovered", event.discovered_at), ("determined", event.determined_at), ("closed", event.closed_at),
        ) if at is not None]
        timeline = event_timeline(event, as_of, lane_href)
        event.timeline_svg, event.timeline_lanes = render_svg(timeline), len(timeline.lanes)
    privacy_views = privacy.finish()
    for n, view in enumerate(privacy_views):
        for item in view.items:
            if item.status in ("not yet owed", "not required", "void"):
                exemptions.append(ExemptionRow(item.what, item.jurisdiction, item.status, item.reason, None,
                                               utc_text(item.at), item.seq, item.citation))
        if n < privacy_timeline_limit:
            view.timeline_svg = render_svg(privacy_timeline(view))
    return LedgerFold(
        events=sorted(events.values(), key=lambda e: e.stream),
        privacy=privacy_views,
        other_streams=[StreamSummary(s, v[0], v[1], v[2]) for s, v in sorted(others.items())],
        counsel_reviews=reviews,
        exemptions=exemptions,
        steps=steps,
        entry_count=count,
        streams=streams,
        versions=versions,
        people=people,
    )


def build_examiner_report(
    entries: Iterable[dict],
    *,
    tree_head: dict,
    keys: dict,
    filter: dict,
    completeness: dict,
    privilege_log: list[dict],
    documents: Mapping[str, str],
    generated_at: str,
    verifier_sha256: str | None,
    checkpoint: str | None,
    words_limit: int = WORDS_LIMIT,
) -> ExaminerReport:
    """The view model of a bundle's report. ``documents`` maps a document's SHA-256 to its path in
    the bundle (``documents/<sha256>.html``); evidence naming a digest links there."""
    until = parse_instant(filter.get("until")) if filter else None
    generated = parse_instant(generated_at)
    as_of = min(m for m in (until, generated) if m is not None) if (until or generated) else None
    folded = fold_entries(entries, documents=documents, as_of=as_of, words_limit=words_limit)
    events = folded.events
    licensees = sorted({e.licensee for e in events if e.licensee})
    ids = [e.incident_id for e in events]
    title = "Examiner's report" + (f" — event {ids[0]}" if len(ids) == 1 else "") + (f" — {licensees[0]}" if len(licensees) == 1 else "")
    return ExaminerReport(
        title=title,
        generated_at=generated_at,
        as_of=as_of,
        filter=dict(filter or {}),
        filter_words=_filter_words(filter or {}),
        entry_count=folded.entry_count,
        streams=folded.streams.most_common(),
        events=events,
        privacy=folded.privacy,
        privacy_timeline_limit=PRIVACY_TIMELINE_LIMIT,
        other_streams=folded.other_streams,
        counsel_reviews=folded.counsel_reviews,
        exemptions=folded.exemptions,
        privilege_log=[{**p, "author": folded.people.actor(p.get("actor"))} for p in privilege_log],
        steps=folded.steps,
        steps_limit=words_limit,
        verification=Verification(
            tree_size=tree_head.get("tree_size"),
            root_hash=tree_head.get("root_hash"),
            head_timestamp=tree_head.get("timestamp"),
            head_key_id=tree_head.get("key_id"),
            keys=_keys(keys or {}),
            checkpoint=checkpoint,
            completeness_proven=str((completeness or {}).get("proven", "none")),
            completeness_statement=str((completeness or {}).get("statement", "")),
            verifier_name=VERIFIER_NAME,
            verifier_sha256=verifier_sha256,
            entry_versions=dict(sorted(folded.versions.items())),
        ),
        documents=len(documents),
    )


def _event_facts(event: EventView, entry: Mapping[str, Any], data: Mapping[str, Any]) -> None:
    type_ = entry.get("type")
    if type_ == "incident.intake_recorded":
        licensee = data.get("licensee")
        event.licensee = licensee.get("name") if isinstance(licensee, dict) else event.licensee
        event.discovered_at = parse_instant(data.get("discovered_at"))
    elif type_ in ("incident.determined", "incident.determined_not_event"):
        event.determined_at = parse_instant(data.get("determined_at")) or parse_instant(entry.get("ts"))
    elif type_ == "incident.closed":
        event.closed_at = parse_instant(entry.get("ts"))


def _incident_side(entry: Mapping[str, Any], data: Mapping[str, Any], people: People, reviews: list[CounselReviewRow],
                   exemptions: list[ExemptionRow]) -> None:
    type_ = entry.get("type")
    seq = int(entry.get("seq", 0))
    when = utc_text(parse_instant(entry.get("ts")))
    if type_ == "incident.counsel_review_recorded":
        marker = data.get("privilege") if isinstance(data.get("privilege"), dict) else {}
        reviews.append(CounselReviewRow(
            obligation_id=str(data.get("obligation_id")), label=obligation_label(data.get("obligation_id")),
            decision=str(data.get("decision", "recorded")), reasons=[str(r) for r in data.get("reasons_reviewed") or []],
            reviewer=people.actor(entry.get("actor")), when=when, seq=seq, withheld=data.get("privileged") is True,
            digest=marker.get("digest")))
    elif type_ == "incident.report_item_not_applicable":
        exemptions.append(ExemptionRow(f"report item ({data.get('item')})", data.get("state") or entry.get("jurisdiction"),
                                       "not applicable", data.get("reason"), people.actor(entry.get("actor")), when, seq,
                                       entry.get("citation")))
    elif type_ == "incident.determined_not_event":
        exemptions.append(ExemptionRow("the event", None, "not a cybersecurity event", data.get("reason"),
                                       people.actor(entry.get("actor")), when, seq, entry.get("citation")))


def template_environment(*loaders: BaseLoader) -> Environment:
    """A Jinja environment that renders the report's templates and its shared parts
    (``_parts.html.j2``, ``_report_styles.css.j2``) — after ``loaders``' own templates, so another
    page (the live dashboard) can import the same parts — with the report's filters."""
    env = Environment(
        loader=ChoiceLoader([*loaders, PackageLoader("reports", "templates")]),
        autoescape=select_autoescape(["html", "j2"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["local"] = local_text
    env.filters["utc"] = utc_text
    env.filters["utc_ts"] = lambda text: utc_text(parse_instant(text)) or text
    return env


_env = template_environment()


def render_examiner_report(report: ExaminerReport) -> str:
    """The report as one HTML page (no JavaScript; print styles included)."""
    return _env.get_template("examiner_report.html.j2").render(r=report)
