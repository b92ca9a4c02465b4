"""The consumer-relationship lifecycle on the time-skipping test server with a real worker,
ledger and SMTP server: initial and opt-out notices, the reasonable opportunity to opt out, opt
outs and their revocation, the disclosure gate, annual notices over several years (with
continue-as-new), the end of a relationship, isolated transactions, joint relationships, and a
notice whose content fails § 22.10 (28 TAC ch. 22)."""

from __future__ import annotations

from typing import Any

from datetime import timedelta

import pytest
from temporalio.client import WorkflowUpdateFailedError

from ledger.store import EntryFilter
from models.privacy import NoticeKind
from models.privacy_lifecycle import (
    DeliveryStatus,
    GateQuestion,
    OpeningStatus,
    OptOutRequest,
    RelationshipStage,
    RevocationRequest,
)
from tests.privacy.builders import consumer, policy_record, ref, relationship
from tests.privacy.conftest import Privacy
from workflows.privacy_relationship import ConsumerRelationshipWorkflow
from workflows.refusals import refusal_details

QUESTION = {
    "npi_category": "application information",
    "purpose": "direct_mail_marketing",
    "recipient": {"name": "Pecos Premium Finance", "kind": "nonaffiliated_third_party", "category": "financial service providers"},
    "asked_by": "analyst",
}


def question(request_id: str, **extra: object) -> GateQuestion:
    return GateQuestion.model_validate({"request_id": request_id, **QUESTION, **extra})


async def refused(handle, update, arg) -> tuple[str, str | None]:  # type: ignore[no-untyped-def]
    """The refusal's rule id (the ApplicationError's type) and the field it names."""
    with pytest.raises(WorkflowUpdateFailedError) as err:
        await handle.execute_update(update, arg)
    details = refusal_details(err.value.cause)
    assert details is not None, err.value.cause
    return details["rule_id"], details["field"]


async def test_customer_gets_initial_and_opt_out_notice_by_mail_and_the_disclosure_opens_after_30_days_22_14_b_1(
    privacy: Privacy,
) -> None:
    c = consumer("C-1")
    rel = relationship("REL-MAIL", "C-1")
    privacy.register([policy_record("v1")], [c], [rel])
    handle = await privacy.start(rel)
    (sent,) = await privacy.wait_for("REL-MAIL", "initial_notice.sent")
    assert sent.citation == "28 TAC § 22.8(a); 28 TAC § 22.13(b)(2)"
    assert sent.data["channel"] == "mail" and sent.data["with_opt_out_notice"] is True
    (opened,) = await privacy.wait_for("REL-MAIL", "opt_out.window_opened")
    assert opened.citation == "28 TAC § 22.14(b)(1)"

    before = await handle.execute_update(ConsumerRelationshipWorkflow.decide_disclosure, question("Q-1"))
    assert not before.allowed and before.rule_id == "tx.opt_out.reasonable_opportunity.mail"
    await privacy.stack.skip(timedelta(days=29))
    assert not (await handle.query(ConsumerRelationshipWorkflow.disclosure_decision, question("Q-peek"))).allowed
    await privacy.stack.skip(timedelta(days=2))
    (closed,) = await privacy.wait_for("REL-MAIL", "opt_out.window_closed")
    assert closed.data["outcome"] == "opened" and closed.citation.startswith("28 TAC § 22.14(a)")
    after = await handle.execute_update(ConsumerRelationshipWorkflow.decide_disclosure, question("Q-2"))
    assert after.allowed and after.first_allowed_at == before.first_allowed_at
    (opening,) = privacy.store.openings_of("REL-MAIL")
    assert opening.status is OpeningStatus.OPENED and opening.policy_version == "v1"

    decided = [e for e in privacy.entries("REL-MAIL") if e.type == "disclosure.decided"]
    assert [(e.data["request_id"], e.data["allowed"]) for e in decided] == [("Q-1", False), ("Q-2", True)]
    assert decided[1].citation == "28 TAC § 22.14(a); 28 TAC § 22.14(b)(1)" and decided[1].actor == "user:analyst"
    assert await refused(handle, ConsumerRelationshipWorkflow.decide_disclosure, question("Q-2")) == (
        "request_id_already_decided", "request_id"
    )
    assert privacy.types("REL-MAIL") == [
        "privacy_relationship.opened", "initial_notice.sent", "opt_out.window_opened", "disclosure.decided",
        "opt_out.window_closed", "disclosure.decided",
    ]
    privacy.assert_no_npi("REL-MAIL", [c])
    privacy.stack.verify()
    await privacy.save_history("privacy_mail_window", handle)


