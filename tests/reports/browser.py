"""Real headless Chromium for the report tests: where it is, and what it laid out.

``layout`` loads a copy of a page with a small probe script added (the report itself has none),
lets Chromium lay it out, and reads back each selected element's box, text and computed style
through ``--dump-dom`` — the sizes a person would see, not only that the HTML parses.
"""

from __future__ import annotations

import html
import json
import os
import re
from pathlib import Path
from typing import Any

import pytest

from reports.pdf import find_chromium, run_chromium

WINDOW = (1280, 2000)

_PROBE = """<script>
addEventListener('load', () => {
  const out = {};
  for (const [name, sel] of Object.entries(%s)) {
    out[name] = [...document.querySelectorAll(sel)].map(e => {
      const r = e.getBoundingClientRect();
      const cell = e.tagName === 'TR' ? e.cells[0] : e;
      const s = getComputedStyle(cell);
      return {x: r.x, y: r.y + scrollY, w: r.width, h: r.height, text: e.innerText || e.textContent || '',
              background: s.backgroundColor, border_left: s.borderLeftWidth, border_left_color: s.borderLeftColor,
              visibility: s.visibility, display: getComputedStyle(e).display};
    });
  }
  const dark = [];
  for (const e of document.querySelectorAll('body, body *')) {
    const m = getComputedStyle(e).backgroundColor.match(/rgba?\\(([0-9.]+), ([0-9.]+), ([0-9.]+)(?:, ([0-9.]+))?/);
    if (!m || (m[4] !== undefined && +m[4] === 0)) continue;
    const lum = (0.2126 * m[1] + 0.7152 * m[2] + 0.0722 * m[3]) / 255;
    if (lum < 0.6) dark.push(e.tagName + '.' + e.className + ' ' + getComputedStyle(e).backgroundColor);
  }
  out.__dark_backgrounds = dark;
  const pre = document.createElement('pre'); pre.id = 'layout-probe'; pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
});
</script>"""


def require_chromium() -> str:
    """The browser, or skip — except with ``CI`` set, where a missing browser fails the test."""
    path = find_chromium()
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("CI is set and no Chromium was found: .ci/run installs Debian's chromium (or set NOTICEFLOW_CHROMIUM)")
        pytest.skip("no Chromium on this machine (apt-get install chromium); with CI set this test fails instead")
    return path


def require_pypdf() -> Any:
    """pypdf (to read a printed report's text), or skip — except with ``CI`` set, where it fails."""
    try:
        import pypdf
    except ImportError:
        if os.environ.get("CI"):
            pytest.fail("CI is set and pypdf is not installed: it is in the test extras of pyproject.toml")
        pytest.skip("pypdf is not installed (pip install pypdf); with CI set this test fails instead")
    return pypdf


def layout(page: Path, selectors: dict[str, str], *, window: tuple[int, int] = WINDOW) -> dict[str, Any]:
    """Boxes, text and styles of the elements ``selectors`` name, as Chromium laid out ``page``."""
    probe = page.with_name(f".probe-{page.name}")
    probe.write_text(page.read_text("utf-8").replace("</body>", _PROBE % json.dumps(selectors) + "</body>"), "utf-8")
    run = run_chromium(["--dump-dom", "--virtual-time-budget=10000", f"--window-size={window[0]},{window[1]}"], probe.as_uri())
    probe.unlink()
    found = re.search(r'<pre id="layout-probe">(.*?)</pre>', run.stdout, re.DOTALL)
    assert found, f"Chromium laid out no page (exit {run.returncode}): {run.stderr[-500:]}"
    result: dict[str, Any] = json.loads(html.unescape(found.group(1)))
    return result
