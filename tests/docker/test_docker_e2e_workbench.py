"""A script written as the Workbench samples are runs unchanged in a container."""

from __future__ import annotations

import pickle
import shutil
from pathlib import Path

from docker_e2e import (
    DOCKER_RUNCONFIG,
    conda_file,
    docker_compute,
    record,
    unique,
)
from docker_helpers import build_conda_channel, build_wheel

SAMPLE = Path(__file__).resolve().parents[1] / "fixtures" / "workbench" / "share_folder_sample.py"


def test_workbench_sample_runs_unchanged_with_its_logger_and_share_folder(docker_project, tmp_path):
    share = tmp_path / "share"
    docker_project.write(
        "aml_config/docker.compute", docker_compute(nativeSharedDirectory=str(share))
    )
    shutil.copy(SAMPLE, docker_project.root / "sample.py")
    result = docker_project.exp("run", "-c", "docker", "sample.py", "0.05")
    assert result.returncode == 0, result.output
    # Workbench's variable ends with a separator: the samples append file names to it.
    assert "native share folder: /expkit/shared/\n" in result.stdout
    assert "Predicted class is setosa" in result.stdout
    rec = record(docker_project)
    assert rec["status"] == "completed"
    assert rec["metrics"] == {"Regularization Rate": 0.05, "Accuracy": 1.0, "Sizes": [6, 3]}
    # Written in the container, kept in the host folder nativeSharedDirectory names.
    with open(share / "model.pkl", "rb") as handle:
        assert set(pickle.load(handle)) == {"setosa", "versicolor", "virginica"}


# --- conda packages no channel provides: a configuration error ---------------------------


def test_conda_package_without_a_channel_is_a_config_error_naming_it(docker_project):
    missing = unique("nochan")
    docker_project.write("aml_config/conda_dependencies.yml", conda_file(conda=[missing]))
    result = docker_project.exp("prepare", "-c", "docker")
    assert result.returncode == 2, result.output
    first = next(line for line in result.stderr.splitlines() if line.startswith("exp: error: "))
    assert "conda_dependencies.yml: dependencies:" in first
    assert f"no channel provides conda package {missing} (the file lists no channels:)" in first
    assert "add a channel that has it under channels:" in result.stderr
    assert "move it to the pip: list" in result.stderr
    assert "Traceback" not in result.output


def test_conda_package_missing_from_the_listed_channel_names_both(docker_project, tmp_path):
    present, missing = unique("conda"), unique("absent")
    channel = build_conda_channel(tmp_path / "channel", present, "0.1", "VALUE = 1\n")
    docker_project.write(
        "aml_config/conda_dependencies.yml",
        conda_file(conda=[present, missing], channels=[channel.as_uri()]),
    )
    docker_project.write("x.py", "print('never runs')\n")
    result = docker_project.exp("run", "-c", "docker", "x.py")
    assert result.returncode == 2, result.output
    assert "never runs" not in result.stdout
    # Only the package the channel lacks is named; the one it has is not.
    assert f"no channel provides conda package {missing} in the channels listed" in result.stderr
    assert channel.as_uri() in result.stderr and f"package {present}" not in result.stderr


# --- PrepareEnvironment: false -------------------------------------------------------------


def test_prepare_environment_false_fails_at_once_then_runs_once_prepared(docker_project):
    name = unique()
    wheel = build_wheel(docker_project.root / "wheels", name, "1.0", "VERSION = '1.0'\n")
    docker_project.write(
        "aml_config/conda_dependencies.yml", conda_file(pip=[f"./wheels/{wheel.name}"])
    )
    docker_project.write(
        "aml_config/docker.runconfig",
        DOCKER_RUNCONFIG.replace("PrepareEnvironment: true", "PrepareEnvironment: false"),
    )
    docker_project.write("use.py", f"import {name}; print('version', {name}.VERSION)\n")
    refused = docker_project.exp("run", "-c", "docker", "use.py")
    assert refused.returncode == 2, refused.output
    assert "docker.runconfig: PrepareEnvironment: is false" in refused.stderr
    assert "is not built" in refused.stderr and "exp prepare -c docker" in refused.stderr
    assert "building" not in refused.stderr  # nothing was built
    assert record(docker_project)["status"] == "failed"

    prepared = docker_project.exp("prepare", "-c", "docker")
    assert prepared.returncode == 0, prepared.output
    ran = docker_project.exp("run", "-c", "docker", "use.py")
    assert ran.returncode == 0, ran.output
    assert "version 1.0" in ran.stdout and "building" not in ran.stderr


def test_rebuild_rebuilds_a_ready_environment_on_exp_run(docker_project):
    name = unique()
    wheel = build_wheel(docker_project.root / "wheels", name, "1.0", "VERSION = '1.0'\n")
    docker_project.write(
        "aml_config/conda_dependencies.yml", conda_file(pip=[f"./wheels/{wheel.name}"])
    )
    docker_project.write("use.py", f"import {name}; print('version', {name}.VERSION)\n")
    first = docker_project.exp("run", "-c", "docker", "use.py")
    assert first.returncode == 0 and "building the pip layer" in first.stderr, first.output
    again = docker_project.exp("run", "-c", "docker", "--rebuild", "use.py")
    assert again.returncode == 0, again.output
    assert "building the pip layer" in again.stderr and "version 1.0" in again.stdout
    assert record(docker_project, "2")["env_id"] == record(docker_project, "1")["env_id"]
