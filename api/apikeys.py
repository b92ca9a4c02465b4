"""Named API keys: who holds one, with which roles, until when — and never the key itself.

A token reads ``nfk_<key id>_<secret>``: the key id (16 hex digits) finds its row, so a request
costs one primary-key lookup, and the row holds only ``HMAC-SHA-256(pepper, token)``. The pepper
is a server-side secret (``NOTICEFLOW_API_KEY_PEPPER``, else ``home/api-key-pepper.key`` created
with mode 0600 on first use), so a copy of the database alone neither yields a token nor lets one
be tested offline; the comparison is constant-time. A key is shown once, when it is created.

A principal's name holds at most one active key at a time (``replace`` revokes the one it has in
the same step, e.g. to rotate it). Revoked and expired keys authenticate nobody (401). Creating
and revoking a key are administrative acts, ledgered on stream ``admin:access`` before the key
table changes (``access.api_key_created``, ``access.api_key_revoked``: the key's id, name, roles
and expiry — never the token or its hash), in the name of whoever did it.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import stat
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import structlog
from pydantic import TypeAdapter, ValidationError
from sqlalchemy import DateTime, Engine, select, update
from sqlmodel import Field, SQLModel

from activities import db
from activities.files import write_atomically
from api.access import Principal, Role
from ledger.store import Ledger
from models.ledger import EntryDraft
from config.settings import Settings

log = structlog.get_logger("noticeflow.api.keys")

TOKEN_PREFIX = "nfk"
_TOKEN = re.compile(r"^nfk_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$")
#: A key's name is the principal's: the ledger's actor reads ``key:<name>``.
KEY_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
PEPPER_FILE_NAME = "api-key-pepper.key"
#: The ledger stream of administrative acts on access.
ACCESS_STREAM = "admin:access"
CREATED = "access.api_key_created"
REVOKED = "access.api_key_revoked"


class ApiKeyRow(SQLModel, table=True):
    """One API key: its id, the principal's name and roles, and the HMAC of its token."""

    __tablename__ = "api_keys"

    key_id: str = Field(primary_key=True, description="16 hex digits; the token's second part.")
    name: str = Field(index=True, description="The principal: the ledger's actor is key:<name>.")
    roles: str = Field(description="The roles, comma-separated, e.g. 'intake,responder'.")
    token_hmac: str = Field(description="HMAC-SHA-256 of the token under the server's pepper (hex).")
    created_at: datetime = Field(sa_type=DateTime(timezone=True))  # type: ignore[call-overload]
    created_by: str = Field(description="The actor who created the key.")
    expires_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))  # type: ignore[call-overload]
    revoked_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))  # type: ignore[call-overload]
    revoked_by: str | None = Field(default=None, description="The actor who revoked the key.")


TABLE = ApiKeyRow.__table__  # type: ignore[attr-defined]
TABLES = (TABLE,)


class ApiKeyError(ValueError):
    """An administrative request that cannot be carried out; the message names the field and why."""

    def __init__(self, message: str, *, field: str = "name") -> None:
        super().__init__(message)
        self.field = field


class KeyConflict(ApiKeyError):
    """The keys are not in a state that allows the act: the name holds an active key already, or
    there is no active key to revoke."""


class KeyRefused(Exception):
    """A token that authenticates nobody; the message says why (an unknown token is not told apart)."""


