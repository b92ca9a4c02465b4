"""Schema migrations (Alembic) on SQLite and a real PostgreSQL server: an empty database is taken
to head; a database made by the pre-migration ``create_all`` is recognised, stamped at the
baseline and upgraded; anything else is refused untouched; and a migrated database equals the
schema the code declares — so every schema change must come with a migration."""

from __future__ import annotations

import json
import multiprocessing
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
from sqlalchemy import Engine, MetaData, inspect, text
from typer.testing import CliRunner

from ledger import migrate
from ledger.keys import generate_key, load_keyring
from ledger.migrate import BASELINE, SchemaError
from ledger.schema import target_metadata
from ledger.store import Ledger, create_ledger_engine
from ledger.verify import verify_entries
from models.ledger import GENESIS_PREV_HASH
from noticeflow.cli import app
from tests.conftest import REPO
from tests.ledger.conftest import draft

PRE_MIGRATION_SCHEMA = Path(__file__).parent / "pre_migration_schema"
BIN = Path(sys.executable).parent
runner = CliRunner()


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    e = create_ledger_engine(db_url)
    yield e
    e.dispose()


def create_pre_migration_schema(engine: Engine, tables: set[str] | None = None) -> None:
    """The tables exactly as ``SQLModel.metadata.create_all`` made them before migrations (its DDL
    recorded from commit 78af2f9 in ``pre_migration_schema/<dialect>.sql``), all or ``tables``."""
    sql = (PRE_MIGRATION_SCHEMA / f"{engine.dialect.name}.sql").read_text()
    body = "\n".join(line for line in sql.splitlines() if not line.startswith("--"))
    statements = [s.strip() for s in body.split(";") if s.strip()]
    with engine.begin() as conn:
        for statement in statements:
            words = statement.split()
            table = words[2] if words[1] == "TABLE" else words[words.index("ON") + 1]
            if tables is None or table in tables:
                conn.exec_driver_sql(statement)


