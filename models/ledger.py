"""Audit-ledger records: what a step appends, the signed entry it becomes, the signed tree head.

The field names and their order are the ledger format of ``docs/ledger-format.md``; an
examiner's independent verifier depends on them, so they never change meaning.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializationInfo,
    field_validator,
    model_serializer,
    model_validator,
)

#: ``prev_hash`` of entry 1.
GENESIS_PREV_HASH = "0" * 64

#: Largest integer every JSON implementation represents exactly (RFC 8785 §3.2.2.3, I-JSON).
MAX_SAFE_INTEGER = 2**53 - 1

_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_STEP = re.compile(r"^[\x21-\x7e]{1,400}$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:/@+-]{0,199}$")


def check_json_value(value: Any, path: str = "data") -> None:
    """Reject values that have no single canonical JSON form.

    Ledger data holds digests, counts, identifiers and words — never floats, whose canonical
    serialisation differs between languages' number formatters. Money goes in integer cents.
    Raises ``ValueError`` naming the offending path.
    """
    if value is None or isinstance(value, (bool, str)):
        return
    if isinstance(value, int):
        if abs(value) > MAX_SAFE_INTEGER:
            raise ValueError(f"{path}: integer {value} exceeds 2^53-1; store it as a string")
        return
    if isinstance(value, float):
        raise ValueError(
            f"{path}: floating-point numbers are not allowed in ledger data; "
            "use an integer (e.g. cents) or a string"
        )
    if isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            check_json_value(item, f"{path}[{i}]")
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValueError(f"{path}: object keys must be strings, got {key!r}")
            check_json_value(item, f"{path}.{key}")
        return
    raise ValueError(f"{path}: {type(value).__name__} is not a JSON value")


class EntryDraft(BaseModel):
    """One step to record: everything but the fields the ledger assigns (seq, ts, chain, sig)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    stream: str = Field(description="What the entry belongs to, e.g. `incident:INC-7`.")
    type: str = Field(description="What happened, e.g. `commissioner_notice.sent`.")
    step: str = Field(description="Idempotency key; unique across the ledger.")
    workflow_id: str | None = None
    run_id: str | None = None
    jurisdiction: str | None = None
    citation: str | None = None
    actor: str = Field(description="Who or what took the step, e.g. `worker` or `user:jdoe`.")
    data: dict[str, Any] = Field(default_factory=dict)

    @field_validator("stream", "type", "actor")
    @classmethod
    def _name(cls, v: str, info: Any) -> str:
        if not _NAME.match(v):
            raise ValueError(
                f"{info.field_name} must be 1–200 characters of letters, digits and _.:/@+- "
                f"starting with a letter or digit, got {v!r}"
            )
        return v

    @field_validator("step")
    @classmethod
    def _step(cls, v: str) -> str:
        if not _STEP.match(v):
            raise ValueError("step must be 1–400 printable ASCII characters without spaces")
        return v

    @field_validator("jurisdiction")
    @classmethod
    def _jurisdiction(cls, v: str | None) -> str | None:
        if v is not None and not re.match(r"^[A-Z][A-Za-z0-9-]{1,19}$", v):
            raise ValueError(f"jurisdiction must be a code such as TN or US-TN, got {v!r}")
        return v

    @field_validator("data")
    @classmethod
    def _data(cls, v: dict[str, Any]) -> dict[str, Any]:
        check_json_value(v)
        return v

    def content(self) -> dict[str, Any]:
        """The fields that make two appends under one step the same step (see ``Ledger.append``)."""
        return {
            "stream": self.stream,
            "type": self.type,
            "workflow_id": self.workflow_id,
            "jurisdiction": self.jurisdiction,
            "citation": self.citation,
            "actor": self.actor,
            "data": self.data,
        }


#: The fields format 2 adds to an entry (docs/ledger-format.md §2); absent from format 1 entries.
STREAM_CHAIN_FIELDS = ("v", "stream_seq", "stream_prev_hash")


