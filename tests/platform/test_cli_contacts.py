"""``noticeflow contacts``, as an operator runs it: a legal hold set with its matter keeps a closed
event's contact data past its retention, the sweep says why; lifted, the next sweep destroys the
data key; ``status`` shows key ids, dates and citations — never key material."""

from __future__ import annotations

import datetime as dt
import getpass
import os
import subprocess
import sys
from pathlib import Path

from activities import db
from activities.contact_retention import RETENTION_STREAM
from activities.contact_store import kek_file
from activities.roster import RosterStore
from ledger.keys import generate_key, load_signer
from ledger.store import EntryFilter, Ledger
from models.ledger import EntryDraft
from noticeflow.settings import Settings
from rules.jurisdictions import retention_citation
from tests.activities.conftest import make_contact
from tests.conftest import REPO

MATTER = "Doe v. Cumberland Mutual, No. 3:25-cv-00417"


def _cli(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("NOTICEFLOW_")}
    return subprocess.run(
        [sys.executable, "-m", "noticeflow.cli", "contacts", *args],
        cwd=REPO, env={**environment, "NOTICEFLOW_HOME": str(home), "NOTICEFLOW_LOG_LEVEL": "ERROR"},
        capture_output=True, text=True, timeout=120, check=False,
    )


def test_hold_set_keeps_the_data_past_retention_and_lift_lets_the_sweep_destroy_it(tmp_path: Path) -> None:
    home = tmp_path / "home"
    settings = Settings(_env_file=None, home=home)  # type: ignore[call-arg]
    generate_key(settings.resolved_key_path())
    ledger = Ledger.open(settings.resolved_db_url(), load_signer(settings.resolved_key_path()))
    engine = db.open_engine(settings.resolved_db_url())
    citation = retention_citation("TN")
    retained = dt.datetime(2024, 6, 30, 12, 0, tzinfo=dt.UTC)
    try:
        RosterStore.for_settings(engine, settings).store_roster("INC-CLI-r1", [make_contact(1, "TN"), make_contact(2, "TN")])
        ledger.append(EntryDraft(stream="incident:INC-CLI", type="incident.closed", step="incident-INC-CLI/closed",
                                 actor="user:closer", citation=citation, data={"retain_until": retained.isoformat()}))
    finally:
        engine.dispose()

    held = _cli(home, "hold", "set", "INC-CLI", "--matter", MATTER)
    assert held.returncode == 0, held.stderr
    assert f"for {MATTER!r} set by user:{getpass.getuser()}; ledgered on admin:retention" in held.stdout
    swept = _cli(home, "shred-expired")
    assert swept.returncode == 0, swept.stderr
    assert f"held INC-CLI (retained until {retained.isoformat()}): legal hold {MATTER}" in swept.stdout
    assert "0 destroyed, 1 held" in swept.stdout
    status = _cli(home, "status", "INC-CLI")
    assert ": live" in status.stdout and "legal hold LH-" in status.stdout

    lifted = _cli(home, "hold", "lift", "INC-CLI", "--matter", MATTER)
    assert lifted.returncode == 0, lifted.stderr
    destroyed = _cli(home, "shred-expired")
    assert "1 destroyed, 0 held" in destroyed.stdout, destroyed.stdout + destroyed.stderr
    status = _cli(home, "status", "INC-CLI")
    assert f"closed; retained until {retained.isoformat()} ({citation})" in status.stdout
    assert f"under {citation}" in status.stdout
    everything = held.stdout + swept.stdout + status.stdout + lifted.stdout + destroyed.stdout
    assert kek_file(settings).read_text().strip().split("\n")[0] not in everything

    types = [(e["type"], e["actor"]) for e in ledger.iter_raw(EntryFilter(stream=RETENTION_STREAM))]
    ledger.close()
    login = f"user:{getpass.getuser()}"
    assert types == [
        ("contacts.legal_hold_set", login), ("contacts.destruction_held", "worker:retention-sweep"),
        ("contacts.legal_hold_lifted", login), ("contacts.data_key_destroyed", "worker:retention-sweep"),
    ]


def test_a_hold_on_an_unknown_incident_is_refused_with_the_reason(tmp_path: Path) -> None:
    home = tmp_path / "home"
    generate_key(home / "keys")
    refused = _cli(home, "hold", "set", "INC-NOPE", "--matter", MATTER)
    assert refused.returncode == 2
    assert "error: no incident 'INC-NOPE' in the ledger" in refused.stderr
