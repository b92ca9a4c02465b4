"""Ledgers as the code before entry format 2 wrote them: format 1 entries (no ``v``, no per-stream
chain) in a database at revision 0004, written row by row exactly as the old ``append_many`` did."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import text

from ledger import migrate
from ledger.canonical import canonical_json
from ledger.chain import V1_FIELDS, entry_hash
from ledger.keys import Signer
from ledger.store import create_ledger_engine
from models.ledger import GENESIS_PREV_HASH, EntryDraft

#: The last revision before the per-stream chain.
FORMAT1_REVISION = "0004"

_INSERT = text(
    f"INSERT INTO ledger_entries ({', '.join(V1_FIELDS)}) VALUES ({', '.join(':' + name for name in V1_FIELDS)})"
)


def format1_entries(signer: Signer, drafts: Sequence[EntryDraft]) -> list[dict[str, Any]]:
    """The format 1 entries the old code recorded for ``drafts`` in an empty ledger, one a minute
    from 2026-03-02T14:00Z (so a time window can fall between any two)."""
    entries, prev_hash = [], GENESIS_PREV_HASH
    for seq, draft in enumerate(drafts, start=1):
        entry: dict[str, Any] = {
            "seq": seq, "ts": f"2026-03-02T{14 + seq // 60:02d}:{seq % 60:02d}:09.120000Z",
            "stream": draft.stream, "type": draft.type, "step": draft.step,
            "workflow_id": draft.workflow_id, "run_id": draft.run_id, "jurisdiction": draft.jurisdiction,
            "citation": draft.citation, "actor": draft.actor, "data": draft.data, "prev_hash": prev_hash,
            "key_id": signer.key_id,
        }
        entry["hash"] = prev_hash = entry_hash(entry)
        entry["sig"] = signer.sign(bytes.fromhex(entry["hash"]))
        entries.append(entry)
    return entries


def write_format1_ledger(url: str, signer: Signer, drafts: Sequence[EntryDraft]) -> list[dict[str, Any]]:
    """A database at revision 0004 holding ``drafts`` as format 1 entries, tip included; the
    entries are returned as recorded. Opening a ``Ledger`` on it afterwards migrates it to head."""
    entries = format1_entries(signer, drafts)
    engine = create_ledger_engine(url)
    try:
        migrate.upgrade(engine, FORMAT1_REVISION)
        with engine.begin() as conn:
            for entry in entries:
                conn.execute(_INSERT, {**entry, "data": canonical_json(entry["data"]).decode("utf-8")})
            last = entries[-1] if entries else None
            conn.execute(
                text("INSERT INTO ledger_tip (id, size, last_hash, last_ts) VALUES (1, :size, :hash, :ts)"),
                {"size": len(entries), "hash": last["hash"] if last else GENESIS_PREV_HASH, "ts": last["ts"] if last else ""},
            )
    finally:
        engine.dispose()
    return entries
