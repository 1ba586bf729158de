"""The container a run executes in: command, variables, mounts, GPUs.

Kept apart from the engine calls so what a run asks of the engine can be
tested (and read) on its own. Paths inside the container are fixed
(names.py): the working copy at /expkit/project (the working directory;
``outputs/`` in it is what collect brings back), the run's metrics file
bind-mounted at /expkit/metrics.jsonl, the ``expkit`` shim at /expkit/lib (first on
PYTHONPATH), a nativeSharedDirectory at /expkit/shared.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from expkit import runenv
from expkit.model import ComputeTarget, PreparedEnvironment, RunContext

from expkit_docker.names import (
    CONTAINER_LIB,
    CONTAINER_METRICS,
    CONTAINER_OUTPUTS,
    CONTAINER_PROJECT,
    CONTAINER_SHARED,
    ENV_PREFIX,
    PROJECT_LABEL,
    RUN_LABEL,
)

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#: Everything the engine's GPU support (NVIDIA Container Toolkit) can give: ``--gpus all``.
GPU_REQUEST = {
    "Driver": "",
    "Count": -1,
    "DeviceIDs": None,
    "Capabilities": [["gpu"]],
    "Options": {},
}


def _image_env(environment: PreparedEnvironment) -> dict[str, str]:
    out = {}
    for item in environment.details.get("image_env") or ():
        name, _, value = str(item).partition("=")
        out[name] = value
    return out


def command(run: RunContext, environment: PreparedEnvironment) -> list[str]:
    """What the container runs: the interpreter with the run's argv, or spark-submit."""
    if run.runconfig.framework == "PySpark":
        from expkit.sparksubmit import SparkSubmit, submit_command

        # A managed environment has pyspark in its system layer (sparklayer.py);
        # a user-managed image brings its own spark-submit on PATH.
        managed = environment.env_id is not None
        spark_submit = f"{ENV_PREFIX}/bin/spark-submit" if managed else "spark-submit"
        return submit_command(SparkSubmit(spark_submit, spark=run.spark), run.argv)
    return [environment.python, *run.argv]


def variables(
    run: RunContext, environment: PreparedEnvironment, shared: Path | None
) -> dict[str, str]:
    image_env = _image_env(environment)
    env = dict(run.environment)
    env.update(runenv.path_variables(outputs_dir=CONTAINER_OUTPUTS, metrics_file=CONTAINER_METRICS))
    env[runenv.PROJECT_DIR] = CONTAINER_PROJECT
    if shared is not None:
        env.update(runenv.shared_dir_variables(CONTAINER_SHARED))
    if environment.env_id is not None:
        # Like an activated venv: `python`, `pip` and console scripts are the environment's.
        env.setdefault("VIRTUAL_ENV", ENV_PREFIX)
        env["PATH"] = f"{ENV_PREFIX}/bin:" + (
            env.get("PATH") or image_env.get("PATH") or DEFAULT_PATH
        )
    if run.runconfig.framework == "PySpark":
        from expkit.sparksubmit import driver_environment

        env = driver_environment(env, environment.python)
    return runenv.with_pythonpath(env, CONTAINER_LIB, image_env.get("PYTHONPATH"))


def bind_mount(source: Path, target: str, *, read_only: bool = False) -> dict[str, Any]:
    """A ``HostConfig.Mounts`` bind of host ``source`` at ``target``.

    Structured mounts, not ``Binds`` strings (``host:container[:mode]``):
    a ``:`` in a host path (a project folder named ``exp:2``) would split
    the string in the wrong place. Unlike ``Binds``, the engine does not
    create a missing source; every source here exists before the run starts.
    """
    return {"Type": "bind", "Source": str(source), "Target": target, "ReadOnly": read_only}


def container_config(run: RunContext, environment: PreparedEnvironment) -> dict[str, Any]:
    """The ``POST /containers/create`` body for ``run``."""
    compute = run.compute
    shared = runenv.shared_directory(compute)
    mounts = [bind_mount(run.metrics_file, CONTAINER_METRICS)]
    if compute.shared_volumes:
        mounts.append(bind_mount(run.snapshot, CONTAINER_PROJECT))
    if shared is not None:
        mounts.append(bind_mount(shared, CONTAINER_SHARED))
    host: dict[str, Any] = {"Init": True, "Mounts": mounts}
    if compute.nvidia_docker:
        host["DeviceRequests"] = [dict(GPU_REQUEST)]
    env = variables(run, environment, shared)
    return {
        "Image": environment.details.get("image_id") or environment.location,
        "Cmd": command(run, environment),
        # The run's argv is exactly the command above, whatever the image's entrypoint does.
        "Entrypoint": [],
        "WorkingDir": CONTAINER_PROJECT,
        "Env": [f"{k}={v}" for k, v in env.items()],
        "Labels": {RUN_LABEL: run.run_id, PROJECT_LABEL: str(run.project)},
        "AttachStdin": False, "AttachStdout": True, "AttachStderr": True,
        "Tty": False, "OpenStdin": False,
        "HostConfig": host,
    }  # fmt: skip


def config_hint(compute: ComputeTarget) -> str:
    return str(compute.source) if compute.source else f"aml_config/{compute.name}.compute"
