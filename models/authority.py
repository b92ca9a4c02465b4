"""Whose authority a workflow step is taken under: the actor assertion it arrived with.

The API attaches a signed actor assertion (``ledger/actor_assertions.py``) to every start and
update it sends; the worker's interceptor (``workflows/interceptors.py``) puts it, with the time
the workflow accepted the step, in :func:`current_authority` while the step's handler runs. A step
the event workflow hands to an obligation's workflow (a waiver, a completion, an acknowledgement)
carries it in ``forwarded_under`` (``workflows/common.py`` ``forwarded``), and the obligation
records the step under it. ``workflows/common.py`` attaches it to the ledger steps recorded in a
person's name, and the ledger activity checks it.

This module holds only the context variable: the workflow sandbox passes ``models`` through, so
the interceptor (outside the sandbox) and the workflow code (inside) see the same variable.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

#: The actor of the steps a workflow takes by itself (timers, deliveries, sweeps): no person.
SYSTEM_ACTOR = "worker"
#: The Temporal header that carries the assertion on starts, updates and forwarded signals.
ASSERTION_HEADER = "noticeflow-actor-assertion"


class StepAuthority(BaseModel):
    """The actor assertion a step was taken under, and when the workflow accepted the step."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    token: str = Field(min_length=1, max_length=4000)
    accepted_at: datetime


_CURRENT: ContextVar[StepAuthority | None] = ContextVar("noticeflow_step_authority", default=None)


def current_authority() -> StepAuthority | None:
    return _CURRENT.get()


@contextmanager
def acting(authority: StepAuthority | None) -> Iterator[None]:
    """Take the steps recorded inside under ``authority`` (e.g. one captured by a signal handler)."""
    token = _CURRENT.set(authority)
    try:
        yield
    finally:
        _CURRENT.reset(token)
