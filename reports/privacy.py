"""Privacy-notice streams (``privacy:<relationship>`` and the sweeps): the notices given, the
opt-out windows they opened and the opt-outs received, as rows and as a plain timeline."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from reports.obligations import Evidence
from reports.timeline import Lane, Mark, Timeline
from reports.times import local_text, parse_instant


@dataclass
class PrivacyItem:
    what: str
    status: str
    at: datetime | None
    until: datetime | None = None
    policy_version: str | None = None
    citation: str | None = None
    late: bool = False
    reason: str | None = None
    evidence: list[Evidence] = field(default_factory=list)
    seq: int = 0
    jurisdiction: str | None = None

    @property
    def at_local(self) -> str | None:
        return local_text(self.at, self.jurisdiction)

    @property
    def until_local(self) -> str | None:
        return local_text(self.until, self.jurisdiction)


@dataclass
class PrivacyStreamView:
    stream: str
    jurisdiction: str | None = None
    entries: int = 0
    first_ts: datetime | None = None
    last_ts: datetime | None = None
    items: list[PrivacyItem] = field(default_factory=list)
    windows: dict[str, PrivacyItem] = field(default_factory=dict)
    timeline_svg: str = ""

    @property
    def late_items(self) -> int:
        return sum(1 for i in self.items if i.late)


#: ``<kind>_notice.<event>`` entries that say what became of a notice (workflows/privacy_relationship.py:
#: "sent" or the delivery's status; the revised-notice lifecycle's hand-over and delivery).
_DELIVERY_EVENTS = frozenset({"sent", "presented", "refused", "returned", "failed", "undeliverable", "in_doubt",
                              "handed_over", "delivered"})


class PrivacyFold:
    def __init__(self, documents: Mapping[str, str]) -> None:
        self.documents = documents
        self.streams: dict[str, PrivacyStreamView] = {}

    def add(self, entry: Mapping[str, Any]) -> None:
        stream = str(entry.get("stream", ""))
        view = self.streams.get(stream)
        if view is None:
            view = self.streams[stream] = PrivacyStreamView(stream=stream)
        ts = parse_instant(entry.get("ts"))
        view.entries += 1
        view.first_ts = view.first_ts or ts
        view.last_ts = ts or view.last_ts
        view.jurisdiction = view.jurisdiction or entry.get("jurisdiction")
        data = entry.get("data") if isinstance(entry.get("data"), dict) else {}
        group, _, event = str(entry.get("type", "")).partition(".")
        seq = int(entry.get("seq", 0))
        common = {"seq": seq, "citation": entry.get("citation"), "jurisdiction": entry.get("jurisdiction")}
        link = Evidence(f"entry {seq}", f"#e{seq}", f"seq {seq}")
        if group.endswith("_notice") and event in _DELIVERY_EVENTS:
            docs = [Evidence(f"{d.get('kind', 'document')}".replace("_", " "), self.documents[d["sha256"]], d["sha256"])
                    for d in data.get("documents") or [] if isinstance(d, dict) and d.get("sha256") in self.documents]
            given = parse_instant(data.get("mailed_at") or data.get("presented_at")) or ts
            status = event.replace("_", " ")
            if data.get("channel"):
                status += f" ({str(data['channel']).replace('_', ' ')})"
            view.items.append(PrivacyItem(group.replace("_", " "), status, given, policy_version=data.get("policy_version"),
                                          reason=data.get("reason"), evidence=[*docs, link], **common))
        elif group.endswith("_notice") and event == "overdue":
            view.items.append(PrivacyItem(group.replace("_", " "), "OVERDUE", ts, late=True,
                                          reason=f"period ended {data.get('period_end', '?')}; waiting for {data.get('waiting_for', '—')}",
                                          evidence=[link], **common))
        elif group == "opt_out" and event == "window_opened":
            item = PrivacyItem("opt-out window", "open", parse_instant(data.get("opens_at")) or ts,
                               until=parse_instant(data.get("disclosure_allowed_from")), evidence=[link], **common)
            view.windows[str(data.get("notice_id"))] = item
            view.items.append(item)
        elif group == "opt_out" and event in ("window_closed", "window_void"):
            item = view.windows.get(str(data.get("notice_id")))
            words = str(data.get("outcome") or ("void" if event == "window_void" else "closed")).replace("_", " ")
            if item is None:
                view.items.append(PrivacyItem("opt-out window", words, ts, reason=data.get("reason"), evidence=[link], **common))
            else:
                item.status, item.reason = f"closed: {words}" if event == "window_closed" else "void", data.get("reason")
                item.evidence.append(link)
        elif group == "opt_out" and event in ("elected", "revoked"):
            categories = ", ".join(map(str, data.get("npi_categories") or [])) or None
            view.items.append(PrivacyItem("opt-out", event, parse_instant(data.get("effective_at") or data.get("received_at")) or ts,
                                          reason=categories, evidence=[link], **common))
        elif event in ("not_yet_owed", "not_required"):
            view.items.append(PrivacyItem(group.replace("_", " "), event.replace("_", " "), ts, reason=data.get("reason"),
                                          evidence=[link], **common))

    def finish(self) -> list[PrivacyStreamView]:
        return sorted(self.streams.values(), key=lambda v: v.stream)


def privacy_timeline(view: PrivacyStreamView) -> Timeline:
    lanes: list[Lane] = []
    for item in view.items:
        if item.at is None:
            continue
        title = f"{item.what}: {item.status}" + (f" — {item.reason}" if item.reason else "")
        outcome = _SHORT.get(item.status, item.status.split(" (")[0])[:15]
        if item.what == "opt-out window":
            lanes.append(Lane(label=f"opt-out window (#{item.seq})", outcome=outcome, bar_from=item.at,
                              bar_to=item.until or item.at, title=title, href=f"#e{item.seq}"))
        else:
            given = item.status.startswith(("sent", "presented"))
            lanes.append(Lane(label=f"{item.what} (#{item.seq})", outcome=outcome, late=item.late,
                              marks=[Mark("given" if given else "other", item.at)], title=title, href=f"#e{item.seq}"))
    return Timeline(title=f"Timeline of {view.stream}", lanes=lanes, legend="privacy")


_SHORT = {"closed: held by opt out": "held by opt-out", "closed: opened": "disclosure ok", "OVERDUE": "OVERDUE"}
