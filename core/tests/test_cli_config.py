"""``exp init``, ``exp target ...`` and ``exp runconfig ...`` through the real CLI."""

from __future__ import annotations

import json
from pathlib import Path

import config_fakes as fakes
import pytest
from config_fakes import SECRET, write
from expkit.config import Project

# Fixtures shared with the other configuration tests.
empty_project = fakes.empty_project
exp = fakes.exp
registry = fakes.registry
workbench = fakes.workbench

INIT_FILES = [
    "conda_dependencies.yml",
    "docker.compute",
    "docker.runconfig",
    "local.compute",
    "local.runconfig",
    "spark_dependencies.yml",
]


def files(root: Path) -> list[str]:
    return sorted(p.name for p in (root / "aml_config").iterdir())


# --------------------------------------------------------------------------- init


def test_init_writes_a_working_project(empty_project: Path, exp) -> None:
    result = exp("init")
    assert result.code == 0, result.output
    assert files(empty_project) == INIT_FILES
    assert "wrote aml_config/local.compute" in result.out
    project = Project.find()
    local = project.resolve("local")
    assert local.compute.type == "local" and local.compute.python_location == "python"
    assert local.environment is not None and local.environment.python == "3.11"
    docker = project.resolve("docker")
    assert docker.compute.base_docker_image == "python:3.11-slim"
    assert docker.runconfig.prepare_environment is True
    assert "baseDockerImage" in (empty_project / "aml_config" / "docker.compute").read_text()
    assert "#" in (empty_project / "aml_config" / "docker.compute").read_text()  # explained
    # The sample Spark file is valid too.
    from expkit.config import load_spark_file

    spec = load_spark_file(empty_project / "aml_config" / "spark_dependencies.yml")
    assert spec.submit_args() == ["--conf", "spark.app.name=expkit experiment"]


def test_init_refuses_to_overwrite_unless_forced(empty_project: Path, exp) -> None:
    assert exp("init").code == 0
    edited = empty_project / "aml_config" / "local.compute"
    edited.write_text("type: local\npythonLocation: python3\n")
    refused = exp("init")
    assert refused.code == 2
    assert "would overwrite existing files" in refused.err and "local.compute" in refused.err
    assert "--force" in refused.err
    assert edited.read_text() == "type: local\npythonLocation: python3\n"
    forced = exp("init", "--force")
    assert forced.code == 0
    assert "pythonLocation: python\n" in edited.read_text()


# --------------------------------------------------------------------------- target attach


def test_attach_writes_compute_and_runconfig(workbench: Path, exp) -> None:
    result = exp(
        "target", "attach", "--name", "box", "--type", "localdocker", "--base-image", "img:1"
    )
    assert result.code == 0, result.output
    assert "aml_config/box.compute" in result.out and "aml_config/box.runconfig" in result.out
    project = Project.find()
    resolved = project.resolve("box")
    assert resolved.compute.type == "docker" and resolved.compute.base_docker_image == "img:1"
    assert resolved.runconfig.target == "box" and resolved.runconfig.prepare_environment is True
    assert resolved.runconfig.argument_vector == ("$file",)


def test_attach_never_writes_a_password(workbench: Path, exp, tmp_path: Path, monkeypatch) -> None:
    key = tmp_path / "keys" / "id_ed25519"
    key.parent.mkdir()
    key.write_text("not really a key")
    sub = workbench / "notebooks"
    sub.mkdir()
    monkeypatch.chdir(key.parent)  # the key file is given relative to where the user is
    result = exp(
        "target",
        "attach",
        "--name",
        "vm",
        "--type",
        "remote",
        "--address",
        "127.0.0.1",
        "--port",
        "2222",
        "--username",
        "me",
        "--key-file",
        "id_ed25519",
    )
    assert result.code == 2  # not inside the project
    monkeypatch.chdir(sub)
    result = exp(
        "target",
        "attach",
        "--name",
        "vm",
        "--type",
        "remote",
        "--address",
        "127.0.0.1",
        "--port",
        "2222",
        "--username",
        "me",
        "--key-file",
        str(key),
    )
    assert result.code == 0, result.output
    for path in (workbench / "aml_config").iterdir():
        assert SECRET not in path.read_text() and "password" not in path.read_text()
    compute = Project.find().load_compute("vm")
    assert (compute.type, compute.address, compute.port, compute.username) == (
        "remotedocker",
        "127.0.0.1",
        2222,
        "me",
    )
    assert compute.key_file == str(key) and compute.password is None


