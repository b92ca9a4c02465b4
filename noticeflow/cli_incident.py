"""``noticeflow incident …`` (a client of the incident API), ``noticeflow worker`` and ``noticeflow api``.

The incident commands speak HTTP to the API — ``--api`` (default ``http://<api_host>:<api_port>``
from settings) with ``--token`` (or ``NOTICEFLOW_API_TOKEN``) — and print its JSON answer. An
answer the API refuses exits 1 with the API's message on stderr; a command used wrongly exits 2.

    noticeflow incident start docs/examples/event-tpsp-multistate.json --notices docs/examples/notices.json \
        --responders docs/examples/responders.json
    noticeflow incident determine INC-2025-0417 --event --reason "SSNs exfiltrated from the vendor's server"
    noticeflow incident roster INC-2025-0417 consumers.csv
"""

from __future__ import annotations

import hashlib
import json
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

from noticeflow.settings import get_settings

incident_app = typer.Typer(
    help="Drive a cybersecurity event through the incident API (start, findings, determination, notices, closure).",
    no_args_is_help=True,
)

#: How long a command waits for the API; a step waits for the workflow, which waits for the ledger.
HTTP_TIMEOUT = 120.0


def register(app: typer.Typer) -> None:
    app.add_typer(incident_app, name="incident")
    app.command("worker")(worker)
    app.command("api")(api)


# -- talking to the API ------------------------------------------------------------------------

ApiOption = Annotated[
    str | None,
    typer.Option("--api", help="Base URL of the incident API (default: http://NOTICEFLOW_API_HOST:NOTICEFLOW_API_PORT)."),
]
TokenOption = Annotated[
    str | None,
    typer.Option("--token", envvar="NOTICEFLOW_API_TOKEN", help="Bearer token: an API key (noticeflow apikey create) or an SSO access token."),
]
IncidentId = Annotated[str, typer.Argument(help="The incident id, e.g. INC-2025-0417.")]


def _fail(message: str, code: int = 1) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def _print_json(obj: Any) -> None:
    typer.echo(json.dumps(obj, indent=2, ensure_ascii=False))


def default_api_url() -> str:
    settings = get_settings()
    host = settings.api_host
    if host in ("0.0.0.0", "::", ""):
        host = "127.0.0.1"  # an API bound to every interface is reached here over loopback
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{settings.api_port}"


def _opener(url: str) -> urllib.request.OpenerDirector:
    host = urllib.parse.urlsplit(url).hostname or ""
    if host in ("127.0.0.1", "localhost", "::1"):
        # A proxy from the environment must not stand between a user and their own machine.
        return urllib.request.build_opener(urllib.request.ProxyHandler({}))
    return urllib.request.build_opener()


def call(
    api_url: str | None,
    token: str | None,
    method: str,
    path: str,
    *,
    body: Any = None,
    raw: bytes | None = None,
    content_type: str = "application/json",
) -> Any:
    """One request to the API; its JSON answer, or exit 1 with the API's message."""
    base = (api_url or default_api_url()).rstrip("/")
    url = base + path
    headers = {"Accept": "application/json"}
    data: bytes | None = None
    if raw is not None:
        data, headers["Content-Type"] = raw, content_type
    elif body is not None:
        data, headers["Content-Type"] = json.dumps(body).encode("utf-8"), "application/json"
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with _opener(url).open(request, timeout=HTTP_TIMEOUT) as response:
            payload = response.read()
    except urllib.error.HTTPError as exc:
        _fail(f"{exc.code} {_detail(exc.read()) or exc.reason}")
    except urllib.error.URLError as exc:
        _fail(f"cannot reach the incident API at {base}: {exc.reason} (is `noticeflow api` running? see --api)")
    except TimeoutError:
        _fail(f"the incident API at {base} did not answer within {HTTP_TIMEOUT:.0f} s")
    return json.loads(payload) if payload else None


def _detail(payload: bytes) -> str:
    try:
        body = json.loads(payload)
    except ValueError:
        return payload.decode("utf-8", "replace").strip()[:500]
    if isinstance(body, dict) and isinstance(body.get("detail"), str):
        return body["detail"] + _citation(body)
    return json.dumps(body)[:500]


