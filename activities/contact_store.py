"""The contact store: consumers' contact data sealed at rest under data keys that can be destroyed.

Both lifecycles keep contact data — names, e-mail and postal addresses, and whatever else
identifies a consumer — only through here: the cyber roster (``activities/roster.py``) and the
privacy store (``activities/privacy_store.py``). Nothing is written in plaintext, not even for a
moment: a value is sealed in memory before its first INSERT, so no plaintext reaches a table, the
PostgreSQL WAL or its dead tuples, or SQLite's pages, free list or WAL.

Keys
----
* **Key-encryption key (KEK)** — AES-256, from ``NOTICEFLOW_CONTACT_KEK`` (base64, newest first,
  comma-separated) or a file (``NOTICEFLOW_CONTACT_KEK_FILE``; default ``home/contact-kek.key``,
  created 0600 on first use — the dev stack's and the tests'). A ring: the first key wraps, every
  key unwraps. A KEK is named by ``kek-`` + 16 hex digits of a domain-separated SHA-256 of it.
* **Data key** — 32 random bytes per *scope*, the unit that is destroyed at once: ``incident:<id>``
  for a cybersecurity event's rosters (the event's records are kept, then destroyed, as one —
  its retention runs from its closure), ``consumer:<consumer_ref>`` for a privacy consumer (contact
  data is held per consumer there — one person, whatever joint relationships they share — so a
  person's data can be destroyed without touching anyone else's). Kept only wrapped by the KEK, in
  ``contact_data_keys`` with the KEK's id; each sealed row names its data key's id.

Sealed value: ``base64(nonce (12) || AES-256-GCM(plaintext, aad))``, aad =
``noticeflow/contact/v1|<data key id>|<binding>`` where the binding names the row and the field
(e.g. ``notice_roster_contacts|<incident>|<roster_id>|<consumer_ref>|contact``): a sealed value
moved to another row, roster, incident or consumer fails authentication. A wrapped data key binds
``noticeflow/contact-data-key/v1|<kek id>|<data key id>|<scope>`` the same way.

Destroying a data key (``destroy``, crypto-shredding) nulls its wrapped copy in one UPDATE; from
then on every contact sealed under it is unreadable everywhere — :class:`DataKeyDestroyedError`
names the date and the citation — while the sealed rows, counts and the ledger stay. On SQLite
the update runs with ``secure_delete`` and the WAL is checkpointed and truncated afterwards; on
PostgreSQL the table is vacuumed. Copies of the wrapped key that outlive that (PostgreSQL WAL
segments, backups) are ciphertext under the KEK of the day: retire that KEK after rotating
(``rewrap``) to make them useless too (docs/operations.md).

The formats here (v1) are also what migration 0007 writes: never change them — add a v2.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import json
import os
import stat
import threading
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import structlog
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import Engine, Index, func, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlmodel import Field, SQLModel

from activities import db
from activities.files import write_atomically
from config.settings import Settings

log = structlog.get_logger("noticeflow.contact_store")

KEY_BYTES = 32
NONCE_BYTES = 12
KEK_FILE_NAME = "contact-kek.key"
SEAL_PURPOSE = b"noticeflow/contact/v1"
WRAP_PURPOSE = b"noticeflow/contact-data-key/v1"
_KEK_ID_PREFIX = b"noticeflow contact kek id v1\x00"
#: Unwrapped data keys kept in memory per process (the wrapped copy is read on every use anyway).
CACHE_SIZE = 4096
#: Scopes per ``IN (…)`` look-up.
LOOKUP_CHUNK = 500


class ContactStoreError(ValueError):
    """Contact data cannot be sealed or opened as asked; the message says why."""


class ContactKeyError(ContactStoreError):
    """The key-encryption key is missing, malformed, or not the one a data key was wrapped under."""


class ContactSealError(ContactStoreError):
    """A sealed value failed authentication: altered, or moved to another row."""


class DataKeyDestroyedError(ContactStoreError):
    """The data key was destroyed (its retention ended): what it sealed cannot be opened again."""

    def __init__(self, key_id: str, scope: str, destroyed_at: str, citation: str | None, reason: str | None) -> None:
        self.key_id, self.scope, self.destroyed_at, self.citation, self.reason = key_id, scope, destroyed_at, citation, reason
        super().__init__(
            f"the contact data of {scope} cannot be opened: its data key {key_id} was destroyed on "
            f"{destroyed_at[:10]} under {citation or 'no recorded citation'}" + (f" ({reason})" if reason else "")
        )


# =============================================================================================
# The key-encryption key
# =============================================================================================


def kek_id_for(key: bytes) -> str:
    """Stable, non-secret name of a KEK."""
    return "kek-" + hashlib.sha256(_KEK_ID_PREFIX + key).hexdigest()[:16]


@dataclass(frozen=True)
class KekRing:
    """KEKs in order of preference: ``keys[0]`` wraps new data keys, every one unwraps."""

    keys: tuple[bytes, ...]

    def __post_init__(self) -> None:
        if not self.keys:
            raise ContactKeyError("the contact key-encryption keyring is empty: at least one key is needed")
        for key in self.keys:
            if len(key) != KEY_BYTES:
                raise ContactKeyError(f"a contact key-encryption key is {KEY_BYTES} bytes (AES-256), got {len(key)}")

    @classmethod
    def parse(cls, text_: str, source: str) -> KekRing:
        """Base64 keys separated by commas or new lines, newest first; ``#`` starts a comment line."""
        items = [
            part.strip()
            for line in text_.splitlines()
            if line.strip() and not line.strip().startswith("#")
            for part in line.split(",")
            if part.strip()
        ]
        if not items:
            raise ContactKeyError(f"{source}: no contact key-encryption key found")
        keys = []
        for item in items:
            try:
                key = base64.b64decode(item, validate=True)
            except (binascii.Error, ValueError):
                raise ContactKeyError(f"{source}: a contact key-encryption key is not valid base64") from None
            if len(key) != KEY_BYTES:
                raise ContactKeyError(f"{source}: a contact key-encryption key is {KEY_BYTES} bytes (AES-256), got {len(key)}")
            keys.append(key)
        return cls(tuple(keys))

    @cached_property
    def current_id(self) -> str:
        return kek_id_for(self.keys[0])

    @cached_property
    def ids(self) -> tuple[str, ...]:
        return tuple(kek_id_for(k) for k in self.keys)

    def key(self, kek_id: str) -> bytes:
        for k, k_id in zip(self.keys, self.ids, strict=True):
            if k_id == kek_id:
                return k
        raise ContactKeyError(
            f"a data key is wrapped under key-encryption key {kek_id}, which is not configured "
            f"(configured: {', '.join(self.ids)}); add it after the current one in NOTICEFLOW_CONTACT_KEK or the KEK file"
        )

    def serialize(self) -> str:
        return "".join(base64.b64encode(k).decode("ascii") + "\n" for k in self.keys)


