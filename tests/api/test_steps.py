"""How the API answers a workflow's typed refusals (``workflows/refusals.py``), and the event's
steps for people: responders (required at intake), counsel reviews, consumer reconciliations and
report items marked not applicable.

The mapping of a failed update is checked on the exceptions the Temporal client raises; the routes
against the time-skipping server with a real worker (ledger on SQLite, real SMTP).
"""

from __future__ import annotations

import json

from typing import Any

import httpx
from temporalio.exceptions import ActivityError, ApplicationError, TimeoutError as TemporalTimeoutError, TimeoutType

from api.errors import StepFailed, StepInvalid, StepRefused
from api.gateway import client_field, update_failure
from models.lifecycle import Finding, IncidentStart, Waiver
from tests.api.conftest import TESTER_ACTOR, SampleEvent
from workflows.refusals import refuse_input, refuse_state

SSN_SUMMARY = "Claims log lists 078-05-1120 for one claimant; the vendor confirmed the server was accessed."
DETERMINATION = {"is_cybersecurity_event": True, "reason": "Claim images with SSNs and health information were exfiltrated."}
CITE = "Tenn. Code Ann. § 56-2-1006(c)"


# -- the mapping ---------------------------------------------------------------------------------------


def test_a_refused_value_is_422_naming_the_field_as_the_body_names_it() -> None:
    refusal = refuse_input("npi_in_free_text", "finding.summary", "summary: looks like a Social Security number")
    answer = update_failure(refusal, frozenset(Finding.model_fields), "/v1/incidents/I-1")
    assert isinstance(answer, StepInvalid)
    assert answer.status_code == 422
    assert answer.body() == {
        "detail": "summary: looks like a Social Security number",
        "errors": [
            {"field": "summary", "message": "summary: looks like a Social Security number", "type": "npi_in_free_text",
             "citation": None},
        ],
    }


def test_a_field_path_that_starts_with_a_body_field_is_kept_and_a_model_prefix_dropped() -> None:
    assert client_field("intake.discovered_at", frozenset(IncidentStart.model_fields)) == "intake.discovered_at"
    assert client_field("intake.affected[0].consumers", frozenset(IncidentStart.model_fields)) == "intake.affected[0].consumers"
    assert client_field("waiver.reason", frozenset(Waiver.model_fields)) == "reason"
    assert client_field("summary", frozenset(Finding.model_fields)) == "summary"
    assert client_field(None, None) == "request body"


def test_a_step_the_lifecycle_does_not_allow_now_is_409_with_rule_and_citation() -> None:
    refusal = refuse_state("consumer_notice_before_determination", "a consumer notice follows the determination", citation=CITE)
    answer = update_failure(refusal, None, "/v1/incidents/I-1")
    assert isinstance(answer, StepRefused)
    assert answer.status_code == 409
    assert answer.body() == {
        "detail": "a consumer notice follows the determination", "rule_id": "consumer_notice_before_determination", "citation": CITE,
    }


def test_an_untyped_refusal_stays_409_with_its_message_only() -> None:
    answer = update_failure(ApplicationError("the event is already determined", type="ValueError"), None, "/v1/incidents/I-1")
    assert (answer.status_code, answer.body()) == (409, {"detail": "the event is already determined"})


def _activity_failed(cause: BaseException) -> ActivityError:
    error = ActivityError(
        "Activity task failed", scheduled_event_id=5, started_event_id=6, identity="worker-1",
        activity_type="append_ledger_entry", activity_id="5", retry_state=None,
    )  # fmt: skip
    error.__cause__ = cause
    return error


def test_a_failed_activity_is_a_500_that_says_so_never_a_rule_conflict() -> None:
    answer = update_failure(_activity_failed(ApplicationError("database is locked", type="LedgerError")), None, "/v1/incidents/I-1")
    assert isinstance(answer, StepFailed)
    assert answer.status_code == 500
    assert "append_ledger_entry activity failed" in answer.detail
    assert "database is locked" in answer.detail
    assert "GET /v1/incidents/I-1" in answer.detail
    # Even when the activity's own error is a typed refusal: the handler got as far as the
    # activity, so this is a failure inside the worker, not a refusal of the request.
    typed = update_failure(_activity_failed(refuse_input("npi_in_free_text", "summary", "looks like an SSN")), None, "/x")
    assert typed.status_code == 500


