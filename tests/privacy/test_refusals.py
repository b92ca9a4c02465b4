"""Refused steps of the consumer-relationship lifecycle (28 TAC ch. 22), on the time-skipping
server with a real worker, ledger and privacy store.

Every refusal is typed — the ``ApplicationError``'s type is the rule id, its details name the
field and the citation — and leaves the workflow's state, the store and the ledger as they were.
A step whose ledger entry cannot be written changes nothing and leaves the lifecycle able to take
the next step; two conflicting steps at once make one ledger entry and one typed refusal.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError

from models.ledger import EntryDraft
from models.privacy_lifecycle import (
    CloseRelationship,
    CompleteTransaction,
    GateQuestion,
    OptOutRequest,
    PolicyChange,
    RelationshipEvent,
    RelationshipStage,
    ReturnedMail,
    RevocationRequest,
)
from rules.disclosure import CITE_OPT_OUT_DIRECTION
from tests.privacy.builders import consumer, policy_record, ref, relationship
from tests.privacy.conftest import Privacy
from workflows.privacy_relationship import ConsumerRelationshipWorkflow as W
from workflows.refusals import refusal_details

QUESTION = {
    "npi_category": "application information",
    "purpose": "direct_mail_marketing",
    "recipient": {"name": "Pecos Premium Finance", "kind": "nonaffiliated_third_party", "category": "financial service providers"},
    "asked_by": "analyst",
}
SSN = "078-05-1120"


def question(request_id: str, **extra: Any) -> GateQuestion:
    return GateQuestion.model_validate({**QUESTION, "request_id": request_id, **extra})


def opt_out(election_id: str, consumer_id: str, **extra: Any) -> OptOutRequest:
    return OptOutRequest.model_validate({"election_id": election_id, "consumer_ref": ref(consumer_id), "received_by": "csr", **extra})


def _relationship_id(handle: WorkflowHandle) -> str:
    return handle.id.removeprefix("privacy-relationship-")


async def _snapshot(privacy: Privacy, handle: WorkflowHandle) -> dict[str, Any]:
    """Everything a step could change: the workflow's state, the store's rows, the ledger."""
    rid = _relationship_id(handle)
    state = await handle.query(W.state)
    return {
        "state": state.model_dump(mode="json"),
        "ledger": [e.seq for e in privacy.entries(rid)],
        "opt_outs": [o.model_dump(mode="json") for o in privacy.store.opt_outs_of(rid)],
        "deliveries": [d.model_dump(mode="json") for d in privacy.store.deliveries_of(rid)],
        "record": privacy.store.get_relationship(rid).model_dump(mode="json"),
    }


async def _cause(update: Any) -> ApplicationError:
    with pytest.raises(WorkflowUpdateFailedError) as err:
        await update
    cause = err.value.cause
    assert isinstance(cause, ApplicationError), cause
    return cause


async def refused(
    privacy: Privacy, handle: WorkflowHandle, update: Any, arg: Any, rule_id: str, field: str | None = None,
    citation: str | None = None,
) -> dict[str, Any]:
    """Send a step that must be refused by ``rule_id`` (naming ``field``): nothing changes."""
    before = await _snapshot(privacy, handle)
    cause = await _cause(handle.execute_update(update, arg))
    details = refusal_details(cause)
    assert cause.type == rule_id, (cause.type, cause.message)
    assert details is not None and details["rule_id"] == rule_id and details["field"] == field, details
    if citation is not None:
        assert details["citation"] == citation
    assert await _snapshot(privacy, handle) == before
    return details


async def _started(privacy: Privacy, consumer_id: str, relationship_id: str, **overrides: Any) -> WorkflowHandle:
    c = consumer(consumer_id, electronic=overrides.pop("electronic", False))
    rel = relationship(relationship_id, consumer_id, customer=overrides.pop("customer", True),
                       isolated_transaction=overrides.get("isolated_transaction", False))
    privacy.register([policy_record("v1")], [c], [rel])
    return await privacy.start(rel, **overrides)


async def _settled(privacy: Privacy, handle: WorkflowHandle) -> Any:
    await privacy.wait_for(_relationship_id(handle), "opt_out.window_opened")
    return await privacy.state_when(handle, lambda st: st.initial_notice_on is not None and st.windows)


@contextmanager
def ledger_stopped(privacy: Privacy) -> Iterator[None]:
    """Hold the database's write lock: the ledger cannot append (its writes wait) until released."""
    path = privacy.stack.settings.resolved_db_url().split("///", 1)[1]
    conn = sqlite3.connect(path, timeout=30, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        yield
    finally:
        conn.execute("ROLLBACK")
        conn.close()


async def test_refused_opt_outs_and_revocations_are_typed_change_nothing_and_ledger_nothing_22_2_22(privacy: Privacy) -> None:
    handle = await _started(privacy, "C-R1", "REL-R1")
    await _settled(privacy, handle)
    now = await privacy.stack.now()

    await refused(privacy, handle, W.elect_opt_out, opt_out(SSN, "C-R1"), "npi_in_free_text", "election_id")
    await refused(privacy, handle, W.elect_opt_out, opt_out("E-1", "C-OTHER"), "consumer_not_in_relationship", "consumer_ref")
    await refused(privacy, handle, W.elect_opt_out, opt_out("E-1", "C-R1", npi_categories=["medical records"]),
                  "opt_out_category_not_in_policy", "npi_categories[0]", citation=CITE_OPT_OUT_DIRECTION)
    await refused(privacy, handle, W.elect_opt_out, opt_out("E-1", "C-R1", recipient_categories=["astrologers"]),
                  "opt_out_category_not_in_policy", "recipient_categories[0]")
    await refused(privacy, handle, W.elect_opt_out, opt_out("E-1", "C-R1", received_at=(now + timedelta(days=1)).isoformat()),
                  "time_in_future", "received_at")

    state = await handle.execute_update(W.elect_opt_out, opt_out("E-1", "C-R1"))
    assert state.opt_out_in_effect and privacy.store.opted_out(["REL-R1"]) == {"REL-R1"}
    await refused(privacy, handle, W.elect_opt_out, opt_out("E-1", "C-R1"), "opt_out_already_recorded", "election_id")
    # Opted out of everything already: a narrower election adds nothing (§ 22.2(22)).
    await refused(privacy, handle, W.elect_opt_out, opt_out("E-2", "C-R1", npi_categories=["application information"]),
                  "opt_out_already_in_effect", "consumer_ref", citation=CITE_OPT_OUT_DIRECTION)

    def revoke(election_id: str, **extra: Any) -> RevocationRequest:
        return RevocationRequest.model_validate({"election_id": election_id, "form": "written", "received_by": "csr", **extra})

    await refused(privacy, handle, W.revoke_opt_out, revoke("E-9"), "opt_out_unknown", "election_id")
    await refused(privacy, handle, W.revoke_opt_out, revoke("E-1", form="oral"), "oral_revocation_not_accepted", "form",
                  citation=CITE_OPT_OUT_DIRECTION)
    await refused(privacy, handle, W.revoke_opt_out, revoke("E-1", received_at=(now - timedelta(days=1)).isoformat()),
                  "revocation_before_opt_out", "received_at")
    await handle.execute_update(W.revoke_opt_out, revoke("E-1"))
    await refused(privacy, handle, W.revoke_opt_out, revoke("E-1", form="electronic"), "opt_out_already_revoked", "election_id")

    assert [e.type for e in privacy.entries("REL-R1") if e.type.startswith("opt_out.")] == [
        "opt_out.window_opened", "opt_out.elected", "opt_out.revoked"
    ]
    privacy.stack.verify()


async def test_refused_relationship_facts_returned_mail_retries_and_questions_are_typed_and_change_nothing_22_9_b(
    privacy: Privacy,
) -> None:
    handle = await _started(privacy, "C-R2", "REL-R2")
    settled = await _settled(privacy, handle)
    today = settled.initial_notice_on

    def event(kind: str, on: Any) -> RelationshipEvent:
        return RelationshipEvent(kind=kind, on=on, recorded_by="ops")  # type: ignore[arg-type]

    await refused(privacy, handle, W.record_relationship_event, event("address_search_failed", today), "returned_mail_not_recorded", "kind")
    await refused(privacy, handle, W.record_relationship_event, event("communication", today + timedelta(days=10)), "time_in_future", "on")
    await handle.execute_update(W.record_relationship_event, event("communication", today))
    await refused(privacy, handle, W.record_relationship_event, event("communication", today), "relationship_event_already_recorded", "on")
    # An older call does not move the last communication back, nor the 12 months of § 22.9(b)(2).
    await refused(privacy, handle, W.record_relationship_event, event("communication", today - timedelta(days=3)),
                  "communication_before_last_recorded", "on", citation="28 TAC § 22.9(b)(2)")

    def returned(notice_id: str = "initial-v1", on: Any = today, search: Any = None) -> ReturnedMail:
        return ReturnedMail(notice_id=notice_id, returned_on=on, address_search_failed_on=search, recorded_by="mailroom")

    await refused(privacy, handle, W.report_returned_mail, returned("initial-v9"), "notice_unknown", "notice_id")
    await refused(privacy, handle, W.report_returned_mail, returned(on=today - timedelta(days=5)), "returned_on_out_of_range", "returned_on")
    await refused(privacy, handle, W.report_returned_mail, returned(search=today - timedelta(days=1)),
                  "address_search_before_return", "address_search_failed_on", citation="28 TAC § 22.9(b)(3)(B)")
    await handle.execute_update(W.report_returned_mail, returned())
    await refused(privacy, handle, W.report_returned_mail, returned(), "notice_already_returned", "notice_id")

    await refused(privacy, handle, W.retry_notices, "ops", "no_notice_held", "notice_blocked")
    await refused(privacy, handle, W.retry_notices, " ", "actor_missing", "requested_by")
    await refused(privacy, handle, W.notify_before_disclosure, "ops", "notice_before_disclosure_needs_consumer", None,
                  citation="28 TAC § 22.8(a)(2)")
    await refused(privacy, handle, W.complete_transaction, CompleteTransaction(recorded_by="agent"), "not_an_isolated_transaction")
    await refused(privacy, handle, W.close, CloseRelationship(reason="moved away", closed_by="ops"),
                  "customer_relationship_not_ended", citation="28 TAC § 22.9(b)")

    # What a decision names is ledgered: no consumer's e-mail address as the recipient's name.
    await refused(privacy, handle, W.decide_disclosure,
                  question("Q-1", recipient={**QUESTION["recipient"], "name": "jordan.c-r2@mail.example"}),
                  "npi_in_free_text", "recipient.name")
    await refused(privacy, handle, W.decide_disclosure, question("Q-1", consumer_ref=ref("C-OTHER")), "consumer_not_in_relationship", "consumer_ref")
    await handle.execute_update(W.decide_disclosure, question("Q-1"))
    await refused(privacy, handle, W.decide_disclosure, question("Q-1"), "request_id_already_decided", "request_id")
    privacy.stack.verify()


async def test_isolated_transaction_and_consumer_steps_refused_typed_and_two_closings_at_once_make_one_entry_22_14_b_3(
    privacy: Privacy,
) -> None:
    now = await privacy.stack.now()
    presented = now - timedelta(minutes=30)
    quote = await _started(
        privacy, "C-R3", "REL-R3", customer=False, isolated_transaction=True,
        transaction_notice={"notice_id": "quote-notice", "channel": "electronic", "presented_at": presented.isoformat(),
                            "acknowledged_at": presented.isoformat()},
    )
    await privacy.wait_for("REL-R3", "opt_out.window_opened")
    await refused(privacy, quote, W.complete_transaction,
                  CompleteTransaction(completed_at=presented - timedelta(hours=1), recorded_by="agent"),
                  "completed_before_notice_presented", "completed_at", citation="28 TAC § 22.13(b)(4)")
    await refused(privacy, quote, W.complete_transaction,
                  CompleteTransaction(completed_at=now + timedelta(days=1), recorded_by="agent"), "time_in_future", "completed_at")
    await refused(privacy, quote, W.report_returned_mail,
                  ReturnedMail(notice_id="quote-notice", returned_on=presented.date(), recorded_by="mailroom"),
                  "notice_not_mailed", "notice_id")
    await refused(privacy, quote, W.record_relationship_event,
                  RelationshipEvent(kind="no_longer_policyholder", on=presented.date(), recorded_by="ops"),
                  "relationship_event_needs_customer", "kind")
    await quote.execute_update(W.complete_transaction, CompleteTransaction(recorded_by="agent"))
    await privacy.wait_for("REL-R3", "opt_out.window_closed")
    await privacy.state_when(quote, lambda st: all(w.closed for w in st.windows))
    await refused(privacy, quote, W.complete_transaction, CompleteTransaction(recorded_by="agent"),
                  "transaction_already_completed", "completed_at")

    # A consumer who is not a customer: notices before a planned disclosure, asked once.
    shopper = await _started(privacy, "C-R4", "REL-R4", customer=False)
    await privacy.wait_for("REL-R4", "initial_notice.not_yet_owed")
    await shopper.execute_update(W.notify_before_disclosure, "ops")
    await privacy.wait_for("REL-R4", "initial_notice.sent")
    await refused(privacy, shopper, W.notify_before_disclosure, "ops", "initial_notice_already_given")
    await refused(privacy, shopper, W.close, CloseRelationship(reason=f"consumer {SSN} asked us to", closed_by="ops"),
                  "npi_in_free_text", "reason")

    reasons = {"ops": "no disclosure after all", "ops2": "duplicate request"}
    results = await asyncio.gather(
        *(shopper.execute_update(W.close, CloseRelationship(reason=r, closed_by=who)) for who, r in reasons.items()),
        return_exceptions=True,
    )
    (done,) = [r for r in results if not isinstance(r, BaseException)]
    (failed,) = [r for r in results if isinstance(r, WorkflowUpdateFailedError)]
    assert done.stage is RelationshipStage.CLOSED and getattr(failed.cause, "type", None) == "relationship_closed"
    assert (await shopper.result()).stage is RelationshipStage.CLOSED
    (closed,) = [e for e in privacy.entries("REL-R4") if e.type == "privacy_relationship.closed"]
    assert closed.data["reason"] == reasons[closed.actor.removeprefix("user:")]
    assert privacy.store.get_relationship("REL-R4").stage is RelationshipStage.CLOSED
    privacy.stack.verify()


async def test_an_opt_out_the_ledger_refuses_changes_nothing_and_the_next_opt_out_is_recorded_22_14_a_4(privacy: Privacy) -> None:
    handle = await _started(privacy, "C-R5", "REL-R5")
    await _settled(privacy, handle)
    # The ledger already holds this step with other content: it refuses the entry, whatever retries.
    privacy.stack.ledger.append(EntryDraft(
        stream="privacy:REL-R5", type="opt_out.elected", step=f"{handle.id}/opt-out/E-1", actor="worker",
        data={"election_id": "E-1", "note": "recorded by an earlier deployment"},
    ))
    before = await _snapshot(privacy, handle)
    cause = await _cause(handle.execute_update(W.elect_opt_out, opt_out("E-1", "C-R5")))
    assert cause.type == "ledger_step_conflict"
    after = await _snapshot(privacy, handle)
    assert after == before and after["state"]["opt_outs"] == [] and privacy.store.opted_out(["REL-R5"]) == set()

    state = await handle.execute_update(W.elect_opt_out, opt_out("E-2", "C-R5"))
    assert [o.election_id for o in state.opt_outs] == ["E-2"] and state.opt_out_in_effect
    assert privacy.store.opted_out(["REL-R5"]) == {"REL-R5"}
    held = await handle.execute_update(W.decide_disclosure, question("Q-after"))
    assert not held.allowed and held.rule_id == "tx.opt_out.in_effect"
    privacy.stack.verify()


async def test_while_the_ledger_is_stopped_an_opt_out_waits_changes_nothing_and_conflicting_steps_are_refused(
    privacy: Privacy,
) -> None:
    handle = await _started(privacy, "C-R6", "REL-R6")
    await _settled(privacy, handle)
    with ledger_stopped(privacy):
        elect = asyncio.ensure_future(handle.execute_update(W.elect_opt_out, opt_out("E-1", "C-R6")))
        await asyncio.sleep(2)  # the opt-out's ledger write waits for the database
        assert not elect.done()
        # Not recorded yet: nothing to revoke; the same election again waits its turn and is refused then.
        revoke = RevocationRequest(election_id="E-1", form="written", received_by="csr")
        assert (await _cause(handle.execute_update(W.revoke_opt_out, revoke))).type == "opt_out_unknown"
        again = asyncio.ensure_future(_cause(handle.execute_update(W.elect_opt_out, opt_out("E-1", "C-R6", received_by="csr2"))))
        state = await handle.query(W.state)
        assert state.opt_outs == [] and not state.opt_out_in_effect
        assert privacy.store.opted_out(["REL-R6"]) == set()
    state = await asyncio.wait_for(elect, 60)
    assert [o.election_id for o in state.opt_outs] == ["E-1"]
    assert (await asyncio.wait_for(again, 60)).type == "opt_out_already_recorded"
    elected = [e for e in privacy.entries("REL-R6") if e.type == "opt_out.elected"]
    assert len(elected) == 1 and elected[0].actor == "user:csr"
    # Not wedged: the next step is taken.
    revoked = await handle.execute_update(W.revoke_opt_out, revoke)
    assert not revoked.opt_out_in_effect
    privacy.stack.verify()


async def test_two_conflicting_steps_at_once_make_one_ledger_entry_and_one_typed_refusal(privacy: Privacy) -> None:
    handle = await _started(privacy, "C-R7", "REL-R7")
    await _settled(privacy, handle)
    results = await asyncio.gather(
        handle.execute_update(W.elect_opt_out, opt_out("E-1", "C-R7")),
        handle.execute_update(W.elect_opt_out, opt_out("E-2", "C-R7")),
        return_exceptions=True,
    )
    refusals = [r.cause for r in results if isinstance(r, WorkflowUpdateFailedError)]
    assert len(refusals) == 1 and isinstance(refusals[0], ApplicationError)
    assert refusals[0].type in ("opt_out_already_in_effect",)
    assert [e.type for e in privacy.entries("REL-R7")].count("opt_out.elected") == 1

    state = await handle.query(W.state)
    (election,) = state.opt_outs
    revoke = RevocationRequest(election_id=election.election_id, form="written", received_by="csr")
    results = await asyncio.gather(
        handle.execute_update(W.revoke_opt_out, revoke),
        handle.execute_update(W.revoke_opt_out, revoke.model_copy(update={"form": "electronic"})),
        return_exceptions=True,
    )
    refusals = [r.cause for r in results if isinstance(r, WorkflowUpdateFailedError)]
    assert len(refusals) == 1 and getattr(refusals[0], "type", None) == "opt_out_already_revoked"
    assert [e.type for e in privacy.entries("REL-R7")].count("opt_out.revoked") == 1

    results = await asyncio.gather(
        handle.execute_update(W.decide_disclosure, question("Q-1")),
        handle.execute_update(W.decide_disclosure, question("Q-1", asked_by="analyst2")),
        return_exceptions=True,
    )
    refusals = [r.cause for r in results if isinstance(r, WorkflowUpdateFailedError)]
    assert len(refusals) == 1 and getattr(refusals[0], "type", None) == "request_id_already_decided"
    decided = [e for e in privacy.entries("REL-R7") if e.type == "disclosure.decided"]
    assert len(decided) == 1 and (await handle.query(W.state)).decisions == 1
    privacy.stack.verify()


async def test_a_policy_change_signal_naming_no_stored_version_is_recorded_refused_and_the_lifecycle_goes_on_22_12(
    privacy: Privacy,
) -> None:
    handle = await _started(privacy, "C-R8", "REL-R8")
    await _settled(privacy, handle)
    # An id no version could have, carrying NPI: it could not even be recorded; dropped.
    await handle.signal(W.policy_changed, PolicyChange(policy_version=SSN))
    await handle.signal(W.policy_changed, PolicyChange(policy_version="v-missing"))
    (refusal,) = await privacy.wait_for("REL-R8", "privacy_relationship.policy_change_refused")
    assert SSN not in json.dumps([e.model_dump(mode="json") for e in privacy.entries("REL-R8")])
    assert refusal.data["to"] == "v-missing" and refusal.data["policy_in_force"] == "v1" and refusal.citation == "28 TAC § 22.12"
    state = await handle.query(W.state)
    assert state.policy_version == "v1" and "privacy_relationship.policy_changed" not in privacy.types("REL-R8")
    assert privacy.store.get_relationship("REL-R8").policy_version == "v1"
    state = await handle.execute_update(W.elect_opt_out, opt_out("E-1", "C-R8"))
    assert state.opt_out_in_effect
    privacy.stack.verify()
