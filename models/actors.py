"""Who a ledger entry names as its actor, from the person a step's payload names.

Since issue 11 the API passes its caller's full actor in the step (``key:c.hale`` for an API key,
``user:dana`` for a single sign-on user), and the entry names exactly that. Histories recorded
before carry a bare user name (``c.hale``), which reads ``user:c.hale`` as it always did — so a
workflow replaying an old history records what it recorded then.
"""

from __future__ import annotations

from models.authority import SYSTEM_ACTOR


def ledger_actor(who: str) -> str:
    """``key:c.hale`` / ``user:dana`` as they are; a bare name ``c.hale`` → ``user:c.hale``."""
    return who if ":" in who else f"user:{who}"


def step_actor(who: str) -> str:
    """As :func:`ledger_actor`, except that ``worker`` stays the worker: the privacy and
    revised-notice steps that the scheduled sweeps themselves take name no person."""
    return who if who == SYSTEM_ACTOR else ledger_actor(who)