def _citation(body: dict[str, Any]) -> str:
    """The rule's section of a typed refusal (409 ``citation``, or a 422 error's), when the message
    does not already give it."""
    cited = [body.get("citation")]
    errors = body.get("errors")
    if isinstance(errors, list):
        cited += [e.get("citation") for e in errors if isinstance(e, dict)]
    sections = [c for c in dict.fromkeys(cited) if isinstance(c, str) and c and c not in body["detail"]]
    return f" ({'; '.join(sections)})" if sections else ""


def _read_json(path: Path, what: str) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        _fail(f"{what} {path}: {exc.strerror or exc}", 2)
    except ValueError as exc:
        _fail(f"{what} {path} is not valid JSON: {exc}", 2)


def _path(incident_id: str, *parts: str) -> str:
    segments = [urllib.parse.quote(incident_id, safe="")] + [urllib.parse.quote(p, safe="") for p in parts]
    return "/v1/incidents/" + "/".join(segments)


def _step(api_url: str | None, token: str | None, path: str, body: dict[str, Any]) -> None:
    _print_json(call(api_url, token, "POST", path, body={k: v for k, v in body.items() if v is not None}))


# -- the incident commands ------------------------------------------------------------------------


@incident_app.command()
def start(
    event: Annotated[Path, typer.Argument(help="The intake (IncidentIntake JSON), e.g. docs/examples/event-tpsp-multistate.json.")],
    notices: Annotated[Path, typer.Option("--notices", help="The notice setup (NoticeSetup JSON), e.g. docs/examples/notices.json.")],
    responders: Annotated[
        Path,
        typer.Option(
            "--responders",
            help="Who answers for the deadlines (Responders JSON: owner and backup), e.g. docs/examples/responders.json.",
        ),
    ],
    reminder: Annotated[
        list[str] | None,
        typer.Option("--reminder", help="A reminder before each deadline, ISO 8601 (PT24H); repeatable. Default: settings."),
    ] = None,
    api_url: ApiOption = None,
    token: TokenOption = None,
) -> None:
    """Start the lifecycle of a cybersecurity event; prints its state."""
    body: dict[str, Any] = {
        "intake": _read_json(event, "event"),
        "notices": _read_json(notices, "notices"),
        "responders": _read_json(responders, "responders"),
    }
    if reminder:
        body["reminder_offsets"] = reminder
    _print_json(call(api_url, token, "POST", "/v1/incidents", body=body))


@incident_app.command()
def show(incident_id: IncidentId, api_url: ApiOption = None, token: TokenOption = None) -> None:
    """Where the event stands: stage, obligations, next deadline, what it waits for."""
    _print_json(call(api_url, token, "GET", _path(incident_id)))


@incident_app.command()
def obligations(incident_id: IncidentId, api_url: ApiOption = None, token: TokenOption = None) -> None:
    """Every obligation of the event with its deadline and status."""
    _print_json(call(api_url, token, "GET", _path(incident_id, "obligations")))


@incident_app.command()
def finding(
    incident_id: IncidentId,
    kind: Annotated[
        str,
        typer.Option(
            "--kind",
            help="nature_and_scope, compromise_period, npi_involved, source_identified, tpsp_investigation_confirmed, "
            "information_recovered, law_enforcement_notified, internal_review, security_restored, remediation or "
            "counsel_note.",
        ),
    ],
    summary: Annotated[str, typer.Option("--summary", help="What was found, without NPI (privileged: sealed).")],
    item: Annotated[
        list[str] | None,
        typer.Option("--item", help="Commissioner-report item it supplies (A–N); repeatable; required but for counsel_note."),
    ] = None,
    privileged: Annotated[
        bool | None,
        typer.Option(
            "--privileged/--not-privileged",
            help="Sealed, ledgered by digest (default: privileged for internal_review and counsel_note).",
        ),
    ] = None,
    report_statement: Annotated[
        str | None,
        typer.Option("--report-statement", help="A privileged finding's statement for the commissioner report."),
    ] = None,
    api_url: ApiOption = None,
    token: TokenOption = None,
) -> None:
    """Record an investigation finding and the report items it supplies."""
    _step(
        api_url, token, _path(incident_id, "findings"),
        {"kind": kind, "summary": summary, "report_items": item or [], "privileged": privileged,
         "report_statement": report_statement},
    )


