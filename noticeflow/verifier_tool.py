"""The examiner's external verifier, as this installation ships it.

The verifier is ``tools/verify_bundle.py`` in the source tree: one file that imports only the
standard library and ``cryptography``, so an examiner can read it, hash it and run it without
noticeflow (issue 10 spec H). A byte-identical copy ships inside the package as
``noticeflow/verifier/verify_bundle.py`` (package data), so that ``noticeflow ledger verifier
--out FILE`` works from an installed wheel as well as from a checkout;
``tests/tools/test_verify_bundle.py`` keeps the two identical and checks that the SHA-256 printed
in docs/ledger-format.md ("The external verifier") is this file's.

``noticeflow ledger verifier``           where the verifier is, its SHA-256, how to run it
``noticeflow ledger verifier --print-sha256``   only the SHA-256 (hex), for VERIFY.md and scripts
``noticeflow ledger verifier --out FILE``       write a copy (FILE may be a directory)
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import Annotated

import typer

#: Where the shipped copy lives, relative to this package.
_SHIPPED = Path(__file__).resolve().parent / "verifier" / "verify_bundle.py"
VERIFIER_NAME = "verify_bundle.py"


def verifier_path() -> Path:
    """The external verifier shipped with this installation (identical to tools/verify_bundle.py)."""
    if not _SHIPPED.is_file():
        raise FileNotFoundError(f"{_SHIPPED}: the external verifier is missing from this installation")
    return _SHIPPED


def verifier_sha256() -> str:
    """Lowercase hex SHA-256 of the verifier's exact bytes — what VERIFY.md and the docs print."""
    return hashlib.sha256(verifier_path().read_bytes()).hexdigest()


def write_verifier(out: Path) -> Path:
    """Write a copy of the verifier to ``out`` (a file, or a directory to put verify_bundle.py in),
    atomically; returns the file written."""
    target = out / VERIFIER_NAME if out.is_dir() else out
    if not target.parent.is_dir():
        raise FileNotFoundError(f"{target.parent}: no such directory")
    data = verifier_path().read_bytes()
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o755)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def verifier_command(
    print_sha256: Annotated[
        bool, typer.Option("--print-sha256", help="Print only the verifier's SHA-256 (hex).")
    ] = False,
    out: Annotated[
        Path | None, typer.Option("--out", help="Write a copy of the verifier here (a file or a directory).")
    ] = None,
) -> None:
    """The single-file verifier an examiner runs outside the bundle, and its SHA-256."""
    try:
        digest = verifier_sha256()
        written = write_verifier(out) if out is not None else None
    except OSError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    if print_sha256:
        typer.echo(digest)
        return
    if written is not None:
        typer.echo(f"wrote {written}")
    else:
        typer.echo(f"verifier: {verifier_path()}")
    typer.echo(f"sha256:   {digest}")
    typer.echo(
        f"run:      python3 {VERIFIER_NAME} BUNDLE [--trusted-keys STATEMENT] [--known-checkpoint FILE]... "
        "(needs Python 3.11+ and the cryptography package)"
    )
