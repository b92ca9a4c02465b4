"""Builders for the privacy-lifecycle tests: a Texas insurer's policy versions and notice text,
consumers with contact data, relationships."""

from __future__ import annotations

from typing import Any

from ledger.npi import npi_digest
from models.privacy_lifecycle import PrivacyConsumer, PrivacyPolicyRecord, RelationshipRecord
from tests.rules.privacy_builders import POLICY_V1, POLICY_V2

NPI_KEY = "privacy-test-npi-key"

NOTICE_V1: dict[str, Any] = {
    "notice_id": "privacy-notice-v1",
    "kind": "initial",
    "format": "full",
    "policy_version": "v1",
    "categories_collected": ["information from the consumer, such as applications", "information about transactions with us"],
    "categories_disclosed": [
        {"name": "application information", "examples": ["name and address", "assets and income"]},
        {"name": "transaction information", "examples": ["premium payment history"]},
    ],
    "recipient_categories": [
        {"name": "financial service providers", "kind": "nonaffiliated", "examples": ["premium finance companies"]},
        {"name": "auto insurers", "kind": "nonaffiliated", "examples": ["automobile insurers"]},
    ],
    "former_customers": {"discloses_none": True},
    "service_provider_joint_marketing": {
        "categories": ["transaction information"],
        "third_party_categories": ["marketing vendors"],
        "states_service_provider_or_joint_marketer": True,
    },
    "opt_out": {
        "explanation": "You may direct us not to share your information with nonaffiliated third parties.",
        "methods": ["call 1-800-555-0142", "return the enclosed form"],
    },
    "confidentiality_security": {
        "who_has_access": "Only employees who need it to serve you.",
        "security_practices_statement": "We keep physical, electronic and procedural safeguards.",
    },
    "exceptions_statement": "We also disclose information to other nonaffiliated third parties as permitted by law.",
}

NOTICE_V2: dict[str, Any] = {
    **NOTICE_V1,
    "notice_id": "privacy-notice-v2",
    "policy_version": "v2",
    "categories_disclosed": [
        *NOTICE_V1["categories_disclosed"],
        {"name": "consumer report information", "examples": ["credit history"]},
    ],
    "former_customers": {"discloses_none": False, "categories": ["application information"], "recipient_categories": ["financial service providers"]},
}

LETTERHEAD: dict[str, Any] = {
    "licensee_name": "Brazos Mutual Insurance Company",
    "contact": {"phone": "1-800-555-0142", "email": "privacy@brazos.example", "hours": "Mon–Fri 8–5 Central"},
    "signatory": "Rosa Elizondo, Chief Privacy Officer",
}


def policy_record(version: str = "v1", **notice_overrides: Any) -> PrivacyPolicyRecord:
    policy = POLICY_V1 if version == "v1" else POLICY_V2
    notice = {**(NOTICE_V1 if version == "v1" else NOTICE_V2), **notice_overrides}
    return PrivacyPolicyRecord.model_validate({"policy": policy, "notice": notice, **LETTERHEAD})


def ref(consumer_id: str) -> str:
    return npi_digest(consumer_id, NPI_KEY.encode())


def consumer(consumer_id: str, *, email: bool = True, postal: bool = True, electronic: bool = False, n: int = 1) -> PrivacyConsumer:
    return PrivacyConsumer(
        consumer_ref=ref(consumer_id),
        jurisdiction="TX",
        name=f"Jordan Alvarez {consumer_id}",
        email=f"jordan.{consumer_id.lower()}@mail.example" if email else None,
        postal_address={"line1": f"{100 + n} Congress Ave", "city": "Austin", "region": "TX", "postal_code": "78701"} if postal else None,
        e_delivery_consent=electronic,
        transacts_electronically=electronic,
    )


def relationship(relationship_id: str, *consumer_ids: str, customer: bool = True, version: str = "v1", **extra: Any) -> RelationshipRecord:
    return RelationshipRecord(
        relationship_id=relationship_id,
        jurisdiction="TX",
        consumer_refs=[ref(c) for c in consumer_ids],
        is_customer=customer,
        policy_version=version,
        **extra,
    )
