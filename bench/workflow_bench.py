"""Cybersecurity events driven end to end on the Temporal dev server, next to the Temporal Python
SDK's own benchmark shape measured in the same run.

- baseline    the shape of the SDK's ``scripts/run_bench.py``: a workflow that runs one activity
              returning a greeting, default data converter, sandboxed workflow runner, one worker;
              workflows/s at the same concurrency. Measured before and after the events; the mean
              is the baseline.
- noticeflow  the sample event of ``make demo`` (seven states, a third-party service provider)
              at a hundredth of its size, through the incident API (in process, over ASGI) to
              closure: intake, eleven findings, determination, encrypted roster, a reconciliation,
              consumer-notice approval, every obligation's child workflow delivering (SMTP to a
              local mail sink, print batch, website, regulator outbox, producers) and confirming
              (simulated acknowledgements, a bounce window of under a second), counsel reviews,
              every step ledgered and signed, closure.
              Events/s, and the workflow executions and ledger entries per second that makes.

Both run against the same dev server (in memory, no UI) with one in-process worker each.
Run: ``.venv/bin/python bench/workflow_bench.py [--events 20] [--concurrency 10] [--baseline 200]``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("NOTICEFLOW_LOG_LEVEL", "ERROR")

import httpx  # noqa: E402
from temporalio.client import Client  # noqa: E402
from temporalio.worker import Worker  # noqa: E402

from api.app import create_app  # noqa: E402
from bench.results import record  # noqa: E402
from ledger.store import Ledger  # noqa: E402
from noticeflow.demo import OWNER, ResponderClient, create_demo_keys, demo_settings, drive_sample_event  # noqa: E402

#: The sample event at a hundredth of its size, so the bench measures orchestration, not letters.
BENCH_SCALE = 0.01
#: About 0.9 s without a hard bounce confirms an e-mail in the bench.
BENCH_BOUNCE_WINDOW_DAYS = 0.00001
from noticeflow.devstack import DevLedgerKey, DevMailSink, DevStack, throwaway_settings  # noqa: E402
from noticeflow.logging import configure_logging  # noqa: E402
from noticeflow.worker import WorkerResources, build_worker  # noqa: E402
from sdk_shape import BenchWorkflow, bench_activity  # noqa: E402


# -- the SDK's benchmark shape ---------------------------------------------------------------------


async def baseline(address: str, namespace: str, count: int, concurrency: int) -> float:
    """Workflows/s of the one-activity workflow."""
    client = await Client.connect(address, namespace=namespace)
    queue = f"bench-sdk-{uuid.uuid4().hex[:8]}"
    gate = asyncio.Semaphore(concurrency)

    async def one(i: int) -> None:
        async with gate:
            result = await client.execute_workflow(BenchWorkflow.run, f"user-{i}", id=f"{queue}-{i}", task_queue=queue)
            assert result == f"Hello, user-{i}!"

    async with Worker(client, task_queue=queue, workflows=[BenchWorkflow], activities=[bench_activity],
                      activity_executor=ThreadPoolExecutor(4)):
        started = time.perf_counter()
        await asyncio.gather(*(one(i) for i in range(count)))
        return count / (time.perf_counter() - started)


# -- noticeflow end to end ------------------------------------------------------------------------


def _silent(_: str) -> None:
    pass


async def noticeflow_events(stack: DevStack, count: int, concurrency: int) -> tuple[float, float, float]:
    """(events/s, workflow executions/s, ledger entries/s) of the sample event, end to end."""
    settings = stack.settings
    resources = WorkerResources(settings)
    app = create_app(settings, client=stack.client, step_timeout=120)
    gate = asyncio.Semaphore(concurrency)
    run_id = uuid.uuid4().hex[:6].upper()
    workflows = 0

    async def one(i: int, api: ResponderClient) -> None:
        nonlocal workflows
        async with gate:
            state = await drive_sample_event(api, f"INC-BENCH-{run_id}-{i:04d}", _silent, timeout=600, scale=BENCH_SCALE)
            assert state["stage"] == "closed"
            workflows += 1 + len(state["obligations"])

    ledger = Ledger.open(settings.resolved_db_url())
    before = ledger.size()
    try:
        async with build_worker(stack.client, settings, resources):
            transport = httpx.ASGITransport(app=app)
            tokens = await asyncio.to_thread(create_demo_keys, settings)
            headers = {"Authorization": f"Bearer {tokens[OWNER]}"}
            async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1", timeout=600,
                                         headers=headers) as http:
                api = ResponderClient(http, tokens)
                started = time.perf_counter()
                await asyncio.gather(*(one(i, api) for i in range(count)))
                seconds = time.perf_counter() - started
        after = ledger.size()
    finally:
        ledger.close()
        resources.close()
    return count / seconds, workflows / seconds, (after - before) / seconds


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=20, help="sample events driven to closure")
    parser.add_argument("--concurrency", type=int, default=10, help="events (or baseline workflows) in flight at once")
    parser.add_argument("--baseline", type=int, default=200, help="one-activity workflows per baseline measurement")
    args = parser.parse_args()
    configure_logging("ERROR", False)

    with tempfile.TemporaryDirectory(prefix="noticeflow-bench-") as home:
        # The demo's settings with a bounce window of under a second: the bench measures work, not waiting.
        settings = demo_settings(throwaway_settings(Path(home))).model_copy(update={"bounce_window_days": BENCH_BOUNCE_WINDOW_DAYS})
        async with DevStack(settings, services=[DevLedgerKey(), DevMailSink()], persistent=False, ui=False) as stack:
            # Warm up both paths (imports, sandbox, first connections) outside the measurements.
            await baseline(stack.address, stack.namespace, 20, args.concurrency)
            await noticeflow_events(stack, 1, 1)

            sdk_before = await baseline(stack.address, stack.namespace, args.baseline, args.concurrency)
            events, executions, entries = await noticeflow_events(stack, args.events, args.concurrency)
            sdk_after = await baseline(stack.address, stack.namespace, args.baseline, args.concurrency)

    sdk = (sdk_before + sdk_after) / 2
    print(f"dev server, {os.cpu_count()} cores, concurrency {args.concurrency}")
    print(f"{'SDK one-activity workflow (baseline)':<44} {sdk:>9.1f} workflows/s   (before {sdk_before:.1f}, after {sdk_after:.1f})")
    print(f"{'noticeflow sample event, end to end':<44} {events:>9.2f} events/s")
    print(f"{'  its workflow executions (event + children)':<44} {executions:>9.1f} workflows/s")
    print(f"{'  its ledger entries (signed, chained)':<44} {entries:>9.1f} entries/s")
    print(f"ratio, event ÷ one-activity workflow:       {events / sdk:.4f}  (1 event = {sdk / events:.0f} baseline workflows' time)")
    print(f"ratio, workflow executions ÷ baseline:      {executions / sdk:.3f}")
    label = "SDK one-activity workflow"
    record(measure=f"sample event end to end (1/100 size, {args.events} events, {args.concurrency} at once)", ours=events,
           baseline=sdk, unit="events/s", baseline_unit="workflows/s", baseline_label=label)
    record(measure="sample event: its workflow executions (event + children)", ours=executions, baseline=sdk, unit="workflows/s",
           baseline_label=label)


if __name__ == "__main__":
    asyncio.run(main())
