"""Printing a report to PDF (and taking screenshots) with headless Chromium.

The browser is found at ``$NOTICEFLOW_CHROMIUM``, then Debian's ``/usr/bin/chromium``, then
``chromium``, ``chromium-browser`` or ``google-chrome`` on PATH. Each run gets a fresh, throwaway
profile and no network chatter (the flags below), so it works offline and as root.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

CHROMIUM_ENV = "NOTICEFLOW_CHROMIUM"
_CANDIDATES = ("/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
)


class ReportPrintError(RuntimeError):
    """The report could not be printed; the message says why (the browser missing, failing or slow)."""


class ChromiumNotFound(ReportPrintError):
    """No Chromium to print with: names where it was looked for."""


def find_chromium() -> str | None:
    """The Chromium executable to use, or None."""
    configured = os.environ.get(CHROMIUM_ENV)
    if configured:
        path = shutil.which(configured) or (configured if os.access(configured, os.X_OK) else None)
        return path
    for candidate in _CANDIDATES:
        path = shutil.which(candidate) if not candidate.startswith("/") else (candidate if os.access(candidate, os.X_OK) else None)
        if path:
            return path
    return None


def _browser() -> str:
    browser = find_chromium()
    if browser is None:
        configured = os.environ.get(CHROMIUM_ENV)
        where = f"{CHROMIUM_ENV}={configured!r} is not an executable" if configured else (
            f"none of {', '.join(_CANDIDATES)} was found, and {CHROMIUM_ENV} is not set")
        raise ChromiumNotFound(f"Chromium is needed to print the report: {where}. Install Debian's `chromium` "
                               f"(apt-get install chromium) or set {CHROMIUM_ENV} to the browser's path.")
    return browser


def run_chromium(args: list[str], url: str, *, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run headless Chromium on ``url`` with ``args`` (e.g. ``--print-to-pdf=…``) in a fresh profile."""
    browser = _browser()
    with tempfile.TemporaryDirectory(prefix="noticeflow-chromium-") as profile:
        command = [browser, *_FLAGS, f"--user-data-dir={profile}", *args, url]
        try:
            return subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False,
                                  env={**os.environ, "HOME": profile})
        except subprocess.TimeoutExpired as exc:
            raise ReportPrintError(f"Chromium did not finish within {timeout:.0f} s ({browser})") from exc


def html_to_pdf(html_path: Path, pdf_path: Path, *, timeout: float = 120) -> None:
    """Print ``html_path`` to ``pdf_path`` with the page's own print styles (no header or footer)."""
    html_path, pdf_path = Path(html_path).resolve(), Path(pdf_path).resolve()
    if not html_path.is_file():
        raise ReportPrintError(f"{html_path} does not exist: nothing to print")
    pdf_path.parent.mkdir(parents=True, exist_ok=True)
    partial = pdf_path.with_name(f".{pdf_path.name}.partial")
    partial.unlink(missing_ok=True)
    run = run_chromium(["--no-pdf-header-footer", f"--print-to-pdf={partial}"], html_path.as_uri(), timeout=timeout)
    if run.returncode != 0 or not partial.is_file() or partial.stat().st_size == 0:
        partial.unlink(missing_ok=True)
        tail = "\n".join((run.stderr or "").strip().splitlines()[-5:])
        raise ReportPrintError(f"Chromium did not print {html_path.name} (exit {run.returncode}): {tail or 'no output'}")
    with open(partial, "rb") as fh:
        if fh.read(5) != b"%PDF-":
            partial.unlink(missing_ok=True)
            raise ReportPrintError(f"Chromium wrote something that is not a PDF for {html_path.name}")
    os.replace(partial, pdf_path)


def screenshot(html_path: Path, png_path: Path, *, width: int = 1280, height: int = 2000, timeout: float = 120) -> None:
    """A PNG of the top ``width`` × ``height`` pixels of the page as a screen shows it."""
    html_path, png_path = Path(html_path).resolve(), Path(png_path).resolve()
    png_path.parent.mkdir(parents=True, exist_ok=True)
    run = run_chromium([f"--window-size={width},{height}", f"--screenshot={png_path}"], html_path.as_uri(), timeout=timeout)
    if run.returncode != 0 or not png_path.is_file():
        raise ReportPrintError(f"Chromium took no screenshot of {html_path.name} (exit {run.returncode}): "
                               f"{(run.stderr or '').strip()[-400:]}")
