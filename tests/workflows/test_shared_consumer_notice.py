"""One consumer notice under two laws, end to end: the event workflow, its children, the real
worker, ledger, SMTP relay and print outbox on the time-skipping server.

Issue 12: "Where an insurance act and a general law both apply to the same residents, both
obligations exist, the earlier deadline governs the delivery, and the report says which laws each
notice satisfies." DE (verified): "consumer notice ≤ 60 days" under 18 Del. C. §§ 8601–8611. No row
of JURISDICTIONS.md has both an insurance act's consumer clock and a general breach law yet, so
Delaware is given a stand-in general law for these tests (as in
tests/rules/test_general_law_reach.py). The obligations are computed in the worker by the local
activity ``compute_obligations`` — in this process — so the patched table reaches it; the patch is
installed before the event is determined and undone only after the worker has stopped.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import timedelta
from types import MappingProxyType
from typing import Any

import pytest

from models.common import Clock, ClockUnit, RuleStatus
from models.lifecycle import (
    ApproveConsumerNotice,
    AttachRoster,
    Determination,
    ObligationState,
    ObligationStatus,
)
from models.obligation import LawRegime
from rules import breach_laws
from rules.breach_laws import BreachLaw, ClockBasis, ConsumerClock
from rules.jurisdictions import Provision
from rules.registry import verifies
from tests.workflows.conftest import Stack, eventually, make_intake
from tests.workflows.notice_helpers import affected
from workflows.incident import CybersecurityEventWorkflow as Event

DETERMINED = Determination(is_cybersecurity_event=True, decided_by="jdoe", reason="Unencrypted SSNs were exfiltrated.")
ACT = "DE: 18 Del. C. §§ 8601–8611"
STAND_IN = "DE: Stand-in general breach law (test)"
#: NOTICEFLOW_BOUNCE_WINDOW_DAYS (3 days), and an hour.
WINDOW = timedelta(days=3, hours=1)

#: Three Delaware residents: two agreed to e-mail, one has a postal address only.
ROSTER = [
    {"consumer_id": "C-DE-1", "state": "DE", "name": "Avery Lane", "email": "avery@example.net", "electronic_consent": True,
     "address_line1": "12 Market St", "city": "Wilmington", "region": "DE", "postal_code": "19801", "producer_of_record": "P-100"},
    {"consumer_id": "C-DE-2", "state": "DE", "name": "Blake Moss", "email": "blake@example.net", "electronic_consent": True,
     "address_line1": "9 Loockerman St", "city": "Dover", "region": "DE", "postal_code": "19901", "producer_of_record": "P-100"},
    {"consumer_id": "C-DE-3", "state": "DE", "name": "Casey Fox", "address_line1": "4 Front St", "city": "Milford",
     "region": "DE", "postal_code": "19963"},
]
CONSUMER_EMAILS = {"avery@example.net", "blake@example.net"}


@pytest.fixture
def de_general_law(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[int], BreachLaw]]:
    """Installs, for one test, a general breach law for Delaware whose consumer notice is due
    ``days`` calendar days after discovery. Requested before ``stack``, it is undone after the
    worker (whose local activity reads the table) has stopped."""

    def install(days: int) -> BreachLaw:
        law = BreachLaw(
            state="DE",
            consumer=Provision("breach_law.de.test_stand_in", "Stand-in general breach law (test)", RuleStatus.VERIFIED,
                               Clock(amount=days, unit=ClockUnit.CALENDAR_DAYS)),
            consumer_text=f"≤ {days} days after discovery (stand-in)",
            consumer_clock=ConsumerClock.DAYS,
            consumer_basis=ClockBasis.DISCOVERY,
        )  # fmt: skip
        monkeypatch.setattr(breach_laws, "BREACH_LAWS", MappingProxyType({**breach_laws.BREACH_LAWS, "DE": (law,)}))
        return law

    original = breach_laws.BREACH_LAWS
    yield install
    monkeypatch.undo()
    assert breach_laws.BREACH_LAWS is original and "DE" not in breach_laws.BREACH_LAWS


def _delaware_event(now: Any, incident_id: str) -> Any:
    """A Delaware-domiciled insurer whose event touches Delaware residents only."""
    base = make_intake(now, incident_id=incident_id)
    licensee = {**base.licensee.model_dump(mode="json"), "domicile_state": "DE", "home_state": "DE",
                "timezone": "America/New_York"}
    return make_intake(now, incident_id=incident_id, licensee=licensee,
                       affected=[affected("DE", 3, with_email=2, electronic_primary_channel=True)])


async def _obligations(handle: Any) -> dict[str, ObligationState]:
    state = await handle.query(Event.state)
    return {o.obligation.obligation_id: o for o in state.obligations}


async def _until(handle: Any, obligation_id: str, *statuses: ObligationStatus) -> ObligationState:
    async def reached() -> ObligationState | None:
        st = (await _obligations(handle))[obligation_id]
        return st if st.status in statuses else None

    reached.__name__ = f"{obligation_id} in {[s.value for s in statuses]}"
    return await eventually(reached, timeout=60)


def _of(stack: Stack, incident_id: str, type_: str, obligation_id: str) -> list[Any]:
    return [e for e in stack.entries(incident_id) if e.type == type_ and e.data.get("obligation_id") == obligation_id]


def _letters(stack: Stack) -> list[str]:
    """Rows of the print vendor's mailing manifests: one a letter."""
    return [line for m in (stack.settings.outbox_dir / "print").rglob("manifest.csv") for line in m.read_text().splitlines()[1:]]


