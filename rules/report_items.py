"""The commissioner report's items (A)–(N), Tenn. Code Ann. § 56-2-1006(b)(1): which finding may
supply which item, what the event's record says about each item, and whether that answers it.

One home for "answered": the report renderer (``activities/documents.py``) builds every item from
:func:`report_item_contents`, and closure (:func:`closure_problems`) asks the same function what is
still unanswered, so a report and the closure check can never disagree.

An item is *answered* when the event's record supplies it — a finding or amendment that lists it,
or an intake fact that answers it outright ((C) a provider's notice, (D) information returned or
destroyed, (G) the data elements, (I) the estimate, (L) the privacy policy, (M) the
representative, (N) the notice copy) — or when it is *not applicable*: by rule ((N) where no
consumer notice is required) or by a responder's recorded mark with its reason. An item the intake
answers only in part ((A) the discovery date, (B) that a provider's system was involved) is not
answered: the statute asks for "as much … as is available", and closure for all of it.

Pure: no I/O, no clock. Workflow code calls these functions from update validators.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import NamedTuple

from models.content import DocumentRef, NoticeContent
from models.incident import DataElement, EventSource, IncidentIntake, ReportItemCode
from models.lifecycle import EventAmendment, Finding, FindingKind
from models.notice import ReportItemAvailability, ReportItemContent
from models.obligation import (
    NoticeMethod,
    Obligation,
    ObligationKind,
    ReportItem,
    ReportItemStatus,
)
from models.steps import ReportItemNotApplicable
from rules.jurisdictions import (
    STATE_NAMES,
    report_item_citation,
    report_items_citation,
    tpsp_citation,
)
from rules.report_checklist import REPORT_ITEMS

Item = ReportItemCode

#: Tenn. Code Ann. § 56-2-1006(b)(1): "as much of the following information as is available".

#: What the report says of an item it cannot yet give: (b)(1) asks for what "is available", and
#: (b)(2) for "material updates or supplements".
NOT_YET_AVAILABLE = "Not yet available — will be supplemented."
PARTLY_AVAILABLE = "Partly available — the rest will be supplemented."
GATHERED_NOT_ENTERED = "Gathered by responders but not yet entered — will be supplemented."

#: Which items a finding of each kind may supply, read from the items' words in
#: Tenn. Code Ann. § 56-2-1006(b)(1)(A)–(N). A finding outside its kind's set is refused: a
#: remediation finding does not say whether a police report was filed ((F)), nor an NPI finding
#: who the source was ((E)). (I), (L), (M) and (N) come from the event itself (the per-state
#: estimate, the notice content, the consumer notice sent), never from a finding.
ITEMS_A_FINDING_KIND_MAY_SUPPLY: Mapping[FindingKind, frozenset[ReportItemCode]] = MappingProxyType(
    {
        # (A) the date, (B) how exposed incl. the provider's role, (C) how discovered, (H) the period.
        FindingKind.NATURE_AND_SCOPE: frozenset({Item.A, Item.B, Item.C, Item.H}),
        # (G) the types of NPI or data elements acquired.
        FindingKind.NPI_INVOLVED: frozenset({Item.G}),
        # Restoring security is part of remediating what permitted the event: (K).
        FindingKind.SECURITY_RESTORED: frozenset({Item.K}),
        # The provider's investigation, confirmed by the licensee: how, how discovered, by whom, when.
        FindingKind.TPSP_INVESTIGATION_CONFIRMED: frozenset({Item.B, Item.C, Item.E, Item.H}),
        FindingKind.SOURCE_IDENTIFIED: frozenset({Item.E}),
        FindingKind.INFORMATION_RECOVERED: frozenset({Item.D}),
        FindingKind.LAW_ENFORCEMENT_NOTIFIED: frozenset({Item.F}),
        # The period of compromise; its first day is the date of the event.
        FindingKind.COMPROMISE_PERIOD: frozenset({Item.A, Item.H}),
        FindingKind.INTERNAL_REVIEW: frozenset({Item.J}),
        FindingKind.REMEDIATION: frozenset({Item.K}),
        FindingKind.COUNSEL_NOTE: frozenset(),
    }
)

#: Where an item no finding supplies comes from instead.
_NOT_FROM_A_FINDING: Mapping[ReportItemCode, str] = MappingProxyType(
    {
        Item.I: "it is the per-state best estimate of affected consumers (amend the event's affected counts or "
        "record a consumer reconciliation)",
        Item.L: "it comes from the notice content's privacy_policy_url and the event's consumer-notice obligations",
        Item.M: "it comes from the notice content's representative",
        Item.N: "it is the copy of the consumer notice sent",
    }
)

_ITEM_WORDS: Mapping[ReportItemCode, str] = MappingProxyType(
    {code: text[0].lower() + text[1:] for code, text in REPORT_ITEMS}
)

#: Data elements in the words a report to a regulator uses (RSMo § 375.1402(12) categories).
DATA_ELEMENT_REPORT_WORDS: Mapping[DataElement, str] = MappingProxyType(
    {
        DataElement.SSN: "Social Security numbers",
        DataElement.DRIVERS_LICENSE: "driver's license or state identification card numbers",
        DataElement.FINANCIAL_ACCOUNT: "financial account, credit card or debit card numbers",
        DataElement.ACCESS_CODE: "security codes, access codes or passwords",
        DataElement.BIOMETRIC: "biometric records",
        DataElement.MILITARY_ID: "military identification numbers",
        DataElement.HEALTH: "health information (health, health care or payment for health care)",
        DataElement.BUSINESS: "business information of the licensee",
    }
)

_METHOD_WORDS: Mapping[NoticeMethod | None, str] = MappingProxyType(
    {
        NoticeMethod.WRITTEN: "written notice",
        NoticeMethod.ELECTRONIC: "electronic notice",
        NoticeMethod.SUBSTITUTE: "substitute notice (e-mail where known, website posting, statewide media)",
        None: "notice",
    }
)


class Problem(NamedTuple):
    """A refusal's parts: the field at fault, the message naming it and why, the section."""

    field: str
    message: str
    citation: str


