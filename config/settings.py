"""Configuration: ``NOTICEFLOW_*`` environment variables, then ``.env``, then defaults.

One place for every knob, so that the CLI, the worker and the API read the same values.
"""

from __future__ import annotations

from datetime import timedelta
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

#: Everything noticeflow writes on a developer machine lives here (ignored by git).
DEFAULT_HOME = Path(".noticeflow")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="NOTICEFLOW_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    home: Path = Field(DEFAULT_HOME, description="Directory for local state (dev server, keys, ledger).")
    db_url: str = Field(
        "",
        description="SQLAlchemy URL of the ledger database; SQLite under `home` when empty. "
        "PostgreSQL: postgresql+psycopg://user:pass@host:5432/noticeflow",
    )
    key_path: Path | None = Field(
        None,
        description="Ledger signing key: a key directory written by `noticeflow ledger keygen` "
        "(its active key is used) or one private-key PEM file. Default: `home`/keys.",
    )
    key_passphrase: str | None = Field(None, description="Passphrase of an encrypted private key.")
    ledger_origin: str = Field(
        "noticeflow.example/ledger",
        description="Origin line and key name of the ledger's C2SP checkpoints (a schema-less URL, "
        "no spaces or '+'), e.g. ledger.acme-insurance.example/notices.",
    )
    licensee_name: str | None = Field(
        None, description="The licensee's legal name, as written in the key statement filed with regulators."
    )
    log_level: str = Field("INFO", description="Minimum log level.")
    log_json: bool = Field(True, description="JSON logs (production) or console logs (development).")

    # -- Temporal ---------------------------------------------------------------------------
    temporal_address: str = Field("localhost:7233", description="Temporal frontend host:port.")
    temporal_namespace: str = Field("default", description="Temporal namespace.")
    task_queue: str = Field("noticeflow", description="Task queue of the noticeflow worker.")
    worker_max_concurrent_workflow_tasks: int = Field(
        4, ge=1, le=200,
        description="Workflow tasks one worker process runs at a time. Workflow code holds Python's GIL, so more at once "
        "only makes each slower: after a worker restart every running event replays its history, and too many "
        "replays at once each exceed Temporal's 10-second workflow-task timeout and start over (none finishes).",
    )
    workflow_sandbox: Literal["shared", "checking"] = Field(
        "shared",
        description="How the worker sandboxes workflow code. 'shared': noticeflow's workflow modules load once per worker "
        "and each run gets a fresh sandbox around them (half the CPU per run; production). 'checking': the modules are "
        "imported afresh for every run, so workflow code that reads the wall clock, does I/O or keeps state between "
        "runs fails at once (the test suite runs it).",
    )
    temporal_tls_cert: Path | None = Field(
        None, description="Client certificate (PEM) for mutual TLS to the Temporal frontend; with temporal_tls_key. "
        "Production runs Temporal with mTLS: without a certificate its CA signed, nothing reaches the frontend.",
    )
    temporal_tls_key: Path | None = Field(None, description="Private key (PEM) of temporal_tls_cert.")
    temporal_tls_ca: Path | None = Field(
        None, description="CA certificate(s) (PEM) that signed the frontend's certificate. Default: the system's roots."
    )
    temporal_tls_server_name: str | None = Field(
        None, description="Name to verify the frontend's certificate against, when it differs from temporal_address's host."
    )
    temporal_ui_port: int = Field(8233, description="Port of the Temporal UI of the embedded dev server.")
    codec_key: str | None = Field(
        None,
        description="Base64 of the 32-byte AES-256-GCM key that encrypts Temporal payloads. "
        "Default: read (or created on first use) at `home`/codec.key.",
    )
    codec_server_port: int = Field(8081, description="Port of the payload codec server for the Temporal UI.")
    reminder_offsets: list[timedelta] = Field(
        default_factory=lambda: [timedelta(hours=24), timedelta(hours=4)],
        description="Reminders before each obligation's deadline (ISO 8601 durations, e.g. PT24H).",
    )

    # -- delivery -----------------------------------------------------------------------------
    smtp_host: str = Field("localhost", description="SMTP relay for e-mail notices.")
    smtp_port: int = Field(1025, description="SMTP port.")
    smtp_starttls: bool = Field(False, description="Upgrade the SMTP connection with STARTTLS.")
    smtp_username: str | None = None
    smtp_password: str | None = None
    mail_from: str = Field("notices@licensee.example", description="Sender of e-mail notices.")
    bounce_window_days: float = Field(
        3.0,
        gt=0,
        description="Days after an e-mail notice is sent during which a hard bounce may still come back: the notice "
        "is confirmed (its obligation met) only when none did.",
    )
    bounce_maildir: Path | None = Field(
        None,
        description="The licensee's bounce mailbox as a Maildir directory (new/, cur/, tmp/): the relay's delivery "
        "status notifications (RFC 3464) are read from it during the bounce window, and a hard bounce reopens "
        "its recipient. None: bounces are recorded by a person (report_returned).",
    )
    acknowledgement_tracking_business_days: int = Field(
        10,
        ge=1,
        description="After the event is closed, a regulator's acknowledgement of a filing is still asked for until this "
        "many business days after the last filing; then a final acknowledgement_missing entry says none came.",
    )
    outbox_simulate_acks: bool = Field(
        False,
        description="DEMO AND DEV ONLY: the regulator outbox writes a simulated acknowledgement (reference SIM-…, "
        "marked simulated) for each filing when it is first polled. Never in production: a commissioner notice is "
        "met only on the regulator's own acknowledgement.",
    )
    npi_digest_key: str | None = Field(
        None,
        description="Secret for the HMAC digests that stand for consumers in the ledger. "
        "Default: read (or created on first use) at `home`/npi-digest.key.",
    )

    # -- personal information at rest (activities/contact_store.py; docs/operations.md) ---------------
    contact_kek: str | None = Field(
        None,
        description="Key-encryption key(s) of consumers' contact data: base64 of 32-byte AES-256 keys, newest first, "
        "separated by commas. Each incident's (and each privacy consumer's) data key is wrapped under the newest. "
        "Default: contact_kek_file.",
    )
    contact_kek_file: Path | None = Field(
        None,
        description="File holding the key-encryption key(s), one base64 key per line, newest first. Default: "
        "`home`/contact-kek.key, created (0600) on first use. Keep it out of the database's backups.",
    )
    roster_max_bytes: int = Field(
        64 << 20, gt=0, description="Largest roster upload (bytes) the incident API accepts; larger is 413."
    )
    roster_max_rows: int = Field(
        1_000_000, gt=0, description="Most consumers one roster upload may list; more is 413."
    )

    # -- alerts to the event's responders ----------------------------------------------------------
    alert_webhook_url: str | None = Field(
        None,
        description="Incoming-webhook URL (Slack, Teams or any JSON endpoint) that receives every reminder, "
        'overdue alert and escalation as {"text": …, "noticeflow": {…}}. Empty: e-mail only.',
    )
    alert_ui_url: str | None = Field(
        None,
        description="Link put in alerts, with {workflow_id} replaced, e.g. "
        "http://localhost:8233/namespaces/default/workflows/{workflow_id}. Empty: no link.",
    )

    # -- incident API ---------------------------------------------------------------------------
    api_host: str = Field("127.0.0.1", description="Incident API bind address.")
    api_port: int = Field(8000, description="Incident API port.")
    api_step_timeout: float = Field(
        30.0,
        gt=0,
        description="Seconds the incident API waits for the worker to complete a step (an update) before "
        "answering 504 — the step may still be taken; the caller checks the state before repeating it.",
    )
    api_idempotency_ttl_hours: float = Field(
        24.0,
        gt=0,
        description="Hours the incident API keeps the answer to a POST sent with an Idempotency-Key, to replay it "
        "for a retry with the same key (api/idempotency.py).",
    )
    api_key_pepper: str | None = Field(
        None,
        description="Server-side secret mixed into the stored hash of every API key (HMAC-SHA-256). "
        "Default: read (or created on first use, mode 0600) at `home`/api-key-pepper.key. Changing it invalidates "
        "every API key.",
    )
    actor_assertion_key_file: Path | None = Field(
        None,
        description="The API's Ed25519 key (PKCS#8 PEM) that signs the actor assertion it attaches to every workflow "
        "start and step, so that the ledger records a step in a person's name only when the API authenticated that "
        "person. Default: `home`/actor-assertion.key, created (0600) on first use.",
    )
    actor_assertion_trusted_keys: Annotated[list[Path], NoDecode] = Field(
        default_factory=list,
        description="The worker's trusted assertion keys: PEM files (public keys, or private keys whose public half "
        "is taken), separated by commas in the environment. Default: the public half of actor_assertion_key_file "
        "(a single-host install). List the old and the new key while rotating.",
    )
    actor_assertion_ttl_seconds: int = Field(
        300, ge=5, le=3600, description="How long an actor assertion stays valid after the API issues it."
    )
    actor_assertion_skew_seconds: int = Field(
        60, ge=0, le=600, description="Clock difference allowed between the API's host and the Temporal server."
    )
    api_max_body_bytes: int = Field(
        1_048_576,
        gt=0,
        description="Largest request body the incident API reads (bytes); a larger one is answered 413. Routes "
        "that take uploads may have their own limit (api/access.py register_body_limit).",
    )
    api_auth_failure_limit: int = Field(
        10,
        ge=1,
        description="Failed authentications (a wrong, revoked or expired credential) from one client address within "
        "api_auth_failure_window_seconds after which its requests are answered 429 with Retry-After.",
    )
    api_auth_failure_window_seconds: float = Field(
        60.0, gt=0, description="The sliding window of api_auth_failure_limit, in seconds."
    )
    # -- single sign-on (api/sso.py; docs/operations.md "Single sign-on") ------------------------
    sso_issuer: str | None = Field(
        None,
        description="The identity provider's issuer identifier, exactly as its access tokens' `iss` claim says it. "
        "Empty: no single sign-on.",
    )
    sso_audience: str | None = Field(
        None, description="This API's audience: access tokens must list it in `aud` (RFC 9068 §2.2)."
    )
    sso_jwks_url: str | None = Field(
        None, description="The provider's `jwks_uri` (https; http only from loopback). Or use sso_jwks_file."
    )
    sso_jwks_file: Path | None = Field(
        None, description="A JWKS file with the provider's signing keys, read again when it changes."
    )
    sso_roles_claim: str = Field(
        "roles",
        description="The claim with the caller's roles or groups: a claim name or a dotted path (realm_access.roles).",
    )
    sso_name_claim: str = Field(
        "preferred_username", description="The claim with the caller's user name (falls back to `sub`)."
    )
    sso_role_map: dict[str, str] = Field(
        default_factory=dict,
        description="Provider role or group → noticeflow role (JSON, e.g. {\"ir-team\": \"responder\"}). "
        "Empty: the provider's values are taken as noticeflow role names.",
    )

    # -- the compliance officer's dashboard (api/dashboard.py, api/sessions.py; docs/operations.md "Dashboard") --
    oidc_client_id: str | None = Field(
        None,
        description="The dashboard's OpenID Connect client id at the identity provider (authorization code flow with "
        "PKCE). Empty: no sign-in through the identity provider.",
    )
    oidc_client_secret: str | None = Field(
        None, description="The client's secret (client_secret_basic); empty for a public client (PKCE only)."
    )
    oidc_issuer: str | None = Field(
        None, description="The issuer of the ID tokens (`iss`). Default: sso_issuer."
    )
    oidc_authorize_url: str | None = Field(
        None, description="The provider's authorization endpoint. Default: from its discovery document."
    )
    oidc_token_url: str | None = Field(
        None, description="The provider's token endpoint. Default: from its discovery document."
    )
    oidc_jwks_url: str | None = Field(
        None,
        description="Where the ID tokens' signing keys are. Default: the single sign-on JWKS (sso_jwks_url or "
        "sso_jwks_file), else the discovery document's jwks_uri.",
    )
    oidc_redirect_url: str | None = Field(
        None,
        description="The redirect URI registered for the client: https://<dashboard host>/v1/dashboard/callback. "
        "Default: this API's own address seen by the browser (fine on loopback; set it behind a proxy).",
    )
    oidc_scope: str = Field("openid profile", description="Scopes asked for at sign-in (openid is required).")
    dashboard_session_key: str | None = Field(
        None,
        description="Secret that signs the dashboard's session cookies. Default: read (or created on first use, "
        "mode 0600) at `home`/dashboard-session.key. Changing it ends every session.",
    )
    dashboard_session_hours: float = Field(
        8.0, gt=0, le=24 * 7, description="Hours a dashboard session lasts before the user signs in again."
    )
    dashboard_key_sign_in: bool | None = Field(
        None,
        description="Whether an API key may be exchanged for a dashboard session (POST /v1/dashboard/sign-in/key). "
        "Default: yes unless OpenID Connect sign-in is configured.",
    )
    temporal_ui_url: str | None = Field(
        None,
        description="Base address of the Temporal UI the dashboard links to, e.g. https://temporal.acme.example. "
        "Default: http://127.0.0.1:`temporal_ui_port` (the dev stack's).",
    )

    def resolved_db_url(self) -> str:
        if self.db_url:
            return self.db_url
        return f"sqlite:///{(self.home / 'ledger.db').as_posix()}"

    @field_validator("actor_assertion_trusted_keys", mode="before")
    @classmethod
    def _comma_separated(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    def resolved_actor_assertion_key_file(self) -> Path:
        return self.actor_assertion_key_file or self.home / "actor-assertion.key"

    def resolved_key_path(self) -> Path:
        return self.key_path if self.key_path is not None else self.home / "keys"

    @property
    def documents_dir(self) -> Path:
        """Rendered notices and reports, stored by content digest."""
        return self.home / "documents"

    @property
    def outbox_dir(self) -> Path:
        """Deliveries handed to people or vendors: print batches, website postings, portal filings."""
        return self.home / "outbox"


@lru_cache
def get_settings() -> Settings:
    return Settings()