def test_an_activity_that_timed_out_is_503() -> None:
    timed_out = TemporalTimeoutError("activity timeout", type=TimeoutType.START_TO_CLOSE, last_heartbeat_details=[])
    assert update_failure(_activity_failed(timed_out), None, "/v1/incidents/I-1").status_code == 503


# -- refusals through the API ------------------------------------------------------------------------------


async def _started(api: httpx.AsyncClient, sample: SampleEvent) -> dict[str, Any]:
    response = await api.post("/v1/incidents", json=sample.start_body())
    assert response.status_code == 201, response.text
    state: dict[str, Any] = response.json()
    return state


async def _determined(api: httpx.AsyncClient, sample: SampleEvent) -> dict[str, Any]:
    await _started(api, sample)
    response = await api.post(f"/v1/incidents/{sample.incident_id}/determination", json=DETERMINATION)
    assert response.status_code == 200, response.text
    state: dict[str, Any] = response.json()
    return state


async def _ledger(api: httpx.AsyncClient, incident_id: str) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = (await api.get(f"/v1/incidents/{incident_id}/ledger", params={"limit": 5000})).json()["entries"]
    return entries


async def test_a_finding_whose_summary_holds_an_ssn_is_422_naming_summary_and_records_nothing(
    api: httpx.AsyncClient, sample: SampleEvent
) -> None:
    await _started(api, sample)
    base = f"/v1/incidents/{sample.incident_id}"
    refused = await api.post(f"{base}/findings", json={"kind": "nature_and_scope", "summary": SSN_SUMMARY, "report_items": ["A"]})
    assert refused.status_code == 422, refused.text
    body = refused.json()
    assert [(e["field"], e["type"]) for e in body["errors"]] == [("summary", "npi_in_free_text")]
    assert "078-05-1120" not in refused.text
    assert "incident.finding_recorded" not in {e["type"] for e in await _ledger(api, sample.incident_id)}
    assert (await api.get(base)).json()["findings"] == []

    fine = await api.post(
        f"{base}/findings", json={"kind": "nature_and_scope", "summary": "Claims-imaging server accessed.", "report_items": ["A"]},
    )
    assert fine.status_code == 200, fine.text


async def test_a_refused_determination_leaves_the_event_open_for_the_right_one(
    api: httpx.AsyncClient, sample: SampleEvent
) -> None:
    await _started(api, sample)
    base = f"/v1/incidents/{sample.incident_id}"
    refused = await api.post(f"{base}/determination", json={**DETERMINATION, "reason": "SSN 078 05 1120 was exfiltrated."})
    assert refused.status_code == 422, refused.text
    assert refused.json()["errors"][0]["field"] == "reason"
    assert (await api.get(base)).json()["stage"] == "investigation"

    decided = await api.post(f"{base}/determination", json=DETERMINATION)
    assert decided.status_code == 200, decided.text
    assert decided.json()["stage"] == "notifying"
    assert decided.json()["obligations"]


# -- responders -------------------------------------------------------------------------------------------


async def test_an_event_is_started_only_with_its_responders(api: httpx.AsyncClient, sample: SampleEvent) -> None:
    body = sample.start_body()
    del body["responders"]
    response = await api.post("/v1/incidents", json=body)
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["responders"]
    assert (await api.get(f"/v1/incidents/{sample.incident_id}")).status_code == 404

    started = await _started(api, sample)
    assert started["responders"]["owner"]["responder_id"] == "dana.whitfield"
    assert started["responders"]["backup"]["responder_id"] == "marcus.lee"


