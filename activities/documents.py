"""Notice documents: rendered from Jinja2 templates into a content-addressed store.

Each document is stored once as ``<sha256>.<ext>`` under ``Settings.documents_dir`` and named by
a :class:`~models.notice.DocumentRef`; the same inputs render the same bytes, so a retried
activity finds its document already there. Every document states the rule it fulfils.

Documents of record carry no consumer's name or address: the consumer letter and e-mail are
stored as specimens (the copy the commissioner receives under § 56-2-1006(b)(1)(N)); the
personalised copies exist only in the print batch or the sent e-mail.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from activities.files import write_atomically
from ledger.canonical import canonical_json
from models.incident import DataElement, EventSource, IncidentIntake, ReportItemCode
from models.lifecycle import EventAmendment, Finding, FindingKind
from models.notice import (
    CedingInsurer,
    CommissionerReport,
    DocumentKind,
    DocumentRef,
    NoticeContact,
    NoticeContent,
    PostalAddress,
    Producer,
    RenderCommissionerReportInput,
    ReportChange,
    ReportItemAvailability,
    ReportItemContent,
    RosterSummary,
)
from models.obligation import NoticeMethod, Obligation, ObligationKind, ReportItemStatus

# State names have one home in the rules' jurisdiction table (pure data, no I/O).
from rules.jurisdictions import STATE_NAMES

TEMPLATES_DIR = Path(__file__).with_name("templates")

#: How an item the event has not yet supplied is shown: § 56-2-1006(b)(1) asks for "as much of the
#: following information as is available", and (b)(2) for "material updates or supplements".
NOT_YET_AVAILABLE = "Not yet available — will be supplemented."
PARTLY_AVAILABLE = "Partly available — the rest will be supplemented."

#: Which report items a finding supplies when the responder did not say (docs/delivery.md).
DEFAULT_FINDING_ITEMS: dict[FindingKind, tuple[ReportItemCode, ...]] = {
    FindingKind.NATURE_AND_SCOPE: (ReportItemCode.B,),
    FindingKind.NPI_INVOLVED: (ReportItemCode.G,),
    FindingKind.SECURITY_RESTORED: (ReportItemCode.K,),
    FindingKind.TPSP_INVESTIGATION_CONFIRMED: (ReportItemCode.B,),
}

#: Data elements in the words a consumer notice uses (RSMo § 375.1402(12)).
DATA_ELEMENT_WORDS: dict[DataElement, str] = {
    DataElement.SSN: "Social Security number",
    DataElement.DRIVERS_LICENSE: "driver's license or state identification card number",
    DataElement.FINANCIAL_ACCOUNT: "financial account, credit card or debit card number",
    DataElement.ACCESS_CODE: "security code, access code or password",
    DataElement.BIOMETRIC: "biometric records",
    DataElement.MILITARY_ID: "military identification number",
    DataElement.HEALTH: "health information (about your health, health care or payment for health care)",
    DataElement.BUSINESS: "business information of the licensee",
}

_EXT = {"application/json": "json", "text/html": "html", "text/plain": "txt"}


class DocumentError(ValueError):
    """A document cannot be rendered from what was given."""


# =============================================================================================
# The store
# =============================================================================================


class DocumentStore:
    """Content-addressed files: ``<root>/<sha256>.<ext>``, written atomically, never changed."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def put(self, kind: DocumentKind, data: bytes, media_type: str, citation: str) -> DocumentRef:
        digest = hashlib.sha256(data).hexdigest()
        name = f"{digest}.{_EXT[media_type]}"
        write_atomically(self.root / name, data, replace=False)
        return DocumentRef(kind=kind, sha256=digest, path=name, media_type=media_type, size=len(data), citation=citation)

    def path_of(self, ref: DocumentRef) -> Path:
        return self.root / ref.path

    def read(self, ref: DocumentRef) -> bytes:
        path = self.path_of(ref)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise DocumentError(f"document {ref.sha256} ({ref.kind}) is missing from the document store {self.root}") from None
        if hashlib.sha256(data).hexdigest() != ref.sha256:
            raise DocumentError(f"document {ref.path} does not match its sha256: the store was altered")
        return data


# =============================================================================================
# Templates
# =============================================================================================


def _autoescape(name: str | None) -> bool:
    return name is None or name.endswith(".html.j2")


def _date(value: datetime) -> str:
    return f"{value:%B} {value.day}, {value:%Y}"


def _instant(value: datetime) -> str:
    return value.isoformat(timespec="minutes")


def _thousands(value: int) -> str:
    return f"{value:,}"


