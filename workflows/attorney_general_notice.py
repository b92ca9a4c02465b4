"""The attorney-general-notice obligation: notice to a state's attorney general under its general
breach law (e.g. Tex. Bus. & Com. Code § 521.053: if 250 or more Texas residents are affected, to
the Attorney General within 30 days of the determination, on the AG's electronic form).

render → file through the regulator outbox, keyed to that attorney general (``office``
``attorney_general``; ``outbox/regulators/attorney_general/<state>/``) → ``sent`` on the outbox's
receipt → ``met`` (or ``met_late``, judged on when it was filed) only on the office's
acknowledgement with its reference number — polled from the portal with durable timers between
polls (``check_regulator_acknowledgements``), or recorded by a person (signal
``record_acknowledgement``, routed by the event workflow). Without one within two business days of
the filing (the attorney general's state's business days) the responders are alerted
(``attorney_general_notice.acknowledgement_missing``).

A filing the portal refuses (``SubmissionRejected``) files nothing: the obligation stays open, the
refusal is recorded (``attorney_general_notice.filing_refused``) and alerted, and the same
submission — one id per obligation, so never filed twice — is tried again after
``FILING_RETRY_INTERVALS``, up to ``MAX_FILING_ATTEMPTS`` times; then a person files it by hand and
completes the obligation with the evidence, or waives it. A portal that cannot be reached is
retried by the activity itself (``DELIVERY``); the deadline keeps running meanwhile, and a notice
filed after it is ``met_late``.

No material updates: the general breach law asks for one notice (the commissioner's continuing duty
is the commissioner-notice workflow's).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from models.actors import ledger_actor
    from models.alerts import AlertWhat
    from models.attorney_general import AttorneyGeneralNoticeResult, RenderAttorneyGeneralNoticeInput
    from models.authority import StepAuthority, acting, current_authority
    from models.lifecycle import ObligationInput, ObligationState
    from models.notice import (
        AcknowledgementQuery,
        AcknowledgementsFound,
        RegulatorAcknowledgement,
        RegulatorOffice,
        RegulatorReceipt,
        SubmitToRegulatorInput,
    )
    from models.obligation import Obligation
    from rules.calendar import deadline
    from rules.npi import npi_problem

from workflows.commissioner_notice import (
    ACK_FIRST_POLLS,
    ACK_POLL_INTERVAL,
    ACK_POLL_INTERVAL_OVERDUE,
    ACKNOWLEDGEMENT_EXPECTED_WITHIN,
)
from workflows.common import (
    CHECK_REGULATOR_ACKNOWLEDGEMENTS,
    DELIVERY,
    QUICK,
    RENDER_ATTORNEY_GENERAL_NOTICE,
    SUBMIT_TO_REGULATOR,
    iso,
    markdown_deadline,
)
from workflows.obligation_base import ObligationWorkflow
from workflows.refusals import actor_refused
from workflows.rules_call import call_rules

#: After the portal refuses a filing, it is tried again this long after the 1st, 2nd, 3rd and
#: later refusals (durable timers); after ``MAX_FILING_ATTEMPTS`` refusals a person takes over.
FILING_RETRY_INTERVALS = (timedelta(hours=1), timedelta(hours=4), timedelta(hours=24))
MAX_FILING_ATTEMPTS = 6
#: The error type ``submit_to_regulator`` raises for a portal's refusal (``activities/regulator.py``).
SUBMISSION_REJECTED = "SubmissionRejected"


@dataclass
class _Filing:
    receipt: RegulatorReceipt
    expected_by: datetime
    acknowledged: RegulatorAcknowledgement | None = None
    missing_recorded: bool = False


def attorney_general_state(obligation: Obligation) -> str:
    """Whose attorney general receives the notice: the recipient's state (``attorney_general:<state>``),
    else the state whose law requires it."""
    prefix, _, state = obligation.recipient_key.partition(":")
    return state if prefix == RegulatorOffice.ATTORNEY_GENERAL.value and state else obligation.jurisdiction


def _refusal(err: ActivityError) -> str | None:
    """The portal's reason when ``err`` is its refusal of the filing; None for any other failure."""
    cause = err.cause
    if isinstance(cause, ApplicationError) and cause.type == SUBMISSION_REJECTED:
        return cause.message
    return None


