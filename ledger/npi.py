"""Keep raw nonpublic personal information out of the ledger.

The ledger is handed to examiners and kept for years; it records *that* NPI was involved
(digests, counts, categories), never the NPI itself. ``guard_data`` refuses data whose values
look like Social Security numbers, payment-card or account numbers, or whose keys name an NPI
field but whose values are not digests. ``npi_digest`` gives the digest to record instead: a
keyed HMAC, because a plain SHA-256 of a nine-digit SSN is reversed by trying all 10^9 values.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from typing import Any

from ledger.errors import NPIError

_SSN = re.compile(r"(?<![\w-])(?!000|666|9\d\d)\d{3}([- ]?)(?!00)\d{2}\1(?!0000)\d{4}(?![\w-])")
_DIGIT_RUN = re.compile(r"(?<![\w-])\d(?:[ -]?\d){12,18}(?![\w-])")
_DIGEST = re.compile(r"^(hmac-sha256|sha256):[0-9a-f]{64}$")

#: Keys whose values must be digests (or redacted) when they appear in ledger data.
NPI_KEYS = frozenset(
    {
        "ssn",
        "social_security_number",
        "tin",
        "taxpayer_id",
        "account_number",
        "financial_account",
        "card_number",
        "credit_card",
        "drivers_license",
        "drivers_license_number",
        "passport_number",
        "military_id",
        "access_code",
        "password",
        "pin",
        "date_of_birth",
        "dob",
        "diagnosis",
        "medical_record_number",
        "health_information",
        "biometric",
    }
)


def npi_digest(value: str, key: bytes) -> str:
    """``hmac-sha256:<hex>`` of ``value`` under the deployment's secret ``key``."""
    if not key:
        raise ValueError("npi_digest needs a non-empty secret key")
    normalised = re.sub(r"[\s-]", "", value)
    return "hmac-sha256:" + hmac.new(key, normalised.encode("utf-8"), hashlib.sha256).hexdigest()


def _luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        n = ord(ch) - 48
        if i % 2 == 1:
            n *= 2
            if n > 9:
                n -= 9
        total += n
    return total % 10 == 0


def _check_string(path: str, text: str) -> None:
    if _DIGEST.match(text):
        return
    if _SSN.search(text):
        raise NPIError(
            f"{path}: looks like a Social Security number; record npi_digest(value) or a count, "
            "never the number (no raw NPI in the ledger)"
        )
    for match in _DIGIT_RUN.finditer(text):
        digits = re.sub(r"\D", "", match.group())
        if 13 <= len(digits) <= 19 and _luhn_ok(digits):
            raise NPIError(
                f"{path}: looks like a payment-card or account number; record npi_digest(value), "
                "never the number (no raw NPI in the ledger)"
            )


def guard_data(value: Any, path: str = "data") -> None:
    """Raise ``NPIError`` naming the first field of ``value`` that looks like raw NPI."""
    if isinstance(value, str):
        _check_string(path, value)
    elif isinstance(value, dict):
        for key, item in value.items():
            sub = f"{path}.{key}"
            if key.lower() in NPI_KEYS and item is not None and not isinstance(item, (bool, int, list, dict)):
                if not (isinstance(item, str) and (_DIGEST.match(item) or item in ("", "[redacted]"))):
                    raise NPIError(
                        f"{sub}: an NPI field must hold npi_digest(value) or '[redacted]', "
                        "not the value itself (no raw NPI in the ledger)"
                    )
            guard_data(item, sub)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            guard_data(item, f"{path}[{i}]")
