"""Sent is not received (``activities/tracking.py``): each sent notice keeps the channel's
evidence of sending — ``sent_at`` and ``evidence`` (the relay's queue id, or Message-ID, relay and
reply; a letter's mailing-manifest digest) — and each regulator filing the regulator's
acknowledgement once it comes.

Revision ID: 0004
Revises: 0003
Created: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("notice_deliveries") as batch:
        batch.add_column(sa.Column("sent_at", sa.String(), nullable=True))
        batch.add_column(sa.Column("evidence", sa.String(), nullable=True))
    with op.batch_alter_table("regulator_submissions") as batch:
        batch.add_column(sa.Column("acknowledgement", sa.String(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("regulator_submissions") as batch:
        batch.drop_column("acknowledgement")
    with op.batch_alter_table("notice_deliveries") as batch:
        batch.drop_column("evidence")
        batch.drop_column("sent_at")
