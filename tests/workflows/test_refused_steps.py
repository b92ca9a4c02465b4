"""A refused step changes nothing, and the event takes its next step (issue: one refused request
must not wedge an event). Refusals are typed: the assertions read the ``ApplicationError`` type
and its field, never the wording."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError

from ledger.store import EntryDraft
from models.lifecycle import Determination, EventAmendment, Finding, IncidentState, ObligationStatus, Stage
from models.steps import ConsumerReconciliation, CounselReview, ReportItemNotApplicable
from tests.workflows.conftest import Stack, complete_findings, eventually, make_intake
from workflows.incident import CybersecurityEventWorkflow as Event
from workflows.incident import incident_workflow_id
from workflows.refusals import refusal_details

DETERMINED = Determination(is_cybersecurity_event=True, decided_by="jdoe", reason="Unencrypted SSNs were exfiltrated.")
SSN_SPELLINGS = ["078-05-1120", "078.05.1120", "078 05 1120"]


def _refusal(err: pytest.ExceptionInfo[WorkflowUpdateFailedError]) -> tuple[str, dict]:
    cause = err.value.cause
    assert isinstance(cause, ApplicationError), cause
    details = refusal_details(cause)
    assert details is not None, f"untyped refusal: {cause.type}: {cause.message}"
    return cause.type or "", details


@pytest.mark.parametrize("ssn", SSN_SPELLINGS)
async def test_determination_with_npi_in_its_reason_is_refused_and_the_event_can_still_be_determined(
    stack: Stack, ssn: str
) -> None:
    handle = await stack.start(make_intake(await stack.now(), incident_id="INC-NPI-DET"))
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update(
            Event.determine,
            Determination(is_cybersecurity_event=True, decided_by="jdoe", reason=f"Files of the claimant {ssn} were taken."),
        )
    rule, details = _refusal(refused)
    assert rule == "npi_in_free_text" and details["field"] == "reason" and details["category"] == "invalid"
    state: IncidentState = await handle.query(Event.state)
    assert state.stage is Stage.INVESTIGATION and state.determination is None and state.obligations == []
    assert "incident.determined" not in stack.types("INC-NPI-DET")

    # Not wedged: the corrected determination goes through and opens the obligations.
    state = await handle.execute_update(Event.determine, DETERMINED)
    assert state.stage is Stage.NOTIFYING and len(state.obligations) == 3
    assert stack.types("INC-NPI-DET").count("incident.determined") == 1


async def test_finding_amendment_and_reconciliation_with_npi_are_refused_naming_the_field(stack: Stack) -> None:
    now = await stack.now()
    handle = await stack.start(make_intake(now, incident_id="INC-NPI-STEPS"))
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update(Event.record_finding, Finding(
            kind="nature_and_scope", report_items=["B"], recorded_by="jdoe",
            summary="Claimant avery@example.net reported the phishing mail."))
    assert _refusal(refused)[0] == "npi_in_free_text" and _refusal(refused)[1]["field"] == "summary"
    await handle.execute_update(Event.determine, DETERMINED)
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update(Event.amend_event, EventAmendment(
            recorded_by="jdoe", summary="Law-enforcement delay",
            law_enforcement_delay_until=now.replace(year=now.year + 1),
            law_enforcement_basis="Agent asked by phone, call back 615-555-0199"))
    assert _refusal(refused)[1]["field"] == "law_enforcement_basis"
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update(Event.reconcile_consumers, ConsumerReconciliation(
            state="TN", consumers=2, recorded_by="jdoe", reason="Removed duplicate of 078-05-1120 from the roster"))
    assert _refusal(refused) [1]["field"] == "reason"
    types = stack.types("INC-NPI-STEPS")
    assert "incident.finding_recorded" not in types and "incident.amended" not in types
    assert "consumer_notice.estimate_revised" not in types
    state = await handle.query(Event.state)
    assert state.findings == [] and state.amendments == 0

    # The next finding is finding/1: nothing of the refused one was kept.
    await handle.execute_update(Event.record_finding, Finding(
        kind="nature_and_scope", report_items=["B"], recorded_by="jdoe", summary="A vendor mailbox was phished."))
    (entry,) = [e for e in stack.entries("INC-NPI-STEPS") if e.type == "incident.finding_recorded"]
    assert entry.step.endswith("/finding/1")


async def test_a_step_whose_ledger_write_fails_changes_nothing_and_says_so(stack: Stack) -> None:
    handle = await stack.start(make_intake(await stack.now(), incident_id="INC-WRITE"))
    # Another record already holds this step's key with other content: the append is refused.
    stack.ledger.append(EntryDraft(
        stream="incident:INC-WRITE", type="incident.finding_recorded",
        step=f"{incident_workflow_id('INC-WRITE')}/finding/1", actor="user:someone-else", data={"kind": "other"},
    ))
    finding = Finding(kind="nature_and_scope", report_items=["B"], recorded_by="jdoe", summary="A vendor mailbox was phished.")
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update(Event.record_finding, finding)
    cause = refused.value.cause
    assert isinstance(cause, ApplicationError) and cause.type == "ledger_step_conflict"
    state = await handle.query(Event.state)
    assert state.findings == []
    # The event still takes steps that do not collide.
    state = await handle.execute_update(Event.determine, DETERMINED)
    assert state.stage is Stage.NOTIFYING


async def test_concurrent_determinations_record_one_and_refuse_the_other_typed(stack: Stack) -> None:
    handle = await stack.start(make_intake(await stack.now(), incident_id="INC-RACE"))
    results = await asyncio.gather(
        handle.execute_update(Event.determine, DETERMINED),
        handle.execute_update(Event.determine, DETERMINED.model_copy(update={"decided_by": "kpatel"})),
        return_exceptions=True,
    )
    accepted = [r for r in results if isinstance(r, IncidentState)]
    refused = [r for r in results if isinstance(r, WorkflowUpdateFailedError)]
    assert len(accepted) == 1 and len(refused) == 1
    assert isinstance(refused[0].cause, ApplicationError) and refused[0].cause.type == "already_determined"
    assert stack.types("INC-RACE").count("incident.determined") == 1
    assert len({o.obligation.obligation_id for o in (await handle.query(Event.state)).obligations}) == 3


async def test_finding_kind_cannot_supply_an_item_it_does_not_fit_56_2_1006_b_1(stack: Stack) -> None:
    handle = await stack.start(make_intake(await stack.now(), incident_id="INC-FIT"))
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update(Event.record_finding, Finding(
            kind="remediation", report_items=["F"], recorded_by="jdoe", summary="Passwords were rotated."))
    rule, details = _refusal(refused)
    assert rule == "finding_item_mismatch" and details["field"] == "report_items"
    assert details["citation"] and "56-2-1006(b)(1)" in details["citation"]
    assert "incident.finding_recorded" not in stack.types("INC-FIT")


async def test_closure_waits_for_every_report_item_and_counsel_review(stack: Stack) -> None:
    """An event owed only Tennessee's verified notices closes once its report is complete; a state
    whose rule is reported (not verified) holds closure until counsel's review is recorded."""
    now = await stack.now()
    intake = make_intake(now, incident_id="INC-CLOSE", affected=[
        {"state": "TN", "consumers": 3, "material_harm_likely": True, "other_government_notice_required": False,
         "with_email": 2, "without_contact": 0, "producers_of_record_known": True, "electronic_primary_channel": True},
        {"state": "KY", "consumers": 300, "material_harm_likely": False, "other_government_notice_required": True,
         "with_email": 0, "without_contact": 0, "producers_of_record_known": False},
    ])
    handle = await stack.start(intake)
    state = await handle.execute_update(Event.determine, DETERMINED)
    flagged = [o.obligation.obligation_id for o in state.obligations if o.obligation.needs_counsel_review]
    assert flagged, "Kentucky's clock is reported, not verified: counsel must review it"
    for o in state.obligations:
        if o.obligation.kind.value != "commissioner_notice":
            await handle.execute_update(Event.act_on_obligation, _waive(o.obligation.obligation_id))
    for o in state.obligations:
        if o.obligation.kind.value == "commissioner_notice":
            await _sent(handle, o.obligation.obligation_id)
    await stack.acknowledge_filings("INC-CLOSE")
    for o in state.obligations:
        await _resolved(handle, o.obligation.obligation_id)

    from models.lifecycle import CloseEvent

    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update(Event.close, CloseEvent(closed_by="cco", summary="Done."))
    assert _refusal(refused)[0] == "closure_incomplete"
    state = await handle.query(Event.state)
    assert state.counsel_reviews_pending == sorted(flagged)
    assert "KY" in state.report_items_missing and "E" in state.report_items_missing["KY"]

    for finding in complete_findings(intake):
        await handle.execute_update(Event.record_finding, finding)
    state = await handle.query(Event.state)
    # Tennessee's consumer notice was waived, so no copy of it (N) exists: only a recorded mark
    # with its reason answers the item.
    assert state.report_items_missing == {"TN": ["N"]}
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update(Event.close, CloseEvent(closed_by="cco", summary="Done."))
    assert _refusal(refused)[0] == "closure_incomplete"
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update(Event.mark_item_not_applicable, ReportItemNotApplicable(
            state="TN", item="G", reason="Nothing to describe here.", recorded_by="cco"))
    assert _refusal(refused)[0] == "report_item_not_applicable_refused"  # (G) is answered by the intake
    await handle.execute_update(Event.mark_item_not_applicable, ReportItemNotApplicable(
        state="TN", item="N", reason="The claims vendor gave the consumer notice under its own letterhead; no copy of ours exists.",
        recorded_by="cco"))
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update(Event.close, CloseEvent(closed_by="cco", summary="Done."))
    assert _refusal(refused)[0] == "closure_incomplete"  # counsel has not reviewed yet
    assert (await handle.query(Event.state)).report_items_missing == {}

    with pytest.raises(WorkflowUpdateFailedError) as refused:
        tn = next(o for o in state.obligations if o.obligation.jurisdiction == "TN" and not o.obligation.needs_counsel_review)
        await handle.execute_update(Event.record_counsel_review, CounselReview(
            obligation_id=tn.obligation.obligation_id, reviewer="counsel", decision="confirmed", notes="n/a"))
    assert _refusal(refused)[0] == "counsel_review_not_needed"
    for oid in flagged:
        await handle.execute_update(Event.record_counsel_review, CounselReview(
            obligation_id=oid, reviewer="counsel", decision="confirmed",
            notes="Privileged: KRS 304.3-756 read as three business days; the filing was timely."))
    await handle.execute_update(Event.close, CloseEvent(closed_by="cco", summary="Done."))
    assert (await handle.result()).stage is Stage.CLOSED
    entries = stack.entries("INC-CLOSE")
    reviews = [e for e in entries if e.type == "incident.counsel_review_recorded"]
    assert len(reviews) == len(flagged)
    assert all(e.data["privileged"] and "KRS 304.3-756" not in str(e.data) for e in reviews)
    privileged = [e for e in entries if e.type == "incident.finding_recorded" and e.data.get("privileged")]
    assert privileged and all("summary" not in e.data for e in privileged)
    stack.verify()


