"""Schema migrations of noticeflow's database: ``upgrade`` takes any database to the newest
revision in ``ledger/migrations/versions`` (Alembic), and the stores call ``ensure_schema`` once
per engine instead of creating tables themselves.

* An empty database gets the baseline and every later revision.
* A database made before migrations (tables from ``create_all``, no ``alembic_version``) is
  adopted: each baseline table it has must be exactly the baseline's, the ones it lacks are
  created, and it is stamped at the baseline — then upgraded like any other.
* Anything else — a baseline table that differs, a revision this code does not know — is refused
  with ``SchemaError`` saying what was found; nothing is changed.

Upgrades serialise across processes (``BEGIN IMMEDIATE`` on SQLite, an advisory lock on
PostgreSQL) and run in one transaction with the ``alembic_version`` row, so two workers starting
at once never both migrate, and a failed migration leaves the database as it was.
"""

from __future__ import annotations

import logging
import tempfile
import threading
import weakref
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import structlog
from sqlalchemy import Engine, MetaData, Table, inspect, text
from sqlalchemy.engine import Connection

from ledger.errors import LedgerError

if TYPE_CHECKING:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

# Alembic is imported where it is used: it costs ~0.15 s, and a process whose database is already
# at head (every start but the first after a release) never needs it — see ``ensure_schema``.

#: Where the migration scripts are: inside the installed ``ledger`` package (editable or not).
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
#: The revision that reproduces the schema ``create_all`` made before migrations.
BASELINE = "0001"
#: PostgreSQL advisory lock held while a process migrates (distinct from the ledger's tip lock).
SCHEMA_LOCK_ID = 727274201

log = structlog.get_logger("noticeflow.schema")
# Alembic's own INFO lines are plain text; ours (``schema.*``) say what changed, structured.
logging.getLogger("alembic").setLevel(logging.WARNING)


class SchemaError(LedgerError):
    """The database is at a state the migrations cannot take forward; the message says what."""


# -- the scripts ---------------------------------------------------------------------------------


def alembic_config(url: str | None = None) -> Config:
    """Alembic's configuration for the migrations in ``MIGRATIONS_DIR`` (there is no alembic.ini)."""
    from argparse import Namespace

    from alembic.config import Config

    cfg = Config(cmd_opts=Namespace(quiet=True))  # the callers report, not Alembic's prints
    cfg.set_main_option("script_location", _escape(str(MIGRATIONS_DIR)))
    cfg.set_main_option("path_separator", "os")
    cfg.set_main_option("file_template", "%%(rev)s_%%(slug)s")
    if url:
        cfg.set_main_option("sqlalchemy.url", _escape(url))
    return cfg


def _escape(value: str) -> str:
    return value.replace("%", "%%")  # Config values go through ConfigParser interpolation


@lru_cache(maxsize=1)
def script_directory() -> ScriptDirectory:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config())


def head() -> str:
    """The newest revision (the history is linear: a second head is an error here)."""
    from alembic.util.exc import CommandError

    try:
        revision = script_directory().get_current_head()
    except CommandError as exc:
        raise SchemaError(f"the migrations in {MIGRATIONS_DIR} have more than one head: {exc}") from None
    if revision is None:
        raise SchemaError(f"no migrations found in {MIGRATIONS_DIR}")
    return revision


def baseline_metadata() -> MetaData:
    """The tables the baseline creates, from its (frozen) migration file."""
    module: Any = script_directory().get_revision(BASELINE).module  # type: ignore[union-attr]
    metadata: MetaData = module.baseline_metadata()
    return metadata


def _known(revision: str) -> bool:
    from alembic.util.exc import CommandError

    try:
        return script_directory().get_revision(revision) is not None
    except CommandError:
        return False


# -- connections ---------------------------------------------------------------------------------


@contextmanager
def locked(engine: Engine) -> Iterator[Connection]:
    """A connection in a transaction that holds the schema lock until it commits."""
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            conn = conn.execution_options(sqlite_begin="IMMEDIATE")
        with conn.begin():
            if engine.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": SCHEMA_LOCK_ID})
            yield conn


@contextmanager
def _engine(db: str | Engine) -> Iterator[Engine]:
    if isinstance(db, Engine):
        yield db
        return
    from ledger.store import create_ledger_engine  # ledger.store imports this module

    engine = create_ledger_engine(db)
    try:
        yield engine
    finally:
        engine.dispose()


def _current(conn: Connection) -> str | None:
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(conn).get_current_revision()


