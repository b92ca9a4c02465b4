"""Notice activities: render the documents of an obligation and deliver them.

Each activity takes one pydantic model and returns one; none carries a consumer's name, address
or e-mail — consumers are ``consumer_ref`` digests, read from the roster store inside the
activity. Every activity is idempotent under retries:

* documents are content-addressed, so rendering again finds the same file;
* each recipient is claimed in ``notice_deliveries`` before anything leaves, and a claimed
  recipient is never sent the same notice on the same channel again (``activities/tracking.py``);
* consumer rosters are delivered in batches, each recorded in ``notice_delivery_batches`` when
  done, with a heartbeat after each, so a retry resumes at the first unfinished batch;
* a regulator submission has a stable id per obligation and version, and its receipt is stored;
  its acknowledgement, once the regulator gives one, too.

Sent is not received: a sent e-mail or letter keeps the channel's evidence in the tracker (the
relay's queue id, the mailing manifest's digest); the workflows confirm it later — a regulator's
acknowledgement (``check_regulator_acknowledgements``), no hard bounce within the bounce window
(``confirm_deliveries``).

Register with the worker::

    notices = NoticeActivities(settings)
    Worker(client, task_queue=..., activities=[*notices.activities(), ...])
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

import structlog
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities import db
from activities.consumer_evidence import ConsumerEvidenceActivities
from activities.delivery import (
    ChannelUnavailableError,
    DeliveryChannel,
    Envelope,
    MediaChannel,
    OutboxPortal,
    OutcomeStatus,
    PrintBatchChannel,
    RegulatorPortal,
    SmtpChannel,
    WebsiteChannel,
    sent_evidence,
)
from activities.contact_store import DataKeyDestroyedError
from activities.documents import (
    DocumentError,
    DocumentStore,
    NoticeText,
    notice_text,
    render_ceding_insurer_notice,
    render_consumer_email,
    render_consumer_letter,
    render_media_notice,
    render_website_posting,
    store_email,
)
from activities.files import safe_name
from activities.producer_delivery import ProducerDelivery
from activities.regulator import RegulatorActivities
from activities.roster import RosterNotFoundError, RosterStore
from activities.tracking import (
    COVERED,
    FAILED,
    NONE,
    RETURNED,
    SENT,
    SUBSTITUTE,
    UNREACHABLE,
    Attempt,
    DeliveryTracker,
)
from ledger.store import Ledger
from models.lifecycle import DeliveryCounts
from models.notice import (
    CedingInsurerNoticeInput,
    CedingInsurerNoticeResult,
    ConsumerContact,
    ConsumerNoticeInput,
    ConsumerNoticeResult,
    DeliveryConfirmationInput,
    DeliveryConfirmationResult,
    DeliveryFailure,
    DeliveryReport,
    DocumentKind,
    DocumentRef,
    FailureKind,
    ProducerNoticeInput,
    ProducerNoticeResult,
    ReturnedNoticesInput,
    ReturnedNoticesResult,
    RosterSummary,
    RosterSummaryInput,
    SentEvidence,
)
from models.obligation import NoticeMethod, Obligation, ObligationKind
from config.settings import Settings
from rules.jurisdictions import substitute_part_citation

log = structlog.get_logger("noticeflow.notices")

#: Failures listed in an activity result; the rest stay in the delivery store (payload size).
MAX_FAILURES_LISTED = 200
#: E-mails sent between two heartbeats inside a batch.
HEARTBEAT_EVERY = 25


# =============================================================================================
# Which channel reaches a consumer (Tenn. Code Ann. § 56-2-1006(c)(1)–(3))
# =============================================================================================


def allowed_channels(contact: ConsumerContact, ob: Obligation) -> list[str]:
    """The individual channels the obligation's method allows for this consumer, preferred first.

    Written notice (c)(1) is a letter to a postal address. Electronic notice (c)(2) is e-mail to a
    consumer whose roster entry records E-SIGN consent or an electronic primary channel
    (``electronic_consent``). Under substitute notice (c)(3)(A) e-mail goes to every consumer whose
    address is known, consent or not.
    """
    method = ob.method
    sub = ob.substitute_notice
    postal = contact.postal_address is not None
    email = contact.email is not None
    consented_email = email and contact.electronic_consent
    if method is NoticeMethod.SUBSTITUTE and sub is not None and sub.applies_to == "all_affected":
        return ["email"] if email else []
    individual = (sub.individual_method if sub is not None else None) if method is NoticeMethod.SUBSTITUTE else method
    order: list[str] = []
    if individual is NoticeMethod.ELECTRONIC:
        order = (["email"] if consented_email else []) + (["postal"] if postal else [])
    else:
        order = (["postal"] if postal else []) + (["email"] if consented_email else [])
    if method is NoticeMethod.SUBSTITUTE and email and "email" not in order:
        order.append("email")  # (c)(3)(A) for consumers without sufficient contact information
    return order


def fallback_status(ob: Obligation) -> tuple[str, str]:
    """What becomes of a consumer no individual channel reaches."""
    if ob.method is NoticeMethod.SUBSTITUTE:
        return SUBSTITUTE, COVERED  # reached by the website posting and the media notice
    return NONE, UNREACHABLE


def _message_id(obligation_id: str, ref: str, mail_from: str) -> str:
    domain = mail_from.rpartition("@")[2] or "noticeflow.invalid"
    return f"<{hashlib.sha256(f'{obligation_id}|{ref}'.encode()).hexdigest()[:40]}@{domain}>"


def _part_citation(ob: Obligation, part: str) -> str:
    # The state's own section for the part, or Tennessee's, marked as applied (rules.jurisdictions).
    return substitute_part_citation(ob.jurisdiction, part)


def _email_evidence(outcome: Any, env: Envelope) -> dict[str, SentEvidence] | None:
    """A sent e-mail's evidence: the relay's queue id, or its Message-ID, relay and reply."""
    if outcome.status is not OutcomeStatus.SENT:
        return None
    return {env.recipient_ref: sent_evidence(outcome, "email", message_id=env.message_id)}


class _Retryable(ApplicationError):
    def __init__(self, message: str, type_: str) -> None:
        super().__init__(message, type=type_, non_retryable=False)


def _refuses_bad_documents(fn: Callable[..., Any]) -> Callable[..., Any]:
    """A document refused before it is rendered (NPI in the licensee's text, a stated date the
    record does not hold) fails the activity for good: retrying renders the same text again. The
    obligation then waits for a person, with the field named."""

    @functools.wraps(fn)
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return await fn(*args, **kwargs)
        except DocumentError as exc:
            raise ApplicationError(str(exc), type="DocumentError", non_retryable=True) from None
        except DataKeyDestroyedError as exc:
            # The event's retention ended and its contacts were shredded: no retry can open them.
            raise ApplicationError(
                str(exc), {"field": "roster_id", "citation": exc.citation}, type="contact_data_destroyed",
                non_retryable=True,
            ) from None

    return wrapper


def _invalid(message: str) -> ApplicationError:
    return ApplicationError(message, type="InvalidNoticeRequest", non_retryable=True)


# =============================================================================================
# The activities
# =============================================================================================


class NoticeActivities:
    def __init__(
        self,
        settings: Settings,
        portal: RegulatorPortal | None = None,
        *,
        email_channel: Callable[[], DeliveryChannel] | None = None,
        ledger: Ledger | None = None,
    ) -> None:
        self.settings = settings
        self.engine = db.open_engine(settings.resolved_db_url())
        self.rosters = RosterStore.for_settings(self.engine, settings)
        self.tracker = DeliveryTracker(self.engine)
        self.store = DocumentStore(settings.documents_dir)
        self.portal: RegulatorPortal = portal or OutboxPortal(settings.outbox_dir, simulate_acks=settings.outbox_simulate_acks)
        self.regulator = RegulatorActivities(self.rosters, self.tracker, self.store, self.portal, settings=settings, ledger=ledger)
        self.consumer_evidence = ConsumerEvidenceActivities(self.tracker, settings.bounce_window_days)
        self._email_channel = email_channel or (lambda: SmtpChannel(settings))

    # The commissioner's activities live in ``activities/regulator.py``; named here as before.
    @property
    def render_commissioner_report(self) -> Callable[..., Any]:
        return self.regulator.render_commissioner_report

    @property
    def submit_to_regulator(self) -> Callable[..., Any]:
        return self.regulator.submit_to_regulator

    @property
    def check_regulator_acknowledgements(self) -> Callable[..., Any]:
        return self.regulator.check_regulator_acknowledgements

    def activities(self) -> list[Callable[..., Any]]:
        return [
            self.render_commissioner_report,
            self.submit_to_regulator,
            self.check_regulator_acknowledgements,
            self.regulator.render_attorney_general_notice,
            self.render_and_deliver_consumer_notice,
            self.deliver_producer_notice,
            self.deliver_ceding_insurer_notice,
            self.roster_summary,
            self.record_returned_notices,
            self.confirm_deliveries,
            self.consumer_evidence.consumer_notice_evidence,
        ]

    def close(self) -> None:
        self.regulator.close()
        self.engine.dispose()

    # -- roster -----------------------------------------------------------------------------------

    @activity.defn(name="roster_summary")
    async def roster_summary(self, req: RosterSummaryInput) -> RosterSummary:
        try:
            return await asyncio.to_thread(self.rosters.roster_summary, req.roster_id)
        except RosterNotFoundError as exc:
            raise ApplicationError(str(exc), type="RosterNotFound", non_retryable=True) from None

    # -- consumers ---------------------------------------------------------------------------------

    @activity.defn(name="render_and_deliver_consumer_notice")
    @_refuses_bad_documents
    async def render_and_deliver_consumer_notice(self, req: ConsumerNoticeInput) -> ConsumerNoticeResult:
        """Tenn. Code Ann. § 56-2-1006(c): notice to every consumer of the obligation's state on the
        roster by the method the rules chose; substitute notice as its three parts (c)(3)(A)–(C)."""
        ob = req.obligation
        if ob.kind is not ObligationKind.CONSUMER_NOTICE or ob.method is None:
            raise _invalid(f"{ob.obligation_id}: a consumer notice needs a consumer_notice obligation with a method")
        try:
            summary = await asyncio.to_thread(self.rosters.roster_summary, req.roster_id)
        except RosterNotFoundError as exc:
            raise ApplicationError(str(exc), type="RosterNotFound", non_retryable=True) from None
        run = _ConsumerRun(self, req)
        await run.prepare()
        try:
            if ob.method is NoticeMethod.SUBSTITUTE:
                await run.publish_substitute_parts()
            if run.initial:
                await run.initial_round()
            else:
                await run.follow_up_round()
        finally:
            await run.close()
        result = await asyncio.to_thread(run.result, summary)
        log.info(
            "consumer_notice_delivered",
            obligation_id=ob.obligation_id,
            round=req.round,
            notified=result.notified,
            covered=result.covered_by_substitute,
            outstanding=result.outstanding,
            in_doubt=result.in_doubt,
        )
        if run.deferred:
            # Temporary refusals: nothing was sent to them; the retry sends to them alone.
            raise _Retryable(
                f"{run.deferred} e-mail(s) for {ob.obligation_id} were deferred by the mail server; retrying",
                "DeliveryDeferred",
            )
        return result

    @activity.defn(name="record_returned_notices")
    async def record_returned_notices(self, req: ReturnedNoticesInput) -> ReturnedNoticesResult:
        """Bounces that come back after sending, and letters the mail vendor reports returned; the
        next follow-up round tries another channel for them."""
        recorded = await asyncio.to_thread(
            self.tracker.mark_returned, req.obligation_id, req.channel, list(req.recipient_refs), req.reason
        )
        return ReturnedNoticesResult(recorded=recorded, unknown=len(set(req.recipient_refs)) - recorded)

    @activity.defn(name="confirm_deliveries")
    async def confirm_deliveries(self, req: DeliveryConfirmationInput) -> DeliveryConfirmationResult:
        """At the end of the bounce window: the recipients whose notice is still ``sent`` (no hard
        bounce came back — confirmed), and those recorded ``returned`` meanwhile, with the reason."""
        refs = list(dict.fromkeys(req.recipient_refs))
        rows = await asyncio.to_thread(self.tracker.outcomes_of, req.delivery_key, req.channel, refs)
        confirmed: list[str] = []
        returned: list[DeliveryFailure] = []
        missing: list[str] = []
        for ref in refs:
            status, kind, reason = rows.get(ref, (None, None, None))
            if status == SENT:
                confirmed.append(ref)
            elif status == RETURNED:
                returned.append(DeliveryFailure(
                    recipient_ref=ref, channel=req.channel, kind=FailureKind(kind or FailureKind.BOUNCED.value),
                    reason=reason or "",
                ))
            else:
                missing.append(ref)
        return DeliveryConfirmationResult(confirmed=confirmed, returned=returned, missing=missing)

    # -- producers of record, ceding insurers ------------------------------------------------------

    @activity.defn(name="deliver_producer_notice")
    @_refuses_bad_documents
    async def deliver_producer_notice(self, req: ProducerNoticeInput) -> ProducerNoticeResult:
        """Tenn. Code Ann. § 56-2-1006(f): notify the producers of record of the state's affected
        consumers, if known, no later than the consumer notice — one e-mail per producer per event
        (``activities/producer_delivery.py``)."""
        run = ProducerDelivery(
            rosters=self.rosters,
            tracker=self.tracker,
            store=self.store,
            email_channel=self._email_channel,
            message_id=lambda key, ref: _message_id(key, ref, self.settings.mail_from),
            req=req,
        )
        result = await run.run()
        # The relay's evidence for each producer notified: what the workflow records as sent.
        evidence = await asyncio.to_thread(self.tracker.sent_evidence, run.key, "email", result.notified)
        return result.model_copy(update={
            "delivery_key": run.key, "sent": [evidence[p] for p in result.notified if p in evidence],
            "bounce_window": timedelta(days=self.settings.bounce_window_days),
        })

    @activity.defn(name="deliver_ceding_insurer_notice")
    @_refuses_bad_documents
    async def deliver_ceding_insurer_notice(self, req: CedingInsurerNoticeInput) -> CedingInsurerNoticeResult:
        """Tenn. Code Ann. § 56-2-1006(e): an assuming insurer notifies the affected ceding insurers."""
        ob = req.obligation
        if ob.kind is not ObligationKind.CEDING_INSURER_NOTICE:
            raise _invalid(f"{ob.obligation_id} is not a ceding_insurer_notice obligation")
        text = notice_text(ob, req.intake, req.content, req.as_of, ob.citation)
        specimen = render_ceding_insurer_notice(ob, req.intake, text, None)
        docs = [
            self.store.put(DocumentKind.CEDING_INSURER_NOTICE, specimen.text.encode(), "text/plain", ob.citation),
            self.store.put(DocumentKind.CEDING_INSURER_NOTICE, specimen.html.encode(), "text/html", ob.citation),
        ]
        # Every state's ceding-insurer obligation of the event goes to the same insurers with the
        # same notice: deliveries are keyed by the recipients, so each insurer is notified once.
        key = f"{req.intake.incident_id}:{ob.kind.value}:{ob.recipient_key}"
        envelopes = []
        for insurer in req.ceding_insurers:
            body = render_ceding_insurer_notice(ob, req.intake, text, insurer)
            envelopes.append(
                Envelope(
                    recipient_ref=insurer.naic_code,
                    name=insurer.name,
                    subject=body.subject,
                    text=body.text,
                    html=body.html,
                    email=insurer.email,
                    message_id=_message_id(key, insurer.naic_code, self.settings.mail_from),
                    specimen_sha256=docs[0].sha256,
                )
            )
        await self._send_emails(key, envelopes)
        report = await asyncio.to_thread(self._report, key, "email", [d.sha256 for d in docs])
        codes = sorted({i.naic_code for i in req.ceding_insurers})
        evidence = await asyncio.to_thread(self.tracker.sent_evidence, key, "email", codes)
        log.info("ceding_insurer_notice_delivered", obligation_id=ob.obligation_id, sent=report.sent, failed=report.failed)
        return CedingInsurerNoticeResult(
            obligation_id=ob.obligation_id,
            documents=docs,
            report=report,
            complete=all(c in evidence for c in codes),
            delivery_key=key,
            sent=[evidence[c] for c in codes if c in evidence],
            bounce_window=timedelta(days=self.settings.bounce_window_days),
        )

    # -- shared ------------------------------------------------------------------------------------

    async def _send_emails(self, obligation_id: str, envelopes: Sequence[Envelope], round_: int = 0, batch_no: int = 0) -> None:
        """Send each envelope at most once; deferred ones are retried by the activity's retry."""
        await asyncio.to_thread(self.tracker.mark_interrupted_sends_in_doubt, obligation_id, "email")
        channel = self._email_channel()
        deferred = 0
        try:
            for n, env in enumerate(envelopes, start=1):
                won = await asyncio.to_thread(self.tracker.claim, obligation_id, "email", [env.recipient_ref], round_, batch_no)
                if not won:
                    continue
                try:
                    outcome = (await channel.deliver(f"{obligation_id}/{env.recipient_ref}", [env])).outcomes[0]
                except ChannelUnavailableError as exc:
                    await asyncio.to_thread(self.tracker.unclaim, obligation_id, "email", env.recipient_ref)
                    raise _Retryable(str(exc), "ChannelUnavailable") from None
                if outcome.status is OutcomeStatus.DEFERRED:
                    deferred += 1
                    await asyncio.to_thread(self.tracker.unclaim, obligation_id, "email", env.recipient_ref)
                else:
                    await asyncio.to_thread(
                        self.tracker.record,
                        obligation_id,
                        "email",
                        [(env.recipient_ref, outcome.status.value, outcome.kind.value if outcome.kind else None, outcome.reason, env.specimen_sha256)],
                        evidence=_email_evidence(outcome, env),
                    )
                if n % HEARTBEAT_EVERY == 0:
                    activity.heartbeat({"obligation_id": obligation_id, "round": round_, "batch": batch_no, "emails": n})
        finally:
            await channel.aclose()
        if deferred:
            raise _Retryable(f"{deferred} e-mail(s) for {obligation_id} were deferred by the mail server; retrying", "DeliveryDeferred")

    def _report(self, obligation_id: str, channel: str, documents: list[str]) -> DeliveryReport:
        totals = self.tracker.channel_totals(obligation_id).get(channel)
        failures, omitted = self.tracker.failures(obligation_id, [channel], MAX_FAILURES_LISTED)
        return DeliveryReport(
            channel=channel,  # type: ignore[arg-type]
            sent=totals.sent if totals else 0,
            failed=totals.failed if totals else 0,
            returned=totals.returned if totals else 0,
            in_doubt=totals.in_doubt if totals else 0,
            failures=failures,
            failures_omitted=omitted,
            documents=documents,
            manifest_paths=self.tracker.locations(obligation_id, channel),
        )


