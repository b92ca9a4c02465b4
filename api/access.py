"""Who may do what: the roles, the principal a request acts as, and the one table of route → roles.

Every route of the API is a row of ``ROUTE_ROLES`` (or of ``PUBLIC_ROUTES``, which need no
credentials); ``api/guard.py`` authorises each request against it before the body is read, and
refuses a route missing from it (403: access is never granted by omission). A test checks that
every route of the app is in one of the two, and the role table of ``docs/api.md`` is generated
from here (``role_table_markdown``; ``noticeflow apikey roles --write docs/api.md``).

The roles follow the duties of a licensee's incident response and privacy office:

- ``intake`` opens events and records what the investigation found;
- ``responder`` runs the event: determination, amendments, roster, approvals, waivers,
  completions, acknowledgements, returned notices, closure, responders;
- ``counsel`` reviews the obligations that rest on rules counsel must confirm;
- ``privacy`` works the privacy lifecycles: relationships, policy versions, revised notices, gate
  questions, opt-outs, returned mail, health authorizations;
- ``examiner`` reads and exports, nothing else;
- ``admin`` manages API keys and legal holds (with the retention status of an event's contact
  data: key ids, dates, matters) — and sees no case data.

Every role but ``admin`` may read an event's state, its obligations and its ledger entries (they
hold digests and counts, never a consumer); an examination bundle is written by an examiner or
the responder who files it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from starlette.routing import compile_path

from config.settings import Settings

#: Every route of the API but ``/healthz`` lives under this prefix.
API_PREFIX = "/v1"


class Role(StrEnum):
    INTAKE = "intake"
    RESPONDER = "responder"
    COUNSEL = "counsel"
    PRIVACY = "privacy"
    EXAMINER = "examiner"
    ADMIN = "admin"


#: What each role is for, in the words of the docs.
ROLE_DUTIES: dict[Role, str] = {
    Role.INTAKE: "opens events and records the investigation's findings",
    Role.RESPONDER: "determination, amendments, responders, roster, reconciliations, report items, approvals, "
    "waivers, completions, acknowledgements, returned notices, closure; exports bundles",
    Role.COUNSEL: "counsel reviews of obligations flagged needs_counsel_review",
    Role.PRIVACY: "privacy lifecycles: relationships (bulk registration), policy versions, revised-notice runs, "
    "disclosure-gate questions, opt-outs and revocations, returned mail and acknowledgements, health authorizations; "
    "exports a state's privacy bundle",
    Role.EXAMINER: "reads and exports only",
    Role.ADMIN: "API keys (create, list, revoke); legal holds (set, lift) and retention status; no case data",
}

Kind = Literal["user", "key"]


@dataclass(frozen=True)
class Principal:
    """Who a request acts as: a user signed in through the identity provider, or a named API key."""

    name: str
    kind: Kind
    roles: frozenset[Role]

    @property
    def actor(self) -> str:
        """The ledger's actor: ``user:<name>`` or ``key:<name>``."""
        return f"{self.kind}:{self.name}"

    def holds_any(self, roles: Iterable[Role]) -> bool:
        return not self.roles.isdisjoint(roles)


def parse_roles(values: Iterable[str]) -> frozenset[Role]:
    """Role names → roles; ValueError naming an unknown one and the known ones."""
    roles: set[Role] = set()
    for value in values:
        try:
            roles.add(Role(value.strip().lower()))
        except ValueError:
            known = ", ".join(r.value for r in Role)
            raise ValueError(f"unknown role {value!r}: the roles are {known}") from None
    return frozenset(roles)


# -- the table ---------------------------------------------------------------------------------------

_I, _R, _C, _P, _E, _A = Role.INTAKE, Role.RESPONDER, Role.COUNSEL, Role.PRIVACY, Role.EXAMINER, Role.ADMIN
#: Everyone who works cases reads them; ``admin`` (keys) does not.
READERS = frozenset({_I, _R, _C, _P, _E})
_INCIDENT = f"{API_PREFIX}/incidents/{{incident_id}}"
_OBLIGATION = f"{_INCIDENT}/obligations/{{obligation_id}}"
_RELATIONSHIP = f"{API_PREFIX}/privacy/relationships/{{relationship_id}}"