_env = Environment(
    loader=FileSystemLoader(TEMPLATES_DIR),
    autoescape=_autoescape,
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)
_env.filters.update(date=_date, instant=_instant, thousands=_thousands)


def render_template(template: str, /, **context: object) -> str:
    return _env.get_template(template).render(**context)


def state_name(code: str) -> str:
    return STATE_NAMES.get(code, code)


def paragraphs(text: str) -> list[str]:
    return [p.strip() for p in text.replace("\r\n", "\n").split("\n\n") if p.strip()]


# =============================================================================================
# Commissioner report, § 56-2-1006(b)
# =============================================================================================


def _item_statements_from_event(
    code: ReportItemCode, findings: Sequence[Finding], amendments: Sequence[EventAmendment]
) -> list[str]:
    out: list[str] = []
    for finding in findings:
        codes = finding.report_items or DEFAULT_FINDING_ITEMS.get(finding.kind, ())
        if code in codes:
            out.append(finding.summary)
    for amendment in amendments:
        if code in amendment.report_items_provided:
            out.append(amendment.summary)
    return out


def _method_words(method: NoticeMethod | None) -> str:
    return {
        NoticeMethod.WRITTEN: "written notice",
        NoticeMethod.ELECTRONIC: "electronic notice",
        NoticeMethod.SUBSTITUTE: "substitute notice (e-mail where known, website posting, statewide media)",
        None: "notice",
    }[method]


def _intake_facts(
    code: ReportItemCode,
    req: RenderCommissionerReportInput,
    roster: RosterSummary | None,
) -> tuple[list[str], bool]:
    """What the intake and the obligations already say about an item, and whether that answers it."""
    intake, state = req.intake, req.obligation.jurisdiction
    tpsp = intake.source is EventSource.THIRD_PARTY_SERVICE_PROVIDER
    if code is ReportItemCode.A:
        facts = [f"The event was discovered on {_instant(intake.discovered_at)}."]
        if intake.tpsp_notified_at:
            facts.append(f"The third-party service provider notified the licensee on {_instant(intake.tpsp_notified_at)}.")
        return facts, False
    if code is ReportItemCode.B and tpsp:
        return [
            "The event occurred in an information system maintained by a third-party service provider of the "
            "licensee; the licensee treats it as its own (Tenn. Code Ann. § 56-2-1006(d)(1))."
        ], False
    if code is ReportItemCode.C:
        if tpsp and intake.tpsp_notified_at:
            facts = [f"The licensee's third-party service provider notified the licensee on {_instant(intake.tpsp_notified_at)}."]
            if intake.actual_knowledge_at:
                facts.append(f"The licensee otherwise gained actual knowledge on {_instant(intake.actual_knowledge_at)}.")
            return facts, True
        return [f"Discovered by the licensee on {_instant(intake.discovered_at)}."], False
    if code is ReportItemCode.D and intake.returned_or_destroyed_unused:
        return ["The information was returned or destroyed without having been used or released."], True
    if code is ReportItemCode.F:
        facts = []
        delays = [a for a in req.amendments if a.law_enforcement_delay_until and a.law_enforcement_basis]
        for a in delays:
            assert a.law_enforcement_delay_until is not None
            facts.append(
                f"Law enforcement asked that consumer notice be delayed until {_instant(a.law_enforcement_delay_until)}: "
                f"{a.law_enforcement_basis}"
            )
        if not delays and intake.law_enforcement_delay_until:
            facts.append(f"Law enforcement asked that consumer notice be delayed until {_instant(intake.law_enforcement_delay_until)}.")
        return facts, False
    if code is ReportItemCode.G and intake.data_elements:
        words = "; ".join(DATA_ELEMENT_WORDS[e] for e in intake.data_elements)
        if not intake.encrypted:
            enc = "The information was not encrypted."
        elif intake.key_compromised:
            enc = "The information was encrypted, and the encryption key was also acquired, released or used."
        else:
            enc = "The information was encrypted and the key was not acquired, released or used."
        return [f"Data elements involved: {words}.", enc], True
    if code is ReportItemCode.I:
        row = intake.affected_in(state)
        facts = [f"Best estimate: {row.consumers if row else 0:,} consumers residing in {state_name(state)} are affected."]
        if roster is not None and state in roster.by_state:
            facts.append(f"{roster.by_state[state].consumers:,} of them are on the notification roster so far.")
        facts.append("This estimate is updated with each subsequent report.")
        return facts, True
    if code is ReportItemCode.L:
        facts = []
        policy = req.content.privacy_policy_url if req.content else None
        if policy:
            facts.append(f"The licensee's privacy policy: {policy}")
        facts.append(
            "The licensee identifies affected consumers from the systems involved and keeps a notification roster "
            "per state of residence."
        )
        for o in sorted(req.consumer_obligations, key=lambda o: (o.due, o.jurisdiction)):
            facts.append(
                f"Consumers residing in {state_name(o.jurisdiction)}: {_method_words(o.method)} "
                f"no later than {_instant(o.due)} ({o.citation})."
            )
        return facts, bool(policy)
    if code is ReportItemCode.M and req.content and req.content.representative:
        r = req.content.representative
        return [f"{r.name}, {r.title} — {r.email}, {r.phone}."], True
    if code is ReportItemCode.N and req.consumer_notice_documents:
        return [f"Copy of the {d.kind.value.replace('_', ' ')} sent to consumers: sha256 {d.sha256}." for d in req.consumer_notice_documents], True
    return [], False


