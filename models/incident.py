"""Intake of a cybersecurity event: what happened, to whose information, in which states.

The JSON shape is the one ``noticeflow obligations EVENT.json`` reads and the incident API
accepts. Every timestamp is ISO 8601 with an offset; a naive timestamp is rejected, because a
deadline computed from it would silently depend on the machine's time zone.
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum

from pydantic import AwareDatetime, Field, model_validator
from pydantic_core import PydanticCustomError

from models.common import NoticeflowModel, StateCode
from models.licensee import Licensee


class DataElement(StrEnum):
    """Data elements of nonpublic information (RSMo § 375.1402(12))."""

    SSN = "ssn"  # (12)(b)a.
    DRIVERS_LICENSE = "drivers_license"  # (12)(b)b.
    FINANCIAL_ACCOUNT = "financial_account"  # (12)(b)c.
    ACCESS_CODE = "access_code"  # (12)(b)d.
    BIOMETRIC = "biometric"  # (12)(b)e.
    MILITARY_ID = "military_id"  # (12)(b)f.
    HEALTH = "health"  # (12)(c)
    BUSINESS = "business"  # (12)(a)


class EventSource(StrEnum):
    INTERNAL = "internal"
    THIRD_PARTY_SERVICE_PROVIDER = "third_party_service_provider"


class ReportItemCode(StrEnum):
    """The items of the commissioner report, Tenn. Code Ann. § 56-2-1006(b)(1)(A)–(N)."""

    A = "A"
    B = "B"
    C = "C"
    D = "D"
    E = "E"
    F = "F"
    G = "G"
    H = "H"
    I = "I"  # noqa: E741 — the statute's own letter
    J = "J"
    K = "K"
    L = "L"
    M = "M"
    N = "N"


class AffectedState(NoticeflowModel):
    """Consumers residing in one state whose nonpublic information is involved."""

    state: StateCode
    consumers: int = Field(ge=0, description="Best estimate of affected consumers residing in the state.")
    material_harm_likely: bool = Field(
        description="Reasonable likelihood of materially harming a consumer residing in the state."
    )
    other_government_notice_required: bool = Field(
        description="Notice must be given to a government body, self-regulatory agency or other "
        "supervisory body under state or federal law (§ 56-2-1006(a)(2)(A))."
    )
    with_email: int = Field(ge=0, description="Affected consumers for whom an e-mail address is known.")
    without_contact: int = Field(
        ge=0, description="Affected consumers for whom the licensee lacks sufficient contact information."
    )
    notice_cost_usd: Decimal | None = Field(None, ge=0, description="Estimated cost of giving notice in the state.")
    producers_of_record_known: bool = Field(
        description="The insurer has current producer-of-record information for these consumers."
    )
    electronic_primary_channel: bool = Field(
        False,
        description="Notice to these consumers may be electronic: E-SIGN consent (15 U.S.C. § 7001) "
        "or the licensee's primary method of communication with them is electronic.",
    )

    @model_validator(mode="after")
    def _counts_within_consumers(self) -> AffectedState:
        for field in ("with_email", "without_contact"):
            if getattr(self, field) > self.consumers:
                raise PydanticCustomError(
                    "count_exceeds_consumers",
                    "{field} ({value}) cannot exceed consumers ({consumers}) for {state}",
                    {"field": field, "value": getattr(self, field), "consumers": self.consumers, "state": self.state},
                )
        return self


class IncidentIntake(NoticeflowModel):
    """Everything the rules need to know about a cybersecurity event."""

    incident_id: str = Field(min_length=1, max_length=200)
    licensee: Licensee
    discovered_at: AwareDatetime
    determined_at: AwareDatetime | None = Field(
        None, description="When the licensee determined that a cybersecurity event has occurred."
    )
    source: EventSource
    tpsp_notified_at: AwareDatetime | None = Field(
        None, description="When the third-party service provider notified the licensee."
    )
    actual_knowledge_at: AwareDatetime | None = Field(
        None, description="When the licensee otherwise gained actual knowledge of the event."
    )
    data_elements: list[DataElement]
    encrypted: bool
    key_compromised: bool = Field(description="The encryption, process or key was also acquired, released or used.")
    returned_or_destroyed_unused: bool = Field(
        description="The information was not used or released and has been returned or destroyed."
    )
    harms_operations: bool = Field(
        description="Reasonable likelihood of materially harming a material part of the licensee's normal operations."
    )
    affected: list[AffectedState]
    law_enforcement_delay_until: AwareDatetime | None = Field(
        None, description="End of a documented law-enforcement request to delay consumer notice."
    )
    paper_only: bool = Field(False, description="Only information on paper was involved (S.C. bulletin 2018-09).")
    report_items_provided: list[ReportItemCode] = Field(
        default_factory=list,
        description="Commissioner-report items (§ 56-2-1006(b)(1)) already gathered by responders.",
    )

    @model_validator(mode="after")
    def _consistent(self) -> IncidentIntake:
        if self.source is EventSource.THIRD_PARTY_SERVICE_PROVIDER and (
            self.tpsp_notified_at is None and self.actual_knowledge_at is None
        ):
            raise PydanticCustomError(
                "tpsp_clock_start_missing",
                "tpsp_notified_at or actual_knowledge_at is required when source is "
                "third_party_service_provider: the notice clock starts at the earlier of the two "
                "(Tenn. Code Ann. § 56-2-1006(d)(2))",
            )
        if self.determined_at is not None and self.determined_at < self.discovered_at:
            raise PydanticCustomError(
                "determined_before_discovered",
                "determined_at ({determined}) is before discovered_at ({discovered})",
                {"determined": self.determined_at.isoformat(), "discovered": self.discovered_at.isoformat()},
            )
        seen: set[str] = set()
        for row in self.affected:
            if row.state in seen:
                raise PydanticCustomError(
                    "duplicate_state",
                    "affected lists state {state} more than once; give one row per state",
                    {"state": row.state},
                )
            seen.add(row.state)
        return self

    def affected_in(self, state: str) -> AffectedState | None:
        for row in self.affected:
            if row.state == state:
                return row
        return None
