"""The cybersecurity-event lifecycle end to end on the time-skipping server: every path of SPEC §3
with real activities, a real ledger and a real SMTP server."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from temporalio.client import WorkflowUpdateFailedError

from models.content import CedingInsurer
from models.steps import CounselReview
from models.lifecycle import (
    ApproveConsumerNotice,
    IncidentStart,
    AttachRoster,
    CloseEvent,
    Determination,
    EventAmendment,
    Finding,
    ManualCompletion,
    ObligationAction,
    ObligationStatus,
    Stage,
    Waiver,
)
from workflows import search_attributes as sa
from workflows.incident import CybersecurityEventWorkflow as Event
from rules.jurisdictions import (
    event_definition_citation,
    exclusion_citation,
    material_updates_citation,
    retention_citation,
)
from tests.workflows.conftest import NOTICES, Stack, complete_findings, eventually, make_intake
from workflows.refusals import refusal_details

DETERMINED = Determination(is_cybersecurity_event=True, decided_by="jdoe", reason="Unencrypted SSNs were exfiltrated.")


async def _obligation(handle, kind: str, state: str):
    status = await handle.query(Event.state)
    return next(o for o in status.obligations if o.obligation.kind.value == kind and o.obligation.jurisdiction == state)


async def _until_status(handle, kind: str, state: str, *statuses: ObligationStatus):
    async def reached():
        ob = await _obligation(handle, kind, state)
        return ob if ob.status in statuses else None

    reached.__name__ = f"{kind} {state} in {[s.value for s in statuses]}"
    return await eventually(reached)


async def test_not_a_cybersecurity_event_when_encrypted_and_key_safe_closes_375_1402_3_a(stack: Stack) -> None:
    now = await stack.now()
    intake = make_intake(now, incident_id="INC-ENC", encrypted=True, key_compromised=False)
    handle = await stack.start(intake)
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update(Event.determine, DETERMINED)
    assert refused.value.cause.type == "determination_contradicts_facts"
    await handle.execute_update(
        Event.determine,
        Determination(is_cybersecurity_event=False, decided_by="jdoe", reason="Laptop disk fully encrypted; key in HSM.",
                      exclusion="encrypted_key_not_compromised"),
    )
    result = await handle.result()
    await stack.save_histories("not_an_event", handle)
    assert result.stage is Stage.NOT_AN_EVENT and result.obligations == []
    entries = stack.entries("INC-ENC")
    assert [e.type for e in entries] == ["incident.intake_recorded", "incident.determined_not_event"]
    # A Tennessee licensee's determination cites Tennessee's definition, never another state's law.
    assert entries[1].citation == exclusion_citation("TN", "encrypted_key_not_compromised") and entries[1].actor == "user:jdoe"
    assert entries[1].citation.startswith("Tenn. Code Ann.") and "RSMo" not in entries[1].citation
    # The determination states each examined state's own section (here Tennessee only), and says
    # which rest on a section not verified (Tennessee's wording of the exclusion is not a seed).
    assert entries[1].data["definitions"] == {"TN": exclusion_citation("TN", "encrypted_key_not_compromised")}
    assert entries[1].data["definitions_need_counsel_review"] == ["TN"]
    stack.verify()


async def test_not_an_event_claim_without_supporting_facts_is_refused_375_1402_3_b(stack: Stack) -> None:
    handle = await stack.start(make_intake(await stack.now(), incident_id="INC-NOFACT"))
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update(
            Event.determine,
            Determination(is_cybersecurity_event=False, decided_by="jdoe", reason="Vendor says files were deleted.",
                          exclusion="returned_or_destroyed_unused"),
        )
    assert refused.value.cause.type == "determination_contradicts_facts"
    assert (await handle.query(Event.state)).stage is Stage.INVESTIGATION

    async def intake_only():
        return stack.types("INC-NOFACT") == ["incident.intake_recorded"]

    await eventually(intake_only)


async def test_consumer_notice_before_determination_is_refused_56_2_1006_c(stack: Stack) -> None:
    handle = await stack.start(make_intake(await stack.now(), incident_id="INC-EARLY"))
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update(Event.approve_consumer_notice, ApproveConsumerNotice(approved_by="cco"))
    assert refused.value.cause.type == "consumer_notice_before_determination"
    assert refusal_details(refused.value.cause)["citation"] == event_definition_citation("TN")
    assert "consumer_notice.approved" not in stack.types("INC-EARLY")


async def test_tpsp_event_clock_starts_at_the_providers_notice_56_2_1006_d_2(stack: Stack) -> None:
    now = await stack.now()
    handle = await stack.start(make_intake(now, incident_id="INC-TPSP"))
    await handle.execute_update(
        Event.record_finding,
        Finding(kind="tpsp_investigation_confirmed", summary="Vendor forensic report reviewed.", recorded_by="jdoe",
                report_items=["B"]),
    )
    state = await handle.execute_update(Event.determine, DETERMINED)
    commissioner = next(o for o in state.obligations if o.obligation.kind.value == "commissioner_notice")
    assert commissioner.obligation.clock_start.value == "tpsp_notice"
    assert commissioner.obligation.clock_starts_at <= now - timedelta(hours=23)


async def test_tpsp_confirmation_is_refused_for_an_internal_event(stack: Stack) -> None:
    now = await stack.now()
    handle = await stack.start(make_intake(now, incident_id="INC-INT", source="internal", tpsp_notified_at=None))
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update(
            Event.record_finding,
            Finding(kind="tpsp_investigation_confirmed", summary="n/a", recorded_by="jdoe", report_items=["B"]),
        )
    assert refused.value.cause.type == "tpsp_finding_without_tpsp"
    assert refusal_details(refused.value.cause)["field"] == "kind"


async def test_event_runs_from_intake_to_closure_with_every_step_ledgered_once(stack: Stack) -> None:
    handle = await stack.start(make_intake(await stack.now(), incident_id="INC-FULL"))
    intake = make_intake(await stack.now(), incident_id="INC-FULL")
    for finding in complete_findings(intake):
        await handle.execute_update(Event.record_finding, finding)
    state = await handle.execute_update(Event.determine, DETERMINED)
    kinds = Counter(o.obligation.kind.value for o in state.obligations)
    assert kinds == {"commissioner_notice": 1, "consumer_notice": 1, "producer_notice": 1}

    # The commissioner report is filed without anyone waiting for it, well inside 3 business days;
    # filed is only sent: it is met when the commissioner acknowledges it.
    commissioner = await _until_status(handle, "commissioner_notice", "TN", ObligationStatus.SENT)
    assert commissioner.sent_at <= commissioner.due and commissioner.met_at is None
    filed = list((stack.settings.outbox_dir / "regulators" / "TN").rglob("*.json"))
    assert filed, "the regulator outbox holds the filing"
    assert await stack.acknowledge_filings("INC-FULL")
    commissioner = await _until_status(handle, "commissioner_notice", "TN", ObligationStatus.MET, ObligationStatus.MET_LATE)
    assert commissioner.status is ObligationStatus.MET and commissioner.confirmed_at is not None

    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update(Event.close, CloseEvent(closed_by="cco", summary="too early"))
    assert refused.value.cause.type == "obligations_open"

    stack.store_roster("INC-FULL-r1")
    await handle.execute_update(Event.attach_roster, AttachRoster(roster_id="INC-FULL-r1", attached_by="jdoe"))
    await handle.execute_update(Event.approve_consumer_notice, ApproveConsumerNotice(approved_by="cco"))
    await _until_status(handle, "consumer_notice", "TN", ObligationStatus.SENT, ObligationStatus.MET)
    await _until_status(handle, "producer_notice", "TN", ObligationStatus.SENT)
    # No hard bounce within the window: the e-mails are confirmed.
    await stack.skip(timedelta(days=3, hours=1))
    await stack.acknowledge_filings("INC-FULL")  # the updated report carrying item (N)
    await _until_status(handle, "consumer_notice", "TN", ObligationStatus.MET)
    await _until_status(handle, "producer_notice", "TN", ObligationStatus.MET)
    state = await handle.query(Event.state)
    assert {o.obligation.kind.value: o.status for o in state.obligations} == {
        "commissioner_notice": ObligationStatus.MET,
        "consumer_notice": ObligationStatus.MET,
        "producer_notice": ObligationStatus.MET,
    }
    recipients = set(stack.smtp.recorder.recipients())
    assert {"avery@example.net", "blake@example.net", "agency@volunteer.example"} <= recipients

    await handle.execute_update(Event.close, CloseEvent(closed_by="cco", summary="All notices given."))
    result = await handle.result()
    await stack.save_histories("full_lifecycle", handle)
    assert result.stage is Stage.CLOSED
    assert result.retain_until >= result.closed_at + timedelta(days=5 * 365)

    types = stack.types("INC-FULL")
    counts = Counter(types)
    assert types[0] == "incident.intake_recorded" and types.count("incident.closed") == 1
    # After closure only an updated report's acknowledgement may still be recorded (tracked until it comes).
    after = types[types.index("incident.closed") + 1 :]
    assert set(after) <= {"commissioner_notice.acknowledged", "commissioner_notice.acknowledgement_missing",
                          "commissioner_notice.alert_sent", "commissioner_notice.alert_failed"}, after
    closed = next(e for e in stack.entries("INC-FULL") if e.type == "incident.closed")
    assert closed.data["retention"] == {"TN": retention_citation("TN")} and closed.data["retention_needs_counsel_review"] == ["TN"]
    determined = next(e for e in stack.entries("INC-FULL") if e.type == "incident.determined")
    assert determined.citation == "Tenn. Code Ann. § 56-2-1003"
    assert determined.data["definitions"] == {"TN": "Tenn. Code Ann. § 56-2-1003"}, "each state's own law"
    assert counts["commissioner_notice.submitted"] == 1 and counts["consumer_notice.met"] == 1
    assert counts["commissioner_notice.updated"] >= 1  # item (N): the consumer notice's copy
    steps = [e.step for e in stack.entries("INC-FULL")]
    assert len(steps) == len(set(steps))
    assert all(e.citation for e in stack.entries("INC-FULL") if e.type.split(".")[0].endswith("_notice"))
    stack.verify()


async def test_full_45_day_consumer_clock_goes_overdue_and_stays_visible_56_2_1006_c(stack: Stack) -> None:
    handle = await stack.start(make_intake(await stack.now(), incident_id="INC-LATE"))
    await handle.execute_update(Event.determine, DETERMINED)
    consumer = await _obligation(handle, "consumer_notice", "TN")
    assert consumer.obligation.citation.startswith("Tenn. Code Ann. § 56-2-1006(c)")

    await _until_status(handle, "commissioner_notice", "TN", ObligationStatus.SENT)
    await stack.skip(consumer.due - await stack.now() + timedelta(hours=1))
    consumer = await _obligation(handle, "consumer_notice", "TN")
    assert consumer.status is ObligationStatus.OVERDUE
    state = await handle.query(Event.state)
    assert consumer.obligation.obligation_id in state.overdue
    entries = stack.entries("INC-LATE")
    overdue = [e for e in entries if e.type == "consumer_notice.overdue"]
    assert len(overdue) == 1 and overdue[0].citation == consumer.obligation.citation
    reminders = [e.data["hours_before"] for e in entries if e.type == "consumer_notice.reminder"]
    assert reminders == [24, 4]
    assert await stack.search_attribute(consumer.workflow_id, sa.OVERDUE.name) is True
    assert await stack.search_attribute(handle.id, sa.OVERDUE.name) is True

    # Still overdue until the notice is actually given — then recorded as late, never as on time.
    stack.store_roster("INC-LATE-r1")
    await handle.execute_update(Event.attach_roster, AttachRoster(roster_id="INC-LATE-r1", attached_by="jdoe"))
    await handle.execute_update(Event.approve_consumer_notice, ApproveConsumerNotice(approved_by="cco"))
    consumer = await _until_status(handle, "consumer_notice", "TN", ObligationStatus.SENT)
    assert consumer.sent_at > consumer.due  # given after the deadline: late, however it is confirmed
    await stack.skip(timedelta(days=3, hours=1))  # no bounce within the window
    consumer = await _until_status(handle, "consumer_notice", "TN", ObligationStatus.MET_LATE, ObligationStatus.MET)
    assert consumer.status is ObligationStatus.MET_LATE
    await stack.save_histories("overdue_then_late", handle)
    late = [e for e in stack.entries("INC-LATE") if e.type == "consumer_notice.met_late"]
    assert len(late) == 1 and late[0].data["late_by_seconds"] >= 3600


async def test_law_enforcement_delay_extends_the_consumer_clock_only_with_its_basis_56_2_1006_c(stack: Stack) -> None:
    handle = await stack.start(make_intake(await stack.now(), incident_id="INC-LE"))
    await handle.execute_update(Event.determine, DETERMINED)
    before = await _obligation(handle, "consumer_notice", "TN")
    delay_until = before.due + timedelta(days=30)
    with pytest.raises(ValueError, match="law_enforcement_basis is required"):
        EventAmendment(recorded_by="jdoe", summary="FBI asked us to wait", law_enforcement_delay_until=delay_until)
    await handle.execute_update(
        Event.amend_event,
        EventAmendment(recorded_by="jdoe", summary="Law-enforcement delay", law_enforcement_delay_until=delay_until,
                       law_enforcement_basis="FBI Memphis field office letter of 2026-11-20, ref 288A-ME-1234"),
    )
    async def moved():
        ob = await _obligation(handle, "consumer_notice", "TN")
        return ob if ob.due > before.due else None

    after = await eventually(moved)
    assert after.due > before.due and after.obligation.law_enforcement_delay_until == delay_until
    assert "consumer_notice.rescheduled" in stack.types("INC-LE")

    stack.store_roster("INC-LE-r1")
    await handle.execute_update(Event.attach_roster, AttachRoster(roster_id="INC-LE-r1", attached_by="jdoe"))
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update(Event.approve_consumer_notice, ApproveConsumerNotice(approved_by="cco"))
    assert refused.value.cause.type == "law_enforcement_delay"
    # The original deadline passes without the obligation going overdue.
    await stack.skip(before.due - await stack.now() + timedelta(days=1))
    assert (await _obligation(handle, "consumer_notice", "TN")).status is ObligationStatus.PENDING
    await stack.save_histories("law_enforcement_delay", handle)


async def test_material_update_re_reports_the_consumer_estimate_56_2_1006_b_2(stack: Stack) -> None:
    now = await stack.now()
    handle = await stack.start(make_intake(now, incident_id="INC-UPD"))
    await handle.execute_update(Event.determine, DETERMINED)
    await _until_status(handle, "commissioner_notice", "TN", ObligationStatus.SENT)
    rows = [row.model_dump() for row in make_intake(now, incident_id="INC-UPD").affected]
    rows[0].update(consumers=40, with_email=30)
    await handle.execute_update(
        Event.amend_event, EventAmendment(recorded_by="jdoe", summary="Forensics widened the scope", affected=rows)
    )

    async def updated():
        return [e for e in stack.entries("INC-UPD") if e.type == "commissioner_notice.updated"]

    (entry,) = await eventually(updated)
    assert entry.data["version"] == 2 and entry.data["consumer_estimate"] == 40
    amended = next(e for e in stack.entries("INC-UPD") if e.type == "incident.amended")
    assert "(I) TN: 3 → 40 consumers" in amended.data["changes"]
    assert amended.citation == material_updates_citation("TN") == "Tenn. Code Ann. § 56-2-1006(b)(2)"
    commissioner = await _obligation(handle, "commissioner_notice", "TN")
    assert commissioner.updates_sent == 1 and len(commissioner.documents) == 2


async def test_obligation_waived_with_a_reason_and_completed_by_hand(stack: Stack) -> None:
    handle = await stack.start(make_intake(await stack.now(), incident_id="INC-HAND"))
    await handle.execute_update(Event.determine, DETERMINED)
    producer = await _obligation(handle, "producer_notice", "TN")
    consumer = await _obligation(handle, "consumer_notice", "TN")
    with pytest.raises(ValueError):
        Waiver(waived_by="cco", reason="no")
    await handle.execute_update(
        Event.act_on_obligation,
        ObligationAction(obligation_id=producer.obligation.obligation_id,
                         waiver=Waiver(waived_by="cco", reason="The producer of record was notified by the ceding carrier.")),
    )
    await handle.execute_update(
        Event.act_on_obligation,
        ObligationAction(obligation_id=consumer.obligation.obligation_id,
                         completion=ManualCompletion(completed_by="cco", evidence="Letters mailed by the print shop, batch 77.")),
    )
    await _until_status(handle, "producer_notice", "TN", ObligationStatus.WAIVED)
    await _until_status(handle, "consumer_notice", "TN", ObligationStatus.MET)
    state = await handle.query(Event.state)
    statuses = {o.obligation.kind.value: o.status for o in state.obligations}
    assert statuses["producer_notice"] is ObligationStatus.WAIVED and statuses["consumer_notice"] is ObligationStatus.MET
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update(
            Event.act_on_obligation,
            ObligationAction(obligation_id=producer.obligation.obligation_id,
                             waiver=Waiver(waived_by="cco", reason="Waiving a second time is meaningless.")),
        )
    assert refused.value.cause.type == "obligation_resolved"
    waived = next(e for e in stack.entries("INC-HAND") if e.type == "producer_notice.waived")
    assert waived.actor == "user:cco" and "ceding carrier" in waived.data["reason"]


async def test_assuming_insurer_notifies_ceding_insurers_and_its_domicile_only_56_2_1006_e(stack: Stack) -> None:
    now = await stack.now()
    intake = make_intake(
        now, incident_id="INC-RE",
        licensee={"name": "Appalachian Re", "naic_code": "31990", "kind": "assuming_insurer",
                  "domicile_state": "TN", "home_state": "TN"},
        affected=[
            {"state": "TN", "consumers": 800, "material_harm_likely": True, "other_government_notice_required": False,
             "with_email": 0, "without_contact": 0, "producers_of_record_known": False},
            {"state": "GA", "consumers": 400, "material_harm_likely": True, "other_government_notice_required": False,
             "with_email": 0, "without_contact": 0, "producers_of_record_known": False},
        ],
    )
    notices = NOTICES.model_copy(update={"ceding_insurers": [
        CedingInsurer(name="Cumberland Mutual Insurance Company", naic_code="24871", email="claims@cumberland.example")
    ]})
    with pytest.raises(ValueError, match="notices.ceding_insurers is required"):
        IncidentStart(intake=intake, notices=NOTICES, opened_by="jdoe")
    handle = await stack.start(intake, notices)
    state = await handle.execute_update(Event.determine, DETERMINED)
    kinds = sorted({o.obligation.kind.value for o in state.obligations})
    assert kinds == ["ceding_insurer_notice", "commissioner_notice"]
    commissioner = [o.obligation for o in state.obligations if o.obligation.kind.value == "commissioner_notice"]
    # Each affected state's law owes the notice, always to the commissioner of the state of domicile.
    assert {o.recipient_key for o in commissioner} == {"commissioner:TN"}
    # One filing and one delivery each, made by whichever obligation leads its group.
    async def both_sent():
        status = await handle.query(Event.state)
        kinds = {o.obligation.kind.value for o in status.obligations if o.sent_at is not None}
        return kinds == {"commissioner_notice", "ceding_insurer_notice"}

    await eventually(both_sent)
    await stack.acknowledge_filings("INC-RE")
    await stack.skip(timedelta(days=3, hours=1))  # the bounce window passes without a bounce
    for ob in state.obligations:
        await _until_status(handle, ob.obligation.kind.value, ob.obligation.jurisdiction, ObligationStatus.MET)
    assert stack.smtp.recorder.recipients().count("claims@cumberland.example") == 1
    assert not (stack.settings.outbox_dir / "regulators" / "GA").exists()
    assert list((stack.settings.outbox_dir / "regulators" / "TN").rglob("*.json"))
    for finding in complete_findings(intake):
        await handle.execute_update(Event.record_finding, finding)
    state = await handle.query(Event.state)
    for obligation_id in state.counsel_reviews_pending:  # Georgia's rules are not verified here
        await handle.execute_update(Event.record_counsel_review, CounselReview(
            obligation_id=obligation_id, reviewer="counsel", decision="confirmed",
            notes="The assuming insurer's notice to its domicile commissioner satisfies the Georgia reading."))
    await handle.execute_update(Event.close, CloseEvent(closed_by="cco", summary="Ceding insurers notified."))
    assert (await handle.result()).stage is Stage.CLOSED
    await stack.save_histories("assuming_insurer", handle)
    assert not any(t.startswith("consumer_notice") for t in stack.types("INC-RE"))
    # Owed under two states' laws to the same recipients: delivered once, and both recorded as met.
    met = [e for e in stack.entries("INC-RE") if e.type in ("ceding_insurer_notice.met", "commissioner_notice.met")]
    assert len(met) == 4 and sum(1 for e in met if e.data.get("delivered_with")) == 2
    assert len([e for e in stack.entries("INC-RE") if e.type == "commissioner_notice.submitted"]) == 1
    stack.verify()
