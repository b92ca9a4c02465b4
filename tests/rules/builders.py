"""Builders for test inputs: a realistic default event, changed only where a test says so."""

from __future__ import annotations

import datetime as dt
from typing import Any

from models.incident import IncidentIntake
from models.obligation import Obligation, ObligationKind, ObligationsResult

#: Friday 7 March 2025, 16:30 in Nashville (CST; DST starts Sunday 9 March).
FRIDAY_AFTERNOON = "2025-03-07T16:30:00-06:00"
MONDAY_MORNING = "2025-03-03T10:00:00-06:00"


def ts(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


def state_row(
    state: str = "TN",
    consumers: int = 1000,
    *,
    harm: bool = True,
    gov: bool = False,
    email: int = 0,
    without: int = 0,
    cost: str | None = None,
    producers: bool = True,
    electronic: bool = False,
) -> dict[str, Any]:
    row: dict[str, Any] = {
        "state": state,
        "consumers": consumers,
        "material_harm_likely": harm,
        "other_government_notice_required": gov,
        "with_email": email,
        "without_contact": without,
        "producers_of_record_known": producers,
        "electronic_primary_channel": electronic,
    }
    if cost is not None:
        row["notice_cost_usd"] = cost
    return row


def intake_data(
    *,
    affected: list[dict[str, Any]] | None = None,
    kind: str = "insurer",
    domicile: str = "TN",
    home: str | None = None,
    source: str = "internal",
    discovered: str = "2025-03-01T09:00:00-06:00",
    determined: str | None = FRIDAY_AFTERNOON,
    tpsp: str | None = None,
    knowledge: str | None = None,
    elements: tuple[str, ...] = ("ssn", "financial_account"),
    encrypted: bool = False,
    key: bool = False,
    returned: bool = False,
    operations: bool = False,
    delay: str | None = None,
    paper_only: bool = False,
    timezone: str | None = None,
    policy: dict[str, Any] | None = None,
) -> dict[str, Any]:
    licensee: dict[str, Any] = {
        "name": "Cumberland Mutual Insurance Company",
        "naic_code": "24871",
        "kind": kind,
        "domicile_state": domicile,
        "home_state": home or domicile,
    }
    if timezone:
        licensee["timezone"] = timezone
    if policy:
        licensee["deadline_policy"] = policy
    return {
        "incident_id": "INC-T",
        "licensee": licensee,
        "discovered_at": discovered,
        "determined_at": determined,
        "source": source,
        "tpsp_notified_at": tpsp,
        "actual_knowledge_at": knowledge,
        "data_elements": list(elements),
        "encrypted": encrypted,
        "key_compromised": key,
        "returned_or_destroyed_unused": returned,
        "harms_operations": operations,
        "affected": affected if affected is not None else [state_row()],
        "law_enforcement_delay_until": delay,
        "paper_only": paper_only,
    }


def intake(**kwargs: Any) -> IncidentIntake:
    return IncidentIntake.model_validate(intake_data(**kwargs))


def find(result: ObligationsResult, kind: ObligationKind | str, state: str) -> Obligation | None:
    kind = ObligationKind(kind)
    matches = [o for o in result.obligations if o.kind is kind and o.jurisdiction == state]
    assert len(matches) <= 1, matches
    return matches[0] if matches else None


def only(result: ObligationsResult, kind: ObligationKind | str, state: str) -> Obligation:
    found = find(result, kind, state)
    assert found is not None, f"no {kind} for {state}: {[(o.kind.value, o.jurisdiction) for o in result.obligations]}"
    return found


def kinds(result: ObligationsResult) -> set[tuple[str, str]]:
    return {(o.kind.value, o.jurisdiction) for o in result.obligations}