def item_words(code: ReportItemCode) -> str:
    """``(F) whether a police report was filed or agencies notified, and when``."""
    return f"({code.value}) {_ITEM_WORDS[code]}"


def _kind_words(kind: FindingKind) -> str:
    return kind.value.replace("_", " ")


def _a(words: str) -> str:
    vowel_sound = words[0] in "aeiou" or words.startswith("npi ")  # "an N-P-I finding"
    return f"{'an' if vowel_sound else 'a'} {words}"


def kinds_that_may_supply(code: ReportItemCode) -> list[FindingKind]:
    return [kind for kind, items in ITEMS_A_FINDING_KIND_MAY_SUPPLY.items() if code in items]


# =============================================================================================
# Findings
# =============================================================================================


def finding_problem(finding: Finding, domicile: str = "TN") -> Problem | None:
    """Why ``finding`` cannot be recorded as it states its report items, or None when it can.

    Each item of Tenn. Code Ann. § 56-2-1006(b)(1) asks a specific question; a finding answers
    only the questions its kind is about (``ITEMS_A_FINDING_KIND_MAY_SUPPLY``). ``domicile`` is the
    state whose law the event's own steps cite (its report-item section)."""
    allowed = ITEMS_A_FINDING_KIND_MAY_SUPPLY[finding.kind]
    kind = _kind_words(finding.kind)
    if not allowed:
        if finding.report_items:
            items = ", ".join(f"({c.value})" for c in finding.report_items)
            return Problem(
                "report_items",
                f"report_items: {_a(kind)} answers no commissioner-report item (it listed {items}); record the facts it "
                "supplies as a finding of the kind that fits them",
                report_item_citation(domicile, finding.report_items[0].value),
            )
        return None
    if not finding.report_items:
        return Problem(
            "report_items",
            f"report_items: name the commissioner-report items this {kind} finding supplies — it may supply "
            + ", ".join(f"({c.value})" for c in sorted(allowed)),
            report_items_citation(domicile),
        )
    for code in finding.report_items:
        if code in allowed:
            continue
        fits = kinds_that_may_supply(code)
        where = (
            "record " + _a(" or ".join(_kind_words(k) for k in fits)) + f" finding for ({code.value})"
            if fits
            else _NOT_FROM_A_FINDING[code]
        )
        return Problem(
            "report_items",
            f"report_items: {_a(kind)} finding cannot answer {item_words(code)}; {where}",
            report_item_citation(domicile, code.value),
        )
    if finding.privileged and finding.report_items and not finding.report_statement:
        return Problem(
            "report_statement",
            "report_statement: a privileged finding that supplies report items needs the statement the commissioner "
            "report gives instead of the sealed text",
            report_item_citation(domicile, finding.report_items[0].value),
        )
    return None


