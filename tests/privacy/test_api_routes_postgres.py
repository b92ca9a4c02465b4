"""The privacy registration route on a real PostgreSQL server (the other privacy route tests run on
SQLite): bulk upload in CSV and JSON, notice history taken over, lifecycles started, every
relationship ledgered in the caller's name — and the consumers' contact data sealed before it
reaches PostgreSQL (the data directory, WAL included, searched after a CHECKPOINT)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from temporalio.testing import WorkflowEnvironment

from ledger.store import EntryFilter
from tests.activities.conftest import SmtpServer, smtp_server  # noqa: F401 — the fixture
from tests.platform.test_contacts_at_rest import hits, postgres_files
from tests.postgres import PostgresServer
from tests.privacy.conftest import Privacy, privacy_api
from tests.privacy.test_api_routes import ACTOR, day, person, publish, to_csv
from tests.workflows.conftest import running_stack

pytestmark = pytest.mark.postgres


@pytest_asyncio.fixture
async def on_postgres(
    time_skipping_env: WorkflowEnvironment, task_queue: str, tmp_path: Path, smtp_server: SmtpServer,  # noqa: F811
    postgres_server: PostgresServer,
) -> AsyncIterator[tuple[Privacy, httpx.AsyncClient]]:
    url = postgres_server.create_database()
    async with running_stack(time_skipping_env, task_queue, tmp_path, smtp_server, db_url=url) as stack:
        async with privacy_api(stack) as http:
            yield Privacy(stack), http


async def test_bulk_registration_on_postgresql_ledgers_each_relationship_and_seals_its_contacts(
    on_postgres: tuple[Privacy, httpx.AsyncClient], postgres_server: PostgresServer
) -> None:
    privacy, api = on_postgres
    assert (await publish(api)).status_code == 201
    csv_rows = [person("REL-PG-31", "C-PG-31", day(31)), person("REL-PG-J", "C-PG-J1", day(10)),
                person("REL-PG-J", "C-PG-J2", day(10), email="")]
    answer = await api.post("/v1/privacy/relationships", content=to_csv(csv_rows), headers={"Content-Type": "text/csv"})
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert (body["relationships"], body["consumers"], body["joint"], body["registered"], body["ledger_entries"]) == (2, 3, 1, 2, 2)
    json_rows = [person("REL-PG-NEW", "C-PG-NEW")]
    answer = await api.post("/v1/privacy/relationships", json=json_rows)
    assert answer.status_code == 201, answer.text
    assert answer.json()["registered"] == 1

    # The same upload again registers nothing twice and records nothing more.
    again = await api.post("/v1/privacy/relationships", content=to_csv(csv_rows), headers={"Content-Type": "text/csv"})
    assert again.status_code in (200, 201), again.text
    assert again.json()["registered"] == 0 and again.json()["already_registered"] == 2

    await privacy.wait_for("REL-PG-31", "opt_out.window_closed")
    await privacy.wait_for("REL-PG-J", "opt_out.window_opened")
    await privacy.wait_for("REL-PG-NEW", "opt_out.window_opened")
    for rid in ("REL-PG-31", "REL-PG-J", "REL-PG-NEW"):
        registered = [e for e in privacy.stack.ledger.entries(EntryFilter(stream=f"privacy:{rid}"))
                      if e.type == "privacy_relationship.registered"]
        assert len(registered) == 1 and registered[0].actor == ACTOR, rid
    privacy.stack.verify()

    people = [row["name"] for row in csv_rows + json_rows] + [row["email"] for row in csv_rows + json_rows if row["email"]] + [
        row["address_line1"] for row in csv_rows + json_rows
    ]
    assert hits(postgres_files(postgres_server), people) == {}
