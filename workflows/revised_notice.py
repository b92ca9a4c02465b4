"""One durable workflow per privacy-policy change, id ``revised-notice-<old>-<new>`` (SPEC §4;
28 TAC §§ 22.12–22.14; 18 Del. Admin. Code § 904-4.0).

diff the two versions → (no revised notice needed: recorded, done) → check and render the revised
notice with its opt-out notice once (§ 22.10; a failing check refuses, nothing is sent) → deliver
to every affected relationship in batches → one durable timer per cohort of batches whose
reasonable opportunity to opt out ends together (§ 22.14(b)) → open the new disclosures per
relationship (opened / held by an opt-out / not delivered) → done.

Scale: the parent never sees a consumer. Each ``RevisedNoticeBatchWorkflow`` child runs up to
``batches_per_child`` batch activities over keyset pages of the privacy store and hands back a
cursor (the last relationship id), counts and cohorts; the parent continues as new (between
children, with cursor, cohorts and counts) once its history passes ``max_history_events``. A
million relationships in pages of 1,000 is 100 children, each with ~120 history events, and a
parent that never grows past its limit.
"""

from __future__ import annotations

import asyncio
import hashlib
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from models.actors import step_actor as _actor
    from models.privacy import ConsumerRelationship, DeliveryChannel, NoticeDelivery, NoticeKind, PolicyChangeKind
    from models.privacy_lifecycle import DeliveryStatus
    from models.revised_notice import (
        BatchChildInput,
        BatchChildResult,
        Cohort,
        DeliverBatchInput,
        DeliverBatchResult,
        FanoutCounts,
        MarkDeliveries,
        MarkInput,
        MarkResult,
        OpenBatchInput,
        OpenBatchResult,
        OpeningTotalsInput,
        PoliciesInput,
        PolicyPair,
        PopulationInput,
        PrepareInput,
        PrepareResult,
        RevisedNoticeCarry,
        RevisedNoticeResult,
        RevisedNoticeStart,
        RevisedNoticeState,
        RevisedPhase,
        revised_notice_id,
        revised_stream,
    )
    from rules.disclosure import reasonable_opportunity
    from rules.privacy_notices import diff_policies

from workflows import search_attributes as sa
from workflows.common import DELIVERY, QUICK, iso, markdown_deadline, record
from workflows.privacy_checks import guard_free_text, ledger_refusal, not_future
from workflows.refusals import refuse_input, refuse_state
from workflows.rules_call import call_rules

LOAD_POLICIES = "revised_notice_load_policies"
PREPARE = "revised_notice_prepare"
POPULATION = "revised_notice_population"
DELIVER_BATCH = "revised_notice_deliver_batch"
OPEN_BATCH = "revised_notice_open_batch"
OPENING_TOTALS = "revised_notice_opening_totals"
MARK_DELIVERIES = "revised_notice_mark_deliveries"

KIND = "revised_notice"
#: Delaware's revised-notice rule, cited beside the Texas section the rules engine applies.
PARALLEL_CITATIONS = {"DE": "18 Del. Admin. Code § 904-4.0"}
CITE_DELIVERY = "28 TAC § 22.13"
CITE_OPENING = "28 TAC § 22.12(a); § 22.14(a)"
#: Opening a page is a few reads and one write: quick, but pages of 5,000 need more than QUICK.
OPENING = {
    "start_to_close_timeout": timedelta(minutes=5),
    "retry_policy": RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=1)),
}


def _cite(citation: str, jurisdiction: str | None) -> str:
    parallel = PARALLEL_CITATIONS.get(jurisdiction or "")
    return f"{citation}; {parallel}" if parallel else citation


def _cohort_window(notice_id: str, version: str, as_of, jurisdiction: str, with_email: bool) -> tuple:  # type: ignore[no-untyped-def]
    """The reasonable opportunity a batch mailed (and e-mailed) at ``as_of`` gives (§ 22.14(b)(1),
    (2)): the later of the two windows, so no relationship of the batch opens early."""
    facts = ConsumerRelationship(consumer_ref="cohort", is_customer=True)
    windows = []
    for channel in (DeliveryChannel.MAIL, *((DeliveryChannel.EMAIL,) if with_email else ())):
        delivery = NoticeDelivery(
            notice_id=notice_id, kind=NoticeKind.REVISED, policy_version=version, includes_opt_out_notice=True, channel=channel,
            delivered_at=as_of, consumer_agreed_electronic=channel is DeliveryChannel.EMAIL,
        )
        windows.append(call_rules(reasonable_opportunity, delivery, facts, jurisdiction))
    allowed = max(w.disclosure_allowed_from for w in windows)
    return allowed, "; ".join(dict.fromkeys(w.citation for w in windows)), "+".join(w.example for w in windows)


