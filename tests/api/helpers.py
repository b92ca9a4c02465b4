"""Shared steps of the API tests: a realistic roster, and waiting for the workflow to move."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
from temporalio.testing import WorkflowEnvironment

#: Six affected consumers in the four states owed a consumer notice: e-mail, postal, both, with
#: and without E-SIGN consent, with and without a producer of record.
ROSTER_CSV = """consumer_id,state,name,email,address_line1,address_line2,city,region,postal_code,country,electronic_consent,producer_of_record
C-TN-0001,TN,Avery Collins,avery.collins@mail.example,12 Elm Street,,Franklin,TN,37064,US,false,P-1001
C-TN-0002,TN,Jordan Price,,88 Oak Avenue,Apt 4,Murfreesboro,TN,37130,US,false,P-1001
C-TN-0003,TN,Riley Sanders,riley.sanders@mail.example,,,,,,,true,
C-MO-0001,MO,Morgan Hayes,morgan.hayes@mail.example,410 Walnut Street,,Columbia,MO,65201,US,false,
C-DE-0001,DE,Casey Doyle,casey.doyle@mail.example,5 Market Street,,Wilmington,DE,19801,US,true,P-1003
C-KY-0001,KY,Taylor Brooks,taylor.brooks@mail.example,22 Main Street,,Lexington,KY,40507,US,false,P-1002
"""

#: Whatever identifies a consumer on that roster: none of it may appear in a response or the ledger.
ROSTER_PII = (
    "C-TN-0001", "C-TN-0002", "C-MO-0001", "C-DE-0001", "C-KY-0001",
    "Avery", "Collins", "Jordan Price", "Riley", "Morgan Hayes", "Casey Doyle", "Taylor Brooks",
    "@mail.example", "Elm Street", "Oak Avenue", "Walnut Street", "Market Street",
)

ROSTER_JSON: list[dict[str, Any]] = [
    {"consumer_id": "C-TN-0001", "state": "TN", "name": "Avery Collins", "email": "avery.collins@mail.example"},
    {
        "consumer_id": "C-TN-0002", "state": "TN", "name": "Jordan Price",
        "address_line1": "88 Oak Avenue", "city": "Murfreesboro", "region": "TN", "postal_code": "37130",
    },
]


async def wait_for_state(
    api: httpx.AsyncClient, incident_id: str, done: Callable[[dict[str, Any]], bool], timeout: float = 60.0
) -> dict[str, Any]:
    """Poll ``GET /v1/incidents/{id}`` until ``done(state)``; the last state otherwise (the assert says why)."""
    deadline = time.monotonic() + timeout
    while True:
        response = await api.get(f"/v1/incidents/{incident_id}")
        assert response.status_code == 200, response.text
        state: dict[str, Any] = response.json()
        if done(state) or time.monotonic() > deadline:
            return state
        await asyncio.sleep(0.25)


def statuses(state: dict[str, Any]) -> dict[str, str]:
    """``kind:STATE`` → status of every obligation of the event."""
    return {f"{o['obligation']['kind']}:{o['obligation']['jurisdiction']}": o["status"] for o in state["obligations"]}


def obligation_id(state: dict[str, Any], kind: str, jurisdiction: str) -> str:
    (found,) = [
        o["obligation"]["obligation_id"]
        for o in state["obligations"]
        if o["obligation"]["kind"] == kind and o["obligation"]["jurisdiction"] == jurisdiction
    ]
    return str(found)


RESOLVED = {"met", "met_late", "waived", "excused"}
#: Given (the evidence recorded), awaiting only its confirmation, or resolved.
SENT = RESOLVED | {"sent"}


def all_resolved(state: dict[str, Any]) -> bool:
    return bool(state["obligations"]) and all(o["status"] in RESOLVED for o in state["obligations"])


#: Longer than every confirmation window (an e-mail is confirmed when no hard bounce came back
#: within a few days): the time-skipping server moves its clock past it at once.
CONFIRMATION_WINDOWS = timedelta(days=5)


async def settle(api: httpx.AsyncClient, env: WorkflowEnvironment, incident_id: str) -> dict[str, Any]:
    """Let the notices go out and their confirmation windows pass; the state once every
    obligation is resolved (or the last state, for the assert to show)."""
    sent = await wait_for_state(api, incident_id, lambda s: all(o["status"] in SENT for o in s["obligations"]), timeout=180)
    assert all(o["status"] in SENT for o in sent["obligations"]), statuses(sent)
    await env.sleep(CONFIRMATION_WINDOWS)
    return await wait_for_state(api, incident_id, all_resolved)


async def review_flagged(api: httpx.AsyncClient, incident_id: str, state: dict[str, Any]) -> dict[str, Any]:
    """Counsel reviews every obligation flagged needs_counsel_review; the state after."""
    for pending in state["counsel_reviews_pending"]:
        reviewed = await api.post(
            f"/v1/incidents/{incident_id}/counsel-reviews",
            json={"obligation_id": pending, "decision": "confirmed",
                  "notes": "The clock and trigger applied match the statute as enacted; the notice given meets it."},
        )
        assert reviewed.status_code == 200, reviewed.text
        state = reviewed.json()
    return state
