"""Sealing at rest: AES-256-GCM under keys derived from the payload codec's keyring.

Used for privileged texts (``activities/sealed_documents.py``), and by migration 0007 to open the
privacy contacts earlier releases sealed here (purpose ``noticeflow/privacy-contact/v1``) before
resealing them under data keys. Consumers' contact data is sealed by ``activities/contact_store.py``
now: under data keys that can be destroyed, which keys derived from the codec keyring cannot be.

Keys are derived with HKDF-SHA256 from the codec keyring, one derivation per *purpose* (e.g.
``noticeflow/privacy-contact/v1``), so they rotate with the codec: the newest key seals, every
key opens, and each sealed value names its key id. The purpose separates the uses: a value sealed
for one purpose is not a Temporal payload and cannot be opened as one, nor for another purpose.
Associated data binds each sealed value to its purpose, key id and *binding* (the id of the row it
belongs to), so a sealed value moved to another row fails authentication.

Sealed value: ``base64(nonce (12 bytes) || AES-256-GCM(plaintext, aad = purpose "|" key_id "|" binding))``.
"""

from __future__ import annotations

import base64
import binascii
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from noticeflow.codec import CodecKeyring

NONCE_BYTES = 12


class SealingError(ValueError):
    """A sealed value cannot be opened: its key is not configured, or it was altered or moved."""


class Sealer:
    """AES-256-GCM for values at rest, for one purpose.

    ``what`` and ``bound_to`` word the errors (``contact data of a consumer`` / ``consumer``);
    ``error`` is the exception type a store's callers already handle."""

    def __init__(
        self,
        keyring: CodecKeyring,
        purpose: str,
        *,
        what: str = "sealed data",
        bound_to: str = "record",
        error: type[Exception] = SealingError,
    ) -> None:
        self._purpose = purpose.encode("ascii")
        self._what = what
        self._bound_to = bound_to
        self._error = error
        self._keys: dict[str, AESGCM] = {}
        self._current = ""
        for index, (key_id, key) in enumerate(zip(keyring.key_ids, keyring.keys, strict=True)):
            derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=self._purpose).derive(key)
            self._keys[key_id] = AESGCM(derived)
            if index == 0:
                self._current = key_id

    @property
    def key_id(self) -> str:
        """The key new values are sealed under."""
        return self._current

    def _aad(self, key_id: str, binding: str) -> bytes:
        return self._purpose + b"|" + f"{key_id}|{binding}".encode()

    def seal(self, binding: str, plaintext: bytes) -> tuple[str, str]:
        """``(key_id, sealed)`` of ``plaintext``, bound to ``binding``."""
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._keys[self._current].encrypt(nonce, plaintext, self._aad(self._current, binding))
        return self._current, base64.b64encode(nonce + sealed).decode("ascii")

    def open(self, binding: str, key_id: str, blob: str) -> bytes:
        aes = self._keys.get(key_id)
        if aes is None:
            raise self._error(
                f"{self._what} was sealed under codec key {key_id!r}, which is not configured; "
                "add that key (after the current one) to NOTICEFLOW_CODEC_KEY or codec.key"
            )
        try:
            raw = base64.b64decode(blob, validate=True)
            return aes.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], self._aad(key_id, binding))
        except (InvalidTag, binascii.Error, ValueError):
            raise self._error(
                f"sealed {self._what} failed authentication: it was altered or moved to another {self._bound_to}"
            ) from None
