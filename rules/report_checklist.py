"""The checklist of the commissioner report, items (A)–(N) of Tenn. Code Ann. § 56-2-1006(b)(1),
each citing the section of the state it is filed in (``rules.jurisdictions.report_item_citation``).
What each item then says is ``rules.report_items``'s concern."""

from __future__ import annotations

from collections.abc import Iterable

from models.incident import IncidentIntake, ReportItemCode
from models.obligation import ReportItem, ReportItemStatus
from rules.jurisdictions import report_item_citation

# ============================================================================================
# Commissioner report items (A)–(N)
# ============================================================================================

REPORT_ITEMS: tuple[tuple[ReportItemCode, str], ...] = (
    (ReportItemCode.A, "The date of the cybersecurity event"),
    (ReportItemCode.B, "How the information was exposed, lost, stolen or breached, incl. the roles of third-party service providers"),
    (ReportItemCode.C, "How the cybersecurity event was discovered"),
    (ReportItemCode.D, "Whether lost, stolen or breached information has been recovered, and how"),
    (ReportItemCode.E, "The identity of the source of the cybersecurity event"),
    (ReportItemCode.F, "Whether a police report was filed or agencies notified, and when"),
    (ReportItemCode.G, "The specific types of nonpublic information or data elements acquired without authorization"),
    (ReportItemCode.H, "The period during which the information system was compromised"),
    (ReportItemCode.I, "The number of total consumers in this state affected (best estimate, updated in each report)"),
    (ReportItemCode.J, "The results of an internal review: were automated controls or internal procedures followed"),
    (ReportItemCode.K, "The efforts to remediate the situation that permitted the event"),
    (ReportItemCode.L, "A copy of the privacy policy and the steps to identify and notify affected consumers"),
    (ReportItemCode.M, "A knowledgeable, authorized representative for contact from the commissioner"),
    (ReportItemCode.N, "A copy of the notice sent to affected consumers, if consumer notice is required"),
)  # fmt: skip


def commissioner_report_items(
    intake: IncidentIntake,
    state: str,
    consumer_notice_required: bool,
    provided: Iterable[ReportItemCode] = (),
) -> list[ReportItem]:
    """Tenn. Code Ann. § 56-2-1006(b)(1): the licensee "shall provide to the commissioner … as much of
    the following information as is available: (A) … (N)". Returns the checklist of what is still
    missing; (G) and (I) come from the intake, (N) applies only where consumer notice is required.
    Each item cites ``state``'s own section, or the model's, marked (``report_item_citation``)."""
    have = set(intake.report_items_provided) | set(provided)
    affected = intake.affected_in(state)
    items: list[ReportItem] = []
    for code, description in REPORT_ITEMS:
        cite = report_item_citation(state, code.value)
        status, note = (ReportItemStatus.PROVIDED, None) if code in have else (ReportItemStatus.MISSING, None)
        if code is ReportItemCode.G and intake.data_elements:
            status = ReportItemStatus.PROVIDED
            note = "From the intake: " + ", ".join(e.value for e in intake.data_elements) + "."
        elif code is ReportItemCode.I:
            count = affected.consumers if affected else 0
            status = ReportItemStatus.PROVIDED
            note = f"Best estimate {count:,}; update this estimate with each subsequent report."
        elif code is ReportItemCode.N and not consumer_notice_required:
            status, note = ReportItemStatus.NOT_APPLICABLE, "No consumer notice is required in this state."
        # Built from the table above and the intake's validated fields: no validation needed.
        items.append(ReportItem.model_construct(code=code, description=description, citation=cite, status=status, note=note))
    return items
