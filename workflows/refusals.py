"""Typed refusals: how a workflow says no to a step.

A validator (or a handler, before it changes anything) raises ``refuse_input`` when the request
itself is wrong — a field's value breaks a rule — and ``refuse_state`` when the request is well
formed but the lifecycle does not allow it now. Either is a non-retryable ``ApplicationError``
whose ``type`` is the rule id and whose one detail is a dict::

    {"rule_id": "...", "category": "invalid" | "conflict", "field": "finding.summary" | None,
     "citation": "Tenn. Code Ann. § 56-2-1006(c)" | None}

The API answers ``invalid`` with 422 naming the field, ``conflict`` with 409; tests assert the
type, never a substring of the message.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from rules.npi import npi_problem

from workflows.rules_call import call_rules

INVALID = "invalid"
CONFLICT = "conflict"
#: No statute names the ledger; the product's own rule is that NPI never enters it (SPEC § 5).
NPI_RULE = "npi_in_free_text"


def _refusal(rule_id: str, message: str, category: str, field: str | None, citation: str | None) -> ApplicationError:
    details = {"rule_id": rule_id, "category": category, "field": field, "citation": citation}
    return ApplicationError(message, details, type=rule_id, non_retryable=True)


def refuse_input(rule_id: str, field: str, message: str, *, citation: str | None = None) -> ApplicationError:
    """The request's ``field`` holds a value the rule refuses (HTTP 422)."""
    return _refusal(rule_id, message, INVALID, field, citation)


def refuse_state(rule_id: str, message: str, *, citation: str | None = None, field: str | None = None) -> ApplicationError:
    """The lifecycle does not allow this step now (HTTP 409)."""
    return _refusal(rule_id, message, CONFLICT, field, citation)


def refusal_details(err: BaseException) -> dict[str, Any] | None:
    """The refusal detail of an ``ApplicationError`` raised by ``refuse_*``, else ``None``."""
    if not isinstance(err, ApplicationError) or not err.details:
        return None
    first = err.details[0]
    if isinstance(first, dict) and "rule_id" in first and "category" in first:
        return first
    return None


def guard_free_text(fields: Iterable[tuple[str, str | None]]) -> None:
    """Refuse the step when any free text it would ledger or send (a reason, a summary, an id)
    looks like NPI: an SSN in any common spelling, a card number, an e-mail address, a phone
    number, a date of birth next to a name (``rules/npi.py``)."""
    for field, text in fields:
        if not text:
            continue
        problem = call_rules(npi_problem, field, text)
        if problem:
            raise refuse_input(NPI_RULE, field, problem)


def actor_refused(err: BaseException) -> bool:
    """The ledger refused a step because no valid actor assertion vouched for the person it names
    (``activities/ledger.py``): nothing was recorded."""
    cause = err.cause if isinstance(err, ActivityError) else None
    return isinstance(cause, ApplicationError) and (cause.type or "").startswith("actor_assertion_")


def ledger_refusal(err: ActivityError, conflict: ApplicationError | None = None) -> ApplicationError:
    """The ledger refused the step's entry (its NPI guard, or a step key already recorded with
    other content), or could not be written: nothing was recorded and nothing changed, so the step
    is refused, typed. ``conflict`` is the refusal a step-key conflict means for this step, if any."""
    cause = err.cause
    if isinstance(cause, ApplicationError) and refusal_details(cause) is not None:
        return cause  # already typed: e.g. an actor assertion the ledger did not accept
    kind = cause.type if isinstance(cause, ApplicationError) else None
    detail = cause.message if isinstance(cause, ApplicationError) else str(cause or err)
    if kind == "StepConflictError" and conflict is not None:
        return conflict
    if kind == "NPIError":
        return refuse_state("ledger_refused_npi", f"the ledger refused the entry ({detail}); nothing was recorded or changed")
    if kind == "StepConflictError":
        return refuse_state("ledger_step_conflict", f"the ledger already holds this step with other content ({detail}); nothing changed")
    return refuse_state("ledger_write_failed", f"the ledger entry could not be written ({detail}); nothing changed")
