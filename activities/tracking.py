"""Delivery progress in the database: what was sent to whom, on which channel, in which batch.

One row per (obligation, recipient, channel). A row is *claimed* before a message leaves, so a
retried or concurrent activity attempt that finds the row never sends that message again:

* ``claimed`` — being delivered now. An e-mail still ``claimed`` when a later attempt starts was
  interrupted mid-send and becomes ``in_doubt`` (never re-sent automatically); a print-batch or
  posting row still ``claimed`` is delivered again, which replaces the same files.
* ``sent`` / ``failed`` / ``returned`` / ``in_doubt`` — the outcome; ``returned`` is recorded when
  a bounce or returned mail comes back later.
* ``covered`` — reached by substitute notice (website + media) only; ``unreachable`` — no
  channel the method allows.

Batches of a delivery round are recorded by (obligation, round, batch) when every recipient in
them has an outcome, with the last consumer_ref of the batch, so a retry resumes after them.

A ``sent`` row keeps the channel's evidence of sending (``sent_at``, ``evidence``: the relay's
queue id — or Message-ID, relay and reply —, the mailing manifest's digest): sent is not yet
received; a bounce within the bounce window turns it ``returned``. A regulator filing keeps its
receipt and, once it comes, the regulator's acknowledgement.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine, and_, bindparam, case, delete, func, select, update
from sqlmodel import Field, SQLModel

from activities import db
from models.notice import (
    DeliveryFailure,
    FailureKind,
    RegulatorAcknowledgement,
    RegulatorReceipt,
    SentEvidence,
)

CLAIMED, SENT, FAILED, RETURNED, IN_DOUBT, COVERED, UNREACHABLE = (
    "claimed",
    "sent",
    "failed",
    "returned",
    "in_doubt",
    "covered",
    "unreachable",
)
#: Pseudo-channels of consumers reached by substitute notice only, or by nothing.
SUBSTITUTE, NONE = "substitute", "none"
CONSUMER_CHANNELS = ("email", "postal", SUBSTITUTE, NONE)


class NoticeDeliveryRow(SQLModel, table=True):
    __tablename__ = "notice_deliveries"

    obligation_id: str = Field(primary_key=True)
    recipient_ref: str = Field(primary_key=True)
    channel: str = Field(primary_key=True)
    round: int
    batch_no: int
    status: str
    failure_kind: str | None = None
    reason: str | None = None
    document_sha256: str | None = None
    location: str | None = None
    updated_at: str
    #: When the channel took it (relay accepted, batch written), and its evidence (JSON of SentEvidence).
    sent_at: str | None = None
    evidence: str | None = None


class NoticeBatchRow(SQLModel, table=True):
    __tablename__ = "notice_delivery_batches"

    obligation_id: str = Field(primary_key=True)
    round: int = Field(primary_key=True)
    batch_no: int = Field(primary_key=True)
    last_ref: str
    recipients: int
    updated_at: str


class RegulatorSubmissionRow(SQLModel, table=True):
    __tablename__ = "regulator_submissions"

    submission_id: str = Field(primary_key=True)
    obligation_id: str = Field(index=True)
    receipt: str  # JSON of RegulatorReceipt
    acknowledgement: str | None = None  # JSON of RegulatorAcknowledgement, once the regulator gave one


_D = NoticeDeliveryRow.__table__
_B = NoticeBatchRow.__table__
_S = RegulatorSubmissionRow.__table__
TABLES = (_D, _B, _S)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


@dataclass(frozen=True)
class Attempt:
    recipient_ref: str
    channel: str
    status: str


@dataclass(frozen=True)
class DeliveryRow:
    recipient_ref: str
    status: str
    sent_at: str | None
    evidence: str | None  # JSON of SentEvidence
    location: str | None
    document_sha256: str | None


@dataclass
class ChannelTotals:
    sent: int = 0
    failed: int = 0
    returned: int = 0
    in_doubt: int = 0
    claimed: int = 0


@dataclass
class ConsumerTotals:
    notified: int = 0
    covered: int = 0
    outstanding: int = 0
    in_doubt: int = 0


class DeliveryTracker:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        db.ensure_tables(engine, TABLES)

    # -- claims and outcomes ---------------------------------------------------------------------

    def claim(
        self, obligation_id: str, channel: str, refs: Sequence[str], round_: int, batch_no: int, status: str = CLAIMED
    ) -> set[str]:
        """Insert rows for ``refs`` that have none on ``channel``; returns the refs this call claimed."""
        if not refs:
            return set()
        now = _now()
        rows = [
            {
                "obligation_id": obligation_id,
                "recipient_ref": ref,
                "channel": channel,
                "round": round_,
                "batch_no": batch_no,
                "status": status,
                "updated_at": now,
            }
            for ref in refs
        ]
        with db.write(self.engine) as conn:
            return db.insert_ignore_returning(conn, _D, rows, "recipient_ref")

    def unclaim(self, obligation_id: str, channel: str, ref: str) -> None:
        """Forget a claim whose message provably never left (temporary refusal, relay down)."""
        with db.write(self.engine) as conn:
            conn.execute(
                delete(_D).where(
                    _D.c.obligation_id == obligation_id, _D.c.channel == channel, _D.c.recipient_ref == ref, _D.c.status == CLAIMED
                )
            )

    def record(
        self,
        obligation_id: str,
        channel: str,
        outcomes: Sequence[tuple[str, str, str | None, str | None, str | None]],
        location: str | None = None,
        *,
        evidence: Mapping[str, SentEvidence] | None = None,
    ) -> None:
        """Set the outcome of claimed rows: (ref, status, failure_kind, reason, document_sha256),
        with the channel's evidence of sending for the refs in ``evidence``."""
        if not outcomes:
            return
        if evidence:
            with_evidence = [o for o in outcomes if o[0] in evidence]
            self._record(obligation_id, channel, [o for o in outcomes if o[0] not in evidence], location)
            self._record(obligation_id, channel, with_evidence, location, evidence)
        else:
            self._record(obligation_id, channel, outcomes, location)

    def _record(
        self,
        obligation_id: str,
        channel: str,
        outcomes: Sequence[tuple[str, str, str | None, str | None, str | None]],
        location: str | None,
        evidence: Mapping[str, SentEvidence] | None = None,
    ) -> None:
        if not outcomes:
            return
        extra = {"sent_at": bindparam("b_sent_at"), "evidence": bindparam("b_evidence")} if evidence else {}
        stmt = (
            update(_D)
            .where(
                _D.c.obligation_id == bindparam("b_obligation"),
                _D.c.channel == bindparam("b_channel"),
                _D.c.recipient_ref == bindparam("b_ref"),
            )
            .values(
                status=bindparam("b_status"),
                failure_kind=bindparam("b_kind"),
                reason=bindparam("b_reason"),
                document_sha256=bindparam("b_sha"),
                location=bindparam("b_location"),
                updated_at=bindparam("b_now"),
                **extra,
            )
        )
        now = _now()
        params = [
            {
                "b_obligation": obligation_id,
                "b_channel": channel,
                "b_ref": ref,
                "b_status": status,
                "b_kind": kind,
                "b_reason": reason,
                "b_sha": sha,
                "b_location": location,
                "b_now": now,
            }
            for ref, status, kind, reason, sha in outcomes
        ]
        if evidence:
            for row in params:
                ev = evidence[row["b_ref"]]
                row["b_sent_at"] = ev.sent_at.isoformat()
                row["b_evidence"] = ev.model_dump_json(exclude_none=True)
        with db.write(self.engine) as conn:
            conn.execute(stmt, params)

    def sent_evidence(self, obligation_id: str, channel: str, refs: Sequence[str]) -> dict[str, SentEvidence]:
        """The evidence of sending of those of ``refs`` whose notice is ``sent`` on ``channel``."""
        out: dict[str, SentEvidence] = {}
        with db.read(self.engine) as conn:
            for start in range(0, len(refs), 500):
                rows = conn.execute(
                    select(_D.c.recipient_ref, _D.c.evidence).where(
                        _D.c.obligation_id == obligation_id,
                        _D.c.channel == channel,
                        _D.c.status == SENT,
                        _D.c.evidence.is_not(None),
                        _D.c.recipient_ref.in_(list(refs[start : start + 500])),
                    )
                ).all()
                out.update({r.recipient_ref: SentEvidence.model_validate_json(r.evidence) for r in rows})
        return out

    def outcomes_of(self, obligation_id: str, channel: str, refs: Sequence[str]) -> dict[str, tuple[str, str | None, str | None]]:
        """(status, failure_kind, reason) of each of ``refs`` that has a row on ``channel``."""
        out: dict[str, tuple[str, str | None, str | None]] = {}
        with db.read(self.engine) as conn:
            for start in range(0, len(refs), 500):
                rows = conn.execute(
                    select(_D.c.recipient_ref, _D.c.status, _D.c.failure_kind, _D.c.reason).where(
                        _D.c.obligation_id == obligation_id,
                        _D.c.channel == channel,
                        _D.c.recipient_ref.in_(list(refs[start : start + 500])),
                    )
                ).all()
                out.update({r.recipient_ref: (r.status, r.failure_kind, r.reason) for r in rows})
        return out

    def rows_page(self, obligation_id: str, channel: str, after: str | None, limit: int) -> list[DeliveryRow]:
        """Rows on ``channel`` in ``recipient_ref`` order after ``after``: what the consumer notice's
        evidence of sending is read from (``activities/consumer_evidence.py``)."""
        query = select(_D.c.recipient_ref, _D.c.status, _D.c.sent_at, _D.c.evidence, _D.c.location, _D.c.document_sha256).where(
            _D.c.obligation_id == obligation_id, _D.c.channel == channel
        )
        if after is not None:
            query = query.where(_D.c.recipient_ref > after)
        with db.read(self.engine) as conn:
            rows = conn.execute(query.order_by(_D.c.recipient_ref).limit(limit)).all()
        return [DeliveryRow(r.recipient_ref, r.status, r.sent_at, r.evidence, r.location, r.document_sha256) for r in rows]

    def claimed_in_batch(self, obligation_id: str, channel: str, round_: int, batch_no: int) -> list[str]:
        with db.read(self.engine) as conn:
            return list(
                conn.execute(
                    select(_D.c.recipient_ref)
                    .where(
                        _D.c.obligation_id == obligation_id,
                        _D.c.channel == channel,
                        _D.c.round == round_,
                        _D.c.batch_no == batch_no,
                        _D.c.status == CLAIMED,
                    )
                    .order_by(_D.c.recipient_ref)
                ).scalars()
            )

    def mark_interrupted_sends_in_doubt(self, obligation_id: str, channel: str) -> int:
        """E-mails claimed by an attempt that did not finish: they may have left, so they are
        never sent again automatically."""
        with db.write(self.engine) as conn:
            result = conn.execute(
                update(_D)
                .where(_D.c.obligation_id == obligation_id, _D.c.channel == channel, _D.c.status == CLAIMED)
                .values(
                    status=IN_DOUBT,
                    failure_kind=FailureKind.IN_DOUBT.value,
                    reason="interrupted while sending; not re-sent automatically",
                    updated_at=_now(),
                )
            )
        return max(result.rowcount, 0)

    def mark_in_doubt_if_claimed(self, obligation_id: str, channel: str, ref: str) -> bool:
        """One recipient's e-mail still ``claimed`` after its sender had time to finish: the
        attempt died mid-send. Only a ``claimed`` row changes — an outcome recorded meanwhile stays."""
        with db.write(self.engine) as conn:
            result = conn.execute(
                update(_D)
                .where(_D.c.obligation_id == obligation_id, _D.c.channel == channel, _D.c.recipient_ref == ref, _D.c.status == CLAIMED)
                .values(
                    status=IN_DOUBT,
                    failure_kind=FailureKind.IN_DOUBT.value,
                    reason="interrupted while sending; not re-sent automatically",
                    updated_at=_now(),
                )
            )
        return result.rowcount > 0

    def mark_returned(self, obligation_id: str, channel: str, refs: Sequence[str], reason: str) -> int:
        kind = FailureKind.BOUNCED if channel == "email" else FailureKind.RETURNED
        count = 0
        with db.write(self.engine) as conn:
            for start in range(0, len(refs), 500):
                result = conn.execute(
                    update(_D)
                    .where(
                        _D.c.obligation_id == obligation_id,
                        _D.c.channel == channel,
                        _D.c.recipient_ref.in_(list(refs[start : start + 500])),
                        _D.c.status.in_((SENT, RETURNED)),
                    )
                    .values(status=RETURNED, failure_kind=kind.value, reason=reason, updated_at=_now())
                )
                count += max(result.rowcount, 0)
        return count

    # -- reading -----------------------------------------------------------------------------------

    def attempts(self, obligation_id: str, refs: Sequence[str]) -> dict[str, list[Attempt]]:
        out: dict[str, list[Attempt]] = {}
        with db.read(self.engine) as conn:
            for start in range(0, len(refs), 500):
                rows = conn.execute(
                    select(_D.c.recipient_ref, _D.c.channel, _D.c.status).where(
                        _D.c.obligation_id == obligation_id, _D.c.recipient_ref.in_(list(refs[start : start + 500]))
                    )
                ).all()
                for r in rows:
                    out.setdefault(r.recipient_ref, []).append(Attempt(r.recipient_ref, r.channel, r.status))
        return out

    def status_of(self, obligation_id: str, channel: str, ref: str) -> str | None:
        with db.read(self.engine) as conn:
            return conn.execute(
                select(_D.c.status).where(_D.c.obligation_id == obligation_id, _D.c.channel == channel, _D.c.recipient_ref == ref)
            ).scalar()

    def outcome_of(self, obligation_id: str, channel: str, ref: str) -> tuple[str, str | None] | None:
        """(status, reason) of one recipient's row, or None when it has none."""
        with db.read(self.engine) as conn:
            row = conn.execute(
                select(_D.c.status, _D.c.reason).where(
                    _D.c.obligation_id == obligation_id, _D.c.channel == channel, _D.c.recipient_ref == ref
                )
            ).first()
        return None if row is None else (row.status, row.reason)

    def follow_up_candidates(self, obligation_id: str, after: str | None, limit: int) -> list[str]:
        """Consumers with no notice sent, pending or in doubt, and none covered by substitute
        notice, whose attempts all failed, came back, or found no channel."""
        consumer_rows = and_(_D.c.obligation_id == obligation_id, _D.c.channel.in_(CONSUMER_CHANNELS))
        settled = func.max(case((_D.c.status.in_((SENT, CLAIMED, IN_DOUBT, COVERED)), 1), else_=0))
        query = select(_D.c.recipient_ref).where(consumer_rows)
        if after is not None:
            query = query.where(_D.c.recipient_ref > after)
        query = query.group_by(_D.c.recipient_ref).having(settled == 0).order_by(_D.c.recipient_ref).limit(limit)
        with db.read(self.engine) as conn:
            return list(conn.execute(query).scalars())

    def done_batches(self, obligation_id: str, round_: int) -> dict[int, str]:
        with db.read(self.engine) as conn:
            rows = conn.execute(
                select(_B.c.batch_no, _B.c.last_ref).where(_B.c.obligation_id == obligation_id, _B.c.round == round_)
            ).all()
        return {int(r.batch_no): r.last_ref for r in rows}

    def finish_batch(self, obligation_id: str, round_: int, batch_no: int, last_ref: str, recipients: int) -> None:
        with db.write(self.engine) as conn:
            db.insert_ignore(
                conn,
                _B,
                [
                    {
                        "obligation_id": obligation_id,
                        "round": round_,
                        "batch_no": batch_no,
                        "last_ref": last_ref,
                        "recipients": recipients,
                        "updated_at": _now(),
                    }
                ],
            )

    def channel_totals(self, obligation_id: str) -> dict[str, ChannelTotals]:
        with db.read(self.engine) as conn:
            rows = conn.execute(
                select(_D.c.channel, _D.c.status, func.count())
                .where(_D.c.obligation_id == obligation_id)
                .group_by(_D.c.channel, _D.c.status)
            ).all()
        totals: dict[str, ChannelTotals] = {}
        for channel, status, count in rows:
            t = totals.setdefault(channel, ChannelTotals())
            if status == UNREACHABLE or status == COVERED:
                continue
            if status == SENT:
                t.sent += count
            elif status == FAILED:
                t.failed += count
            elif status == RETURNED:
                t.returned += count
            elif status == IN_DOUBT:
                t.in_doubt += count
            elif status == CLAIMED:
                t.claimed += count
        return totals

    def consumer_totals(self, obligation_id: str) -> ConsumerTotals:
        flags = (
            select(
                _D.c.recipient_ref,
                func.max(case((and_(_D.c.status == SENT, _D.c.channel.in_(("email", "postal"))), 1), else_=0)).label("sent"),
                func.max(case((_D.c.status == COVERED, 1), else_=0)).label("covered"),
                func.max(case((_D.c.status.in_((IN_DOUBT, CLAIMED)), 1), else_=0)).label("doubt"),
            )
            .where(_D.c.obligation_id == obligation_id, _D.c.channel.in_(CONSUMER_CHANNELS))
            .group_by(_D.c.recipient_ref)
            .subquery()
        )
        query = select(
            func.coalesce(func.sum(flags.c.sent), 0),
            func.coalesce(func.sum(case((and_(flags.c.sent == 0, flags.c.covered == 1), 1), else_=0)), 0),
            func.coalesce(func.sum(case((and_(flags.c.sent == 0, flags.c.covered == 0, flags.c.doubt == 1), 1), else_=0)), 0),
            func.coalesce(func.sum(case((and_(flags.c.sent == 0, flags.c.covered == 0, flags.c.doubt == 0), 1), else_=0)), 0),
        )
        with db.read(self.engine) as conn:
            notified, covered, doubt, outstanding = conn.execute(query).one()
        return ConsumerTotals(notified=int(notified), covered=int(covered), outstanding=int(outstanding), in_doubt=int(doubt))

    def failures(self, obligation_id: str, channels: Sequence[str], limit: int) -> tuple[list[DeliveryFailure], int]:
        where = (
            _D.c.obligation_id == obligation_id,
            _D.c.channel.in_(list(channels)),
            _D.c.status.in_((FAILED, RETURNED, IN_DOUBT, UNREACHABLE)),
        )
        with db.read(self.engine) as conn:
            total = conn.execute(select(func.count()).select_from(_D).where(*where)).scalar_one()
            rows = conn.execute(select(_D).where(*where).order_by(_D.c.recipient_ref, _D.c.channel).limit(limit)).all()
        failures = [
            DeliveryFailure(
                recipient_ref=r.recipient_ref,
                channel=r.channel,
                kind=FailureKind(r.failure_kind or FailureKind.NO_CONTACT.value),
                reason=r.reason or "",
            )
            for r in rows
        ]
        return failures, int(total) - len(failures)

    def locations(self, obligation_id: str, channel: str) -> list[str]:
        with db.read(self.engine) as conn:
            return sorted(
                x
                for x in conn.execute(
                    select(_D.c.location).distinct().where(_D.c.obligation_id == obligation_id, _D.c.channel == channel)
                ).scalars()
                if x
            )

    # -- regulator submissions -----------------------------------------------------------------

    def receipt(self, submission_id: str) -> RegulatorReceipt | None:
        with db.read(self.engine) as conn:
            text = conn.execute(select(_S.c.receipt).where(_S.c.submission_id == submission_id)).scalar()
        return RegulatorReceipt.model_validate_json(text) if text else None

    def save_receipt(self, obligation_id: str, receipt: RegulatorReceipt) -> RegulatorReceipt:
        with db.write(self.engine) as conn:
            db.insert_ignore(
                conn,
                _S,
                [{"submission_id": receipt.submission_id, "obligation_id": obligation_id, "receipt": receipt.model_dump_json()}],
            )
        stored = self.receipt(receipt.submission_id)
        assert stored is not None
        return stored

    def acknowledgement(self, submission_id: str) -> RegulatorAcknowledgement | None:
        with db.read(self.engine) as conn:
            text = conn.execute(select(_S.c.acknowledgement).where(_S.c.submission_id == submission_id)).scalar()
        return RegulatorAcknowledgement.model_validate_json(text) if text else None

    def save_acknowledgement(self, submission_id: str, ack: RegulatorAcknowledgement) -> RegulatorAcknowledgement:
        """Keep the first acknowledgement of a filing; a later one does not replace it."""
        with db.write(self.engine) as conn:
            conn.execute(
                update(_S)
                .where(_S.c.submission_id == submission_id, _S.c.acknowledgement.is_(None))
                .values(acknowledgement=ack.model_dump_json())
            )
        return self.acknowledgement(submission_id) or ack
