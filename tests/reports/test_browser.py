"""The examiner's report in real headless Chromium (Debian's ``chromium``): the demo's report is laid
out, screenshotted and printed to PDF, and what an examiner would see is checked — the timeline
and the obligation table have size, pixels and text; every obligation row prints whole on one
page; late rows stand out by more than colour. Skips only when no browser is found and CI is
not set; with CI set a missing browser fails."""

from __future__ import annotations

import json
import re
import shutil
import unicodedata
from pathlib import Path
from typing import Any

import pytest

from ledger.npi import guard_data
from reports.examiner import (
    ExaminerReport,
    build_examiner_report,
    render_examiner_report,
)
from reports.pdf import html_to_pdf, screenshot
from tests.reports.browser import WINDOW, layout, require_chromium, require_pypdf
from tests.reports.png import read_png
from tests.reports.synthetic import report_args, synthetic_entries

FIXTURES = Path(__file__).parent / "fixtures"
SHA = re.compile(r"^[0-9a-f]{64}$")

#: Set NOTICEFLOW_SCREENSHOTS=<dir> to keep the screenshots and PDFs the tests make (to look at them).
KEEP = "NOTICEFLOW_SCREENSHOTS"

SELECTORS = {
    "table": "table.obligations",
    "rows": "table.obligations tr.ob",
    "late_rows": "table.obligations tr.late",
    "svg": "figure.timeline svg",
    "lanes": "figure.timeline svg g.lane",
    "headings": "h2",
}


def _demo_entries() -> list[dict[str, Any]]:
    return [json.loads(line) for line in (FIXTURES / "demo-entries.jsonl").read_text("utf-8").splitlines()]


def _documents(entries: list[dict[str, Any]]) -> dict[str, str]:
    """Every digest the entries cite under a document key, as the bundle would hold it."""
    found: dict[str, str] = {}

    def walk(value: Any, key: str = "") -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(v, k)
        elif isinstance(value, list):
            for v in value:
                walk(v, key)
        elif isinstance(value, str) and SHA.match(value) and key in ("html_sha256", "documents", "document_sha256"):
            found[value] = f"documents/{value}.html"

    for entry in entries:
        walk(entry["data"])
    return found


def _keep(path: Path) -> None:
    import os

    target = os.environ.get(KEEP)
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(target) / path.name)