#: (method, path template) → the roles allowed to call it. The one table: docs are generated from it.
ROUTE_ROLES: dict[tuple[str, str], frozenset[Role]] = {
    ("POST", f"{API_PREFIX}/incidents"): frozenset({_I}),
    ("GET", _INCIDENT): READERS,
    ("GET", f"{_INCIDENT}/obligations"): READERS,
    ("POST", f"{_INCIDENT}/findings"): frozenset({_I}),
    ("POST", f"{_INCIDENT}/determination"): frozenset({_R}),
    ("POST", f"{_INCIDENT}/amendments"): frozenset({_R}),
    ("POST", f"{_INCIDENT}/responders"): frozenset({_R}),
    ("POST", f"{_INCIDENT}/counsel-reviews"): frozenset({_C}),
    ("POST", f"{_INCIDENT}/consumer-reconciliations"): frozenset({_R}),
    ("POST", f"{_INCIDENT}/report-items/not-applicable"): frozenset({_R}),
    ("POST", f"{_INCIDENT}/roster"): frozenset({_R}),
    ("POST", f"{_INCIDENT}/consumer-notice/approve"): frozenset({_R}),
    ("POST", f"{_OBLIGATION}/waive"): frozenset({_R}),
    ("POST", f"{_OBLIGATION}/complete"): frozenset({_R}),
    ("POST", f"{_OBLIGATION}/acknowledgement"): frozenset({_R}),
    ("POST", f"{_OBLIGATION}/returned"): frozenset({_R}),
    ("POST", f"{_INCIDENT}/close"): frozenset({_R}),
    ("GET", f"{_INCIDENT}/ledger"): READERS,
    ("POST", f"{_INCIDENT}/export"): frozenset({_E, _R}),
    # Privacy: policy versions and relationships first (what the lifecycles act on), then each step.
    ("POST", f"{API_PREFIX}/privacy/policies"): frozenset({_P}),
    ("GET", f"{API_PREFIX}/privacy/policies/{{version_id}}"): READERS,
    ("POST", f"{API_PREFIX}/privacy/relationships"): frozenset({_P}),
    ("GET", _RELATIONSHIP): READERS,
    ("POST", f"{_RELATIONSHIP}/disclosure-decisions"): frozenset({_P}),
    ("POST", f"{_RELATIONSHIP}/opt-outs"): frozenset({_P}),
    ("POST", f"{_RELATIONSHIP}/opt-out-revocations"): frozenset({_P}),
    ("POST", f"{_RELATIONSHIP}/returned-mail"): frozenset({_P}),
    ("POST", f"{_RELATIONSHIP}/health-authorizations"): frozenset({_P}),
    ("POST", f"{_RELATIONSHIP}/health-authorization-revocations"): frozenset({_P}),
    ("POST", f"{API_PREFIX}/privacy/revised-notices"): frozenset({_P}),
    ("GET", f"{API_PREFIX}/privacy/revised-notices/{{old_version}}/{{new_version}}"): READERS,
    ("POST", f"{API_PREFIX}/privacy/revised-notices/{{old_version}}/{{new_version}}/marks"): frozenset({_P}),
    ("POST", f"{API_PREFIX}/privacy/export"): frozenset({_E, _P}),
    ("GET", f"{API_PREFIX}/access/api-keys"): frozenset({_A}),
    ("POST", f"{API_PREFIX}/access/api-keys"): frozenset({_A}),
    ("POST", f"{API_PREFIX}/access/api-keys/{{key_id}}/revoke"): frozenset({_A}),
    ("GET", f"{API_PREFIX}/access/whoami"): frozenset(Role),
    ("GET", f"{_INCIDENT}/retention"): frozenset({_A}),
    ("GET", f"{_INCIDENT}/legal-holds"): frozenset({_A}),
    ("POST", f"{_INCIDENT}/legal-holds"): frozenset({_A}),
    ("POST", f"{_INCIDENT}/legal-holds/{{hold_id}}/lift"): frozenset({_A}),
    # The compliance officer's dashboard (api/dashboard.py): HTML pages, a session cookie or a bearer token.
    ("GET", f"{API_PREFIX}/dashboard"): READERS,
    ("GET", f"{API_PREFIX}/dashboard/events/{{incident_id}}"): READERS,
}

