"""Parsing an aml_config/ folder into expkit.model values (expkit.config)."""

from __future__ import annotations

from pathlib import Path

import config_fakes as fakes
import pytest
from config_fakes import SECRET, WORKBENCH, write
from expkit.config import Project, find_project_root, load_spark_file
from expkit.errors import ConfigError
from expkit.model import SparkPackage

# Fixtures shared with the other configuration tests.
empty_project = fakes.empty_project
exp = fakes.exp
registry = fakes.registry
workbench = fakes.workbench


def test_workbench_sample_parses_unchanged(workbench: Path, registry) -> None:
    project = Project.find()
    assert project.root == workbench.resolve()
    assert project.runconfig_names() == ["docker", "local"]
    assert project.compute_names() == ["docker", "local"]

    local = project.load_compute("local")
    assert (local.type, local.python_location, local.user_managed_environment) == (
        "local",
        "python",
        True,
    )
    docker = project.load_compute("docker")
    # The Workbench alias resolves to the canonical type the plugin owns.
    assert docker.type == "docker"
    assert docker.base_docker_image == "microsoft/mmlspark:plus-0.9.9"
    assert (docker.shared_volumes, docker.nvidia_docker) == (True, False)
    assert docker.user_managed_environment is None
    assert docker.source == workbench.resolve() / "aml_config" / "docker.compute"

    rc = project.load_runconfig("docker")
    assert rc.name == "docker" and rc.target == "docker"
    assert rc.argument_vector == ("$file",)
    assert dict(rc.environment_variables) == {"EXAMPLE_ENV_VAR": "Example Value"}
    assert rc.framework == "Python"
    assert rc.conda_dependencies_file == "aml_config/conda_dependencies.yml"
    assert rc.spark_dependencies_file == "aml_config/spark_dependencies.yml"
    assert (rc.prepare_environment, rc.tracked_run) == (True, True)
    assert rc.ignored_keys == ("UseSampling", "DataSourceSubstitutions")
    assert project.load_runconfig("local").prepare_environment is False


def test_workbench_sample_resolves_with_environment(workbench: Path, registry) -> None:
    resolved = Project.find().resolve("docker")
    assert resolved.project == workbench.resolve()
    assert resolved.target_type.name == "docker" and resolved.target_type.package == "expkit-docker"
    assert resolved.environment is not None
    assert resolved.environment.python == "3.5.2"
    assert "scikit-learn" in resolved.environment.conda
    assert resolved.environment.pip == ("azure-ml-api-sdk==0.1.0a10",)
    # Framework: Python -> the Spark file is not used.
    assert resolved.spark is None
    assert any("UseSampling is accepted" in n for n in resolved.notes)
    assert any("DataSourceSubstitutions is accepted" in n for n in resolved.notes)


def test_workbench_spark_file(workbench: Path) -> None:
    spec = load_spark_file(workbench / "aml_config" / "spark_dependencies.yml")
    assert dict(spec.configuration) == {
        "spark.app.name": "Azure ML Experiment",
        "spark.yarn.maxAppAttempts": "1",
    }
    assert spec.repositories == ("https://mmlspark.azureedge.net/maven",)
    assert spec.packages == (SparkPackage("com.microsoft.ml.spark", "mmlspark_2.11", "0.9.9"),)
    assert spec.submit_args() == [
        "--conf", "spark.app.name=Azure ML Experiment",
        "--conf", "spark.yarn.maxAppAttempts=1",
        "--repositories", "https://mmlspark.azureedge.net/maven",
        "--packages", "com.microsoft.ml.spark:mmlspark_2.11:0.9.9",
    ]  # fmt: skip


def test_pyspark_runconfig_gets_spark_spec(workbench: Path, registry) -> None:
    path = workbench / "aml_config" / "local.runconfig"
    path.write_text(path.read_text().replace('Framework: "Python"', "Framework: pyspark"))
    resolved = Project.find().resolve("local")
    assert resolved.runconfig.framework == "PySpark"  # canonical spelling
    assert resolved.spark is not None and resolved.spark.packages[0].artifact == "mmlspark_2.11"


def test_pyspark_without_spark_file_is_an_empty_spec(empty_project: Path) -> None:
    write(empty_project, "aml_config/local.compute", "type: local\n")
    write(empty_project, "aml_config/s.runconfig", "Target: local\nFramework: PySpark\n")
    resolved = Project.find().resolve("s")
    assert resolved.spark is not None and resolved.spark.submit_args() == []
    assert resolved.environment is None


def test_find_project_root_walks_up(workbench: Path) -> None:
    deep = workbench / "src" / "pkg"
    deep.mkdir(parents=True)
    assert find_project_root(deep) == workbench.resolve()