async def test_an_opt_out_by_email_customer_holds_the_disclosure_until_revoked_in_writing_22_2_22(privacy: Privacy) -> None:
    c = consumer("C-2", electronic=True)
    rel = relationship("REL-OPT", "C-2")
    privacy.register([policy_record("v1")], [c], [rel])
    handle = await privacy.start(rel)
    (sent,) = await privacy.wait_for("REL-OPT", "initial_notice.sent")
    assert sent.data["channel"] == "email" and "(c)(2)" in sent.citation
    assert privacy.stack.smtp.recorder.recipients() == ["jordan.c-2@mail.example"]
    await privacy.stack.skip(timedelta(days=10))

    # Validators name the field and the rule; nothing is recorded for a refused update.
    bad_category = OptOutRequest(election_id="E-1", consumer_ref=ref("C-2"), npi_categories=["medical records"], received_by="csr")
    assert await refused(handle, ConsumerRelationshipWorkflow.elect_opt_out, bad_category) == (
        "opt_out_category_not_in_policy", "npi_categories[0]"
    )
    stranger = OptOutRequest(election_id="E-1", consumer_ref=ref("C-9"), received_by="csr")
    assert await refused(handle, ConsumerRelationshipWorkflow.elect_opt_out, stranger) == ("consumer_not_in_relationship", "consumer_ref")
    assert "opt_out.elected" not in privacy.types("REL-OPT")

    state = await handle.execute_update(
        ConsumerRelationshipWorkflow.elect_opt_out, OptOutRequest(election_id="E-1", consumer_ref=ref("C-2"), received_by="csr")
    )
    assert state.opt_out_in_effect
    # Effective before the update returned: in the store, where the store-based gate reads it.
    assert privacy.store.opted_out(["REL-OPT"]) == {"REL-OPT"}
    oral = RevocationRequest(election_id="E-1", form="oral", received_by="csr")
    assert await refused(handle, ConsumerRelationshipWorkflow.revoke_opt_out, oral) == ("oral_revocation_not_accepted", "form")

    await privacy.stack.skip(timedelta(days=21))
    (closed,) = await privacy.wait_for("REL-OPT", "opt_out.window_closed")
    assert closed.data["outcome"] == "held_by_opt_out" and closed.data["opt_outs_in_effect"] == ["E-1"]
    held = await handle.execute_update(ConsumerRelationshipWorkflow.decide_disclosure, question("Q-1"))
    assert not held.allowed and held.rule_id == "tx.opt_out.in_effect" and held.citation == "28 TAC § 22.2(22); § 22.14(a)(4)"

    await handle.execute_update(
        ConsumerRelationshipWorkflow.revoke_opt_out, RevocationRequest(election_id="E-1", form="written", received_by="csr")
    )
    released = await handle.execute_update(ConsumerRelationshipWorkflow.decide_disclosure, question("Q-2"))
    assert released.allowed and released.needs_counsel_review
    (revoked,) = [e for e in privacy.entries("REL-OPT") if e.type == "opt_out.revoked"]
    assert revoked.data["needs_counsel_review"] is True and revoked.actor == "user:csr"
    assert privacy.store.opted_out(["REL-OPT"]) == set()
    privacy.assert_no_npi("REL-OPT", [c])
    privacy.stack.verify()
    await privacy.save_history("privacy_opt_out_revoked", handle)


