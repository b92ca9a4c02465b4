"""Privacy-lifecycle activities: the relationship workflow's and the schedules' side effects.

Each takes and returns a pydantic model that names consumers by ``consumer_ref`` only; contact
data is opened inside :meth:`PrivacyActivities.deliver_notice` and goes no further. Every activity
is idempotent under retries (store writes are keyed; deliveries are claimed before sending;
ledger appends are keyed by step).

Register with the worker::

    privacy = PrivacyActivities(settings, ledger)
    Worker(client, task_queue=..., activities=[*privacy.activities(), ...])
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import structlog
from temporalio import activity
from temporalio.client import WorkflowHandle
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from activities.delivery import ChannelUnavailableError, DeliveryChannel as Channel, SmtpChannel
from activities.privacy_documents import NoticeLintError, PrivacyDocuments
from activities.privacy_store import NotFoundError, PrivacyStore, PrivacyStoreError
from ledger.errors import NPIError, StepConflictError
from ledger.store import Ledger
from models.actors import step_actor
from models.ledger import EntryDraft
from models.privacy import OptOutRevocation
from models.privacy_lifecycle import (
    AnnualNoticeDue,
    DeliveryRecord,
    DisclosureOpening,
    DuePage,
    DuePageInput,
    GateActivityInput,
    GateRecord,
    LoadPolicyInput,
    MarkDelivery,
    NoticeDeliveryRequest,
    NoticeDeliveryResult,
    OptOutRecord,
    PrivacyPolicyRecord,
    RelationshipStatusChange,
    SignalAnnualInput,
    SignalAnnualResult,
    decision_summary,
)
from config.settings import Settings
from rules.disclosure import decide_disclosure

log = structlog.get_logger("noticeflow.privacy")

#: Workflow id of a relationship's lifecycle: names the relationship, never the consumer.
RELATIONSHIP_WORKFLOW_PREFIX = "privacy-relationship-"


def relationship_workflow_id(relationship_id: str) -> str:
    return f"{RELATIONSHIP_WORKFLOW_PREFIX}{relationship_id}"


def _not_found(exc: Exception) -> ApplicationError:
    return ApplicationError(str(exc), type="PrivacyNotFound", non_retryable=True)


class PrivacyActivities:
    def __init__(
        self,
        settings: Settings,
        ledger: Ledger,
        *,
        store: PrivacyStore | None = None,
        email_channel: Callable[[], Channel] | None = None,
    ) -> None:
        self.settings = settings
        self.ledger = ledger
        self.store = store or PrivacyStore.open(settings)
        self.documents = PrivacyDocuments(
            settings.documents_dir,
            settings.outbox_dir,
            self.store,
            email_channel or (lambda: SmtpChannel(settings)),
        )

    def activities(self) -> list[Callable[..., Any]]:
        return [
            self.load_policy,
            self.deliver_notice,
            self.record_presented_notice,
            self.mark_delivery,
            self.record_opt_out,
            self.record_revocation,
            self.record_opening,
            self.update_relationship,
            self.gate,
            self.annual_due_page,
            self.signal_annual_due,
        ]

    def close(self) -> None:
        self.store.close()

    # -- policies and notices -------------------------------------------------------------------

    @activity.defn(name="privacy_load_policy")
    async def load_policy(self, req: LoadPolicyInput) -> PrivacyPolicyRecord:
        try:
            return await asyncio.to_thread(self.store.get_policy, req.version_id)
        except NotFoundError as exc:
            raise _not_found(exc) from None

    @activity.defn(name="privacy_deliver_notice")
    async def deliver_notice(self, req: NoticeDeliveryRequest) -> NoticeDeliveryResult:
        """28 TAC §§ 22.8, 22.9, 22.12 with § 22.13: check the content (§ 22.10), render once, choose
        the channel, deliver, record. A notice failing § 22.10 is refused (non-retryable
        ``NoticeLintFailed`` with the findings as details) and nothing is sent."""
        try:
            (result,) = await self.documents.deliver([req], batch_id=f"{req.relationship_id}-{req.notice_id}")
        except NoticeLintError as exc:
            raise ApplicationError(
                str(exc), [f.model_dump(mode="json") for f in exc.findings], type="NoticeLintFailed", non_retryable=True
            ) from None
        except NotFoundError as exc:
            raise _not_found(exc) from None
        except ChannelUnavailableError as exc:
            raise ApplicationError(str(exc), type="ChannelUnavailable", non_retryable=False) from None
        log.info(
            "privacy_notice_delivered",
            relationship_id=req.relationship_id,
            notice_id=req.notice_id,
            kind=req.kind.value,
            channel=result.delivery.channel.value,
            status=result.delivery.status.value,
        )
        return result

    @activity.defn(name="privacy_record_presented_notice")
    async def record_presented_notice(self, record: DeliveryRecord) -> DeliveryRecord:
        """A notice presented outside the channels (in an isolated transaction, § 22.13(b)(4))."""
        await asyncio.to_thread(self.store.record_deliveries, [record])
        stored = await asyncio.to_thread(self.store.get_delivery, record.delivery_key)
        assert stored is not None
        return stored

    @activity.defn(name="privacy_mark_delivery")
    async def mark_delivery(self, req: MarkDelivery) -> DeliveryRecord:
        try:
            return await asyncio.to_thread(self.store.mark_delivery, f"{req.relationship_id}/{req.notice_id}", req.status, req.at)
        except PrivacyStoreError as exc:
            raise _not_found(exc) from None

    # -- opt outs, openings, relationship -----------------------------------------------------

    @activity.defn(name="privacy_record_opt_out")
    async def record_opt_out(self, record: OptOutRecord) -> OptOutRecord:
        """Make an opt-out effective: from this write on, the store-based gate honours it."""
        await asyncio.to_thread(self.store.record_opt_outs, [record])
        return record

    @activity.defn(name="privacy_record_revocation")
    async def record_revocation(self, revocation: OptOutRevocation) -> OptOutRecord:
        try:
            return await asyncio.to_thread(
                self.store.record_revocation,
                revocation.election_id,
                revocation.received_at,
                revocation.form,
                relationship_id=revocation.relationship_id,
            )
        except PrivacyStoreError as exc:
            raise _not_found(exc) from None

    @activity.defn(name="privacy_record_opening")
    async def record_opening(self, opening: DisclosureOpening) -> int:
        return await asyncio.to_thread(self.store.record_openings, [opening])

    @activity.defn(name="privacy_update_relationship")
    async def update_relationship(self, change: RelationshipStatusChange) -> int:
        return await asyncio.to_thread(self.store.update_relationships, [change])

    # -- the disclosure gate, from the store ----------------------------------------------------

    @activity.defn(name="privacy_gate")
    async def gate(self, req: GateActivityInput) -> GateRecord:
        """Decide from the store (the relationship's deliveries, opt outs and policy versions) and
        ledger the decision under ``privacy:<relationship_id>``. For callers without a running
        relationship workflow (a closed relationship, a batch check)."""
        try:
            request = await asyncio.to_thread(self.store.disclosure_request, req.relationship_id, req.question, req.as_of)
        except NotFoundError as exc:
            raise _not_found(exc) from None
        except PrivacyStoreError as exc:
            raise ApplicationError(str(exc), type="InvalidGateQuestion", non_retryable=True) from None
        decision = decide_disclosure(request)
        info = activity.info()
        draft = EntryDraft(
            stream=f"privacy:{req.relationship_id}",
            type="disclosure.decided",
            step=f"privacy-gate/{req.relationship_id}/{req.question.request_id}",
            workflow_id=info.workflow_id,
            run_id=info.workflow_run_id,
            jurisdiction=request.jurisdiction,
            citation=decision.citation,
            actor=step_actor(req.question.asked_by),
            data={**decision_summary(req.relationship_id, req.question, decision), "source": "store", "as_of": req.as_of.isoformat()},
        )
        try:
            entry = await asyncio.to_thread(self.ledger.append, draft)
        except (StepConflictError, NPIError) as exc:
            raise ApplicationError(str(exc), type=type(exc).__name__, non_retryable=True) from None
        return GateRecord(relationship_id=req.relationship_id, question=req.question, decision=decision, ledger_seq=entry.seq)

    # -- the scheduled annual-notice sweep ---------------------------------------------------------

    @activity.defn(name="privacy_annual_due_page")
    async def annual_due_page(self, req: DuePageInput) -> DuePage:
        ids = await asyncio.to_thread(self.store.annual_due_page, req.due_by, after=req.after, limit=req.limit)
        return DuePage(relationship_ids=ids, next_after=ids[-1] if len(ids) == req.limit else None)

    @activity.defn(name="privacy_signal_annual_due")
    async def signal_annual_due(self, req: SignalAnnualInput) -> SignalAnnualResult:
        """Signal ``annual_notice_due`` to each relationship workflow of the page (its history
        holds one signal; the sweep's history holds one activity per page)."""
        client = activity.client()
        signalled = not_running = 0
        for n, rid in enumerate(req.relationship_ids, start=1):
            handle: WorkflowHandle[Any, Any] = client.get_workflow_handle(relationship_workflow_id(rid))
            try:
                await handle.signal("annual_notice_due", AnnualNoticeDue(period_end=req.due_by, sweep_id=req.sweep_id))
                signalled += 1
            except RPCError as exc:
                if exc.status != RPCStatusCode.NOT_FOUND:
                    raise
                not_running += 1
            if n % 100 == 0:
                activity.heartbeat(n)
        return SignalAnnualResult(signalled=signalled, not_running=not_running)
