"""`noticeflow obligations`, `noticeflow privacy decide|diff|lint` on the examples in docs/examples/."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from noticeflow.cli import app
from rules.registry import verifies

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples"
EVENT = EXAMPLES / "event-tpsp-multistate.json"


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def run(runner: CliRunner, *args: str) -> tuple[int, dict | None, str]:
    result = runner.invoke(app, list(args))
    try:
        payload = json.loads(result.stdout) if result.stdout.strip() else None
    except json.JSONDecodeError:
        payload = None
    return result.exit_code, payload, result.stderr


@verifies("tn.commissioner_notice.deadline", "tn.tpsp.clock_start", "tn.consumer_notice.method", "tn.producer_notice")
def test_obligations_for_the_multistate_tpsp_example(runner: CliRunner) -> None:
    code, out, _ = run(runner, "obligations", str(EVENT))
    assert code == 0 and out is not None
    assert out["incident_id"] == "INC-2025-0417" and out["is_cybersecurity_event"]
    by = {(o["kind"], o["jurisdiction"]): o for o in out["obligations"]}
    tn = by[("commissioner_notice", "TN")]
    # The provider told the insurer on the Wednesday before Thanksgiving: Fri 28, Mon 1, Tue 2 December.
    assert tn["due"] == "2025-12-02T23:59:59.999999-06:00"
    assert tn["clock_starts_at"] == "2025-11-26T09:15:00-06:00" and tn["clock_start"] == "tpsp_notice"
    assert by[("commissioner_notice", "DE")]["due"] == "2025-12-03T23:59:59.999999-05:00"  # DE: the day after Thanksgiving too
    assert by[("consumer_notice", "TN")]["due"] == "2026-01-15T23:59:59.999999-06:00"
    assert by[("consumer_notice", "TN")]["method"] == "substitute"
    assert by[("consumer_notice", "DE")]["method"] == "electronic"
    assert by[("producer_notice", "MO")]["excused"] is True
    assert by[("commissioner_notice", "KY")]["needs_counsel_review"] is True
    assert ("commissioner_notice", "VA") in by  # 40 residents, but notice under another law: VA's trigger (2)
    assert not any(o["jurisdiction"] == "OH" for o in out["obligations"])
    dues = [o["due"] for o in out["obligations"]]
    assert all(d[-6] in "+-" for d in dues)  # ISO 8601 with offset


@verifies("engine.determination.assumed_at_discovery")
def test_determined_at_option_overrides_the_file(runner: CliRunner) -> None:
    code, out, _ = run(runner, "obligations", str(EVENT), "--determined-at", "2025-12-08T09:00:00-06:00")
    assert code == 0 and out is not None
    assert out["determined_at"] == "2025-12-08T09:00:00-06:00"
    consumer = next(o for o in out["obligations"] if o["kind"] == "consumer_notice" and o["jurisdiction"] == "TN")
    assert consumer["due"] == "2026-01-22T23:59:59.999999-06:00"


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d["affected"][0].update(consumers=-1), "affected[0].consumers: Input should be greater than or equal to 0"),
        (lambda d: d.update(discovered_at="2025-11-24T08:10:00"), "discovered_at: Input should have timezone info"),
        (lambda d: d["licensee"].update(kind="broker"), "licensee.kind: Input should be 'insurer', 'producer', 'assuming_insurer' or 'other'"),
        (lambda d: d["affected"][1].update(state="XX"), "affected[1].state: Value error, 'XX' is not a US state"),
        (lambda d: d.pop("encrypted"), "encrypted: Field required"),
        (lambda d: d.update(colour="red"), "colour: Extra inputs are not permitted"),
        (lambda d: d["affected"][0].update(with_email=99999), "with_email (99999) cannot exceed consumers (18400) for TN"),
        (lambda d: d.update(tpsp_notified_at=None), "tpsp_notified_at or actual_knowledge_at is required"),
        (lambda d: d.update(data_elements=["ssn", "passport"]), "data_elements[1]: Input should be"),
    ],
)
def test_bad_event_input_names_the_field_and_exits_2(runner: CliRunner, tmp_path: Path, mutate, message: str) -> None:  # type: ignore[no-untyped-def]
    data = json.loads(EVENT.read_text())
    mutate(data)
    bad = tmp_path / "event.json"
    bad.write_text(json.dumps(data))
    code, out, err = run(runner, "obligations", str(bad))
    assert code == 2 and out is None
    assert message in err, err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["obligations", "missing.json"], "missing.json: no such file"),
        (["obligations", str(EVENT), "--determined-at", "yesterday"], "--determined-at: Input should be a valid datetime"),
        (["obligations", str(EVENT), "--determined-at", "2025-11-01T00:00:00-05:00"], "--determined-at: 2025-11-01T00:00:00-05:00 is before discovered_at"),
    ],
)
def test_bad_arguments_exit_2_with_a_clear_message(runner: CliRunner, args: list[str], message: str) -> None:
    code, _, err = run(runner, *args)
    assert code == 2 and message in err, err


def test_malformed_json_is_reported_with_its_position(runner: CliRunner, tmp_path: Path) -> None:
    bad = tmp_path / "event.json"
    bad.write_text('{"incident_id": "x",,}')
    code, _, err = run(runner, "obligations", str(bad))
    assert code == 2 and "not valid JSON: line 1 column 21" in err


@verifies("tx.revised_notice.before_new_disclosure", "tx.opt_out.reasonable_opportunity.mail")
def test_privacy_decide_example(runner: CliRunner) -> None:
    code, out, _ = run(runner, "privacy", "decide", str(EXAMPLES / "privacy-request.json"))
    assert code == 0 and out is not None
    assert out["allowed"] is False
    assert out["first_allowed_at"] == "2025-08-08T00:00:00-05:00"
    assert out["citation"] == "28 TAC § 22.12(a); 28 TAC § 22.14(b)(1)"  # a revised notice opens it: § 22.12


@verifies("tx.revised_notice.required")
def test_privacy_diff_example(runner: CliRunner) -> None:
    code, out, _ = run(runner, "privacy", "diff", str(EXAMPLES / "privacy-policy-v1.json"), str(EXAMPLES / "privacy-policy-v2.json"))
    assert code == 0 and out is not None
    assert out["revised_notice_required"] is True
    kinds = {c["kind"] for c in out["changes"] if c["requires_revised_notice"]}
    assert kinds == {"new_npi_category", "new_recipient_category", "former_customers_newly_disclosed"}


@verifies("tx.notice_content.full")
def test_privacy_lint_example(runner: CliRunner, tmp_path: Path) -> None:
    notice = str(EXAMPLES / "privacy-notice.json")
    policy = str(EXAMPLES / "privacy-policy-v2.json")
    code, out, _ = run(runner, "privacy", "lint", notice, "--policy", policy)
    assert code == 0 and out is not None and out["ok"] is False
    assert {f["item"] for f in out["findings"]} == {"§ 22.10(b)(2)(A)", "§ 22.10(b)(3)", "§ 22.10(b)(8)(B)"}
    code, _, _ = run(runner, "privacy", "lint", notice, "--policy", policy, "--fail-on-findings")
    assert code == 1
    bundled = tmp_path / "bundle.json"
    bundled.write_text(json.dumps({"notice": json.loads(Path(notice).read_text()), "policy": json.loads(Path(policy).read_text())}))
    code, again, _ = run(runner, "privacy", "lint", str(bundled))
    assert code == 0 and again == out


def test_privacy_bad_input_names_the_field(runner: CliRunner, tmp_path: Path) -> None:
    data = json.loads((EXAMPLES / "privacy-request.json").read_text())
    data["notices"][0]["channel"] = "carrier pigeon"
    bad = tmp_path / "req.json"
    bad.write_text(json.dumps(data))
    code, _, err = run(runner, "privacy", "decide", str(bad))
    assert code == 2 and "notices[0].channel: Input should be" in err


def test_the_installed_command_runs_as_a_subprocess() -> None:
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, "-m", "noticeflow.cli", "obligations", str(EVENT)], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["incident_id"] == "INC-2025-0417"