# =============================================================================================
# What the event's record says about each item
# =============================================================================================


@dataclass(frozen=True)
class ReportSources:
    """Everything one state's commissioner report is built from (no NPI: counts and references)."""

    intake: IncidentIntake
    findings: Sequence[Finding] = ()
    amendments: Sequence[EventAmendment] = ()
    not_applicable: Sequence[ReportItemNotApplicable] = ()
    content: NoticeContent | None = None
    #: The consumer-notice obligations whose steps item (L) states.
    consumer_obligations: Sequence[Obligation] = ()
    #: Copies of the consumer notices sent, per state: item (N).
    consumer_notice_documents: Mapping[str, Sequence[DocumentRef]] = field(default_factory=dict)
    #: Consumers on the notification roster so far, per state (stated beside the (I) estimate).
    roster_consumers: Mapping[str, int] = field(default_factory=dict)


def _instant(value: dt.datetime) -> str:
    return value.isoformat(timespec="minutes")


def _state_name(code: str) -> str:
    return STATE_NAMES.get(code, code)


def event_statements(code: ReportItemCode, findings: Sequence[Finding], amendments: Sequence[EventAmendment]) -> list[str]:
    """What findings and amendments state for ``code``. A privileged finding contributes its
    ``report_statement``, never its sealed text."""
    out: list[str] = []
    for finding in findings:
        if code not in finding.report_items:
            continue
        if finding.privileged:
            if finding.report_statement:
                out.append(finding.report_statement)
        else:
            out.append(finding.summary)
    for amendment in amendments:
        if code in amendment.report_items_provided:
            out.append(amendment.summary)
    return out


