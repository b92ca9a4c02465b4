"""How long a responder waits for the determination step, next to a bare update round trip.

- baseline    an update that only answers (``sdk_update_shape.EchoUpdateWorkflow``), sent with the
              Temporal client to a running workflow on the same dev server: the floor of any step
- noticeflow  ``POST /v1/incidents/{id}/determination`` for the sample event of ``make demo``
              (eight states, 18 obligations) through the incident API in process: the obligations
              computed and kept in the history, the determination ledgered and signed, every
              obligation workflow started; measured from the request to the answer, idle stack,
              one event at a time (each event started and given its findings first, untimed)

- at once      ``--concurrent N`` (default 50) sample events at a hundredth of their size driven to
              closure through the API at the same time, as the workflow bench does: every
              determination's latency (p50, p95) and how many steps the API answered 504 (its step
              timeout, ``NOTICEFLOW_API_STEP_TIMEOUT``, 30 s as deployed) — 0 with ``--concurrent 0``

Median and p95 of ``--events`` runs each. Run:
``.venv/bin/python bench/determination_latency.py [--events 10] [--concurrent 50]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("NOTICEFLOW_LOG_LEVEL", "ERROR")

import httpx  # noqa: E402
from sdk_update_shape import EchoUpdateWorkflow  # noqa: E402
from temporalio.worker import Worker  # noqa: E402

from api.app import create_app  # noqa: E402
from bench.results import record  # noqa: E402
from bench.worker_processes import worker_processes  # noqa: E402
from noticeflow.demo import (  # noqa: E402
    NOTICES,
    OWNER,
    RESPONDERS,
    ResponderClient,
    create_demo_keys,
    demo_settings,
    sample_intake,
)
from noticeflow.devstack import DevLedgerKey, DevMailSink, DevStack, throwaway_settings  # noqa: E402
from noticeflow.logging import configure_logging  # noqa: E402
from noticeflow.sample_event import sample_findings  # noqa: E402
from noticeflow.worker import WorkerResources, build_worker  # noqa: E402

DETERMINATION = {"is_cybersecurity_event": True, "reason": "Claim images with SSNs and health information were taken."}
#: Issue 14's targets: the determination answered in under a second on an idle stack; with 50 events
#: at once, no 504 and the determination's p95 under 10 s.
IDLE_TARGET_S = 1.0
AT_ONCE_P95_TARGET_S = 10.0


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


async def baseline(stack: DevStack, runs: int) -> list[float]:
    queue = f"bench-echo-{uuid.uuid4().hex[:8]}"
    async with Worker(stack.client, task_queue=queue, workflows=[EchoUpdateWorkflow]):
        handle = await stack.client.start_workflow(EchoUpdateWorkflow.run, id=queue, task_queue=queue)
        await handle.execute_update(EchoUpdateWorkflow.echo, "warm-up")
        times = []
        for i in range(runs):
            started = time.perf_counter()
            assert await handle.execute_update(EchoUpdateWorkflow.echo, f"step-{i}") == f"step-{i}"
            times.append(time.perf_counter() - started)
        await handle.signal(EchoUpdateWorkflow.finish)
        return times


async def determinations(stack: DevStack, runs: int) -> tuple[list[float], int]:
    settings = stack.settings
    resources = WorkerResources(settings)
    app = create_app(settings, client=stack.client, step_timeout=120)
    times: list[float] = []
    obligations = 0
    try:
        async with build_worker(stack.client, settings, resources):
            tokens = await asyncio.to_thread(create_demo_keys, settings)
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1", timeout=120,
                                         headers={"Authorization": f"Bearer {tokens[OWNER]}"}) as http:
                api = ResponderClient(http, tokens)
                for i in range(runs + 1):  # the first warms the worker up, untimed
                    incident_id = f"INC-LAT-{uuid.uuid4().hex[:8].upper()}"
                    intake = sample_intake(datetime.now(UTC), incident_id, texas=True)
                    await api.call("POST", "/v1/incidents", expect=201,
                                   json={"intake": intake, "notices": json.loads(NOTICES.read_text()), "responders": RESPONDERS})
                    for finding in sample_findings(intake):
                        await api.call("POST", f"/v1/incidents/{incident_id}/findings", json=finding)
                    started = time.perf_counter()
                    state = await api.call("POST", f"/v1/incidents/{incident_id}/determination", json=DETERMINATION)
                    if i:
                        times.append(time.perf_counter() - started)
                    obligations = len(state["obligations"])
    finally:
        resources.close()
    return times, obligations


async def at_once(stack: DevStack, count: int, processes: int) -> tuple[list[float], int, int]:
    """Every determination's latency with ``count`` sample events (a hundredth of their size) driven
    to closure at once, the number of 504 answers the API gave on the way, and the events that
    stopped on one (the responder script gives up at its first 504)."""
    from noticeflow.demo import DemoError, drive_sample_event

    settings = stack.settings
    app = create_app(settings, client=stack.client, step_timeout=30)
    times: list[float] = []
    timeouts = 0
    timed_out: dict[str, int] = {}

    async def timed(request: httpx.Request) -> None:
        request.extensions["started"] = time.perf_counter()

    async def seen(response: httpx.Response) -> None:
        nonlocal timeouts
        if response.status_code == 504:
            timeouts += 1
            step = response.request.url.path.rsplit("/", 1)[-1]
            timed_out[step] = timed_out.get(step, 0) + 1
        if response.request.url.path.endswith("/determination") and response.status_code == 200:
            times.append(time.perf_counter() - response.request.extensions["started"])

    async with worker_processes(stack, processes):
        tokens = await asyncio.to_thread(create_demo_keys, settings)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1", timeout=600,
                                     headers={"Authorization": f"Bearer {tokens[OWNER]}"},
                                     event_hooks={"request": [timed], "response": [seen]}) as http:
            api = ResponderClient(http, tokens)
            run = uuid.uuid4().hex[:6].upper()
            stopped = 0

            async def one(i: int) -> None:
                nonlocal stopped
                try:
                    await drive_sample_event(api, f"INC-AT-ONCE-{run}-{i:03d}", lambda _: None, timeout=900, scale=0.01)
                except DemoError:
                    stopped += 1

            await asyncio.gather(*(one(i) for i in range(count)))
    if timed_out:
        print("504 answers by step: " + ", ".join(f"{step} {n}" for step, n in sorted(timed_out.items())))
    return times, timeouts, stopped


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=10)
    parser.add_argument("--concurrent", type=int, default=50, help="events at once (0: skip)")
    parser.add_argument("--worker-processes", type=int, default=1,
                        help="worker processes for the events at once, as deployed (0: a worker in the bench's process)")
    args = parser.parse_args()
    configure_logging("ERROR", False)
    with tempfile.TemporaryDirectory(prefix="noticeflow-bench-") as home:
        settings = demo_settings(throwaway_settings(Path(home)))
        async with DevStack(settings, services=[DevLedgerKey(), DevMailSink()], persistent=False, ui=False) as stack:
            base = await baseline(stack, max(20, args.events))
            ours, obligations = await determinations(stack, args.events)
            crowd, timeouts, stopped = await at_once(stack, args.concurrent, args.worker_processes) if args.concurrent else ([], 0, 0)
    b50, o50 = statistics.median(base), statistics.median(ours)
    print(f"dev server, {os.cpu_count()} cores, idle stack, one step at a time")
    print(f"{'bare update round trip (baseline)':<44} median {b50 * 1000:7.1f} ms   p95 {_p95(base) * 1000:7.1f} ms")
    print(f"{f'determination ({obligations} obligations), via the API':<44} median {o50 * 1000:7.1f} ms   p95 {_p95(ours) * 1000:7.1f} ms")
    print(f"ratio, determination ÷ bare update (median): {o50 / b50:.1f}x")
    if crowd:
        print(f"{args.concurrent} events at once (1/100 size, to closure): determination p50 {statistics.median(crowd):.2f} s, "
              f"p95 {_p95(crowd):.2f} s; 504 answers: {timeouts} ({stopped} events stopped on one)")
    record(measure=f"determination answered, idle stack ({obligations} obligations; median of {args.events})", ours=o50,
           baseline=b50, unit="s", baseline_label="bare update round trip", target=f"< {IDLE_TARGET_S:g} s", met=o50 < IDLE_TARGET_S)
    if args.concurrent:
        label = f"{args.concurrent} events at once (1/100 size, to closure)"
        answered = f"{len(crowd)} of {args.concurrent} determinations answered"
        record(measure=f"{label}: determination p50", ours=statistics.median(crowd) if crowd else None, unit="s",
               note=answered)
        record(measure=f"{label}: determination p95", ours=_p95(crowd) if crowd else None, unit="s",
               target=f"< {AT_ONCE_P95_TARGET_S:g} s", met=bool(crowd) and _p95(crowd) < AT_ONCE_P95_TARGET_S)
        record(measure=f"{label}: 504 answers", ours=timeouts, target="0", met=timeouts == 0,
               note=f"{stopped} events stopped on one")


if __name__ == "__main__":
    asyncio.run(main())
