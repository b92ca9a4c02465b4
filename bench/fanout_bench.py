"""The revised-notice fan-out on the Temporal dev server, next to a plain batched loop producing
the same output without Temporal, measured in the same run.

For each population size:

- baseline    ``RevisedNoticeActivities.deliver_batch`` called in a plain loop over the keyset
              pages (same page size, same store, same channels), no Temporal at all: the same
              deliveries recorded, the same print batches (one print stream per batch) and the
              same e-mails (one SMTP connection per batch).
- noticeflow  ``RevisedNoticeWorkflow`` v1 → v2 on the dev server with one in-process worker:
              diff, render once, batch children, every batch ledgered (signed, chained), until
              every relationship is delivered (the openings wait 30 days of real time and are
              not part of the figure). Started as the API starts it, signed for its caller.

Both deliver to the same population: 10 % of consumers transact electronically and agreed to
e-mail, 90 % get letters. The e-mails go to a relay in its own process (aiosmtpd, offering
PIPELINING as Postfix does; ``--mail-sink dev``: the dev stack's sink inside this process). A
janitor takes sealed print batches and received mail away as a mail vendor and the inboxes would,
so 10^6 fits on a disk, and keeps each batch's file digests: the two runs must have written the
same batches, file for file (on the same day: a letter carries its mailing date).
Figures: consumers/s, and peak RSS of this process (worker, activities; the dev server and the
relay are separate processes) while each phase ran.

Run: ``.venv/bin/python bench/fanout_bench.py [--sizes 10000,100000] [--batch-size 2000]``
(10^6: ``--sizes 1000000``, about five minutes per phase on 2 cores).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import os
import shutil
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("NOTICEFLOW_LOG_LEVEL", "ERROR")

from temporalio.client import Client  # noqa: E402
from temporalio.testing import ActivityEnvironment  # noqa: E402

from activities import db  # noqa: E402
from activities.privacy_store import (  # noqa: E402
    ConsumerRow,
    DeliveryRow,
    PrivacyStore,
    RelationshipMemberRow,
    RelationshipRow,
)
from activities.revised_notice import RevisedNoticeActivities  # noqa: E402
from api.actor_signing import SigningInterceptor, signing_client  # noqa: E402
from bench.results import record  # noqa: E402
from config.settings import Settings  # noqa: E402
from ledger.actor_assertions import load_signer  # noqa: E402
from models.actors import ledger_actor  # noqa: E402
from ledger.npi import npi_digest  # noqa: E402
from models.privacy_lifecycle import PrivacyConsumer, PrivacyPolicyRecord  # noqa: E402
from models.revised_notice import (  # noqa: E402
    DeliverBatchInput,
    RevisedNoticeStart,
    RevisedPhase,
    revised_notice_id,
    revised_workflow_id,
)
from noticeflow.devstack import DevLedgerKey, DevMailSink, DevStack, free_port, throwaway_settings  # noqa: E402
from noticeflow.logging import configure_logging  # noqa: E402
from noticeflow.worker import WorkerResources, build_worker  # noqa: E402
from workflows import search_attributes as sa
from workflows.revised_notice import RevisedNoticeWorkflow  # noqa: E402

EMAIL_EVERY = 10
#: Issue 14's targets: 10^6 in ≤ 5 min (≥ 3,300/s), ≥ 0.7 × the plain loop, RSS < 1 GiB.
TARGET_RATE = 3_300
TARGET_RATIO = 0.7
TARGET_RSS_MIB = 1024
NPI_KEY = b"fanout-bench-npi-key"

POLICY_V1 = {
    "version_id": "v1",
    "effective_on": "2024-01-01",
    "collects": ["information from the consumer"],
    "disclosures": [
        {"npi_category": "application information", "recipient_kind": "nonaffiliated_third_party",
         "recipient_category": "financial service providers", "recipients": ["Harpeth Premium Finance"]},
    ],
}
POLICY_V2 = {
    **POLICY_V1,
    "version_id": "v2",
    "effective_on": "2025-07-01",
    "disclosures": [
        *POLICY_V1["disclosures"],
        {"npi_category": "consumer report information", "recipient_kind": "nonaffiliated_third_party",
         "recipient_category": "financial service providers"},
    ],
}
NOTICE = {
    "notice_id": "privacy-notice",
    "kind": "revised",
    "format": "full",
    "categories_collected": ["information from the consumer, such as applications"],
    "categories_disclosed": [
        {"name": "application information", "examples": ["name and address", "assets and income"]},
        {"name": "consumer report information", "examples": ["credit history"]},
    ],
    "recipient_categories": [
        {"name": "financial service providers", "kind": "nonaffiliated", "examples": ["premium finance companies"]},
    ],
    "former_customers": {"discloses_none": True},
    "opt_out": {"explanation": "You may direct us not to share your information with nonaffiliated third parties.",
                "methods": ["call 1-800-555-0142", "return the enclosed form"]},
    "confidentiality_security": {"who_has_access": "Only employees who need it to serve you.",
                                 "security_practices_statement": "We keep physical, electronic and procedural safeguards."},
    "exceptions_statement": "We also disclose information to other nonaffiliated third parties as permitted by law.",
}
LETTERHEAD = {
    "licensee_name": "Brazos Mutual Insurance Company",
    "contact": {"phone": "1-800-555-0142", "email": "privacy@brazos.example", "hours": "Mon–Fri 8–5 Central"},
}


def policy(version: dict) -> PrivacyPolicyRecord:  # type: ignore[type-arg]
    return PrivacyPolicyRecord.model_validate(
        {"policy": version, "notice": {**NOTICE, "policy_version": version["version_id"]}, **LETTERHEAD}
    )


# -- population -----------------------------------------------------------------------------------


def populate(store: PrivacyStore, n: int) -> None:
    """``n`` consumers (contact sealed as the store seals it) and one relationship each, inserted in
    bulk through the store's tables (the API's per-row checks would dominate the setup)."""
    import json

    store.put_policy(policy(POLICY_V1))
    store.put_policy(policy(POLICY_V2))
    chunk = 20_000
    for start in range(0, n, chunk):
        consumers, relationships, members = [], [], []
        for i in range(start, min(n, start + chunk)):
            ref = npi_digest(f"C{i}", NPI_KEY)
            electronic = i % EMAIL_EVERY == 0
            consumers.append(PrivacyConsumer(
                consumer_ref=ref, jurisdiction="TX", name=f"Jordan Alvarez {i}",
                email=f"jordan.{i}@mail.example" if electronic else None,
                postal_address={"line1": f"{100 + i % 9000} Congress Ave", "city": "Austin", "region": "TX",
                                "postal_code": "78701"},
                e_delivery_consent=electronic, transacts_electronically=electronic,
            ))
            rid = f"REL-{i:08d}"
            relationships.append({"relationship_id": rid, "jurisdiction": "TX", "consumer_refs": json.dumps([ref]),
                                  "is_customer": True, "isolated_transaction": False, "policy_version": "v1",
                                  "stage": "customer"})
            members.append({"relationship_id": rid, "consumer_ref": ref})
        rows = store.sealed_consumer_rows(consumers)
        with db.write(store.engine) as conn:
            conn.execute(ConsumerRow.__table__.insert(), rows)
            conn.execute(RelationshipRow.__table__.insert(), relationships)
            conn.execute(RelationshipMemberRow.__table__.insert(), members)


def wipe_deliveries(store: PrivacyStore, outbox: Path) -> None:
    with db.write(store.engine) as conn:
        conn.execute(DeliveryRow.__table__.delete())
    shutil.rmtree(outbox / "print", ignore_errors=True)


def signed(client: Client, settings: Settings) -> Client:
    """The client the API would use: it signs the start for the person it names ("bench"), so the
    ledger records ``revised_notice.started`` in that name (``api/actor_signing.py``)."""
    signer = load_signer(settings.resolved_actor_assertion_key_file(), settings.actor_assertion_ttl_seconds)
    actor = ledger_actor("bench")
    return signing_client(client, SigningInterceptor(signer, actor_of=lambda name, args: actor))


#: The relay the bench sends to by default: its own process, as a relay is (the dev stack's sink runs
#: inside this process and would take the GIL from the worker), offering PIPELINING as Postfix does,
#: keeping every message as an ``.eml`` file.
RELAY = """
import asyncio, os, sys
from pathlib import Path
from aiosmtpd.controller import Controller