async def test_five_concurrent_findings_file_one_update_per_step_never_one_per_retry_56_2_1006_b_2(stack: Stack) -> None:
    handle = await stack.start(make_intake(await stack.now(), incident_id="INC-BURST"))
    await handle.execute_update(Event.determine, DETERMINED)
    commissioner = next(o for o in (await handle.query(Event.state)).obligations
                        if o.obligation.kind.value == "commissioner_notice")

    async def filed():
        return [e for e in stack.entries("INC-BURST") if e.type == "commissioner_notice.submitted"]

    await eventually(filed)
    findings = [Finding(kind="nature_and_scope", report_items=["B"], recorded_by="jdoe", summary=f"Scope detail {n}.")
                for n in range(5)]
    await asyncio.gather(*(handle.execute_update(Event.record_finding, f) for f in findings))
    # A retried delivery of the same step (the same material update told twice) files nothing more.
    child = stack.client.get_workflow_handle(commissioner.workflow_id)
    state = await handle.query(Event.state)
    assert len(state.findings) == 5

    async def all_reported():
        updates = [e for e in stack.entries("INC-BURST") if e.type == "commissioner_notice.updated"]
        steps = [s for e in updates for s in e.data["steps"]]
        return updates if sorted(steps) == [f"finding/{n}" for n in range(1, 6)] else None

    updates = await eventually(all_reported)
    steps = Counter(s for e in updates for s in e.data["steps"])
    assert all(count == 1 for count in steps.values())
    assert len(updates) <= 5
    from models.lifecycle import MaterialUpdate

    last = await handle.query(Event.state)
    await child.signal("material_update", MaterialUpdate(
        sequence=99, step="finding/5", summary="again", changes=["again"], recorded_by="jdoe",
        intake=make_intake(await stack.now(), incident_id="INC-BURST"),
    ))
    await asyncio.sleep(1.0)
    assert len([e for e in stack.entries("INC-BURST") if e.type == "commissioner_notice.updated"]) == len(updates)
    assert last.stage is Stage.NOTIFYING


