"""Consumer relationships onboarded on the Temporal dev server, next to the Temporal Python SDK's
one-activity workflow measured in the same run.

- baseline    the shape of the SDK's ``scripts/run_bench.py`` (``bench/sdk_shape.py``, run as
              ``bench/workflow_bench.py``'s ``baseline()`` runs it): a workflow that runs one
              activity returning a greeting, on the same dev server, workflows/s. Measured before
              and after the onboarding; the mean is the baseline.
- noticeflow  new Texas customer relationships onboarded as a licensee does it: the privacy
              officer's uploads (``POST /v1/privacy/relationships``, CSV, ``lifecycles=start``,
              at most 10,000 relationships an upload — the API's own limit) through the API in
              process over ASGI: every row validated, each registration ledgered (signed,
              chained), contacts sealed per consumer, relationships registered in the privacy
              store, each ``ConsumerRelationshipWorkflow`` started; the lifecycle then loads the
              policy, ledgers the opening, gives the initial notice with its opt-out notice
              (28 TAC §§ 22.8, 22.11: 1 in 10 by e-mail to the dev mail sink, the others a letter
              in a print batch), ledgers it, opens the reasonable opportunity to opt out
              (§ 22.14(b), ledgered) and writes the relationship's stage to the store.
              A relationship counts as onboarded once that last write is in the store (its
              ``next_annual_due`` is set only after the initial notice was given); the clock runs
              from the first upload until every relationship of the run is onboarded, and the
              ledger is then checked to hold each step once per relationship. Relationships/s.
              1 in 40 relationships is joint (two consumers, one notice, § 22.13(h)). A lifecycle
              that fails (it would never give its notice) stops the bench at once, naming why.

Both run against the same dev server (in memory, no UI). The baseline's worker runs in the bench's
process, as the SDK's bench runs it; noticeflow's runs as deployed, a worker process of its own
beside the API's (``--worker-processes``, ``bench/worker_processes.py``; 0: in this process). Peak
RSS: the API's and the worker's processes and the dev server's, while the onboarding ran; CPU time
of all of them per relationship, next to the same per baseline workflow (a steadier comparison on
a shared machine).

Run: ``.venv/bin/python bench/onboarding_bench.py [--relationships 100000] [--baseline 500]``
(quick: ``--relationships 2000``; ``--profile FILE`` writes a cProfile of the onboarding phase).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import csv
import io
import os
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("NOTICEFLOW_LOG_LEVEL", "ERROR")

import httpx  # noqa: E402
from sqlalchemy import text  # noqa: E402
from temporalio.client import Client, WorkflowFailureError  # noqa: E402
from workflow_bench import baseline  # noqa: E402

from activities import db  # noqa: E402
from api.app import create_app  # noqa: E402
from api.privacy_registry import MAX_LIFECYCLES_PER_UPLOAD  # noqa: E402
from noticeflow.demo import PRIVACY_OFFICER, ResponderClient, create_demo_keys  # noqa: E402
from noticeflow.demo_privacy import policy_record  # noqa: E402
from noticeflow.devstack import DevLedgerKey, DevMailSink, DevStack, throwaway_settings  # noqa: E402
from noticeflow.logging import configure_logging  # noqa: E402
from bench.worker_processes import worker_processes  # noqa: E402
from workflows.privacy_relationship import relationship_workflow_id  # noqa: E402

EMAIL_EVERY = 10
JOINT_EVERY = 40
LICENSEE = "Cumberland Mutual Insurance Company"
COLUMNS = ("relationship_id", "consumer_id", "name", "email", "address_line1", "city", "region", "postal_code",
           "e_delivery_consent", "transacts_electronically", "relationship", "policy_version")
#: How often the wait looks for failed lifecycles (seconds).
FAILURE_CHECK_SECONDS = 10
#: What the ledger holds for each onboarded relationship, once.
STEPS = ("privacy_relationship.registered", "privacy_relationship.opened", "initial_notice.sent", "opt_out.window_opened")


# -- the licensee's new customers -----------------------------------------------------------------


def upload_csv(prefix: str, numbers: range) -> bytes:
    """One row per consumer (a joint relationship has two); contact data made up."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for i in numbers:
        electronic = "true" if i % EMAIL_EVERY == 0 else "false"
        for n in range(2 if i % JOINT_EVERY == 0 else 1):
            email = f"customer.{prefix.lower()}.{i}{'j' if n else ''}@privacy.example" if electronic == "true" else ""
            writer.writerow((f"{prefix}-{i:07d}", f"{prefix}-C-{i:07d}{'-J' if n else ''}", f"Customer {i} {'Joint' if n else 'Primary'}",
                             email, f"{100 + i % 8900} Congress Ave", "Austin", "TX", f"787{i % 50:02d}",
                             electronic, electronic, "customer", "v1"))
    return out.getvalue().encode("utf-8")


