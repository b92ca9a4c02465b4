"""The main job, end to end on the embedded stack (``make demo`` / ``noticeflow demo``).

It starts the Temporal dev server (SQLite persistence under the noticeflow home) with its UI, the
codec server, a local mail sink, a worker and the incident API; creates a named API key for each
person it plays (the owner ``c.hale``: intake and responder; counsel ``d.okafor``; the examiner
``tdci.examiner``), ledgered as an operator's act; then drives a realistic event through ``/v1``
the way those people would:

1. intake — a Tennessee-domiciled insurer learns from its claims-imaging vendor (a third-party
   service provider) that claim files of residents of seven states were taken;
2. investigation — the nature and scope, the NPI involved, the vendor's investigation confirmed,
   security restored;
3. determination — a cybersecurity event: the rules engine computes every state's obligations
   and the workflow starts one child workflow per obligation;
4. the affected-consumer roster is uploaded (contact details never enter Temporal), the consumer
   notice approved, and the workflows deliver: commissioner reports to the regulator outbox,
   e-mails to the mail sink, letters to a print batch, substitute notice where the rules call for
   it, producers of record;
5. closure once every obligation is met or waived with its reason.

Then it prints the obligations with their deadlines and status, verifies the whole ledger, writes
an examination bundle, verifies the bundle offline; runs the privacy lifecycles of the insurer's
Texas customers as its privacy officer ``p.ramos`` (``noticeflow/demo_privacy.py``: relationships
imported with their notice history, the disclosure gate, a policy change and its revised-notice
fan-out, a bundle of the state's privacy records); and prints where to look in the Temporal UI.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
from rich.console import Console
from rich.table import Table

from activities import db
from api.access import Role
from api.apikeys import ApiKeyStore, create_api_key, load_pepper
from ledger.bundle_verify import BundleReport
from ledger.keys import load_keyring, load_signer
from ledger.store import Ledger
from ledger.verify import VerifyReport, verify_entries
from noticeflow.cli_apikey import operator_actor
from noticeflow.demo_examiner import (
    ExaminerCheck,
    check_as_examiner,
    filed_checkpoints,
    write_key_statement,
)
from noticeflow.demo_privacy import PrivacyDemoResult, run_privacy_demo
from noticeflow.dev_database import DevDatabase
from noticeflow.devstack import REPO, DevMailSink, DevStack, default_services
from noticeflow.sample_event import (
    RESPONDERS,
    sample_findings,
    sample_roster,
    scale_intake,
)
from noticeflow.settings import Settings
from reports.pdf import find_chromium
from rules.calendar import state_zone

EXAMPLES = REPO / "docs" / "examples"
EVENT = EXAMPLES / "event-tpsp-multistate.json"
NOTICES = EXAMPLES / "notices.json"
#: Consumers the vendor's first estimate counted twice (one claim filed under two folders): the
#: roster is short of Tennessee's estimate by this many until a reconciliation revises it.
TN_DUPLICATES = 8

#: The demo's bounce window: about 9 seconds of no hard bounce confirm an e-mail notice.
DEMO_BOUNCE_WINDOW_DAYS = 0.0001

#: Obligation statuses that need nothing more from anyone.
RESOLVED = frozenset({"met", "met_late", "waived", "excused"})


class DemoError(RuntimeError):
    """A step of the demo did not go as the product promises; the message says which and why."""


@dataclass
class DemoResult:
    incident_id: str
    obligations: list[dict[str, Any]]
    stage: str
    ledger: VerifyReport
    bundle: Path
    bundle_report: BundleReport
    examiner: ExaminerCheck
    mail_messages: int
    ui_url: str | None
    seconds: float
    steps: list[str] = field(default_factory=list)
    privacy: PrivacyDemoResult | None = None


#: The demo's Texas residents: Texas has no insurance data security act (JURISDICTIONS.md), so its
#: general breach law governs — consumer notice within 60 days of the determination and, with 250
#: or more residents, notice to the Attorney General within 30 days (Tex. Bus. & Com. Code
#: § 521.053), filed through the regulator outbox. No producer-of-record data for them (sold direct).
TEXAS = {"state": "TX", "consumers": 640, "material_harm_likely": True, "other_government_notice_required": True,
         "with_email": 410, "without_contact": 0, "notice_cost_usd": "6400", "producers_of_record_known": False}


def sample_intake(now: datetime, incident_id: str, scale: float = 1.0, *, texas: bool = False) -> dict[str, Any]:
    """The example event, its clock set to have started a day and a half ago (its figures times
    ``scale``; see ``noticeflow.demo_population``); with ``texas``, also residents of Texas (the
    demo's: a general breach law and an attorney-general notice)."""
    example = json.loads(EVENT.read_text())
    if texas:
        example["affected"].append(dict(TEXAS))
    intake: dict[str, Any] = scale_intake(example, scale)
    intake["incident_id"] = incident_id
    intake["discovered_at"] = (now - timedelta(hours=36)).isoformat()
    intake["tpsp_notified_at"] = (now - timedelta(hours=30)).isoformat()
    intake["determined_at"] = None
    return intake


#: A person's part while the demo waits: called with the event's state on every poll.
Tend = Callable[[dict[str, Any]], Awaitable[None]]


class ResponderClient:
    """The incident API as a responder's client sees it: a failed call is a :class:`DemoError`.
    ``tokens`` maps a person's name to their API key; ``call(..., as_user=…)`` acts as them (the
    ledger names whoever's key made the call), otherwise as the client's default user."""

    def __init__(self, client: httpx.AsyncClient, tokens: dict[str, str] | None = None) -> None:
        self.client = client
        self.tokens = tokens or {}

    async def call(self, method: str, path: str, *, expect: int = 200, as_user: str | None = None, **kwargs: Any) -> Any:
        if as_user is not None and as_user in self.tokens:
            kwargs["headers"] = {**kwargs.get("headers", {}), "Authorization": f"Bearer {self.tokens[as_user]}"}
        response = await self.client.request(method, path, **kwargs)
        if response.status_code != expect:
            raise DemoError(f"{method} {path} answered {response.status_code}: {response.text}")
        return response.json()

    async def wait_for(
        self, path: str, done: Callable[[dict[str, Any]], bool], what: str, timeout: float, tend: Tend | None = None
    ) -> dict[str, Any]:
        """Poll ``path`` until ``done(state)``; ``tend(state)`` runs on every poll — a person's
        part, e.g. completing an obligation that waits for one."""
        deadline = time.monotonic() + timeout
        while True:
            state: dict[str, Any] = await self.call("GET", path)
            if done(state):
                return state
            if tend is not None:
                await tend(state)
            if time.monotonic() > deadline:
                pending = {o["obligation"]["obligation_id"]: o["waiting_for"] for o in state.get("obligations", [])
                           if o["status"] not in RESOLVED}
                raise DemoError(f"{what} did not happen within {timeout:.0f} s; still waiting: {pending}")
            await asyncio.sleep(0.5)


def demo_settings(settings: Settings) -> Settings:
    """``settings`` for a stack that runs sample events to closure while someone watches. No
    regulator and no real mailbox answers here: the dev outbox stands in for the commissioners'
    acknowledgements (marked simulated in the ledger), and the bounce window — days in production —
    is seconds, so that every notice can be confirmed."""
    update: dict[str, Any] = {"outbox_simulate_acks": True, "bounce_window_days": DEMO_BOUNCE_WINDOW_DAYS}
    return settings.model_copy(update=update)


#: Who plays which part in the demo: the event's owner opens and drives it; counsel (the backup)
#: reviews; the examiner exports the bundle. Each acts with a named API key of their own, so every
#: step in the ledger names its person (``key:c.hale``).
OWNER = RESPONDERS["owner"]["responder_id"]
COUNSEL = RESPONDERS["backup"]["responder_id"]
EXAMINER = "tdci.examiner"
#: The privacy officer runs the privacy lifecycles (noticeflow/demo_privacy.py).
PRIVACY_OFFICER = "p.ramos"
DEMO_PRINCIPALS: dict[str, frozenset[Role]] = {
    OWNER: frozenset({Role.INTAKE, Role.RESPONDER}),
    COUNSEL: frozenset({Role.COUNSEL}),
    EXAMINER: frozenset({Role.EXAMINER}),
    PRIVACY_OFFICER: frozenset({Role.PRIVACY}),
}


def create_demo_keys(settings: Settings) -> dict[str, str]:
    """A named API key for each person the demo plays (``DEMO_PRINCIPALS``), as an operator
    creates them with ``noticeflow apikey create --replace``: ledgered on ``admin:access`` in the
    operator's name, an earlier run's key of the same name revoked. Name → token."""
    url = settings.resolved_db_url()
    ledger = Ledger.open(url, load_signer(settings.resolved_key_path(), settings.key_passphrase))
    engine = db.open_engine(url)
    try:
        store = ApiKeyStore(engine, load_pepper(settings))
        return {
            name: create_api_key(store, ledger, name=name, roles=roles, actor=operator_actor(), replace=True)[1]
            for name, roles in DEMO_PRINCIPALS.items()
        }
    finally:
        ledger.close()
        engine.dispose()


def tn_duplicates(intake: dict[str, Any]) -> int:
    return min(TN_DUPLICATES, next(r["consumers"] for r in intake["affected"] if r["state"] == "TN") - 1)


def sample_event_roster(intake: dict[str, Any]) -> bytes:
    """The roster the demo uploads for ``intake``: every affected consumer but Tennessee's
    double-counted ones (``TN_DUPLICATES``), which a reconciliation then takes out of the estimate."""
    return sample_roster(intake, short_by={"TN": tn_duplicates(intake)})


def _all_resolved(state: dict[str, Any]) -> bool:
    return bool(state["obligations"]) and all(o["status"] in RESOLVED for o in state["obligations"])


def local_due(due: str, state: str) -> str:
    """A deadline as the state's people read it: its clock's local time with the zone's name
    (e.g. ``2026-12-03 23:59 CST``) — the instant the rules computed, shown where it falls."""
    return datetime.fromisoformat(due).astimezone(state_zone(state)).strftime("%Y-%m-%d %H:%M %Z")


def obligations_table(obligations: list[dict[str, Any]]) -> Table:
    table = Table(title="Obligations", show_lines=False, header_style="bold")
    for column in ("state", "obligation", "recipient", "due (state's local time)", "status", "how", "citation"):
        table.add_column(column, overflow="fold", no_wrap=column in ("state", "obligation", "status"))
    for o in sorted(obligations, key=lambda o: (o["obligation"]["jurisdiction"], o["obligation"]["kind"])):
        ob = o["obligation"]
        due = local_due(o["due"], ob["jurisdiction"])
        how = o.get("method") or ""
        if o["status"] == "waived" and o.get("waiver"):
            how = f"waived: {o['waiver']['reason']}"
        elif o["status"] == "excused":
            how = ob.get("excused_reason") or "excused"
        table.add_row(ob["jurisdiction"], ob["kind"], ob["recipient_name"], due, o["status"], how, ob["citation"])
    return table


async def drive_sample_event(
    api: ResponderClient, incident_id: str, say: Callable[[str], None], timeout: float = 300.0, tend: Tend | None = None,
    scale: float = 1.0, texas: bool = False,
) -> dict[str, Any]:
    """Take the sample event from intake to closure through the incident API; the final state.
    ``tend`` plays the responder while the notices go out (see :meth:`ResponderClient.wait_for`)."""
    base = f"/v1/incidents/{quote(incident_id)}"
    now = datetime.now(UTC)
    intake = sample_intake(now, incident_id, scale, texas=texas)
    state = await api.call(
        "POST", "/v1/incidents", expect=201,
        json={"intake": intake, "notices": json.loads(NOTICES.read_text()), "responders": RESPONDERS},
    )
    say(f"intake recorded: {incident_id}, stage {state['stage']}, residents of {', '.join(state['jurisdictions'])}")

    for finding in sample_findings(intake):
        await api.call("POST", f"{base}/findings", json=finding)
        say(f"finding recorded: {finding['kind']}" + (" (privileged: sealed, ledgered by digest)"
                                                       if finding["kind"] in ("internal_review", "counsel_note") else ""))

    state = await api.call(
        "POST", f"{base}/determination",
        json={"is_cybersecurity_event": True,
              "reason": "Claim images with SSNs and health information were taken with the key to decrypt them."},
    )
    say(f"determined a cybersecurity event: {len(state['obligations'])} obligations, stage {state['stage']}")

    duplicates = tn_duplicates(intake)
    roster = sample_event_roster(intake)
    summary = await api.call("POST", f"{base}/roster", expect=201, content=roster, headers={"Content-Type": "text/csv"})
    by_state = ", ".join(f"{code} {counts['consumers']:,}" for code, counts in sorted(summary["by_state"].items()))
    say(f"roster {summary['roster_id']} stored encrypted: {summary['total']:,} consumers ({by_state})")
    if duplicates:
        tn = next(r for r in intake["affected"] if r["state"] == "TN")
        state = await api.call("POST", f"{base}/consumer-reconciliations", json={
            "state": "TN", "consumers": tn["consumers"] - duplicates,
            "reason": f"The roster was matched against the vendor's file index: {duplicates} claim folders were "
                      "counted twice in the first estimate (one claim filed under two folders).",
        })
        say(f"affected Tennessee residents re-estimated {tn['consumers']:,} → {tn['consumers'] - duplicates:,} "
            "(item (I)), with its reason; the next report carries it")

    consumer_states = sorted({o["obligation"]["jurisdiction"] for o in state["obligations"]
                              if o["obligation"]["kind"] == "consumer_notice" and o["status"] not in RESOLVED})
    await api.call("POST", f"{base}/consumer-notice/approve", json={"jurisdictions": consumer_states})
    say(f"consumer notice approved for {', '.join(consumer_states)}; the workflows deliver")

    state = await api.wait_for(base, _all_resolved, "every notice delivered", timeout, tend)
    say("every obligation met, excused or waived")

    for pending in state["counsel_reviews_pending"]:
        ob = next(o["obligation"] for o in state["obligations"] if o["obligation"]["obligation_id"] == pending)
        state = await api.call("POST", f"{base}/counsel-reviews", as_user=COUNSEL, json={
            "obligation_id": pending, "decision": "confirmed",
            "notes": f"Reviewed {ob['citation']} for {ob['jurisdiction']}: the clock and trigger applied match the "
                     "statute as enacted; the notice given meets it.",
        })
    if state["counsel_reviews"]:
        say(f"counsel ({RESPONDERS['backup']['name']}) reviewed {len(state['counsel_reviews'])} obligations resting on unverified rules "
            "(notes sealed, ledgered by digest)")

    await api.call("POST", f"{base}/close", json={"summary": "All notices given; the vendor's access is suspended."})
    state = await api.wait_for(base, lambda s: s["stage"] == "closed", "closure", timeout)
    say(f"event closed; records kept until {state['retain_until']}")
    return state


def sign_and_verify_ledger(settings: Settings) -> VerifyReport:
    """Sign a tree head over the whole ledger (kept, so later truncation shows), then verify every
    entry and every signed head from seq 1 — what ``noticeflow ledger head`` + ``verify`` do."""
    ledger = Ledger.open(settings.resolved_db_url(), load_signer(settings.resolved_key_path(), settings.key_passphrase))
    try:
        ledger.sign_tree_head()
        return verify_entries(ledger.iter_raw(), load_keyring(settings.resolved_key_path()), ledger.stored_heads())
    finally:
        ledger.close()


async def run_demo(settings: Settings, *, console: Console | None = None, timeout: float = 180.0) -> DemoResult:
    """Start the embedded stack, run the sample event, check and export its ledger, stop the stack."""
    # Piped to a file or CI log, rich would wrap the obligations table at 80 columns.
    console = console or Console(width=None if Console().is_terminal else 170)
    started = time.monotonic()
    steps: list[str] = []

    def say(line: str) -> None:
        steps.append(line)
        console.print(f"  [green]✓[/green] {line}")

    settings = demo_settings(settings)
    incident_id = f"INC-DEMO-{datetime.now(UTC):%Y%m%d}-{uuid.uuid4().hex[:6].upper()}"
    services = default_services(settings)
    mail = next((s for s in services if isinstance(s, DevMailSink)), None)
    database = next((s for s in services if isinstance(s, DevDatabase)), None)
    console.print("[bold]Starting the embedded stack[/bold] (Temporal dev server + UI, codec server, mail sink, worker, API)")
    async with DevStack(settings, services=services) as stack:
        say(f"Temporal {stack.address} (SQLite at {stack.db_path}); API {stack.api_url}")
        if database is not None and database.result is not None:
            say(f"database migrated (`noticeflow db upgrade`): {database.result.describe()}")
        tokens = await asyncio.to_thread(create_demo_keys, stack.settings)
        say("API keys created and ledgered (admin:access): " + "; ".join(
            f"key:{name} ({', '.join(r.value for r in Role if r in roles)})" for name, roles in DEMO_PRINCIPALS.items()))
        console.print(f"[bold]Running the sample event[/bold] {incident_id} through {stack.api_url}/v1")
        # The event's owner drives it with their own key; counsel and the examiner use theirs.
        headers = {"Authorization": f"Bearer {tokens[OWNER]}"}
        async with httpx.AsyncClient(base_url=stack.api_url, timeout=120.0, headers=headers) as http:
            api = ResponderClient(http, tokens)
            state = await drive_sample_event(api, incident_id, say, timeout, texas=True)
            console.print(obligations_table(state["obligations"]))

            console.print("[bold]Audit ledger[/bold]")
            report = await asyncio.to_thread(sign_and_verify_ledger, stack.settings)
            if not report.ok:
                raise DemoError(f"the ledger does not verify: {report.problem}")
            say(f"tree head signed; whole ledger verified: {report.entries_checked} entries, "
                f"{report.heads_checked} signed tree heads, root {report.root_hash[:16]}…")
            pdf = find_chromium() is not None
            export = await api.call("POST", f"/v1/incidents/{quote(incident_id)}/export", expect=201, as_user=EXAMINER,
                                    params={"pdf": "true" if pdf else "false"})
            bundle = Path(export["path"])
            say(f"examination bundle of {export['stream']}: {export['entries']} entries, {export['documents']} documents, "
                f"report.html{' and report.pdf' if pdf else ' (no Chromium here: no report.pdf)'} → {bundle}")
            say(f"completeness: {export['completeness']['statement']}")
            examiner = await asyncio.to_thread(examine, stack.settings, incident_id, bundle)
            bundle_report = examiner.report
            if not bundle_report.ok:
                raise DemoError(f"the examination bundle does not verify: {bundle_report.problem}")
            if not examiner.external_ok:
                raise DemoError(f"the external verifier refused the bundle: {examiner.external_first_line}")
            say(f"key statement for the regulator: {examiner.statement}")
            say(f"bundle verified as an examiner would, against the key statement and the {len(examiner.checkpoints)} "
                "checkpoints printed in the filed commissioner reports — by noticeflow and by the external verifier "
                f"(tools/verify_bundle.py, SHA-256 {examiner.verifier_sha256[:16]}…): {examiner.external_first_line}")

            console.print("[bold]The privacy lifecycles[/bold] of the insurer's Texas customers (28 TAC ch. 22), "
                          f"as its privacy officer key:{PRIVACY_OFFICER}")
            privacy = await run_privacy_demo(
                api, say, licensee=settings.licensee_name or json.loads(EVENT.read_text())["licensee"]["name"],
                statement=examiner.statement, checkpoints=examiner.checkpoints, examiner=EXAMINER, timeout=timeout,
            )
        messages = mail.handler.count if mail is not None and mail.handler is not None else 0
        if mail is not None and mail.folder is not None:
            say(f"{messages} e-mail messages caught by the mail sink in {mail.folder}")
        ui_url = stack.ui_url
        if ui_url:
            console.print(f"[bold]Temporal UI[/bold]: {ui_url}/namespaces/{stack.namespace}/workflows"
                          f"?query=NoticeflowIncidentId%3D%22{incident_id}%22")
            console.print(f"  The demo's stack stops now. To browse its workflows afterwards, run `make dev`: it "
                          f"reopens the same Temporal database ({stack.db_path}) and serves the UI until Ctrl-C.")
        console.print(f"Report for the examiner: {bundle / 'report.html'}")
        return DemoResult(
            incident_id=incident_id,
            obligations=state["obligations"],
            stage=state["stage"],
            ledger=report,
            bundle=bundle,
            bundle_report=bundle_report,
            examiner=examiner,
            mail_messages=messages,
            ui_url=ui_url,
            seconds=time.monotonic() - started,
            steps=steps,
            privacy=privacy,
        )


def examine(settings: Settings, incident_id: str, bundle: Path) -> ExaminerCheck:
    """What the examiner holds from outside the bundle, written beside the exports, then checked."""
    held = settings.home / "examiner"
    statement = write_key_statement(
        settings, held / "key-statement.json", settings.licensee_name or json.loads(EVENT.read_text())["licensee"]["name"]
    )
    checkpoints = filed_checkpoints(settings, incident_id, held / incident_id)
    if not checkpoints:
        raise DemoError("no filed commissioner report carries a ledger checkpoint")
    return check_as_examiner(bundle, statement, checkpoints)
