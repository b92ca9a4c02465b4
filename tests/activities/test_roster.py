"""The roster store: the one place names and addresses live, keyed by consumer_ref digests."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from sqlalchemy import text

from activities.npi_key import load_npi_digest_key, npi_key_file
from activities.roster import RosterNotFoundError, RosterStore, RosterUploadError, contacts_from_upload, parse_upload
from noticeflow.settings import Settings
from tests.activities.conftest import NPI_KEY, consumer_ref, make_contact

CSV_UPLOAD = """consumer_id,state,name,email,address_line1,address_line2,city,region,postal_code,country,electronic_consent,producer_of_record
POL-000123,TN,Avery Moss,avery@mail.example,12 Oak Lane,,Nashville,TN,37201,,true,P-1
POL-000124,tn,Blake Reyes,,9 Pine Road,Apt 2,Memphis,TN,38103,US,,
POL-000125,MO,Casey Lin,casey@mail.example,,,,,,,false,P-2
"""


def test_roster_upload_replaces_consumer_ids_with_digests_and_counts_per_state(roster_store: RosterStore) -> None:
    rows = parse_upload(CSV_UPLOAD.encode(), "text/csv")
    summary = roster_store.store_roster("INC-1-roster", contacts_from_upload(rows, NPI_KEY.encode()))
    assert summary.total == 3
    tn, mo = summary.by_state["TN"], summary.by_state["MO"]
    assert (tn.consumers, tn.with_email, tn.electronic, tn.postal_only, tn.without_contact) == (2, 1, 1, 1, 0)
    assert (mo.consumers, mo.with_email, mo.with_postal_address, mo.without_contact) == (1, 1, 0, 0)
    contacts = roster_store.get_contacts("INC-1-roster", [consumer_ref("POL-000123")])
    avery = contacts[consumer_ref("POL-000123")]
    assert avery.name == "Avery Moss" and avery.electronic_consent and avery.producer_of_record == "P-1"
    assert avery.postal_address is not None and avery.postal_address.lines() == ["12 Oak Lane", "Nashville, TN 37201"]
    with roster_store.engine.connect() as conn:
        dump = json.dumps([list(map(str, r)) for r in conn.execute(text("SELECT * FROM notice_roster_contacts")).all()])
    assert "POL-000123" not in dump and "POL-000124" not in dump


def test_roster_upload_accepts_a_json_list(roster_store: RosterStore) -> None:
    upload = json.dumps(
        [
            {"consumer_id": "A-1", "state": "DE", "name": "Dee One", "email": "dee@mail.example", "electronic_consent": True},
            {"consumer_id": "A-2", "state": "DE", "name": "Dee Two"},
        ]
    )
    summary = roster_store.store_roster("json-roster", contacts_from_upload(parse_upload(upload, "application/json"), b"k"))
    assert summary.by_state["DE"].electronic == 1
    assert summary.by_state["DE"].without_contact == 1


def test_upload_errors_name_the_row_and_field_but_never_the_value() -> None:
    bad = "consumer_id,state,name,email\nX-1,TN,Ok Person,\nX-2,ZZ,Secret Name,not-an-address\n"
    with pytest.raises(RosterUploadError) as err:
        parse_upload(bad, "text/csv")
    message = str(err.value)
    assert message.startswith("roster row 2:")
    assert "state" in message and "email" in message
    assert "Secret Name" not in message and "not-an-address" not in message and "X-2" not in message


def test_incomplete_postal_address_is_rejected_with_the_missing_fields() -> None:
    with pytest.raises(RosterUploadError, match="city, postal_code missing"):
        parse_upload('[{"consumer_id": "1", "state": "TN", "name": "N", "address_line1": "1 Main"}]', "application/json")


def test_same_roster_again_changes_nothing_and_a_new_upload_replaces_it_atomically(roster_store: RosterStore) -> None:
    first = [make_contact(i, "TN") for i in range(5)]
    s1 = roster_store.store_roster("r", first)
    assert roster_store.store_roster("r", first) == s1
    second = [make_contact(i, "TN") for i in range(3, 9)]
    s2 = roster_store.store_roster("r", second)
    assert s2.generation > s1.generation and s2.total == 6
    refs = sorted(c.consumer_ref for page in roster_store.iter_contacts("r", "TN", 4) for c in page)
    assert refs == sorted(c.consumer_ref for c in second)
    with roster_store.engine.connect() as conn:
        stored = conn.execute(text("SELECT count(*) FROM notice_roster_contacts WHERE roster_id = 'r'")).scalar()
    assert stored == 6, "the replaced generation is deleted"


def test_a_failed_upload_leaves_the_previous_roster_in_place(roster_store: RosterStore) -> None:
    roster_store.store_roster("r", [make_contact(1, "TN")])
    duplicate = [make_contact(2, "TN"), make_contact(3, "TN"), make_contact(2, "TN")]
    with pytest.raises(RosterUploadError, match="roster row 3: the same consumer appears twice"):
        roster_store.store_roster("r", duplicate)
    summary = roster_store.roster_summary("r")
    assert summary.total == 1
    assert [c.consumer_ref for page in roster_store.iter_contacts("r", "TN") for c in page] == [make_contact(1, "TN").consumer_ref]


def test_iter_contacts_pages_one_state_in_consumer_ref_order(roster_store: RosterStore) -> None:
    contacts = [make_contact(i, "TN") for i in range(7)] + [make_contact(i, "MO") for i in range(3)]
    roster_store.store_roster("r", contacts, chunk=3)
    pages = list(roster_store.iter_contacts("r", "TN", 3))
    assert [len(p) for p in pages] == [3, 3, 1]
    refs = [c.consumer_ref for p in pages for c in p]
    assert refs == sorted(c.consumer_ref for c in contacts if c.state == "TN")


def test_producer_counts_per_state_count_each_states_clients_of_each_producer_56_2_1006_f(roster_store: RosterStore) -> None:
    roster_store.store_roster(
        "r",
        [
            make_contact(1, "TN", producer="P-1"),
            make_contact(2, "TN", producer="P-1"),
            make_contact(3, "TN"),
            make_contact(1, "KY", producer="P-1"),
            make_contact(2, "KY", producer="P-2"),
            make_contact(1, "MO", producer="P-3"),
        ],
    )
    counts = roster_store.producer_counts_by_state("r", ["KY", "TN", "DE"])
    assert counts == {"TN": {"P-1": 2, None: 1}, "KY": {"P-1": 1, "P-2": 1}, "DE": {}}
    assert counts["TN"] == roster_store.producer_counts("r", "TN")


def test_unknown_roster_is_a_clear_error(roster_store: RosterStore) -> None:
    with pytest.raises(RosterNotFoundError, match="no roster 'nope' has been uploaded"):
        roster_store.roster_summary("nope")


def test_npi_digest_key_is_created_once_with_mode_0600(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, home=tmp_path / "home")  # type: ignore[call-arg]
    key = load_npi_digest_key(settings)
    assert len(key) == 64
    assert stat.S_IMODE(npi_key_file(settings).stat().st_mode) == 0o600
    assert load_npi_digest_key(settings) == key
    copied = Settings(_env_file=None, home=tmp_path / "other", npi_digest_key=key.decode())  # type: ignore[call-arg]
    assert load_npi_digest_key(copied) == key, "the file's text moved to the environment gives the same digests"
    assert not (tmp_path / "other" / "npi-digest.key").exists()
