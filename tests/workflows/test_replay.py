"""Saved histories of representative runs replay against the current workflow code, so a change
that would break running workflows (a non-deterministic edit) fails here, not in production.

``histories/*.json`` are runs of the current code; ``histories/release-<date>/`` keep the runs of
earlier releases, which must still replay: a workflow change ships behind ``workflow.patched``
(docs/temporal.md, "Changing a workflow"). Re-record the current ones after an intentional change
with ``NOTICEFLOW_RECORD_HISTORIES=1 .venv/bin/python -m pytest tests/workflows/test_incident_lifecycle.py
tests/workflows/test_attorney_general_notice.py tests/privacy/test_relationship.py tests/privacy/test_schedules.py
tests/revised/test_revised_notice.py tests/workflows/test_shared_consumer_notice.py tests/privacy/test_api_routes.py``,
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
from workflows.commissioner_notice import ACKNOWLEDGEMENTS_AFTER_CLOSE, UPDATES_TRACKED_AT_CLOSE
from workflows.common import LEAN_HISTORY
from workflows.incident import CLOSE_BEFORE_CHILDREN, NOTICE_COPY_ONCE, SIBLING_SENT
from workflows.incident_obligations import CHILDREN_STARTED_TOGETHER, OBLIGATIONS_RECORDED
from workflows.obligation_base import BOUNCE_MAILBOX_INTAKE
from workflows.privacy_relationship_records import IMPORT_PATCH
from workflows.registry import ALL_WORKFLOWS, CHECKING_RUNNER, RUNNERS
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
    assert {"release-2026-12-01", "release-2026-12-02"} <= set(RELEASES)
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


#: The patches each release's code takes (its histories take exactly these paths).
RELEASE_PATCHES = {
    "release-2026-12-01": set(),
    "release-2026-12-02": {BOUNCE_MAILBOX_INTAKE, CLOSE_BEFORE_CHILDREN, ACKNOWLEDGEMENTS_AFTER_CLOSE, IMPORT_PATCH},
}


def test_the_current_histories_take_every_patched_path_and_each_release_its_own() -> None:
    """Both sides of each patch are replayed: the new path in the current histories, the old one in
    the earlier releases'."""
    assert _patches(CURRENT) == RELEASE_PATCHES["release-2026-12-02"] | {
        OBLIGATIONS_RECORDED, CHILDREN_STARTED_TOGETHER, NOTICE_COPY_ONCE, SIBLING_SENT,
        LEAN_HISTORY, UPDATES_TRACKED_AT_CLOSE}
    for release, patches in RELEASE_PATCHES.items():
        assert _patches([p for p in SAVED if p.parent.name == release]) == patches, release


@pytest.mark.parametrize("sandbox", sorted(RUNNERS))
@pytest.mark.parametrize("path", SAVED, ids=lambda p: p.relative_to(HISTORIES).with_suffix("").as_posix())
async def test_saved_history_replays_with_the_current_code(path: Path, sandbox: str, test_data_converter: DataConverter) -> None:
    """Under the sandbox that checks the workflow code and under the one production workers run
    (workflows/registry.py): both issue the same commands for every saved history."""
    history = WorkflowHistory.from_json(path.stem.split("__", 1)[1], path.read_text())
    replayer = Replayer(
        workflows=ALL_WORKFLOWS, workflow_runner=RUNNERS[sandbox], data_converter=test_data_converter,
        interceptors=[ActorAssertionInterceptor()],
    )
    result = await replayer.replay_workflow(history, raise_on_replay_failure=True)
    assert result.replay_failure is None


def _obligations_changed(monkeypatch: pytest.MonkeyPatch) -> None:
    """The rules of a later release: every obligation of an event comes out in reverse order and
    one fewer — a different set and order of child workflows than any history recorded."""
    import rules.cyber

    real = rules.cyber.compute_obligations

    def changed(*args, **kwargs):  # type: ignore[no-untyped-def]
        result = real(*args, **kwargs)
        return result.model_copy(update={"obligations": list(reversed(result.obligations))[1:]})

    # The sandbox passes rules/ through and imports the workflow modules afresh, which then bind this.
    monkeypatch.setattr(rules.cyber, "compute_obligations", changed)


@pytest.mark.parametrize("scenario", ["full_lifecycle", "assuming_insurer", "law_enforcement_delay"])
async def test_a_rules_change_does_not_change_the_obligations_of_an_event_already_determined(
    scenario: str, test_data_converter: DataConverter, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Recorded obligations (patch ``obligations-recorded``): the event replays with the obligations it
    was determined with, whatever the rules of the running worker now say. The previous release's
    event, whose obligations were computed inline, does not: the hazard this patch removes."""
    _obligations_changed(monkeypatch)
    replayer = Replayer(
        workflows=ALL_WORKFLOWS, workflow_runner=CHECKING_RUNNER, data_converter=test_data_converter,
        interceptors=[ActorAssertionInterceptor()],
    )
    [current] = [p for p in CURRENT if p.stem.startswith(f"{scenario}__incident-")]
    result = await replayer.replay_workflow(WorkflowHistory.from_json("current", current.read_text()), raise_on_replay_failure=False)
    assert result.replay_failure is None
    [previous] = [p for p in SAVED if p.parent.name == "release-2026-12-02" and p.stem.startswith(f"{scenario}__incident-")]
    result = await replayer.replay_workflow(WorkflowHistory.from_json("previous", previous.read_text()), raise_on_replay_failure=False)
    assert result.replay_failure is not None


def test_the_suite_runs_workflows_in_the_checking_sandbox_and_production_in_the_shared_one() -> None:
    """A worker built from the test suite's settings checks the workflow code it runs (every
    ``workflows`` module imported afresh per run); one built from the deployed defaults shares them."""
    from noticeflow.settings import Settings

    assert Settings(_env_file=None).workflow_sandbox == "checking"  # tests/conftest.py
    assert Settings.model_fields["workflow_sandbox"].default == "shared"
    assert "workflows" not in CHECKING_RUNNER.restrictions.passthrough_modules
    assert "workflows" in RUNNERS["shared"].restrictions.passthrough_modules