def intake_facts(code: ReportItemCode, state: str, sources: ReportSources) -> tuple[list[str], bool]:
    """What the intake, the notice content and the obligations say about ``code`` in ``state``'s
    report, and whether that answers the item outright."""
    intake = sources.intake
    tpsp = intake.source is EventSource.THIRD_PARTY_SERVICE_PROVIDER
    if code is Item.A:
        facts = [f"The event was discovered on {_instant(intake.discovered_at)}."]
        if intake.tpsp_notified_at:
            facts.append(f"The third-party service provider notified the licensee on {_instant(intake.tpsp_notified_at)}.")
        return facts, False
    if code is Item.B and tpsp:
        return [
            (
                "The event occurred in an information system maintained by a third-party service provider of the "
                f"licensee; the licensee treats it as its own ({tpsp_citation(state)})."
            )
        ], False
    if code is Item.C:
        if tpsp and intake.tpsp_notified_at:
            facts = [f"The licensee's third-party service provider notified the licensee on {_instant(intake.tpsp_notified_at)}."]
            if intake.actual_knowledge_at:
                facts.append(f"The licensee otherwise gained actual knowledge on {_instant(intake.actual_knowledge_at)}.")
            return facts, True
        return [f"Discovered by the licensee on {_instant(intake.discovered_at)}."], False
    if code is Item.D and intake.returned_or_destroyed_unused:
        return ["The information was returned or destroyed without having been used or released."], True
    if code is Item.F:
        facts = []
        delays = [a for a in sources.amendments if a.law_enforcement_delay_until and a.law_enforcement_basis]
        for a in delays:
            assert a.law_enforcement_delay_until is not None
            facts.append(
                f"Law enforcement asked that consumer notice be delayed until {_instant(a.law_enforcement_delay_until)}: "
                f"{a.law_enforcement_basis}"
            )
        if not delays and intake.law_enforcement_delay_until:
            facts.append(f"Law enforcement asked that consumer notice be delayed until {_instant(intake.law_enforcement_delay_until)}.")
        return facts, False
    if code is Item.G and intake.data_elements:
        words = "; ".join(DATA_ELEMENT_REPORT_WORDS[e] for e in intake.data_elements)
        if not intake.encrypted:
            enc = "The information was not encrypted."
        elif intake.key_compromised:
            enc = "The information was encrypted, and the encryption key was also acquired, released or used."
        else:
            enc = "The information was encrypted and the key was not acquired, released or used."
        return [f"Data elements involved: {words}.", enc], True
    if code is Item.I:
        row = intake.affected_in(state)
        facts = [f"Best estimate: {row.consumers if row else 0:,} consumers residing in {_state_name(state)} are affected."]
        if state in sources.roster_consumers:
            facts.append(f"{sources.roster_consumers[state]:,} of them are on the notification roster so far.")
        facts.append("This estimate is updated with each subsequent report.")
        return facts, True
    if code is Item.L:
        facts = []
        policy = sources.content.privacy_policy_url if sources.content else None
        if policy:
            facts.append(f"The licensee's privacy policy: {policy}")
        facts.append(
            "The licensee identifies affected consumers from the systems involved and keeps a notification roster "
            "per state of residence."
        )
        for o in sorted(sources.consumer_obligations, key=lambda o: (o.due, o.jurisdiction)):
            facts.append(
                f"Consumers residing in {_state_name(o.jurisdiction)}: {_METHOD_WORDS[o.method]} "
                f"no later than {_instant(o.due)} ({o.citation})."
            )
        return facts, bool(policy)
    if code is Item.M and sources.content and sources.content.representative:
        r = sources.content.representative
        return [f"{r.name}, {r.title} — {r.email}, {r.phone}."], True
    if code is Item.N and sources.consumer_notice_documents.get(state):
        return [
            f"Copy of the {d.kind.value.replace('_', ' ')} sent to consumers: sha256 {d.sha256}."
            for d in sources.consumer_notice_documents[state]
        ], True
    return [], False


def not_applicable_mark(
    code: ReportItemCode, state: str, marks: Sequence[ReportItemNotApplicable]
) -> ReportItemNotApplicable | None:
    """The latest mark that makes ``code`` not applicable in ``state``'s report (a mark for every
    state counts too)."""
    found = None
    for mark in marks:
        if mark.item is code and mark.state in (None, state):
            found = mark
    return found


def answer_item(item: ReportItem, state: str, sources: ReportSources) -> ReportItemContent:
    """One item of ``state``'s report as the report shows it: its statements and availability.

    What the record supplies comes first; a not-applicable mark counts only for an item the record
    does not answer (a fact recorded later is reported, whatever was marked before)."""
    code = item.code
    if item.status is ReportItemStatus.NOT_APPLICABLE:
        return ReportItemContent(
            code=code, description=item.description, citation=item.citation,
            status=ReportItemAvailability.NOT_APPLICABLE, note=item.note,
        )
    from_event = event_statements(code, sources.findings, sources.amendments)
    facts, answered = intake_facts(code, state, sources)
    statements = [*facts, *from_event]
    note: str | None = None
    if from_event or answered:
        status = ReportItemAvailability.AVAILABLE
    elif (mark := not_applicable_mark(code, state, sources.not_applicable)) is not None:
        status, note = ReportItemAvailability.NOT_APPLICABLE, f"Not applicable: {mark.reason}"
    elif facts:
        status, note = ReportItemAvailability.PARTIAL, PARTLY_AVAILABLE
    else:
        status = ReportItemAvailability.NOT_YET_AVAILABLE
        note = GATHERED_NOT_ENTERED if item.status is ReportItemStatus.PROVIDED else NOT_YET_AVAILABLE
    return ReportItemContent(
        code=code, description=item.description, citation=item.citation, status=status, statements=statements, note=note
    )


