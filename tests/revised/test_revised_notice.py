"""RevisedNoticeWorkflow on the time-skipping server with a real worker, ledger, privacy store,
print batches and SMTP server (28 TAC §§ 22.12–22.14)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from temporalio.client import WorkflowUpdateFailedError
from temporalio.testing import ActivityEnvironment

from activities.print_stream import read_stream
from models.privacy import DeliveryChannel, NoticeKind
from models.privacy_lifecycle import DeliveryRecord, DeliveryStatus, OpeningStatus
from models.revised_notice import DeliverBatchInput, MarkDeliveries, RevisedPhase, revised_notice_id
from tests.revised.conftest import (
    V1,
    Population,
    Stack,
    SmtpServer,
    eventually,
    relationship_id,
    same_category_recipient,
    without_opt_out_explanation,
)
from workflows.refusals import refusal_details
from workflows.revised_notice import RevisedNoticeWorkflow

NOTICE = revised_notice_id("v2")


def key(i: int) -> str:
    return f"{relationship_id(i)}/{NOTICE}"


def openings(pop: Population, n: int) -> dict[int, OpeningStatus]:
    found = {}
    for i in range(n):
        for o in pop.store.openings_of(relationship_id(i)):
            if o.policy_version == "v2":
                found[i] = o.status
    return found


async def test_no_revised_notice_for_a_new_recipient_in_a_category_already_described_22_12_b_2(
    stack: Stack, smtp_server: SmtpServer
) -> None:
    pop = Population(stack)
    other = same_category_recipient()
    pop.register(6, policies=(V1, other))
    handle = await pop.start("v1", other.version_id)
    result = await handle.result()

    assert result.phase is RevisedPhase.NOT_REQUIRED and not result.revised_notice_required
    assert "22.12(b)(2)" in result.citation
    assert result.counts.sent == 0 and result.counts.targeted == 0
    assert smtp_server.recorder.received == []
    assert stack.resources.revised.totals(revised_notice_id(other.version_id)) == {}
    assert not (stack.settings.outbox_dir / "print").exists()
    assert pop.types("v1", other.version_id) == ["revised_notice.started", "revised_notice.diffed", "revised_notice.not_required"]
    diffed = pop.entries("v1", other.version_id)[1]
    assert diffed.data["revised_notice_required"] is False
    assert [c["kind"] for c in diffed.data["changes"]] == ["new_recipient_already_described"]
    stack.verify()
    await pop.save_histories("revised_not_required", [handle.id])


async def test_a_notice_failing_22_10_b_is_refused_and_nothing_is_sent(stack: Stack, smtp_server: SmtpServer) -> None:
    pop = Population(stack)
    bad = without_opt_out_explanation()
    pop.register(8, policies=(V1, bad))
    handle = await pop.start("v1", bad.version_id)
    result = await handle.result()

    assert result.phase is RevisedPhase.REFUSED and result.revised_notice_required
    assert result.refusal is not None and "28 TAC § 22.10" in result.refusal
    assert smtp_server.recorder.received == []
    assert stack.resources.revised.totals(revised_notice_id(bad.version_id)) == {}
    assert not (stack.settings.outbox_dir / "print").exists()
    assert pop.types("v1", bad.version_id) == ["revised_notice.started", "revised_notice.diffed", "revised_notice.refused"]
    refused = pop.entries("v1", bad.version_id)[-1]
    assert refused.citation == "28 TAC § 22.10(b)"
    assert {f["item"] for f in refused.data["findings"]} >= {"§ 22.10(b)(6)"} and refused.data["sent"] == 0
    stack.verify()
    await pop.save_histories("revised_refused", [handle.id])


async def test_every_affected_relationship_gets_the_notice_and_opens_only_after_its_reasonable_opportunity_22_12_22_14(
    stack: Stack, smtp_server: SmtpServer
) -> None:
    pop = Population(stack)
    n = 23
    # 7 cannot be reached; 9 is a former customer (v2 discloses former customers' information,
    # § 22.12(b)(3)); 11's relationship is closed: it gets nothing.
    pop.register(n, no_contact=frozenset({7}), former_customers=frozenset({9}), closed=frozenset({11}))
    start_time = await stack.now()
    pop.opt_out(3, start_time - timedelta(days=400))  # an earlier opt-out: stays honoured
    revoked = pop.opt_out(4, start_time - timedelta(days=400))
    pop.store.record_revocation(revoked, start_time - timedelta(days=100), "written")  # revoked: no longer in effect

    handle = await pop.start(batch_size=4, batches_per_child=2)

    async def delivered():  # type: ignore[no-untyped-def]
        state = await pop.progress(handle)
        return state if state.phase is RevisedPhase.WAITING_FOR_WINDOWS else None

    state = await eventually(delivered, timeout=60)
    emailed = [i for i in range(0, n, 5) if i != 11]  # every 5th transacts electronically and agreed (§ 22.13(a))
    assert state.counts.targeted == n - 1 and state.counts.processed == n - 1 and state.pending == 0
    assert state.counts.email == len(emailed) == 5
    assert state.counts.mail == n - 1 - len(emailed) - 1
    assert state.counts.undeliverable == 1 and state.counts.sent == n - 2
    assert sorted(smtp_server.recorder.recipients()) == sorted(f"jordan.{i}@mail.example" for i in emailed)
    batches = sorted((stack.settings.outbox_dir / "print").glob("revised-v2-*"))
    assert sum(len(read_stream(b)) for b in batches) == state.counts.mail  # one row per letter, no letter files
    assert all((b / "READY").exists() and not (b / "letters").exists() for b in batches)
    assert state.counts.opened == 0  # nothing opens before the window ends
    assert openings(pop, n) == {}

    # Three days in: an acknowledgement of an e-mailed notice, which starts its 30 days anew (§ 22.14(b)(2)).
    await stack.skip(timedelta(days=3))
    ack = await handle.execute_update(
        RevisedNoticeWorkflow.mark_deliveries,
        MarkDeliveries(delivery_keys=[key(5)], status=DeliveryStatus.ACKNOWLEDGED, recorded_by="portal", batch_ref="ack-1"),
    )
    assert (ack.marked, ack.acknowledged_total) == (1, 1)
    # An opt-out during the window, and a letter returned by the post office.
    pop.opt_out(12, await stack.now())
    returned = await handle.execute_update(
        RevisedNoticeWorkflow.mark_deliveries,
        MarkDeliveries(delivery_keys=[key(13), key(7), "REL-9999999/" + NOTICE], status=DeliveryStatus.RETURNED,
                       recorded_by="mailroom", batch_ref="returns-1"),
    )
    assert (returned.marked, returned.not_marked, returned.returned_total) == (1, 2, 1)  # 7 never went out; 9999999 is unknown
    again = await handle.execute_update(  # the same file of returns, sent again
        RevisedNoticeWorkflow.mark_deliveries,
        MarkDeliveries(delivery_keys=[key(7), key(13), "REL-9999999/" + NOTICE], status=DeliveryStatus.RETURNED,
                       recorded_by="mailroom", batch_ref="returns-1"),
    )
    assert (again.marked, again.already, again.returned_total) == (0, 1, 1)
    with pytest.raises(WorkflowUpdateFailedError) as refused:  # other keys under a used batch_ref: refused, nothing marked
        await handle.execute_update(
            RevisedNoticeWorkflow.mark_deliveries,
            MarkDeliveries(delivery_keys=[key(14)], status=DeliveryStatus.RETURNED, recorded_by="mailroom", batch_ref="returns-1"),
        )
    assert getattr(refused.value.cause, "type", None) == "batch_ref_already_used"
    assert pop.store.get_delivery(key(14)).status is DeliveryStatus.SENT
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update(
            RevisedNoticeWorkflow.mark_deliveries,
            MarkDeliveries(delivery_keys=[f"{relationship_id(1)}/annual-2025"], status=DeliveryStatus.RETURNED,
                           recorded_by="mailroom", batch_ref="wrong"),
        )
    details = refusal_details(refused.value.cause)
    assert details is not None and (details["rule_id"], details["field"]) == ("delivery_key_of_another_notice", "delivery_keys[0]")

    # Day 30 ends: everything opens except the held, the undelivered, and the moved window.
    await stack.skip(timedelta(days=28))

    async def first_window_closed():  # type: ignore[no-untyped-def]
        s = await pop.progress(handle)
        return s if s.cohorts_closed >= 1 and s.phase is RevisedPhase.WAITING_FOR_WINDOWS else None

    state = await eventually(first_window_closed, timeout=60)
    status = openings(pop, n)
    assert status[3] is OpeningStatus.HELD_BY_OPT_OUT and status[12] is OpeningStatus.HELD_BY_OPT_OUT
    assert status[4] is OpeningStatus.OPENED and status[9] is OpeningStatus.OPENED
    assert status[7] is OpeningStatus.NOT_DELIVERED and status[13] is OpeningStatus.NOT_DELIVERED
    assert 5 not in status and 11 not in status
    assert state.counts.deferred == 1 and len(state.cohorts) == 1

    await stack.skip(timedelta(days=4))
    result = await handle.result()
    assert result.phase is RevisedPhase.COMPLETED
    status = openings(pop, n)
    assert status[5] is OpeningStatus.OPENED and 11 not in status
    c = result.counts
    assert (c.opened, c.held_by_opt_out, c.not_delivered, c.deferred) == (n - 1 - 4, 2, 2, 0)
    assert (c.returned, c.acknowledged) == (1, 1)
    assert c.opened + c.held_by_opt_out + c.not_delivered == c.targeted
    opened = {o.relationship_id: o for o in pop.store.openings_of(relationship_id(5)) + pop.store.openings_of(relationship_id(0))}
    assert opened[relationship_id(5)].opened_at > opened[relationship_id(0)].opened_at
    assert opened[relationship_id(0)].opened_at - start_time >= timedelta(days=30)
    assert len(smtp_server.recorder.received) == 5  # nothing was sent twice

    types = pop.types()
    assert types[:4] == ["revised_notice.started", "revised_notice.diffed", "revised_notice.rendered", "revised_notice.fanout_started"]
    assert types.count("revised_notice.batch_delivered") == 6 and types.count("revised_notice.window_closed") == 2
    assert types.count("revised_notice.returned") == 1 and types.count("revised_notice.acknowledged") == 1
    assert types[-1] == "revised_notice.completed"
    entries = pop.entries()
    assert all(e.citation for e in entries)
    assert "22.12(b)(1)" in entries[1].citation and "22.12(b)(3)" in entries[1].citation
    assert any("22.14(b)(1)" in e.citation for e in entries if e.type == "revised_notice.window_closed")
    text = json.dumps([e.data for e in entries])
    assert "Jordan" not in text and "@mail.example" not in text and "Congress" not in text
    stack.verify()
    await pop.save_histories("revised_full", [handle.id, f"{handle.id}/deliver-00000", f"{handle.id}/open-0000-0000"])


async def test_a_retried_batch_sends_nothing_twice_and_an_interrupted_email_is_never_resent(
    stack: Stack, smtp_server: SmtpServer
) -> None:
    pop = Population(stack)
    pop.register(10)
    acts = stack.resources.revised
    as_of = await stack.now()
    # An attempt that died after handing relationship 0's e-mail to the server left only its claim.
    pop.store.claim_deliveries([
        DeliveryRecord(delivery_key=key(0), relationship_id=relationship_id(0), notice_id=NOTICE, kind=NoticeKind.REVISED,
                       policy_version="v2", includes_opt_out_notice=True, channel=DeliveryChannel.EMAIL,
                       status=DeliveryStatus.PENDING, delivered_at=as_of, consumer_agreed_electronic=True)
    ])
    batch = DeliverBatchInput(old_version="v1", new_version="v2", notice_id=NOTICE, jurisdiction="TX", include_former_customers=True,
                              after=None, limit=10, batch_no=0, as_of=as_of)
    env = ActivityEnvironment()
    first = await env.run(acts.deliver_batch, batch)
    assert first.counts.processed == 10 and first.counts.in_doubt == 1 and first.counts.email == 1  # 5 sent, 0 in doubt
    assert smtp_server.recorder.recipients() == ["jordan.5@mail.example"]
    assert pop.store.get_delivery(key(0)).status is DeliveryStatus.IN_DOUBT

    second = await env.run(acts.deliver_batch, batch)
    assert second.already_recorded == 10 and second.digest == first.digest and second.counts == first.counts
    assert smtp_server.recorder.recipients() == ["jordan.5@mail.example"]
    manifest = (stack.settings.outbox_dir / "print" / "revised-v2-000000" / "manifest.csv").read_text()
    assert len(manifest.strip().splitlines()) == 1 + 8
    assert acts.totals(NOTICE) == {"sent": 9, "in_doubt": 1}


async def test_the_parent_history_stays_bounded_as_the_population_grows(stack: Stack, smtp_server: SmtpServer) -> None:
    pop = Population(stack)
    n = 60
    pop.register(n, email_every=0)
    handle = await pop.start(batch_size=2, batches_per_child=2, max_history_events=200)
    result = await handle.result()
    assert result.phase is RevisedPhase.COMPLETED
    assert result.counts.processed == n and result.counts.opened == n and result.counts.sent == n
    lengths = await pop.history_lengths(handle)
    # 30 delivery and 30 opening batches in 30 children: one run would hold ~300 events.
    assert len(lengths) >= 2, lengths
    assert max(lengths) <= 200 + 30, lengths
    children = await stack.client.get_workflow_handle(f"{handle.id}/deliver-00000").fetch_history()
    assert len(children.events) < 80
    assert pop.types().count("revised_notice.batch_delivered") == n // 2
    assert pop.types().count("revised_notice.completed") == 1
    stack.verify()
    await pop.save_histories("revised_continued", [handle.id])
