"""The sealed document store (``activities/sealed_documents.py``): privileged texts — counsel's
notes, privileged findings, the (J) internal review — sealed with AES-256-GCM; the ledger keeps
only their digest and a privilege marker.

Revision ID: 0003
Revises: 0002
Created: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sealed_documents",
        sa.Column("document_id", sa.String(), nullable=False),
        sa.Column("incident_id", sa.String(), nullable=False),
        sa.Column("step", sa.String(), nullable=False),
        sa.Column("basis", sa.String(), nullable=False),
        sa.Column("digest", sa.String(), nullable=False),
        sa.Column("key_id", sa.String(), nullable=False),
        sa.Column("sealed", sa.String(), nullable=False),
        sa.Column("sealed_at", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("document_id"),
    )
    op.create_index("ix_sealed_documents_incident", "sealed_documents", ["incident_id", "document_id"])


def downgrade() -> None:
    op.drop_index("ix_sealed_documents_incident", table_name="sealed_documents")
    op.drop_table("sealed_documents")
