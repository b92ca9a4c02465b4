"""tools/verify_bundle.py, the examiner's external verifier (issue 10 spec H), piece by piece.

It must stand alone: imports only the standard library and ``cryptography`` (checked on its
syntax tree, and by running it with nothing else importable). Its pieces are checked against
sources that are not its own code: the RFC 9162 conformance corpus of transparency-dev/merkle,
the ``rfc8785`` reference library, the worked examples of docs/ledger-format.md, a checkpoint
signed by the Go checksum database, and what the noticeflow package writes."""

from __future__ import annotations

import ast
import base64
import hashlib
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import rfc8785
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from ledger.checkpoint import note_verifier_key as package_note_verifier_key
from ledger.checkpoint import sign_checkpoint
from ledger.key_statement import build_key_statement
from ledger.keys import Signer, generate_key, load_keyring, load_signer
from ledger.merkle import MerkleTree, leaf_hash
from ledger.store import Ledger
from noticeflow.cli import app
from noticeflow.verifier_tool import verifier_path, verifier_sha256
from tests.conftest import REPO
from tests.ledger.conftest import draft
from tests.tools.conftest import TOOL

DOC = REPO / "docs" / "ledger-format.md"
CORPUS = REPO.parent / "shared" / "conformance" / "rfc9162-merkle" / "testdata"
EXAMPLE_KEY = Ed25519PrivateKey.from_private_bytes(hashlib.sha256(b"noticeflow ledger-format example key").digest())


def _block(name: str) -> str:
    match = re.search(rf"<!-- example:{name} -->\n```\w*\n(.*?)\n```", DOC.read_text("utf-8"), re.S)
    assert match, f"docs/ledger-format.md has no example:{name} block"
    return match.group(1)


def _trust(vb: ModuleType, *signers: Signer, origin: str | None = None) -> Any:
    keys = {}
    for s in signers:
        raw = s.public_key.public_bytes_raw()
        keys[s.key_id] = vb.Key(s.key_id, raw, vb.parse_time("2020-01-01T00:00:00Z", "t"), None)
    return vb.Trust(keys, "the test keys", anchored=origin is not None, origin=origin)


# -- standing alone -------------------------------------------------------------------------------


def test_verifier_imports_only_the_standard_library_and_cryptography() -> None:
    tree = ast.parse(TOOL.read_text("utf-8"))
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, "no relative imports"
            imported.add(node.module.split(".")[0])
        elif isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", "")) in (
            "__import__", "import_module"
        ):
            pytest.fail("no dynamic imports")
    assert imported - set(sys.stdlib_module_names) == {"cryptography"}, imported
    assert "cryptography" in imported and "__future__" in imported


