"""AttorneyGeneralNoticeWorkflow on the time-skipping server with the real worker, ledger, document
store, regulator outbox and SMTP server (``tests/workflows/conftest.py``).

Tex. Bus. & Com. Code § 521.053 (shared/JURISDICTIONS.md): "Attorney General if ≥ 250 Texas
residents: as soon as practicable and ≤ 30 days after the determination, on the AG's electronic
form". The notice is rendered (counts and dates, never a consumer; the law cited), filed through
the regulator outbox keyed to that attorney general — not the commissioner —, recorded ``sent``
with the outbox's receipt, and ``met`` only on the office's acknowledgement with its reference
number, judged on when it was filed.
"""

from __future__ import annotations

import json
import os
from html import unescape
from datetime import datetime, timedelta
from pathlib import Path
from collections.abc import Awaitable, Callable
from typing import Any

from temporalio.client import WorkflowHandle

from activities.delivery import OutboxPortal, PortalUnavailableError, RegulatorSubmission, SubmissionRejectedError
from models.common import Clock, ClockUnit, RuleStatus
from models.incident import IncidentIntake
from ledger.store import EntryFilter
from models.lifecycle import Determination, NoticeSetup, ObligationInput, ObligationStatus
from models.notice import AcknowledgeFiling, RegulatorAcknowledgement, RegulatorReceipt
from models.obligation import (
    ClockStart,
    LawRegime,
    Obligation,
    ObligationKind,
    RecipientRole,
    ResidentsThreshold,
    ThresholdComparator,
)
from models.steps import Responder, Responders
from reports.examiner import fold_entries
from reports.people import obligation_label
from rules.npi import find_npi
from tests.workflows.conftest import HISTORIES, NOTICES, ROSTER, Stack, eventually, make_intake
from tests.workflows.notice_helpers import affected, entries, event, state_of, until
from workflows.attorney_general_notice import FILING_RETRY_INTERVALS, AttorneyGeneralNoticeWorkflow
from workflows.incident import CybersecurityEventWorkflow as Event
from workflows.incident_view import incident_details
from workflows.obligation_base import obligation_workflow_id

TX_LAW = "Tex. Bus. & Com. Code § 521.053"
TX_FORM = "the Attorney General's electronic form"
OWNER = Responder(responder_id="jdoe", name="Jordan Doe", email="jordan.doe@cumberland.example")
BACKUP = Responder(responder_id="asmith", name="Alex Smith", email="alex.smith@cumberland.example")
KIND = "attorney_general_notice"


def _intake(now: datetime, incident_id: str, texans: int = 300) -> IncidentIntake:
    """A Tennessee insurer's event reaching ``texans`` Texas residents (and 3 Tennesseans)."""
    return event(now, incident_id, [affected("TN", 3), affected("TX", texans)])


def _ag_obligation(intake: IncidentIntake, now: datetime, due_in: timedelta) -> Obligation:
    """The obligation as the rules give it (``attorney_general:TX``, under the general breach law)."""
    return Obligation(
        obligation_id=f"{intake.incident_id}:{KIND}:TX:attorney_general:TX:general_law",
        kind=ObligationKind.ATTORNEY_GENERAL_NOTICE,
        jurisdiction="TX",
        recipient=RecipientRole.ATTORNEY_GENERAL,
        recipient_key="attorney_general:TX",
        recipient_name="the Attorney General of Texas",
        due=now + due_in,
        clock=Clock(amount=30, unit=ClockUnit.CALENDAR_DAYS),
        clock_starts_at=now,
        clock_start=ClockStart.DETERMINATION,
        citation=TX_LAW,
        basis="300 Texas residents are affected (≥ 250): the Attorney General is notified within 30 days of the "
        "determination that the breach occurred.",
        rule_id="tx.general.attorney_general_notice",
        status=RuleStatus.VERIFIED,
        regime=LawRegime.GENERAL_BREACH_LAW,
        laws_satisfied=[TX_LAW],
        filing_method=TX_FORM,
        threshold=ResidentsThreshold(comparator=ThresholdComparator.AT_LEAST, residents=250, affected_residents=300,
                                     text="≥ 250 Texas residents"),
    )


