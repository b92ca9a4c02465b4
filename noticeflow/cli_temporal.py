"""``noticeflow temporal …`` (a real cluster: setup, codec keys) and ``noticeflow dev …`` (the embedded stack)."""

from __future__ import annotations

import asyncio
import os
import sys
import time
import traceback
from collections.abc import Coroutine
from typing import Annotated, Any, NoReturn

import typer
from temporalio.client import Client
from temporalio.service import RPCError

from noticeflow.codec import CodecError, describe, encode_key, generate_key, key_file, load_keyring, rotate_key_file
from noticeflow.settings import get_settings

temporal_app = typer.Typer(help="Temporal cluster setup and payload encryption keys.", no_args_is_help=True)
dev_app = typer.Typer(help="The embedded development stack (Temporal dev server, UI, codec server).", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(temporal_app, name="temporal")
    app.add_typer(dev_app, name="dev")
    app.command()(demo)


def _fail(message: str, code: int = 2) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def _run_then_exit(main: Coroutine[Any, Any, None]) -> NoReturn:
    """Run a command that held a Temporal client, then leave without interpreter teardown.

    The Temporal SDK's runtime threads can outlive the event loop and abort the interpreter while
    it finalizes (temporalio/sdk-python#300), turning a successful command into exit status -6.
    Output is flushed first; the exit status is the command's own.
    """
    code = 0
    try:
        asyncio.run(main)
    except typer.Exit as exc:
        code = exc.exit_code
    except KeyboardInterrupt:
        code = 130
    except BaseException:
        traceback.print_exc()
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


@temporal_app.command()
def setup(
    wait: Annotated[
        float,
        typer.Option("--wait", help="Keep trying to reach Temporal for this many seconds (for a server still starting)."),
    ] = 0.0,
) -> None:
    """Register noticeflow's search attributes in NOTICEFLOW_TEMPORAL_NAMESPACE (safe to repeat)."""
    from noticeflow.temporal import TemporalSetupError, connect, register_search_attributes

    settings = get_settings()

    async def _connect() -> Client:
        deadline = time.monotonic() + wait
        while True:
            try:
                return await connect(settings)
            except RuntimeError as exc:
                if time.monotonic() >= deadline:
                    _fail(f"cannot reach Temporal at {settings.temporal_address} (NOTICEFLOW_TEMPORAL_ADDRESS): {exc}", 1)
            await asyncio.sleep(min(2.0, max(0.1, deadline - time.monotonic())))

    async def _setup() -> None:
        client = await _connect()
        try:
            result = await register_search_attributes(client, settings.temporal_namespace)
        except TemporalSetupError as exc:
            _fail(str(exc), 1)
        except RPCError as exc:
            _fail(f"Temporal refused the search attribute registration: {exc.message}", 1)
        for name in result.added:
            typer.echo(f"{name}: added")
        for name in result.already_present:
            typer.echo(f"{name}: already present")
        typer.echo(f"namespace {result.namespace!r} at {settings.temporal_address} is ready for noticeflow")

    _run_then_exit(_setup())


@temporal_app.command("codec-keys")
def codec_keys() -> None:
    """List the payload encryption keys by id (never the keys): the first encrypts, all decrypt."""
    settings = get_settings()
    try:
        keyring = load_keyring(settings)
    except CodecError as exc:
        _fail(str(exc))
    source = "NOTICEFLOW_CODEC_KEY" if settings.codec_key else str(key_file(settings))
    typer.echo(f"source: {source}")
    for line in describe(keyring):
        typer.echo(line)


@temporal_app.command("rotate-codec-key")
def rotate_codec_key() -> None:
    """Start encrypting new payloads with a new key; earlier keys stay for decrypting old histories."""
    settings = get_settings()
    try:
        current = load_keyring(settings)
    except CodecError as exc:
        _fail(str(exc))
    if settings.codec_key:
        new = generate_key()
        value = ",".join([encode_key(new), *(encode_key(k) for k in current.keys)])
        typer.echo("NOTICEFLOW_CODEC_KEY is set, so it cannot be rotated in place. Set it to:", err=True)
        typer.echo(value)
        typer.echo(
            "on every worker, API and codec server (the new key first), then restart them; "
            "drop an old key only once no open workflow history still needs it.",
            err=True,
        )
        return
    keyring = rotate_key_file(settings)
    typer.echo(f"{key_file(settings)}: now encrypting with {keyring.current_id}")
    for line in describe(keyring):
        typer.echo(line)
    typer.echo("restart the worker, the API and the codec server to pick it up", err=True)


@temporal_app.command("codec-server")
def codec_server(
    host: Annotated[str, typer.Option("--host", help="Bind address (0.0.0.0 in a container).")] = "127.0.0.1",
    port: Annotated[int | None, typer.Option("--port", help="Port (default: NOTICEFLOW_CODEC_SERVER_PORT).")] = None,
    cors_origin: Annotated[
        list[str] | None,
        typer.Option("--cors-origin", help="Origin of the Temporal UI, e.g. https://temporal.example.com (repeatable)."),
    ] = None,
) -> None:
    """Serve the payload codec server for the Temporal UI and CLI: an API key or SSO access token of a
    responder or privacy officer is required (the incident API's database and pepper are read)."""
    import uvicorn

    from api.codec_server import create_app

    settings = get_settings()
    try:
        app = create_app(settings, cors_origins=cors_origin or None)
    except CodecError as exc:
        _fail(str(exc))
    uvicorn.run(app, host=host, port=port or settings.codec_server_port, log_config=None, access_log=False)


def demo(
    timeout: Annotated[float, typer.Option(help="Seconds to wait for the notices and for closure.")] = 180.0,
) -> None:
    """The main job: the embedded stack runs a sample event through its notices; ledger verified and exported."""
    from noticeflow.demo import DemoError, run_demo
    from noticeflow.devstack import DevStackError

    async def _demo() -> None:
        try:
            result = await run_demo(get_settings(), timeout=timeout)
        except (DemoError, DevStackError) as exc:
            _fail(str(exc), 1)
        typer.echo(f"Done in {result.seconds:.0f} s.")

    _run_then_exit(_demo())


@dev_app.command()
def up(
    in_memory: Annotated[
        bool, typer.Option("--in-memory", help="Keep Temporal state in memory, not in home/temporal.db.")
    ] = False,
    headless: Annotated[bool, typer.Option("--headless", help="Without the Temporal UI.")] = False,
) -> None:
    """Run the Temporal dev server, its UI and the codec server until Ctrl-C."""
    from noticeflow.cli_apikey import dev_key_hint
    from noticeflow.devstack import DevStack, DevStackError, default_services, run_until_signalled

    settings = get_settings()
    stack = DevStack(settings, services=default_services(settings), persistent=not in_memory, ui=not headless)

    def ready(stack: DevStack) -> None:
        if stack.ui_url:
            typer.echo(f"Temporal UI:   {stack.ui_url}")
        typer.echo(f"Temporal:      {stack.address} (namespace {stack.namespace})")
        auth = "API key or SSO token, role responder or privacy"
        auth += "; the UI above without one, from this machine" if stack.codec_dev_ui_origins else ""
        typer.echo(f"Codec server:  {stack.codec_url} ({auth})")
        for line in dev_key_hint(stack.home, stack.api_url):
            typer.echo(line)
        typer.echo(f"Persistence:   {stack.db_path if stack.persistent else 'in memory'}")
        typer.echo(f"Logs:          {stack.log_dir}")
        typer.echo("Press Ctrl-C to stop.")

    async def _up() -> None:
        try:
            reason = await run_until_signalled(stack, ready)
        except DevStackError as exc:
            _fail(str(exc), 1)
        if reason != "signal":
            _fail(f"{reason} stopped unexpectedly; see {stack.log_dir}", 1)
        typer.echo("stopped")

    _run_then_exit(_up())
