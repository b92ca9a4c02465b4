"""The revised-notice fan-out's side effects (28 TAC §§ 22.12–22.14): one call per batch of
relationships, never one per consumer.

* :meth:`RevisedNoticeActivities.deliver_batch` — one keyset page of affected relationships:
  claim each delivery in the privacy store, deliver it (e-mail only where every consumer of the
  relationship transacts electronically and agreed, § 22.13(a), (c)(2), over one SMTP connection
  per batch; a printed letter to the last known address otherwise, § 22.13(b)(2), as a row of the
  batch's print stream), record the outcomes (``activities/revised_delivery.py``). Retried, it
  sends nothing twice: a claimed e-mail is never re-sent (a claim without an outcome becomes
  ``in_doubt``), a print batch not yet sealed is written again with the same letters.
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
from collections.abc import Callable
from typing import Any

import structlog
from sqlalchemy import and_, func, select, update
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities import db
from activities.privacy_documents import NoticeLintError, PrivacyDocuments
from activities.privacy_store import (
    DeliveryRow,
    NotFoundError,
    OpeningRow,
    PrivacyStore,
    RelationshipRow,
    record_sha256,
)
from activities.revised_delivery import BatchDelivery, affected_stages, chunks, digest_lines
from activities.smtp_batch import SmtpBatchChannel
from config.settings import Settings
from models.privacy import ConsumerRelationship, DeliveryChannel, NoticeDelivery, NoticeKind
from models.privacy_lifecycle import (
    DeliveryStatus,
    DisclosureOpening,
    OpeningStatus,
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
from rules.disclosure import reasonable_opportunity

log = structlog.get_logger("noticeflow.revised_notice")

_DELIVERIES = DeliveryRow.__table__
_RELATIONSHIPS = RelationshipRow.__table__
_OPENINGS = OpeningRow.__table__
_digest = digest_lines
_chunks = chunks


def _not_found(exc: Exception) -> ApplicationError:
    return ApplicationError(str(exc), type="PrivacyNotFound", non_retryable=True)


class RevisedNoticeActivities:
    """Batch activities of ``RevisedNoticeWorkflow``; blocking store calls run on worker threads."""

    def __init__(
        self,
        settings: Settings,
        *,
        store: PrivacyStore | None = None,
        email_channel: Callable[[], SmtpBatchChannel] | None = None,
    ) -> None:
        self.settings = settings
        self.store = store or PrivacyStore.open(settings)
        self._email_channel = email_channel or (lambda: SmtpBatchChannel(settings))
        self.documents = PrivacyDocuments(settings.documents_dir, settings.outbox_dir, self.store, self._email_channel)
        self.delivery = BatchDelivery(settings, self.store, self.documents, self._email_channel)

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
        """One keyset page of affected relationships claimed, delivered and recorded
        (``activities/revised_delivery.py``)."""
        return await self.delivery.deliver(req)

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