def test_find_project_root_outside_a_project(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        find_project_root(tmp_path)
    message = str(info.value)
    assert str(tmp_path.resolve()) in message and "exp init" in message


def test_defaults_and_value_coercion(empty_project: Path) -> None:
    write(
        empty_project,
        "aml_config/t.compute",
        """
        type: "remote"
        address: 127.0.0.1
        port: "2222"
        sharedVolumes: "True"
        nvidiaDocker: "FALSE"
        userManagedEnvironment: false
    """,
    )
    write(
        empty_project,
        "aml_config/t.runconfig",
        """
        Target: t
        EnvironmentVariables:
          EMPTY:
          FLAG: true
          RATE: 0.5
          COUNT: 3
          TEXT: "a b $(c)"
        UseSampling: false
        DataSourceSettings: {}
        ArgumentVector: ["$file", 1, "--x"]
    """,
    )
    project = Project.find()
    compute = project.load_compute("t")
    assert compute.type == "remotedocker"
    assert (compute.port, compute.shared_volumes, compute.nvidia_docker) == (2222, True, False)
    assert compute.user_managed_environment is False
    rc = project.load_runconfig("t")
    assert dict(rc.environment_variables) == {
        "EMPTY": "", "FLAG": "true", "RATE": "0.5", "COUNT": "3", "TEXT": "a b $(c)",
    }  # fmt: skip
    assert rc.argument_vector == ("$file", "1", "--x")
    assert rc.framework == "Python" and rc.prepare_environment is False and rc.tracked_run is True
    # Set to "nothing", so nothing is being ignored.
    assert rc.ignored_keys == ()


def test_plugin_declared_keys_go_to_options(empty_project: Path) -> None:
    write(empty_project, "aml_config/hpc.compute", "type: slurm\npartition: gpu\nnodes: 2\n")
    compute = Project.find().load_compute("hpc")
    assert compute.type == "slurm"
    assert dict(compute.options) == {"nodes": 2, "partition": "gpu"}


def test_password_is_kept_out_of_sight(empty_project: Path) -> None:
    write(
        empty_project,
        "aml_config/vm.compute",
        f"type: remotedocker\naddress: 127.0.0.1\nusername: me\npassword: {SECRET}\n",
    )
    write(empty_project, "aml_config/vm.runconfig", "Target: vm\n")
    resolved = Project.find().resolve("vm")
    assert resolved.compute.password == SECRET
    assert SECRET not in repr(resolved)
    assert any("used only to log in" in n and "keyFile" in n for n in resolved.notes)
    assert not any(SECRET in n for n in resolved.notes)


PASSWORD_NOTE = "used only to log in when no SSH key is accepted"


def test_password_note_appears_once_per_command(empty_project: Path, exp) -> None:
    write(
        empty_project,
        "aml_config/vm.compute",
        f"type: remotedocker\naddress: 127.0.0.1\nusername: me\npassword: {SECRET}\n",
    )
    write(empty_project, "aml_config/vm.runconfig", "Target: vm\n")
    resolved = Project.find().resolve("vm")
    assert sum(PASSWORD_NOTE in n for n in resolved.notes) == 1
    for args in (("runconfig", "show", "vm"), ("target", "show", "vm")):
        result = exp(*args)
        assert result.code == 0, result.output
        assert result.err.count(PASSWORD_NOTE) == 1, (args, result.err)
        assert PASSWORD_NOTE not in result.out and SECRET not in result.output
    # --json: the note is data on stdout (the `notes` list) and a remark on stderr, once each.
    result = exp("runconfig", "show", "vm", "--json")
    assert result.code == 0, result.output
    assert (result.out.count(PASSWORD_NOTE), result.err.count(PASSWORD_NOTE)) == (1, 1)


def test_windows_separators_in_dependency_paths(workbench: Path, registry) -> None:
    write(
        workbench,
        "aml_config/w.runconfig",
        'Target: local\nCondaDependenciesFile: "aml_config\\\\conda_dependencies.yml"\n',
    )
    rc = Project.find().load_runconfig("w")
    assert rc.conda_dependencies_file == "aml_config/conda_dependencies.yml"


def test_write_is_atomic_and_never_writes_a_password(empty_project: Path) -> None:
    (empty_project / "aml_config").mkdir()
    project = Project.find()
    path = project.write_compute(
        "vm", {"type": "remotedocker", "address": "127.0.0.1", "password": SECRET}
    )
    text = path.read_text()
    assert SECRET not in text and "password" not in text
    assert project.load_compute("vm").address == "127.0.0.1"
    assert [p.name for p in path.parent.iterdir()] == ["vm.compute"]  # no temp file left


@pytest.mark.parametrize("name", ["../evil", ".hidden", "a/b", "", "x" * 101, "a b", "..", "/abs"])
def test_unsafe_names_are_rejected(empty_project: Path, name: str) -> None:
    (empty_project / "aml_config").mkdir()
    project = Project.find()
    with pytest.raises(ConfigError) as info:
        project.write_runconfig(name, {"Target": "local"})
    assert "not allowed" in str(info.value)
    assert not (empty_project / "evil.runconfig").exists()
    assert [p.name for p in (empty_project / "aml_config").iterdir()] == []


def test_fixture_matches_the_workbench_layout() -> None:
    """The fixture keeps Workbench's exact spellings (quoted strings, aliases)."""
    compute = (WORKBENCH / "aml_config" / "docker.compute").read_text()
    assert 'type: "localdocker"' in compute and 'baseDockerImage: "' in compute
    local = (WORKBENCH / "aml_config" / "local.compute").read_text()
    assert 'type: "local"' in local and 'pythonLocation: "python"' in local
    for name in ("local", "docker"):
        rc = (WORKBENCH / "aml_config" / f"{name}.runconfig").read_text()
        for key in (
            'ArgumentVector:\n  - "$file"',
            "Target:",
            "EnvironmentVariables:",
            "Framework:",
            "CondaDependenciesFile:",
            "SparkDependenciesFile:",
            "PrepareEnvironment:",
            "TrackedRun:",
        ):
            assert key in rc
    assert (WORKBENCH / "iris_sklearn.py").is_file()
