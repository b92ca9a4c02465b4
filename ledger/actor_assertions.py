"""Actor assertions: the API's signed word that a person took a step, checked where it is recorded.

A workflow learns who took a step from the step itself, and anyone who reaches Temporal's
frontend (or the Temporal UI) can send a step that names someone else. So the API — which has
authenticated its caller — attaches to every workflow start and update it sends a short-lived
*actor assertion*, signed with the API's Ed25519 key; the workflow carries it to the ledger
activity with the steps it records in that person's name, and the ledger activity records a step
in a person's name only under a valid assertion for that person (``activities/ledger.py``).

A token is ``<claims>.<signature>``, both base64url without padding: the claims are the RFC 8785
canonical JSON of :class:`ActorAssertion`, the signature is Ed25519 over ``noticeflow-actor-assertion-v1\\n``
followed by the claims' bytes. An assertion is valid for a step when

- it is signed by a key the worker trusts (``NOTICEFLOW_ACTOR_ASSERTION_TRUSTED_KEYS``, or the
  public half of the API's key file in a single-host install),
- its ``actor`` is the step's actor,
- its ``workflow_id`` is the workflow that records the step (or the parent workflow that
  forwarded the step to it), and
- the workflow accepted the step between ``issued_at`` (less the allowed clock skew) and
  ``expires_at``: the acceptance time comes from the workflow (Temporal's clock), so a step whose
  ledger write is retried an hour later still verifies, while a token replayed later does not.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import secrets
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ledger.canonical import canonical_json
from ledger.keys import key_id_for

#: Domain separation: a signature over an assertion is never valid as anything else.
SIGNING_CONTEXT = b"noticeflow-actor-assertion-v1\n"
KEY_FILE_NAME = "actor-assertion.key"
DEFAULT_TTL = timedelta(minutes=5)
DEFAULT_SKEW = timedelta(seconds=60)


class ActorAssertion(BaseModel):
    """What the API asserts: ``actor`` took a step of ``workflow_id``, asked between the two times."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    v: Literal[1] = 1
    actor: str = Field(min_length=1, max_length=200)
    workflow_id: str = Field(min_length=1, max_length=400)
    issued_at: datetime
    expires_at: datetime
    nonce: str = Field(min_length=16, max_length=64)
    key_id: str = Field(min_length=1, max_length=100)

    def claims_bytes(self) -> bytes:
        return canonical_json(self.model_dump(mode="json"))


class AssertionRefused(Exception):
    """The step's actor is not vouched for. ``rule_id`` names the reason (for the typed refusal)."""

    def __init__(self, rule_id: str, message: str) -> None:
        super().__init__(message)
        self.rule_id = rule_id


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class AssertionSigner:
    """The API's side: issues a token for each step it sends on behalf of an authenticated caller."""

    private_key: Ed25519PrivateKey
    ttl: timedelta = DEFAULT_TTL

    @property
    def key_id(self) -> str:
        return key_id_for(self.private_key.public_key())

    def issue(self, actor: str, workflow_id: str, now: datetime) -> str:
        claims = ActorAssertion(
            actor=actor, workflow_id=workflow_id, issued_at=now.astimezone(UTC), expires_at=(now + self.ttl).astimezone(UTC),
            nonce=secrets.token_hex(16), key_id=self.key_id,
        )
        body = claims.claims_bytes()
        return f"{_b64(body)}.{_b64(self.private_key.sign(SIGNING_CONTEXT + body))}"