class _ConsumerRun:
    """One run of ``render_and_deliver_consumer_notice``."""

    def __init__(self, owner: NoticeActivities, req: ConsumerNoticeInput) -> None:
        self.owner = owner
        self.req = req
        self.ob = req.obligation
        self.oid = req.obligation.obligation_id
        self.tracker = owner.tracker
        self.deferred = 0
        self.docs: dict[str, list[DocumentRef]] = {}
        self.text: NoticeText | None = None
        self.email_text: NoticeText | None = None
        self.email: DeliveryChannel | None = None
        self.postal = PrintBatchChannel(owner.settings.outbox_dir)
        #: Read the whole roster (round 0, or a corrected roster), not only earlier failures.
        self.initial = req.round == 0 or req.whole_roster

    # -- documents ---------------------------------------------------------------------------------

    async def prepare(self) -> None:
        await asyncio.to_thread(self._render_specimens)
        await asyncio.to_thread(self.tracker.mark_interrupted_sends_in_doubt, self.oid, "email")

    def _render_specimens(self) -> None:
        ob, store = self.ob, self.owner.store
        individual_citation = ob.citation
        self.text = notice_text(ob, self.req.intake, self.req.content, self.req.as_of, individual_citation)
        letter = render_consumer_letter(self.text)
        self.docs["postal"] = [store.put(DocumentKind.CONSUMER_LETTER, letter.encode(), "text/html", individual_citation)]
        email_citation = _part_citation(ob, "A") if ob.method is NoticeMethod.SUBSTITUTE else individual_citation
        self.email_text = notice_text(ob, self.req.intake, self.req.content, self.req.as_of, email_citation)
        self.docs["email"] = store_email(store, render_consumer_email(self.email_text), email_citation)

    def _substitute_text(self, part: str) -> NoticeText:
        return notice_text(self.ob, self.req.intake, self.req.content, self.req.as_of, _part_citation(self.ob, part))

    # -- substitute notice: website posting (B) and media (C) ------------------------------------

    async def publish_substitute_parts(self) -> None:
        ob, store = self.ob, self.owner.store
        outbox = self.owner.settings.outbox_dir
        web_text = self._substitute_text("B")
        posting = render_website_posting(web_text)
        web_doc = store.put(DocumentKind.WEBSITE_POSTING, posting.encode(), "text/html", web_text.citation)
        self.docs["website"] = [web_doc]
        if self.req.content.notice_page_url is None:
            # (c)(3)(B) applies "if the licensee maintains a website page"; the posting is still
            # rendered, so it is ready the day a page exists.
            log.info("website_posting_not_applicable", obligation_id=self.oid)
        else:
            await self._publish(
                WebsiteChannel(outbox),
                f"website:{ob.jurisdiction}",
                Envelope(f"website:{ob.jurisdiction}", "website", web_text.subject, "", posting, specimen_sha256=web_doc.sha256),
            )
        media_text = self._substitute_text("C")
        html, plain = render_media_notice(media_text, self.req.media_outlets)
        self.docs["media"] = [
            store.put(DocumentKind.MEDIA_NOTICE, html.encode(), "text/html", media_text.citation),
            store.put(DocumentKind.MEDIA_NOTICE, plain.encode(), "text/plain", media_text.citation),
        ]
        await self._publish(
            MediaChannel(outbox, self.req.media_outlets),
            f"media:{ob.jurisdiction}",
            Envelope(f"media:{ob.jurisdiction}", "media", f"{media_text.licensee_name} gives notice of a data security incident", plain, html),
        )

    async def _publish(self, channel: DeliveryChannel, ref: str, env: Envelope) -> None:
        status = await asyncio.to_thread(self.tracker.status_of, self.oid, channel.name, ref)
        if status == SENT:
            return
        if status is None:
            await asyncio.to_thread(self.tracker.claim, self.oid, channel.name, [ref], self.req.round, 0)
        outcome = await channel.deliver(self.oid, [env])
        o = outcome.outcomes[0]
        await asyncio.to_thread(
            self.tracker.record, self.oid, channel.name, [(ref, o.status.value, None, o.reason, o.document_sha256)], outcome.location,
            # When the channel took the posting / media notice: part of the notice's evidence of sending.
            evidence={ref: sent_evidence(o, channel.name)} if o.status is OutcomeStatus.SENT else None,
        )

    # -- rounds --------------------------------------------------------------------------------------

    def _batch_id(self, batch_no: int) -> str:
        return f"{safe_name(self.oid)}-r{self.req.round}-b{batch_no:05d}"

    async def _resume_point(self) -> tuple[int, str | None, dict[int, str]]:
        done = await asyncio.to_thread(self.tracker.done_batches, self.oid, self.req.round)
        batch_no = 0
        while batch_no in done:
            batch_no += 1
        return batch_no, (done[batch_no - 1] if batch_no else None), done

    async def initial_round(self) -> None:
        batch_no, after, done = await self._resume_point()
        state, size = self.ob.jurisdiction, self.req.batch_size
        while True:
            page = await asyncio.to_thread(self.owner.rosters.contacts_page, self.req.roster_id, state, after, size)
            if not page:
                return
            after = page[-1].consumer_ref
            if batch_no not in done:
                await self._deliver_batch(batch_no, page, {}, after)
            batch_no += 1

    async def follow_up_round(self) -> None:
        batch_no, after, done = await self._resume_point()
        size = self.req.batch_size
        while True:
            refs = await asyncio.to_thread(self.tracker.follow_up_candidates, self.oid, after, size)
            if not refs:
                # Letters an interrupted attempt claimed in this batch are printed again.
                if batch_no not in done and await asyncio.to_thread(
                    self.tracker.claimed_in_batch, self.oid, "postal", self.req.round, batch_no
                ):
                    await self._deliver_batch(batch_no, [], {}, after or "")
                return
            contacts = await asyncio.to_thread(self.owner.rosters.get_contacts, self.req.roster_id, refs)
            attempts = await asyncio.to_thread(self.tracker.attempts, self.oid, refs)
            missing = [r for r in refs if r not in contacts]
            if missing:
                await asyncio.to_thread(self._mark_unreachable, missing, batch_no, "no longer on the roster")
            after = refs[-1]
            if batch_no not in done:
                await self._deliver_batch(batch_no, [contacts[r] for r in refs if r in contacts], attempts, after)
            batch_no += 1

    def _mark_unreachable(self, refs: list[str], batch_no: int, reason: str) -> None:
        self.tracker.claim(self.oid, NONE, refs, self.req.round, batch_no, status=UNREACHABLE)
        self.tracker.record(self.oid, NONE, [(r, UNREACHABLE, FailureKind.NO_CONTACT.value, reason, None) for r in refs])

    async def _deliver_batch(
        self, batch_no: int, page: list[ConsumerContact], attempts: dict[str, list[Attempt]], last_ref: str
    ) -> None:
        round_ = self.req.round
        deferred_before = self.deferred
        if self.initial:
            handled = await asyncio.to_thread(self.tracker.attempts, self.oid, [c.consumer_ref for c in page])
            todo = [c for c in page if c.consumer_ref not in handled]
        else:
            todo = page
        by_channel: dict[str, list[ConsumerContact]] = {"postal": [], "email": []}
        fallback: list[str] = []
        for contact in todo:
            tried = {a.channel for a in attempts.get(contact.consumer_ref, []) if a.channel in ("email", "postal")}
            options = [c for c in allowed_channels(contact, self.ob) if c not in tried]
            if options:
                by_channel[options[0]].append(contact)
            else:
                fallback.append(contact.consumer_ref)
        if fallback:
            channel, status = fallback_status(self.ob)
            reason = (
                "reached by website posting and media notice (substitute notice)"
                if status == COVERED
                else "no postal address or e-mail the notice method allows"
            )
            kind = None if status == COVERED else FailureKind.NO_CONTACT.value
            await asyncio.to_thread(self.tracker.claim, self.oid, channel, fallback, round_, batch_no, status)
            await asyncio.to_thread(self.tracker.record, self.oid, channel, [(r, status, kind, reason, None) for r in fallback])
        await self._print(batch_no, by_channel["postal"])
        # Every letter of the batch has its outcome recorded: hand the batch to the vendor.
        await self.postal.seal(self._batch_id(batch_no))
        await self._email(batch_no, by_channel["email"])
        if self.deferred == deferred_before:
            # A batch with deferred e-mails stays open: the retry sends to those alone.
            await asyncio.to_thread(self.tracker.finish_batch, self.oid, round_, batch_no, last_ref, len(page))
        activity.heartbeat({"obligation_id": self.oid, "round": round_, "batch": batch_no, "recipients": len(page)})

    async def _print(self, batch_no: int, contacts: list[ConsumerContact]) -> None:
        round_ = self.req.round
        refs = [c.consumer_ref for c in contacts]
        await asyncio.to_thread(self.tracker.claim, self.oid, "postal", refs, round_, batch_no)
        # Every letter claimed for this batch, including any an interrupted attempt claimed:
        # printing the batch again replaces the same files.
        claimed = await asyncio.to_thread(self.tracker.claimed_in_batch, self.oid, "postal", round_, batch_no)
        if not claimed:
            return
        known = {c.consumer_ref: c for c in contacts}
        missing = [r for r in claimed if r not in known]
        if missing:
            known.update(await asyncio.to_thread(self.owner.rosters.get_contacts, self.req.roster_id, missing))
        envelopes, gone = await asyncio.to_thread(self._letters, claimed, known)
        if gone:
            await asyncio.to_thread(
                self.tracker.record,
                self.oid,
                "postal",
                [(r, FAILED, FailureKind.NO_CONTACT.value, "postal address no longer on the roster", None) for r in gone],
            )
        if not envelopes:
            return
        outcome = await self.postal.deliver(self._batch_id(batch_no), envelopes)
        await asyncio.to_thread(
            self.tracker.record,
            self.oid,
            "postal",
            [(o.recipient_ref, o.status.value, o.kind.value if o.kind else None, o.reason, o.document_sha256) for o in outcome.outcomes],
            outcome.location,
            # The print vendor's mailing manifest listing the letter is its evidence of sending.
            evidence={
                o.recipient_ref: sent_evidence(o, "postal", manifest_sha256=outcome.manifest_sha256)
                for o in outcome.outcomes
                if o.status is OutcomeStatus.SENT
            },
        )

    def _letters(self, refs: list[str], known: dict[str, ConsumerContact]) -> tuple[list[Envelope], list[str]]:
        assert self.text is not None
        specimen = self.docs["postal"][0].sha256
        envelopes: list[Envelope] = []
        gone: list[str] = []
        for ref in refs:
            contact = known.get(ref)
            if contact is None or contact.postal_address is None:
                gone.append(ref)
                continue
            envelopes.append(
                Envelope(
                    recipient_ref=ref,
                    name=contact.name,
                    subject=self.text.subject,
                    text="",
                    html=render_consumer_letter(self.text, contact.name, contact.postal_address),
                    postal_address=contact.postal_address,
                    specimen_sha256=specimen,
                )
            )
        return envelopes, gone

    async def _email(self, batch_no: int, contacts: list[ConsumerContact]) -> None:
        if not contacts:
            return
        if self.email is None:
            self.email = self.owner._email_channel()
        assert self.email_text is not None
        specimen = self.docs["email"][0].sha256
        mail_from = self.owner.settings.mail_from
        for n, contact in enumerate(contacts, start=1):
            ref = contact.consumer_ref
            won = await asyncio.to_thread(self.tracker.claim, self.oid, "email", [ref], self.req.round, batch_no)
            if not won:
                continue
            body = render_consumer_email(self.email_text, contact.name)
            env = Envelope(
                recipient_ref=ref,
                name=contact.name,
                subject=body.subject,
                text=body.text,
                html=body.html,
                email=contact.email,
                message_id=_message_id(self.oid, ref, mail_from),
                specimen_sha256=specimen,
            )
            try:
                outcome = (await self.email.deliver(self._batch_id(batch_no), [env])).outcomes[0]
            except ChannelUnavailableError as exc:
                await asyncio.to_thread(self.tracker.unclaim, self.oid, "email", ref)
                raise _Retryable(str(exc), "ChannelUnavailable") from None
            if outcome.status is OutcomeStatus.DEFERRED:
                self.deferred += 1
                await asyncio.to_thread(self.tracker.unclaim, self.oid, "email", ref)
            else:
                await asyncio.to_thread(
                    self.tracker.record,
                    self.oid,
                    "email",
                    [(ref, outcome.status.value, outcome.kind.value if outcome.kind else None, outcome.reason, specimen)],
                    evidence=_email_evidence(outcome, env),
                )
            if n % HEARTBEAT_EVERY == 0:
                activity.heartbeat({"obligation_id": self.oid, "round": self.req.round, "batch": batch_no, "emails": n})

    async def close(self) -> None:
        if self.email is not None:
            await self.email.aclose()

    # -- result ----------------------------------------------------------------------------------------

    def result(self, summary: RosterSummary) -> ConsumerNoticeResult:
        assert self.ob.method is not None  # checked when the activity started
        totals = self.tracker.channel_totals(self.oid)
        consumers = self.tracker.consumer_totals(self.oid)
        reports: list[DeliveryReport] = []
        documents: list[DocumentRef] = []
        for channel in ("email", "postal", "website", "media"):
            t = totals.get(channel)
            if t is None:
                continue
            docs = self.docs.get(channel, [])
            if t.sent or t.failed or t.returned or t.in_doubt:
                documents.extend(docs)
            reports.append(self.owner._report(self.oid, channel, [d.sha256 for d in docs]))
        on_roster = summary.by_state.get(self.ob.jurisdiction)
        count = on_roster.consumers if on_roster else 0
        pending = sum(t.claimed for t in totals.values()) + consumers.in_doubt
        failed = sum(t.failed for c, t in totals.items() if c in ("email", "postal"))
        returned = sum(t.returned for c, t in totals.items() if c in ("email", "postal"))
        unreachable, unreachable_omitted = self.tracker.failures(self.oid, [NONE], MAX_FAILURES_LISTED)
        unreachable_count = len(unreachable) + unreachable_omitted
        website_posted = media_notified = None
        if self.ob.method is NoticeMethod.SUBSTITUTE:
            state = self.ob.jurisdiction
            # (C) is "notification to major statewide media": a notice addressed to no outlet is none.
            sent = self.tracker.status_of(self.oid, "media", f"media:{state}") == SENT
            media_notified = sent and bool(self.req.media_outlets)
            if self.req.content.notice_page_url is not None:
                website_posted = self.tracker.status_of(self.oid, "website", f"website:{state}") == SENT
        return ConsumerNoticeResult(
            obligation_id=self.oid,
            jurisdiction=self.ob.jurisdiction,
            method=self.ob.method,
            round=self.req.round,
            documents=documents,
            reports=reports,
            counts=DeliveryCounts(sent=consumers.notified, pending=pending, failed=failed + unreachable_count, returned=returned),
            consumers=count,
            notified=consumers.notified,
            covered_by_substitute=consumers.covered,
            outstanding=consumers.outstanding,
            in_doubt=consumers.in_doubt,
            unreachable=unreachable,
            unreachable_omitted=unreachable_omitted,
            complete=consumers.outstanding == 0
            and consumers.in_doubt == 0
            and consumers.notified + consumers.covered >= count,
            roster_without_contact=on_roster.without_contact if on_roster else 0,
            roster_sha256=summary.content_sha256,
            website_posted=website_posted,
            media_notified=media_notified,
        )
