"""The licensee's size and licences travel through the incident API into the rules (issue 12): a bad
value is a 422 naming the field before anything starts; a known size applies Oklahoma's verified
exemption (no insurance-act obligation, the consumer notice kept under the general law, the reason
in the determination's entry) and flags Kentucky's reported one with what is known."""

from __future__ import annotations

from typing import Any

import httpx

from tests.api.conftest import SampleEvent

DETERMINATION = {"is_cybersecurity_event": True, "reason": "Claim images with SSNs and health information were exfiltrated."}
OKLAHOMA = {"state": "OK", "consumers": 420, "material_harm_likely": True, "other_government_notice_required": True,
            "with_email": 300, "without_contact": 0, "producers_of_record_known": True}


async def test_a_negative_employee_count_is_422_naming_the_field_and_starts_nothing(
    api: httpx.AsyncClient, sample: SampleEvent
) -> None:
    body = sample.start_body()
    body["intake"]["licensee"]["employees"] = -1
    refused = await api.post("/v1/incidents", json=body)
    assert refused.status_code == 422, refused.text
    assert [e["field"] for e in refused.json()["errors"]] == ["intake.licensee.employees"]
    assert (await api.get(f"/v1/incidents/{sample.incident_id}")).status_code == 404


async def test_the_licensees_size_decides_oklahomas_exemption_and_kentuckys_flag(
    api: httpx.AsyncClient, sample: SampleEvent
) -> None:
    body = sample.start_body()
    body["intake"]["licensee"].update(employees=30, annual_revenue_usd=4_200_000, licensed_states=["TN", "OK", "KY"])
    body["intake"]["affected"].append(OKLAHOMA)
    started = await api.post("/v1/incidents", json=body)
    assert started.status_code == 201, started.text
    base = f"/v1/incidents/{sample.incident_id}"
    decided = await api.post(f"{base}/determination", json=DETERMINATION)
    assert decided.status_code == 200, decided.text
    obligations: list[dict[str, Any]] = [o["obligation"] for o in decided.json()["obligations"]]
    oklahoma = [(o["kind"], o["regime"]) for o in obligations if o["jurisdiction"] == "OK"]
    assert oklahoma == [("consumer_notice", "general_breach_law")]
    (kentucky,) = [o for o in obligations if o["jurisdiction"] == "KY" and o["kind"] == "commissioner_notice"]
    assert kentucky["needs_counsel_review"]
    assert any("fewer than 50 employees" in r for r in kentucky["counsel_review_reasons"])
    entries = (await api.get(f"{base}/ledger", params={"limit": 500})).json()["entries"]
    (determined,) = [e for e in entries if e["type"] == "incident.determined"]
    stated = {r["code"]: r for r in determined["data"]["no_obligation_reasons"]}
    assert stated["exemption.ok.small_licensee"]["citation"] == "36 O.S. § 675; Oklahoma Insurance Department (department page)"
