"""``exp init``: a fresh ``aml_config/`` with a local and a docker target.

The files are templates with comments rather than dumped YAML: they are the
first thing a new user reads and edits, and they use exactly the keys an
Azure ML Workbench project has, so either tool can read them.
"""

from __future__ import annotations

from pathlib import Path

from expkit.errors import ConfigError
from expkit.fsutil import atomic_write_text
from expkit.paths import AML_CONFIG

LOCAL_COMPUTE = """\
# Compute target "local": runs the script with your own Python interpreter.
type: local
# The interpreter to run with (a name on PATH or a path).
pythonLocation: python
# true: use that interpreter as it is; conda_dependencies.yml is not applied.
# false: expkit builds (once, cached) a virtual environment from it.
userManagedEnvironment: true
"""

DOCKER_COMPUTE = """\
# Compute target "docker": runs the script in a container on this machine's
# Docker engine. The environment in conda_dependencies.yml is built on top of
# baseDockerImage once, cached by its content hash, and reused by every later
# run. Any image with Python works (use a locally built one when there is no
# registry at hand).
type: docker
baseDockerImage: python:3.11-slim
# true: mount the project snapshot into the container instead of copying it.
sharedVolumes: false
# true: give the container the host's NVIDIA GPUs.
nvidiaDocker: false
"""

RUNCONFIG = """\
# Run configuration "{name}": `exp run -c {name} SCRIPT [ARGS...]`.
# $file stands for the submitted script; command-line arguments are appended.
ArgumentVector:
  - "$file"
# The compute target: aml_config/{name}.compute.
Target: {name}
EnvironmentVariables:
  EXAMPLE_ENV_VAR: "Example Value"
# Python or PySpark.
Framework: Python
CondaDependenciesFile: aml_config/conda_dependencies.yml
SparkDependenciesFile: aml_config/spark_dependencies.yml
# true: a run prepares its environment when it is not ready (builds it once;
# later runs reuse it). false: such a run fails; prepare with `exp prepare -c {name}`.
PrepareEnvironment: {prepare}
TrackedRun: true
"""

CONDA = """\
# The run's environment (a standard conda environment file). Changing it
# makes the next run build a new environment; unchanged, the cached one is reused.
name: project_environment
dependencies:
  - python=3.11
  # pip requirement strings, URLs or local wheel files, e.g. "scikit-learn>=1.4".
  - pip: []
"""

SPARK = """\
# Spark dependencies, used when a run configuration says `Framework: PySpark`.
# configuration: Spark settings, passed as --conf key=value.
configuration:
  spark.app.name: expkit experiment
# repositories: Maven repository URLs, passed as --repositories.
repositories: []
# packages: Maven packages, passed as --packages group:artifact:version, e.g.
#   - group: "com.microsoft.ml.spark"
#     artifact: "mmlspark_2.11"
#     version: "0.9.9"
packages: []
"""


def init_files() -> dict[str, str]:
    """File name (inside aml_config/) -> contents."""
    return {
        "local.compute": LOCAL_COMPUTE,
        "local.runconfig": RUNCONFIG.format(name="local", prepare="true"),
        "docker.compute": DOCKER_COMPUTE,
        "docker.runconfig": RUNCONFIG.format(name="docker", prepare="true"),
        "conda_dependencies.yml": CONDA,
        "spark_dependencies.yml": SPARK,
    }


def init_project(root: Path, *, force: bool = False) -> list[Path]:
    """Write the starter ``aml_config/`` into ``root``; existing files are kept
    (and nothing is written) unless ``force``. Returns the paths written."""
    config_dir = Path(root) / AML_CONFIG
    files = {config_dir / name: text for name, text in init_files().items()}
    existing = [path for path in files if path.exists()]
    if existing and not force:
        raise ConfigError(
            "would overwrite existing files: " + ", ".join(p.name for p in existing),
            file=config_dir,
            hint="edit them instead, or run `exp init --force` to replace them with the defaults.",
        )
    config_dir.mkdir(parents=True, exist_ok=True)
    for path, text in files.items():
        atomic_write_text(path, text)
    return list(files)