#: Routes that need no credentials: health, the API's own description, the dashboard's sign-in.
PUBLIC_ROUTES: frozenset[tuple[str, str]] = frozenset(
    {
        ("GET", "/healthz"),
        ("GET", f"{API_PREFIX}/openapi.json"),
        ("GET", f"{API_PREFIX}/docs"),
        ("GET", f"{API_PREFIX}/docs/oauth2-redirect"),
        # Signing in to the dashboard (api/dashboard.py): its forms carry a CSRF token, read to a small limit.
        ("GET", f"{API_PREFIX}/dashboard/sign-in"),
        ("GET", f"{API_PREFIX}/dashboard/sign-in/oidc"),
        ("GET", f"{API_PREFIX}/dashboard/callback"),
        ("POST", f"{API_PREFIX}/dashboard/sign-in/key"),
        ("POST", f"{API_PREFIX}/dashboard/sign-out"),
    }
)


def _compiled() -> list[tuple[re.Pattern[str], str, frozenset[str]]]:
    methods: dict[str, set[str]] = {}
    for method, template in [*ROUTE_ROLES, *PUBLIC_ROUTES]:
        methods.setdefault(template, set()).add(method)
    return [(compile_path(t)[0], t, frozenset(m)) for t, m in methods.items()]


_TEMPLATES = _compiled()


def match_route(path: str) -> tuple[str, frozenset[str]] | None:
    """The table's path template that ``path`` falls under, with the methods the table lists for
    it; None when no route of the table takes the path."""
    for pattern, template, methods in _TEMPLATES:
        if pattern.match(path):
            return template, methods
    return None


def route_key(method: str, template: str) -> tuple[str, str]:
    """The table's key for a request's method and matched route (``HEAD`` reads as ``GET``)."""
    return ("GET" if method == "HEAD" else method, template)


def roles_for(method: str, template: str) -> frozenset[Role] | None:
    """The roles allowed on a route; None when the table does not list it (refused)."""
    return ROUTE_ROLES.get(route_key(method, template))


def is_public(method: str, template: str) -> bool:
    return route_key(method, template) in PUBLIC_ROUTES


# -- request body limits ---------------------------------------------------------------------------

#: (method, path template) → the body limit of that route, from the settings. Routes not listed
#: take ``Settings.api_max_body_bytes``. A route that carries large uploads registers its own limit
#: (``register_body_limit``) in the module that declares it.
ROUTE_BODY_LIMITS: dict[tuple[str, str], Callable[[Settings], int]] = {}


def register_body_limit(method: str, template: str, limit: Callable[[Settings], int]) -> None:
    """Give one route its own request body limit (bytes), e.g. a roster upload's."""
    ROUTE_BODY_LIMITS[route_key(method, template)] = limit


def body_limit(method: str, template: str | None, settings: Settings) -> int:
    """The largest request body accepted on the route (the global limit when it has none of its own)."""
    if template is not None:
        limit = ROUTE_BODY_LIMITS.get(route_key(method, template))
        if limit is not None:
            return limit(settings)
    return settings.api_max_body_bytes


# -- the docs' role table ----------------------------------------------------------------------------

ROLE_TABLE_BEGIN = "<!-- role table: generated from api/access.py by `noticeflow apikey roles --write docs/api.md` -->"
ROLE_TABLE_END = "<!-- end of role table -->"


