"""The revised-notice fan-out's side effects (28 TAC §§ 22.12–22.14): one call per batch of
relationships, never one per consumer.

* :meth:`RevisedNoticeActivities.deliver_batch` — one keyset page of affected relationships:
  claim each delivery in the privacy store, deliver through the channels of
  ``activities/delivery.py`` (e-mail only where every consumer of the relationship transacts
  electronically and agreed, § 22.13(a), (c)(2); a printed letter to the last known address
  otherwise, § 22.13(b)(2)), record the outcomes. Retried, it sends nothing twice: a claimed
  e-mail is never re-sent (a claim without an outcome becomes ``in_doubt``), a print batch not yet
  sealed is written again with the same letters.
* :meth:`RevisedNoticeActivities.open_batch` — after the reasonable opportunity (§ 22.14(b)),
  one page of a cohort's deliveries: ``opened``, ``held_by_opt_out`` (an opt-out on record and not
  revoked, whenever it came), or ``not_delivered`` (returned, failed, undeliverable, in doubt).
* :meth:`RevisedNoticeActivities.mark_deliveries` — returned mail and acknowledgements in bulk.

Contact data is opened only inside :meth:`deliver_batch`, to address envelopes; what leaves an
activity is counts, cursors (relationship ids) and digests.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
from collections.abc import Callable, Sequence
from typing import Any

import structlog
from sqlalchemy import and_, bindparam, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from temporalio import activity
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from activities import db
from activities.delivery import (
    ChannelUnavailableError,
    DeliveryChannel as Channel,
    Envelope,
    OutcomeStatus,
    PrintBatchChannel,
    SmtpChannel,
)
from activities.files import safe_name
from activities.privacy_documents import (
    NoticeLintError,
    NoticePackage,
    PrivacyDocuments,
    choose_channel,
    delivery_status,
    email_envelope,
)
from activities.privacy_store import (
    DeliveryRow,
    NotFoundError,
    OpeningRow,
    PrivacyStore,
    RelationshipRow,
    _delivery_row,
    record_sha256,
)
from models.privacy import ConsumerRelationship, DeliveryChannel, NoticeDelivery, NoticeKind
from models.privacy_lifecycle import (
    DeliveryRecord,
    PolicyChange,
    DeliveryStatus,
    DisclosureOpening,
    OpeningStatus,
    PrivacyConsumer,
    RelationshipRecord,
    RelationshipStage,
)
from models.revised_notice import (
    DeliverBatchInput,
    DeliverBatchResult,
    FanoutCounts,
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
)
from config.settings import Settings
from rules.disclosure import reasonable_opportunity

log = structlog.get_logger("noticeflow.revised_notice")

_DELIVERIES = DeliveryRow.__table__
_RELATIONSHIPS = RelationshipRow.__table__
_OPENINGS = OpeningRow.__table__
#: E-mail outcomes are written this many at a time: a crash loses at most these outcomes, and
#: their claims then read ``in_doubt`` (never re-sent).
EMAIL_RECORD_EVERY = 100
LOOKUP_CHUNK = 500


def affected_stages(include_former_customers: bool) -> list[RelationshipStage]:
    """Who receives the revised notice (28 TAC § 22.12(a)): every consumer and customer to whom the
    licensee gave the earlier notice; former customers only when the change discloses former
    customers' information they never had the chance to opt out of (§ 22.12(b)(3)). Closed
    relationships receive nothing."""
    stages = [RelationshipStage.CUSTOMER, RelationshipStage.CONSUMER, RelationshipStage.ISOLATED_TRANSACTION]
    if include_former_customers:
        stages.append(RelationshipStage.FORMER_CUSTOMER)
    return stages


def _digest(lines: Sequence[str]) -> str:
    h = hashlib.sha256()
    for line in lines:
        h.update(line.encode("utf-8") + b"\n")
    return h.hexdigest()


def _chunks(items: Sequence[Any], size: int = LOOKUP_CHUNK) -> list[Sequence[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def claim_batch(store: PrivacyStore, records: Sequence[DeliveryRecord]) -> set[str]:
    """``PrivacyStore.claim_deliveries`` for a whole batch in one compiled statement: insert the
    claims, skip keys already there, return the keys this call inserted (the one attempt that may
    send). SQLAlchemy's insertmanyvalues batches the rows; the statement is compiled once."""
    if not records:
        return set()
    rows = [_delivery_row(r) for r in records]
    module: Any = postgresql if store.engine.dialect.name == "postgresql" else sqlite
    stmt = module.insert(_DELIVERIES).on_conflict_do_nothing().returning(_DELIVERIES.c.delivery_key)
    with db.write(store.engine) as conn:
        return set(conn.execute(stmt, rows).scalars())