async def test_responders_change_by_a_recorded_step_in_the_callers_name(api: httpx.AsyncClient, sample: SampleEvent) -> None:
    await _started(api, sample)
    base = f"/v1/incidents/{sample.incident_id}"
    team = {
        "owner": {"responder_id": "marcus.lee", "name": "Marcus Lee", "email": "marcus.lee@cumberland.example"},
        "backup": {"responder_id": "priya.nair", "name": "Priya Nair", "email": "priya.nair@cumberland.example"},
    }
    forged = await api.post(f"{base}/responders", json={"responders": team, "reason": "Dana is on leave.", "assigned_by": "dana"})
    assert forged.status_code == 403

    changed = await api.post(f"{base}/responders", json={"responders": team, "reason": "Dana is on leave until January."})
    assert changed.status_code == 200, changed.text
    assert changed.json()["responders"]["owner"]["responder_id"] == "marcus.lee"
    (entry,) = [e for e in await _ledger(api, sample.incident_id) if e["type"] == "incident.responders_assigned"]
    assert entry["actor"] == TESTER_ACTOR
    assert (entry["data"]["owner"]["responder_id"], entry["data"]["backup"]["responder_id"]) == ("marcus.lee", "priya.nair")
    # Staff are named so an examiner reads who acted; their e-mail addresses stay out of the ledger.
    assert entry["data"]["owner"] == {"responder_id": "marcus.lee", "name": team["owner"]["name"]}
    assert "@" not in json.dumps(entry["data"])

    same_person = {"owner": team["owner"], "backup": team["owner"]}
    invalid = await api.post(f"{base}/responders", json={"responders": same_person, "reason": "Only Marcus is available."})
    assert invalid.status_code == 422
    assert invalid.json()["errors"][0]["field"].startswith("responders")


# -- counsel reviews ------------------------------------------------------------------------------------------


async def test_counsel_clears_a_flag_once_and_its_notes_stay_out_of_the_ledger(api: httpx.AsyncClient, sample: SampleEvent) -> None:
    state = await _determined(api, sample)
    base = f"/v1/incidents/{sample.incident_id}"
    flagged = [o["obligation"]["obligation_id"] for o in state["obligations"] if o["obligation"]["needs_counsel_review"]]
    verified = [o["obligation"]["obligation_id"] for o in state["obligations"] if not o["obligation"]["needs_counsel_review"]]
    assert flagged and verified
    assert set(state["counsel_reviews_pending"]) == set(flagged)
    notes = "Read the state's statute with the engine's clock; the 72-hour reading is the conservative one we keep."

    not_needed = await api.post(f"{base}/counsel-reviews", json={"obligation_id": verified[0], "decision": "confirmed", "notes": notes})
    assert not_needed.status_code == 422, not_needed.text
    assert [(e["field"], e["type"]) for e in not_needed.json()["errors"]] == [("obligation_id", "counsel_review_not_needed")]

    forged = await api.post(
        f"{base}/counsel-reviews", json={"obligation_id": flagged[0], "decision": "confirmed", "notes": notes, "reviewer": "counsel"}
    )
    assert forged.status_code == 403

    reviewed = await api.post(f"{base}/counsel-reviews", json={"obligation_id": flagged[0], "decision": "confirmed", "notes": notes})
    assert reviewed.status_code == 200, reviewed.text
    assert reviewed.json()["counsel_reviews"] == {flagged[0]: "confirmed"}
    assert flagged[0] not in reviewed.json()["counsel_reviews_pending"]

    again = await api.post(f"{base}/counsel-reviews", json={"obligation_id": flagged[0], "decision": "changed", "notes": notes})
    assert again.status_code == 409
    assert again.json()["rule_id"] == "counsel_review_already_recorded"

    entries = await _ledger(api, sample.incident_id)
    (entry,) = [e for e in entries if e["type"] == "incident.counsel_review_recorded"]
    assert entry["actor"] == TESTER_ACTOR
    assert entry["data"]["privileged"] is True
    assert entry["data"]["privilege"]["withheld"] == "notes"
    assert entry["data"]["privilege"]["digest"]
    assert not [e for e in entries if "conservative one we keep" in str(e["data"])]


# -- consumer reconciliations and items not applicable ----------------------------------------------------