def build_commissioner_report(
    req: RenderCommissionerReportInput,
    roster: RosterSummary | None = None,
    previous: CommissionerReport | None = None,
    previous_sha256: str | None = None,
) -> CommissionerReport:
    """One version of the report of § 56-2-1006(b)(1)(A)–(N), with what changed since ``previous``."""
    ob = req.obligation
    if ob.kind is not ObligationKind.COMMISSIONER_NOTICE:
        raise DocumentError(f"{ob.obligation_id} is a {ob.kind.value} obligation; a commissioner report needs a commissioner_notice")
    if not ob.report_items:
        raise DocumentError(f"{ob.obligation_id} lists no report items (§ 56-2-1006(b)(1)); recompute its obligations")
    items: list[ReportItemContent] = []
    for checklist in ob.report_items:
        code = checklist.code
        if checklist.status is ReportItemStatus.NOT_APPLICABLE:
            items.append(
                ReportItemContent(
                    code=code,
                    description=checklist.description,
                    citation=checklist.citation,
                    status=ReportItemAvailability.NOT_APPLICABLE,
                    note=checklist.note,
                )
            )
            continue
        from_event = _item_statements_from_event(code, req.findings, req.amendments)
        facts, answered = _intake_facts(code, req, roster)
        statements = [*facts, *from_event]
        note: str | None = None
        if from_event or answered:
            status = ReportItemAvailability.AVAILABLE
        elif facts:
            status, note = ReportItemAvailability.PARTIAL, PARTLY_AVAILABLE
        else:
            status, note = ReportItemAvailability.NOT_YET_AVAILABLE, NOT_YET_AVAILABLE
            if checklist.status is ReportItemStatus.PROVIDED:
                note = "Gathered by responders but not yet entered — will be supplemented."
        items.append(
            ReportItemContent(
                code=code,
                description=checklist.description,
                citation=checklist.citation,
                status=status,
                statements=statements,
                note=note,
            )
        )
    estimate_row = req.intake.affected_in(ob.jurisdiction)
    report = CommissionerReport(
        incident_id=req.intake.incident_id,
        obligation_id=ob.obligation_id,
        jurisdiction=ob.jurisdiction,
        recipient_name=ob.recipient_name,
        citation=ob.citation,
        licensee_name=req.intake.licensee.name,
        licensee_naic_code=req.intake.licensee.naic_code,
        version=req.version,
        material_update=req.version > 1,
        previous_sha256=previous_sha256,
        as_of=req.as_of,
        items=items,
        consumer_estimate=estimate_row.consumers if estimate_row else 0,
        consumers_by_state={row.state: row.consumers for row in sorted(req.intake.affected, key=lambda r: r.state)},
        updates=[a.summary for a in req.amendments],
    )
    reported = [ReportChange(summary=text) for text in req.reported_changes]
    if previous is not None or reported:
        found = report_changes(previous, report) if previous is not None else []
        report = report.model_copy(update={"changes": [*reported, *found]})
    return report


_STATUS_WORDS = {
    ReportItemAvailability.AVAILABLE: "available",
    ReportItemAvailability.PARTIAL: "partly available",
    ReportItemAvailability.NOT_YET_AVAILABLE: "not yet available",
    ReportItemAvailability.NOT_APPLICABLE: "not applicable",
}


