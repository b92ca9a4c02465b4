"""Crypto-shredding at the end of an event's retention, and legal holds, on SQLite and PostgreSQL.

The event is closed as the workflow closes it — an ``incident.closed`` entry whose data says
``retain_until`` (``rules.lifecycle.retain_until``: five years from closure, NAIC #668 § 5(D)) and
whose citation is the retention rule — and the sweep reads that entry. Destroyed: the contacts
no longer open (a typed error naming the date and the citation), the counts still read, the
ledger still verifies, the destruction is ledgered without key material. Held: nothing is
destroyed, the sweep records why, once; lifted: destroyed at the next sweep.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import text

from activities import db
from activities.contact_retention import (
    RETENTION_STREAM,
    ContactRetention,
    HoldNotFound,
    RetentionError,
)
from activities.contact_store import (
    ContactStore,
    DataKeyDestroyedError,
    KekRing,
    load_kek_ring,
    rotate_kek_file,
)
from activities.roster import RosterStore
from ledger.keys import generate_key, load_keyring, load_signer
from ledger.store import EntryFilter, Ledger
from ledger.verify import verify_entries
from models.ledger import EntryDraft
from noticeflow.settings import Settings
from rules.jurisdictions import retention_citation
from rules.lifecycle import retain_until
from tests.activities.conftest import make_contact

CLOSED_AT = dt.datetime(2020, 3, 1, 15, 0, tzinfo=dt.UTC)
RETAIN_UNTIL = retain_until(dt.datetime(2020, 1, 10, tzinfo=dt.UTC), CLOSED_AT)  # 2025-03-01 15:00 UTC
BEFORE = RETAIN_UNTIL - dt.timedelta(days=1)
AFTER = RETAIN_UNTIL + dt.timedelta(days=1)
CITATION = retention_citation("TN")
MATTER = "Doe v. Cumberland Mutual, No. 3:25-cv-00417 (M.D. Tenn.)"


@dataclass
class World:
    rosters: RosterStore
    contacts: ContactStore
    retention: ContactRetention
    ledger: Ledger
    key_dir: Path
    kek: bytes

    def event(self, incident_id: str, *, closed: bool = True) -> list:
        """An event with a roster of three; closed as the workflow closes it."""
        self.ledger.append(EntryDraft(stream=f"incident:{incident_id}", type="incident.started",
                                      step=f"incident-{incident_id}/started", actor="user:intake", data={}))
        roster = [make_contact(n, "TN") for n in range(3)]
        self.rosters.store_roster(f"{incident_id}-r1", roster)
        if closed:
            self.ledger.append(EntryDraft(
                stream=f"incident:{incident_id}", type="incident.closed", step=f"incident-{incident_id}/closed",
                actor="user:closer", citation=CITATION,
                data={"summary": "closed", "retain_until": RETAIN_UNTIL.isoformat(), "retention": {"TN": CITATION}},
            ))
        return roster

    def readable(self, incident_id: str, roster: list) -> bool:
        found = self.rosters.get_contacts(f"{incident_id}-r1", [c.consumer_ref for c in roster])
        return {c.name for c in found.values()} == {c.name for c in roster}

    def retention_entries(self) -> list[dict]:
        return list(self.ledger.iter_raw(EntryFilter(stream=RETENTION_STREAM)))

    def verifies(self) -> bool:
        return verify_entries(self.ledger.iter_raw(), load_keyring(self.key_dir)).ok


@pytest.fixture
def world(db_url: str, tmp_path: Path) -> Iterator[World]:
    key_dir = tmp_path / "keys"
    generate_key(key_dir, now="2020-01-01T00:00:00.000000Z")
    ledger = Ledger.open(db_url, load_signer(key_dir))
    engine = db.open_engine(db_url)
    kek = os.urandom(32)
    contacts = ContactStore(engine, KekRing((kek,)))
    try:
        yield World(RosterStore(engine, contacts), contacts, ContactRetention(contacts, ledger), ledger, key_dir, kek)
    finally:
        ledger.close()
        engine.dispose()


def test_the_sweep_destroys_the_data_key_when_retention_ends_and_the_ledger_still_verifies_naic_668_5_d(world: World) -> None:
    roster = world.event("INC-R1")
    (key,) = world.contacts.key_info("incident:INC-R1")
    with world.contacts.engine.connect() as conn:
        wrapped = conn.execute(text("SELECT wrapped FROM contact_data_keys WHERE key_id = :k"), {"k": key.key_id}).scalar_one()

    early = world.retention.sweep(BEFORE)
    assert (early.destroyed, early.not_due) == ([], 1)
    assert world.readable("INC-R1", roster)

    result = world.retention.sweep(AFTER)

    assert [d["data_key_id"] for d in result.destroyed] == [key.key_id]
    with pytest.raises(DataKeyDestroyedError) as err:
        world.rosters.get_contacts("INC-R1-r1", [roster[0].consumer_ref])
    assert str(err.value) == (
        f"the contact data of incident:INC-R1 cannot be opened: its data key {key.key_id} was destroyed on "
        f"{AFTER.date().isoformat()} under {CITATION} (retention ended {RETAIN_UNTIL.date().isoformat()})"
    )
    assert (err.value.key_id, err.value.citation) == (key.key_id, CITATION)
    with pytest.raises(DataKeyDestroyedError):
        next(world.rosters.iter_contacts("INC-R1-r1", "TN"))
    assert world.rosters.roster_summary("INC-R1-r1").total == 3, "counts stay"
    # The destruction, ledgered under the retention rule, naming the key — never its material.
    (entry,) = world.retention_entries()
    assert (entry["type"], entry["actor"], entry["citation"]) == ("contacts.data_key_destroyed", "worker:retention-sweep", CITATION)
    assert entry["data"]["data_key_id"] == key.key_id and entry["data"]["kek_id"] == key.kek_id
    assert entry["data"]["destroyed_at"] == AFTER.isoformat() and entry["data"]["retain_until"] == RETAIN_UNTIL.isoformat()
    assert (entry["data"]["rosters"], entry["data"]["contacts"]) == (["INC-R1-r1"], 3)
    closure = world.ledger.get_by_step("incident-INC-R1/closed")
    assert closure is not None and entry["data"]["closure"] == {"seq": closure.seq, "hash": closure.hash}
    everything = json.dumps(list(world.ledger.iter_raw()))
    assert wrapped not in everything and base64.b64encode(world.kek).decode() not in everything
    assert world.verifies()
    # Again: nothing more to destroy, nothing more recorded.
    assert world.retention.sweep(AFTER + dt.timedelta(days=1)).destroyed == []
    assert len(world.retention_entries()) == 1


def test_destruction_removes_the_wrapped_key_from_the_sqlite_files(world: World, db_url: str) -> None:
    if not db_url.startswith("sqlite"):
        pytest.skip("SQLite's files; PostgreSQL keeps WAL copies until recycled — the KEK's rotation covers those")
    world.event("INC-R2")
    (key,) = world.contacts.key_info("incident:INC-R2")
    with world.contacts.engine.connect() as conn:
        wrapped = conn.execute(text("SELECT wrapped FROM contact_data_keys WHERE key_id = :k"), {"k": key.key_id}).scalar_one()
    path = Path(db_url.split("///", 1)[1])
    files = lambda: b"".join(p.read_bytes() for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")) if p.exists())
    assert wrapped.encode() in files(), "the control: the wrapped key is found in the files while it is live"
    world.retention.sweep(AFTER)
    assert wrapped.encode() not in files()


def test_a_legal_hold_blocks_destruction_and_the_sweep_records_why_once_then_lifting_it_lets_the_next_sweep_destroy(
    world: World,
) -> None:
    roster = world.event("INC-H1")
    hold = world.retention.set_hold("INC-H1", MATTER, by="user:gc.office")
    assert [h.matter for h in world.retention.holds("INC-H1")] == [MATTER]

    held = world.retention.sweep(AFTER)

    assert held.destroyed == [] and [h["matters"] for h in held.held] == [[MATTER]]
    assert world.readable("INC-H1", roster)
    assert not world.contacts.key_info("incident:INC-H1")[0].destroyed
    assert world.retention.sweep(AFTER + dt.timedelta(days=1)).held, "still held"
    types = [(e["type"], e["actor"]) for e in world.retention_entries()]
    assert types == [("contacts.legal_hold_set", "user:gc.office"), ("contacts.destruction_held", "worker:retention-sweep")], (
        "the hold is recorded, and why the sweep kept the data — once, not at every sweep"
    )
    recorded = world.retention_entries()
    assert recorded[0]["data"] == {"incident_id": "INC-H1", "scope": "incident:INC-H1", "matter": MATTER, "hold_id": hold.hold_id}
    assert recorded[1]["data"]["matters"] == [MATTER] and recorded[1]["citation"] == CITATION

    world.retention.lift_hold("INC-H1", MATTER, by="user:gc.office")
    lifted = world.retention.sweep(AFTER + dt.timedelta(days=2))

    assert [d["incident_id"] for d in lifted.destroyed] == ["INC-H1"]
    with pytest.raises(DataKeyDestroyedError):
        world.readable("INC-H1", roster)
    assert [e["type"] for e in world.retention_entries()][2:] == ["contacts.legal_hold_lifted", "contacts.data_key_destroyed"]
    assert world.verifies()


def test_two_holds_keep_the_event_until_both_are_lifted(world: World) -> None:
    roster = world.event("INC-H2")
    world.retention.set_hold("INC-H2", MATTER, by="user:gc.office")
    world.retention.set_hold("INC-H2", "Regulatory inquiry TDCI-2025-88", by="user:gc.office")
    world.retention.lift_hold("INC-H2", MATTER, by="user:gc.office")
    assert world.retention.sweep(AFTER).held[0]["matters"] == ["Regulatory inquiry TDCI-2025-88"]
    assert world.readable("INC-H2", roster)
    world.retention.lift_hold("INC-H2", "Regulatory inquiry TDCI-2025-88", by="user:gc.office")
    assert len(world.retention.sweep(AFTER).destroyed) == 1


def test_holds_are_refused_for_unknown_events_duplicates_and_lifting_what_was_not_set(world: World) -> None:
    world.event("INC-H3")
    with pytest.raises(RetentionError, match="no incident 'INC-NOPE' in the ledger"):
        world.retention.set_hold("INC-NOPE", MATTER, by="user:gc.office")
    with pytest.raises(RetentionError, match="matter: give the matter's reference"):
        world.retention.set_hold("INC-H3", " ", by="user:gc.office")
    world.retention.set_hold("INC-H3", MATTER, by="user:gc.office")
    with pytest.raises(RetentionError, match="already on legal hold"):
        world.retention.set_hold("INC-H3", MATTER, by="user:gc.office")
    with pytest.raises(HoldNotFound, match="not on legal hold for matter 'other'"):
        world.retention.lift_hold("INC-H3", "other", by="user:gc.office")
    # Lifted, then set again for the same matter: a new hold, ledgered as such.
    world.retention.lift_hold("INC-H3", MATTER, by="user:gc.office")
    again = world.retention.set_hold("INC-H3", MATTER, by="user:gc.office")
    assert len({e["data"]["hold_id"] for e in world.retention_entries()}) == 2
    assert world.retention.holds("INC-H3") == [again]


def test_an_open_event_is_never_destroyed_and_a_destroyed_one_takes_no_new_contacts(world: World) -> None:
    open_roster = world.event("INC-OPEN", closed=False)
    world.event("INC-DONE")
    result = world.retention.sweep(AFTER + dt.timedelta(days=3650))
    assert result.not_closed == 1 and [d["incident_id"] for d in result.destroyed] == ["INC-DONE"]
    assert world.readable("INC-OPEN", open_roster)
    with pytest.raises(DataKeyDestroyedError, match="incident:INC-DONE"):
        world.rosters.store_roster("INC-DONE-r2", [make_contact(9, "TN")])
    assert world.contacts.key_info("incident:INC-DONE")[0].destroyed and len(world.contacts.key_info("incident:INC-DONE")) == 1


def test_rotating_the_kek_rewraps_live_keys_and_the_old_kek_can_go(tmp_path: Path, db_url: str) -> None:
    settings = Settings(_env_file=None, home=tmp_path / "home", db_url=db_url)  # type: ignore[call-arg]
    engine = db.open_engine(db_url)
    try:
        rosters = RosterStore.for_settings(engine, settings)
        rosters.store_roster("INC-K-r1", [make_contact(1, "TN")])
        rosters.store_roster("INC-GONE-r1", [make_contact(1, "TN")])
        rosters.contacts.destroy("incident:INC-GONE", at=AFTER, citation=CITATION, reason="test")
        old = load_kek_ring(settings)
        ring = rotate_kek_file(settings)
        assert ring.keys[1:] == old.keys
        rotated = ContactStore(engine, ring)
        assert rotated.rewrap() == 1
        assert rotated.kek_ids_in_use() == {ring.current_id: 1}
        # The old KEK removed from the ring: the live roster still opens, the destroyed one stays destroyed.
        only_new = RosterStore(engine, ContactStore(engine, KekRing(ring.keys[:1])))
        assert only_new.get_contacts("INC-K-r1", [make_contact(1, "TN").consumer_ref])
        with pytest.raises(DataKeyDestroyedError):
            only_new.get_contacts("INC-GONE-r1", [make_contact(1, "TN").consumer_ref])
    finally:
        engine.dispose()
