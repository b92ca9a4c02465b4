"""The privacy store on SQLite and PostgreSQL: contact data sealed at rest, batched idempotent
writes, keyset paging, the claim that keeps a notice from going out twice, and the gate's
question built from what is stored (28 TAC §§ 22.13, 22.14)."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterator

import pytest
from sqlalchemy import text

from activities import db
from activities.contact_store import (
    ContactSealError,
    ContactStore,
    DataKeyDestroyedError,
    KekRing,
)
from activities.privacy_store import ConflictError, NotFoundError, PrivacyStore
from models.privacy import DeliveryChannel, NoticeKind
from models.privacy_lifecycle import (
    DeliveryRecord,
    DeliveryStatus,
    DisclosureOpening,
    GateQuestion,
    OpeningStatus,
    OptOutRecord,
    RelationshipStage,
    RelationshipStatusChange,
)
from rules.disclosure import decide_disclosure
from tests.privacy.builders import consumer, policy_record, ref, relationship

CT = dt.timezone(dt.timedelta(hours=-6))
KEY = hashlib.sha256(b"privacy store test key").digest()


@pytest.fixture
def store(db_url: str) -> Iterator[PrivacyStore]:
    engine = db.open_engine(db_url)
    s = PrivacyStore(engine, ContactStore(engine, KekRing((KEY,))))
    try:
        yield s
    finally:
        s.close()


def delivery(rel: str, notice_id: str, *, at: dt.datetime, status: DeliveryStatus = DeliveryStatus.SENT, **extra) -> DeliveryRecord:
    return DeliveryRecord(
        delivery_key=f"{rel}/{notice_id}",
        relationship_id=rel,
        notice_id=notice_id,
        kind=extra.pop("kind", NoticeKind.INITIAL),
        policy_version=extra.pop("policy_version", "v1"),
        includes_opt_out_notice=extra.pop("includes_opt_out_notice", True),
        channel=extra.pop("channel", DeliveryChannel.MAIL),
        status=status,
        delivered_at=at,
        **extra,
    )


def test_contact_data_is_sealed_at_rest_under_each_consumers_data_key_and_bound_to_its_consumer(store: PrivacyStore) -> None:
    store.upsert_consumers([consumer("C-1"), consumer("C-2", email=False)])
    with store.engine.connect() as conn:
        raw = " ".join(str(v) for row in conn.execute(text("SELECT * FROM privacy_consumers")) for v in row)
        keys = dict(conn.execute(text("SELECT consumer_ref, data_key_id FROM privacy_consumers")).all())
    assert "Jordan" not in raw and "mail.example" not in raw and "Congress" not in raw
    assert keys[ref("C-1")] != keys[ref("C-2")], "one data key per consumer"
    assert [k.key_id for k in store.contacts.key_info(f"consumer:{ref('C-1')}")] == [keys[ref("C-1")]]
    contacts = store.consumer_contacts([ref("C-1"), ref("C-2")])
    assert contacts[ref("C-1")].email == "jordan.c-1@mail.example"
    assert contacts[ref("C-2")].email is None and contacts[ref("C-2")].postal_address is not None
    flags = store.consumer_flags([ref("C-2")])[ref("C-2")]
    assert (flags.has_email, flags.has_postal_address) == (False, True)
    # A sealed contact moved to another consumer's row does not open — with its key id or without.
    with store.engine.begin() as conn:
        one = conn.execute(text("SELECT data_key_id, contact FROM privacy_consumers WHERE consumer_ref = :r"), {"r": ref("C-1")}).one()
        conn.execute(text("UPDATE privacy_consumers SET contact = :c WHERE consumer_ref = :r"), {"c": one.contact, "r": ref("C-2")})
    with pytest.raises(ContactSealError, match="moved to another row"):
        store.consumer_contacts([ref("C-2")])
    with store.engine.begin() as conn:
        conn.execute(text("UPDATE privacy_consumers SET data_key_id = :k WHERE consumer_ref = :r"), {"k": one.data_key_id, "r": ref("C-2")})
    with pytest.raises(ContactSealError, match="moved to another row"):
        store.consumer_contacts([ref("C-2")])


def test_a_consumer_whose_data_key_is_destroyed_cannot_be_read_and_a_new_contact_gets_a_new_key(store: PrivacyStore) -> None:
    store.upsert_consumers([consumer("C-1"), consumer("C-2")])
    at = dt.datetime(2031, 3, 1, tzinfo=dt.UTC)
    (gone,) = store.contacts.destroy(f"consumer:{ref('C-1')}", at=at, citation="28 TAC § 22.2 (test)", reason="erasure requested")
    with pytest.raises(DataKeyDestroyedError) as err:
        store.consumer_contacts([ref("C-1"), ref("C-2")])
    assert str(err.value) == (
        f"the contact data of consumer:{ref('C-1')} cannot be opened: its data key {gone.key_id} was destroyed on "
        "2031-03-01 under 28 TAC § 22.2 (test) (erasure requested)"
    )
    assert store.consumer_contacts([ref("C-2")])[ref("C-2")].name.startswith("Jordan")
    assert store.consumer_flags([ref("C-1")])[ref("C-1")].has_email, "what may be known of the consumer stays"
    # The consumer comes back with a new address: sealed under a new data key.
    store.upsert_consumers([consumer("C-1")])
    assert store.consumer_contacts([ref("C-1")])[ref("C-1")].email == "jordan.c-1@mail.example"
    assert [k.destroyed for k in store.contacts.key_info(f"consumer:{ref('C-1')}")] == [True, False]


def test_relationships_need_their_consumers_register_idempotently_and_page_by_id(store: PrivacyStore) -> None:
    with pytest.raises(NotFoundError, match="REL-X: 1 consumer"):
        store.register_relationships([relationship("REL-X", "nobody")])
    assert store.relationships_page() == []  # nothing half-written
    consumers = [consumer(f"C-{i:05d}", n=i) for i in range(2500)]
    assert store.upsert_consumers(consumers, chunk=700) == 2500
    records = [relationship(f"REL-{i:05d}", f"C-{i:05d}") for i in range(2500)]
    records.append(relationship("REL-JOINT", "C-00001", "C-00002"))
    assert store.register_relationships(records, chunk=900) == 2501
    assert store.register_relationships(records, chunk=900) == 0
    pages = list(store.iter_relationships(batch=1000))
    assert [len(p) for p in pages] == [1000, 1000, 501]
    ids = [r.relationship_id for p in pages for r in p]
    assert ids == sorted(ids) and len(set(ids)) == 2501
    assert store.relationships_of(ref("C-00001")) == ["REL-00001", "REL-JOINT"]
    assert store.get_relationship("REL-JOINT").joint


def test_a_delivery_is_claimed_once_then_finished_returned_and_counted(store: PrivacyStore) -> None:
    store.upsert_consumers([consumer("C-1")])
    store.register_relationships([relationship("REL-1", "C-1")])
    at = dt.datetime(2025, 3, 3, 9, 0, tzinfo=CT)
    pending = delivery("REL-1", "initial-v1", at=at, status=DeliveryStatus.PENDING)
    assert store.claim_deliveries([pending]) == {"REL-1/initial-v1"}
    assert store.claim_deliveries([pending]) == set()  # a second attempt must not send
    store.finish_deliveries([pending.model_copy(update={"status": DeliveryStatus.SENT, "documents": ["a" * 64]})])
    returned = store.mark_delivery("REL-1/initial-v1", DeliveryStatus.RETURNED, at + dt.timedelta(days=6))
    assert returned.status is DeliveryStatus.RETURNED and returned.returned_at is not None
    assert store.delivery_counts(kind=NoticeKind.INITIAL).by_status == {"returned": 1}
    with pytest.raises(NotFoundError):
        store.mark_delivery("REL-1/nope", DeliveryStatus.RETURNED, at)


def test_opt_outs_revocations_openings_and_the_annual_due_page(store: PrivacyStore) -> None:
    store.upsert_consumers([consumer(f"C-{i}", n=i) for i in range(4)])
    store.register_relationships([relationship(f"REL-{i}", f"C-{i}") for i in range(4)])
    at = dt.datetime(2025, 3, 3, 9, 0, tzinfo=CT)
    elections = [
        OptOutRecord(election_id=f"E-{i}", relationship_id=f"REL-{i}", consumer_ref=ref(f"C-{i}"), received_at=at, effective_at=at)
        for i in (1, 2)
    ]
    assert store.record_opt_outs(elections) == 2
    assert store.record_opt_outs(elections) == 0
    revoked = store.record_revocation("E-2", at + dt.timedelta(days=3), "written")
    assert revoked.as_revocation() is not None
    assert store.opted_out([f"REL-{i}" for i in range(4)]) == {"REL-1"}
    opening = DisclosureOpening(
        relationship_id="REL-0", policy_version="v1", status=OpeningStatus.OPENED, opened_at=at, notice_id="initial-v1",
        citation="28 TAC § 22.14(a); 28 TAC § 22.14(b)(1)",
    )
    assert store.record_openings([opening]) == 1
    assert store.record_openings([opening.model_copy(update={"status": OpeningStatus.HELD_BY_OPT_OUT})]) == 0
    assert store.openings_of("REL-0")[0].status is OpeningStatus.OPENED
    store.update_relationships(
        [
            RelationshipStatusChange(relationship_id="REL-0", stage=RelationshipStage.CUSTOMER, next_annual_due=dt.date(2026, 12, 31)),
            RelationshipStatusChange(relationship_id="REL-1", stage=RelationshipStage.CUSTOMER, next_annual_due=dt.date(2026, 11, 30)),
            RelationshipStatusChange(relationship_id="REL-2", stage=RelationshipStage.FORMER_CUSTOMER, next_annual_due=None,
                                     ended_on=dt.date(2026, 1, 5), end_reason="no longer a current policyholder",
                                     end_citation="28 TAC § 22.9(b)(1)"),
        ]
    )
    assert store.annual_due_page(dt.date(2026, 12, 31)) == ["REL-0", "REL-1"]
    assert store.annual_due_page(dt.date(2026, 12, 31), after="REL-0") == ["REL-1"]
    assert store.annual_due_page(dt.date(2026, 12, 1)) == ["REL-1"]


def test_a_policy_version_is_never_reused_for_other_content(store: PrivacyStore) -> None:
    digest = store.put_policy(policy_record("v1"))
    assert store.put_policy(policy_record("v1")) == digest
    assert store.get_policy("v1") == policy_record("v1")
    with pytest.raises(ConflictError, match="give the changed policy a new version_id"):
        store.put_policy(policy_record("v1", categories_collected=["something else"]))
    with pytest.raises(NotFoundError, match="register it first"):
        store.get_policy("v9")


def test_gate_question_from_the_store_waits_out_the_mailed_window_and_ignores_returned_mail_22_14_b_1(store: PrivacyStore) -> None:
    store.put_policy(policy_record("v1"))
    store.upsert_consumers([consumer("C-1"), consumer("C-2", n=2)])
    store.register_relationships([relationship("REL-1", "C-1"), relationship("REL-2", "C-2")])
    mailed = dt.datetime(2025, 3, 3, 9, 0, tzinfo=CT)
    store.record_deliveries([delivery("REL-1", "initial-v1", at=mailed), delivery("REL-2", "initial-v1", at=mailed)])
    store.mark_delivery("REL-2/initial-v1", DeliveryStatus.RETURNED, mailed + dt.timedelta(days=5))
    question = GateQuestion.model_validate(
        {"request_id": "Q-1", "npi_category": "application information", "purpose": "direct_mail_marketing",
         "recipient": {"name": "Pecos Premium Finance", "kind": "nonaffiliated_third_party", "category": "financial service providers"}}
    )
    before = decide_disclosure(store.disclosure_request("REL-1", question, mailed + dt.timedelta(days=29)))
    after = decide_disclosure(store.disclosure_request("REL-1", question, mailed + dt.timedelta(days=31)))
    returned = decide_disclosure(store.disclosure_request("REL-2", question, mailed + dt.timedelta(days=31)))
    assert (before.allowed, after.allowed, returned.allowed) == (False, True, False)
    assert "28 TAC § 22.14(b)(1)" in after.citation
    assert before.first_allowed_at == after.first_allowed_at
    assert returned.rule_id == "tx.disclosure.conditions"
