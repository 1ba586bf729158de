"""`exp env list|show|prune` over real docker environment images.

Prune criteria are checked with --dry-run (the engine may hold other
environments that must survive the tests); real removal is by id.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from docker_e2e import conda_file, prepare_json, unique
from docker_helpers import build_wheel, image_id

pytestmark = pytest.mark.docker
DAY = 86400


def _listed(project, *args: str, env: dict | None = None) -> list[dict]:
    result = project.exp("env", "list", "-c", "docker", "--json", *args, env=env or {})
    assert result.returncode == 0, result.output
    return json.loads(result.stdout)


def _pruned(project, *args: str, env: dict | None = None) -> list[str]:
    result = project.exp("env", "prune", "-c", "docker", "--json", *args, env=env or {})
    assert result.returncode == 0, result.output
    return [item["env_id"] for item in json.loads(result.stdout)]


@pytest.fixture
def built_env(docker_project):
    name = unique()
    wheel = build_wheel(docker_project.root / "wheels", name, "1.0", "X = 1\n")
    docker_project.write(
        "aml_config/conda_dependencies.yml", conda_file(pip=[f"./wheels/{wheel.name}"])
    )
    prepared = prepare_json(docker_project)
    return docker_project, prepared, name


def test_list_and_show(built_env):
    project, prepared, name = built_env
    env_id = prepared["env_id"]
    mine = [e for e in _listed(project) if e["env_id"] == env_id]
    assert len(mine) == 1
    entry = mine[0]
    assert entry["target"] == "docker"
    assert entry["location"] == f"expkit-env:{env_id}"
    assert entry["size_bytes"] > 0 and entry["created"] and entry["last_used"]
    assert entry["layers"] == prepared["layers"]
    table = project.exp("env", "list", "-c", "docker")
    assert env_id in table.stdout and "LAST USED" in table.stdout
    shown = project.exp("env", "show", env_id[:10])
    assert shown.returncode == 0, shown.output
    assert f"environment {env_id}" in shown.stdout
    assert f"{name} @ " in shown.stdout or f"{name}==" in shown.stdout
    as_json = json.loads(project.exp("env", "show", env_id, "--json").stdout)
    assert as_json["env_id"] == env_id and as_json["details"]["system_tag"].startswith(
        "expkit-env:sys-"
    )
    missing = project.exp("env", "show", "ffffffffffffffff")
    assert missing.returncode == 2 and "no cached environment" in missing.stderr


def test_prune_by_age_and_unused_then_by_id(built_env, tmp_path):
    project, prepared, _name = built_env
    env_id = prepared["env_id"]
    # Recently used: not older than a day; with a cache that never saw it, it is unused.
    assert env_id not in _pruned(project, "--older-than", "1", "--dry-run")
    assert env_id not in _pruned(project, "--unused", "--dry-run")
    fresh_cache = {"EXPKIT_CACHE_DIR": str(tmp_path / "other-cache")}
    assert env_id in _pruned(project, "--unused", "--dry-run", env=fresh_cache)
    # Last used 40 days ago.
    usage_file = Path(project.env["EXPKIT_CACHE_DIR"]) / "envs" / "docker" / "usage.json"
    usage = json.loads(usage_file.read_text())
    usage[env_id]["last_used"] = time.time() - 40 * DAY
    usage_file.write_text(json.dumps(usage))
    assert env_id in _pruned(project, "--older-than", "30", "--dry-run")
    assert env_id not in _pruned(project, "--older-than", "50", "--dry-run")
    assert image_id(f"expkit-env:{env_id}") is not None  # dry runs removed nothing
    # Remove it for real (criteria and ids combine: only this one goes).
    assert _pruned(project, "--older-than", "30", env_id) == [env_id]
    assert image_id(f"expkit-env:{env_id}") is None
    assert env_id not in [e["env_id"] for e in _listed(project)]
    again = project.exp("env", "prune", "-c", "docker", env_id)
    assert again.returncode == 2 and "no cached environment" in again.stderr


def test_prune_needs_a_criterion(docker_project):
    result = docker_project.exp("env", "prune")
    assert result.returncode == 2
    assert "--older-than" in result.stderr and "--dry-run" in result.stderr
