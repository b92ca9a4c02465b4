"""Saved histories of representative runs replay against the current workflow code, so a change
that would break running workflows (a non-deterministic edit) fails here, not in production.

``histories/*.json`` are runs of the current code; ``histories/release-<date>/`` keep the runs of
earlier releases, which must still replay: a workflow change ships behind ``workflow.patched``
(docs/temporal.md, "Changing a workflow"). Re-record the current ones after an intentional change
with ``NOTICEFLOW_RECORD_HISTORIES=1 .venv/bin/python -m pytest tests/workflows/test_incident_lifecycle.py
tests/workflows/test_attorney_general_notice.py tests/privacy/test_relationship.py tests/privacy/test_schedules.py
tests/revised/test_revised_notice.py``,
after moving the previous release's into its own ``release-<date>/`` directory.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.converter import DataConverter
from temporalio.worker import Replayer

from tests.workflows.conftest import HISTORIES
from workflows.commissioner_notice import ACKNOWLEDGEMENTS_AFTER_CLOSE
from workflows.incident import CLOSE_BEFORE_CHILDREN
from workflows.obligation_base import BOUNCE_MAILBOX_INTAKE
from workflows.privacy_relationship_records import IMPORT_PATCH
from workflows.registry import ALL_WORKFLOWS, WORKFLOW_RUNNER
from workflows.interceptors import ActorAssertionInterceptor

SAVED = sorted(HISTORIES.rglob("*.json"))
CURRENT = [p for p in SAVED if p.parent == HISTORIES]
RELEASES = sorted({p.parent.name for p in SAVED if p.parent != HISTORIES})
SCENARIOS = {"full_lifecycle", "not_an_event", "overdue_then_late", "law_enforcement_delay", "assuming_insurer"}


def _workflow_types(paths: list[Path]) -> set[str]:
    return {
        json.loads(p.read_text())["events"][0]["workflowExecutionStartedEventAttributes"]["workflowType"]["name"]
        for p in paths
    }


def test_saved_histories_of_the_current_code_cover_every_workflow_and_the_main_paths() -> None:
    assert _workflow_types(CURRENT) == {w.__temporal_workflow_definition.name for w in ALL_WORKFLOWS}  # type: ignore[attr-defined]
    assert SCENARIOS <= {p.stem.split("__")[0] for p in CURRENT}


def test_the_previous_release_histories_are_kept_for_replay() -> None:
    """Workflows started under the previous release may still be running: its histories stay."""
    assert "release-2026-12-01" in RELEASES
    for release in RELEASES:
        kept = [p for p in SAVED if p.parent.name == release]
        assert SCENARIOS <= {p.stem.split("__")[0] for p in kept}, release


def _patches(paths: list[Path]) -> set[str]:
    """The ids of the ``workflow.patched`` markers in these histories."""
    ids = set()
    for p in paths:
        for event in json.loads(p.read_text())["events"]:
            marker = event.get("markerRecordedEventAttributes")
            if marker and marker["markerName"] == "core_patch":
                ids.add(json.loads(base64.b64decode(marker["details"]["patch-data"]["payloads"][0]["data"]))["id"])
    return ids


def test_the_current_histories_take_every_patched_path_and_the_previous_release_none() -> None:
    """Both sides of each patch are replayed: the new path in the current histories, the old one in
    the previous release's."""
    assert _patches(CURRENT) == {BOUNCE_MAILBOX_INTAKE, CLOSE_BEFORE_CHILDREN, ACKNOWLEDGEMENTS_AFTER_CLOSE, IMPORT_PATCH}
    assert _patches([p for p in SAVED if p.parent.name == "release-2026-12-01"]) == set()


@pytest.mark.parametrize("path", SAVED, ids=lambda p: p.relative_to(HISTORIES).with_suffix("").as_posix())
async def test_saved_history_replays_with_the_current_code(path: Path, test_data_converter: DataConverter) -> None:
    history = WorkflowHistory.from_json(path.stem.split("__", 1)[1], path.read_text())
    replayer = Replayer(
        workflows=ALL_WORKFLOWS, workflow_runner=WORKFLOW_RUNNER, data_converter=test_data_converter,
        interceptors=[ActorAssertionInterceptor()],
    )
    result = await replayer.replay_workflow(history, raise_on_replay_failure=True)
    assert result.replay_failure is None