def role_table_markdown() -> str:
    """The route → roles table of ``docs/api.md``, in the order of ``ROUTE_ROLES``, then the public routes."""
    lines = ["| Method and path | Roles allowed |", "|---|---|"]
    for (method, path), roles in ROUTE_ROLES.items():
        names = "every role" if roles == frozenset(Role) else ", ".join(f"`{r.value}`" for r in Role if r in roles)
        lines.append(f"| `{method} {path}` | {names} |")
    for method, path in sorted(PUBLIC_ROUTES, key=lambda k: k[1]):
        lines.append(f"| `{method} {path}` | anyone (no credentials) |")
    lines.append("")
    lines.append("| Role | For |")
    lines.append("|---|---|")
    for role in Role:
        lines.append(f"| `{role.value}` | {ROLE_DUTIES[role]} |")
    return "\n".join(lines) + "\n"


def with_role_table(document: str) -> str:
    """``document`` (docs/api.md) with the text between the role table's markers regenerated."""
    start = document.find(ROLE_TABLE_BEGIN)
    end = document.find(ROLE_TABLE_END)
    if start < 0 or end < start:
        raise ValueError(f"the document has no role table markers ({ROLE_TABLE_BEGIN!r} … {ROLE_TABLE_END!r})")
    head = document[: start + len(ROLE_TABLE_BEGIN)]
    return f"{head}\n\n{role_table_markdown()}\n{document[end:]}"


# -- OpenAPI ---------------------------------------------------------------------------------------

BEARER_SCHEME = "bearer"


def annotate_openapi(schema: dict[str, object]) -> dict[str, object]:
    """Mark each operation of ``schema`` with the bearer scheme and its roles (``x-roles``), and
    document the guard's answers (401, 403, 413, 429, 503 — JSON on every route); public
    operations need no credentials."""
    components = schema.setdefault("components", {})
    assert isinstance(components, dict)
    components.setdefault("securitySchemes", {})[BEARER_SCHEME] = {
        "type": "http", "scheme": "bearer",
        "description": "An API key (`nfk_…`, from `noticeflow apikey create`) or, where single sign-on is set up, "
        "an OAuth 2.0 access token in JWT form (RFC 9068) from the identity provider.",
    }
    paths = schema.get("paths", {})
    assert isinstance(paths, dict)
    for path, operations in paths.items():
        for method, operation in operations.items():
            if not isinstance(operation, dict) or method.upper() not in ("GET", "POST", "PUT", "PATCH", "DELETE"):
                continue
            if is_public(method.upper(), path):
                operation["security"] = []
                continue
            roles = roles_for(method.upper(), path) or frozenset()
            operation["security"] = [{BEARER_SCHEME: []}]
            operation["x-roles"] = [r.value for r in Role if r in roles]
            names = ", ".join(r.value for r in Role if r in roles) or "none"
            operation["description"] = (str(operation.get("description") or "") + f"\n\nRoles: {names}.").strip()
            responses = operation.setdefault("responses", {})
            error = {"$ref": "#/components/schemas/ErrorBody"}
            for status, text in (
                ("401", "No bearer token, or one that is unknown, revoked or expired."),
                ("403", "The caller holds none of the route's roles, or the body names another person as the one acting."),
                ("413", "The request body is larger than the route accepts."),
                ("429", "Too many failed authentications from this address; see Retry-After."),
            ):
                entry = responses.setdefault(status, {"description": text})
                entry["description"] = text
                # The guard answers in JSON, whatever the route's own pages are (the dashboard's are HTML).
                entry.setdefault("content", {}).setdefault("application/json", {"schema": error})
            # Credentials that cannot be checked now (the key store's database, the identity provider's keys).
            unavailable = responses.setdefault("503", {"description": "Credentials cannot be checked now, or a service "
                                                       "the route needs cannot be reached; nothing was done."})
            unavailable.setdefault("content", {}).setdefault("application/json", {"schema": error})
    return schema