class Relay:
    def __init__(self, folder):
        self.folder, self.count = Path(folder), 0
    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        return [*responses[:-1], "250-PIPELINING", responses[-1]]
    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        (self.folder / f"{os.getpid()}-{self.count:08d}.eml").write_bytes(envelope.original_content or envelope.content)
        return f"250 2.0.0 Ok: queued as Q{self.count:08d}"

Path(sys.argv[1]).mkdir(parents=True, exist_ok=True)
controller = Controller(Relay(sys.argv[1]), hostname="127.0.0.1", port=int(sys.argv[2]))
controller.start()
print("ready", flush=True)
sys.stdin.read()
controller.stop()
"""


class RelayProcess:
    """:data:`RELAY` running in a child process on ``port`` while the block runs."""

    def __init__(self, folder: Path, port: int) -> None:
        self.folder, self.port = folder, port

    def __enter__(self) -> RelayProcess:
        import subprocess

        self._proc = subprocess.Popen([sys.executable, "-c", RELAY, str(self.folder), str(self.port)],
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self._proc.stdout is not None and self._proc.stdout.readline().strip() == "ready"
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._proc.stdin is not None
        self._proc.stdin.close()
        self._proc.wait(timeout=30)


# -- measuring ------------------------------------------------------------------------------------


def rss_kib() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class Sampler:
    """Peak RSS of this process while a phase runs (sampled every 100 ms)."""

    def __init__(self) -> None:
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_kib())
            self._stop.wait(0.1)

    def __enter__(self) -> Sampler:
        self.peak = rss_kib()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_kib())


class Janitor:
    """Takes sealed print batches and received mail away, as the mail vendor and the inboxes would,
    keeping the sha256 of each batch's files to compare the two runs' output."""

    def __init__(self, outbox: Path, mail: Path | None) -> None:
        self.outbox, self.mail = outbox, mail
        self.letters = 0
        self.emails = 0
        self.batches: dict[str, tuple[str, ...]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def sweep(self) -> None:
        for ready in (self.outbox / "print").glob("*/READY"):
            batch = ready.parent
            manifest = batch / "manifest.csv"
            if manifest.exists():
                data = manifest.read_bytes()
                self.letters += max(data.count(b"\n") - 1, 0)
                self.batches[batch.name] = tuple(
                    hashlib.sha256(f.read_bytes()).hexdigest() for f in sorted(batch.iterdir()) if f.is_file()
                )
            shutil.rmtree(batch, ignore_errors=True)
        if self.mail is not None and self.mail.exists():
            for eml in self.mail.glob("*.eml"):
                eml.unlink(missing_ok=True)
                self.emails += 1

    def _run(self) -> None:
        while not self._stop.wait(2.0):
            self.sweep()

    def __enter__(self) -> Janitor:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.sweep()


@dataclass
class Figures:
    seconds: float
    peak_rss_kib: int
    letters: int
    emails: int
    #: Print batch → sha256 of each of its files (notice.html, manifest.csv, batch.json, READY).
    batches: dict[str, tuple[str, ...]]
    day: str

    def rate(self, n: int) -> float:
        return n / self.seconds


async def plain_loop(acts: RevisedNoticeActivities, n: int, batch: int) -> None:
    """The same deliveries as the workflow's batch children, page after page, without Temporal."""
    from datetime import UTC, datetime

    env = ActivityEnvironment()
    after, no = None, 0
    done = 0
    while True:
        res = await env.run(
            acts.deliver_batch,
            DeliverBatchInput(old_version="v1", new_version="v2", notice_id=revised_notice_id("v2"), jurisdiction="TX",
                              include_former_customers=False, after=after, limit=batch, batch_no=no, as_of=datetime.now(UTC)),
        )
        if res.last_id is None:
            break
        done += res.counts.processed
        after, no = res.last_id, no + 1
        if res.counts.processed < batch:
            break
    assert done == n, (done, n)


