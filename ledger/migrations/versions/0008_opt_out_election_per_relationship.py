"""An opt-out election is unique within its relationship, not across all of them.

``privacy_opt_outs`` was keyed by ``election_id`` alone, so a second relationship recording an
election with an id the first already used ("OPT-1") was silently not stored — the store-based
gate and the revised-notice fan-out then did not honour that consumer's opt-out — and a revocation
of one relationship's election could revoke another's. The key becomes
(``election_id``, ``relationship_id``); every row is kept.

On SQLite the table is rebuilt (it cannot change a primary key in place); on PostgreSQL the
constraint is replaced. The downgrade refuses while two relationships share an election id.

Revision ID: 0008
Revises: 0007
Created: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_COLUMNS = (
    "election_id",
    "relationship_id",
    "consumer_ref",
    "received_at",
    "effective_at",
    "npi_categories",
    "recipient_categories",
    "revocation_received_at",
    "revocation_form",
)
_NULLABLE = {"npi_categories", "recipient_categories", "revocation_received_at", "revocation_form"}
_INDEX = "ix_privacy_opt_outs_relationship"


def _rebuild_sqlite(key: tuple[str, ...]) -> None:
    op.create_table(
        "privacy_opt_outs_0008",
        *(sa.Column(name, sa.String(), nullable=name in _NULLABLE) for name in _COLUMNS),
        sa.PrimaryKeyConstraint(*key),
    )
    columns = ", ".join(_COLUMNS)
    op.execute(f"INSERT INTO privacy_opt_outs_0008 ({columns}) SELECT {columns} FROM privacy_opt_outs")
    op.drop_index(_INDEX, table_name="privacy_opt_outs")
    op.drop_table("privacy_opt_outs")
    op.rename_table("privacy_opt_outs_0008", "privacy_opt_outs")
    op.create_index(_INDEX, "privacy_opt_outs", ["relationship_id", "election_id"])


def _set_key(key: tuple[str, ...]) -> None:
    if op.get_bind().dialect.name == "sqlite":
        _rebuild_sqlite(key)
        return
    op.drop_constraint("privacy_opt_outs_pkey", "privacy_opt_outs", type_="primary")
    op.create_primary_key("privacy_opt_outs_pkey", "privacy_opt_outs", list(key))


def upgrade() -> None:
    _set_key(("election_id", "relationship_id"))


def downgrade() -> None:
    shared = op.get_bind().execute(
        sa.text("SELECT election_id FROM privacy_opt_outs GROUP BY election_id HAVING COUNT(*) > 1")
    ).scalars().all()
    if shared:
        from ledger.migrate import SchemaError

        raise SchemaError(
            f"cannot key privacy_opt_outs by election_id alone: {len(shared)} election id(s) are held by several "
            "relationships"
        )
    _set_key(("election_id",))