@lru_cache(maxsize=1)
def _head_file() -> str:
    """The head as the highest-numbered file in ``versions/`` — the naming rule (``NNNN_<slug>.py``,
    revision id ``NNNN``, each revising the one before) that a test holds ``head()`` to. Read
    without importing Alembic, for the fast path."""
    numbers = sorted(p.name[:4] for p in (MIGRATIONS_DIR / "versions").glob("[0-9][0-9][0-9][0-9]_*.py"))
    if not numbers:
        raise SchemaError(f"no migrations found in {MIGRATIONS_DIR / 'versions'}")
    return numbers[-1]


def _stored_revision(conn: Connection) -> str | None:
    """``alembic_version``'s one row, read without Alembic (None: no table, or not one row)."""
    if not inspect(conn).has_table("alembic_version"):
        return None
    rows = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    return rows[0] if len(rows) == 1 else None


# -- state ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SchemaStatus:
    """Where a database stands: its revision (None: never migrated) and the head of the code."""

    revision: str | None
    head: str
    #: Baseline tables found in a database that has no revision (made before migrations).
    pre_migration_tables: tuple[str, ...] = ()

    @property
    def up_to_date(self) -> bool:
        return self.revision == self.head

    def describe(self) -> str:
        if self.revision == self.head:
            return f"at revision {self.revision} (head): up to date"
        if self.revision is None and self.pre_migration_tables:
            return (
                f"made before migrations ({len(self.pre_migration_tables)} noticeflow tables, no revision): "
                f"`noticeflow db upgrade` checks them against the baseline {BASELINE}, stamps it and upgrades to {self.head}"
            )
        if self.revision is None:
            return f"empty: `noticeflow db upgrade` creates the schema at {self.head}"
        if not _known(self.revision):
            return (
                f"at revision {self.revision}, which this noticeflow does not know (head {self.head}): "
                "it was migrated by a newer version — run that version, never this one, against it"
            )
        return f"at revision {self.revision}, behind head {self.head}: run `noticeflow db upgrade`"


def status(db: str | Engine) -> SchemaStatus:
    with _engine(db) as engine, engine.connect() as conn:
        revision = _current(conn)
        tables: tuple[str, ...] = ()
        if revision is None:
            tables = tuple(sorted(set(inspect(conn).get_table_names()) & set(baseline_metadata().tables)))
    return SchemaStatus(revision, head(), tables)


def schema_differences(conn: Connection, metadata: MetaData, tables: Collection[str] | None = None) -> list[str]:
    """How the database differs from ``metadata`` (Alembic's comparison), one line per difference,
    each naming its table; only ``tables`` when given. Empty when they match."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    def include_name(name: str | None, type_: str, parent_names: Any) -> bool:  # the database's side
        return type_ != "table" or tables is None or name in tables

    def include_object(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:  # both sides
        table = name if type_ == "table" else getattr(getattr(obj, "table", None), "name", None)
        return tables is None or table is None or table in tables

    opts = {"compare_type": True, "include_name": include_name, "include_object": include_object}
    context = MigrationContext.configure(conn, opts=opts)
    return [_describe(diff) for diff in compare_metadata(context, metadata)]


def _describe(diff: Any) -> str:
    if isinstance(diff, list):  # column modifications come grouped
        return "; ".join(_describe(d) for d in diff)
    kind = diff[0]
    if kind in ("add_table", "remove_table"):
        where = "missing from the database" if kind == "add_table" else "in the database but not in the code"
        return f"table {diff[1].name}: {where}"
    if kind in ("add_column", "remove_column"):
        where = "missing from the database" if kind == "add_column" else "in the database but not in the code"
        return f"table {diff[2]}: column {diff[3].name} {where}"
    if kind in ("add_index", "remove_index", "add_constraint", "remove_constraint", "add_fk", "remove_fk"):
        item = diff[1]
        what = kind.split("_", 1)[1].replace("fk", "foreign key")
        columns = ", ".join(c.name for c in item.columns) if hasattr(item, "columns") else ""
        where = "missing from the database" if kind.startswith("add") else "in the database but not in the code"
        return f"table {item.table.name}: {what} {item.name or ''}({columns}) {where}".replace("  ", " ")
    if kind.startswith("modify_"):
        _, _schema, table, column, _existing, db_value, code_value = diff
        return f"table {table}: column {column} {kind[7:]} is {db_value} in the database, {code_value} in the code"
    return f"{kind}: {diff[1:]}"


# -- upgrading -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class UpgradeResult:
    before: str | None
    after: str
    #: The database was made before migrations and was stamped at the baseline.
    adopted: bool = False

    def describe(self) -> str:
        adopted = f"adopted a pre-migration database at {BASELINE}; " if self.adopted else ""
        if self.before == self.after:
            return f"{adopted}at revision {self.after}: up to date"
        return f"{adopted}upgraded {self.before or 'an empty database'} → {self.after}"


def upgrade(db: str | Engine, revision: str = "head") -> UpgradeResult:
    """Take the database (URL or engine) to ``revision``; adopt a pre-migration database first.

    Raises ``SchemaError`` for a database this code cannot take forward."""
    with _engine(db) as engine:
        with locked(engine) as conn:
            before = _current(conn)
            adopted = False
            if before is None:
                adopted = _adopt(conn)
            elif not _known(before):
                raise SchemaError(SchemaStatus(before, head()).describe())
            from alembic import command

            cfg = alembic_config()
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)
            after = _current(conn)
        assert after is not None
        if after == head():
            _ready.add(engine)
    result = UpgradeResult(before, after, adopted)
    if adopted or before != after:
        log.info("schema.upgraded", before=before, after=after, adopted=adopted, dialect=engine.dialect.name)
    return result


def _adopt(conn: Connection) -> bool:
    """Stamp a database made by the pre-migration ``create_all`` at the baseline; False when it
    holds none of the baseline's tables (an empty database, which the baseline itself creates)."""
    baseline = baseline_metadata()
    present = set(inspect(conn).get_table_names()) & set(baseline.tables)
    if not present:
        return False
    problems = schema_differences(conn, baseline, present)
    if problems:
        raise SchemaError(
            f"the database has noticeflow tables but no migration revision, and they are not the "
            f"baseline {BASELINE} that migrations start from — refusing to touch it: " + " | ".join(problems)
        )
    # The tables a store had not opened yet: create_all would have made them on first use.
    baseline.create_all(conn, tables=[baseline.tables[name] for name in sorted(set(baseline.tables) - present)])
    from alembic.runtime.migration import MigrationContext

    MigrationContext.configure(conn).stamp(script_directory(), BASELINE)
    log.info("schema.adopted", revision=BASELINE, tables_found=len(present), tables_created=len(baseline.tables) - len(present))
    return True


