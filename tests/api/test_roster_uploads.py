"""Roster uploads through the real API (time-skipping Temporal server, real worker, SQLite): what is
refused and how — 422 with the API's ``errors`` naming the field for a body that is not UTF-8, an
unknown column or a bad row; 415 for another media type or character set; 413 past the size and
row limits — that a refused upload leaves nothing behind, not even a used-up roster number, and
that what is stored is sealed: the raw database files hold no name, e-mail or street address."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest_asyncio
from sqlalchemy import create_engine, text
from temporalio.client import Client

from api.app import create_app
from noticeflow.settings import Settings
from tests.api.conftest import SampleEvent, bearer
from tests.api.helpers import ROSTER_CSV, ROSTER_JSON, ROSTER_PII


async def _started(api: httpx.AsyncClient, sample: SampleEvent) -> str:
    response = await api.post("/v1/incidents", json=sample.start_body())
    assert response.status_code == 201, response.text
    return f"/v1/incidents/{sample.incident_id}/roster"


def _stored(settings: Settings, incident_id: str) -> dict[str, int]:
    """Rows the upload left in each table the roster store writes."""
    engine = create_engine(settings.resolved_db_url())
    try:
        with engine.connect() as conn:
            like = {"p": f"{incident_id}%"}
            return {
                "rosters": conn.execute(text("SELECT count(*) FROM notice_rosters WHERE roster_id LIKE :p"), like).scalar_one(),
                "contacts": conn.execute(text("SELECT count(*) FROM notice_roster_contacts WHERE roster_id LIKE :p"), like).scalar_one(),
                "data_keys": conn.execute(
                    text("SELECT count(*) FROM contact_data_keys WHERE scope = :s"), {"s": f"incident:{incident_id}"}
                ).scalar_one(),
            }
    finally:
        engine.dispose()


NOTHING = {"rosters": 0, "contacts": 0, "data_keys": 0}


async def test_a_roster_that_is_not_utf8_is_422_naming_the_encoding_and_stores_nothing(
    api: httpx.AsyncClient, sample: SampleEvent, api_settings: Settings
) -> None:
    path = await _started(api, sample)
    latin1 = ROSTER_CSV.replace("Avery Collins", "Zoë Collins").encode("latin-1")
    response = await api.post(path, content=latin1, headers={"Content-Type": "text/csv"})
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["detail"].startswith("the roster is not UTF-8: byte 0xEB at line 2")
    assert body["errors"] == [{"field": "body", "message": body["detail"], "type": "encoding"}]
    assert "Zo" not in response.text
    assert _stored(api_settings, sample.incident_id) == NOTHING

    good = await api.post(path, content=ROSTER_CSV, headers={"Content-Type": "text/csv"})
    assert good.status_code == 201, good.text
    assert good.json()["roster_id"] == f"{sample.incident_id}-r1"


async def test_another_media_type_or_character_set_is_415(api: httpx.AsyncClient, sample: SampleEvent, api_settings: Settings) -> None:
    path = await _started(api, sample)
    for content_type in ("application/xml", "multipart/form-data; boundary=x", "text/csv; charset=iso-8859-1"):
        response = await api.post(path, content=ROSTER_CSV.encode(), headers={"Content-Type": content_type})
        assert response.status_code == 415, (content_type, response.text)
    assert "charset='iso-8859-1'" in response.json()["detail"]
    assert _stored(api_settings, sample.incident_id) == NOTHING


async def test_an_unknown_column_is_named_in_the_errors_without_its_values(
    api: httpx.AsyncClient, sample: SampleEvent, api_settings: Settings
) -> None:
    path = await _started(api, sample)
    with_phone = ROSTER_CSV.replace("producer_of_record\n", "producer_of_record,phone\n", 1)
    with_phone = "\n".join(line + ",615-555-0100" if line.startswith("C-") else line for line in with_phone.split("\n"))
    response = await api.post(path, content=with_phone, headers={"Content-Type": "text/csv"})
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == "columns.phone"
    assert response.json()["errors"][0]["type"] == "unknown_column"
    assert "615-555-0100" not in response.text

    rows = [dict(ROSTER_JSON[0]), {**ROSTER_JSON[1], "ssn": "123-45-6789"}]
    response = await api.post(path, json=rows)
    assert response.status_code == 422, response.text
    assert [e["field"] for e in response.json()["errors"]] == ["rows[2].ssn"]
    assert "123-45-6789" not in response.text and "Jordan" not in response.text
    assert _stored(api_settings, sample.incident_id) == NOTHING


async def test_a_bad_row_and_an_empty_or_non_list_roster_each_answer_422_with_errors(
    api: httpx.AsyncClient, sample: SampleEvent
) -> None:
    path = await _started(api, sample)
    bad = await api.post(path, content=ROSTER_CSV.replace("morgan.hayes@mail.example", "morgan.hayes-at-mail"),
                         headers={"Content-Type": "text/csv"})
    empty = await api.post(path, json=[])
    not_a_list = await api.post(path, json={"consumer_id": "C1"})
    broken = await api.post(path, content=b"[{", headers={"Content-Type": "application/json"})
    for response, field in ((bad, "rows[4].email"), (empty, "body"), (not_a_list, "body"), (broken, "body")):
        assert response.status_code == 422, response.text
        assert response.json()["errors"][0]["field"] == field, response.text
    assert "morgan" not in bad.text


async def test_a_refused_upload_uses_up_no_roster_number(api: httpx.AsyncClient, sample: SampleEvent, api_settings: Settings) -> None:
    path = await _started(api, sample)
    twice = [ROSTER_JSON[0], ROSTER_JSON[1], {**ROSTER_JSON[0], "name": "Avery C. Collins"}]
    refused = await api.post(path, json=twice)
    assert refused.status_code == 422, refused.text
    assert refused.json()["errors"] == [
        {"field": "rows[3].consumer_id", "message": "the same consumer appears twice on the roster", "type": "duplicate_consumer"}
    ]
    assert _stored(api_settings, sample.incident_id) == NOTHING
    good = await api.post(path, json=ROSTER_JSON)
    assert good.status_code == 201, good.text
    assert good.json()["roster_id"] == f"{sample.incident_id}-r1"
    again = await api.post(path, json=twice)
    assert again.status_code == 422
    assert _stored(api_settings, sample.incident_id) == {"rosters": 1, "contacts": 2, "data_keys": 1}, (
        "the refused second upload left neither a header nor the incident's data key, which r1 still uses"
    )
    third = await api.post(path, content=ROSTER_CSV, headers={"Content-Type": "text/csv"})
    assert third.json()["roster_id"] == f"{sample.incident_id}-r2"


@pytest_asyncio.fixture
async def limited(client: Client, api_settings: Settings, worker: None, tester_token: str) -> AsyncIterator[httpx.AsyncClient]:
    """The API with rosters limited to 3 rows and 1,500 bytes."""
    settings = api_settings.model_copy(update={"roster_max_rows": 3, "roster_max_bytes": 1500})
    app = create_app(settings, client=client, step_timeout=60)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1", timeout=120, headers=bearer(tester_token)
    ) as http:
        yield http


async def test_rosters_past_the_row_or_byte_limit_are_413_and_leave_nothing(
    limited: httpx.AsyncClient, sample: SampleEvent, api_settings: Settings
) -> None:
    path = await _started(limited, sample)
    four_rows = "\n".join(ROSTER_CSV.split("\n")[:5]) + "\n"
    assert len(four_rows.encode()) < 1500
    rows = await limited.post(path, content=four_rows, headers={"Content-Type": "text/csv"})
    assert rows.status_code == 413, rows.text
    assert "more than 3 rows (NOTICEFLOW_ROSTER_MAX_ROWS)" in rows.json()["detail"]
    big = json.dumps([{**ROSTER_JSON[0], "consumer_id": f"C-{i}"} for i in range(3)] + [{"pad": "x" * 1500}])
    too_big = await limited.post(path, content=big, headers={"Content-Type": "application/json"})
    assert too_big.status_code == 413, too_big.text
    assert _stored(api_settings, sample.incident_id) == NOTHING
    three = "\n".join(ROSTER_CSV.split("\n")[:4]) + "\n"
    ok = await limited.post(path, content=three, headers={"Content-Type": "text/csv"})
    assert ok.status_code == 201, ok.text
    assert ok.json()["roster_id"] == f"{sample.incident_id}-r1"


async def test_an_uploaded_roster_reaches_the_sqlite_files_sealed(
    api: httpx.AsyncClient, sample: SampleEvent, api_settings: Settings
) -> None:
    path = await _started(api, sample)
    response = await api.post(path, content=ROSTER_CSV, headers={"Content-Type": "text/csv"})
    assert response.status_code == 201, response.text
    database = Path(api_settings.resolved_db_url().split("///", 1)[1])
    files = [p for p in (database, Path(f"{database}-wal"), Path(f"{database}-shm")) if p.exists()]
    assert database in files
    raw = b"".join(p.read_bytes() for p in files)
    found = [pii for pii in ROSTER_PII if pii.encode() in raw]
    assert found == [], f"in the raw database files: {found}"
