import sys, tempfile
from pathlib import Path
import pytest
from typer.testing import CliRunner
from noticeflow.cli import app
from tests.ledger.bundle_cases import TAMPER_CASES, prepare, pristine, demo_bundles
from tests.tools.conftest import run_tool
runner = CliRunner()

def test_show(demo_bundles, tmp_path):
    for name in ("jurisdiction_tn", "format1_stream"):
        p = pristine(demo_bundles, name, ())
        print("PRISTINE", name, run_tool(Path(p.cli_args()[0]), *p.cli_args()[1:]).stdout)
        print("PRISTINE-CLI", name, runner.invoke(app, ["ledger", "verify", *p.cli_args()]).output)
    for case in TAMPER_CASES:
        if "format1" not in case.name: continue
        p = prepare(case, demo_bundles, tmp_path)
        t = run_tool(Path(p.cli_args()[0]), *p.cli_args()[1:])
        c = runner.invoke(app, ["ledger", "verify", *p.cli_args()])
        print(case.name, "\n  tool:", t.returncode, t.stdout.splitlines()[0], "\n  cli: ", c.exit_code, c.output.splitlines()[0])