@incident_app.command()
def determine(
    incident_id: IncidentId,
    is_event: Annotated[
        bool, typer.Option("--event/--not-event", help="A cybersecurity event has (--event) or has not (--not-event) occurred.")
    ],
    reason: Annotated[str, typer.Option("--reason", help="Why.")],
    exclusion: Annotated[
        str | None,
        typer.Option("--exclusion", help="With --not-event: encrypted_key_not_compromised or returned_or_destroyed_unused."),
    ] = None,
    determined_at: Annotated[str | None, typer.Option("--determined-at", help="When it was decided (ISO 8601 with offset); default now.")] = None,
    api_url: ApiOption = None,
    token: TokenOption = None,
) -> None:
    """Decide whether a cybersecurity event has occurred; obligations follow from an event."""
    _step(
        api_url, token, _path(incident_id, "determination"),
        {"is_cybersecurity_event": is_event, "reason": reason, "exclusion": exclusion, "determined_at": determined_at},
    )


@incident_app.command()
def amend(
    incident_id: IncidentId,
    summary: Annotated[str | None, typer.Option("--summary", help="What changed.")] = None,
    file: Annotated[
        Path | None, typer.Option("--file", help="An EventAmendment JSON (e.g. new `affected` rows); options override it.")
    ] = None,
    item: Annotated[list[str] | None, typer.Option("--item", help="Commissioner-report item now provided (A–N); repeatable.")] = None,
    delay_until: Annotated[
        str | None, typer.Option("--delay-until", help="End of a law-enforcement delay of consumer notice (ISO 8601).")
    ] = None,
    basis: Annotated[str | None, typer.Option("--basis", help="The law-enforcement request: agency, date, reference.")] = None,
    api_url: ApiOption = None,
    token: TokenOption = None,
) -> None:
    """Record new facts about the event: a material update to every commissioner report."""
    body: dict[str, Any] = dict(_read_json(file, "amendment")) if file else {}
    for key, value in (
        ("summary", summary),
        ("report_items_provided", item),
        ("law_enforcement_delay_until", delay_until),
        ("law_enforcement_basis", basis),
    ):
        if value is not None:
            body[key] = value
    if "summary" not in body:
        _fail("give --summary (or a summary in --file): say what changed", 2)
    _step(api_url, token, _path(incident_id, "amendments"), body)


def _responder(spec: str | None, option: str) -> dict[str, str] | None:
    """``ID,NAME,EMAIL`` → a Responder."""
    if spec is None:
        return None
    parts = [p.strip() for p in spec.split(",")]
    if len(parts) != 3 or not all(parts):
        _fail(f"{option} is 'USER_ID,NAME,EMAIL', e.g. 'dana.whitfield,Dana Whitfield,dana.whitfield@cumberland.example'", 2)
    return {"responder_id": parts[0], "name": parts[1], "email": parts[2]}


@incident_app.command()
def responders(
    incident_id: IncidentId,
    reason: Annotated[str, typer.Option("--reason", help="Why the responders change.")],
    owner: Annotated[
        str | None, typer.Option("--owner", help="The new owner: 'USER_ID,NAME,EMAIL' (work e-mail for reminders).")
    ] = None,
    backup: Annotated[
        str | None, typer.Option("--backup", help="The backup overdue alerts escalate to: 'USER_ID,NAME,EMAIL'.")
    ] = None,
    file: Annotated[
        Path | None, typer.Option("--file", help="Responders JSON (owner and backup), e.g. docs/examples/responders.json.")
    ] = None,
    api_url: ApiOption = None,
    token: TokenOption = None,
) -> None:
    """Change the event's owner or backup: reminders and overdue alerts go to them."""
    team: dict[str, Any] = dict(_read_json(file, "responders")) if file else {}
    for key, value in (("owner", _responder(owner, "--owner")), ("backup", _responder(backup, "--backup"))):
        if value is not None:
            team[key] = value
    if "owner" not in team:
        _fail("give --owner (or --file with an owner): the event needs someone answerable for its deadlines", 2)
    _step(api_url, token, _path(incident_id, "responders"), {"responders": team, "reason": reason})


