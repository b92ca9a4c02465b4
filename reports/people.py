"""Who took a step, as the report names them: a responder's display name where the ledger recorded
one, the user id otherwise, "noticeflow" for the worker. Consumers are never named (the ledger
holds no consumer name; this module only reads staff ids and names)."""

from __future__ import annotations

from typing import Any

from models.obligation import ObligationKind

#: The obligation kinds, in the order the report lists an event's obligations.
KIND_ORDER: tuple[str, ...] = tuple(k.value for k in ObligationKind)

KIND_WORDS: dict[str, str] = {
    "commissioner_notice": "commissioner notice",
    "consumer_notice": "consumer notice",
    "producer_notice": "producer notice",
    "ceding_insurer_notice": "ceding insurer notice",
    "attorney_general_notice": "attorney general notice",
}


class People:
    """Staff display names learnt from the entries read so far (objects with ``responder_id`` and
    ``name``, as a responder assignment records them)."""

    def __init__(self) -> None:
        self.names: dict[str, str] = {}

    def learn(self, data: Any, depth: int = 0) -> None:
        if depth > 4:
            return
        if isinstance(data, dict):
            rid, name = data.get("responder_id"), data.get("name")
            if isinstance(rid, str) and isinstance(name, str) and name.strip():
                self.names[rid] = name.strip()
            for value in data.values():
                if isinstance(value, (dict, list)):
                    self.learn(value, depth + 1)
        elif isinstance(data, list):
            for value in data[:50]:
                self.learn(value, depth + 1)

    def user(self, user_id: str) -> str:
        return self.names.get(user_id, user_id)

    def actor(self, actor: str | None) -> str:
        """``user:c.hale`` (a signed-in user) or ``key:c.hale`` (their API key) → the recorded name or
        ``c.hale``; ``worker`` → ``noticeflow``."""
        if not actor:
            return "someone not recorded"
        if actor == "worker":
            return "noticeflow"
        kind, _, rest = actor.partition(":")
        if kind in ("user", "key") and rest:
            return self.user(rest)
        return actor


def obligation_label(obligation_id: str | None) -> str:
    """``INC-7:consumer_notice:TN:consumers:TN`` → ``TN consumer notice``; the id itself when it is
    not shaped like one."""
    if not obligation_id:
        return "an obligation"
    for kind in KIND_ORDER:
        marker = f":{kind}:"
        if marker in obligation_id:
            state = obligation_id.split(marker, 1)[1].split(":", 1)[0]
            return f"{state} {KIND_WORDS[kind]}"
    return obligation_id


def kind_of(entry_type: str) -> str | None:
    """The obligation kind an entry type belongs to (``consumer_notice.met`` → ``consumer_notice``)."""
    prefix = entry_type.split(".", 1)[0]
    return prefix if prefix in KIND_WORDS else None
