"""The one NPI detector (rules/npi.py) that guards ledger data, documents and update validators:
each spelling that must be caught, and the legitimate values of the ledger and the notices that
must not be (issue 9 item 8)."""

from __future__ import annotations

import pytest

from rules.npi import NpiFound, NpiMatch, find_npi, guard_text, npi_problem, scan_fields

#: (text, kind, the exact span found). Every spelling item 8 lists, and the common others.
MUST_BE_FOUND = [
    # SSN
    ("078-05-1120", "ssn", "078-05-1120"),
    ("078.05.1120", "ssn", "078.05.1120"),
    ("078 05 1120", "ssn", "078 05 1120"),
    ("078-05-1120x", "ssn", "078-05-1120"),
    ("SSN078-05-1120", "ssn", "078-05-1120"),
    ("member 078\u201305\u20131120 enrolled", "ssn", "078\u201305\u20131120"),
    ("078051120", "ssn", "078051120"),
    ("SSN: 078051120", "ssn", "078051120"),
    ("social security no. 219099999 on file", "ssn", "219099999"),
    ("078051120 (SSN)", "ssn", "078051120"),
    ("ITIN 912-70-1234", "ssn", "912-70-1234"),
    # payment card (Luhn-valid)
    ("4111 1111 1111 1111", "payment_card", "4111 1111 1111 1111"),
    ("card 4111-1111-1111-1111 exp 12/28", "payment_card", "4111-1111-1111-1111"),
    ("4111111111111111", "payment_card", "4111111111111111"),
    ("Amex 3782 822463 10005", "payment_card", "3782 822463 10005"),
    ("5555555555554444x", "payment_card", "5555555555554444"),
    ("5555555555554444ABC", "payment_card", "5555555555554444"),  # upper case: not a generated id
    ("ref-5555555555554444-1", "payment_card", "5555555555554444"),  # digits only: a number
    # e-mail
    ("jane.doe@mail.example", "email", "jane.doe@mail.example"),
    ("write to mailto:j.smith+claims@Example.COM now", "email", "j.smith+claims@Example.COM"),
    # telephone
    ("(615) 555-0100", "phone", "(615) 555-0100"),
    ("615-555-0100", "phone", "615-555-0100"),
    ("+1 615 555 0100", "phone", "+1 615 555 0100"),
    ("615.555.0100", "phone", "615.555.0100"),
    ("call 1-800-555-0134 today", "phone", "1-800-555-0134"),
    # date of birth: after a birth word or a person's name
    ("DOB 04/12/1961", "date_of_birth", "04/12/1961"),
    ("D.O.B.: 4/12/61", "date_of_birth", "4/12/61"),
    ("born 1961-04-12", "date_of_birth", "1961-04-12"),
    ("born on April 12, 1961", "date_of_birth", "April 12, 1961"),
    ("date of birth is 12 April 1961", "date_of_birth", "12 April 1961"),
    ("John Smith, 04/12/1961", "date_of_birth", "04/12/1961"),
    ("Smith, John 1961-04-12", "date_of_birth", "1961-04-12"),
    ("Jane Q. Doe (April 12, 1961)", "date_of_birth", "April 12, 1961"),
    ("04/12/1961 (DOB)", "date_of_birth", "04/12/1961"),
]