def report_changes(before: CommissionerReport, after: CommissionerReport) -> list[ReportChange]:
    """What a material update changes (§ 56-2-1006(b)(2)), item by item."""
    changes: list[ReportChange] = []
    old_items = {i.code: i for i in before.items}
    for item in after.items:
        old = old_items.get(item.code)
        if item.code is ReportItemCode.I:
            if before.consumer_estimate != after.consumer_estimate:
                changes.append(
                    ReportChange(
                        item=item.code,
                        summary=f"(I) best estimate of affected consumers residing in {state_name(after.jurisdiction)} "
                        f"changed from {before.consumer_estimate:,} to {after.consumer_estimate:,}.",
                    )
                )
            continue
        if old is None or old.status != item.status:
            was = _STATUS_WORDS[old.status] if old else "absent"
            changes.append(
                ReportChange(item=item.code, summary=f"({item.code.value}) was {was}, is now {_STATUS_WORDS[item.status]}.")
            )
        old_statements = set(old.statements) if old else set()
        new_statements = set(item.statements)
        for s in item.statements:
            if s not in old_statements:
                changes.append(ReportChange(item=item.code, summary=f"({item.code.value}) added: {s}"))
        for s in old.statements if old else []:
            if s not in new_statements:
                changes.append(ReportChange(item=item.code, summary=f"({item.code.value}) withdrawn: {s}"))
    for state in sorted(set(before.consumers_by_state) | set(after.consumers_by_state)):
        if state == after.jurisdiction:
            continue
        was, now = before.consumers_by_state.get(state, 0), after.consumers_by_state.get(state, 0)
        if was != now:
            changes.append(ReportChange(summary=f"Affected consumers residing in {state_name(state)}: {was:,} → {now:,}."))
    for update_text in after.updates[len(before.updates) :]:
        changes.append(ReportChange(summary=f"Update recorded: {update_text}"))
    return changes


def render_commissioner_report(store: DocumentStore, report: CommissionerReport) -> tuple[DocumentRef, DocumentRef]:
    """The report as JSON (RFC 8785 canonical: the document of record) and as HTML."""
    data = canonical_json(report.model_dump(mode="json"), floats_checked=True)
    json_ref = store.put(DocumentKind.COMMISSIONER_REPORT, data, "application/json", report.citation)
    html = render_template(
        "commissioner_report.html.j2",
        report=report,
        json_sha256=json_ref.sha256,
        state_name=state_name(report.jurisdiction),
        statuses=_STATUS_WORDS,
    )
    html_ref = store.put(DocumentKind.COMMISSIONER_REPORT, html.encode("utf-8"), "text/html", report.citation)
    return json_ref, html_ref


def load_commissioner_report(store: DocumentStore, ref: DocumentRef) -> CommissionerReport:
    if ref.media_type != "application/json":
        raise DocumentError("previous must name the JSON version of the report (the document of record)")
    return CommissionerReport.model_validate(json.loads(store.read(ref)))


# =============================================================================================
# Consumer notices, § 56-2-1006(c)
# =============================================================================================

DEFAULT_WHAT_YOU_CAN_DO = (
    "Remain vigilant: review your account statements, explanation-of-benefits statements and credit reports "
    "for activity you do not recognise, and report it to the institution concerned.\n\n"
    "You may obtain a free credit report from each nationwide credit reporting agency at "
    "www.annualcreditreport.com.\n\n"
    "You may place a fraud alert or a security freeze on your credit file, free of charge, by contacting "
    "Equifax, Experian and TransUnion.\n\n"
    "If you believe your information has been misused, you can report it and get a recovery plan from the "
    "Federal Trade Commission at www.identitytheft.gov, and you may file a report with your local police."
)
DEFAULT_WHAT_WE_ARE_DOING = (
    "We are investigating the incident and taking steps to protect your information and to prevent this from "
    "happening again. We are notifying insurance regulators as the law requires."
)


@dataclass(frozen=True)
class NoticeText:
    """Everything a consumer notice says, whatever its channel."""

    licensee_name: str
    state: str
    state_name: str
    as_of: datetime
    subject: str
    what_happened: list[str]
    information_involved: list[str]
    information_text: str | None
    what_we_are_doing: list[str]
    services_offered: list[str]
    what_you_can_do: list[str]
    contact: NoticeContact
    signatory: str | None
    citation: str
    method_basis: str | None
    notice_page_url: str | None
    extra: dict[str, str] = field(default_factory=dict)


def _default_what_happened(intake: IncidentIntake) -> str:
    who = intake.licensee.name
    if intake.source is EventSource.THIRD_PARTY_SERVICE_PROVIDER:
        when = intake.tpsp_notified_at or intake.actual_knowledge_at or intake.discovered_at
        text = (
            f"On {_date(when)}, a service provider that maintains information for {who} told us that an unauthorized "
            "person had gained access to its systems. Information about some of our customers may have been acquired."
        )
    else:
        text = (
            f"On {_date(intake.discovered_at)}, {who} discovered that an unauthorized person had gained access to our "
            "systems. Information about some of our customers may have been acquired."
        )
    if intake.determined_at:
        text += f" On {_date(intake.determined_at)} we determined that the incident may involve your information."
    return text


