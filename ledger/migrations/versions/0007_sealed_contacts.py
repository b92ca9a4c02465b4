"""Contact data sealed at rest under data keys that can be destroyed (``activities/contact_store.py``).

* New tables ``contact_data_keys`` (each incident's and each privacy consumer's data key, wrapped by
  the contact key-encryption key) and ``contact_legal_holds`` (``activities/contact_retention.py``).
* ``notice_rosters`` gains ``incident_id`` (the event whose data key seals the roster): the prefix
  of an API roster id ``<incident_id>-r<n>``, else the roster id itself.
* ``notice_roster_contacts`` loses its plaintext ``name``, ``email`` and ``postal_address`` and gains
  ``data_key_id`` and ``contact`` (sealed). The data step seals every existing row under its
  incident's data key into a new table, then drops the old one — on SQLite with ``secure_delete``,
  so the freed pages are zeroed; on PostgreSQL the old table's files are unlinked, not left as dead
  tuples. (Copies the database made before this migration — PostgreSQL WAL segments, backups —
  still hold the plaintext until they are recycled or expired: docs/operations.md.)
* ``privacy_consumers``: contacts sealed until now under a key derived from the payload codec's
  keyring (purpose ``noticeflow/privacy-contact/v1``, column ``key_id``) are opened with it and
  sealed again under each consumer's data key (column ``data_key_id``).

The data step needs the contact KEK (``NOTICEFLOW_CONTACT_KEK`` / ``_FILE``, else
``home/contact-kek.key``, created on first use) when there are roster rows, and the codec keyring
as well when there are privacy consumers: both from the settings of the process that upgrades
(the worker, the API, ``noticeflow db upgrade``). A key that cannot be loaded stops the migration,
which then changes nothing.

Revision ID: 0007
Revises: 0006
Created: 2026-12-05
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

#: Rows read, sealed and written per step.
CHUNK = 2000
_API_ROSTER_ID = re.compile(r"^(?P<incident>.+)-r[0-9]+$")
LEGACY_PRIVACY_PURPOSE = "noticeflow/privacy-contact/v1"


def upgrade() -> None:
    bind = op.get_bind()
    sqlite = bind.dialect.name == "sqlite"
    if sqlite:
        # Overwritten and freed content (the plaintext rows, the dropped table's pages) is zeroed.
        op.execute("PRAGMA secure_delete = ON")
    op.create_table(
        "contact_data_keys",
        sa.Column("key_id", sa.String(), nullable=False),
        sa.Column("scope", sa.String(), nullable=False),
        sa.Column("serial", sa.Integer(), nullable=False),
        sa.Column("kek_id", sa.String(), nullable=False),
        sa.Column("wrapped", sa.String(), nullable=True),
        sa.Column("created_at", sa.String(), nullable=False),
        sa.Column("destroyed_at", sa.String(), nullable=True),
        sa.Column("destroyed_under", sa.String(), nullable=True),
        sa.Column("destroyed_reason", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("key_id"),
    )
    op.create_index("ix_contact_data_keys_scope", "contact_data_keys", ["scope", "serial"])
    op.create_table(
        "contact_legal_holds",
        sa.Column("hold_id", sa.String(), nullable=False),
        sa.Column("scope", sa.String(), nullable=False),
        sa.Column("matter", sa.String(), nullable=False),
        sa.Column("set_at", sa.String(), nullable=False),
        sa.Column("set_by", sa.String(), nullable=False),
        sa.Column("lifted_at", sa.String(), nullable=True),
        sa.Column("lifted_by", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("hold_id"),
    )
    op.create_index("ix_contact_legal_holds_scope", "contact_legal_holds", ["scope", "lifted_at"])

    keys = _Keys(bind)
    _rosters(bind)
    _roster_contacts(bind, keys, sqlite=sqlite)
    _privacy_consumers(bind, keys)
    if sqlite:
        op.execute("PRAGMA secure_delete = OFF")


def downgrade() -> None:
    from ledger.migrate import SchemaError

    raise SchemaError("0007 cannot be undone: it would write consumers' contact data back in plaintext")


# -- keys ------------------------------------------------------------------------------------------


class _Keys:
    """The KEK (and, for the privacy consumers, the codec keyring) loaded when first needed, and
    the data keys this migration creates."""

    def __init__(self, bind: Any) -> None:
        self.bind = bind
        self._settings: Any = None
        self._kek: Any = None
        self._data: dict[str, tuple[str, bytes]] = {}

    @property
    def settings(self) -> Any:
        if self._settings is None:
            from config.settings import Settings

            self._settings = Settings()
        return self._settings

    def kek(self) -> Any:
        if self._kek is None:
            from activities.contact_store import load_kek_ring

            self._kek = load_kek_ring(self.settings)
        return self._kek

    def data_key(self, scope: str) -> tuple[str, bytes]:
        """(key id, key) of ``scope``'s first data key, inserted into ``contact_data_keys``."""
        if scope not in self._data:
            from activities.contact_store import KEY_BYTES, data_key_id, wrap_data_key

            kek = self.kek()
            key_id, material = data_key_id(scope, 1), os.urandom(KEY_BYTES)
            self.bind.execute(
                sa.text(
                    "INSERT INTO contact_data_keys (key_id, scope, serial, kek_id, wrapped, created_at) "
                    "VALUES (:key_id, :scope, 1, :kek_id, :wrapped, :created_at)"
                ),
                {
                    "key_id": key_id, "scope": scope, "kek_id": kek.current_id,
                    "wrapped": wrap_data_key(kek.keys[0], key_id, scope, material),
                    "created_at": dt.datetime.now(dt.UTC).isoformat(),
                },
            )
            self._data[scope] = (key_id, material)
        return self._data[scope]


