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
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from activities.document_facts import FactError, check_free_text, licensee_zone
from activities.files import write_atomically
from ledger.canonical import canonical_json
from models.content import NOTICE_FREE_TEXT
from models.incident import DataElement, EventSource, IncidentIntake, ReportItemCode
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
    RosterSummary,
)
from models.obligation import NoticeMethod, Obligation, ObligationKind

# State names have one home in the rules' jurisdiction table (pure data, no I/O).
from rules.jurisdictions import (
    STATE_NAMES,
    TN_LAW,
    material_updates_citation,
    report_items_citation,
    tennessee_rule_applied,
)

# What each report item says and whether it is answered has one home, shared with closure.
from rules.report_items import NOT_YET_AVAILABLE, PARTLY_AVAILABLE  # noqa: F401 — how an item is shown, re-exported
from rules.report_items import ReportSources, report_item_contents
from rules.npi import NpiFound, guard_text

TEMPLATES_DIR = Path(__file__).with_name("templates")

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


#: What responders write into the notices (``NoticeContent``). The contact, the representative
#: (item (M)) and the URLs are structured fields a notice must carry; they are not guarded.


def guard_free_text(fields: Iterable[tuple[str, str | None]]) -> None:
    """Refuse to render a document whose free text carries raw NPI (``rules.npi``): the
    ``DocumentError`` names the field and the kind, never the value."""
    for name, text in fields:
        if text:
            try:
                guard_text(name, text)
            except NpiFound as exc:
                raise DocumentError(str(exc)) from None


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