async def _one_delivery_for_two_laws(
    stack: Stack, incident_id: str, *, lead_regime: LawRegime, history: str | None = None
) -> None:
    handle = await stack.start(_delaware_event(await stack.now(), incident_id))
    state = await handle.execute_update(Event.determine, DETERMINED)
    consumer = [o.obligation for o in state.obligations if o.obligation.kind.value == "consumer_notice"]
    assert {o.jurisdiction for o in consumer} == {"DE"} and len(consumer) == 2, "both laws' obligations exist"
    general_id = f"{incident_id}:consumer_notice:DE:consumers:DE:general_law"
    act_id = f"{incident_id}:consumer_notice:DE:consumers:DE"
    by_id = {o.obligation_id: o for o in consumer}
    assert set(by_id) == {general_id, act_id}
    general, act = by_id[general_id], by_id[act_id]
    assert (general.regime, act.regime) == (LawRegime.GENERAL_BREACH_LAW, LawRegime.INSURANCE_DATA_SECURITY)
    assert general.recipient_key == act.recipient_key == "consumers:DE"
    lead, follower = (general, act) if lead_regime is LawRegime.GENERAL_BREACH_LAW else (act, general)
    assert lead.due < follower.due, "the lead is the one due first"
    # Both name both laws, the law of the one due first (whose delivery it is) first.
    laws = [STAND_IN, ACT] if lead is general else [ACT, STAND_IN]
    assert general.laws_satisfied == act.laws_satisfied == laws

    # The one due first delivers; the other waits for that delivery (the event workflow's grouping).
    waiting = await eventually(
        lambda: _follower_waiting(handle, follower.obligation_id, lead.obligation_id), timeout=60
    )
    assert waiting.status is ObligationStatus.PENDING

    # The commissioner's report is filed and acknowledged (met on the regulator's acknowledgement).
    commissioner_id = f"{incident_id}:commissioner_notice:DE:commissioner:DE"
    await _until(handle, commissioner_id, ObligationStatus.SENT)
    await stack.acknowledge_filings(incident_id)
    await _until(handle, commissioner_id, ObligationStatus.MET)

    stack.store_roster(f"{incident_id}-r1", ROSTER)
    await handle.execute_update(Event.attach_roster, AttachRoster(roster_id=f"{incident_id}-r1", attached_by="jdoe"))
    await handle.execute_update(Event.approve_consumer_notice, ApproveConsumerNotice(approved_by="cco"))
    await _until(handle, lead.obligation_id, ObligationStatus.SENT)
    await eventually(lambda: _updated_report_filed(stack, incident_id), timeout=60)
    await stack.acknowledge_filings(incident_id)  # the updated report carrying item (N)
    await stack.skip(WINDOW)  # no hard bounce within the window: the e-mails are confirmed
    lead_state = await _until(handle, lead.obligation_id, ObligationStatus.MET)
    follower_state = await _until(handle, follower.obligation_id, ObligationStatus.MET)
    # A second copy of the notice would be filed within moments of the follower's being met (before
    # the patch "notice-copy-once" it was, as v3): give it the time to show.
    await asyncio.sleep(3)
    await _until(handle, commissioner_id, ObligationStatus.MET)

    # One delivery: each consumer notified once, on one channel — not once per law.
    consumer_mail = Counter(r for r in stack.smtp.recorder.recipients() if r in CONSUMER_EMAILS)
    assert consumer_mail == {"avery@example.net": 1, "blake@example.net": 1}
    letters = _letters(stack)
    assert len(letters) == 1 and "Casey Fox" in letters[0]
    assert len(_of(stack, incident_id, "consumer_notice.delivered", lead.obligation_id)) == 1
    assert _of(stack, incident_id, "consumer_notice.delivered", follower.obligation_id) == []

    # Both met, given when the shared delivery was sent; the follower says by whose delivery.
    assert follower_state.sent_at == lead_state.sent_at <= lead.due
    assert follower_state.confirmed_at == lead_state.confirmed_at
    (sent,) = _of(stack, incident_id, "consumer_notice.sent", follower.obligation_id)
    assert sent.data["evidence"]["delivered_with"] == lead.obligation_id and sent.data["on_time"] is True
    (met,) = _of(stack, incident_id, "consumer_notice.met", follower.obligation_id)
    assert met.data["delivered_with"] == lead.obligation_id and met.data["on_time"] is True
    assert met.citation == follower.citation  # each obligation keeps its own section
    assert met.data["documents"] == [d.sha256 for d in lead_state.documents][:20] and met.data["documents"]
    (lead_met,) = _of(stack, incident_id, "consumer_notice.met", lead.obligation_id)
    assert "delivered_with" not in lead_met.data
    for ob in (lead, follower):
        (opened,) = _of(stack, incident_id, "consumer_notice.opened", ob.obligation_id)
        assert opened.data["laws_satisfied"] == laws

    # Item (N), the copy of the consumer notice sent, goes to the commissioner once.
    updates = [e for e in stack.entries(incident_id) if e.type == "commissioner_notice.updated"]
    copies = [s for e in updates for s in e.data["steps"] if s.startswith("notice-copy/")]
    assert copies == [f"notice-copy/{lead.obligation_id}"]
    assert len(updates) == 1
    filings = [p for p in (stack.settings.outbox_dir / "regulators" / "DE").rglob("submission.json")]
    assert len(filings) == 2, "the initial report and one update"
    stack.verify()
    if history:  # the patch "notice-copy-once" taken: tests/workflows/test_replay.py replays it
        await stack.save_histories(history, handle)


