"""Connecting with noticeflow's data converter, and registering the search attributes on a cluster."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from google.protobuf.duration_pb2 import Duration
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest, ListSearchAttributesRequest
from temporalio.api.workflowservice.v1 import RegisterNamespaceRequest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from noticeflow.codec import ENCODING
from noticeflow.settings import Settings
from noticeflow.temporal import (
    TemporalSetupError,
    connect,
    register_search_attributes,
    search_attribute_flags,
)
from tests.conftest import REPO, TEMPORAL_CLI
from tests.platform.sample_workflow import ConsumerRecord, EchoConsumerWorkflow, count_characters
from workflows import search_attributes

NAMES = sorted(key.name for key in search_attributes.ALL)


async def _new_namespace(client: Client) -> str:
    namespace = f"setup-{uuid.uuid4().hex[:12]}"
    await client.workflow_service.register_namespace(
        RegisterNamespaceRequest(namespace=namespace, workflow_execution_retention_period=Duration(seconds=86400))
    )
    return namespace


async def _custom(client: Client, namespace: str) -> dict[str, int]:
    response = await client.operator_service.list_search_attributes(ListSearchAttributesRequest(namespace=namespace))
    return dict(response.custom_attributes)


def _address(env: WorkflowEnvironment) -> str:
    return env.client.service_client.config.target_host


def test_dev_server_flags_name_every_attribute_with_its_cli_type() -> None:
    assert search_attribute_flags() == [
        "--search-attribute", "NoticeflowIncidentId=Keyword",
        "--search-attribute", "NoticeflowStage=Keyword",
        "--search-attribute", "NoticeflowJurisdictions=KeywordList",
        "--search-attribute", "NoticeflowNextDeadline=Datetime",
        "--search-attribute", "NoticeflowOverdue=Bool",
        "--search-attribute", "NoticeflowObligationKind=Keyword",
    ]  # fmt: skip


async def test_register_adds_all_attributes_then_is_a_no_op(dev_env: WorkflowEnvironment) -> None:
    namespace = await _new_namespace(dev_env.client)
    first = await register_search_attributes(dev_env.client, namespace)
    assert sorted(first.added) == NAMES and first.already_present == ()
    second = await register_search_attributes(dev_env.client, namespace)
    assert second.added == () and sorted(second.already_present) == NAMES
    custom = await _custom(dev_env.client, namespace)
    for key in search_attributes.ALL:
        assert custom[key.name] == int(key.indexed_value_type)


async def test_register_completes_a_partly_prepared_namespace(dev_env: WorkflowEnvironment) -> None:
    namespace = await _new_namespace(dev_env.client)
    await dev_env.client.operator_service.add_search_attributes(
        AddSearchAttributesRequest(
            namespace=namespace,
            search_attributes={"NoticeflowStage": IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD},
        )
    )
    result = await register_search_attributes(dev_env.client, namespace)
    assert result.already_present == ("NoticeflowStage",)
    assert sorted(result.added) == [n for n in NAMES if n != "NoticeflowStage"]


async def test_attribute_of_the_wrong_type_is_an_error_naming_it(dev_env: WorkflowEnvironment) -> None:
    namespace = await _new_namespace(dev_env.client)
    await dev_env.client.operator_service.add_search_attributes(
        AddSearchAttributesRequest(
            namespace=namespace,
            search_attributes={"NoticeflowOverdue": IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD},
        )
    )
    with pytest.raises(TemporalSetupError, match="NoticeflowOverdue is INDEXED_VALUE_TYPE_KEYWORD, noticeflow needs INDEXED_VALUE_TYPE_BOOL"):
        await register_search_attributes(dev_env.client, namespace)


async def test_missing_namespace_is_an_error_saying_how_to_create_it(dev_env: WorkflowEnvironment) -> None:
    with pytest.raises(TemporalSetupError, match="namespace 'no-such-namespace' does not exist.*operator namespace create"):
        await register_search_attributes(dev_env.client, "no-such-namespace")


async def test_connect_uses_the_namespace_and_encrypts_payloads(
    dev_env: WorkflowEnvironment, temporal_settings: Settings, task_queue: str
) -> None:
    namespace = await _new_namespace(dev_env.client)
    settings = temporal_settings.model_copy(update={"temporal_address": _address(dev_env), "temporal_namespace": namespace})
    client = await connect(settings)
    assert client.namespace == namespace
    async with Worker(client, task_queue=task_queue, workflows=[EchoConsumerWorkflow], activities=[count_characters]):
        handle = await client.start_workflow(
            EchoConsumerWorkflow.run,
            ConsumerRecord(name="A", ssn="078-05-1120", state="MO"),
            id=f"connect-{uuid.uuid4()}",
            task_queue=task_queue,
        )
        # The dev server does not skip time; the three-day sleep is not waited for here.
        history = await handle.fetch_history()
    started = history.events[0].workflow_execution_started_event_attributes
    assert started.input.payloads[0].metadata["encoding"] == ENCODING
    await handle.terminate("test done")


def _cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "noticeflow.cli", *args],
        cwd=REPO,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


async def test_setup_command_registers_on_a_real_cluster_and_can_be_repeated(
    dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    namespace = await _new_namespace(dev_env.client)
    env = {
        "NOTICEFLOW_TEMPORAL_ADDRESS": _address(dev_env),
        "NOTICEFLOW_TEMPORAL_NAMESPACE": namespace,
        "NOTICEFLOW_HOME": str(tmp_path),
    }
    first = _cli("temporal", "setup", env=env)
    assert first.returncode == 0, first.stderr
    assert all(f"{name}: added" in first.stdout for name in NAMES)
    second = _cli("temporal", "setup", env=env)
    assert second.returncode == 0, second.stderr
    assert all(f"{name}: already present" in second.stdout for name in NAMES)
    assert sorted(n for n in await _custom(dev_env.client, namespace) if n.startswith("Noticeflow")) == NAMES


def test_setup_command_names_the_address_it_cannot_reach(tmp_path: Path) -> None:
    result = _cli(
        "temporal", "setup", env={"NOTICEFLOW_TEMPORAL_ADDRESS": "127.0.0.1:1", "NOTICEFLOW_HOME": str(tmp_path)}
    )
    assert result.returncode == 1
    assert "cannot reach Temporal at 127.0.0.1:1" in result.stderr


def test_setup_command_reports_a_missing_namespace(dev_env: WorkflowEnvironment, tmp_path: Path) -> None:
    result = _cli(
        "temporal",
        "setup",
        env={
            "NOTICEFLOW_TEMPORAL_ADDRESS": _address(dev_env),
            "NOTICEFLOW_TEMPORAL_NAMESPACE": "absent-namespace",
            "NOTICEFLOW_HOME": str(tmp_path),
        },
    )
    assert result.returncode == 1
    assert "namespace 'absent-namespace' does not exist" in result.stderr


async def test_setup_waits_for_a_server_that_is_still_starting(tmp_path: Path) -> None:
    from noticeflow.devstack import free_port

    port = free_port()
    env = {**os.environ, "NOTICEFLOW_TEMPORAL_ADDRESS": f"127.0.0.1:{port}", "NOTICEFLOW_HOME": str(tmp_path)}
    setup = subprocess.Popen(
        [sys.executable, "-m", "noticeflow.cli", "temporal", "setup", "--wait", "120"],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    await asyncio.sleep(3)
    assert setup.poll() is None  # still waiting
    server = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(TEMPORAL_CLI), port=port, ui=False
    )
    try:
        out, err = await asyncio.to_thread(setup.communicate, timeout=120)
    finally:
        await server.shutdown()
    assert setup.returncode == 0, err
    assert all(f"{name}: added" in out for name in NAMES)
