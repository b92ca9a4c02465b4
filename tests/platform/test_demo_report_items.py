"""The demo's findings answer every item (A)–(N) of every state's commissioner report, each with a
finding of the kind that fits it (Tenn. Code Ann. § 56-2-1006(b)(1)) — together with the intake,
the notice content and the consumer notices the demo sends. Before issue 9 the demo's "source"
(E) held the data elements, "police report" (F) the remediation, and (H), (J), (K) stayed open."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from models.content import DocumentKind, DocumentRef, NoticeContent
from models.incident import IncidentIntake
from models.lifecycle import Finding, FindingKind
from models.obligation import ObligationKind
from noticeflow import demo
from noticeflow.sample_event import sample_findings
from rules import compute_obligations
from rules.npi import npi_problem
from rules.report_items import closure_problems, finding_problem

NOW = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)


def _demo_findings(intake: dict[str, Any]) -> list[Finding]:
    found = sample_findings(intake)
    return [Finding.model_validate({**f, "recorded_by": "demo"}) for f in found]


def test_each_demo_finding_supplies_only_items_its_kind_fits_and_carries_no_npi_56_2_1006_b_1() -> None:
    for f in _demo_findings(demo.sample_intake(NOW, "INC-DEMO")):
        assert finding_problem(f) is None, (f.kind.value, finding_problem(f))
        statement = f.report_statement if f.privileged else f.summary
        assert statement is None or npi_problem("summary", statement) is None, f.kind.value


def test_the_demo_findings_with_the_intake_answer_every_item_of_every_report_56_2_1006_b_1() -> None:
    raw = demo.sample_intake(NOW, "INC-DEMO")
    intake = IncidentIntake.model_validate(raw)
    findings = _demo_findings(raw)
    obligations = compute_obligations(intake, determined_at=NOW).obligations
    content = NoticeContent.model_validate(json.loads(demo.NOTICES.read_text())["content"])
    consumer_states = {o.jurisdiction for o in obligations if o.kind is ObligationKind.CONSUMER_NOTICE and not o.excused}
    copies = {
        s: [DocumentRef(kind=DocumentKind.CONSUMER_LETTER, sha256="a" * 64, path="a.html", media_type="text/html", size=1,
                        citation="Tenn. Code Ann. § 56-2-1006(c)")]
        for s in consumer_states
    }
    problems = closure_problems(obligations, findings, [], [], intake, set(), content=content, consumer_notice_documents=copies)
    assert [p.field for p in problems if p.field.startswith("report_items.")] == []
    assert {FindingKind.INTERNAL_REVIEW, FindingKind.COUNSEL_NOTE} <= {f.kind for f in findings if f.privileged}