# -- what the stores call ------------------------------------------------------------------------

#: Engines whose database was found (or made) up to date by this process.
_ready: weakref.WeakSet[Engine] = weakref.WeakSet()
_checked_tables: weakref.WeakKeyDictionary[Engine, frozenset[str]] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def ensure_schema(engine: Engine) -> None:
    """Upgrade the database to head unless this process already saw it there. Cheap when up to
    date: one read of ``alembic_version`` per engine, and no Alembic import."""
    if engine in _ready:
        return
    with _lock:
        if engine in _ready:
            return
        with engine.connect() as conn:
            revision = _stored_revision(conn)
        if revision == _head_file():
            _ready.add(engine)
        else:
            upgrade(engine)


def require_tables(engine: Engine, tables: Sequence[Table]) -> None:
    """Fail clearly when code declares a table that no migration creates (the fix is a migration)."""
    names = frozenset(t.name for t in tables)
    if names <= _checked_tables.get(engine, frozenset()):
        return
    with engine.connect() as conn:
        missing = sorted(names - set(inspect(conn).get_table_names()))
    if missing:
        raise SchemaError(
            f"table(s) {', '.join(missing)} are declared in the code but no migration creates them: "
            "write the migration (docs/operations.md, 'Writing the next migration') and run `noticeflow db upgrade`"
        )
    _checked_tables[engine] = _checked_tables.get(engine, frozenset()) | names


# -- writing the next migration ------------------------------------------------------------------


def new_revision(message: str, *, autogenerate: bool = False, db_url: str | None = None) -> Path:
    """Write ``versions/NNNN_<slug>.py`` (NNNN = head + 1). With ``autogenerate``, its operations
    are what turns a database at head into the code's schema (``ledger.schema``): compared against
    ``db_url``, or a scratch SQLite database upgraded to head. Review it before committing."""
    from alembic import command

    cfg = alembic_config()
    rev_id = f"{int(head()) + 1:04d}"
    if not autogenerate:
        return _written(command.revision(cfg, message=message, rev_id=rev_id))
    with tempfile.TemporaryDirectory(prefix="noticeflow-autogen-") as scratch:
        url = db_url or f"sqlite:///{Path(scratch) / 'head.db'}"
        with _engine(url) as engine:
            upgrade(engine)
            with engine.connect() as conn:
                cfg.attributes["connection"] = conn
                cfg.attributes["autogenerate"] = True
                return _written(command.revision(cfg, message=message, autogenerate=True, rev_id=rev_id))


def _written(script: Any) -> Path:
    script_directory.cache_clear()
    _head_file.cache_clear()
    return Path(script.path)
