"""The compliance officer's dashboard (api/dashboard.py, api/sessions.py): what it shows, live from
a real ledger, and how a browser signs in — the OpenID Connect code flow with PKCE against a fake
identity provider on loopback (real HTTP), an API key exchanged once for a session, signed cookies
that cannot be forged, stretched or reused after their key is revoked, CSRF-safe forms — and who
may look (every role but admin).

The API runs over ASGI (httpx follows no redirect by itself: each hop is checked); the identity
provider is a real HTTP server on 127.0.0.1 with a key pair made here."""

from __future__ import annotations

import base64
import html
import json
import re
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import pytest_asyncio
from cryptography.hazmat.primitives.asymmetric import rsa

from activities import db
from api.access import PUBLIC_ROUTES, READERS, ROUTE_ROLES, Role
from api.apikeys import ApiKeyStore, load_pepper, revoke_api_keys
from api.app import create_app
from api.dashboard import DASHBOARD, PAGE_ROLES, PUBLIC, DashboardAuth
from api.sessions import new_session
from ledger.keys import generate_key, load_signer
from ledger.store import Ledger
from models.ledger import EntryDraft
from noticeflow.settings import Settings
from tests.api.conftest import OPERATOR, issue_key
from tests.api.dashboard_support import (
    CLOSED,
    OPEN,
    REL_CLOSED,
    REL_LATE,
    REL_WINDOW,
    TN_CN,
    FakeIdP,
    record,
    scenario,
)

HTML = {"Accept": "text/html,application/xhtml+xml"}
CLIENT_ID = "noticeflow-dashboard"
CLIENT_SECRET = "dashboard-client-secret"


# -- fixtures ---------------------------------------------------------------------------------------------


def _settings(tmp_path: Path, **extra: Any) -> Settings:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        home=tmp_path / "home",
        db_url=f"sqlite:///{tmp_path / 'ledger.db'}",
        log_json=False,
        npi_digest_key="dashboard-test-npi-key",
        temporal_ui_url="https://temporal.cumberland.example",
        temporal_namespace="claims",
        **extra,
    )
    return settings


@pytest.fixture
def ledger_settings(tmp_path: Path) -> Settings:
    """A ledger with the dashboard scenario recorded in it (and its signing key)."""
    settings = _settings(tmp_path)
    generate_key(settings.resolved_key_path())
    record(settings, scenario(datetime.now(UTC)))
    return settings


@pytest.fixture
def idp() -> Iterator[FakeIdP]:
    with FakeIdP(CLIENT_ID, CLIENT_SECRET).serving() as provider:
        yield provider


@pytest.fixture
def oidc_settings(ledger_settings: Settings, idp: FakeIdP) -> Settings:
    return ledger_settings.model_copy(update={
        "oidc_client_id": CLIENT_ID, "oidc_client_secret": CLIENT_SECRET, "oidc_issuer": idp.issuer,
        "dashboard_key_sign_in": True,
    })


@pytest_asyncio.fixture
async def browser(oidc_settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """A browser on the dashboard's machine (plain http to loopback): keeps cookies, follows nothing."""
    app = create_app(oidc_settings)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1", headers=HTML,
                                 follow_redirects=False) as client:
        client.app = app  # type: ignore[attr-defined]
        yield client


def _auth(client: httpx.AsyncClient) -> DashboardAuth:
    auth: DashboardAuth = client.app.state.dashboard  # type: ignore[attr-defined]
    return auth


def _mint(client: httpx.AsyncClient, name: str, roles: set[Role], *, kind: str = "user", key_id: str | None = None,
          hours: float = 1.0, now: float | None = None) -> str:
    """A session cookie as the app signs one (what a completed sign-in sets)."""
    session = new_session(name, kind, frozenset(roles), hours=hours, via="test", key_id=key_id, now=now)
    return _auth(client).signer().seal("session", session.payload())


def _use(client: httpx.AsyncClient, cookie: str) -> None:
    """Put a session cookie in the browser's jar, as the server would have set it."""
    client.cookies.set("nf_dashboard", cookie, domain="127.0.0.1", path="/")


def _payload(cookie: str) -> dict[str, Any]:
    body = cookie.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))