def report_item_contents(obligation: Obligation, sources: ReportSources) -> list[ReportItemContent]:
    """Every item of the obligation's checklist (Tenn. Code Ann. § 56-2-1006(b)(1)(A)–(N)) as the
    report gives it."""
    return [answer_item(item, obligation.jurisdiction, sources) for item in obligation.report_items or []]


_ANSWERED = (ReportItemAvailability.AVAILABLE, ReportItemAvailability.NOT_APPLICABLE)


def unanswered_items(obligation: Obligation, sources: ReportSources) -> list[ReportItemCode]:
    """Items of the obligation's report that are neither answered nor not applicable."""
    return [c.code for c in report_item_contents(obligation, sources) if c.status not in _ANSWERED]


# =============================================================================================
# Completeness and closure
# =============================================================================================


def _reports_owed(obligations: Sequence[Obligation], waived: Collection[str]) -> list[Obligation]:
    """Commissioner-notice obligations whose report must be complete: not excused, not waived."""
    return [
        o for o in obligations
        if o.kind is ObligationKind.COMMISSIONER_NOTICE and o.report_items and not o.excused
        and o.obligation_id not in waived
    ]


def _sources(
    obligations: Sequence[Obligation],
    findings: Sequence[Finding],
    amendments: Sequence[EventAmendment],
    not_applicable_marks: Sequence[ReportItemNotApplicable],
    intake: IncidentIntake,
    content: NoticeContent | None,
    consumer_notice_documents: Mapping[str, Sequence[DocumentRef]] | None,
) -> ReportSources:
    return ReportSources(
        intake=intake,
        findings=findings,
        amendments=amendments,
        not_applicable=not_applicable_marks,
        content=content,
        consumer_obligations=[o for o in obligations if o.kind is ObligationKind.CONSUMER_NOTICE],
        consumer_notice_documents=consumer_notice_documents or {},
    )


def report_completeness(
    obligations: Sequence[Obligation],
    findings: Sequence[Finding],
    amendments: Sequence[EventAmendment],
    not_applicable_marks: Sequence[ReportItemNotApplicable],
    intake: IncidentIntake,
    *,
    content: NoticeContent | None = None,
    consumer_notice_documents: Mapping[str, Sequence[DocumentRef]] | None = None,
    waived: Collection[str] = (),
) -> dict[str, list[ReportItemCode]]:
    """obligation_id → the items of that commissioner report still unanswered (empty when complete),
    for every commissioner-notice obligation not excused or ``waived``.

    ``content`` answers (L) and (M); ``consumer_notice_documents`` (state → copies of the consumer
    notices sent) answers (N). Without them those items stay unanswered."""
    sources = _sources(obligations, findings, amendments, not_applicable_marks, intake, content, consumer_notice_documents)
    return {o.obligation_id: unanswered_items(o, sources) for o in _reports_owed(obligations, waived)}