async def test_joint_relationship_gets_one_notice_and_one_consumers_opt_out_holds_it_22_13_h(privacy: Privacy) -> None:
    a, b = consumer("C-3", n=3), consumer("C-4", n=4)
    rel = relationship("REL-JOINT", "C-3", "C-4")
    privacy.register([policy_record("v1")], [a, b], [rel])
    handle = await privacy.start(rel)
    (sent,) = await privacy.wait_for("REL-JOINT", "initial_notice.sent")
    assert sent.data["joint"] is True and sent.data["consumers"] == 2
    (delivery,) = privacy.store.deliveries_of("REL-JOINT")
    assert delivery.status is DeliveryStatus.SENT
    letters = list((privacy.stack.settings.outbox_dir / "print").glob("*/letters/*.html"))
    assert len(letters) == 1 and "Jordan Alvarez C-3 and Jordan Alvarez C-4" in letters[0].read_text()
    await handle.execute_update(
        ConsumerRelationshipWorkflow.elect_opt_out, OptOutRequest(election_id="E-J", consumer_ref=ref("C-4"), received_by="csr")
    )
    await privacy.stack.skip(timedelta(days=31))
    await privacy.wait_for("REL-JOINT", "opt_out.window_closed")
    for who in ("C-3", "C-4"):
        decision = await handle.execute_update(
            ConsumerRelationshipWorkflow.decide_disclosure, question(f"Q-{who}", consumer_ref=ref(who))
        )
        assert not decision.allowed and decision.rule_id == "tx.opt_out.in_effect"
    privacy.assert_no_npi("REL-JOINT", [a, b])
    privacy.stack.verify()


async def test_a_notice_failing_22_10_b_is_refused_nothing_is_sent_and_a_corrected_version_goes_out(privacy: Privacy) -> None:
    from models.privacy_lifecycle import PolicyChange

    c = consumer("C-5", electronic=True)
    bad = policy_record("v1", confidentiality_security=None)
    rel = relationship("REL-LINT", "C-5")
    privacy.register([bad, policy_record("v2")], [c], [rel])
    handle = await privacy.start(rel)
    (refusal,) = await privacy.wait_for("REL-LINT", "initial_notice.refused")
    assert refusal.citation == "28 TAC § 22.10"
    assert {f["item"] for f in refusal.data["findings"]} == {"§ 22.10(b)(8)"}
    state = await handle.query(ConsumerRelationshipWorkflow.state)
    assert state.notice_blocked and "22.10(b)" in state.waiting_for
    assert privacy.stack.smtp.recorder.received == [] and privacy.store.deliveries_of("REL-LINT") == []
    await handle.signal(ConsumerRelationshipWorkflow.policy_changed, PolicyChange(policy_version="v2"))
    (sent,) = await privacy.wait_for("REL-LINT", "initial_notice.sent")
    assert sent.data["policy_version"] == "v2"
    assert len(privacy.stack.smtp.recorder.received) == 1
    privacy.stack.verify()
    await privacy.save_history("privacy_lint_refused", handle)


async def _runs(privacy: Privacy, relationship_id: str) -> set[str]:
    return {e.run_id for e in privacy.entries(relationship_id)}


