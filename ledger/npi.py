"""Keep raw nonpublic personal information out of the ledger.

The ledger is handed to examiners and kept for years; it records *that* NPI was involved
(digests, counts, categories), never the NPI itself. ``guard_data`` refuses data whose string
values carry an SSN, a payment card number, an e-mail address, a telephone number or a date of
birth — as the one detector, ``rules.npi.find_npi``, sees them — or whose keys name an NPI field
but whose values are not digests. ``npi_digest`` gives the digest to record instead: a keyed
HMAC, because a plain SHA-256 of a nine-digit SSN is reversed by trying all 10^9 values.

Values under keys that name an actor — ending in ``_by`` (``approved_by``, ``recorded_by``), or
``ACTOR_KEYS`` (``responder_id``, ``owner``, ``backup``, ``reviewer``) — are user ids, which may be
e-mail addresses: there an e-mail address is allowed and every other kind still refused. A
business's contact address (a producer's, a representative's) is not an actor id and is refused.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from typing import Any

from ledger.errors import NPIError
from rules.npi import describe, find_npi

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


#: Keys whose values are user ids (the actor of a step, an assigned responder), not free text.
ACTOR_KEYS = frozenset({"actor", "responder_id", "owner", "backup", "reviewer"})


def _is_actor_key(path: str) -> bool:
    key = path.rsplit(".", 1)[-1].lower()
    return key.endswith("_by") or key in ACTOR_KEYS


def _check_string(path: str, text: str) -> None:
    if _DIGEST.match(text):
        return
    actor = _is_actor_key(path)
    for match in find_npi(text):
        if actor and match.kind == "email":
            continue
        raise NPIError(describe(path, match))


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
