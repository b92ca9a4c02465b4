"""Every date and count a document states comes from the event's recorded facts (issue 9, item 9).

The demo's letters told consumers the vendor reported the breach "On November 26" while the report and
the deadlines said otherwise. Here every kind of document of the demo event is rendered from the demo's
own example files, with the clock set as ``noticeflow.demo.sample_intake`` sets it, and every date-looking
string and every count of people in it is checked against the recorded facts.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
from collections import Counter
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from activities.document_facts import PLACEHOLDERS, stated_counts, stated_dates
from activities.documents import (
    DocumentError,
    DocumentStore,
    build_commissioner_report,
    notice_text,
    render_ceding_insurer_notice,
    render_commissioner_report,
    render_consumer_email,
    render_consumer_letter,
    render_media_notice,
    render_producer_notice,
    render_website_posting,
)
from models.incident import IncidentIntake
from models.lifecycle import Finding
from models.notice import NoticeContent, Producer, RenderCommissionerReportInput
from models.obligation import NoticeMethod, Obligation, ObligationKind
from noticeflow.demo import sample_intake
from noticeflow.sample_event import sample_findings
from rules import compute_obligations
from rules.jurisdictions import substitute_part_citation

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "docs" / "examples"
#: 21:30 on 8 December in Nashville, already 9 December in UTC: a date read in the wrong zone shows.
NOW = dt.datetime(2025, 12, 9, 3, 30, tzinfo=dt.UTC)
#: The notices go out two hours later (still 8 December in Nashville).
AS_OF = NOW + dt.timedelta(hours=2)
CENTRAL = ZoneInfo("America/Chicago")
MONTH_NAMES = ["january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november", "december"]


# -- the demo event, as the documents receive it ---------------------------------------------------


def demo_intake(kind: str = "insurer") -> IncidentIntake:
    data = sample_intake(NOW, "INC-DEMO-DATES")
    data["licensee"]["kind"] = kind
    # The demo records its determination right after the findings: the workflow's clock, NOW. The
    # documents receive the intake with the recorded determination.
    data["determined_at"] = NOW.isoformat()
    return IncidentIntake.model_validate(data)


def demo_notices() -> dict:
    return json.loads((EXAMPLES / "notices.json").read_text())


def demo_findings() -> list[Finding]:
    """The demo's findings (recorded facts themselves: the dates they state are the investigation's)."""
    return [Finding.model_validate({**f, "recorded_by": "demo"}) for f in sample_findings(sample_intake(NOW, "INC-DEMO-DATES"))]


def roster_counts() -> Counter[tuple[str, str | None]]:
    with (EXAMPLES / "roster.csv").open() as f:
        return Counter((row["state"], row["producer_of_record"] or None) for row in csv.DictReader(f))


def render_every_document(tmp_path: Path) -> tuple[dict[str, str], IncidentIntake, list[Obligation]]:
    """name → text of every document the demo event produces (and the ceding-insurer notice of the
    same event told by an assuming insurer)."""
    intake = demo_intake()
    notices = demo_notices()
    content = NoticeContent.model_validate(notices["content"])
    producers = {p["producer_id"]: Producer.model_validate(p) for p in notices["producers"]}
    obligations = compute_obligations(intake).obligations
    consumer = {o.jurisdiction: o for o in obligations if o.kind is ObligationKind.CONSUMER_NOTICE}
    store = DocumentStore(tmp_path / "documents")
    by_producer = roster_counts()
    docs: dict[str, str] = {}
    for ob in obligations:
        state = ob.jurisdiction
        if ob.kind is ObligationKind.CONSUMER_NOTICE:
            text = notice_text(ob, intake, content, AS_OF, ob.citation)
            docs[f"consumer_letter:{state}"] = render_consumer_letter(text)
            email_cite = substitute_part_citation(state, "A") if ob.method is NoticeMethod.SUBSTITUTE else ob.citation
            email = render_consumer_email(notice_text(ob, intake, content, AS_OF, email_cite))
            docs[f"consumer_email:{state}:text"], docs[f"consumer_email:{state}:html"] = email.text, email.html
            if ob.method is NoticeMethod.SUBSTITUTE:
                posting = notice_text(ob, intake, content, AS_OF, substitute_part_citation(state, "B"))
                docs[f"website_posting:{state}"] = render_website_posting(posting)
                media = notice_text(ob, intake, content, AS_OF, substitute_part_citation(state, "C"))
                html, plain = render_media_notice(media, notices["media_outlets"].get(state, []))
                docs[f"media_notice:{state}:html"], docs[f"media_notice:{state}:text"] = html, plain
        elif ob.kind is ObligationKind.PRODUCER_NOTICE:
            text = notice_text(ob, intake, content, AS_OF, ob.citation)
            for (row_state, pid), n in sorted(by_producer.items(), key=str):
                if row_state == state and pid is not None:
                    body = render_producer_notice(ob, text, producers[pid], n, ob.due, consumer[state])
                    docs[f"producer_notice:{state}:{pid}:text"], docs[f"producer_notice:{state}:{pid}:html"] = body.text, body.html
        elif ob.kind is ObligationKind.COMMISSIONER_NOTICE:
            req = RenderCommissionerReportInput(
                obligation=ob, intake=intake, findings=demo_findings(), content=content,
                consumer_obligations=list(consumer.values()), as_of=AS_OF,
            )  # fmt: skip
            json_ref, html_ref = render_commissioner_report(store, build_commissioner_report(req))
            docs[f"commissioner_report:{state}:json"] = store.read(json_ref).decode()
            docs[f"commissioner_report:{state}:html"] = store.read(html_ref).decode()
    assuming = demo_intake("assuming_insurer")
    for ob in compute_obligations(assuming).obligations:
        if ob.kind is ObligationKind.CEDING_INSURER_NOTICE:
            body = render_ceding_insurer_notice(ob, assuming, notice_text(ob, assuming, content, AS_OF, ob.citation), None)
            docs[f"ceding_insurer_notice:{ob.jurisdiction}:text"] = body.text
            docs[f"ceding_insurer_notice:{ob.jurisdiction}:html"] = body.html
    return docs, intake, obligations


# -- what the test reads in a document: its own parser, independent of the renderer's checks ------

ISO_INSTANT = re.compile(r"\b\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:[+-]\d{2}:\d{2}|Z)")
ISO_DATE = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b(?!T)")
PROSE_DATE = re.compile(r"\b(" + "|".join(MONTH_NAMES) + r"|(?:jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec)\.?)\s+(\d{1,2})\b(?:,\s+(\d{4}))?", re.IGNORECASE)
NUMERIC_DATE = re.compile(r"(?<![\w:.-])(\d{1,2})/(\d{1,2})(?:/(\d{4}))?(?![\w/])")
PEOPLE = re.compile(r"\b(\d{1,3}(?:,\d{3})+|\d+)\s+(?:of your clients|clients|consumers|policyholders|residents|customers)\b")
STATE_COUNT = re.compile(r"\b(Tennessee|Missouri|Delaware|Michigan|Virginia|Kentucky|Ohio): (\d{1,3}(?:,\d{3})*)\b")


def _month(name: str) -> int:
    name = name.lower().rstrip(".")
    return next(i for i, m in enumerate(MONTH_NAMES, start=1) if m.startswith(name[:3]))


def test_every_date_and_count_in_every_demo_document_is_a_recorded_fact(tmp_path: Path) -> None:
    docs, intake, obligations = render_every_document(tmp_path)
    kinds = {name.split(":")[0] for name in docs}
    assert kinds == {
        "consumer_letter", "consumer_email", "website_posting", "media_notice", "producer_notice",
        "ceding_insurer_notice", "commissioner_report",
    }  # fmt: skip

    # The recorded facts: the intake's instants and the determination, the notices' own date, the
    # deadlines the rules computed from them, and what the findings state.
    instants = [intake.discovered_at, intake.tpsp_notified_at, intake.determined_at, AS_OF, *(o.due for o in obligations)]
    recorded_instants = {i.replace(second=0, microsecond=0) for i in instants if i is not None}
    recorded_days = {i.astimezone(CENTRAL).date() for i in (intake.discovered_at, intake.tpsp_notified_at, intake.determined_at, AS_OF) if i}
    recorded_days |= {o.due.date() for o in obligations}  # a deadline is read in its own state's zone
    finding_texts = [t for f in demo_findings() for t in (f.summary, f.report_statement) if t]
    finding_days = {(_month(m), int(d), int(y) if y else None) for t in finding_texts for m, d, y in PROSE_DATE.findall(t)}
    by_state = {row.state: row.consumers for row in intake.affected}
    recorded_counts = {*by_state.values(), sum(by_state.values()), *roster_counts().values()}

    checked = 0
    for name, text in docs.items():
        for m in ISO_INSTANT.finditer(text):
            at = dt.datetime.fromisoformat(m.group(0).replace("Z", "+00:00")).replace(second=0, microsecond=0)
            assert at in recorded_instants, f"{name} states the instant {m.group(0)}, which is no recorded fact"
            checked += 1
        plain = ISO_INSTANT.sub(" ", text)
        for y, mo, d in ISO_DATE.findall(plain):
            assert dt.date(int(y), int(mo), int(d)) in recorded_days, f"{name} states {y}-{mo}-{d}"
            checked += 1
        for month, day, year in PROSE_DATE.findall(plain):
            stated = (_month(month), int(day))
            in_findings = any(f[:2] == stated and (not year or f[2] in (None, int(year))) for f in finding_days)
            if year:
                ok = dt.date(int(year), *stated) in recorded_days or in_findings
            else:
                ok = in_findings or any((d.month, d.day) == stated for d in recorded_days)
            assert ok, f"{name} states {month} {day}{', ' + year if year else ''}, which is no recorded date"
            checked += 1
        for mo, d, y in NUMERIC_DATE.findall(plain):
            raise AssertionError(f"{name} states the date {mo}/{d}{'/' + y if y else ''}")
        for count in PEOPLE.findall(plain):
            assert int(count.replace(",", "")) in recorded_counts, f"{name} states {count} people"
            checked += 1
        for state_name, count in STATE_COUNT.findall(plain):
            assert int(count.replace(",", "")) in by_state.values(), f"{name} states {state_name}: {count}"
            checked += 1
        if name.endswith(":json"):
            report = json.loads(text)
            assert report["consumer_estimate"] == by_state[report["jurisdiction"]]
            assert report["consumers_by_state"] == by_state
    assert checked > 50  # the test read the documents it meant to


def test_the_vendors_notice_date_in_the_letter_is_the_recorded_one(tmp_path: Path) -> None:
    """The demo's content writes the date as a placeholder: the letter says the day the provider's notice
    was recorded, in the licensee's zone (the demo sets it 30 hours before NOW: 7 December, Nashville)."""
    docs, intake, _ = render_every_document(tmp_path)
    assert intake.tpsp_notified_at is not None
    told = intake.tpsp_notified_at.astimezone(CENTRAL)
    assert "On December 7, 2025, our claims-imaging vendor told us" in docs["consumer_letter:TN"]
    assert told.date() == dt.date(2025, 12, 7)
    assert "{provider_notified_on}" not in docs["consumer_letter:TN"]
    # The letter's own date is the day it goes out in Nashville, not the UTC day.
    assert '<p class="date">December 8, 2025</p>' in docs["consumer_letter:TN"]


