"""deploy/: every YAML parses, every NOTICEFLOW_* name is a setting, and the pieces refer to each other.

Docker and Kubernetes do not run here; these checks catch what a typo would break at deploy time.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from noticeflow.cli import COMMANDS, real_command
from noticeflow.settings import Settings
from tests.conftest import REPO

DEPLOY = REPO / "deploy"
K8S = DEPLOY / "k8s"
COMPOSE = DEPLOY / "docker-compose.yml"
SETTING_NAMES = {f"NOTICEFLOW_{name.upper()}" for name in Settings.model_fields}
ENV_NAME = re.compile(r"\bNOTICEFLOW_[A-Z0-9_]+\b")


def _yaml_files() -> list[Path]:
    return sorted(p for p in DEPLOY.rglob("*") if p.suffix in {".yml", ".yaml"})


def _load(path: Path) -> list[Any]:
    return [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc is not None]


def _manifests() -> list[dict[str, Any]]:
    docs = []
    for path in sorted(K8S.glob("*.yaml")):
        if path.name in {"kustomization.yaml", "temporal-values.yaml"}:
            continue
        docs.extend(_load(path))
    return docs


def _containers(manifest: dict[str, Any]) -> Iterator[dict[str, Any]]:
    spec = manifest.get("spec", {})
    spec = spec.get("jobTemplate", {}).get("spec", spec)  # a CronJob's pods are in its job template
    pod = spec.get("template", {}).get("spec", {})
    yield from pod.get("containers", [])
    yield from pod.get("initContainers", [])


def _compose() -> dict[str, Any]:
    [doc] = _load(COMPOSE)
    assert isinstance(doc, dict)
    return doc


def _env_names(environment: Any) -> set[str]:
    if isinstance(environment, dict):
        return set(environment)
    if isinstance(environment, list):
        return {item.split("=", 1)[0] for item in environment}
    return set()


@pytest.mark.parametrize("path", _yaml_files(), ids=lambda p: str(p.relative_to(DEPLOY)))
def test_every_yaml_file_parses(path: Path) -> None:
    assert _load(path), f"{path} is empty"


def test_every_noticeflow_variable_named_anywhere_in_deploy_is_a_setting() -> None:
    unknown: dict[str, set[str]] = {}
    for path in DEPLOY.rglob("*"):
        if path.is_file():
            for name in ENV_NAME.findall(path.read_text(encoding="utf-8", errors="replace")):
                if name not in SETTING_NAMES:
                    unknown.setdefault(name, set()).add(str(path.relative_to(REPO)))
    assert not unknown, f"not fields of config/settings.py: {unknown}"


def test_compose_runs_temporal_on_postgresql_15_with_ui_worker_api_and_codec_server() -> None:
    services = _compose()["services"]
    assert set(services) == {"postgresql", "temporal", "temporal-ui", "noticeflow-setup", "worker", "api", "codec-server"}
    assert services["postgresql"]["image"] == "postgres:15"
    assert services["temporal"]["image"].startswith("temporalio/auto-setup:")
    assert services["temporal"]["environment"]["DB"] == "postgres12"
    assert services["temporal"]["environment"]["POSTGRES_SEEDS"] == "postgresql"
    assert services["temporal-ui"]["environment"]["TEMPORAL_ADDRESS"] == "temporal:7233"


def test_compose_services_depend_only_on_services_that_exist() -> None:
    services = _compose()["services"]
    for name, service in services.items():
        depends = service.get("depends_on", [])
        assert set(depends) <= set(services), f"{name} depends on {set(depends) - set(services)}"


def test_compose_points_noticeflow_at_the_temporal_service_and_the_ui_at_the_codec_server() -> None:
    services = _compose()["services"]
    for name in ("noticeflow-setup", "worker", "api", "codec-server"):
        env = services[name]["environment"]
        assert env["NOTICEFLOW_TEMPORAL_ADDRESS"] == "temporal:7233", name
        assert set(env) <= SETTING_NAMES, name
        assert services[name]["env_file"] == ["noticeflow.env"]
    codec_port = services["codec-server"]["ports"][0].split(":")[0]
    ui_env = services["temporal-ui"]["environment"]
    assert ui_env["TEMPORAL_CODEC_ENDPOINT"] == f"http://localhost:{codec_port}"
    ui_origin = "http://localhost:" + services["temporal-ui"]["ports"][0].split(":")[0]
    command = services["codec-server"]["command"]
    assert command[command.index("--cors-origin") + 1] == ui_origin


def test_env_file_example_lists_only_settings() -> None:
    names = {
        line.split("=", 1)[0]
        for line in (DEPLOY / "noticeflow.env.example").read_text().splitlines()
        if line and not line.startswith("#")
    }
    assert names and names <= SETTING_NAMES


def test_kustomization_lists_every_manifest() -> None:
    [kustomization] = _load(K8S / "kustomization.yaml")
    manifests = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml", "temporal-values.yaml"}
    assert set(kustomization["resources"]) == manifests


def test_k8s_has_worker_api_codec_server_config_secret_and_setup_job() -> None:
    kinds = {(m["kind"], m["metadata"]["name"]) for m in _manifests()}
    assert {
        ("Deployment", "noticeflow-worker"),
        ("Deployment", "noticeflow-api"),
        ("Service", "noticeflow-api"),
        ("Deployment", "noticeflow-codec-server"),
        ("Service", "noticeflow-codec-server"),
        ("ConfigMap", "noticeflow-settings"),
        ("Secret", "noticeflow-secrets"),
        ("Job", "noticeflow-temporal-setup"),
        ("CronJob", "noticeflow-contacts-retention"),  # crypto-shredding when retention ends
    } <= kinds


def test_k8s_config_and_secret_keys_are_settings() -> None:
    for manifest in _manifests():
        if manifest["kind"] == "ConfigMap":
            assert set(manifest["data"]) <= SETTING_NAMES
        if manifest["kind"] == "Secret" and manifest["metadata"]["name"] == "noticeflow-secrets":
            assert set(manifest["stringData"]) <= SETTING_NAMES


def test_k8s_references_resolve() -> None:
    manifests = _manifests()
    names = {(m["kind"], m["metadata"]["name"]) for m in manifests}
    for manifest in manifests:
        if manifest["kind"] in {"Deployment", "Job", "CronJob"}:
            spec = manifest["spec"]
            spec = spec.get("jobTemplate", {}).get("spec", spec)
            labels = spec["template"]["metadata"]["labels"]
            if manifest["kind"] == "Deployment":
                assert spec["selector"]["matchLabels"].items() <= labels.items()
            volumes = {v["name"]: v for v in spec["template"]["spec"].get("volumes", [])}
            for volume in volumes.values():
                if "secret" in volume:
                    assert ("Secret", volume["secret"]["secretName"]) in names
            for container in _containers(manifest):
                for source in container.get("envFrom", []):
                    if "configMapRef" in source:
                        assert ("ConfigMap", source["configMapRef"]["name"]) in names
                    if "secretRef" in source:
                        assert ("Secret", source["secretRef"]["name"]) in names
                for mount in container.get("volumeMounts", []):
                    assert mount["name"] in volumes
                for env in container.get("env", []):
                    assert env["name"] in SETTING_NAMES or not env["name"].startswith("NOTICEFLOW_")
        if manifest["kind"] == "Service":
            selector = manifest["spec"]["selector"]
            assert any(
                m["kind"] == "Deployment" and selector.items() <= m["spec"]["template"]["metadata"]["labels"].items()
                for m in manifests
            ), f"service {manifest['metadata']['name']} selects no deployment"


def _commands() -> Iterator[tuple[str, list[str]]]:
    for name, service in _compose()["services"].items():
        if isinstance(service.get("command"), list):
            yield f"compose:{name}", service["command"]
    for manifest in _manifests():
        for container in _containers(manifest):
            if "command" in container:
                yield f"k8s:{manifest['metadata']['name']}", container["command"]


@pytest.mark.parametrize(("where", "command"), list(_commands()), ids=lambda v: v if isinstance(v, str) else "")
def test_every_command_names_something_that_exists(where: str, command: list[str]) -> None:
    if command[0] == "noticeflow":
        # The top level is loaded lazily (noticeflow/cli.py): its command comes from its own module.
        # Typer carries its own copy of click, so the tree below it is walked by its attributes.
        words = [w for w in command[1:] if not w.startswith("-")]
        assert words and words[0] in COMMANDS, f"{where}: no command {' '.join(command)}"
        node: Any = real_command(words[0])
        for word in words[1:]:
            subcommands = getattr(node, "commands", None)
            if subcommands is None:
                break
            assert word in subcommands, f"{where}: no command {' '.join(command)}"
            node = subcommands[word]
        options = {opt for param in node.params for opt in getattr(param, "opts", [])}
        assert {w for w in command[1:] if w.startswith("--")} <= options, where
    elif command[:2] == ["python", "worker.py"]:
        if not (REPO / "worker.py").exists():
            pytest.skip("worker.py is not written yet")
    elif command[0] == "uvicorn":
        target = command[command.index("--factory") + 1]
        module, _, attribute = target.partition(":")
        try:
            loaded = importlib.import_module(module)
        except ModuleNotFoundError:
            pytest.skip(f"{module} is not written yet ({where})")
        assert callable(getattr(loaded, attribute, None)), f"{where}: {target} is not a factory"
    else:
        pytest.fail(f"{where}: unexpected command {command}")
