"""The privacy store: consumers, relationships, notice deliveries, opt outs and disclosure openings
of the privacy-notice lifecycles (28 TAC ch. 22), in tables of the ledger's database.

Who may read what
-----------------
* Contact data (name, e-mail, postal address) is the one piece of NPI kept here. It is sealed
  with AES-256-GCM before it is written (:class:`ContactCipher`; the consumer_ref is bound as
  associated data, so a sealed contact cannot be moved to another consumer) and opened only by
  :meth:`PrivacyStore.consumer_contacts`, which the delivery activity alone calls.
* Everything else names consumers by ``consumer_ref`` (``npi_digest`` of the licensee's id) and
  relationships by an opaque ``relationship_id``: safe to hand to workflows and the ledger.

Scale
-----
The revised-notice fan-out drives a million relationships through these tables, so every write
takes a batch (rows go in ``db.INSERT_CHUNK`` at a time, one transaction per call) and every
listing is keyset-paged by id (``after`` = the last id of the previous page; never OFFSET).
Writes are idempotent: the same batch again changes nothing (``INSERT … ON CONFLICT DO NOTHING``),
so an activity retried after a crash can simply run again.

Schema (see ``docs/privacy.md``)::

    privacy_policy_versions      version_id PK · jurisdiction · effective_on · sha256 · body (JSON)
    privacy_consumers            consumer_ref PK · jurisdiction · has_email · has_postal_address ·
                                 e_delivery_consent · transacts_electronically · key_id · contact (sealed)
    privacy_relationships        relationship_id PK · jurisdiction · consumer_refs (JSON) · is_customer ·
                                 isolated_transaction · established_at · transaction_completed_at · policy_version · stage · ended_on ·
                                 end_reason · end_citation · next_annual_due · last_annual_notice_on · workflow_id
    privacy_relationship_members (relationship_id, consumer_ref) PK · index on consumer_ref
    privacy_notice_deliveries    delivery_key PK · relationship_id · notice_id · kind · policy_version ·
                                 includes_opt_out_notice · channel · status · delivered_at · acknowledged_at ·
                                 returned_at · consumer_agreed_electronic · isolated_transaction · documents · batch_id · failure
    privacy_opt_outs             election_id PK · relationship_id · consumer_ref · received_at · effective_at ·
                                 npi_categories · recipient_categories · revocation_received_at · revocation_form
    privacy_disclosure_openings  (relationship_id, policy_version) PK · status · opened_at · notice_id · citation
    privacy_documents            (policy_version, kind, variant) PK · sha256s of the rendered specimen (JSON)

Times are stored as ISO 8601 text with their offset, dates as ``YYYY-MM-DD`` (text order is date
order), lists as JSON.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from sqlalchemy import Engine, Index, func, select, update
from sqlmodel import Field, SQLModel

from activities import db
from activities.sealing import Sealer
from ledger.canonical import canonical_json
from models.privacy import (
    ConsumerRelationship,
    DisclosureRequest,
    NoticeKind,
)
from models.privacy_lifecycle import (
    ConsumerFlags,
    DeliveryCountsByStatus,
    DeliveryRecord,
    DeliveryStatus,
    DisclosureOpening,
    GateQuestion,
    OpeningStatus,
    OptOutRecord,
    PrivacyConsumer,
    PrivacyPolicyRecord,
    RelationshipRecord,
    RelationshipStage,
    RelationshipStatusChange,
)
from noticeflow.codec import CodecKeyring, load_keyring
from noticeflow.settings import Settings

#: Ids per ``IN (…)`` look-up.
LOOKUP_CHUNK = 500
#: Default page size of the keyset-paged listings.
PAGE = 1000


class PrivacyStoreError(ValueError):
    """The store cannot do what was asked; the message says why and what to do."""


class NotFoundError(PrivacyStoreError):
    pass


class ConflictError(PrivacyStoreError):
    """The same id was written before with different content."""


# =============================================================================================
# Contact data at rest
# =============================================================================================

#: The sealing purpose of contact data (HKDF info and associated-data prefix): unchanged since v1,
#: so contacts sealed before keep opening.
CONTACT_PURPOSE = "noticeflow/privacy-contact/v1"


class ContactCipher(Sealer):
    """AES-256-GCM for contact data at rest (``activities/sealing.py``): keys derived from the
    payload codec's keyring for the purpose ``noticeflow/privacy-contact/v1``, so a contact sealed
    here is not a Temporal payload and cannot be opened as one; the ``consumer_ref`` is bound as
    associated data, so a sealed contact cannot be moved to another consumer."""

    def __init__(self, keyring: CodecKeyring) -> None:
        super().__init__(keyring, CONTACT_PURPOSE, what="contact data of a consumer", bound_to="consumer", error=PrivacyStoreError)

    @classmethod
    def from_settings(cls, settings: Settings) -> ContactCipher:
        return cls(load_keyring(settings))


# =============================================================================================
# Tables
# =============================================================================================


class PolicyVersionRow(SQLModel, table=True):
    __tablename__ = "privacy_policy_versions"

    version_id: str = Field(primary_key=True)
    jurisdiction: str
    effective_on: str
    sha256: str
    body: str


class ConsumerRow(SQLModel, table=True):
    __tablename__ = "privacy_consumers"

    consumer_ref: str = Field(primary_key=True)
    jurisdiction: str
    has_email: bool
    has_postal_address: bool
    e_delivery_consent: bool
    transacts_electronically: bool
    key_id: str
    contact: str  # base64(nonce || AES-GCM(JSON of name, email, postal_address))


class RelationshipRow(SQLModel, table=True):
    __tablename__ = "privacy_relationships"
    __table_args__ = (
        Index("ix_privacy_relationships_annual", "stage", "next_annual_due", "relationship_id"),
        Index("ix_privacy_relationships_policy", "policy_version", "relationship_id"),
    )

    relationship_id: str = Field(primary_key=True)
    jurisdiction: str
    consumer_refs: str  # JSON list
    is_customer: bool
    isolated_transaction: bool
    established_at: str | None = None
    transaction_completed_at: str | None = None
    policy_version: str
    stage: str
    ended_on: str | None = None
    end_reason: str | None = None
    end_citation: str | None = None
    next_annual_due: str | None = None
    last_annual_notice_on: str | None = None
    workflow_id: str | None = None


class RelationshipMemberRow(SQLModel, table=True):
    __tablename__ = "privacy_relationship_members"
    __table_args__ = (Index("ix_privacy_relationship_members_consumer", "consumer_ref", "relationship_id"),)

    relationship_id: str = Field(primary_key=True)
    consumer_ref: str = Field(primary_key=True)


class DeliveryRow(SQLModel, table=True):
    __tablename__ = "privacy_notice_deliveries"
    __table_args__ = (
        Index("ix_privacy_notice_deliveries_relationship", "relationship_id", "delivery_key"),
        Index("ix_privacy_notice_deliveries_kind", "kind", "policy_version", "status"),
    )

    delivery_key: str = Field(primary_key=True)
    relationship_id: str
    notice_id: str
    kind: str
    policy_version: str | None = None
    includes_opt_out_notice: bool
    channel: str
    status: str
    delivered_at: str
    acknowledged_at: str | None = None
    returned_at: str | None = None
    consumer_agreed_electronic: bool
    isolated_transaction: bool
    documents: str  # JSON list of sha256
    batch_id: str | None = None
    failure: str | None = None


class OptOutRow(SQLModel, table=True):
    __tablename__ = "privacy_opt_outs"
    __table_args__ = (Index("ix_privacy_opt_outs_relationship", "relationship_id", "election_id"),)

    election_id: str = Field(primary_key=True)
    relationship_id: str
    consumer_ref: str
    received_at: str
    effective_at: str
    npi_categories: str | None = None  # JSON list; null = all
    recipient_categories: str | None = None
    revocation_received_at: str | None = None
    revocation_form: str | None = None


class OpeningRow(SQLModel, table=True):
    __tablename__ = "privacy_disclosure_openings"
    __table_args__ = (Index("ix_privacy_disclosure_openings_version", "policy_version", "status", "relationship_id"),)

    relationship_id: str = Field(primary_key=True)
    policy_version: str = Field(primary_key=True)
    status: str
    opened_at: str
    notice_id: str
    citation: str


class DocumentSetRow(SQLModel, table=True):
    __tablename__ = "privacy_documents"

    policy_version: str = Field(primary_key=True)
    kind: str = Field(primary_key=True)
    variant: str = Field(primary_key=True)  # sha256 of the record the documents were rendered from
    documents: str  # JSON list of PrivacyDocumentRef


_POLICIES = PolicyVersionRow.__table__
_CONSUMERS = ConsumerRow.__table__
_RELATIONSHIPS = RelationshipRow.__table__
_MEMBERS = RelationshipMemberRow.__table__
_DELIVERIES = DeliveryRow.__table__
_OPT_OUTS = OptOutRow.__table__
_OPENINGS = OpeningRow.__table__
_DOCUMENTS = DocumentSetRow.__table__
TABLES = (_POLICIES, _CONSUMERS, _RELATIONSHIPS, _MEMBERS, _DELIVERIES, _OPT_OUTS, _OPENINGS, _DOCUMENTS)


def _iso(value: dt.datetime | dt.date | None) -> str | None:
    return None if value is None else value.isoformat()


def _dt(value: str | None) -> dt.datetime | None:
    return None if value is None else dt.datetime.fromisoformat(value)


def _date(value: str | None) -> dt.date | None:
    return None if value is None else dt.date.fromisoformat(value)


def _json_list(value: list[str] | None) -> str | None:
    return None if value is None else json.dumps(value)


def record_sha256(record: PrivacyPolicyRecord) -> str:
    """Digest of a policy record's content (RFC 8785 canonical JSON)."""
    return hashlib.sha256(canonical_json(record.model_dump(mode="json"))).hexdigest()


