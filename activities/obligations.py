"""The obligations of a determination, computed once and kept in the event's history.

``rules.cyber.compute_obligations`` is pure and the event workflow used to call it inline, which
made every change to the rules a change to running workflows: replaying an event determined under
the old rules recomputed its obligations under the new ones, and a different set or order of child
workflows is a non-deterministic replay that stops the event. Run as a *local activity*, its result
is recorded in the history (a marker) and read back on replay, so an event keeps the obligations it
was determined with, and a later step (an amendment, a reconciliation) computes under the rules
then in force — recorded in turn. The workflow gates it with the patch ``obligations-recorded``
(docs/temporal.md "Changing a workflow").
"""

from __future__ import annotations

from temporalio import activity

from models.obligation import ObligationsQuery, ObligationsResult
from rules.cyber import compute_obligations

#: Activity name (``workflows/common.py`` COMPUTE_OBLIGATIONS).
NAME = "compute_obligations"


@activity.defn(name=NAME)
async def compute_obligations_activity(query: ObligationsQuery) -> ObligationsResult:
    """Pure: the same query gives the same obligations under the same rules."""
    return compute_obligations(query.intake, determined_at=query.determined_at)
