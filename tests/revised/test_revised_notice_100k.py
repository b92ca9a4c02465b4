"""Integration tier: a revised notice to 100,000 synthetic consumers end to end — real worker,
ledger, privacy store, print batches and SMTP — on the time-skipping server (28 TAC §§ 22.12–22.14)."""

from __future__ import annotations

import csv
import shutil
import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from activities import db
from activities.privacy_store import DeliveryRow, OpeningRow
from models.revised_notice import RevisedPhase, revised_notice_id
from tests.privacy.builders import ref
from tests.revised.conftest import Population, Stack, SmtpServer, relationship_id

pytestmark = pytest.mark.slow

N = 100_000
EMAIL_EVERY = 50  # 2 % transact electronically and agreed to e-mail (§ 22.13(a)); the rest get letters
NO_CONTACT = frozenset(range(7, N, 10_000))  # 10 consumers with neither address nor e-mail
OPTED_OUT = range(3, N, 1_000)  # 100 earlier opt-outs, still in effect


async def test_a_revised_notice_reaches_100000_consumers_exactly_once_and_the_parent_history_stays_small(
    stack: Stack, smtp_server: SmtpServer
) -> None:
    pop = Population(stack)
    began = time.monotonic()
    pop.register_bulk(N, email_every=EMAIL_EVERY, no_contact=NO_CONTACT)
    # The bulk rows read back exactly as the store's API would have written them.
    assert pop.store.consumer_contacts([ref('C1')])[ref('C1')].postal_address.line1 == '101 Congress Ave'
    assert pop.store.get_relationship(relationship_id(7)).consumer_refs == [ref('C7')]
    before = await stack.now()
    for i in OPTED_OUT:
        pop.opt_out(i, before - timedelta(days=90))
    registered = time.monotonic()

    handle = await pop.start(batch_size=2000, batches_per_child=10)
    result = await handle.result()
    finished = time.monotonic()
    print(f"\n100k: setup {registered - began:.1f}s, workflow {finished - registered:.1f}s")  # noqa: T201

    emailed = len([i for i in range(0, N, EMAIL_EVERY) if i not in NO_CONTACT])
    c = result.counts
    assert result.phase is RevisedPhase.COMPLETED
    assert (c.targeted, c.processed, c.pending) == (N, N, 0)
    assert (c.email, c.mail, c.undeliverable) == (emailed, N - emailed - len(NO_CONTACT), len(NO_CONTACT))
    assert c.sent == N - len(NO_CONTACT) and c.failed == 0 and c.in_doubt == 0
    assert (c.held_by_opt_out, c.not_delivered) == (len(OPTED_OUT), len(NO_CONTACT))
    assert c.opened == N - len(OPTED_OUT) - len(NO_CONTACT)

    # Every relationship accounted for exactly once: one delivery row and one opening each.
    notice = revised_notice_id("v2")
    with db.read(pop.store.engine) as conn:
        deliveries = DeliveryRow.__table__
        openings = OpeningRow.__table__
        rows, distinct = conn.execute(
            select(func.count(), func.count(func.distinct(deliveries.c.relationship_id))).where(deliveries.c.notice_id == notice)
        ).one()
        opened_rows = conn.execute(select(func.count()).where(openings.c.policy_version == "v2")).scalar_one()
    assert rows == distinct == N and opened_rows == N
    assert pop.store.openings_of(relationship_id(3))[0].status.value == "held_by_opt_out"
    assert pop.store.openings_of(relationship_id(7))[0].status.value == "not_delivered"

    assert len(smtp_server.recorder.received) == emailed
    letters = 0
    print_dir = stack.settings.outbox_dir / "print"
    for manifest in print_dir.glob("revised-v2-*/manifest.csv"):
        with manifest.open() as f:
            letters += sum(1 for _ in csv.DictReader(f))
        assert (manifest.parent / "READY").exists()
    assert letters == c.mail
    shutil.rmtree(print_dir)  # ~40 MB of print streams (a letter file each: ~350 MB)

    types = pop.types()
    assert types.count("revised_notice.batch_delivered") == N // 2000
    assert types.count("revised_notice.batch_opened") == N // 2000
    assert types[-1] == "revised_notice.completed"
    stack.verify()

    lengths = await pop.history_lengths(handle)
    assert max(lengths) < 400, lengths  # 10 children and ~20 ledger steps, whatever the population