def _set_cookie(response: httpx.Response, name: str) -> str:
    (header,) = [h for h in response.headers.get_list("set-cookie") if h.startswith(f"{name}=")]
    return header


async def _sign_in_form(client: httpx.AsyncClient, next_url: str = DASHBOARD) -> str:
    page = await client.get(f"{DASHBOARD}/sign-in", params={"next": next_url})
    assert page.status_code == 200, page.text
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert found, "the sign-in page carries its form's CSRF token"
    return found.group(1)


async def _key_sign_in(client: httpx.AsyncClient, token: str, next_url: str = DASHBOARD) -> httpx.Response:
    csrf = await _sign_in_form(client, next_url)
    return await client.post(f"{DASHBOARD}/sign-in/key", data={"api_key": token, "csrf": csrf, "next": next_url})


async def _code_flow(client: httpx.AsyncClient, idp: FakeIdP, next_url: str = DASHBOARD) -> tuple[httpx.Response, str]:
    """Browser → dashboard → provider → callback, each redirect followed by hand. The callback's
    answer, and the provider's redirect (with the code and state)."""
    start = await client.get(f"{DASHBOARD}/sign-in/oidc", params={"next": next_url})
    assert start.status_code == 303, start.text
    authorize = start.headers["location"]
    assert authorize.startswith(f"{idp.issuer}/authorize?")
    async with httpx.AsyncClient(follow_redirects=False) as internet:
        at_provider = await internet.get(authorize)
    assert at_provider.status_code == 302, idp.refusals
    back = at_provider.headers["location"]
    assert back.startswith("http://127.0.0.1/v1/dashboard/callback?")
    callback = await client.get(back.removeprefix("http://127.0.0.1"))
    return callback, back


# -- the role table ----------------------------------------------------------------------------------------


def test_dashboard_pages_are_for_every_role_but_admin_and_its_sign_in_routes_are_public() -> None:
    for key, roles in PAGE_ROLES.items():
        assert ROUTE_ROLES[key] == roles == READERS
        assert Role.ADMIN not in roles and Role.EXAMINER in roles
    assert PUBLIC <= PUBLIC_ROUTES
    assert not any(path.startswith(DASHBOARD) for _, path in PUBLIC_ROUTES - PUBLIC)


# -- who may look ----------------------------------------------------------------------------------------


async def test_no_session_sends_a_browser_to_sign_in_and_answers_401_to_other_clients(browser: httpx.AsyncClient) -> None:
    page = await browser.get(f"{DASHBOARD}/events/{OPEN}")
    assert page.status_code == 303
    target = urlsplit(page.headers["location"])
    assert target.path == f"{DASHBOARD}/sign-in" and parse_qs(target.query)["next"] == [f"{DASHBOARD}/events/{OPEN}"]
    sign_in = await browser.get(page.headers["location"])
    assert sign_in.status_code == 200 and "Sign in to the compliance dashboard" in sign_in.text
    assert "<script" not in sign_in.text.lower()
    api = await browser.get(DASHBOARD, headers={"Accept": "application/json"})
    assert api.status_code == 401 and api.headers["www-authenticate"] == "Bearer"
    assert "bearer token is required" in api.json()["detail"]


async def test_examiner_sees_the_dashboard_with_a_bearer_key_or_a_session_and_admin_gets_403(
    browser: httpx.AsyncClient, oidc_settings: Settings
) -> None:
    examiner = issue_key(oidc_settings, "e.marsh", {Role.EXAMINER})
    admin = issue_key(oidc_settings, "k.admin", {Role.ADMIN})
    by_key = await browser.get(DASHBOARD, headers={"Authorization": f"Bearer {examiner}"})
    assert by_key.status_code == 200 and "Obligations by due date" in by_key.text
    _use(browser, _mint(browser, "e.marsh", {Role.EXAMINER}))
    by_session = await browser.get(DASHBOARD)
    assert by_session.status_code == 200 and "user:e.marsh" in by_session.text
    refused = await browser.get(DASHBOARD, headers={"Authorization": f"Bearer {admin}", "Accept": "application/json"})
    assert refused.status_code == 403 and "Nothing was done" in refused.json()["detail"]
    _use(browser, _mint(browser, "k.admin", {Role.ADMIN}))
    admin_page = await browser.get(DASHBOARD)
    assert admin_page.status_code == 403 and "Not for your roles" in admin_page.text
    assert OPEN not in admin_page.text, "no case data for admin"
    _use(browser, _mint(browser, "nobody", set()))
    assert (await browser.get(DASHBOARD)).status_code == 403
    assert (await browser.get(DASHBOARD, headers={"Accept": "application/json"})).status_code == 403