@workflow.defn(name="AttorneyGeneralNoticeWorkflow")
class AttorneyGeneralNoticeWorkflow(ObligationWorkflow):
    """One notice, filed once with the attorney general's office and confirmed by its acknowledgement."""

    @workflow.init
    def __init__(self, inp: ObligationInput) -> None:
        super().__init__(inp)
        self._filing: _Filing | None = None
        self._attempts = 0
        self._polling = False  # an acknowledgement poll in flight
        self._ack_inbox: list[RegulatorAcknowledgement] = []
        #: The actor assertion each recorded acknowledgement was forwarded under (``models/authority.py``).
        self._ack_authority: dict[int, StepAuthority | None] = {}
        self._ack_unreadable: str | None = None

    @workflow.run
    async def run(self, inp: ObligationInput) -> ObligationState:
        return await self._lifecycle(self._work)

    @workflow.signal
    def record_acknowledgement(self, ack: RegulatorAcknowledgement) -> None:
        """A person records the office's acknowledgement (validated and routed by the event workflow)."""
        authority, ack = ack.forwarded_under or current_authority(), ack.model_copy(update={"forwarded_under": None})
        self._ack_authority[id(ack)] = authority
        self._ack_inbox.append(ack)

    def _work_pending(self) -> bool:
        return self._polling

    @property
    def _filed_with(self) -> str:
        return attorney_general_state(self._obligation)

    @property
    def _office(self) -> str:
        return f"the {self._filed_with} Attorney General"

    async def _work(self) -> None:
        ob = self._obligation
        self._waiting_for = f"the notice to be rendered and filed with {self._office}"
        await self._publish()
        notice: AttorneyGeneralNoticeResult = await workflow.execute_activity(
            RENDER_ATTORNEY_GENERAL_NOTICE,
            RenderAttorneyGeneralNoticeInput(obligation=ob, intake=self._inp.intake, content=self._inp.notices.content,
                                             as_of=workflow.now()),
            result_type=AttorneyGeneralNoticeResult,
            **QUICK,  # type: ignore[arg-type]
        )
        receipt = await self._file(notice)
        if receipt is None:
            return
        self._documents.append(notice.json_document)
        await self._record(
            "submitted", "notice/v1",
            data={
                "version": 1,
                "office": RegulatorOffice.ATTORNEY_GENERAL.value,
                "filed_with": self._filed_with,
                "document_sha256": notice.json_document.sha256,
                "html_sha256": notice.html_document.sha256,
                "submission_id": receipt.submission_id,
                "portal": receipt.portal,
                "sent_at": iso(receipt.submitted_at),
                "portal_reference": receipt.reference,
                "residents_affected": notice.residents_affected,
                "attempts": self._attempts,
                "checkpoint": notice.checkpoint.model_dump(mode="json") if notice.checkpoint else None,
            },
        )
        expected_by = call_rules(deadline, receipt.submitted_at, ACKNOWLEDGEMENT_EXPECTED_WITHIN, self._filed_with)
        self._filing = _Filing(receipt, expected_by)
        await self._sent(
            receipt.submitted_at,
            {**receipt.sent_evidence(), "acknowledgement_expected_by": iso(expected_by)},
            waiting_for=self._ack_words(),
        )
        await self._track_acknowledgement()

    # -- filing ---------------------------------------------------------------------------------

    async def _file(self, notice: AttorneyGeneralNoticeResult) -> RegulatorReceipt | None:
        """File the notice; on the portal's refusal record it, alert, and try the same submission
        again later. None: resolved by a person meanwhile, or refused too often (a person takes over)."""
        ob = self._obligation
        while not self._status.resolved:
            self._attempts += 1
            try:
                return await workflow.execute_activity(
                    SUBMIT_TO_REGULATOR,
                    SubmitToRegulatorInput(
                        obligation_id=ob.obligation_id, jurisdiction=self._filed_with, recipient_name=ob.recipient_name,
                        office=RegulatorOffice.ATTORNEY_GENERAL, version=1,
                        documents=[notice.json_document, notice.html_document],
                    ),
                    result_type=RegulatorReceipt,
                    **DELIVERY,  # type: ignore[arg-type]
                )
            except ActivityError as err:
                reason = _refusal(err)
                if reason is None:  # not a refusal: the obligation waits for a person (automation_failed)
                    raise
            step = f"filing-refused/{self._attempts}"
            last = self._attempts >= MAX_FILING_ATTEMPTS
            retry_in = FILING_RETRY_INTERVALS[min(self._attempts, len(FILING_RETRY_INTERVALS)) - 1]
            retry_at = None if last else workflow.now() + retry_in
            await self._record("filing_refused", step, data={
                "attempt": self._attempts, "error": reason[:500], "submission_id_reused": True,
                "retry_at": iso(retry_at) if retry_at else None,
                "statement": "The portal refused the notice: nothing was filed. The obligation stays open and its "
                "deadline keeps running.",
            })
            if last:
                self._waiting_for = (
                    f"a person: {self._office}'s portal refused the notice {self._attempts} times (last: "
                    f"{reason[:200]}); file it as the office directs and complete manually with the evidence, or waive"
                )
            else:
                assert retry_at is not None
                self._waiting_for = (
                    f"{self._office}'s portal refused the notice ({reason[:200]}); it is filed again at "
                    f"{markdown_deadline(retry_at)} — or complete manually with the evidence of a filing made by hand"
                )
            await self._publish()
            await self._alert(AlertWhat.FILING_REFUSED, step, self._due)
            if last:
                return None
            try:
                await workflow.wait_condition(lambda: self._status.resolved, timeout=retry_in)
            except TimeoutError:
                pass
            self._waiting_for = f"the notice to be filed again with {self._office}"
            await self._publish()
        return None

    # -- the office's acknowledgement -----------------------------------------------------------

    async def _track_acknowledgement(self) -> None:
        """Ask the portal for the acknowledgement with a durable timer between polls; take a
        person's as it comes; record and alert once when it is overdue. Ends when the obligation
        is resolved (acknowledged, or completed or waived by a person)."""
        polls = 0
        while not self._status.resolved:
            filing = self._filing
            assert filing is not None
            await self._take_recorded_acknowledgements(filing)
            if self._status.resolved:
                return
            submission_id = filing.receipt.submission_id
            self._polling = True
            try:
                found: AcknowledgementsFound = await workflow.execute_activity(
                    CHECK_REGULATOR_ACKNOWLEDGEMENTS,
                    AcknowledgementQuery(jurisdiction=self._filed_with, office=RegulatorOffice.ATTORNEY_GENERAL,
                                         submission_ids=[submission_id]),
                    result_type=AcknowledgementsFound,
                    **QUICK,  # type: ignore[arg-type]
                )
            finally:
                self._polling = False
            self._ack_unreadable = found.unreadable.get(submission_id)
            ack = found.acknowledgements.get(submission_id)
            if ack is not None and not self._status.resolved:
                await self._acknowledged(filing, ack)
                # A person's completion being recorded meanwhile: wait for it rather than ask again.
                await workflow.wait_condition(lambda: self._status.resolved or not self._resolving)
                continue
            now = workflow.now()
            if not filing.missing_recorded and now >= filing.expected_by and not self._status.resolved:
                await self._acknowledgement_missing(filing)
            if polls < len(ACK_FIRST_POLLS):
                interval = ACK_FIRST_POLLS[polls]
            else:
                interval = ACK_POLL_INTERVAL_OVERDUE if filing.missing_recorded else ACK_POLL_INTERVAL
            polls += 1
            wake = now + interval
            if not filing.missing_recorded and now < filing.expected_by:
                wake = min(wake, filing.expected_by)
            if not self._status.resolved:
                await self._show_waiting()
            try:
                await workflow.wait_condition(lambda: bool(self._ack_inbox) or self._status.resolved,
                                              timeout=max(wake - now, timedelta(seconds=1)))
            except TimeoutError:
                pass

    async def _take_recorded_acknowledgements(self, filing: _Filing) -> None:
        while self._ack_inbox and not self._status.resolved:
            ack = self._ack_inbox.pop(0)
            authority = self._ack_authority.pop(id(ack), None)
            if call_rules(npi_problem, "reference", ack.reference):  # refused by the event's validator already
                workflow.logger.warning("acknowledgement refused: NPI in the reference")
                continue
            if ack.version not in (None, 1):
                workflow.logger.info("acknowledgement of an unknown version ignored", extra={"version": ack.version})
                continue
            try:
                with acting(authority):
                    await self._acknowledged(filing, ack, actor=ledger_actor(ack.recorded_by))
            except ActivityError as exc:
                if not actor_refused(exc):
                    raise
                # Not vouched for by the API: nothing recorded, the filing still awaits its acknowledgement.
                filing.acknowledged = None
                workflow.logger.warning("acknowledgement refused: actor not vouched for", extra={"error": str(exc.cause)})

    async def _acknowledged(self, filing: _Filing, ack: RegulatorAcknowledgement, *, actor: str = "worker") -> None:
        """Met — on time when filed by the due instant, however late the acknowledgement."""
        filing.acknowledged = ack
        evidence = {"version": 1, "submission_id": filing.receipt.submission_id, **ack.confirmation_evidence()}
        await self._confirmed(max(ack.received_at, filing.receipt.submitted_at), evidence, actor=actor)

    async def _acknowledgement_missing(self, filing: _Filing) -> None:
        filing.missing_recorded = True
        step = "acknowledgement_missing/v1"
        await self._record(
            "acknowledgement_missing", step,
            data={
                "version": 1,
                "submission_id": filing.receipt.submission_id,
                "portal": filing.receipt.portal,
                "sent_at": iso(filing.receipt.submitted_at),
                "expected_by": iso(filing.expected_by),
                "expected_within": f"{ACKNOWLEDGEMENT_EXPECTED_WITHIN.describe()} of the filing ({self._filed_with})",
                "basis": "noticeflow's expectation of the office, not a statutory deadline",
            },
        )
        await self._show_waiting()
        await self._alert(AlertWhat.ACKNOWLEDGEMENT_MISSING, step, self._due)

    def _ack_words(self) -> str:
        filing = self._filing
        assert filing is not None
        words = (
            f"{self._office}'s acknowledgement of the notice filed "
            f"{markdown_deadline(filing.receipt.submitted_at)} (submission {filing.receipt.submission_id}), expected by "
            f"{markdown_deadline(filing.expected_by)}"
        )
        if filing.missing_recorded:
            words += (
                f"; none came within two business days: check with {self._office}'s office and "
                "record the acknowledgement with its reference number, or complete manually with the evidence"
            )
        if self._ack_unreadable:
            words += f"; the acknowledgement could not be read ({self._ack_unreadable})"
        return words

    async def _show_waiting(self) -> None:
        """Publish what the obligation waits for, when that changed (a poll that found nothing does
        not signal the event workflow again)."""
        words = self._ack_words()
        if words != self._waiting_for:
            self._waiting_for = words
            await self._publish()
