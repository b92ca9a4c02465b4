"""What operators see of an event and its obligations in the Temporal UI: each workflow's static
summary (what, which state, due) and the current details that say what it waits for.

Pure functions of the workflow's state: no I/O, no clock.
"""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from models.lifecycle import IncidentState, ObligationStatus, Stage
    from models.obligation import Obligation

from workflows.common import markdown_deadline

_KIND_WORDS = {
    "commissioner_notice": "Commissioner notice",
    "consumer_notice": "Consumer notice",
    "producer_notice": "Producer-of-record notice",
    "ceding_insurer_notice": "Ceding-insurer notice",
    "attorney_general_notice": "Attorney-general notice",
}


def obligation_summary(ob: Obligation, incident_id: str) -> str:
    """One line for the UI's workflow list: what, which state, due (UTC), which event."""
    what = _KIND_WORDS.get(ob.kind.value, ob.kind.value)
    return f"{what} — {ob.jurisdiction} — due {markdown_deadline(ob.due)} — event {incident_id}"


def incident_summary(incident_id: str, licensee: str, states: list[str]) -> str:
    """The event workflow's static summary, set when the API starts it."""
    return f"Cybersecurity event {incident_id} — {licensee} — residents of {', '.join(states)}"


def obligation_static_details(ob: Obligation) -> str:
    lines = [
        f"**{_KIND_WORDS.get(ob.kind.value, ob.kind.value)}** to {ob.recipient_name}",
        f"- required by: {ob.citation}",
        f"- clock: {ob.basis}",
        f"- due: {markdown_deadline(ob.due)}",
    ]
    if ob.needs_counsel_review:
        lines.append(f"- needs counsel review: {'; '.join(ob.counsel_review_reasons)}")
    return "\n".join(lines)


def incident_waiting_for(state: IncidentState) -> str:
    if state.stage is Stage.INVESTIGATION:
        return "a responder's determination whether a cybersecurity event occurred"
    if state.stage is Stage.NOT_AN_EVENT:
        return "nothing: not a cybersecurity event"
    if state.stage is Stage.CLOSED:
        return "nothing: closed"
    unresolved = sorted((st for st in state.obligations if not st.status.resolved), key=lambda st: st.due)
    if unresolved:
        first = unresolved[0]
        return (f"{first.obligation.kind.value} ({first.obligation.jurisdiction}) due {markdown_deadline(first.due)}: "
                f"{first.waiting_for}")
    blockers = []
    if state.counsel_reviews_pending:
        blockers.append("counsel's review of " + ", ".join(state.counsel_reviews_pending))
    if state.report_items_missing:
        blockers.append("report items answered or marked not applicable: " + "; ".join(
            f"{st} " + ", ".join(f"({i})" for i in items) for st, items in sorted(state.report_items_missing.items())
        ))
    if blockers:
        return "before closure: " + " and ".join(blockers)
    return "closure: every obligation is met or waived, every report item answered, counsel's reviews recorded"


def incident_details(state: IncidentState) -> str:
    lines = [f"**Cybersecurity event {state.incident_id}** — stage **{state.stage.value}**",
             f"- waiting for: {state.waiting_for}"]
    if state.responders is not None:
        backup = state.responders.backup.responder_id if state.responders.backup else "none"
        lines.append(f"- owner: {state.responders.owner.responder_id}; backup: {backup}")
    if state.overdue:
        lines.append(f"- **overdue**: {', '.join(state.overdue)}")
    for st in state.obligations:
        done = ""
        if st.status in (ObligationStatus.MET, ObligationStatus.MET_LATE) and st.met_at is not None:
            done = f", met {markdown_deadline(st.met_at)}"
        lines.append(f"- {st.obligation.kind.value} {st.obligation.jurisdiction}: {st.status.value}, "
                     f"due {markdown_deadline(st.due)}{done}")
    return "\n".join(lines)


def evidence_words(evidence: dict) -> str:
    """The evidence of a notice given and confirmed, in a few words for the UI: the filing and
    its acknowledgement, the mailing manifests, the relay's acceptances, the person's record."""
    sent, confirmation = evidence.get("sent") or {}, evidence.get("confirmation") or {}
    words: list[str] = []
    if sent.get("submission_id"):
        words.append(f"filed as {sent['submission_id']}")
    if confirmation.get("acknowledgement_reference"):
        simulated = " (simulated)" if confirmation.get("simulated") else ""
        words.append(f"acknowledged, reference {confirmation['acknowledgement_reference']}{simulated}")
    if isinstance(sent.get("recipients"), list):
        words.append(f"{len(sent['recipients'])} e-mail(s) accepted by the relay")
    channels = sent.get("channels") if isinstance(sent.get("channels"), dict) else {}
    for name, part in channels.items():
        if isinstance(part, dict) and part.get("sent"):
            words.append(f"{name}: {part['sent']:,} sent")
    if confirmation.get("no_hard_bounce_within"):
        words.append(f"no hard bounce within {confirmation['no_hard_bounce_within']}")
    if sent.get("manual"):
        words.append("given by hand, evidence recorded by a person")
    if sent.get("delivered_with"):
        words.append(f"delivered with {sent['delivered_with']}")
    return "; ".join(words)