async def test_every_case_role_may_open_the_dashboard(browser: httpx.AsyncClient) -> None:
    for role in READERS:
        _use(browser, _mint(browser, f"only-{role.value}", {role}))
        answer = await browser.get(f"{DASHBOARD}/events/{OPEN}")
        assert answer.status_code == 200, (role, answer.text[:200])


async def test_a_session_cookie_opens_only_the_dashboard_not_the_api(browser: httpx.AsyncClient) -> None:
    _use(browser, _mint(browser, "r.ames", {Role.RESPONDER, Role.EXAMINER}))
    assert (await browser.get(DASHBOARD)).status_code == 200
    for method, path in (("GET", f"/v1/incidents/{OPEN}/ledger"), ("POST", f"/v1/incidents/{OPEN}/close"),
                         ("GET", "/v1/access/whoami")):
        answer = await browser.request(method, path, json={"summary": "closing by a forged form"} if method == "POST" else None)
        assert answer.status_code == 401, (method, path, answer.status_code)


# -- what it shows ---------------------------------------------------------------------------------------


async def test_overview_lists_open_obligations_by_due_date_late_in_red_and_in_words(browser: httpx.AsyncClient) -> None:
    _use(browser, _mint(browser, "e.marsh", {Role.EXAMINER}))
    page = (await browser.get(DASHBOARD)).text
    due = page.split('id="due"')[1].split("</section>")[0]
    rows = re.findall(r'<tr id="(ob-[^"]+)" class="ob ([a-z_]+)( late)?">(.*?)</tr>', due, re.DOTALL)
    # Overdue TN commissioner notice (due a day ago), TN consumers (sent late, due 6 h ago), KY (due in 2 days).
    # DE (met on time) and MO (excused) are done: on the event's page only.
    order = [(re.search(r"<strong>([^<]+)</strong> to", r[3]).group(1), re.search(r'class="state">(\w+)<', r[3]).group(1)) for r in rows]
    assert order == [("commissioner notice", "TN"), ("consumer notice", "TN"), ("commissioner notice", "KY")]
    (tn, cons, ky) = rows
    assert tn[2] == " late" and "⚠" in tn[3] and "LATE — still open, overdue by 1 day" in tn[3]
    assert cons[2] == " late" and "LATE by 4 h — sent, confirmation awaited" in cons[3]
    assert ky[2] == "" and re.search(r"○ open — due in (1 day 23 h|2 days)", ky[3])
    for row in rows:  # the event column and the obligation's workflow in the Temporal UI
        assert f'href="/v1/dashboard/events/{OPEN}"' in row[3]
    assert (f"https://temporal.cumberland.example/namespaces/claims/workflows/obligation-{TN_CN.replace(':', '%3A')}"
            in tn[3])
    # The glance counts, and the late marker in words.
    glance = page.split('id="glance"')[1].split("</section>")[0]
    assert re.search(r"<strong>1</strong>open events", glance)
    assert re.search(r"<strong>1</strong>⚠ overdue", glance) and re.search(r"<strong>2</strong>⚠ late", glance)


async def test_overview_draws_each_open_event_timeline_and_links_its_workflows_not_closed_events(browser: httpx.AsyncClient) -> None:
    _use(browser, _mint(browser, "e.marsh", {Role.EXAMINER}))
    page = (await browser.get(DASHBOARD)).text
    section = page.split(f'id="event-{OPEN}"')[1].split("</section>")[0]
    assert "Cumberland Mutual Insurance Company" in section
    assert section.count('<g class="lane') == 5 and section.count('<g class="lane late">') == 2
    assert f'href="/v1/dashboard/events/{OPEN}#ob-{OPEN}-' in section, "lanes link to the rows on the event's page"
    assert f"https://temporal.cumberland.example/namespaces/claims/workflows/incident-{OPEN}" in section
    assert "workflows?query=NoticeflowIncidentId%3D%22INC-DASH-OPEN%22" in section
    assert CLOSED not in page, "a closed event is not on the overview"
    assert "<script" not in page.lower() and '<meta http-equiv="refresh"' in page


