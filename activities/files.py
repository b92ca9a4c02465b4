"""Writing files so that a reader never sees half of one, and a retry never leaves two.

Every file noticeflow hands to someone — a rendered notice, a print batch, a posting — is
written to a temporary name in the same directory, flushed to disk, then renamed into place.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import uuid
from pathlib import Path

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def write_atomically(path: Path, data: bytes, *, mode: int = 0o644, replace: bool = True) -> bool:
    """Write ``data`` to ``path``. With ``replace=False`` an existing file is left alone and
    ``False`` is returned (the content-addressed store: same name, same bytes)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if not replace and path.exists():
        return False
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        if replace:
            os.replace(tmp, path)
        else:
            try:
                os.link(tmp, path)
            except FileExistsError:
                return False
        return True
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def replace_directory(staging: Path, final: Path) -> None:
    """Move a fully written ``staging`` directory to ``final``, replacing an earlier one."""
    final.parent.mkdir(parents=True, exist_ok=True)
    old: Path | None = None
    if final.exists():
        old = final.with_name(f".{final.name}.old-{uuid.uuid4().hex[:8]}")
        os.rename(final, old)
    os.rename(staging, final)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def safe_name(text: str) -> str:
    """A file-name-safe rendering of an id (obligation ids contain ':')."""
    return _UNSAFE.sub("_", text).strip("._") or "_"
