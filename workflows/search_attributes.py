"""Custom search attributes that operations filter on in the Temporal UI.

They name incidents and stages only — never a consumer, never NPI. Registered on the embedded
dev server at start and on a real cluster by ``noticeflow temporal setup``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from temporalio import workflow
from temporalio.common import SearchAttributeKey, SearchAttributeUpdate

from workflows.common import LEAN_HISTORY

INCIDENT_ID = SearchAttributeKey.for_keyword("NoticeflowIncidentId")
STAGE = SearchAttributeKey.for_keyword("NoticeflowStage")
JURISDICTIONS = SearchAttributeKey.for_keyword_list("NoticeflowJurisdictions")
NEXT_DEADLINE = SearchAttributeKey.for_datetime("NoticeflowNextDeadline")
OVERDUE = SearchAttributeKey.for_bool("NoticeflowOverdue")
OBLIGATION_KIND = SearchAttributeKey.for_keyword("NoticeflowObligationKind")

ALL = (INCIDENT_ID, STAGE, JURISDICTIONS, NEXT_DEADLINE, OVERDUE, OBLIGATION_KIND)


def upsert(updates: Sequence[SearchAttributeUpdate[Any]]) -> None:
    """Upsert ``updates`` — since patch ``lean-history`` (``workflows/common.py``), only those that
    change a value (``workflow.info().typed_search_attributes`` is the workflow's current set)."""
    if workflow.patched(LEAN_HISTORY):
        current = workflow.info().typed_search_attributes
        updates = [u for u in updates if (u.key in current if u.value is None else current.get(u.key) != u.value)]
        if not updates:
            return
    workflow.upsert_search_attributes(updates)