def notice_text(ob: Obligation, intake: IncidentIntake, content: NoticeContent, as_of: datetime, citation: str) -> NoticeText:
    consumer_elements = [e for e in intake.data_elements if e is not DataElement.BUSINESS]
    return NoticeText(
        licensee_name=intake.licensee.name,
        state=ob.jurisdiction,
        state_name=state_name(ob.jurisdiction),
        as_of=as_of,
        subject=f"Notice of a data security incident — {intake.licensee.name}",
        what_happened=paragraphs(content.what_happened or _default_what_happened(intake)),
        information_involved=[] if content.information_involved else [DATA_ELEMENT_WORDS[e] for e in consumer_elements],
        information_text=content.information_involved,
        what_we_are_doing=paragraphs(content.what_we_are_doing or DEFAULT_WHAT_WE_ARE_DOING),
        services_offered=paragraphs(content.services_offered) if content.services_offered else [],
        what_you_can_do=paragraphs(content.what_you_can_do or DEFAULT_WHAT_YOU_CAN_DO),
        contact=content.contact,
        signatory=content.signatory,
        citation=citation,
        method_basis=ob.method_basis,
        notice_page_url=content.notice_page_url,
    )


#: Who a specimen is addressed to: the copy of record never names a consumer.
SPECIMEN_NAME = "[Name of the consumer]"
SPECIMEN_ADDRESS = PostalAddress(line1="[Address line]", city="[City]", region="[State]", postal_code="[ZIP]")


def render_consumer_letter(text: NoticeText, name: str | None = None, address: PostalAddress | None = None) -> str:
    """A print-ready letter (HTML, US Letter, window-envelope address block)."""
    return render_template(
        "consumer_letter.html.j2",
        t=text,
        name=name or SPECIMEN_NAME,
        address_lines=(address or SPECIMEN_ADDRESS).lines(),
    )


@dataclass(frozen=True)
class EmailBody:
    subject: str
    text: str
    html: str


def render_consumer_email(text: NoticeText, name: str | None = None) -> EmailBody:
    name = name or SPECIMEN_NAME
    return EmailBody(
        subject=text.subject,
        text=render_template("consumer_email.txt.j2", t=text, name=name),
        html=render_template("consumer_email.html.j2", t=text, name=name),
    )


def render_website_posting(text: NoticeText) -> str:
    return render_template("website_posting.html.j2", t=text)


def render_media_notice(text: NoticeText, outlets: Sequence[str]) -> tuple[str, str]:
    return (
        render_template("media_notice.html.j2", t=text, outlets=list(outlets)),
        render_template("media_notice.txt.j2", t=text, outlets=list(outlets)),
    )


def store_email(store: DocumentStore, body: EmailBody, citation: str) -> list[DocumentRef]:
    return [
        store.put(DocumentKind.CONSUMER_EMAIL, body.text.encode("utf-8"), "text/plain", citation),
        store.put(DocumentKind.CONSUMER_EMAIL, body.html.encode("utf-8"), "text/html", citation),
    ]


# =============================================================================================
# Producers of record, § 56-2-1006(f); ceding insurers, § 56-2-1006(e)
# =============================================================================================


def render_producer_notice(
    ob: Obligation,
    text: NoticeText,
    producer: Producer | None,
    consumers: int | None,
    consumer_notice_due: datetime | None,
) -> EmailBody:
    context = {
        "t": text,
        "ob": ob,
        "producer_name": producer.name if producer else "[Name of the producer of record]",
        "consumers": consumers,
        "consumer_notice_due": consumer_notice_due,
    }
    return EmailBody(
        subject=f"Notice to producers of record: data security incident at {text.licensee_name}",
        text=render_template("producer_notice.txt.j2", **context),
        html=render_template("producer_notice.html.j2", **context),
    )


def render_ceding_insurer_notice(ob: Obligation, intake: IncidentIntake, text: NoticeText, insurer: CedingInsurer | None) -> EmailBody:
    context = {
        "t": text,
        "ob": ob,
        "intake": intake,
        "insurer_name": insurer.name if insurer else "[Name of the ceding insurer]",
        "affected": [(state_name(r.state), r.consumers) for r in sorted(intake.affected, key=lambda r: r.state) if r.consumers],
        "data_elements": [DATA_ELEMENT_WORDS[e] for e in intake.data_elements],
    }
    return EmailBody(
        subject=f"Notice of a cybersecurity event from {intake.licensee.name} (assuming insurer)",
        text=render_template("ceding_insurer_notice.txt.j2", **context),
        html=render_template("ceding_insurer_notice.html.j2", **context),
    )