def _today() -> str:
    from datetime import UTC, datetime

    return datetime.now(UTC).date().isoformat()


async def run_size(stack: DevStack, n: int, batch: int, per_child: int) -> tuple[Figures, Figures]:
    settings = stack.settings.model_copy(update={"db_url": f"sqlite:///{stack.home / f'fanout-{n}.db'}",
                                                 "home": stack.home})
    mail = stack.home / "mail"
    resources = WorkerResources(settings)
    try:
        store = resources.revised.store
        t = time.perf_counter()
        populate(store, n)
        print(f"  {n:>9,} consumers registered in {time.perf_counter() - t:.1f}s", flush=True)

        with Janitor(settings.outbox_dir, mail) as janitor, Sampler() as sampler:
            started = time.perf_counter()
            await plain_loop(resources.revised, n, batch)
            seconds = time.perf_counter() - started
        base = Figures(seconds, sampler.peak, janitor.letters, janitor.emails, janitor.batches, _today())
        wipe_deliveries(store, settings.outbox_dir)

        with Janitor(settings.outbox_dir, mail) as janitor, Sampler() as sampler:
            async with build_worker(stack.client, settings, resources):
                started = time.perf_counter()
                handle = await signed(stack.client, settings).start_workflow(
                    RevisedNoticeWorkflow.run,
                    RevisedNoticeStart(old_version="v1", new_version="v2", started_by="bench", batch_size=batch,
                                       batches_per_child=per_child),
                    id=f"{revised_workflow_id('v1', 'v2')}-{n}", task_queue=settings.task_queue,
                )
                # The phase as the server has it (the NoticeflowStage search attribute, upserted at
                # each phase change): watching it costs the worker nothing, unlike a query.
                done = {p.value for p in (RevisedPhase.WAITING_FOR_WINDOWS, RevisedPhase.COMPLETED, RevisedPhase.REFUSED)}
                while (await handle.describe()).typed_search_attributes.get(sa.STAGE) not in done:
                    await asyncio.sleep(0.1)
                seconds = time.perf_counter() - started
                state = await handle.query(RevisedNoticeWorkflow.progress)
                assert state.counts.processed == n, state.counts
                await handle.terminate("bench: the openings wait 30 days")
        flow = Figures(seconds, sampler.peak, janitor.letters, janitor.emails, janitor.batches, _today())
        assert (flow.letters, flow.emails) == (base.letters, base.emails), (flow.letters, flow.emails, base.letters, base.emails)
        if flow.day == base.day:  # a letter carries its mailing date: the same files only on the same day
            assert flow.batches == base.batches, "the plain loop and the workflow wrote different print batches"
        return base, flow
    finally:
        resources.close()
        (stack.home / f"fanout-{n}.db").unlink(missing_ok=True)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="10000,100000", help="comma-separated population sizes (e.g. 10000,100000,1000000)")
    parser.add_argument("--batch-size", type=int, default=RevisedNoticeStart.model_fields["batch_size"].default,
                        help="relationships per batch activity (default: the workflow's)")
    parser.add_argument("--batches-per-child", type=int, default=10)
    parser.add_argument("--mail-sink", choices=("relay", "dev"), default="relay",
                        help="relay: a relay in its own process offering PIPELINING (default); dev: the dev stack's in-process sink")
    args = parser.parse_args()
    configure_logging("ERROR", False)
    sizes = [int(s) for s in args.sizes.split(",") if s]

    rows = []
    with tempfile.TemporaryDirectory(prefix="noticeflow-fanout-") as home:
        settings = throwaway_settings(Path(home), npi_digest_key=hashlib.sha256(NPI_KEY).hexdigest())
        services = [DevLedgerKey(), *([DevMailSink()] if args.mail_sink == "dev" else [])]
        async with DevStack(settings, services=services, persistent=False, ui=False) as stack, contextlib.AsyncExitStack() as relay:
            if args.mail_sink == "relay":
                port = free_port()
                relay.enter_context(RelayProcess(stack.home / "mail", port))
                stack.settings = stack.settings.model_copy(update={"smtp_host": "127.0.0.1", "smtp_port": port, "smtp_starttls": False,
                                                                   "smtp_username": None, "smtp_password": None})
            print(f"dev server, {os.cpu_count()} cores (load {os.getloadavg()[0]:.1f} before), batch {args.batch_size}, "
                  f"{args.batches_per_child} batches per child, "
                  f"1 in {EMAIL_EVERY} by e-mail to the {'relay process (PIPELINING)' if args.mail_sink == 'relay' else 'in-process dev sink'}",
                  flush=True)
            for n in sizes:
                base, flow = await run_size(stack, n, args.batch_size, args.batches_per_child)
                rows.append((n, base, flow))
                print(f"  {n:>9,}: plain loop {base.rate(n):8.0f}/s ({base.seconds:.1f}s, peak RSS {base.peak_rss_kib / 1024:.0f} MiB)   "
                      f"workflow {flow.rate(n):8.0f}/s ({flow.seconds:.1f}s, peak RSS {flow.peak_rss_kib / 1024:.0f} MiB)   "
                      f"ratio {flow.rate(n) / base.rate(n):.2f}   letters {flow.letters:,}, e-mails {flow.emails:,}", flush=True)

    print()
    print(f"load average after: {os.getloadavg()[0]:.1f} (this bench, its relay and the dev server count for about 2)")
    print(f"{'consumers':>10} {'plain loop/s':>13} {'workflow/s':>11} {'ratio':>6} {'peak RSS loop':>14} {'peak RSS workflow':>18}")
    for n, base, flow in rows:
        print(f"{n:>10,} {base.rate(n):>13.0f} {flow.rate(n):>11.0f} {flow.rate(n) / base.rate(n):>6.2f} "
              f"{base.peak_rss_kib / 1024:>10.0f} MiB {flow.peak_rss_kib / 1024:>14.0f} MiB")
        size = f"10^{len(str(n)) - 1}" if str(n).rstrip("0") == "1" else f"{n:,}"
        rate, ratio = flow.rate(n), flow.rate(n) / base.rate(n)
        record(measure=f"revised-notice fan-out, {size} consumers", ours=rate, baseline=base.rate(n), unit="consumers/s",
               baseline_label="plain batched loop", target=f"≥ {TARGET_RATE:,}/s and ≥ {TARGET_RATIO}× plain loop",
               met=rate >= TARGET_RATE and ratio >= TARGET_RATIO)
        record(measure=f"revised-notice fan-out, {size} consumers: peak RSS", ours=flow.peak_rss_kib / 1024,
               baseline=base.peak_rss_kib / 1024, unit="MiB", baseline_label="plain batched loop",
               target="< 1 GiB", met=flow.peak_rss_kib / 1024 < TARGET_RSS_MIB)


if __name__ == "__main__":
    asyncio.run(main())
