"""Environment images on the docker target: content-hashed layers, warm lookups, build errors."""

from __future__ import annotations

import subprocess
import time

import pytest
from docker_e2e import (
    conda_file,
    docker_compute,
    engine_events,
    prepare_json,
    record,
    unique,
)
from docker_helpers import build_conda_channel, build_wheel, image_id

pytestmark = pytest.mark.docker


def _with_wheel(project, name: str, version: str = "1.0", extra_pip: list[str] = ()) -> str:
    wheel = build_wheel(project.root / "wheels", name, version, f"VERSION = {version!r}\n")
    pip = [f"./wheels/{wheel.name}", *extra_pip]
    project.write("aml_config/conda_dependencies.yml", conda_file(pip=pip))
    return wheel.name


def test_cold_prepare_builds_then_warm_prepare_makes_no_build_call(docker_project):
    _with_wheel(docker_project, unique())
    cold = docker_project.exp("prepare", "-c", "docker")
    assert cold.returncode == 0, cold.output
    assert "building the pip layer" in cold.output
    since = time.time()
    warm = prepare_json(docker_project)
    until = time.time() + 0.5
    assert warm["cached"] is True
    assert warm["location"] == f"expkit-env:{warm['env_id']}"
    assert any(p.startswith("pkg_") for p in warm["packages"])
    # No build: the engine saw no container created, no commit, no tag.
    events = engine_events(since, until)
    assert [e for e in events if e.get("Type") in ("container", "image")] == []


