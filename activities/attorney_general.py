"""The notice to a state's attorney general under its general breach law: built from the recorded
facts and the licensee's notice content, rendered as a JSON document of record (RFC 8785
canonical) and an HTML rendering into the content-addressed document store.

Like the commissioner report, it carries counts, dates and the licensee's own text, never a
consumer: the licensee's free text is refused when it carries raw NPI or a date or count the
record does not hold (``activities.documents.notice_text``). It states the law it is given under
(the obligation's citation) and why it is owed (the obligation's basis). ``RegulatorActivities``
(``activities/regulator.py``) renders it with the ledger's checkpoint and files it through the
regulator outbox keyed to that attorney general.
"""

from __future__ import annotations

from activities.document_facts import licensee_zone
from activities.documents import (
    DEFAULT_WHAT_WE_ARE_DOING_BUSINESS,
    DocumentError,
    DocumentStore,
    notice_text,
    paragraphs,
    render_template,
    state_name,
)
from ledger.canonical import canonical_json
from models.attorney_general import AttorneyGeneralNotice, RenderAttorneyGeneralNoticeInput, ResidentNotice
from models.content import DocumentKind, DocumentRef
from models.obligation import NoticeMethod, Obligation, ObligationKind
from rules import compute_obligations

_METHOD_WORDS = {
    NoticeMethod.WRITTEN: "written notice (by letter)",
    NoticeMethod.ELECTRONIC: "electronic notice (by e-mail)",
    NoticeMethod.SUBSTITUTE: "substitute notice (e-mail where known, website posting, statewide media)",
}


def _resident_notice(req: RenderAttorneyGeneralNoticeInput) -> ResidentNotice | None:
    """The state's consumer notice as the rules compute it for the event now: when and how its
    residents are told. None when the event owes them none (or the rules cannot say)."""
    ob = req.obligation
    try:
        computed = compute_obligations(req.intake, determined_at=req.intake.determined_at).obligations
    except ValueError:
        return None
    owed = [o for o in computed if o.kind is ObligationKind.CONSUMER_NOTICE and o.jurisdiction == ob.jurisdiction
            and not o.excused]
    if not owed:
        return None
    first = min(owed, key=lambda o: o.due)
    return ResidentNotice(due=first.due, citation=first.citation, method=_METHOD_WORDS.get(first.method) if first.method else None)


def _laws_satisfied(ob: Obligation) -> list[str]:
    """The laws the notice satisfies: the rules' list (``Obligation.laws_satisfied``), else its own citation."""
    return list(ob.laws_satisfied) or [ob.citation]


def build_attorney_general_notice(req: RenderAttorneyGeneralNoticeInput) -> AttorneyGeneralNotice:
    ob, intake = req.obligation, req.intake
    if ob.kind is not ObligationKind.ATTORNEY_GENERAL_NOTICE:
        raise DocumentError(f"{ob.obligation_id} is a {ob.kind.value} obligation; a notice to an attorney general "
                            "needs an attorney_general_notice")
    row = intake.affected_in(ob.jurisdiction)
    if row is None:
        raise DocumentError(f"{ob.obligation_id}: the event records no affected residents of {ob.jurisdiction}")
    # Guards the licensee's free text (NPI; dates and counts against the record) and writes the
    # business wording of the facts: the notice speaks about the residents, not to them.
    text = notice_text(ob, intake, req.content, req.as_of, ob.citation)
    given = dict(text.free_text)
    zone = licensee_zone(intake)
    return AttorneyGeneralNotice(
        incident_id=intake.incident_id,
        obligation_id=ob.obligation_id,
        jurisdiction=ob.jurisdiction,
        recipient_name=ob.recipient_name,
        citation=ob.citation,
        basis=ob.basis,
        laws_satisfied=_laws_satisfied(ob),
        filing_method=ob.filing_method,
        threshold=ob.threshold.text if ob.threshold else None,
        licensee_name=intake.licensee.name,
        licensee_naic_code=intake.licensee.naic_code,
        as_of=req.as_of.astimezone(zone),
        discovered_at=intake.discovered_at.astimezone(zone),
        determined_at=intake.determined_at.astimezone(zone) if intake.determined_at else None,
        due=ob.due,
        residents_affected=row.consumers,
        what_happened=[*text.business_what_happened, *(paragraphs(given["what_happened"]) if "what_happened" in given else [])],
        information_involved=text.client_information,
        measures_taken=paragraphs(given.get("what_we_are_doing") or DEFAULT_WHAT_WE_ARE_DOING_BUSINESS),
        services_offered=text.services_offered,
        resident_notice=_resident_notice(req),
        law_enforcement_delay_until=intake.law_enforcement_delay_until,
        contact=req.content.contact,
        representative=req.content.representative,
        signatory=req.content.signatory,
    )


def render_attorney_general_notice(store: DocumentStore, notice: AttorneyGeneralNotice) -> tuple[DocumentRef, DocumentRef]:
    """The notice as JSON (RFC 8785 canonical: the document of record) and as HTML."""
    data = canonical_json(notice.model_dump(mode="json"), floats_checked=True)
    json_ref = store.put(DocumentKind.ATTORNEY_GENERAL_NOTICE, data, "application/json", notice.citation)
    html = render_template(
        "attorney_general_notice.html.j2", n=notice, json_sha256=json_ref.sha256, state_name=state_name(notice.jurisdiction),
    )
    html_ref = store.put(DocumentKind.ATTORNEY_GENERAL_NOTICE, html.encode("utf-8"), "text/html", notice.citation)
    return json_ref, html_ref