# =============================================================================================
# The batch child: a range of pages, delivered or opened
# =============================================================================================


@workflow.defn(name="RevisedNoticeBatchWorkflow")
class RevisedNoticeBatchWorkflow:
    """Up to ``batches`` pages of the privacy store from ``after``: each page one activity and one
    ledger entry with its counts and a digest of its keys and outcomes (never a consumer)."""

    def __init__(self) -> None:
        self._done = 0
        self._counts = FanoutCounts()

    @workflow.run
    async def run(self, inp: BatchChildInput) -> BatchChildResult:
        if inp.mode == "deliver":
            return await self._deliver(inp)
        return await self._open_batch(inp)

    @workflow.query
    def progress(self) -> FanoutCounts:
        return self._counts

    def _details(self, inp: BatchChildInput) -> None:
        workflow.set_current_details(
            f"**Revised notice {inp.old_version} → {inp.new_version}**, {inp.mode} batches: {self._done} of {inp.batches} done\n"
            f"- {self._counts.summary()}"
        )

    async def _deliver(self, inp: BatchChildInput) -> BatchChildResult:
        stream = revised_stream(inp.old_version, inp.new_version)
        cursor = inp.after
        cohorts: list[Cohort] = []
        exhausted = False
        batch_no = inp.first_batch_no
        for _ in range(inp.batches):
            as_of = workflow.now()
            res: DeliverBatchResult = await workflow.execute_activity(
                DELIVER_BATCH,
                DeliverBatchInput(
                    old_version=inp.old_version, new_version=inp.new_version, notice_id=inp.notice_id,
                    jurisdiction=inp.jurisdiction, include_former_customers=inp.include_former_customers,
                    after=cursor, limit=inp.batch_size, batch_no=batch_no, as_of=as_of,
                ),
                result_type=DeliverBatchResult,
                **DELIVERY,  # type: ignore[arg-type]
            )
            if res.last_id is None:
                exhausted = True
                break
            allowed, citation, example = _cohort_window(inp.notice_id, inp.new_version, as_of, inp.jurisdiction, res.counts.email > 0)
            last = cohorts[-1] if cohorts else None
            if last is not None and last.allowed_from == allowed and last.through == cursor:
                cohorts[-1] = last.model_copy(update={"through": res.last_id, "relationships": last.relationships + res.counts.processed,
                                                      "citation": citation if res.counts.email else last.citation})
            else:
                cohorts.append(Cohort(after=cursor, through=res.last_id, allowed_from=allowed,
                                      relationships=res.counts.processed, citation=citation, example=example))
            await record(
                stream, "revised_notice.batch_delivered", f"batch/{batch_no:06d}",
                jurisdiction=inp.jurisdiction, citation=_cite(f"28 TAC § 22.12; {CITE_DELIVERY}", inp.jurisdiction),
                data={
                    "notice_id": inp.notice_id, "batch_no": batch_no, "after": cursor, "through": res.last_id,
                    "counts": {k: v for k, v in res.counts.model_dump().items() if v and k != "targeted"},
                    "already_recorded": res.already_recorded, "print_batch": res.print_batch,
                    "manifest_sha256": res.manifest_sha256, "digest": res.digest,
                    "mailed_at": iso(as_of), "opportunity_ends": iso(allowed),
                },
            )
            self._counts = self._counts.plus(res.counts)
            self._done += 1
            self._details(inp)
            cursor = res.last_id
            batch_no += 1
            if res.counts.processed < inp.batch_size:
                exhausted = True
                break
        return BatchChildResult(
            mode="deliver", after=inp.after, last_id=cursor, exhausted=exhausted, batches=self._done,
            counts=self._counts, cohorts=cohorts, next_batch_no=batch_no,
        )

    async def _open_batch(self, inp: BatchChildInput) -> BatchChildResult:
        assert inp.through is not None and inp.as_of is not None
        stream = revised_stream(inp.old_version, inp.new_version)
        cursor = inp.after
        deferred: list[Cohort] = []
        exhausted = False
        for n in range(inp.batches):
            res: OpenBatchResult = await workflow.execute_activity(
                OPEN_BATCH,
                OpenBatchInput(
                    new_version=inp.new_version, notice_id=inp.notice_id, jurisdiction=inp.jurisdiction, after=cursor,
                    through=inp.through, limit=inp.batch_size, as_of=inp.as_of, only_unopened=inp.only_unopened,
                ),
                result_type=OpenBatchResult,
                **OPENING,  # type: ignore[arg-type]
            )
            if res.last_id is None:
                exhausted = True
                break
            if res.deferred_until is not None:
                deferred.append(Cohort(after=cursor, through=res.last_id, allowed_from=res.deferred_until,
                                       relationships=res.counts.deferred, citation="28 TAC § 22.14(b)(2)",
                                       example="electronic_acknowledgement", only_unopened=True))
            await record(
                stream, "revised_notice.batch_opened", f"open/{n:04d}",
                jurisdiction=inp.jurisdiction, citation=_cite(CITE_OPENING, inp.jurisdiction),
                data={
                    "notice_id": inp.notice_id, "after": cursor, "through": res.last_id, "as_of": iso(inp.as_of),
                    "opened": res.counts.opened, "held_by_opt_out": res.counts.held_by_opt_out,
                    "not_delivered": res.counts.not_delivered, "deferred": res.counts.deferred, "digest": res.digest,
                },
            )
            self._counts = self._counts.plus(res.counts)
            self._done += 1
            self._details(inp)
            cursor = res.last_id
            if res.last_id == inp.through or res.scanned < inp.batch_size:
                exhausted = True
                break
        totals: FanoutCounts = await workflow.execute_activity(
            OPENING_TOTALS, OpeningTotalsInput(new_version=inp.new_version, notice_id=inp.notice_id),
            result_type=FanoutCounts, **QUICK,  # type: ignore[arg-type]
        )
        return BatchChildResult(
            mode="open", after=inp.after, last_id=cursor, exhausted=exhausted, batches=self._done,
            counts=self._counts, deferred=deferred, totals=totals,
        )


