"""`noticeflow obligations` answers with the general-law kinds: consumer notice under the general breach
law and the attorney-general notice, with their clocks, citations, thresholds and flags."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from noticeflow.cli import app
from rules.registry import verifies
from tests.rules.builders import intake_data, state_row


@verifies("breach_law.tx.attorney_general_notice", "breach_law.tx.consumer_notice", "engine.breach_law.laws_satisfied")
def test_obligations_command_lists_the_attorney_general_notice_and_the_general_law_consumer_notice(tmp_path: Path) -> None:
    """TX: "Attorney General if ≥ 250 Texas residents: as soon as practicable and ≤ 30 days after the determination,
    on the AG's electronic form"; consumer notice "≤ 60 days after determining the breach occurred"."""
    event = tmp_path / "event.json"
    event.write_text(json.dumps(intake_data(affected=[state_row("TX", 250), state_row("OR", 250)])), encoding="utf-8")
    result = CliRunner().invoke(app, ["obligations", str(event)])
    assert result.exit_code == 0, result.stderr
    out = json.loads(result.stdout)
    by = {o["obligation_id"]: o for o in out["obligations"]}
    ag = by["INC-T:attorney_general_notice:TX:attorney_general:TX:general_law"]
    assert ag["kind"] == "attorney_general_notice" and ag["recipient"] == "attorney_general"
    assert ag["due"] == "2025-04-06T23:59:59.999999-05:00"
    assert ag["filing_method"] == "the Attorney General's electronic form"
    assert ag["threshold"] == {"comparator": "at_least", "residents": 250, "affected_residents": 250,
                               "text": "≥ 250 Texas residents"}  # fmt: skip
    assert ag["regime"] == "general_breach_law" and ag["citation"] == "Tex. Bus. & Com. Code § 521.053"
    assert ag["needs_counsel_review"] and ag["laws_satisfied"] == ["TX: Tex. Bus. & Com. Code § 521.053"]
    consumer = by["INC-T:consumer_notice:TX:consumers:TX:general_law"]
    assert consumer["due"] == "2025-05-06T23:59:59.999999-05:00" and consumer["clock"]["amount"] == 60
    oregon = by["INC-T:consumer_notice:OR:consumers:OR:general_law"]
    assert oregon["clock_start"] == "discovery" and oregon["due"] == "2025-04-15T23:59:59.999999-07:00"
    # OR: "Attorney General if > 250 residents" — 250 is not more than 250, and the answer says so
    assert not any(o["kind"] == "attorney_general_notice" and o["jurisdiction"] == "OR" for o in out["obligations"])
    assert any(r["code"] == "general_law.OR.attorney_general.threshold_not_met" for r in out["reasons"])
