"""Calling ``rules/`` from workflow code.

The rules are deterministic by construction — no clock, no randomness, no network; a test in
``tests/rules`` enforces it — but they read static data files while they work: the IANA time
zone database (``zoneinfo``) and the state holiday calendars with their name translations
(``holidays`` via ``gettext``). The sandbox cannot tell a read of package data from I/O that
could change between replays, so rules calls run with its checks lifted, here and only here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ParamSpec, TypeVar

from temporalio import workflow

P = ParamSpec("P")
R = TypeVar("R")


def call_rules(fn: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
    with workflow.unsafe.sandbox_unrestricted():
        return fn(*args, **kwargs)