def build_commissioner_report(
    req: RenderCommissionerReportInput,
    roster: RosterSummary | None = None,
    previous: CommissionerReport | None = None,
    previous_sha256: str | None = None,
) -> CommissionerReport:
    """One version of the report of § 56-2-1006(b)(1)(A)–(N), with what changed since ``previous``."""
    ob = req.obligation
    guard_free_text(
        [
            *((f"findings[{i}].report_statement", f.report_statement) if f.privileged else (f"findings[{i}].summary", f.summary)
              for i, f in enumerate(req.findings)),
            *((f"amendments[{i}].summary", a.summary) for i, a in enumerate(req.amendments)),
            *((f"amendments[{i}].law_enforcement_basis", a.law_enforcement_basis) for i, a in enumerate(req.amendments)),
            *((f"reported_changes[{i}]", text) for i, text in enumerate(req.reported_changes)),
            *((f"obligation.report_items[{i}].note", c.note) for i, c in enumerate(ob.report_items)),
        ]
    )
    if ob.kind is not ObligationKind.COMMISSIONER_NOTICE:
        raise DocumentError(f"{ob.obligation_id} is a {ob.kind.value} obligation; a commissioner report needs a commissioner_notice")
    if not ob.report_items:
        raise DocumentError(f"{ob.obligation_id} lists no report items (§ 56-2-1006(b)(1)); recompute its obligations")
    # What each item says and whether it is answered: decided in rules/report_items.py, where
    # closure asks the same question.
    items = report_item_contents(
        ob,
        ReportSources(
            intake=req.intake,
            findings=req.findings,
            amendments=req.amendments,
            not_applicable=req.not_applicable,
            content=req.content,
            consumer_obligations=req.consumer_obligations,
            consumer_notice_documents={ob.jurisdiction: req.consumer_notice_documents},
            roster_consumers={state: counts.consumers for state, counts in roster.by_state.items()} if roster else {},
        ),
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
        items_citation=report_items_citation(report.jurisdiction),
        updates_citation=material_updates_citation(report.jurisdiction),
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
#: What an insurer tells a business (producer of record, ceding insurer) it is doing, when the
#: licensee wrote nothing: the consumer text speaks to the consumer ("your information").
DEFAULT_WHAT_WE_ARE_DOING_BUSINESS = (
    "We are investigating the incident, taking steps to secure the information involved and to prevent this from "
    "happening again, and notifying the insurance regulators as the law requires."
)

#: Data elements in the words a notice to a business uses about its clients.
CLIENT_ELEMENT_WORDS: dict[DataElement, str] = {
    **DATA_ELEMENT_WORDS,
    DataElement.HEALTH: "health information (about their health, health care or payment for health care)",
}

#: Free text claiming that something travels with the notice (item 10 of issue 9): allowed only
#: when the delivery really carries an enclosure or attachment.
_ENCLOSURE_CLAIM = re.compile(r"\b(enclosed|enclosures?|attached|attachments?)\b", re.IGNORECASE)


@dataclass(frozen=True)
class NoticeText:
    """Everything a consumer notice says, whatever its channel; and what a notice to a business
    (producer of record, ceding insurer) says about the same event."""

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
    #: To a business about its clients: what happened, from the recorded facts only.
    business_what_happened: list[str] = field(default_factory=list)
    business_what_we_are_doing: list[str] = field(default_factory=list)
    client_information: list[str] = field(default_factory=list)
    #: The licensee's free text as rendered, by ``NoticeContent`` field (for the enclosure check).
    free_text: tuple[tuple[str, str], ...] = ()


def _when_known(intake: IncidentIntake) -> tuple[datetime, str]:
    """The first moment the licensee knew, and how — in the licensee's own zone."""
    zone = licensee_zone(intake)
    if intake.source is EventSource.THIRD_PARTY_SERVICE_PROVIDER:
        if intake.tpsp_notified_at and (not intake.actual_knowledge_at or intake.tpsp_notified_at <= intake.actual_knowledge_at):
            return intake.tpsp_notified_at.astimezone(zone), "provider"
        if intake.actual_knowledge_at:
            return intake.actual_knowledge_at.astimezone(zone), "knowledge"
    return intake.discovered_at.astimezone(zone), "discovered"


def _default_what_happened(intake: IncidentIntake) -> str:
    """Written from the recorded facts: every date is the intake's, in the licensee's zone."""
    who = intake.licensee.name
    when, how = _when_known(intake)
    if how == "provider":
        text = (
            f"On {_date(when)}, a service provider that maintains information for {who} told us that an unauthorized "
            "person had gained access to its systems. Information about some of our customers may have been acquired."
        )
    elif how == "knowledge":
        text = (
            f"On {_date(when)}, {who} learned that an unauthorized person had gained access to the systems of a service "
            "provider that maintains information for us. Information about some of our customers may have been acquired."
        )
    else:
        text = (
            f"On {_date(when)}, {who} discovered that an unauthorized person had gained access to our "
            "systems. Information about some of our customers may have been acquired."
        )
    if intake.determined_at:
        text += f" On {_date(intake.determined_at.astimezone(licensee_zone(intake)))} we determined that the incident may involve your information."
    return text


def _business_what_happened(intake: IncidentIntake) -> str:
    """What happened, told to a business about its clients — from the recorded facts only."""
    zone = licensee_zone(intake)
    when, how = _when_known(intake)
    source = {
        "provider": "a service provider that maintains information for us told us",
        "knowledge": "we learned that a service provider that maintains information for us had found",
        "discovered": "we discovered",
    }[how]
    text = f"On {_date(when)}, {source} that an unauthorized person had gained access to the systems holding it."
    if intake.determined_at:
        text += (
            f" On {_date(intake.determined_at.astimezone(zone))} we determined that this is a cybersecurity event "
            "involving the nonpublic information of policyholders."
        )
    return text


def _filled(content: NoticeContent, intake: IncidentIntake, name: str) -> str | None:
    """A free-text field with its placeholders filled; its dates and counts checked against the facts."""
    text = getattr(content, name)
    if not text:
        return None
    try:
        return check_free_text(f"content.{name}", text, intake, _date)
    except FactError as exc:
        raise DocumentError(str(exc)) from None


def notice_text(ob: Obligation, intake: IncidentIntake, content: NoticeContent, as_of: datetime, citation: str) -> NoticeText:
    """What the notices of ``ob`` say. Every date comes from the intake (its determination
    included), in the licensee's zone; a date or count in the licensee's free text that the facts
    do not record is refused (``activities.document_facts``)."""
    guard_free_text((f"content.{name}", getattr(content, name)) for name in NOTICE_FREE_TEXT)
    filled = {name: _filled(content, intake, name) for name in _CHECKED_FIELDS}
    consumer_elements = [e for e in intake.data_elements if e is not DataElement.BUSINESS]
    return NoticeText(
        licensee_name=intake.licensee.name,
        state=ob.jurisdiction,
        state_name=state_name(ob.jurisdiction),
        as_of=as_of.astimezone(licensee_zone(intake)),
        subject=f"Notice of a data security incident — {intake.licensee.name}",
        what_happened=paragraphs(filled["what_happened"] or _default_what_happened(intake)),
        information_involved=[] if filled["information_involved"] else [DATA_ELEMENT_WORDS[e] for e in consumer_elements],
        information_text=filled["information_involved"],
        what_we_are_doing=paragraphs(filled["what_we_are_doing"] or DEFAULT_WHAT_WE_ARE_DOING),
        services_offered=paragraphs(filled["services_offered"]) if filled["services_offered"] else [],
        what_you_can_do=paragraphs(filled["what_you_can_do"] or DEFAULT_WHAT_YOU_CAN_DO),
        contact=content.contact,
        signatory=content.signatory,
        citation=citation,
        method_basis=ob.method_basis,
        notice_page_url=content.notice_page_url,
        business_what_happened=paragraphs(_business_what_happened(intake)),
        business_what_we_are_doing=paragraphs(filled["what_we_are_doing"] or DEFAULT_WHAT_WE_ARE_DOING_BUSINESS),
        client_information=[CLIENT_ELEMENT_WORDS[e] for e in consumer_elements],
        free_text=tuple((name, value) for name, value in filled.items() if value),
    )


#: The free-text fields whose dates, counts and placeholders are checked.
_CHECKED_FIELDS = ("what_happened", "information_involved", "what_we_are_doing", "what_you_can_do", "services_offered")
#: Which free text each kind of notice shows.
_CONSUMER_FIELDS = _CHECKED_FIELDS
_BUSINESS_FIELDS = ("what_we_are_doing",)


def _no_false_enclosure(text: NoticeText, carried: Sequence[str], medium: str, fields: Sequence[str]) -> None:
    """A notice claims an enclosure only when its delivery carries one (``carried``)."""
    if carried:
        return
    for name, value in text.free_text:
        match = _ENCLOSURE_CLAIM.search(value) if name in fields else None
        if match:
            raise DocumentError(
                f"content.{name} says {match.group(0)!r}, but the {medium} carries no enclosure or attachment: "
                "write the instructions into the text itself (e.g. a web address and how to enroll)"
            )


#: Who a specimen is addressed to: the copy of record never names a consumer.
SPECIMEN_NAME = "[Name of the consumer]"
SPECIMEN_ADDRESS = PostalAddress(line1="[Address line]", city="[City]", region="[State]", postal_code="[ZIP]")


def render_consumer_letter(
    text: NoticeText,
    name: str | None = None,
    address: PostalAddress | None = None,
    enclosures: Sequence[str] = (),
) -> str:
    """A print-ready letter (HTML, US Letter, window-envelope address block). ``enclosures``:
    what the print job really puts in the envelope with it; the letter lists them, and claims
    nothing enclosed without them."""
    _no_false_enclosure(text, enclosures, "letter", _CONSUMER_FIELDS)
    return render_template(
        "consumer_letter.html.j2",
        t=text,
        name=name or SPECIMEN_NAME,
        address_lines=(address or SPECIMEN_ADDRESS).lines(),
        enclosures=list(enclosures),
    )


@dataclass(frozen=True)
class EmailBody:
    subject: str
    text: str
    html: str


def render_consumer_email(text: NoticeText, name: str | None = None, attachments: Sequence[str] = ()) -> EmailBody:
    """``attachments``: the files really attached to the message (none by default)."""
    _no_false_enclosure(text, attachments, "e-mail", _CONSUMER_FIELDS)
    name = name or SPECIMEN_NAME
    return EmailBody(
        subject=text.subject,
        text=render_template("consumer_email.txt.j2", t=text, name=name, attachments=list(attachments)),
        html=render_template("consumer_email.html.j2", t=text, name=name, attachments=list(attachments)),
    )


def render_website_posting(text: NoticeText) -> str:
    _no_false_enclosure(text, (), "website posting", _CONSUMER_FIELDS)
    return render_template("website_posting.html.j2", t=text)


def render_media_notice(text: NoticeText, outlets: Sequence[str]) -> tuple[str, str]:
    _no_false_enclosure(text, (), "media notice", _CONSUMER_FIELDS)
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
#
# These notices speak to a business about its clients: how many, in which state, what happened
# (from the recorded facts), what the insurer is doing, that the clients receive their own notice
# (or, for a ceding insurer, that it gives it), and whom to contact. No consumer-addressed text
# ("your Social Security number", credit monitoring "at no cost to you") goes to a business.

_METHOD_WORDS = {NoticeMethod.WRITTEN: "by letter", NoticeMethod.ELECTRONIC: "by e-mail"}


def _how_clients_are_notified(consumer_notice: Obligation | None) -> str | None:
    """How the consumer notice reaches the clients, in a business's words."""
    if consumer_notice is None or consumer_notice.method is None:
        return None
    if consumer_notice.method is not NoticeMethod.SUBSTITUTE:
        return _METHOD_WORDS[consumer_notice.method]
    sub = consumer_notice.substitute_notice
    if sub is not None and sub.applies_to == "consumers_without_contact" and sub.individual_method is not None:
        return (
            f"{_METHOD_WORDS[sub.individual_method]}, and those we cannot reach by a notice on our website and in the "
            "statewide media"
        )
    return "by e-mail where we have an address, a notice on our website and notice in the statewide media"


def render_producer_notice(
    ob: Obligation,
    text: NoticeText,
    producer: Producer | None,
    consumers: int | None,
    consumer_notice_due: datetime | None,
    consumer_notice: Obligation | None = None,
    attachments: Sequence[str] = (),
) -> EmailBody:
    """To a producer of record about its clients. ``consumer_notice``: the state's consumer_notice
    obligation, whose method the notice describes; ``attachments``: files really attached."""
    _no_false_enclosure(text, attachments, "e-mail", _BUSINESS_FIELDS)
    context = {
        "t": text,
        "ob": ob,
        "producer_name": producer.name if producer else "[Name of the producer of record]",
        "consumers": consumers,
        "consumer_notice_due": consumer_notice_due,
        "method_words": _how_clients_are_notified(consumer_notice),
        "attachments": list(attachments),
    }
    return EmailBody(
        subject=f"Notice to producers of record: data security incident at {text.licensee_name}",
        text=render_template("producer_notice.txt.j2", **context),
        html=render_template("producer_notice.html.j2", **context),
    )


def render_ceding_insurer_notice(
    ob: Obligation,
    intake: IncidentIntake,
    text: NoticeText,
    insurer: CedingInsurer | None,
    attachments: Sequence[str] = (),
) -> EmailBody:
    _no_false_enclosure(text, attachments, "e-mail", _BUSINESS_FIELDS)
    zone = licensee_zone(intake)
    context = {
        "t": text,
        "ob": ob,
        "intake": intake,
        "discovered_on": _date(intake.discovered_at.astimezone(zone)),
        "determined_on": _date(intake.determined_at.astimezone(zone)) if intake.determined_at else None,
        "insurer_name": insurer.name if insurer else "[Name of the ceding insurer]",
        "affected": [(state_name(r.state), r.consumers) for r in sorted(intake.affected, key=lambda r: r.state) if r.consumers],
        "data_elements": [CLIENT_ELEMENT_WORDS[e] for e in intake.data_elements],
        "attachments": list(attachments),
        "consumer_duty_citation": tennessee_rule_applied(f"{TN_LAW}(e)(1)(B), (e)(2)(B)", ob.jurisdiction),
    }
    return EmailBody(
        subject=f"Notice of a cybersecurity event from {intake.licensee.name} (assuming insurer)",
        text=render_template("ceding_insurer_notice.txt.j2", **context),
        html=render_template("ceding_insurer_notice.html.j2", **context),
    )
