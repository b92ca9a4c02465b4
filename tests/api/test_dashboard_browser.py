"""The dashboard in real headless Chromium (Debian's ``chromium``), served by the real API on a
loopback port (uvicorn in a thread) over a real ledger: what a compliance officer sees — the
obligations by due date with the late ones marked by a red border, a tinted row and the words
⚠ LATE; each open event's timeline — measured (boxes, text, computed styles) and screenshotted;
without a session the browser lands on the sign-in page; signing in with an API key through the
page's own form (the browser fills it as a user would: the page has no script) leaves an HttpOnly
cookie that does not hold the key.

The browser is driven over the DevTools protocol on a pipe (``tests/api/cdp.py``); a session for
an examiner is minted with the app's own signer and handed to the browser with
``Network.setCookie`` — no test-only route exists in the app. Skips only when no browser is found
and CI is not set; with CI set a missing browser fails. Set NOTICEFLOW_SCREENSHOTS=<dir> to keep
the screenshots."""

from __future__ import annotations

import json
import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from api.access import Role
from api.app import create_app
from api.dashboard import DASHBOARD, DashboardAuth
from api.sessions import new_session
from ledger.keys import generate_key
from noticeflow.settings import Settings
from tests.api.cdp import Chromium, Page
from tests.api.conftest import issue_key
from tests.api.dashboard_support import OPEN, record, scenario
from tests.reports.browser import require_chromium
from tests.reports.png import read_png

KEEP = "NOTICEFLOW_SCREENSHOTS"
WINDOW = (1280, 2000)
LATE_RED = "rgb(164, 22, 26)"

_PROBE = """(() => {
  const out = {};
  for (const [name, sel] of Object.entries(%s)) {
    out[name] = [...document.querySelectorAll(sel)].map(e => {
      const r = e.getBoundingClientRect();
      const cell = e.tagName === 'TR' ? e.cells[0] : e;
      const s = getComputedStyle(cell);
      return {x: r.x, y: r.y + scrollY, w: r.width, h: r.height, text: e.innerText || e.textContent || '',
              background: s.backgroundColor, border_left: s.borderLeftWidth, border_left_color: s.borderLeftColor,
              color: s.color, display: getComputedStyle(e).display};
    });
  }
  out.__width = document.documentElement.scrollWidth;
  return out;
})()"""

SELECTORS = {
    "due_table": "#due table.obligations",
    "due_rows": "#due table.obligations tr.ob",
    "late_rows": "#due table.obligations tr.late",
    "late_outcomes": "#due table.obligations tr.late .outcome",
    "svg": "figure.timeline svg",
    "lanes": "figure.timeline svg g.lane",
    "events": "section.event",
    "privacy_rows": "table.lifecycles tbody tr",
    "sign_out": "header.bar form button",
}


class _Server(uvicorn.Server):
    def install_signal_handlers(self) -> None:  # the test decides when it stops
        pass


@dataclass
class Served:
    url: str
    settings: Settings
    auth: DashboardAuth
    examiner_key: str


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    tmp = tmp_path_factory.mktemp("dashboard-browser")
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        home=tmp / "home", db_url=f"sqlite:///{tmp / 'ledger.db'}", log_json=False, npi_digest_key="dashboard-browser",
        temporal_ui_url="http://127.0.0.1:8233",
    )
    generate_key(settings.resolved_key_path())
    record(settings, scenario(datetime.now(UTC)))
    key = issue_key(settings, "e.marsh", {Role.EXAMINER})
    app = create_app(settings)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    server = _Server(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield Served(f"http://127.0.0.1:{sock.getsockname()[1]}", settings, app.state.dashboard, key)
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


@pytest.fixture(scope="module")
def chromium() -> Iterator[Chromium]:
    executable = require_chromium()
    with Chromium(executable) as browser:
        yield browser


def _keep(path: Path) -> None:
    target = os.environ.get(KEEP)
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(target) / path.name)


def _layout(page: Page) -> dict[str, Any]:
    result: dict[str, Any] = page.evaluate(_PROBE % json.dumps(SELECTORS))
    return result


def _signed_in_page(chromium: Chromium, served: Served, roles: set[Role]) -> Page:
    """A tab whose browser holds a session cookie for an examiner, as a completed sign-in sets it."""
    session = new_session("e.marsh", "user", frozenset(roles), hours=1, via="oidc")
    page = chromium.page(*WINDOW)
    page.set_cookie("nf_dashboard", served.auth.signer().seal("session", session.payload()), served.url)
    return page