async def _start(stack: Stack, incident_id: str, *, due_in: timedelta = timedelta(days=30),
                 responders: Responders | None = None, notices: NoticeSetup = NOTICES) -> tuple[WorkflowHandle, Obligation]:
    if not isinstance(stack.resources.notices.regulator.portal, ScriptedPortal):
        _script(stack)
    now = await stack.now()
    intake = _intake(now, incident_id)
    ob = _ag_obligation(intake, now, due_in)
    handle = await stack.client.start_workflow(
        AttorneyGeneralNoticeWorkflow.run,
        ObligationInput(incident_id=incident_id, parent_workflow_id=f"no-event-{incident_id}", obligation=ob,
                        intake=intake, notices=notices, responders=responders),
        id=obligation_workflow_id(ob.obligation_id),
        task_queue=stack.task_queue,
    )
    return handle, ob


def _one(stack: Stack, incident_id: str, event_: str, ob: Obligation) -> dict[str, Any]:
    (found,) = entries(stack, incident_id, f"{KIND}.{event_}", ob.obligation_id)
    return found


def _ag_folder(stack: Stack) -> Path:
    return stack.settings.outbox_dir / "regulators" / "attorney_general" / "TX"


def _acknowledge(stack: Stack, ob: Obligation, reference: str) -> RegulatorAcknowledgement:
    """The Texas Attorney General's office acknowledges the filing: its ``.ack.json`` lands beside
    the filing in that office's outbox folder (read by the workflow's next poll)."""
    ack = stack.acknowledge(ob.obligation_id, reference=reference)
    assert stack.resources.notices.portal.ack_path("TX", _receipt(stack, ob).submission_id, "attorney_general").exists()  # type: ignore[attr-defined]
    return ack


def _receipt(stack: Stack, ob: Obligation) -> RegulatorReceipt:
    from activities.files import safe_name

    receipt = stack.resources.notices.tracker.receipt(f"{safe_name(ob.obligation_id)}-v1")
    assert receipt is not None, "not filed"
    return receipt


async def _save_history(name: str, handle: WorkflowHandle) -> None:
    """With NOTICEFLOW_RECORD_HISTORIES=1, keep this workflow's history for the replay tests."""
    if os.environ.get("NOTICEFLOW_RECORD_HISTORIES") != "1":
        return
    history = await handle.fetch_history()
    (HISTORIES / f"{name}__{handle.id.replace(':', '_')}.json").write_text(history.to_json())


class ScriptedPortal:
    """The outbox behind a portal whose clock is the test server's (its receipt says when it took
    the filing, on the clock the deadlines run on), and that refuses the first ``refusals``
    submissions, or loses its answer to the first ``lost_answers`` filings it made (the filing is
    made, the reply never comes: the activity is retried)."""

    name = "outbox"

    def __init__(self, inner: OutboxPortal, clock: Callable[[], Awaitable[datetime]], *, refusals: int = 0,
                 lost_answers: int = 0) -> None:
        self.inner, self.clock, self.refusals, self.lost_answers = inner, clock, refusals, lost_answers
        self.calls: list[str] = []

    async def submit(self, submission: RegulatorSubmission) -> RegulatorReceipt:
        self.calls.append(submission.submission_id)
        if self.refusals:
            self.refusals -= 1
            raise SubmissionRejectedError("the form was refused: field 'number of Texas residents' could not be read")
        receipt = await self.inner.submit(submission)
        if self.lost_answers:
            self.lost_answers -= 1
            raise PortalUnavailableError("connection reset after the upload")
        return receipt.model_copy(update={"submitted_at": await self.clock()})

    async def acknowledgement(self, jurisdiction: str, submission_id: str, office: str = "commissioner") -> Any:
        return await self.inner.acknowledgement(jurisdiction, submission_id, office)

    def ack_path(self, jurisdiction: str, submission_id: str, office: str = "commissioner") -> Path:
        return self.inner.ack_path(jurisdiction, submission_id, office)


def _script(stack: Stack, **behaviour: int) -> ScriptedPortal:
    notices = stack.resources.notices
    portal = ScriptedPortal(notices.portal, stack.now, **behaviour)  # type: ignore[arg-type]
    notices.portal = notices.regulator.portal = portal  # type: ignore[assignment]
    return portal


# -- rendered, filed with the attorney general, sent on the receipt ------------------------------