async def test_annual_notice_every_calendar_year_over_three_years_each_cycle_a_new_run_22_9_a(privacy: Privacy) -> None:
    c = consumer("C-6", n=6)
    rel = relationship("REL-ANNUAL", "C-6")
    privacy.register([policy_record("v1")], [c], [rel])
    handle = await privacy.start(rel, max_history_events=400)
    await privacy.wait_for("REL-ANNUAL", "initial_notice.sent")
    first = await privacy.state_when(handle, lambda st: st.next_annual_due is not None)
    initial_year = first.initial_notice_on.year
    # § 22.9(a): initial notice in year 1 → annual notice by December 31 of year 2, then every year.
    assert first.next_annual_due.isoformat() == f"{initial_year + 1}-12-31"
    assert privacy.store.get_relationship("REL-ANNUAL").next_annual_due == first.next_annual_due
    now = await privacy.stack.now()
    target = first.next_annual_send_at + timedelta(days=2 * 366 + 1)
    await privacy.stack.skip(target - now)
    annual = await privacy.wait_for("REL-ANNUAL", "annual_notice.sent", count=3)
    periods = [e.data["notice_id"] for e in annual]
    assert periods == [f"annual-{initial_year + k}-12-31" for k in (1, 2, 3)]
    assert all(e.citation.startswith("28 TAC § 22.9(a)") for e in annual)
    # Each annual cycle ends its run: the next run carries the state on (continue-as-new).
    assert len({e.run_id for e in annual}) == 3
    state = await privacy.state_when(handle, lambda st: st.annual_notices_given == 3)
    assert state.runs >= 4
    assert state.next_annual_due.isoformat() == f"{initial_year + 4}-12-31"
    assert [d.kind for d in state.deliveries] == [NoticeKind.INITIAL, NoticeKind.ANNUAL, NoticeKind.ANNUAL, NoticeKind.ANNUAL]
    history = await handle.fetch_history()
    assert len(history.events) < 100
    assert "annual_notice.overdue" not in privacy.types("REL-ANNUAL")
    privacy.assert_no_npi("REL-ANNUAL", [c])
    privacy.stack.verify()
    await privacy.save_history("privacy_annual_cycles", handle)


async def test_returned_mail_and_a_failed_address_search_end_the_relationship_and_stop_annual_notices_22_9_b_3(
    privacy: Privacy,
) -> None:
    from models.privacy_lifecycle import CloseRelationship, RelationshipEvent, ReturnedMail

    c = consumer("C-7", n=7)
    rel = relationship("REL-RETURNED", "C-7")
    privacy.register([policy_record("v1")], [c], [rel])
    handle = await privacy.start(rel)
    await privacy.wait_for("REL-RETURNED", "initial_notice.sent")
    today = (await privacy.state_when(handle, lambda st: st.initial_notice_on is not None)).initial_notice_on
    early = RelationshipEvent(kind="address_search_failed", on=today, recorded_by="ops")
    assert await refused(handle, ConsumerRelationshipWorkflow.record_relationship_event, early) == ("returned_mail_not_recorded", "kind")
    assert await refused(handle, ConsumerRelationshipWorkflow.close, CloseRelationship(reason="x", closed_by="ops")) == (
        "customer_relationship_not_ended", None
    )
    await privacy.stack.skip(timedelta(days=8))
    returned_on = today + timedelta(days=6)
    state = await handle.execute_update(
        ConsumerRelationshipWorkflow.report_returned_mail,
        ReturnedMail(notice_id="initial-v1", returned_on=returned_on, address_search_failed_on=returned_on + timedelta(days=1), recorded_by="ops"),
    )
    assert state.deliveries[0].status is DeliveryStatus.RETURNED
    (ended,) = await privacy.wait_for("REL-RETURNED", "privacy_relationship.ended")
    assert ended.citation == "28 TAC § 22.9(b)(3)" and ended.data["ended_on"] == (returned_on + timedelta(days=1)).isoformat()
    # The entry is written before the workflow changes its stage, so the query may land in between.
    state = await privacy.state_when(handle, lambda st: st.stage is not RelationshipStage.CUSTOMER)
    assert state.stage is RelationshipStage.FORMER_CUSTOMER and state.next_annual_due is None
    # The store (the read model the gate and the sweeps read) follows the workflow's own step.
    from tests.workflows.conftest import eventually

    async def stored_as_former() -> Any:
        record = privacy.store.get_relationship("REL-RETURNED")
        return record if record.stage is RelationshipStage.FORMER_CUSTOMER else None

    record = await eventually(stored_as_former)
    assert record.next_annual_due is None
    # The returned notice gave no actual notice: its opt-out window opens nothing.
    await privacy.stack.skip(timedelta(days=30))
    (void,) = await privacy.wait_for("REL-RETURNED", "opt_out.window_void")
    assert void.citation == "28 TAC § 22.13(a)"
    assert privacy.store.openings_of("REL-RETURNED") == []
    # Two years on: still no annual notice.
    await privacy.stack.skip(timedelta(days=2 * 366))
    assert "annual_notice.sent" not in privacy.types("REL-RETURNED")
    assert privacy.store.annual_due_page(today + timedelta(days=3 * 366)) == []
    await handle.execute_update(ConsumerRelationshipWorkflow.close, CloseRelationship(reason="records retained", closed_by="ops"))
    final = await handle.result()
    assert final.stage is RelationshipStage.CLOSED
    privacy.stack.verify()
    await privacy.save_history("privacy_returned_mail", handle)