def _write(report: ExaminerReport, directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    page = directory / "report.html"
    page.write_text(render_examiner_report(report), "utf-8")
    for href in {e.href for row in report.obligations for e in row.evidence if e.href and e.href.startswith("documents/")}:
        (directory / href).parent.mkdir(parents=True, exist_ok=True)
        (directory / href).write_text("<!doctype html><title>document</title>", "utf-8")
    return page


@pytest.fixture(scope="module")
def demo_report() -> ExaminerReport:
    entries = _demo_entries()
    head = json.loads((FIXTURES / "demo-tree_head.json").read_text())
    return build_examiner_report(
        entries,
        tree_head=head,
        keys=json.loads((FIXTURES / "demo-keys.json").read_text()),
        filter={"stream": entries[0]["stream"], "jurisdiction": None, "since": None, "until": None},
        completeness={"proven": "streams", "statement": f"The stream {entries[0]['stream']} is complete: its signed stream head "
                      f"names its last entry."},
        privilege_log=json.loads((FIXTURES / "demo-privilege_log.json").read_text())["entries"],
        documents=_documents(entries),
        generated_at=head["timestamp"],
        verifier_sha256="0" * 64,
        checkpoint=None,
    )


@pytest.fixture(scope="module")
def demo_page(demo_report: ExaminerReport, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _write(demo_report, tmp_path_factory.mktemp("demo-bundle"))


def test_demo_fixture_holds_no_npi_and_stays_small() -> None:
    text = (FIXTURES / "demo-entries.jsonl").read_text("utf-8")
    assert len(text.encode()) < 200_000
    for entry in _demo_entries():
        guard_data(entry["data"])  # raises NPIError naming the field


def test_demo_report_lays_out_the_timeline_and_the_obligation_table_with_every_row(demo_report: ExaminerReport, demo_page: Path) -> None:
    require_chromium()
    seen = layout(demo_page, SELECTORS)
    (table,) = seen["table"]
    rows = seen["rows"]
    assert len(rows) == len(demo_report.obligations) == 14
    assert table["w"] >= 1100 and table["h"] >= 30 * len(rows)
    for row, obligation in zip(rows, demo_report.obligations, strict=True):
        assert row["h"] >= 30 and abs(row["w"] - table["w"]) < 2 and row["display"] == "table-row"
        assert obligation.recipient in row["text"] and (obligation.due_local or "") in row["text"].replace("\n", " ")
    (svg,) = seen["svg"]
    assert svg["w"] >= 1100 and svg["h"] >= 14 * 20, svg
    assert len(seen["lanes"]) == 14
    assert "DE commissioner notice" in svg["text"] and "on time" in svg["text"]
    assert svg["y"] < table["y"], "the picture comes before the table"
    assert seen["__dark_backgrounds"] == []


def test_demo_report_screenshot_shows_the_timeline_and_the_table_start(demo_page: Path, tmp_path: Path) -> None:
    require_chromium()
    seen = layout(demo_page, SELECTORS)
    shot = tmp_path / "examiner-report-demo.png"
    screenshot(demo_page, shot, width=WINDOW[0], height=WINDOW[1])
    _keep(shot)
    image = read_png(shot)
    assert (image.width, image.height) == WINDOW
    (svg,) = seen["svg"]
    (table,) = seen["table"]
    assert svg["y"] + svg["h"] < WINDOW[1] and table["y"] < WINDOW[1] - 200, "both are in the first screen"
    picture = image.crop(int(svg["x"]), int(svg["y"]), int(svg["x"] + svg["w"]), int(svg["y"] + svg["h"]))
    assert picture.non_white_fraction() > 0.03, "the timeline is drawn, not blank"
    colours = {picture.rgb(x, y) for y in range(0, picture.height, 2) for x in range(0, picture.width, 2)}
    assert any(r < 60 and g > 100 and b < 90 for r, g, b in colours), "confirmation dots (green) are visible"
    assert any(max(r, g, b) < 50 for r, g, b in colours), "deadline diamonds and text (black) are visible"
    rows = image.crop(int(table["x"]), int(table["y"]), int(table["x"] + table["w"]), WINDOW[1])
    assert rows.non_white_fraction() > 0.02, "the obligation table has visible text"
    blank = image.crop(0, 0, 20, WINDOW[1])  # the page margin
    assert blank.non_white_fraction() < 0.01


def test_demo_report_prints_every_obligation_row_whole_on_one_page(demo_report: ExaminerReport, demo_page: Path, tmp_path: Path) -> None:
    require_chromium()
    pypdf = require_pypdf()
    pdf = tmp_path / "examiner-report-demo.pdf"
    html_to_pdf(demo_page, pdf)
    _keep(pdf)
    reader = pypdf.PdfReader(pdf)
    first = reader.pages[0].mediabox
    assert (round(float(first.width)), round(float(first.height))) == (792, 612), "US letter, landscape"

    def squash(text: str) -> str:
        return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))

    pages = [squash(page.extract_text()) for page in reader.pages]
    assert "\\u00a7" not in "".join(pages) and squash("Tenn. Code Ann. § 56-2-1006") in "".join(pages)
    for row in demo_report.obligations:
        top = squash(f"{row.kind_words} to {row.recipient}")
        last = row.evidence[-1]
        bottom = squash(f"{last.label}: {last.detail}" if last.detail and not SHA.match(last.detail) else last.label)
        holding = [n for n, text in enumerate(pages) if top in text and bottom in text and squash(row.due_local or "") in text]
        assert holding, f"row {row.jurisdiction} {row.kind_words} is not whole on any page"


def test_late_rows_stand_out_by_border_background_and_words_in_the_browser(tmp_path: Path) -> None:
    require_chromium()
    report = build_examiner_report(synthetic_entries(), **report_args())
    page = _write(report, tmp_path / "synthetic")
    seen = layout(page, SELECTORS)
    late = seen["late_rows"]
    assert len(late) == 2
    for row in late:
        assert row["border_left"] == "5px" and row["border_left_color"] == "rgb(164, 22, 26)"
        assert row["background"] == "rgb(253, 242, 242)"
        assert "⚠" in row["text"] and "LATE" in row["text"]
    on_time = [r for r in seen["rows"] if "on time" in r["text"]]
    assert on_time and all(r["border_left"] != "5px" for r in on_time)
    shot = tmp_path / "examiner-report-late.png"
    screenshot(page, shot)
    _keep(shot)
    image = read_png(shot)
    first = late[0]
    # The late row's thick left border is drawn in dark red.
    x, y = int(first["x"]) + 2, int(first["y"] + first["h"] / 2)
    if y < image.height:
        r, g, b = image.rgb(x, y)
        assert r > 130 and g < 60 and b < 60, (r, g, b)