# -- measuring ------------------------------------------------------------------------------------


def rss_kib(pid: int | str = "self") -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def cpu_seconds(pid: int | str = "self") -> float:
    """User + system CPU time of a process so far."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Sampler:
    """Peak RSS of some processes while a phase runs (sampled every 100 ms)."""

    def __init__(self, *pids: int | str) -> None:
        self.pids = pids
        self.peak = dict.fromkeys(pids, 0)
        self.cpu = dict.fromkeys(pids, 0.0)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> None:
        for pid in self.pids:
            self.peak[pid] = max(self.peak[pid], rss_kib(pid))

    def _run(self) -> None:
        while not self._stop.is_set():
            self._sample()
            self._stop.wait(0.1)

    def __enter__(self) -> Sampler:
        self._sample()
        self.cpu = {pid: cpu_seconds(pid) for pid in self.pids}
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()
        self.cpu = {pid: cpu_seconds(pid) - before for pid, before in self.cpu.items()}


class Onboarded:
    """Relationships whose lifecycle has given the initial notice and written the stage: the
    store's customer relationships with ``next_annual_due`` set (an index range)."""

    def __init__(self, url: str) -> None:
        self.engine = db.open_engine(url)

    def count(self, prefix: str) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(text(
                "SELECT count(*) FROM privacy_relationships WHERE stage = 'customer' AND next_annual_due IS NOT NULL "
                "AND relationship_id >= :lo AND relationship_id < :hi"), {"lo": f"{prefix}-", "hi": f"{prefix}."}).scalar_one())

    def ledger_types(self, after_seq: int) -> Counter[str]:
        with self.engine.connect() as conn:
            rows = conn.execute(text("SELECT type, count(*) FROM ledger_entries WHERE seq > :s GROUP BY type"), {"s": after_seq})
            return Counter({t: int(n) for t, n in rows})

    def ledger_size(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(text("SELECT size FROM ledger_tip WHERE id = 1")).scalar_one())

    def close(self) -> None:
        self.engine.dispose()


class Figures:
    def __init__(self) -> None:
        self.relationships = 0
        self.seconds = 0.0
        self.accepted_seconds = 0.0
        self.ledger: Counter[str] = Counter()
        self.history_events = 0
        self.peak_rss_kib = 0
        self.server_peak_rss_kib = 0
        self.cpu_seconds = 0.0
        self.server_cpu_seconds = 0.0

    @property
    def rate(self) -> float:
        return self.relationships / self.seconds


async def no_failed_lifecycle(client: Client, prefix: str, done: int, count: int) -> None:
    """A lifecycle that failed never gives its notice: stop at once, naming why the first one failed."""
    query = f"WorkflowId STARTS_WITH '{relationship_workflow_id(prefix)}' AND ExecutionStatus = 'Failed'"
    failed = (await client.count_workflows(query)).count
    if not failed:
        return
    reason = "unknown"
    async for execution in client.list_workflows(query, limit=1):
        try:
            await client.get_workflow_handle(execution.id, run_id=execution.run_id).result()
        except WorkflowFailureError as exc:
            cause: BaseException = exc
            while cause.__cause__ is not None:
                cause = cause.__cause__
            reason = f"{type(cause).__name__}: {cause}"
    raise RuntimeError(f"{failed:,} relationship lifecycles failed ({done:,} of {count:,} onboarded), e.g. {reason}")