def test_attach_relative_key_file_is_made_absolute(workbench: Path, exp) -> None:
    result = exp(
        "target",
        "attach",
        "-n",
        "vm",
        "-t",
        "remotedocker",
        "--address",
        "127.0.0.1",
        "--key-file",
        "keys/id",
    )
    assert result.code == 0, result.output
    assert Project.find().load_compute("vm").key_file == str(workbench.resolve() / "keys" / "id")


def test_attach_refuses_to_overwrite_unless_forced(workbench: Path, exp) -> None:
    before = (workbench / "aml_config" / "docker.compute").read_text()
    refused = exp("target", "attach", "--name", "docker", "--type", "docker")
    assert refused.code == 2
    assert "target 'docker' already exists" in refused.err and "--force" in refused.err
    assert (workbench / "aml_config" / "docker.compute").read_text() == before
    forced = exp("target", "attach", "--name", "docker", "--type", "docker", "--force")
    assert forced.code == 0, forced.output
    assert "python:3.11-slim" in (workbench / "aml_config" / "docker.compute").read_text()


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (
            ["--name", "x", "--type", "cluster"],
            [
                "unknown target type 'cluster'",
                "installed target types: docker, local, remotedocker, slurm",
                "pip install expkit-hdinsight",
            ],
        ),
        (
            ["--name", "x", "--type", "dokcer"],
            ["unknown target type 'dokcer'", "did you mean 'docker'?"],
        ),
        (["--name", "x", "--type", "slurm"], ["'slurm' (expkit-slurm) does not support attach"]),
        (["--name", "x", "--type", "remote"], ["--address: an address is required"]),
        (
            ["--name", "../evil", "--type", "docker"],
            ["--name: target name '../evil' is not allowed"],
        ),
        (["--name", ".hidden", "--type", "docker"], ["is not allowed", "not starting with '.'"]),
        (
            ["--name", "x", "--type", "remote", "--address", "h", "--port", "0"],
            ["--port: must be from 1 to 65535"],
        ),
    ],
    ids=["not-installed", "typo", "no-attach", "plugin-rejects", "traversal", "hidden", "port"],
)
def test_attach_errors(workbench: Path, exp, args: list[str], says: list[str]) -> None:
    before = files(workbench)
    result = exp("target", "attach", *args)
    assert result.code == 2, result.output
    assert "Traceback" not in result.output
    for text in says:
        assert text in result.err, result.err
    assert files(workbench) == before
    assert not (workbench / "evil.compute").exists()


# ------------------------------------------------------------------------ target list/show/detach


def test_target_list_json_and_table(workbench: Path, exp) -> None:
    write(workbench, "aml_config/broken.compute", "type: local\nnvidiaDocker: perhaps\n")
    write(
        workbench,
        "aml_config/vm.compute",
        f"type: remote\naddress: 127.0.0.1\npassword: {SECRET}\n",
    )
    result = exp("target", "list", "--json")
    assert result.code == 0, result.output
    entries = json.loads(result.out)
    assert [e["name"] for e in entries] == ["broken", "docker", "local", "vm"]
    by_name = {e["name"]: e for e in entries}
    assert set(by_name["docker"]) == set(by_name["broken"])  # one shape for all entries
    assert by_name["docker"]["type"] == "docker"
    assert by_name["docker"]["base_docker_image"] == "microsoft/mmlspark:plus-0.9.9"
    assert by_name["docker"]["runconfigs"] == ["docker"] and by_name["docker"]["error"] is None
    assert by_name["broken"]["type"] == "local" and "nvidiaDocker" in by_name["broken"]["error"]
    assert by_name["vm"]["password"] == "***"
    assert SECRET not in result.output

    table = exp("target", "list")
    assert table.code == 0
    lines = table.out.splitlines()
    assert lines[0].split() == ["NAME", "TYPE", "WHERE", "RUNCONFIGS", "STATUS"]
    assert any(line.startswith("broken") and "invalid" in line for line in lines)
    assert any(
        line.split()[:3] == ["docker", "docker", "microsoft/mmlspark:plus-0.9.9"] for line in lines
    )


