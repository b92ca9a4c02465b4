"""The noticeflow workers a benchmark runs its workload on: worker processes as deployed, or one
worker inside the benchmark's own process.

Deployed, the worker is a process of its own (``worker.py``; ``make dev``, the compose file),
beside the API's: each has its own Python and GIL, so on two cores the API's request handling and
the worker's workflow code run side by side. A worker inside the benchmark's process shares the GIL
with the API and with every simulated client. ``--worker-processes 0`` measures that; the default
measures the deployed shape.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import AsyncIterator
from pathlib import Path

from noticeflow.devstack import DevStack, ProcessService
from noticeflow.worker import WorkerResources, build_worker

ROOT = Path(__file__).resolve().parents[1]


@contextlib.asynccontextmanager
async def worker_processes(stack: DevStack, processes: int) -> AsyncIterator[list[int]]:
    """Run ``processes`` worker processes (``worker.py`` with the stack's environment) — or, with
    0, one worker in this process — until the block ends; yields the processes' pids."""
    if not processes:
        resources = WorkerResources(stack.settings)
        try:
            async with build_worker(stack.client, stack.settings, resources):
                yield []
        finally:
            resources.close()
        return
    env = {"NOTICEFLOW_LOG_LEVEL": "ERROR"}
    started = [ProcessService(f"worker-{i}", [sys.executable, str(ROOT / "worker.py")], env=env, cwd=ROOT)
               for i in range(processes)]
    try:
        for service in started:
            await service.start(stack)
        yield [service.process.pid for service in started if service.process is not None]
    finally:
        for service in started:
            await service.stop()
