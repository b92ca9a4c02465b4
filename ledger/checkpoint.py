"""Tree heads as C2SP ``tlog-checkpoint`` signed notes, readable by generic transparency tooling.

Formats (docs/ledger-format.md, "Checkpoints (C2SP tlog-checkpoint)"):

- c2sp.org/signed-note: a text ending in a newline, a blank line, then one or more signature
  lines ``— <key name> <base64(key ID[4] ‖ signature)>``. The Ed25519 key ID is
  ``SHA-256(key name ‖ 0x0A ‖ 0x01 ‖ public key)[:4]``; the signature is over the note text,
  final newline included. Unknown keys' signatures are ignored; a known key's signature must
  verify; at least one must.
- c2sp.org/tlog-checkpoint: the text is ``<origin>\\n<tree size>\\n<base64 root>\\n`` plus
  optional non-empty extension lines. noticeflow signs with key name = origin.

The ledger's keys (ledger/keys.py) sign; a :class:`~ledger.keys.Keyring` verifies — each key's
raw public key gives its key ID under the origin name (:func:`note_verifiers`).
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import NamedTuple

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from ledger.chain import b64decode, b64encode
from ledger.errors import LedgerError
from ledger.keys import Keyring, PublicKeyRecord, Signer, raw_public_key

#: U+2014 EM DASH and a space: how every signature line starts.
SIG_PREFIX = "\u2014 "
#: Signature type byte of Ed25519 in c2sp.org/signed-note.
ED25519_TYPE = 0x01
#: More signature lines than this and the note is refused (the spec requires accepting ≥ 16).
MAX_SIGNATURES = 100
_MAX_TREE_SIZE = 2**64 - 1
_DECIMAL = re.compile(r"^(0|[1-9][0-9]*)$")


class CheckpointError(LedgerError):
    """A signed note or checkpoint is malformed, or no trusted key's signature verifies it."""


class NoteSignature(NamedTuple):
    """One signature line: key name, 4-byte key ID, and the signature bytes after it."""

    name: str
    key_hash: bytes
    sig: bytes


# -- keys -----------------------------------------------------------------------------------


def _check_key_name(name: str, what: str = "key name") -> None:
    if not name:
        raise CheckpointError(f"{what}: empty; a note key name must be non-empty")
    if "+" in name or any(ch.isspace() for ch in name):
        raise CheckpointError(f"{what} {name!r}: must not contain spaces or '+' (c2sp.org/signed-note)")
    if any(ord(ch) < 0x20 for ch in name):
        raise CheckpointError(f"{what} {name!r}: must not contain control characters")


def _check_raw_key(raw_public_key: bytes) -> None:
    if not isinstance(raw_public_key, bytes | bytearray) or len(raw_public_key) != 32:
        raise CheckpointError("an Ed25519 public key is 32 raw bytes")


def note_key_hash(name: str, raw_public_key: bytes) -> bytes:
    """The 4-byte key ID of an Ed25519 key under ``name``: SHA-256(name ‖ 0x0A ‖ 0x01 ‖ key)[:4]."""
    _check_key_name(name)
    _check_raw_key(raw_public_key)
    return hashlib.sha256(name.encode("utf-8") + b"\n" + bytes([ED25519_TYPE]) + raw_public_key).digest()[:4]


def note_verifier_key(name: str, raw_public_key: bytes) -> str:
    """The verifier key string generic tools take: ``<name>+<hex key ID>+<base64(0x01 ‖ key)>``."""
    key_hash = note_key_hash(name, raw_public_key)
    return f"{name}+{key_hash.hex()}+{b64encode(bytes([ED25519_TYPE]) + bytes(raw_public_key))}"


