"""A tiny workflow whose input carries NPI, for the codec and environment tests.

It lives in its own importable module because the workflow sandbox re-imports workflow
definitions by module name.
"""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel
from temporalio import activity, workflow
from temporalio.common import RetryPolicy


class ConsumerRecord(BaseModel):
    name: str
    ssn: str
    state: str


class Receipt(BaseModel):
    state: str
    characters: int


@activity.defn
async def count_characters(record: ConsumerRecord) -> Receipt:
    return Receipt(state=record.state, characters=len(record.name) + len(record.ssn))


@activity.defn
async def reject_record(record: ConsumerRecord) -> Receipt:
    # The message quotes the input, as real validation errors do.
    raise ValueError(f"record for {record.name} ({record.ssn}) is incomplete")


@workflow.defn
class EchoConsumerWorkflow:
    @workflow.run
    async def run(self, record: ConsumerRecord) -> Receipt:
        await workflow.sleep(timedelta(days=3))
        return await workflow.execute_activity(
            count_characters, record, start_to_close_timeout=timedelta(seconds=30)
        )


@workflow.defn
class FailingConsumerWorkflow:
    @workflow.run
    async def run(self, record: ConsumerRecord) -> Receipt:
        return await workflow.execute_activity(
            reject_record,
            record,
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=RetryPolicy(maximum_attempts=1),
        )


@workflow.defn
class CountConsumerWorkflow:
    @workflow.run
    async def run(self, record: ConsumerRecord) -> Receipt:
        return await workflow.execute_activity(
            count_characters, record, start_to_close_timeout=timedelta(seconds=30)
        )
