"""``noticeflow ledger …`` as an operator and an examiner use it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from noticeflow.cli import app

runner = CliRunner()


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    keys = tmp_path / "keys"
    result = runner.invoke(app, ["ledger", "keygen", "--out", str(keys)])
    assert result.exit_code == 0, result.output
    return {"db": f"sqlite:///{tmp_path / 'ledger.db'}", "key": str(keys)}


def _run(env: dict[str, str], *args: str):
    return runner.invoke(app, ["ledger", *args, "--db", env["db"], "--key", env["key"]])


def _append(env: dict[str, str], step: str, data: str = '{"letters": 12}', *extra: str):
    return _run(
        env, "append", "--stream", "incident:INC-7", "--type", "consumer_notice.mailed_by_hand",
        "--step", step, "--jurisdiction", "TN", "--citation", "Tenn. Code Ann. § 56-2-1006(c)(1)",
        "--data", data, "--actor", "user:jdoe", *extra,
    )


def test_keygen_prints_the_new_key_and_rotation_keeps_the_old(tmp_path: Path) -> None:
    first = json.loads(runner.invoke(app, ["ledger", "keygen", "--out", str(tmp_path / "k")]).stdout)
    second = json.loads(runner.invoke(app, ["ledger", "keygen", "--out", str(tmp_path / "k")]).stdout)
    assert first["key_id"] != second["key_id"]
    assert second["keys"][first["key_id"]]["valid_until"] == second["keys"][second["key_id"]]["valid_from"]


def test_append_records_manual_evidence_and_prints_the_entry(env: dict[str, str]) -> None:
    result = _append(env, "INC-7/letter-batch-1")
    assert result.exit_code == 0, result.output
    entry = json.loads(result.stdout)
    assert entry["seq"] == 1 and entry["citation"] == "Tenn. Code Ann. § 56-2-1006(c)(1)"
    assert entry["data"] == {"letters": 12} and entry["actor"] == "user:jdoe"


def test_append_twice_under_one_step_prints_the_first_entry(env: dict[str, str]) -> None:
    first = json.loads(_append(env, "s1").stdout)
    second = json.loads(_append(env, "s1").stdout)
    assert first == second


def test_append_with_different_content_under_a_recorded_step_fails(env: dict[str, str]) -> None:
    _append(env, "s1")
    result = _append(env, "s1", '{"letters": 13}')
    assert result.exit_code == 1
    assert "already recorded as seq 1" in result.output


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("{letters: 12}", "--data: not valid JSON"),
        ("[1, 2]", "--data: must be a JSON object"),
        ('{"cost": 1.5}', "data.cost: floating-point numbers are not allowed"),
        ('{"ssn": "078-05-1120"}', "data.ssn: an NPI field must hold npi_digest"),
    ],
)
def test_append_with_bad_data_names_the_field_and_records_nothing(env: dict[str, str], data: str, message: str) -> None:
    result = _append(env, "bad", data)
    assert result.exit_code != 0 and message in result.output
    assert json.loads(_run(env, "head").stdout)["tree_size"] == 0


def test_append_with_a_bad_stream_names_the_option(env: dict[str, str]) -> None:
    result = _run(env, "append", "--stream", "no spaces allowed", "--type", "t", "--step", "s")
    assert result.exit_code == 2 and "--stream" in result.output


def test_head_verify_and_export(env: dict[str, str], tmp_path: Path) -> None:
    for n in range(5):
        _append(env, f"s{n}")
    head = json.loads(_run(env, "head").stdout)
    assert head["tree_size"] == 5 and len(head["root_hash"]) == 64

    ok = _run(env, "verify")
    assert ok.exit_code == 0 and ok.stdout.startswith("OK: 5 entries verified")

    exported = _run(env, "export", "--out", str(tmp_path / "bundle"), "--stream", "incident:INC-7")
    assert exported.exit_code == 0, exported.output
    assert json.loads(exported.stdout)["entries"] == 5
    checked = runner.invoke(app, ["ledger", "verify", str(tmp_path / "bundle"), "--keys", str(Path(env["key"]) / "keyring.json")])
    assert checked.exit_code == 0 and "OK: 5 entries verified" in checked.stdout


def test_verify_exits_non_zero_naming_the_first_bad_seq(env: dict[str, str]) -> None:
    for n in range(6):
        _append(env, f"s{n}")
    with create_engine(env["db"]).begin() as conn:
        conn.execute(text("UPDATE ledger_entries SET actor = 'user:mallory' WHERE seq = 4"))
    result = _run(env, "verify")
    assert result.exit_code == 1 and "FAIL: seq 4: hash mismatch" in result.output
    report = json.loads(_run(env, "verify", "--json").stdout)
    assert report["ok"] is False and report["first_bad_seq"] == 4


def test_verify_against_an_earlier_head_catches_a_truncation(env: dict[str, str], tmp_path: Path) -> None:
    for n in range(6):
        _append(env, f"s{n}")
    (tmp_path / "kept.json").write_text(_run(env, "head").stdout)
    with create_engine(env["db"]).begin() as conn:
        conn.execute(text("DELETE FROM ledger_entries WHERE seq > 4"))
        conn.execute(text("DELETE FROM ledger_tree_heads"))
    assert _run(env, "verify").exit_code == 0
    result = _run(env, "verify", "--against", str(tmp_path / "kept.json"))
    assert result.exit_code == 1 and "seq 5: missing" in result.output


def test_ledger_commands_read_db_and_key_from_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from noticeflow.settings import get_settings

    monkeypatch.setenv("NOTICEFLOW_HOME", str(tmp_path / "home"))
    get_settings.cache_clear()
    try:
        assert runner.invoke(app, ["ledger", "keygen", "--out", str(tmp_path / "home" / "keys")]).exit_code == 0
        result = runner.invoke(app, ["ledger", "append", "--stream", "privacy:policy-3", "--type", "revised_notice.approved", "--step", "p3"])
        assert result.exit_code == 0, result.output
        assert (tmp_path / "home" / "ledger.db").exists()
        assert runner.invoke(app, ["ledger", "verify"]).exit_code == 0
    finally:
        get_settings.cache_clear()
