"""What every noticeflow workflow shares: activity names and options, and recording steps.

Workflows call activities by name, so that workflow code imports nothing that does I/O; the
worker registers activities under exactly these names (``@activity.defn`` method names).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, TypeVar

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.exceptions import TimeoutError as TemporalTimeoutError

from workflows.refusals import refuse_state

with workflow.unsafe.imports_passed_through():
    from models.authority import SYSTEM_ACTOR, StepAuthority, current_authority
    from models.ledger import LedgerStep, RecordedStep

T = TypeVar("T")

LEDGER_RECORD = "ledger_record"
RENDER_COMMISSIONER_REPORT = "render_commissioner_report"
SUBMIT_TO_REGULATOR = "submit_to_regulator"
CHECK_REGULATOR_ACKNOWLEDGEMENTS = "check_regulator_acknowledgements"
RENDER_ATTORNEY_GENERAL_NOTICE = "render_attorney_general_notice"
#: Local activity: a determination's obligations, kept in the history (activities/obligations.py).
COMPUTE_OBLIGATIONS = "compute_obligations"
CONFIRM_DELIVERIES = "confirm_deliveries"
CONSUMER_NOTICE_EVIDENCE = "consumer_notice_evidence"
DELIVER_CONSUMER_NOTICE = "render_and_deliver_consumer_notice"
DELIVER_PRODUCER_NOTICE = "deliver_producer_notice"
DELIVER_CEDING_INSURER_NOTICE = "deliver_ceding_insurer_notice"
SEAL_PRIVILEGED_TEXT = "seal_privileged_text"
RECORD_RETURNED_NOTICES = "record_returned_notices"
COLLECT_BOUNCES = "collect_bounces"

#: Patch (release 2026-12-02 → next) for a leaner history, one marker per run, three effects:
#:
#: * the quick steps — every ledger append, and the steps on noticeflow's own database and files
#:   (``quick_step``) — run as *local* activities: one marker inside the workflow task that asked
#:   for them, instead of a scheduled activity (three events and a workflow task of its own); what
#:   they do is unchanged (a ledger step's key is ``<workflow id>/<step>``, recorded once);
#: * search attributes are upserted only when a value changed (``search_attributes.upsert``);
#: * an obligation's workflow tells the event workflow its state once per workflow task, only
#:   when it changed, and not at all for its last words (its result carries them) —
#:   ``ObligationWorkflow._tell_parent`` — instead of a signal, and a workflow task to await it,
#:   for every publication.
#:
#: Old path: scheduled activities, every attribute on every publication, a signal per publication.
#: Deprecate once no workflow started before it runs.
LEAN_HISTORY = "lean-history"

#: Steps that touch only our own database: quick, retried until they succeed. A worker that dies
#: mid-step holds it for at most ``start_to_close_timeout`` before another worker retries it.
QUICK = {
    "start_to_close_timeout": timedelta(seconds=30),
    "retry_policy": RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=1)),
}
#: Deliveries to the outside world: long, heartbeating (every batch of e-mails or letters),
#: retried with back-off; a dead worker's delivery is taken over after ``heartbeat_timeout``.
DELIVERY = {
    "start_to_close_timeout": timedelta(hours=6),
    "heartbeat_timeout": timedelta(minutes=1),
    "retry_policy": RetryPolicy(initial_interval=timedelta(seconds=5), maximum_interval=timedelta(minutes=10)),
}
#: Alerts to responders (``AlertActivities.alert_responders``): two minutes an attempt, retried
#: with back-off for about 25 minutes; the last attempt returns who was not reached instead of
#: failing, so every alert's outcome is recorded.
ALERT_TIMEOUT = timedelta(minutes=2)
ALERT_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=10), maximum_interval=timedelta(minutes=5), maximum_attempts=10
)


async def record(
    stream: str,
    type_: str,
    step: str,
    *,
    jurisdiction: str | None = None,
    citation: str | None = None,
    actor: str = "worker",
    data: dict[str, Any] | None = None,
) -> RecordedStep:
    """Record one step of the current workflow in the ledger (exactly once, whatever retries)."""
    (receipt,) = await record_many(
        [
            LedgerStep(
                stream=stream,
                type=type_,
                step=step,
                jurisdiction=jurisdiction,
                citation=citation,
                actor=actor,
                data=data or {},
            )
        ]
    )
    return receipt


async def record_many(steps: list[LedgerStep]) -> list[RecordedStep]:
    """Record steps; those in a person's name carry the actor assertion they were taken under
    (``models/authority.py``), without which the ledger activity refuses them."""
    authority = current_authority()
    if authority is not None:
        steps = [
            s.model_copy(update={"assertion": authority.token, "accepted_at": authority.accepted_at})
            if s.actor != SYSTEM_ACTOR and s.assertion is None else s
            for s in steps
        ]
    return await quick_step(LEDGER_RECORD, steps, result_type=list[RecordedStep])


async def quick_step(activity: str, arg: Any, *, result_type: type[T]) -> T:
    """Run a quick step (``QUICK``: our own database and files, nothing outside) — a local activity
    since ``lean-history``, a scheduled one on the old path."""
    if not workflow.patched(LEAN_HISTORY):
        return await workflow.execute_activity(activity, arg, result_type=result_type, **QUICK)  # type: ignore[arg-type]
    try:
        return await workflow.execute_local_activity(activity, arg, result_type=result_type, **QUICK)  # type: ignore[arg-type]
    except (ApplicationError, TemporalTimeoutError) as exc:
        # A local activity's failure arrives bare; callers see it as a scheduled one's: an
        # ``ActivityError`` whose cause is the refusal (``workflows/refusals.py`` reads it there).
        raise ActivityError(
            f"{activity} failed", scheduled_event_id=0, started_event_id=0, identity="", activity_type=activity,
            activity_id="", retry_state=None,
        ) from exc


def forwarded(step: Any) -> Any:
    """``step`` (a waiver, a completion, an acknowledgement) as handed to an obligation's workflow:
    with the actor assertion it was taken under, which the obligation records it under."""
    return step.model_copy(update={"forwarded_under": current_authority()})


def required_authority(field: str) -> StepAuthority:
    """The actor assertion of the step being validated, for a step the workflow records later (the
    closure): refused now, typed, when the step came without one — a step sent around the API.
    Call it from an update's validator, which replay never runs, so that running workflows whose
    steps came before assertions replay as they ran."""
    authority = current_authority()
    if authority is None:
        raise refuse_state("actor_assertion_missing", "the step came without the API's actor assertion for the person it names",
                           field=field)
    return authority


def iso(moment: Any) -> str:
    """A datetime as ISO 8601 text for ledger data (the ledger stores no datetime objects)."""
    return moment.isoformat()


def markdown_deadline(moment: Any) -> str:
    return moment.strftime("%Y-%m-%d %H:%M %Z").strip()
