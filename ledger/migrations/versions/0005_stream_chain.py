"""Entry format 2, the per-stream chain (docs/ledger-format.md §2, §5): ``ledger_entries`` gains
``v`` (the entry format version; 1 for every entry recorded before), ``stream_seq`` and
``stream_prev_hash`` (NULL for format 1 entries), with one row per stream position; the new
``ledger_stream_tips`` holds each stream's size, last hash and last seq, filled here from the
entries already recorded (format 1 entries count: stream positions count every entry).

Revision ID: 0005
Revises: 0004
Created: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("ledger_entries") as batch:
        batch.add_column(sa.Column("v", sa.Integer(), server_default=sa.text("1"), nullable=False))
        batch.add_column(sa.Column("stream_seq", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("stream_prev_hash", sa.String(), nullable=True))
    op.create_index("ux_ledger_entries_stream_seq", "ledger_entries", ["stream", "stream_seq"], unique=True)
    op.create_table(
        "ledger_stream_tips",
        sa.Column("stream", sa.String(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("last_hash", sa.String(), nullable=False),
        sa.Column("last_seq", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("stream"),
    )
    # Each stream's count, and the hash and seq of its last entry.
    op.execute(
        "INSERT INTO ledger_stream_tips (stream, size, last_hash, last_seq) "
        "SELECT e.stream, t.size, e.hash, e.seq FROM ledger_entries e JOIN "
        "(SELECT stream, COUNT(*) AS size, MAX(seq) AS last_seq FROM ledger_entries GROUP BY stream) t "
        "ON e.seq = t.last_seq"
    )


def downgrade() -> None:
    # Format 2 entries cannot be expressed without their fields: undoing this once any exists
    # would break their hashes, which are signed statements.
    bind = op.get_bind()
    if bind.execute(sa.text("SELECT COUNT(*) FROM ledger_entries WHERE v != 1")).scalar_one():
        from ledger.migrate import SchemaError

        raise SchemaError(
            "the ledger holds format 2 entries; their stream_seq and stream_prev_hash are part of "
            "what they sign, so 0005 cannot be undone"
        )
    op.drop_table("ledger_stream_tips")
    op.drop_index("ux_ledger_entries_stream_seq", table_name="ledger_entries")
    with op.batch_alter_table("ledger_entries") as batch:
        batch.drop_column("stream_prev_hash")
        batch.drop_column("stream_seq")
        batch.drop_column("v")