def closure_problems(
    obligations: Sequence[Obligation],
    findings: Sequence[Finding],
    amendments: Sequence[EventAmendment],
    not_applicable_marks: Sequence[ReportItemNotApplicable],
    intake: IncidentIntake,
    reviewed_obligation_ids: Collection[str],
    *,
    content: NoticeContent | None = None,
    consumer_notice_documents: Mapping[str, Sequence[DocumentRef]] | None = None,
    waived: Collection[str] = (),
) -> list[Problem]:
    """What stands between the event and its closure, besides open obligations:

    * every item (A)–(N) of every commissioner report owed is answered or marked not applicable
      with a reason (§ 56-2-1006(b)(1) "as much … as is available"; an event is closed when
      nothing more will become available) — field ``report_items.<state>.<item>``;
    * every obligation flagged ``needs_counsel_review`` has a recorded counsel review
      (``reviewed_obligation_ids``) — field ``counsel_review.<obligation_id>``, cited to the
      obligation's own section (the rule counsel has to confirm).
    """
    problems: list[Problem] = []
    missing = report_completeness(
        obligations, findings, amendments, not_applicable_marks, intake,
        content=content, consumer_notice_documents=consumer_notice_documents, waived=waived,
    )
    by_id = {o.obligation_id: o for o in obligations}
    for obligation_id in sorted(missing, key=lambda oid: (by_id[oid].jurisdiction, oid)):
        ob = by_id[obligation_id]
        for code in missing[obligation_id]:
            problems.append(
                Problem(
                    f"report_items.{ob.jurisdiction}.{code.value}",
                    f"{ob.jurisdiction} commissioner report: {item_words(code)} is neither answered nor marked not "
                    "applicable with a reason",
                    report_item_citation(ob.jurisdiction, code.value),
                )
            )
    for ob in sorted(obligations, key=lambda o: o.obligation_id):
        if ob.needs_counsel_review and ob.obligation_id not in reviewed_obligation_ids:
            problems.append(
                Problem(
                    f"counsel_review.{ob.obligation_id}",
                    f"{ob.obligation_id} is flagged needs_counsel_review and no counsel review is recorded (record a "
                    "counsel_review step: reviewer, decision)",
                    ob.citation,
                )
            )
    return problems


def not_applicable_problem(
    mark: ReportItemNotApplicable,
    obligations: Sequence[Obligation],
    findings: Sequence[Finding],
    amendments: Sequence[EventAmendment],
    intake: IncidentIntake,
    *,
    content: NoticeContent | None = None,
    consumer_notice_documents: Mapping[str, Sequence[DocumentRef]] | None = None,
) -> Problem | None:
    """Why ``mark`` cannot be recorded, or None. Refused: a state whose commissioner is owed no
    report, and an item the event's record already answers in every report the mark concerns (the
    mark would contradict the record). Before the determination (no obligations yet) any state
    may be named."""
    reports = _reports_owed(obligations, ())
    if mark.state is not None and obligations:
        reports = [o for o in reports if o.jurisdiction == mark.state]
        if not reports:
            return Problem(
                "state",
                f"state: no commissioner report is owed in {mark.state} for this event",
                report_item_citation(mark.state, mark.item.value),
            )
    if not reports:
        return None
    sources = _sources(obligations, findings, amendments, (), intake, content, consumer_notice_documents)
    answered_in = [
        o.jurisdiction for o in reports
        if any(c.code is mark.item and c.status is ReportItemAvailability.AVAILABLE for c in report_item_contents(o, sources))
    ]
    if len(answered_in) == len(reports):
        return Problem(
            "item",
            f"item: {item_words(mark.item)} is already answered by the event's record in the "
            + ", ".join(sorted(answered_in))
            + " report; a not-applicable mark would contradict it",
            report_item_citation(reports[0].jurisdiction, mark.item.value),
        )
    return None


__all__ = [
    "DATA_ELEMENT_REPORT_WORDS",
    "GATHERED_NOT_ENTERED",
    "ITEMS_A_FINDING_KIND_MAY_SUPPLY",
    "NOT_YET_AVAILABLE",
    "PARTLY_AVAILABLE",
    "Problem",
    "ReportSources",
    "answer_item",
    "closure_problems",
    "event_statements",
    "finding_problem",
    "intake_facts",
    "item_words",
    "kinds_that_may_supply",
    "not_applicable_mark",
    "not_applicable_problem",
    "report_completeness",
    "report_item_contents",
    "unanswered_items",
]
