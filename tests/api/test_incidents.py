"""The incident API against the real workflows: the time-skipping Temporal test server, a real
noticeflow worker (ledger on SQLite, real SMTP), the API over ASGI called with the ``tester`` API key (``key:tester``).
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
from pathlib import Path

import httpx
from sqlalchemy import create_engine, select
from temporalio.testing import WorkflowEnvironment

from activities.roster import RosterContactRow, RosterRow
from ledger.export import verify_bundle
from noticeflow.sample_event import sample_findings, sample_roster, scale_intake
from noticeflow.settings import Settings
from tests.activities.conftest import SmtpServer
from tests.api.conftest import TESTER_ACTOR, SampleEvent
from tests.api.helpers import (
    RESOLVED,
    ROSTER_CSV,
    ROSTER_JSON,
    ROSTER_PII,
    all_resolved,
    obligation_id,
    review_flagged,
    settle,
    statuses,
    wait_for_state,
)

CONSUMER_STATES = {"TN", "KY", "MO", "DE"}
COMMISSIONER_STATES = {"TN", "KY", "MO", "DE", "VA", "MI"}
#: The sample event at this fraction of its size: small enough for a roster that agrees with it.
SMALL = 0.01
#: Commissioners owed a report at that size: the domicile, and Virginia's (any resident).
SMALL_COMMISSIONER_STATES = {"TN", "VA"}


async def _started(api: httpx.AsyncClient, sample: SampleEvent) -> None:
    response = await api.post("/v1/incidents", json=sample.start_body())
    assert response.status_code == 201, response.text


async def _determined(api: httpx.AsyncClient, sample: SampleEvent) -> dict:
    await _started(api, sample)
    response = await api.post(
        f"/v1/incidents/{sample.incident_id}/determination",
        json={"is_cybersecurity_event": True, "reason": "Claim images with SSNs and health information were exfiltrated."},
    )
    assert response.status_code == 200, response.text
    state: dict = response.json()
    return state


def _roster_rows(settings: Settings, incident_id: str) -> tuple[list[str], int]:
    engine = create_engine(settings.resolved_db_url())
    try:
        with engine.connect() as conn:
            rosters = [r.roster_id for r in conn.execute(select(RosterRow.roster_id))]
            contacts = conn.execute(
                select(RosterContactRow.consumer_ref).where(RosterContactRow.roster_id.startswith(incident_id))  # type: ignore[attr-defined]
            ).all()
    finally:
        engine.dispose()
    return [r for r in rosters if r.startswith(incident_id)], len(contacts)


# -- the whole lifecycle ------------------------------------------------------------------------


async def test_event_walks_from_intake_to_closure_and_its_ledger_exports_and_verifies(
    api: httpx.AsyncClient, sample: SampleEvent, api_settings: Settings, smtp_server: SmtpServer, env: WorkflowEnvironment
) -> None:
    # The sample event at 1/100 of its size (184 Tennessee residents, …), with a roster that agrees
    # with its figures (noticeflow/sample_event.py): every consumer notice reconciles and is met.
    sample.intake = scale_intake(sample.intake, SMALL)
    incident = sample.incident_id
    base = f"/v1/incidents/{incident}"

    started = await api.post("/v1/incidents", json=sample.start_body())
    assert started.status_code == 201, started.text
    assert started.headers["location"] == base
    assert started.json()["stage"] == "investigation"
    assert started.json()["jurisdictions"] == ["DE", "KY", "MI", "MO", "OH", "TN", "VA"]

    for n, body in enumerate(sample_findings(sample.intake)):
        finding = await api.post(f"{base}/findings", json=body)
        assert finding.status_code == 200, finding.text
        assert finding.json()["findings"][n]["recorded_by"] == TESTER_ACTOR

    determined = await api.post(
        f"{base}/determination",
        json={"is_cybersecurity_event": True, "reason": "Claim images with SSNs and health information were exfiltrated."},
    )
    assert determined.status_code == 200, determined.text
    state = determined.json()
    assert state["stage"] == "notifying"
    assert state["determination"]["decided_by"] == TESTER_ACTOR
    kinds = statuses(state)
    assert {k.split(":")[1] for k in kinds if k.startswith("commissioner_notice")} == SMALL_COMMISSIONER_STATES
    assert {k.split(":")[1] for k in kinds if k.startswith("consumer_notice")} == CONSUMER_STATES

    obligations = await api.get(f"{base}/obligations")
    assert obligations.status_code == 200
    assert {o["obligation"]["obligation_id"] for o in obligations.json()} == {
        o["obligation"]["obligation_id"] for o in state["obligations"]
    }

    roster_csv = sample_roster(sample.intake)
    people = list(csv.DictReader(io.StringIO(roster_csv.decode())))
    roster = await api.post(f"{base}/roster", content=roster_csv, headers={"Content-Type": "text/csv"})
    assert roster.status_code == 201, roster.text
    summary = roster.json()
    assert summary["roster_id"] == f"{incident}-r1"
    assert summary["total"] == len(people) == sum(row["consumers"] for row in sample.intake["affected"])
    tn = next(row for row in sample.intake["affected"] if row["state"] == "TN")
    assert summary["by_state"]["TN"]["consumers"] == tn["consumers"]
    assert summary["by_state"]["TN"]["with_email"] == tn["with_email"]
    assert not [p for p in people if p["name"] in roster.text or (p["email"] and p["email"] in roster.text)]

    # Delaware's residents: counsel's review found no notice owed there; waived with the reason.
    waived = await api.post(
        f"{base}/obligations/{obligation_id(state, 'consumer_notice', 'DE')}/waive",
        json={"reason": "Counsel confirmed the Delaware records held only the encrypted policy number; no notice is owed."},
    )
    assert waived.status_code == 200, waived.text

    approved = await api.post(f"{base}/consumer-notice/approve", json={"jurisdictions": ["TN", "KY", "MO"]})
    assert approved.status_code == 200, approved.text

    state = await settle(api, env, incident)
    assert all_resolved(state), statuses(state)
    assert statuses(state)["consumer_notice:DE"] == "waived"
    assert {statuses(state)[f"consumer_notice:{s}"] for s in ("TN", "KY", "MO")} == {"met"}
    assert statuses(state)["producer_notice:MO"] == "excused"
    # At this size each state's notice is a letter (Tenn. Code Ann. § 56-2-1006(c)(1)): one to every
    # consumer of the roster, through the print vendor; none to Delaware's, whose notice was waived.
    sent = {o["obligation"]["jurisdiction"]: o["deliveries"]["sent"] for o in state["obligations"]
            if o["obligation"]["kind"] == "consumer_notice"}
    assert sent == {"TN": tn["consumers"], "KY": summary["by_state"]["KY"]["consumers"],
                    "MO": summary["by_state"]["MO"]["consumers"], "DE": 0}
    assert not [p for p in people if p["email"] and p["email"] in smtp_server.recorder.recipients()]

    premature = await api.post(f"{base}/close", json={"summary": "All notices given; vendor contract suspended."})
    assert premature.status_code == 409, premature.text  # counsel has not reviewed the flagged obligations
    state = await review_flagged(api, incident, state)
    assert state["counsel_reviews_pending"] == [] and state["report_items_missing"] == {}

    closed = await api.post(f"{base}/close", json={"summary": "All notices given; vendor contract suspended."})
    assert closed.status_code == 200, closed.text
    state = await wait_for_state(api, incident, lambda s: s["stage"] == "closed")
    assert state["stage"] == "closed"
    assert state["closed_at"] and state["retain_until"]

    after = await api.post(f"{base}/findings", json={"kind": "security_restored", "summary": "Restored.", "report_items": ["K"]})
    assert after.status_code == 409
    assert "closed" in after.json()["detail"]

    ledger = await api.get(f"{base}/ledger", params={"limit": 5000})
    assert ledger.status_code == 200
    entries = ledger.json()["entries"]
    assert ledger.json()["stream"] == f"incident:{incident}"
    assert {e["stream"] for e in entries} == {f"incident:{incident}"}
    by_type: dict[str, list[dict]] = {}
    for entry in entries:
        by_type.setdefault(entry["type"], []).append(entry)
    for step in (
        "incident.intake_recorded", "incident.finding_recorded", "incident.determined", "incident.roster_attached",
        "consumer_notice.approved", "consumer_notice.waived", "incident.counsel_review_recorded", "incident.closed",
    ):
        assert step in by_type, f"{step} missing from the ledger"
        assert {e["actor"] for e in by_type[step]} == {TESTER_ACTOR}, step
    assert by_type["incident.roster_attached"][0]["data"] == {"roster_id": f"{incident}-r1"}
    assert len(by_type["commissioner_notice.met"]) == len(SMALL_COMMISSIONER_STATES)
    text = json.dumps(entries)
    assert not [p for p in people if p["name"] in text or (p["email"] and p["email"] in text)]

    export = await api.post(f"{base}/export")
    assert export.status_code == 201, export.text
    bundle = Path(export.json()["path"])
    assert bundle.parent == api_settings.home / "exports"
    assert export.json()["entries"] == len(entries)
    report = verify_bundle(bundle)
    assert report.ok, report.to_json()
    assert report.entries_checked == len(entries)


async def test_every_met_notice_has_its_met_entry_and_no_automation_failure(
    api: httpx.AsyncClient, sample: SampleEvent, env: WorkflowEnvironment
) -> None:
    incident = sample.incident_id
    sample.intake = scale_intake(sample.intake, SMALL)
    await _determined(api, sample)
    roster = await api.post(f"/v1/incidents/{incident}/roster", content=sample_roster(sample.intake), headers={"Content-Type": "text/csv"})
    assert roster.status_code == 201, roster.text
    assert (await api.post(f"/v1/incidents/{incident}/consumer-notice/approve")).status_code == 200
    state = await settle(api, env, incident)
    assert all_resolved(state), statuses(state)
    met = {o["obligation"]["obligation_id"] for o in state["obligations"] if o["status"] == "met"}
    entries = (await api.get(f"/v1/incidents/{incident}/ledger")).json()["entries"]
    recorded_met = {e["data"]["obligation_id"] for e in entries if e["type"].endswith(".met")}
    failures = [e["data"] for e in entries if e["type"].endswith(".automation_failed")]
    assert failures == []
    assert recorded_met == met


# -- the rules the workflow enforces, as the API reports them ----------------------------------------


async def test_consumer_notice_approval_before_determination_is_refused_56_2_1006_c(
    api: httpx.AsyncClient, sample: SampleEvent
) -> None:
    await _started(api, sample)
    response = await api.post(f"/v1/incidents/{sample.incident_id}/consumer-notice/approve")
    assert response.status_code == 409
    body = response.json()
    assert body["rule_id"] == "consumer_notice_before_determination"
    assert body["citation"].startswith("Tenn. Code Ann. § 56-2-")
    assert "before the determination" in body["detail"]


async def test_closure_with_open_obligations_is_refused_and_lists_them(api: httpx.AsyncClient, sample: SampleEvent) -> None:
    state = await _determined(api, sample)
    response = await api.post(f"/v1/incidents/{sample.incident_id}/close", json={"summary": "Closing early."})
    assert response.status_code == 409
    detail = response.json()["detail"]
    assert detail.startswith("every obligation must be met or waived with a reason before closure; still open:")
    for state_code in CONSUMER_STATES:
        assert obligation_id(state, "consumer_notice", state_code) in detail


async def test_closing_an_event_still_under_investigation_is_refused(api: httpx.AsyncClient, sample: SampleEvent) -> None:
    await _started(api, sample)
    response = await api.post(f"/v1/incidents/{sample.incident_id}/close", json={"summary": "Nothing found."})
    assert response.status_code == 409
    assert "only a determined, open event can be closed (stage investigation)" in response.json()["detail"]


async def test_a_second_start_of_the_same_incident_is_a_conflict(api: httpx.AsyncClient, sample: SampleEvent) -> None:
    await _started(api, sample)
    again = await api.post("/v1/incidents", json=sample.start_body())
    assert again.status_code == 409
    assert f"incident {sample.incident_id!r} already exists" in again.json()["detail"]


async def test_a_determination_is_made_once(api: httpx.AsyncClient, sample: SampleEvent) -> None:
    await _determined(api, sample)
    again = await api.post(
        f"/v1/incidents/{sample.incident_id}/determination", json={"is_cybersecurity_event": True, "reason": "Again."}
    )
    assert again.status_code == 409
    assert "already determined" in again.json()["detail"]


async def test_not_an_event_ends_the_workflow_and_refuses_later_steps_375_1402_3_a(
    api: httpx.AsyncClient, sample: SampleEvent
) -> None:
    sample.intake["key_compromised"] = False
    await _started(api, sample)
    decided = await api.post(
        f"/v1/incidents/{sample.incident_id}/determination",
        json={
            "is_cybersecurity_event": False,
            "reason": "The files were AES-256 encrypted and the key stayed in the vendor's HSM.",
            "exclusion": "encrypted_key_not_compromised",
        },
    )
    assert decided.status_code == 200, decided.text
    assert decided.json()["stage"] == "not_an_event"
    await wait_for_state(api, sample.incident_id, lambda s: s["stage"] == "not_an_event")
    later = await api.post(f"/v1/incidents/{sample.incident_id}/findings", json={"kind": "nature_and_scope", "summary": "More.", "report_items": ["A"]})
    assert later.status_code == 409
    # The stage is read from the result the ended workflow returned (no worker replays it for a query).
    assert f"incident {sample.incident_id!r} is not_an_event: its workflow has ended" in later.json()["detail"]
    roster = await api.post(f"/v1/incidents/{sample.incident_id}/roster", content=ROSTER_CSV, headers={"Content-Type": "text/csv"})
    assert roster.status_code == 409


async def test_exclusion_that_contradicts_the_intake_is_refused_with_the_rule(api: httpx.AsyncClient, sample: SampleEvent) -> None:
    await _started(api, sample)
    response = await api.post(
        f"/v1/incidents/{sample.incident_id}/determination",
        json={"is_cybersecurity_event": False, "reason": "Encrypted.", "exclusion": "encrypted_key_not_compromised"},
    )
    assert response.status_code == 422
    body = response.json()
    assert [(e["field"], e["type"]) for e in body["errors"]] == [("is_cybersecurity_event", "determination_contradicts_facts")]
    # The sample licensee is domiciled in Tennessee: its own law's definition, never Missouri's.
    assert "Tenn. Code Ann. § 56-2-1003" in body["detail"] and "RSMo" not in body["detail"]


async def test_amendment_is_a_material_update_and_a_delay_needs_its_basis_56_2_1006_b_2(
    api: httpx.AsyncClient, sample: SampleEvent
) -> None:
    await _determined(api, sample)
    base = f"/v1/incidents/{sample.incident_id}"
    no_basis = await api.post(
        f"{base}/amendments",
        json={"summary": "FBI asked us to delay.", "law_enforcement_delay_until": sample.now.isoformat()},
    )
    assert no_basis.status_code == 422
    assert "law_enforcement_basis is required" in no_basis.json()["detail"]

    affected = [dict(row) for row in sample.intake["affected"]]
    affected[0]["consumers"] = 19_250
    amended = await api.post(f"{base}/amendments", json={"summary": "Vendor found 850 more TN files.", "affected": affected})
    assert amended.status_code == 200, amended.text
    assert amended.json()["amendments"] == 1
    entries = (await api.get(f"{base}/ledger")).json()["entries"]
    (entry,) = [e for e in entries if e["type"] == "incident.amended"]
    assert entry["actor"] == TESTER_ACTOR
    assert entry["citation"] == "Tenn. Code Ann. § 56-2-1006(b)(2)"


async def test_waiving_an_unknown_or_resolved_obligation_is_refused(api: httpx.AsyncClient, sample: SampleEvent) -> None:
    state = await _determined(api, sample)
    base = f"/v1/incidents/{sample.incident_id}"
    unknown = await api.post(f"{base}/obligations/no-such-obligation/waive", json={"reason": "Does not apply to us."})
    assert unknown.status_code == 422
    assert [(e["field"], e["type"]) for e in unknown.json()["errors"]] == [("obligation_id", "unknown_obligation")]
    assert unknown.json()["detail"] == "obligation_id: no obligation 'no-such-obligation' in this event"

    excused = obligation_id(state, "producer_notice", "MO")
    state = await wait_for_state(api, sample.incident_id, lambda s: statuses(s)["producer_notice:MO"] == "excused")
    again = await api.post(f"{base}/obligations/{excused}/waive", json={"reason": "Does not apply to us."})
    assert again.status_code == 409
    assert again.json()["detail"] == f"obligation {excused} is already excused"


async def test_manual_completion_meets_an_obligation_with_its_evidence(api: httpx.AsyncClient, sample: SampleEvent) -> None:
    state = await _determined(api, sample)
    target = obligation_id(state, "consumer_notice", "DE")
    response = await api.post(
        f"/v1/incidents/{sample.incident_id}/obligations/{target}/complete",
        json={"evidence": "Letter mailed by the licensee's print vendor, batch 2025-118; proof of mailing on file."},
    )
    assert response.status_code == 200, response.text
    state = await wait_for_state(api, sample.incident_id, lambda s: statuses(s)["consumer_notice:DE"] in RESOLVED)
    assert statuses(state)["consumer_notice:DE"] == "met"
    entries = (await api.get(f"/v1/incidents/{sample.incident_id}/ledger")).json()["entries"]
    (met,) = [e for e in entries if e["type"] == "consumer_notice.met"]
    assert met["actor"] == TESTER_ACTOR
    assert met["data"]["manual"] is True


# -- bad input -----------------------------------------------------------------------------------


async def test_intake_that_does_not_validate_names_each_field(api: httpx.AsyncClient, sample: SampleEvent) -> None:
    intake = dict(sample.intake)
    intake["discovered_at"] = "2025-11-24T08:10:00"  # no offset
    intake["affected"] = [dict(sample.intake["affected"][0], with_email=99_999)]
    response = await api.post("/v1/incidents", json=sample.start_body(intake=intake))
    assert response.status_code == 422
    body = response.json()
    fields = {e["field"] for e in body["errors"]}
    assert "intake.discovered_at" in fields
    assert "intake.affected[0]" in fields
    assert "with_email (99999) cannot exceed consumers (18400) for TN" in body["detail"]
    assert body["detail"].startswith("intake.")
    # Nothing was started.
    assert (await api.get(f"/v1/incidents/{sample.incident_id}")).status_code == 404


async def test_tpsp_event_without_its_clock_start_is_refused_naming_the_rule(api: httpx.AsyncClient, sample: SampleEvent) -> None:
    sample.intake["tpsp_notified_at"] = None
    response = await api.post("/v1/incidents", json=sample.start_body())
    assert response.status_code == 422
    assert "tpsp_notified_at or actual_knowledge_at is required" in response.json()["detail"]
    assert "§ 56-2-1006(d)(2)" in response.json()["detail"]


async def test_an_incident_id_that_cannot_be_part_of_a_url_is_refused(api: httpx.AsyncClient, sample: SampleEvent) -> None:
    sample.intake["incident_id"] = "INC 2025/0417"
    response = await api.post("/v1/incidents", json=sample.start_body())
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "intake.incident_id"


async def test_unknown_incident_is_404_for_every_route(api: httpx.AsyncClient) -> None:
    for method, path, body in (
        ("GET", "/v1/incidents/INC-NONE", None),
        ("GET", "/v1/incidents/INC-NONE/obligations", None),
        ("POST", "/v1/incidents/INC-NONE/findings", {"kind": "nature_and_scope", "summary": "x", "report_items": ["A"]}),
        ("POST", "/v1/incidents/INC-NONE/close", {"summary": "x"}),
        ("GET", "/v1/incidents/INC-NONE/ledger", None),
        ("POST", "/v1/incidents/INC-NONE/export", None),
    ):
        response = await api.request(method, path, json=body)
        assert response.status_code == 404, (path, response.text)
        assert response.json()["detail"] == "no incident 'INC-NONE': start it with POST /v1/incidents"
    roster = await api.post("/v1/incidents/INC-NONE/roster", content=ROSTER_CSV, headers={"Content-Type": "text/csv"})
    assert roster.status_code == 404


# -- the consumer roster ------------------------------------------------------------------------------


async def test_roster_with_an_invalid_row_stores_nothing_and_names_row_and_field_not_the_value(
    api: httpx.AsyncClient, sample: SampleEvent, api_settings: Settings
) -> None:
    await _determined(api, sample)
    bad = ROSTER_CSV.replace("morgan.hayes@mail.example", "morgan.hayes-at-mail")
    response = await api.post(f"/v1/incidents/{sample.incident_id}/roster", content=bad, headers={"Content-Type": "text/csv"})
    assert response.status_code == 422
    assert response.json()["detail"].startswith("roster row 4: email:")
    assert "morgan" not in response.text
    assert _roster_rows(api_settings, sample.incident_id) == ([], 0)
    entries = (await api.get(f"/v1/incidents/{sample.incident_id}/ledger")).json()["entries"]
    assert "incident.roster_attached" not in {e["type"] for e in entries}

    good = await api.post(f"/v1/incidents/{sample.incident_id}/roster", json=ROSTER_JSON)
    assert good.status_code == 201, good.text
    assert good.json()["roster_id"] == f"{sample.incident_id}-r1"
    assert good.json()["total"] == 2
    assert not [pii for pii in ROSTER_PII if pii in good.text]


async def test_each_roster_upload_gets_the_next_roster_id(api: httpx.AsyncClient, sample: SampleEvent) -> None:
    await _started(api, sample)
    first = await api.post(f"/v1/incidents/{sample.incident_id}/roster", json=ROSTER_JSON)
    second = await api.post(f"/v1/incidents/{sample.incident_id}/roster", content=ROSTER_CSV, headers={"Content-Type": "text/csv"})
    assert (first.status_code, second.status_code) == (201, 201)
    assert [first.json()["roster_id"], second.json()["roster_id"]] == [f"{sample.incident_id}-r1", f"{sample.incident_id}-r2"]
    entries = (await api.get(f"/v1/incidents/{sample.incident_id}/ledger")).json()["entries"]
    assert [e["data"]["roster_id"] for e in entries if e["type"] == "incident.roster_attached"] == [
        f"{sample.incident_id}-r1", f"{sample.incident_id}-r2",
    ]


async def test_roster_in_another_format_or_empty_is_refused(api: httpx.AsyncClient, sample: SampleEvent) -> None:
    await _started(api, sample)
    base = f"/v1/incidents/{sample.incident_id}/roster"
    xml = await api.post(base, content="<consumers/>", headers={"Content-Type": "application/xml"})
    assert xml.status_code == 415
    empty = await api.post(base, json=[])
    assert empty.status_code == 422
    assert "empty" in empty.json()["detail"]
    not_a_list = await api.post(base, json={"consumer_id": "C1"})
    assert not_a_list.status_code == 422


async def test_ledger_pages_follow_seq_order(api: httpx.AsyncClient, sample: SampleEvent) -> None:
    await _determined(api, sample)
    base = f"/v1/incidents/{sample.incident_id}/ledger"
    # The determination answers once its obligation workflows are started; their first entries
    # follow within moments. Wait for more than one page's worth.
    for _ in range(200):
        everything = (await api.get(base)).json()["entries"]
        if len(everything) > 3:
            break
        await asyncio.sleep(0.05)
    assert len(everything) > 3
    pages, after = [], 0
    while True:
        page = (await api.get(base, params={"after": after, "limit": 2})).json()
        pages.append(page["entries"])
        if page["next_after"] is None:
            break
        after = page["next_after"]
    assert all(len(p) <= 2 for p in pages)
    seqs = [e["seq"] for p in pages for e in p]
    assert seqs == sorted(seqs)
    assert set(seqs) <= {e["seq"] for e in (await api.get(base, params={"limit": 5000})).json()["entries"]}
    assert seqs[: len(everything)] == [e["seq"] for e in everything]
    too_many = await api.get(base, params={"limit": 5001})
    assert too_many.status_code == 422
    assert too_many.json()["errors"][0]["field"] == "query.limit"