@incident_app.command("counsel-review")
def counsel_review(
    incident_id: IncidentId,
    obligation_id: Annotated[str, typer.Argument(help="The obligation flagged needs_counsel_review, as `incident obligations` lists it.")],
    decision: Annotated[str, typer.Option("--decision", help="confirmed (the rule as applied) or changed (counsel reads it otherwise).")],
    notes: Annotated[str | None, typer.Option("--notes", help="Counsel's reasoning (privileged: sealed, only its digest is ledgered).")] = None,
    notes_file: Annotated[Path | None, typer.Option("--notes-file", help="Counsel's reasoning, from a text file.")] = None,
    api_url: ApiOption = None,
    token: TokenOption = None,
) -> None:
    """Record counsel's review of an obligation flagged needs_counsel_review (you are the reviewer)."""
    if (notes is None) == (notes_file is None):
        _fail("give counsel's reasoning with exactly one of --notes or --notes-file", 2)
    if notes_file is not None:
        try:
            notes = notes_file.read_text(encoding="utf-8")
        except OSError as exc:
            _fail(f"notes file {notes_file}: {exc.strerror or exc}", 2)
    _step(
        api_url, token, _path(incident_id, "counsel-reviews"),
        {"obligation_id": obligation_id, "decision": decision, "notes": notes},
    )


@incident_app.command()
def reconcile(
    incident_id: IncidentId,
    state: Annotated[str, typer.Option("--state", help="The state whose estimate changes, e.g. TN.")],
    consumers: Annotated[int, typer.Option("--consumers", help="The revised count of affected consumers residing there.")],
    reason: Annotated[str, typer.Option("--reason", help="Why the estimate changed: what was counted, from where.")],
    api_url: ApiOption = None,
    token: TokenOption = None,
) -> None:
    """Revise a state's affected-consumer estimate (report item (I)) after reconciling the roster."""
    _step(
        api_url, token, _path(incident_id, "consumer-reconciliations"),
        {"state": state, "consumers": consumers, "reason": reason},
    )


@incident_app.command("not-applicable")
def not_applicable(
    incident_id: IncidentId,
    item: Annotated[str, typer.Option("--item", help="The commissioner-report item (A–N) that does not apply.")],
    reason: Annotated[str, typer.Option("--reason", help="Why it does not apply to this event.")],
    state: Annotated[str | None, typer.Option("--state", help="Only this state's report (default: every state's).")] = None,
    api_url: ApiOption = None,
    token: TokenOption = None,
) -> None:
    """Mark a commissioner-report item not applicable to this event, with the reason."""
    _step(api_url, token, _path(incident_id, "report-items", "not-applicable"), {"item": item, "state": state, "reason": reason})


@incident_app.command()
def roster(
    incident_id: IncidentId,
    file: Annotated[Path, typer.Argument(help="The affected consumers: CSV with a header row, or a JSON list.")],
    api_url: ApiOption = None,
    token: TokenOption = None,
) -> None:
    """Upload the affected consumers' contact list; prints the counts per state, never the list."""
    try:
        data = file.read_bytes()
    except OSError as exc:
        _fail(f"roster {file}: {exc.strerror or exc}", 2)
    content_type = "text/csv" if file.suffix.lower() == ".csv" else "application/json"
    _print_json(call(api_url, token, "POST", _path(incident_id, "roster"), raw=data, content_type=content_type))


@incident_app.command()
def approve(
    incident_id: IncidentId,
    state: Annotated[list[str] | None, typer.Option("--state", help="Only this state's consumer notice; repeatable. Default: all.")] = None,
    api_url: ApiOption = None,
    token: TokenOption = None,
) -> None:
    """Approve sending the consumer notices."""
    _step(api_url, token, _path(incident_id, "consumer-notice", "approve"), {"jurisdictions": state})