@dataclass(frozen=True)
class AssertionVerifier:
    """The worker's side: the keys it trusts, and the checks of :func:`verify`."""

    keys: Mapping[str, Ed25519PublicKey]
    skew: timedelta = DEFAULT_SKEW

    @classmethod
    def trusting(cls, public_keys: Iterable[Ed25519PublicKey], skew: timedelta = DEFAULT_SKEW) -> AssertionVerifier:
        return cls({key_id_for(k): k for k in public_keys}, skew)

    def verify(self, token: str | None, *, actor: str, workflow_ids: Collection[str], accepted_at: datetime | None) -> ActorAssertion:
        """The assertion, when it vouches for ``actor`` taking a step of one of ``workflow_ids`` that
        the workflow accepted at ``accepted_at``; :class:`AssertionRefused` otherwise."""
        if not token:
            raise AssertionRefused(
                "actor_assertion_missing",
                f"a step in the name of {actor!r} came without an actor assertion: only the noticeflow API, which "
                "authenticates its callers, may take steps in a person's name",
            )
        claims = self._authentic(token)
        if claims.actor != actor:
            raise AssertionRefused(
                "actor_assertion_mismatch", f"the actor assertion vouches for {claims.actor!r}, not for {actor!r}"
            )
        if claims.workflow_id not in workflow_ids:
            raise AssertionRefused(
                "actor_assertion_mismatch",
                f"the actor assertion was issued for workflow {claims.workflow_id!r}, not for {sorted(workflow_ids)}",
            )
        if accepted_at is None:
            raise AssertionRefused("actor_assertion_missing", "the step carries no time at which the workflow accepted it")
        if accepted_at < claims.issued_at - self.skew or accepted_at > claims.expires_at:
            raise AssertionRefused(
                "actor_assertion_expired",
                f"the workflow accepted the step at {accepted_at.isoformat()}, outside the assertion's validity "
                f"({claims.issued_at.isoformat()} to {claims.expires_at.isoformat()})",
            )
        return claims

    def _authentic(self, token: str) -> ActorAssertion:
        try:
            body_text, signature_text = token.split(".")
            body, signature = _unb64(body_text), _unb64(signature_text)
            claims = ActorAssertion.model_validate(json.loads(body))
        except (ValueError, binascii.Error, ValidationError, UnicodeDecodeError):
            raise AssertionRefused("actor_assertion_invalid", "the actor assertion is malformed") from None
        key = self.keys.get(claims.key_id)
        if key is None:
            raise AssertionRefused(
                "actor_assertion_untrusted", f"the actor assertion is signed by key {claims.key_id}, which this worker does not trust"
            )
        try:
            key.verify(signature, SIGNING_CONTEXT + body)
        except InvalidSignature:
            raise AssertionRefused("actor_assertion_invalid", "the actor assertion's signature does not verify") from None
        if claims.claims_bytes() != body:
            raise AssertionRefused("actor_assertion_invalid", "the actor assertion's claims are not in canonical form")
        return claims


# -- keys ------------------------------------------------------------------------------------------


def load_or_create_private_key(path: Path) -> Ed25519PrivateKey:
    """The API's signing key from a PKCS#8 PEM file, created (mode 0600) when missing.

    Two processes starting together (API and worker on a dev host) create it once: the file is
    opened with ``O_EXCL``, and the one that loses the race reads the winner's key.
    """
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        pem = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(pem)
                out.flush()
                os.fsync(out.fileno())
            try:
                os.link(tmp, path)
            except FileExistsError:
                pass
        finally:
            tmp.unlink(missing_ok=True)
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise AssertionKeyError(f"{path} holds no Ed25519 private key")
    return key


def load_public_key(path: Path) -> Ed25519PublicKey:
    """A trusted key: a SubjectPublicKeyInfo PEM, or the public half of a private-key PEM."""
    data = path.read_bytes()
    try:
        key: object = serialization.load_pem_public_key(data)
    except ValueError:
        try:
            key = serialization.load_pem_private_key(data, password=None).public_key()
        except (ValueError, TypeError) as exc:
            raise AssertionKeyError(f"{path}: not a PEM Ed25519 key ({exc})") from None
    if not isinstance(key, Ed25519PublicKey):
        raise AssertionKeyError(f"{path} holds no Ed25519 key")
    return key


def public_pem(key: Ed25519PrivateKey | Ed25519PublicKey) -> bytes:
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


class AssertionKeyError(Exception):
    """A configured assertion key cannot be read."""


def load_signer(key_file: Path, ttl_seconds: int) -> AssertionSigner:
    """The API's signer (``NOTICEFLOW_ACTOR_ASSERTION_KEY_FILE``, created on first use)."""
    return AssertionSigner(load_or_create_private_key(key_file), timedelta(seconds=ttl_seconds))


def load_verifier(key_file: Path, trusted: Sequence[Path], skew_seconds: int) -> AssertionVerifier:
    """The worker's verifier: the listed trusted keys, else the public half of the API's key file
    (one host, or a file both mount; created on first use)."""
    keys = [load_public_key(p) for p in trusted] if trusted else [load_or_create_private_key(key_file).public_key()]
    return AssertionVerifier.trusting(keys, timedelta(seconds=skew_seconds))
