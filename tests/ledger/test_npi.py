"""No raw NPI in the ledger: what the guard refuses and what it lets through."""

from __future__ import annotations

import pytest

from ledger.errors import NPIError
from ledger.npi import guard_data, npi_digest
from ledger.store import Ledger
from tests.ledger.conftest import draft

KEY = b"deployment secret"


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"note": "SSN 078-05-1120 on file"}, "data.note"),
        ({"ids": ["ok", "219099999"]}, r"data.ids\[1\]"),
        ({"card": "4111 1111 1111 1111"}, "data.card"),
        ({"ssn": "078051120"}, "data.ssn"),
        ({"consumer": {"account_number": "00123"}}, "data.consumer.account_number"),
        ({"dob": "1970-01-01"}, "data.dob"),
        # A telephone number is refused wherever it stands: the ledger names a department by its
        # jurisdiction, a person not at all.
        ({"phone_of_department": "615-741-2241"}, "data.phone_of_department"),
    ],
)
def test_raw_npi_is_refused_with_the_field_named(data: dict, field: str) -> None:
    with pytest.raises(NPIError, match=field):
        guard_data(data)


@pytest.mark.parametrize(
    "data",
    [
        {"ssn": npi_digest("078-05-1120", KEY), "consumers": 123456789},
        {"account_number": "[redacted]", "naic_code": "12345", "zip": "37203-1234"},
        {"document_sha256": "ab" * 32, "incident": "INC-2026-0042", "at": "2026-11-21T09:00:00Z"},
        {"cost_cents": 25_000_000, "due_by": "2026-01-15T23:59:59-06:00", "recipients": ["P-1001", "P-1003"]},
        {"citation": "Tenn. Code Ann. § 56-2-1006(b)(1)", "obligation_id": "INC-7_consumer_notice_TN_consumers_TN"},
        {"approved_by": "dana.whitfield@cumberland.example"},  # an actor id, which may be an e-mail address
        {"card": "4111 1111 1111 1112"},  # fails the Luhn check: not a card number
    ],
)
def test_digests_counts_and_identifiers_pass(data: dict) -> None:
    guard_data(data)


def test_digest_is_keyed_and_ignores_formatting() -> None:
    assert npi_digest("078-05-1120", KEY) == npi_digest("078 05 1120", KEY) == npi_digest("078051120", KEY)
    assert npi_digest("078-05-1120", KEY) != npi_digest("078-05-1120", b"another deployment")
    assert npi_digest("078-05-1120", KEY).startswith("hmac-sha256:")


#: Issue 9 item 8: each spelling that once passed into the ledger, and the kind it is refused as.
SPELLINGS = [
    ("078-05-1120", "Social Security number"),
    ("078.05.1120", "Social Security number"),
    ("078 05 1120", "Social Security number"),
    ("078-05-1120x", "Social Security number"),
    ("SSN 078051120", "Social Security number"),
    ("card 4111 1111 1111 1111", "payment card number"),
    ("write to jane.doe@mail.example", "e-mail address"),
    ("call (615) 555-0100", "telephone number"),
    ("John Smith, 04/12/1961", "date of birth"),
    ("DOB 04/12/1961", "date of birth"),
]


@pytest.mark.parametrize(("text", "kind"), SPELLINGS)
def test_a_ledger_append_whose_data_text_carries_npi_is_refused_naming_the_field(
    ledger: Ledger, text: str, kind: str
) -> None:
    with pytest.raises(NPIError, match=rf"^data\.findings\[0\]\.summary: looks like an? {kind}") as refused:
        ledger.append(draft(1, data={"findings": [{"kind": "nature_and_scope", "summary": f"Reported: {text}."}]}))
    assert text not in str(refused.value)  # the refusal never repeats the value
    assert ledger.size() == 0


def test_an_actor_id_may_be_an_e_mail_address_but_carries_no_other_npi() -> None:
    guard_data({"approved_by": "dana.whitfield@cumberland.example"})
    guard_data({"owner": "dana.whitfield@cumberland.example", "recipients": [{"responder_id": "marcus.lee@cumberland.example"}]})
    with pytest.raises(NPIError, match=r"data\.approved_by: looks like a Social Security number"):
        guard_data({"approved_by": "078-05-1120"})
    with pytest.raises(NPIError, match=r"data\.note: looks like an e-mail address"):
        guard_data({"note": "dana.whitfield@cumberland.example"})
    with pytest.raises(NPIError, match=r"data\.producers\[0\]\.email: looks like an e-mail address"):
        guard_data({"producers": [{"producer_id": "P-1001", "email": "service@volunteerstate-agency.example"}]})


def test_every_data_key_id_passes_the_guard_though_some_hold_luhn_valid_digit_runs() -> None:
    """A data key id is ``dk-`` + 20 hex digits of its scope's SHA-256; about one scope in 3,000
    gives a run of 13+ digits that passes the Luhn check (``dk-3777715728143f817d5f-1``). The
    guard refused such an entry once in CI; 20,000 scopes cover the first known ones."""
    from activities.contact_store import data_key_id  # the real id, not a copy of its shape

    ids = [data_key_id(f"privacy:REL-{i}", 1) for i in range(20_000)]
    for key_id in ids:
        guard_data({"key_id": key_id, "data_key_id": key_id})
    with pytest.raises(NPIError, match=r"data\.key_id: looks like a payment card number"):
        guard_data({"key_id": "dk-5555555555554444-1"})  # all digits: a number, still refused
