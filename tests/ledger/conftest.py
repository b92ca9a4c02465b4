from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ledger.keys import Keyring, Signer, generate_key, load_keyring
from ledger.store import Ledger
from models.ledger import EntryDraft


@pytest.fixture
def key_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "keys"
    generate_key(directory, now="2020-01-01T00:00:00.000000Z")
    return directory


@pytest.fixture
def signer(key_dir: Path) -> Signer:
    from ledger.keys import load_signer

    return load_signer(key_dir)


@pytest.fixture
def keyring(key_dir: Path) -> Keyring:
    return load_keyring(key_dir)


@pytest.fixture
def ledger(db_url: str, signer: Signer) -> Iterator[Ledger]:
    instance = Ledger.open(db_url, signer)
    try:
        yield instance
    finally:
        instance.close()


def draft(n: int, *, stream: str = "incident:INC-7", **overrides: object) -> EntryDraft:
    """A realistic step of the cybersecurity-event lifecycle, numbered ``n``."""
    fields: dict[str, object] = {
        "stream": stream,
        "type": "commissioner_notice.sent" if n % 2 else "consumer_notice.batch_mailed",
        "step": f"{stream}/step-{n}",
        "workflow_id": f"incident-{stream.split(':')[-1]}",
        "run_id": "run-1",
        "jurisdiction": "TN",
        "citation": "Tenn. Code Ann. § 56-2-1006(a)",
        "actor": "worker",
        "data": {"n": n, "consumers": 120 * n, "document_sha256": f"{n:064x}", "channel": "portal"},
    }
    fields.update(overrides)
    return EntryDraft.model_validate(fields)


def fill(ledger: Ledger, count: int, **kwargs: object) -> None:
    ledger.append_many([draft(n, **kwargs) for n in range(1, count + 1)])
