"""The privacy side of the API (issue 11): policy versions published (28 TAC § 22.10), consumers
and relationships registered in bulk with their notice history (§ 22.14(b)), returned mail
(§ 22.13(a)), opt-out revocations (§ 22.2(22)), health authorizations and their revocations
(§§ 22.53–22.56), revised-notice runs started, followed and marked (§ 22.12), and a state's
privacy bundle — on the real app over ASGI, the time-skipping Temporal server and a real worker,
ledger and SQLite store."""

from __future__ import annotations

import csv
import io
import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from api.access import Role
from api.app import create_app
from ledger.bundle_verify import verify_bundle
from ledger.npi import npi_digest
from ledger.store import EntryFilter
from models.revised_notice import revised_stream
from rules.calendar import state_zone
from tests.api.conftest import bearer, issue_key
from tests.privacy.builders import policy_record
from tests.privacy.conftest import Privacy, eventually
from tests.workflows.conftest import NPI_KEY

ACTOR = "key:p.ortiz"
COLUMNS = ["relationship_id", "consumer_id", "name", "email", "address_line1", "city", "region", "postal_code",
           "e_delivery_consent", "transacts_electronically", "relationship", "policy_version", "initial_notice_given_at"]
QUESTION = {
    "npi_category": "application information",
    "purpose": "direct_mail_marketing",
    "recipient": {"name": "Pecos Premium Finance", "kind": "nonaffiliated_third_party", "category": "financial service providers"},
}


def ref(consumer_id: str) -> str:
    return npi_digest(consumer_id, NPI_KEY.encode())


def person(rid: str, cid: str, given: str = "", **extra: Any) -> dict[str, Any]:
    n = sum(map(ord, cid)) % 900
    return {"relationship_id": rid, "consumer_id": cid, "name": f"Marisol Trevino {cid}", "email": f"marisol.{cid.lower()}@mail.example",
            "address_line1": f"{100 + n} Guadalupe St", "city": "Austin", "region": "TX", "postal_code": "78701",
            "e_delivery_consent": "false", "transacts_electronically": "false", "relationship": "customer",
            "policy_version": "v1", "initial_notice_given_at": given, **extra}


def to_csv(rows: list[dict[str, Any]], columns: list[str] = COLUMNS) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({c: row.get(c, "") for c in columns})
    return out.getvalue().encode()


def day(days_ago: int) -> str:
    return (datetime.now(state_zone("TX")) - timedelta(days=days_ago)).date().isoformat()


async def publish(api: httpx.AsyncClient, version: str = "v1", **params: str) -> httpx.Response:
    return await api.post("/v1/privacy/policies", json=policy_record(version).model_dump(mode="json"), params=params)


async def upload(api: httpx.AsyncClient, rows: list[dict[str, Any]], **params: str) -> httpx.Response:
    return await api.post("/v1/privacy/relationships", content=to_csv(rows), headers={"Content-Type": "text/csv"}, params=params)


async def ask(api: httpx.AsyncClient, rid: str, request_id: str, **extra: Any) -> dict[str, Any]:
    answer = await api.post(f"/v1/privacy/relationships/{rid}/disclosure-decisions", json={**QUESTION, "request_id": request_id, **extra})
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def entries(privacy: Privacy, stream: str) -> list[Any]:
    return list(privacy.stack.ledger.entries(EntryFilter(stream=stream)))


# -- policy versions -------------------------------------------------------------------------------------


