"""Examination bundles withhold privileged material: counsel's notes, privileged findings and the
(J) internal review are ledgered by digest with a privilege marker, their text sealed in the
document store; a bundle lists them in its privilege log and carries none of their text."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from activities import db
from activities.sealed_documents import SealedDocumentStore, verify_disclosure
from ledger.export import export_bundle, verify_bundle
from ledger.keys import Keyring
from ledger.store import EntryFilter, Ledger
from models.privileged import PrivilegeBasis, SealedRef, SealRequest
from noticeflow.codec import CodecKeyring
from tests.ledger.conftest import draft

STREAM = "incident:INC-9"
REVIEW_TEXT = "Internal review (privileged): the vendor-oversight checklist was skipped in Q3; Quokka-5512."
NOTES_TEXT = "Counsel's notes: Missouri reads 'the day after'; file within 72 hours anyway. Pangolin-0093."
SECRETS = ("Quokka-5512", "Pangolin-0093", "vendor-oversight checklist was skipped", "file within 72 hours anyway")


@pytest.fixture
def sealed(db_url: str) -> Iterator[SealedDocumentStore]:
    store = SealedDocumentStore.for_keyring(db.open_engine(db_url), CodecKeyring((hashlib.sha256(b"privilege log key").digest(),)))
    try:
        yield store
    finally:
        store.close()


def _privileged_steps(ledger: Ledger, sealed: SealedDocumentStore) -> tuple[SealedRef, SealedRef]:
    review = sealed.seal(SealRequest(incident_id="INC-9", step="finding/2", text=REVIEW_TEXT, actor="user:counsel",
                                     basis=PrivilegeBasis.WORK_PRODUCT))
    notes = sealed.seal(SealRequest(incident_id="INC-9", step="counsel-review/1", text=NOTES_TEXT, actor="user:counsel",
                                    basis=PrivilegeBasis.ATTORNEY_CLIENT))
    ledger.append_many([
        draft(1, stream=STREAM, type="incident.finding_recorded", step=f"{STREAM}/finding/1",
              citation="Tenn. Code Ann. § 56-2-1005",
              data={"kind": "nature_and_scope", "summary": "Vendor file server accessed.", "report_items": ["B"]}),
        draft(2, stream=STREAM, type="incident.finding_recorded", step=f"{STREAM}/finding/2",
              citation="Tenn. Code Ann. § 56-2-1005",
              data={"kind": "internal_review", "report_items": ["J"],
                    "report_statement": "Vendor-oversight procedures were reviewed; gaps are being remediated.",
                    **review.ledger_marker("summary")}),
        draft(3, stream=STREAM, type="incident.counsel_review_recorded", step=f"{STREAM}/counsel-review/1",
              data={"obligation_id": "INC-9:commissioner_notice:MO:commissioner:MO", "decision": "confirmed",
                    **notes.ledger_marker("notes")}),
        draft(4, stream="incident:INC-OTHER", data={"n": 4}),
    ])
    return review, notes


def _all_bundle_text(bundle: Path) -> str:
    return "\n".join(path.read_bytes().decode("utf-8") for path in sorted(bundle.iterdir()) if path.is_file())


@pytest.mark.parametrize("where", [None, EntryFilter(stream=STREAM)], ids=["complete", "filtered"])
def test_the_bundle_lists_privileged_entries_as_withheld_and_carries_none_of_their_text(
    ledger: Ledger, sealed: SealedDocumentStore, keyring: Keyring, tmp_path: Path, where: EntryFilter | None
) -> None:
    review, notes = _privileged_steps(ledger, sealed)
    bundle = export_bundle(ledger, tmp_path / "bundle", keyring, where).path
    assert verify_bundle(bundle, trusted_keys=keyring).ok

    log = json.loads((bundle / "privilege_log.json").read_text())
    assert log["format"] == "noticeflow-privilege-log/1"
    assert [(e["seq"], e["type"], e["digest"], e["privilege_basis"], e["withheld"], e["status"]) for e in log["entries"]] == [
        (2, "incident.finding_recorded", review.digest, "work_product", "summary", "withheld"),
        (3, "incident.counsel_review_recorded", notes.digest, "attorney_client", "notes", "withheld"),
    ]
    html = (bundle / "report.html").read_text()
    section = html[html.index('id="privilege-log"'):html.index("<h2>Keys</h2>")]
    assert review.digest in section and notes.digest in section
    assert "work product" in section and "attorney client" in section and section.count("<td>withheld</td>") == 2

    everything = _all_bundle_text(bundle)
    for secret in SECRETS:
        assert secret not in everything, secret
    manifest = json.loads((bundle / "manifest.json").read_text())
    assert manifest["files"]["privilege_log.json"] == hashlib.sha256((bundle / "privilege_log.json").read_bytes()).hexdigest()


def test_producing_a_withheld_text_with_its_opening_key_proves_it_against_the_bundle(
    ledger: Ledger, sealed: SealedDocumentStore, keyring: Keyring, tmp_path: Path
) -> None:
    _privileged_steps(ledger, sealed)
    bundle = export_bundle(ledger, tmp_path / "bundle", keyring).path
    entry = json.loads((bundle / "privilege_log.json").read_text())["entries"][1]
    produced = sealed.open_document(entry["sealed_document"])
    assert produced.text == NOTES_TEXT
    assert verify_disclosure(produced.text, produced.opening_key, entry["digest"])
    assert not verify_disclosure(produced.text.replace("72", "96"), produced.opening_key, entry["digest"])


def test_a_bundle_without_privileged_entries_says_nothing_is_withheld(ledger: Ledger, keyring: Keyring, tmp_path: Path) -> None:
    ledger.append_many([draft(n) for n in range(1, 4)])
    bundle = export_bundle(ledger, tmp_path / "bundle", keyring).path
    assert json.loads((bundle / "privilege_log.json").read_text())["entries"] == []
    assert "nothing is withheld" in (bundle / "report.html").read_text()
