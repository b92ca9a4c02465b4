"""What an examination bundle takes from outside the ledger layer, for the CLI and the API alike.

``ledger.bundle.export_bundle`` knows nothing of the document store's location, the examiner's
report (``reports/``) or the external verifier; both ``noticeflow ledger export`` and
``POST /incidents/{id}/export`` pass them from here, so the two write the same bundle.
"""

from __future__ import annotations

from typing import Any

from noticeflow.settings import Settings
from noticeflow.verifier_tool import verifier_sha256
from reports.examiner import build_examiner_report, render_examiner_report
from reports.pdf import html_to_pdf


def bundle_export_options(settings: Settings, *, pdf: bool) -> dict[str, Any]:
    """What ``export_bundle`` takes from outside the ledger layer: the document store, the
    examiner's report (``reports/examiner.py``) and, with ``pdf``, its PDF (``reports/pdf.py``),
    the external verifier's SHA-256 for VERIFY.md, and the checkpoint origin."""
    options: dict[str, Any] = {
        "documents_dir": settings.documents_dir,
        "render_report": render_examiner_bundle_report,
        "origin": settings.ledger_origin,
        "verifier_sha256": verifier_sha256(),
    }
    if pdf:
        options["render_pdf"] = html_to_pdf
    return options


def render_examiner_bundle_report(entries: list[dict[str, Any]], **context: Any) -> str:
    """``export_bundle``'s ``render_report`` → the examiner's report: the tree head as JSON, and
    the bundle's documents as SHA-256 → path in the bundle (those not included have no path)."""
    context["tree_head"] = context["tree_head"].model_dump()
    context["documents"] = {d["sha256"]: d["file"] for d in context["documents"] if d["file"]}
    return render_examiner_report(build_examiner_report(entries, **context))
