"""The sealed document store: privileged texts — counsel's notes, privileged findings, the (J)
internal review — kept sealed in the ledger's database, and the activity that seals them.

The event workflow seals a privileged text (``seal_privileged_text``) *before* it ledgers the
step; the ledger entry carries the returned :class:`~models.privileged.SealedRef`'s marker (digest,
basis, document id), never the text. An examination bundle lists such entries in its privilege
log ("withheld").

* The text is sealed with AES-256-GCM (``activities/sealing.py``, purpose
  ``noticeflow/sealed-document/v1``), bound to its document id: a sealed text moved to another
  document does not open.
* Its digest is a keyed commitment, ``hmac-sha256:`` HMAC-SHA256(opening key, UTF-8 text), with a
  random 32-byte opening key sealed beside the text (``models/privileged.py`` says why not a plain
  SHA-256). Producing the text with its opening key proves it against the ledger; nothing else can
  be learnt or confirmed from the digest.
* A document is written once: sealing the same step again with the same text returns the same
  reference (a retried activity), with another text it is refused — what the ledger names is
  never replaced.

Schema::

    sealed_documents  document_id PK (<incident_id>/<step>) · incident_id · step · basis · digest ·
                      key_id · sealed (base64 nonce || AES-GCM(JSON of text, opening key, actor, basis)) ·
                      sealed_at
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import hmac
import json
import os

import structlog
from sqlalchemy import Engine, Index, select
from sqlmodel import Field, SQLModel
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities import db
from activities.sealing import Sealer
from ledger.canonical import canonical_json
from models.privileged import PrivilegeBasis, SealedRef, SealedText, SealRequest
from noticeflow.codec import CodecKeyring, load_keyring
from config.settings import Settings

log = structlog.get_logger("noticeflow.sealed_documents")

#: The sealing purpose (HKDF info, associated-data prefix) of privileged texts.
SEALED_DOCUMENT_PURPOSE = "noticeflow/sealed-document/v1"
OPENING_KEY_BYTES = 32


class SealedDocumentError(ValueError):
    """A sealed document cannot be written or read as asked; the message says why."""


class SealConflictError(SealedDocumentError):
    """The document id is already sealed with another text."""


class SealedDocumentNotFound(SealedDocumentError):
    pass


class SealedDocumentRow(SQLModel, table=True):
    __tablename__ = "sealed_documents"
    __table_args__ = (Index("ix_sealed_documents_incident", "incident_id", "document_id"),)

    document_id: str = Field(primary_key=True)
    incident_id: str
    step: str
    basis: str
    digest: str
    key_id: str
    sealed: str
    sealed_at: str


_DOCUMENTS = SealedDocumentRow.__table__
TABLES = (_DOCUMENTS,)


def commitment_digest(text: str, opening_key: bytes) -> str:
    """``hmac-sha256:<hex>`` of the UTF-8 ``text`` under its own ``opening_key``."""
    if len(opening_key) != OPENING_KEY_BYTES:
        raise ValueError(f"an opening key is {OPENING_KEY_BYTES} bytes, got {len(opening_key)}")
    return "hmac-sha256:" + hmac.new(opening_key, text.encode("utf-8"), hashlib.sha256).hexdigest()


def verify_disclosure(text: str, opening_key_hex: str, digest: str) -> bool:
    """Does a produced ``text`` with its opening key match the ``digest`` the ledger kept?"""
    try:
        key = bytes.fromhex(opening_key_hex)
        return hmac.compare_digest(commitment_digest(text, key), digest)
    except ValueError:
        return False


def document_id_for(incident_id: str, step: str) -> str:
    return f"{incident_id}/{step}"


class SealedDocumentStore:
    """Data access for sealed privileged texts. Blocking: call from a worker thread in activities.
    Creates its table on first use."""

    def __init__(self, engine: Engine, sealer: Sealer) -> None:
        self.engine = engine
        self.sealer = sealer
        db.ensure_tables(engine, TABLES)

    @classmethod
    def for_keyring(cls, engine: Engine, keyring: CodecKeyring) -> SealedDocumentStore:
        return cls(engine, Sealer(keyring, SEALED_DOCUMENT_PURPOSE, what="privileged document", bound_to="document",
                                  error=SealedDocumentError))

    @classmethod
    def open(cls, settings: Settings) -> SealedDocumentStore:
        """The store in ``settings``' ledger database, sealing under its codec keyring."""
        return cls.for_keyring(db.open_engine(settings.resolved_db_url()), load_keyring(settings))

    def close(self) -> None:
        self.engine.dispose()

    # -- writing ------------------------------------------------------------------------------

    def seal(self, req: SealRequest, now: dt.datetime | None = None) -> SealedRef:
        """Seal ``req.text`` as document ``<incident_id>/<step>``; idempotent for the same text."""
        document_id = document_id_for(req.incident_id, req.step)
        existing = self._row(document_id)
        if existing is not None:
            return self._same(existing, req)
        opening_key = os.urandom(OPENING_KEY_BYTES)
        digest = commitment_digest(req.text, opening_key)
        payload = canonical_json(
            {"text": req.text, "opening_key": opening_key.hex(), "actor": req.actor, "basis": req.basis.value}
        )
        key_id, sealed = self.sealer.seal(document_id, payload)
        row = {
            "document_id": document_id,
            "incident_id": req.incident_id,
            "step": req.step,
            "basis": req.basis.value,
            "digest": digest,
            "key_id": key_id,
            "sealed": sealed,
            "sealed_at": (now or dt.datetime.now(dt.UTC)).isoformat(),
        }
        with db.write(self.engine) as conn:
            inserted = db.insert_ignore(conn, _DOCUMENTS, [row])
        if not inserted:  # another attempt of the same step sealed it first
            raced = self._row(document_id)
            assert raced is not None
            return self._same(raced, req)
        return SealedRef(document_id=document_id, digest=digest, basis=req.basis, key_id=key_id)

    def _same(self, row: SealedDocumentRow, req: SealRequest) -> SealedRef:
        opened = self._open_row(row)
        if opened.text != req.text or opened.ref.basis is not req.basis:
            raise SealConflictError(
                f"{row.document_id} is already sealed with a different text or basis; a sealed document is never "
                "replaced (the ledger names it): record the step again as a new step"
            )
        return opened.ref

    # -- reading ------------------------------------------------------------------------------

    def _row(self, document_id: str) -> SealedDocumentRow | None:
        with db.read(self.engine) as conn:
            found = conn.execute(select(_DOCUMENTS).where(_DOCUMENTS.c.document_id == document_id)).first()
        return SealedDocumentRow.model_validate(found._mapping) if found is not None else None

    def ref(self, document_id: str) -> SealedRef:
        """The reference of a sealed document (no text)."""
        row = self._row(document_id)
        if row is None:
            raise SealedDocumentNotFound(f"no sealed document {document_id!r}")
        return SealedRef(document_id=row.document_id, digest=row.digest, basis=PrivilegeBasis(row.basis), key_id=row.key_id)

    def open_document(self, document_id: str) -> SealedText:
        """The text and its opening key — for counsel, or to produce the text under an order.
        Checked against the stored digest (the one the ledger keeps)."""
        row = self._row(document_id)
        if row is None:
            raise SealedDocumentNotFound(f"no sealed document {document_id!r}")
        return self._open_row(row)

    def _open_row(self, row: SealedDocumentRow) -> SealedText:
        content = json.loads(self.sealer.open(row.document_id, row.key_id, row.sealed))
        if content["basis"] != row.basis or not verify_disclosure(content["text"], content["opening_key"], row.digest):
            raise SealedDocumentError(
                f"sealed document {row.document_id} does not match its digest or basis: the store was altered"
            )
        ref = SealedRef(document_id=row.document_id, digest=row.digest, basis=PrivilegeBasis(row.basis), key_id=row.key_id)
        return SealedText(ref=ref, text=content["text"], opening_key=content["opening_key"], actor=content["actor"])

    def refs_of(self, incident_id: str) -> list[SealedRef]:
        with db.read(self.engine) as conn:
            rows = conn.execute(
                select(_DOCUMENTS).where(_DOCUMENTS.c.incident_id == incident_id).order_by(_DOCUMENTS.c.document_id)
            ).all()
        return [
            SealedRef(document_id=r.document_id, digest=r.digest, basis=PrivilegeBasis(r.basis), key_id=r.key_id)
            for r in rows
        ]


class SealedDocumentActivities:
    def __init__(self, store: SealedDocumentStore) -> None:
        self.store = store

    @activity.defn(name="seal_privileged_text")
    async def seal_privileged_text(self, req: SealRequest) -> SealedRef:
        """Seal a privileged text before its step is ledgered; the result names it without its
        content. Retried attempts return the same reference."""
        try:
            ref = await asyncio.to_thread(self.store.seal, req)
        except SealedDocumentError as exc:
            # Retrying cannot fix either: a sealed document is never replaced, and an altered store stays altered.
            raise ApplicationError(str(exc), type=type(exc).__name__, non_retryable=True) from None
        log.info("privileged_text_sealed", document_id=ref.document_id, digest=ref.digest, basis=ref.basis.value)
        return ref


__all__ = [
    "SEALED_DOCUMENT_PURPOSE",
    "SealConflictError",
    "SealedDocumentActivities",
    "SealedDocumentError",
    "SealedDocumentNotFound",
    "SealedDocumentStore",
    "commitment_digest",
    "document_id_for",
    "verify_disclosure",
]