async def test_a_policy_version_is_published_once_checked_against_22_10_and_ledgered_in_the_callers_name(
    privacy: Privacy, api: httpx.AsyncClient
) -> None:
    first = await publish(api)
    assert first.status_code == 201, first.text
    body = first.json()
    assert body["created"] is True and body["version_id"] == "v1" and body["diff"] is None
    (entry,) = entries(privacy, "privacy_policy:v1")
    assert (entry.type, entry.actor, entry.citation, entry.seq) == ("privacy_policy.published", ACTOR, "28 TAC § 22.10", body["ledger_seq"])
    assert entry.data["sha256"] == body["sha256"]
    assert {d["recipient_category"] for d in entry.data["disclosures"]} == {"financial service providers", "auto insurers", "marketing vendors"}

    again = await publish(api)
    assert again.status_code == 200 and again.json()["created"] is False and again.json()["ledger_seq"] == body["ledger_seq"]
    assert len(entries(privacy, "privacy_policy:v1")) == 1

    changed = policy_record("v1").model_dump(mode="json")
    changed["policy"]["effective_on"] = "2024-02-01"
    reused = await api.post("/v1/privacy/policies", json=changed)
    assert reused.status_code == 409 and reused.json()["rule_id"] == "policy_version_reused"
    assert privacy.store.get_policy("v1").policy.effective_on.isoformat() == "2024-01-01"

    # A notice that fails § 22.10(b) is refused before anything is recorded: each item named.
    lacking = policy_record("v2").model_dump(mode="json")
    lacking["policy"]["version_id"] = lacking["notice"]["policy_version"] = "v2-bad"
    lacking["notice"]["opt_out"] = None
    refused = await api.post("/v1/privacy/policies", json=lacking)
    assert refused.status_code == 422
    errors = refused.json()["errors"]
    assert errors and {e["field"] for e in errors} == {"notice"} and any("§ 22.10(b)(6)" in e["message"] for e in errors)
    assert entries(privacy, "privacy_policy:v2-bad") == []

    # compare_to: the diff a revised-notice run would make (§ 22.12(b)).
    second = await publish(api, "v2", compare_to="v1")
    assert second.status_code == 201
    diff = second.json()["diff"]
    assert diff["revised_notice_required"] is True
    assert {c["kind"] for c in diff["changes"]} == {"new_npi_category", "former_customers_newly_disclosed"}
    unknown = await api.post("/v1/privacy/policies", json=policy_record("v1").model_dump(mode="json"), params={"compare_to": "v0"})
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "query.compare_to"

    got = await api.get("/v1/privacy/policies/v2")
    assert got.status_code == 200 and got.json()["policy"]["version_id"] == "v2"
    assert (await api.get("/v1/privacy/policies/v9")).status_code == 404


# -- relationships, in bulk ------------------------------------------------------------------------------