async def test_overview_lists_open_privacy_lifecycles_late_first(browser: httpx.AsyncClient) -> None:
    _use(browser, _mint(browser, "e.marsh", {Role.EXAMINER}))
    page = (await browser.get(DASHBOARD)).text
    privacy = page.split('id="privacy"')[1].split("</section>")[0]
    rows = re.findall(r'<tr class="(late)?">(.*?)</tr>', privacy, re.DOTALL)
    assert [re.search(r"<code>privacy:([^<]+)</code>", r[1]).group(1) for r in rows] == [REL_LATE, REL_WINDOW]
    assert rows[0][0] == "late" and "⚠ LATE: annual notice: OVERDUE" in rows[0][1]
    assert rows[1][0] == "" and "nothing late" in rows[1][1] and "1 (the first ends" in rows[1][1]
    assert f"workflows/privacy-relationship-{REL_WINDOW}" in rows[1][1]
    assert REL_CLOSED not in page


async def test_event_page_shows_every_obligation_and_its_steps_and_a_closed_event_says_so(browser: httpx.AsyncClient) -> None:
    _use(browser, _mint(browser, "e.marsh", {Role.EXAMINER}))
    page = (await browser.get(f"{DASHBOARD}/events/{OPEN}")).text
    assert page.count('<tr id="ob-') == 5 and "✔ on time" in page and "not required (excused)" in page
    assert 'class="status-open">open<' in page
    assert page.count('<li id="e') == 12 and page.count("<details>") == 12, "every entry in words, with its JSON"
    table = page.split('<table class="obligations">')[1].split("</table>")[0]
    linked = set(re.findall(r'<a href="#(e\d+)">', table))
    assert linked and all(f'<li id="{anchor}">' in page for anchor in linked), "evidence links to the steps on the page"
    closed = (await browser.get(f"{DASHBOARD}/events/{CLOSED}")).text
    assert 'class="status-closed">closed<' in closed and "waived" in closed
    missing = await browser.get(f"{DASHBOARD}/events/INC-NOPE")
    assert missing.status_code == 404 and "No such event" in missing.text


async def test_dashboard_is_live_a_closing_entry_removes_the_event_and_a_new_obligation_appears(
    browser: httpx.AsyncClient, ledger_settings: Settings
) -> None:
    _use(browser, _mint(browser, "e.marsh", {Role.EXAMINER}))
    assert f'id="event-{OPEN}"' in (await browser.get(DASHBOARD)).text
    due = (datetime.now(UTC) + timedelta(days=3)).isoformat()
    va = f"{OPEN}:commissioner_notice:VA:commissioner:VA"
    record(ledger_settings, [EntryDraft(stream=f"incident:{OPEN}", type="commissioner_notice.opened", step="live/va",
                                        workflow_id=f"obligation-{va}", jurisdiction="VA", citation="Va. Code § 38.2-625",
                                        actor="worker", data={"obligation_id": va, "recipient": "commissioner", "due": due,
                                                              "clock_starts_at": due})])
    assert ">VA<" in (await browser.get(DASHBOARD)).text.split('id="due"')[1].split("</section>")[0]
    record(ledger_settings, [EntryDraft(stream=f"incident:{OPEN}", type="incident.closed", step="live/close",
                                        workflow_id=f"incident-{OPEN}", actor="key:d.whitfield", data={"summary": "done"})])
    after = (await browser.get(DASHBOARD)).text
    assert f'id="event-{OPEN}"' not in after and "No event is open" in after
    assert 'class="status-closed"' in (await browser.get(f"{DASHBOARD}/events/{OPEN}")).text


# -- the session cookie ------------------------------------------------------------------------------------


