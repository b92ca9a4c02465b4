"""One batch of the revised-notice fan-out delivered (28 TAC §§ 22.12, 22.13): the work of
``RevisedNoticeActivities.deliver_batch``.

A keyset page of affected relationships is read with its consumers' reachability (one query,
never contact data), each delivery is claimed in the privacy store, then sent:

* **E-mail** (§ 22.13(a), (c)(2)) over one SMTP connection for the batch, pipelined where the
  relay offers it (``activities/smtp_batch.py``); outcomes per recipient — sent, refused,
  deferred, in doubt — recorded every ``EMAIL_RECORD_EVERY`` messages.
* **Letters** (§ 22.13(b)(2)) as one print stream per batch (``activities/print_stream.py``): the
  notice rendered once with merge fields and one row per letter with its envelope record and the
  sha256 of the letter it makes — no file per letter. The letters are prepared (contacts opened,
  rows made) a step at a time while the relay answers the e-mails, on the sending thread, then
  written, recorded and sealed (``READY``).

Retried, nothing goes out twice: a claimed e-mail is never re-sent (a claim without an outcome
becomes ``in_doubt``); a print batch not yet sealed is written again with the same letters.
Contacts are opened here only, a chunk at a time, and never leave the activity: what it returns
is counts, cursors (relationship ids) and digests.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import structlog
from sqlalchemy import bindparam, select, update
from sqlalchemy.dialects import postgresql, sqlite
from temporalio import activity
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from activities import db
from activities.files import safe_name
from activities.print_stream import LetterTemplate, PrintStream, PrintStreamChannel
from activities.privacy_documents import (
    NoticeLintError,
    NoticePackage,
    PrivacyDocuments,
    choose_channel,
    delivery_status,
    email_envelope,
)
from activities.privacy_store import (
    ConsumerRow,
    DeliveryRow,
    PrivacyStore,
    RelationshipMemberRow,
    RelationshipRow,
    _delivery_row,
)
from activities.smtp_batch import BatchInterruptedError, Idle, MailTemplate, SmtpBatchChannel
from config.settings import Settings
from models.privacy import DeliveryChannel, NoticeKind
from models.privacy_lifecycle import ConsumerFlags, DeliveryRecord, DeliveryStatus, PolicyChange, RelationshipStage
from models.revised_notice import DeliverBatchInput, DeliverBatchResult, FanoutCounts

log = structlog.get_logger("noticeflow.revised_notice")

_DELIVERIES = DeliveryRow.__table__
_RELATIONSHIPS = RelationshipRow.__table__
_MEMBERS = RelationshipMemberRow.__table__
_CONSUMERS = ConsumerRow.__table__
#: E-mail outcomes are written this many at a time: a crash loses at most these outcomes, and
#: their claims then read ``in_doubt`` (never re-sent).
EMAIL_RECORD_EVERY = 100
LOOKUP_CHUNK = 500
#: Letters prepared per step of a :class:`LetterJob` (one contacts look-up): short enough that a
#: step run while the relay answers an e-mail does not hold the next message up for long.
LETTER_STEP = 25


def affected_stages(include_former_customers: bool) -> list[RelationshipStage]:
    """Who receives the revised notice (28 TAC § 22.12(a)): every consumer and customer to whom the
    licensee gave the earlier notice; former customers only when the change discloses former
    customers' information they never had the chance to opt out of (§ 22.12(b)(3)). Closed
    relationships receive nothing."""
    stages = [RelationshipStage.CUSTOMER, RelationshipStage.CONSUMER, RelationshipStage.ISOLATED_TRANSACTION]
    if include_former_customers:
        stages.append(RelationshipStage.FORMER_CUSTOMER)
    return stages


def digest_lines(lines: Sequence[str]) -> str:
    h = hashlib.sha256()
    for line in lines:
        h.update(line.encode("utf-8") + b"\n")
    return h.hexdigest()


def chunks(items: Sequence[Any], size: int = LOOKUP_CHUNK) -> list[Sequence[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


# =============================================================================================
# The page, the claims and the outcomes in the store
# =============================================================================================


class AffectedRelationship(NamedTuple):
    """What the fan-out needs of a relationship: its id, consumers (in order) and running lifecycle."""

    relationship_id: str
    consumer_refs: list[str]
    workflow_id: str | None


_FLAG_COLUMNS = (
    _CONSUMERS.c.consumer_ref,
    _CONSUMERS.c.jurisdiction,
    _CONSUMERS.c.has_email,
    _CONSUMERS.c.has_postal_address,
    _CONSUMERS.c.e_delivery_consent,
    _CONSUMERS.c.transacts_electronically,
)


def affected_page(store: PrivacyStore, req: DeliverBatchInput) -> tuple[list[AffectedRelationship], dict[str, ConsumerFlags]]:
    """One keyset page of ``PrivacyStore.relationships_page`` with the fan-out's filters (old
    version, jurisdiction, affected stages) and its consumers' ``PrivacyStore.consumer_flags``, in
    one query (relationships joined to their members' reachability; never their contact data)."""
    where = [
        _RELATIONSHIPS.c.policy_version == req.old_version,
        _RELATIONSHIPS.c.jurisdiction == req.jurisdiction,
        _RELATIONSHIPS.c.stage.in_([s.value for s in affected_stages(req.include_former_customers)]),
    ]
    if req.after is not None:
        where.append(_RELATIONSHIPS.c.relationship_id > req.after)
    ids = select(_RELATIONSHIPS.c.relationship_id).where(*where).order_by(_RELATIONSHIPS.c.relationship_id).limit(req.limit)
    query = (
        select(_RELATIONSHIPS.c.relationship_id, _RELATIONSHIPS.c.consumer_refs, _RELATIONSHIPS.c.workflow_id, *_FLAG_COLUMNS)
        .select_from(
            _RELATIONSHIPS.outerjoin(_MEMBERS, _MEMBERS.c.relationship_id == _RELATIONSHIPS.c.relationship_id).outerjoin(
                _CONSUMERS, _CONSUMERS.c.consumer_ref == _MEMBERS.c.consumer_ref
            )
        )
        .where(_RELATIONSHIPS.c.relationship_id.in_(ids.scalar_subquery()))
        .order_by(_RELATIONSHIPS.c.relationship_id)
    )
    page: list[AffectedRelationship] = []
    flags: dict[str, ConsumerFlags] = {}
    with db.read(store.engine) as conn:
        last = None
        for rid, refs, wid, ref, jurisdiction, has_email, has_postal, consent, electronic in conn.execute(query):
            if rid != last:
                page.append(AffectedRelationship(rid, json.loads(refs), wid))
                last = rid
            if ref is not None and ref not in flags:
                flags[ref] = ConsumerFlags(
                    consumer_ref=ref,
                    jurisdiction=jurisdiction,
                    has_email=bool(has_email),
                    has_postal_address=bool(has_postal),
                    e_delivery_consent=bool(consent),
                    transacts_electronically=bool(electronic),
                )
    return page, flags


@dataclass(slots=True)
class Delivery:
    """One delivery of the batch as the fan-out tracks it (the fields of ``DeliveryRecord`` that
    change; ``record``: the stored record, for a delivery an earlier attempt claimed)."""

    delivery_key: str
    relationship_id: str
    channel: DeliveryChannel
    status: DeliveryStatus
    delivered_at: dt.datetime
    consumer_agreed_electronic: bool
    batch_id: str | None = None
    failure: str | None = None
    record: DeliveryRecord | None = None

    @classmethod
    def of(cls, record: DeliveryRecord) -> Delivery:
        return cls(record.delivery_key, record.relationship_id, record.channel, record.status, record.delivered_at,
                   record.consumer_agreed_electronic, record.batch_id, record.failure, record)


def claim_batch(store: PrivacyStore, rows: Sequence[dict[str, Any]]) -> set[str]:
    """``PrivacyStore.claim_deliveries`` for a whole batch in one compiled statement: insert the
    claims (``privacy_notice_deliveries`` rows), skip keys already there, return the keys this call
    inserted (the one attempt that may send)."""
    if not rows:
        return set()
    module: Any = postgresql if store.engine.dialect.name == "postgresql" else sqlite
    stmt = module.insert(_DELIVERIES).on_conflict_do_nothing().returning(_DELIVERIES.c.delivery_key)
    with db.write(store.engine) as conn:
        return set(conn.execute(stmt, list(rows)).scalars())


def finish_batch(store: PrivacyStore, deliveries: Sequence[Delivery | DeliveryRecord]) -> None:
    """``PrivacyStore.finish_deliveries`` for a batch in one transaction: the outcome of each claimed
    delivery. Deliveries with the same outcome (a print batch's letters, the e-mails sent) are
    updated together, ``LOOKUP_CHUNK`` keys a statement; the rest one by one (executemany)."""
    if not deliveries:
        return
    groups: dict[tuple[str, str, str | None, str | None], list[str]] = {}
    for d in deliveries:
        groups.setdefault((d.status.value, d.channel.value, d.batch_id, d.failure), []).append(d.delivery_key)
    single = (
        update(_DELIVERIES)
        .where(_DELIVERIES.c.delivery_key == bindparam("k"))
        .values(status=bindparam("s"), channel=bindparam("c"), batch_id=bindparam("b"), failure=bindparam("f"))
    )
    one_by_one = []
    with db.write(store.engine) as conn:
        for (status, channel, batch_id, failure), keys in groups.items():
            if len(keys) < 8:
                one_by_one.extend({"k": k, "s": status, "c": channel, "b": batch_id, "f": failure} for k in keys)
                continue
            for part in chunks(keys):
                conn.execute(
                    update(_DELIVERIES)
                    .where(_DELIVERIES.c.delivery_key.in_(list(part)))
                    .values(status=status, channel=channel, batch_id=batch_id, failure=failure)
                    .execution_options(synchronize_session=False)
                )
        if one_by_one:
            conn.execute(single.execution_options(synchronize_session=False), one_by_one)


class LetterJob:
    """The letters of a batch as one print stream, done in small steps: their consumers' contacts
    opened (``PrivacyStore.consumer_contacts``, ``LETTER_STEP`` letters a look-up), their rows added
    to the stream; then the batch directory written, the letters' outcomes recorded and the batch
    sealed (``READY``). Steps run while the relay answers the batch's e-mails (:meth:`work`, which
    never raises: a failure is kept and raised by :meth:`finish`, once the e-mails are recorded);
    :meth:`finish` does what is left. Blocking: run on a worker thread."""

    def __init__(
        self, store: PrivacyStore, channel: PrintStreamChannel, letters: Sequence[Delivery], members: dict[str, list[str]],
        addressees: dict[str, str | None], stream: PrintStream,
    ) -> None:
        self.stream = stream
        self.manifest_sha256: str | None = None
        self._steps = self._run(store, channel, letters, members, addressees)
        self._done = not letters
        self._error: Exception | None = None

    def _run(self, store: PrivacyStore, channel: PrintStreamChannel, letters: Sequence[Delivery], members: dict[str, list[str]],
             addressees: dict[str, str | None]) -> Iterator[None]:
        stream = self.stream
        for part in chunks(letters, LETTER_STEP):
            contacts = store.consumer_contacts(sorted({ref for d in part for ref in members[d.relationship_id]}))
            yield
            for n, d in enumerate(part, start=1):
                names = " and ".join(contacts[ref].name for ref in members[d.relationship_id] if ref in contacts)
                addressee = contacts[addressees[d.relationship_id] or ""]
                stream.add(d.delivery_key, names, addressee.postal_address, d.delivered_at.date())
                if n % 5 == 0:
                    yield
        self.manifest_sha256 = channel.write_batch(stream)
        yield
        for d in letters:
            d.status = DeliveryStatus.FAILED if d.delivery_key in stream.refused else DeliveryStatus.SENT
            d.batch_id, d.failure = stream.batch_id, stream.refused.get(d.delivery_key)
        finish_batch(store, letters)
        channel.seal_batch(stream.batch_id)  # at once: recorded letters belong in a sealed batch

    def work(self, enough: Callable[[], bool] | None = None) -> None:
        """Steps until ``enough()`` (at least one), or until all is done."""
        while not self._done and self._error is None:
            try:
                next(self._steps)
            except StopIteration:
                self._done = True
            except Exception as exc:  # noqa: BLE001 — kept, raised by finish()
                self._error = exc
            if enough is not None and enough():
                return

    def finish(self) -> None:
        """The remaining steps; raises what a step met."""
        self.work()
        if self._error is not None:
            raise self._error


# =============================================================================================
# One batch
# =============================================================================================


class BatchDelivery:
    """Delivers pages of the fan-out (one :meth:`deliver` per batch activity); holds the channels
    and, per rendered notice, its letter template and e-mail (rendered once per worker)."""

    def __init__(
        self, settings: Settings, store: PrivacyStore, documents: PrivacyDocuments, email_channel: Callable[[], SmtpBatchChannel]
    ) -> None:
        self.settings, self.store, self.documents = settings, store, documents
        self._email_channel = email_channel
        self.print_channel = PrintStreamChannel(settings.outbox_dir)
        self._letters: dict[str, LetterTemplate] = {}
        self._mails: dict[str, MailTemplate] = {}

    async def deliver(self, req: DeliverBatchInput) -> DeliverBatchResult:
        store = self.store
        page, flags = await asyncio.to_thread(affected_page, store, req)
        if not page:
            return DeliverBatchResult(batch_no=req.batch_no, after=req.after, last_id=None, counts=FanoutCounts(), digest=digest_lines([]))
        try:
            record = await asyncio.to_thread(self.documents.policy, req.new_version)
            package = await asyncio.to_thread(self.documents.prepare, record, NoticeKind.REVISED, True)
        except NoticeLintError as exc:  # the workflow checked first; content changed since cannot be sent
            raise ApplicationError(str(exc), type="NoticeLintFailed", non_retryable=True) from None
        choices = {rel.relationship_id: choose_channel([flags[r] for r in rel.consumer_refs if r in flags]) for rel in page}
        print_batch = f"{safe_name(req.notice_id)}-{req.batch_no:06d}"

        # The claims, as rows of privacy_notice_deliveries: the record's constant fields checked
        # once (a DeliveryRecord), then per relationship only what differs.
        first = page[0].relationship_id
        base = _delivery_row(
            DeliveryRecord(
                delivery_key=f"{first}/{req.notice_id}", relationship_id=first, notice_id=req.notice_id, kind=NoticeKind.REVISED,
                policy_version=req.new_version, includes_opt_out_notice=True, channel=DeliveryChannel.MAIL,
                status=DeliveryStatus.PENDING, delivered_at=req.as_of, documents=[d.sha256 for d in package.documents],
            )
        )
        claims: list[Delivery] = []
        rows: list[dict[str, Any]] = []
        for rel in page:
            choice = choices[rel.relationship_id]
            mail = choice.channel is DeliveryChannel.MAIL
            claim = Delivery(
                f"{rel.relationship_id}/{req.notice_id}", rel.relationship_id, choice.channel or DeliveryChannel.MAIL,
                DeliveryStatus.PENDING if choice.channel else DeliveryStatus.UNDELIVERABLE, req.as_of,
                choice.consumer_agreed_electronic, print_batch if mail else None, None if choice.channel else choice.basis,
            )
            claims.append(claim)
            rows.append({**base, "delivery_key": claim.delivery_key, "relationship_id": claim.relationship_id,
                         "channel": claim.channel.value, "status": claim.status.value,
                         "consumer_agreed_electronic": claim.consumer_agreed_electronic, "batch_id": claim.batch_id,
                         "failure": claim.failure})
        won = await asyncio.to_thread(claim_batch, store, rows)

        final: dict[str, Delivery] = {}
        to_mail: list[Delivery] = []
        to_email: list[Delivery] = []
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
            stored = await asyncio.to_thread(store.get_delivery, claim.delivery_key)
            assert stored is not None
            existing = Delivery.of(stored)
            if existing.status is DeliveryStatus.PENDING and existing.channel is DeliveryChannel.MAIL:
                to_mail.append(existing)  # the unsealed print batch is written again, same letters
            elif existing.status is DeliveryStatus.PENDING:
                existing.status, existing.failure = DeliveryStatus.IN_DOUBT, "an earlier attempt died mid-send; not re-sent"
                await asyncio.to_thread(finish_batch, store, [existing])
                final[claim.delivery_key] = existing
                already += 1
            else:
                final[claim.delivery_key] = existing
                already += 1

        members = {rel.relationship_id: rel.consumer_refs for rel in page}
        addressees = {rid: choice.addressee for rid, choice in choices.items()}
        stream = PrintStream(print_batch, self._letter_template(package), package.documents[0].sha256)
        job = LetterJob(store, self.print_channel, to_mail, members, addressees, stream)
        emailed = await self._email(to_email, package, addressees, idle=job.work if to_mail else None)
        manifest_sha256 = None
        if to_mail:
            await asyncio.to_thread(job.finish)
            activity.heartbeat("mailed")
            manifest_sha256 = job.manifest_sha256
        for d in (*to_mail, *emailed):
            final[d.delivery_key] = d

        handed_off = await self._hand_off(page, final, req, base)

        tally: dict[str, int] = {}
        lines = []
        for claim in claims:
            d = final[claim.delivery_key]
            lines.append(f"{d.delivery_key} {d.status.value} {d.channel.value}")
            tally[d.status.value] = tally.get(d.status.value, 0) + 1
            if d.status.gives_notice or d.status is DeliveryStatus.RETURNED:
                key = "email" if d.channel is DeliveryChannel.EMAIL else "mail"
                tally[key] = tally.get(key, 0) + 1
        counts = FanoutCounts(
            processed=len(page),
            sent=tally.get("sent", 0) + tally.get("acknowledged", 0) + tally.get("returned", 0),
            email=tally.get("email", 0),
            mail=tally.get("mail", 0),
            failed=tally.get("failed", 0),
            in_doubt=tally.get("in_doubt", 0),
            undeliverable=tally.get("undeliverable", 0),
        )
        printed = any(d.channel is DeliveryChannel.MAIL and d.batch_id == print_batch for d in final.values())
        if printed and manifest_sha256 is None:
            # Every letter was recorded by an earlier attempt, which may have died before sealing
            # the batch: seal it (once the vendor has taken it, nothing is left to seal).
            await self.print_channel.seal(print_batch)
            manifest_sha256 = await self.print_channel.manifest_sha256(print_batch)
        log.info("revised_notice_batch_delivered", notice_id=req.notice_id, batch_no=req.batch_no,
                 relationships=len(page), sent=counts.sent, already=already, handed_off=handed_off)
        return DeliverBatchResult(
            batch_no=req.batch_no,
            after=req.after,
            last_id=page[-1].relationship_id,
            counts=counts,
            already_recorded=already,
            print_batch=print_batch if printed else None,
            manifest_sha256=manifest_sha256,
            digest=digest_lines(lines),
        )

    # -- the channels -------------------------------------------------------------------------------

    def _letter_template(self, package: NoticePackage) -> LetterTemplate:
        key = package.documents[0].sha256
        template = self._letters.get(key)
        if template is None:
            try:
                template = self._letters[key] = PrivacyDocuments.letter_template(package)
            except ValueError as exc:  # the notice text itself holds a merge field's name
                raise ApplicationError(str(exc), type="LetterTemplateInvalid", non_retryable=True) from None
        return template

    def _mail_template(self, package: NoticePackage) -> MailTemplate:
        key = package.documents[0].sha256
        template = self._mails.get(key)
        if template is None:
            template = self._mails[key] = MailTemplate.build(self.settings.mail_from, package.subject, package.text, package.html)
        return template

    async def _email(
        self, emails: list[Delivery], package: NoticePackage, addressees: dict[str, str | None], idle: Idle | None = None
    ) -> list[Delivery]:
        """The batch's e-mails over one SMTP connection (pipelined where the relay offers it),
        outcomes recorded every ``EMAIL_RECORD_EVERY`` messages. ``idle``: other work of the
        batch, a step at a time, while the relay answers."""
        if not emails:
            return []
        contacts = await asyncio.to_thread(self.store.consumer_contacts, sorted({addressees[d.relationship_id] or "" for d in emails}))
        channel = self._email_channel()
        template = self._mail_template(package)
        try:
            for start in range(0, len(emails), EMAIL_RECORD_EVERY):
                part = emails[start : start + EMAIL_RECORD_EVERY]
                envelopes = [email_envelope(d.delivery_key, package, contacts[addressees[d.relationship_id] or ""]) for d in part]
                try:
                    outcomes = await channel.deliver_many(envelopes, template, idle)
                except BatchInterruptedError as exc:
                    # Nothing of the message that met the failure (nor of the rest) was handed
                    # over: record what went, release the rest so that the retry claims and sends them.
                    went = list(part[: len(exc.outcomes)])
                    for d, o in zip(went, exc.outcomes, strict=True):
                        d.status, d.failure = delivery_status(o.status), o.reason
                    await asyncio.to_thread(finish_batch, self.store, went)
                    for rest in emails[start + len(went) :]:
                        await asyncio.to_thread(self.store.release_claim, rest.delivery_key)
                    raise ApplicationError(str(exc), type="ChannelUnavailable") from None
                for d, o in zip(part, outcomes, strict=True):
                    d.status, d.failure = delivery_status(o.status), o.reason
                await asyncio.to_thread(finish_batch, self.store, part)
                activity.heartbeat(start + len(part))
        finally:
            await channel.aclose()
        return emails

    async def _hand_off(self, page: list[AffectedRelationship], final: dict[str, Delivery], req: DeliverBatchInput,
                        base: dict[str, Any]) -> int:
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
                await handle.signal("revised_notice_delivered", _record(final[f"{rel.relationship_id}/{req.notice_id}"], req, base))
            except RPCError as exc:
                if exc.status is not RPCStatusCode.NOT_FOUND:
                    raise
                continue
            handed += 1
        if handed:
            activity.heartbeat("handed off")
        return handed


def _record(d: Delivery, req: DeliverBatchInput, base: dict[str, Any]) -> DeliveryRecord:
    """The delivery as the privacy store records it (``DeliveryRecord``)."""
    update = {"status": d.status, "batch_id": d.batch_id, "failure": d.failure}
    if d.record is not None:
        return d.record.model_copy(update=update)
    return DeliveryRecord(
        delivery_key=d.delivery_key, relationship_id=d.relationship_id, notice_id=req.notice_id, kind=NoticeKind.REVISED,
        policy_version=req.new_version, includes_opt_out_notice=True, channel=d.channel, delivered_at=d.delivered_at,
        consumer_agreed_electronic=d.consumer_agreed_electronic, documents=json.loads(base["documents"]), **update,
    )


__all__ = [
    "EMAIL_RECORD_EVERY",
    "AffectedRelationship",
    "BatchDelivery",
    "Delivery",
    "LetterJob",
    "affected_page",
    "affected_stages",
    "chunks",
    "claim_batch",
    "digest_lines",
    "finish_batch",
]
