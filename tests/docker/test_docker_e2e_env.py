"""`exp env list|show|prune` over real docker environment images.

Prune criteria are checked with --dry-run (the engine may hold other
environments that must survive the tests); real removal is by id.
"""

from __future__ import annotations

import json
import subprocess
import time
import uuid
from pathlib import Path

import pytest
from docker_e2e import conda_file, docker_compute, prepare_json, unique
from docker_helpers import BASE_IMAGE, build_wheel, image_id
from expkit_docker.names import ENV_PYTHON

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


# --- prune removes what expkit built, and nothing else ----------------------------------


def _docker(*args: str) -> str:
    return subprocess.run(
        ["docker", *args], capture_output=True, text=True, check=True, timeout=120
    ).stdout.strip()


def _child_image(parent: str, ref: str) -> str:
    """A user's image built FROM ``parent`` (a container committed: it has a Parent, as
    a classic ``docker build`` gives; it inherits ``parent``'s labels)."""
    container = _docker("create", parent, "true")
    try:
        _docker("commit", "--change", "LABEL owner=user", container, ref)
    finally:
        _docker("rm", "-f", container)
    image = image_id(ref)
    assert image is not None
    return image


def test_prune_never_deletes_a_users_image_built_from_an_environment(built_env):
    project, prepared, name = built_env
    env_id = prepared["env_id"]
    foreign = f"expkit-test-foreign-{unique('img')}:1"
    fake_id = uuid.uuid4().hex[:16]  # the user's image, tagged into expkit's repository too
    foreign_id = _child_image(prepared["location"], foreign)
    _docker("tag", foreign, f"expkit-env:{fake_id}")
    try:
        listed = [e["env_id"] for e in _listed(project)]
        assert listed.count(env_id) == 1 and fake_id not in listed
        refused = project.exp("env", "prune", "-c", "docker", fake_id)
        assert refused.returncode == 2 and "no cached environment" in refused.stderr
        assert _pruned(project, env_id) == [env_id]
        # The environment's tag is gone; the user's image, under both its tags, is not,
        # and its layers (the environment's, below it) still run.
        assert image_id(prepared["location"]) is None
        assert image_id(foreign) == foreign_id == image_id(f"expkit-env:{fake_id}")
        out = _docker("run", "--rm", foreign, ENV_PYTHON, "-c", f"import {name}; print({name}.X)")
        assert out == "1"
    finally:
        subprocess.run(["docker", "rmi", foreign, f"expkit-env:{fake_id}"], capture_output=True)


def test_prune_leaves_an_untagged_parent_image_alone(docker_project):
    """The engine's default delete also removes untagged parents nothing else uses: a
    user's base image whose tag was removed would go with the environment built on it."""
    base = f"expkit-test-userbase-{unique('img')}:1"
    base_id = _child_image(BASE_IMAGE, base)
    docker_project.write("aml_config/docker.compute", docker_compute().replace(BASE_IMAGE, base))
    name = unique()
    wheel = build_wheel(docker_project.root / "wheels", name, "1.0", "X = 1\n")
    docker_project.write(
        "aml_config/conda_dependencies.yml", conda_file(pip=[f"./wheels/{wheel.name}"])
    )
    try:
        prepared = prepare_json(docker_project)
        system_tag = prepared["details"]["system_tag"]
        _docker("rmi", base)  # untags it only: the environment's images are built on it
        assert image_id(base_id) == base_id
        assert _pruned(docker_project, prepared["env_id"]) == [prepared["env_id"]]
        # Both layers of the environment went (nothing else used its system layer) ...
        assert image_id(prepared["location"]) is None and image_id(system_tag) is None
        # ... and the untagged parent below them stayed.
        assert image_id(base_id) == base_id
    finally:
        subprocess.run(["docker", "rmi", base_id], capture_output=True)