async def test_the_notice_cites_the_law_names_no_consumer_and_is_filed_with_the_texas_attorney_general_521_053(
    stack: Stack,
) -> None:
    stack.store_roster("roster-ag")  # the contacts exist; the notice to the AG must carry none of them
    handle, ob = await _start(stack, "INC-AG-FILE")
    sent = await until(handle, lambda st: st.status is ObligationStatus.SENT)

    # Filed in the attorney general's outbox folder, none in the commissioner's.
    (folder,) = [p for p in _ag_folder(stack).iterdir() if p.is_dir()]
    submission = json.loads((folder / "submission.json").read_text())
    assert submission["office"] == "attorney_general" and submission["jurisdiction"] == "TX"
    assert submission["recipient"] == "the Attorney General of Texas"
    assert not (stack.settings.outbox_dir / "regulators" / "TX").exists()
    receipt = _receipt(stack, ob)
    assert receipt.office.value == "attorney_general"

    # The document of record: the law, the threshold, the count, the method — and no consumer.
    (json_file,) = folder.glob("attorney_general_notice-v1-*.json")
    (html_file,) = folder.glob("attorney_general_notice-v1-*.html")
    notice = json.loads(json_file.read_text())
    assert notice["format"] == "noticeflow.attorney_general_notice/1"
    assert notice["citation"] == TX_LAW and notice["laws_satisfied"] == [TX_LAW]
    assert notice["residents_affected"] == 300 and notice["threshold"] == "≥ 250 Texas residents"
    assert notice["filing_method"] == TX_FORM and notice["ledger_checkpoint"]["tree_size"] >= 1
    html = unescape(html_file.read_text())
    assert f"Given under {TX_LAW}" in html and "300 (best estimate)" in html and TX_FORM in html
    for text in (html, json_file.read_text()):
        for row in ROSTER:
            assert row["name"] not in text and row["address_line1"] not in text
            assert not row.get("email") or row["email"] not in text
        # The only contact details are the licensee's own published ones.
        contacts = {"1-800-555-0142", "privacy@cumberland.example", "dwhitfield@cumberland.example", "615-555-0100"}
        assert {text[m.start:m.end] for m in find_npi(text)} <= contacts

    # Sent on the outbox's receipt, not met.
    submitted = _one(stack, "INC-AG-FILE", "submitted", ob)
    assert submitted["office"] == "attorney_general" and submitted["filed_with"] == "TX"
    assert submitted["document_sha256"][:12] == json_file.stem.rsplit("-", 1)[1]
    entry = _one(stack, "INC-AG-FILE", "sent", ob)
    assert entry["on_time"] is True and entry["evidence"]["submission_id"] == receipt.submission_id
    assert entry["evidence"]["office"] == "attorney_general" and entry["evidence"]["portal"] == "outbox"
    assert sent.sent_at == receipt.submitted_at and sent.confirmed_at is None and not sent.status.resolved
    assert "the TX Attorney General's acknowledgement" in sent.waiting_for
    opened = _one(stack, "INC-AG-FILE", "opened", ob)
    assert opened["recipient"] == "attorney_general"
    assert not entries(stack, "INC-AG-FILE", f"{KIND}.met", ob.obligation_id)
    stack.verify()


async def test_a_notice_whose_text_carries_npi_is_never_rendered_or_filed_and_waits_for_a_person(stack: Stack) -> None:
    content = NOTICES.content.model_copy(update={
        "what_happened": "The intruder copied the file of Jane Roe, SSN 212-45-6789, from the claims share."})
    handle, ob = await _start(stack, "INC-AG-NPI", notices=NOTICES.model_copy(update={"content": content}))

    async def failed() -> list[dict[str, Any]]:
        return entries(stack, "INC-AG-NPI", f"{KIND}.automation_failed", ob.obligation_id)
    (entry,) = await eventually(failed)
    assert "content.what_happened" in entry["error"] and "Social Security number" in entry["error"]
    assert "212-45-6789" not in json.dumps(entry)
    state = await state_of(handle)
    assert state.status is ObligationStatus.PENDING and state.waiting_for.startswith("a person")
    assert not _ag_folder(stack).exists(), "nothing filed"


# -- met only on the acknowledgement -------------------------------------------------------------


