"""The one registry of noticeflow's database schema: every module that declares a table.

All tables are SQLModel classes on the one ``SQLModel.metadata``; importing the modules below
registers them, and ``target_metadata()`` is the full schema the code expects. Alembic compares
it with a database (``env.py``'s ``target_metadata``: autogenerate, and the test that a migrated
database equals the code), so a table declared in a module missing here would escape that check
— a test imports every package module and fails on such a table.

The modules are named, not imported, because they sit in layers above ``ledger/``; nothing on a
run-time path calls ``target_metadata()`` (an upgrade needs only the migration files).
"""

from __future__ import annotations

import importlib

from sqlalchemy import MetaData

#: Every module that declares a table, in the order of the layers.
TABLE_MODULES: tuple[str, ...] = (
    "ledger.store",
    "activities.contact_store",
    "activities.roster",
    "activities.contact_retention",
    "activities.tracking",
    "activities.privacy_tables",
    "activities.privacy_store",
    "activities.sealed_documents",
    "api.idempotency",
    "api.apikeys",
)


def target_metadata() -> MetaData:
    """The full schema of the code: every table of every module in ``TABLE_MODULES``."""
    from sqlmodel import SQLModel

    for name in TABLE_MODULES:
        importlib.import_module(name)
    return SQLModel.metadata
