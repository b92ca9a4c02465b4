"""The privacy store: consumers, relationships, notice deliveries, opt outs and disclosure openings
of the privacy-notice lifecycles (28 TAC ch. 22), in tables of the ledger's database
(``activities/privacy_tables.py``; schema in ``docs/privacy.md``).

Who may read what
-----------------
* Contact data (name, e-mail, postal address) is the one piece of NPI kept here. It is sealed
  before it is first written, by the contact store both lifecycles share
  (``activities/contact_store.py``), under the consumer's own data key (scope
  ``consumer:<consumer_ref>``: contact data is held per consumer, whatever joint relationships they
  share, so one person's data can be destroyed without anyone else's) and bound to the row
  (``privacy_consumers|<consumer_ref>|contact``), so a sealed contact cannot be moved to another
  consumer. It is opened only by :meth:`PrivacyStore.consumer_contacts`, which the delivery
  activity alone calls.
* Everything else names consumers by ``consumer_ref`` (``npi_digest`` of the licensee's id) and
  relationships by an opaque ``relationship_id``: safe to hand to workflows and the ledger.

Scale
-----
The revised-notice fan-out drives a million relationships through these tables, so every write
takes a batch (rows go in ``db.INSERT_CHUNK`` at a time, one transaction per call) and every
listing is keyset-paged by id (``after`` = the last id of the previous page; never OFFSET).
Writes are idempotent: the same batch again changes nothing (``INSERT … ON CONFLICT DO NOTHING``),
so an activity retried after a crash can simply run again.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from sqlalchemy import Engine, func, select, update

from activities import db
from activities.contact_store import ContactStore, contact_json
from activities.privacy_tables import (
    _CONSUMERS,
    _DELIVERIES,
    _DOCUMENTS,
    _MEMBERS,
    _OPENINGS,
    _OPT_OUTS,
    _POLICIES,
    _RELATIONSHIPS,
    TABLES,
    ConsumerRow,
    DeliveryRow,
    DocumentSetRow,
    OpeningRow,
    OptOutRow,
    PolicyVersionRow,
    RelationshipMemberRow,
    RelationshipRow,
    _chunks,
    _delivery,
    _delivery_row,
    _insert_new,
    _iso,
    _opening,
    _opening_row,
    _opt_out,
    _opt_out_row,
    _relationship,
    _relationship_row,
    record_sha256,
)
from models.privacy import ConsumerRelationship, DisclosureRequest, NoticeKind
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
from config.settings import Settings

#: Default page size of the keyset-paged listings.
PAGE = 1000
#: The scope of a consumer's data key.
CONSUMER_SCOPE = "consumer:"


class PrivacyStoreError(ValueError):
    """The store cannot do what was asked; the message says why and what to do."""


class NotFoundError(PrivacyStoreError):
    pass


class ConflictError(PrivacyStoreError):
    """The same id was written before with different content."""


def contact_binding(consumer_ref: str) -> str:
    """What a consumer's sealed contact is bound to (associated data): its table, consumer, field."""
    return f"privacy_consumers|{consumer_ref}|contact"


# =============================================================================================
# The store
# =============================================================================================