async def onboard(api: ResponderClient, client: Client, watch: Onboarded, count: int, per_upload: int, timeout: float,
                  figures: Figures | None = None) -> float:
    """Upload ``count`` new customer relationships in parts, then wait until every one is
    onboarded; seconds from the first upload."""
    prefix = f"ONB{uuid.uuid4().hex[:6].upper()}"
    started = time.perf_counter()
    for first in range(1, count + 1, per_upload):
        numbers = range(first, min(first + per_upload, count + 1))
        summary = await api.call("POST", "/v1/privacy/relationships", expect=201, params={"lifecycles": "start"},
                                 content=upload_csv(prefix, numbers), headers={"Content-Type": "text/csv"})
        assert summary["lifecycles_started"] == len(numbers), summary
        await no_failed_lifecycle(client, prefix, await asyncio.to_thread(watch.count, prefix), count)
    accepted = time.perf_counter() - started
    deadline = time.monotonic() + timeout
    done = 0
    checked = time.monotonic()
    while done < count:
        if time.monotonic() > deadline:
            raise RuntimeError(f"{done:,} of {count:,} relationships onboarded within {timeout:.0f} s")
        if time.monotonic() - checked > FAILURE_CHECK_SECONDS:
            await no_failed_lifecycle(client, prefix, done, count)
            checked = time.monotonic()
        await asyncio.sleep(0.25)
        done = await asyncio.to_thread(watch.count, prefix)
    seconds = time.perf_counter() - started
    if figures is not None:
        figures.relationships, figures.seconds, figures.accepted_seconds = count, seconds, accepted
        history = await client.get_workflow_handle(relationship_workflow_id(f"{prefix}-{1:07d}")).fetch_history()
        figures.history_events = len(history.events)
    return seconds