# -- row <-> model ----------------------------------------------------------------------------


def _relationship_row(r: RelationshipRecord) -> dict[str, Any]:
    return {
        "relationship_id": r.relationship_id,
        "jurisdiction": r.jurisdiction,
        "consumer_refs": json.dumps(r.consumer_refs),
        "is_customer": r.is_customer,
        "isolated_transaction": r.isolated_transaction,
        "established_at": _iso(r.established_at),
        "transaction_completed_at": _iso(r.transaction_completed_at),
        "policy_version": r.policy_version,
        "stage": r.stage.value,
        "ended_on": _iso(r.ended_on),
        "end_reason": r.end_reason,
        "end_citation": r.end_citation,
        "next_annual_due": _iso(r.next_annual_due),
        "last_annual_notice_on": _iso(r.last_annual_notice_on),
        "workflow_id": r.workflow_id,
    }


def _relationship(row: Any) -> RelationshipRecord:
    return RelationshipRecord(
        relationship_id=row.relationship_id,
        jurisdiction=row.jurisdiction,
        consumer_refs=json.loads(row.consumer_refs),
        is_customer=bool(row.is_customer),
        isolated_transaction=bool(row.isolated_transaction),
        established_at=_dt(row.established_at),
        transaction_completed_at=_dt(row.transaction_completed_at),
        policy_version=row.policy_version,
        stage=RelationshipStage(row.stage),
        ended_on=_date(row.ended_on),
        end_reason=row.end_reason,
        end_citation=row.end_citation,
        next_annual_due=_date(row.next_annual_due),
        last_annual_notice_on=_date(row.last_annual_notice_on),
        workflow_id=row.workflow_id,
    )