class PrivacyStore:
    """Data access for the privacy lifecycles. Blocking: call from a worker thread
    (``asyncio.to_thread``) inside activities. Brings the database to the newest migration on first use."""

    def __init__(self, engine: Engine, contacts: ContactStore) -> None:
        self.engine = engine
        self.contacts = contacts
        db.ensure_tables(engine, TABLES)

    @classmethod
    def open(cls, settings: Settings) -> PrivacyStore:
        """The store in ``settings``' ledger database, sealing contacts under its contact KEK."""
        engine = db.open_engine(settings.resolved_db_url())
        return cls(engine, ContactStore.for_settings(engine, settings))

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

    def sealed_consumer_rows(self, consumers: Sequence[PrivacyConsumer]) -> list[dict[str, Any]]:
        """``privacy_consumers`` rows of ``consumers``, each contact sealed under the consumer's data
        key (created on first use) before it goes anywhere near the database."""
        keys = self.contacts.data_keys([f"{CONSUMER_SCOPE}{c.consumer_ref}" for c in consumers])
        rows = []
        for consumer in consumers:
            key = keys[f"{CONSUMER_SCOPE}{consumer.consumer_ref}"]
            contact = contact_json(consumer.model_dump(mode="json", include={"name", "email", "postal_address"}))
            rows.append(
                {
                    "consumer_ref": consumer.consumer_ref,
                    "jurisdiction": consumer.jurisdiction,
                    "has_email": consumer.email is not None,
                    "has_postal_address": consumer.postal_address is not None,
                    "e_delivery_consent": consumer.e_delivery_consent,
                    "transacts_electronically": consumer.transacts_electronically,
                    "data_key_id": key.key_id,
                    "contact": key.seal(contact_binding(consumer.consumer_ref), contact),
                }
            )
        return rows

    def upsert_consumers(self, consumers: Iterable[PrivacyConsumer], *, chunk: int = db.INSERT_CHUNK) -> int:
        """Store consumers' contact data (sealed) and delivery flags; a consumer already stored
        is replaced (new address, new consent). One transaction per ``chunk``. Returns the count."""
        total = 0
        pending: list[PrivacyConsumer] = []
        refs: set[str] = set()

        def flush() -> None:
            if not pending:
                return
            rows = self.sealed_consumer_rows(pending)
            with db.write(self.engine) as conn:
                self.contacts.pin(conn, [r["data_key_id"] for r in rows])
                conn.execute(_CONSUMERS.delete().where(_CONSUMERS.c.consumer_ref.in_([r["consumer_ref"] for r in rows])))
                conn.execute(_CONSUMERS.insert(), rows)
            pending.clear()
            refs.clear()

        for consumer in consumers:
            if consumer.consumer_ref in refs:  # the same consumer again in one chunk: the later one wins
                flush()
            pending.append(consumer)
            refs.add(consumer.consumer_ref)
            total += 1
            if len(pending) >= chunk:
                flush()
        flush()
        return total

    def consumer_flags(self, refs: Sequence[str]) -> dict[str, ConsumerFlags]:
        """Reachability of consumers, without their contact data."""
        found: dict[str, ConsumerFlags] = {}
        cols = [c for c in _CONSUMERS.c if c.name not in ("contact", "data_key_id")]
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
        is NPI and must not leave the activity. A consumer whose data key was destroyed raises
        :class:`~activities.contact_store.DataKeyDestroyedError`."""
        found: dict[str, PrivacyConsumer] = {}
        with db.read(self.engine) as conn:
            rows = [
                row
                for part in _chunks(list(refs))
                for row in conn.execute(select(_CONSUMERS).where(_CONSUMERS.c.consumer_ref.in_(list(part))))
            ]
        keys = self.contacts.keys_for({r.data_key_id for r in rows})
        for row in rows:
            contact = json.loads(keys[row.data_key_id].open(contact_binding(row.consumer_ref), row.contact))
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
        """Store opt-out elections; an election already stored for its relationship is kept as it was."""
        with db.write(self.engine) as conn:
            return _insert_new(conn, _OPT_OUTS, [_opt_out_row(r) for r in records])

    def record_revocation(
        self, election_id: str, received_at: dt.datetime, form: str, *, relationship_id: str | None = None
    ) -> OptOutRecord:
        """Record the revocation of a relationship's opt-out (the first one received counts).

        An election id is unique within its relationship only, so the relationship is named; without
        it (an activity scheduled before it was carried) the election id must name one election."""
        where = [_OPT_OUTS.c.election_id == election_id]
        if relationship_id is not None:
            where.append(_OPT_OUTS.c.relationship_id == relationship_id)
        with db.write(self.engine) as conn:
            rows = conn.execute(select(_OPT_OUTS).where(*where)).all()
            if not rows:
                raise NotFoundError(f"no opt-out election {election_id!r}")
            if len(rows) > 1:
                raise PrivacyStoreError(
                    f"opt-out election {election_id!r} is held by {len(rows)} relationships: name the relationship"
                )
            if rows[0].revocation_received_at is None:
                conn.execute(
                    update(_OPT_OUTS)
                    .where(*where)
                    .values(revocation_received_at=received_at.isoformat(), revocation_form=form)
                )
            row = conn.execute(select(_OPT_OUTS).where(*where)).one()
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


__all__ = [
    "CONSUMER_SCOPE",
    "ConflictError",
    "ConsumerRow",
    "DeliveryRow",
    "DocumentSetRow",
    "NotFoundError",
    "OpeningRow",
    "OptOutRow",
    "PolicyVersionRow",
    "PrivacyStore",
    "PrivacyStoreError",
    "RelationshipMemberRow",
    "RelationshipRow",
    "_delivery_row",
    "contact_binding",
    "record_sha256",
]
