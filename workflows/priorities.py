"""Which work the workers take first when they are behind (Temporal task queue priority).

Every noticeflow workflow shares one task queue. When many events arrive at once, each
determination starts its obligation workflows, and each of those has a first workflow task to
run (render, ledger, deliver): hundreds of tasks queue up behind which a responder's next step
would wait — what made 50 events at once answer their determinations after 16 s and some steps
504. Temporal's matching service keeps a sub-queue per priority key and hands out lower keys
first (https://docs.temporal.io/design-patterns/priority-task-queues), so:

- ``EVENT`` (1): a ``CybersecurityEventWorkflow``, started by the incident API. Each of its
  workflow tasks answers a responder who is waiting on the step (determination, roster,
  approval) or records what its children told it.
- ``OBLIGATION`` (3, Temporal's default): the notices an event owes. Without a key of their
  own they would inherit the event's 1 and take back the front of the queue. Privacy
  relationships and revised-notice fan-outs keep the default as well: they are the same
  statutory work, on clocks of days.

Priority orders a backlog; it never starves anything (each task still runs once a slot frees)
and changes nothing in what a workflow does or records.
"""

from __future__ import annotations

from temporalio.common import Priority

EVENT = Priority(priority_key=1)
OBLIGATION = Priority(priority_key=3)