def test_verifier_runs_with_nothing_but_cryptography_importable(licensee_bundle: Path, tmp_path: Path) -> None:
    """``python -I -S``: no site-packages, no noticeflow on the path; only a folder holding
    cryptography (and the cffi backend it loads) is added. The verifier still verifies."""
    isolated = tmp_path / "only-cryptography"
    isolated.mkdir()
    for module in ("cryptography", "_cffi_backend"):
        origin = Path(importlib.util.find_spec(module).origin)
        source = origin.parent if origin.name == "__init__.py" else origin
        (isolated / source.name).symlink_to(source)
    launcher = (
        "import importlib.util, runpy, sys\n"
        f"sys.path.insert(0, {str(isolated)!r})\n"
        "for name in ('noticeflow', 'ledger', 'models', 'rfc8785', 'pydantic'):\n"
        "    assert importlib.util.find_spec(name) is None, name\n"
        f"sys.argv = ['verify_bundle.py', {str(licensee_bundle)!r}]\n"
        f"runpy.run_path({str(TOOL)!r}, run_name='__main__')\n"
    )
    run = subprocess.run(
        [sys.executable, "-I", "-S", "-c", launcher], capture_output=True, text=True, cwd=tmp_path, timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.startswith("OK: 3 entries, the complete ledger; tree size 3")


@pytest.fixture
def licensee_bundle(tmp_path: Path) -> Path:
    from ledger.bundle import export_bundle

    keys = tmp_path / "keys"
    generate_key(keys, now="2020-01-01T00:00:00.000000Z")
    ledger = Ledger.open(f"sqlite:///{tmp_path / 'l.db'}", load_signer(keys))
    try:
        ledger.append_many([draft(n) for n in range(1, 4)])
        return export_bundle(ledger, tmp_path / "bundle", load_keyring(keys)).path
    finally:
        ledger.close()


# -- shipping it: one file, its SHA-256 in the docs and the CLI -------------------------------------


def test_shipped_copy_is_byte_identical_to_tools_verify_bundle() -> None:
    assert verifier_path().read_bytes() == TOOL.read_bytes(), (
        "noticeflow/verifier/verify_bundle.py differs from tools/verify_bundle.py: "
        "cp tools/verify_bundle.py noticeflow/verifier/verify_bundle.py"
    )
    assert verifier_sha256() == hashlib.sha256(TOOL.read_bytes()).hexdigest()


def test_docs_print_the_verifiers_sha256() -> None:
    match = re.search(r"<!-- verifier:sha256 -->\n```\n([0-9a-f]{64})\n```", DOC.read_text("utf-8"))
    assert match, "docs/ledger-format.md lacks the verifier's SHA-256 block"
    assert match.group(1) == verifier_sha256(), "update the SHA-256 in docs/ledger-format.md, 'The external verifier'"


def test_cli_prints_the_sha256_and_writes_an_identical_copy(tmp_path: Path) -> None:
    runner = CliRunner()
    printed = runner.invoke(app, ["ledger", "verifier", "--print-sha256"])
    assert printed.exit_code == 0 and printed.stdout == verifier_sha256() + "\n"
    written = runner.invoke(app, ["ledger", "verifier", "--out", str(tmp_path / "v.py")])
    assert written.exit_code == 0, written.output
    assert (tmp_path / "v.py").read_bytes() == TOOL.read_bytes()
    assert verifier_sha256() in written.stdout
    into_dir = runner.invoke(app, ["ledger", "verifier", "--out", str(tmp_path)])
    assert into_dir.exit_code == 0 and (tmp_path / "verify_bundle.py").read_bytes() == TOOL.read_bytes()
    missing = runner.invoke(app, ["ledger", "verifier", "--out", str(tmp_path / "no" / "such" / "v.py")])
    assert missing.exit_code == 2 and "no such directory" in missing.output


def test_a_built_package_carries_the_verifier(tmp_path: Path) -> None:
    """setuptools' build_py (what a wheel is made of) copies the verifier as package data."""
    project = tmp_path / "src"
    project.mkdir()
    shutil.copy(REPO / "pyproject.toml", project)
    shutil.copy(REPO / "README.md", project)
    packages = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    for name in packages["find"]["include"]:
        name = name.rstrip("*")
        shutil.copytree(REPO / name, project / name, ignore=shutil.ignore_patterns("__pycache__"))
    build = tmp_path / "build"
    run = subprocess.run(
        [sys.executable, "-c", "import setuptools; setuptools.setup()", "-q", "build_py", "--build-lib", str(build)],
        cwd=project, capture_output=True, text=True, timeout=300, check=False,
    )
    assert run.returncode == 0, run.stderr
    assert (build / "noticeflow" / "verifier" / "verify_bundle.py").read_bytes() == TOOL.read_bytes()


# -- RFC 9162 §2.1: the conformance corpus and the reference tree -----------------------------------


def _corpus_cases() -> list[Path]:
    return sorted(CORPUS.rglob("*.json")) if CORPUS.is_dir() else []


def _b64(value: str | None) -> bytes:
    return base64.b64decode(value or "")


@pytest.mark.skipif(not CORPUS.is_dir(), reason=f"RFC 9162 conformance corpus not at {CORPUS}")
@pytest.mark.parametrize("case_path", _corpus_cases(), ids=lambda p: str(p.relative_to(CORPUS)))
def test_rfc9162_conformance_corpus(vb: ModuleType, case_path: Path) -> None:
    case = json.loads(case_path.read_text())
    proof = [_b64(node) for node in case.get("proof") or []]
    if "leafIdx" in case:
        def check() -> None:
            vb.verify_inclusion(_b64(case["leafHash"]), case["leafIdx"], case["treeSize"], proof, _b64(case["root"]))
    else:
        def check() -> None:
            vb.verify_consistency(case["size1"], case["size2"], _b64(case["root1"]), _b64(case["root2"]), proof)
    if case["wantErr"]:
        with pytest.raises(vb.ProofError):
            check()
    else:
        check()


@pytest.mark.skipif(not CORPUS.is_dir(), reason=f"RFC 9162 conformance corpus not at {CORPUS}")
def test_conformance_corpus_is_whole() -> None:
    kinds = {p.relative_to(CORPUS).parts[0]: set() for p in _corpus_cases()}
    for p in _corpus_cases():
        kinds[p.relative_to(CORPUS).parts[0]].add(json.loads(p.read_text())["wantErr"])
    assert kinds == {"inclusion": {True, False}, "consistency": {True, False}}
    assert len(_corpus_cases()) > 150


def test_reference_tree_roots(vb: ModuleType) -> None:
    """MTH of the Certificate Transparency reference leaves (RFC 6962 / RFC 9162 test data)."""
    inputs = [bytes.fromhex(h) for h in ("", "00", "10", "2021", "3031", "40414243", "5051525354555657",
                                         "606162636465666768696a6b6c6d6e6f")]
    leaves = [vb.leaf_hash(x) for x in inputs]
    assert vb.merkle_root([]).hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert vb.merkle_root(leaves[:3]).hex() == "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77"
    assert vb.merkle_root(leaves[:7]).hex() == "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c"
    assert vb.merkle_root(leaves).hex() == "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_package_proofs_verify_and_any_changed_node_fails(vb: ModuleType, data: st.DataObject) -> None:
    n = data.draw(st.integers(1, 70), label="leaves")
    leaves = [leaf_hash(hashlib.sha256(i.to_bytes(4, "big")).digest()) for i in range(n)]
    tree = MerkleTree(leaves)
    size = data.draw(st.integers(1, n), label="size")
    index = data.draw(st.integers(0, size - 1), label="index")
    old = data.draw(st.integers(1, size), label="old size")
    root = tree.root(size)
    assert vb.merkle_root(leaves[:size]) == root
    path = tree.inclusion_proof(index, size)
    vb.verify_inclusion(leaves[index], index, size, path, root)
    consistency = tree.consistency_proof(old, size)
    vb.verify_consistency(old, size, tree.root(old), root, consistency)
    for nodes in (path, consistency):
        if nodes:
            i = data.draw(st.integers(0, len(nodes) - 1), label="node")
            nodes[i] = bytes([nodes[i][0] ^ 1]) + nodes[i][1:]
            with pytest.raises(vb.ProofError):
                if nodes is path:
                    vb.verify_inclusion(leaves[index], index, size, nodes, root)
                else:
                    vb.verify_consistency(old, size, tree.root(old), root, nodes)


# -- RFC 8785 canonical JSON -----------------------------------------------------------------------

_json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(value=_json_values)
def test_canonical_json_equals_the_rfc8785_reference(vb: ModuleType, value: Any) -> None:
    try:
        expected = rfc8785.dumps(value)
    except (UnicodeEncodeError, rfc8785.CanonicalizationError):
        with pytest.raises(ValueError):
            vb.canonical_json(value)
        return
    assert vb.canonical_json(value) == expected


def test_canonical_json_sorts_by_utf16_code_units_and_escapes_as_json_stringify(vb: ModuleType) -> None:
    # U+FB01 sorts after U+1F600 in UTF-16 (0xFB01 > 0xD83D), before it by code point.
    assert vb.canonical_json({"\ufb01": 1, "\U0001f600": 2, "a": 3}) == '{"a":3,"😀":2,"ﬁ":1}'.encode()
    escaped = b'"\\u0000\\u001f\\"\\\\\\b\\t\\n\\f\\r\x7f\xe2\x80\xa8\xc3\xa9"'
    assert vb.canonical_json("\x00\x1f\"\\\b\t\n\f\r\x7f\u2028é") == escaped


@pytest.mark.parametrize("bad", [1.5, 2**53, -(2**53), {"a": [0.0]}, "\ud800"])
def test_canonical_json_refuses_what_the_format_does_not_allow(vb: ModuleType, bad: Any) -> None:
    with pytest.raises(ValueError):
        vb.canonical_json(bad)


def test_strict_json_reading_refuses_floats_duplicates_and_nan(vb: ModuleType) -> None:
    for text in ('{"a": 1.0}', '{"a": 1e3}', '{"a": 1, "a": 2}', '{"a": NaN}'):
        with pytest.raises(ValueError):
            vb.parse_json(text)
    assert vb.parse_json('{"a": [1, null, true, "x"]}') == {"a": [1, None, True, "x"]}


# -- the worked examples of docs/ledger-format.md ---------------------------------------------------


def test_worked_example_entry_hash_signature_and_head_recompute(vb: ModuleType) -> None:
    """§9: the entry's canonical JSON, hash and signature; the head's root and signature."""
    raw = EXAMPLE_KEY.public_key().public_bytes_raw()
    assert vb.key_id_of(raw) == "ed25519:89f76f812a77a188"
    entry = json.loads(_block("entry"))
    body = {k: v for k, v in entry.items() if k not in ("hash", "sig")}
    assert vb.canonical_json(body) == _block("canonical").encode("utf-8")
    assert vb.entry_hash(entry) == entry["hash"] == hashlib.sha256(_block("canonical").encode()).hexdigest()
    trust = vb.Trust({entry["key_id"]: vb.Key(entry["key_id"], raw, vb.parse_time("2026-01-01T00:00:00Z", "t"), None)},
                     "the example key", anchored=False)
    vb.check_entry(entry, trust, "seq 1")
    head = json.loads(_block("head"))
    assert head["root_hash"] == vb.leaf_hash(bytes.fromhex(entry["hash"])).hex() == vb.merkle_root(
        [vb.leaf_hash(bytes.fromhex(entry["hash"]))]).hex()
    trust.check(head["key_id"], vb.parse_time(head["timestamp"], "t"),
                vb.canonical_json({k: v for k, v in head.items() if k != "sig"}), head["sig"], "head")
    changed = dict(entry, citation="Tenn. Code Ann. § 56-2-1006(b)")
    with pytest.raises(vb.Failed, match="seq 1: hash mismatch"):
        vb.check_entry(changed, trust, "seq 1")


def test_worked_example_checkpoint_and_key_statement_verify(vb: ModuleType, tmp_path: Path) -> None:
    """§11's checkpoint verifies under §12's statement, whose key is §9's."""
    statement = tmp_path / "statement.json"
    statement.write_text(_block("key-statement"))
    trust = vb.load_statement(statement)
    assert trust.anchored and list(trust.keys) == ["ed25519:89f76f812a77a188"]
    checkpoint = vb.parse_checkpoint(_block("checkpoint") + "\n", "checkpoint")
    assert (checkpoint.origin, checkpoint.tree_size) == ("noticeflow.example/ledger", 1)
    assert checkpoint.root.hex() == json.loads(_block("head"))["root_hash"]
    assert vb.verify_checkpoint(checkpoint, trust, "checkpoint") == "ed25519:89f76f812a77a188"
    raw = EXAMPLE_KEY.public_key().public_bytes_raw()
    assert vb.note_verifier_key("noticeflow.example/ledger", raw) in _block("key-statement")


def test_v2_entries_the_package_records_hash_and_chain_as_the_verifier_computes(vb: ModuleType, tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    generate_key(keys, now="2020-01-01T00:00:00.000000Z")
    ledger = Ledger.open(f"sqlite:///{tmp_path / 'l.db'}", load_signer(keys))
    try:
        ledger.append_many([draft(1), draft(1, stream="incident:INC-9"), draft(2)])
        entries = list(ledger.iter_raw())
    finally:
        ledger.close()
    assert [(e["v"], e["stream_seq"]) for e in entries] == [(2, 1), (2, 1), (2, 2)]
    for entry in entries:
        assert vb.entry_hash(entry) == entry["hash"]
    assert entries[2]["stream_prev_hash"] == entries[0]["hash"]
    for v in (1, 3, "2", True):
        with pytest.raises(vb.Failed, match="unknown entry format version"):
            vb.hashed_fields(dict(entries[0], v=v), "seq 1")


# -- checkpoints (C2SP signed note) ------------------------------------------------------------------

SUMDB_VKEY = "sum.golang.org+033de0ae+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuAn8"
SUMDB_CHECKPOINT = (
    "go.sum database tree\n6476701\nmb8QLQIs0Z0yP5Cstq6guj87oXWeC9gEM8oVikmm9Wk=\n\n"
    "— sum.golang.org Az3grsLX85Gz+s1SiTbgkuqxgItqFq7gsMUEyVnrsa9LM7Us9S+1xbFIGu95949rj4nPRYfvimWEPWL+o3GeoWwOoAw=\n"
)


def test_a_checkpoint_signed_by_the_go_checksum_database_parses_and_its_signature_verifies(vb: ModuleType) -> None:
    name, key_hash, typed = SUMDB_VKEY.split("+", 2)
    raw = base64.b64decode(typed)[1:]
    assert vb.note_key_hash(name, raw).hex() == key_hash
    checkpoint = vb.parse_checkpoint(SUMDB_CHECKPOINT, "sumdb")
    assert (checkpoint.origin, checkpoint.tree_size) == ("go.sum database tree", 6476701)
    [(signer_name, line_hash, signature)] = checkpoint.signatures
    assert signer_name == name and line_hash.hex() == key_hash
    assert vb.ed25519_verifies(raw, signature, checkpoint.body)
    altered = vb.parse_checkpoint(SUMDB_CHECKPOINT.replace("6476701", "6476702"), "sumdb")
    assert not vb.ed25519_verifies(raw, signature, altered.body)


def test_package_checkpoints_verify_and_a_changed_one_fails(vb: ModuleType, tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    generate_key(keys, now="2020-01-01T00:00:00.000000Z")
    signer = load_signer(keys)
    origin = "ledger.acme-mutual.example/notices"
    raw = signer.public_key.public_bytes_raw()
    assert vb.note_verifier_key(origin, raw) == package_note_verifier_key(origin, raw)
    text = sign_checkpoint(signer, origin, 41, b"\x11" * 32)
    trust = _trust(vb, signer)
    checkpoint = vb.parse_checkpoint(text, "cp")
    assert (checkpoint.tree_size, checkpoint.root) == (41, b"\x11" * 32)
    assert vb.verify_checkpoint(checkpoint, trust, "cp") == signer.key_id
    # A witness's cosignature under another name is ignored; the licensee's still verifies.
    witness = Signer(Ed25519PrivateKey.generate())
    cosigned = text + sign_checkpoint(witness, "witness.example", 41, b"\x11" * 32).split("\n\n", 1)[1]
    assert vb.verify_checkpoint(vb.parse_checkpoint(cosigned, "cp"), trust, "cp") == signer.key_id
    with pytest.raises(vb.Failed, match="cp: the signature of key .* does not verify"):
        vb.verify_checkpoint(vb.parse_checkpoint(text.replace("\n41\n", "\n42\n"), "cp"), trust, "cp")
    with pytest.raises(vb.Failed, match="cp: no signature by a key in the test keys"):
        vb.verify_checkpoint(vb.parse_checkpoint(text, "cp"), _trust(vb, witness), "cp")
    with pytest.raises(vb.Failed, match="origin .* is not the trusted key statement's"):
        vb.verify_checkpoint(checkpoint, _trust(vb, signer, origin="noticeflow.example/ledger"), "cp")
    for broken in (text.rstrip("\n"), text.replace("\n\n", "\n"), text.replace("— ", "- "), "x\n\n" + text):
        with pytest.raises(vb.Failed):
            vb.parse_checkpoint(broken, "cp")


# -- the key statement as trust anchor ---------------------------------------------------------------


@pytest.fixture
def rotated(tmp_path: Path) -> tuple[Path, list[Signer]]:
    keys = tmp_path / "keys"
    generate_key(keys, now="2020-01-01T00:00:00.000000Z")
    first = load_signer(keys)
    generate_key(keys)
    return keys, [first, load_signer(keys)]


def _statement(keys: Path, signers: list[Signer], tmp_path: Path, change: Any = None) -> Path:
    body = build_key_statement(load_keyring(keys), signers, licensee="Acme Mutual", origin="acme.example/ledger")
    if change is not None:
        change(body)
    path = tmp_path / "statement.json"
    path.write_text(json.dumps(body))
    return path


def test_statement_after_rotation_signed_by_both_keys_is_the_trust_anchor(
    vb: ModuleType, rotated: tuple[Path, list[Signer]], tmp_path: Path
) -> None:
    keys, (old, new) = rotated
    trust = vb.load_statement(_statement(keys, [old, new], tmp_path))
    assert set(trust.keys) == {old.key_id, new.key_id} and trust.origin == "acme.example/ledger"
    assert trust.keys[old.key_id].valid_until == trust.keys[new.key_id].valid_from
    # An entry time after the rotation verifies only under the new key.
    after = trust.keys[new.key_id].valid_from
    message = b"\x00" * 32
    trust.check(new.key_id, after, message, new.sign(message), "seq 9")
    with pytest.raises(vb.Failed, match="seq 9: signed by key .* outside its validity"):
        trust.check(old.key_id, after, message, old.sign(message), "seq 9")


def _drop_signature(statement: dict[str, Any], key_index: int) -> None:
    """Remove the signature of ``keys[key_index]`` (keys are listed oldest first)."""
    key_id = statement["keys"][key_index]["key_id"]
    statement["signatures"] = [s for s in statement["signatures"] if s["key_id"] != key_id]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda s: _drop_signature(s, -2), "the previous key .* did not sign the statement"),
        (lambda s: _drop_signature(s, -1), "the newest key .* did not sign the statement"),
        (lambda s: s.update(licensee="Someone Else"), "signatures\\[0\\]: the signature of .* does not verify — the statement"),
        (lambda s: s["keys"][0].update(fingerprint="SHA256:" + "0" * 64), "keys\\[0\\] \\(.*\\)\\.fingerprint: does not match"),
        (lambda s: s["keys"][1].update(key_id="ed25519:0000000000000000"), "does not name its public key"),
        # §12 rules 1-3 beyond the tamper matrix's statement cases (tests/ledger/bundle_cases.py).
        (lambda s: s["keys"].append(dict(s["keys"][1])), "keys\\[2\\]: duplicate key_id"),
        (lambda s: s["keys"][1].pop("valid_until"), "keys\\[1\\]: missing field valid_until"),
        (lambda s: s.update(origin="acme.example/\tledger"), "origin: key name .* must not contain spaces"),
        (lambda s: s.update(origin="acme.example/\x07ledger"), "origin: key name .* must not contain control characters"),
        (lambda s: s.update(origin=""), "origin: key name: empty"),
        (lambda s: s.update(signatures=[]), "signatures: the statement is not signed"),
        (lambda s: s["signatures"][0].update(key_id="ed25519:0000000000000000"), "signatures\\[0\\]: key .* is not listed"),
        (lambda s: s["signatures"][0].update(key_id=["ed25519:0000000000000000"]), "signatures\\[0\\]: key .* is not listed"),
    ],
)
def test_a_changed_statement_is_refused(
    vb: ModuleType, rotated: tuple[Path, list[Signer]], tmp_path: Path, change: Any, expected: str
) -> None:
    keys, signers = rotated
    with pytest.raises(vb.Failed, match=expected):
        vb.load_statement(_statement(keys, signers, tmp_path, change))


def test_a_file_that_is_not_a_statement_is_unreadable_input(vb: ModuleType, tmp_path: Path) -> None:
    (tmp_path / "keys.json").write_text('{"ed25519:00": {}}')
    with pytest.raises(vb.Unreadable):
        vb.load_statement(tmp_path / "keys.json")
    with pytest.raises(vb.Unreadable):
        vb.load_statement(tmp_path / "absent.json")


def test_timestamps_are_rfc3339_with_an_offset(vb: ModuleType) -> None:
    assert vb.parse_time("2026-03-02T14:05:09.120000Z", "t") == vb.parse_time("2026-03-02T09:05:09.12-05:00", "t")
    for bad in ("2026-03-02T14:05:09", "2026-03-02", "20260302T140509Z", 1700000000, None):
        with pytest.raises(vb.Failed):
            vb.parse_time(bad, "t")


def test_tool_file_is_executable_and_says_how_long_it_is() -> None:
    assert os.access(TOOL, os.X_OK)
    lines = TOOL.read_text("utf-8").count("\n")
    header = re.search(r"Length: about (\d+) lines", TOOL.read_text("utf-8"))
    assert header and abs(int(header.group(1)) - lines) <= 100, lines