async def test_tampered_or_expired_cookie_sends_a_browser_to_sign_in_and_answers_401_to_other_clients(
    browser: httpx.AsyncClient,
) -> None:
    good = _mint(browser, "e.marsh", {Role.EXAMINER})
    version, body, mac = good.split(".")
    promoted = _payload(good) | {"roles": ["examiner", "responder"]}
    forged_body = base64.urlsafe_b64encode(json.dumps(promoted).encode()).rstrip(b"=").decode()
    expired = _mint(browser, "e.marsh", {Role.EXAMINER}, now=time.time() - 7200)
    for cookie in (f"{version}.{forged_body}.{mac}", f"{version}.{body}.{mac[:-2]}AA", expired, "not-a-cookie"):
        _use(browser, cookie)
        page = await browser.get(DASHBOARD)
        assert page.status_code == 303, cookie
        assert urlsplit(page.headers["location"]).path == f"{DASHBOARD}/sign-in"
        assert "reason=ended" in page.headers["location"]
        assert _set_cookie(page, "nf_dashboard").startswith('nf_dashboard=""'), "the bad cookie is cleared"
        _use(browser, cookie)
        api = await browser.get(DASHBOARD, headers={"Accept": "application/json"})
        assert api.status_code == 401 and "sign in again" in api.json()["detail"]


async def test_forged_cookies_count_as_failed_sign_ins_and_are_throttled(tmp_path: Path, ledger_settings: Settings) -> None:
    settings = ledger_settings.model_copy(update={"api_auth_failure_limit": 3})
    app = create_app(settings)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1", headers=HTML) as client:
        for _ in range(3):
            _use(client, "v1.e30.AAAA")
            assert (await client.get(DASHBOARD)).status_code == 303
        _use(client, "v1.e30.AAAA")
        throttled = await client.get(DASHBOARD)
        assert throttled.status_code == 429 and int(throttled.headers["retry-after"]) >= 1


async def test_session_cookie_is_httponly_lax_and_secure_with_host_prefix_except_on_loopback_http(
    oidc_settings: Settings,
) -> None:
    token = issue_key(oidc_settings, "e.marsh", {Role.EXAMINER})
    app = create_app(oidc_settings)
    for base, name, secure in (("http://127.0.0.1", "nf_dashboard", False), ("https://dashboard.cumberland.example",
                                                                             "__Host-nf_dashboard", True)):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=base, headers=HTML) as client:
            answer = await _key_sign_in(client, token)
            assert answer.status_code == 303, answer.text
            header = _set_cookie(answer, name).lower()
            assert "httponly" in header and "samesite=lax" in header and "path=/" in header and "max-age=" in header
            assert ("; secure" in header) is secure and "domain=" not in header
            assert (await client.get(DASHBOARD)).status_code == 200


# -- signing in with an API key ------------------------------------------------------------------------


async def test_api_key_is_exchanged_once_for_a_session_that_never_holds_the_key(
    browser: httpx.AsyncClient, oidc_settings: Settings
) -> None:
    token = issue_key(oidc_settings, "e.marsh", {Role.EXAMINER, Role.COUNSEL})
    key_id, secret = token.split("_")[1], token.split("_", 2)[2]
    answer = await _key_sign_in(browser, token, next_url=f"{DASHBOARD}/events/{OPEN}")
    assert answer.status_code == 303 and answer.headers["location"] == f"{DASHBOARD}/events/{OPEN}"
    cookie = browser.cookies["nf_dashboard"]
    assert token not in cookie and secret not in cookie and secret not in json.dumps(_payload(cookie))
    payload = _payload(cookie)
    assert (payload["name"], payload["kind"], payload["key_id"], payload["roles"]) == ("e.marsh", "key", key_id, ["counsel", "examiner"])
    assert payload["exp"] > time.time() + 7 * 3600, "the session lasts dashboard_session_hours"
    # From now on the cookie alone: the key is not sent again.
    page = await browser.get(f"{DASHBOARD}/events/{OPEN}")
    assert page.status_code == 200 and "key:e.marsh" in page.text and token not in page.text
    assert "nf_sign_in_form" not in browser.cookies, "the sign-in form's cookie is spent"