# -- the renderer refuses free text that contradicts the facts --------------------------------------


@pytest.fixture
def demo() -> tuple[IncidentIntake, NoticeContent, Obligation]:
    intake = demo_intake()
    content = NoticeContent.model_validate(demo_notices()["content"])
    ob = next(o for o in compute_obligations(intake).obligations if o.kind is ObligationKind.CONSUMER_NOTICE and o.jurisdiction == "TN")
    return intake, content, ob


@pytest.mark.parametrize(
    ("field", "text", "stated"),
    [
        ("what_happened", "On November 26, our claims-imaging vendor told us of an intrusion.", "November 26"),
        ("what_happened", "Our vendor told us on 11/30/2025.", "11/30/2025"),
        ("what_we_are_doing", "Since 2025-12-01 the server is offline.", "2025-12-01"),
        ("services_offered", "Enroll by 31 January 2026 for credit monitoring.", "31 January 2026"),
        ("what_you_can_do", "Review your statements from Dec. 1 onwards.", "Dec. 1"),
    ],
)
def test_a_date_in_free_text_that_is_no_recorded_date_is_refused_naming_the_field(
    demo: tuple[IncidentIntake, NoticeContent, Obligation], field: str, text: str, stated: str
) -> None:
    intake, content, ob = demo
    with pytest.raises(DocumentError, match=rf"^content\.{field}: states the date '{re.escape(stated)}'"):
        notice_text(ob, intake, content.model_copy(update={field: text}), AS_OF, ob.citation)


