"""Commissioner-report items (A)–(N) of Tenn. Code Ann. § 56-2-1006(b)(1): a finding supplies only
the items its kind fits; every report is complete only when each item is answered or marked not
applicable with a reason; closure also needs counsel's review of every flagged obligation."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from activities.documents import build_commissioner_report
from models.content import (
    DocumentKind,
    DocumentRef,
    NoticeContact,
    NoticeContent,
    Representative,
)
from models.incident import IncidentIntake, ReportItemCode
from models.lifecycle import EventAmendment, Finding, FindingKind
from models.notice import RenderCommissionerReportInput, ReportItemAvailability
from models.obligation import Obligation, ObligationKind
from models.privileged import PrivilegeBasis
from models.steps import ReportItemNotApplicable
from rules import compute_obligations
from rules.report_items import (
    ITEMS_A_FINDING_KIND_MAY_SUPPLY,
    closure_problems,
    finding_problem,
    not_applicable_problem,
    report_completeness,
)

REPO = Path(__file__).resolve().parents[2]
EXAMPLE_EVENT = REPO / "docs" / "examples" / "event-tpsp-multistate.json"
ALL = list(ReportItemCode)
I = ReportItemCode


def finding(kind: FindingKind, items: list[ReportItemCode], **extra: object) -> Finding:
    fields: dict[str, object] = {"kind": kind, "summary": f"What the {kind.value} step found.", "recorded_by": "jdoe",
                                 "report_items": items}
    if kind.privileged_by_default and items:
        fields["report_statement"] = f"Statement for the report from the {kind.value} step."
    fields.update(extra)
    return Finding.model_validate(fields)


@pytest.fixture(scope="module")
def intake() -> IncidentIntake:
    return IncidentIntake.model_validate(json.loads(EXAMPLE_EVENT.read_text()))


@pytest.fixture(scope="module")
def obligations(intake: IncidentIntake) -> list[Obligation]:
    return compute_obligations(intake).obligations


@pytest.fixture(scope="module")
def content() -> NoticeContent:
    return NoticeContent(
        contact=NoticeContact(phone="1-800-555-0134", email="privacy@cumberland.example"),
        representative=Representative(name="Dana Whitfield", title="Chief Privacy Officer",
                                      email="dana.whitfield@cumberland.example", phone="615-555-0199"),
        privacy_policy_url="https://www.cumberland.example/privacy",
    )


def commissioner(obligations: list[Obligation]) -> list[Obligation]:
    return [o for o in obligations if o.kind is ObligationKind.COMMISSIONER_NOTICE]


def consumer_states(obligations: list[Obligation]) -> list[str]:
    return sorted({o.jurisdiction for o in obligations if o.kind is ObligationKind.CONSUMER_NOTICE})


def notice_copies(states: list[str]) -> dict[str, list[DocumentRef]]:
    return {
        s: [DocumentRef(kind=DocumentKind.CONSUMER_LETTER, sha256=f"{n:064x}", path=f"{n:064x}.html", media_type="text/html",
                        size=100, citation="Tenn. Code Ann. § 56-2-1006(c)")]
        for n, s in enumerate(states, 1)
    }


#: Findings that answer every item a finding may answer — (A)–(H), (J), (K).
COMPLETE_FINDINGS = [
    finding(FindingKind.NATURE_AND_SCOPE, [I.B]),
    finding(FindingKind.COMPROMISE_PERIOD, [I.A, I.H]),
    finding(FindingKind.SOURCE_IDENTIFIED, [I.E]),
    finding(FindingKind.INFORMATION_RECOVERED, [I.D]),
    finding(FindingKind.LAW_ENFORCEMENT_NOTIFIED, [I.F]),
    finding(FindingKind.INTERNAL_REVIEW, [I.J]),
    finding(FindingKind.REMEDIATION, [I.K]),
]


# -- which finding supplies which item --------------------------------------------------------------


@pytest.mark.parametrize("kind", list(FindingKind), ids=lambda k: k.value)
@pytest.mark.parametrize("item", ALL, ids=lambda c: c.value)
def test_a_finding_supplies_only_the_items_its_kind_fits_56_2_1006_b_1(kind: FindingKind, item: ReportItemCode) -> None:
    extra = {"report_statement": "For the report."} if kind.privileged_by_default else {}
    problem = finding_problem(finding(kind, [item], **extra))
    if item in ITEMS_A_FINDING_KIND_MAY_SUPPLY[kind]:
        assert problem is None
    else:
        assert problem is not None
        assert problem.field == "report_items"
        assert problem.message.startswith("report_items: ")
        assert f"({item.value})" in problem.message
        assert problem.citation.startswith("Tenn. Code Ann. § 56-2-1006(b)(1)")


def test_a_remediation_finding_cannot_answer_whether_a_police_report_was_filed_56_2_1006_b_1_f() -> None:
    problem = finding_problem(finding(FindingKind.REMEDIATION, [I.F]))
    assert problem == (
        "report_items",
        (
            "report_items: a remediation finding cannot answer (F) whether a police report was filed or agencies "
            "notified, and when; record a law enforcement notified finding for (F)"
        ),
        "Tenn. Code Ann. § 56-2-1006(b)(1)(F)",
    )


def test_the_demo_mistakes_are_refused_data_elements_are_not_the_source_scope_is_not_recovery_56_2_1006_b_1() -> None:
    assert finding_problem(finding(FindingKind.NPI_INVOLVED, [I.E])).message.startswith(
        "report_items: an npi involved finding cannot answer (E) the identity of the source"
    )
    assert "(D) whether lost, stolen or breached information has been recovered" in finding_problem(
        finding(FindingKind.NATURE_AND_SCOPE, [I.B, I.C, I.D])
    ).message
    assert "(F)" in finding_problem(finding(FindingKind.SECURITY_RESTORED, [I.F])).message


def test_items_no_finding_supplies_say_where_they_come_from_56_2_1006_b_1() -> None:
    assert "best estimate of affected consumers" in finding_problem(finding(FindingKind.NPI_INVOLVED, [I.I])).message
    assert "representative" in finding_problem(finding(FindingKind.NATURE_AND_SCOPE, [I.M])).message
    assert not any(I.I in items or I.L in items or I.M in items or I.N in items for items in ITEMS_A_FINDING_KIND_MAY_SUPPLY.values())


def test_every_kind_has_its_items_and_only_counsel_notes_supply_none() -> None:
    assert set(ITEMS_A_FINDING_KIND_MAY_SUPPLY) == set(FindingKind)
    for kind, items in ITEMS_A_FINDING_KIND_MAY_SUPPLY.items():
        assert bool(items) == kind.supplies_report_items, kind
    # Every item a finding may answer has at least one kind to record it with.
    assert set().union(*ITEMS_A_FINDING_KIND_MAY_SUPPLY.values()) == set(ALL) - {I.I, I.L, I.M, I.N}


@pytest.mark.parametrize("kind", [k for k in FindingKind if k.supplies_report_items], ids=lambda k: k.value)
def test_a_finding_must_name_the_items_it_supplies(kind: FindingKind) -> None:
    with pytest.raises(ValidationError, match=r"report_items: name the commissioner-report items"):
        Finding(kind=kind, summary="Found.", recorded_by="jdoe")


def test_a_counsel_note_supplying_an_item_is_refused() -> None:
    problem = finding_problem(finding(FindingKind.COUNSEL_NOTE, [I.J]))
    assert problem is not None and problem.field == "report_items" and "counsel note answers no" in problem.message
    assert finding_problem(Finding(kind="counsel_note", summary="Advice.", recorded_by="counsel")) is None


def test_an_item_listed_twice_is_refused() -> None:
    with pytest.raises(ValidationError, match="report_items: each item may be listed once"):
        finding(FindingKind.NATURE_AND_SCOPE, [I.B, I.B])


# -- privilege ------------------------------------------------------------------------------------


def test_internal_review_and_counsel_notes_are_privileged_by_default_others_are_not() -> None:
    review = finding(FindingKind.INTERNAL_REVIEW, [I.J])
    note = Finding(kind="counsel_note", summary="Advice.", recorded_by="counsel")
    scope = finding(FindingKind.NATURE_AND_SCOPE, [I.B])
    assert (review.privileged, review.privilege_basis) == (True, PrivilegeBasis.WORK_PRODUCT)
    assert (note.privileged, note.privilege_basis) == (True, PrivilegeBasis.ATTORNEY_CLIENT)
    assert (scope.privileged, scope.privilege_basis) == (False, None)
    forensic = finding(FindingKind.SOURCE_IDENTIFIED, [I.E], privileged=True, report_statement="An external actor.")
    assert forensic.privilege_basis is PrivilegeBasis.WORK_PRODUCT
    not_privileged = finding(FindingKind.INTERNAL_REVIEW, [I.J], privileged=False, report_statement=None)
    assert not not_privileged.privileged
    # The default survives a round trip through JSON (Temporal payloads, the API).
    assert Finding.model_validate_json(review.model_dump_json()) == review


def test_a_privileged_finding_that_supplies_items_needs_the_statement_the_report_gives() -> None:
    with pytest.raises(ValidationError, match="report_statement: a privileged finding that supplies report items"):
        Finding(kind="internal_review", summary="Privileged analysis.", recorded_by="counsel", report_items=["J"])
    with pytest.raises(ValidationError, match="report_statement: only a privileged finding has one"):
        Finding(kind="remediation", summary="MFA enforced.", recorded_by="jdoe", report_items=["K"], report_statement="x")
    with pytest.raises(ValidationError, match="privilege_basis: only a privileged finding has one"):
        Finding(kind="remediation", summary="MFA enforced.", recorded_by="jdoe", report_items=["K"], privilege_basis="work_product")


def test_the_report_states_a_privileged_findings_statement_never_its_sealed_text_56_2_1006_b_1_j(
    intake: IncidentIntake, obligations: list[Obligation]
) -> None:
    tn = next(o for o in commissioner(obligations) if o.jurisdiction == "TN")
    review = Finding(kind="internal_review", summary="PRIVILEGED: the analyst skipped the quarterly access review.",
                     recorded_by="counsel", report_items=["J"], report_statement="Vendor-oversight procedures were followed.")
    report = build_commissioner_report(RenderCommissionerReportInput(obligation=tn, intake=intake, findings=[review],
                                                                     as_of=intake.discovered_at))
    (j,) = [i for i in report.items if i.code is I.J]
    assert j.status is ReportItemAvailability.AVAILABLE and j.statements == ["Vendor-oversight procedures were followed."]
    assert "PRIVILEGED" not in report.model_dump_json()


# -- completeness --------------------------------------------------------------------------------


def test_the_intake_alone_leaves_items_unanswered_in_every_report_56_2_1006_b_1(
    intake: IncidentIntake, obligations: list[Obligation], content: NoticeContent
) -> None:
    missing = report_completeness(obligations, [], [], [], intake, content=content)
    assert set(missing) == {o.obligation_id for o in commissioner(obligations)}
    by_state = {next(o.jurisdiction for o in obligations if o.obligation_id == oid): codes for oid, codes in missing.items()}
    # (C) the provider's notice, (G) data elements, (I) the estimate, (L) policy, (M) representative: from the event.
    assert by_state["TN"] == [I.A, I.B, I.D, I.E, I.F, I.H, I.J, I.K, I.N]
    # Virginia's residents get no consumer notice: (N) is not applicable there by rule.
    assert by_state["VA"] == [I.A, I.B, I.D, I.E, I.F, I.H, I.J, I.K]


def test_findings_answer_their_items_and_the_notice_copy_answers_n_56_2_1006_b_1_n(
    intake: IncidentIntake, obligations: list[Obligation], content: NoticeContent
) -> None:
    copies = notice_copies(consumer_states(obligations))
    missing = report_completeness(obligations, COMPLETE_FINDINGS, [], [], intake, content=content, consumer_notice_documents=copies)
    assert missing and all(codes == [] for codes in missing.values())
    without_copies = report_completeness(obligations, COMPLETE_FINDINGS, [], [], intake, content=content)
    for oid, codes in without_copies.items():
        state = oid.split(":")[2]
        assert codes == ([I.N] if state in consumer_states(obligations) else []), oid


def test_l_and_m_need_the_privacy_policy_and_the_representative_56_2_1006_b_1_l_m(
    intake: IncidentIntake, obligations: list[Obligation]
) -> None:
    copies = notice_copies(consumer_states(obligations))
    missing = report_completeness(obligations, COMPLETE_FINDINGS, [], [], intake, consumer_notice_documents=copies)
    assert all(codes == [I.L, I.M] for codes in missing.values())


def test_an_amendment_supplies_the_items_it_names(intake: IncidentIntake, obligations: list[Obligation], content: NoticeContent) -> None:
    copies = notice_copies(consumer_states(obligations))
    findings = [f for f in COMPLETE_FINDINGS if f.kind is not FindingKind.SOURCE_IDENTIFIED]
    amendment = EventAmendment(recorded_by="jdoe", summary="The actor was identified.", report_items_provided=[I.E])
    assert all(c == [I.E] for c in report_completeness(obligations, findings, [], [], intake, content=content,
                                                       consumer_notice_documents=copies).values())
    assert all(c == [] for c in report_completeness(obligations, findings, [amendment], [], intake, content=content,
                                                    consumer_notice_documents=copies).values())


def test_a_not_applicable_mark_with_its_reason_completes_the_item_in_the_states_it_names(
    intake: IncidentIntake, obligations: list[Obligation], content: NoticeContent
) -> None:
    copies = notice_copies(consumer_states(obligations))
    findings = [f for f in COMPLETE_FINDINGS if f.kind is not FindingKind.INFORMATION_RECOVERED]
    tn_only = ReportItemNotApplicable(state="TN", item=I.D, reason="Nothing was taken that could be recovered.", recorded_by="jdoe")
    missing = report_completeness(obligations, findings, [], [tn_only], intake, content=content, consumer_notice_documents=copies)
    for oid, codes in missing.items():
        assert codes == ([] if oid.split(":")[2] == "TN" else [I.D]), oid
    everywhere = tn_only.model_copy(update={"state": None})
    missing = report_completeness(obligations, findings, [], [everywhere], intake, content=content, consumer_notice_documents=copies)
    assert all(codes == [] for codes in missing.values())


def test_the_report_shows_a_marked_item_as_not_applicable_with_the_reason(
    intake: IncidentIntake, obligations: list[Obligation]
) -> None:
    tn = next(o for o in commissioner(obligations) if o.jurisdiction == "TN")
    mark = ReportItemNotApplicable(item=I.D, reason="Nothing was taken that could be recovered.", recorded_by="jdoe")
    report = build_commissioner_report(RenderCommissionerReportInput(obligation=tn, intake=intake, not_applicable=[mark],
                                                                     as_of=intake.discovered_at))
    (d,) = [i for i in report.items if i.code is I.D]
    assert d.status is ReportItemAvailability.NOT_APPLICABLE and d.note == "Not applicable: Nothing was taken that could be recovered."


def test_the_report_and_closure_agree_on_what_is_answered(
    intake: IncidentIntake, obligations: list[Obligation], content: NoticeContent
) -> None:
    findings = COMPLETE_FINDINGS[:3]
    mark = ReportItemNotApplicable(item=I.F, reason="No agency was notified and no police report filed.", recorded_by="jdoe")
    missing = report_completeness(obligations, findings, [], [mark], intake, content=content)
    for ob in commissioner(obligations):
        report = build_commissioner_report(RenderCommissionerReportInput(
            obligation=ob, intake=intake, findings=findings, not_applicable=[mark], content=content, as_of=intake.discovered_at,
        ))
        unanswered = [i.code for i in report.items
                      if i.status not in (ReportItemAvailability.AVAILABLE, ReportItemAvailability.NOT_APPLICABLE)]
        assert unanswered == missing[ob.obligation_id], ob.obligation_id


def test_items_always_applicable_cannot_be_marked_not_applicable_56_2_1006_b_1_i_m() -> None:
    for item in (I.I, I.M):
        with pytest.raises(ValidationError, match=rf"item: \({item.value}\) applies to every commissioner report"):
            ReportItemNotApplicable(item=item, reason="We do not know the number yet.", recorded_by="jdoe")
    with pytest.raises(ValidationError, match="reason"):
        ReportItemNotApplicable(item=I.D, reason="short", recorded_by="jdoe")


def test_a_mark_is_refused_for_an_answered_item_or_a_state_owed_no_report(
    intake: IncidentIntake, obligations: list[Obligation], content: NoticeContent
) -> None:
    mark = ReportItemNotApplicable(item=I.E, reason="The source could not be identified.", recorded_by="jdoe")
    problem = not_applicable_problem(mark, obligations, COMPLETE_FINDINGS, [], intake, content=content)
    assert problem is not None and problem.field == "item" and "already answered" in problem.message
    assert not_applicable_problem(mark, obligations, [], [], intake, content=content) is None
    ohio = mark.model_copy(update={"state": "OH"})  # 12 residents, no harm: no commissioner notice in Ohio
    problem = not_applicable_problem(ohio, obligations, [], [], intake, content=content)
    assert problem is not None and problem.field == "state" and "OH" in problem.message


def test_excused_and_waived_commissioner_obligations_need_no_complete_report(
    intake: IncidentIntake, obligations: list[Obligation], content: NoticeContent
) -> None:
    tn = next(o for o in commissioner(obligations) if o.jurisdiction == "TN")
    missing = report_completeness(obligations, [], [], [], intake, content=content, waived={tn.obligation_id})
    assert tn.obligation_id not in missing and missing


# -- closure ------------------------------------------------------------------------------------


def test_closure_names_each_missing_item_per_state_and_each_unreviewed_counsel_flag(
    intake: IncidentIntake, obligations: list[Obligation], content: NoticeContent
) -> None:
    copies = notice_copies(consumer_states(obligations))
    findings = [f for f in COMPLETE_FINDINGS if f.kind not in (FindingKind.COMPROMISE_PERIOD, FindingKind.INTERNAL_REVIEW)]
    flagged = sorted(o.obligation_id for o in obligations if o.needs_counsel_review)
    assert flagged, "the example event has obligations resting on reported rules"
    problems = closure_problems(obligations, findings, [], [], intake, set(), content=content, consumer_notice_documents=copies)
    fields = [p.field for p in problems]
    states = sorted(o.jurisdiction for o in commissioner(obligations))
    assert fields == [f"report_items.{s}.{c}" for s in states for c in ("A", "H", "J")] + [f"counsel_review.{oid}" for oid in flagged]
    tn_h = next(p for p in problems if p.field == "report_items.TN.H")
    assert tn_h.citation == "Tenn. Code Ann. § 56-2-1006(b)(1)(H)"
    assert tn_h.message == ("TN commissioner report: (H) the period during which the information system was compromised is "
                            "neither answered nor marked not applicable with a reason")
    review = next(p for p in problems if p.field.startswith("counsel_review."))
    ob = next(o for o in obligations if o.obligation_id == review.field.removeprefix("counsel_review."))
    assert review.citation == ob.citation and "record a counsel_review step" in review.message


def test_closure_has_nothing_to_say_once_every_item_is_answered_and_every_flag_reviewed(
    intake: IncidentIntake, obligations: list[Obligation], content: NoticeContent
) -> None:
    copies = notice_copies(consumer_states(obligations))
    flagged = {o.obligation_id for o in obligations if o.needs_counsel_review}
    assert closure_problems(obligations, COMPLETE_FINDINGS, [], [], intake, flagged, content=content,
                            consumer_notice_documents=copies) == []
    one_left = min(flagged)
    (problem,) = closure_problems(obligations, COMPLETE_FINDINGS, [], [], intake, flagged - {one_left}, content=content,
                                  consumer_notice_documents=copies)
    assert problem.field == f"counsel_review.{one_left}"


def test_a_states_report_says_a_providers_event_is_the_licensees_own_under_that_states_rule(
    intake: IncidentIntake, obligations: list[Obligation]
) -> None:
    """Item (B) of the Delaware report must not quote Tennessee's statute (issue 9, item 11)."""
    from rules.jurisdictions import tpsp_citation
    from rules.report_items import ReportSources, report_item_contents

    for state in ("DE", "TN"):
        ob = next(o for o in obligations if o.kind is ObligationKind.COMMISSIONER_NOTICE and o.jurisdiction == state)
        (b,) = [c for c in report_item_contents(ob, ReportSources(intake=intake)) if c.code is I.B]
        statement = next(s for s in b.statements if "third-party service provider" in s)
        assert tpsp_citation(state) in statement
        if state != "TN":
            assert "Tenn. Code Ann." not in statement