async def test_revoking_the_api_key_ends_its_dashboard_session(browser: httpx.AsyncClient, oidc_settings: Settings) -> None:
    token = issue_key(oidc_settings, "e.marsh", {Role.EXAMINER})
    assert (await _key_sign_in(browser, token)).status_code == 303
    assert (await browser.get(DASHBOARD)).status_code == 200
    ledger = Ledger.open(oidc_settings.resolved_db_url(), load_signer(oidc_settings.resolved_key_path()))
    engine = db.open_engine(oidc_settings.resolved_db_url())
    try:
        revoke_api_keys(ApiKeyStore(engine, load_pepper(oidc_settings)), ledger, "e.marsh", actor=OPERATOR)
    finally:
        ledger.close()
        engine.dispose()
    cookie = browser.cookies["nf_dashboard"]
    ended = await browser.get(DASHBOARD)
    assert ended.status_code == 303 and "reason=ended" in ended.headers["location"]
    notice = await browser.get(ended.headers["location"])
    assert "its API key was revoked" in notice.text
    _use(browser, cookie)
    api = await browser.get(DASHBOARD, headers={"Accept": "application/json"})
    assert api.status_code == 401 and "was revoked" in api.json()["detail"]


async def test_key_sign_in_refuses_a_wrong_key_an_admin_key_and_forms_not_shown_by_the_dashboard(
    browser: httpx.AsyncClient, oidc_settings: Settings
) -> None:
    admin = issue_key(oidc_settings, "k.admin", {Role.ADMIN})
    examiner = issue_key(oidc_settings, "e.marsh", {Role.EXAMINER})
    wrong = await _key_sign_in(browser, examiner[:-4] + "AAAA")
    assert wrong.status_code == 401 and "not valid" in wrong.text and "nf_dashboard" not in browser.cookies
    as_admin = await _key_sign_in(browser, admin)
    assert as_admin.status_code == 403 and "nf_dashboard" not in browser.cookies
    csrf = await _sign_in_form(browser)
    form = {"api_key": examiner, "csrf": csrf, "next": DASHBOARD}
    # No token, a token from another form, a cross-site Origin, a form not urlencoded, a huge form.
    assert (await browser.post(f"{DASHBOARD}/sign-in/key", data={**form, "csrf": ""})).status_code == 403
    assert (await browser.post(f"{DASHBOARD}/sign-in/key", data={**form, "csrf": csrf[:-2] + "xx"})).status_code == 403
    cross = await browser.post(f"{DASHBOARD}/sign-in/key", data=form, headers={"Origin": "https://attacker.example"})
    assert cross.status_code == 403
    assert (await browser.post(f"{DASHBOARD}/sign-in/key", json=form)).status_code == 415
    assert (await browser.post(f"{DASHBOARD}/sign-in/key", data={**form, "pad": "x" * 10_000})).status_code == 413
    assert "nf_dashboard" not in browser.cookies
    del browser.cookies["nf_sign_in_form"]  # a form posted from elsewhere: no form cookie of ours
    assert (await browser.post(f"{DASHBOARD}/sign-in/key", data=form)).status_code == 403
    # The genuine form, posted from the dashboard's own page, works.
    assert (await _key_sign_in(browser, examiner)).status_code == 303


async def test_sign_in_never_redirects_off_the_dashboard(browser: httpx.AsyncClient, oidc_settings: Settings) -> None:
    token = issue_key(oidc_settings, "e.marsh", {Role.EXAMINER})
    for evil in ("https://attacker.example/", "//attacker.example/v1/dashboard", "/v1/incidents/X/close", "/\\attacker.example"):
        answer = await _key_sign_in(browser, token, next_url=evil)
        assert answer.headers["location"] == DASHBOARD, evil


async def test_key_sign_in_is_off_by_default_where_the_identity_provider_is_configured(oidc_settings: Settings) -> None:
    app = create_app(oidc_settings.model_copy(update={"dashboard_key_sign_in": None}))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1", headers=HTML) as client:
        page = await client.get(f"{DASHBOARD}/sign-in")
        assert "Sign in with the identity provider" in page.text and 'name="api_key"' not in page.text
        refused = await client.post(f"{DASHBOARD}/sign-in/key", data={"api_key": "nfk_x", "csrf": "x"})
        assert refused.status_code == 404


