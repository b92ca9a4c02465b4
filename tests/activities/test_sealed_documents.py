"""Privileged texts sealed at rest (counsel's notes, privileged findings, the (J) internal review),
on SQLite and PostgreSQL: never stored in the clear, opened only under the codec keyring, bound
to their document, written once, and proven by a keyed commitment the ledger keeps."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import pytest
from sqlalchemy import text
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities import db
from activities.sealed_documents import (
    SealConflictError,
    SealedDocumentActivities,
    SealedDocumentError,
    SealedDocumentStore,
    commitment_digest,
    verify_disclosure,
)
from models.privileged import PrivilegeBasis, SealedRef, SealRequest
from noticeflow.codec import CodecKeyring

OLD_KEY = hashlib.sha256(b"sealed documents test key 1").digest()
NEW_KEY = hashlib.sha256(b"sealed documents test key 2").digest()
NOTES = "Counsel: the Missouri clock reads 'the day after'; we treat it as 72 hours to be safe. Zebra-7741."


@pytest.fixture
def engine_url(db_url: str) -> str:
    return db_url


@pytest.fixture
def store(db_url: str) -> Iterator[SealedDocumentStore]:
    s = SealedDocumentStore.for_keyring(db.open_engine(db_url), CodecKeyring((OLD_KEY,)))
    try:
        yield s
    finally:
        s.close()


def request(step: str = "counsel-review/1", text_: str = NOTES, basis: PrivilegeBasis = PrivilegeBasis.ATTORNEY_CLIENT) -> SealRequest:
    return SealRequest(incident_id="INC-7", step=step, text=text_, actor="user:counsel", basis=basis)


def raw_table(store: SealedDocumentStore) -> str:
    with store.engine.connect() as conn:
        return " ".join(str(v) for row in conn.execute(text("SELECT * FROM sealed_documents")) for v in row)


def test_a_privileged_text_round_trips_sealed_and_never_stored_in_the_clear(store: SealedDocumentStore) -> None:
    ref = store.seal(request())
    assert ref.document_id == "INC-7/counsel-review/1" and ref.basis is PrivilegeBasis.ATTORNEY_CLIENT
    assert ref.digest.startswith("hmac-sha256:") and ref.digest_scheme == "hmac-sha256-commitment/v1"
    raw = raw_table(store)
    assert "Zebra-7741" not in raw and "Missouri" not in raw and "counsel" not in raw.replace("counsel-review", "")
    opened = store.open_document(ref.document_id)
    assert opened.text == NOTES and opened.ref == ref and opened.actor == "user:counsel"
    assert store.ref(ref.document_id) == ref and store.refs_of("INC-7") == [ref]


def test_the_digest_is_a_commitment_that_proves_the_text_and_nothing_else(store: SealedDocumentStore) -> None:
    ref = store.seal(request())
    opened = store.open_document(ref.document_id)
    assert verify_disclosure(NOTES, opened.opening_key, ref.digest)
    assert not verify_disclosure(NOTES + " ", opened.opening_key, ref.digest)
    # A guess of the text cannot be confirmed from the digest: it is not the plain SHA-256.
    assert ref.digest.removeprefix("hmac-sha256:") != hashlib.sha256(NOTES.encode()).hexdigest()
    # The same text sealed as another document gets another opening key, so another digest.
    other = store.seal(request(step="counsel-review/2"))
    assert other.digest != ref.digest
    assert commitment_digest(NOTES, bytes.fromhex(opened.opening_key)) == ref.digest


def test_sealing_is_idempotent_for_the_same_text_and_refuses_another(store: SealedDocumentStore) -> None:
    first = store.seal(request())
    assert store.seal(request()) == first  # a retried activity
    with pytest.raises(SealConflictError, match="already sealed with a different text"):
        store.seal(request(text_="Another text."))
    with pytest.raises(SealConflictError):
        store.seal(request(basis=PrivilegeBasis.WORK_PRODUCT))
    assert store.open_document(first.document_id).text == NOTES


def test_a_sealed_text_moved_to_another_document_or_altered_does_not_open(store: SealedDocumentStore) -> None:
    a = store.seal(request(step="finding/1", text_="First privileged text."))
    store.seal(request(step="finding/2", text_="Second privileged text."))
    with store.engine.begin() as conn:
        sealed = conn.execute(text("SELECT sealed FROM sealed_documents WHERE document_id = :d"), {"d": a.document_id}).scalar_one()
        conn.execute(text("UPDATE sealed_documents SET sealed = :s WHERE document_id = 'INC-7/finding/2'"), {"s": sealed})
    with pytest.raises(SealedDocumentError, match="moved to another document"):
        store.open_document("INC-7/finding/2")
    with store.engine.begin() as conn:
        conn.execute(text("UPDATE sealed_documents SET digest = :g WHERE document_id = :d"),
                     {"g": "hmac-sha256:" + "0" * 64, "d": a.document_id})
    with pytest.raises(SealedDocumentError, match="does not match its digest"):
        store.open_document(a.document_id)


def test_texts_sealed_under_a_rotated_key_still_open(db_url: str) -> None:
    old = SealedDocumentStore.for_keyring(db.open_engine(db_url), CodecKeyring((OLD_KEY,)))
    try:
        ref = old.seal(request())
    finally:
        old.close()
    rotated = SealedDocumentStore.for_keyring(db.open_engine(db_url), CodecKeyring((NEW_KEY, OLD_KEY)))
    try:
        assert rotated.open_document(ref.document_id).text == NOTES
        assert rotated.seal(request(step="finding/9")).key_id != ref.key_id
    finally:
        rotated.close()
    without_old = SealedDocumentStore.for_keyring(db.open_engine(db_url), CodecKeyring((NEW_KEY,)))
    try:
        with pytest.raises(SealedDocumentError, match="which is not configured"):
            without_old.open_document(ref.document_id)
    finally:
        without_old.close()


async def test_the_activity_seals_once_and_refuses_a_conflict_without_retrying(store: SealedDocumentStore) -> None:
    activities = SealedDocumentActivities(store)
    env = ActivityEnvironment()
    ref = await env.run(activities.seal_privileged_text, request())
    assert isinstance(ref, SealedRef) and ref == await env.run(activities.seal_privileged_text, request())
    with pytest.raises(ApplicationError) as refused:
        await env.run(activities.seal_privileged_text, request(text_="Changed."))
    assert refused.value.type == "SealConflictError" and refused.value.non_retryable


def test_the_ledger_marker_names_the_text_without_it(store: SealedDocumentStore) -> None:
    marker = store.seal(request()).ledger_marker("notes")
    assert marker["privileged"] is True
    assert marker["privilege"]["withheld"] == "notes" and marker["privilege"]["basis"] == "attorney_client"
    assert NOTES not in str(marker)
