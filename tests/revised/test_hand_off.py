"""A revised notice reaches a relationship whose own lifecycle runs: the new policy is put in
force there and the revised notice's reasonable opportunity runs there, so the relationship's
disclosure gate refuses the newly described disclosure until that window has passed
(28 TAC §§ 22.12, 22.14) — the same answer the revised-notice run's openings give."""

from __future__ import annotations

from datetime import timedelta

from models.privacy_lifecycle import GateQuestion, OpeningStatus
from models.revised_notice import RevisedPhase
from tests.privacy.conftest import Privacy
from tests.revised.conftest import Population, SmtpServer, eventually, relationship_id
from tests.workflows.conftest import Stack
from workflows.privacy_relationship import ConsumerRelationshipWorkflow, relationship_workflow_id

#: What v2 newly discloses: consumer report information to financial service providers (§ 22.12(b)(1)).
NEW_DISCLOSURE = {
    "npi_category": "consumer report information",
    "purpose": "direct_mail_marketing",
    "recipient": {"name": "Pecos Premium Finance", "kind": "nonaffiliated_third_party", "category": "financial service providers"},
    "asked_by": "analyst",
}


def ask(request_id: str) -> GateQuestion:
    return GateQuestion.model_validate({"request_id": request_id, **NEW_DISCLOSURE})


async def test_the_relationship_gate_allows_the_new_disclosure_only_after_the_revised_notices_window(
    stack: Stack, smtp_server: SmtpServer
) -> None:
    pop = Population(stack)
    pop.register(2, email_every=0)  # two customers under v1, both reached by post
    privacy = Privacy(stack)
    running = relationship_id(0)  # its lifecycle runs; relationship 1 has none
    handle = await privacy.start(pop.store.get_relationship(running))
    await privacy.wait_for(running, "opt_out.window_opened")

    async def registered():  # type: ignore[no-untyped-def]
        return pop.store.get_relationship(running).workflow_id

    assert await eventually(registered, timeout=30) == relationship_workflow_id(running)
    await stack.skip(timedelta(days=31))
    await privacy.wait_for(running, "opt_out.window_closed")
    before = await handle.execute_update(ConsumerRelationshipWorkflow.decide_disclosure, ask("Q-v1"))
    assert not before.allowed  # v1 does not describe it

    revised = await pop.start(batch_size=1)

    async def delivered():  # type: ignore[no-untyped-def]
        state = await pop.progress(revised)
        return state if state.phase is RevisedPhase.WAITING_FOR_WINDOWS else None

    state = await eventually(delivered, timeout=60)
    assert state.counts.mail == 2
    (changed,) = await privacy.wait_for(running, "privacy_relationship.policy_changed")
    assert changed.data["from"] == "v1" and changed.data["to"] == "v2"

    async def window_running():  # type: ignore[no-untyped-def]
        rel_state = await handle.query(ConsumerRelationshipWorkflow.state)
        return rel_state if any(w.policy_version == "v2" and not w.closed for w in rel_state.windows) else None

    await eventually(window_running, timeout=30)
    during = await handle.execute_update(ConsumerRelationshipWorkflow.decide_disclosure, ask("Q-window"))
    assert not during.allowed and during.first_allowed_at is not None

    await stack.skip(timedelta(days=31))
    await revised.result()
    after = await handle.execute_update(ConsumerRelationshipWorkflow.decide_disclosure, ask("Q-after"))
    assert after.allowed and after.first_allowed_at == during.first_allowed_at
    (opening,) = [o for o in pop.store.openings_of(running) if o.policy_version == "v2"]
    assert opening.status is OpeningStatus.OPENED
    decided = [(e.data["request_id"], e.data["allowed"]) for e in privacy.entries(running) if e.type == "disclosure.decided"]
    assert decided == [("Q-v1", False), ("Q-window", False), ("Q-after", True)]
    stack.verify()