async def test_sign_out_needs_the_session_csrf_token_and_clears_the_cookie(browser: httpx.AsyncClient) -> None:
    _use(browser, _mint(browser, "e.marsh", {Role.EXAMINER}))
    page = (await browser.get(DASHBOARD)).text
    csrf = re.search(r'action="/v1/dashboard/sign-out"><input type="hidden" name="csrf" value="([^"]+)"', page).group(1)
    forged = await browser.post(f"{DASHBOARD}/sign-out", data={"csrf": "guess"})
    assert forged.status_code == 403 and (await browser.get(DASHBOARD)).status_code == 200
    out = await browser.post(f"{DASHBOARD}/sign-out", data={"csrf": csrf})
    assert out.status_code == 303 and "reason=signed-out" in out.headers["location"]
    assert "nf_dashboard" not in browser.cookies
    assert (await browser.get(DASHBOARD)).status_code == 303


# -- signing in through the identity provider ----------------------------------------------------------


async def test_oidc_code_flow_with_pkce_ends_with_a_session_cookie_for_the_provider_user(
    browser: httpx.AsyncClient, idp: FakeIdP
) -> None:
    callback, _ = await _code_flow(browser, idp, next_url=f"{DASHBOARD}/events/{OPEN}")
    assert callback.status_code == 303 and callback.headers["location"] == f"{DASHBOARD}/events/{OPEN}", callback.text
    (asked,) = idp.authorize_requests
    assert asked["code_challenge_method"] == "S256" and len(asked["code_challenge"]) == 43
    assert asked["redirect_uri"] == "http://127.0.0.1/v1/dashboard/callback" and asked["scope"] == "openid profile"
    (exchanged,) = idp.token_requests
    assert 43 <= len(exchanged["code_verifier"]) <= 128 and not idp.refusals
    cookie = browser.cookies["nf_dashboard"]
    payload = _payload(cookie)
    assert (payload["name"], payload["kind"], payload["roles"], payload["via"]) == ("e.marsh", "user", ["examiner"], "oidc")
    assert asked["state"] not in cookie and asked["nonce"] not in cookie and exchanged["code_verifier"] not in cookie
    page = await browser.get(f"{DASHBOARD}/events/{OPEN}")
    assert page.status_code == 200 and "user:e.marsh" in page.text
    assert "nf_sign_in_flow" not in browser.cookies, "the flow's cookie is spent"


async def test_oidc_callback_with_a_wrong_state_is_refused_before_the_code_is_exchanged(
    browser: httpx.AsyncClient, idp: FakeIdP
) -> None:
    start = await browser.get(f"{DASHBOARD}/sign-in/oidc")
    async with httpx.AsyncClient() as internet:
        back = (await internet.get(start.headers["location"], follow_redirects=False)).headers["location"]
    code = parse_qs(urlsplit(back).query)["code"][0]
    refused = await browser.get(f"{DASHBOARD}/callback", params={"code": code, "state": "forged-state"})
    assert refused.status_code == 400 and "state does not match" in refused.text
    assert idp.token_requests == [] and "nf_dashboard" not in browser.cookies
    # Without the flow cookie (a callback begun in another browser) it is refused too.
    browser.cookies.clear()
    assert (await browser.get(back.removeprefix("http://127.0.0.1"))).status_code == 400


