"""Notice documents: the commissioner report of § 56-2-1006(b), the consumer notices of (c), and
the producer (f) and ceding-insurer (e) notices."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from activities.documents import (
    NOT_YET_AVAILABLE,
    DocumentError,
    DocumentStore,
    build_commissioner_report,
    load_commissioner_report,
    notice_text,
    render_ceding_insurer_notice,
    render_commissioner_report,
    render_consumer_email,
    render_consumer_letter,
    render_media_notice,
    render_producer_notice,
    render_website_posting,
)
from models.incident import IncidentIntake, ReportItemCode
from models.lifecycle import EventAmendment, Finding, FindingKind
from models.notice import (
    DocumentKind,
    NoticeContent,
    PostalAddress,
    Producer,
    RenderCommissionerReportInput,
    ReportItemAvailability,
)
from models.obligation import Obligation
from tests.activities.conftest import AS_OF, obligation

ALL_ITEMS = [c.value for c in ReportItemCode]


@pytest.fixture
def store(tmp_path: Path) -> DocumentStore:
    return DocumentStore(tmp_path / "documents")


def _report_input(intake: IncidentIntake, obligations: dict[str, Obligation], **extra: object) -> RenderCommissionerReportInput:
    return RenderCommissionerReportInput(
        obligation=obligation(obligations, "commissioner_notice", "TN"),
        intake=intake,
        consumer_obligations=[o for o in obligations.values() if o.kind.value == "consumer_notice"],
        as_of=AS_OF,
        **extra,  # type: ignore[arg-type]
    )


def test_commissioner_report_has_items_a_to_n_each_with_its_citation_56_2_1006_b_1(
    intake: IncidentIntake, obligations: dict[str, Obligation], store: DocumentStore
) -> None:
    report = build_commissioner_report(_report_input(intake, obligations))
    assert [i.code.value for i in report.items] == ALL_ITEMS
    for item in report.items:
        assert item.citation == f"Tenn. Code Ann. § 56-2-1006(b)(1)({item.code.value})"
    json_ref, html_ref = render_commissioner_report(store, report)
    html = store.read(html_ref).decode()
    for code in ALL_ITEMS:
        assert f'id="item-{code}"' in html
        assert f"Tenn. Code Ann. § 56-2-1006(b)(1)({code})" in html
    assert json.loads(store.read(json_ref))["items"][0]["citation"] == "Tenn. Code Ann. § 56-2-1006(b)(1)(A)"


def test_items_not_yet_available_are_marked_to_be_supplemented_56_2_1006_b_1(
    intake: IncidentIntake, obligations: dict[str, Obligation], store: DocumentStore
) -> None:
    report = build_commissioner_report(_report_input(intake, obligations))
    status = {i.code.value: i for i in report.items}
    for code in "DEFHJKMN":
        assert status[code].status is ReportItemAvailability.NOT_YET_AVAILABLE, code
        assert status[code].note == NOT_YET_AVAILABLE
    # The intake answers (C) for a provider-reported event, (G) and (I) outright; (A) and (B) in part.
    assert {c for c in "CGI"} <= {c for c, i in status.items() if i.status is ReportItemAvailability.AVAILABLE}
    assert status["A"].status is ReportItemAvailability.PARTIAL
    html = store.read(render_commissioner_report(store, report)[1]).decode()
    assert html.count(NOT_YET_AVAILABLE) == 8


def test_consumer_estimate_item_i_comes_from_the_current_per_state_counts(
    intake: IncidentIntake, obligations: dict[str, Obligation]
) -> None:
    report = build_commissioner_report(_report_input(intake, obligations))
    item_i = next(i for i in report.items if i.code is ReportItemCode.I)
    assert report.consumer_estimate == 18_400
    assert "Best estimate: 18,400 consumers residing in Tennessee are affected." in item_i.statements
    assert report.consumers_by_state["MO"] == 2100


def test_findings_and_amendments_supply_the_items_they_name_56_2_1006_b_1(
    intake: IncidentIntake, obligations: dict[str, Obligation]
) -> None:
    findings = [
        Finding(kind=FindingKind.NATURE_AND_SCOPE, summary="Credential phishing at the claims vendor.", recorded_by="IR lead",
                report_items=[ReportItemCode.B]),
        Finding(
            kind=FindingKind.SECURITY_RESTORED,
            summary="Vendor rotated credentials and enforced MFA on 2025-11-28.",
            recorded_by="IR lead",
            report_items=[ReportItemCode.K],
        ),
        Finding(kind=FindingKind.COMPROMISE_PERIOD, summary="Compromised from 2025-11-18 to 2025-11-22.", recorded_by="IR lead",
                report_items=[ReportItemCode.H]),
    ]
    amendments = [
        EventAmendment(recorded_by="IR lead", summary="Attacker identified as a known ransomware affiliate.", report_items_provided=[ReportItemCode.E])
    ]
    report = build_commissioner_report(_report_input(intake, obligations, findings=findings, amendments=amendments))
    item = {i.code.value: i for i in report.items}
    assert item["B"].status is ReportItemAvailability.AVAILABLE
    assert "Credential phishing at the claims vendor." in item["B"].statements
    assert item["C"].statements == ["The licensee's third-party service provider notified the licensee on 2025-11-26T09:15-06:00."]
    assert "Vendor rotated credentials and enforced MFA on 2025-11-28." not in item["H"].statements
    assert item["H"].status is ReportItemAvailability.AVAILABLE and item["K"].status is ReportItemAvailability.AVAILABLE
    assert item["E"].statements == ["Attacker identified as a known ransomware affiliate."]


def test_item_n_is_not_applicable_where_no_consumer_notice_is_required(
    intake: IncidentIntake, obligations: dict[str, Obligation]
) -> None:
    req = _report_input(intake, obligations).model_copy(update={"obligation": obligation(obligations, "commissioner_notice", "VA")})
    item_n = next(i for i in build_commissioner_report(req).items if i.code is ReportItemCode.N)
    assert item_n.status is ReportItemAvailability.NOT_APPLICABLE


def test_material_update_lists_what_changed_since_the_previous_version_56_2_1006_b_2(
    intake: IncidentIntake, obligations: dict[str, Obligation], content: NoticeContent, store: DocumentStore
) -> None:
    first = build_commissioner_report(_report_input(intake, obligations))
    first_json, _ = render_commissioner_report(store, first)
    amended = intake.model_copy(
        update={"affected": [r.model_copy(update={"consumers": 19_050}) if r.state == "TN" else r for r in intake.affected]}
    )
    amendment = EventAmendment(
        recorded_by="IR lead", summary="Forensics found 650 more Tennessee policyholders.", report_items_provided=[ReportItemCode.H]
    )
    req = _report_input(
        amended,
        obligations,
        amendments=[amendment],
        content=content,
        version=2,
        previous=first_json,
        reported_changes=["affected[TN].consumers: 18400 → 19050"],
    )
    second = build_commissioner_report(req, previous=load_commissioner_report(store, first_json), previous_sha256=first_json.sha256)
    summaries = [c.summary for c in second.changes]
    assert second.material_update and second.version == 2 and second.previous_sha256 == first_json.sha256
    assert summaries[0] == "affected[TN].consumers: 18400 → 19050", "the workflow's own change list comes first"
    assert "(I) best estimate of affected consumers residing in Tennessee changed from 18,400 to 19,050." in summaries
    assert "(H) was not yet available, is now available." in summaries
    assert "(M) was not yet available, is now available." in summaries  # the representative was named
    assert "Update recorded: Forensics found 650 more Tennessee policyholders." in summaries
    html = store.read(render_commissioner_report(store, second)[1]).decode()
    assert "Changes since version 1" in html and "19,050" in html


def test_an_update_without_the_previous_version_is_rejected(intake: IncidentIntake, obligations: dict[str, Obligation]) -> None:
    with pytest.raises(ValidationError, match="previous is required for version 2"):
        _report_input(intake, obligations, version=2)


def test_rendering_is_content_addressed_and_repeatable(
    intake: IncidentIntake, obligations: dict[str, Obligation], store: DocumentStore
) -> None:
    report = build_commissioner_report(_report_input(intake, obligations))
    a = render_commissioner_report(store, report)
    b = render_commissioner_report(store, report)
    assert a == b
    for ref in a:
        path = store.path_of(ref)
        assert path.name == f"{ref.sha256}.{path.suffix[1:]}"
        assert hashlib.sha256(path.read_bytes()).hexdigest() == ref.sha256 and ref.size == path.stat().st_size


def test_html_escapes_what_responders_write(intake: IncidentIntake, obligations: dict[str, Obligation], store: DocumentStore) -> None:
    findings = [Finding(kind=FindingKind.NATURE_AND_SCOPE, summary="<script>alert(1)</script> & more", recorded_by="x", report_items=["B"])]
    report = build_commissioner_report(_report_input(intake, obligations, findings=findings))
    html = store.read(render_commissioner_report(store, report)[1]).decode()
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; more" in html


def test_consumer_letter_is_personalised_escaped_and_carries_what_a_notice_needs_56_2_1006_c(
    intake: IncidentIntake, obligations: dict[str, Obligation], content: NoticeContent
) -> None:
    ob = obligation(obligations, "consumer_notice", "MO")
    text = notice_text(ob, intake, content, AS_OF, ob.citation)
    letter = render_consumer_letter(
        text, "Pat <O'Neil>", PostalAddress(line1="5 Main & 2nd", city="Joplin", region="MO", postal_code="64801")
    )
    for heading in ("What happened", "What information was involved", "What we are doing", "What you can do", "For more information"):
        assert f"<h2>{heading}</h2>" in letter
    assert "Dear Pat &lt;O&#39;Neil&gt;," in letter
    assert "5 Main &amp; 2nd<br>Joplin, MO 64801" in letter
    assert "Social Security number" in letter and "1-800-555-0134" in letter
    assert f"under {ob.citation}.".replace("'", "&#39;") in letter and "residents of Missouri" in letter
    assert "24 months of credit monitoring" in letter


def test_specimens_of_record_name_no_consumer(intake: IncidentIntake, obligations: dict[str, Obligation], content: NoticeContent) -> None:
    ob = obligation(obligations, "consumer_notice", "MO")
    text = notice_text(ob, intake, content, AS_OF, ob.citation)
    assert "[Name of the consumer]" in render_consumer_letter(text)
    email = render_consumer_email(text)
    assert email.text.startswith("Dear [Name of the consumer],")
    assert "<h2>What happened</h2>" in email.html and "WHAT HAPPENED" in email.text


def test_substitute_notice_parts_cite_56_2_1006_c_3(
    intake: IncidentIntake, obligations: dict[str, Obligation], content: NoticeContent
) -> None:
    ob = obligation(obligations, "consumer_notice", "TN")
    posting = render_website_posting(notice_text(ob, intake, content, AS_OF, "Tenn. Code Ann. § 56-2-1006(c)(3)(B)"))
    html, plain = render_media_notice(notice_text(ob, intake, content, AS_OF, "Tenn. Code Ann. § 56-2-1006(c)(3)(C)"), ["The Tennessean"])
    assert 'role="alert"' in posting and "substitute notice under Tenn. Code Ann. § 56-2-1006(c)(3)(B)" in posting
    assert "FOR IMMEDIATE RELEASE" in plain and "major statewide media under Tenn. Code Ann. § 56-2-1006(c)(3)(C)" in plain
    assert "The Tennessean" in html and "https://www.cumberland.example/notice" in plain


def test_producer_notice_counts_clients_and_gives_the_consumer_notice_date_56_2_1006_f(
    intake: IncidentIntake, obligations: dict[str, Obligation], content: NoticeContent
) -> None:
    ob = obligation(obligations, "producer_notice", "TN")
    text = notice_text(ob, intake, content, AS_OF, ob.citation)
    body = render_producer_notice(ob, text, Producer(producer_id="P-1", name="Volunteer Agency", email="a@agency.example"), 1234, ob.due)
    assert "Dear Volunteer Agency," in body.text and "1,234 of your clients residing in Tennessee" in body.text
    assert "no later than January 15, 2026" in body.text
    assert "Tenn. Code Ann. § 56-2-1006(f)" in body.text and "Tenn. Code Ann. § 56-2-1006(f)" in body.html


def test_ceding_insurer_notice_states_who_must_notify_consumers_56_2_1006_e(
    intake: IncidentIntake, obligations: dict[str, Obligation], content: NoticeContent
) -> None:
    ob = obligation(obligations, "commissioner_notice", "TN")  # any obligation: the template reads its citation
    text = notice_text(ob, intake, content, AS_OF, ob.citation)
    body = render_ceding_insurer_notice(ob, intake, text, None)
    assert "[Name of the ceding insurer]" in body.text
    assert "(e)(1)(B)" in body.text and "Tennessee: 18,400" in body.text
    assert re.search(r"<li>Missouri: 2,100</li>", body.html)
    assert DocumentKind.CEDING_INSURER_NOTICE.value == "ceding_insurer_notice"


# -- no raw NPI in a document (issue 9 item 8) -----------------------------------------------------

SSN_SPELLINGS = ["078-05-1120", "078.05.1120", "078 05 1120", "078-05-1120x"]

RENDERS = {
    "consumer_letter": lambda ob, text: render_consumer_letter(text),
    "consumer_email": lambda ob, text: render_consumer_email(text),
    "website_posting": lambda ob, text: render_website_posting(text),
    "media_notice": lambda ob, text: render_media_notice(text, ["The Tennessean"]),
    "producer_notice": lambda ob, text: render_producer_notice(ob, text, None, None, ob.due),
}


@pytest.mark.parametrize("ssn", SSN_SPELLINGS)
@pytest.mark.parametrize("document", sorted(RENDERS))
def test_an_ssn_typed_into_what_happened_stops_every_notice_naming_the_field(
    intake: IncidentIntake, obligations: dict[str, Obligation], content: NoticeContent, document: str, ssn: str
) -> None:
    kind = "producer_notice" if document == "producer_notice" else "consumer_notice"
    ob = obligation(obligations, kind, "TN")
    leaked = content.model_copy(update={"what_happened": f"An intruder copied records, e.g. SSN {ssn}, from a file share."})
    with pytest.raises(DocumentError, match=r"^content\.what_happened: looks like a Social Security number") as refused:
        RENDERS[document](ob, notice_text(ob, intake, leaked, AS_OF, ob.citation))
    assert ssn not in str(refused.value)


@pytest.mark.parametrize(
    ("field", "text", "kind"),
    [
        ("what_we_are_doing", "Call our investigator at 615-555-0188.", "telephone number"),
        ("services_offered", "Enrol with code for jane.doe@mail.example.", "e-mail address"),
        ("information_involved", "John Smith, 04/12/1961, and others.", "date of birth"),
        ("what_you_can_do", "Cancel card 4111 1111 1111 1111.", "payment card number"),
    ],
)
def test_npi_in_any_free_text_of_the_notice_content_is_refused_naming_the_field(
    intake: IncidentIntake, obligations: dict[str, Obligation], content: NoticeContent, field: str, text: str, kind: str
) -> None:
    ob = obligation(obligations, "consumer_notice", "MO")
    with pytest.raises(DocumentError, match=rf"^content\.{field}: looks like an? {kind}"):
        notice_text(ob, intake, content.model_copy(update={field: text}), AS_OF, ob.citation)


def test_the_representative_and_the_contact_are_not_free_text_and_reach_the_documents_56_2_1006_b_1_m(
    intake: IncidentIntake, obligations: dict[str, Obligation], content: NoticeContent, store: DocumentStore
) -> None:
    ob = obligation(obligations, "consumer_notice", "TN")
    letter = render_consumer_letter(notice_text(ob, intake, content, AS_OF, ob.citation))
    assert "1-800-555-0134" in letter
    report = build_commissioner_report(_report_input(intake, obligations, content=content))
    (m,) = [i for i in report.items if i.code is ReportItemCode.M]
    assert "dana.whitfield@cumberland.example" in m.statements[0] and "615-555-0199" in m.statements[0]


def test_an_ssn_in_a_finding_stops_the_commissioner_report_naming_the_finding(
    intake: IncidentIntake, obligations: dict[str, Obligation]
) -> None:
    findings = [
        Finding(kind=FindingKind.NATURE_AND_SCOPE, summary="Ransomware on the claims server.", recorded_by="x", report_items=["B"]),
        Finding(kind=FindingKind.NPI_INVOLVED, summary="Records such as 078.05.1120 were in the export.", recorded_by="x",
                report_items=["G"]),
    ]
    with pytest.raises(DocumentError, match=r"^findings\[1\]\.summary: looks like a Social Security number"):
        build_commissioner_report(_report_input(intake, obligations, findings=findings))
