"""Printing with Chromium (reports/pdf.py): where the browser is looked for, and typed errors that
say what is wrong when it is missing or fails. The browser itself is the external boundary here:
a stand-in executable plays a failing one."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from reports.pdf import (
    CHROMIUM_ENV,
    ChromiumNotFound,
    ReportPrintError,
    find_chromium,
    html_to_pdf,
)
from tests.reports.browser import require_chromium, require_pypdf


def _executable(path: Path, body: str) -> Path:
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def test_configured_browser_path_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = _executable(tmp_path / "my-chromium", "exit 0")
    monkeypatch.setenv(CHROMIUM_ENV, str(fake))
    assert find_chromium() == str(fake)


def test_missing_configured_browser_is_a_typed_error_naming_the_setting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(CHROMIUM_ENV, str(tmp_path / "nowhere" / "chromium"))
    page = tmp_path / "report.html"
    page.write_text("<!doctype html><p>x</p>")
    assert find_chromium() is None
    with pytest.raises(ChromiumNotFound, match=f"{CHROMIUM_ENV}=.*is not an executable.*apt-get install chromium"):
        html_to_pdf(page, tmp_path / "report.pdf")
    assert not (tmp_path / "report.pdf").exists()


def test_a_browser_that_fails_leaves_no_pdf_and_says_why(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = _executable(tmp_path / "broken-chromium", 'echo "cannot open display" >&2; exit 3')
    monkeypatch.setenv(CHROMIUM_ENV, str(fake))
    page = tmp_path / "report.html"
    page.write_text("<!doctype html><p>x</p>")
    with pytest.raises(ReportPrintError, match=r"exit 3\): cannot open display"):
        html_to_pdf(page, tmp_path / "out" / "report.pdf")
    assert not (tmp_path / "out" / "report.pdf").exists()
    assert not any(p.name.endswith(".partial") for p in (tmp_path / "out").iterdir())


def test_a_page_that_does_not_exist_is_refused_before_the_browser_starts(tmp_path: Path) -> None:
    with pytest.raises(ReportPrintError, match="does not exist: nothing to print"):
        html_to_pdf(tmp_path / "missing.html", tmp_path / "report.pdf")


def test_real_chromium_prints_a_pdf_with_the_pages_text(tmp_path: Path) -> None:
    require_chromium()
    pypdf = require_pypdf()
    page = tmp_path / "report.html"
    page.write_text("<!doctype html><meta charset=utf-8><h1>Tenn. Code Ann. § 56-2-1006(a)</h1>", "utf-8")
    html_to_pdf(page, tmp_path / "report.pdf")
    data = (tmp_path / "report.pdf").read_bytes()
    assert data.startswith(b"%PDF-")
    text = pypdf.PdfReader(tmp_path / "report.pdf").pages[0].extract_text()
    assert "§ 56-2-1006(a)" in text
    assert sorted(os.listdir(tmp_path)) == ["report.html", "report.pdf"]
