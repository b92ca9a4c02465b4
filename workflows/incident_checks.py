"""What the event workflow checks before it accepts a step: pure reads of the workflow's state that
raise a typed refusal (``workflows/refusals.py``).

Each check runs twice: in the update's validator (so a refused step never reaches the history as
accepted) and again in the handler once it holds the workflow's lock, because another step may
have changed the state in between (update handlers interleave at every ``await``).
"""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from pydantic import ValidationError

    from models.incident import IncidentIntake
    from models.lifecycle import ObligationState, Stage
    from models.steps import Responder, Responders

from workflows.common import iso
from workflows.refusals import guard_free_text, refuse_input, refuse_state  # noqa: F401 — re-exported

def require_active(stage: Stage, closing: bool, what: str) -> None:
    if stage in (Stage.CLOSED, Stage.NOT_AN_EVENT) or closing:
        raise refuse_state(
            "event_not_active",
            f"cannot {what}: the event is {'closing' if closing and stage is not Stage.CLOSED else stage.value}",
        )


def require_obligation(obligations: dict[str, ObligationState], obligation_id: str, field: str) -> ObligationState:
    state = obligations.get(obligation_id)
    if state is None:
        raise refuse_input("unknown_obligation", field, f"{field}: no obligation {obligation_id!r} in this event")
    return state


def intake_summary(intake: IncidentIntake) -> dict:
    """The intake as the ledger records it: facts and counts, no NPI."""
    return {
        "licensee": {"name": intake.licensee.name, "naic_code": intake.licensee.naic_code, "kind": intake.licensee.kind.value},
        "source": intake.source.value,
        "discovered_at": iso(intake.discovered_at),
        "tpsp_notified_at": iso(intake.tpsp_notified_at) if intake.tpsp_notified_at else None,
        "actual_knowledge_at": iso(intake.actual_knowledge_at) if intake.actual_knowledge_at else None,
        "data_elements": [e.value for e in intake.data_elements],
        "encrypted": intake.encrypted,
        "key_compromised": intake.key_compromised,
        "returned_or_destroyed_unused": intake.returned_or_destroyed_unused,
        "affected_consumers": {row.state: row.consumers for row in intake.affected},
    }


def reasons(exc: Exception) -> str:
    """A validation failure as its messages only: never the input, which may echo the event's facts."""
    if isinstance(exc, ValidationError):
        return "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'event'}: {e['msg']}" for e in exc.errors(include_input=False))
    return str(exc)


def responder_ids(responders: Responders | None) -> dict[str, dict[str, str] | None]:
    """The event's responders as the ledger names them: user id and display name of the owner and
    the backup (staff of the licensee, named so an examiner reads who acted); never their e-mail."""

    def who(person: Responder | None) -> dict[str, str] | None:
        return {"responder_id": person.responder_id, "name": person.name} if person is not None else None

    if responders is None:
        return {"owner": None, "backup": None}
    return {"owner": who(responders.owner), "backup": who(responders.backup)}
