"""The demo's privacy act (``make demo``, after the cybersecurity event): the privacy-notice
lifecycles of the same insurer's Texas customers (28 TAC ch. 22), through the API, as its privacy
officer ``p.ramos`` (role ``privacy``) would run them:

1. publish the privacy policy ``v1`` and its notice text (checked against § 22.10, ledgered);
2. register the back file — a few thousand customer relationships with their notice history:
   half had their initial notice (with the opt-out notice) mailed 31 days ago, half 10 days ago;
   some joint (§ 22.13(h)), one in ten reachable by e-mail — contacts sealed, registered in the
   store (``lifecycles=none``); then start the lifecycles of a sample the office follows, which
   take their notice over instead of sending it again;
3. ask the gate about a disclosure for each kind of relationship: allowed after the reasonable
   opportunity to opt out (§ 22.14(b)(1)), refused inside it, refused after an opt-out received
   now (§ 22.2(22));
4. publish ``v2``, which adds a new category of nonaffiliated recipient — a revised notice is
   required (§ 22.12(b)(2)) — and run the revised-notice fan-out over every relationship, its
   progress shown as the batches go, then the counts; the followed lifecycles take the revised
   notice over, and their gate refuses the new disclosure until its window has passed;
5. the examiner exports Texas's privacy records as one bundle and checks it with both verifiers.
"""

from __future__ import annotations

import asyncio
import csv
import io
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from noticeflow.demo_examiner import ExaminerCheck, check_as_examiner
from rules.calendar import state_zone

if TYPE_CHECKING:
    from noticeflow.demo import ResponderClient

PRIVACY_OFFICER = "p.ramos"
#: Relationships of the back file: the first half mailed 31 days ago, the second half 10 days ago.
BACK_FILE = 2000
#: Relationships of each kind whose lifecycle the office follows (and asks the gate about).
FOLLOWED_PER_KIND = 4
EMAIL_EVERY = 10
JOINT_EVERY = 40
#: Relationships per revised-notice batch, and batches per child workflow: progress after each child.
BATCH_SIZE = 250
BATCHES_PER_CHILD = 2

KINDS = ("after_window", "inside_window", "opted_out")
KIND_WORDS = {
    "after_window": "initial notice mailed 31 days ago: the reasonable opportunity has passed",
    "inside_window": "initial notice mailed 10 days ago: still inside the reasonable opportunity",
    "opted_out": "initial notice mailed 31 days ago, opt-out received now",
}

DISCLOSURES_V1: list[dict[str, Any]] = [
    {"npi_category": "application information", "recipient_kind": "nonaffiliated_third_party",
     "recipient_category": "financial service providers", "recipients": ["Harpeth Premium Finance"]},
    {"npi_category": "transaction information", "recipient_kind": "service_provider", "recipient_category": "marketing vendors",
     "exception": "service_provider_joint_marketing"},
]
#: v2: the same, and application information to a new category of nonaffiliated third party.
NEW_RECIPIENT = {"npi_category": "application information", "recipient_kind": "nonaffiliated_third_party",
                 "recipient_category": "auto and home insurers", "recipients": ["Bluebonnet Auto & Home"]}


def policy_record(version: str, licensee: str) -> dict[str, Any]:
    """The insurer's Texas privacy policy ``v1`` or ``v2`` and the text of its notices (§ 22.10)."""
    disclosures = [*DISCLOSURES_V1, *([NEW_RECIPIENT] if version == "v2" else [])]
    recipients = [{"name": "financial service providers", "kind": "nonaffiliated", "examples": ["premium finance companies"]}]
    if version == "v2":
        recipients.append({"name": "auto and home insurers", "kind": "nonaffiliated", "examples": ["automobile and homeowners insurers"]})
    return {
        "policy": {"version_id": version, "effective_on": "2026-01-01" if version == "v1" else "2027-01-01", "jurisdiction": "TX",
                   "collects": ["information from the consumer, such as applications", "information about transactions with us"],
                   "disclosures": disclosures},
        "notice": {
            "notice_id": f"privacy-notice-{version}", "kind": "initial", "format": "full", "policy_version": version,
            "categories_collected": ["information from the consumer, such as applications", "information about transactions with us"],
            "categories_disclosed": [{"name": "application information", "examples": ["name and address", "vehicles and drivers"]},
                                     {"name": "transaction information", "examples": ["premium payment history"]}],
            "recipient_categories": recipients,
            "former_customers": {"discloses_none": True},
            "service_provider_joint_marketing": {"categories": ["transaction information"], "third_party_categories": ["marketing vendors"],
                                                 "states_service_provider_or_joint_marketer": True},
            "opt_out": {"explanation": "You may direct us not to share your information with nonaffiliated third parties.",
                        "methods": ["call 1-800-555-0142", "return the enclosed form"]},
            "confidentiality_security": {"who_has_access": "Only employees who need it to serve you.",
                                         "security_practices_statement": "We keep physical, electronic and procedural safeguards."},
            "exceptions_statement": "We also disclose information to other nonaffiliated third parties as permitted by law.",
        },
        "licensee_name": licensee,
        "contact": {"phone": "1-800-555-0142", "email": "privacy@cumberland.example", "hours": "Mon–Fri 8–5 Central"},
        "signatory": "Paula Ramos, Privacy Officer",
    }


