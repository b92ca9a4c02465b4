"""Properties that must hold for every event (hypothesis).

* A later determination never gives an earlier deadline (Tenn. Code Ann. § 56-2-1006(a), (c): every clock
  runs from the determination or from an earlier moment).
* Adding affected consumers never removes an obligation (the triggers of § 56-2-1006(a)(2) and (c) only
  grow with the count).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from models.incident import IncidentIntake
from rules.cyber import compute_obligations
from rules.registry import verifies

STATES = ["TN", "MO", "DE", "MI", "SC", "VA", "IA", "AL", "OH", "NY", "PA"]
CENTRAL = dt.timezone(dt.timedelta(hours=-6))
BASE = dt.datetime(2025, 1, 6, 8, 0, tzinfo=CENTRAL)


@st.composite
def events(draw: st.DrawFn) -> dict[str, Any]:
    states = draw(st.lists(st.sampled_from(STATES), min_size=1, max_size=5, unique=True))
    rows = []
    for state in states:
        consumers = draw(st.integers(0, 600_000))
        rows.append(
            {
                "state": state,
                "consumers": consumers,
                "material_harm_likely": draw(st.booleans()),
                "other_government_notice_required": draw(st.booleans()),
                "with_email": draw(st.integers(0, consumers)),
                "without_contact": draw(st.integers(0, min(consumers, 50))),
                "notice_cost_usd": str(draw(st.integers(0, 400_000))),
                "producers_of_record_known": draw(st.booleans()),
            }
        )
    source = draw(st.sampled_from(["internal", "third_party_service_provider"]))
    offset = dt.timedelta(minutes=draw(st.integers(0, 60 * 24 * 400)))
    tpsp_offset = dt.timedelta(minutes=draw(st.integers(0, 60 * 24 * 10)))
    delay = draw(st.none() | st.integers(0, 60 * 24 * 120))
    return {
        "incident_id": "INC-P",
        "licensee": {
            "name": "Property Mutual",
            "naic_code": "11111",
            "kind": draw(st.sampled_from(["insurer", "producer", "assuming_insurer", "other"])),
            "domicile_state": draw(st.sampled_from(STATES)),
            "home_state": draw(st.sampled_from(STATES)),
        },
        "discovered_at": (BASE + offset).isoformat(),
        "source": source,
        "tpsp_notified_at": (BASE + offset + tpsp_offset).isoformat() if source != "internal" else None,
        "data_elements": draw(st.lists(st.sampled_from(["ssn", "health", "business", "biometric"]), max_size=3, unique=True)),
        "encrypted": False,
        "key_compromised": False,
        "returned_or_destroyed_unused": False,
        "harms_operations": draw(st.booleans()),
        "affected": rows,
        "law_enforcement_delay_until": (BASE + offset + dt.timedelta(minutes=delay)).isoformat() if delay is not None else None,
    }


def _by_key(result: Any) -> dict[tuple[str, str, str], dt.datetime]:
    return {(o.kind.value, o.jurisdiction, o.recipient_key): o.due for o in result.obligations}


@verifies("tn.commissioner_notice.deadline", "tn.consumer_notice.deadline", "engine.calendar.business_days")
@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=events(), first=st.integers(0, 60 * 24 * 30), extra=st.integers(0, 60 * 24 * 30))
def test_a_later_determination_never_gives_an_earlier_deadline(data: dict[str, Any], first: int, extra: int) -> None:
    intake = IncidentIntake.model_validate(data)
    early = intake.discovered_at + dt.timedelta(minutes=first)
    late = early + dt.timedelta(minutes=extra)
    before = _by_key(compute_obligations(intake, determined_at=early))
    after = _by_key(compute_obligations(intake, determined_at=late))
    assert before.keys() == after.keys()
    for key, due in before.items():
        assert after[key] >= due, key


@verifies("tn.commissioner_notice.trigger_a2", "tn.consumer_notice.deadline")
@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=events(), index=st.integers(0, 10), more=st.integers(1, 600_000), new_state=st.sampled_from(STATES))
def test_adding_affected_consumers_never_removes_an_obligation(data: dict[str, Any], index: int, more: int, new_state: str) -> None:
    data["determined_at"] = data["discovered_at"]
    before = compute_obligations(IncidentIntake.model_validate(data))
    grown = {**data, "affected": [dict(r) for r in data["affected"]]}
    row = grown["affected"][index % len(grown["affected"])]
    row["consumers"] += more
    if new_state not in {r["state"] for r in grown["affected"]}:
        grown["affected"].append({**row, "state": new_state, "consumers": more, "with_email": 0, "without_contact": 0})
    after = compute_obligations(IncidentIntake.model_validate(grown))
    missing = {(o.kind.value, o.jurisdiction, o.recipient_key) for o in before.obligations} - {
        (o.kind.value, o.jurisdiction, o.recipient_key) for o in after.obligations
    }
    assert not missing