def _delivery_row(d: DeliveryRecord) -> dict[str, Any]:
    return {
        "delivery_key": d.delivery_key,
        "relationship_id": d.relationship_id,
        "notice_id": d.notice_id,
        "kind": d.kind.value,
        "policy_version": d.policy_version,
        "includes_opt_out_notice": d.includes_opt_out_notice,
        "channel": d.channel.value,
        "status": d.status.value,
        "delivered_at": _iso(d.delivered_at),
        "acknowledged_at": _iso(d.acknowledged_at),
        "returned_at": _iso(d.returned_at),
        "consumer_agreed_electronic": d.consumer_agreed_electronic,
        "isolated_transaction": d.isolated_transaction,
        "documents": json.dumps(d.documents),
        "batch_id": d.batch_id,
        "failure": d.failure,
    }


def _delivery(row: Any) -> DeliveryRecord:
    return DeliveryRecord(
        delivery_key=row.delivery_key,
        relationship_id=row.relationship_id,
        notice_id=row.notice_id,
        kind=NoticeKind(row.kind),
        policy_version=row.policy_version,
        includes_opt_out_notice=bool(row.includes_opt_out_notice),
        channel=row.channel,
        status=DeliveryStatus(row.status),
        delivered_at=_dt(row.delivered_at),
        acknowledged_at=_dt(row.acknowledged_at),
        returned_at=_dt(row.returned_at),
        consumer_agreed_electronic=bool(row.consumer_agreed_electronic),
        isolated_transaction=bool(row.isolated_transaction),
        documents=json.loads(row.documents),
        batch_id=row.batch_id,
        failure=row.failure,
    )


def _opt_out_row(o: OptOutRecord) -> dict[str, Any]:
    return {
        "election_id": o.election_id,
        "relationship_id": o.relationship_id,
        "consumer_ref": o.consumer_ref,
        "received_at": _iso(o.received_at),
        "effective_at": _iso(o.effective_at),
        "npi_categories": _json_list(o.npi_categories),
        "recipient_categories": _json_list(o.recipient_categories),
        "revocation_received_at": _iso(o.revocation_received_at),
        "revocation_form": o.revocation_form,
    }


def _opt_out(row: Any) -> OptOutRecord:
    return OptOutRecord(
        election_id=row.election_id,
        relationship_id=row.relationship_id,
        consumer_ref=row.consumer_ref,
        received_at=_dt(row.received_at),
        effective_at=_dt(row.effective_at),
        npi_categories=json.loads(row.npi_categories) if row.npi_categories is not None else None,
        recipient_categories=json.loads(row.recipient_categories) if row.recipient_categories is not None else None,
        revocation_received_at=_dt(row.revocation_received_at),
        revocation_form=row.revocation_form,
    )


