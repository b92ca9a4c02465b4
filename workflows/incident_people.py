"""The event's steps that concern people rather than notices: who answers for the event's
deadlines (owner and backup), counsel's review of obligations that rest on rules the engine could
not verify, and report items marked not applicable. Mixed into ``CybersecurityEventWorkflow``.

Each step is checked (typed refusal), ledgered, and only then changes the workflow's state.
Counsel's notes are privileged: sealed in the document store, ledgered by digest with a marker.
"""

from __future__ import annotations

import asyncio
import hashlib
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from models.actors import ledger_actor
    from models.lifecycle import IncidentState, ObligationState, ObligationStatus, Stage
    from models.notice import (
        AcknowledgeFiling,
        ReportReturned,
        ReturnedNoticesInput,
        ReturnedNoticesResult,
    )
    from models.obligation import ObligationKind
    from models.privileged import PrivilegeBasis, SealedRef, SealRequest
    from models.steps import AssignResponders, CounselReview, ReportItemNotApplicable
    from rules.jurisdictions import report_items_citation
    from rules.report_items import not_applicable_problem

from workflows.common import (
    RECORD_RETURNED_NOTICES,
    SEAL_PRIVILEGED_TEXT,
    forwarded,
    quick_step,
)
from workflows.incident_checks import (
    guard_free_text,
    require_active,
    require_obligation,
    responder_ids,
)
from workflows.refusals import refuse_input, refuse_state
from workflows.rules_call import call_rules

#: A person's clock a few minutes ahead of the worker's is not a claim about the future.
ACK_CLOCK_SKEW = timedelta(minutes=5)
#: The obligations met by a regulator's acknowledgement of a filing.
FILINGS = (ObligationKind.COMMISSIONER_NOTICE, ObligationKind.ATTORNEY_GENERAL_NOTICE)



def _digest(refs: list[str]) -> str:
    """One digest for a list of recipient refs: the ledger says which, without listing them."""
    return "sha256:" + hashlib.sha256("\n".join(refs).encode()).hexdigest()


