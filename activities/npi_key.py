"""The secret behind ``consumer_ref``: the HMAC key of ``ledger.npi.npi_digest``.

``NOTICEFLOW_NPI_DIGEST_KEY`` when set, else ``home/npi-digest.key``, created on first use with
mode 0600. The key is the text of either (stripped, UTF-8), so moving the file's content into the
environment variable keeps every digest the same. Changing the key changes every consumer_ref:
rosters stored under the old key no longer match new uploads.
"""

from __future__ import annotations

import secrets
import stat
from pathlib import Path

import structlog

from activities.files import write_atomically
from config.settings import Settings

KEY_FILE_NAME = "npi-digest.key"
log = structlog.get_logger("noticeflow.npi_key")


def npi_key_file(settings: Settings) -> Path:
    return settings.home / KEY_FILE_NAME


def load_npi_digest_key(settings: Settings) -> bytes:
    if settings.npi_digest_key:
        return settings.npi_digest_key.strip().encode("utf-8")
    path = npi_key_file(settings)
    if not path.exists():
        # Worker and API may start together: the first file linked into place wins, the others
        # read it, so no two processes ever digest consumers under different keys.
        if write_atomically(path, (secrets.token_hex(32) + "\n").encode("ascii"), mode=0o600, replace=False):
            log.info("npi_digest_key_created", path=str(path))
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        log.warning("npi_digest_key_file_permissions", path=str(path), mode=oct(mode), expected="0o600")
    key = path.read_text(encoding="utf-8").strip()
    if not key:
        raise ValueError(f"{path} is empty: restore the NPI digest key, or every consumer_ref changes")
    return key.encode("utf-8")