def kek_file(settings: Settings) -> Path:
    return settings.contact_kek_file if settings.contact_kek_file is not None else settings.home / KEK_FILE_NAME


def load_kek_ring(settings: Settings) -> KekRing:
    """The KEK ring from ``NOTICEFLOW_CONTACT_KEK``, else from the KEK file. Only the default file
    (``home/contact-kek.key``) is created when missing; a named file must exist."""
    if settings.contact_kek and settings.contact_kek_file is not None:
        raise ContactKeyError("set NOTICEFLOW_CONTACT_KEK or NOTICEFLOW_CONTACT_KEK_FILE, not both")
    if settings.contact_kek:
        return KekRing.parse(settings.contact_kek, "NOTICEFLOW_CONTACT_KEK")
    path = kek_file(settings)
    if not path.exists():
        if settings.contact_kek_file is not None:
            raise ContactKeyError(f"NOTICEFLOW_CONTACT_KEK_FILE: {path} does not exist")
        # Worker, API and CLI may start together: the first file linked into place wins.
        ring = KekRing((os.urandom(KEY_BYTES),))
        if write_atomically(path, ring.serialize().encode("ascii"), mode=0o600, replace=False):
            log.info("contact_kek_created", path=str(path), kek_id=ring.current_id)
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        log.warning("contact_kek_file_permissions", path=str(path), mode=oct(mode), expected="0o600")
    return KekRing.parse(path.read_text(encoding="ascii"), str(path))


def rotate_kek_file(settings: Settings) -> KekRing:
    """Put a new KEK first in the KEK file, keeping the earlier ones for unwrapping."""
    if settings.contact_kek:
        raise ContactKeyError(
            "NOTICEFLOW_CONTACT_KEK is set: put a new key (base64 of 32 random bytes) first in it yourself, then run rewrap"
        )
    old = load_kek_ring(settings)
    ring = KekRing((os.urandom(KEY_BYTES), *old.keys))
    write_atomically(kek_file(settings), ring.serialize().encode("ascii"), mode=0o600, replace=True)
    return ring