def test_pip_only_change_reuses_the_system_layer(docker_project):
    name = unique()
    _with_wheel(docker_project, name, "1.0")
    first = prepare_json(docker_project)
    system_tag = first["details"]["system_tag"]
    system_before = image_id(system_tag)
    _with_wheel(docker_project, name, "2.0")
    second = docker_project.exp("prepare", "-c", "docker", "--json")
    assert second.returncode == 0, second.output
    assert "building the pip layer" in second.stderr
    assert "building the system layer" not in second.stderr
    import json

    second_env = json.loads(second.stdout)
    assert second_env["layers"]["system"] == first["layers"]["system"]
    assert second_env["env_id"] != first["env_id"]
    assert image_id(system_tag) == system_before
    # The new environment image is built on that very system image.
    layers = {}
    for ref in (system_tag, second_env["location"]):
        out = subprocess.run(
            ["docker", "image", "inspect", "--format", "{{json .RootFS.Layers}}", ref],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        layers[ref] = json.loads(out)
    assert layers[second_env["location"]][: len(layers[system_tag])] == layers[system_tag]


def test_prepare_environment_true_prepares_within_exp_run(docker_project):
    name = unique()
    _with_wheel(docker_project, name)
    docker_project.write(
        "aml_config/docker.runconfig",
        """
        ArgumentVector: ["$file"]
        Target: docker
        Framework: Python
        CondaDependenciesFile: aml_config/conda_dependencies.yml
        PrepareEnvironment: true
    """,
    )
    docker_project.write("use.py", f"import {name}; print('version', {name}.VERSION)\n")
    result = docker_project.exp("run", "-c", "docker", "use.py")
    assert result.returncode == 0, result.output
    assert "building the pip layer" in result.stderr
    assert "version 1.0" in result.stdout
    rec = record(docker_project)
    assert any(p.startswith(f"{name} @ ") or p.startswith(f"{name}==") for p in rec["packages"])


def test_failing_build_shows_the_failing_step_and_the_installer_error(docker_project):
    broken = docker_project.root / "wheels" / "broken-1.0-py3-none-any.whl"
    broken.parent.mkdir(parents=True)
    broken.write_bytes(b"this is not a zip file " + unique().encode())
    docker_project.write(
        "aml_config/conda_dependencies.yml", conda_file(pip=[f"./wheels/{broken.name}"])
    )
    result = docker_project.exp("prepare", "-c", "docker")
    assert result.returncode == 3, result.output
    assert "failed at step: install the pip requirements" in result.stderr
    assert "ERROR" in result.stderr and "broken-1.0-py3-none-any.whl" in result.stderr
    assert "full build log:" in result.stderr
    assert "Traceback" not in result.output


def test_python_the_base_image_cannot_provide_is_a_clear_error(docker_project):
    docker_project.write("aml_config/conda_dependencies.yml", conda_file(python="3.5.2"))
    result = docker_project.exp("prepare", "-c", "docker")
    assert result.returncode == 2, result.output
    assert "python=3.5.2" in result.stderr and "provides Python 3.11" in result.stderr
    assert "conda_dependencies.yml" in result.stderr and "baseDockerImage" in result.stderr
    assert "Traceback" not in result.output


def test_missing_base_image_says_how_to_get_one(docker_project):
    # The pull must fail without leaving this machine: a registry on a closed
    # loopback port refuses at once (test traffic stays on 127.0.0.0/8).
    missing = "127.0.0.1:9/expkit-test-missing:nope"
    docker_project.write(
        "aml_config/docker.compute",
        docker_compute().replace("expkit-base:bookworm", missing),
    )
    result = docker_project.exp("prepare", "-c", "docker")
    assert result.returncode == 3, result.output
    assert missing in result.stderr
    assert "build-base-image.sh" in result.stderr and "docker pull" in result.stderr
    assert "Traceback" not in result.output


def test_pyspark_without_pyspark_in_the_environment_is_a_clear_error(docker_project):
    docker_project.write(
        "aml_config/docker.runconfig",
        """
        ArgumentVector: ["$file"]
        Target: docker
        Framework: PySpark
        CondaDependenciesFile: aml_config/conda_dependencies.yml
    """,
    )
    docker_project.write("spark.py", "print('spark')\n")
    result = docker_project.exp("run", "-c", "docker", "spark.py")
    assert result.returncode == 2, result.output
    assert "PySpark" in result.stderr and "pyspark" in result.stderr
    assert "Traceback" not in result.output


def test_conda_package_from_a_local_channel_is_installed_and_importable(docker_project, tmp_path):
    name = unique("conda")
    channel = build_conda_channel(tmp_path / "channel", name, "0.1", "VALUE = 'from conda'\n")
    docker_project.write(
        "aml_config/conda_dependencies.yml", conda_file(conda=[name], channels=[channel.as_uri()])
    )
    docker_project.write("use.py", f"import {name}; print('conda says', {name}.VALUE)\n")
    result = docker_project.exp("run", "-c", "docker", "use.py")
    assert result.returncode == 0, result.output
    assert "conda says from conda" in result.stdout
    rec = record(docker_project)
    assert f"{name}=0.1=py_0 (conda)" in rec["packages"]


def test_host_pip_config_reaches_the_build_and_is_not_baked_in(docker_project, tmp_path):
    """pip inside the build reaches PyPI through this machine's settings (CA bundle, index)."""
    name = unique()
    _with_wheel(docker_project, name, extra_pip=["six"])
    marker = f"expkit-marker-{unique('m')}.invalid"
    env = {"PIP_INDEX_URL": "https://pypi.org/simple", "PIP_TRUSTED_HOST": marker}
    result = docker_project.exp("prepare", "-c", "docker", "--json", env=env, timeout=600)
    if (
        result.returncode != 0
        and "six" in result.stderr
        and "No matching distribution" in result.stderr
    ):
        pytest.skip("PyPI is not reachable from this machine")
    assert result.returncode == 0, result.output
    import json

    prepared = json.loads(result.stdout)
    assert any(p.startswith("six==") for p in prepared["packages"])
    ref = prepared["location"]
    # Nothing of the configuration is in the image: not in its config or history ...
    inspect = subprocess.run(
        ["docker", "image", "inspect", ref], capture_output=True, text=True, check=True
    )
    history = subprocess.run(
        ["docker", "history", "--no-trunc", ref], capture_output=True, text=True, check=True
    )
    for text in (inspect.stdout, history.stdout):
        assert marker not in text and "PIP_CERT" not in text and "ca.crt" not in text
    # ... nor in any file of any layer.
    saved = subprocess.run(["docker", "save", ref], capture_output=True, check=True).stdout
    assert marker.encode() not in saved
    # (the history names the build script that ran; its folder is gone from every layer)
    for leaked in (b"expkit-build/net/", b"expkit-build/env.sh", b"expkit-build/requirements.txt"):
        assert leaked not in saved
