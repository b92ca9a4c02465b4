"""What the dashboard tests share: a real ledger holding open and closed events and privacy
lifecycles (signed entries, times relative to now), and a fake identity provider on loopback — an
OpenID Connect provider small enough to read: discovery, an authorize endpoint that redirects back
with a code, a token endpoint that checks the client and the PKCE verifier (S256) and answers an
ID token signed with a key made here, and its JWKS. Nothing leaves the machine."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from ledger.keys import load_signer
from ledger.store import Ledger
from models.ledger import EntryDraft
from noticeflow.settings import Settings

OPEN = "INC-DASH-OPEN"
CLOSED = "INC-DASH-CLOSED"
TN_CN = f"{OPEN}:commissioner_notice:TN:commissioner:TN"
KY_CN = f"{OPEN}:commissioner_notice:KY:commissioner:KY"
DE_CN = f"{OPEN}:commissioner_notice:DE:commissioner:DE"
TN_CONS = f"{OPEN}:consumer_notice:TN:consumers:TN"
MO_PROD = f"{OPEN}:producer_notice:MO:producers_of_record"
CLOSED_CN = f"{CLOSED}:commissioner_notice:VA:commissioner:VA"
TN_CITE = "Tenn. Code Ann. § 56-2-1006(a), (b)"
TN_CONS_CITE = "Tenn. Code Ann. § 56-2-1006(c), (c)(1)–(3)"
KY_CITE = "KRS 304.3-750 to 304.3-768"
DE_CITE = "Del. Code Ann. tit. 18, § 8606(a)"
MO_CITE = "RSMo §§ 375.1400–375.1427"
VA_CITE = "Va. Code § 38.2-625"
REL_WINDOW, REL_LATE, REL_CLOSED = "REL-DASH-9", "REL-DASH-8", "REL-DASH-7"


def _iso(moment: datetime) -> str:
    return moment.isoformat()


@dataclass
class Book:
    now: datetime
    drafts: list[EntryDraft] = field(default_factory=list)

    def add(self, stream: str, type_: str, data: dict[str, Any], *, workflow_id: str, jurisdiction: str | None = None,
            citation: str | None = None, actor: str = "worker") -> None:
        step = f"{stream}/{type_}/{len(self.drafts) + 1}"
        self.drafts.append(EntryDraft(stream=stream, type=type_, step=step, workflow_id=workflow_id, run_id="run-1",
                                      jurisdiction=jurisdiction, citation=citation, actor=actor, data=data))

    def event(self, incident_id: str, discovered: datetime, determined: datetime, licensee: str) -> None:
        stream, wf = f"incident:{incident_id}", f"incident-{incident_id}"
        self.add(stream, "incident.intake_recorded", {
            "discovered_at": _iso(discovered), "licensee": {"kind": "insurer", "name": licensee, "naic_code": "99999"},
            "affected_consumers": {"TN": 1200, "KY": 300}, "source": "licensee",
            "responders": {"owner": "d.whitfield", "backup": "r.ames"},
        }, workflow_id=wf, actor="key:d.whitfield", citation="Tenn. Code Ann. § 56-2-1005")
        self.add(stream, "incident.determined", {"determined_at": _iso(determined), "obligations": []},
                 workflow_id=wf, actor="key:d.whitfield", citation="Tenn. Code Ann. § 56-2-1003")

    def opened(self, obligation_id: str, state: str, citation: str, due: datetime, recipient: str, clock: datetime) -> None:
        incident_id, kind = obligation_id.split(":")[:2]
        self.add(f"incident:{incident_id}", f"{kind}.opened", {
            "obligation_id": obligation_id, "recipient": recipient, "due": _iso(due), "clock_starts_at": _iso(clock),
            "clock_start": "determination", "basis": f"Basis for {state}.", "rule_id": f"{state.lower()}.{kind}",
            "method": None, "needs_counsel_review": False, "counsel_review_reasons": [],
        }, workflow_id=f"obligation-{obligation_id}", jurisdiction=state, citation=citation)

    def lifecycle(self, obligation_id: str, event: str, data: dict[str, Any], state: str, citation: str,
                  actor: str = "worker") -> None:
        incident_id, kind = obligation_id.split(":")[:2]
        self.add(f"incident:{incident_id}", f"{kind}.{event}", {"obligation_id": obligation_id, **data},
                 workflow_id=f"obligation-{obligation_id}", jurisdiction=state, citation=citation, actor=actor)


def scenario(now: datetime) -> list[EntryDraft]:
    """An open event (one obligation overdue, one due in two days, one met on time, one sent late,
    one excused), a closed event, and three privacy relationships: one with an open opt-out window,
    one with its annual notice overdue, one closed."""
    book = Book(now)
    h = timedelta(hours=1)
    d = timedelta(days=1)
    book.event(OPEN, now - 5 * d, now - 4 * d, "Cumberland Mutual Insurance Company")
    book.opened(DE_CN, "DE", DE_CITE, now - 2 * d, "commissioner", now - 4 * d)
    book.opened(TN_CN, "TN", TN_CITE, now - 1 * d, "commissioner", now - 4 * d)
    book.opened(KY_CN, "KY", KY_CITE, now + 2 * d, "commissioner", now - 4 * d)
    book.opened(TN_CONS, "TN", TN_CONS_CITE, now - 6 * h, "consumers", now - 4 * d)
    book.opened(MO_PROD, "MO", MO_CITE, now + 10 * d, "producers_of_record", now - 4 * d)
    sent = {"channel": "regulator_portal", "portal": "outbox", "submission_id": f"{OPEN}-DE-v1", "version": 1}
    book.lifecycle(DE_CN, "sent", {"sent_at": _iso(now - 3 * d), "due": _iso(now - 2 * d), "on_time": True, "evidence": sent},
                   "DE", DE_CITE)
    book.lifecycle(DE_CN, "met", {
        "met_at": _iso(now - 3 * d), "sent_at": _iso(now - 3 * d), "confirmed_at": _iso(now - 3 * d + 2 * h),
        "due": _iso(now - 2 * d), "on_time": True, "sent_evidence": sent,
        "confirmation": {"acknowledgement_reference": "DOI-2026-77", "recorded_by": "portal:de", "version": 1,
                         "received_at": _iso(now - 3 * d + 2 * h), "submission_id": f"{OPEN}-DE-v1", "evidence_sha256": None},
    }, "DE", DE_CITE)
    book.lifecycle(TN_CN, "overdue", {"due": _iso(now - 1 * d), "basis": "Basis for TN."}, "TN", TN_CITE)
    late = {"method": "written", "channels": {"postal": {"sent": 1200, "returned": 0}}}
    book.lifecycle(TN_CONS, "sent", {"sent_at": _iso(now - 2 * h), "due": _iso(now - 6 * h), "on_time": False,
                                     "late_by_seconds": 4 * 3600, "evidence": late}, "TN", TN_CONS_CITE)
    book.lifecycle(MO_PROD, "excused", {"reason": "No current producer-of-record information."}, "MO", MO_CITE)
    # A closed event: shown on its own page, not on the overview.
    book.event(CLOSED, now - 40 * d, now - 39 * d, "Cumberland Mutual Insurance Company")
    book.opened(CLOSED_CN, "VA", VA_CITE, now - 36 * d, "commissioner", now - 39 * d)
    book.lifecycle(CLOSED_CN, "waived", {"reason": "Counsel: no Virginia resident affected."}, "VA", VA_CITE,
                   actor="key:r.ames")
    book.add(f"incident:{CLOSED}", "incident.closed", {"summary": "All notices given."}, workflow_id=f"incident-{CLOSED}",
             actor="key:d.whitfield")
    # Privacy lifecycles.
    for rel in (REL_WINDOW, REL_LATE, REL_CLOSED):
        book.add(f"privacy:{rel}", "privacy_relationship.opened", {"stage": "customer", "consumers": ["C-1"]},
                 workflow_id=f"privacy-relationship-{rel}", jurisdiction="TX", citation="28 TAC § 22.8")
    book.add(f"privacy:{REL_WINDOW}", "opt_out.window_opened", {
        "notice_id": "N-9", "opens_at": _iso(now - 10 * d), "disclosure_allowed_from": _iso(now + 20 * d),
        "reasons": ["30 days after mailing"]}, workflow_id=f"privacy-relationship-{REL_WINDOW}", jurisdiction="TX",
        citation="28 TAC § 22.10(a)(3)")
    book.add(f"privacy:{REL_LATE}", "annual_notice.overdue", {
        "period_end": (now - 3 * d).date().isoformat(), "waiting_for": "the annual notice for policy 2026.1"},
        workflow_id=f"privacy-relationship-{REL_LATE}", jurisdiction="TX", citation="28 TAC § 22.9")
    book.add(f"privacy:{REL_CLOSED}", "privacy_relationship.closed", {"reason": "Policy cancelled.", "opt_outs_on_record": 0},
             workflow_id=f"privacy-relationship-{REL_CLOSED}", jurisdiction="TX", citation="28 TAC § 22.8",
             actor="key:p.ortiz")
    return book.drafts


def record(settings: Settings, drafts: list[EntryDraft]) -> None:
    """Append ``drafts`` to the settings' ledger, signed with its key."""
    ledger = Ledger.open(settings.resolved_db_url(), load_signer(settings.resolved_key_path(), settings.key_passphrase))
    try:
        ledger.append_many(drafts)
    finally:
        ledger.close()


