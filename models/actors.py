"""Who a ledger entry names as its actor, from the person a step's payload names.

Since issue 11 the API passes its caller's full actor in the step (``key:c.hale`` for an API key,
``user:dana`` for a single sign-on user), and the entry names exactly that. Histories recorded
before carry a bare user name (``c.hale``), which reads ``user:c.hale`` as it always did — so a
workflow replaying an old history records what it recorded then.
"""

from __future__ import annotations


def ledger_actor(who: str) -> str:
    """``key:c.hale`` / ``user:dana`` as they are; a bare name ``c.hale`` → ``user:c.hale``."""
    return who if ":" in who else f"user:{who}"
