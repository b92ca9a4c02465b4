"""Effective-dated rules: an event is judged by the law in force on its trigger date.

Every row of the jurisdiction tables (``rules.jurisdictions``, ``rules.breach_laws``) carries the
date its text took effect (``effective_from``; ``None``: in force for every event noticeflow
handles, i.e. before any date it is asked about). A state whose law changed keeps one row per
version; :func:`in_force` picks the one in force on a date. The trigger date is the local date, in
the state's zone, of the determination (or of discovery while none is recorded) —
``rules.obligation_draft.Context.law_date``.

Pure: no I/O, no wall clock.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Protocol, TypeVar


class EffectiveDated(Protocol):
    @property
    def effective_from(self) -> dt.date | None: ...


R = TypeVar("R", bound=EffectiveDated)


def in_force(versions: Iterable[R], on: dt.date) -> R | None:
    """The version in force on ``on``: the latest whose ``effective_from`` is on or before it
    (``None`` counts as the earliest). ``None`` when every version took effect later."""
    best: R | None = None
    for version in versions:
        start = version.effective_from
        if start is not None and start > on:
            continue
        if best is None or (best.effective_from or dt.date.min) <= (start or dt.date.min):
            best = version
    return best