# =============================================================================================
# The parent: one per policy change
# =============================================================================================


@workflow.defn(name="RevisedNoticeWorkflow")
class RevisedNoticeWorkflow:
    def __init__(self) -> None:
        self._start: RevisedNoticeStart | None = None
        self._phase = RevisedPhase.DIFFING
        self._required: bool | None = None
        self._citation = "28 TAC § 22.12"
        self._jurisdiction: str | None = None
        self._notice_id = ""
        self._former = False
        self._documents: list[str] = []
        self._counts = FanoutCounts()
        self._cursor: str | None = None
        self._delivery_done = False
        self._next_batch_no = 0
        self._children = 0
        self._cohorts: list[Cohort] = []  # not closed yet
        self._cohorts_closed = 0
        self._published_phase: RevisedPhase | None = None
        self._marks = 0
        self._runs = 1
        self._refusal: str | None = None
        self._lock = asyncio.Lock()
        #: ``<status>/<batch_ref>`` → fingerprint of the marks ledgered under it (a retry is a no-op).
        self._mark_batches: dict[str, str] = {}

    # -- the lifecycle ------------------------------------------------------------------------

    @workflow.run
    async def run(self, start: RevisedNoticeStart) -> RevisedNoticeResult:
        self._start = start
        if start.carry is None:
            ended = await self._begin(start)
            if ended is not None:
                return ended
        else:
            self._restore(start.carry)
        self._publish()
        if not self._delivery_done:
            await self._deliver_all(start)
        await self._open_all(start)
        self._phase = RevisedPhase.COMPLETED
        await record(
            self._stream, "revised_notice.completed", "completed", jurisdiction=self._jurisdiction,
            citation=_cite(CITE_OPENING, self._jurisdiction),
            data={"notice_id": self._notice_id, "counts": self._counts.ledger_data(), "children": self._children, "runs": self._runs},
        )
        self._publish()
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self._result()

    async def _begin(self, start: RevisedNoticeStart) -> RevisedNoticeResult | None:
        await record(
            self._stream, "revised_notice.started", "started", citation=_cite("28 TAC § 22.12", None),
            actor=_actor(start.started_by), data={"old_version": start.old_version, "new_version": start.new_version},
        )
        pair: PolicyPair = await workflow.execute_activity(
            LOAD_POLICIES, PoliciesInput(old_version=start.old_version, new_version=start.new_version),
            result_type=PolicyPair, **QUICK,  # type: ignore[arg-type]
        )
        self._jurisdiction = pair.jurisdiction
        diff = call_rules(diff_policies, pair.old, pair.new)
        self._required = diff.revised_notice_required
        required = [c for c in diff.changes if c.requires_revised_notice]
        # The sections that decided: those requiring the notice, or else those that say none is needed.
        deciding = required or diff.changes
        self._citation = _cite("; ".join(dict.fromkeys(c.citation for c in deciding)) or diff.citation, pair.jurisdiction)
        self._former = any(c.kind is PolicyChangeKind.FORMER_CUSTOMERS_NEWLY_DISCLOSED for c in required)
        await record(
            self._stream, "revised_notice.diffed", "diffed", jurisdiction=pair.jurisdiction, citation=self._citation,
            data={
                "revised_notice_required": diff.revised_notice_required,
                "former_customers_included": self._former,
                "changes": [
                    {"kind": c.kind.value, "requires_revised_notice": c.requires_revised_notice, "citation": c.citation,
                     "npi_category": c.npi_category, "recipient_category": c.recipient_category}
                    for c in diff.changes
                ],
            },
        )
        if not diff.revised_notice_required:
            self._phase = RevisedPhase.NOT_REQUIRED
            await record(
                self._stream, "revised_notice.not_required", "completed", jurisdiction=pair.jurisdiction, citation=self._citation,
                data={"reason": "no change discloses a new category of information, to a new category of nonaffiliated "
                                "third party, or former customers' information not opted out of (28 TAC § 22.12(b))"},
            )
            self._publish()
            return self._result()

        self._phase = RevisedPhase.RENDERING
        self._notice_id = revised_notice_id(start.new_version)
        prepared: PrepareResult = await workflow.execute_activity(
            PREPARE, PrepareInput(new_version=start.new_version), result_type=PrepareResult, **QUICK,  # type: ignore[arg-type]
        )
        if not prepared.ok:
            self._phase = RevisedPhase.REFUSED
            self._refusal = prepared.refusal
            await record(
                self._stream, "revised_notice.refused", "refused", jurisdiction=pair.jurisdiction, citation=prepared.citation,
                data={"notice_id": self._notice_id, "findings": prepared.findings, "sent": 0},
            )
            self._publish()
            return self._result()
        self._documents = [d.sha256 for d in prepared.documents]
        await record(
            self._stream, "revised_notice.rendered", "rendered", jurisdiction=pair.jurisdiction, citation=prepared.citation,
            data={"notice_id": self._notice_id, "documents": [{"sha256": d.sha256, "media_type": d.media_type} for d in prepared.documents],
                  "policy_record_sha256": pair.new_record_sha256},
        )
        targeted: int = await workflow.execute_activity(
            POPULATION, PopulationInput(old_version=start.old_version, jurisdiction=pair.jurisdiction, include_former_customers=self._former),
            result_type=int, **QUICK,  # type: ignore[arg-type]
        )
        self._counts = FanoutCounts(targeted=targeted)
        self._phase = RevisedPhase.DELIVERING
        await record(
            self._stream, "revised_notice.fanout_started", "fanout", jurisdiction=pair.jurisdiction, citation=_cite(CITE_DELIVERY, pair.jurisdiction),
            data={"notice_id": self._notice_id, "targeted": targeted, "batch_size": start.batch_size,
                  "batches_per_child": start.batches_per_child},
        )
        return None

    async def _deliver_all(self, start: RevisedNoticeStart) -> None:
        self._phase = RevisedPhase.DELIVERING
        while not self._delivery_done:
            await self._maybe_continue_as_new(start)
            res: BatchChildResult = await workflow.execute_child_workflow(
                RevisedNoticeBatchWorkflow.run,
                BatchChildInput(
                    parent_id=workflow.info().workflow_id, mode="deliver", old_version=start.old_version,
                    new_version=start.new_version, notice_id=self._notice_id, jurisdiction=self._jurisdiction or "TX",
                    include_former_customers=self._former, after=self._cursor, batch_size=start.batch_size,
                    batches=start.batches_per_child, first_batch_no=self._next_batch_no,
                ),
                id=f"{workflow.info().workflow_id}/deliver-{self._children:05d}",
                result_type=BatchChildResult,
            )
            self._children += 1
            self._counts = self._counts.plus(res.counts)
            self._cursor = res.last_id
            self._next_batch_no = res.next_batch_no
            for cohort in res.cohorts:
                self._add_cohort(cohort)
            self._delivery_done = res.exhausted
            self._details()
        await record(
            self._stream, "revised_notice.delivered", "delivered", jurisdiction=self._jurisdiction,
            citation=_cite(f"28 TAC § 22.12; {CITE_DELIVERY}", self._jurisdiction),
            data={"notice_id": self._notice_id, "counts": self._counts.ledger_data(), "batches": self._next_batch_no,
                  "cohorts": [_cohort_data(c) for c in self._cohorts]},
        )
        self._phase = RevisedPhase.WAITING_FOR_WINDOWS
        self._publish()

    def _add_cohort(self, cohort: Cohort) -> None:
        last = self._cohorts[-1] if self._cohorts else None
        if (last is not None and not cohort.only_unopened and not last.only_unopened
                and last.allowed_from == cohort.allowed_from and last.through == cohort.after):
            self._cohorts[-1] = last.model_copy(update={"through": cohort.through, "relationships": last.relationships + cohort.relationships})
        else:
            self._cohorts.append(cohort)

    async def _open_all(self, start: RevisedNoticeStart) -> None:
        while self._cohorts:
            await self._maybe_continue_as_new(start)
            index = min(range(len(self._cohorts)), key=lambda i: self._cohorts[i].allowed_from)  # the window that ends first
            cohort = self._cohorts[index]
            n = self._cohorts_closed
            if cohort.window_closed_at is None:
                self._phase = RevisedPhase.WAITING_FOR_WINDOWS
                self._publish()
                wait = cohort.allowed_from - workflow.now()
                if wait > timedelta(0):
                    await workflow.sleep(wait)  # the cohort's reasonable opportunity to opt out (§ 22.14(b))
                self._phase = RevisedPhase.OPENING
                self._publish()
                await record(
                    self._stream, "revised_notice.window_closed", f"window/{n:04d}", jurisdiction=self._jurisdiction,
                    citation=_cite(cohort.citation, self._jurisdiction), data={"notice_id": self._notice_id, **_cohort_data(cohort)},
                )
                cohort = self._cohorts[index] = cohort.model_copy(update={"window_closed_at": workflow.now()})
            assert cohort.window_closed_at is not None
            while True:
                res: BatchChildResult = await workflow.execute_child_workflow(
                    RevisedNoticeBatchWorkflow.run,
                    BatchChildInput(
                        parent_id=workflow.info().workflow_id, mode="open", old_version=start.old_version,
                        new_version=start.new_version, notice_id=self._notice_id, jurisdiction=self._jurisdiction or "TX",
                        after=cohort.after, through=cohort.through, batch_size=start.batch_size, batches=start.batches_per_child,
                        as_of=cohort.window_closed_at, only_unopened=cohort.only_unopened,
                    ),
                    id=f"{workflow.info().workflow_id}/open-{n:04d}-{cohort.parts:04d}",
                    result_type=BatchChildResult,
                )
                self._children += 1
                assert res.totals is not None
                self._counts = self._counts.model_copy(
                    update={"opened": res.totals.opened, "held_by_opt_out": res.totals.held_by_opt_out,
                            "not_delivered": res.totals.not_delivered}
                )
                self._cohorts.extend(res.deferred)
                self._details()
                if res.exhausted:
                    break
                # Where the next child starts, carried if this run continues as new here.
                cohort = self._cohorts[index] = cohort.model_copy(update={"after": res.last_id, "parts": cohort.parts + 1})
                await self._maybe_continue_as_new(start)
            del self._cohorts[index]
            self._cohorts_closed += 1
            self._counts = self._counts.model_copy(
                update={"deferred": sum(c.relationships for c in self._cohorts if c.only_unopened)}
            )
            self._publish()

    async def _maybe_continue_as_new(self, start: RevisedNoticeStart) -> None:
        info = workflow.info()
        if info.get_current_history_length() <= start.max_history_events and not info.is_continue_as_new_suggested():
            return
        await workflow.wait_condition(workflow.all_handlers_finished)
        workflow.continue_as_new(start.model_copy(update={"carry": self._carry()}))

    def _carry(self) -> RevisedNoticeCarry:
        return RevisedNoticeCarry(
            phase=self._phase, jurisdiction=self._jurisdiction or "TX", notice_id=self._notice_id,
            include_former_customers=self._former, citation=self._citation, documents=self._documents, counts=self._counts,
            cursor=self._cursor, delivery_done=self._delivery_done, next_batch_no=self._next_batch_no, children=self._children,
            cohorts=self._cohorts, cohorts_closed=self._cohorts_closed, marks=self._marks, runs=self._runs + 1,
            mark_batches=self._mark_batches,
        )

    def _restore(self, carry: RevisedNoticeCarry) -> None:
        self._phase = carry.phase
        self._required = True
        self._jurisdiction = carry.jurisdiction
        self._notice_id = carry.notice_id
        self._former = carry.include_former_customers
        self._citation = carry.citation
        self._documents = list(carry.documents)
        self._counts = carry.counts
        self._cursor = carry.cursor
        self._delivery_done = carry.delivery_done
        self._next_batch_no = carry.next_batch_no
        self._children = carry.children
        self._cohorts = list(carry.cohorts)
        self._cohorts_closed = carry.cohorts_closed
        self._marks = carry.marks
        self._runs = carry.runs
        self._mark_batches = dict(carry.mark_batches)

    # -- tracking deliveries -------------------------------------------------------------------

    @workflow.update
    async def mark_deliveries(self, marks: MarkDeliveries) -> MarkResult:
        """Returned mail (the notice gave no actual notice, § 22.13(a)) or acknowledgements, in bulk.

        Checked (in the validator and again under the lock), then recorded in the ledger under the
        caller's ``batch_ref``, then applied: the same marks again are a no-op; other marks under a
        used ``batch_ref`` are refused before anything changes."""
        async with self._lock:
            fingerprint = self._check_marks(marks)
            at = marks.at or workflow.now()
            keys = "\n".join(sorted(set(marks.delivery_keys))).encode()
            returned = marks.status is DeliveryStatus.RETURNED
            try:
                await record(
                    self._stream, f"revised_notice.{'returned' if returned else 'acknowledged'}", f"marks/{_batch(marks)}",
                    jurisdiction=self._jurisdiction, actor=_actor(marks.recorded_by),
                    citation=_cite("28 TAC § 22.13(a)" if returned else "28 TAC § 22.13(b)(3); § 22.14(b)(2)", self._jurisdiction),
                    data={"notice_id": self._notice_id, "status": marks.status.value, "requested": len(set(marks.delivery_keys)),
                          "keys_sha256": hashlib.sha256(keys).hexdigest(), "at": iso(marks.at) if marks.at else None},
                )
            except ActivityError as err:
                # A batch ledgered by an earlier run of this workflow, with other content.
                raise ledger_refusal(err, _batch_ref_used(marks)) from None
            self._mark_batches[_batch(marks)] = fingerprint
            result: MarkResult = await workflow.execute_activity(
                MARK_DELIVERIES, MarkInput(notice_id=self._notice_id, new_version=self._start.new_version if self._start else "",
                                           marks=marks, at=at),
                result_type=MarkResult, **QUICK,  # type: ignore[arg-type]
            )
            self._counts = self._counts.model_copy(update={"returned": result.returned_total, "acknowledged": result.acknowledged_total})
            self._marks += 1
            self._details()
            return result

    @mark_deliveries.validator
    def _validate_marks(self, marks: MarkDeliveries) -> None:
        self._check_marks(marks)

    def _check_marks(self, marks: MarkDeliveries) -> str:
        """Marks of this workflow's notice, after it went out, under a batch_ref not used for other
        marks; the fingerprint of what the ledger will hold for them."""
        guard_free_text([("batch_ref", marks.batch_ref)])
        if self._phase in (RevisedPhase.DIFFING, RevisedPhase.RENDERING, RevisedPhase.NOT_REQUIRED, RevisedPhase.REFUSED):
            raise refuse_state(
                "no_revised_notice_sent",
                f"delivery_keys: no revised notice has been sent by this workflow (phase {self._phase.value})",
                field="delivery_keys",
            )
        suffix = f"/{self._notice_id}"
        wrong = [i for i, k in enumerate(marks.delivery_keys) if not k.endswith(suffix)]
        if wrong:
            first = wrong[0]
            raise refuse_input(
                "delivery_key_of_another_notice", f"delivery_keys[{first}]",
                f"delivery_keys[{first}]: {len(wrong)} key(s) are not deliveries of notice {self._notice_id} "
                f"(expected <relationship_id>{suffix}), e.g. {marks.delivery_keys[first]!r}",
            )
        not_future(marks.at, workflow.now(), "at")
        fingerprint = _fingerprint(marks)
        used = self._mark_batches.get(_batch(marks))
        if used is not None and used != fingerprint:
            raise _batch_ref_used(marks)
        return fingerprint

    # -- what operations see ---------------------------------------------------------------------

    @workflow.query
    def progress(self) -> RevisedNoticeState:
        start = self._start
        assert start is not None
        pending = sorted(self._cohorts, key=lambda c: c.allowed_from)
        return RevisedNoticeState(
            workflow_id=workflow.info().workflow_id, old_version=start.old_version, new_version=start.new_version,
            jurisdiction=self._jurisdiction, phase=self._phase, revised_notice_required=self._required, counts=self._counts,
            pending=self._counts.pending, cohorts=pending, cohorts_closed=self._cohorts_closed,
            next_window_closes=min((c.allowed_from for c in pending), default=None), children=self._children,
            runs=self._runs, waiting_for=self._waiting_for(pending),
        )

    def _waiting_for(self, pending: list[Cohort]) -> str:
        if self._phase is RevisedPhase.NOT_REQUIRED:
            return "nothing: no revised notice is required"
        if self._phase is RevisedPhase.REFUSED:
            return "nothing: the notice failed 28 TAC § 22.10(b) and was not sent; correct the notice text and start again"
        if self._phase is RevisedPhase.COMPLETED:
            return "nothing: every window closed and every opening is recorded"
        if self._phase is RevisedPhase.DELIVERING:
            return f"delivery batches: {self._counts.processed} of {self._counts.targeted} relationships handled"
        if pending:
            first = min(pending, key=lambda c: c.allowed_from)
            return f"the reasonable opportunity to opt out of {first.relationships} relationship(s) to end {markdown_deadline(first.allowed_from)}"
        return self._phase.value

    def _result(self) -> RevisedNoticeResult:
        start = self._start
        assert start is not None
        return RevisedNoticeResult(
            workflow_id=workflow.info().workflow_id, old_version=start.old_version, new_version=start.new_version,
            phase=self._phase, revised_notice_required=bool(self._required), citation=self._citation, counts=self._counts,
            documents=self._documents, refusal=self._refusal,
        )

    def _details(self) -> None:
        state = self.progress()
        workflow.set_current_details(
            f"**Revised notice {state.old_version} → {state.new_version}** — phase **{state.phase.value}**\n"
            f"- {state.counts.summary()}\n"
            f"- waiting for: {state.waiting_for}"
        )

    def _publish(self) -> None:
        """From the run coroutine only (never an update handler): one upsert per phase change."""
        if self._published_phase is not self._phase:
            workflow.upsert_search_attributes([sa.OBLIGATION_KIND.value_set(KIND), sa.STAGE.value_set(self._phase.value)])
            self._published_phase = self._phase
        self._details()

    @property
    def _stream(self) -> str:
        start = self._start
        assert start is not None
        return revised_stream(start.old_version, start.new_version)


def _batch(marks: MarkDeliveries) -> str:
    return f"{marks.status.value}/{marks.batch_ref}"


def _fingerprint(marks: MarkDeliveries) -> str:
    """What the ledger entry of these marks holds: the keys, the time given and who recorded them."""
    text = "\n".join([*sorted(set(marks.delivery_keys)), iso(marks.at) if marks.at else "-", marks.recorded_by])
    return hashlib.sha256(text.encode()).hexdigest()


def _batch_ref_used(marks: MarkDeliveries) -> ApplicationError:
    return refuse_state(
        "batch_ref_already_used",
        f"batch_ref: {marks.batch_ref!r} already holds other {marks.status.value} marks (keys, time or recorder); "
        "send the same marks again, or these under a new batch_ref",
        citation="28 TAC § 22.13(a)" if marks.status is DeliveryStatus.RETURNED else "28 TAC § 22.13(b)(3)",
        field="batch_ref",
    )


def _cohort_data(c: Cohort) -> dict[str, object]:
    return {"after": c.after, "through": c.through, "relationships": c.relationships, "opportunity_ends": iso(c.allowed_from),
            "citation": c.citation, "example": c.example, "recheck": c.only_unopened}