async def test_an_injected_code_fails_the_pkce_check_at_the_provider(oidc_settings: Settings, idp: FakeIdP) -> None:
    """A code issued to the victim's sign-in, replayed in the attacker's own flow (right state for
    the attacker's cookie): the attacker's verifier does not match the victim's challenge."""
    app = create_app(oidc_settings)

    def client() -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1", headers=HTML)

    async with client() as victim, client() as attacker, httpx.AsyncClient() as internet:
        victim_start = await victim.get(f"{DASHBOARD}/sign-in/oidc")
        stolen = parse_qs(urlsplit((await internet.get(victim_start.headers["location"])).headers["location"]).query)["code"][0]
        attacker_start = await attacker.get(f"{DASHBOARD}/sign-in/oidc")
        attacker_state = parse_qs(urlsplit(attacker_start.headers["location"]).query)["state"][0]
        refused = await attacker.get(f"{DASHBOARD}/callback", params={"code": stolen, "state": attacker_state})
        assert refused.status_code == 401 and "refused the sign-in code" in refused.text
        assert idp.refusals == ["token: PKCE verifier does not match the challenge"]
        assert "nf_dashboard" not in attacker.cookies


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"nonce": "another-sign-in"}, "nonce is not this sign-in's"),
        ({"aud": "another-client"}, "InvalidAudienceError"),
        ({"iss": "https://impostor.example"}, "InvalidIssuerError"),
        ({"exp": int(time.time()) - 3600}, "ExpiredSignatureError"),
        ({"nonce": None}, "nonce"),
        ({"aud": [CLIENT_ID, "another-client"]}, "azp is not this dashboard"),
    ],
    ids=["nonce", "audience", "issuer", "expired", "no-nonce", "azp"],
)
async def test_oidc_id_token_is_refused_unless_nonce_audience_issuer_and_expiry_hold(
    browser: httpx.AsyncClient, idp: FakeIdP, change: dict[str, Any], words: str
) -> None:
    idp.id_token_changes = change
    callback, _ = await _code_flow(browser, idp)
    assert callback.status_code == 401 and words in html.unescape(callback.text), callback.text
    assert "nf_dashboard" not in browser.cookies


async def test_oidc_id_token_signed_by_another_key_is_refused(browser: httpx.AsyncClient, idp: FakeIdP) -> None:
    idp.sign_with = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    callback, _ = await _code_flow(browser, idp)
    assert callback.status_code == 401 and "InvalidSignatureError" in callback.text
    assert "nf_dashboard" not in browser.cookies


async def test_oidc_user_without_a_case_role_gets_no_session(browser: httpx.AsyncClient, idp: FakeIdP) -> None:
    idp.user = {**idp.user, "roles": ["admin"]}
    callback, _ = await _code_flow(browser, idp)
    assert callback.status_code == 403 and "user:e.marsh holds admin" in callback.text
    assert "nf_dashboard" not in browser.cookies


async def test_oidc_provider_error_is_shown_and_no_session_is_made(browser: httpx.AsyncClient) -> None:
    await browser.get(f"{DASHBOARD}/sign-in/oidc")
    denied = await browser.get(f"{DASHBOARD}/callback", params={"error": "access_denied", "error_description": "<b>no</b>"})
    assert denied.status_code == 401 and "access_denied" in denied.text and "<b>no</b>" not in denied.text
    assert "nf_dashboard" not in browser.cookies


async def test_oidc_public_client_signs_in_with_pkce_alone(ledger_settings: Settings) -> None:
    with FakeIdP(CLIENT_ID, None).serving() as public:
        settings = ledger_settings.model_copy(update={"oidc_client_id": CLIENT_ID, "oidc_issuer": public.issuer})
        app = create_app(settings)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1", headers=HTML) as client:
            callback, _ = await _code_flow(client, public)
            assert callback.status_code == 303 and "nf_dashboard" in client.cookies
        (exchanged,) = public.token_requests
        assert exchanged["client_id"] == CLIENT_ID and "client_secret" not in exchanged and not public.refusals


async def test_oidc_discovery_document_naming_another_issuer_is_not_trusted(ledger_settings: Settings, idp: FakeIdP) -> None:
    settings = ledger_settings.model_copy(update={"oidc_client_id": CLIENT_ID, "oidc_issuer": f"{idp.issuer}/"})
    app = create_app(settings)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1", headers=HTML) as client:
        start = await client.get(f"{DASHBOARD}/sign-in/oidc")
        assert start.status_code == 503 and "names another issuer" in start.text
    assert idp.authorize_requests == []


async def test_an_unreadable_session_key_is_a_page_that_says_so_not_a_server_error(ledger_settings: Settings) -> None:
    key_file = ledger_settings.home / "dashboard-session.key"
    key_file.write_text("short\n")
    app = create_app(ledger_settings)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1", headers=HTML) as client:
        page = await client.get(f"{DASHBOARD}/sign-in")
        assert page.status_code == 503 and "session key cannot be read" in page.text and "delete it" in page.text