async def test_bulk_registration_takes_over_the_notice_history_and_the_gate_answers_from_it_22_14_b_1(
    privacy: Privacy, api: httpx.AsyncClient
) -> None:
    assert (await publish(api)).status_code == 201
    rows = [
        person("REL-31", "C-31", day(31)),
        person("REL-10", "C-10", day(10)),
        person("REL-J", "C-J1", day(10)),
        person("REL-J", "C-J2", day(10), email=""),
        person("REL-NEW", "C-NEW"),
    ]
    answer = await upload(api, rows)
    assert answer.status_code == 201, answer.text
    assert answer.json() == {
        "relationships": 4, "consumers": 5, "joint": 1, "registered": 4, "already_registered": 0, "with_initial_notice": 3,
        "by_jurisdiction": {"TX": 4}, "lifecycles": "start", "lifecycles_started": 4, "lifecycles_running": 0, "ledger_entries": 4,
    }
    await privacy.wait_for("REL-31", "opt_out.window_closed")
    await privacy.wait_for("REL-10", "opt_out.window_opened")
    await privacy.wait_for("REL-J", "opt_out.window_opened")
    await privacy.wait_for("REL-NEW", "opt_out.window_opened")
    # Started behind a responder's steps (workflows/priorities.py).
    first = (await privacy.stack.client.get_workflow_handle("privacy-relationship-REL-NEW").fetch_history()).events[0]
    assert first.workflow_execution_started_event_attributes.priority.priority_key == 4

    registered, *_ = entries(privacy, "privacy:REL-J")
    assert (registered.type, registered.actor) == ("privacy_relationship.registered", ACTOR)
    assert registered.data["consumers"] == [ref("C-J1"), ref("C-J2")] and registered.data["joint"] is True
    assert registered.data["initial_notice"]["given_at"].startswith(day(10)) and registered.data["initial_notice"]["channel"] == "mail"
    types = privacy.types("REL-31")
    assert types[:4] == ["privacy_relationship.registered", "privacy_relationship.opened", "initial_notice.imported", "opt_out.window_opened"]
    assert "opt_out.window_closed" in types and "initial_notice.sent" not in types  # taken over, not sent again
    imported = next(e for e in entries(privacy, "privacy:REL-31") if e.type == "initial_notice.imported")
    assert imported.actor == ACTOR and imported.citation == "28 TAC § 22.8(a); 28 TAC § 22.13"
    assert "initial_notice.sent" in privacy.types("REL-NEW")  # no history: the lifecycle gives the notice now

    after = await ask(api, "REL-31", "Q-31")
    assert after["allowed"] is True and after["rule_id"] == "tx.opt_out.reasonable_opportunity.mail"
    inside = await ask(api, "REL-10", "Q-10")
    assert inside["allowed"] is False and inside["citation"] == "28 TAC § 22.14(a); 28 TAC § 22.14(b)(1)"
    opens = datetime.fromisoformat(inside["first_allowed_at"]).astimezone(state_zone("TX"))
    assert opens.date() == (datetime.now(state_zone("TX")) + timedelta(days=21)).date() and opens.hour == 0
    state = (await api.get("/v1/privacy/relationships/REL-10")).json()
    assert state["initial_notice_on"] == day(10) and [d["status"] for d in state["deliveries"]] == ["sent"]
    assert privacy.store.get_relationship("REL-10").workflow_id == "privacy-relationship-REL-10"

    # Sealed before the first write: no name, e-mail or address in the database file, nor in the ledger.
    raw = (privacy.stack.settings.db_url or "").removeprefix("sqlite:///")
    data = b"".join(Path(path).read_bytes() for path in (raw, raw + "-wal") if os.path.exists(path))
    for row in rows:
        for column in ("name", "email", "address_line1", "consumer_id"):
            if row[column]:
                assert row[column].encode() not in data, f"{column} of {row['relationship_id']} is in the database in the clear"
    for rid in ("REL-31", "REL-10", "REL-J", "REL-NEW"):
        privacy.assert_no_npi(rid, list(privacy.store.consumer_contacts([ref(r["consumer_id"]) for r in rows]).values()))

    await privacy.save_history("privacy_imported_notice", privacy.stack.client.get_workflow_handle("privacy-relationship-REL-31"))

    # The same upload again records, stores and starts nothing twice.
    repeat = (await upload(api, rows)).json()
    assert (repeat["registered"], repeat["already_registered"], repeat["lifecycles_started"], repeat["lifecycles_running"],
            repeat["ledger_entries"]) == (0, 4, 0, 4, 0)
    # Other facts for a registered relationship: refused, nothing changed.
    size = privacy.stack.ledger.size()
    conflict = await upload(api, [person("REL-10", "C-10", day(12))])
    assert conflict.status_code == 409 and conflict.json()["rule_id"] == "ledger_step_conflict"
    assert "REL-10" in conflict.json()["detail"] and privacy.stack.ledger.size() == size
    privacy.stack.verify()