def finish_batch(store: PrivacyStore, records: Sequence[DeliveryRecord]) -> None:
    """``PrivacyStore.finish_deliveries`` as one executemany: the outcome of each claimed delivery."""
    if not records:
        return
    stmt = (
        update(_DELIVERIES)
        .where(_DELIVERIES.c.delivery_key == bindparam("k"))
        .values(status=bindparam("s"), channel=bindparam("c"), batch_id=bindparam("b"), failure=bindparam("f"))
    )
    params = [
        {"k": r.delivery_key, "s": r.status.value, "c": r.channel.value, "b": r.batch_id, "f": r.failure} for r in records
    ]
    with db.write(store.engine) as conn:
        conn.execute(stmt.execution_options(synchronize_session=False), params)


def _not_found(exc: Exception) -> ApplicationError:
    return ApplicationError(str(exc), type="PrivacyNotFound", non_retryable=True)


class RevisedNoticeActivities:
    """Batch activities of ``RevisedNoticeWorkflow``; blocking store calls run on worker threads."""

    def __init__(
        self,
        settings: Settings,
        *,
        store: PrivacyStore | None = None,
        email_channel: Callable[[], Channel] | None = None,
    ) -> None:
        self.settings = settings
        self.store = store or PrivacyStore.open(settings)
        self._email_channel = email_channel or (lambda: SmtpChannel(settings))
        self.documents = PrivacyDocuments(settings.documents_dir, settings.outbox_dir, self.store, self._email_channel)
        self.print_channel = PrintBatchChannel(settings.outbox_dir)

    def activities(self) -> list[Callable[..., Any]]:
        return [
            self.load_policies,
            self.prepare,
            self.population,
            self.deliver_batch,
            self.open_batch,
            self.opening_totals,
            self.mark_deliveries,
        ]

    def close(self) -> None:
        self.store.close()

    # -- the change and its documents ----------------------------------------------------------

    @activity.defn(name="revised_notice_load_policies")
    async def load_policies(self, req: PoliciesInput) -> PolicyPair:
        try:
            old = await asyncio.to_thread(self.store.get_policy, req.old_version)
            new = await asyncio.to_thread(self.store.get_policy, req.new_version)
        except NotFoundError as exc:
            raise _not_found(exc) from None
        if old.policy.jurisdiction != new.policy.jurisdiction:
            raise ApplicationError(
                f"new_version: policy {req.new_version} is for {new.policy.jurisdiction} but {req.old_version} is for "
                f"{old.policy.jurisdiction}; a revised notice compares two versions of one jurisdiction's policy",
                type="InvalidPolicyChange",
                non_retryable=True,
            )
        return PolicyPair(old=old.policy, new=new.policy, jurisdiction=new.policy.jurisdiction, new_record_sha256=record_sha256(new))

    @activity.defn(name="revised_notice_prepare")
    async def prepare(self, req: PrepareInput) -> PrepareResult:
        """Check the revised notice and its opt-out notice against 28 TAC § 22.10 and render them
        once (the specimen every letter and e-mail carries). A failing check is an answer, not an
        error: the workflow records the refusal and sends nothing."""
        try:
            record = await asyncio.to_thread(self.documents.policy, req.new_version)
            package = await asyncio.to_thread(self.documents.prepare, record, NoticeKind.REVISED, True)
        except NotFoundError as exc:
            raise _not_found(exc) from None
        except NoticeLintError as exc:
            return PrepareResult(
                ok=False,
                citation="28 TAC § 22.10(b)",
                findings=[{"item": f.item, "problem": f.problem, "citation": f.citation} for f in exc.findings],
                refusal=str(exc),
            )
        return PrepareResult(ok=True, documents=list(package.documents), citation=package.citation)

    @activity.defn(name="revised_notice_population")
    async def population(self, req: PopulationInput) -> int:
        """How many relationships the change affects (for the pending count)."""

        def count() -> int:
            stages = [s.value for s in affected_stages(req.include_former_customers)]
            with db.read(self.store.engine) as conn:
                return int(
                    conn.execute(
                        select(func.count()).where(
                            _RELATIONSHIPS.c.policy_version == req.old_version,
                            _RELATIONSHIPS.c.jurisdiction == req.jurisdiction,
                            _RELATIONSHIPS.c.stage.in_(stages),
                        )
                    ).scalar_one()
                )

        return await asyncio.to_thread(count)

    # -- delivery ---------------------------------------------------------------------------------

    @activity.defn(name="revised_notice_deliver_batch")
    async def deliver_batch(self, req: DeliverBatchInput) -> DeliverBatchResult:
        store = self.store
        page: list[RelationshipRecord] = await asyncio.to_thread(
            store.relationships_page,
            after=req.after,
            limit=req.limit,
            stages=affected_stages(req.include_former_customers),
            policy_version=req.old_version,
            jurisdiction=req.jurisdiction,
        )
        if not page:
            return DeliverBatchResult(batch_no=req.batch_no, after=req.after, last_id=None, counts=FanoutCounts(), digest=_digest([]))
        try:
            record = await asyncio.to_thread(self.documents.policy, req.new_version)
            package = await asyncio.to_thread(self.documents.prepare, record, NoticeKind.REVISED, True)
        except NoticeLintError as exc:  # the workflow checked first; content changed since cannot be sent
            raise ApplicationError(str(exc), type="NoticeLintFailed", non_retryable=True) from None
        refs = sorted({ref for rel in page for ref in rel.consumer_refs})
        flags = await asyncio.to_thread(store.consumer_flags, refs)
        choices = {rel.relationship_id: choose_channel([flags[r] for r in rel.consumer_refs if r in flags]) for rel in page}
        docs = [d.sha256 for d in package.documents]
        print_batch = f"{safe_name(req.notice_id)}-{req.batch_no:06d}"

        claims: list[DeliveryRecord] = []
        for rel in page:
            choice = choices[rel.relationship_id]
            claims.append(
                DeliveryRecord(
                    delivery_key=f"{rel.relationship_id}/{req.notice_id}",
                    relationship_id=rel.relationship_id,
                    notice_id=req.notice_id,
                    kind=NoticeKind.REVISED,
                    policy_version=req.new_version,
                    includes_opt_out_notice=True,
                    channel=choice.channel or DeliveryChannel.MAIL,
                    status=DeliveryStatus.PENDING if choice.channel else DeliveryStatus.UNDELIVERABLE,
                    delivered_at=req.as_of,
                    consumer_agreed_electronic=choice.consumer_agreed_electronic,
                    documents=docs,
                    batch_id=print_batch if choice.channel is DeliveryChannel.MAIL else None,
                    failure=None if choice.channel else choice.basis,
                )
            )
        won = await asyncio.to_thread(claim_batch, store, claims)
        final: dict[str, DeliveryRecord] = {}
        to_mail: list[DeliveryRecord] = []
        to_email: list[DeliveryRecord] = []
        already = 0
        for claim in claims:
            if claim.delivery_key in won:
                if claim.status is DeliveryStatus.UNDELIVERABLE:
                    final[claim.delivery_key] = claim
                elif claim.channel is DeliveryChannel.MAIL:
                    to_mail.append(claim)
                else:
                    to_email.append(claim)
                continue
            # Claimed by an earlier attempt of this batch (or an earlier run of the change).
            existing = await asyncio.to_thread(store.get_delivery, claim.delivery_key)
            assert existing is not None
            if existing.status is DeliveryStatus.PENDING and existing.channel is DeliveryChannel.MAIL:
                to_mail.append(existing)  # the unsealed print batch is written again, same letters
            elif existing.status is DeliveryStatus.PENDING:
                doubt = existing.model_copy(update={"status": DeliveryStatus.IN_DOUBT, "failure": "an earlier attempt died mid-send; not re-sent"})
                await asyncio.to_thread(finish_batch, store, [doubt])
                final[claim.delivery_key] = doubt
                already += 1
            else:
                final[claim.delivery_key] = existing
                already += 1
        members = {rel.relationship_id: rel.consumer_refs for rel in page}
        contacts = await asyncio.to_thread(
            store.consumer_contacts, sorted({ref for d in (*to_mail, *to_email) for ref in members[d.relationship_id]})
        )
        if to_mail:
            for d in await self._mail(to_mail, package, members, contacts, choices, print_batch):
                final[d.delivery_key] = d
        if to_email:
            for d in await self._email(to_email, package, contacts, choices):
                final[d.delivery_key] = d

        handed_off = await self._hand_off(page, final, req)

        counts = FanoutCounts(processed=len(page))
        tally: dict[str, int] = {}
        lines = []
        for claim in claims:
            d = final[claim.delivery_key]
            lines.append(f"{d.delivery_key} {d.status.value} {d.channel.value}")
            tally[d.status.value] = tally.get(d.status.value, 0) + 1
            if d.status.gives_notice or d.status is DeliveryStatus.RETURNED:
                key = "email" if d.channel is DeliveryChannel.EMAIL else "mail"
                tally[key] = tally.get(key, 0) + 1
        counts = counts.model_copy(
            update={
                "sent": tally.get("sent", 0) + tally.get("acknowledged", 0) + tally.get("returned", 0),
                "email": tally.get("email", 0),
                "mail": tally.get("mail", 0),
                "failed": tally.get("failed", 0),
                "in_doubt": tally.get("in_doubt", 0),
                "undeliverable": tally.get("undeliverable", 0),
            }
        )
        log.info("revised_notice_batch_delivered", notice_id=req.notice_id, batch_no=req.batch_no,
                 relationships=len(page), sent=counts.sent, already=already, handed_off=handed_off)
        return DeliverBatchResult(
            batch_no=req.batch_no,
            after=req.after,
            last_id=page[-1].relationship_id,
            counts=counts,
            already_recorded=already,
            print_batch=print_batch if any(d.channel is DeliveryChannel.MAIL and d.batch_id == print_batch for d in final.values()) else None,
            digest=_digest(lines),
        )

    async def _hand_off(self, page: list[RelationshipRecord], final: dict[str, DeliveryRecord], req: DeliverBatchInput) -> int:
        """Tell each relationship whose own lifecycle runs (``workflow_id`` in the store) that the
        new policy is in force and what its revised notice did: its reasonable opportunity then
        runs there too, so the relationship's disclosure gate answers for the new disclosure
        (28 TAC §§ 22.12, 22.14). A lifecycle that has ended is skipped. Signals are idempotent
        there (same policy version, same notice id), so a retried batch may send them again."""
        running = [rel for rel in page if rel.workflow_id]
        if not running:
            return 0
        client = activity.client()
        handed = 0
        for rel in running:
            assert rel.workflow_id is not None
            handle = client.get_workflow_handle(rel.workflow_id)
            try:
                await handle.signal("policy_changed", PolicyChange(policy_version=req.new_version))
                await handle.signal("revised_notice_delivered", final[f"{rel.relationship_id}/{req.notice_id}"])
            except RPCError as exc:
                if exc.status is not RPCStatusCode.NOT_FOUND:
                    raise
                continue
            handed += 1
        if handed:
            activity.heartbeat("handed off")
        return handed

    async def _mail(
        self,
        records: list[DeliveryRecord],
        package: NoticePackage,
        members: dict[str, list[str]],
        contacts: dict[str, PrivacyConsumer],
        choices: dict[str, Any],
        print_batch: str,
    ) -> list[DeliveryRecord]:
        envelopes = []
        for d in records:
            people = [contacts[ref] for ref in members[d.relationship_id] if ref in contacts]
            addressee = contacts[choices[d.relationship_id].addressee]
            envelopes.append(
                Envelope(
                    recipient_ref=d.delivery_key,
                    name=" and ".join(p.name for p in people),
                    subject=package.subject,
                    text=package.text,
                    html=PrivacyDocuments.letter(package, people, addressee, d.delivered_at.date()),
                    postal_address=addressee.postal_address,
                    specimen_sha256=package.documents[0].sha256,
                )
            )
        outcome = await self.print_channel.deliver(print_batch, envelopes)
        by_key = {o.recipient_ref: o for o in outcome.outcomes}
        done = []
        for d in records:
            o = by_key[d.delivery_key]
            sent = o.status is OutcomeStatus.SENT
            done.append(
                d.model_copy(
                    update={"status": DeliveryStatus.SENT if sent else DeliveryStatus.FAILED, "batch_id": print_batch, "failure": None if sent else o.reason}
                )
            )
        await asyncio.to_thread(finish_batch, self.store, done)
        await self.print_channel.seal(print_batch)
        activity.heartbeat("mailed")
        return done

    async def _email(
        self,
        records: list[DeliveryRecord],
        package: NoticePackage,
        contacts: dict[str, PrivacyConsumer],
        choices: dict[str, Any],
    ) -> list[DeliveryRecord]:
        channel = self._email_channel()
        done: list[DeliveryRecord] = []
        unwritten: list[DeliveryRecord] = []
        try:
            for index, d in enumerate(records):
                env = email_envelope(d.delivery_key, package, contacts[choices[d.relationship_id].addressee])
                try:
                    outcome = (await channel.deliver(d.delivery_key, [env])).outcomes[0]
                except ChannelUnavailableError as exc:
                    # Nothing of this message (nor of the rest) was handed over: record what went,
                    # release the rest so that the retry claims and sends them.
                    await asyncio.to_thread(finish_batch, self.store, unwritten)
                    for rest in records[index:]:
                        await asyncio.to_thread(self.store.release_claim, rest.delivery_key)
                    raise ApplicationError(str(exc), type="ChannelUnavailable") from None
                result = d.model_copy(update={"status": delivery_status(outcome.status), "failure": outcome.reason})
                done.append(result)
                unwritten.append(result)
                if len(unwritten) >= EMAIL_RECORD_EVERY:
                    await asyncio.to_thread(finish_batch, self.store, unwritten)
                    unwritten = []
                    activity.heartbeat(index + 1)
            await asyncio.to_thread(finish_batch, self.store, unwritten)
        finally:
            await channel.aclose()
        return done

    # -- openings ---------------------------------------------------------------------------------

    @activity.defn(name="revised_notice_open_batch")
    async def open_batch(self, req: OpenBatchInput) -> OpenBatchResult:
        return await asyncio.to_thread(self._open_batch, req)

    def _open_batch(self, req: OpenBatchInput) -> OpenBatchResult:
        where = [
            _DELIVERIES.c.notice_id == req.notice_id,
            _DELIVERIES.c.relationship_id <= req.through,
        ]
        if req.after is not None:
            where.append(_DELIVERIES.c.relationship_id > req.after)
        cols = [
            _DELIVERIES.c.relationship_id,
            _DELIVERIES.c.kind,
            _DELIVERIES.c.policy_version,
            _DELIVERIES.c.includes_opt_out_notice,
            _DELIVERIES.c.channel,
            _DELIVERIES.c.status,
            _DELIVERIES.c.delivered_at,
            _DELIVERIES.c.acknowledged_at,
            _DELIVERIES.c.consumer_agreed_electronic,
        ]
        query = select(*cols)
        if req.only_unopened:
            query = query.select_from(
                _DELIVERIES.outerjoin(
                    _OPENINGS,
                    and_(_OPENINGS.c.relationship_id == _DELIVERIES.c.relationship_id, _OPENINGS.c.policy_version == req.new_version),
                )
            )
            where.append(_OPENINGS.c.relationship_id.is_(None))
        with db.read(self.store.engine) as conn:
            rows = conn.execute(query.where(*where).order_by(_DELIVERIES.c.relationship_id).limit(req.limit)).all()
        if not rows:
            return OpenBatchResult(after=req.after, last_id=None, counts=FanoutCounts(), digest=_digest([]))
        ids = [r.relationship_id for r in rows]
        opted_out = self.store.opted_out(ids)
        windows: dict[tuple[str, str, str | None], Any] = {}
        openings: list[DisclosureOpening] = []
        deferred_until: dt.datetime | None = None
        deferred = 0
        for r in rows:
            status = DeliveryStatus(r.status)
            if not status.gives_notice:
                openings.append(self._opening(r.relationship_id, req, OpeningStatus.NOT_DELIVERED, req.as_of, "28 TAC § 22.13(a); § 22.14(a)(3)"))
                continue
            key = (r.channel, r.delivered_at, r.acknowledged_at)
            window = windows.get(key)
            if window is None:
                delivery = NoticeDelivery(
                    notice_id=req.notice_id,
                    kind=NoticeKind(r.kind),
                    policy_version=r.policy_version,
                    includes_opt_out_notice=bool(r.includes_opt_out_notice),
                    channel=DeliveryChannel(r.channel),
                    delivered_at=dt.datetime.fromisoformat(r.delivered_at),
                    acknowledged_at=dt.datetime.fromisoformat(r.acknowledged_at) if r.acknowledged_at else None,
                    consumer_agreed_electronic=bool(r.consumer_agreed_electronic),
                )
                # A revised notice is mailed or e-mailed after the fact, so its opportunity is the
                # mailed / electronic example of § 22.14(b)(1)–(2), even for a consumer whose first
                # notice came in an isolated transaction ((b)(3) is about notice *in* the transaction).
                facts = ConsumerRelationship(consumer_ref=r.relationship_id, is_customer=True)
                window = windows[key] = reasonable_opportunity(delivery, facts, req.jurisdiction)
            allowed = window.disclosure_allowed_from
            if allowed is None:
                openings.append(self._opening(r.relationship_id, req, OpeningStatus.NOT_DELIVERED, req.as_of, window.citation))
            elif allowed > req.as_of:
                # An acknowledgement moved this consumer's window later (§ 22.14(b)(2)).
                deferred += 1
                deferred_until = allowed if deferred_until is None else max(deferred_until, allowed)
            elif r.relationship_id in opted_out:
                openings.append(self._opening(r.relationship_id, req, OpeningStatus.HELD_BY_OPT_OUT, allowed, f"28 TAC § 22.14(a)(4); {window.citation}"))
            else:
                openings.append(self._opening(r.relationship_id, req, OpeningStatus.OPENED, allowed, f"28 TAC § 22.12(a); {window.citation}"))
        self.store.record_openings(openings)
        # What is on record (an opening written by an earlier attempt is kept as it was).
        written = [o.relationship_id for o in openings]
        recorded: dict[str, str] = {}
        with db.read(self.store.engine) as conn:
            for part in _chunks(written):
                for rid, status_value in conn.execute(
                    select(_OPENINGS.c.relationship_id, _OPENINGS.c.status).where(
                        _OPENINGS.c.policy_version == req.new_version, _OPENINGS.c.relationship_id.in_(list(part))
                    )
                ):
                    recorded[rid] = status_value
        tally = {s.value: 0 for s in OpeningStatus}
        for rid in written:
            tally[recorded[rid]] += 1
        counts = FanoutCounts(
            opened=tally[OpeningStatus.OPENED.value],
            held_by_opt_out=tally[OpeningStatus.HELD_BY_OPT_OUT.value],
            not_delivered=tally[OpeningStatus.NOT_DELIVERED.value],
            deferred=deferred,
        )
        return OpenBatchResult(
            after=req.after,
            last_id=rows[-1].relationship_id,
            scanned=len(rows),
            counts=counts,
            deferred_until=deferred_until,
            digest=_digest([f"{rid} {recorded[rid]}" for rid in written]),
        )

    @activity.defn(name="revised_notice_opening_totals")
    async def opening_totals(self, req: OpeningTotalsInput) -> FanoutCounts:
        """The notice's openings on record by status: counted, so a retried page never counts twice."""

        def count() -> FanoutCounts:
            with db.read(self.store.engine) as conn:
                tally = {
                    s: int(n)
                    for s, n in conn.execute(
                        select(_OPENINGS.c.status, func.count())
                        .where(_OPENINGS.c.policy_version == req.new_version, _OPENINGS.c.notice_id == req.notice_id)
                        .group_by(_OPENINGS.c.status)
                    )
                }
            return FanoutCounts(
                opened=tally.get(OpeningStatus.OPENED.value, 0),
                held_by_opt_out=tally.get(OpeningStatus.HELD_BY_OPT_OUT.value, 0),
                not_delivered=tally.get(OpeningStatus.NOT_DELIVERED.value, 0),
            )

        return await asyncio.to_thread(count)

    @staticmethod
    def _opening(rid: str, req: OpenBatchInput, status: OpeningStatus, at: dt.datetime, citation: str) -> DisclosureOpening:
        return DisclosureOpening(
            relationship_id=rid, policy_version=req.new_version, status=status, opened_at=at, notice_id=req.notice_id, citation=citation
        )

    # -- tracking -----------------------------------------------------------------------------------

    @activity.defn(name="revised_notice_mark_deliveries")
    async def mark_deliveries(self, req: MarkInput) -> MarkResult:
        return await asyncio.to_thread(self._mark, req)

    def _mark(self, req: MarkInput) -> MarkResult:
        """Returned mail moves a ``sent`` or ``acknowledged`` delivery to ``returned`` (it gave no
        notice after all, § 22.13(a)); an acknowledgement moves a ``sent`` one to ``acknowledged``.
        Deliveries that never went out (failed, undeliverable, in doubt) are not marked."""
        status = req.marks.status
        keys = sorted(set(req.marks.delivery_keys))
        sources = [DeliveryStatus.SENT.value] + ([DeliveryStatus.ACKNOWLEDGED.value] if status is DeliveryStatus.RETURNED else [])
        values: dict[str, Any] = {"status": status.value}
        values["returned_at" if status is DeliveryStatus.RETURNED else "acknowledged_at"] = req.at.isoformat()
        marked: list[str] = []
        already = 0
        with db.write(self.store.engine) as conn:
            for part in _chunks(keys):
                stmt = (
                    update(_DELIVERIES)
                    .where(
                        _DELIVERIES.c.delivery_key.in_(list(part)),
                        _DELIVERIES.c.notice_id == req.notice_id,
                        _DELIVERIES.c.status.in_(sources),
                    )
                    .values(**values)
                    .returning(_DELIVERIES.c.delivery_key)
                )
                marked.extend(conn.execute(stmt).scalars())
                already += int(
                    conn.execute(
                        select(func.count()).where(
                            _DELIVERIES.c.delivery_key.in_(list(part)),
                            _DELIVERIES.c.notice_id == req.notice_id,
                            _DELIVERIES.c.status == status.value,
                        )
                    ).scalar_one()
                )
            totals = {
                value: int(n)
                for value, n in conn.execute(
                    select(_DELIVERIES.c.status, func.count())
                    .where(
                        _DELIVERIES.c.kind == NoticeKind.REVISED.value,
                        _DELIVERIES.c.policy_version == req.new_version,
                        _DELIVERIES.c.status.in_([DeliveryStatus.RETURNED.value, DeliveryStatus.ACKNOWLEDGED.value]),
                        _DELIVERIES.c.notice_id == req.notice_id,
                    )
                    .group_by(_DELIVERIES.c.status)
                )
            }
        already -= len(marked)
        return MarkResult(
            status=status,
            requested=len(keys),
            marked=len(marked),
            already=already,
            not_marked=len(keys) - len(marked) - already,
            digest=_digest(sorted(marked)),
            returned_total=totals.get(DeliveryStatus.RETURNED.value, 0),
            acknowledged_total=totals.get(DeliveryStatus.ACKNOWLEDGED.value, 0),
        )

    def totals(self, notice_id: str) -> dict[str, int]:
        """Deliveries of a revised notice by status (for tests and operators)."""
        with db.read(self.store.engine) as conn:
            return {
                s: int(n)
                for s, n in conn.execute(
                    select(_DELIVERIES.c.status, func.count()).where(_DELIVERIES.c.notice_id == notice_id).group_by(_DELIVERIES.c.status)
                )
            }

