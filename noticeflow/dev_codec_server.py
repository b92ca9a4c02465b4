"""The embedded dev stack's codec server: ``api/codec_server.py`` run in-process by uvicorn on loopback.

It authenticates as in production — the incident API's keys (the stack's ``home/ledger.db``, its
pepper) and single sign-on tokens, roles ``responder`` and ``privacy`` — and, when the stack
runs the Temporal UI, it is the one place that turns on the codec server's tokenless path for
that UI (``dev_ui_origins``): the dev server's UI has no login, so it cannot send a token. That
path answers only a loopback client whose ``Origin`` is the UI's and whose ``Host`` is a loopback
name; the socket is bound to 127.0.0.1 besides. A stack without the UI (``ui=False``) has no
tokenless path at all.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import uvicorn

from api.codec_server import create_app
from noticeflow.logging import get_logger
from noticeflow.settings import Settings

log = get_logger(__name__)

LOOPBACK = "127.0.0.1"


class EmbeddedUvicorn(uvicorn.Server):
    """uvicorn without its own SIGINT/SIGTERM handling: the stack (or its host) decides when to stop."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def dev_ui_origins(ui_port: int) -> list[str]:
    """The dev UI's origins, under both names a browser may have been given."""
    return [f"http://{LOOPBACK}:{ui_port}", f"http://localhost:{ui_port}"]


class DevCodecServer:
    """Starts and stops the codec server of a dev stack; ``task`` ends when it stops."""

    def __init__(self, settings: Settings, log_path: Path, *, ui: bool) -> None:
        self.settings = settings
        self.log_path = log_path
        self.origins = dev_ui_origins(settings.temporal_ui_port) if ui else []
        self.server: EmbeddedUvicorn | None = None
        self.task: asyncio.Task[None] | None = None
        self._close: Callable[[], None] = lambda: None

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.settings.codec_server_port}"

    async def start(self, timeout: float) -> None:
        app = create_app(self.settings, cors_origins=self.origins, dev_ui_origins=self.origins)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((LOOPBACK, self.settings.codec_server_port))
        config = uvicorn.Config(app, log_config=uvicorn_log_config(self.log_path), lifespan="off")
        self.server = server = EmbeddedUvicorn(config)
        self.task = task = asyncio.create_task(server.serve(sockets=[sock]), name="devstack-codec-server")
        self._close = app.state.codec_door.close
        deadline = time.monotonic() + timeout
        while not server.started:
            if task.done():
                task.result()
                raise RuntimeError(f"codec server stopped while starting; see {self.log_path}")
            if time.monotonic() > deadline:
                raise RuntimeError("codec server did not start in time")
            await asyncio.sleep(0.05)
        log.info("dev_codec_server_started", url=self.url, dev_ui_without_token=bool(self.origins))

    async def stop(self) -> None:
        if self.server is not None and self.task is not None:
            self.server.should_exit = True
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await asyncio.wait_for(self.task, timeout=10)
            self._close()
        self.server = self.task = None


def uvicorn_log_config(path: Path) -> dict[str, object]:
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = {"class": "logging.FileHandler", "filename": str(path), "formatter": "plain"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
        "handlers": {"file": handler},
        "loggers": {
            "uvicorn": {"handlers": ["file"], "level": "INFO", "propagate": False},
            "uvicorn.error": {"handlers": ["file"], "level": "INFO", "propagate": False},
            "uvicorn.access": {"handlers": ["file"], "level": "INFO", "propagate": False},
        },
    }
