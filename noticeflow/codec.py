"""Payload encryption: every payload noticeflow hands to Temporal is sealed with AES-256-GCM.

Workflow and activity inputs carry NPI (names, addresses, data elements of affected consumers),
and Temporal stores every payload in its event history. The codec encrypts each payload before it
leaves the process, so the Temporal server, its database and its backups hold ciphertext only; the
codec server (``api/codec_server.py``) lets authorised Temporal UI users read them.

Keys rotate: the first key of the keyring encrypts, every key decrypts. A key is named by an id
derived from the key itself (``k`` + 16 hex digits), written into each payload's metadata, so a
payload says which key it needs and an unknown key is named in the error.

Sealed payload::

    metadata: encoding = "binary/encrypted", encryption-key-id = "k…"
    data:     nonce (12 bytes) || AES-256-GCM(serialized inner Payload, aad = "noticeflow/payload/v1|" + key id)

The key id is bound as associated data, so moving a payload to another key id fails
authentication instead of decrypting under the wrong key.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import hashlib
import os
import stat
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import (
    DataConverter,
    DefaultFailureConverterWithEncodedAttributes,
    PayloadCodec,
)

from noticeflow.logging import get_logger
from noticeflow.settings import Settings

log = get_logger(__name__)

ENCODING = b"binary/encrypted"
KEY_ID_METADATA = "encryption-key-id"
KEY_FILE_NAME = "codec.key"
KEY_BYTES = 32
NONCE_BYTES = 12
_AAD_PREFIX = b"noticeflow/payload/v1|"
_KEY_ID_PREFIX = b"noticeflow codec key id v1\x00"


class CodecError(Exception):
    """A payload could not be encrypted or decrypted."""


class CodecKeyError(CodecError, ValueError):
    """A configured codec key is malformed (not base64, or not 32 bytes)."""


class UnknownCodecKeyError(CodecError):
    """A payload names a key id that is not in the keyring."""

    def __init__(self, key_id: str, known: Sequence[str]) -> None:
        self.key_id = key_id
        self.known = tuple(known)
        super().__init__(
            f"payload was encrypted with codec key {key_id!r}, which is not configured "
            f"(configured: {', '.join(self.known) or 'none'}); add that key after the current one "
            f"in NOTICEFLOW_CODEC_KEY or on its own line in {KEY_FILE_NAME}"
        )


class PayloadDecryptionError(CodecError):
    """A sealed payload failed authentication: altered, truncated or re-labelled."""


def key_id_for(key: bytes) -> str:
    """Stable, non-secret name of a key: ``k`` + the first 8 bytes of a domain-separated SHA-256."""
    return "k" + hashlib.sha256(_KEY_ID_PREFIX + key).hexdigest()[:16]


def generate_key() -> bytes:
    return AESGCM.generate_key(bit_length=256)


def encode_key(key: bytes) -> str:
    return base64.b64encode(key).decode("ascii")


def _decode_key(text: str, source: str) -> bytes:
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise CodecKeyError(f"{source}: codec key is not valid base64") from None
    if len(key) != KEY_BYTES:
        raise CodecKeyError(
            f"{source}: codec key must be {KEY_BYTES} bytes (AES-256), got {len(key)}; "
            "generate one with `noticeflow temporal rotate-codec-key`"
        )
    return key


@dataclass(frozen=True)
class CodecKeyring:
    """Keys in order of preference: ``keys[0]`` encrypts, all of them decrypt."""

    keys: tuple[bytes, ...]

    def __post_init__(self) -> None:
        if not self.keys:
            raise CodecKeyError("codec keyring is empty: at least one key is needed")
        for key in self.keys:
            if len(key) != KEY_BYTES:
                raise CodecKeyError(f"codec key must be {KEY_BYTES} bytes (AES-256), got {len(key)}")

    @classmethod
    def parse(cls, text: str, source: str) -> CodecKeyring:
        """Base64 keys separated by commas or new lines, newest first; ``#`` starts a comment line."""
        items: list[str] = []
        for line in text.splitlines():
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            items.extend(part.strip() for part in line.split(",") if part.strip())
        if not items:
            raise CodecKeyError(f"{source}: no codec key found")
        return cls(tuple(_decode_key(item, source) for item in items))

    @property
    def current_id(self) -> str:
        return key_id_for(self.keys[0])

    @property
    def key_ids(self) -> tuple[str, ...]:
        return tuple(key_id_for(key) for key in self.keys)

    def serialize(self) -> str:
        return "".join(encode_key(key) + "\n" for key in self.keys)


def key_file(settings: Settings) -> Path:
    return settings.home / KEY_FILE_NAME