async def test_registration_refusals_name_the_row_and_column_never_the_value_and_leave_nothing_behind(
    privacy: Privacy, api: httpx.AsyncClient
) -> None:
    assert (await publish(api)).status_code == 201
    good = person("REL-OK", "C-OK", day(3))

    async def refused(body: bytes, status: int = 422, content_type: str = "text/csv", **params: str) -> dict[str, Any]:
        answer = await api.post("/v1/privacy/relationships", content=body, headers={"Content-Type": content_type}, params=params)
        assert answer.status_code == status, answer.text
        return dict(answer.json())

    unknown = await refused(to_csv([good], [*COLUMNS, "ssn"]))
    assert [(e["field"], e["type"]) for e in unknown["errors"]] == [("columns.ssn", "unknown_column")]
    missing = await refused(to_csv([good], [c for c in COLUMNS if c != "policy_version"]))
    assert [(e["field"], e["type"]) for e in missing["errors"]] == [("columns.policy_version", "missing_column")]
    latin1 = await refused(to_csv([{**good, "name": "Renée Peña"}]).decode().encode("latin-1"))
    assert latin1["errors"][0]["field"] == "body" and latin1["errors"][0]["type"] == "encoding"
    assert (await refused(b"relationship_id\n", 415, "text/plain"))["detail"].startswith("relationships are uploaded as")
    assert (await refused(b"[]", content_type="application/json"))["errors"][0]["type"] == "upload_empty"

    bad_email = {**person("REL-B", "C-B"), "email": "marisol.at.mail.example"}
    bad = await refused(to_csv([good, bad_email, {**person("REL-C", "C-C"), "relationship": "prospect"}]))
    assert [(e["field"], e["type"]) for e in bad["errors"]] == [("rows[2].email", "value_error"), ("rows[3].relationship", "literal_error")]
    assert "marisol.at.mail.example" not in json.dumps(bad)

    later = await refused(to_csv([
        {**person("REL-F", "C-F"), "initial_notice_given_at": (datetime.now(UTC) + timedelta(days=3)).date().isoformat()},
        person("REL-V", "C-V", policy_version="v7"),
        person("REL-J", "C-J1", day(10)), person("REL-J", "C-J2", day(11)),
        person("REL-D", "C-D1"), {**person("REL-E", "C-D1"), "name": "Someone Else"},
        person("REL-123-45-6789", "C-S"),
        {**person("REL-M", "C-M", day(5)), "initial_notice_channel": "email"},
    ], [*COLUMNS, "initial_notice_channel"]))
    assert [(e["field"], e["type"]) for e in later["errors"]] == [
        ("rows[1].initial_notice_given_at", "time_in_future"),
        ("rows[2].policy_version", "policy_version_unknown"),
        ("rows[4].initial_notice_given_at", "joint_relationship_differs"),
        ("rows[6].consumer_id", "consumer_conflict"),
        ("rows[7].relationship_id", "npi_in_free_text"),
        ("rows[8].initial_notice_channel", "notice_gives_no_actual_notice"),  # e-mail without consent, § 22.13(c)(2)
    ]
    json_rows = await refused(json.dumps([{**good, "relationship_id": "REL one"}]).encode(), content_type="application/json")
    assert json_rows["errors"][0]["field"] == "rows[1].relationship_id"

    # Past the roster limits: 413 before anything is parsed or stored.
    small = privacy.stack.settings.model_copy(update={"task_queue": privacy.stack.task_queue, "roster_max_rows": 2})
    app = create_app(small, client=privacy.stack.client)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1",
                                 headers=dict(api.headers)) as limited:
        too_many = await limited.post("/v1/privacy/relationships", content=to_csv([good, good, good]), headers={"Content-Type": "text/csv"})
        assert too_many.status_code == 413 and "NOTICEFLOW_ROSTER_MAX_ROWS" in too_many.json()["detail"]

    # Every refusal left nothing behind: no entry, no consumer, no relationship, no workflow.
    assert [e for e in privacy.stack.ledger.entries() if e.type == "privacy_relationship.registered"] == []
    assert privacy.store.relationships_page() == [] and privacy.store.consumer_flags([ref("C-OK"), ref("C-B")]) == {}

    # lifecycles=none: registered in the store only; a later upload starts the lifecycle. Sent again
    # under its Idempotency-Key, the upload is answered with the first answer, and nothing is redone.
    keyed = {"Content-Type": "text/csv", "Idempotency-Key": "back-file-2026-11-part-1"}
    first = await api.post("/v1/privacy/relationships", content=to_csv([good]), headers=keyed, params={"lifecycles": "none"})
    stored = first.json()
    assert (stored["registered"], stored["lifecycles_started"], stored["ledger_entries"]) == (1, 0, 1)
    size = privacy.stack.ledger.size()
    retried = await api.post("/v1/privacy/relationships", content=to_csv([good]), headers=keyed, params={"lifecycles": "none"})
    assert retried.status_code == 201 and retried.json() == stored and retried.headers["Idempotency-Replayed"] == "true"
    assert privacy.stack.ledger.size() == size
    assert (await api.get("/v1/privacy/relationships/REL-OK")).status_code == 404
    assert privacy.store.get_relationship("REL-OK").stage.value == "customer"
    started = (await upload(api, [good])).json()
    assert (started["registered"], started["lifecycles_started"], started["ledger_entries"]) == (0, 1, 0)
    await privacy.wait_for("REL-OK", "opt_out.window_opened")


# -- steps on a relationship -----------------------------------------------------------------------------


