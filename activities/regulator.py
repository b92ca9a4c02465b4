"""Filing with the commissioner (Tenn. Code Ann. § 56-2-1006(b)) and reading the regulator's
acknowledgement.

* ``render_commissioner_report`` — the report, items (A)–(N), and each material update; before
  rendering it signs and stores a tree head of the ledger, and the filed document shows its C2SP
  checkpoint in a "Ledger checkpoint" block (issue 10 spec G) — the filing's entry records it;
* ``submit_to_regulator`` — the filing through the portal adapter, once per version; its receipt
  is the evidence the notice was *sent*;
* ``check_regulator_acknowledgements`` — the regulator's acknowledgements that have come, with
  their reference numbers: what *confirms* the filing. Polled by the commissioner-notice workflow
  with a durable timer between polls; a person may record one instead;
* ``render_attorney_general_notice`` — the notice to a state's attorney general under its general
  breach law (``activities/attorney_general.py``), with the same ledger checkpoint; it is filed by
  ``submit_to_regulator`` with ``office`` ``attorney_general``, into that office's outbox folder,
  and its acknowledgement polled the same way.

``NoticeActivities`` (``activities/notices.py``) builds one and registers its activities.
"""

from __future__ import annotations

import asyncio
import threading

import structlog
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.attorney_general import build_attorney_general_notice, render_attorney_general_notice
from activities.delivery import (
    AcknowledgementUnreadableError,
    PortalUnavailableError,
    RegulatorPortal,
    RegulatorSubmission,
    SubmissionRejectedError,
)
from activities.documents import (
    DocumentError,
    DocumentStore,
    build_commissioner_report,
    load_commissioner_report,
    render_commissioner_report,
)
from activities.files import safe_name
from activities.roster import RosterNotFoundError, RosterStore
from activities.tracking import DeliveryTracker
from ledger.checkpoint import sign_checkpoint
from ledger.errors import LedgerError
from ledger.keys import load_signer
from ledger.store import Ledger
from models.attorney_general import AttorneyGeneralNoticeResult, RenderAttorneyGeneralNoticeInput
from models.notice import (
    AcknowledgementQuery,
    AcknowledgementsFound,
    CommissionerReportResult,
    FilingCheckpoint,
    RegulatorAcknowledgement,
    RegulatorOffice,
    RegulatorReceipt,
    RenderCommissionerReportInput,
    ReportItemAvailability,
    SubmitToRegulatorInput,
)
from config.settings import Settings
from rules.npi import npi_problem

log = structlog.get_logger("noticeflow.notices")


def _portal_unavailable(jurisdiction: str, exc: Exception) -> ApplicationError:
    """Retried with back-off: the portal may take the request later."""
    return ApplicationError(f"regulator portal unavailable for {jurisdiction}: {exc}", type="PortalUnavailable", non_retryable=False)