@incident_app.command()
def waive(
    incident_id: IncidentId,
    obligation_id: Annotated[str, typer.Argument(help="The obligation, as `incident obligations` lists it.")],
    reason: Annotated[str, typer.Option("--reason", help="Why the obligation does not apply or was met otherwise.")],
    api_url: ApiOption = None,
    token: TokenOption = None,
) -> None:
    """Waive an obligation, with the reason."""
    _step(api_url, token, _path(incident_id, "obligations", obligation_id, "waive"), {"reason": reason})


@incident_app.command()
def complete(
    incident_id: IncidentId,
    obligation_id: Annotated[str, typer.Argument(help="The obligation, as `incident obligations` lists it.")],
    evidence: Annotated[str, typer.Option("--evidence", help="What was done and where the proof is kept.")],
    evidence_file: Annotated[
        Path | None, typer.Option("--evidence-file", help="The proof itself: its SHA-256 is recorded (the file stays here).")
    ] = None,
    completed_at: Annotated[str | None, typer.Option("--completed-at", help="When it was done (ISO 8601); default now.")] = None,
    api_url: ApiOption = None,
    token: TokenOption = None,
) -> None:
    """Record a notice given outside noticeflow, with its evidence."""
    digest = None
    if evidence_file is not None:
        try:
            digest = hashlib.sha256(evidence_file.read_bytes()).hexdigest()
        except OSError as exc:
            _fail(f"evidence file {evidence_file}: {exc.strerror or exc}", 2)
    _step(
        api_url, token, _path(incident_id, "obligations", obligation_id, "complete"),
        {"evidence": evidence, "evidence_sha256": digest, "completed_at": completed_at},
    )


@incident_app.command()
def close(
    incident_id: IncidentId,
    summary: Annotated[str, typer.Option("--summary", help="How the event ends.")],
    api_url: ApiOption = None,
    token: TokenOption = None,
) -> None:
    """Close the event once every obligation is met or waived."""
    _step(api_url, token, _path(incident_id, "close"), {"summary": summary})


@incident_app.command()
def ledger(
    incident_id: IncidentId,
    after: Annotated[int, typer.Option("--after", help="Only entries with seq greater than this.")] = 0,
    limit: Annotated[int, typer.Option("--limit", help="Entries per page (at most 5000).")] = 1000,
    api_url: ApiOption = None,
    token: TokenOption = None,
) -> None:
    """The incident's ledger entries."""
    query = urllib.parse.urlencode({"after": after, "limit": limit})
    _print_json(call(api_url, token, "GET", f"{_path(incident_id, 'ledger')}?{query}"))


@incident_app.command()
def export(incident_id: IncidentId, api_url: ApiOption = None, token: TokenOption = None) -> None:
    """Write an examination bundle of the incident's ledger entries (on the API's host)."""
    _print_json(call(api_url, token, "POST", _path(incident_id, "export")))


# -- the processes ----------------------------------------------------------------------------------


def worker() -> None:
    """Run the noticeflow worker (every workflow and activity) until Ctrl-C."""
    from noticeflow.cli_temporal import _run_then_exit
    from noticeflow.worker import run_worker

    _run_then_exit(run_worker(get_settings()))


def api(
    host: Annotated[str | None, typer.Option("--host", help="Bind address (default: NOTICEFLOW_API_HOST).")] = None,
    port: Annotated[int | None, typer.Option("--port", help="Port (default: NOTICEFLOW_API_PORT).")] = None,
) -> None:
    """Serve the incident API with uvicorn until Ctrl-C."""
    import os

    import uvicorn

    settings = get_settings()
    bind_host = host or settings.api_host
    if host is not None:
        # The app reads where it is bound from settings (loopback-only access without tokens).
        os.environ["NOTICEFLOW_API_HOST"] = host
        get_settings.cache_clear()
    uvicorn.run(
        "api.app:create_app", factory=True, host=bind_host, port=port or settings.api_port, log_config=None
    )
