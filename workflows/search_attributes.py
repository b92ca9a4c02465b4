"""Custom search attributes that operations filter on in the Temporal UI.

They name incidents and stages only — never a consumer, never NPI. Registered on the embedded
dev server at start and on a real cluster by ``noticeflow temporal setup``.
"""

from __future__ import annotations

from temporalio.common import SearchAttributeKey

INCIDENT_ID = SearchAttributeKey.for_keyword("NoticeflowIncidentId")
STAGE = SearchAttributeKey.for_keyword("NoticeflowStage")
JURISDICTIONS = SearchAttributeKey.for_keyword_list("NoticeflowJurisdictions")
NEXT_DEADLINE = SearchAttributeKey.for_datetime("NoticeflowNextDeadline")
OVERDUE = SearchAttributeKey.for_bool("NoticeflowOverdue")
OBLIGATION_KIND = SearchAttributeKey.for_keyword("NoticeflowObligationKind")

ALL = (INCIDENT_ID, STAGE, JURISDICTIONS, NEXT_DEADLINE, OVERDUE, OBLIGATION_KIND)
