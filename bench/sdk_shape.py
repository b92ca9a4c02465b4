"""The Temporal Python SDK's benchmark shape (its ``scripts/run_bench.py``): one workflow, one
activity returning a greeting. A module of its own, importing only ``temporalio``, so that the
workflow sandbox validates it as the SDK's benchmark does."""

from __future__ import annotations

from datetime import timedelta

from temporalio import activity, workflow


@activity.defn
async def bench_activity(name: str) -> str:
    return f"Hello, {name}!"


@workflow.defn
class BenchWorkflow:
    @workflow.run
    async def run(self, name: str) -> str:
        return await workflow.execute_activity(bench_activity, name, start_to_close_timeout=timedelta(seconds=30))
