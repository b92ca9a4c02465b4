"""Ledger storage: one global, append-only, hash-chained sequence in SQLite or PostgreSQL.

Appends serialise on the single ``ledger_tip`` row — ``BEGIN IMMEDIATE`` on SQLite, ``SELECT …
FOR UPDATE`` on PostgreSQL — so several processes appending at once never fork the chain or skip
a seq. The tip also carries the newest ``ts`` so timestamps never run backwards along the chain.
Appends are idempotent on ``step``: the same step again returns the first entry and writes
nothing; the same step with different content raises ``StepConflictError``.

Every entry appended is format 2 (docs/ledger-format.md §2): besides the global chain it links to
the previous entry of its own stream (``stream_seq``, ``stream_prev_hash``). The per-stream tips
live in ``ledger_stream_tips``, updated in the same transaction as the entries, under the same
lock. Entries recorded before format 2 stay format 1 and are read back exactly as recorded.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, Index, bindparam, create_engine, event, func, insert, select, text, update
from sqlalchemy.engine import Connection
from sqlmodel import Field, SQLModel

from ledger import migrate
from ledger.canonical import canonical_json
from ledger.chain import CURRENT_VERSION, V1_FIELDS, V2_FIELDS, entry_hash
from ledger.errors import LedgerError, StepConflictError
from ledger.keys import Signer, utc_now
from ledger.merkle import CompactRange, leaf_hash
from ledger.npi import guard_data
import structlog
from models.ledger import GENESIS_PREV_HASH, EntryDraft, LedgerEntry, StreamHead, TreeHead

#: Batches larger than this sign their entries on a thread pool (Ed25519 signing releases the GIL).
PARALLEL_SIGN_THRESHOLD = 256
#: Entries per signing job handed to the pool.
SIGN_CHUNK = 128
#: Rows per query when reading the ledger in order (keyset pagination: bounded memory).
READ_CHUNK = 5000
#: Steps per ``IN (…)`` look-up when checking a batch for already-recorded steps.
STEP_LOOKUP_CHUNK = 500


class LedgerEntryRow(SQLModel, table=True):
    __tablename__ = "ledger_entries"
    # Format 2 entries: one per stream position (format 1 rows have NULL and never collide).
    __table_args__ = (Index("ux_ledger_entries_stream_seq", "stream", "stream_seq", unique=True),)

    seq: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    ts: str
    stream: str = Field(index=True)
    type: str
    step: str = Field(unique=True)
    workflow_id: str | None = Field(default=None, index=True)
    run_id: str | None = None
    jurisdiction: str | None = Field(default=None, index=True)
    citation: str | None = None
    actor: str
    data: str  # the RFC 8785 JSON of the entry's data object
    prev_hash: str
    key_id: str
    hash: str
    sig: str
    v: int = Field(default=1, sa_column_kwargs={"server_default": text("1")})  # entry format version
    stream_seq: int | None = None  # format 2 only
    stream_prev_hash: str | None = None  # format 2 only


class LedgerStreamTipRow(SQLModel, table=True):
    """Per stream: how many entries it has, the hash and seq of its last (format 1 included)."""

    __tablename__ = "ledger_stream_tips"

    stream: str = Field(primary_key=True)
    size: int
    last_hash: str
    last_seq: int


class LedgerTipRow(SQLModel, table=True):
    __tablename__ = "ledger_tip"

    id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    size: int
    last_hash: str
    last_ts: str


class TreeHeadRow(SQLModel, table=True):
    __tablename__ = "ledger_tree_heads"

    id: int | None = Field(default=None, primary_key=True)
    tree_size: int = Field(index=True)
    root_hash: str
    timestamp: str
    key_id: str
    sig: str


_ENTRIES = LedgerEntryRow.__table__
_TIP = LedgerTipRow.__table__
_HEADS = TreeHeadRow.__table__
_STREAM_TIPS = LedgerStreamTipRow.__table__

# The per-stream tip statements of every append, built once (appends are the hot path).
_TIP_COLUMNS = (_STREAM_TIPS.c.stream, _STREAM_TIPS.c.size, _STREAM_TIPS.c.last_hash, _STREAM_TIPS.c.last_seq)
_SELECT_STREAM_TIP = select(*_TIP_COLUMNS).where(_STREAM_TIPS.c.stream == bindparam("stream"))
_SELECT_STREAM_TIPS = select(*_TIP_COLUMNS).where(_STREAM_TIPS.c.stream.in_(bindparam("streams", expanding=True)))
_UPDATE_STREAM_TIP = (
    update(_STREAM_TIPS)
    .where(_STREAM_TIPS.c.stream == bindparam("b_stream"))
    .values(size=bindparam("b_size"), last_hash=bindparam("b_hash"), last_seq=bindparam("b_seq"))
)
_INSERT_STREAM_TIP = insert(_STREAM_TIPS).values(
    stream=bindparam("b_stream"), size=bindparam("b_size"), last_hash=bindparam("b_hash"), last_seq=bindparam("b_seq")
)

_sign_pool: ThreadPoolExecutor | None = None
log = structlog.get_logger("noticeflow.ledger")


def _pool() -> ThreadPoolExecutor:
    global _sign_pool
    if _sign_pool is None:
        _sign_pool = ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2))
    return _sign_pool


def create_ledger_engine(url: str, *, sqlite_synchronous: str = "FULL") -> Engine:
    """An engine for ``url`` with the ledger's connection discipline.

    SQLite: WAL journal, a long busy timeout, and transactions that begin ``IMMEDIATE`` when the
    connection asks for it (appends), so two writers queue instead of failing mid-transaction.
    """
    if url.startswith("sqlite"):
        path = url.split("///", 1)[1] if "///" in url else ""
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 120, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _connect(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None  # transactions are begun explicitly below
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=120000")
            cursor.execute(f"PRAGMA synchronous={sqlite_synchronous}")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _begin(connection: Connection) -> None:
            mode = connection.get_execution_options().get("sqlite_begin", "DEFERRED")
            connection.exec_driver_sql(f"BEGIN {mode}")

        return engine
    return create_engine(url, pool_pre_ping=True)


@dataclass(frozen=True)
class EntryFilter:
    """Which entries an export or a listing covers; every condition must hold."""

    stream: str | None = None
    jurisdiction: str | None = None
    since: str | None = None  # inclusive, RFC 3339 UTC
    until: str | None = None  # exclusive, RFC 3339 UTC
    max_seq: int | None = None  # inclusive; pins a listing to a signed tree head's size

    @property
    def is_everything(self) -> bool:
        return not (self.stream or self.jurisdiction or self.since or self.until)

    def to_json(self) -> dict[str, str | None]:
        return {"stream": self.stream, "jurisdiction": self.jurisdiction, "since": self.since, "until": self.until}


def _row_to_dict(row: Any) -> dict[str, Any]:
    """A stored row as its entry: format 1 rows without ``v``/``stream_seq``/``stream_prev_hash``
    (exactly as recorded, so their hash recomputes), any other with the format 2 fields."""
    entry = dict(row._mapping)
    entry["data"] = json.loads(entry["data"])
    return {name: entry[name] for name in (V1_FIELDS if entry["v"] == 1 else V2_FIELDS)}


class Ledger:
    """The audit ledger over one database. Thread-safe; share one per process."""

    def __init__(self, engine: Engine, signer: Signer | None = None) -> None:
        self.engine = engine
        self.signer = signer
        self._is_sqlite = engine.dialect.name == "sqlite"
        self._ensure_schema()

    @classmethod
    def open(cls, url: str, signer: Signer | None = None, **engine_kwargs: Any) -> Ledger:
        return cls(create_ledger_engine(url, **engine_kwargs), signer)

    def close(self) -> None:
        self.engine.dispose()

    # -- schema ---------------------------------------------------------------------------

    def _ensure_schema(self) -> None:
        # Tables come from the migrations (ledger/migrations), never from create_all here.
        migrate.ensure_schema(self.engine)
        with self._write() as conn:
            if not self._is_sqlite:
                # Two processes inserting the first tip row at once: one waits, then finds it.
                conn.execute(text("SELECT pg_advisory_xact_lock(727274001)"))
            if conn.execute(select(_TIP.c.id).where(_TIP.c.id == 1)).first() is None:
                conn.execute(
                    insert(_TIP).values(id=1, size=0, last_hash=GENESIS_PREV_HASH, last_ts="")
                )

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            if self._is_sqlite:
                conn = conn.execution_options(sqlite_begin="IMMEDIATE")
            with conn.begin():
                yield conn

    # -- appending ------------------------------------------------------------------------

    def append(self, draft: EntryDraft) -> LedgerEntry:
        """Record one step; returns its entry (the first one, if the step was recorded before)."""
        return self.append_many([draft])[0]

    def append_many(self, drafts: Sequence[EntryDraft]) -> list[LedgerEntry]:
        """Record many steps in one transaction, in order; all or nothing.

        Returns one entry per draft, in the drafts' order: the new entry, or the earlier entry
        for a step already recorded with the same content.
        """
        if self.signer is None:
            raise LedgerError("this ledger was opened without a signing key; it cannot append")
        if not drafts:
            return []
        batch: dict[str, EntryDraft] = {}
        for i, draft in enumerate(drafts):
            guard_data(draft.data, f"entries[{i}].data" if len(drafts) > 1 else "data")
            seen = batch.get(draft.step)
            if seen is not None and seen.content() != draft.content():
                raise StepConflictError(draft.step, -1, _differences(seen.content(), draft.content()))
            batch[draft.step] = draft

        signer = self.signer
        with self._write() as conn:
            tip_query = select(_TIP).where(_TIP.c.id == 1)
            if not self._is_sqlite:
                tip_query = tip_query.with_for_update()
            tip = conn.execute(tip_query).one()
            existing = self._existing(conn, list(batch))
            for step, row in existing.items():
                draft = batch[step]
                if row.content() != draft.content():
                    raise StepConflictError(step, row.seq, _differences(row.content(), draft.content()))

            # The tips of the streams this batch extends (a batch may touch several, each often).
            touched = {d.stream for step, d in batch.items() if step not in existing}
            stored_tips = self._stream_tips(conn, touched)
            self._check_new_streams(conn, touched - set(stored_tips))
            stream_tips: dict[str, tuple[int, str, int]] = dict(stored_tips)

            now = utc_now()
            ts = now if now > tip.last_ts else tip.last_ts
            seq, prev_hash = tip.size, tip.last_hash
            new_rows: list[dict[str, Any]] = []
            # Hashing is sequential (each entry names the one before); signing is not, so large
            # batches hand each finished chunk to the signing pool while the next is hashed.
            parallel = len(batch) - len(existing) >= PARALLEL_SIGN_THRESHOLD
            pending: list[Any] = []
            chunk_start = 0
            for step, draft in batch.items():
                if step in existing:
                    continue
                seq += 1
                stream_size, stream_prev_hash, _ = stream_tips.get(draft.stream, (0, GENESIS_PREV_HASH, 0))
                body = {
                    "v": CURRENT_VERSION,
                    "seq": seq,
                    "ts": ts,
                    "stream": draft.stream,
                    "type": draft.type,
                    "step": step,
                    "workflow_id": draft.workflow_id,
                    "run_id": draft.run_id,
                    "jurisdiction": draft.jurisdiction,
                    "citation": draft.citation,
                    "actor": draft.actor,
                    "data": draft.data,
                    "prev_hash": prev_hash,
                    "stream_seq": stream_size + 1,
                    "stream_prev_hash": stream_prev_hash,
                    "key_id": signer.key_id,
                }
                body["hash"] = prev_hash = entry_hash(body)
                stream_tips[draft.stream] = (stream_size + 1, prev_hash, seq)
                new_rows.append(body)
                if parallel and len(new_rows) - chunk_start == SIGN_CHUNK:
                    pending.append(_pool().submit(_sign_rows, signer, new_rows[chunk_start:]))
                    chunk_start = len(new_rows)
            if parallel:
                _sign_rows(signer, new_rows[chunk_start:])
                for future in pending:
                    future.result()
            else:
                _sign_rows(signer, new_rows)

            if new_rows:
                conn.execute(
                    insert(_ENTRIES),
                    [
                        {**row, "data": canonical_json(row["data"], floats_checked=True).decode("utf-8")}
                        for row in new_rows
                    ],
                )
                conn.execute(
                    update(_TIP).where(_TIP.c.id == 1).values(size=seq, last_hash=prev_hash, last_ts=ts)
                )
                self._store_stream_tips(conn, stored_tips, stream_tips)

        if new_rows:
            # Steps and seqs only: data stays in the ledger, never in logs.
            log.info(
                "ledger.appended",
                first_seq=new_rows[0]["seq"],
                last_seq=new_rows[-1]["seq"],
                count=len(new_rows),
                already_recorded=len(existing),
                types=sorted({row["type"] for row in new_rows}),
            )
        created = {row["step"]: LedgerEntry.model_validate(row) for row in new_rows}
        return [created.get(d.step) or existing[d.step] for d in drafts]

    def _stream_tips(self, conn: Connection, streams: set[str]) -> dict[str, tuple[int, str, int]]:
        """``stream → (size, last_hash, last_seq)`` for those of ``streams`` that have entries."""
        names = sorted(streams)
        if len(names) == 1:  # a single append: the common case, kept to one cheap statement
            rows = conn.execute(_SELECT_STREAM_TIP, {"stream": names[0]}).all()
        else:
            rows = []
            for i in range(0, len(names), STEP_LOOKUP_CHUNK):
                rows += conn.execute(_SELECT_STREAM_TIPS, {"streams": names[i : i + STEP_LOOKUP_CHUNK]}).all()
        return {stream: (size, last_hash, last_seq) for stream, size, last_hash, last_seq in rows}

    @staticmethod
    def _check_new_streams(conn: Connection, streams: set[str]) -> None:
        """A stream without a tip must have no entry: else its next entry would claim stream
        position 1 and sign a broken stream chain (a tips table not filled by migration 0005)."""
        names = sorted(streams)
        for i in range(0, len(names), STEP_LOOKUP_CHUNK):
            found = conn.execute(
                select(_ENTRIES.c.stream).where(_ENTRIES.c.stream.in_(names[i : i + STEP_LOOKUP_CHUNK])).limit(1)
            ).first()
            if found is not None:
                raise LedgerError(
                    f"stream {found.stream!r} has entries but no row in ledger_stream_tips; refusing to append "
                    "an entry whose stream position would be wrong — the tips table must be rebuilt from the "
                    "entries (as migration 0005 does) before appending"
                )

    @staticmethod
    def _store_stream_tips(
        conn: Connection, before: dict[str, tuple[int, str, int]], after: dict[str, tuple[int, str, int]]
    ) -> None:
        """One write per stream the batch touched: an update of a known tip, an insert of a new one."""
        updates, inserts = [], []
        for stream, (size, last_hash, last_seq) in after.items():
            if before.get(stream) != (size, last_hash, last_seq):
                row = {"b_stream": stream, "b_size": size, "b_hash": last_hash, "b_seq": last_seq}
                (updates if stream in before else inserts).append(row)
        if updates:
            conn.execute(_UPDATE_STREAM_TIP, updates)
        if inserts:
            conn.execute(_INSERT_STREAM_TIP, inserts)

    def _existing(self, conn: Connection, steps: list[str]) -> dict[str, LedgerEntry]:
        found: dict[str, LedgerEntry] = {}
        for i in range(0, len(steps), STEP_LOOKUP_CHUNK):
            chunk = steps[i : i + STEP_LOOKUP_CHUNK]
            for row in conn.execute(select(_ENTRIES).where(_ENTRIES.c.step.in_(chunk))):
                found[row.step] = LedgerEntry.model_validate(_row_to_dict(row))
        return found

    # -- reading --------------------------------------------------------------------------

    def size(self) -> int:
        with self.engine.connect() as conn:
            return conn.execute(select(_TIP.c.size).where(_TIP.c.id == 1)).scalar_one()

    def get(self, seq: int) -> LedgerEntry | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(_ENTRIES).where(_ENTRIES.c.seq == seq)).first()
        return LedgerEntry.model_validate(_row_to_dict(row)) if row else None

    def get_by_step(self, step: str) -> LedgerEntry | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(_ENTRIES).where(_ENTRIES.c.step == step)).first()
        return LedgerEntry.model_validate(_row_to_dict(row)) if row else None

    def iter_raw(
        self, where: EntryFilter | None = None, *, after: int = 0, chunk: int = READ_CHUNK
    ) -> Iterator[dict[str, Any]]:
        """Entries as plain dicts in ``seq`` order, from the first with seq > ``after``, read in
        chunks (bounded memory)."""
        while True:
            query = select(_ENTRIES).where(_ENTRIES.c.seq > after)
            if where is not None:
                if where.stream:
                    query = query.where(_ENTRIES.c.stream == where.stream)
                if where.jurisdiction:
                    query = query.where(_ENTRIES.c.jurisdiction == where.jurisdiction)
                if where.since:
                    query = query.where(_ENTRIES.c.ts >= where.since)
                if where.until:
                    query = query.where(_ENTRIES.c.ts < where.until)
                if where.max_seq is not None:
                    query = query.where(_ENTRIES.c.seq <= where.max_seq)
            query = query.order_by(_ENTRIES.c.seq).limit(chunk)
            with self.engine.connect() as conn:
                rows = [_row_to_dict(r) for r in conn.execute(query)]
            if not rows:
                return
            yield from rows
            after = rows[-1]["seq"]

    def entries(self, where: EntryFilter | None = None) -> Iterator[LedgerEntry]:
        for raw in self.iter_raw(where):
            yield LedgerEntry.model_validate(raw)

    def leaf_hashes(self, *, chunk: int = 50_000) -> Iterator[bytes]:
        """RFC 9162 leaf hashes of every entry in ``seq`` order (leaf data = the raw entry hash)."""
        after = 0
        while True:
            with self.engine.connect() as conn:
                rows = conn.execute(
                    select(_ENTRIES.c.seq, _ENTRIES.c.hash)
                    .where(_ENTRIES.c.seq > after)
                    .order_by(_ENTRIES.c.seq)
                    .limit(chunk)
                ).all()
            if not rows:
                return
            for _, h in rows:
                yield leaf_hash(bytes.fromhex(h))
            after = rows[-1][0]

    # -- tree heads -----------------------------------------------------------------------

    def root_at(self, size: int | None = None) -> tuple[int, bytes]:
        """``(tree_size, root)`` over the first ``size`` entries (all when None)."""
        target = self.size() if size is None else size
        compact = CompactRange()
        for lh in self.leaf_hashes():
            if compact.size == target:
                break
            compact.append_leaf_hash(lh)
        if compact.size != target:
            raise LedgerError(f"the ledger holds {compact.size} entries, fewer than {target}")
        return target, compact.root()

    def sign_tree_head(self, *, store: bool = True) -> TreeHead:
        """Sign the current size and root; kept in ``ledger_tree_heads`` so that a later
        truncation or rewrite is detected against it."""
        if self.signer is None:
            raise LedgerError("this ledger was opened without a signing key; it cannot sign a tree head")
        size, root = self.root_at()
        head = sign_head(self.signer, size, root, utc_now())
        if store:
            with self._write() as conn:
                conn.execute(insert(_HEADS).values(**head.model_dump()))
        return head

    def stored_heads(self) -> list[TreeHead]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(_HEADS).order_by(_HEADS.c.id)).all()
        return [
            TreeHead(tree_size=r.tree_size, root_hash=r.root_hash, timestamp=r.timestamp, key_id=r.key_id, sig=r.sig)
            for r in rows
        ]

    def stored_head_sizes(self) -> list[tuple[int, str]]:
        """The distinct ``(tree_size, root_hash)`` of every stored signed head, ascending."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(_HEADS.c.tree_size, _HEADS.c.root_hash)
                .distinct()
                .order_by(_HEADS.c.tree_size, _HEADS.c.root_hash)
            ).all()
        return [(size, root) for size, root in rows]

    def consistency_proof(self, old_size: int, new_size: int) -> list[bytes]:
        """RFC 9162 §2.1.4.1 ``PROOF(old_size, D[new_size])`` over the ledger's first ``new_size``
        entries, in one pass over their leaves and O(log n) memory (``[]`` when the sizes are equal).

        Raises ``LedgerError`` unless ``0 < old_size <= new_size <= size()``."""
        if not 0 < old_size <= new_size:
            raise LedgerError(
                f"a consistency proof needs 0 < old_size <= new_size, got old_size={old_size}, new_size={new_size}"
            )
        size = self.size()
        if new_size > size:
            raise LedgerError(f"the ledger holds {size} entries, fewer than {new_size}")
        ranges = consistency_ranges(old_size, new_size)
        # The proof's nodes are the roots of disjoint leaf ranges: feed each leaf to its range.
        order = sorted(range(len(ranges)), key=lambda i: ranges[i][0])
        compacts = [CompactRange() for _ in ranges]
        position = 0
        for index, lh in enumerate(self.leaf_hashes()):
            while position < len(order) and ranges[order[position]][1] <= index:
                position += 1
            if position == len(order):
                break
            if ranges[order[position]][0] <= index:
                compacts[order[position]].append_leaf_hash(lh)
        return [compact.root() for compact in compacts]

    # -- streams --------------------------------------------------------------------------

    def stream_tip(self, stream: str, max_seq: int) -> tuple[int, str, int] | None:
        """``(size, last_hash, last_seq)`` of ``stream`` within the ledger's first ``max_seq``
        entries — counted in ``ledger_entries``, so it answers for any earlier size — or None
        when the stream has no entry there."""
        with self.engine.connect() as conn, conn.begin():
            count, last_seq = conn.execute(
                select(func.count(), func.max(_ENTRIES.c.seq)).where(
                    _ENTRIES.c.stream == stream, _ENTRIES.c.seq <= max_seq
                )
            ).one()
            if not count:
                return None
            last_hash = conn.execute(select(_ENTRIES.c.hash).where(_ENTRIES.c.seq == last_seq)).scalar_one()
        return count, last_hash, last_seq

    def sign_stream_head(self, stream: str, head: TreeHead) -> StreamHead:
        """Sign how many entries ``stream`` has, and its last entry's hash, within the first
        ``head.tree_size`` entries, pinned to ``head``'s size and root (docs/ledger-format.md §13.1).

        ``head`` is the signed head the caller pins an export to (its root is not recomputed).
        Raises ``LedgerError`` when there is no signing key, when ``head`` covers more entries than
        the ledger holds, or when the stream has no entry within it."""
        if self.signer is None:
            raise LedgerError("this ledger was opened without a signing key; it cannot sign a stream head")
        size = self.size()
        if head.tree_size > size:
            raise LedgerError(f"the tree head covers {head.tree_size} entries but the ledger holds {size}")
        tip = self.stream_tip(stream, head.tree_size)
        if tip is None:
            raise LedgerError(f"stream {stream!r} has no entry within the ledger's first {head.tree_size} entries")
        stream_size, last_hash, _ = tip
        body = {
            "stream": stream,
            "stream_size": stream_size,
            "last_hash": last_hash,
            "tree_size": head.tree_size,
            "root_hash": head.root_hash,
            "timestamp": utc_now(),
            "key_id": self.signer.key_id,
        }
        return StreamHead(**body, sig=self.signer.sign(canonical_json(body)))


