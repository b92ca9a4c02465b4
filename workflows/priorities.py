"""Which work the workers take first when they are behind (Temporal task queue priority).

Every noticeflow workflow shares one task queue. When many events arrive at once, each
determination starts its obligation workflows, and each of those has a first workflow task to
run (render, ledger, deliver): hundreds of tasks queue up, and in first-in-first-out order a
responder's next step waited behind all of them — 50 events at once answered their
determinations after 16 s (p50) and some steps 504. Temporal's matching service keeps a
sub-queue per priority key and hands out lower keys first
(https://docs.temporal.io/design-patterns/priority-task-queues), so:

- a ``CybersecurityEventWorkflow`` keeps Temporal's default key (3): each of its workflow tasks
  answers a responder who waits on the step (determination, roster, approval), and state queries
  are answered at that level too. (Measured: with the events at 1 instead, the API's state reads
  waited behind the event tasks a restarted worker replays and answered 504 after 20 s.)
- ``NOTICES`` (4): the notices themselves — obligation workflows (the event sets it when it
  starts them; they would otherwise inherit the event's), privacy relationship lifecycles and
  revised-notice fan-outs (the API sets it when it starts them). Their clocks run in days; a
  backlog of them no longer holds up a responder, and a large onboarding never gets ahead of an
  event's notices.

Priority orders a backlog; it never starves anything (each task still runs once a slot frees)
and changes nothing in what a workflow does or records.
"""

from __future__ import annotations

from temporalio.common import Priority

NOTICES = Priority(priority_key=4)