def _opening_row(o: DisclosureOpening) -> dict[str, Any]:
    return {
        "relationship_id": o.relationship_id,
        "policy_version": o.policy_version,
        "status": o.status.value,
        "opened_at": _iso(o.opened_at),
        "notice_id": o.notice_id,
        "citation": o.citation,
    }


def _opening(row: Any) -> DisclosureOpening:
    return DisclosureOpening(
        relationship_id=row.relationship_id,
        policy_version=row.policy_version,
        status=OpeningStatus(row.status),
        opened_at=_dt(row.opened_at),
        notice_id=row.notice_id,
        citation=row.citation,
    )


def _insert_new(conn: Any, table: Any, rows: Sequence[dict[str, Any]]) -> int:
    """INSERT … ON CONFLICT DO NOTHING in chunks; returns how many rows were new. Counted from
    RETURNING, because a driver may not report the row count of a multi-row insert."""
    inserted = 0
    first_key = next(iter(table.primary_key.columns))
    for start in range(0, len(rows), db.INSERT_CHUNK):
        stmt = db._insert_ignore_stmt(conn, table, rows[start : start + db.INSERT_CHUNK]).returning(first_key)
        inserted += len(conn.execute(stmt).all())
    return inserted


def _chunks(items: Sequence[Any], size: int = LOOKUP_CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# =============================================================================================
# The store
# =============================================================================================


class PrivacyStore:
    """Data access for the privacy lifecycles. Blocking: call from a worker thread
    (``asyncio.to_thread``) inside activities. Brings the database to the newest migration on first use."""

    def __init__(self, engine: Engine, cipher: ContactCipher) -> None:
        self.engine = engine
        self.cipher = cipher
        db.ensure_tables(engine, TABLES)

    @classmethod
    def open(cls, settings: Settings) -> PrivacyStore:
        """The store in ``settings``' ledger database, sealing contacts under its codec keyring."""
        return cls(db.open_engine(settings.resolved_db_url()), ContactCipher.from_settings(settings))

    def close(self) -> None:
        self.engine.dispose()

    # -- policy versions ----------------------------------------------------------------------

    def put_policy(self, record: PrivacyPolicyRecord) -> str:
        """Register a policy version and its notice text; returns its content sha256.

        Idempotent for the same content. A version id is never reused for other content
        (notices already sent describe it): that raises :class:`ConflictError`."""
        digest = record_sha256(record)
        row = {
            "version_id": record.version_id,
            "jurisdiction": record.policy.jurisdiction,
            "effective_on": record.policy.effective_on.isoformat(),
            "sha256": digest,
            "body": record.model_dump_json(),
        }
        with db.write(self.engine) as conn:
            db.insert_ignore(conn, _POLICIES, [row])
            stored = conn.execute(select(_POLICIES.c.sha256).where(_POLICIES.c.version_id == record.version_id)).scalar_one()
        if stored != digest:
            raise ConflictError(
                f"policy version {record.version_id!r} is registered with other content; "
                "give the changed policy a new version_id"
            )
        return digest

    def get_policy(self, version_id: str) -> PrivacyPolicyRecord:
        with db.read(self.engine) as conn:
            body = conn.execute(select(_POLICIES.c.body).where(_POLICIES.c.version_id == version_id)).scalar_one_or_none()
        if body is None:
            raise NotFoundError(f"no privacy policy version {version_id!r}: register it first (PrivacyStore.put_policy)")
        return PrivacyPolicyRecord.model_validate_json(body)

    # -- consumers ------------------------------------------------------------------------------

    def upsert_consumers(self, consumers: Iterable[PrivacyConsumer], *, chunk: int = db.INSERT_CHUNK) -> int:
        """Store consumers' contact data (sealed) and delivery flags; a consumer already stored
        is replaced (new address, new consent). One transaction per ``chunk``. Returns the count."""
        total = 0
        pending: list[dict[str, Any]] = []

        def flush() -> None:
            if not pending:
                return
            with db.write(self.engine) as conn:
                refs = [p["consumer_ref"] for p in pending]
                conn.execute(_CONSUMERS.delete().where(_CONSUMERS.c.consumer_ref.in_(refs)))
                conn.execute(_CONSUMERS.insert(), pending)
            pending.clear()

        for consumer in consumers:
            contact = json.dumps(
                {
                    "name": consumer.name,
                    "email": consumer.email,
                    "postal_address": consumer.postal_address.model_dump(mode="json") if consumer.postal_address else None,
                },
                separators=(",", ":"),
            ).encode("utf-8")
            key_id, sealed = self.cipher.seal(consumer.consumer_ref, contact)
            if any(p["consumer_ref"] == consumer.consumer_ref for p in pending):
                flush()
            pending.append(
                {
                    "consumer_ref": consumer.consumer_ref,
                    "jurisdiction": consumer.jurisdiction,
                    "has_email": consumer.email is not None,
                    "has_postal_address": consumer.postal_address is not None,
                    "e_delivery_consent": consumer.e_delivery_consent,
                    "transacts_electronically": consumer.transacts_electronically,
                    "key_id": key_id,
                    "contact": sealed,
                }
            )
            total += 1
            if len(pending) >= chunk:
                flush()
        flush()
        return total

    def consumer_flags(self, refs: Sequence[str]) -> dict[str, ConsumerFlags]:
        """Reachability of consumers, without their contact data."""
        found: dict[str, ConsumerFlags] = {}
        cols = [c for c in _CONSUMERS.c if c.name not in ("contact", "key_id")]
        with db.read(self.engine) as conn:
            for part in _chunks(list(refs)):
                for row in conn.execute(select(*cols).where(_CONSUMERS.c.consumer_ref.in_(list(part)))):
                    found[row.consumer_ref] = ConsumerFlags(
                        consumer_ref=row.consumer_ref,
                        jurisdiction=row.jurisdiction,
                        has_email=bool(row.has_email),
                        has_postal_address=bool(row.has_postal_address),
                        e_delivery_consent=bool(row.e_delivery_consent),
                        transacts_electronically=bool(row.transacts_electronically),
                    )
        return found

    def consumer_contacts(self, refs: Sequence[str]) -> dict[str, PrivacyConsumer]:
        """Open the sealed contact data of ``refs``. For the delivery activity only: the result
        is NPI and must not leave the activity."""
        found: dict[str, PrivacyConsumer] = {}
        with db.read(self.engine) as conn:
            for part in _chunks(list(refs)):
                for row in conn.execute(select(_CONSUMERS).where(_CONSUMERS.c.consumer_ref.in_(list(part)))):
                    contact = json.loads(self.cipher.open(row.consumer_ref, row.key_id, row.contact))
                    found[row.consumer_ref] = PrivacyConsumer(
                        consumer_ref=row.consumer_ref,
                        jurisdiction=row.jurisdiction,
                        name=contact["name"],
                        email=contact["email"],
                        postal_address=contact["postal_address"],
                        e_delivery_consent=bool(row.e_delivery_consent),
                        transacts_electronically=bool(row.transacts_electronically),
                    )
        return found

    # -- relationships --------------------------------------------------------------------------

    def register_relationships(self, records: Iterable[RelationshipRecord], *, chunk: int = db.INSERT_CHUNK) -> int:
        """Register relationships (and their members); a relationship already registered is
        left as it is (its workflow owns it from then on). Every consumer must be stored first
        (:meth:`upsert_consumers`), or nothing of the chunk is written. Returns how many were new."""
        inserted = 0
        batch: list[RelationshipRecord] = []

        def flush() -> None:
            nonlocal inserted
            if not batch:
                return
            refs = sorted({ref for r in batch for ref in r.consumer_refs})
            known = set(self.consumer_flags(refs))
            missing = [ref for ref in refs if ref not in known]
            if missing:
                first = next(r.relationship_id for r in batch if any(ref in missing for ref in r.consumer_refs))
                raise NotFoundError(
                    f"relationship {first}: {len(missing)} consumer(s) are not in the privacy store; "
                    "store their contact data first (upsert_consumers)"
                )
            with db.write(self.engine) as conn:
                inserted += _insert_new(conn, _RELATIONSHIPS, [_relationship_row(r) for r in batch])
                db.insert_ignore(
                    conn,
                    _MEMBERS,
                    [{"relationship_id": r.relationship_id, "consumer_ref": ref} for r in batch for ref in r.consumer_refs],
                )
            batch.clear()

        for record in records:
            batch.append(record)
            if len(batch) >= chunk:
                flush()
        flush()
        return inserted

    def get_relationship(self, relationship_id: str) -> RelationshipRecord:
        with db.read(self.engine) as conn:
            row = conn.execute(select(_RELATIONSHIPS).where(_RELATIONSHIPS.c.relationship_id == relationship_id)).first()
        if row is None:
            raise NotFoundError(f"no privacy relationship {relationship_id!r}: register it first")
        return _relationship(row)

    def relationships_page(
        self,
        *,
        after: str | None = None,
        limit: int = PAGE,
        stages: Sequence[RelationshipStage] | None = None,
        policy_version: str | None = None,
        jurisdiction: str | None = None,
    ) -> list[RelationshipRecord]:
        """Up to ``limit`` relationships ordered by id, after ``after`` (keyset paging), optionally
        only in ``stages`` / under ``policy_version`` / in ``jurisdiction``."""
        where = []
        if after is not None:
            where.append(_RELATIONSHIPS.c.relationship_id > after)
        if stages:
            where.append(_RELATIONSHIPS.c.stage.in_([s.value for s in stages]))
        if policy_version is not None:
            where.append(_RELATIONSHIPS.c.policy_version == policy_version)
        if jurisdiction is not None:
            where.append(_RELATIONSHIPS.c.jurisdiction == jurisdiction)
        with db.read(self.engine) as conn:
            rows = conn.execute(
                select(_RELATIONSHIPS).where(*where).order_by(_RELATIONSHIPS.c.relationship_id).limit(limit)
            ).all()
        return [_relationship(r) for r in rows]

    def iter_relationships(self, *, batch: int = PAGE, **filters: Any) -> Iterator[list[RelationshipRecord]]:
        """Every relationship matching ``filters`` (see :meth:`relationships_page`), ``batch`` at a time."""
        after: str | None = None
        while True:
            page = self.relationships_page(after=after, limit=batch, **filters)
            if not page:
                return
            yield page
            after = page[-1].relationship_id

    def relationships_of(self, consumer_ref: str) -> list[str]:
        """The relationships a consumer belongs to (alone or jointly)."""
        with db.read(self.engine) as conn:
            return list(
                conn.execute(
                    select(_MEMBERS.c.relationship_id)
                    .where(_MEMBERS.c.consumer_ref == consumer_ref)
                    .order_by(_MEMBERS.c.relationship_id)
                ).scalars()
            )

    def update_relationships(self, changes: Sequence[RelationshipStatusChange]) -> int:
        """Write stage / end / annual-schedule changes; one transaction. Returns rows changed."""
        changed = 0
        with db.write(self.engine) as conn:
            for c in changes:
                values: dict[str, Any] = {
                    "stage": c.stage.value,
                    "ended_on": _iso(c.ended_on),
                    "end_reason": c.end_reason,
                    "end_citation": c.end_citation,
                    "next_annual_due": _iso(c.next_annual_due),
                    "last_annual_notice_on": _iso(c.last_annual_notice_on),
                }
                if c.policy_version is not None:
                    values["policy_version"] = c.policy_version
                if c.transaction_completed_at is not None:
                    values["transaction_completed_at"] = c.transaction_completed_at.isoformat()
                if c.workflow_id is not None:
                    values["workflow_id"] = c.workflow_id
                result = conn.execute(
                    update(_RELATIONSHIPS).where(_RELATIONSHIPS.c.relationship_id == c.relationship_id).values(**values)
                )
                changed += max(result.rowcount, 0)
        return changed

    def annual_due_page(self, due_by: dt.date, *, after: str | None = None, limit: int = PAGE) -> list[str]:
        """Customers whose next annual notice falls due on or before ``due_by``, by id after
        ``after``: what the scheduled annual-notice sweep signals."""
        where = [
            _RELATIONSHIPS.c.stage == RelationshipStage.CUSTOMER.value,
            _RELATIONSHIPS.c.next_annual_due.is_not(None),
            _RELATIONSHIPS.c.next_annual_due <= due_by.isoformat(),
        ]
        if after is not None:
            where.append(_RELATIONSHIPS.c.relationship_id > after)
        with db.read(self.engine) as conn:
            return list(
                conn.execute(
                    select(_RELATIONSHIPS.c.relationship_id).where(*where).order_by(_RELATIONSHIPS.c.relationship_id).limit(limit)
                ).scalars()
            )

    # -- deliveries ---------------------------------------------------------------------------------

    def claim_deliveries(self, records: Sequence[DeliveryRecord]) -> set[str]:
        """Insert deliveries (normally ``status=pending``) and return the keys this call inserted.

        The claim that keeps a notice from going out twice: of two attempts with the same
        ``delivery_key`` exactly one gets its key back; the other must not send."""
        with db.write(self.engine) as conn:
            return db.insert_ignore_returning(conn, _DELIVERIES, [_delivery_row(r) for r in records], "delivery_key")

    def release_claim(self, delivery_key: str) -> bool:
        """Drop a claim whose notice was not handed to any channel (the channel was unavailable),
        so that a retry claims and sends it. A delivery with an outcome is never dropped."""
        with db.write(self.engine) as conn:
            result = conn.execute(
                _DELIVERIES.delete().where(
                    _DELIVERIES.c.delivery_key == delivery_key, _DELIVERIES.c.status == DeliveryStatus.PENDING.value
                )
            )
        return result.rowcount > 0

    def record_deliveries(self, records: Sequence[DeliveryRecord]) -> int:
        """Insert deliveries made elsewhere (e.g. presented in a transaction); existing keys are kept."""
        with db.write(self.engine) as conn:
            return _insert_new(conn, _DELIVERIES, [_delivery_row(r) for r in records])

    def finish_deliveries(self, records: Sequence[DeliveryRecord]) -> None:
        """Write the outcome (status, channel, documents, batch, failure) of claimed deliveries."""
        with db.write(self.engine) as conn:
            for r in records:
                row = _delivery_row(r)
                key = row.pop("delivery_key")
                conn.execute(update(_DELIVERIES).where(_DELIVERIES.c.delivery_key == key).values(**row))

    def mark_delivery(self, delivery_key: str, status: DeliveryStatus, at: dt.datetime) -> DeliveryRecord:
        """Record that a sent notice was returned as undeliverable, or acknowledged."""
        values: dict[str, Any] = {"status": status.value}
        if status is DeliveryStatus.RETURNED:
            values["returned_at"] = at.isoformat()
        elif status is DeliveryStatus.ACKNOWLEDGED:
            values["acknowledged_at"] = at.isoformat()
        else:
            raise PrivacyStoreError(f"status: a delivery is marked returned or acknowledged, not {status.value}")
        with db.write(self.engine) as conn:
            result = conn.execute(update(_DELIVERIES).where(_DELIVERIES.c.delivery_key == delivery_key).values(**values))
            if result.rowcount == 0:
                raise NotFoundError(f"no notice delivery {delivery_key!r}")
            row = conn.execute(select(_DELIVERIES).where(_DELIVERIES.c.delivery_key == delivery_key)).one()
        return _delivery(row)

    def get_delivery(self, delivery_key: str) -> DeliveryRecord | None:
        with db.read(self.engine) as conn:
            row = conn.execute(select(_DELIVERIES).where(_DELIVERIES.c.delivery_key == delivery_key)).first()
        return None if row is None else _delivery(row)

    def deliveries_of(self, relationship_id: str) -> list[DeliveryRecord]:
        with db.read(self.engine) as conn:
            rows = conn.execute(
                select(_DELIVERIES).where(_DELIVERIES.c.relationship_id == relationship_id).order_by(_DELIVERIES.c.delivery_key)
            ).all()
        return [_delivery(r) for r in rows]

    def delivery_counts(self, *, kind: NoticeKind | None = None, policy_version: str | None = None) -> DeliveryCountsByStatus:
        """Deliveries by status (and openings), for progress displays."""
        where = []
        if kind is not None:
            where.append(_DELIVERIES.c.kind == kind.value)
        if policy_version is not None:
            where.append(_DELIVERIES.c.policy_version == policy_version)
        with db.read(self.engine) as conn:
            by_status = {
                r[0]: int(r[1])
                for r in conn.execute(select(_DELIVERIES.c.status, func.count()).where(*where).group_by(_DELIVERIES.c.status))
            }
            opt_where = [_OPT_OUTS.c.revocation_received_at.is_(None)]
            opted_out = conn.execute(select(func.count(func.distinct(_OPT_OUTS.c.relationship_id))).where(*opt_where)).scalar_one()
            open_where = [] if policy_version is None else [_OPENINGS.c.policy_version == policy_version]
            openings = {
                r[0]: int(r[1])
                for r in conn.execute(select(_OPENINGS.c.status, func.count()).where(*open_where).group_by(_OPENINGS.c.status))
            }
        return DeliveryCountsByStatus(
            by_status=by_status,
            opted_out=int(opted_out),
            opened=openings.get(OpeningStatus.OPENED.value, 0),
            held_by_opt_out=openings.get(OpeningStatus.HELD_BY_OPT_OUT.value, 0),
        )

    # -- opt outs -------------------------------------------------------------------------------

    def record_opt_outs(self, records: Sequence[OptOutRecord]) -> int:
        """Store opt-out elections; an election id already stored is kept as it was."""
        with db.write(self.engine) as conn:
            return _insert_new(conn, _OPT_OUTS, [_opt_out_row(r) for r in records])

    def record_revocation(self, election_id: str, received_at: dt.datetime, form: str) -> OptOutRecord:
        """Record the revocation of an opt-out (the first one received counts)."""
        with db.write(self.engine) as conn:
            row = conn.execute(select(_OPT_OUTS).where(_OPT_OUTS.c.election_id == election_id)).first()
            if row is None:
                raise NotFoundError(f"no opt-out election {election_id!r}")
            if row.revocation_received_at is None:
                conn.execute(
                    update(_OPT_OUTS)
                    .where(_OPT_OUTS.c.election_id == election_id)
                    .values(revocation_received_at=received_at.isoformat(), revocation_form=form)
                )
            row = conn.execute(select(_OPT_OUTS).where(_OPT_OUTS.c.election_id == election_id)).one()
        return _opt_out(row)

    def opt_outs_of(self, relationship_id: str) -> list[OptOutRecord]:
        with db.read(self.engine) as conn:
            rows = conn.execute(
                select(_OPT_OUTS).where(_OPT_OUTS.c.relationship_id == relationship_id).order_by(_OPT_OUTS.c.received_at)
            ).all()
        return [_opt_out(r) for r in rows]

    def opted_out(self, relationship_ids: Sequence[str]) -> set[str]:
        """Of ``relationship_ids``, those with an opt-out not revoked (bulk check for the fan-out)."""
        found: set[str] = set()
        with db.read(self.engine) as conn:
            for part in _chunks(list(relationship_ids)):
                found.update(
                    conn.execute(
                        select(_OPT_OUTS.c.relationship_id).where(
                            _OPT_OUTS.c.relationship_id.in_(list(part)),
                            _OPT_OUTS.c.revocation_received_at.is_(None),
                        )
                    ).scalars()
                )
        return found

    # -- disclosure openings -------------------------------------------------------------------

    def record_openings(self, openings: Sequence[DisclosureOpening]) -> int:
        """Record that the reasonable opportunity for a policy version has passed for each
        relationship; an opening already recorded for (relationship, version) is kept."""
        with db.write(self.engine) as conn:
            return _insert_new(conn, _OPENINGS, [_opening_row(o) for o in openings])

    def openings_of(self, relationship_id: str) -> list[DisclosureOpening]:
        with db.read(self.engine) as conn:
            rows = conn.execute(
                select(_OPENINGS).where(_OPENINGS.c.relationship_id == relationship_id).order_by(_OPENINGS.c.policy_version)
            ).all()
        return [_opening(r) for r in rows]

    # -- rendered documents ------------------------------------------------------------------------

    def document_set(self, policy_version: str, kind: str, variant: str) -> list[dict[str, Any]] | None:
        with db.read(self.engine) as conn:
            body = conn.execute(
                select(_DOCUMENTS.c.documents).where(
                    _DOCUMENTS.c.policy_version == policy_version, _DOCUMENTS.c.kind == kind, _DOCUMENTS.c.variant == variant
                )
            ).scalar_one_or_none()
        return None if body is None else json.loads(body)

    def put_document_set(self, policy_version: str, kind: str, variant: str, documents: list[dict[str, Any]]) -> None:
        with db.write(self.engine) as conn:
            db.insert_ignore(
                conn,
                _DOCUMENTS,
                [{"policy_version": policy_version, "kind": kind, "variant": variant, "documents": json.dumps(documents)}],
            )

    # -- the disclosure gate ---------------------------------------------------------------------

    def disclosure_request(self, relationship_id: str, question: GateQuestion, as_of: dt.datetime) -> DisclosureRequest:
        """The gate's question as ``rules.disclosure.decide_disclosure`` takes it, from the store:
        the relationship's facts, every policy version its notices describe, the deliveries that
        can give notice (a notice returned as undeliverable gave none, § 22.13(a)), its opt outs."""
        rel = self.get_relationship(relationship_id)
        if question.consumer_ref is not None and question.consumer_ref not in rel.consumer_refs:
            raise PrivacyStoreError(f"consumer_ref: not a consumer of relationship {relationship_id}")
        deliveries = [d for d in self.deliveries_of(relationship_id) if d.status.gives_notice]
        versions = {rel.policy_version, *(d.policy_version for d in deliveries if d.policy_version)}
        policies = [self.get_policy(v).policy for v in sorted(versions)]
        opt_outs = self.opt_outs_of(relationship_id)
        revocations = [r for r in (o.as_revocation() for o in opt_outs) if r is not None]
        facts = ConsumerRelationship(
            consumer_ref=relationship_id,
            is_customer=rel.is_customer,
            established_at=rel.established_at,
            isolated_transaction=rel.isolated_transaction,
            transaction_completed_at=rel.transaction_completed_at,
            no_longer_policyholder_on=rel.ended_on if rel.stage is RelationshipStage.FORMER_CUSTOMER else None,
        )
        return DisclosureRequest(
            request_id=question.request_id,
            as_of=as_of,
            jurisdiction=rel.jurisdiction,
            relationship=facts,
            information_type=question.information_type,
            npi_category=question.npi_category,
            recipient=question.recipient,
            purpose=question.purpose,
            exception_claimed=question.exception_claimed,
            contract_limits_use=question.contract_limits_use,
            account_number=question.account_number,
            policy_in_force=rel.policy_version,
            policy_versions=policies,
            notices=[d.as_notice_delivery() for d in deliveries],
            opt_outs=[o.as_election() for o in opt_outs],
            opt_out_revocations=revocations,
        )
