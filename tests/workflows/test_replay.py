"""Saved histories of representative runs replay against the current workflow code, so a change
that would break running workflows (a non-deterministic edit) fails here, not in production.

Regenerate after an intentional, versioned change with
``NOTICEFLOW_RECORD_HISTORIES=1 .venv/bin/python -m pytest tests/workflows/test_incident_lifecycle.py``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.converter import DataConverter
from temporalio.worker import Replayer

from tests.workflows.conftest import HISTORIES
from workflows.registry import ALL_WORKFLOWS, WORKFLOW_RUNNER

SAVED = sorted(HISTORIES.glob("*.json"))


def test_saved_histories_cover_every_workflow_and_the_main_paths() -> None:
    types = set()
    for path in SAVED:
        first = json.loads(path.read_text())["events"][0]
        types.add(first["workflowExecutionStartedEventAttributes"]["workflowType"]["name"])
    assert types == {w.__temporal_workflow_definition.name for w in ALL_WORKFLOWS}  # type: ignore[attr-defined]
    scenarios = {p.stem.split("__")[0] for p in SAVED}
    assert {"full_lifecycle", "not_an_event", "overdue_then_late", "law_enforcement_delay", "assuming_insurer"} <= scenarios


@pytest.mark.parametrize("path", SAVED, ids=lambda p: p.stem)
async def test_saved_history_replays_with_the_current_code(path: Path, test_data_converter: DataConverter) -> None:
    history = WorkflowHistory.from_json(path.stem.split("__", 1)[1], path.read_text())
    replayer = Replayer(workflows=ALL_WORKFLOWS, workflow_runner=WORKFLOW_RUNNER, data_converter=test_data_converter)
    result = await replayer.replay_workflow(history, raise_on_replay_failure=True)
    assert result.replay_failure is None
