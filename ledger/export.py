"""Examination bundles — the names callers have always imported from here.

Writing lives in ``ledger/bundle.py``, verifying in ``ledger/bundle_verify.py``, what both share in
``ledger/bundle_files.py`` (docs/ledger-format.md §8).
"""

from __future__ import annotations

from ledger.bundle import DEFAULT_ORIGIN, REPORT_ROW_LIMIT, ExportResult, export_bundle
from ledger.bundle_files import (
    BUNDLE_FORMAT,
    BUNDLE_FORMAT_1,
    PRIVILEGE_LOG_FORMAT,
    privilege_log_entry,
)
from ledger.bundle_verify import (
    BundleReport,
    load_key_statement,
    load_tree_head,
    verify_bundle,
)

__all__ = [
    "BUNDLE_FORMAT",
    "BUNDLE_FORMAT_1",
    "DEFAULT_ORIGIN",
    "PRIVILEGE_LOG_FORMAT",
    "REPORT_ROW_LIMIT",
    "BundleReport",
    "ExportResult",
    "export_bundle",
    "load_key_statement",
    "load_tree_head",
    "privilege_log_entry",
    "verify_bundle",
]
