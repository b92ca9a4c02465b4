"""Headless Chromium driven over the DevTools protocol on a pipe (``--remote-debugging-pipe``): the
browser reads commands on its fd 3 and writes answers on fd 4, NUL-separated JSON — no websocket
library, no debugging port. Enough for the dashboard's browser tests: open a page in a fresh
browser context, set a cookie, navigate (redirects followed by the browser), read the layout,
take a screenshot, submit a form as a user would."""

from __future__ import annotations

import base64
import json
import os
import select
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any, Self

_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage", "--hide-scrollbars",
    "--remote-debugging-pipe",
)


class CdpError(RuntimeError):
    pass


class Chromium:
    """One headless browser process; ``page()`` opens a tab in a fresh (cookie-less) context."""

    def __init__(self, executable: str) -> None:
        self.executable = executable
        self._profile = tempfile.TemporaryDirectory(prefix="noticeflow-cdp-")
        self._stderr = open(Path(self._profile.name) / "stderr.log", "wb")  # noqa: SIM115
        to_browser_r, to_browser_w = os.pipe()
        from_browser_r, from_browser_w = os.pipe()
        # The browser must find the pipes at fds 3 and 4; bash moves them there (dash takes one-digit fds only; no preexec_fn,
        # which is unsafe with the server thread running).
        script = f'exec "$0" "$@" 3<&{to_browser_r} 4>&{from_browser_w} {to_browser_r}<&- {from_browser_w}>&-'
        self.process = subprocess.Popen(
            ["bash", "-c", script, executable, *_FLAGS, f"--user-data-dir={self._profile.name}", "about:blank"],
            pass_fds=(to_browser_r, from_browser_w), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=self._stderr, env={**os.environ, "HOME": self._profile.name},
        )
        os.close(to_browser_r)
        os.close(from_browser_w)
        self._out = to_browser_w
        self._in = from_browser_r
        self._buffer = b""
        self._next_id = 0
        self.events: list[dict[str, Any]] = []

    # -- the protocol -----------------------------------------------------------------------------------

    def send(self, method: str, params: dict[str, Any] | None = None, session: str | None = None,
             timeout: float = 60.0) -> dict[str, Any]:
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session is not None:
            message["sessionId"] = session
        os.write(self._out, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            for i, item in enumerate(self.events):
                if item.get("id") == self._next_id:
                    del self.events[i]
                    if "error" in item:
                        raise CdpError(f"{method}: {item['error']}")
                    result: dict[str, Any] = item.get("result", {})
                    return result
            self._read(deadline, method)

    def wait_for(self, event: str, session: str | None = None, timeout: float = 60.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            for i, item in enumerate(self.events):
                if item.get("method") == event and (session is None or item.get("sessionId") == session):
                    del self.events[i]
                    params: dict[str, Any] = item.get("params", {})
                    return params
            self._read(deadline, event)

    def _read(self, deadline: float, waiting_for: str) -> None:
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise CdpError(f"Chromium did not answer {waiting_for} in time")
            ready, _, _ = select.select([self._in], [], [], left)
            if ready:
                chunk = os.read(self._in, 1 << 20)
                if not chunk:
                    raise CdpError(f"Chromium exited while waiting for {waiting_for}: {self.stderr()[-600:]}")
                self._buffer += chunk
        while b"\0" in self._buffer:
            raw, self._buffer = self._buffer.split(b"\0", 1)
            self.events.append(json.loads(raw))

    def stderr(self) -> str:
        self._stderr.flush()
        return (Path(self._profile.name) / "stderr.log").read_text(errors="replace")

    # -- pages --------------------------------------------------------------------------------------------

    def page(self, width: int = 1280, height: int = 2000) -> Page:
        context = self.send("Target.createBrowserContext")["browserContextId"]
        target = self.send("Target.createTarget", {"url": "about:blank", "browserContextId": context})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Network", "Runtime"):
            self.send(f"{domain}.enable", session=session)
        self.send("Emulation.setDeviceMetricsOverride",
                  {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False}, session=session)
        return Page(self, session, (width, height))

    def close(self) -> None:
        try:
            self.send("Browser.close", timeout=10)
        except (CdpError, OSError):
            pass
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)
        os.close(self._out)
        os.close(self._in)
        self._stderr.close()
        self._profile.cleanup()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Page:
    def __init__(self, browser: Chromium, session: str, window: tuple[int, int]) -> None:
        self.browser = browser
        self.session = session
        self.window = window

    def send(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        return self.browser.send(method, params, self.session)

    def navigate(self, url: str) -> None:
        self.send("Page.navigate", {"url": url})
        self.browser.wait_for("Page.loadEventFired", self.session)

    def evaluate(self, expression: str) -> Any:
        answer = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True, "awaitPromise": True})
        if "exceptionDetails" in answer:
            raise CdpError(f"evaluate: {answer['exceptionDetails']}")
        return answer["result"].get("value")

    def submit(self, expression: str) -> None:
        """Run ``expression`` (which submits a form) and wait for the page it leads to."""
        self.evaluate(expression)
        self.browser.wait_for("Page.loadEventFired", self.session)

    @property
    def url(self) -> str:
        return str(self.evaluate("location.href"))

    def set_cookie(self, name: str, value: str, url: str, *, http_only: bool = True, same_site: str = "Lax") -> None:
        ok = self.send("Network.setCookie", {"name": name, "value": value, "url": url, "path": "/", "httpOnly": http_only,
                                             "sameSite": same_site})
        if not ok.get("success", True):
            raise CdpError(f"the browser refused the cookie {name}")

    def cookies(self, url: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self.send("Network.getCookies", {"urls": [url]})["cookies"]
        return found

    def screenshot(self, path: Path) -> Path:
        data = self.send("Page.captureScreenshot", {"format": "png"})["data"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data))
        return path
