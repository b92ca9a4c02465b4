"""The steps taken on a consumer relationship from outside its lifecycle (28 TAC ch. 22): the
updates people send — opt-outs and revocations, facts that end a relationship, returned mail, the
completion of an isolated transaction, notices before a disclosure, retries, closing, disclosure
decisions of record — and the signals other lifecycles send.

Every update runs the same way: checked in its validator and again once it holds the workflow's
lock (``workflows/privacy_checks.py``), then ledgered, then applied. A step the ledger refuses
changes nothing and is refused, typed; a signal, which cannot be refused to its sender, only asks
the run to act, and the run records what it did.

Mixed into ``ConsumerRelationshipWorkflow`` (``workflows/privacy_relationship.py``), which holds
the state these handlers read and the lifecycle steps they call.
"""

from __future__ import annotations

import asyncio
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from models.actors import step_actor as actor_of
    from models.privacy import (
        ConsumerRelationship,
        DisclosureDecision,
        DisclosureRequest,
        OptOutRevocation,
    )
    from models.privacy_lifecycle import (
        AnnualNoticeDue,
        CloseRelationship,
        CompleteTransaction,
        DeliveryRecord,
        DeliveryStatus,
        GateQuestion,
        MarkDelivery,
        OptOutRecord,
        OptOutRequest,
        PolicyChange,
        PrivacyPolicyRecord,
        RelationshipEvent,
        RelationshipStage,
        RelationshipStart,
        RelationshipState,
        ReturnedMail,
        RevocationRequest,
        WindowState,
        decision_summary,
    )
    from rules.disclosure import (
        CITE_OPPORTUNITY_ISOLATED,
        CITE_OPT_OUT_DIRECTION,
        OPT_OUT_DURATION_REVIEW,
    )
    from rules.disclosure import decide_disclosure as decide

from workflows.common import iso, quick_step
from workflows.privacy_checks import (
    CITE_DELIVERY,
    CITE_FORMER,
    CITE_INITIAL,
    CITE_RELATIONSHIP,
    EVENT_CITATIONS,
    EVENT_FIELDS,
    check_close,
    check_completion,
    check_event,
    check_notify,
    check_opt_out,
    check_question,
    check_retry,
    check_returned_mail,
    check_revocation,
    ledger_refusal,
    request_already_decided,
    require_active,
    require_actor,
    version_id_problem,
)
from workflows.privacy_relationship_records import RecordsSteps
from workflows.rules_call import call_rules

# Activity names (registered by ``activities/privacy.py``).
MARK_DELIVERY = "privacy_mark_delivery"
RECORD_OPT_OUT = "privacy_record_opt_out"
RECORD_REVOCATION = "privacy_record_revocation"