def _incident_of(roster_id: str) -> str:
    match = _API_ROSTER_ID.match(roster_id)
    return match.group("incident") if match else roster_id


# -- the cyber roster ------------------------------------------------------------------------------


def _rosters(bind: Any) -> None:
    with op.batch_alter_table("notice_rosters") as batch:
        batch.add_column(sa.Column("incident_id", sa.String(), nullable=True))
    for (roster_id,) in bind.execute(sa.text("SELECT roster_id FROM notice_rosters")).all():
        bind.execute(
            sa.text("UPDATE notice_rosters SET incident_id = :incident WHERE roster_id = :roster"),
            {"incident": _incident_of(roster_id), "roster": roster_id},
        )
    with op.batch_alter_table("notice_rosters") as batch:
        batch.alter_column("incident_id", existing_type=sa.String(), nullable=False)


def _roster_contacts(bind: Any, keys: _Keys, *, sqlite: bool) -> None:
    from activities.contact_store import contact_json, seal_value

    op.create_table(
        "notice_roster_contacts_sealed",
        sa.Column("roster_id", sa.String(), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("consumer_ref", sa.String(), nullable=False),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("electronic_consent", sa.Boolean(), nullable=False),
        sa.Column("producer_of_record", sa.String(), nullable=True),
        sa.Column("data_key_id", sa.String(), nullable=False),
        sa.Column("contact", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("roster_id", "generation", "consumer_ref", name="notice_roster_contacts_sealed_pkey"),
    )
    incidents = dict(bind.execute(sa.text("SELECT roster_id, incident_id FROM notice_rosters")).all())
    target = sa.table(
        "notice_roster_contacts_sealed",
        *(sa.column(c) for c in ("roster_id", "generation", "consumer_ref", "state", "electronic_consent",
                                 "producer_of_record", "data_key_id", "contact")),
    )
    after: tuple[str, int, str] = ("", -1, "")
    while True:
        rows = bind.execute(
            sa.text(
                "SELECT roster_id, generation, consumer_ref, state, name, email, postal_address, electronic_consent, "
                "producer_of_record FROM notice_roster_contacts "
                "WHERE roster_id > :r OR (roster_id = :r AND (generation > :g OR (generation = :g AND consumer_ref > :c))) "
                "ORDER BY roster_id, generation, consumer_ref LIMIT :n"
            ),
            {"r": after[0], "g": after[1], "c": after[2], "n": CHUNK},
        ).all()
        if not rows:
            break
        sealed = []
        for r in rows:
            incident = incidents.get(r.roster_id) or _incident_of(r.roster_id)
            key_id, material = keys.data_key(f"incident:{incident}")
            fields = {
                "name": r.name,
                "email": r.email,
                "postal_address": json.loads(r.postal_address) if r.postal_address else None,
            }
            binding = f"notice_roster_contacts|{incident}|{r.roster_id}|{r.consumer_ref}|contact"
            sealed.append(
                {
                    "roster_id": r.roster_id, "generation": r.generation, "consumer_ref": r.consumer_ref, "state": r.state,
                    "electronic_consent": bool(r.electronic_consent), "producer_of_record": r.producer_of_record,
                    "data_key_id": key_id, "contact": seal_value(material, key_id, binding, contact_json(fields)),
                }
            )
        bind.execute(target.insert(), sealed)
        last = rows[-1]
        after = (last.roster_id, last.generation, last.consumer_ref)
    op.drop_index("ix_notice_roster_contacts_state", table_name="notice_roster_contacts")
    op.drop_table("notice_roster_contacts")
    op.rename_table("notice_roster_contacts_sealed", "notice_roster_contacts")
    if not sqlite:
        op.execute("ALTER TABLE notice_roster_contacts RENAME CONSTRAINT notice_roster_contacts_sealed_pkey TO notice_roster_contacts_pkey")
    op.create_index(
        "ix_notice_roster_contacts_state", "notice_roster_contacts", ["roster_id", "generation", "state", "consumer_ref"]
    )


# -- the privacy store ---------------------------------------------------------------------------------


def _privacy_consumers(bind: Any, keys: _Keys) -> None:
    from activities.contact_store import seal_value

    with op.batch_alter_table("privacy_consumers") as batch:
        batch.add_column(sa.Column("data_key_id", sa.String(), nullable=True))
    legacy: Any = None
    after = ""
    while True:
        rows = bind.execute(
            sa.text(
                "SELECT consumer_ref, key_id, contact FROM privacy_consumers WHERE consumer_ref > :a "
                "ORDER BY consumer_ref LIMIT :n"
            ),
            {"a": after, "n": CHUNK},
        ).all()
        if not rows:
            break
        if legacy is None:
            from activities.sealing import Sealer
            from noticeflow.codec import load_keyring

            legacy = Sealer(load_keyring(keys.settings), LEGACY_PRIVACY_PURPOSE, what="contact data of a consumer", bound_to="consumer")
        for r in rows:
            plaintext = legacy.open(r.consumer_ref, r.key_id, r.contact)
            key_id, material = keys.data_key(f"consumer:{r.consumer_ref}")
            bind.execute(
                sa.text("UPDATE privacy_consumers SET data_key_id = :k, contact = :c WHERE consumer_ref = :ref"),
                {"k": key_id, "c": seal_value(material, key_id, f"privacy_consumers|{r.consumer_ref}|contact", plaintext),
                 "ref": r.consumer_ref},
            )
        after = rows[-1].consumer_ref
    with op.batch_alter_table("privacy_consumers") as batch:
        batch.drop_column("key_id")
        batch.alter_column("data_key_id", existing_type=sa.String(), nullable=False)
