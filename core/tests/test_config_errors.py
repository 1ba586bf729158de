"""Bad configuration, kind by kind: one clear message, exit code 2, no traceback.

Each case starts from a copy of the Workbench sample, breaks one file, and
runs ``exp runconfig show NAME`` (which resolves everything a run would).
The message must name the file, the line where known, the key and, where
relevant, what is allowed and the key or value the user probably meant.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import config_fakes as fakes
import pytest
from config_fakes import write
from expkit.hookspecs import hookimpl
from expkit.model import TargetType
from expkit.plugins import Registry, make_plugin_manager, set_registry

# Fixtures shared with the other configuration tests.
exp = fakes.exp
registry = fakes.registry
workbench = fakes.workbench


@dataclass(frozen=True)
class Bad:
    id: str
    #: Files to write (project-relative path -> text).
    files: dict[str, str]
    #: The run configuration to resolve.
    runconfig: str
    #: The file the message must name (project-relative), and the line.
    file: str
    line: int | None
    key: str | None
    #: Further text the message must contain (allowed values, did-you-mean, fix).
    says: tuple[str, ...] = field(default=())


RC = "aml_config/local.runconfig"
CC = "aml_config/local.compute"
SPARK = "aml_config/spark_dependencies.yml"
PYSPARK_RC = (
    "Target: local\nFramework: PySpark\n"
    'SparkDependenciesFile: "aml_config/spark_dependencies.yml"\n'
)

CASES = [
    # ------------------------------------------------------------------ .compute
    Bad(
        "compute-malformed-yaml",
        {CC: "type: local\npythonLocation: python: 3\n"},
        "local",
        CC,
        2,
        None,
        ("not valid YAML", "mapping values are not allowed"),
    ),
    Bad(
        "compute-not-a-mapping",
        {CC: "- type: local\n"},
        "local",
        CC,
        1,
        None,
        ("expected a mapping", "type: local"),
    ),
    Bad("compute-empty", {CC: "# nothing here\n"}, "local", CC, None, None, ("empty", "type:")),
    Bad(
        "compute-missing-type",
        {CC: "pythonLocation: python\n"},
        "local",
        CC,
        1,
        "type",
        ("required key is missing", "exp plugins"),
    ),
    Bad(
        "compute-unknown-type-typo",
        {CC: "# local\ntype: dcoker\n"},
        "local",
        CC,
        2,
        "type",
        (
            "unknown target type 'dcoker'",
            "installed target types: docker, local",
            "did you mean 'docker'?",
        ),
    ),
    Bad(
        "compute-type-not-installed",
        {CC: "type: cluster\naddress: 127.0.0.1\n"},
        "local",
        CC,
        1,
        "type",
        ("unknown target type 'cluster'", "pip install expkit-hdinsight"),
    ),
    Bad(
        "compute-type-not-text",
        {CC: "type: 3\n"},
        "local",
        CC,
        1,
        "type",
        ("must be text", "number 3"),
    ),
    Bad(
        "compute-unknown-key-typo",
        {CC: "type: local\npythonLocaton: python3\n"},
        "local",
        CC,
        2,
        "pythonLocaton",
        ("unknown key", "did you mean 'pythonLocation'?", "allowed:"),
    ),
    Bad(
        "compute-key-of-another-type",
        {CC: "type: local\npartition: gpu\n"},
        "local",
        CC,
        2,
        "partition",
        ("unknown key", "expkit-local", "a key of target type slurm, not local"),
    ),
    Bad(
        "compute-bool-not-bool",
        {CC: "type: local\nuserManagedEnvironment: maybe\n"},
        "local",
        CC,
        2,
        "userManagedEnvironment",
        ("must be true or false", "allowed: true, false"),
    ),
    Bad(
        "compute-bool-typo",
        {CC: 'type: local\nsharedVolumes: "ture"\n'},
        "local",
        CC,
        2,
        "sharedVolumes",
        ("must be true or false", "did you mean 'true'?"),
    ),
    Bad(
        "compute-port-out-of-range",
        {CC: "type: local\nport: 70000\n"},
        "local",
        CC,
        2,
        "port",
        ("from 1 to 65535", "70000"),
    ),
    Bad(
        "compute-port-not-a-number",
        {CC: "type: local\nport: ssh\n"},
        "local",
        CC,
        2,
        "port",
        ("whole number", "'ssh'"),
    ),
    Bad(
        "compute-text-key-gets-list",
        {CC: "type: local\npythonLocation:\n  - python\n"},
        "local",
        CC,
        2,
        "pythonLocation",
        ("must be text", "a list"),
    ),
    # ------------------------------------------------------------------ .runconfig
    Bad(
        "runconfig-missing-target",
        {RC: "Framework: Python\n"},
        "local",
        RC,
        1,
        "Target",
        ("required key is missing", "Target: local"),
    ),
    Bad(
        "runconfig-target-does-not-exist",
        {RC: "Framework: Python\nTarget: lcoal\n"},
        "local",
        RC,
        2,
        "Target",
        ("names compute target 'lcoal'", "did you mean 'local'?", "exp target attach --name lcoal"),
    ),
    Bad(
        "runconfig-target-path-traversal",
        {RC: "Target: ../../etc/passwd\n"},
        "local",
        RC,
        1,
        "Target",
        ("not a compute target name",),
    ),
    Bad(
        "runconfig-framework-not-allowed",
        {RC: "Target: local\nFramework: PySpork\n"},
        "local",
        RC,
        2,
        "Framework",
        ("allowed: Python, PySpark", "did you mean 'PySpark'?"),
    ),
    Bad(
        "runconfig-unknown-key-typo",
        {RC: "Target: local\nFrameworks: Python\n"},
        "local",
        RC,
        2,
        "Frameworks",
        ("unknown key", "did you mean 'Framework'?"),
    ),
    Bad(
        "runconfig-conda-file-missing",
        {RC: "Target: local\nCondaDependenciesFile: aml_config/conda.yml\n"},
        "local",
        RC,
        2,
        "CondaDependenciesFile",
        ("'aml_config/conda.yml' does not exist", "relative to the project root"),
    ),
    Bad(
        "runconfig-spark-file-is-a-folder",
        {RC: "Target: local\nSparkDependenciesFile: aml_config\n"},
        "local",
        RC,
        2,
        "SparkDependenciesFile",
        ("is a folder, not a file",),
    ),
    Bad(
        "runconfig-argv-not-a-list",
        {RC: 'Target: local\nArgumentVector: "$file --x"\n'},
        "local",
        RC,
        2,
        "ArgumentVector",
        ("must be a list", 'ArgumentVector: ["$file --x"]'),
    ),
    Bad(
        "runconfig-argv-item-mapping",
        {RC: 'Target: local\nArgumentVector:\n  - "$file"\n  - a: b\n'},
        "local",
        RC,
        4,
        "ArgumentVector.1",
        ("list items must be text", "a mapping"),
    ),
    Bad(
        "runconfig-argv-empty",
        {RC: "Target: local\nArgumentVector: []\n"},
        "local",
        RC,
        2,
        "ArgumentVector",
        ("must not be empty", '["$file"]'),
    ),
    Bad(
        "runconfig-env-not-a-mapping",
        {RC: "Target: local\nEnvironmentVariables: [A=1]\n"},
        "local",
        RC,
        2,
        "EnvironmentVariables",
        ("must be a mapping", "a list"),
    ),
    Bad(
        "runconfig-env-value-is-list",
        {RC: "Target: local\nEnvironmentVariables:\n  OK: 1\n  PATHS: [a, b]\n"},
        "local",
        RC,
        4,
        "EnvironmentVariables.PATHS",
        ("must be a single value",),
    ),
    Bad(
        "runconfig-env-name-with-equals",
        {RC: 'Target: local\nEnvironmentVariables:\n  "A=B": x\n'},
        "local",
        RC,
        3,
        "EnvironmentVariables.A=B",
        ("not a valid environment variable name",),
    ),
    Bad(
        "runconfig-prepare-not-bool",
        {RC: "Target: local\nPrepareEnvironment: always\n"},
        "local",
        RC,
        2,
        "PrepareEnvironment",
        ("must be true or false",),
    ),
    Bad(
        "runconfig-tracked-run-number",
        {RC: "Target: local\nTrackedRun: 3\n"},
        "local",
        RC,
        2,
        "TrackedRun",
        ("must be true or false", "number 3"),
    ),
    Bad(
        "runconfig-not-utf8", {}, "latin", "aml_config/latin.runconfig", None, None, ("not UTF-8",)
    ),
    Bad(
        "runconfig-name-not-found",
        {},
        "dokcer",
        "aml_config",
        None,
        None,
        ("no run configuration named 'dokcer'", "did you mean 'docker'?", "exp runconfig create"),
    ),
    # ------------------------------------------------------------------ spark_dependencies.yml
    Bad(
        "spark-version-is-a-number",
        {RC: PYSPARK_RC, SPARK: "packages:\n  - group: g\n    artifact: a\n    version: 0.10\n"},
        "local",
        SPARK,
        4,
        "packages.0.version",
        ("must be text", 'quote it: version: "0.1"'),
    ),
    Bad(
        "spark-package-missing-artifact",
        {RC: PYSPARK_RC, SPARK: "packages:\n  - group: g\n    version: '1'\n"},
        "local",
        SPARK,
        2,
        "packages.0.artifact",
        ("required key is missing", "group, artifact and version"),
    ),
    Bad(
        "spark-package-unknown-key",
        {RC: PYSPARK_RC, SPARK: "packages:\n  - group: g\n    artefact: a\n    version: '1'\n"},
        "local",
        SPARK,
        3,
        "packages.0.artefact",
        ("unknown key", "did you mean 'artifact'?"),
    ),
    Bad(
        "spark-repository-not-a-url",
        {
            RC: PYSPARK_RC,
            SPARK: "repositories:\n  - https://ok.example/maven\n  - mmlspark maven\n",
        },
        "local",
        SPARK,
        3,
        "repositories.1",
        ("is not a repository URL", "https://"),
    ),
    Bad(
        "spark-unknown-top-key",
        {RC: PYSPARK_RC, SPARK: "configuration: {}\npackage: []\n"},
        "local",
        SPARK,
        2,
        "package",
        ("unknown key", "did you mean 'packages'?"),
    ),
    Bad(
        "spark-configuration-value-list",
        {RC: PYSPARK_RC, SPARK: "configuration:\n  spark.jars: [a.jar]\n"},
        "local",
        SPARK,
        2,
        "configuration.spark.jars",
        ("must be a single value",),
    ),
    Bad(
        "spark-packages-not-a-list",
        {RC: PYSPARK_RC, SPARK: "packages: com.microsoft.ml.spark:mmlspark_2.11:0.9.9\n"},
        "local",
        SPARK,
        1,
        "packages",
        ("must be a list of packages",),
    ),
    # ------------------------------------------------------------------ conda_dependencies.yml
    Bad(
        "conda-unknown-key",
        {"aml_config/conda_dependencies.yml": "name: env\ndependecies:\n  - python=3.11\n"},
        "local",
        "aml_config/conda_dependencies.yml",
        2,
        "dependecies",
        ("did you mean 'dependencies'?",),
    ),
]


def test_there_are_at_least_twenty_kinds() -> None:
    assert len({case.id for case in CASES}) == len(CASES) >= 20


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_configuration(case: Bad, workbench: Path, exp) -> None:
    for relpath, text in case.files.items():
        write(workbench, relpath, text)
    if case.id == "runconfig-not-utf8":
        (workbench / case.file).write_bytes("Target: café\n".encode("latin-1"))

    result = exp("runconfig", "show", case.runconfig)

    assert result.code == 2, result.output
    assert result.out == ""
    assert "Traceback" not in result.output
    message = result.err
    assert message.startswith("exp: error: "), message
    where = str(workbench.resolve() / case.file)
    if case.line is not None:
        where += f":{case.line}"
    assert message.startswith(f"exp: error: {where}: "), message
    if case.key is not None:
        assert f": {case.key}: " in message.splitlines()[0], message
    for text in case.says:
        assert text in message, message


def test_outside_a_project(tmp_path: Path, registry, exp, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = exp("runconfig", "show", "local")
    assert result.code == 2
    assert "not inside an expkit project" in result.err and "exp init" in result.err
    assert str(tmp_path.resolve()) in result.err
    assert "Traceback" not in result.output


def test_console_script_prints_no_traceback(tmp_path: Path) -> None:
    """The installed ``exp`` (a real process, real registry) reports a config error
    the same way: a message and exit code 2, no traceback."""
    write(tmp_path, "aml_config/local.runconfig", "Target: local\nFramework: Jython\n")
    exe = Path(sys.executable).with_name("exp")
    env = {k: v for k, v in os.environ.items() if not k.startswith("EXPKIT_")}
    env["EXPKIT_CACHE_DIR"] = str(tmp_path / "cache")
    proc = subprocess.run(
        [str(exe), "runconfig", "show", "local"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    assert f"{tmp_path.resolve()}/aml_config/local.runconfig:2: Framework:" in proc.stderr
    assert "allowed: Python, PySpark" in proc.stderr


class LocalOnly:
    @hookimpl
    def expkit_target_types(self) -> list[TargetType]:
        return [TargetType("local", "expkit-local")]


def test_disabled_plugin_is_named(workbench: Path, exp, monkeypatch) -> None:
    """``EXPKIT_DISABLE_PLUGINS=docker``: the Workbench docker target fails clearly."""
    reg = Registry(make_plugin_manager(entry_points=False))
    reg.register(LocalOnly(), name="local")
    set_registry(reg)
    monkeypatch.setenv("EXPKIT_DISABLE_PLUGINS", "docker")
    result = exp("runconfig", "show", "docker")
    assert result.code == 2
    where = workbench.resolve() / "aml_config" / "docker.compute"
    assert result.err.startswith(f"exp: error: {where}:2: type: unknown target type 'localdocker'")
    assert "installed target types: local." in result.err
    assert "expkit-docker is installed but disabled by EXPKIT_DISABLE_PLUGINS" in result.err
    assert exp("runconfig", "show", "local").code == 0