async def test_returned_mail_opt_out_revocations_and_health_authorizations_are_steps_of_the_lifecycle(
    privacy: Privacy, api: httpx.AsyncClient
) -> None:
    assert (await publish(api)).status_code == 201
    assert (await upload(api, [person("REL-S", "C-S1", day(10)), person("REL-S2", "C-S2", day(10))])).status_code == 201
    await privacy.wait_for("REL-S", "opt_out.window_opened")
    await privacy.wait_for("REL-S2", "opt_out.window_opened")
    base = "/v1/privacy/relationships/REL-S"

    # Returned mail (§ 22.13(a)): the notice gave no notice; its window opens nothing.
    other = await api.post(f"{base}/returned-mail", json={"notice_id": "initial-v1", "returned_on": day(2), "recorded_by": "j.doe"})
    assert other.status_code == 403 and "recorded_by" in other.json()["detail"]
    unknown = await api.post(f"{base}/returned-mail", json={"notice_id": "annual-2024", "returned_on": day(2)})
    assert unknown.status_code == 422 and [(e["field"], e["type"]) for e in unknown.json()["errors"]] == [("notice_id", "notice_unknown")]
    returned = await api.post(f"{base}/returned-mail", json={"notice_id": "initial-v1", "returned_on": day(2)})
    assert returned.status_code == 200, returned.text
    assert [d["status"] for d in returned.json()["deliveries"]] == ["returned"]
    again = await api.post(f"{base}/returned-mail", json={"notice_id": "initial-v1", "returned_on": day(2)})
    assert again.status_code == 409 and again.json()["rule_id"] == "notice_already_returned"
    entry = next(e for e in entries(privacy, "privacy:REL-S") if e.type == "privacy_notice.returned")
    assert entry.actor == ACTOR and entry.citation == "28 TAC § 22.13(a); 28 TAC § 22.9(b)(3)"

    # An opt-out and its revocation (written: ends it; oral: refused).
    base2 = "/v1/privacy/relationships/REL-S2"
    opted = await api.post(f"{base2}/opt-outs", json={"election_id": "E-S2", "consumer_ref": ref("C-S2"), "received_by": "p.ortiz"})
    assert opted.status_code == 200 and opted.json()["opt_out_in_effect"] is True
    oral = await api.post(f"{base2}/opt-out-revocations", json={"election_id": "E-S2", "form": "oral"})
    assert oral.status_code == 422 and oral.json()["errors"][0]["type"] == "oral_revocation_not_accepted"
    assert oral.json()["errors"][0]["citation"] == "28 TAC § 22.2(22); § 22.14(a)(4)"
    nothing = await api.post(f"{base2}/opt-out-revocations", json={"election_id": "E-NONE", "form": "written"})
    assert nothing.status_code == 422 and nothing.json()["errors"][0]["field"] == "election_id"
    revoked = await api.post(f"{base2}/opt-out-revocations", json={"election_id": "E-S2", "form": "written"})
    assert revoked.status_code == 200 and revoked.json()["opt_out_in_effect"] is False
    assert next(e for e in entries(privacy, "privacy:REL-S2") if e.type == "opt_out.revoked").actor == ACTOR

    # Health information: refused without a written authorization, allowed under one, refused once revoked.
    health = {"information_type": "health", "npi_category": "medical records",
              "recipient": {"name": "Lone Star Reinsurance", "kind": "nonaffiliated_third_party", "category": "reinsurers"},
              "purpose": "other"}
    before = await ask(api, "REL-S2", "H-1", **health)
    assert before["allowed"] is False and before["rule_id"] == "tx.health.authorization"
    assert "health.no_authorization" in {r["code"] for r in before["reasons"]}
    now = datetime.now(UTC)
    authorization = {"authorization_id": "HA-1", "consumer_ref": ref("C-S2"), "signed_at": (now - timedelta(days=1)).isoformat(),
                     "information_types": ["medical records"], "recipients": ["Lone Star Reinsurance"], "purpose": "reinsurance of the life policy"}
    refusals = {
        "valid_until": ({**authorization, "valid_until": (now - timedelta(days=2)).isoformat()}, "valid_until_before_signature"),
        "consumer_ref": ({**authorization, "consumer_ref": ref("C-S1")}, "consumer_not_in_relationship"),
        "purpose": ({**authorization, "purpose": "call 512-555-0142 first"}, "npi_in_free_text"),
        "signed_at": ({**authorization, "signed_at": (now + timedelta(days=2)).isoformat()}, "time_in_future"),
    }
    for field_, (body, rule) in refusals.items():
        answer = await api.post(f"{base2}/health-authorizations", json=body)
        assert answer.status_code == 422, (field_, answer.text)
        assert [(e["field"], e["type"]) for e in answer.json()["errors"]] == [(field_, rule)]
    recorded = await api.post(f"{base2}/health-authorizations", json=authorization)
    assert recorded.status_code == 200, recorded.text
    assert [h["authorization"]["authorization_id"] for h in recorded.json()["health_authorizations"]] == ["HA-1"]
    twice = await api.post(f"{base2}/health-authorizations", json=authorization)
    assert twice.status_code == 409 and twice.json()["rule_id"] == "health_authorization_already_recorded"
    allowed = await ask(api, "REL-S2", "H-2", **health)
    assert allowed["allowed"] is True and allowed["rule_id"] == "tx.health.authorization" and allowed["needs_counsel_review"] is True
    other_recipient = await ask(api, "REL-S2", "H-3", **{**health, "recipient": {**health["recipient"], "name": "Pecos Life"}})
    assert other_recipient["allowed"] is False
    unknown_revocation = await api.post(f"{base2}/health-authorization-revocations", json={"authorization_id": "HA-9"})
    assert unknown_revocation.status_code == 422 and unknown_revocation.json()["errors"][0]["type"] == "health_authorization_unknown"
    withdrawn = await api.post(f"{base2}/health-authorization-revocations", json={"authorization_id": "HA-1", "in_writing_signed": False})
    assert withdrawn.status_code == 200, withdrawn.text
    after = await ask(api, "REL-S2", "H-4", **health)
    assert after["allowed"] is False and "health.revoked" in {r["code"] for r in after["reasons"]}
    by_type = {e.type: e for e in entries(privacy, "privacy:REL-S2")}
    assert by_type["health_authorization.recorded"].citation == "28 TAC §§ 22.53, 22.55(c); 28 TAC § 22.54(2)"
    assert by_type["health_authorization.recorded"].data["recipients"] == ["Lone Star Reinsurance"]
    assert by_type["health_authorization.revoked"].citation == "28 TAC § 22.56(a), (e)"
    assert by_type["health_authorization.revoked"].data["revocation_effective_by"] is not None
    assert {by_type[t].actor for t in ("health_authorization.recorded", "health_authorization.revoked")} == {ACTOR}
    await privacy.save_history("privacy_health_authorization", privacy.stack.client.get_workflow_handle("privacy-relationship-REL-S2"))
    missing = await api.post("/v1/privacy/relationships/REL-NONE/health-authorizations", json=authorization)
    assert missing.status_code == 404 and "REL-NONE" in missing.json()["detail"]
    privacy.stack.verify()


