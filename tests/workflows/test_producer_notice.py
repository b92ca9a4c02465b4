"""ProducerNoticeWorkflow on the real worker, ledger and SMTP server: a state's producer notice is
met only when every producer of record of that state's affected consumers on the roster was
e-mailed (Tenn. Code Ann. § 56-2-1006(f)), one e-mail per producer per event."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

from models.lifecycle import NoticeSetup, ObligationStatus
from rules.registry import verifies
from tests.workflows.conftest import NOTICES, Stack
from tests.workflows.notice_helpers import (
    affected,
    entries,
    event,
    obligation_for,
    start_obligation,
    until,
    until_confirmed,
)

PRODUCERS = NoticeSetup.model_validate(
    {
        **NOTICES.model_dump(mode="json"),
        "producers": [
            {"producer_id": "P-1001", "name": "Volunteer Insurance Agency", "email": "p1001@agency.example"},
            {"producer_id": "P-1002", "name": "Bluegrass Brokers", "email": "p1002@agency.example"},
            {"producer_id": "P-1003", "name": "First State Agency", "email": "p1003@agency.example"},
        ],
    }
)
STATES = ("TN", "KY", "DE")


def consumer(n: int, state: str, producer: str | None) -> dict[str, Any]:
    row: dict[str, Any] = {"consumer_id": f"C-{state}-{n}", "state": state, "name": f"Person {state} {n}",
                           "address_line1": f"{n} Main St", "city": "Springfield", "region": state, "postal_code": "37201"}
    if producer:
        row["producer_of_record"] = producer
    return row


async def _run_states(stack: Stack, incident_id: str, roster: list[dict[str, Any]]) -> dict[str, Any]:
    now = await stack.now()
    intake = event(now, incident_id, [affected(s, sum(1 for r in roster if r["state"] == s)) for s in STATES])
    stack.store_roster(f"{incident_id}-roster", roster)
    obs = {s: obligation_for(intake, "producer_notice", s) for s in STATES}
    handles = await asyncio.gather(
        *(start_obligation(stack, intake, obs[s], PRODUCERS, roster_id=f"{incident_id}-roster") for s in STATES)
    )
    return {"obligations": obs, "handles": dict(zip(STATES, handles, strict=True))}


def _met(stack: Stack, incident_id: str, obligation_id: str) -> dict[str, Any]:
    (met,) = entries(stack, incident_id, "producer_notice.met", obligation_id)
    return met


@verifies("tn.producer_notice")
async def test_each_states_producer_notice_is_met_only_by_e_mails_to_its_own_producers_56_2_1006_f(stack: Stack) -> None:
    run = await _run_states(
        stack, "INC-PROD-3", [consumer(1, "TN", "P-1001"), consumer(2, "TN", "P-1001"), consumer(1, "KY", "P-1002"), consumer(1, "DE", "P-1003")]
    )
    for st in await until_confirmed(stack, *(run["handles"][s] for s in STATES)):
        assert st.status is ObligationStatus.MET
    assert Counter(stack.smtp.recorder.recipients()) == {
        "p1001@agency.example": 1, "p1002@agency.example": 1, "p1003@agency.example": 1
    }
    expected = {"TN": (["P-1001"], 2), "KY": (["P-1002"], 1), "DE": (["P-1003"], 1)}
    for s, (producers, consumers) in expected.items():
        met = _met(stack, "INC-PROD-3", run["obligations"][s].obligation_id)
        assert (met["producers_notified"], met["consumers"]) == (producers, consumers)
        assert "excused" not in met
    stack.verify()


@verifies("tn.producer_notice")
async def test_a_producer_of_record_in_two_states_gets_one_e_mail_and_both_obligations_list_it_56_2_1006_f(stack: Stack) -> None:
    run = await _run_states(
        stack, "INC-PROD-SHARED", [consumer(1, "TN", "P-1002"), consumer(1, "KY", "P-1002"), consumer(1, "DE", "P-1003")]
    )
    for st in await until_confirmed(stack, *(run["handles"][s] for s in STATES)):
        assert st.status is ObligationStatus.MET
    assert Counter(stack.smtp.recorder.recipients()) == {"p1002@agency.example": 1, "p1003@agency.example": 1}
    body = next(m for m in stack.smtp.recorder.messages() if m["To"] == "p1002@agency.example").get_body(("plain",)).get_content()
    assert "2 of your clients residing in Kentucky and Tennessee" in body
    for s in ("TN", "KY"):
        assert _met(stack, "INC-PROD-SHARED", run["obligations"][s].obligation_id)["producers_notified"] == ["P-1002"]


@verifies("tn.producer_notice")
async def test_a_producer_id_missing_from_the_directory_leaves_the_notice_open_for_a_person_56_2_1006_f(stack: Stack) -> None:
    now = await stack.now()
    intake = event(now, "INC-PROD-UNKNOWN", [affected("TN", 2)])
    stack.store_roster("INC-PROD-UNKNOWN-roster", [consumer(1, "TN", "P-1001"), consumer(2, "TN", "P-7777")])
    ob = obligation_for(intake, "producer_notice", "TN")
    handle = await start_obligation(stack, intake, ob, PRODUCERS, roster_id="INC-PROD-UNKNOWN-roster")
    st = await until(handle, lambda st: "P-7777" in st.waiting_for)
    assert st.status is ObligationStatus.PENDING
    assert st.waiting_for.startswith("a person: producer(s) P-7777 named on the roster are not in the producer directory")
    (delivered,) = entries(stack, "INC-PROD-UNKNOWN", "producer_notice.delivered", ob.obligation_id)
    assert (delivered["producers"], delivered["producers_notified"], delivered["unknown_producers"]) == (
        ["P-1001", "P-7777"], ["P-1001"], ["P-7777"]
    )
    assert not entries(stack, "INC-PROD-UNKNOWN", "producer_notice.met", ob.obligation_id)
    assert stack.smtp.recorder.recipients() == ["p1001@agency.example"]


@verifies("tn.producer_notice")
async def test_consumers_without_a_producer_of_record_excuse_that_part_and_the_met_entry_counts_them_56_2_1006_f(
    stack: Stack,
) -> None:
    now = await stack.now()
    intake = event(now, "INC-PROD-EXCUSED", [affected("TN", 3)])
    stack.store_roster("INC-PROD-EXCUSED-roster", [consumer(1, "TN", "P-1001"), consumer(2, "TN", None), consumer(3, "TN", None)])
    ob = obligation_for(intake, "producer_notice", "TN")
    handle = await start_obligation(stack, intake, ob, PRODUCERS, roster_id="INC-PROD-EXCUSED-roster")
    (st,) = await until_confirmed(stack, handle)
    assert st.status is ObligationStatus.MET
    met = _met(stack, "INC-PROD-EXCUSED", ob.obligation_id)
    assert (met["producers_notified"], met["consumers"], met["consumers_with_producer"]) == (["P-1001"], 3, 1)
    assert met["excused"]["consumers_without_producer"] == 2
    assert met["excused"]["citation"] == ob.citation and "56-2-1006(f)" in ob.citation