def parse_verifier_key(vkey: str) -> tuple[str, bytes, bytes]:
    """``(name, key_hash, raw public key)`` of a verifier key string; refuses a key whose stated
    key ID does not match its name and public key, or whose type is not Ed25519."""
    name, _, rest = vkey.partition("+")
    hash_hex, _, key_b64 = rest.partition("+")
    _check_key_name(name, "verifier key name")
    if not re.fullmatch(r"[0-9a-f]{8}", hash_hex):
        raise CheckpointError(f"verifier key {vkey!r}: the key ID must be 8 lowercase hex digits")
    try:
        typed = b64decode(key_b64)
    except ValueError as exc:
        raise CheckpointError(f"verifier key {vkey!r}: the key is not base64") from exc
    if len(typed) != 33 or typed[0] != ED25519_TYPE:
        raise CheckpointError(f"verifier key {vkey!r}: not an Ed25519 key (type 0x01, 32 bytes)")
    raw = typed[1:]
    if note_key_hash(name, raw) != bytes.fromhex(hash_hex):
        raise CheckpointError(f"verifier key {vkey!r}: the key ID does not match the name and public key")
    return name, bytes.fromhex(hash_hex), raw


def note_verifiers(keyring: Keyring, name: str) -> dict[bytes, list[PublicKeyRecord]]:
    """The keyring's keys by their key ID under ``name`` (a list: 4-byte IDs may collide)."""
    found: dict[bytes, list[PublicKeyRecord]] = {}
    for record in keyring.keys.values():
        found.setdefault(note_key_hash(name, record.public_key), []).append(record)
    return found


def keyring_verifier_keys(keyring: Keyring, name: str) -> dict[str, str]:
    """key_id → verifier key string under ``name``, for VERIFY.md and the key statement."""
    return {key_id: note_verifier_key(name, r.public_key) for key_id, r in keyring.keys.items()}


# -- signed notes ---------------------------------------------------------------------------


def _check_characters(text: str) -> None:
    for lineno, line in enumerate(text.split("\n"), start=1):
        for ch in line:
            if ord(ch) < 0x20:
                raise CheckpointError(
                    f"line {lineno}: control character U+{ord(ch):04X} — a signed note may hold no "
                    "control characters but newline (CRLF line ends are not allowed)"
                )
            if 0xD800 <= ord(ch) <= 0xDFFF:
                raise CheckpointError(f"line {lineno}: not valid UTF-8 (lone surrogate)")


def _as_text(note: str | bytes) -> str:
    if isinstance(note, bytes | bytearray):
        try:
            return bytes(note).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise CheckpointError(f"not valid UTF-8 at byte {exc.start}") from exc
    return note


def sign_note(text: str, signers: Iterable[tuple[str, Signer]]) -> str:
    """``text`` signed by each ``(key name, signer)``: the c2sp.org/signed-note encoding."""
    if not text.endswith("\n"):
        raise CheckpointError("note text: must end with a newline")
    _check_characters(text)
    message = text.encode("utf-8")
    lines = []
    for name, signer in signers:
        key_hash = note_key_hash(name, raw_public_key(signer.public_key))
        sig = b64decode(signer.sign(message))
        lines.append(f"{SIG_PREFIX}{name} {b64encode(key_hash + sig)}\n")
    if not lines:
        raise CheckpointError("a signed note needs at least one signature")
    return text + "\n" + "".join(lines)


def split_note(note: str | bytes) -> tuple[str, list[NoteSignature]]:
    """The note text and its signature lines, checked for form but not verified."""
    note = _as_text(note)
    _check_characters(note)
    split = note.rfind("\n\n")
    if split < 0:
        raise CheckpointError("no blank line separating the note text from its signature lines")
    text, block = note[: split + 1], note[split + 2 :]
    if not block:
        raise CheckpointError("no signature lines after the blank line")
    if not block.endswith("\n"):
        raise CheckpointError("the last signature line does not end with a newline")
    text_lines = text.count("\n")
    signatures: list[NoteSignature] = []
    for offset, line in enumerate(block[:-1].split("\n")):
        lineno = text_lines + 2 + offset
        if not line.startswith(SIG_PREFIX):
            raise CheckpointError(
                f"line {lineno}: not a signature line (must start with U+2014 EM DASH and a space)"
            )
        name, _, b64 = line[len(SIG_PREFIX) :].partition(" ")
        _check_key_name(name, f"line {lineno}: key name")
        try:
            raw = b64decode(b64)
        except ValueError:
            raise CheckpointError(f"line {lineno}: the signature is not standard base64") from None
        if len(raw) < 5:
            raise CheckpointError(f"line {lineno}: the signature is shorter than a key ID and one byte")
        signatures.append(NoteSignature(name, raw[:4], raw[4:]))
        if len(signatures) > MAX_SIGNATURES:
            raise CheckpointError(f"more than {MAX_SIGNATURES} signature lines")
    return text, signatures


