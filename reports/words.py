"""Each ledger entry as a sentence an examiner reads ("c.hale approved the consumer notice for DE,
KY, MO, TN"), with the entry's JSON one click away in the report.

Only what the entry states is said; nothing is inferred. A privileged entry says that its text is
withheld and where the privilege log lists it. Unknown entry types still get a sentence (who
recorded which step), so a new step type never breaks the report.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from reports.people import KIND_WORDS, People, obligation_label
from reports.times import local_text, parse_instant, span_text, utc_text


@dataclass(frozen=True)
class Step:
    """One entry in words. ``anchor`` (``e<seq>``) is the target of evidence links."""

    seq: int
    ts: str
    stream: str
    type: str
    jurisdiction: str | None
    citation: str | None
    who: str
    sentence: str
    privileged: bool
    json: str

    @property
    def anchor(self) -> str:
        return f"e{self.seq}"

    @property
    def when(self) -> str:
        return utc_text(parse_instant(self.ts)) or self.ts


def entry_json(entry: Mapping[str, Any]) -> str:
    """The entry as stored, indented, with its characters as they are (``§``, not ``\\u00a7``)."""
    return json.dumps(entry, ensure_ascii=False, indent=1)


def _list(items: Any, limit: int = 8) -> str:
    values = [str(i) for i in items or []]
    shown = ", ".join(values[:limit])
    return shown + (f" and {len(values) - limit} more" if len(values) > limit else "")


def _words(value: Any) -> str:
    return str(value).replace("_", " ")


def _summary(data: Mapping[str, Any], key: str = "summary", limit: int = 400) -> str:
    text = data.get(key)
    if not isinstance(text, str) or not text.strip():
        return ""
    text = text.strip()
    return f": “{text[:limit]}{'…' if len(text) > limit else ''}”"


def _obligation_event(kind: str, event: str, who: str, entry: Mapping[str, Any], data: Mapping[str, Any], people: People) -> str:
    state = entry.get("jurisdiction") or "?"
    what = f"the {state} {KIND_WORDS[kind]}"
    due = parse_instant(data.get("due"))
    due_text = local_text(due, state) if due else None
    if event == "opened":
        method = f", by {_words(data['method'])} notice" if data.get("method") else ""
        review = " It needs counsel's review." if data.get("needs_counsel_review") else ""
        return f"{what[0].upper()}{what[1:]} was opened{method}: due {due_text or 'not recorded'}. {data.get('basis', '')}{review}".strip()
    if event in ("submitted", "updated"):
        changes = data.get("changes") or []
        body = f" ({len(changes)} change{'s' if len(changes) != 1 else ''}: {data['summary']})" if data.get("summary") else ""
        if kind == "attorney_general_notice":
            return f"{who} filed the notice to the {state} Attorney General through {data.get('portal', 'the portal')}."
        verb = "filed the commissioner report" if event == "submitted" else "filed an updated commissioner report"
        return f"{who} {verb} for {state}, version {data.get('version', '?')}, through {data.get('portal', 'the portal')}{body}."
    if event == "filing_refused":
        return f"The portal refused {what} (attempt {data.get('attempt', '?')}): {data.get('error', 'no reason recorded')}. Nothing was filed; it is tried again."
    if event == "acknowledged":
        sim = " (simulated by the dev outbox: no regulator acknowledged it)" if data.get("simulated") else ""
        return f"The {state} regulator's acknowledgement of report version {data.get('version', '?')} was recorded: reference {data.get('acknowledgement_reference')}{sim}."
    if event == "sent":
        late = " on time" if data.get("on_time") is True else (
            f" LATE by {span_text(parse_instant(data['sent_at']) - due)}" if data.get("on_time") is False and due and parse_instant(data.get("sent_at")) else "")
        sent = local_text(parse_instant(data.get("sent_at")), state)
        return f"{what[0].upper()}{what[1:]} was sent{late} at {sent} (due {due_text}); its confirmation is awaited."
    if event in ("met", "met_late"):
        confirmation = data.get("confirmation") or {}
        how = ""
        if isinstance(confirmation, dict) and confirmation.get("acknowledgement_reference"):
            how = f", acknowledged (reference {confirmation['acknowledgement_reference']}{', simulated' if confirmation.get('simulated') else ''})"
        elif isinstance(confirmation, dict) and confirmation.get("no_hard_bounce_within"):
            how = f", confirmed: no hard bounce within {confirmation['no_hard_bounce_within']}"
        elif isinstance(data.get("notified"), int):
            how = f", {data['notified']:,} notified"
        status = "met on time" if event == "met" else "met LATE"
        given = local_text(parse_instant(data.get("met_at")), state)
        return f"{what[0].upper()}{what[1:]} is {status}: given {given} (due {due_text}){how}."
    if event == "waived":
        return f"{who} waived {what}: {data.get('reason', 'no reason recorded')}"
    if event == "excused":
        return f"{what[0].upper()}{what[1:]} is not required (excused): {data.get('reason', 'no reason recorded')}"
    if event == "overdue":
        return f"{what[0].upper()}{what[1:]} became OVERDUE: it was due {due_text}."
    if event == "rescheduled":
        return f"The due instant of {what} moved to {due_text}."
    if event == "reminder":
        return f"Reminder: {what} is due in {data.get('hours_before', '?')} h; waiting for {data.get('waiting_for', '—')}."
    if event == "escalated":
        backup = people.user(str(data["backup"])) if data.get("backup") else "none assigned"
        return f"{what[0].upper()}{what[1:]} stayed overdue: escalated to the backup ({backup})."
    if event in ("alert_sent", "alert_failed"):
        outcome = "reached" if event == "alert_sent" else "did NOT reach everyone owed"
        return f"The {_words(data.get('alert', 'alert'))} alert about {what} {outcome}."
    if event == "delivered":
        notified = f"{data['notified']:,} notified" if isinstance(data.get("notified"), int) else ""
        producers = f"{len(data.get('producers_notified') or [])} producer(s) notified" if "producers_notified" in data else ""
        return f"Delivery of {what} recorded: {notified or producers or 'see the entry'}."
    if event == "reopened":
        return f"{what[0].upper()}{what[1:]} was reopened: the notice sent did not reach ({data.get('reason') or 'a hard bounce'})."
    if event == "automation_failed":
        return f"Automated delivery of {what} failed: {data.get('error', '')}. It waits for a person."
    if event == "estimate_revised":
        return (f"{who} revised the estimate of affected consumers in {data.get('state', state)}: "
                f"{data.get('estimate_before')} → {data.get('estimate_after')}. {data.get('reason', '')}").strip()
    if event == "approved":
        return f"{who} approved the consumer notice for {_list(obligation_label(o).split(' ')[0] for o in data.get('obligations') or [])}."
    return f"{who} recorded {what}: {_words(event)}."


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _person(value: Any, people: People) -> str | None:
    """A responder as an entry records them: an id, or an object with ``responder_id`` and ``name``."""
    if isinstance(value, dict):
        return str(value.get("name") or value.get("responder_id") or "") or None
    return people.user(str(value)) if value else None


def _incident_event(event: str, who: str, entry: Mapping[str, Any], data: Mapping[str, Any], people: People) -> str:
    if event == "intake_recorded":
        licensee = data.get("licensee") or {}
        affected = data.get("affected_consumers") or {}
        total = sum(v for v in affected.values() if isinstance(v, int))
        source = f", learnt from a {_words(data['source'])}" if data.get("source") not in (None, "licensee") else ""
        return (f"{who} recorded the intake for {licensee.get('name', 'the licensee')}{source}: "
                f"{total:,} consumers affected in {_list(sorted(affected))}.")
    if event == "finding_recorded":
        items = f" (report items {_list(data.get('report_items'))})" if data.get("report_items") else ""
        if data.get("privileged"):
            basis = _words((data.get("privilege") or {}).get("basis", "privilege"))
            return f"{who} recorded a privileged finding — {_words(data.get('kind', ''))}{items}: its text is withheld ({basis}); see the privilege log."
        return f"{who} recorded a finding — {_words(data.get('kind', ''))}{items}{_summary(data)}."
    if event == "determined":
        obligations = data.get("obligations") or []
        states = sorted({o.get("jurisdiction") for o in obligations if isinstance(o, dict) and o.get("jurisdiction")})
        return (f"{who} determined a cybersecurity event: {_count(len(obligations), 'obligation')} in "
                f"{_count(len(states), 'state')} ({_list(states, 12)}).")
    if event == "determined_not_event":
        return f"{who} determined it is NOT a cybersecurity event: {data.get('reason', '')}"
    if event == "counsel_review_recorded":
        reasons = data.get("reasons_reviewed") or []
        withheld = " Counsel's notes are withheld (privileged); see the privilege log." if data.get("privileged") else ""
        return (f"{who} (counsel) reviewed the {obligation_label(data.get('obligation_id'))}: "
                f"{_words(data.get('decision', 'recorded'))}, on {len(reasons)} reason{'s' if len(reasons) != 1 else ''} for review.{withheld}")
    if event == "roster_attached":
        return f"{who} attached the affected-consumer roster {data.get('roster_id', '')} (stored encrypted; the ledger holds no consumer's details)."
    if event == "responders_assigned":
        owner, backup = _person(data.get("owner"), people), _person(data.get("backup"), people) or "none"
        return f"{who} assigned the responders: owner {owner}, backup {backup}. {data.get('reason', '')}".strip()
    if event == "report_item_not_applicable":
        state = f" for {data['state']}" if data.get("state") else ""
        return f"{who} marked report item ({data.get('item')}) not applicable{state}: {data.get('reason', '')}"
    if event == "amended":
        return f"{who} amended the intake{_summary(data)}."
    if event == "returned_reported":
        return f"{who} reported {data.get('recipients', '?')} {data.get('channel', '')} notice(s) returned for the {obligation_label(data.get('obligation_id'))}: {data.get('reason', '')}"
    if event == "closed":
        return f"{who} closed the event{_summary(data)}; records kept until {local_text(parse_instant(data.get('retain_until')), None)}."
    return f"{who} recorded {_words(event)}."


def _privacy_event(type_: str, who: str, data: Mapping[str, Any]) -> str:
    group, _, event = type_.partition(".")
    if group == "privacy_relationship" and event == "opened":
        return f"{who} opened the privacy relationship ({_words(data.get('what', data.get('stage', '')))}), {len(data.get('consumers') or [])} consumer(s){' — joint' if data.get('joint') else ''}."
    if group.endswith("_notice") and event in ("sent", "presented"):
        opt = " with the opt-out notice" if data.get("with_opt_out_notice") else ""
        return f"The {_words(group)} (policy {data.get('policy_version', '?')}) was given by {_words(data.get('channel', '?'))}{opt}."
    if group.endswith("_notice") and event == "refused":
        return f"The {_words(group)} for policy {data.get('policy_version', '?')} was refused: {len(data.get('findings') or [])} content finding(s)."
    if group == "opt_out" and event == "window_opened":
        allowed = local_text(parse_instant(data.get("disclosure_allowed_from")), None)
        return f"The opt-out window opened for notice {data.get('notice_id')}: disclosure allowed from {allowed or 'not set'}."
    if group == "opt_out" and event == "window_closed":
        return f"The opt-out window for notice {data.get('notice_id')} closed: {_words(data.get('outcome', ''))}."
    if group == "opt_out" and event == "elected":
        categories = _list(data.get("npi_categories") or []) or "all categories"
        return f"{who} recorded an opt-out election ({categories}), applying to {data.get('applies_to', 'the consumer')}."
    if group == "opt_out" and event == "revoked":
        return f"{who} recorded the revocation of opt-out {data.get('election_id')} ({data.get('form', 'form not recorded')}); it needs counsel's review."
    if group.endswith("_notice") and event == "overdue":
        return (f"The {_words(group)} became OVERDUE: its period ended {data.get('period_end', '?')}; "
                f"waiting for {data.get('waiting_for', '—')}.")
    if event in ("not_yet_owed", "not_required", "window_void"):
        return f"The {_words(group)} is {_words(event)}: {data.get('reason', '')}"
    return f"{who} recorded {_words(group)}: {_words(event)}."


def describe(entry: Mapping[str, Any], people: People) -> str:
    """The sentence for one entry."""
    type_ = str(entry.get("type", ""))
    data = entry.get("data") if isinstance(entry.get("data"), dict) else {}
    who = people.actor(entry.get("actor"))
    group, _, event = type_.partition(".")
    if group in KIND_WORDS:
        sentence = _obligation_event(group, event, who, entry, data, people)
    elif group == "incident":
        sentence = _incident_event(event, who, entry, data, people)
    elif str(entry.get("stream", "")).startswith("privacy") or group.startswith(
        ("privacy", "opt_out", "initial_notice", "annual_notice", "revised_notice")
    ):
        sentence = _privacy_event(type_, who, data)
    else:
        sentence = f"{who} recorded {_words(type_)}."
    return sentence.replace(".”.", ".”").replace("?”.", "?”")


def to_step(entry: Mapping[str, Any], people: People) -> Step:
    data = entry.get("data") if isinstance(entry.get("data"), dict) else {}
    try:
        sentence = describe(entry, people)
    except (TypeError, ValueError, KeyError, AttributeError) as exc:  # a malformed entry still gets a line
        sentence = f"{people.actor(entry.get('actor'))} recorded {entry.get('type')} (not described: {exc.__class__.__name__})."
    return Step(
        seq=int(entry.get("seq", 0)),
        ts=str(entry.get("ts", "")),
        stream=str(entry.get("stream", "")),
        type=str(entry.get("type", "")),
        jurisdiction=entry.get("jurisdiction"),
        citation=entry.get("citation"),
        who=people.actor(entry.get("actor")),
        sentence=sentence,
        privileged=data.get("privileged") is True,
        json=entry_json(entry),
    )
