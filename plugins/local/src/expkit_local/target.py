"""The ``local`` compute target: runs on this machine, with the user's Python or a managed venv.

Two modes, chosen by ``userManagedEnvironment`` in the ``.compute`` file:

- user-managed (the default, as Workbench did): the script runs with
  ``pythonLocation`` exactly as the user has it; conda_dependencies.yml is
  not applied. prepare starts nothing; the package list is recorded from a
  cached probe of the interpreter (see expkit_local.interpreter) and is
  left empty when ``pythonLocation`` is a launcher script (a pyenv shim),
  whose target can change without its path changing.
- managed (``userManagedEnvironment: false``): a venv built from the
  environment spec's python pin and pip list, cached by environment id and
  shared across projects (see expkit_local.venvs).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from expkit.errors import ConfigError, InfrastructureError
from expkit.model import (
    AttachRequest,
    AttachResult,
    Collected,
    ComputeTarget,
    EnvironmentInfo,
    Execution,
    PreparedEnvironment,
    PrepareRequest,
    RunContext,
)
from expkit.target import Target, workbench_runconfig

from expkit_local.execution import LocalExecution
from expkit_local.hooks import TARGET_TYPE

_REMOTE_OPTIONS = (
    ("address", "--address", "address is for remote targets"),
    ("username", "--username", "username is for remote targets"),
    ("port", "--port", "port is for remote targets"),
    ("key_file", "--key-file", "key-file is for remote targets"),
    ("base_image", "--base-image", "base-image is for the docker targets"),
)


class LocalTarget(Target):
    """The ``local`` target; expkit.target.TargetPlugin calls it for ``type: local`` only."""

    target_type = TARGET_TYPE

    # ------------------------------------------------------------------ attach

    def attach(self, request: AttachRequest) -> AttachResult:
        for attr, flag, why in _REMOTE_OPTIONS:
            if getattr(request, attr) is not None:
                raise ConfigError(
                    f"the local target runs on this machine; {why}",
                    key=flag,
                    hint=f"drop {flag}, or attach a target of another type "
                    "(e.g. --type remotedocker for a remote VM, --type docker for a container).",
                )
        # User-managed by default, as Workbench: nothing to prepare. PrepareEnvironment
        # still says what a run does once userManagedEnvironment: false builds a venv.
        runconfig = workbench_runconfig(request)
        return AttachResult(
            compute={"type": TARGET_TYPE.name, "pythonLocation": "python"}, runconfig=runconfig
        )

    # ------------------------------------------------------------------ prepare

    def prepare(self, request: PrepareRequest) -> PreparedEnvironment:
        from expkit_local.interpreter import find_python

        python = find_python(request.compute)
        details: dict[str, Any] = {}
        pyspark = request.runconfig.framework == "PySpark"
        if request.compute.user_managed_environment is False:
            from dataclasses import replace

            from expkit_local.managed import prepare_managed

            prepared = prepare_managed(request, python, details)
            if not pyspark:
                return prepared
            from expkit_local.spark import find_spark_submit

            # The environment's own spark-submit when its pip list brings pyspark.
            spark = find_spark_submit(request.compute, env_bin=str(Path(prepared.python).parent))
            return replace(prepared, details={**prepared.details, "spark_submit": spark})
        if pyspark:
            from expkit_local.spark import find_spark_submit

            details["spark_submit"] = find_spark_submit(request.compute)
        return self._prepare_user_managed(request, python, details)

    def _prepare_user_managed(
        self, request: PrepareRequest, python: str, details: dict[str, Any]
    ) -> PreparedEnvironment:
        from expkit_local.interpreter import cached_probe, is_launcher, probe

        details["mode"] = "user-managed"
        notes: tuple[str, ...] = ()
        if request.environment is not None:
            details["note"] = (
                "user-managed environment: the environment file is not applied "
                "(userManagedEnvironment: false builds one)"
            )
            spec_file = request.runconfig.conda_dependencies_file or "the environment file"
            compute_file = request.compute.source or f"aml_config/{request.compute.name}.compute"
            notes = (
                f"{spec_file} is not applied: this local target is user-managed and runs "
                f"{python} as it is (set userManagedEnvironment: false in {compute_file} "
                "to build a venv from it).",
            )
        packages: tuple[str, ...] = ()
        if is_launcher(python):
            details["packages"] = f"not recorded: {python} is a launcher script"
        else:
            # Nothing to build in this mode, so `force` does not re-probe either: the
            # cached probe is already invalidated by any change to site-packages.
            found = cached_probe(python)
            if found is None:
                try:
                    found = probe(python, refresh=True)
                except InfrastructureError as exc:
                    details["packages"] = f"not recorded: {exc}"
            if found is not None:
                packages = found.packages
                details["python_version"] = found.version
        return PreparedEnvironment(
            env_id=None,
            location=python,
            python=python,
            cached=True,
            packages=packages,
            details=details,
            notes=notes,
        )

    # ------------------------------------------------------------------ submit

    def submit(self, run: RunContext, environment: PreparedEnvironment) -> LocalExecution:
        from expkit.runenv import (
            path_variables,
            runtime_dir,
            shared_dir_variables,
            shared_directory,
            with_pythonpath,
        )

        outputs = run.snapshot / "outputs"
        outputs.mkdir(parents=True, exist_ok=True)
        run.metrics_file.parent.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ)
        if environment.env_id is not None:
            # Like an activated venv: subprocesses that call `python` or a console
            # script the environment installed get the environment's.
            venv_bin = str(Path(environment.python).parent)
            env["VIRTUAL_ENV"] = environment.location
            env["PATH"] = venv_bin + os.pathsep + env.get("PATH", "")
            env.pop("PYTHONHOME", None)
        env.update(run.environment)
        env.update(path_variables(outputs_dir=str(outputs), metrics_file=str(run.metrics_file)))
        shared = shared_directory(run.compute)
        if shared is not None:
            env.update(shared_dir_variables(str(shared), os.sep))
        env = with_pythonpath(env, str(runtime_dir()), None)
        if run.runconfig.framework == "PySpark":
            from expkit.sparksubmit import SparkSubmit, driver_environment, submit_command

            from expkit_local.spark import find_spark_submit

            spark_submit = environment.details.get("spark_submit") or find_spark_submit(run.compute)
            argv = submit_command(SparkSubmit(str(spark_submit), spark=run.spark), run.argv)
            env = driver_environment(env, environment.python)
        else:
            argv = [environment.python, *run.argv]
        try:
            execution = LocalExecution(argv, cwd=str(run.snapshot), env=env)
        except OSError as exc:
            raise InfrastructureError(
                f"cannot start {argv[0]}: {exc.strerror}",
            ) from None
        from expkit_local.orphans import remember

        # So that stop_orphan can find the script if this exp process dies.
        remember(run.run_dir, execution.pid)
        return execution

    # ------------------------------------------------------------------ collect

    def collect(self, run: RunContext, execution: Execution) -> Collected:
        from expkit_local.orphans import forget
        from expkit_local.outputs import collect_outputs

        if getattr(execution, "ended", False):
            forget(run.run_dir)  # the script's group is gone: nothing to find any more
        notes: list[str] = []
        outputs = collect_outputs(run.snapshot / "outputs", run.outputs_dir, notes.append)
        return Collected(outputs=outputs, notes=tuple(notes))

    # ------------------------------------------------------------------ lost runs

    def stop_orphan(self, compute: ComputeTarget, run_id: str, run_dir: Path) -> bool:
        """Stop what a run whose exp died left running (see expkit_local.orphans), then
        collect the outputs it wrote in its working copy, as collect would."""
        from expkit.outputs import log_notes
        from expkit.paths import work_dir

        from expkit_local.execution import KILL_GRACE
        from expkit_local.orphans import forget, stop
        from expkit_local.outputs import collect_outputs

        stopped = stop(run_dir, KILL_GRACE, run_id=run_id)
        outputs = work_dir(run_id) / "outputs"
        if outputs.is_dir() or outputs.is_symlink():
            notes: list[str] = []
            collect_outputs(outputs, run_dir / "outputs", notes.append)
            log_notes(run_dir, notes)
        forget(run_dir)
        return stopped

    # ------------------------------------------------------------------ environments

    def list_environments(self, compute: ComputeTarget) -> list[EnvironmentInfo]:
        from expkit_local.venvs import list_envs

        return list_envs()

    def remove_environment(self, compute: ComputeTarget, env_id: str) -> bool:
        from expkit_local.venvs import remove_env

        return remove_env(env_id)