def open_note(
    note: str | bytes, verifiers: Mapping[tuple[str, bytes], Iterable[Ed25519PublicKey]]
) -> tuple[str, list[NoteSignature], list[NoteSignature]]:
    """``(text, all signatures, verified signatures)`` of a note under ``verifiers``
    (``(name, key_hash)`` → candidate public keys). Signatures by unknown keys are ignored; one
    by a known key that does not verify, or no verified signature at all, is an error."""
    text, signatures = split_note(note)
    message = text.encode("utf-8")
    verified = []
    for sig in signatures:
        keys = list(verifiers.get((sig.name, sig.key_hash), ()))
        if not keys:
            continue
        if not any(_verifies(key, sig.sig, message) for key in keys):
            raise CheckpointError(
                f"the signature of key {sig.name!r} (key ID {sig.key_hash.hex()}) does not verify "
                "over the note text — the text or the signature was changed"
            )
        verified.append(sig)
    if not verified:
        raise CheckpointError(_no_known_key(signatures, {k for k, _ in verifiers}))
    return text, signatures, verified


def _verifies(key: Ed25519PublicKey, sig: bytes, message: bytes) -> bool:
    try:
        key.verify(sig, message)
    except InvalidSignature:
        return False
    return True


def _no_known_key(signatures: list[NoteSignature], names: set[str]) -> str:
    seen = ", ".join(f"{s.name} {s.key_hash.hex()}" for s in signatures)
    return f"no signature by a known key (signature lines: {seen}; trusted key names: {', '.join(sorted(names))})"


# -- checkpoints ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Checkpoint:
    """A parsed checkpoint. ``root_hash`` is hex like the tree heads'; ``verified_by`` lists the
    key_ids whose signatures :func:`verify_checkpoint` checked (empty after a bare parse)."""

    origin: str
    tree_size: int
    root_hash: str
    extensions: list[str] = field(default_factory=list)
    signatures: list[NoteSignature] = field(default_factory=list)
    verified_by: list[str] = field(default_factory=list)

    @property
    def root(self) -> bytes:
        return bytes.fromhex(self.root_hash)

    @property
    def body(self) -> str:
        """The signed note text."""
        return checkpoint_body(self.origin, self.tree_size, self.root, self.extensions, check_origin=False)


def checkpoint_body(
    origin: str,
    tree_size: int,
    root: bytes,
    extensions: Iterable[str] = (),
    *,
    check_origin: bool = True,
) -> str:
    """The checkpoint note text: origin, decimal size, base64 root, each line ending in ``\\n``."""
    if check_origin:
        _check_key_name(origin, "origin")  # the origin is also the signing key's name
    elif not origin or "\n" in origin:
        raise CheckpointError("origin: must be one non-empty line")
    if isinstance(tree_size, bool) or not isinstance(tree_size, int) or not 0 <= tree_size <= _MAX_TREE_SIZE:
        raise CheckpointError(f"tree size {tree_size!r}: must be an integer from 0 to 2^64-1")
    if not isinstance(root, bytes | bytearray) or len(root) != 32:
        raise CheckpointError("root: must be the 32 raw bytes of the Merkle tree hash")
    lines = [origin, str(tree_size), b64encode(bytes(root))]
    for ext in extensions:
        if not ext or "\n" in ext:
            raise CheckpointError(f"extension line {ext!r}: must be one non-empty line")
        lines.append(ext)
    body = "".join(line + "\n" for line in lines)
    _check_characters(body)
    return body