async def test_met_only_on_the_attorney_generals_acknowledgement_with_its_reference_521_053(stack: Stack) -> None:
    handle, ob = await _start(stack, "INC-AG-ACK")
    await until(handle, lambda st: st.status is ObligationStatus.SENT)
    await stack.skip(timedelta(hours=20))  # polled at 10 s, 1 min, 10 min, then hourly: nothing yet
    assert (await state_of(handle)).status is ObligationStatus.SENT

    ack = _acknowledge(stack, ob, "TXAG-2026-00417")
    await stack.skip(timedelta(hours=1))
    met = await until(handle, lambda st: st.status.resolved)
    assert met.status is ObligationStatus.MET and met.confirmed_at == ack.received_at and met.met_at == met.sent_at
    entry = _one(stack, "INC-AG-ACK", "met", ob)
    assert entry["confirmation"]["acknowledgement_reference"] == "TXAG-2026-00417" and entry["on_time"] is True
    assert entry["sent_evidence"]["submission_id"] == _receipt(stack, ob).submission_id
    types = [e.type for e in stack.entries("INC-AG-ACK")]
    assert types.index(f"{KIND}.submitted") < types.index(f"{KIND}.sent") < types.index(f"{KIND}.met")
    assert types.count(f"{KIND}.submitted") == 1
    await handle.result()  # one notice, no updates: the workflow ends once it is met
    await _save_history("attorney_general_notice", handle)
    stack.verify()


async def test_a_person_records_the_acknowledgement_in_their_own_name(stack: Stack) -> None:
    handle, ob = await _start(stack, "INC-AG-PERSON")
    await until(handle, lambda st: st.status is ObligationStatus.SENT)
    now = await stack.now()
    await handle.signal(
        AttorneyGeneralNoticeWorkflow.record_acknowledgement,
        RegulatorAcknowledgement(reference="TXAG-MAIL-88", received_at=now, recorded_by="cco", evidence_sha256="c" * 64),
    )
    met = await until(handle, lambda st: st.status is ObligationStatus.MET)
    assert met.evidence["confirmation"]["recorded_by"] == "cco"
    (entry,) = [e for e in stack.entries("INC-AG-PERSON") if e.type == f"{KIND}.met"]
    assert entry.actor == "user:cco" and entry.data["confirmation"]["acknowledgement_reference"] == "TXAG-MAIL-88"


async def test_no_acknowledgement_within_two_texas_business_days_alerts_owner_and_backup(stack: Stack) -> None:
    handle, ob = await _start(stack, "INC-AG-NOACK", responders=Responders(owner=OWNER, backup=BACKUP))
    await until(handle, lambda st: st.status is ObligationStatus.SENT)
    expected_by = datetime.fromisoformat(_one(stack, "INC-AG-NOACK", "sent", ob)["evidence"]["acknowledgement_expected_by"])
    sent_at = _receipt(stack, ob).submitted_at
    assert timedelta(days=2) <= expected_by - sent_at <= timedelta(days=6)  # two business days, weekends and holidays skipped
    await stack.skip(expected_by - await stack.now() - timedelta(hours=2))
    assert not entries(stack, "INC-AG-NOACK", f"{KIND}.acknowledgement_missing", ob.obligation_id)

    await stack.skip(timedelta(hours=3))

    async def alerted() -> dict[str, Any] | None:
        found = entries(stack, "INC-AG-NOACK", f"{KIND}.acknowledgement_missing", ob.obligation_id)
        alerts = entries(stack, "INC-AG-NOACK", f"{KIND}.alert_sent", ob.obligation_id)
        return found[0] if found and alerts else None
    missing = await eventually(alerted)
    assert missing["expected_by"] == expected_by.isoformat() and missing["submission_id"] == _receipt(stack, ob).submission_id
    (alert,) = entries(stack, "INC-AG-NOACK", f"{KIND}.alert_sent", ob.obligation_id)
    assert alert["alert"] == "acknowledgement_missing"
    assert {r["responder_id"] for r in alert["recipients"]} == {"jdoe", "asmith"}
    subjects = [m["Subject"] for m in stack.smtp.recorder.messages()]
    assert "[noticeflow] No acknowledgement: attorney general notice for TX" in subjects
    state = await state_of(handle)
    assert state.status is ObligationStatus.SENT and "none came within two business days" in state.waiting_for
    assert not entries(stack, "INC-AG-NOACK", f"{KIND}.overdue", ob.obligation_id), "filed in time: never overdue"