class PeopleSteps:
    """Handlers that read and change the event workflow's state (the attributes below are set by
    ``CybersecurityEventWorkflow.__init__``)."""

    _lock: asyncio.Lock
    _stage: Stage
    _close: Any
    _domicile: str
    _intake: Any
    _obligations: dict[str, ObligationState]
    _responders: Any
    _responder_changes: int
    _counsel_reviews: dict[str, str]
    _not_applicable: list[ReportItemNotApplicable]
    _findings: list[Any]
    _amendment_log: list[Any]
    _report_context: Any
    _delivered_with: dict[str, str]
    _returns_reported_count: int

    # -- a regulator's acknowledgement, recorded by a person ------------------------------------

    @workflow.update
    async def record_acknowledgement(self, request: AcknowledgeFiling) -> IncidentState:
        """The commissioner (or, for a notice under a general breach law, the attorney general)
        acknowledged a filing outside the portal (an e-mail with a reference number): it confirms the
        filing, and the notice is met — on time when it was filed by the deadline. The obligation's
        workflow ledgers it in the person's name."""
        async with self._lock:
            target = self._check_acknowledgement(request)
            await self._signal(target, "record_acknowledgement", forwarded(request.acknowledgement))
            return self.state()

    @record_acknowledgement.validator
    def _validate_acknowledgement(self, request: AcknowledgeFiling) -> None:
        self._check_acknowledgement(request)

    def _check_acknowledgement(self, request: AcknowledgeFiling) -> str:
        """The obligation whose workflow files for ``request``'s (a sibling delivered with another
        is filed, and acknowledged, by that one)."""
        state = require_obligation(self._obligations, request.obligation_id, "obligation_id")
        if state.obligation.kind not in FILINGS:
            raise refuse_input("not_a_filing", "obligation_id",
                               f"obligation_id: {request.obligation_id} is a {state.obligation.kind.value}; only a "
                               "filing with a commissioner or an attorney general is acknowledged by the regulator",
                               citation=state.obligation.citation)
        ack = request.acknowledgement
        guard_free_text([("acknowledgement.reference", ack.reference)])
        if ack.received_at > workflow.now() + ACK_CLOCK_SKEW:
            raise refuse_input("time_in_future", "acknowledgement.received_at",
                               f"acknowledgement.received_at: {ack.received_at.isoformat()} is in the future")
        target = self._delivered_with.get(request.obligation_id, request.obligation_id)
        filer = self._obligations[target]
        if filer.sent_at is None:
            raise refuse_state("filing_not_sent", f"{target} has not been filed yet: nothing to acknowledge",
                               citation=filer.obligation.citation)
        if ack.version is not None and ack.version > filer.updates_sent + 1:
            raise refuse_input("unknown_filing_version", "acknowledgement.version",
                               f"acknowledgement.version: {target} has filed {filer.updates_sent + 1} version(s), not {ack.version}")
        if (ack.version or 1) == 1 and filer.status.resolved:
            raise refuse_state("filing_already_acknowledged",
                               f"{target}'s report is already {filer.status.value}; record an updated report's "
                               "acknowledgement with its version", citation=filer.obligation.citation)
        return target

    # -- notices that did not reach -------------------------------------------------------------

    @workflow.update
    async def report_returned(self, report: ReportReturned) -> IncidentState:
        """A hard bounce or a returned letter, reported while the delivery awaits confirmation:
        ledgered as reported, marked in the delivery store, and the obligation's workflow reopens
        those recipients (another channel, then a new confirmation window)."""
        async with self._lock:
            state = self._check_returned(report)
            key = report.obligation_id
            if state.obligation.kind is not ObligationKind.CONSUMER_NOTICE:
                key = str((state.evidence.get("sent") or {}).get("delivery_key") or report.obligation_id)
            refs = sorted(set(report.recipient_refs))
            n = self._returns_reported_count + 1
            await self._write(
                "incident.returned_reported", f"returned/{n}",
                jurisdiction=state.obligation.jurisdiction, citation=state.obligation.citation,
                actor=ledger_actor(report.recorded_by),
                data={"obligation_id": report.obligation_id, "channel": report.channel, "recipients": len(refs),
                      "recipients_sha256": _digest(refs), "reason": report.reason},
            )
            self._returns_reported_count = n
            await quick_step(
                RECORD_RETURNED_NOTICES,
                ReturnedNoticesInput(obligation_id=key, channel=report.channel, recipient_refs=refs, reason=report.reason),
                result_type=ReturnedNoticesResult,
            )
            await self._signal(report.obligation_id, "notices_returned")
            return self.state()

    @report_returned.validator
    def _validate_returned(self, report: ReportReturned) -> None:
        self._check_returned(report)

    def _check_returned(self, report: ReportReturned) -> ObligationState:
        state = require_obligation(self._obligations, report.obligation_id, "obligation_id")
        if state.obligation.kind not in (ObligationKind.CONSUMER_NOTICE, ObligationKind.PRODUCER_NOTICE,
                                         ObligationKind.CEDING_INSURER_NOTICE):
            raise refuse_input("not_a_delivery", "obligation_id",
                               f"obligation_id: a {state.obligation.kind.value} is not delivered by e-mail or letter",
                               citation=state.obligation.citation)
        if state.status is not ObligationStatus.SENT:
            raise refuse_state("not_awaiting_confirmation",
                               f"{report.obligation_id} is {state.status.value}: a return reopens a notice only while its "
                               "delivery awaits confirmation", citation=state.obligation.citation)
        guard_free_text([("reason", report.reason)])
        return state

    # -- people ---------------------------------------------------------------------------------

    @workflow.update
    async def assign_responders(self, request: AssignResponders) -> IncidentState:
        async with self._lock:
            self._check_responders(request)
            n = self._responder_changes + 1
            await self._write(
                "incident.responders_assigned", f"responders/{n}", citation=None, actor=ledger_actor(request.assigned_by),
                data={**responder_ids(request.responders), "reason": request.reason},
            )
            self._responder_changes = n
            self._responders = request.responders
            await self._signal_each([(obligation_id, "responders_changed", request.responders) for obligation_id in self._obligations])
            self._publish()
            return self.state()

    @assign_responders.validator
    def _validate_responders(self, request: AssignResponders) -> None:
        self._check_responders(request)

    def _check_responders(self, request: AssignResponders) -> None:
        require_active(self._stage, self._close is not None, "assign responders")
        guard_free_text([("reason", request.reason)])

    @workflow.update
    async def record_counsel_review(self, review: CounselReview) -> IncidentState:
        async with self._lock:
            state = self._check_counsel_review(review)
            n = len(self._counsel_reviews) + 1
            sealed = await self._seal(f"counsel-review/{n}", review.notes, ledger_actor(review.reviewer), PrivilegeBasis.ATTORNEY_CLIENT)
            await self._write(
                "incident.counsel_review_recorded", f"counsel-review/{review.obligation_id}",
                jurisdiction=state.obligation.jurisdiction, citation=state.obligation.citation,
                actor=ledger_actor(review.reviewer),
                data={"obligation_id": review.obligation_id, "decision": review.decision.value,
                      "reasons_reviewed": list(state.obligation.counsel_review_reasons),
                      **sealed.ledger_marker("notes")},
            )
            self._counsel_reviews[review.obligation_id] = review.decision.value
            self._publish()
            return self.state()

    @record_counsel_review.validator
    def _validate_counsel_review(self, review: CounselReview) -> None:
        self._check_counsel_review(review)

    def _check_counsel_review(self, review: CounselReview) -> ObligationState:
        if self._stage is not Stage.NOTIFYING:
            raise refuse_state("event_not_active", f"counsel reviews the obligations of a determined, open event (stage {self._stage.value})")
        state = require_obligation(self._obligations, review.obligation_id, "obligation_id")
        if not state.obligation.needs_counsel_review:
            raise refuse_input(
                "counsel_review_not_needed", "obligation_id",
                f"obligation_id: {review.obligation_id} rests on verified rules and carries no counsel-review flag",
                citation=state.obligation.citation,
            )
        if review.obligation_id in self._counsel_reviews:
            raise refuse_state("counsel_review_already_recorded", f"counsel already reviewed {review.obligation_id}")
        return state

    @workflow.update
    async def mark_item_not_applicable(self, mark: ReportItemNotApplicable) -> IncidentState:
        """A report item that does not apply to this event, with the reason (closure needs every
        item answered or so marked)."""
        async with self._lock:
            self._check_not_applicable(mark)
            n = len(self._not_applicable) + 1
            await self._write(
                "incident.report_item_not_applicable", f"not-applicable/{n}",
                jurisdiction=mark.state, citation=call_rules(report_items_citation, mark.state or self._domicile),
                actor=ledger_actor(mark.recorded_by),
                data={"item": mark.item.value, "state": mark.state, "reason": mark.reason},
            )
            self._not_applicable.append(mark)
            if self._stage is Stage.NOTIFYING:
                await self._material_update(
                    f"report item ({mark.item.value}) not applicable", [f"({mark.item.value}) not applicable: {mark.reason}"],
                    mark.recorded_by, step=f"not-applicable/{n}", only_state=mark.state,
                )
            self._publish()
            return self.state()

    @mark_item_not_applicable.validator
    def _validate_not_applicable(self, mark: ReportItemNotApplicable) -> None:
        self._check_not_applicable(mark)

    def _check_not_applicable(self, mark: ReportItemNotApplicable) -> None:
        require_active(self._stage, self._close is not None, "mark a report item not applicable")
        guard_free_text([("reason", mark.reason)])
        context = self._report_context()
        del context["waived"]
        problem = call_rules(
            not_applicable_problem, mark, [st.obligation for st in self._obligations.values()],
            self._findings, self._amendment_log, self._intake, **context,
        )
        if problem is not None:
            raise refuse_input("report_item_not_applicable_refused", problem.field, problem.message, citation=problem.citation)

    async def _seal(self, step: str, text: str, actor: str, basis: PrivilegeBasis) -> SealedRef:
        """Privileged text (counsel's notes, privileged findings) goes to the sealed document store;
        the ledger keeps its digest and a privilege marker."""
        try:
            return await quick_step(
                SEAL_PRIVILEGED_TEXT,
                SealRequest(incident_id=self._intake.incident_id, step=step, text=text, actor=actor, basis=basis),
                result_type=SealedRef,
            )
        except ActivityError as err:
            raise ApplicationError(
                f"the privileged text could not be sealed, so nothing changed: {err.cause or err}",
                {"rule_id": "seal_failed", "category": "failed", "field": None, "citation": None},
                type="seal_failed", non_retryable=True,
            ) from None
