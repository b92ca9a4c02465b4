"""The privacy store's tables, and how each row is read back as its model.

The store itself, and who may read what, is ``activities/privacy_store.py``. Schema (see
``docs/privacy.md``)::

    privacy_policy_versions      version_id PK · jurisdiction · effective_on · sha256 · body (JSON)
    privacy_consumers            consumer_ref PK · jurisdiction · has_email · has_postal_address ·
                                 e_delivery_consent · transacts_electronically · data_key_id · contact (sealed)
    privacy_relationships        relationship_id PK · jurisdiction · consumer_refs (JSON) · is_customer ·
                                 isolated_transaction · established_at · transaction_completed_at · policy_version · stage · ended_on ·
                                 end_reason · end_citation · next_annual_due · last_annual_notice_on · workflow_id
    privacy_relationship_members (relationship_id, consumer_ref) PK · index on consumer_ref
    privacy_notice_deliveries    delivery_key PK · relationship_id · notice_id · kind · policy_version ·
                                 includes_opt_out_notice · channel · status · delivered_at · acknowledged_at ·
                                 returned_at · consumer_agreed_electronic · isolated_transaction · documents · batch_id · failure
    privacy_opt_outs             (election_id, relationship_id) PK · consumer_ref · received_at · effective_at ·
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
from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from activities import db
from ledger.canonical import canonical_json
from models.privacy import NoticeKind
from models.privacy_lifecycle import (
    DeliveryRecord,
    DeliveryStatus,
    DisclosureOpening,
    OpeningStatus,
    OptOutRecord,
    PrivacyPolicyRecord,
    RelationshipRecord,
    RelationshipStage,
)

#: Ids per ``IN (…)`` look-up.
LOOKUP_CHUNK = 500


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
    data_key_id: str = Field(description="The consumer's data key (contact_data_keys) that sealed `contact`.")
    contact: str = Field(description="base64(nonce || AES-256-GCM(JSON of name, email, postal_address)).")


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

    #: Unique within its relationship: two relationships may each hold an election "OPT-1".
    election_id: str = Field(primary_key=True)
    relationship_id: str = Field(primary_key=True)
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
