"""The demo's last act: what an examiner receives and how they check it without trusting us.

An examiner holds three things from outside the bundle: the licensee's **key statement** (filed
once with the regulator), the **checkpoints** printed in each commissioner report the licensee
filed, and the **external verifier** fetched from its published place with its SHA-256. This
module writes the first two as the demo's regulator would have them, then checks the bundle both
with noticeflow's verifier and with the single-file external one (``tools/verify_bundle.py``),
which imports nothing of noticeflow — the two must agree.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from ledger.bundle_verify import BundleReport, verify_bundle
from ledger.key_statement import build_key_statement
from ledger.keys import load_keyring
from ledger.store import EntryFilter, Ledger
from noticeflow.settings import Settings
from noticeflow.verifier_tool import verifier_path, verifier_sha256

#: Filing entries that carry the checkpoint the filed report printed.
FILING_TYPES = ("commissioner_notice.submitted", "commissioner_notice.updated")


@dataclass(frozen=True)
class ExaminerCheck:
    statement: Path
    checkpoints: list[Path]
    report: BundleReport
    external_ok: bool
    external_first_line: str
    verifier_sha256: str


def write_key_statement(settings: Settings, out: Path, licensee: str) -> Path:
    """The key statement the licensee files with its regulator (``noticeflow ledger key statement``)."""
    key_dir = settings.resolved_key_path()
    statement = build_key_statement(
        load_keyring(key_dir), key_dir, licensee=licensee, origin=settings.ledger_origin,
        passphrase=settings.key_passphrase,
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(statement, indent=2, ensure_ascii=False) + "\n", "utf-8")
    return out


def filed_checkpoints(settings: Settings, incident_id: str, out_dir: Path) -> list[Path]:
    """The checkpoint of every commissioner report the event filed, as the regulator holds it: the
    signed note printed in the filed report (its JSON document in the document store)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    ledger = Ledger.open(settings.resolved_db_url())
    written: list[Path] = []
    try:
        for entry in ledger.iter_raw(EntryFilter(stream=f"incident:{incident_id}")):
            if entry["type"] not in FILING_TYPES or not entry["data"].get("checkpoint"):
                continue
            document = settings.documents_dir / f"{entry['data']['document_sha256']}.json"
            note = json.loads(document.read_text("utf-8")).get("ledger_checkpoint_note")
            if not note:
                continue
            path = out_dir / f"checkpoint-{entry['jurisdiction']}-v{entry['data']['version']}.txt"
            path.write_text(note, "utf-8")
            written.append(path)
    finally:
        ledger.close()
    return written


def check_as_examiner(bundle: Path, statement: Path, checkpoints: list[Path]) -> ExaminerCheck:
    """Verify ``bundle`` against the key statement and every filed checkpoint, with noticeflow's
    verifier and with the external one run as a separate Python process."""
    report = verify_bundle(bundle, key_statement=statement, known_checkpoints=checkpoints)
    command = [sys.executable, "-I", str(verifier_path()), str(bundle), "--trusted-keys", str(statement)]
    for checkpoint in checkpoints:
        command += ["--known-checkpoint", str(checkpoint)]
    run = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    first = (run.stdout.strip().splitlines() or [run.stderr.strip()])[0]
    return ExaminerCheck(
        statement=statement, checkpoints=checkpoints, report=report, external_ok=run.returncode == 0,
        external_first_line=first, verifier_sha256=verifier_sha256(),
    )
