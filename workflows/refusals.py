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

from typing import Any

from temporalio.exceptions import ApplicationError

INVALID = "invalid"
CONFLICT = "conflict"


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
