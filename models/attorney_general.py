"""The notice to a state's attorney general under its general breach law (obligation kind
``attorney_general_notice``; e.g. Tex. Bus. & Com. Code § 521.053: the Attorney General, if 250 or
more Texas residents are affected, within 30 days of the determination, on the AG's electronic form).

The notice is a filing like the commissioner report: rendered as a JSON document of record and an
HTML rendering, filed through the regulator outbox keyed to that attorney general, *sent* on the
outbox's receipt, *met* on the office's acknowledgement with its reference number. It states
counts, dates and the licensee's own text — never a consumer.
"""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, Field

from models.common import NoticeflowModel, StateCode
from models.content import DocumentRef, NoticeContact, NoticeContent, Representative
from models.incident import IncidentIntake
from models.notice import FilingCheckpoint
from models.obligation import Obligation


class ResidentNotice(NoticeflowModel):
    """How and by when the affected residents of the state are notified (the event's consumer
    notice there), as the rules computed it when the notice was rendered."""

    due: AwareDatetime
    citation: str
    method: str | None = Field(None, description="In words: by letter, by e-mail, substitute notice.")


class AttorneyGeneralNotice(NoticeflowModel):
    """The JSON document of record of a notice to an attorney general."""

    format: Literal["noticeflow.attorney_general_notice/1"] = "noticeflow.attorney_general_notice/1"
    incident_id: str
    obligation_id: str
    jurisdiction: StateCode
    recipient_name: str
    citation: str = Field(description="The law the notice is given under (the obligation's citation).")
    basis: str = Field(description="Why the notice is owed: the rule's threshold and clock, in one sentence.")
    laws_satisfied: list[str] = Field(default_factory=list, description="Every law this one notice satisfies.")
    filing_method: str | None = Field(None, description="How the office takes the notice, as the law names it.")
    threshold: str | None = Field(None, description="The resident threshold the law sets, as the table gives it.")
    licensee_name: str
    licensee_naic_code: str
    as_of: AwareDatetime
    discovered_at: AwareDatetime
    determined_at: AwareDatetime | None
    due: AwareDatetime
    residents_affected: int = Field(ge=0, description="Affected residents of the state (the intake's best estimate).")
    what_happened: list[str]
    information_involved: list[str]
    measures_taken: list[str]
    services_offered: list[str] = Field(default_factory=list)
    resident_notice: ResidentNotice | None = None
    law_enforcement_delay_until: AwareDatetime | None = None
    contact: NoticeContact
    representative: Representative | None = None
    signatory: str | None = None
    ledger_checkpoint: FilingCheckpoint | None = None
    ledger_checkpoint_note: str | None = None


class RenderAttorneyGeneralNoticeInput(NoticeflowModel):
    obligation: Obligation = Field(description="The attorney_general_notice obligation.")
    intake: IncidentIntake = Field(description="The event as currently known (its determination included).")
    content: NoticeContent
    as_of: AwareDatetime


class AttorneyGeneralNoticeResult(NoticeflowModel):
    obligation_id: str
    jurisdiction: StateCode
    json_document: DocumentRef
    html_document: DocumentRef
    residents_affected: int
    checkpoint: FilingCheckpoint | None = None


__all__ = [
    "AttorneyGeneralNotice",
    "AttorneyGeneralNoticeResult",
    "RenderAttorneyGeneralNoticeInput",
    "ResidentNotice",
]