# -- refused or failed filings -------------------------------------------------------------------


async def test_a_refused_filing_leaves_the_obligation_open_alerts_and_files_once_when_retried(stack: Stack) -> None:
    portal = _script(stack, refusals=1)
    handle, ob = await _start(stack, "INC-AG-REFUSED", responders=Responders(owner=OWNER))

    async def refused() -> dict[str, Any] | None:
        found = entries(stack, "INC-AG-REFUSED", f"{KIND}.filing_refused", ob.obligation_id)
        return found[0] if found and entries(stack, "INC-AG-REFUSED", f"{KIND}.alert_sent", ob.obligation_id) else None
    entry = await eventually(refused)
    assert entry["attempt"] == 1 and "could not be read" in entry["error"] and entry["retry_at"]
    state = await state_of(handle)
    assert state.status is ObligationStatus.PENDING and state.sent_at is None
    assert "portal refused the notice" in state.waiting_for and "filed again at" in state.waiting_for
    assert not list(_ag_folder(stack).glob("*/receipt.json")), "nothing filed"
    assert "[noticeflow] Filing refused: attorney general notice for TX" in [m["Subject"] for m in stack.smtp.recorder.messages()]

    await stack.skip(FILING_RETRY_INTERVALS[0] + timedelta(minutes=1))
    sent = await until(handle, lambda st: st.status is ObligationStatus.SENT)
    assert portal.calls == [_receipt(stack, ob).submission_id] * 2, "the same submission, tried again"
    assert len([p for p in _ag_folder(stack).iterdir() if p.is_dir()]) == 1
    submitted = _one(stack, "INC-AG-REFUSED", "submitted", ob)
    assert submitted["attempts"] == 2 and sent.sent_at is not None
    assert _one(stack, "INC-AG-REFUSED", "sent", ob)["on_time"] is True


async def test_a_filing_whose_answer_was_lost_is_retried_without_filing_twice(stack: Stack) -> None:
    portal = _script(stack, lost_answers=1)
    handle, ob = await _start(stack, "INC-AG-LOST")
    await until(handle, lambda st: st.status is ObligationStatus.SENT, timeout=90)
    assert len(portal.calls) == 2, "the activity was retried after the lost answer"
    (folder,) = [p for p in _ag_folder(stack).iterdir() if p.is_dir()]
    first = RegulatorReceipt.model_validate_json((folder / "receipt.json").read_text())
    assert _receipt(stack, ob).submission_id == first.submission_id and first.documents == _receipt(stack, ob).documents
    assert portal.calls == [first.submission_id] * 2, "the retry found the filing already made: one filing"
    assert len(entries(stack, "INC-AG-LOST", f"{KIND}.submitted", ob.obligation_id)) == 1
    assert not entries(stack, "INC-AG-LOST", f"{KIND}.filing_refused", ob.obligation_id)


async def test_filed_after_the_30_day_deadline_is_overdue_then_met_late_521_053(stack: Stack) -> None:
    _script(stack, refusals=1)
    handle, ob = await _start(stack, "INC-AG-LATE", due_in=timedelta(minutes=30))
    async def refused() -> list[dict[str, Any]]:
        return entries(stack, "INC-AG-LATE", f"{KIND}.filing_refused", ob.obligation_id)
    await eventually(refused)
    await stack.skip(FILING_RETRY_INTERVALS[0] + timedelta(minutes=1))
    sent = await until(handle, lambda st: st.status is ObligationStatus.SENT)
    assert sent.sent_at is not None and sent.sent_at > ob.due
    overdue = _one(stack, "INC-AG-LATE", "overdue", ob)
    assert overdue["due"] == ob.due.isoformat()
    late = _one(stack, "INC-AG-LATE", "sent", ob)
    assert late["on_time"] is False and late["late_by_seconds"] > 0

    _acknowledge(stack, ob, "TXAG-LATE-3")
    await stack.skip(timedelta(hours=1))
    met = await until(handle, lambda st: st.status.resolved)
    assert met.status is ObligationStatus.MET_LATE
    entry = _one(stack, "INC-AG-LATE", "met_late", ob)
    assert entry["on_time"] is False and entry["confirmation"]["acknowledgement_reference"] == "TXAG-LATE-3"
    assert not entries(stack, "INC-AG-LATE", f"{KIND}.met", ob.obligation_id)



