"""Baseline: the schema that ``SQLModel.metadata.create_all`` made before migrations (commit 78af2f9).

The ledger (``ledger/store.py``), the notice rosters (``activities/roster.py``), delivery tracking
(``activities/tracking.py``) and the privacy lifecycles (``activities/privacy_store.py``), with
the same column types, nullability, keys, unique constraint and index names as ``create_all``
gave them on SQLite and on PostgreSQL — so a database made by that code is adopted (stamped at
this revision) without a change, and an empty one gets exactly the same tables.

The definitions are frozen here on purpose: later changes to the table classes come with a new
migration and never alter what this one creates.

Revision ID: 0001
Revises:
Created: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.schema import CreateIndex, CreateTable

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _str(name: str, *, nullable: bool = False, **kwargs: object) -> sa.Column:
    return sa.Column(name, sa.String(), nullable=nullable, **kwargs)  # type: ignore[arg-type]


def _int(name: str, *, nullable: bool = False, **kwargs: object) -> sa.Column:
    return sa.Column(name, sa.Integer(), nullable=nullable, **kwargs)  # type: ignore[arg-type]


def _bool(name: str) -> sa.Column:
    return sa.Column(name, sa.Boolean(), nullable=False)


def baseline_metadata() -> sa.MetaData:
    """The baseline's tables, frozen (``ledger.migrate.baseline_metadata`` reads them from here to
    check a pre-migration database before adopting it)."""
    md = sa.MetaData()

    # -- the audit ledger (ledger/store.py) ----------------------------------------------------
    sa.Table(
        "ledger_entries", md,
        _int("seq", primary_key=True, autoincrement=False),
        _str("ts"),
        _str("stream", index=True),
        _str("type"),
        _str("step", unique=True),
        _str("workflow_id", nullable=True, index=True),
        _str("run_id", nullable=True),
        _str("jurisdiction", nullable=True, index=True),
        _str("citation", nullable=True),
        _str("actor"),
        _str("data"),
        _str("prev_hash"),
        _str("key_id"),
        _str("hash"),
        _str("sig"),
    )
    sa.Table(
        "ledger_tip", md,
        _int("id", primary_key=True, autoincrement=False),
        _int("size"),
        _str("last_hash"),
        _str("last_ts"),
    )
    sa.Table(
        "ledger_tree_heads", md,
        _int("id", primary_key=True),  # SERIAL on PostgreSQL, as create_all made it
        _int("tree_size", index=True),
        _str("root_hash"),
        _str("timestamp"),
        _str("key_id"),
        _str("sig"),
    )

    # -- consumer rosters (activities/roster.py) -----------------------------------------------
    sa.Table(
        "notice_rosters", md,
        _str("roster_id", primary_key=True),
        _int("generation"),
        _int("next_generation"),
        _int("total"),
        _str("content_sha256"),
        _str("summary"),
    )
    sa.Table(
        "notice_roster_contacts", md,
        _str("roster_id", primary_key=True),
        _int("generation", primary_key=True),
        _str("consumer_ref", primary_key=True),
        _str("state"),
        _str("name"),
        _str("email", nullable=True),
        _str("postal_address", nullable=True),
        _bool("electronic_consent"),
        _str("producer_of_record", nullable=True),
        sa.Index("ix_notice_roster_contacts_state", "roster_id", "generation", "state", "consumer_ref"),
    )

    # -- delivery tracking (activities/tracking.py) --------------------------------------------
    sa.Table(
        "notice_deliveries", md,
        _str("obligation_id", primary_key=True),
        _str("recipient_ref", primary_key=True),
        _str("channel", primary_key=True),
        _int("round"),
        _int("batch_no"),
        _str("status"),
        _str("failure_kind", nullable=True),
        _str("reason", nullable=True),
        _str("document_sha256", nullable=True),
        _str("location", nullable=True),
        _str("updated_at"),
    )
    sa.Table(
        "notice_delivery_batches", md,
        _str("obligation_id", primary_key=True),
        _int("round", primary_key=True),
        _int("batch_no", primary_key=True),
        _str("last_ref"),
        _int("recipients"),
        _str("updated_at"),
    )
    sa.Table(
        "regulator_submissions", md,
        _str("submission_id", primary_key=True),
        _str("obligation_id", index=True),
        _str("receipt"),
    )

    # -- privacy lifecycles (activities/privacy_store.py) --------------------------------------
    sa.Table(
        "privacy_policy_versions", md,
        _str("version_id", primary_key=True),
        _str("jurisdiction"),
        _str("effective_on"),
        _str("sha256"),
        _str("body"),
    )
    sa.Table(
        "privacy_consumers", md,
        _str("consumer_ref", primary_key=True),
        _str("jurisdiction"),
        _bool("has_email"),
        _bool("has_postal_address"),
        _bool("e_delivery_consent"),
        _bool("transacts_electronically"),
        _str("key_id"),
        _str("contact"),
    )
    sa.Table(
        "privacy_relationships", md,
        _str("relationship_id", primary_key=True),
        _str("jurisdiction"),
        _str("consumer_refs"),
        _bool("is_customer"),
        _bool("isolated_transaction"),
        _str("established_at", nullable=True),
        _str("transaction_completed_at", nullable=True),
        _str("policy_version"),
        _str("stage"),
        _str("ended_on", nullable=True),
        _str("end_reason", nullable=True),
        _str("end_citation", nullable=True),
        _str("next_annual_due", nullable=True),
        _str("last_annual_notice_on", nullable=True),
        _str("workflow_id", nullable=True),
        sa.Index("ix_privacy_relationships_annual", "stage", "next_annual_due", "relationship_id"),
        sa.Index("ix_privacy_relationships_policy", "policy_version", "relationship_id"),
    )
    sa.Table(
        "privacy_relationship_members", md,
        _str("relationship_id", primary_key=True),
        _str("consumer_ref", primary_key=True),
        sa.Index("ix_privacy_relationship_members_consumer", "consumer_ref", "relationship_id"),
    )
    sa.Table(
        "privacy_notice_deliveries", md,
        _str("delivery_key", primary_key=True),
        _str("relationship_id"),
        _str("notice_id"),
        _str("kind"),
        _str("policy_version", nullable=True),
        _bool("includes_opt_out_notice"),
        _str("channel"),
        _str("status"),
        _str("delivered_at"),
        _str("acknowledged_at", nullable=True),
        _str("returned_at", nullable=True),
        _bool("consumer_agreed_electronic"),
        _bool("isolated_transaction"),
        _str("documents"),
        _str("batch_id", nullable=True),
        _str("failure", nullable=True),
        sa.Index("ix_privacy_notice_deliveries_relationship", "relationship_id", "delivery_key"),
        sa.Index("ix_privacy_notice_deliveries_kind", "kind", "policy_version", "status"),
    )
    sa.Table(
        "privacy_opt_outs", md,
        _str("election_id", primary_key=True),
        _str("relationship_id"),
        _str("consumer_ref"),
        _str("received_at"),
        _str("effective_at"),
        _str("npi_categories", nullable=True),
        _str("recipient_categories", nullable=True),
        _str("revocation_received_at", nullable=True),
        _str("revocation_form", nullable=True),
        sa.Index("ix_privacy_opt_outs_relationship", "relationship_id", "election_id"),
    )
    sa.Table(
        "privacy_disclosure_openings", md,
        _str("relationship_id", primary_key=True),
        _str("policy_version", primary_key=True),
        _str("status"),
        _str("opened_at"),
        _str("notice_id"),
        _str("citation"),
        sa.Index("ix_privacy_disclosure_openings_version", "policy_version", "status", "relationship_id"),
    )
    sa.Table(
        "privacy_documents", md,
        _str("policy_version", primary_key=True),
        _str("kind", primary_key=True),
        _str("variant", primary_key=True),
        _str("documents"),
    )
    return md


def upgrade() -> None:
    # The same CREATE statements create_all issued (it compiles these very constructs), so an
    # adopted database and a migrated one cannot differ; plain DDL also renders in --sql mode.
    for table in baseline_metadata().sorted_tables:
        op.execute(CreateTable(table))
        for index in sorted(table.indexes, key=lambda i: str(i.name)):
            op.execute(CreateIndex(index))


def downgrade() -> None:
    from ledger.migrate import SchemaError

    raise SchemaError(
        "the baseline is not reversible: undoing it would drop the signed audit ledger, "
        "which is a record that must be kept"
    )