def _tables(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        return set(inspect(conn).get_table_names())


def _versions(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return list(conn.execute(text("SELECT version_num FROM alembic_version")).scalars())


def _statements(rows: list) -> list[tuple[str, str, str | None]]:  # type: ignore[type-arg]
    return [(kind, name, sql and " ".join(sql.split())) for kind, name, sql in rows]


def _reflected(engine: Engine) -> MetaData:
    metadata = MetaData()
    metadata.reflect(engine)
    if "alembic_version" in metadata.tables:
        metadata.remove(metadata.tables["alembic_version"])
    return metadata


# -- from an empty database ----------------------------------------------------------------------


def test_an_empty_database_is_migrated_to_head(engine: Engine) -> None:
    assert migrate.status(engine).describe().startswith("empty")
    result = migrate.upgrade(engine)
    assert (result.before, result.after, result.adopted) == (None, migrate.head(), False)
    assert _versions(engine) == [migrate.head()]
    assert set(migrate.baseline_metadata().tables) <= _tables(engine)
    assert migrate.status(engine).up_to_date
    # Again: nothing to do, nothing changed.
    again = migrate.upgrade(engine)
    assert (again.before, again.after) == (migrate.head(), migrate.head())
    assert _versions(engine) == [migrate.head()]


def test_the_migrated_schema_is_exactly_the_schema_the_code_declares(engine: Engine) -> None:
    """The guard on every later schema change: a table, column or index added to the code
    without a migration shows up here, by table name."""
    migrate.upgrade(engine)
    with engine.connect() as conn:
        differences = migrate.schema_differences(conn, target_metadata())
    assert not differences, (
        f"on {engine.dialect.name} the migrations do not produce the schema the code declares — write "
        "the next migration (docs/operations.md, 'Writing the next migration'):\n  " + "\n  ".join(differences)
    )


def test_the_comparison_names_the_table_a_migration_is_missing_for(engine: Engine) -> None:
    # The negative control of the test above: a column the migrations never made is reported.
    migrate.upgrade(engine)
    with engine.begin() as conn:
        conn.exec_driver_sql("ALTER TABLE notice_deliveries DROP COLUMN location")
    with engine.connect() as conn:
        differences = migrate.schema_differences(conn, target_metadata())
    assert differences == ["table notice_deliveries: column location missing from the database"]


def test_the_baseline_creates_exactly_what_the_pre_migration_create_all_made(
    db_url: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    migrated = create_ledger_engine(db_url)
    if migrated.dialect.name == "sqlite":
        legacy_url = f"sqlite:///{tmp_path / 'legacy.db'}"
    else:
        legacy_url = request.getfixturevalue("postgres_server").create_database()
    legacy = create_ledger_engine(legacy_url)
    try:
        create_pre_migration_schema(legacy)
        migrate.upgrade(migrated, BASELINE)
        assert _versions(migrated) == [BASELINE]
        with migrated.connect() as conn:
            assert migrate.schema_differences(conn, _reflected(legacy)) == []
        if migrated.dialect.name == "sqlite":
            # SQLite keeps each CREATE statement as written: they must be the same statements.
            query = "SELECT type, name, sql FROM sqlite_master WHERE tbl_name != 'alembic_version' ORDER BY name"
            with legacy.connect() as a, migrated.connect() as b:
                assert _statements(a.exec_driver_sql(query).all()) == _statements(b.exec_driver_sql(query).all())
    finally:
        legacy.dispose()
        migrated.dispose()


# -- from today's schema -------------------------------------------------------------------------


def test_a_database_made_by_the_pre_migration_code_is_stamped_at_the_baseline_and_upgraded(
    engine: Engine, tmp_path: Path
) -> None:
    create_pre_migration_schema(engine)
    with engine.begin() as conn:
        conn.execute(
            text("INSERT INTO ledger_tip (id, size, last_hash, last_ts) VALUES (1, 0, :h, '')"), {"h": GENESIS_PREV_HASH}
        )
        conn.execute(
            text(
                "INSERT INTO notice_rosters (roster_id, generation, next_generation, total, content_sha256, summary) "
                "VALUES ('INC-7', 1, 2, 120, :sha, '{}')"
            ),
            {"sha": "ab" * 32},
        )
    state = migrate.status(engine)
    assert state.revision is None and len(state.pre_migration_tables) == len(migrate.baseline_metadata().tables)
    assert state.describe().startswith("made before migrations")

    result = migrate.upgrade(engine)

    assert (result.before, result.after, result.adopted) == (None, migrate.head(), True)
    assert _versions(engine) == [migrate.head()]
    with engine.connect() as conn:
        assert conn.execute(text("SELECT total FROM notice_rosters WHERE roster_id = 'INC-7'")).scalar_one() == 120
        assert migrate.schema_differences(conn, target_metadata()) == []
    # The ledger the old code started goes on: appends chain from its tip and verify.
    generate_key(tmp_path / "keys")
    from ledger.keys import load_signer

    ledger = Ledger(engine, load_signer(tmp_path / "keys"))
    ledger.append_many([draft(1), draft(2)])
    assert ledger.size() == 2
    assert verify_entries(ledger.iter_raw(), load_keyring(tmp_path / "keys")).ok


def test_a_pre_migration_database_with_only_the_ledger_tables_is_adopted_and_completed(engine: Engine) -> None:
    # `noticeflow ledger …` alone created only the ledger's tables; the stores made theirs on first use.
    ledger_tables = {"ledger_entries", "ledger_tip", "ledger_tree_heads"}
    create_pre_migration_schema(engine, ledger_tables)
    assert _tables(engine) == ledger_tables

    result = migrate.upgrade(engine)

    assert result.adopted and result.after == migrate.head()
    with engine.connect() as conn:
        assert migrate.schema_differences(conn, target_metadata()) == []


def test_a_pre_migration_database_that_differs_from_the_baseline_is_refused_untouched(engine: Engine) -> None:
    create_pre_migration_schema(engine)
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP INDEX ix_ledger_entries_stream")
    before = _reflected(engine)

    with pytest.raises(SchemaError) as refused:
        migrate.upgrade(engine)

    message = str(refused.value)
    assert "not the baseline 0001" in message and "refusing to touch it" in message
    assert "table ledger_entries: index ix_ledger_entries_stream(stream) missing from the database" in message
    assert "alembic_version" not in _tables(engine)
    with engine.connect() as conn:
        assert migrate.schema_differences(conn, before) == []


def test_a_database_at_a_revision_this_code_does_not_know_is_refused(engine: Engine, db_url: str) -> None:
    migrate.upgrade(engine)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0999'"))

    with pytest.raises(SchemaError, match=r"revision 0999, which this noticeflow does not know"):
        migrate.upgrade(engine)
    # The stores refuse it as well, as a LedgerError the CLI and API already report.
    with pytest.raises(SchemaError, match="0999"):
        Ledger.open(db_url)
    assert _versions(engine) == ["0999"]


# -- concurrency and cost ------------------------------------------------------------------------


def _upgrade_in_process(url: str, results: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    results.put(migrate.upgrade(url).before)


def test_processes_upgrading_one_empty_database_at_once_migrate_it_once(db_url: str) -> None:
    ctx = multiprocessing.get_context("spawn")
    results = ctx.Queue()
    procs = [ctx.Process(target=_upgrade_in_process, args=(db_url, results)) for _ in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0, 0, 0]
    befores = sorted((results.get(timeout=5) for _ in procs), key=str)
    # Exactly one found it empty; the others waited for the lock and found it at head.
    assert befores == sorted([None, migrate.head(), migrate.head()], key=str)


def test_opening_a_store_on_an_up_to_date_database_does_not_load_alembic(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    migrate.upgrade(url)
    code = (
        "import sys, time; from ledger.store import Ledger; t = time.perf_counter(); "
        f"Ledger.open({url!r}).close(); "
        "print(int('alembic' in sys.modules), time.perf_counter() - t)"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120, check=True)
    loaded, _seconds = out.stdout.split()
    assert loaded == "0", "the up-to-date path imported Alembic (~0.15 s per process start)"


def test_the_head_read_from_file_names_is_alembics_head_and_the_history_is_one_line() -> None:
    # ensure_schema's fast path reads the head from the file names (NNNN_<slug>.py, id NNNN).
    script = migrate.script_directory()
    revisions = list(reversed(list(script.walk_revisions())))
    assert [r.revision for r in revisions] == [f"{n:04d}" for n in range(1, len(revisions) + 1)]
    assert all(r.down_revision == (f"{i:04d}" if i else None) for i, r in enumerate(revisions))
    assert [Path(r.path).name[:5] for r in revisions] == [f"{r.revision}_" for r in revisions]
    assert migrate._head_file() == migrate.head() == revisions[-1].revision


def test_every_table_declared_in_the_code_is_in_the_schema_registry() -> None:
    """``ledger.schema.TABLE_MODULES`` is what Alembic compares: a table module missing from it
    would escape the migrated-schema test. Every module of the packages is imported to find them."""
    code = """
import importlib, json, pkgutil
from ledger.schema import target_metadata
registered = sorted(target_metadata().tables)
for package in ("models", "ledger", "activities", "api"):
    for info in pkgutil.walk_packages(importlib.import_module(package).__path__, package + "."):
        if not info.name.startswith("ledger.migrations"):  # env.py runs only under Alembic
            importlib.import_module(info.name)
from sqlmodel import SQLModel
print(json.dumps({"registered": registered, "declared": sorted(SQLModel.metadata.tables)}))
"""
    out = subprocess.run([sys.executable, "-c", code], check=False, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    found = json.loads(out.stdout)
    unregistered = sorted(set(found["declared"]) - set(found["registered"]))
    assert not unregistered, f"tables declared outside ledger.schema.TABLE_MODULES: {unregistered} — add their modules"


# -- the command and the app paths ---------------------------------------------------------------


def test_noticeflow_db_upgrade_adopts_a_pre_migration_database_and_db_current_checks_it(engine: Engine, db_url: str) -> None:
    create_pre_migration_schema(engine)
    behind = runner.invoke(app, ["db", "current", "--db", db_url, "--check"])
    assert behind.exit_code == 1 and "made before migrations" in behind.stdout

    result = runner.invoke(app, ["db", "upgrade", "--db", db_url])

    assert result.exit_code == 0, result.output
    assert f"adopted a pre-migration database at {BASELINE}" in result.stdout
    current = runner.invoke(app, ["db", "current", "--db", db_url, "--check"])
    assert current.exit_code == 0 and f"at revision {migrate.head()} (head): up to date" in current.stdout


def test_noticeflow_db_upgrade_refuses_a_database_it_cannot_take_forward(engine: Engine, db_url: str) -> None:
    migrate.upgrade(engine)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0999'"))
    result = runner.invoke(app, ["db", "upgrade", "--db", db_url])
    assert result.exit_code == 2
    assert "error:" in result.stderr and "0999, which this noticeflow does not know" in result.stderr


def test_the_installed_noticeflow_db_upgrade_migrates_the_database_of_the_settings(tmp_path: Path) -> None:
    env = {**os.environ, "NOTICEFLOW_DB_URL": "", "NOTICEFLOW_HOME": str(tmp_path / "home"), "NOTICEFLOW_LOG_LEVEL": "ERROR"}
    out = subprocess.run(
        [str(BIN / "noticeflow"), "db", "upgrade"], check=False, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    assert f"upgraded an empty database → {migrate.head()}" in out.stdout
    assert _versions(create_ledger_engine(f"sqlite:///{tmp_path / 'home' / 'ledger.db'}")) == [migrate.head()]


async def test_the_dev_stack_upgrades_the_database_before_the_worker_starts(tmp_path: Path) -> None:
    from noticeflow.dev_database import DevDatabase
    from noticeflow.devstack import default_services, throwaway_settings

    settings = throwaway_settings(tmp_path / "home")
    names = [s.name for s in default_services(settings)]
    assert names.index("database") < names.index("worker") and names.index("database") < names.index("api")
    service = DevDatabase()
    await service.start(SimpleNamespace(settings=settings))  # type: ignore[arg-type]
    assert service.result is not None and service.result.after == migrate.head()
    assert migrate.status(settings.resolved_db_url()).up_to_date
    await service.stop()


def test_db_revision_autogenerate_writes_the_migration_a_schema_change_needs(tmp_path: Path) -> None:
    # On a copy of the migrations, in a process of its own: a table added to the code gets a
    # migration that creates it, and a database migrated with it matches the code again.
    code = f"""
import shutil
from pathlib import Path
from sqlmodel import Field, SQLModel
from typer.testing import CliRunner
from ledger import migrate
from ledger.schema import target_metadata
from noticeflow.cli import app

migrate.MIGRATIONS_DIR = Path({str(tmp_path)!r}) / "migrations"
shutil.copytree({str(migrate.MIGRATIONS_DIR)!r}, migrate.MIGRATIONS_DIR, ignore=shutil.ignore_patterns("__pycache__"))
before = migrate.head()

class ProbeRow(SQLModel, table=True):
    __tablename__ = "probe_rows"
    probe_id: str = Field(primary_key=True)
    seen_at: str = Field(index=True)

result = CliRunner().invoke(app, ["db", "revision", "-m", "probe rows", "--autogenerate"])
assert result.exit_code == 0, result.output
path = Path(result.stdout.strip())
assert path.parent == migrate.MIGRATIONS_DIR / "versions", path
assert path.name == f"{{int(before) + 1:04d}}_probe_rows.py", path.name
text = path.read_text()
assert "op.create_table('probe_rows'" in text and "ix_probe_rows_seen_at" in text, text
url = "sqlite:///{tmp_path / 'probe.db'}"
assert migrate.upgrade(url).after == path.name[:4]
from ledger.store import create_ledger_engine
with create_ledger_engine(url).connect() as conn:
    assert migrate.schema_differences(conn, target_metadata()) == [], migrate.schema_differences(conn, target_metadata())
print("ok")
"""
    out = subprocess.run([sys.executable, "-c", code], check=False, cwd=REPO, capture_output=True, text=True, timeout=180)
    assert out.returncode == 0 and out.stdout.strip().endswith("ok"), out.stdout + out.stderr