async def test_a_lapsed_policy_ends_the_relationship_after_12_months_without_communication_22_9_b_2(privacy: Privacy) -> None:
    from models.privacy_lifecycle import RelationshipEvent

    c = consumer("C-8", n=8)
    rel = relationship("REL-LAPSE", "C-8")
    privacy.register([policy_record("v1")], [c], [rel])
    handle = await privacy.start(rel)
    await privacy.wait_for("REL-LAPSE", "initial_notice.sent")
    lapsed_on = (await privacy.state_when(handle, lambda st: st.initial_notice_on is not None)).initial_notice_on
    await handle.execute_update(
        ConsumerRelationshipWorkflow.record_relationship_event, RelationshipEvent(kind="policy_not_in_force", on=lapsed_on, recorded_by="ops")
    )
    await privacy.stack.skip(timedelta(days=200))
    talked_on = lapsed_on + timedelta(days=150)
    await handle.execute_update(
        ConsumerRelationshipWorkflow.record_relationship_event, RelationshipEvent(kind="communication", on=talked_on, recorded_by="ops")
    )
    await privacy.stack.skip(timedelta(days=310))  # 360 days after the last communication
    assert "privacy_relationship.ended" not in privacy.types("REL-LAPSE")
    await privacy.stack.skip(timedelta(days=10))
    (ended,) = await privacy.wait_for("REL-LAPSE", "privacy_relationship.ended")
    assert ended.citation == "28 TAC § 22.9(b)(2)"
    assert ended.data["ended_on"] == talked_on.replace(year=talked_on.year + 1).isoformat()
    privacy.stack.verify()


async def test_isolated_transaction_the_consumer_decides_before_completion_and_gets_no_annual_notice_22_14_b_3(
    privacy: Privacy,
) -> None:
    from models.privacy_lifecycle import CompleteTransaction, RelationshipEvent

    c = consumer("C-9", n=9)
    rel = relationship("REL-QUOTE", "C-9", customer=False, isolated_transaction=True)
    privacy.register([policy_record("v1")], [c], [rel])
    now = await privacy.stack.now()
    handle = await privacy.start(
        rel, transaction_notice={"notice_id": "quote-notice", "channel": "electronic", "presented_at": now.isoformat(),
                                 "acknowledged_at": now.isoformat()},
    )
    (presented,) = await privacy.wait_for("REL-QUOTE", "initial_notice.presented")
    assert presented.citation == "28 TAC § 22.13(b)(4); 28 TAC § 22.14(b)(3)"
    pending = await handle.execute_update(ConsumerRelationshipWorkflow.decide_disclosure, question("Q-1"))
    assert not pending.allowed and pending.rule_id == "tx.disclosure.conditions"
    lapse = RelationshipEvent(kind="no_longer_policyholder", on=now.date(), recorded_by="ops")
    assert await refused(handle, ConsumerRelationshipWorkflow.record_relationship_event, lapse) == (
        "relationship_event_needs_customer", "kind"
    )
    await privacy.stack.skip(timedelta(hours=2))
    await handle.execute_update(ConsumerRelationshipWorkflow.complete_transaction, CompleteTransaction(recorded_by="agent"))
    (closed,) = await privacy.wait_for("REL-QUOTE", "opt_out.window_closed")
    assert closed.data["outcome"] == "opened"
    allowed = await handle.execute_update(ConsumerRelationshipWorkflow.decide_disclosure, question("Q-2"))
    assert allowed.allowed and allowed.rule_id == "tx.opt_out.reasonable_opportunity.isolated"
    state = await handle.query(ConsumerRelationshipWorkflow.state)
    assert state.next_annual_due is None and state.stage is RelationshipStage.ISOLATED_TRANSACTION
    await privacy.stack.skip(timedelta(days=400))
    assert not any(t.startswith("annual_notice") for t in privacy.types("REL-QUOTE"))
    privacy.stack.verify()
    await privacy.save_history("privacy_isolated_transaction", handle)