class LedgerEntry(BaseModel):
    """A recorded, chained and signed step. Field order is the format's order.

    Format 1 entries (``v`` absent) have none of ``v``, ``stream_seq``, ``stream_prev_hash``
    and serialise without them, exactly as they were recorded — their hash covers 13 fields.
    Format 2 entries (``v`` = 2) have all three.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    v: Literal[2] | None = Field(None, description="Entry format version: absent for format 1, 2 for format 2.")
    seq: int
    ts: str
    stream: str
    type: str
    step: str
    workflow_id: str | None
    run_id: str | None
    jurisdiction: str | None
    citation: str | None
    actor: str
    data: dict[str, Any]
    prev_hash: str
    stream_seq: int | None = Field(None, ge=1, description="Format 2: position in the stream, 1, 2, …")
    stream_prev_hash: str | None = Field(None, description="Format 2: hash of the stream's previous entry.")
    key_id: str
    hash: str
    sig: str

    @field_validator("prev_hash", "hash", "stream_prev_hash")
    @classmethod
    def _hex(cls, v: str | None) -> str | None:
        if v is not None and not _HEX64.match(v):
            raise ValueError("must be 64 lowercase hex characters")
        return v

    @model_validator(mode="after")
    def _format_fields(self) -> LedgerEntry:
        chain = (self.stream_seq, self.stream_prev_hash)
        if self.v == 2 and None in chain:
            raise ValueError("a format 2 entry (v = 2) has stream_seq and stream_prev_hash")
        if self.v is None and chain != (None, None):
            raise ValueError("a format 1 entry (no v) has no stream_seq or stream_prev_hash")
        return self

    @model_serializer(mode="wrap")
    def _serialise(self, handler: Any, info: SerializationInfo) -> dict[str, Any]:
        # A format 1 entry is written exactly as recorded: without the format 2 fields.
        body: dict[str, Any] = handler(self)
        if self.v is None:
            for name in STREAM_CHAIN_FIELDS:
                body.pop(name, None)
        return body

    def content(self) -> dict[str, Any]:
        return {
            "stream": self.stream,
            "type": self.type,
            "workflow_id": self.workflow_id,
            "jurisdiction": self.jurisdiction,
            "citation": self.citation,
            "actor": self.actor,
            "data": self.data,
        }


class TreeHead(BaseModel):
    """A signed statement of the ledger's size and Merkle root (RFC 9162 §2.1) at a time."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    tree_size: int
    root_hash: str
    timestamp: str
    key_id: str
    sig: str


class StreamHead(BaseModel):
    """A signed statement of one stream within the ledger's first ``tree_size`` entries: how many
    entries it has (``stream_size``) and the hash of the last (``last_hash``), pinned to the
    ledger's Merkle root at that size (docs/ledger-format.md §13.1). ``sig`` signs the RFC 8785 JSON
    of the head without ``sig``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    stream: str
    stream_size: int
    last_hash: str
    tree_size: int
    root_hash: str
    timestamp: str
    key_id: str
    sig: str


class LedgerStep(BaseModel):
    """What a workflow asks the ledger activity to record for one of its steps.

    ``step`` is relative to the workflow: the ledger's idempotency key is
    ``<workflow_id>/<step>``, so an activity retried, or replayed after a worker crash, records
    the step once.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    stream: str
    type: str
    step: str
    jurisdiction: str | None = None
    citation: str | None = None
    actor: str = "worker"
    data: dict[str, Any] = Field(default_factory=dict)
    #: A step in a person's name: the API's signed actor assertion for that person
    #: (``ledger/actor_assertions.py``) and when the workflow accepted the step. Not recorded in
    #: the entry; the ledger activity checks them before it records the step.
    assertion: str | None = None
    accepted_at: datetime | None = None

    @field_validator("data")
    @classmethod
    def _data(cls, v: dict[str, Any]) -> dict[str, Any]:
        check_json_value(v)
        return v


class RecordedStep(BaseModel):
    """The ledger's receipt for a recorded step."""

    model_config = ConfigDict(frozen=True)

    seq: int
    hash: str
    step: str