#: Values of the ledger and the notices that are not NPI.
MUST_NOT_BE_FLAGGED = [
    "2026-12-01",
    "2026-11-21T09:00:00Z",
    "2026-01-15T23:59:59.123456-06:00",
    "ab" * 32,
    "sha256:" + "0123456789" * 6 + "abcd",
    "hmac-sha256:" + "4111111111111111" * 4,
    "123e4567-e89b-12d3-a456-426614174000",
    # generated ids whose hex digits happen to form a Luhn-valid run (data key ids of real scopes)
    "dk-3777715728143f817d5f-1",
    "dk-578191720743976547c6-1",
    "dk-f6e6504690962225fd58-1",
    "key 3777715728143f81 rotated",
    "NAIC code 12345",
    "12345",
    "ZIP 37219-1234",
    "Nov 18 to 22",
    "$250,000",
    "18,400",
    "18400",
    "123456789 consumers",
    "claim 123456789 closed",
    "§ 56-2-1006(b)(1)",
    "Tenn. Code Ann. § 56-2-1006(c)(3)(B)",
    "RSMo §§ 375.1400–375.1427",
    "INC-7_consumer_notice_TN_consumers_TN",
    "INC-2026-0042",
    "INC-2025-0417_commissioner_notice_TN-v2",
    "4111 1111 1111 1112",  # fails the Luhn check
    "000-00-0000",  # never issued: a placeholder
    "666-12-3456",
    "version 1.2.3 on 192.168.100.200",
    "20261121090000",
    "(I) TN: 18400 → 18500 consumers",
    "On November 26, 2025, Cumberland Mutual discovered that an unauthorized person had access.",
    "On 11/26/2025 the vendor told us; Cumberland Mutual, 11/26/2025.",
    "Mandiant Consulting, 11/30/2025, confirmed the scope.",
    "Nashville, Tennessee, 11/30/2025",
    "Monday–Friday, 8 a.m.–6 p.m. Central",
    "24 months of credit monitoring at no cost",
    "Tenn. Code Ann. § 56-2-1006(b)(1)(M)",
]


@pytest.mark.parametrize(("text", "kind", "found"), MUST_BE_FOUND)
def test_each_spelling_is_found_as_its_kind(text: str, kind: str, found: str) -> None:
    matches = find_npi(text)
    assert [(m.kind, text[m.start : m.end]) for m in matches] == [(kind, found)]


@pytest.mark.parametrize("text", MUST_NOT_BE_FLAGGED)
def test_ledger_identifiers_dates_counts_and_cites_are_not_npi(text: str) -> None:
    assert find_npi(text) == []


def test_a_date_alone_is_an_event_date_and_the_same_date_after_a_name_is_a_date_of_birth() -> None:
    assert find_npi("04/12/1961") == []
    assert [m.kind for m in find_npi("Pat Jones 04/12/1961")] == ["date_of_birth"]


def test_nine_bare_digits_count_only_alone_or_near_an_ssn_word() -> None:
    assert find_npi("policy 078051120 renewed") == []
    assert [m.kind for m in find_npi("policy holder ssn 078051120")] == ["ssn"]
    assert [m.kind for m in find_npi(" 078051120. ")] == ["ssn"]


def test_every_kind_in_one_text_is_found_in_order() -> None:
    text = "Jane Doe, DOB 04/12/1961, SSN 078-05-1120, jane@mail.example, (615) 555-0100, 4111 1111 1111 1111."
    assert [m.kind for m in find_npi(text)] == ["date_of_birth", "ssn", "email", "phone", "payment_card"]


def test_the_problem_names_the_field_and_the_kind_never_the_value() -> None:
    problem = npi_problem("finding.summary", "Found 078-05-1120 in the export")
    assert problem is not None
    assert problem.startswith("finding.summary: looks like a Social Security number")
    assert "078" not in problem and "1120" not in problem
    assert npi_problem("finding.summary", "Ransomware on the claims server") is None


def test_guard_text_raises_a_value_error_with_the_field_and_the_kind() -> None:
    with pytest.raises(NpiFound) as refused:
        guard_text("content.what_happened", "reach me at jane@mail.example")
    assert isinstance(refused.value, ValueError)
    assert (refused.value.field, refused.value.kind) == ("content.what_happened", "email")
    assert "jane@mail.example" not in str(refused.value)
    guard_text("content.what_happened", "On November 26, 2025 we found an intrusion.")


def test_scan_fields_gives_the_first_hit_with_its_dotted_path() -> None:
    value = {
        "summary": "fine",
        "findings": [{"summary": "fine"}, {"summary": "SSN 078 05 1120", "notes": ["call 615-555-0100"]}],
    }
    hit = scan_fields(value)
    assert hit == ("findings[1].summary", NpiMatch("ssn", 4, 15))
    assert scan_fields(value["findings"][1]["notes"], "notes") == ("notes[0]", NpiMatch("phone", 5, 17))
    assert scan_fields({"count": 123456789, "ok": True, "none": None, "text": "18,400"}) is None