def _utc(moment: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; every moment stored here is UTC."""
    if moment is None:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


@dataclass(frozen=True)
class ApiKey:
    """An API key as anyone may see it: no token, no hash."""

    key_id: str
    name: str
    roles: frozenset[Role]
    created_at: datetime
    created_by: str
    expires_at: datetime | None = None
    revoked_at: datetime | None = None
    revoked_by: str | None = None

    def status(self, now: datetime) -> str:
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= now:
            return "expired"
        return "active"

    @property
    def principal(self) -> Principal:
        return Principal(name=self.name, kind="key", roles=self.roles)

    def role_names(self) -> list[str]:
        return [r.value for r in Role if r in self.roles]

    def describe(self, now: datetime) -> dict[str, object]:
        """What ``apikey list`` and ``GET /v1/access/api-keys`` show."""
        return {
            "key_id": self.key_id, "name": self.name, "actor": self.principal.actor, "roles": self.role_names(),
            "status": self.status(now), "created_at": self.created_at.isoformat(), "created_by": self.created_by,
            "expires_at": self.expires_at.isoformat() if self.expires_at else None,
            "revoked_at": self.revoked_at.isoformat() if self.revoked_at else None, "revoked_by": self.revoked_by,
        }

    def ledger_data(self) -> dict[str, object]:
        return {
            "key_id": self.key_id, "name": self.name, "roles": self.role_names(),
            "expires_at": self.expires_at.isoformat() if self.expires_at else None,
        }

    @classmethod
    def from_row(cls, row: object) -> ApiKey:
        return cls(
            key_id=row.key_id,  # type: ignore[attr-defined]
            name=row.name,  # type: ignore[attr-defined]
            roles=frozenset(Role(r) for r in row.roles.split(",") if r),  # type: ignore[attr-defined]
            created_at=_utc(row.created_at),  # type: ignore[attr-defined,arg-type]
            created_by=row.created_by,  # type: ignore[attr-defined]
            expires_at=_utc(row.expires_at),  # type: ignore[attr-defined]
            revoked_at=_utc(row.revoked_at),  # type: ignore[attr-defined]
            revoked_by=row.revoked_by,  # type: ignore[attr-defined]
        )


# -- secrets --------------------------------------------------------------------------------------------


def pepper_file(settings: Settings) -> Path:
    return settings.home / PEPPER_FILE_NAME


def load_pepper(settings: Settings) -> bytes:
    """The pepper: ``NOTICEFLOW_API_KEY_PEPPER``, else the home's pepper file (created 0600 on first use)."""
    if settings.api_key_pepper:
        return settings.api_key_pepper.strip().encode("utf-8")
    path = pepper_file(settings)
    # The API and the CLI may start together: the first file linked into place wins.
    if not path.exists() and write_atomically(
        path, (secrets.token_hex(32) + "\n").encode("ascii"), mode=0o600, replace=False
    ):
        log.info("api_key_pepper_created", path=str(path))
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        log.warning("api_key_pepper_file_permissions", path=str(path), mode=oct(mode), expected="0o600")
    pepper = path.read_text(encoding="utf-8").strip()
    if not pepper:
        raise ValueError(f"{path} is empty: restore the API key pepper, or no API key authenticates")
    return pepper.encode("utf-8")


def token_hmac(pepper: bytes, token: str) -> str:
    return hmac.new(pepper, token.encode("utf-8"), hashlib.sha256).hexdigest()


def key_id_of(token: str) -> str | None:
    """The key id of a token shaped like an API key, else None."""
    match = _TOKEN.match(token)
    return match.group(1) if match else None


def looks_like_api_key(token: str) -> bool:
    return token.startswith(TOKEN_PREFIX + "_")


_DURATION = TypeAdapter(timedelta)


def parse_expiry(text: str) -> timedelta:
    """An ISO 8601 duration (``P90D``, ``PT12H``) → timedelta; ApiKeyError when it is not a positive one."""
    try:
        value = _DURATION.validate_python(text.strip())
    except ValidationError:
        raise ApiKeyError(f"--expires {text!r} is not an ISO 8601 duration such as P90D or PT12H", field="expires") from None
    if value <= timedelta(0):
        raise ApiKeyError(f"--expires {text!r} must be a positive duration", field="expires")
    return value


def check_name(name: str) -> str:
    if not KEY_NAME.match(name):
        raise ApiKeyError(
            f"name {name!r}: a key's name is 1–64 letters, digits and . _ - (starting with a letter or digit), "
            "e.g. c.hale or export-bot; the ledger names its steps key:<name>"
        )
    return name


# -- the store ------------------------------------------------------------------------------------------


class ApiKeyStore:
    """The ``api_keys`` table (blocking: call from a worker thread)."""

    def __init__(self, engine: Engine, pepper: bytes) -> None:
        if not pepper:
            raise ValueError("the API key store needs a non-empty pepper")
        self.engine = engine
        self._pepper = pepper
        db.ensure_tables(engine, TABLES)

    def authenticate(self, token: str, now: datetime | None = None) -> ApiKey:
        """The key a token belongs to, if it is active; KeyRefused otherwise."""
        now = now or datetime.now(UTC)
        key_id = key_id_of(token)
        presented = token_hmac(self._pepper, token)
        row = None
        if key_id is not None:
            with db.read(self.engine) as conn:
                row = conn.execute(select(TABLE).where(TABLE.c.key_id == key_id)).first()
        # Compared even without a row, so the time taken does not tell which key ids exist.
        stored = row.token_hmac if row is not None else token_hmac(self._pepper, "nfk_absent")
        if not hmac.compare_digest(presented, stored) or row is None:
            raise KeyRefused("this token is not a valid API key")
        key = ApiKey.from_row(row)
        if key.revoked_at is not None:
            raise KeyRefused(f"API key {key.key_id} ({key.name}) was revoked at {key.revoked_at.isoformat()}")
        if key.expires_at is not None and key.expires_at <= now:
            raise KeyRefused(f"API key {key.key_id} ({key.name}) expired at {key.expires_at.isoformat()}")
        return key

    def all_keys(self) -> list[ApiKey]:
        with db.read(self.engine) as conn:
            rows = conn.execute(select(TABLE).order_by(TABLE.c.created_at, TABLE.c.key_id)).all()
        return [ApiKey.from_row(r) for r in rows]

    def active(self, name_or_id: str, now: datetime) -> list[ApiKey]:
        """The active keys with this id or name."""
        return [k for k in self.all_keys() if name_or_id in (k.key_id, k.name) and k.status(now) == "active"]

    def insert(self, key: ApiKey, token: str, revoke: Sequence[ApiKey] = ()) -> None:
        """Store a new key (and revoke ``revoke``, which it replaces) in one transaction."""
        with db.write(self.engine) as conn:
            self._revoke(conn, revoke, key.created_by, key.created_at)
            conn.execute(
                TABLE.insert().values(
                    key_id=key.key_id, name=key.name, roles=",".join(key.role_names()),
                    token_hmac=token_hmac(self._pepper, token), created_at=key.created_at,
                    created_by=key.created_by, expires_at=key.expires_at,
                )
            )

    def revoke(self, keys: Sequence[ApiKey], by: str, now: datetime) -> None:
        with db.write(self.engine) as conn:
            self._revoke(conn, keys, by, now)

    @staticmethod
    def _revoke(conn: object, keys: Sequence[ApiKey], by: str, now: datetime) -> None:
        for key in keys:
            conn.execute(  # type: ignore[attr-defined]
                update(TABLE).where(TABLE.c.key_id == key.key_id, TABLE.c.revoked_at.is_(None))
                .values(revoked_at=now, revoked_by=by)
            )


# -- administrative acts, ledgered --------------------------------------------------------------------


def _draft(type_: str, key: ApiKey, actor: str, what: str) -> EntryDraft:
    return EntryDraft(
        stream=ACCESS_STREAM, type=type_, step=f"access/api-key/{key.key_id}/{what}", actor=actor,
        data=key.ledger_data(),
    )


def create_api_key(
    store: ApiKeyStore,
    ledger: Ledger,
    *,
    name: str,
    roles: Iterable[Role],
    actor: str,
    expires_in: timedelta | None = None,
    replace: bool = False,
    now: datetime | None = None,
) -> tuple[ApiKey, str]:
    """Create a key for ``name`` with ``roles``; the key and its token (shown once, never stored).

    Ledgered first (``access.api_key_created``, and ``access.api_key_revoked`` for the key it
    replaces), then stored. ApiKeyError for a bad name, no roles, or a name that holds an active
    key already (unless ``replace``)."""
    now = now or datetime.now(UTC)
    check_name(name)
    role_set = frozenset(roles)
    if not role_set:
        raise ApiKeyError(
            "roles: a key needs at least one role (--role intake, responder, counsel, privacy, examiner, admin)",
            field="roles",
        )
    if expires_in is not None and expires_in <= timedelta(0):
        raise ApiKeyError("expires: the key's lifetime must be a positive duration, e.g. P90D", field="expires")
    current = store.active(name, now)
    current = [k for k in current if k.name == name]
    if current and not replace:
        raise KeyConflict(
            f"name {name!r} holds an active key already ({', '.join(k.key_id for k in current)}): revoke it first, "
            "or replace it (--replace) to rotate it"
        )
    key_id = secrets.token_hex(8)
    token = f"{TOKEN_PREFIX}_{key_id}_{secrets.token_urlsafe(32)}"
    key = ApiKey(
        key_id=key_id, name=name, roles=role_set, created_at=now, created_by=actor,
        expires_at=now + expires_in if expires_in is not None else None,
    )
    drafts = [_draft(REVOKED, old, actor, "revoked") for old in current] + [_draft(CREATED, key, actor, "created")]
    ledger.append_many(drafts)
    store.insert(key, token, revoke=current)
    log.info("api_key_created", key_id=key_id, name=name, roles=key.role_names(), actor=actor,
             replaced=[k.key_id for k in current])
    return key, token


def revoke_api_keys(
    store: ApiKeyStore, ledger: Ledger, name_or_id: str, *, actor: str, now: datetime | None = None
) -> list[ApiKey]:
    """Revoke the active key with this id, or the active key of this name; ledgered first.
    ApiKeyError when there is none."""
    now = now or datetime.now(UTC)
    keys = store.active(name_or_id, now)
    if not keys:
        known = {k.key_id: k for k in store.all_keys() if name_or_id in (k.key_id, k.name)}
        if known:
            states = ", ".join(f"{k.key_id} {k.status(now)}" for k in known.values())
            raise KeyConflict(f"{name_or_id!r} has no active key to revoke ({states})")
        raise ApiKeyError(f"no API key with id or name {name_or_id!r} (see `noticeflow apikey list`)")
    ledger.append_many([_draft(REVOKED, key, actor, "revoked") for key in keys])
    store.revoke(keys, actor, now)
    log.info("api_key_revoked", key_ids=[k.key_id for k in keys], actor=actor)
    return [
        ApiKey(**{**key.__dict__, "revoked_at": now, "revoked_by": actor})  # type: ignore[arg-type]
        for key in keys
    ]