def _waive(obligation_id: str):
    from models.lifecycle import ObligationAction, Waiver

    return ObligationAction(obligation_id=obligation_id, waiver=Waiver(
        waived_by="cco", reason="Given outside noticeflow by the claims vendor, records kept by counsel."))


async def _sent(handle, obligation_id: str):
    async def sent():
        state = await handle.query(Event.state)
        ob = next(o for o in state.obligations if o.obligation.obligation_id == obligation_id)
        return ob if ob.sent_at is not None else None

    sent.__name__ = f"{obligation_id} sent"
    return await eventually(sent)


async def _resolved(handle, obligation_id: str):
    async def done():
        state = await handle.query(Event.state)
        ob = next(o for o in state.obligations if o.obligation.obligation_id == obligation_id)
        return ob if ob.status.resolved else None

    done.__name__ = f"{obligation_id} resolved"
    return await eventually(done)


__all__ = ["ObligationStatus"]


async def test_an_acknowledgement_recorded_by_a_person_confirms_the_filing_once_56_2_1006_b_1(stack: Stack) -> None:
    from datetime import timedelta

    from models.notice import AcknowledgeFiling, RegulatorAcknowledgement

    handle = await stack.start(make_intake(await stack.now(), incident_id="INC-ACK"))
    state = await handle.execute_update(Event.determine, DETERMINED)
    commissioner = next(o for o in state.obligations if o.obligation.kind.value == "commissioner_notice")
    consumer = next(o for o in state.obligations if o.obligation.kind.value == "consumer_notice")
    await _sent(handle, commissioner.obligation.obligation_id)
    now = await stack.now()
    ack = RegulatorAcknowledgement(reference="TDCI-2026-4471", received_at=now, recorded_by="cco")

    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update(Event.record_acknowledgement, AcknowledgeFiling(
            obligation_id=consumer.obligation.obligation_id, acknowledgement=ack))
    assert _refusal(refused)[0] == "not_a_filing"
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update(Event.record_acknowledgement, AcknowledgeFiling(
            obligation_id=commissioner.obligation.obligation_id,
            acknowledgement=ack.model_copy(update={"received_at": now + timedelta(days=2)})))
    assert _refusal(refused)[1]["field"] == "acknowledgement.received_at"

    await handle.execute_update(Event.record_acknowledgement, AcknowledgeFiling(
        obligation_id=commissioner.obligation.obligation_id, acknowledgement=ack))
    met = await _resolved(handle, commissioner.obligation.obligation_id)
    assert met.status is ObligationStatus.MET
    (entry,) = [e for e in stack.entries("INC-ACK") if e.type == "commissioner_notice.met"]
    assert entry.data["confirmation"]["acknowledgement_reference"] == "TDCI-2026-4471"
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update(Event.record_acknowledgement, AcknowledgeFiling(
            obligation_id=commissioner.obligation.obligation_id, acknowledgement=ack))
    assert _refusal(refused)[0] == "filing_already_acknowledged"