async def _updated_report_filed(stack: Stack, incident_id: str) -> bool:
    return any(e.type == "commissioner_notice.updated" for e in stack.entries(incident_id))


async def _follower_waiting(handle: Any, follower_id: str, lead_id: str) -> ObligationState | None:
    st = (await _obligations(handle)).get(follower_id)
    return st if st is not None and st.waiting_for == f"the delivery made for {lead_id}" else None


@verifies("engine.breach_law.governs_consumer_notice", "engine.breach_law.laws_satisfied", "de.consumer_notice.deadline")
async def test_a_general_law_due_before_the_act_leads_the_one_delivery_that_meets_both(
    de_general_law: Callable[[int], BreachLaw], stack: Stack
) -> None:
    """Stand-in: 30 days after discovery; DE's act: "consumer notice ≤ 60 days" after the determination."""
    de_general_law(30)
    await _one_delivery_for_two_laws(stack, "INC-DE-GL-EARLY", lead_regime=LawRegime.GENERAL_BREACH_LAW,
                                      history="shared_consumer_notice")


@verifies("engine.breach_law.governs_consumer_notice", "engine.breach_law.laws_satisfied", "de.consumer_notice.deadline")
async def test_an_act_due_before_the_general_law_leads_the_one_delivery_that_meets_both(
    de_general_law: Callable[[int], BreachLaw], stack: Stack
) -> None:
    """Stand-in: 90 days after discovery, later than DE's "consumer notice ≤ 60 days": the act leads."""
    de_general_law(90)
    await _one_delivery_for_two_laws(stack, "INC-DE-GL-LATE", lead_regime=LawRegime.INSURANCE_DATA_SECURITY)