def load_keyring(settings: Settings) -> CodecKeyring:
    """The keyring from ``NOTICEFLOW_CODEC_KEY``, else from ``home/codec.key`` (created on first use)."""
    if settings.codec_key:
        return CodecKeyring.parse(settings.codec_key, "NOTICEFLOW_CODEC_KEY")
    path = key_file(settings)
    if not path.exists():
        _create_key_file(path, CodecKeyring((generate_key(),)))
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        log.warning("codec_key_file_permissions", path=str(path), mode=oct(mode), expected="0o600")
    return CodecKeyring.parse(path.read_text(encoding="ascii"), str(path))


def rotate_key_file(settings: Settings) -> CodecKeyring:
    """Put a new key first in ``home/codec.key``, keeping the earlier ones for decryption."""
    path = key_file(settings)
    old = load_keyring(settings) if path.exists() else None
    keyring = CodecKeyring((generate_key(), *(old.keys if old else ())))
    _write_atomically(path, keyring.serialize(), replace=True)
    return keyring


def _create_key_file(path: Path, keyring: CodecKeyring) -> None:
    # Worker, API and codec server may start at the same moment: the first to link its file wins,
    # the others read that one, so no two processes ever encrypt under different fresh keys.
    try:
        _write_atomically(path, keyring.serialize(), replace=False)
    except FileExistsError:
        return
    log.info("codec_key_created", path=str(path), key_id=keyring.current_id)


def _write_atomically(path: Path, text: str, *, replace: bool) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        if replace:
            os.replace(tmp, path)
        else:
            os.link(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


class EncryptionCodec(PayloadCodec):
    """AES-256-GCM over whole serialized payloads; encrypts with the newest key, decrypts with any."""

    def __init__(self, keyring: CodecKeyring) -> None:
        self._keyring = keyring
        self._encrypt_id = keyring.current_id
        self._encryptor = AESGCM(keyring.keys[0])
        self._decryptors = {key_id_for(key): AESGCM(key) for key in keyring.keys}

    @property
    def key_id(self) -> str:
        """Id of the key new payloads are encrypted with."""
        return self._encrypt_id

    @property
    def key_ids(self) -> tuple[str, ...]:
        return self._keyring.key_ids

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.encrypt(p) for p in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.decrypt(p) for p in payloads]

    def encrypt(self, payload: Payload) -> Payload:
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._encryptor.encrypt(nonce, payload.SerializeToString(), _aad(self._encrypt_id))
        return Payload(
            metadata={"encoding": ENCODING, KEY_ID_METADATA: self._encrypt_id.encode("ascii")},
            data=nonce + sealed,
        )

    def decrypt(self, payload: Payload) -> Payload:
        # Payloads written before encryption was switched on (or by a tool without the codec)
        # are passed through as they are, so that older histories stay readable.
        if payload.metadata.get("encoding") != ENCODING:
            return payload
        raw_id = payload.metadata.get(KEY_ID_METADATA)
        if raw_id is None:
            raise PayloadDecryptionError(f"encrypted payload has no {KEY_ID_METADATA!r} in its metadata")
        key_id = raw_id.decode("ascii", errors="replace")
        aes = self._decryptors.get(key_id)
        if aes is None:
            raise UnknownCodecKeyError(key_id, self.key_ids)
        data = payload.data
        if len(data) <= NONCE_BYTES:
            raise PayloadDecryptionError(f"encrypted payload under key {key_id!r} is truncated")
        try:
            plain = aes.decrypt(data[:NONCE_BYTES], data[NONCE_BYTES:], _aad(key_id))
        except InvalidTag:
            raise PayloadDecryptionError(
                f"encrypted payload under key {key_id!r} failed authentication: "
                "it was altered, truncated or sealed under another key"
            ) from None
        inner = Payload()
        inner.ParseFromString(plain)
        return inner


def _aad(key_id: str) -> bytes:
    return _AAD_PREFIX + key_id.encode("ascii")


def codec_from_settings(settings: Settings) -> EncryptionCodec:
    return EncryptionCodec(load_keyring(settings))


def data_converter(settings: Settings, *, codec: PayloadCodec | None = None) -> DataConverter:
    """Pydantic payloads, sealed by the codec; failure messages and stack traces sealed too,
    because an exception message may quote the input that caused it."""
    return dataclasses.replace(
        pydantic_data_converter,
        payload_codec=codec if codec is not None else codec_from_settings(settings),
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
    )


def describe(keyring: CodecKeyring) -> Iterable[str]:
    """One line per key, for operators: id and role (never the key)."""
    for index, key_id in enumerate(keyring.key_ids):
        yield f"{key_id}  {'encrypt + decrypt' if index == 0 else 'decrypt only'}"
