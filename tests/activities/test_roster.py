"""The roster store: the one place names and addresses live — sealed under the incident's data key,
keyed by consumer_ref digests — and the parsing of an upload (encoding, columns, limits)."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from sqlalchemy import text

from activities.contact_store import ContactSealError
from activities.npi_key import load_npi_digest_key, npi_key_file
from activities.roster import (
    RosterEncodingError,
    RosterMediaTypeError,
    RosterNotFoundError,
    RosterStore,
    RosterTooLargeError,
    RosterUploadError,
    contacts_from_upload,
    parse_upload,
)
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
    for pii in ("Avery Moss", "avery@mail.example", "12 Oak Lane", "Nashville", "37201", "Blake Reyes", "9 Pine Road"):
        assert pii not in dump, f"{pii!r} is stored in plaintext"


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
    assert {e["field"] for e in err.value.errors} == {"rows[2].state", "rows[2].email"}
    assert "Secret Name" not in json.dumps(err.value.errors)


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


# -- sealed at rest -----------------------------------------------------------------------------


def test_each_contact_is_sealed_under_its_incidents_data_key_and_opens_only_in_its_own_row(roster_store: RosterStore) -> None:
    roster_store.store_roster("INC-SEAL-r1", [make_contact(1, "TN"), make_contact(2, "TN")])
    refs = [make_contact(1, "TN").consumer_ref, make_contact(2, "TN").consumer_ref]
    with roster_store.engine.connect() as conn:
        rows = conn.execute(
            text("SELECT consumer_ref, data_key_id, contact FROM notice_roster_contacts WHERE roster_id = 'INC-SEAL-r1'")
        ).all()
        scopes = conn.execute(text("SELECT DISTINCT scope FROM contact_data_keys")).scalars().all()
    assert scopes == ["incident:INC-SEAL"], "one data key, the incident's"
    assert {r.data_key_id for r in rows} == {roster_store.contacts.key_info("incident:INC-SEAL")[0].key_id}
    # Swap the two consumers' sealed contacts: each fails authentication instead of opening as the other.
    sealed = {r.consumer_ref: r.contact for r in rows}
    with roster_store.engine.begin() as conn:
        for mine, theirs in ((refs[0], refs[1]), (refs[1], refs[0])):
            conn.execute(text("UPDATE notice_roster_contacts SET contact = :c WHERE consumer_ref = :r"), {"c": sealed[theirs], "r": mine})
    with pytest.raises(ContactSealError, match="failed authentication: it was altered or moved to another row"):
        roster_store.get_contacts("INC-SEAL-r1", refs)


def test_a_roster_of_another_incident_is_sealed_under_another_data_key(roster_store: RosterStore) -> None:
    roster_store.store_roster("INC-A-r1", [make_contact(1, "TN")])
    roster_store.store_roster("INC-B-r1", [make_contact(1, "TN")])
    roster_store.store_roster("other-roster", [make_contact(1, "TN")], incident_id="INC-A")
    a, b = roster_store.contacts.key_info("incident:INC-A"), roster_store.contacts.key_info("incident:INC-B")
    assert len(a) == len(b) == 1 and a[0].key_id != b[0].key_id
    with roster_store.engine.connect() as conn:
        used = dict(conn.execute(text("SELECT roster_id, data_key_id FROM notice_roster_contacts")).all())
    assert used == {"INC-A-r1": a[0].key_id, "INC-B-r1": b[0].key_id, "other-roster": a[0].key_id}


def test_a_failed_first_upload_leaves_no_roster_header_and_no_data_key(roster_store: RosterStore) -> None:
    duplicate = [make_contact(1, "TN"), make_contact(1, "TN")]
    with pytest.raises(RosterUploadError) as err:
        roster_store.store_roster("INC-FAIL-r1", duplicate, chunk=1)
    assert err.value.errors[0]["field"] == "rows[2].consumer_id"
    with roster_store.engine.connect() as conn:
        for table in ("notice_rosters", "notice_roster_contacts", "contact_data_keys"):
            assert conn.execute(text(f"SELECT count(*) FROM {table}")).scalar() == 0, table
    with pytest.raises(RosterNotFoundError):
        roster_store.roster_summary("INC-FAIL-r1")


# -- parsing an upload ------------------------------------------------------------------------------


def test_an_upload_that_is_not_utf8_names_the_byte_line_and_encoding() -> None:
    latin1 = "consumer_id,state,name\nX-1,TN,Zoë Ruiz\n".encode("latin-1")
    with pytest.raises(RosterEncodingError) as err:
        parse_upload(latin1, "text/csv")
    message = str(err.value)
    assert "the roster is not UTF-8: byte 0xEB at line 2, column 10" in message
    assert "Windows-1252" in message and "export the file as UTF-8" in message
    assert err.value.errors == [{"field": "body", "message": message, "type": "encoding"}]


def test_unknown_csv_columns_are_named_before_any_row_is_read() -> None:
    with pytest.raises(RosterUploadError) as err:
        parse_upload("consumer_id,state,name,phone,ssn\nX-1,TN,Pat Doe,555-0100,123-45-6789\n", "text/csv")
    assert str(err.value).startswith("the CSV header is not a roster's: unknown column 'phone'")
    assert [e["field"] for e in err.value.errors] == ["columns.phone", "columns.ssn"]
    assert "555-0100" not in str(err.value) and "123-45-6789" not in str(err.value)


def test_unknown_json_keys_are_named_as_unknown_columns() -> None:
    with pytest.raises(RosterUploadError) as err:
        parse_upload(json.dumps([{"consumer_id": "1", "state": "TN", "name": "N", "phone": "555-0100"}]), "application/json")
    assert err.value.errors[0]["field"] == "rows[1].phone" and err.value.errors[0]["type"] == "unknown_column"
    assert "unknown column 'phone'" in str(err.value)


def test_rows_past_the_limit_are_refused_as_too_large() -> None:
    csv_rows = "consumer_id,state,name\n" + "".join(f"X-{i},TN,Name {i}\n" for i in range(4))
    assert len(parse_upload(csv_rows, "text/csv", max_rows=4)) == 4
    with pytest.raises(RosterTooLargeError, match="more than 3 rows"):
        parse_upload(csv_rows, "text/csv", max_rows=3)
    with pytest.raises(RosterTooLargeError, match="more than 1 rows"):
        parse_upload(json.dumps([{"consumer_id": "1"}, {"consumer_id": "2"}]), "application/json", max_rows=1)


def test_media_types_other_than_json_or_utf8_csv_are_refused() -> None:
    with pytest.raises(RosterMediaTypeError, match="not 'application/xml'"):
        parse_upload("<x/>", "application/xml")
    with pytest.raises(RosterMediaTypeError, match="charset='iso-8859-1'"):
        parse_upload(b"consumer_id,state,name\n", "text/csv; charset=ISO-8859-1")
    assert parse_upload(b"consumer_id,state,name\n1,TN,N\n", "text/csv; charset=utf-8")[0].name == "N"