def test_target_show_masks_the_password(workbench: Path, exp) -> None:
    write(
        workbench,
        "aml_config/vm.compute",
        f"type: remotedocker\naddress: 127.0.0.1\nusername: me\npassword: {SECRET}\n",
    )
    text = exp("target", "show", "vm")
    assert text.code == 0, text.output
    assert "password: ***" in text.out and "address: 127.0.0.1" in text.out
    assert "used only to log in when no SSH key is accepted" in text.err
    assert SECRET not in text.output
    data = json.loads(exp("target", "show", "vm", "--json").out)
    assert data["password"] == "***" and data["type"] == "remotedocker" and data["runconfigs"] == []
    local = json.loads(exp("target", "show", "local", "--json").out)
    assert local["password"] is None and local["runconfigs"] == ["local"]


def test_target_show_unknown(workbench: Path, exp) -> None:
    result = exp("target", "show", "dockr")
    assert result.code == 2
    assert (
        "no compute target named 'dockr'" in result.err and "did you mean 'docker'?" in result.err
    )


def test_detach_removes_target_and_its_runconfig(workbench: Path, exp) -> None:
    write(workbench, "aml_config/docker-gpu.runconfig", "Target: docker\n")
    result = exp("target", "detach", "docker")
    assert result.code == 0, result.output
    assert "docker.compute" in result.out and "docker.runconfig" in result.out
    remaining = files(workbench)
    assert "docker.compute" not in remaining and "docker.runconfig" not in remaining
    # Another run configuration still points at it: kept, and the user is told.
    assert "docker-gpu.runconfig" in remaining
    assert "'docker-gpu' still names target 'docker'" in result.err
    again = exp("target", "detach", "docker")
    assert again.code == 2 and "no compute target named 'docker'" in again.err


def test_detach_keeps_a_same_named_runconfig_for_another_target(workbench: Path, exp) -> None:
    write(workbench, "aml_config/old.compute", "type: local\n")
    write(workbench, "aml_config/old.runconfig", "Target: local\n")
    assert exp("target", "detach", "old").code == 0
    assert "old.runconfig" in files(workbench) and "old.compute" not in files(workbench)


# --------------------------------------------------------------------------- runconfig