def test_dashboard_in_chromium_shows_the_due_table_late_rows_and_each_event_timeline(
    chromium: Chromium, served: Served, tmp_path: Path
) -> None:
    page = _signed_in_page(chromium, served, {Role.EXAMINER})
    page.navigate(f"{served.url}{DASHBOARD}")
    assert page.url == f"{served.url}{DASHBOARD}"
    seen = _layout(page)
    assert seen["__width"] <= WINDOW[0], "nothing runs off the side of the screen"
    (table,) = seen["due_table"]
    rows = seen["due_rows"]
    assert len(rows) == 3 and table["w"] >= 1100
    for row in rows:
        assert row["h"] >= 30 and abs(row["w"] - table["w"]) < 4 and row["display"] == "table-row"
        assert OPEN in row["text"] and ("Tenn. Code Ann." in row["text"] or "KRS" in row["text"])
        assert row["h"] <= 120, "rows stay readable: the obligation column is wide enough"
    late = seen["late_rows"]
    assert len(late) == 2
    for row in late:  # late: a red border, a tinted row and the words — not colour alone
        assert row["border_left"] == "5px" and row["border_left_color"] == LATE_RED
        assert row["background"] == "rgb(253, 242, 242)" and "⚠" in row["text"] and "LATE" in row["text"]
    assert all(o["color"] == LATE_RED for o in seen["late_outcomes"])
    (event,) = seen["events"]
    (svg,) = seen["svg"]
    assert svg["w"] >= 1100 and svg["h"] >= 5 * 20 and len(seen["lanes"]) == 5
    assert "TN commissioner notice" in svg["text"] and "LATE" in svg["text"]
    assert table["y"] < event["y"] <= svg["y"], "what is due comes first, then each event's picture"
    assert len(seen["privacy_rows"]) == 2 and "⚠ LATE" in seen["privacy_rows"][0]["text"]
    assert [b["text"] for b in seen["sign_out"]] == ["Sign out"]

    shot = page.screenshot(tmp_path / "dashboard-overview.png")
    _keep(shot)
    image = read_png(shot)
    assert (image.width, image.height) == WINDOW
    assert svg["y"] + svg["h"] < WINDOW[1], "the first event's timeline is on the first screen"
    picture = image.crop(int(svg["x"]), int(svg["y"]), int(svg["x"] + svg["w"]), int(svg["y"] + svg["h"]))
    assert picture.non_white_fraction() > 0.03, "the timeline is drawn, not blank"
    colours = {picture.rgb(x, y) for y in range(0, picture.height, 2) for x in range(0, picture.width, 2)}
    assert any(r > 140 and g < 60 and b < 60 for r, g, b in colours), "late lanes are drawn in red"
    first = late[0]
    x, y = int(first["x"]) + 2, int(first["y"] + first["h"] / 2)
    r, g, b = image.rgb(x, y)
    assert r > 140 and g < 60 and b < 60, f"the late row's border is red, got {(r, g, b)}"
    text = image.crop(int(table["x"]), int(table["y"]), int(table["x"] + table["w"]), int(table["y"] + table["h"]))
    assert text.non_white_fraction() > 0.03, "the due table has visible text"


def test_event_page_in_chromium_shows_the_timeline_every_obligation_and_the_steps(
    chromium: Chromium, served: Served, tmp_path: Path
) -> None:
    page = _signed_in_page(chromium, served, {Role.COUNSEL})
    page.navigate(f"{served.url}{DASHBOARD}/events/{OPEN}")
    seen = page.evaluate(_PROBE % json.dumps({
        "table": "table.obligations", "rows": "table.obligations tr.ob", "late": "table.obligations tr.late",
        "svg": "figure.timeline svg", "steps": "ol.steps li",
    }))
    (table,) = seen["table"]
    assert len(seen["rows"]) == 5 and len(seen["late"]) == 2 and len(seen["steps"]) == 12
    (svg,) = seen["svg"]
    assert svg["y"] < table["y"] and svg["h"] >= 100
    assert all(r["h"] >= 30 for r in seen["rows"])
    shot = page.screenshot(tmp_path / "dashboard-event.png")
    _keep(shot)
    assert read_png(shot).crop(0, int(svg["y"]), WINDOW[0], int(svg["y"] + svg["h"])).non_white_fraction() > 0.03


def test_without_a_session_chromium_is_sent_to_the_sign_in_page_which_renders(
    chromium: Chromium, served: Served, tmp_path: Path
) -> None:
    page = chromium.page(*WINDOW)
    page.navigate(f"{served.url}{DASHBOARD}/events/{OPEN}")
    assert page.url.startswith(f"{served.url}{DASHBOARD}/sign-in?next=")
    seen = page.evaluate(_PROBE % json.dumps({"h1": "h1", "key": "input#api_key", "button": "#sign-in-key button",
                                              "table": "table.obligations"}))
    assert [h["text"] for h in seen["h1"]] == ["Sign in to the compliance dashboard"]
    (field,) = seen["key"]
    assert field["w"] >= 300 and field["h"] >= 20
    assert seen["table"] == [], "no case data before signing in"
    shot = page.screenshot(tmp_path / "dashboard-sign-in.png")
    _keep(shot)
    assert read_png(shot).crop(int(field["x"]), int(field["y"]), int(field["x"] + field["w"]), int(field["y"] + field["h"])).non_white_fraction() > 0.01


def test_signing_in_with_an_api_key_through_the_form_in_chromium_leaves_an_httponly_cookie_without_the_key(
    chromium: Chromium, served: Served
) -> None:
    page = chromium.page(*WINDOW)
    page.navigate(f"{served.url}{DASHBOARD}")
    assert "/sign-in" in page.url
    # The browser fills the form and submits it, as a person would (the page itself has no script).
    page.submit(f"document.querySelector('#api_key').value = {json.dumps(served.examiner_key)};"
                "document.querySelector('#sign-in-key form').submit()")
    assert page.url == f"{served.url}{DASHBOARD}"
    assert page.evaluate("document.querySelector('#due table.obligations') !== null")
    assert "key:e.marsh" in page.evaluate("document.querySelector('header.bar').innerText")
    (cookie,) = [c for c in page.cookies(served.url) if c["name"] == "nf_dashboard"]
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax" and cookie["path"] == "/"
    assert served.examiner_key not in cookie["value"] and served.examiner_key.split("_", 2)[2] not in cookie["value"]
    assert page.evaluate("document.cookie") == "", "no script can read the session"
    # Signing out through the page's own button ends the session in this browser.
    page.submit("document.querySelector('header.bar form').submit()")
    assert "reason=signed-out" in page.url
    assert not [c for c in page.cookies(served.url) if c["name"] == "nf_dashboard"]
    page.navigate(f"{served.url}{DASHBOARD}")
    assert "/sign-in" in page.url