@pytest.mark.parametrize("text", ["On December 7, our vendor told us.", "On Dec 7, 2025 our vendor told us.", "Our vendor told us on 12/7."])
def test_a_recorded_date_written_out_is_accepted(demo: tuple[IncidentIntake, NoticeContent, Obligation], text: str) -> None:
    intake, content, ob = demo
    out = notice_text(ob, intake, content.model_copy(update={"what_happened": text}), AS_OF, ob.citation)
    assert out.what_happened == [text]


def test_placeholders_are_filled_from_the_facts_in_the_licensees_zone(demo: tuple[IncidentIntake, NoticeContent, Obligation]) -> None:
    intake, content, ob = demo
    text = "Found on {discovered_on}; the vendor told us on {provider_notified_on}; determined on {determined_on}."
    out = notice_text(ob, intake, content.model_copy(update={"what_happened": text}), AS_OF, ob.citation)
    # NOW − 36 h, NOW − 30 h and NOW, read in Nashville: 7, 7 and 8 December (UTC: 7, 7 and 9).
    assert out.what_happened == ["Found on December 7, 2025; the vendor told us on December 7, 2025; determined on December 8, 2025."]
    assert set(PLACEHOLDERS) >= {"discovered_on", "provider_notified_on", "determined_on"}


def test_a_placeholder_without_its_fact_or_unknown_is_refused(demo: tuple[IncidentIntake, NoticeContent, Obligation]) -> None:
    intake, content, ob = demo
    undetermined = intake.model_copy(update={"determined_at": None})
    with pytest.raises(DocumentError, match=r"content\.what_happened: uses \{determined_on\}, but the event records no determined_at"):
        notice_text(ob, undetermined, content.model_copy(update={"what_happened": "On {determined_on} we knew."}), AS_OF, ob.citation)
    with pytest.raises(DocumentError, match=r"content\.what_happened: uses the unknown placeholder \{breach_on\}"):
        notice_text(ob, intake, content.model_copy(update={"what_happened": "On {breach_on} it began."}), AS_OF, ob.citation)


