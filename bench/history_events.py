"""Temporal history events per sample event, next to the SDK's one-activity workflow.

- baseline    the SDK benchmark's workflow (``sdk_shape.BenchWorkflow``: one activity returning a
              greeting), its history length on the same dev server
- noticeflow  the sample event of ``make demo`` at a hundredth of its size driven to closure through
              the incident API (as ``workflow_bench.py`` does): the events in the history of the
              event's workflow and of every child it started (one per obligation and the consumer
              notice it shares), summed, with each workflow type's share and the commonest event types

Every run of a workflow counts (continue-as-new included). Run:
``.venv/bin/python bench/history_events.py [--top 12]``.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import os
import sys
import tempfile
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("NOTICEFLOW_LOG_LEVEL", "ERROR")

import httpx  # noqa: E402
from temporalio.api.enums.v1 import EventType  # noqa: E402
from temporalio.client import Client  # noqa: E402
from temporalio.worker import Worker  # noqa: E402

from api.app import create_app  # noqa: E402
from noticeflow.demo import OWNER, ResponderClient, create_demo_keys, demo_settings, drive_sample_event  # noqa: E402
from noticeflow.devstack import DevLedgerKey, DevMailSink, DevStack, throwaway_settings  # noqa: E402
from noticeflow.logging import configure_logging  # noqa: E402
from noticeflow.worker import WorkerResources, build_worker  # noqa: E402
from sdk_shape import BenchWorkflow, bench_activity  # noqa: E402
from workflow_bench import BENCH_BOUNCE_WINDOW_DAYS, BENCH_SCALE  # noqa: E402

#: The issue's ceiling for one sample event (event + children).
TARGET = 500


async def _events(client: Client, workflow_id: str, run_id: str | None = None) -> list[int]:
    """The event types of every run of ``workflow_id`` (following continue-as-new)."""
    handle = client.get_workflow_handle(workflow_id, run_id=run_id)
    history = await handle.fetch_history()
    return [event.event_type for event in history.events]


async def baseline(client: Client) -> int:
    queue = f"bench-sdk-{uuid.uuid4().hex[:8]}"
    async with Worker(client, task_queue=queue, workflows=[BenchWorkflow], activities=[bench_activity],
                      activity_executor=ThreadPoolExecutor(2)):
        workflow_id = f"{queue}-history"
        await client.execute_workflow(BenchWorkflow.run, "user", id=workflow_id, task_queue=queue)
    return len(await _events(client, workflow_id))


async def sample_event(stack: DevStack, dump: str | None = None) -> tuple[dict[str, list[int]], collections.Counter[str]]:
    """Each workflow type of one sample event driven to closure → the event types of its runs."""
    settings = stack.settings
    resources = WorkerResources(settings)
    app = create_app(settings, client=stack.client, step_timeout=120)
    incident_id = f"INC-HISTORY-{uuid.uuid4().hex[:6].upper()}"
    try:
        async with build_worker(stack.client, settings, resources):
            tokens = await asyncio.to_thread(create_demo_keys, settings)
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1",
                                         timeout=600, headers={"Authorization": f"Bearer {tokens[OWNER]}"}) as http:
                state = await drive_sample_event(ResponderClient(http, tokens), incident_id, lambda _: None,
                                                 timeout=600, scale=BENCH_SCALE)
                assert state["stage"] == "closed", state["stage"]
    finally:
        resources.close()
    by_type: dict[str, list[int]] = collections.defaultdict(list)
    runs: collections.Counter[str] = collections.Counter()
    async for execution in stack.client.list_workflows(f"NoticeflowIncidentId = '{incident_id}'"):
        by_type[execution.workflow_type] += await _events(stack.client, execution.id, execution.run_id)
        runs[execution.workflow_type] += 1
        if dump == execution.workflow_type:
            dump = None
            history = await stack.client.get_workflow_handle(execution.id, run_id=execution.run_id).fetch_history()
            for event in history.events:
                detail = ""
                if event.HasField("marker_recorded_event_attributes"):
                    detail = event.marker_recorded_event_attributes.marker_name
                elif event.HasField("activity_task_scheduled_event_attributes"):
                    detail = event.activity_task_scheduled_event_attributes.activity_type.name
                elif event.HasField("signal_external_workflow_execution_initiated_event_attributes"):
                    detail = event.signal_external_workflow_execution_initiated_event_attributes.signal_name
                elif event.HasField("upsert_workflow_search_attributes_event_attributes"):
                    detail = ", ".join(sorted(event.upsert_workflow_search_attributes_event_attributes.search_attributes.indexed_fields))
                elif event.HasField("workflow_execution_signaled_event_attributes"):
                    detail = event.workflow_execution_signaled_event_attributes.signal_name
                print(f"{event.event_id:>4} {EventType.Name(event.event_type).removeprefix('EVENT_TYPE_'):<48} {detail}")
    return by_type, runs


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--top", type=int, default=12, help="commonest event types to show")
    parser.add_argument("--verbose", action="store_true", help="each workflow type's event types")
    parser.add_argument("--dump", metavar="TYPE", help="print one run of this workflow type, event by event")
    args = parser.parse_args()
    configure_logging("ERROR", False)
    with tempfile.TemporaryDirectory(prefix="noticeflow-bench-") as home:
        settings = demo_settings(throwaway_settings(Path(home))).model_copy(update={"bounce_window_days": BENCH_BOUNCE_WINDOW_DAYS})
        async with DevStack(settings, services=[DevLedgerKey(), DevMailSink()], persistent=False, ui=False) as stack:
            sdk = await baseline(stack.client)
            by_type, runs = await sample_event(stack, args.dump)
    total = sum(len(events) for events in by_type.values())
    print(f"{'SDK one-activity workflow (baseline)':<44} {sdk:>6} history events")
    print(f"{'noticeflow sample event (event + children)':<44} {total:>6} history events   (target ≤ {TARGET})")
    for name, events in sorted(by_type.items(), key=lambda kv: -len(kv[1])):
        kinds = collections.Counter(EventType.Name(e).removeprefix("EVENT_TYPE_") for e in events)
        print(f"  {name:<42} {len(events):>6}   ({runs[name]} runs, {len(events) / runs[name]:.0f} each)")
        if args.verbose:
            for kind, n in kinds.most_common():
                print(f"      {kind:<52} {n:>5}")
    counts = collections.Counter(event for events in by_type.values() for event in events)
    print("commonest event types:")
    for event, n in counts.most_common(args.top):
        print(f"  {EventType.Name(event):<42} {n:>6}")
    print(f"ratio, sample event ÷ one-activity workflow: {total / sdk:.1f}x")
    from bench.results import record  # the table `make bench` writes (bench/run_all.py)

    record(measure="history events per sample event (event + children)", ours=total, baseline=sdk, unit="events",
           baseline_label="SDK one-activity workflow", target=f"≤ {TARGET}", met=total <= TARGET)


if __name__ == "__main__":
    asyncio.run(main())
