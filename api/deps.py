"""What every route needs: settings, the Temporal gateway, the caller, the stores.

The stores open on first use, so the API starts (and answers ``/healthz``) before the database
is reachable, and a test can build the app without touching one.
"""

from __future__ import annotations

import asyncio
import threading
from collections import defaultdict
from datetime import timedelta
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Request
from sqlalchemy import Engine

from activities import db
from activities.npi_key import load_npi_digest_key
from activities.roster import RosterStore
from api.access import Principal
from api.apikeys import ApiKeyStore, load_pepper
from api.auth import Authenticator
from api.errors import LedgerUnavailable, NotAuthenticated
from api.gateway import IncidentGateway
from api.guard import principal_of
from api.idempotency import IdempotencyStore
from ledger.errors import LedgerError
from ledger.keys import Keyring, load_keyring, load_signer
from ledger.store import Ledger
from config.settings import Settings

if TYPE_CHECKING:
    from api.sso import SsoVerifier


class ApiContext:
    def __init__(self, settings: Settings, gateway: IncidentGateway, sso: SsoVerifier | None = None) -> None:
        self.settings = settings
        self.gateway = gateway
        self.authenticator = Authenticator(lambda: self.api_keys, sso)
        self._lock = threading.Lock()
        self._engine: Engine | None = None
        self._api_keys: ApiKeyStore | None = None
        self._rosters: RosterStore | None = None
        self._idempotency: IdempotencyStore | None = None
        self._npi_key: bytes | None = None
        self._ledger: Ledger | None = None
        self._signing_ledger: Ledger | None = None
        #: One roster upload at a time per incident, so two uploads never pick the same number.
        self.roster_locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)

    # -- stores (blocking: call from a worker thread) --------------------------------------------

    @property
    def engine(self) -> Engine:
        with self._lock:
            if self._engine is None:
                self._engine = db.open_engine(self.settings.resolved_db_url())
            return self._engine

    @property
    def rosters(self) -> RosterStore:
        engine = self.engine
        with self._lock:
            if self._rosters is None:
                self._rosters = RosterStore.for_settings(engine, self.settings)
            return self._rosters

    @property
    def api_keys(self) -> ApiKeyStore:
        """The API keys (``api/apikeys.py``), in the ledger database."""
        engine = self.engine
        with self._lock:
            if self._api_keys is None:
                try:
                    pepper = load_pepper(self.settings)
                except (OSError, ValueError) as exc:
                    raise LedgerUnavailable(f"the API key pepper cannot be read: {exc}") from None
                self._api_keys = ApiKeyStore(engine, pepper)
            return self._api_keys

    @property
    def idempotency(self) -> IdempotencyStore:
        """The ``Idempotency-Key`` store (``api/idempotency.py``), in the ledger database."""
        engine = self.engine
        with self._lock:
            if self._idempotency is None:
                ttl = timedelta(hours=self.settings.api_idempotency_ttl_hours)
                self._idempotency = IdempotencyStore(engine, ttl=ttl)
            return self._idempotency

    @property
    def npi_key(self) -> bytes:
        with self._lock:
            if self._npi_key is None:
                self._npi_key = load_npi_digest_key(self.settings)
            return self._npi_key

    @property
    def ledger(self) -> Ledger:
        """The ledger for reading (no key needed)."""
        with self._lock:
            if self._ledger is None:
                self._ledger = self._open_ledger(signing=False)
            return self._ledger

    @property
    def signing_ledger(self) -> Ledger:
        """The ledger with the signing key: an export signs a fresh tree head."""
        with self._lock:
            if self._signing_ledger is None:
                self._signing_ledger = self._open_ledger(signing=True)
            return self._signing_ledger

    def keyring(self) -> Keyring:
        try:
            return load_keyring(self.settings.resolved_key_path())
        except (LedgerError, OSError, ValueError) as exc:
            raise LedgerUnavailable(f"the ledger's public keys cannot be read: {exc}") from None

    def _open_ledger(self, *, signing: bool) -> Ledger:
        try:
            signer = (
                load_signer(self.settings.resolved_key_path(), self.settings.key_passphrase) if signing else None
            )
            return Ledger.open(self.settings.resolved_db_url(), signer)
        except (LedgerError, OSError, ValueError) as exc:
            raise LedgerUnavailable(f"the ledger cannot be opened: {exc}") from None

    def close(self) -> None:
        for ledger in (self._ledger, self._signing_ledger):
            if ledger is not None:
                ledger.close()
        if self._engine is not None:
            self._engine.dispose()
        self._ledger = self._signing_ledger = None
        self._engine = None
        self._rosters = None
        self._idempotency = None
        self._api_keys = None


def get_context(request: Request) -> ApiContext:
    context: ApiContext = request.app.state.noticeflow
    return context


def get_principal(request: Request) -> Principal:
    """The caller, as ``api/guard.py`` authenticated it before the route ran."""
    principal = principal_of(request.scope)
    if principal is None:
        raise NotAuthenticated("a bearer token is required: send 'Authorization: Bearer <token>'")
    return principal


def get_actor(request: Request) -> str:
    """The caller's ledger actor: ``key:<name>`` or ``user:<name>``."""
    return get_principal(request).actor


Context = Annotated[ApiContext, Depends(get_context)]
Caller = Annotated[Principal, Depends(get_principal)]
Actor = Annotated[str, Depends(get_actor)]