class RelationshipSteps(RecordsSteps):
    """Update and signal handlers of ``ConsumerRelationshipWorkflow`` (with the imported initial
    notice and the health authorizations of ``RecordsSteps``)."""

    # What the lifecycle holds (set in ``ConsumerRelationshipWorkflow.__init__``).
    _inp: RelationshipStart
    _lock: asyncio.Lock
    _stage: RelationshipStage
    _close: CloseRelationship | None
    _rel: ConsumerRelationship
    _policies: dict[str, PrivacyPolicyRecord]
    _deliveries: list[DeliveryRecord]
    _opt_outs: list[OptOutRecord]
    _windows: list[WindowState]
    _initial_notice_on: date | None
    _disclosure_planned: bool
    _blocked: str | None
    _retries: int
    _returned: int
    _decisions: int
    _decision_ids: set[str]
    _dirty: bool
    _annual_signal: AnnualNoticeDue | None
    _pending_policy: str | None
    _handed_over: list[DeliveryRecord]

    if TYPE_CHECKING:  # the lifecycle's own steps, defined by ConsumerRelationshipWorkflow

        @property
        def _tz(self) -> Any: ...
        def _today(self) -> date: ...
        def _start_of(self, day: date) -> datetime: ...
        def _opt_out_in_effect(self) -> list[OptOutRecord]: ...
        def _disclosure_request(self, question: GateQuestion, as_of: datetime) -> DisclosureRequest: ...
        def state(self) -> RelationshipState: ...
        async def _record(self, type_: str, step: str, citation: str, *, actor: str = "worker", data: dict | None = None) -> None: ...
        async def _write_stage(self) -> None: ...
        async def _give_initial_notice(self) -> None: ...

    # =========================================================================================
    # Updates: opt outs, revocations, relationship facts, returned mail, transactions. Each is
    # checked in its validator and again under the lock (``workflows/privacy_checks.py``), then
    # ledgered, then applied: a step the ledger refuses changes nothing and is refused, typed.
    # =========================================================================================

    def _require_active(self, what: str) -> None:
        require_active(self._stage, self._close is not None, what)

    def _known_categories(self) -> tuple[set[str], set[str]]:
        npi: set[str] = set()
        recipients: set[str] = set()
        for p in self._policies.values():
            for line in p.policy.disclosures:
                npi.add(line.npi_category)
                recipients.add(line.recipient_category)
        return npi, recipients

    async def _ledger(self, type_: str, step: str, citation: str, *, actor: str, data: dict,
                      conflict: ApplicationError | None = None) -> None:
        """Record an update's step before anything changes; the ledger's refusal is the update's."""
        try:
            await self._record(type_, step, citation, actor=actor, data=data)
        except ActivityError as err:
            raise ledger_refusal(err, conflict) from None

    def _check_opt_out(self, req: OptOutRequest) -> None:
        self._require_active("record an opt-out")
        check_opt_out(req, opt_outs=self._opt_outs, in_effect=self._opt_out_in_effect(), consumer_refs=self._inp.consumer_refs,
                      relationship_id=self._inp.relationship_id, categories=self._known_categories(), now=workflow.now())

    @workflow.update
    async def elect_opt_out(self, req: OptOutRequest) -> RelationshipState:
        """28 TAC § 22.2(22), § 22.14(a)(4): the consumer may opt out at any time; the election is
        ledgered and written to the store (where the gate reads it) before this update returns —
        as soon as reasonably practicable, and here at once."""
        async with self._lock:
            self._check_opt_out(req)
            now = workflow.now()
            election = OptOutRecord(
                election_id=req.election_id,
                relationship_id=self._inp.relationship_id,
                consumer_ref=req.consumer_ref,
                received_at=req.received_at or now,
                effective_at=now,
                npi_categories=req.npi_categories,
                recipient_categories=req.recipient_categories,
            )
            await self._ledger(
                "opt_out.elected", f"opt-out/{req.election_id}", CITE_OPT_OUT_DIRECTION, actor=actor_of(req.received_by),
                data={"election_id": req.election_id, "consumer_ref": req.consumer_ref,
                      "received_at": iso(election.received_at), "effective_at": iso(now),
                      "npi_categories": req.npi_categories, "recipient_categories": req.recipient_categories,
                      "applies_to": "every consumer of the joint relationship" if len(self._inp.consumer_refs) > 1 else "the consumer"},
            )
            await quick_step(RECORD_OPT_OUT, election, result_type=OptOutRecord)
            self._opt_outs.append(election)
            self._dirty = True
            return self.state()

    @elect_opt_out.validator
    def _validate_opt_out(self, req: OptOutRequest) -> None:
        self._check_opt_out(req)

    def _check_revocation(self, req: RevocationRequest) -> None:
        self._require_active("revoke an opt-out")
        check_revocation(req, opt_outs=self._opt_outs, now=workflow.now())

    @workflow.update
    async def revoke_opt_out(self, req: RevocationRequest) -> RelationshipState:
        """The opt-out stands until revoked in writing or electronically (reported rule: counsel review)."""
        async with self._lock:
            self._check_revocation(req)
            received = req.received_at or workflow.now()
            await self._ledger(
                "opt_out.revoked", f"opt-out/{req.election_id}/revoked", CITE_OPT_OUT_DIRECTION, actor=actor_of(req.received_by),
                data={"election_id": req.election_id, "received_at": iso(received), "form": req.form,
                      "needs_counsel_review": True, "counsel_review_reasons": [OPT_OUT_DURATION_REVIEW]},
            )
            stored = await quick_step(
                RECORD_REVOCATION,
                OptOutRevocation(election_id=req.election_id, relationship_id=self._inp.relationship_id,
                                 received_at=received, form=req.form),
                result_type=OptOutRecord,
            )
            self._opt_outs = [stored if o.election_id == req.election_id else o for o in self._opt_outs]
            self._dirty = True
            return self.state()

    @revoke_opt_out.validator
    def _validate_revocation(self, req: RevocationRequest) -> None:
        self._check_revocation(req)

    def _check_event(self, event: RelationshipEvent) -> None:
        self._require_active("record a relationship event")
        check_event(event, stage=self._stage, rel=self._rel, today=self._today())

    @workflow.update
    async def record_relationship_event(self, event: RelationshipEvent) -> RelationshipState:
        async with self._lock:
            self._check_event(event)
            await self._ledger(
                "privacy_relationship.event_recorded", f"event/{event.kind}/{event.on.isoformat()}", EVENT_CITATIONS[event.kind],
                actor=actor_of(event.recorded_by), data={"kind": event.kind, "on": event.on.isoformat()},
            )
            self._rel = self._rel.model_copy(update={EVENT_FIELDS[event.kind]: event.on})
            self._dirty = True
            return self.state()

    @record_relationship_event.validator
    def _validate_event(self, event: RelationshipEvent) -> None:
        self._check_event(event)

    def _check_returned(self, returned: ReturnedMail) -> None:
        self._require_active("record returned mail")
        check_returned_mail(returned, deliveries=self._deliveries, tz=self._tz, today=self._today())

    @workflow.update
    async def report_returned_mail(self, returned: ReturnedMail) -> RelationshipState:
        """The postal service returned a notice: it gave no actual notice (§ 22.13(a)), so its
        opt-out window opens nothing; with a failed address search the relationship ends (§ 22.9(b)(3))."""
        async with self._lock:
            self._check_returned(returned)
            await self._ledger(
                "privacy_notice.returned", f"returned/{returned.notice_id}", f"{CITE_DELIVERY}(a); {CITE_FORMER}(3)",
                actor=actor_of(returned.recorded_by),
                data={"notice_id": returned.notice_id, "returned_on": returned.returned_on.isoformat(),
                      "address_search_failed_on": returned.address_search_failed_on.isoformat() if returned.address_search_failed_on else None},
            )
            stored = await quick_step(
                MARK_DELIVERY,
                MarkDelivery(relationship_id=self._inp.relationship_id, notice_id=returned.notice_id, status=DeliveryStatus.RETURNED,
                             at=self._start_of(returned.returned_on)),
                result_type=DeliveryRecord,
            )
            self._deliveries = [stored if d.notice_id == returned.notice_id else d for d in self._deliveries]
            self._returned += 1
            if self._stage is RelationshipStage.CUSTOMER:
                update = {"mail_returned_on": returned.returned_on}
                if returned.address_search_failed_on is not None:
                    update["address_search_failed_on"] = returned.address_search_failed_on
                self._rel = self._rel.model_copy(update=update)
            self._dirty = True
            return self.state()

    @report_returned_mail.validator
    def _validate_returned(self, returned: ReturnedMail) -> None:
        self._check_returned(returned)

    def _check_completion(self, req: CompleteTransaction) -> None:
        self._require_active("complete the transaction")
        check_completion(req, stage=self._stage, rel=self._rel, notice=self._inp.transaction_notice, now=workflow.now())

    @workflow.update
    async def complete_transaction(self, req: CompleteTransaction) -> RelationshipState:
        """§ 22.14(b)(3): the consumer decided before completion; the disclosure may follow it."""
        async with self._lock:
            self._check_completion(req)
            completed = req.completed_at or workflow.now()
            await self._ledger(
                "isolated_transaction.completed", "transaction-completed", CITE_OPPORTUNITY_ISOLATED, actor=actor_of(req.recorded_by),
                data={"completed_at": iso(completed)},
            )
            self._rel = self._rel.model_copy(update={"transaction_completed_at": completed})
            self._windows = [
                w.model_copy(update={"disclosure_allowed_from": completed}) if not w.closed and w.example == "isolated_transaction" else w
                for w in self._windows
            ]
            await self._write_stage()
            self._dirty = True
            return self.state()

    @complete_transaction.validator
    def _validate_completion(self, req: CompleteTransaction) -> None:
        self._check_completion(req)

    def _check_notify(self, requested_by: str) -> None:
        self._require_active("give notices")
        require_actor(requested_by, "requested_by")
        check_notify(stage=self._stage, initial_notice_on=self._initial_notice_on, planned=self._disclosure_planned, blocked=self._blocked)

    @workflow.update
    async def notify_before_disclosure(self, requested_by: str) -> RelationshipState:
        """A consumer who is not a customer: the licensee now plans a non-excepted disclosure, so
        the initial and opt-out notices go first (28 TAC § 22.8(a)(2), § 22.14(a))."""
        async with self._lock:
            self._check_notify(requested_by)
            await self._ledger("initial_notice.requested", "initial-requested", f"{CITE_INITIAL}(a)(2)", actor=actor_of(requested_by), data={})
            self._disclosure_planned = True  # a held notice is tried again after retry_notices
            await self._give_initial_notice()
            self._dirty = True  # the run times the window the notice opened
            return self.state()

    @notify_before_disclosure.validator
    def _validate_notify(self, requested_by: str) -> None:
        self._check_notify(requested_by)

    def _check_retry(self, requested_by: str) -> None:
        self._require_active("retry notices")
        require_actor(requested_by, "requested_by")
        check_retry(self._blocked)

    @workflow.update
    async def retry_notices(self, requested_by: str) -> RelationshipState:
        """Try a held notice again (after the consumer's contact data was corrected in the store)."""
        async with self._lock:
            self._check_retry(requested_by)
            await self._ledger("privacy_notice.retry_requested", f"retry/{self._retries + 1}", f"{CITE_DELIVERY}(a)",
                               actor=actor_of(requested_by), data={"held_because": self._blocked})
            self._blocked = None
            self._retries += 1
            self._dirty = True
            return self.state()

    @retry_notices.validator
    def _validate_retry(self, requested_by: str) -> None:
        self._check_retry(requested_by)

    def _check_close(self, req: CloseRelationship) -> None:
        self._require_active("close")
        check_close(req, self._stage)

    @workflow.update
    async def close(self, req: CloseRelationship) -> RelationshipState:
        """The lifecycle ends once the closing is ledgered; opt-outs stay in the store, honoured."""
        async with self._lock:
            self._check_close(req)
            await self._ledger("privacy_relationship.closed", "closed", CITE_RELATIONSHIP, actor=actor_of(req.closed_by),
                               data={"reason": req.reason, "opt_outs_on_record": len(self._opt_outs)})
            self._close = req
            self._stage = RelationshipStage.CLOSED
            return self.state()

    @close.validator
    def _validate_close(self, req: CloseRelationship) -> None:
        self._check_close(req)

    # -- signals: a signal cannot be refused to its sender, so each only asks the run to act ---------

    @workflow.signal
    def annual_notice_due(self, due: AnnualNoticeDue) -> None:
        """From the scheduled annual-notice sweep: send the annual notice now if one is due by ``period_end``."""
        self._annual_signal = due

    @workflow.signal
    def policy_changed(self, change: PolicyChange) -> None:
        """A new version in force; one the store does not hold is recorded refused by the run. An id
        that could name no version (or carries NPI) could not even be recorded: dropped, logged."""
        problem = version_id_problem(change.policy_version)
        if problem is not None:
            workflow.logger.warning("policy_changed signal ignored: %s", problem)
            return
        self._pending_policy = change.policy_version

    @workflow.signal
    def revised_notice_delivered(self, delivery: DeliveryRecord) -> None:
        """The revised-notice lifecycle delivered a revised notice (with its opt-out notice) to this
        relationship: the run records it here and its reasonable opportunity runs here like any
        other. A retried batch signals again: a notice already known is ignored."""
        if delivery.relationship_id != self._inp.relationship_id:
            workflow.logger.warning("revised notice %s for another relationship ignored", delivery.notice_id)
            return
        if any(d.notice_id == delivery.notice_id for d in [*self._deliveries, *self._handed_over]):
            return
        self._handed_over.append(delivery)

    # -- a decision of record ----------------------------------------------------------------------

    def _check_question(self, question: GateQuestion) -> None:
        check_question(question, decided=self._decision_ids, consumer_refs=self._inp.consumer_refs,
                       relationship_id=self._inp.relationship_id)

    @workflow.update
    async def decide_disclosure(self, question: GateQuestion) -> DisclosureDecision:
        """May NPI category C go to recipient R under basis B now? Decided by the rules from this
        relationship's notices and opt outs, with the rule cited, and ledgered."""
        async with self._lock:
            self._check_question(question)
            now = workflow.now()
            decision = call_rules(decide, self._disclosure_request(question, now))
            # The ledger holds every request id decided, in earlier runs too: its step key conflicts.
            await self._ledger(
                "disclosure.decided", f"decision/{question.request_id}", decision.citation, actor=actor_of(question.asked_by),
                data={**decision_summary(self._inp.relationship_id, question, decision), "source": "workflow", "as_of": iso(now)},
                conflict=request_already_decided(question.request_id),
            )
            self._decision_ids.add(question.request_id)
            self._decisions += 1
            return decision

    @decide_disclosure.validator
    def _validate_question(self, question: GateQuestion) -> None:
        self._check_question(question)