# -- the identity provider ---------------------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


class FakeIdP:
    """An OpenID Connect provider on 127.0.0.1 (see the module docstring). ``user`` is who signs in
    at the authorize endpoint; ``id_token_changes`` alter the next ID tokens (to test refusals)."""

    def __init__(self, client_id: str, client_secret: str | None) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = "idp-2026-01"
        self.user: dict[str, Any] = {"sub": "0f6c-4e21", "preferred_username": "e.marsh", "roles": ["examiner"]}
        self.id_token_changes: dict[str, Any] = {}
        self.sign_with: Any = None  # another private key to sign with (a forged token)
        self.codes: dict[str, dict[str, Any]] = {}
        self.authorize_requests: list[dict[str, str]] = []
        self.token_requests: list[dict[str, Any]] = []
        self.refusals: list[str] = []
        self._server: ThreadingHTTPServer | None = None

    @property
    def issuer(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def jwks(self) -> dict[str, Any]:
        jwk = {**RSAAlgorithm.to_jwk(self.key.public_key(), as_dict=True), "kid": self.kid, "use": "sig", "alg": "RS256"}
        return {"keys": [jwk]}

    # -- endpoints ----------------------------------------------------------------------------------

    def discovery(self) -> dict[str, Any]:
        return {"issuer": self.issuer, "authorization_endpoint": f"{self.issuer}/authorize",
                "token_endpoint": f"{self.issuer}/token", "jwks_uri": f"{self.issuer}/jwks",
                "response_types_supported": ["code"], "code_challenge_methods_supported": ["S256"],
                "id_token_signing_alg_values_supported": ["RS256"]}

    def authorize(self, query: dict[str, str]) -> tuple[int, dict[str, str]]:
        self.authorize_requests.append(query)
        for name, expected in (("response_type", "code"), ("client_id", self.client_id), ("code_challenge_method", "S256")):
            if query.get(name) != expected:
                self.refusals.append(f"authorize: {name}")
                return 400, {}
        if "openid" not in query.get("scope", "").split() or not query.get("code_challenge") or not query.get("nonce"):
            self.refusals.append("authorize: scope, code_challenge or nonce")
            return 400, {}
        code = secrets.token_urlsafe(24)
        self.codes[code] = {"challenge": query["code_challenge"], "nonce": query["nonce"], "redirect_uri": query["redirect_uri"],
                            "user": dict(self.user), "used": False}
        target = f"{query['redirect_uri']}?{urlencode({'code': code, 'state': query.get('state', '')})}"
        return 302, {"Location": target}

    def token(self, form: dict[str, str], authorization: str | None) -> tuple[int, dict[str, Any]]:
        self.token_requests.append(form)
        if self.client_secret is not None:
            expected = "Basic " + base64.b64encode(f"{self.client_id}:{self.client_secret}".encode()).decode()
            if authorization != expected:
                self.refusals.append("token: client authentication")
                return 401, {"error": "invalid_client"}
        grant = self.codes.get(form.get("code", ""))
        if form.get("grant_type") != "authorization_code" or grant is None or grant["used"]:
            self.refusals.append("token: unknown or used code")
            return 400, {"error": "invalid_grant"}
        grant["used"] = True
        if form.get("redirect_uri") != grant["redirect_uri"]:
            self.refusals.append("token: redirect_uri")
            return 400, {"error": "invalid_grant"}
        verifier = form.get("code_verifier", "")
        if _b64(hashlib.sha256(verifier.encode("ascii")).digest()) != grant["challenge"]:
            self.refusals.append("token: PKCE verifier does not match the challenge")
            return 400, {"error": "invalid_grant", "error_description": "PKCE verification failed"}
        now = int(time.time())
        claims = {"iss": self.issuer, "aud": self.client_id, "iat": now, "exp": now + 300, "nonce": grant["nonce"],
                  "auth_time": now, **grant["user"]}
        claims.update(self.id_token_changes)
        claims = {k: v for k, v in claims.items() if v is not None}
        token = jwt.encode(claims, self.sign_with or self.key, algorithm="RS256", headers={"kid": self.kid, "typ": "JWT"})
        return 200, {"access_token": "opaque-" + secrets.token_hex(8), "token_type": "Bearer", "expires_in": 300,
                     "id_token": token}

    # -- serving ------------------------------------------------------------------------------------

    @contextmanager
    def serving(self) -> Iterator[FakeIdP]:
        idp = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _json(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(parts.query).items()}
                if parts.path == "/.well-known/openid-configuration":
                    self._json(200, idp.discovery())
                elif parts.path == "/jwks":
                    self._json(200, idp.jwks())
                elif parts.path == "/authorize":
                    status, headers = idp.authorize(query)
                    self.send_response(status)
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                else:
                    self._json(404, {"error": "not_found"})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                if urlsplit(self.path).path == "/token":
                    self._json(*idp.token(form, self.headers.get("Authorization")))
                else:
                    self._json(404, {"error": "not_found"})

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server = server
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            server.shutdown()
            server.server_close()
            thread.join(5)