def sign_checkpoint(signer: Signer, origin: str, tree_size: int, root: bytes) -> str:
    """The checkpoint of ``tree_size``/``root`` signed by ``signer`` under key name ``origin``."""
    return sign_note(checkpoint_body(origin, tree_size, root), [(origin, signer)])


def parse_checkpoint(text: str | bytes) -> Checkpoint:
    """Parse a checkpoint signed note without verifying its signatures."""
    body, signatures = split_note(text)
    lines = body[:-1].split("\n")
    if len(lines) < 3:
        raise CheckpointError(
            f"checkpoint body has {len(lines)} line(s); it needs origin, tree size and root hash"
        )
    for lineno, line in enumerate(lines, start=1):
        if not line:
            raise CheckpointError(
                f"checkpoint body line {lineno}: empty — a checkpoint body has no blank lines"
            )
    origin, size_text, root_text, *extensions = lines
    if not _DECIMAL.match(size_text) or int(size_text) > _MAX_TREE_SIZE:
        raise CheckpointError(
            f"checkpoint line 2: tree size {size_text!r} is not a decimal number without leading zeros"
        )
    try:
        root = b64decode(root_text)
    except ValueError:
        raise CheckpointError(f"checkpoint line 3: root hash {root_text!r} is not standard base64") from None
    if len(root) != 32 or base64.b64encode(root).decode("ascii") != root_text:
        raise CheckpointError(f"checkpoint line 3: root hash {root_text!r} is not the base64 of 32 bytes")
    return Checkpoint(origin, int(size_text), root.hex(), extensions, signatures)


def verify_checkpoint(
    text: str | bytes, keyring: Keyring, origin: str | None = None, *, at: str | None = None
) -> Checkpoint:
    """Parse ``text`` and check it is signed by a key of ``keyring`` under key name = its origin.

    ``origin``: the expected origin (refused when the note states another). ``at``: a timestamp
    (e.g. the matching tree head's) at which each verifying key must be valid — a note carries
    no time of its own. Signature lines by other names or unknown key IDs are ignored, as the
    signed-note spec requires; a known key's signature that does not verify is an error.
    """
    checkpoint = parse_checkpoint(text)
    if origin is not None and checkpoint.origin != origin:
        raise CheckpointError(f"checkpoint origin {checkpoint.origin!r}, expected {origin!r}")
    try:
        _check_key_name(checkpoint.origin, "origin")
    except CheckpointError as exc:
        raise CheckpointError(f"{exc}; noticeflow signs checkpoints under the origin as key name") from None
    known = note_verifiers(keyring, checkpoint.origin)
    message = checkpoint.body.encode("utf-8")
    verified: list[str] = []
    for sig in checkpoint.signatures:
        if sig.name != checkpoint.origin or sig.key_hash not in known:
            continue
        record = next((r for r in known[sig.key_hash] if _verifies(r.verifier, sig.sig, message)), None)
        if record is None:
            names = ", ".join(r.key_id for r in known[sig.key_hash])
            raise CheckpointError(
                f"checkpoint signature by key {names} does not verify — the origin, tree size, "
                "root hash or signature was changed"
            )
        if at is not None and not record.valid_at(at):
            raise CheckpointError(
                f"checkpoint signed by key {record.key_id!r} outside its validity "
                f"[{record.valid_from}, {record.valid_until or '—'}) at {at}"
            )
        if record.key_id not in verified:
            verified.append(record.key_id)
    if not verified:
        raise CheckpointError(
            f"checkpoint {checkpoint.origin} {checkpoint.tree_size}: "
            + _no_known_key(checkpoint.signatures, {checkpoint.origin})
            + f"; keyring keys {', '.join(sorted(keyring.keys)) or '(none)'}"
        )
    return replace(checkpoint, verified_by=verified)