async def test_a_reconciliation_revises_a_states_estimate_with_its_reason(api: httpx.AsyncClient, sample: SampleEvent) -> None:
    await _determined(api, sample)
    base = f"/v1/incidents/{sample.incident_id}"
    tn = next(a for a in sample.intake["affected"] if a["state"] == "TN")
    reason = "Roster reconciled with the claims-imaging index: duplicates across policies removed."

    unaffected = await api.post(f"{base}/consumer-reconciliations", json={"state": "CA", "consumers": 10, "reason": reason})
    assert unaffected.status_code == 422, unaffected.text
    (error,) = unaffected.json()["errors"]
    assert (error["field"], error["type"]) == ("state", "state_not_affected")
    assert error["citation"]

    unchanged = await api.post(f"{base}/consumer-reconciliations", json={"state": "TN", "consumers": tn["consumers"], "reason": reason})
    assert unchanged.status_code == 422
    assert unchanged.json()["errors"][0]["field"] == "consumers"

    revised = await api.post(f"{base}/consumer-reconciliations", json={"state": "TN", "consumers": tn["consumers"] - 400, "reason": reason})
    assert revised.status_code == 200, revised.text
    (entry,) = [e for e in await _ledger(api, sample.incident_id) if e["type"] == "consumer_notice.estimate_revised"]
    assert entry["actor"] == TESTER_ACTOR
    assert (entry["data"]["estimate_before"], entry["data"]["estimate_after"]) == (tn["consumers"], tn["consumers"] - 400)
    assert entry["data"]["reason"] == reason


async def test_a_report_item_is_marked_not_applicable_with_its_reason(api: httpx.AsyncClient, sample: SampleEvent) -> None:
    await _determined(api, sample)
    base = f"/v1/incidents/{sample.incident_id}/report-items/not-applicable"
    always = await api.post(base, json={"item": "I", "reason": "We have no estimate of the consumers yet."})
    assert always.status_code == 422
    marked = await api.post(base, json={"item": "D", "reason": "Nothing was lost or stolen that could be recovered."})
    assert marked.status_code == 200, marked.text
    (entry,) = [e for e in await _ledger(api, sample.incident_id) if e["type"] == "incident.report_item_not_applicable"]
    assert (entry["actor"], entry["data"]["item"]) == (TESTER_ACTOR, "D")


# -- notices that did not reach, acknowledgements, notice text ------------------------------------------


async def test_a_return_is_refused_before_anything_was_sent_and_for_an_obligation_not_delivered_by_mail(
    api: httpx.AsyncClient, sample: SampleEvent
) -> None:
    state = await _determined(api, sample)
    base = f"/v1/incidents/{sample.incident_id}"
    by_kind = {o["obligation"]["kind"]: o["obligation"]["obligation_id"] for o in state["obligations"]}
    bounce = {"channel": "email", "recipients": ["D-TN-000001"], "reason": "550 5.1.1 mailbox unknown"}
    early = await api.post(f"{base}/obligations/{by_kind['consumer_notice']}/returned", json=bounce)
    assert early.status_code == 409, early.text
    assert early.json()["rule_id"] == "not_awaiting_confirmation"
    filing = await api.post(f"{base}/obligations/{by_kind['commissioner_notice']}/returned", json=bounce)
    assert filing.status_code == 422, filing.text
    assert filing.json()["errors"][0]["field"] == "obligation_id"
    assert "D-TN-000001" not in early.text + filing.text
    assert "incident.returned_reported" not in {e["type"] for e in await _ledger(api, sample.incident_id)}


async def test_notice_text_with_an_ssn_is_refused_before_the_event_starts(api: httpx.AsyncClient, sample: SampleEvent) -> None:
    body = sample.start_body()
    body["notices"]["content"]["what_happened"] = "A claim file (SSN 078-05-1120) was among those taken."
    response = await api.post("/v1/incidents", json=body)
    assert response.status_code == 422, response.text
    assert [e["field"] for e in response.json()["errors"]] == ["notices.content.what_happened"]
    assert "078-05-1120" not in response.text
    assert (await api.get(f"/v1/incidents/{sample.incident_id}")).status_code == 404
