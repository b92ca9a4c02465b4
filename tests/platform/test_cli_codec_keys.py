"""noticeflow temporal codec-keys / rotate-codec-key: key ids only, never key material."""

from __future__ import annotations

import base64
import os
import stat
import subprocess
import sys
from pathlib import Path

from noticeflow.codec import CodecKeyring, generate_key, key_id_for
from tests.conftest import REPO


def _cli(*args: str, home: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("NOTICEFLOW_")}
    return subprocess.run(
        [sys.executable, "-m", "noticeflow.cli", *args],
        cwd=REPO,
        env={**environment, "NOTICEFLOW_HOME": str(home), **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_codec_keys_lists_ids_and_roles_without_the_keys(tmp_path: Path) -> None:
    result = _cli("temporal", "codec-keys", home=tmp_path)
    assert result.returncode == 0, result.stderr
    keyring = CodecKeyring.parse((tmp_path / "codec.key").read_text(), "test")
    assert f"{keyring.current_id}  encrypt + decrypt" in result.stdout
    assert base64.b64encode(keyring.keys[0]).decode() not in result.stdout + result.stderr


def test_rotate_codec_key_puts_a_new_key_first_and_keeps_the_old(tmp_path: Path) -> None:
    _cli("temporal", "codec-keys", home=tmp_path)
    before = CodecKeyring.parse((tmp_path / "codec.key").read_text(), "test")
    result = _cli("temporal", "rotate-codec-key", home=tmp_path)
    assert result.returncode == 0, result.stderr
    after = CodecKeyring.parse((tmp_path / "codec.key").read_text(), "test")
    assert after.keys[1:] == before.keys
    assert f"now encrypting with {after.current_id}" in result.stdout
    assert f"{before.current_id}  decrypt only" in result.stdout
    assert stat.S_IMODE((tmp_path / "codec.key").stat().st_mode) == 0o600


def test_rotate_with_the_key_in_the_environment_prints_the_new_value_to_set(tmp_path: Path) -> None:
    old = generate_key()
    result = _cli("temporal", "rotate-codec-key", home=tmp_path, NOTICEFLOW_CODEC_KEY=base64.b64encode(old).decode())
    assert result.returncode == 0, result.stderr
    rotated = CodecKeyring.parse(result.stdout, "stdout")
    assert rotated.keys[1:] == (old,)
    assert key_id_for(rotated.keys[0]) != key_id_for(old)
    assert "NOTICEFLOW_CODEC_KEY is set" in result.stderr
    assert not (tmp_path / "codec.key").exists()


def test_malformed_key_in_the_environment_is_reported_by_variable_name(tmp_path: Path) -> None:
    result = _cli("temporal", "codec-keys", home=tmp_path, NOTICEFLOW_CODEC_KEY="c2hvcnQ=")
    assert result.returncode == 2
    assert "NOTICEFLOW_CODEC_KEY: codec key must be 32 bytes" in result.stderr
