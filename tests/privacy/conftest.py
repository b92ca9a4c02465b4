"""Fixtures of the privacy-lifecycle tests: a real SMTP server, a privacy store in a real ledger
database (SQLite, and PostgreSQL where the ``db_url`` fixture asks for it)."""

from __future__ import annotations

from tests.activities.conftest import SmtpServer, smtp_server  # noqa: F401 — the fixture

__all__ = ["SmtpServer", "smtp_server"]
