"""Legal holds and retention status through the API (issue 11: "data keys destroyed, legal holds —
are ledgered too"; role ``admin``): the same acts as ``noticeflow contacts hold …`` on stream
``admin:retention``, in the admin principal's name; a held event's data key outlives its
retention until the hold is lifted, then the sweep destroys it.

The real API app over ASGI (no Temporal behind it: holds are known by the ledger stream), real
API keys, the real contact store and ledger on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from cryptography.hazmat.primitives.asymmetric import ec

from activities import db
from activities.contact_retention import RETENTION_STREAM, ContactRetention
from activities.contact_store import ContactStore
from activities.roster import RosterStore
from api.access import Role
from api.app import create_app
from ledger.keys import generate_key, load_signer
from ledger.store import EntryFilter, Ledger
from models.ledger import EntryDraft
from noticeflow.devstack import free_port
from noticeflow.settings import Settings
from rules.jurisdictions import retention_citation
from tests.activities.conftest import make_contact
from tests.api.conftest import bearer, issue_key
from tests.api.test_sso import AUDIENCE, ISSUER, Signer, write_jwks

INCIDENT = "INC-HOLD-0417"
MATTER = "Doe v. Cumberland Mutual, No. 3:26-cv-0101"
OTHER_MATTER = "TN DOI Market Conduct Exam 2026-014"
HOLDS = f"/v1/incidents/{INCIDENT}/legal-holds"
RETENTION = f"/v1/incidents/{INCIDENT}/retention"
RETAINED_UNTIL = dt.datetime(2024, 6, 30, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Settings:
    """No Temporal behind the API: a hold needs the ledger and the contact store only."""
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        home=tmp_path / "home", db_url=db_url, log_json=False, temporal_address=f"127.0.0.1:{free_port()}",
    )
    generate_key(settings.resolved_key_path())
    return settings


def _ledger(settings: Settings) -> Ledger:
    return Ledger.open(settings.resolved_db_url(), load_signer(settings.resolved_key_path()))


@pytest.fixture
def closed_event(settings: Settings) -> Iterator[str]:
    """A closed event whose retention ended: its roster's contacts sealed under a live data key,
    its closure in the ledger with ``retain_until`` in the past. Yields the retention citation."""
    citation = retention_citation("TN")
    engine = db.open_engine(settings.resolved_db_url())
    ledger = _ledger(settings)
    try:
        RosterStore.for_settings(engine, settings).store_roster(
            f"{INCIDENT}-r1", [make_contact(1, "TN"), make_contact(2, "TN")], incident_id=INCIDENT
        )
        ledger.append(EntryDraft(stream=f"incident:{INCIDENT}", type="incident.closed", step=f"incident-{INCIDENT}/closed",
                                 actor="key:c.hale", citation=citation, data={"retain_until": RETAINED_UNTIL.isoformat()}))
    finally:
        ledger.close()
        engine.dispose()
    yield citation


@pytest_asyncio.fixture
async def http(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1", timeout=60) as client:
        yield client


@pytest.fixture
def admin(settings: Settings) -> str:
    return issue_key(settings, "it.admin", {Role.ADMIN})


def _sweep(settings: Settings) -> Any:
    """The daily retention sweep (``noticeflow contacts shred-expired``)."""
    engine = db.open_engine(settings.resolved_db_url())
    ledger = _ledger(settings)
    try:
        return ContactRetention(ContactStore.for_settings(engine, settings), ledger).sweep()
    finally:
        ledger.close()
        engine.dispose()


def _retention_acts(settings: Settings) -> list[tuple[str, str, dict[str, Any]]]:
    ledger = _ledger(settings)
    try:
        return [(e.type, e.actor, e.data) for e in ledger.entries(EntryFilter(stream=RETENTION_STREAM))]
    finally:
        ledger.close()


def _ledger_size(settings: Settings) -> int:
    ledger = _ledger(settings)
    try:
        return ledger.size()
    finally:
        ledger.close()


async def test_admin_sets_and_lifts_a_legal_hold_ledgered_in_its_name_and_destruction_waits_for_the_lift(
    http: httpx.AsyncClient, settings: Settings, closed_event: str, admin: str
) -> None:
    before = (await http.get(RETENTION, headers=bearer(admin))).json()
    assert before["closed"] is True and before["destruction"] == "due"
    assert before["retention_citation"] == closed_event
    assert dt.datetime.fromisoformat(before["retain_until"]) == RETAINED_UNTIL
    [key] = before["data_keys"]
    assert key["status"] == "live" and key["key_id"].startswith("dk-")

    held = await http.post(HOLDS, json={"matter": MATTER}, headers=bearer(admin))
    assert held.status_code == 201, held.text
    hold = held.json()
    assert hold["status"] == "in_force" and hold["set_by"] == "key:it.admin" and hold["matter"] == MATTER
    status = (await http.get(RETENTION, headers=bearer(admin))).json()
    assert status["destruction"] == "held" and [h["hold_id"] for h in status["legal_holds"]] == [hold["hold_id"]]

    kept = _sweep(settings)
    assert (len(kept.destroyed), len(kept.held)) == (0, 1)
    assert (await http.get(RETENTION, headers=bearer(admin))).json()["data_keys"][0]["status"] == "live"

    lifted = await http.post(f"{HOLDS}/{hold['hold_id']}/lift", headers=bearer(admin))
    assert lifted.status_code == 200, lifted.text
    assert lifted.json()["status"] == "lifted" and lifted.json()["lifted_by"] == "key:it.admin"
    destroyed = _sweep(settings)
    assert (len(destroyed.destroyed), len(destroyed.held)) == (1, 0)

    after = (await http.get(RETENTION, headers=bearer(admin))).json()
    assert after["destruction"] == "destroyed" and after["legal_holds"] == []
    assert after["data_keys"][0]["status"] == "destroyed" and after["data_keys"][0]["destroyed_under"] == closed_event
    listed = (await http.get(HOLDS, headers=bearer(admin))).json()
    assert [(h["hold_id"], h["status"], h["lifted_by"]) for h in listed] == [(hold["hold_id"], "lifted", "key:it.admin")]

    acts = _retention_acts(settings)
    assert [(t, a) for t, a, _ in acts] == [
        ("contacts.legal_hold_set", "key:it.admin"), ("contacts.destruction_held", "worker:retention-sweep"),
        ("contacts.legal_hold_lifted", "key:it.admin"), ("contacts.data_key_destroyed", "worker:retention-sweep"),
    ]
    assert acts[0][2] == {"incident_id": INCIDENT, "scope": f"incident:{INCIDENT}", "matter": MATTER, "hold_id": hold["hold_id"]}
    assert acts[1][2]["matters"] == [MATTER]


@pytest.mark.parametrize("role", [r for r in Role if r is not Role.ADMIN])
async def test_every_other_role_is_refused_403_and_nothing_is_recorded(
    http: httpx.AsyncClient, settings: Settings, closed_event: str, admin: str, role: Role
) -> None:
    hold = (await http.post(HOLDS, json={"matter": OTHER_MATTER}, headers=bearer(admin))).json()
    token = issue_key(settings, f"only-{role.value}", {role})
    size = _ledger_size(settings)
    answers = [
        await http.post(HOLDS, json={"matter": MATTER}, headers=bearer(token)),
        await http.post(f"{HOLDS}/{hold['hold_id']}/lift", headers=bearer(token)),
        await http.get(HOLDS, headers=bearer(token)),
        await http.get(RETENTION, headers=bearer(token)),
    ]
    assert [a.status_code for a in answers] == [403, 403, 403, 403]
    assert all("Nothing was done" in a.json()["detail"] and f"holds {role.value}" in a.json()["detail"] for a in answers)
    anonymous = await http.post(HOLDS, json={"matter": MATTER})
    assert anonymous.status_code == 401
    assert _ledger_size(settings) == size
    holds = (await http.get(HOLDS, headers=bearer(admin))).json()
    assert [(h["matter"], h["status"]) for h in holds] == [(OTHER_MATTER, "in_force")]


async def test_a_hold_on_an_incident_not_in_the_ledger_is_404_naming_the_incident_and_nothing_is_recorded(
    http: httpx.AsyncClient, settings: Settings, admin: str
) -> None:
    size = _ledger_size(settings)
    refused = await http.post("/v1/incidents/INC-NOPE/legal-holds", json={"matter": MATTER}, headers=bearer(admin))
    assert refused.status_code == 404
    assert refused.json()["detail"].startswith("incident_id: no incident 'INC-NOPE' in the ledger")
    assert (await http.get("/v1/incidents/INC-NOPE/retention", headers=bearer(admin))).status_code == 404
    assert _ledger_size(settings) == size
    assert _retention_acts(settings) == []


async def test_a_second_hold_for_the_same_matter_is_409_while_another_matter_may_hold_the_event_too(
    http: httpx.AsyncClient, settings: Settings, closed_event: str, admin: str
) -> None:
    first = (await http.post(HOLDS, json={"matter": MATTER}, headers=bearer(admin))).json()
    size = _ledger_size(settings)
    again = await http.post(HOLDS, json={"matter": f"  {MATTER} "}, headers=bearer(admin))
    assert again.status_code == 409
    assert f"already on legal hold for matter {MATTER!r}" in again.json()["detail"]
    assert _ledger_size(settings) == size
    second = await http.post(HOLDS, json={"matter": OTHER_MATTER}, headers=bearer(admin))
    assert second.status_code == 201

    assert (await http.post(f"{HOLDS}/{first['hold_id']}/lift", headers=bearer(admin))).status_code == 200
    status = (await http.get(RETENTION, headers=bearer(admin))).json()
    assert status["destruction"] == "held" and [h["matter"] for h in status["legal_holds"]] == [OTHER_MATTER]
    assert (len(_sweep(settings).destroyed)) == 0  # still held for the other matter
    twice = await http.post(f"{HOLDS}/{first['hold_id']}/lift", headers=bearer(admin))
    assert twice.status_code == 409 and "lifted already" in twice.json()["detail"]
    unknown = await http.post(f"{HOLDS}/LH-0000000000000000/lift", headers=bearer(admin))
    assert unknown.status_code == 404 and unknown.json()["detail"].startswith("hold_id: no legal hold")
    # After its lift, the same matter may hold the event again (a new hold, a new id).
    renewed = await http.post(HOLDS, json={"matter": MATTER}, headers=bearer(admin))
    assert renewed.status_code == 201 and renewed.json()["hold_id"] != first["hold_id"]


@pytest.mark.parametrize("body", [{}, {"matter": ""}, {"matter": "   "}, {"matter": "x" * 201}, {"matter": "tab\there"}])
async def test_a_matter_that_is_not_a_printable_reference_is_422_naming_matter(
    http: httpx.AsyncClient, settings: Settings, closed_event: str, admin: str, body: dict[str, str]
) -> None:
    size = _ledger_size(settings)
    refused = await http.post(HOLDS, json=body, headers=bearer(admin))
    assert refused.status_code == 422
    assert [e["field"] for e in refused.json()["errors"]] == ["matter"]
    assert _ledger_size(settings) == size


async def test_an_admin_signed_in_through_single_sign_on_is_the_holds_actor(
    settings: Settings, closed_event: str, tmp_path: Path
) -> None:
    signer = Signer("idp-1", "ES256", ec.generate_private_key(ec.SECP256R1()))
    sso = settings.model_copy(update={
        "sso_issuer": ISSUER, "sso_audience": AUDIENCE, "sso_jwks_file": write_jwks(tmp_path / "jwks.json", signer),
    })
    token = signer.token({"preferred_username": "r.banerjee", "roles": ["admin"]})
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(sso)), base_url="http://127.0.0.1") as client:
        held = await client.post(HOLDS, json={"matter": MATTER}, headers=bearer(token))
    assert held.status_code == 201, held.text
    assert held.json()["set_by"] == "user:r.banerjee"
    assert [(t, a) for t, a, _ in _retention_acts(settings)] == [("contacts.legal_hold_set", "user:r.banerjee")]
