"""What was due against what was done: one row per obligation, folded from its ledger entries.

The ledger's own words decide: an obligation is late when its ``<kind>.met_late`` entry (or a
``sent`` entry with ``on_time: false``) says so, open when no entry resolved it — and overdue
when its due instant has passed by the report's "as of" instant. Nothing here recomputes a
deadline: ``due`` is the instant the rules computed and the entries carry.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from reports.people import KIND_ORDER, KIND_WORDS, People, kind_of
from reports.times import local_text, parse_instant, span_text, utc_text
from rules.jurisdictions import STATE_NAMES, jurisdiction_for

_SHA256 = re.compile(r"^[0-9a-f]{64}$")

#: The lifecycle events that set an obligation's status (``<kind>.<event>``).
_OPEN, _OVERDUE, _SENT, _MET, _MET_LATE, _WAIVED, _EXCUSED = "open", "overdue", "sent", "met", "met_late", "waived", "excused"
#: Obligations noticeflow files with an office (the filing's entry says so; no "sent by" line).
_FILINGS = ("commissioner_notice", "attorney_general_notice")


@dataclass(frozen=True)
class Evidence:
    """One piece of evidence: a document in the bundle (``href`` = ``documents/…``), a link to the
    entry that states it (``#e<seq>``), or a reference with no file (a regulator's acknowledgement
    number, a relay's queue id)."""

    label: str
    href: str | None = None
    detail: str | None = None
    #: Secondary links shown on the same line (e.g. the data form of a filed report): (label, href).
    also: tuple[tuple[str, str], ...] = ()


@dataclass
class ObligationRow:
    obligation_id: str
    stream: str
    kind: str
    jurisdiction: str | None = None
    recipient_role: str | None = None
    recorded_recipient: str | None = None
    derived_recipient: str | None = None
    citation: str | None = None
    #: Every law the one delivery of this notice satisfies (its own and those of the obligations it
    #: is shared with), as the obligation's ``opened`` entry records them.
    laws_satisfied: list[str] = field(default_factory=list)
    rule_id: str | None = None
    basis: str | None = None
    method: str | None = None
    clock_starts_at: datetime | None = None
    opened_at: datetime | None = None
    due: datetime | None = None
    sent_at: datetime | None = None
    met_at: datetime | None = None
    confirmed_at: datetime | None = None
    resolved_at: datetime | None = None
    status: str = _OPEN
    on_time: bool | None = None
    late_by: timedelta | None = None
    reason: str | None = None
    #: Who waived it (a person) or recorded the excuse (the worker, from the rules), and that entry's seq.
    resolved_by: str | None = None
    resolved_seq: int | None = None
    needs_counsel_review: bool = False
    counsel_decision: str | None = None
    counsel_seq: int | None = None
    overdue_at: datetime | None = None
    reopened: int = 0
    reminders: int = 0
    as_of: datetime | None = None
    #: The row's id in the report (``ob-<incident>-<n>``), the target of the timeline's lane links.
    anchor: str = ""
    evidence: list[Evidence] = field(default_factory=list)
    done_by: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seqs: list[int] = field(default_factory=list)
    documents_seen: dict[str, str] = field(default_factory=dict)

    # -- what the report shows ----------------------------------------------------------------

    @property
    def kind_words(self) -> str:
        return KIND_WORDS.get(self.kind, self.kind.replace("_", " "))

    @property
    def recipient(self) -> str:
        return self.recorded_recipient or self.derived_recipient or (self.recipient_role or "—").replace("_", " ")

    @property
    def due_local(self) -> str | None:
        return local_text(self.due, self.jurisdiction)

    @property
    def due_utc(self) -> str | None:
        return utc_text(self.due)

    @property
    def done_at(self) -> datetime | None:
        """When the notice was given (its sending), or when it was waived or excused."""
        if self.status in (_MET, _MET_LATE, _SENT):
            return self.met_at or self.sent_at
        if self.status in (_WAIVED, _EXCUSED):
            return self.resolved_at
        return None

    @property
    def done_local(self) -> str | None:
        return local_text(self.done_at, self.jurisdiction)

    @property
    def done_utc(self) -> str | None:
        return utc_text(self.done_at)

    @property
    def confirmed_local(self) -> str | None:
        return local_text(self.confirmed_at, self.jurisdiction) if self.status in (_MET, _MET_LATE) else None

    @property
    def overdue(self) -> bool:
        """Open (or reopened) with its due instant passed by the report's "as of" instant."""
        if self.status not in (_OPEN, _OVERDUE):
            return False
        if self.status == _OVERDUE:
            return True
        return self.due is not None and self.as_of is not None and self.as_of > self.due

    @property
    def late(self) -> bool:
        return self.status == _MET_LATE or self.overdue or (self.status in (_MET, _SENT) and self.on_time is False)

    @property
    def outcome(self) -> str:
        """``on_time``, ``late``, ``open``, ``waived`` or ``excused`` (a class name and a filter)."""
        if self.status in (_WAIVED, _EXCUSED):
            return self.status
        if self.late:
            return "late"
        if self.status == _MET:
            return "on_time"
        return "open"

    @property
    def outcome_text(self) -> str:
        if self.status == _WAIVED:
            return "waived"
        if self.status == _EXCUSED:
            return "not required (excused)"
        late_by = f" by {span_text(self.late_by)}" if self.late_by else ""
        if self.status == _MET_LATE or (self.status == _MET and self.on_time is False):
            return f"LATE{late_by}"
        if self.status == _MET:
            return "on time"
        if self.status == _SENT:
            if self.on_time is False:
                return f"LATE{late_by} — sent, confirmation awaited"
            return "sent on time — confirmation awaited"
        if self.overdue:
            assert self.as_of is not None
            since = f" by {span_text(self.as_of - self.due)}" if self.due else ""
            return f"LATE — still open, overdue{since}"
        if self.due is not None and self.as_of is not None:
            return f"open — due in {span_text(self.due - self.as_of)}"
        return "open"

    @property
    def sort_key(self) -> tuple[str, str, int, str]:
        order = KIND_ORDER.index(self.kind) if self.kind in KIND_ORDER else len(KIND_ORDER)
        return (self.stream, self.jurisdiction or "", order, self.obligation_id)


def _doc_hits(data: Any, path: tuple[str, ...] = (), depth: int = 0) -> list[tuple[str, tuple[str, ...]]]:
    """Every SHA-256 hex digest in ``data`` with the key path that leads to it."""
    if depth > 6:
        return []
    hits: list[tuple[str, tuple[str, ...]]] = []
    if isinstance(data, dict):
        for key, value in data.items():
            hits.extend(_doc_hits(value, (*path, str(key)), depth + 1))
    elif isinstance(data, list):
        for value in data[:200]:
            hits.extend(_doc_hits(value, path, depth + 1))
    elif isinstance(data, str) and _SHA256.match(data):
        hits.append((data, path))
    return hits


def _doc_label(entry_type: str, data: Mapping[str, Any], path: tuple[str, ...]) -> str:
    joined = "/".join(path)
    event = entry_type.split(".", 1)[-1]
    what = "notice" if entry_type.startswith("attorney_general_notice.") else "report"
    if event in ("submitted", "updated") and path and path[-1] == "html_sha256":
        return f"{what} v{data.get('version', '?')} as filed"
    if event in ("submitted", "updated") and path and path[-1] == "document_sha256":
        return f"{what} v{data.get('version', '?')} data (JSON)"
    for channel, words in (("website", "website posting"), ("media", "media notice"), ("manifests", "mailing manifest"),
                           ("email", "e-mail notice"), ("postal", "letter")):
        if channel in joined:
            return words
    if path and path[-1] in ("evidence_sha256", "evidence"):
        return "evidence file"
    if "documents" in path:
        return "notice as sent"
    return "document"


class ObligationFold:
    """Reads entries in ``seq`` order and keeps one :class:`ObligationRow` per obligation."""

    def __init__(self, documents: Mapping[str, str], people: People) -> None:
        self.documents = documents
        self.people = people
        self.rows: dict[str, ObligationRow] = {}
        #: Affected consumers per (stream, state): intake, then reconciliations.
        self.estimates: dict[tuple[str, str], int] = {}

    def row(self, obligation_id: str, stream: str, kind: str | None) -> ObligationRow:
        row = self.rows.get(obligation_id)
        if row is None:
            row = ObligationRow(obligation_id=obligation_id, stream=stream, kind=kind or _kind_from_id(obligation_id))
            self.rows[obligation_id] = row
        return row

    # -- entries ----------------------------------------------------------------------------

    def add(self, entry: Mapping[str, Any]) -> None:
        type_ = str(entry.get("type", ""))
        data = entry.get("data") if isinstance(entry.get("data"), dict) else {}
        stream = str(entry.get("stream", ""))
        if type_ == "incident.intake_recorded":
            for state, count in (data.get("affected_consumers") or {}).items():
                if isinstance(count, int):
                    self.estimates[(stream, state)] = count
            return
        if type_ == "consumer_notice.estimate_revised" and isinstance(data.get("estimate_after"), int):
            self.estimates[(stream, str(data.get("state") or entry.get("jurisdiction")))] = data["estimate_after"]
            return
        if type_ == "incident.determined":
            for ob in data.get("obligations") or []:
                if isinstance(ob, dict) and ob.get("obligation_id"):
                    row = self.row(ob["obligation_id"], stream, ob.get("kind"))
                    row.jurisdiction = row.jurisdiction or ob.get("jurisdiction")
                    row.citation = row.citation or ob.get("citation")
                    row.due = row.due or parse_instant(ob.get("due"))
                    row.needs_counsel_review = row.needs_counsel_review or bool(ob.get("needs_counsel_review"))
            return
        if type_ == "consumer_notice.approved":
            for obligation_id in data.get("obligations") or []:
                if isinstance(obligation_id, str):
                    row = self.row(obligation_id, stream, None)
                    self._by(row, f"approved by {self.people.actor(entry.get('actor'))}")
                    row.seqs.append(entry["seq"])
            return
        obligation_id = data.get("obligation_id")
        if not isinstance(obligation_id, str):
            return
        if type_ == "incident.counsel_review_recorded":
            row = self.row(obligation_id, stream, None)
            row.counsel_decision = str(data.get("decision") or "recorded")
            row.counsel_seq = entry["seq"]
            row.seqs.append(entry["seq"])
            return
        if type_ == "incident.returned_reported":
            row = self.row(obligation_id, stream, None)
            row.notes.append(f"{data.get('recipients', '?')} {data.get('channel', '')} notice(s) reported returned: "
                             f"{data.get('reason', 'no reason recorded')}")
            row.seqs.append(entry["seq"])
            return
        kind = kind_of(type_)
        if kind is None:
            return
        self._lifecycle(self.row(obligation_id, stream, kind), entry, type_.split(".", 1)[1], data)

    def _lifecycle(self, row: ObligationRow, entry: Mapping[str, Any], event: str, data: Mapping[str, Any]) -> None:
        ts = parse_instant(entry.get("ts"))
        row.seqs.append(int(entry["seq"]))
        row.jurisdiction = row.jurisdiction or entry.get("jurisdiction")
        row.citation = entry.get("citation") or row.citation
        if isinstance(data.get("due"), str) and event in ("opened", "rescheduled", "met", "met_late", "sent"):
            row.due = parse_instant(data["due"]) or row.due
        self._documents(row, entry, data)
        actor = self.people.actor(entry.get("actor"))
        if event == "opened":
            row.opened_at = ts
            row.recipient_role = data.get("recipient") or row.recipient_role
            row.recorded_recipient = data.get("recipient_name") or row.recorded_recipient
            row.rule_id, row.basis = data.get("rule_id"), data.get("basis")
            row.method = data.get("method") or row.method
            row.laws_satisfied = [str(law) for law in data.get("laws_satisfied") or [] if isinstance(law, str)]
            row.clock_starts_at = parse_instant(data.get("clock_starts_at"))
            row.needs_counsel_review = bool(data.get("needs_counsel_review")) or row.needs_counsel_review
        elif event == "overdue":
            row.status, row.overdue_at = _OVERDUE, ts
        elif event == "rescheduled":
            delay = parse_instant(data.get("law_enforcement_delay_until"))
            row.notes.append(f"due moved to {local_text(row.due, row.jurisdiction)}"
                             + (f" (law-enforcement delay until {local_text(delay, row.jurisdiction)})" if delay else ""))
            if row.status == _OVERDUE and row.due and ts and row.due > ts:
                row.status = _OPEN
        elif event == "reminder":
            row.reminders += 1
        elif event == "escalated":
            row.notes.append(f"escalated to the backup ({self.people.user(str(data['backup']))})" if data.get("backup")
                             else "escalated: no backup assigned, the owner alone was alerted")
        elif event == "automation_failed":
            row.notes.append(f"automated delivery failed: {data.get('error', 'no detail recorded')}")
        elif event == "acknowledgement_missing":
            row.notes.append("the regulator's acknowledgement did not come when expected")
        elif event == "filing_refused":
            row.notes.append(f"the portal refused the filing (attempt {data.get('attempt', '?')}): "
                             f"{data.get('error', 'no reason recorded')}")
        elif event == "reopened":
            row.reopened += 1
            row.status, row.sent_at, row.on_time = (_OVERDUE if row.overdue_at else _OPEN), None, None
            row.notes.append(f"reopened: {data.get('reason') or 'the notice sent did not reach (a hard bounce)'}")
        elif event == "sent":
            if row.status not in (_MET, _MET_LATE, _WAIVED, _EXCUSED):
                row.status = _SENT
            row.sent_at = parse_instant(data.get("sent_at")) or ts
            row.on_time = data.get("on_time") if isinstance(data.get("on_time"), bool) else row.on_time
            if isinstance(data.get("late_by_seconds"), int):
                row.late_by = timedelta(seconds=data["late_by_seconds"])
            self._sent_evidence(row, data.get("evidence"))
            if row.kind not in _FILINGS or actor != "noticeflow":
                self._by(row, f"sent by {actor}")
        elif event in ("met", "met_late"):
            row.status = _MET_LATE if event == "met_late" else _MET
            row.met_at = parse_instant(data.get("met_at")) or ts
            row.sent_at = parse_instant(data.get("sent_at")) or row.sent_at
            row.confirmed_at = parse_instant(data.get("confirmed_at")) or ts
            row.resolved_at = ts
            row.on_time = data.get("on_time") if isinstance(data.get("on_time"), bool) else (event == "met")
            if isinstance(data.get("late_by_seconds"), int):
                row.late_by = timedelta(seconds=data["late_by_seconds"])
            elif event == "met_late" and row.due and row.met_at:
                row.late_by = row.met_at - row.due
            self._met_evidence(row, entry, data)
            if actor != "noticeflow":
                self._by(row, f"completed by {actor}")
            if data.get("approved_by"):
                self._by(row, f"approved by {self.people.user(str(data['approved_by']))}")
        elif event == "waived":
            row.status, row.resolved_at, row.reason = _WAIVED, ts, data.get("reason")
            row.resolved_by, row.resolved_seq = actor, int(entry["seq"])
            self._by(row, f"waived by {actor}")
            _add(row, Evidence(f"waiver (entry {entry['seq']})", f"#e{entry['seq']}"))
        elif event == "excused":
            row.status, row.resolved_at, row.reason = _EXCUSED, ts, data.get("reason")
            row.resolved_by, row.resolved_seq = ("noticeflow, from the rules" if actor == "noticeflow" else actor), int(entry["seq"])
            _add(row, Evidence(f"excuse recorded (entry {entry['seq']})", f"#e{entry['seq']}"))
        elif event in ("submitted", "updated"):
            if data.get("portal_reference"):
                _add(row, Evidence(f"portal reference (v{data.get('version', '?')})", None, str(data["portal_reference"])))
            self._by(row, "filed by noticeflow" if actor == "noticeflow" else f"filed by {actor}")
        elif event == "acknowledged":
            self._acknowledgement(row, data, entry["seq"])
        elif event == "delivered" and isinstance(data.get("notified"), int):
            row.notes.append(_delivered_words(data))

    # -- evidence ----------------------------------------------------------------------------

    def _documents(self, row: ObligationRow, entry: Mapping[str, Any], data: Mapping[str, Any]) -> None:
        type_ = str(entry.get("type", ""))
        labels: dict[str, str] = {}
        for sha, path in _doc_hits(data):
            if sha in row.documents_seen or sha not in self.documents:
                continue
            label = _doc_label(type_, data, path)
            if labels.get(sha) in (None, "document", "notice as sent"):  # the most specific name wins
                labels[sha] = label
        for sha, label in labels.items():
            row.documents_seen[sha] = label
            same = sum(1 for e in row.evidence if e.label.split(" (")[0] == label)
            _add(row, Evidence(f"{label} ({same + 1})" if same else label, self.documents[sha], sha))

    def _acknowledgement(self, row: ObligationRow, ack: Mapping[str, Any], seq: int) -> None:
        ref = ack.get("acknowledgement_reference")
        if not ref:
            return
        label = f"acknowledgement v{ack.get('version', '?')}"
        if any(e.detail == ref for e in row.evidence):
            return
        simulated = " (SIMULATED: no regulator acknowledged it)" if ack.get("simulated") else ""
        _add(row, Evidence(label, f"#e{seq}", f"{ref}{simulated}"))

    def _sent_evidence(self, row: ObligationRow, evidence: Any) -> None:
        if not isinstance(evidence, dict):
            return
        if evidence.get("manual"):
            _add(row, Evidence("evidence given by a person", None, str(evidence.get("evidence") or "")[:300] or None))
        if evidence.get("delivered_with"):
            _add(row, Evidence("delivered with", None, str(evidence["delivered_with"])))
        recipients = evidence.get("recipients")
        if isinstance(recipients, list) and recipients:
            queue_ids = [str(r["queue_id"]) for r in recipients if isinstance(r, dict) and r.get("queue_id")]
            accepted = sum(1 for r in recipients if isinstance(r, dict) and str(r.get("relay_reply", "")).startswith("2"))
            detail = f"{accepted} of {len(recipients)} accepted by the mail relay"
            if queue_ids:
                detail += "; relay queue id " + ", ".join(queue_ids[:3]) + (" …" if len(queue_ids) > 3 else "")
            _add(row, Evidence("e-mail to each recipient", None, detail))
        channels = evidence.get("channels")
        if isinstance(channels, dict):
            for name, channel in channels.items():
                if not isinstance(channel, dict):
                    continue
                if channel.get("url"):
                    _add(row, Evidence(f"{name} posting", None, str(channel["url"])))
                if channel.get("outlets"):
                    _add(row, Evidence(f"{name} outlets", None, ", ".join(map(str, channel["outlets"]))))
                if isinstance(channel.get("sent"), int) and name in ("postal", "email"):
                    _add(row, Evidence(f"{name}: {channel['sent']:,} sent", None, None))
                if isinstance(channel.get("queue_ids"), list) and channel["queue_ids"]:
                    ids = [str(q) for q in channel["queue_ids"][:3]]
                    _add(row, Evidence(f"{name} relay queue ids", None, ", ".join(ids)))
        if evidence.get("submission_id") and not any(e.detail == evidence["submission_id"] for e in row.evidence):
            _add(row, Evidence("submission", None, str(evidence["submission_id"])))

    def _met_evidence(self, row: ObligationRow, entry: Mapping[str, Any], data: Mapping[str, Any]) -> None:
        confirmation = data.get("confirmation")
        if isinstance(confirmation, dict):
            if confirmation.get("acknowledgement_reference"):
                self._acknowledgement(row, confirmation, entry["seq"])
                if confirmation.get("recorded_by"):
                    self._by(row, f"acknowledged via {confirmation['recorded_by']}")
            elif confirmation.get("manual"):
                self._by(row, f"confirmed by {self.people.actor(entry.get('actor'))}")
                _add(row, Evidence("confirmation given by a person", f"#e{entry['seq']}",
                                             str(confirmation.get("evidence") or "")[:300] or None))
            else:
                for name, channel in confirmation.items():
                    if isinstance(channel, dict) and channel.get("confirmed_by"):
                        count = f"{channel['confirmed']:,} " if isinstance(channel.get("confirmed"), int) else ""
                        _add(row, Evidence(f"{name} confirmed", f"#e{entry['seq']}",
                                                     f"{count}by {str(channel['confirmed_by']).replace('_', ' ')}"))
                if confirmation.get("no_hard_bounce_within"):
                    _add(row, Evidence("e-mail confirmed", f"#e{entry['seq']}",
                                                 f"no hard bounce within {confirmation['no_hard_bounce_within']}"))
        if isinstance(data.get("sent_evidence"), dict) and not any(e.label.startswith(("e-mail to", "submission")) for e in row.evidence):
            self._sent_evidence(row, data["sent_evidence"])
        if data.get("manual"):
            _add(row, Evidence("evidence given by a person", f"#e{entry['seq']}", str(data.get("evidence") or "")[:300] or None))
        if data.get("delivered_with"):
            _add(row, Evidence("given by the delivery of", None, str(data["delivered_with"])))
        excused = data.get("excused")
        if isinstance(excused, dict) and excused.get("reason"):
            row.notes.append(f"excused in part: {excused['reason']}")
        _add(row, Evidence("ledger entry", f"#e{entry['seq']}", f"seq {entry['seq']}"))

    @staticmethod
    def _by(row: ObligationRow, who: str) -> None:
        if who not in row.done_by:
            row.done_by.append(who)

    # -- the result ---------------------------------------------------------------------------

    def finish(self, as_of: datetime | None) -> list[ObligationRow]:
        rows = sorted(self.rows.values(), key=lambda r: r.sort_key)
        for row in rows:
            row.evidence = _merge_report_forms(row.evidence)
            row.evidence.sort(key=lambda e: e.label == "ledger entry")
            row.as_of = as_of
            row.derived_recipient = _derived_recipient(row, self.estimates.get((row.stream, row.jurisdiction or "")))
        return rows


def _add(row: ObligationRow, evidence: Evidence) -> None:
    """Add ``evidence`` once (a ``met`` entry repeats its ``sent`` entry's evidence)."""
    if not any(e.label == evidence.label and e.detail == evidence.detail for e in row.evidence):
        row.evidence.append(evidence)


def _merge_report_forms(evidence: list[Evidence]) -> list[Evidence]:
    """``report vN data (JSON)`` joins ``report vN as filed`` as a secondary link on its line."""
    by_label = {e.label: e for e in evidence}
    out: list[Evidence] = []
    for e in evidence:
        if e.label.endswith(" data (JSON)"):
            filed = by_label.get(e.label.replace(" data (JSON)", " as filed"))
            if filed is not None and e.href:
                continue
        if e.label.endswith(" as filed"):
            data = by_label.get(e.label.replace(" as filed", " data (JSON)"))
            if data is not None and data.href:
                e = Evidence(e.label, e.href, e.detail, (*e.also, ("data", data.href)))
        out.append(e)
    return out


def _kind_from_id(obligation_id: str) -> str:
    for kind in KIND_ORDER:
        if f":{kind}:" in obligation_id:
            return kind
    return "obligation"


def _derived_recipient(row: ObligationRow, estimate: int | None) -> str | None:
    """The recipient as the rules name it (rules/cyber.py), for entries that did not record the name."""
    state = row.jurisdiction
    if not state:
        return None
    name = STATE_NAMES.get(state, state)
    role = row.recipient_role or {"commissioner_notice": "commissioner", "consumer_notice": "consumers",
                                  "producer_notice": "producers_of_record", "ceding_insurer_notice": "ceding_insurers",
                                  "attorney_general_notice": "attorney_general"}.get(row.kind)
    if role == "commissioner":
        try:
            return jurisdiction_for(state).regulator
        except (KeyError, ValueError):
            return f"the insurance regulator of {name}"
    if role == "consumers":
        return f"{estimate:,} affected consumers residing in {name}" if estimate else f"affected consumers residing in {name}"
    if role == "producers_of_record":
        return f"producers of record of the affected consumers residing in {name}"
    if role == "ceding_insurers":
        key = row.obligation_id.rsplit(":", 1)[-1]
        return f"ceding insurer {key}"
    if role == "attorney_general":
        return f"the Attorney General of {name}"
    return None


def _delivered_words(data: Mapping[str, Any]) -> str:
    parts = [f"{data['notified']:,} notified"]
    for key, words in (("covered_by_substitute", "covered by substitute notice"), ("not_reached", "not reached"),
                       ("in_doubt", "in doubt")):
        if isinstance(data.get(key), int) and data[key]:
            parts.append(f"{data[key]:,} {words}")
    if isinstance(data.get("estimate"), int):
        parts.append(f"of an estimated {data['estimate']:,}")
    return "delivery: " + ", ".join(parts)