class RegulatorActivities:
    def __init__(
        self,
        rosters: RosterStore,
        tracker: DeliveryTracker,
        store: DocumentStore,
        portal: RegulatorPortal,
        *,
        settings: Settings | None = None,
        ledger: Ledger | None = None,
    ) -> None:
        self.rosters, self.tracker, self.store, self.portal = rosters, tracker, store, portal
        self.settings = settings
        #: The ledger whose checkpoint a filing carries: the worker's, or opened from ``settings`` on first use.
        self._ledger, self._own_ledger = ledger, False
        self._ledger_lock = threading.Lock()

    def close(self) -> None:
        if self._own_ledger and self._ledger is not None:
            self._ledger.close()

    def _ledger_for_checkpoints(self) -> Ledger:
        with self._ledger_lock:
            if self._ledger is None:
                if self.settings is None:
                    raise ApplicationError(
                        "no ledger to sign the filing's checkpoint: RegulatorActivities needs the worker's ledger or "
                        "its settings", type="NoLedger", non_retryable=True,
                    )
                s = self.settings
                try:
                    signer = load_signer(s.resolved_key_path(), s.key_passphrase)
                except LedgerError as exc:
                    raise ApplicationError(
                        f"the filing's ledger checkpoint cannot be signed: {exc}", type="LedgerKeyUnavailable",
                        non_retryable=True,
                    ) from None
                self._ledger = Ledger.open(s.resolved_db_url(), signer)
                self._own_ledger = True
            return self._ledger

    def _checkpoint(self) -> tuple[FilingCheckpoint, str]:
        """Sign and store a tree head of the whole ledger as it stands, and its C2SP checkpoint
        (issue 10 spec G): the filed document shows the note, the filing's entry the fields. The
        stored head lets every later bundle prove that its ledger extends this one."""
        ledger = self._ledger_for_checkpoints()
        assert ledger.signer is not None  # opened with the signing key
        origin = self.settings.ledger_origin if self.settings is not None else Settings.model_fields["ledger_origin"].default
        head = ledger.sign_tree_head(store=True)
        note = sign_checkpoint(ledger.signer, origin, head.tree_size, bytes.fromhex(head.root_hash))
        return FilingCheckpoint(origin=origin, tree_size=head.tree_size, root_hash=head.root_hash), note

    @activity.defn(name="render_commissioner_report")
    async def render_commissioner_report(self, req: RenderCommissionerReportInput) -> CommissionerReportResult:
        """Tenn. Code Ann. § 56-2-1006(b)(1)(A)–(N), and each material update under (b)(2)."""
        return await asyncio.to_thread(self._render_commissioner_report, req)

    def _render_commissioner_report(self, req: RenderCommissionerReportInput) -> CommissionerReportResult:
        roster = None
        if req.roster_id:
            try:
                roster = self.rosters.roster_summary(req.roster_id)
            except RosterNotFoundError:
                roster = None  # (I) still has the intake's best estimate
        try:
            previous = load_commissioner_report(self.store, req.previous) if req.previous else None
            report = build_commissioner_report(req, roster, previous, req.previous.sha256 if req.previous else None)
            checkpoint, note = self._checkpoint()
            report = report.model_copy(update={"ledger_checkpoint": checkpoint, "ledger_checkpoint_note": note})
            json_ref, html_ref = render_commissioner_report(self.store, report)
        except DocumentError as exc:
            raise ApplicationError(str(exc), type="DocumentError", non_retryable=True) from None
        log.info(
            "commissioner_report_rendered",
            obligation_id=req.obligation.obligation_id,
            version=report.version,
            sha256=json_ref.sha256,
            changes=len(report.changes),
            checkpoint_tree_size=checkpoint.tree_size,
        )
        return CommissionerReportResult(
            obligation_id=report.obligation_id,
            jurisdiction=report.jurisdiction,
            version=report.version,
            material_update=report.material_update,
            json_document=json_ref,
            html_document=html_ref,
            available=[i.code for i in report.items if i.status is ReportItemAvailability.AVAILABLE],
            not_yet_available=[
                i.code
                for i in report.items
                if i.status in (ReportItemAvailability.PARTIAL, ReportItemAvailability.NOT_YET_AVAILABLE)
            ],
            changes=report.changes,
            consumer_estimate=report.consumer_estimate,
            checkpoint=checkpoint,
        )

    @activity.defn(name="render_attorney_general_notice")
    async def render_attorney_general_notice(self, req: RenderAttorneyGeneralNoticeInput) -> AttorneyGeneralNoticeResult:
        """The notice to a state's attorney general under its general breach law (the obligation's
        citation), with the ledger's checkpoint; counts and dates only, never a consumer."""
        return await asyncio.to_thread(self._render_attorney_general_notice, req)

    def _render_attorney_general_notice(self, req: RenderAttorneyGeneralNoticeInput) -> AttorneyGeneralNoticeResult:
        try:
            notice = build_attorney_general_notice(req)
            checkpoint, note = self._checkpoint()
            notice = notice.model_copy(update={"ledger_checkpoint": checkpoint, "ledger_checkpoint_note": note})
            json_ref, html_ref = render_attorney_general_notice(self.store, notice)
        except DocumentError as exc:
            raise ApplicationError(str(exc), type="DocumentError", non_retryable=True) from None
        log.info("attorney_general_notice_rendered", obligation_id=req.obligation.obligation_id, sha256=json_ref.sha256,
                 checkpoint_tree_size=checkpoint.tree_size)
        return AttorneyGeneralNoticeResult(
            obligation_id=notice.obligation_id, jurisdiction=notice.jurisdiction, json_document=json_ref,
            html_document=html_ref, residents_affected=notice.residents_affected, checkpoint=checkpoint,
        )

    @activity.defn(name="submit_to_regulator")
    async def submit_to_regulator(self, req: SubmitToRegulatorInput) -> RegulatorReceipt:
        """File the document with the office (``req.office``: the commissioner, or the attorney
        general) through the portal adapter; once per version. The receipt is the evidence it was
        *sent*; the regulator's acknowledgement, polled by ``check_regulator_acknowledgements``,
        confirms it."""
        submission_id = f"{safe_name(req.obligation_id)}-v{req.version}"
        existing = await asyncio.to_thread(self.tracker.receipt, submission_id)
        if existing is not None:
            return existing
        try:
            files = tuple(self.store.path_of(d) for d in req.documents)
            for d in req.documents:
                await asyncio.to_thread(self.store.read, d)  # present and unaltered
        except DocumentError as exc:
            raise ApplicationError(str(exc), type="DocumentError", non_retryable=True) from None
        submission = RegulatorSubmission(
            submission_id=submission_id,
            obligation_id=req.obligation_id,
            jurisdiction=req.jurisdiction,
            recipient_name=req.recipient_name,
            version=req.version,
            documents=tuple(req.documents),
            files=files,
            office=req.office.value,
        )
        try:
            receipt = await self.portal.submit(submission)
        except PortalUnavailableError as exc:
            raise _portal_unavailable(req.jurisdiction, exc) from None
        except SubmissionRejectedError as exc:
            raise ApplicationError(
                f"the {req.jurisdiction} portal rejected submission {submission_id}: {exc}",
                type="SubmissionRejected",
                non_retryable=True,
            ) from None
        stored = await asyncio.to_thread(self.tracker.save_receipt, req.obligation_id, receipt)
        log.info("regulator_submission_filed", obligation_id=req.obligation_id, submission_id=submission_id, portal=stored.portal)
        return stored

    @activity.defn(name="check_regulator_acknowledgements")
    async def check_regulator_acknowledgements(self, req: AcknowledgementQuery) -> AcknowledgementsFound:
        """The regulator's acknowledgements of these filings that have come, each kept once in the
        tracker; a filing not yet acknowledged is simply absent."""
        found: dict[str, RegulatorAcknowledgement] = {}
        unreadable: dict[str, str] = {}
        asker = getattr(self.portal, "acknowledgement", None)  # a portal that gives none: a person records it
        for submission_id in req.submission_ids:
            known = await asyncio.to_thread(self.tracker.acknowledgement, submission_id)
            if known is None and asker is not None:
                try:
                    # A portal written before offices takes (jurisdiction, submission id) only.
                    ack = await (asker(req.jurisdiction, submission_id) if req.office is RegulatorOffice.COMMISSIONER
                                 else asker(req.jurisdiction, submission_id, office=req.office.value))
                except AcknowledgementUnreadableError as exc:
                    unreadable[submission_id] = str(exc)
                    log.warning("regulator_acknowledgement_unreadable", submission_id=submission_id, error=str(exc))
                    continue
                except PortalUnavailableError as exc:
                    raise _portal_unavailable(req.jurisdiction, exc) from None
                if ack is None:
                    continue
                problem = npi_problem("reference", ack.reference)
                if problem:  # it would be ledgered: never; a person is told why
                    unreadable[submission_id] = f"acknowledgement refused: {problem}"
                    continue
                known = await asyncio.to_thread(self.tracker.save_acknowledgement, submission_id, ack)
                log.info("regulator_acknowledgement_received", submission_id=submission_id, simulated=ack.simulated)
            if known is not None:
                found[submission_id] = known
        return AcknowledgementsFound(
            acknowledgements=found, unreadable=unreadable,
            tracking_business_days=self.settings.acknowledgement_tracking_business_days if self.settings else None,
        )