# -- revised notices, and a state's bundle ---------------------------------------------------------------


async def test_a_revised_notice_run_is_started_followed_marked_and_exported_through_the_api_22_12(
    privacy: Privacy, api: httpx.AsyncClient
) -> None:
    assert (await publish(api)).status_code == 201
    back_file = [person(f"REL-B{i}", f"C-B{i}", day(40)) for i in range(5)]
    assert (await upload(api, back_file, lifecycles="none")).status_code == 201
    assert (await upload(api, [person("REL-L", "C-L", day(31))])).status_code == 201
    await privacy.wait_for("REL-L", "opt_out.window_closed")

    refusals = {
        "same": ({"old_version": "v1", "new_version": "v1"}, "new_version", "same_version"),
        "unpublished": ({"old_version": "v1", "new_version": "v2"}, "new_version", "policy_version_unknown"),
    }
    for name, (body, field_, rule) in refusals.items():
        answer = await api.post("/v1/privacy/revised-notices", json=body)
        assert answer.status_code == 422, (name, answer.text)
        assert [(e["field"], e["type"]) for e in answer.json()["errors"]] == [(field_, rule)]
    assert (await api.get("/v1/privacy/revised-notices/v1/v2")).status_code == 404
    assert (await publish(api, "v2", compare_to="v1")).status_code == 201

    started = await api.post("/v1/privacy/revised-notices",
                             json={"old_version": "v1", "new_version": "v2", "batch_size": 2, "batches_per_child": 1})
    assert started.status_code == 201, started.text
    assert started.json()["workflow_id"] == "revised-notice-v1-v2"
    twice = await api.post("/v1/privacy/revised-notices", json={"old_version": "v1", "new_version": "v2"})
    assert twice.status_code == 409 and twice.json()["rule_id"] == "revised_notice_already_started"

    async def delivered() -> dict[str, Any] | None:
        state = (await api.get("/v1/privacy/revised-notices/v1/v2")).json()
        return state if state["phase"] == "waiting_for_windows" else None

    delivered.__name__ = "revised notices delivered"
    progress = await eventually(delivered, timeout=60)
    assert progress["counts"]["targeted"] == progress["counts"]["sent"] == 6 and progress["pending"] == 0
    assert progress["revised_notice_required"] is True and progress["children"] >= 3
    started_entry = entries(privacy, revised_stream("v1", "v2"))[0]
    assert (started_entry.type, started_entry.actor) == ("revised_notice.started", ACTOR)

    # The lifecycle of REL-L took the revised notice over: the new category waits for its window.
    await privacy.wait_for("REL-L", "revised_notice.handed_over")
    new_category = await ask(api, "REL-L", "Q-new", npi_category="consumer report information")
    assert new_category["allowed"] is False

    marks = "/v1/privacy/revised-notices/v1/v2/marks"
    returned = await api.post(marks, json={"relationship_ids": ["REL-B1", "REL-NONE"], "status": "returned", "batch_ref": "RET-1"})
    assert returned.status_code == 200, returned.text
    assert (returned.json()["marked"], returned.json()["not_marked"]) == (1, 1)
    repeat = await api.post(marks, json={"relationship_ids": ["REL-B1", "REL-NONE"], "status": "returned", "batch_ref": "RET-1"})
    assert repeat.status_code == 200 and (repeat.json()["marked"], repeat.json()["already"]) == (0, 1)
    reused = await api.post(marks, json={"relationship_ids": ["REL-B2"], "status": "returned", "batch_ref": "RET-1"})
    assert reused.status_code == 409 and reused.json()["rule_id"] == "batch_ref_already_used"
    acknowledged = await api.post(marks, json={"relationship_ids": ["REL-B3"], "status": "acknowledged", "batch_ref": "ACK-1",
                                               "recorded_by": "p.ortiz"})
    assert acknowledged.status_code == 200 and acknowledged.json()["acknowledged_total"] == 1
    other = await api.post(marks, json={"relationship_ids": ["REL-B3"], "status": "returned", "batch_ref": "R", "recorded_by": "x"})
    assert other.status_code == 403
    returned_entry = next(e for e in entries(privacy, revised_stream("v1", "v2")) if e.type == "revised_notice.returned")
    assert returned_entry.actor == ACTOR

    await privacy.stack.skip(timedelta(days=31))

    async def completed() -> dict[str, Any] | None:
        state = (await api.get("/v1/privacy/revised-notices/v1/v2")).json()
        return state if state["phase"] == "completed" else None

    completed.__name__ = "revised-notice run completed"
    done = await eventually(completed, timeout=60)
    assert (done["counts"]["opened"], done["counts"]["not_delivered"]) == (5, 1)

    # Texas's privacy records as one bundle: every stream with a TX entry, verifiable offline.
    examiner = issue_key(api.app_settings, "tdi.examiner", {Role.EXAMINER})  # type: ignore[attr-defined]
    export = await api.post("/v1/privacy/export", params={"jurisdiction": "TX"}, headers=bearer(examiner))
    assert export.status_code == 201, export.text
    bundle = export.json()
    report = verify_bundle(Path(bundle["path"]))
    assert report.ok, report.problem
    exported = [json.loads(line) for line in (Path(bundle["path"]) / "entries.jsonl").read_text().splitlines()]
    streams = {e["stream"] for e in exported}
    assert {"privacy_policy:v1", "privacy_policy:v2", "privacy:REL-L", "privacy:REL-B0", revised_stream("v1", "v2")} <= streams
    assert {"privacy_relationship.registered", "initial_notice.imported", "revised_notice.completed"} <= {e["type"] for e in exported}
    assert bundle["completeness"]["proven"] == "streams"
    nowhere = await api.post("/v1/privacy/export", params={"jurisdiction": "WY"}, headers=bearer(examiner))
    assert nowhere.status_code == 404
    privacy.stack.verify()