async def test_a_bounce_reported_while_the_notice_awaits_confirmation_reopens_it(stack: Stack) -> None:
    from models.lifecycle import ApproveConsumerNotice, AttachRoster
    from models.notice import ReportReturned

    handle = await stack.start(make_intake(await stack.now(), incident_id="INC-BOUNCE"))
    state = await handle.execute_update(Event.determine, DETERMINED)
    producer = next(o for o in state.obligations if o.obligation.kind.value == "producer_notice")
    commissioner = next(o for o in state.obligations if o.obligation.kind.value == "commissioner_notice")
    bounce = ReportReturned(obligation_id=producer.obligation.obligation_id, channel="email", recipient_refs=["P-100"],
                            reason="550 5.1.1 mailbox unknown", recorded_by="cco")
    with pytest.raises(WorkflowUpdateFailedError) as refused:  # nothing sent yet
        await handle.execute_update(Event.report_returned, bounce)
    assert _refusal(refused)[0] == "not_awaiting_confirmation"
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update(Event.report_returned, bounce.model_copy(
            update={"obligation_id": commissioner.obligation.obligation_id}))
    assert _refusal(refused)[0] == "not_a_delivery"

    stack.store_roster("INC-BOUNCE-r1")
    await handle.execute_update(Event.attach_roster, AttachRoster(roster_id="INC-BOUNCE-r1", attached_by="jdoe"))
    await handle.execute_update(Event.approve_consumer_notice, ApproveConsumerNotice(approved_by="cco"))
    await _sent(handle, producer.obligation.obligation_id)
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update(Event.report_returned, bounce.model_copy(update={"reason": "bounced for 615-555-0199"}))
    assert _refusal(refused)[1]["field"] == "reason"

    await handle.execute_update(Event.report_returned, bounce)

    async def reopened():
        status = await handle.query(Event.state)
        ob = next(o for o in status.obligations if o.obligation.obligation_id == producer.obligation.obligation_id)
        return ob if ob.sent_at is None and not ob.status.resolved else None

    await eventually(reopened)
    types = stack.types("INC-BOUNCE")
    assert types.count("incident.returned_reported") == 1 and "producer_notice.reopened" in types
    assert "producer_notice.met" not in types


async def test_a_reconciliation_restates_the_consumer_notice_and_reports_item_i_56_2_1006_b_1_i(stack: Stack) -> None:
    handle = await stack.start(make_intake(await stack.now(), incident_id="INC-RECON"))
    await handle.execute_update(Event.determine, DETERMINED)
    await handle.execute_update(Event.reconcile_consumers, ConsumerReconciliation(
        state="TN", consumers=2, recorded_by="jdoe", reason="One claim folder was counted twice in the first estimate."))

    async def restated():
        status = await handle.query(Event.state)
        ob = next(o for o in status.obligations if o.obligation.kind.value == "consumer_notice")
        return ob if ob.obligation.recipient_name.startswith("2 affected") else None

    await eventually(restated)
    (entry,) = [e for e in stack.entries("INC-RECON") if e.type == "consumer_notice.estimate_revised"]
    assert (entry.data["estimate_before"], entry.data["estimate_after"]) == (3, 2)
    assert entry.citation == "Tenn. Code Ann. § 56-2-1006(b)(1)(I)"