async def noticeflow_onboarding(stack: DevStack, count: int, per_upload: int, timeout: float, profile: Path | None,
                                processes: int) -> Figures:
    settings = stack.settings
    app = create_app(settings, client=stack.client, step_timeout=600)
    watch = Onboarded(settings.resolved_db_url())
    figures = Figures()
    server_pid = getattr(getattr(stack, "_temporal", None), "pid", None)
    try:
        async with worker_processes(stack, processes) as workers:
            tokens = await asyncio.to_thread(create_demo_keys, settings)
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1", timeout=3600,
                                         headers={"Authorization": f"Bearer {tokens[PRIVACY_OFFICER]}"}) as http:
                api = ResponderClient(http, tokens)
                await api.call("POST", "/v1/privacy/policies", expect=201, json=policy_record("v1", LICENSEE))
                await onboard(api, stack.client, watch, 20, per_upload, timeout)  # warm-up: imports, sandbox, first render, untimed
                before = await asyncio.to_thread(watch.ledger_size)
                profiler = cProfile.Profile() if profile is not None else None
                with Sampler("self", *workers, *([server_pid] if server_pid else [])) as sampler:
                    if profiler is not None:
                        profiler.enable()
                    await onboard(api, stack.client, watch, count, per_upload, timeout, figures)
                    if profiler is not None:
                        profiler.disable()
                if profiler is not None and profile is not None:
                    profiler.dump_stats(str(profile))
                figures.peak_rss_kib = sum(sampler.peak[pid] for pid in ("self", *workers))
                figures.server_peak_rss_kib = sampler.peak.get(server_pid, 0) if server_pid else 0
                figures.cpu_seconds = sum(sampler.cpu[pid] for pid in ("self", *workers))
                figures.server_cpu_seconds = sampler.cpu.get(server_pid, 0.0) if server_pid else 0.0
                figures.ledger = await asyncio.to_thread(watch.ledger_types, before)
    finally:
        watch.close()
    wrong = {t: figures.ledger[t] for t in STEPS if figures.ledger[t] != count}
    assert not wrong, f"the ledger does not hold each onboarding step once per relationship: {wrong} (of {count})"
    return figures


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--relationships", type=int, default=100_000, help="relationships onboarded (quick: 2000)")
    parser.add_argument("--per-upload", type=int, default=MAX_LIFECYCLES_PER_UPLOAD,
                        help=f"relationships per upload (the API starts at most {MAX_LIFECYCLES_PER_UPLOAD:,} lifecycles an upload)")
    parser.add_argument("--baseline", type=int, default=500, help="one-activity workflows per baseline measurement")
    parser.add_argument("--concurrency", type=int, default=10, help="baseline workflows in flight at once")
    parser.add_argument("--timeout", type=float, default=4 * 3600, help="seconds to wait for the onboarding")
    parser.add_argument("--profile", type=Path, default=None, help="write a cProfile of this process during the onboarding")
    parser.add_argument("--worker-processes", type=int, default=1,
                        help="worker processes beside the API's, as deployed (0: the worker in this process; --profile then covers it)")
    args = parser.parse_args()
    configure_logging("ERROR", False)

    with tempfile.TemporaryDirectory(prefix="noticeflow-onboarding-") as home:
        settings = throwaway_settings(Path(home))
        async with DevStack(settings, services=[DevLedgerKey(), DevMailSink()], persistent=False, ui=False) as stack:
            print(f"dev server, {os.cpu_count()} cores (load {os.getloadavg()[0]:.1f} before), {args.relationships:,} relationships "
                  f"in uploads of {args.per_upload:,}, 1 in {EMAIL_EVERY} by e-mail, 1 in {JOINT_EVERY} joint", flush=True)
            await baseline(stack.address, stack.namespace, 20, args.concurrency)  # warm-up
            server_pid = getattr(getattr(stack, "_temporal", None), "pid", None)
            with Sampler("self", *([server_pid] if server_pid else [])) as sdk_sampler:
                sdk_before = await baseline(stack.address, stack.namespace, args.baseline, args.concurrency)
            sdk_cpu = (sdk_sampler.cpu["self"], sdk_sampler.cpu.get(server_pid, 0.0) if server_pid else 0.0)
            ours = await noticeflow_onboarding(stack, args.relationships, args.per_upload, args.timeout, args.profile,
                                              args.worker_processes)
            sdk_after = await baseline(stack.address, stack.namespace, args.baseline, args.concurrency)

    sdk = (sdk_before + sdk_after) / 2
    n = ours.relationships
    entries = sum(ours.ledger.values())
    print(f"{'SDK one-activity workflow (baseline)':<46} {sdk:>9.1f} workflows/s   (before {sdk_before:.1f}, after {sdk_after:.1f}, "
          f"concurrency {args.concurrency})")
    print(f"{'noticeflow relationships onboarded':<46} {ours.rate:>9.1f} relationships/s   ({n:,} in {ours.seconds:.1f} s; "
          f"uploads accepted, lifecycles started after {ours.accepted_seconds:.1f} s)")
    print(f"{'  ledger entries (signed, chained)':<46} {entries / ours.seconds:>9.1f} entries/s   ({entries / n:.1f} per relationship)")
    print(f"{'  history events of one lifecycle so far':<46} {ours.history_events:>9}")
    print(f"peak RSS: API + worker processes {ours.peak_rss_kib / 1024:.0f} MiB, "
          f"dev server {ours.server_peak_rss_kib / 1024:.0f} MiB")
    print(f"CPU per relationship: API + worker processes {ours.cpu_seconds / n * 1000:.1f} ms, dev server {ours.server_cpu_seconds / n * 1000:.1f} ms "
          f"({(ours.cpu_seconds + ours.server_cpu_seconds) / ours.seconds / (os.cpu_count() or 1):.0%} of {os.cpu_count()} cores); "
          f"per baseline workflow: this process {sdk_cpu[0] / args.baseline * 1000:.1f} ms, dev server {sdk_cpu[1] / args.baseline * 1000:.1f} ms")
    print(f"ratio, relationships onboarded ÷ one-activity workflows: {ours.rate / sdk:.3f}  (target ≥ 0.5)")
    print(f"load average after: {os.getloadavg()[0]:.1f}")
    from bench.results import record  # the table `make bench` writes (bench/run_all.py)

    record(measure=f"consumer relationships onboarded ({n:,}: registered, lifecycle started, initial notice)",
           ours=ours.rate, baseline=sdk, unit="relationships/s", baseline_unit="workflows/s",
           baseline_label="SDK one-activity workflow", target="≥ 0.5× baseline", met=ours.rate / sdk >= 0.5,
           note=f"CPU per relationship {(ours.cpu_seconds + ours.server_cpu_seconds) / n * 1000:.0f} ms (API + worker processes + dev server), "
                f"per baseline workflow {sum(sdk_cpu) / args.baseline * 1000:.0f} ms")
    record(measure=f"consumer relationships onboarded ({n:,}): peak RSS of the API + worker processes", ours=ours.peak_rss_kib / 1024,
           unit="MiB", note=f"dev server {ours.server_peak_rss_kib / 1024:.0f} MiB")


if __name__ == "__main__":
    asyncio.run(main())
