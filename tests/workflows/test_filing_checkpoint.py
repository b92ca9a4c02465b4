"""Filings carry the ledger's checkpoint (issue 10 spec G): before a commissioner report or an
updated report is filed, ``render_commissioner_report`` signs and stores a tree head of the whole
ledger; the filed document shows it as a C2SP checkpoint in a "Ledger checkpoint" block, and the
filing's ledger entry states ``checkpoint: {origin, tree_size, root_hash}``. An examiner keeps it
and later checks that an exported ledger extends it (``--known-checkpoint``). Real worker, real
ledger and keys, the time-skipping server."""

from __future__ import annotations

import html
import json
import re
from datetime import timedelta

from ledger.checkpoint import verify_checkpoint
from ledger.keys import load_keyring
from models.lifecycle import MaterialUpdate
from tests.workflows.conftest import Stack
from tests.workflows.notice_helpers import affected, entries, event, until
from tests.workflows.test_commissioner_acknowledgement import _file
from workflows.commissioner_notice import CommissionerNoticeWorkflow

_BLOCK = re.compile(r'<h2 id="ledger-checkpoint">Ledger checkpoint</h2>.*?<pre class="ledger-checkpoint">(.*?)</pre>', re.S)


def _filed_html(stack: Stack, submission_id: str) -> str:
    """The HTML as handed to the regulator: the outbox's copy of the submission."""
    (filed,) = [p for p in (stack.settings.outbox_dir / "regulators" / "TN").rglob("*.html") if submission_id in str(p)]
    return filed.read_text(encoding="utf-8")


def _check(stack: Stack, entry: dict, submission_id: str) -> int:
    """The filed document's checkpoint verifies under the ledger's key, equals the entry's, and
    states the ledger's root at its size; returns that size."""
    stated = entry["checkpoint"]
    assert set(stated) == {"origin", "tree_size", "root_hash"} and stated["origin"] == stack.settings.ledger_origin
    page = _filed_html(stack, submission_id)
    (note,) = _BLOCK.findall(page)
    checkpoint = verify_checkpoint(html.unescape(note), load_keyring(stack.settings.resolved_key_path()),
                                   origin=stack.settings.ledger_origin)
    assert (checkpoint.origin, checkpoint.tree_size, checkpoint.root_hash) == (
        stated["origin"], stated["tree_size"], stated["root_hash"])
    size, root = stack.ledger.root_at(checkpoint.tree_size)
    assert root.hex() == checkpoint.root_hash, "the checkpoint states the ledger's own root at that size"
    assert (checkpoint.tree_size, checkpoint.root_hash) in stack.ledger.stored_head_sizes(), "its tree head is stored"
    document = json.loads((stack.settings.documents_dir / f"{entry['document_sha256']}.json").read_text())
    assert document["ledger_checkpoint"] == stated and document["ledger_checkpoint_note"] == html.unescape(note)
    return size


async def test_the_filed_report_and_its_update_carry_a_checkpoint_that_verifies_against_the_ledger(stack: Stack) -> None:
    handle, ob = await _file(stack, "INC-CKPT", due_in=timedelta(days=3))
    (submitted,) = entries(stack, "INC-CKPT", "commissioner_notice.submitted", ob.obligation_id)
    first = _check(stack, submitted, submitted["submission_id"])
    assert first >= 1  # the obligation's opening is in it

    now = await stack.now()
    await handle.signal(
        CommissionerNoticeWorkflow.material_update,
        MaterialUpdate(sequence=1, step="finding/1", summary="the source was identified", changes=["(E) source identified"],
                       recorded_by="jdoe", intake=event(now, "INC-CKPT", [affected("TN", 3)])),
    )
    await until(handle, lambda st: st.updates_sent == 1)
    (updated,) = entries(stack, "INC-CKPT", "commissioner_notice.updated", ob.obligation_id)
    second = _check(stack, updated, updated["submission_id"])
    assert second > first, "the update's checkpoint covers what was recorded since the first filing"
    # The filing's own entry comes after its checkpoint: a later checkpoint includes it.
    seq = next(e.seq for e in stack.entries("INC-CKPT") if e.step.endswith("report/v1"))
    assert first < seq <= second
    stack.verify()