def test_a_count_of_people_in_free_text_must_be_a_recorded_count(demo: tuple[IncidentIntake, NoticeContent, Obligation]) -> None:
    intake, content, ob = demo
    with pytest.raises(DocumentError, match=r"content\.what_happened: states '18,000 policyholders'"):
        notice_text(ob, intake, content.model_copy(update={"what_happened": "About 18,000 policyholders were affected."}), AS_OF, ob.citation)
    ok = notice_text(ob, intake, content.model_copy(update={"what_happened": "18,400 policyholders in Tennessee were affected."}), AS_OF, ob.citation)
    assert ok.what_happened == ["18,400 policyholders in Tennessee were affected."]


def test_the_detector_reads_the_common_spellings_of_a_date() -> None:
    found = [(d.month, d.day, d.year) for d in stated_dates(
        "November 26; Nov. 26, 2025; 26 November 2025; 11/26/2025; 11/26; 2025-11-26T09:15-06:00; December 2025"
    )]  # fmt: skip
    assert found == [(11, 26, None), (11, 26, 2025), (11, 26, 2025), (11, 26, 2025), (11, 26, None), (11, 26, 2025), (12, None, 2025)]
    assert stated_dates("call 1-800-555-0134 or 615-555-0199 for 24 months; you may place a freeze") == []
    assert stated_counts("18,400 policyholders; 1,234 of your clients; 24 months") == [("18,400 policyholders", 18400), ("1,234 of your clients", 1234)]