FIRST = ("Marisol", "Jorge", "Linh", "Tameka", "Darnell", "Priya", "Wen", "Rosa", "Caleb", "Imani")
LAST = ("Trevino", "Okonkwo", "Nguyen", "Brooks", "Whitaker", "Raman", "Castillo", "Haddad", "Lindqvist", "Fuentes")
COLUMNS = ("relationship_id", "consumer_id", "name", "email", "address_line1", "city", "region", "postal_code",
           "e_delivery_consent", "transacts_electronically", "relationship", "policy_version", "initial_notice_given_at")


def relationship_id(i: int) -> str:
    return f"TX-REL-{i:06d}"


def mailed_days_ago(i: int) -> int:
    return 31 if i <= BACK_FILE // 2 else 10


def followed() -> dict[str, list[int]]:
    """The relationships of each kind the office follows (their lifecycles started)."""
    half = BACK_FILE // 2
    return {
        "after_window": list(range(1, FOLLOWED_PER_KIND + 1)),
        "opted_out": list(range(FOLLOWED_PER_KIND + 1, 2 * FOLLOWED_PER_KIND + 1)),
        "inside_window": list(range(half + 1, half + FOLLOWED_PER_KIND + 1)),
    }


def back_file_rows(today: datetime, numbers: list[int] | None = None) -> list[dict[str, str]]:
    """One row per consumer (a joint relationship has two rows), for relationships ``numbers``
    (default: the whole back file). Contact data is made up; e-mail only at ``privacy.example``."""
    rows: list[dict[str, str]] = []
    for i in numbers or range(1, BACK_FILE + 1):
        given = (today - timedelta(days=mailed_days_ago(i))).date().isoformat()
        people = [f"CUM-TX-{i:06d}"] + ([f"CUM-TX-{i:06d}-J"] if i % JOINT_EVERY == 0 else [])
        for n, consumer in enumerate(people):
            electronic = i % EMAIL_EVERY == 0
            first, last = FIRST[(i + n) % len(FIRST)], LAST[(i * 7 + n) % len(LAST)]
            rows.append({
                "relationship_id": relationship_id(i), "consumer_id": consumer, "name": f"{first} {last}",
                "email": f"{first.lower()}.{last.lower()}.{i}{'j' if n else ''}@privacy.example" if electronic else "",
                "address_line1": f"{100 + i % 8900} {('Congress', 'Lamar', 'Guadalupe', 'Burnet')[i % 4]} Ave",
                "city": "Austin", "region": "TX", "postal_code": f"787{i % 50:02d}",
                "e_delivery_consent": "true" if electronic else "false", "transacts_electronically": "true" if electronic else "false",
                "relationship": "customer", "policy_version": "v1", "initial_notice_given_at": given,
            })
    return rows


