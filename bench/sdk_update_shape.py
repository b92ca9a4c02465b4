"""The baseline of a step's latency: a workflow whose update does nothing but answer. A module of
its own, importing only ``temporalio``, so the sandbox validates it as the SDK's samples do."""

from __future__ import annotations

from temporalio import workflow


@workflow.defn
class EchoUpdateWorkflow:
    def __init__(self) -> None:
        self._done = False

    @workflow.run
    async def run(self) -> None:
        await workflow.wait_condition(lambda: self._done)

    @workflow.update
    async def echo(self, value: str) -> str:
        return value

    @workflow.signal
    def finish(self) -> None:
        self._done = True