# =============================================================================================
# The v1 formats (also written by migration 0007)
# =============================================================================================


def data_key_id(scope: str, serial: int) -> str:
    """The id of a scope's ``serial``-th data key: the same in every process, so two creating the
    first key of a scope at once insert the same row and one of them wins."""
    return f"dk-{hashlib.sha256(scope.encode('utf-8')).hexdigest()[:20]}-{serial}"


def _wrap_aad(kek_id: str, key_id: str, scope: str) -> bytes:
    return WRAP_PURPOSE + f"|{kek_id}|{key_id}|{scope}".encode()


def wrap_data_key(kek: bytes, key_id: str, scope: str, data_key: bytes, *, kek_id: str | None = None) -> str:
    nonce = os.urandom(NONCE_BYTES)
    aad = _wrap_aad(kek_id or kek_id_for(kek), key_id, scope)
    return base64.b64encode(nonce + AESGCM(kek).encrypt(nonce, data_key, aad)).decode("ascii")


def unwrap_data_key(kek: bytes, key_id: str, scope: str, wrapped: str) -> bytes:
    try:
        raw = base64.b64decode(wrapped, validate=True)
        return AESGCM(kek).decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], _wrap_aad(kek_id_for(kek), key_id, scope))
    except (InvalidTag, binascii.Error, ValueError):
        raise ContactKeyError(f"data key {key_id} failed authentication: altered, or moved to another scope") from None


def _seal_aad(key_id: str, binding: str) -> bytes:
    return SEAL_PURPOSE + f"|{key_id}|{binding}".encode()


def seal_value(data_key: bytes, key_id: str, binding: str, plaintext: bytes) -> str:
    nonce = os.urandom(NONCE_BYTES)
    return base64.b64encode(nonce + AESGCM(data_key).encrypt(nonce, plaintext, _seal_aad(key_id, binding))).decode("ascii")


def contact_json(fields: dict[str, Any]) -> bytes:
    """The plaintext of a sealed contact: compact JSON of its identifying fields."""
    return json.dumps(fields, separators=(",", ":"), ensure_ascii=False, sort_keys=True).encode("utf-8")


# =============================================================================================
# The data keys
# =============================================================================================


class DataKeyRow(SQLModel, table=True):
    __tablename__ = "contact_data_keys"
    __table_args__ = (Index("ix_contact_data_keys_scope", "scope", "serial"),)

    key_id: str = Field(primary_key=True)
    scope: str = Field(description="What the key seals: incident:<id> or consumer:<consumer_ref>.")
    serial: int
    kek_id: str = Field(description="The key-encryption key it is (or was) wrapped under.")
    wrapped: str | None = Field(default=None, description="The data key wrapped by the KEK; NULL once destroyed.")
    created_at: str
    destroyed_at: str | None = None
    destroyed_under: str | None = Field(default=None, description="The citation of the retention rule it was destroyed under.")
    destroyed_reason: str | None = None


_KEYS = DataKeyRow.__table__
TABLES = (_KEYS,)


@dataclass(frozen=True)
class DataKey:
    """An unwrapped data key, good for sealing and opening what its scope holds."""

    key_id: str
    scope: str
    aes: AESGCM
    created: bool = False  # created by the call that returned it

    def seal(self, binding: str, plaintext: bytes) -> str:
        nonce = os.urandom(NONCE_BYTES)
        return base64.b64encode(nonce + self.aes.encrypt(nonce, plaintext, _seal_aad(self.key_id, binding))).decode("ascii")

    def open(self, binding: str, sealed: str) -> bytes:
        try:
            raw = base64.b64decode(sealed, validate=True)
            return self.aes.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], _seal_aad(self.key_id, binding))
        except (InvalidTag, binascii.Error, ValueError):
            raise ContactSealError(
                f"sealed contact data under {self.key_id} failed authentication: it was altered or moved to another row"
            ) from None


@dataclass(frozen=True)
class DataKeyInfo:
    """What may be said of a data key: never its material."""

    key_id: str
    scope: str
    kek_id: str
    created_at: str
    destroyed_at: str | None
    destroyed_under: str | None
    destroyed_reason: str | None

    @property
    def destroyed(self) -> bool:
        return self.destroyed_at is not None


