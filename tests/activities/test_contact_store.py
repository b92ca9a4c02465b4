"""The contact store's keys: where the key-encryption key comes from (environment, a named file, or a
file created 0600 under the home), what each refusal says, and that a wrapped data key or a sealed
value is bound to where it belongs."""

from __future__ import annotations

import base64
import os
import stat
from pathlib import Path

import pytest
from sqlalchemy import text

from activities import db
from activities.contact_store import (
    ContactKeyError,
    ContactStore,
    KekRing,
    kek_file,
    kek_id_for,
    load_kek_ring,
)
from noticeflow.settings import Settings


def _settings(tmp_path: Path, **values: object) -> Settings:
    return Settings(_env_file=None, home=tmp_path / "home", **values)  # type: ignore[arg-type, call-arg]


def test_the_default_kek_file_is_created_once_under_the_home_with_mode_0600(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    ring = load_kek_ring(settings)
    assert kek_file(settings) == tmp_path / "home" / "contact-kek.key"
    assert stat.S_IMODE(kek_file(settings).stat().st_mode) == 0o600
    assert load_kek_ring(settings) == ring, "read again, not replaced"
    assert ring.current_id == kek_id_for(ring.keys[0]) and ring.current_id.startswith("kek-")


def test_the_kek_from_the_environment_or_a_named_file_is_used_and_nothing_is_created(tmp_path: Path) -> None:
    new, old = os.urandom(32), os.urandom(32)
    value = ",".join(base64.b64encode(k).decode() for k in (new, old))
    assert load_kek_ring(_settings(tmp_path, contact_kek=value)).keys == (new, old)
    named = tmp_path / "vault" / "kek"
    named.parent.mkdir()
    named.write_text(base64.b64encode(old).decode() + "\n")
    assert load_kek_ring(_settings(tmp_path, contact_kek_file=named)).keys == (old,)
    assert not (tmp_path / "home" / "contact-kek.key").exists()


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"contact_kek": "c2hvcnQ="}, "NOTICEFLOW_CONTACT_KEK: a contact key-encryption key is 32 bytes (AES-256), got 5"),
        ({"contact_kek": "not base64!"}, "NOTICEFLOW_CONTACT_KEK: a contact key-encryption key is not valid base64"),
        ({"contact_kek_file": Path("/nonexistent/kek")}, "NOTICEFLOW_CONTACT_KEK_FILE: /nonexistent/kek does not exist"),
        (
            {"contact_kek": base64.b64encode(bytes(32)).decode(), "contact_kek_file": Path("/x")},
            "set NOTICEFLOW_CONTACT_KEK or NOTICEFLOW_CONTACT_KEK_FILE, not both",
        ),
    ],
)
def test_a_bad_kek_setting_is_refused_naming_the_setting(tmp_path: Path, values: dict, message: str) -> None:
    with pytest.raises(ContactKeyError) as err:
        load_kek_ring(_settings(tmp_path, **values))
    assert str(err.value) == message


def test_a_data_key_wrapped_under_a_kek_no_longer_configured_names_that_kek(tmp_path: Path) -> None:
    engine = db.open_engine(f"sqlite:///{tmp_path / 'ledger.db'}")
    try:
        first = KekRing((os.urandom(32),))
        key = ContactStore(engine, first).data_key("incident:INC-1")
        other = ContactStore(engine, KekRing((os.urandom(32),)))
        with pytest.raises(ContactKeyError, match=f"wrapped under key-encryption key {first.current_id}, which is not configured"):
            other.keys_for([key.key_id])
    finally:
        engine.dispose()


def test_a_wrapped_data_key_moved_to_another_scope_does_not_unwrap(tmp_path: Path) -> None:
    engine = db.open_engine(f"sqlite:///{tmp_path / 'ledger.db'}")
    try:
        store = ContactStore(engine, KekRing((os.urandom(32),)))
        a, b = store.data_key("incident:INC-A"), store.data_key("incident:INC-B")
        with engine.begin() as conn:
            wrapped = conn.execute(text("SELECT wrapped FROM contact_data_keys WHERE key_id = :k"), {"k": a.key_id}).scalar_one()
            conn.execute(text("UPDATE contact_data_keys SET wrapped = :w WHERE key_id = :k"), {"w": wrapped, "k": b.key_id})
        fresh = ContactStore(engine, store.kek)  # no unwrapped key cached
        with pytest.raises(ContactKeyError, match=f"data key {b.key_id} failed authentication"):
            fresh.keys_for([b.key_id])
        sealed = a.seal("notice_roster_contacts|INC-A|INC-A-r1|ref|contact", b"{}")
        assert fresh.keys_for([a.key_id])[a.key_id].open("notice_roster_contacts|INC-A|INC-A-r1|ref|contact", sealed) == b"{}"
    finally:
        engine.dispose()