async def test_a_consumer_no_channel_reaches_is_held_not_retried_in_a_loop_until_contact_data_is_corrected_22_13_a(
    privacy: Privacy,
) -> None:
    unreachable = consumer("C-10", postal=False, electronic=False, n=10)  # e-mail, but never agreed to it
    rel = relationship("REL-UNREACHABLE", "C-10")
    privacy.register([policy_record("v1")], [unreachable], [rel])
    handle = await privacy.start(rel)
    (held,) = await privacy.wait_for("REL-UNREACHABLE", "initial_notice.undeliverable")
    assert held.data["status"] == "undeliverable" and "(e)" in held.citation
    await privacy.stack.skip(timedelta(days=3))
    state = await handle.query(ConsumerRelationshipWorkflow.state)
    assert state.notice_blocked and state.waiting_for.startswith("a person:")
    assert privacy.types("REL-UNREACHABLE").count("initial_notice.undeliverable") == 1
    assert privacy.stack.smtp.recorder.received == []
    privacy.store.upsert_consumers([consumer("C-10", n=10)])  # a postal address found
    await handle.execute_update(ConsumerRelationshipWorkflow.retry_notices, "ops")
    (sent,) = await privacy.wait_for("REL-UNREACHABLE", "initial_notice.sent")
    assert sent.data["channel"] == "mail" and sent.data["notice_id"] == "initial-v1-r1"
    assert await refused(handle, ConsumerRelationshipWorkflow.retry_notices, "ops") == ("no_notice_held", "notice_blocked")
    privacy.stack.verify()


async def test_a_consumer_gets_notices_before_a_planned_disclosure_even_after_a_held_notice_and_its_window_closes_22_8_a_2(
    privacy: Privacy,
) -> None:
    unreachable = consumer("C-11", postal=False, electronic=False, n=11)
    rel = relationship("REL-PLANNED", "C-11", customer=False)
    direct = relationship("REL-PLANNED-2", "C-12", customer=False)
    privacy.register([policy_record("v1")], [unreachable, consumer("C-12", n=12)], [rel, direct])
    reached = await privacy.start(direct)
    await privacy.wait_for("REL-PLANNED-2", "initial_notice.not_yet_owed")
    await reached.execute_update(ConsumerRelationshipWorkflow.notify_before_disclosure, "ops")
    handle = await privacy.start(rel)
    await privacy.wait_for("REL-PLANNED", "initial_notice.not_yet_owed")
    state = await handle.execute_update(ConsumerRelationshipWorkflow.notify_before_disclosure, "ops")
    assert state.notice_blocked and state.initial_notice_on is None
    assert await refused(handle, ConsumerRelationshipWorkflow.notify_before_disclosure, "ops") == ("notice_held", "notice_blocked")
    privacy.store.upsert_consumers([consumer("C-11", n=11)])  # a postal address found
    await handle.execute_update(ConsumerRelationshipWorkflow.retry_notices, "ops")
    (sent,) = await privacy.wait_for("REL-PLANNED", "initial_notice.sent")
    assert sent.data["notice_id"] == "initial-v1-r1" and sent.citation.startswith("28 TAC § 22.8(a)")
    await privacy.wait_for("REL-PLANNED", "opt_out.window_opened")
    await privacy.stack.skip(timedelta(days=31))
    (closed,) = await privacy.wait_for("REL-PLANNED", "opt_out.window_closed")
    assert closed.data["outcome"] == "opened"
    (closed,) = await privacy.wait_for("REL-PLANNED-2", "opt_out.window_closed")
    assert closed.data["outcome"] == "opened"
    privacy.stack.verify()