def test_runconfig_create(workbench: Path, exp, monkeypatch) -> None:
    monkeypatch.chdir(
        workbench / "aml_config"
    )  # file options are relative to the working directory
    result = exp(
        "runconfig",
        "create",
        "--name",
        "spark",
        "--target",
        "local",
        "--framework",
        "pyspark",
        "--conda-file",
        "conda_dependencies.yml",
        "--spark-file",
        "spark_dependencies.yml",
        "--env",
        "A=1",
        "--env",
        "MSG=a b=c $(x)",
        "-e",
        "EMPTY=",
        "--prepare",
    )
    assert result.code == 0, result.output
    rc = Project.find().resolve("spark")
    assert rc.runconfig.framework == "PySpark" and rc.runconfig.target == "local"
    assert rc.runconfig.conda_dependencies_file == "aml_config/conda_dependencies.yml"
    assert dict(rc.runconfig.environment_variables) == {"A": "1", "MSG": "a b=c $(x)", "EMPTY": ""}
    assert rc.runconfig.prepare_environment is True and rc.runconfig.tracked_run is True
    assert rc.spark is not None and rc.spark.packages
    refused = exp("runconfig", "create", "--name", "spark", "--target", "local")
    assert refused.code == 2 and "already exists" in refused.err
    assert exp("runconfig", "create", "--name", "spark", "--target", "local", "--force").code == 0
    assert Project.find().load_runconfig("spark").framework == "Python"


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (
            ["--name", "r", "--target", "dokcer"],
            ["--target: no compute target named 'dokcer'", "did you mean 'docker'?"],
        ),
        (
            ["--name", "r", "--target", "local", "--framework", "Scala"],
            ["--framework: 'Scala' is not allowed", "allowed: Python, PySpark"],
        ),
        (
            ["--name", "r", "--target", "local", "--env", "NOVALUE"],
            ["--env: 'NOVALUE' is not KEY=VALUE"],
        ),
        (
            ["--name", "r", "--target", "local", "--conda-file", "nope.yml"],
            ["--conda-file: file not found"],
        ),
        (
            ["--name", "r", "--target", "local", "--conda-file", "/etc/hostname"],
            ["--conda-file: /etc/hostname is outside the project"],
        ),
        (
            ["--name", "a/b", "--target", "local"],
            ["--name: run configuration name 'a/b' is not allowed"],
        ),
    ],
    ids=["missing-target", "framework", "env", "conda-missing", "conda-outside", "name"],
)
def test_runconfig_create_errors(workbench: Path, exp, args: list[str], says: list[str]) -> None:
    before = files(workbench)
    result = exp("runconfig", "create", *args)
    assert result.code == 2, result.output
    for text in says:
        assert text in result.err, result.err
    assert files(workbench) == before


def test_runconfig_list_json_and_table(workbench: Path, exp) -> None:
    write(workbench, "aml_config/bad.runconfig", "Target: local\nFramework: R\n")
    entries = json.loads(exp("runconfig", "list", "--json").out)
    assert [e["name"] for e in entries] == ["bad", "docker", "local"]
    by_name = {e["name"]: e for e in entries}
    assert set(by_name["bad"]) == set(by_name["docker"])
    assert by_name["docker"]["target"] == "docker" and by_name["docker"]["error"] is None
    assert by_name["docker"]["ignored_keys"] == ["UseSampling", "DataSourceSubstitutions"]
    assert "Framework" in by_name["bad"]["error"]
    table = exp("runconfig", "list").out.splitlines()
    assert table[0].split()[:3] == ["NAME", "TARGET", "FRAMEWORK"]
    assert any(line.startswith("bad") and "invalid" in line for line in table)


def test_runconfig_show_json_shape(workbench: Path, exp) -> None:
    result = exp("runconfig", "show", "docker", "--json")
    assert result.code == 0, result.output
    data = json.loads(result.out)
    assert set(data) == {
        "project",
        "runconfig",
        "compute",
        "target_type",
        "environment",
        "spark",
        "notes",
    }
    assert data["runconfig"]["target"] == "docker" and data["compute"]["type"] == "docker"
    assert data["target_type"]["package"] == "expkit-docker"
    assert data["environment"]["python"] == "3.5.2" and data["spark"] is None
    assert any("UseSampling" in n for n in data["notes"])
    assert "UseSampling is accepted" in result.err  # notes also reach people, on stderr
    text = exp("runconfig", "show", "docker")
    assert text.code == 0
    assert (
        "Target: docker" in text.out
        and "baseDockerImage: microsoft/mmlspark:plus-0.9.9" in text.out
    )
    assert "python: 3.5.2" in text.out


def test_attach_notes_dependency_files_that_do_not_exist_yet(empty_project: Path, exp) -> None:
    (empty_project / "aml_config").mkdir()
    result = exp("target", "attach", "--name", "d", "--type", "docker")
    assert result.code == 0, result.output
    assert "refers to aml_config/conda_dependencies.yml, which does not exist yet" in result.err
    assert files(empty_project) == ["d.compute", "d.runconfig"]


def test_missing_required_option_is_a_usage_error(workbench: Path, exp) -> None:
    result = exp("target", "attach", "--type", "docker")
    assert result.code == 2
    assert "Missing option '--name'" in result.output and "Traceback" not in result.output