def head_message(head: TreeHead | dict[str, Any]) -> bytes:
    """The bytes a tree head's ``sig`` signs: RFC 8785 JSON of the head without ``sig``."""
    body = head.model_dump() if isinstance(head, TreeHead) else dict(head)
    body.pop("sig", None)
    return canonical_json(body)


def stream_head_message(head: StreamHead | dict[str, Any]) -> bytes:
    """The bytes a stream head's ``sig`` signs: RFC 8785 JSON of the head without ``sig``."""
    body = head.model_dump() if isinstance(head, StreamHead) else dict(head)
    body.pop("sig", None)
    return canonical_json(body)


def consistency_ranges(old_size: int, new_size: int) -> list[tuple[int, int]]:
    """The leaf ranges ``[lo, hi)`` whose Merkle tree hashes make up ``PROOF(old_size,
    D[new_size])`` (RFC 9162 §2.1.4.1), in proof order. They are disjoint."""
    ranges: list[tuple[int, int]] = []
    lo, hi = 0, new_size
    whole_old_tree = True  # SUBPROOF's flag b: the current sub-tree starts at leaf 0
    while hi != old_size:
        mid = lo + (1 << ((hi - lo - 1).bit_length() - 1))  # largest power of two < hi - lo
        if old_size <= mid:
            ranges.append((mid, hi))
            hi = mid
        else:
            ranges.append((lo, mid))
            lo = mid
            whole_old_tree = False
    if not whole_old_tree:
        ranges.append((lo, hi))
    ranges.reverse()
    return ranges


def sign_head(signer: Signer, size: int, root: bytes, timestamp: str) -> TreeHead:
    body = {"tree_size": size, "root_hash": root.hex(), "timestamp": timestamp, "key_id": signer.key_id}
    return TreeHead(**body, sig=signer.sign(canonical_json(body)))


def _sign_rows(signer: Signer, rows: list[dict[str, Any]]) -> None:
    for row in rows:
        row["sig"] = signer.sign(bytes.fromhex(row["hash"]))


def _differences(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    return [name for name in old if old[name] != new[name]]