def _info(row: Any) -> DataKeyInfo:
    return DataKeyInfo(row.key_id, row.scope, row.kek_id, row.created_at, row.destroyed_at, row.destroyed_under, row.destroyed_reason)


def _destroyed(row: Any) -> DataKeyDestroyedError:
    return DataKeyDestroyedError(row.key_id, row.scope, row.destroyed_at, row.destroyed_under, row.destroyed_reason)


def _insert_ignore(conn: Connection) -> Any:
    module: Any = postgresql if conn.dialect.name == "postgresql" else sqlite
    return module.insert(_KEYS).on_conflict_do_nothing()


def _chunks(items: Sequence[Any], size: int = LOOKUP_CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class ContactStore:
    """Data keys and sealing for contact data. Blocking: call from a worker thread in activities.

    ``renew_destroyed``: scope prefixes whose destroyed key may be followed by a new one (a
    privacy consumer who comes back); an incident whose contact data was destroyed never gets
    contact data again."""

    def __init__(self, engine: Engine, kek: KekRing, *, renew_destroyed: tuple[str, ...] = ("consumer:",)) -> None:
        self.engine = engine
        self.kek = kek
        self.renew_destroyed = renew_destroyed
        self._cache: OrderedDict[tuple[str, str], AESGCM] = OrderedDict()
        self._cache_lock = threading.Lock()
        db.ensure_tables(engine, TABLES)

    @classmethod
    def for_settings(cls, engine: Engine, settings: Settings) -> ContactStore:
        return cls(engine, load_kek_ring(settings))

    # -- keys for sealing -----------------------------------------------------------------------

    def data_key(self, scope: str) -> DataKey:
        """The live data key of ``scope``, created on first use."""
        return self.data_keys([scope])[scope]

    def data_keys(self, scopes: Sequence[str]) -> dict[str, DataKey]:
        """The live data key of each scope, creating those that have none (one transaction per
        chunk). A scope whose key was destroyed gets a new one only if ``renew_destroyed`` allows."""
        found: dict[str, DataKey] = {}
        now = dt.datetime.now(dt.UTC).isoformat()
        for part in _chunks(sorted(set(scopes))):
            with db.write(self.engine) as conn:
                latest = self._latest(conn, part)
                new: list[dict[str, Any]] = []
                material: dict[str, tuple[str, bytes]] = {}  # key id → (wrapped, key) of the keys made here
                for scope in part:
                    row = latest.get(scope)
                    if row is not None and row.destroyed_at is None:
                        continue
                    if row is not None and not scope.startswith(self.renew_destroyed):
                        raise _destroyed(row)
                    serial = row.serial + 1 if row is not None else 1
                    key_id = data_key_id(scope, serial)
                    key = os.urandom(KEY_BYTES)
                    wrapped = wrap_data_key(self.kek.keys[0], key_id, scope, key, kek_id=self.kek.current_id)
                    material[key_id] = (wrapped, key)
                    new.append({"key_id": key_id, "scope": scope, "serial": serial, "kek_id": self.kek.current_id,
                                "wrapped": wrapped, "created_at": now})
                if new:
                    # One statement, many rows (compiled once); of two processes creating the same
                    # key, the first insert wins and both read it back.
                    conn.execute(_insert_ignore(conn), new)
                    latest = self._latest(conn, part)
                for scope in part:
                    row = latest[scope]
                    mine = material.get(row.key_id)
                    if mine is not None and mine[0] == row.wrapped:
                        aes = AESGCM(mine[1])
                        self._remember(row, aes)
                        found[scope] = DataKey(row.key_id, scope, aes, created=True)
                    else:
                        found[scope] = DataKey(row.key_id, scope, self._aes(row))
        return found

    @staticmethod
    def _latest(conn: Connection, scopes: Sequence[str]) -> dict[str, Any]:
        rows = conn.execute(select(_KEYS).where(_KEYS.c.scope.in_(list(scopes)))).all()
        latest: dict[str, Any] = {}
        for row in rows:
            if row.scope not in latest or row.serial > latest[row.scope].serial:
                latest[row.scope] = row
        return latest

    def pin(self, conn: Connection, key_ids: Iterable[str]) -> None:
        """In a transaction that writes rows sealed under ``key_ids``: check they are live, and
        (PostgreSQL) hold them so that no destruction or discard commits under the rows."""
        ids = sorted(set(key_ids))
        for part in _chunks(ids):
            query = select(_KEYS.c.key_id, _KEYS.c.scope, _KEYS.c.destroyed_at, _KEYS.c.destroyed_under,
                           _KEYS.c.destroyed_reason).where(_KEYS.c.key_id.in_(list(part)))
            if conn.dialect.name == "postgresql":
                query = query.with_for_update(read=True)
            rows = {r.key_id: r for r in conn.execute(query)}
            for key_id in part:
                row = rows.get(key_id)
                if row is None:
                    raise ContactStoreError(f"data key {key_id} is gone (a refused upload discarded it): store the contacts again")
                if row.destroyed_at is not None:
                    raise _destroyed(row)

    def discard_unused(self, key_id: str, users: Sequence[Any]) -> bool:
        """Delete a data key that the call which created it never used (a refused upload): only if
        no row of any column in ``users`` names it. True when deleted."""
        with db.write(self.engine) as conn:
            query = select(_KEYS.c.key_id).where(_KEYS.c.key_id == key_id)
            if conn.dialect.name == "postgresql":
                query = query.with_for_update()
            if conn.execute(query).first() is None:
                return False
            for column in users:
                if conn.execute(select(column).where(column == key_id).limit(1)).first() is not None:
                    return False
            conn.execute(_KEYS.delete().where(_KEYS.c.key_id == key_id))
        return True

    # -- keys for opening -------------------------------------------------------------------------

    def keys_for(self, key_ids: Iterable[str]) -> dict[str, DataKey]:
        """The data keys named by sealed rows, read from the table on every call (so a key another
        process destroyed is never used from this one's cache). Raises
        :class:`DataKeyDestroyedError` for a destroyed key."""
        ids = sorted(set(key_ids))
        found: dict[str, DataKey] = {}
        with db.read(self.engine) as conn:
            for part in _chunks(ids):
                for row in conn.execute(select(_KEYS).where(_KEYS.c.key_id.in_(list(part)))):
                    if row.destroyed_at is not None or row.wrapped is None:
                        raise _destroyed(row)
                    found[row.key_id] = DataKey(row.key_id, row.scope, self._aes(row))
        missing = [k for k in ids if k not in found]
        if missing:
            raise ContactStoreError(f"data key {missing[0]} is not in contact_data_keys: the store was altered")
        return found

    def _aes(self, row: Any) -> AESGCM:
        cache_key = (row.key_id, row.wrapped)
        with self._cache_lock:
            aes = self._cache.get(cache_key)
            if aes is not None:
                self._cache.move_to_end(cache_key)
                return aes
        aes = AESGCM(unwrap_data_key(self.kek.key(row.kek_id), row.key_id, row.scope, row.wrapped))
        self._remember(row, aes)
        return aes

    def _remember(self, row: Any, aes: AESGCM) -> None:
        with self._cache_lock:
            self._cache[(row.key_id, row.wrapped)] = aes
            while len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)

    # -- what may be said of the keys ---------------------------------------------------------------

    def key_info(self, scope: str) -> list[DataKeyInfo]:
        with db.read(self.engine) as conn:
            rows = conn.execute(select(_KEYS).where(_KEYS.c.scope == scope).order_by(_KEYS.c.serial)).all()
        return [_info(r) for r in rows]

    def live_scopes(self, prefix: str, *, after: str | None = None, limit: int = 1000) -> list[DataKeyInfo]:
        """Live data keys whose scope starts with ``prefix``, by scope after ``after`` (keyset paging)."""
        where = [_KEYS.c.scope.startswith(prefix, autoescape=True), _KEYS.c.destroyed_at.is_(None)]
        if after is not None:
            where.append(_KEYS.c.scope > after)
        with db.read(self.engine) as conn:
            rows = conn.execute(select(_KEYS).where(*where).order_by(_KEYS.c.scope, _KEYS.c.serial).limit(limit)).all()
        return [_info(r) for r in rows]

    # -- destruction and rotation -----------------------------------------------------------------

    def destroy(self, scope: str, *, at: dt.datetime, citation: str, reason: str) -> list[DataKeyInfo]:
        """Destroy every live data key of ``scope`` (crypto-shredding); returns what was destroyed."""
        with self._scrubbing() as conn:
            live = conn.execute(select(_KEYS).where(_KEYS.c.scope == scope, _KEYS.c.destroyed_at.is_(None))).all()
            if not live:
                return []
            conn.execute(
                update(_KEYS)
                .where(_KEYS.c.key_id.in_([r.key_id for r in live]), _KEYS.c.destroyed_at.is_(None))
                .values(wrapped=None, destroyed_at=at.isoformat(), destroyed_under=citation, destroyed_reason=reason)
            )
            rows = conn.execute(select(_KEYS).where(_KEYS.c.key_id.in_([r.key_id for r in live]))).all()
        with self._cache_lock:
            for cache_key in [k for k in self._cache if k[0] in {r.key_id for r in live}]:
                del self._cache[cache_key]
        self._flush(_KEYS.name)
        log.info("contact_data_keys_destroyed", scope=scope, key_ids=[r.key_id for r in rows], citation=citation)
        return [_info(r) for r in rows]

    def rewrap(self) -> int:
        """Wrap every live data key under the current KEK; how many were rewrapped. After it, a
        KEK that is no longer current may be removed from the ring — and with it, every copy of a
        destroyed data key that a backup or an old WAL segment still holds becomes useless."""
        changed = 0
        after = ""
        while True:
            with self._scrubbing() as conn:
                rows = conn.execute(
                    select(_KEYS)
                    .where(_KEYS.c.key_id > after, _KEYS.c.destroyed_at.is_(None), _KEYS.c.kek_id != self.kek.current_id)
                    .order_by(_KEYS.c.key_id)
                    .limit(LOOKUP_CHUNK)
                ).all()
                for row in rows:
                    material = unwrap_data_key(self.kek.key(row.kek_id), row.key_id, row.scope, row.wrapped)
                    conn.execute(
                        update(_KEYS)
                        .where(_KEYS.c.key_id == row.key_id)
                        .values(kek_id=self.kek.current_id, wrapped=wrap_data_key(self.kek.keys[0], row.key_id, row.scope, material))
                    )
            changed += len(rows)
            if len(rows) < LOOKUP_CHUNK:
                break
            after = rows[-1].key_id
        self._flush(_KEYS.name)
        return changed

    def kek_ids_in_use(self) -> dict[str, int]:
        """Live data keys per KEK id: a KEK with none may be removed from the ring."""
        with db.read(self.engine) as conn:
            rows = conn.execute(
                select(_KEYS.c.kek_id, func.count()).where(_KEYS.c.destroyed_at.is_(None)).group_by(_KEYS.c.kek_id)
            ).all()
        return {r[0]: int(r[1]) for r in rows}

    @contextmanager
    def _scrubbing(self) -> Iterator[Connection]:
        """A write transaction whose overwritten and deleted content SQLite zeroes (``secure_delete``)."""
        sqlite = self.engine.dialect.name == "sqlite"
        with db.write(self.engine) as conn:
            if sqlite:
                conn.exec_driver_sql("PRAGMA secure_delete = ON")
            yield conn
            if sqlite:
                conn.exec_driver_sql("PRAGMA secure_delete = OFF")

    def _flush(self, table: str) -> None:
        """Push out the old copies an UPDATE left behind: SQLite — checkpoint the WAL into the main
        file and truncate it; PostgreSQL — vacuum the table's dead tuples. Best effort (a busy
        database is checkpointed or vacuumed again by its own routine)."""
        try:
            if self.engine.dialect.name == "sqlite":
                # Outside any transaction (the raw connection autocommits): a checkpoint cannot pass a
                # snapshot its own connection holds.
                raw = self.engine.raw_connection()
                try:
                    cursor = raw.cursor()
                    cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                    cursor.fetchall()
                    cursor.close()
                finally:
                    raw.close()
            elif self.engine.dialect.name == "postgresql":
                with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                    conn.execute(text(f"VACUUM {table}"))
        except Exception as exc:  # noqa: BLE001 — the keys are destroyed; this only tidies copies
            log.warning("contact_store_flush_failed", table=table, error=type(exc).__name__)


__all__ = [
    "ContactKeyError",
    "ContactSealError",
    "ContactStore",
    "ContactStoreError",
    "DataKey",
    "DataKeyDestroyedError",
    "DataKeyInfo",
    "DataKeyRow",
    "KekRing",
    "contact_json",
    "data_key_id",
    "kek_file",
    "kek_id_for",
    "load_kek_ring",
    "rotate_kek_file",
    "seal_value",
    "wrap_data_key",
]
