"""Builders for privacy inputs: a Texas customer, a policy, notices, opt outs."""

from __future__ import annotations

from typing import Any

from models.privacy import DisclosureRequest

POLICY_V1: dict[str, Any] = {
    "version_id": "v1",
    "effective_on": "2024-01-01",
    "collects": ["information from the consumer"],
    "disclosures": [
        {"npi_category": "application information", "recipient_kind": "nonaffiliated_third_party", "recipient_category": "financial service providers", "recipients": ["Harpeth Premium Finance"]},
        {"npi_category": "transaction information", "recipient_kind": "nonaffiliated_third_party", "recipient_category": "auto insurers", "reserved_only": True},
        {"npi_category": "transaction information", "recipient_kind": "service_provider", "recipient_category": "marketing vendors", "exception": "service_provider_joint_marketing"},
    ],
}
POLICY_V2: dict[str, Any] = {
    **POLICY_V1,
    "version_id": "v2",
    "effective_on": "2025-07-01",
    "disclosures": [
        *POLICY_V1["disclosures"],
        {"npi_category": "consumer report information", "recipient_kind": "nonaffiliated_third_party", "recipient_category": "financial service providers"},
        {"npi_category": "application information", "recipient_kind": "nonaffiliated_third_party", "recipient_category": "financial service providers", "about_former_customers": True},
    ],
}


def notice(
    notice_id: str,
    kind: str,
    delivered: str,
    *,
    version: str | None = "v1",
    opt_out: bool = True,
    channel: str = "mail",
    acknowledged: str | None = None,
    agreed_electronic: bool = False,
    isolated: bool = False,
) -> dict[str, Any]:
    return {
        "notice_id": notice_id,
        "kind": kind,
        "policy_version": version if kind != "opt_out" else None,
        "includes_opt_out_notice": opt_out,
        "channel": channel,
        "delivered_at": delivered,
        "acknowledged_at": acknowledged,
        "consumer_agreed_electronic": agreed_electronic,
        "isolated_transaction": isolated,
    }


def request(
    *,
    as_of: str = "2025-07-25T10:00:00-05:00",
    category: str = "application information",
    recipient: dict[str, Any] | None = None,
    purpose: str = "direct_mail_marketing",
    exception: str = "none",
    contract: bool = False,
    account_number: dict[str, Any] | None = None,
    in_force: str = "v2",
    notices: list[dict[str, Any]] | None = None,
    opt_outs: list[dict[str, Any]] | None = None,
    revocations: list[dict[str, Any]] | None = None,
    relationship: dict[str, Any] | None = None,
    information_type: str = "financial",
    authorizations: list[dict[str, Any]] | None = None,
) -> DisclosureRequest:
    return DisclosureRequest.model_validate(
        {
            "request_id": "DQ-1",
            "as_of": as_of,
            "jurisdiction": "TX",
            "relationship": relationship or {"consumer_ref": "cust-1", "is_customer": True},
            "information_type": information_type,
            "npi_category": category,
            "recipient": recipient
            or {"name": "Caney Fork Credit Union", "kind": "nonaffiliated_third_party", "category": "financial service providers"},
            "purpose": purpose,
            "exception_claimed": exception,
            "contract_limits_use": contract,
            "account_number": account_number,
            "policy_in_force": in_force,
            "policy_versions": [POLICY_V1, POLICY_V2],
            "notices": notices if notices is not None else [notice("N1", "initial", "2025-06-02T12:00:00-05:00")],
            "opt_outs": opt_outs or [],
            "opt_out_revocations": revocations or [],
            "health_authorizations": authorizations or [],
        }
    )
