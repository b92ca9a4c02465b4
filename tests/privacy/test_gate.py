"""The disclosure gate through the API, the store-based activity and the CLI: "may NPI category C
of this relationship's consumers go to recipient R under basis B now?" — answered by the rules from
the lifecycle's state, with the rule cited and the decision ledgered (28 TAC §§ 22.14, 22.2(22))."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import httpx
from temporalio.testing import ActivityEnvironment
from typer.testing import CliRunner

from models.privacy_lifecycle import GateActivityInput, GateQuestion
from noticeflow.cli import app as cli
from tests.privacy.builders import consumer, policy_record, ref, relationship
from tests.privacy.conftest import Privacy

QUESTION = {
    "request_id": "Q-1",
    "npi_category": "application information",
    "purpose": "direct_mail_marketing",
    "recipient": {"name": "Pecos Premium Finance", "kind": "nonaffiliated_third_party", "category": "financial service providers"},
}


async def test_gate_api_denies_during_the_window_allows_after_it_and_denies_after_an_opt_out(
    privacy: Privacy, api: httpx.AsyncClient
) -> None:
    c = consumer("C-G1", n=11)
    rel = relationship("REL-GATE", "C-G1")
    privacy.register([policy_record("v1")], [c], [rel])
    unknown = await api.post("/v1/privacy/relationships/REL-NONE/disclosure-decisions", json=QUESTION)
    assert unknown.status_code == 404 and "REL-NONE" in unknown.json()["detail"]
    await privacy.start(rel)
    await privacy.wait_for("REL-GATE", "opt_out.window_opened")

    url = "/v1/privacy/relationships/REL-GATE/disclosure-decisions"
    invalid = await api.post(url, json={**QUESTION, "npi_category": ""})
    assert invalid.status_code == 422 and invalid.json()["errors"][0]["field"] == "npi_category"
    other = await api.post(url, json={**QUESTION, "asked_by": "someone-else"})
    assert other.status_code == 403 and "asked_by" in other.json()["detail"]

    during = await api.post(url, json=QUESTION)
    assert during.status_code == 200, during.text
    body = during.json()
    assert body["allowed"] is False and body["citation"] == "28 TAC § 22.14(a); 28 TAC § 22.14(b)(1)"
    again = await api.post(url, json=QUESTION)
    assert again.status_code == 409 and again.json()["rule_id"] == "request_id_already_decided"
    # A refused field is 422 naming it, with the rule: a consumer's e-mail address as a recipient's name.
    leaky = await api.post(url, json={**QUESTION, "request_id": "Q-leak",
                                      "recipient": {**QUESTION["recipient"], "name": "jordan.c-g1@mail.example"}})
    assert leaky.status_code == 422
    assert [(e["field"], e["type"]) for e in leaky.json()["errors"]] == [("recipient.name", "npi_in_free_text")]

    await privacy.stack.skip(timedelta(days=31))
    await privacy.wait_for("REL-GATE", "opt_out.window_closed")
    after = (await api.post(url, json={**QUESTION, "request_id": "Q-2"})).json()
    assert after["allowed"] is True and after["rule_id"] == "tx.opt_out.reasonable_opportunity.mail"

    opt_outs = "/v1/privacy/relationships/REL-GATE/opt-outs"
    election = {"election_id": "E-API", "consumer_ref": ref("C-G1"), "received_by": "p.ortiz"}
    unknown_category = await api.post(opt_outs, json={**election, "npi_categories": ["medical records"]})
    assert unknown_category.status_code == 422
    (error,) = unknown_category.json()["errors"]
    assert (error["field"], error["type"], error["citation"]) == (
        "npi_categories[0]", "opt_out_category_not_in_policy", "28 TAC § 22.2(22); § 22.14(a)(4)"
    )
    opt = await api.post(opt_outs, json=election)
    assert opt.status_code == 200 and opt.json()["opt_out_in_effect"] is True
    covered = await api.post(opt_outs, json={**election, "election_id": "E-API-2"})
    assert covered.status_code == 409 and covered.json()["rule_id"] == "opt_out_already_in_effect"
    held = (await api.post(url, json={**QUESTION, "request_id": "Q-3"})).json()
    assert held["allowed"] is False and held["rule_id"] == "tx.opt_out.in_effect"

    state = (await api.get("/v1/privacy/relationships/REL-GATE")).json()
    assert state["stage"] == "customer" and state["decisions"] == 3
    decided = [e for e in privacy.entries("REL-GATE") if e.type == "disclosure.decided"]
    assert [(e.data["request_id"], e.data["allowed"], e.actor) for e in decided] == [
        ("Q-1", False, "key:p.ortiz"), ("Q-2", True, "key:p.ortiz"), ("Q-3", False, "key:p.ortiz")
    ]
    assert decided[2].citation == "28 TAC § 22.2(22); § 22.14(a)(4)"
    privacy.assert_no_npi("REL-GATE", [c])
    privacy.stack.verify()


async def test_store_based_gate_activity_decides_from_the_store_and_ledgers_the_decision(privacy: Privacy) -> None:
    c = consumer("C-G2", n=12)
    rel = relationship("REL-STORE", "C-G2")
    privacy.register([policy_record("v1")], [c], [rel])
    handle = await privacy.start(rel)
    await privacy.wait_for("REL-STORE", "opt_out.window_opened")
    now = await privacy.stack.now()
    acts = privacy.stack.resources.privacy
    question = GateQuestion.model_validate(QUESTION)
    env = ActivityEnvironment()
    before = await env.run(acts.gate, GateActivityInput(relationship_id="REL-STORE", question=question, as_of=now))
    after = await env.run(
        acts.gate,
        GateActivityInput(relationship_id="REL-STORE", question=question.model_copy(update={"request_id": "Q-later"}),
                          as_of=now + timedelta(days=31)),
    )
    assert (before.decision.allowed, after.decision.allowed) == (False, True)
    entries = {e.data["request_id"]: e for e in privacy.entries("REL-STORE") if e.type == "disclosure.decided"}
    assert entries["Q-later"].data["source"] == "store" and entries["Q-later"].citation == after.decision.citation
    assert after.ledger_seq == entries["Q-later"].seq
    await handle.terminate(reason="test over")
    privacy.stack.verify()


def test_cli_gate_names_the_field_of_a_bad_question(tmp_path: Path) -> None:
    bad = tmp_path / "question.json"
    bad.write_text(json.dumps({**QUESTION, "purpose": "gossip"}))
    result = CliRunner().invoke(cli, ["privacy", "gate", "REL-1", str(bad)])
    assert result.exit_code == 2
    assert "question.json: purpose:" in result.output
