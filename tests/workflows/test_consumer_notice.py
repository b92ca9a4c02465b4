"""ConsumerNoticeWorkflow on the real worker, ledger and SMTP server: a state's consumer notice is
met only when every affected consumer of the state's estimate is notified individually or covered
by substitute notice (Tenn. Code Ann. § 56-2-1006(c), (c)(3)), and the ledger says how. (Sent,
then confirmed: tests/workflows/test_consumer_notice_confirmation.py.)"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from decimal import Decimal
from typing import Any

from models.lifecycle import ObligationStatus
from rules.registry import verifies
from tests.workflows.conftest import NOTICES, Stack
from tests.workflows.notice_helpers import (
    affected,
    entries,
    event,
    obligation_for,
    start_obligation,
    until,
)

#: NOTICEFLOW_BOUNCE_WINDOW_DAYS (3 days), and an hour.
WINDOW = timedelta(days=3, hours=1)
SHORT = "roster has 4 of 18,400 estimated affected Tennessee residents: attach the corrected roster or record a reconciliation with the reason"


def consumer(n: int, *, email: bool = False, postal: bool = True) -> dict[str, Any]:
    row: dict[str, Any] = {"consumer_id": f"C-TN-{n}", "state": "TN", "name": f"Person Number{n}"}
    if email:
        row["email"] = f"person{n}@example.net"
    if postal:
        row.update({"address_line1": f"{n} Main St", "city": "Nashville", "region": "TN", "postal_code": "37201"})
    return row


async def _start(stack: Stack, incident_id: str, tn: dict[str, Any], roster: list[dict[str, Any]]) -> tuple[Any, Any]:
    intake = event(await stack.now(), incident_id, [tn])
    stack.store_roster(f"{incident_id}-roster", roster)
    ob = obligation_for(intake, "consumer_notice", "TN")
    handle = await start_obligation(stack, intake, ob, NOTICES, roster_id=f"{incident_id}-roster")
    await handle.signal("approve", "cco")
    return ob, handle


@verifies("tn.consumer_notice.method")
async def test_a_roster_short_of_the_estimate_is_not_met_until_a_reconciliation_revises_the_estimate_56_2_1006_c(
    stack: Stack,
) -> None:
    tn = affected("TN", 18_400, with_email=12_100, notice_cost_usd="184000")
    ob, handle = await _start(stack, "INC-CN-SHORT", tn, [consumer(n) for n in range(1, 5)])
    assert ob.method is not None and ob.method.value == "written"
    st = await until(handle, lambda st: st.waiting_for == SHORT)
    assert st.status is ObligationStatus.PENDING
    (delivered,) = entries(stack, "INC-CN-SHORT", "consumer_notice.delivered", ob.obligation_id)
    rec = delivered
    assert (rec["estimate"], rec["on_roster"], rec["notified"], rec["covered_by_substitute"], rec["not_reached"]) == (
        18_400, 4, 4, 0, 18_396
    )
    assert (rec["outcome"], rec["met"], rec["substitute"]) == ("roster_short", False, None)
    assert not entries(stack, "INC-CN-SHORT", "consumer_notice.met", ob.obligation_id)

    # The event workflow's reconcile_consumers step (recorded there with its reason) revises it.
    await handle.signal("estimate_revised", 4)
    await until(handle, lambda st: st.status is ObligationStatus.MET)
    (met,) = entries(stack, "INC-CN-SHORT", "consumer_notice.met", ob.obligation_id)
    assert (met["estimate"], met["estimate_revised_from"], met["on_roster"], met["notified"], met["outcome"]) == (
        4, 18_400, 4, 4, "reconciled"
    )
    (reconciled,) = entries(stack, "INC-CN-SHORT", "consumer_notice.reconciled", ob.obligation_id)
    assert (reconciled["met"], reconciled["estimate"], reconciled["estimate_revisions"]) == (True, 4, 1)
    assert len(list((stack.settings.outbox_dir / "print").rglob("manifest.csv"))) >= 1, "letters were printed once"


@verifies("tn.consumer_notice.method")
async def test_a_corrected_roster_notifies_only_the_consumers_not_yet_reached_and_then_meets_the_notice_56_2_1006_c(
    stack: Stack,
) -> None:
    tn = affected("TN", 3, with_email=3, electronic_primary_channel=True)
    rows = [consumer(n, email=True, postal=False) | {"electronic_consent": True} for n in range(1, 4)]
    ob, handle = await _start(stack, "INC-CN-FIX", tn, rows[:2])
    await until(handle, lambda st: st.waiting_for.startswith("roster has 2 of 3 estimated affected Tennessee residents"))
    stack.store_roster("INC-CN-FIX-roster-2", rows)
    await handle.signal("attach_roster", "INC-CN-FIX-roster-2")
    await until(handle, lambda st: st.status is ObligationStatus.SENT)
    await stack.skip(WINDOW)  # e-mails: confirmed when the bounce window passes without a bounce
    await until(handle, lambda st: st.status is ObligationStatus.MET)
    assert Counter(stack.smtp.recorder.recipients()) == {f"person{n}@example.net": 1 for n in range(1, 4)}
    (met,) = entries(stack, "INC-CN-FIX", "consumer_notice.met", ob.obligation_id)
    assert (met["estimate"], met["on_roster"], met["notified"], met["outcome"]) == (3, 3, 3, "reconciled")


@verifies("tn.consumer_notice.method")
async def test_substitute_notice_on_the_cost_ground_covers_every_affected_consumer_and_records_its_figures_56_2_1006_c_3(
    stack: Stack,
) -> None:
    tn = affected("TN", 18_400, with_email=12_100, notice_cost_usd="300000")
    ob, handle = await _start(
        stack, "INC-CN-COST", tn, [consumer(1, email=True), consumer(2, email=True), consumer(3), consumer(4)]
    )
    assert ob.substitute_notice is not None and ob.substitute_notice.applies_to == "all_affected"
    await until(handle, lambda st: st.status is ObligationStatus.SENT)
    await stack.skip(WINDOW)
    await until(handle, lambda st: st.status is ObligationStatus.MET)
    assert sorted(stack.smtp.recorder.recipients()) == ["person1@example.net", "person2@example.net"]
    (met,) = entries(stack, "INC-CN-COST", "consumer_notice.met", ob.obligation_id)
    assert (met["estimate"], met["on_roster"], met["notified"], met["covered_by_substitute"], met["not_reached"]) == (
        18_400, 4, 2, 18_398, 0
    )
    assert met["outcome"] == "covered_by_substitute"
    ground = met["substitute"]
    assert ground["triggers"] == ["cost_exceeds_threshold"] and ground["applies_to"] == "all_affected"
    assert Decimal(ground["estimated_cost_usd"]) == Decimal(300000) and Decimal(ground["cost_threshold_usd"]) == Decimal(250000)
    assert (ground["affected_class"], ground["class_threshold"]) == (18_400, 500_000)
    assert ground["citation"] == "Tenn. Code Ann. § 56-2-1006(c)(3)"
    assert (ground["website_posted"], ground["media_notified"]) == (True, True)


@verifies("tn.consumer_notice.method")
async def test_substitute_notice_for_want_of_contact_information_does_not_cover_consumers_missing_from_the_roster_56_2_1006_c_3(
    stack: Stack,
) -> None:
    tn = affected("TN", 18_400, with_email=12_100, without_contact=35, notice_cost_usd="184000")
    ob, handle = await _start(stack, "INC-CN-CONTACT", tn, [consumer(1), consumer(2), consumer(3), consumer(4, postal=False)])
    assert ob.substitute_notice is not None and ob.substitute_notice.applies_to == "consumers_without_contact"
    st = await until(handle, lambda st: st.waiting_for == SHORT)
    assert st.status is ObligationStatus.PENDING
    (delivered,) = entries(stack, "INC-CN-CONTACT", "consumer_notice.delivered", ob.obligation_id)
    rec = delivered
    assert (rec["on_roster"], rec["notified"], rec["covered_by_substitute"], rec["outcome"]) == (4, 3, 1, "roster_short")
    ground = rec["substitute"]
    assert ground["triggers"] == ["insufficient_contact_information"]
    assert (ground["without_contact"], ground["without_contact_on_roster"]) == (35, 1)
    assert not entries(stack, "INC-CN-CONTACT", "consumer_notice.met", ob.obligation_id)