@verifies("engine.breach_law.laws_satisfied", "de.consumer_notice.deadline")
async def test_the_obligation_met_by_another_delivery_is_given_when_that_delivery_is_sent_never_overdue_meanwhile(
    de_general_law: Callable[[int], BreachLaw], stack: Stack
) -> None:
    """The shared delivery goes out late for the lead (the stand-in's 30 days) but before the act's
    60 days; its confirmation (the bounce window) ends after the act's deadline. The follower is
    given when the delivery is sent (patch "sibling-sent"): it records ``sent``, on time, at once,
    and never an ``overdue`` turn or alert while the confirmation is awaited — before the patch it
    heard only of the lead's ``met``, after its own deadline, and was ledgered overdue meanwhile."""
    de_general_law(30)
    incident_id = "INC-DE-GL-SENT"
    handle = await stack.start(_delaware_event(await stack.now(), incident_id))
    state = await handle.execute_update(Event.determine, DETERMINED)
    by_id = {o.obligation.obligation_id: o.obligation for o in state.obligations}
    lead = by_id[f"{incident_id}:consumer_notice:DE:consumers:DE:general_law"]
    follower = by_id[f"{incident_id}:consumer_notice:DE:consumers:DE"]
    commissioner_id = f"{incident_id}:commissioner_notice:DE:commissioner:DE"
    await _until(handle, commissioner_id, ObligationStatus.SENT)
    await stack.acknowledge_filings(incident_id)
    await _until(handle, commissioner_id, ObligationStatus.MET)

    # Two days before the act's deadline — the lead's long past — the notice is approved and sent.
    await stack.skip(follower.due - await stack.now() - timedelta(days=2))
    stack.store_roster(f"{incident_id}-r1", ROSTER)
    await handle.execute_update(Event.attach_roster, AttachRoster(roster_id=f"{incident_id}-r1", attached_by="jdoe"))
    await handle.execute_update(Event.approve_consumer_notice, ApproveConsumerNotice(approved_by="cco"))
    lead_sent = await _until(handle, lead.obligation_id, ObligationStatus.SENT)
    given = await _until(handle, follower.obligation_id, ObligationStatus.SENT)
    assert given.sent_at == lead_sent.sent_at < follower.due
    assert given.waiting_for == f"confirmation of the delivery made for {lead.obligation_id}"
    (sent,) = _of(stack, incident_id, "consumer_notice.sent", follower.obligation_id)
    assert sent.data["on_time"] is True and sent.data["evidence"]["delivered_with"] == lead.obligation_id

    await stack.skip(WINDOW)  # past the act's deadline while the confirmation is awaited
    lead_state = await _until(handle, lead.obligation_id, ObligationStatus.MET_LATE)
    follower_state = await _until(handle, follower.obligation_id, ObligationStatus.MET)
    assert follower_state.sent_at == lead_state.sent_at and follower_state.confirmed_at == lead_state.confirmed_at
    assert _of(stack, incident_id, "consumer_notice.overdue", follower.obligation_id) == []
    assert _of(stack, incident_id, "consumer_notice.overdue", lead.obligation_id)  # the lead's was real
    assert len(_of(stack, incident_id, "consumer_notice.sent", follower.obligation_id)) == 1  # not again at met
    (met,) = _of(stack, incident_id, "consumer_notice.met", follower.obligation_id)
    assert met.data["on_time"] is True and met.data["delivered_with"] == lead.obligation_id
    stack.verify()
