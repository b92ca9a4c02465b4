"""The pytest Temporal environments: chosen by --workflow-environment, our data converter in each."""

from __future__ import annotations

import uuid

import pytest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from noticeflow.codec import ENCODING
from tests.platform.sample_workflow import ConsumerRecord, CountConsumerWorkflow, Receipt, count_characters


async def test_env_runs_a_workflow_with_pydantic_inputs_sealed(env: WorkflowEnvironment, client: Client, task_queue: str) -> None:
    assert client is env.client
    record = ConsumerRecord(name="Ines", ssn="078-05-1120", state="MO")
    async with Worker(client, task_queue=task_queue, workflows=[CountConsumerWorkflow], activities=[count_characters]):
        handle = await client.start_workflow(
            CountConsumerWorkflow.run, record, id=f"env-{uuid.uuid4()}", task_queue=task_queue
        )
        assert await handle.result() == Receipt(state="MO", characters=15)
    history = await handle.fetch_history()
    started = history.events[0].workflow_execution_started_event_attributes
    assert started.input.payloads[0].metadata["encoding"] == ENCODING


def test_option_selects_the_environment(request: pytest.FixtureRequest, env: WorkflowEnvironment) -> None:
    choice = request.config.getoption("--workflow-environment")
    if choice == "time-skipping":
        assert env.supports_time_skipping
    elif choice == "local":
        assert not env.supports_time_skipping


_seen: set[str] = set()


@pytest.mark.parametrize("run", range(3))
def test_each_test_gets_its_own_task_queue(task_queue: str, run: int) -> None:
    assert task_queue.startswith("test-")
    assert task_queue not in _seen
    _seen.add(task_queue)
