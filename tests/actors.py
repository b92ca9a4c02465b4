"""Actor assertions for tests that drive workflows straight through Temporal, as the API would.

The API signs each start and step for its authenticated caller (``api/actor_signing.py``). A test
that sends steps itself stands in for the API: its client signs for the person the step names
(``recorded_by``, ``approved_by``, …), with the test server's clock, so the worker's ledger check
runs in every workflow test exactly as in production.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from api.actor_signing import SigningInterceptor, signing_client
from config.settings import Settings
from ledger.actor_assertions import load_signer
from models.actors import ledger_actor
from models.authority import SYSTEM_ACTOR

#: The fields in which a step names the person taking it.
ACTOR_FIELDS = (
    "recorded_by", "decided_by", "approved_by", "waived_by", "completed_by", "closed_by", "assigned_by",
    "attached_by", "opened_by", "started_by", "received_by", "asked_by", "reviewer",
)
#: Steps whose one argument is the person's name.
NAME_ONLY_STEPS = {"approve", "notify_before_disclosure", "retry_notices"}


def _named(value: Any, depth: int = 0) -> str | None:
    if isinstance(value, BaseModel) and depth < 4:
        for name in ACTOR_FIELDS:
            who = getattr(value, name, None)
            if isinstance(who, str) and who:
                return who
        for name in type(value).model_fields:
            found = _named(getattr(value, name), depth + 1)
            if found:
                return found
    if isinstance(value, list | tuple) and depth < 4:
        for item in value[:1]:
            found = _named(item, depth + 1)
            if found:
                return found
    return None


def actor_in_step(name: str, args: Sequence[Any]) -> str | None:
    """The ledger actor the step names, as the workflow will record it (None: no person)."""
    if name in NAME_ONLY_STEPS and args and isinstance(args[0], str):
        who: str | None = args[0]
    else:
        who = next((found for arg in args if (found := _named(arg))), None)
    if not who or who == SYSTEM_ACTOR:
        return None
    return ledger_actor(who)


def signing_test_client(env: WorkflowEnvironment, settings: Settings, client: Client | None = None) -> Client:
    """``client`` (default the environment's) signing each step for the person it names."""
    signer = load_signer(settings.resolved_actor_assertion_key_file(), settings.actor_assertion_ttl_seconds)
    return signing_client(client or env.client, SigningInterceptor(signer, actor_of=actor_in_step, clock=env.get_current_time))