# -- end to end: the rules open it, the event workflow runs it ------------------------------------


async def test_an_event_reaching_250_texans_files_with_the_texas_attorney_general_end_to_end_521_053(stack: Stack) -> None:
    """'Attorney General if ≥ 250 Texas residents' (§ 521.053): the determination opens the
    obligation, its own child workflow files it with the Texas Attorney General (not the Texas
    commissioner, whose report goes to its own folder), a person records the office's
    acknowledgement through the event, and the report and the UI show it."""
    now = await stack.now()
    intake = make_intake(now, incident_id="INC-AG-E2E", affected=[affected("TN", 3), affected("TX", 250)])
    handle = await stack.start(intake)
    state = await handle.execute_update(Event.determine, Determination(
        is_cybersecurity_event=True, decided_by="jdoe", reason="Unencrypted SSNs were exfiltrated."))
    (ag,) = [o for o in state.obligations if o.obligation.kind is ObligationKind.ATTORNEY_GENERAL_NOTICE]
    ob = ag.obligation
    assert ob.jurisdiction == "TX" and ob.recipient_key == "attorney_general:TX" and ob.citation == TX_LAW
    assert ob.threshold is not None and ob.threshold.affected_residents == 250
    determined = next(e for e in stack.entries("INC-AG-E2E") if e.type == "incident.determined")
    assert ob.obligation_id in {o["obligation_id"] for o in determined.data["obligations"]}

    async def filed() -> Any:
        st = await handle.query(Event.state)
        return next((o for o in st.obligations if o.obligation.obligation_id == ob.obligation_id and o.sent_at), None)
    sent = await eventually(filed)
    assert sent.status is ObligationStatus.SENT and sent.workflow_id == obligation_workflow_id(ob.obligation_id)
    (folder,) = [p for p in _ag_folder(stack).iterdir() if p.is_dir()]
    assert json.loads((folder / "submission.json").read_text())["obligation_id"] == ob.obligation_id
    commissioner_tx = stack.settings.outbox_dir / "regulators" / "TX"
    assert all(":attorney_general_notice:" not in json.loads(p.read_text())["obligation_id"]
               for p in commissioner_tx.glob("*/submission.json"))

    # A person records the Attorney General's acknowledgement through the event (the API's route).
    await handle.execute_update(Event.record_acknowledgement, AcknowledgeFiling(
        obligation_id=ob.obligation_id,
        acknowledgement=RegulatorAcknowledgement(reference="TXAG-E2E-250", received_at=await stack.now(), recorded_by="cco"),
    ))

    async def met() -> Any:
        st = await handle.query(Event.state)
        found = next(o for o in st.obligations if o.obligation.obligation_id == ob.obligation_id)
        return found if found.status.resolved else None
    done = await eventually(met)
    assert done.status is ObligationStatus.MET and done.evidence["confirmation"]["acknowledgement_reference"] == "TXAG-E2E-250"
    (entry,) = [e for e in stack.entries("INC-AG-E2E") if e.type == f"{KIND}.met"]
    assert entry.actor == "user:cco" and entry.jurisdiction == "TX" and entry.citation == TX_LAW

    # What people see: the event's details in the Temporal UI, the examiner report's row and words.
    details = incident_details(await handle.query(Event.state))
    assert f"{KIND} TX: met" in details
    fold = fold_entries(list(stack.ledger.iter_raw(EntryFilter(stream="incident:INC-AG-E2E"))), documents={},
                        as_of=await stack.now())
    (row,) = [r for r in fold.events[0].obligations if r.kind == KIND]
    assert row.kind_words == "attorney general notice" and row.outcome == "on_time"
    assert row.recipient == "the Attorney General of Texas"
    assert any(e.detail == "TXAG-E2E-250" for e in row.evidence)
    sentences = [s.sentence for s in fold.steps if s.type.startswith(f"{KIND}.")]
    assert any("filed the notice to the TX Attorney General" in s for s in sentences)
    assert obligation_label(ob.obligation_id) == "TX attorney general notice"
    stack.verify()
