"""Values passed between the core and target plugins.

All are frozen dataclasses: a plugin receives them, never mutates them, and
returns new values. Field names are the Python spelling; the Workbench YAML
spelling of each configuration key is given in docs/configuration.md.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Protocol, runtime_checkable


def frozen_map(data: Mapping[str, Any] | None = None) -> Mapping[str, Any]:
    """A read-only copy of ``data``, for mapping fields of frozen values."""
    return MappingProxyType(dict(data or {}))


# --------------------------------------------------------------------------- targets


@dataclass(frozen=True)
class TargetType:
    """A kind of compute target a plugin provides (``.compute`` ``type:``)."""

    name: str
    #: Distribution that provides it, e.g. ``expkit-docker`` (shown by ``exp plugins``).
    package: str
    description: str = ""
    #: Other ``type:`` spellings that mean the same target (``localdocker`` for ``docker``).
    aliases: tuple[str, ...] = ()
    #: ``.compute`` keys (Workbench spelling) this type understands, besides ``type``.
    compute_keys: frozenset[str] = frozenset()
    #: False for placeholders that validate configuration but cannot run yet.
    available: bool = True
    #: False for a target that runs the code elsewhere from the stored snapshot's
    #: objects (``.exp/objects``): a tracked run then gets no local working copy
    #: (``RunContext.snapshot`` does not exist), which saves copying every file.
    local_working_copy: bool = True


@dataclass(frozen=True)
class ComputeTarget:
    """A parsed ``aml_config/<name>.compute``: where a run executes."""

    name: str
    type: str
    address: str | None = None
    username: str | None = None
    port: int | None = None
    key_file: str | None = None
    #: Read from Workbench files so it can be refused clearly; never written back.
    password: str | None = field(default=None, repr=False)
    base_docker_image: str | None = None
    shared_volumes: bool = False
    nvidia_docker: bool = False
    native_shared_directory: str | None = None
    #: None when the file does not say; each plugin applies its own default.
    user_managed_environment: bool | None = None
    python_location: str | None = None
    spark_submit_location: str | None = None
    #: Keys a third-party plugin declared in TargetType.compute_keys, as written.
    options: Mapping[str, Any] = field(default_factory=frozen_map)
    source: Path | None = None


@dataclass(frozen=True)
class RunConfig:
    """A parsed ``aml_config/<name>.runconfig``: how a run executes."""

    name: str
    target: str
    framework: str = "Python"  # "Python" or "PySpark"
    #: ``$file`` stands for the submitted script; CLI arguments are appended.
    argument_vector: tuple[str, ...] = ("$file",)
    environment_variables: Mapping[str, str] = field(default_factory=frozen_map)
    #: Project-relative paths, as Workbench wrote them (``aml_config/conda_dependencies.yml``).
    conda_dependencies_file: str | None = None
    spark_dependencies_file: str | None = None
    #: Workbench's meaning: True prepares a missing environment as part of the run;
    #: False makes such a run fail at once, pointing to ``exp prepare -c NAME``.
    prepare_environment: bool = True
    tracked_run: bool = True
    #: Accepted for compatibility and ignored; the CLI prints a note when set.
    ignored_keys: tuple[str, ...] = ()
    source: Path | None = None


# --------------------------------------------------------------------------- environments


@dataclass(frozen=True)
class SparkPackage:
    group: str
    artifact: str
    version: str

    @property
    def coordinate(self) -> str:
        return f"{self.group}:{self.artifact}:{self.version}"


@dataclass(frozen=True)
class SparkSpec:
    """A parsed ``spark_dependencies.yml``."""

    configuration: Mapping[str, str] = field(default_factory=frozen_map)
    repositories: tuple[str, ...] = ()
    packages: tuple[SparkPackage, ...] = ()
    source: Path | None = None

    def submit_args(self) -> list[str]:
        """The ``spark-submit`` arguments this spec stands for."""
        args: list[str] = []
        for key in sorted(self.configuration):
            args += ["--conf", f"{key}={self.configuration[key]}"]
        if self.repositories:
            args += ["--repositories", ",".join(self.repositories)]
        if self.packages:
            args += ["--packages", ",".join(p.coordinate for p in self.packages)]
        return args


@dataclass(frozen=True)
class EnvironmentSpec:
    """A canonical ``conda_dependencies.yml``: what a run needs installed.

    Every sequence is already canonical (see expkit.environment): comparing two
    specs compares their meaning, not their formatting.
    """

    #: ``python=X.Y[.Z]`` pin without the ``python`` name, e.g. ``"3.11"``; None if unpinned.
    python: str | None = None
    channels: tuple[str, ...] = ()
    #: Conda package specs other than python, canonical and sorted.
    conda: tuple[str, ...] = ()
    #: pip requirement strings, canonical and sorted.
    pip: tuple[str, ...] = ()
    #: Content hashes of local files the pip list refers to (wheels, paths): path -> sha256.
    local_files: Mapping[str, str] = field(default_factory=frozen_map)
    name: str | None = None
    source: Path | None = None


@dataclass(frozen=True)
class EnvironmentId:
    """Layered content hash of an environment (docs/environments.md).

    ``base`` identifies the base image or interpreter, ``system`` adds python and
    conda packages, ``pip`` adds pip requirements and is the environment id.
    """

    base: str
    system: str
    pip: str

    @property
    def id(self) -> str:
        return self.pip


@dataclass(frozen=True)
class PrepareRequest:
    """What ``expkit_prepare`` is asked to make ready."""

    project: Path
    compute: ComputeTarget
    runconfig: RunConfig
    environment: EnvironmentSpec | None
    spark: SparkSpec | None
    #: Rebuild even when a cached environment with the same id exists.
    force: bool = False
    progress: Progress | None = None
    #: False for a run whose run configuration says ``PrepareEnvironment: false``:
    #: an environment that is not ready must not be built (or pulled); raise
    #: ``expkit.target.not_prepared(request, what)`` instead.
    build: bool = True


@dataclass(frozen=True)
class PreparedEnvironment:
    """An environment ready to run in, as ``expkit_prepare`` returns it."""

    #: The environment id (EnvironmentId.id), or None for a user-managed environment.
    env_id: str | None
    #: Where it lives: an image tag, a venv path, an interpreter path.
    location: str
    #: The interpreter to start inside it (a path valid where the run executes).
    python: str
    #: True when nothing was built or installed (a cache hit, or user-managed).
    cached: bool = True
    layers: EnvironmentId | None = None
    #: ``pip freeze`` of the environment where cheaply known, for reproduction.
    packages: tuple[str, ...] = ()
    details: Mapping[str, Any] = field(default_factory=frozen_map)
    #: One-line remarks for the user (``exp: note: ...`` on the terminal), e.g. that
    #: the environment file is not applied. Never progress: that goes to ``progress``.
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class EnvironmentInfo:
    """One cached environment, for ``exp env list``."""

    env_id: str
    location: str
    size_bytes: int | None = None
    created: float | None = None
    last_used: float | None = None
    layers: EnvironmentId | None = None
    details: Mapping[str, Any] = field(default_factory=frozen_map)


# --------------------------------------------------------------------------- runs


@dataclass(frozen=True)
class RunContext:
    """Everything a plugin needs to execute and collect one run.

    Paths are on the machine running ``exp``. Plugins never write to ``project``;
    they write collected outputs under ``outputs_dir`` and metrics lines to
    ``metrics_file``.
    """

    run_id: str
    number: int
    project: Path
    #: Isolated copy of the code snapshot; the script's working directory (locally).
    #: Not created for a tracked run on a type with ``local_working_copy=False``.
    snapshot: Path
    #: The run's folder in the history (``.exp/runs/<run_id>``).
    run_dir: Path
    #: The submitted script, relative to the snapshot root (POSIX separators).
    script: str
    #: Arguments after the interpreter: ArgumentVector with ``$file`` replaced, plus CLI args.
    argv: tuple[str, ...]
    #: EnvironmentVariables plus the target-independent EXPKIT_* variables (expkit.runenv).
    environment: Mapping[str, str]
    compute: ComputeTarget
    runconfig: RunConfig
    environment_spec: EnvironmentSpec | None = None
    spark: SparkSpec | None = None

    @property
    def outputs_dir(self) -> Path:
        return self.run_dir / "outputs"

    @property
    def metrics_file(self) -> Path:
        return self.run_dir / "metrics.jsonl"


@runtime_checkable
class Execution(Protocol):
    """A started run, returned by ``expkit_submit``."""

    def wait(self, on_output: Callable[[str], None]) -> int:
        """Block until the script ends, calling ``on_output`` with its merged
        stdout/stderr as it arrives; return the exit code.

        Each call is normally one whole line (newline included); a ``\r`` that
        ends a read, text idle for ~50 ms without a line end, or a line over
        1 MiB may come as separate pieces. Joined, the pieces are the output."""

    def cancel(self) -> None:
        """Stop the script and everything it started. Must be quick, idempotent and
        safe to call from a signal handler while ``wait`` is running."""

    # Optional, read with getattr: ``phases: Mapping[str, float]``, steps of the submit
    # the plugin timed (name -> time.time() when it ended, in order), recorded in
    # RunRecord.timings before ``submit`` (expkit.runner.lifecycle.submit_phases).


@dataclass(frozen=True)
class Collected:
    """What ``expkit_collect`` brought back."""

    #: Paths of collected output files, relative to RunContext.outputs_dir.
    outputs: tuple[str, ...] = ()
    #: Remarks for the user about what was collected (a link left out, a special
    #: file dropped: expkit.outputs.left_out). The core shows each one and appends
    #: it to the run's log as ``exp: note: ...``; plugins never write the log.
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class AttachRequest:
    """``exp target attach`` options, for the plugin that owns ``type``."""

    name: str
    type: str
    project: Path
    address: str | None = None
    username: str | None = None
    port: int | None = None
    key_file: str | None = None
    base_image: str | None = None
    #: ``--trust-host-key SHA256:...``: the host key fingerprint the user checked, for a
    #: host not yet in known_hosts (targets reached over SSH; see expkit.ssh.hostkeys).
    trust_host_key: str | None = None


@dataclass(frozen=True)
class AttachResult:
    """The file contents ``exp target attach`` writes (Workbench key spelling)."""

    compute: Mapping[str, Any]
    runconfig: Mapping[str, Any]


RUN_STATUSES = ("preparing", "running", "completed", "failed", "canceled")


@dataclass(frozen=True)
class RunRecord:
    """One run in the history, as ``exp runs show --json`` prints it."""

    id: str
    number: int
    status: str
    target: str
    runconfig: str
    script: str
    args: tuple[str, ...] = ()
    exit_code: int | None = None
    started: float | None = None
    ended: float | None = None
    duration_s: float | None = None
    env_id: str | None = None
    snapshot_id: str | None = None
    git_commit: str | None = None
    git_dirty: bool | None = None
    #: Metric name -> last logged value.
    metrics: Mapping[str, Any] = field(default_factory=frozen_map)
    #: Metric name -> every logged value, in order.
    series: Mapping[str, tuple[Any, ...]] = field(default_factory=frozen_map)
    outputs: tuple[str, ...] = ()
    packages: tuple[str, ...] = ()
    #: Why a run failed outside the script ("lost", a build error), else None.
    error: str | None = None
    #: The user's name for the run (``exp run --name``, ``exp runs rename``).
    name: str | None = None
    #: Labels (``exp run --tag k=v``, ``exp runs tag``).
    tags: Mapping[str, str] = field(default_factory=frozen_map)
    #: Free text (``exp run --note``, ``exp runs note``).
    note: str | None = None
    #: Parameter name -> value: the script's parsed arguments, the run
    #: configuration's environment variables (``env.NAME``) and what the script
    #: logged with ``log_param`` (expkit.history.params).
    params: Mapping[str, Any] = field(default_factory=frozen_map)
    #: Metric name -> the step of each value in ``series`` (same length).
    steps: Mapping[str, tuple[Any, ...]] = field(default_factory=frozen_map)
    #: Phase -> seconds it took, each from the end of the one before (the first from
    #: ``started``): ``snapshot``, ``prepare``, ``submit`` (until the script started on
    #: its target: upload, container start), ``run`` (until it ended), ``collect``. A
    #: plugin may split ``submit`` (``Execution.phases``: e.g. ``upload`` before it).
    timings: Mapping[str, float] = field(default_factory=frozen_map)


class Progress(Protocol):
    """Progress reporting for long steps (builds, uploads); see expkit.progress."""

    def step(self, message: str) -> None:
        """A new phase starts (``building system layer``)."""

    def line(self, text: str) -> None:
        """One line of tool output (a build log line)."""

    def advance(self, done: float, total: float | None = None) -> None:
        """Measured progress within the current step."""