def to_csv(rows: list[dict[str, str]]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


@dataclass
class PrivacyDemoResult:
    registered: dict[str, Any]
    followed: dict[str, Any]
    gate: dict[str, list[dict[str, Any]]]
    diff: dict[str, Any]
    revised: dict[str, Any]
    progress: list[str]
    handed_over: int
    after_revision: dict[str, Any]
    bundle: Path
    examiner: ExaminerCheck
    export: dict[str, Any]
    seconds: float
    gate_counts: dict[str, dict[str, int]] = field(default_factory=dict)


QUESTION = {
    "npi_category": "application information", "purpose": "direct_mail_marketing",
    "recipient": {"name": "Harpeth Premium Finance", "kind": "nonaffiliated_third_party", "category": "financial service providers"},
}


async def _wait_relationship(api: ResponderClient, rid: str, ready: Callable[[dict[str, Any]], bool], what: str,
                             timeout: float) -> dict[str, Any]:
    from noticeflow.demo import DemoError

    deadline = time.monotonic() + timeout
    path = f"/v1/privacy/relationships/{quote(rid)}"
    while True:
        response = await api.client.get(path, headers=_as(api, PRIVACY_OFFICER))
        if response.status_code == 200 and ready(state := response.json()):
            return dict(state)
        if time.monotonic() > deadline:
            raise DemoError(f"relationship {rid}: {what} did not happen within {timeout:.0f} s ({response.status_code})")
        await asyncio.sleep(0.3)


def _as(api: ResponderClient, who: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {api.tokens[who]}"}


def _windows_settled(kind: str) -> Callable[[dict[str, Any]], bool]:
    def ready(state: dict[str, Any]) -> bool:
        windows = state.get("windows") or []
        return bool(windows) and (kind == "inside_window" or all(w["closed"] for w in windows))

    return ready


async def run_privacy_demo(
    api: ResponderClient, say: Callable[[str], None], *, licensee: str, statement: Path, checkpoints: list[Path],
    examiner: str, timeout: float = 180.0,
) -> PrivacyDemoResult:
    """Run the privacy act through the API (see the module docstring); its figures."""
    from noticeflow.demo import DemoError

    started = time.monotonic()
    me = PRIVACY_OFFICER

    async def call(method: str, path: str, *, expect: int = 200, as_user: str = me, **kwargs: Any) -> Any:
        return await api.call(method, path, expect=expect, as_user=as_user, **kwargs)

    v1 = await call("POST", "/v1/privacy/policies", expect=201, json=policy_record("v1", licensee))
    say(f"privacy policy v1 published by key:{me}: notice text checked against 28 TAC § 22.10, sha256 {v1['sha256'][:12]}…, "
        f"ledgered (privacy_policy:v1, seq {v1['ledger_seq']})")

    today = datetime.now(state_zone("TX"))
    rows = back_file_rows(today)
    registered = await call("POST", "/v1/privacy/relationships", expect=201, params={"lifecycles": "none"},
                            content=to_csv(rows), headers={"Content-Type": "text/csv"})
    half = BACK_FILE // 2
    say(f"back file registered: {registered['relationships']:,} Texas customer relationships ({registered['joint']} joint, "
        f"{registered['consumers']:,} consumers, contact data sealed), with their notice history — {half:,} initial notices "
        f"mailed 31 days ago, {BACK_FILE - half:,} 10 days ago; {registered['ledger_entries']:,} registrations ledgered")

    sample = followed()
    numbers = sorted(n for ns in sample.values() for n in ns)
    lifecycles = await call("POST", "/v1/privacy/relationships", expect=201, content=to_csv(back_file_rows(today, numbers)),
                            headers={"Content-Type": "text/csv"})
    say(f"lifecycles started for {lifecycles['lifecycles_started']} of them the privacy office follows: each takes its "
        "initial notice over (not sent again) and runs its reasonable opportunity to opt out from the mailing date")
    states: dict[int, dict[str, Any]] = {}
    for kind, ns in sample.items():
        for n in ns:
            states[n] = await _wait_relationship(api, relationship_id(n), _windows_settled(kind), "its opt-out window", timeout)

    for n in sample["opted_out"]:
        rid = relationship_id(n)
        await call("POST", f"/v1/privacy/relationships/{rid}/opt-outs",
                   json={"election_id": f"OPT-{rid}", "consumer_ref": states[n]["consumer_refs"][0], "received_by": me})
    say(f"{len(sample['opted_out'])} opt-outs received now (28 TAC § 22.2(22)): in effect before the answer")

    gate: dict[str, list[dict[str, Any]]] = {kind: [] for kind in KINDS}
    for kind in KINDS:
        for n in sample[kind]:
            rid = relationship_id(n)
            decision = await call("POST", f"/v1/privacy/relationships/{rid}/disclosure-decisions",
                                  json={**QUESTION, "request_id": f"GATE-{kind}-{n}"})
            gate[kind].append({"relationship_id": rid, **decision})
    counts = {kind: {"allowed": sum(d["allowed"] for d in ds), "refused": sum(not d["allowed"] for d in ds)} for kind, ds in gate.items()}
    for kind in KINDS:
        first = gate[kind][0]
        when = ""
        if not first["allowed"] and first.get("first_allowed_at"):
            when = f", allowed from {datetime.fromisoformat(first['first_allowed_at']).astimezone(state_zone('TX')):%Y-%m-%d %H:%M %Z}"
        say(f"gate — {KIND_WORDS[kind]}: {counts[kind]['allowed']} allowed, {counts[kind]['refused']} refused "
            f"({first['rule_id']}, {first['citation']}{when}); each decision ledgered in key:{me}'s name")
    expected = {"after_window": (FOLLOWED_PER_KIND, 0), "inside_window": (0, FOLLOWED_PER_KIND), "opted_out": (0, FOLLOWED_PER_KIND)}
    wrong = {k: c for k, c in counts.items() if (c["allowed"], c["refused"]) != expected[k]}
    if wrong:
        raise DemoError(f"the gate did not answer as the rules say: {wrong}")

    v2 = await call("POST", "/v1/privacy/policies", expect=201, params={"compare_to": "v1"}, json=policy_record("v2", licensee))
    diff = v2["diff"]
    change = next(c for c in diff["changes"] if c["requires_revised_notice"])
    say(f"privacy policy v2 published: {change['message']} — revised notice required ({change['citation']})")

    run = await call("POST", "/v1/privacy/revised-notices", expect=201,
                     json={"old_version": "v1", "new_version": "v2", "batch_size": BATCH_SIZE, "batches_per_child": BATCHES_PER_CHILD})
    progress_lines: list[str] = []
    seen = -1
    deadline = time.monotonic() + timeout
    path = "/v1/privacy/revised-notices/v1/v2"
    while True:
        state = await call("GET", path)
        c = state["counts"]
        if c["processed"] != seen and state["phase"] in ("delivering", "waiting_for_windows"):
            seen = c["processed"]
            line = (f"revised notice v1 → v2: {c['processed']:,} of {c['targeted']:,} relationships handled — sent {c['sent']:,} "
                    f"(letters {c['mail']:,}, e-mails {c['email']:,}), pending {state['pending']:,}")
            progress_lines.append(line)
            say(line)
        if state["phase"] in ("waiting_for_windows", "completed", "refused", "not_required"):
            break
        if time.monotonic() > deadline:
            raise DemoError(f"the revised-notice run did not deliver within {timeout:.0f} s: {state['waiting_for']}")
        await asyncio.sleep(0.4)
    if state["phase"] != "waiting_for_windows" or state["counts"]["sent"] != state["counts"]["targeted"]:
        raise DemoError(f"the revised-notice run ended {state['phase']}: {state['counts']}")
    window = datetime.fromisoformat(state["next_window_closes"]).astimezone(state_zone("TX"))
    say(f"revised notices delivered ({run['workflow_id']}): {state['counts']['sent']:,} of {state['counts']['targeted']:,} — "
        f"{state['counts']['mail']:,} letters in print batches, {state['counts']['email']:,} e-mails; the new disclosure opens per "
        f"relationship when the reasonable opportunity ends, {window:%Y-%m-%d %H:%M %Z} (28 TAC § 22.14(b)), unless it opted out")

    handed = 0
    for n in numbers:
        rid = relationship_id(n)
        await _wait_relationship(api, rid, lambda s: s["policy_version"] == "v2" and any(
            d["kind"] == "revised" for d in s["deliveries"]), "the revised notice's hand-off", timeout)
        handed += 1
    probe = relationship_id(sample["after_window"][0])
    after = await call("POST", f"/v1/privacy/relationships/{probe}/disclosure-decisions",
                       json={**QUESTION, "request_id": f"GATE-v2-{probe}",
                             "recipient": {"name": "Bluebonnet Auto & Home", "kind": "nonaffiliated_third_party",
                                           "category": "auto and home insurers"}})
    if after["allowed"]:
        raise DemoError(f"the gate allowed the new disclosure before the revised notice's window ended: {after}")
    say(f"the {handed} followed lifecycles took the revised notice over; their gate refuses application information to "
        f"auto and home insurers until its window ends ({after['rule_id']}, {after['citation']})")

    export = await call("POST", "/v1/privacy/export", expect=201, as_user=examiner, params={"jurisdiction": "TX"})
    bundle = Path(export["path"])
    say(f"examination bundle of Texas's privacy records (every stream with a TX entry), written by key:{examiner}: "
        f"{export['entries']:,} entries — {export['completeness']['statement']} → {bundle}")
    check = await asyncio.to_thread(check_as_examiner, bundle, statement, checkpoints)
    if not check.report.ok:
        raise DemoError(f"the privacy bundle does not verify: {check.report.problem}")
    if not check.external_ok:
        raise DemoError(f"the external verifier refused the privacy bundle: {check.external_first_line}")
    say(f"privacy bundle verified by noticeflow and by the external verifier: {check.external_first_line}")
    return PrivacyDemoResult(
        registered=registered, followed=lifecycles, gate=gate, diff=diff, revised=state, progress=progress_lines, handed_over=handed,
        after_revision=after, bundle=bundle, examiner=check, export=export, seconds=time.monotonic() - started, gate_counts=counts,
    )
