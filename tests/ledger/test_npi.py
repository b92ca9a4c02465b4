"""No raw NPI in the ledger: what the guard refuses and what it lets through."""

from __future__ import annotations

import pytest

from ledger.errors import NPIError
from ledger.npi import guard_data, npi_digest

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
        {"phone_of_department": "615-741-2241", "cost_cents": 25_000_000},
        {"card": "4111 1111 1111 1112"},  # fails the Luhn check: not a card number
    ],
)
def test_digests_counts_and_identifiers_pass(data: dict) -> None:
    guard_data(data)


def test_digest_is_keyed_and_ignores_formatting() -> None:
    assert npi_digest("078-05-1120", KEY) == npi_digest("078 05 1120", KEY) == npi_digest("078051120", KEY)
    assert npi_digest("078-05-1120", KEY) != npi_digest("078-05-1120", b"another deployment")
    assert npi_digest("078-05-1120", KEY).startswith("hmac-sha256:")
