"""The ``cluster`` target type (alias ``hdinsight``): spark-submit on a Spark cluster over SSH.

attach checks the head node (SSH, with expkit.ssh's host-key rules, and
``spark-submit --version``); prepare builds the run's Python environment on
the head node once per environment id (envs.py); submit uploads the
snapshot and starts spark-submit detached (execution.py); collect brings
back ``outputs/`` and the metrics the driver logged (transfer.py).
``Framework: Python`` runs the script with the environment's Python on the
head node, without Spark. Heavy modules (paramiko) load only inside the
methods: ``exp`` creates every installed target at start-up.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from expkit.errors import ConfigError, UsageError
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

from expkit_hdinsight.hooks import TARGET_TYPE

HDINSIGHT_DOMAIN = ".azurehdinsight.net"


class ClusterTarget(Target):
    """Spark on a cluster whose head node is reachable over SSH (YARN or standalone)."""

    target_type = TARGET_TYPE

    # ------------------------------------------------------------------ attach

    def attach(self, request: AttachRequest) -> AttachResult:
        from expkit.sshconfig import attach_ssh_options

        from expkit_hdinsight.settings import (
            DEFAULT_DEPLOY_MODE,
            DEFAULT_MASTER,
            DEFAULT_SPARK_SUBMIT,
        )

        if request.base_image:
            raise ConfigError(
                "--base-image does not apply to a cluster target",
                key="--base-image",
                hint="a cluster runs spark-submit on its head node; its packages come from "
                "conda_dependencies.yml and spark_dependencies.yml.",
            )
        ssh = attach_ssh_options(request, what="a cluster target")
        host = ssh.host.lower().rstrip(".")
        if host.endswith(HDINSIGHT_DOMAIN) and not host.split(".")[0].endswith("-ssh"):
            name = host.split(".")[0]
            raise ConfigError(
                f"{ssh.host!r} is the cluster's web endpoint, not its SSH endpoint",
                key="--address",
                hint=f"an HDInsight cluster's SSH endpoint has the -ssh suffix: "
                f"--address {name}-ssh{HDINSIGHT_DOMAIN}",
            )
        compute = {
            "type": self.target_type.name,
            **ssh.compute_entries(),
            "master": DEFAULT_MASTER,
            "deployMode": DEFAULT_DEPLOY_MODE,
            "sparkSubmitLocation": DEFAULT_SPARK_SUBMIT,
        }
        self._check_head_node(compute, request.trust_host_key)
        return AttachResult(
            compute=compute, runconfig=workbench_runconfig(request, framework="PySpark")
        )

    def _check_head_node(self, data: dict[str, Any], trust: str | None) -> None:
        """Reach the head node as the runs will, and report its Spark version."""
        from expkit_hdinsight.settings import connect

        compute = ComputeTarget(
            name="attach", type=data["type"], address=data["address"], port=data["port"],
            username=data["username"], key_file=data.get("keyFile"),
        )  # fmt: skip
        conn = connect(compute, trust=trust)
        result = conn.run([data["sparkSubmitLocation"], "--version"])
        text = (result.text() + result.error_text()).strip()
        if not result.ok:
            # The connection works, so the target is written; what is missing is said.
            sys.stderr.write(
                f"exp: warning: {conn.label}: `{data['sparkSubmitLocation']} --version` failed "
                f"(exit {result.code}): {text[-300:]}\n"
                "  set sparkSubmitLocation in the .compute file to spark-submit's path on the "
                "head node (e.g. /usr/bin/spark-submit) before running PySpark scripts.\n"
            )
            return
        version = _spark_version(text)
        sys.stderr.write(f"exp: head node {conn.label}: Spark {version or '(version unknown)'}\n")

    # ------------------------------------------------------------------ prepare

    def prepare(self, request: PrepareRequest) -> PreparedEnvironment:
        from expkit_hdinsight import envs
        from expkit_hdinsight.settings import connect, settings

        config = settings(request.compute)
        conn = connect(request.compute)
        if config.user_managed:
            details = {"mode": "user-managed", "head": conn.label}
            return PreparedEnvironment(
                env_id=None, location=config.python, python=config.python, details=details
            )
        head = envs.probe_python(conn, config.python, request.compute.source)
        envs.check_spec(request.environment, head, config.python, request.compute.source)
        from expkit.environment import environment_id

        ids = environment_id(request.environment, f"{head.path} {head.version}")
        ready = None if request.force else envs.read_ready(conn, ids.id)
        cached = ready is not None
        if ready is None:
            ready = envs.build(conn, ids.id, ids, request.environment, head, request.project,
                               request.progress)  # fmt: skip
        return PreparedEnvironment(
            env_id=ids.id, location=str(Path(ready["python"]).parent.parent),
            python=ready["python"], cached=cached, layers=ids,
            packages=tuple(ready.get("packages") or ()),
            details={"archive": ready["archive"], "head": conn.label},
        )  # fmt: skip

    # ------------------------------------------------------------------ submit

    def submit(self, run: RunContext, environment: PreparedEnvironment) -> Execution:
        from expkit.runenv import PROJECT_DIR, path_variables, runtime_dir, with_pythonpath

        from expkit_hdinsight import envs
        from expkit_hdinsight.execution import ClusterExecution, launch, run_dir
        from expkit_hdinsight.settings import connect, settings
        from expkit_hdinsight.transfer import upload_tree

        config = settings(run.compute)
        if not (run.snapshot / run.script).is_file():
            raise UsageError(
                f"script {run.script!r} is not in the run's snapshot of {run.project}: check the "
                "path (relative to the project root) and that no .gitignore/.amlignore rule "
                "excludes it."
            )
        conn = connect(run.compute)
        folder = run_dir(run.run_id)
        upload_tree(conn, folder, {"project": run.snapshot, "lib": runtime_dir()})
        where = f"{envs.home(conn)}/{folder}"
        env = dict(run.environment)
        env.update(path_variables(outputs_dir=f"{where}/project/outputs",
                                  metrics_file=f"{where}/metrics.jsonl"))  # fmt: skip
        env[PROJECT_DIR] = f"{where}/project"
        env = with_pythonpath(env, f"{where}/lib", None)
        if run.runconfig.framework == "PySpark":
            argv, env = _spark_argv(run, environment, config, env)
        else:
            argv = [environment.python, *run.argv]
        launch(conn, folder, env, argv)
        return ClusterExecution(run.compute, folder)

    def reattach(self, run: RunContext) -> Execution | None:
        """The run ``run.run_id`` on the head node, followed from where its log stops."""
        from expkit_hdinsight.execution import ClusterExecution, run_dir

        log = run.run_dir / "log.txt"
        offset = log.stat().st_size if log.exists() else 0
        return ClusterExecution(run.compute, run_dir(run.run_id), offset, reattached=True)

    # ------------------------------------------------------------------ collect

    def collect(self, run: RunContext, execution: Execution) -> Collected:
        from expkit_hdinsight.execution import ClusterExecution
        from expkit_hdinsight.settings import connect
        from expkit_hdinsight.transfer import append_metrics, download_outputs

        if not isinstance(execution, ClusterExecution):
            return Collected()
        notes: list[str] = []
        conn = connect(run.compute)
        append_metrics(conn, execution.folder, run.metrics_file)
        # The snapshot goes with it; log.txt and exit_code stay in the remote run folder.
        found = download_outputs(conn, execution.folder, run.outputs_dir, notes.append)
        return Collected(outputs=tuple(found), notes=tuple(notes))

    # ------------------------------------------------------------------ lost runs, envs

    def stop_orphan(self, compute: ComputeTarget, run_id: str, run_dir: Path) -> bool:
        from expkit_hdinsight.execution import ALIVE, kill_run
        from expkit_hdinsight.execution import run_dir as remote_dir
        from expkit_hdinsight.settings import connect

        conn = connect(compute)
        folder = remote_dir(run_id)
        if not conn.script(ALIVE, folder).ok:
            return False
        kill_run(conn, folder)
        return True

    def list_environments(self, compute: ComputeTarget) -> list[EnvironmentInfo]:
        from expkit_hdinsight import envs
        from expkit_hdinsight.settings import connect

        return envs.listing(connect(compute))

    def remove_environment(self, compute: ComputeTarget, env_id: str) -> bool:
        from expkit_hdinsight import envs
        from expkit_hdinsight.settings import connect

        return envs.remove(connect(compute), env_id)


def _spark_argv(run: RunContext, environment: PreparedEnvironment, config, env: dict[str, str]):
    from expkit.sparksubmit import (
        ShippedEnvironment,
        SparkSubmit,
        driver_environment,
        submit_command,
    )

    archive = environment.details.get("archive")
    shipped = ShippedEnvironment(archive) if archive else None
    submit = SparkSubmit(
        config.spark_submit, master=config.master, deploy_mode=config.deploy_mode,
        spark=run.spark, shipped=shipped, driver_python=environment.python,
        conf={"spark.app.name": f"expkit run {run.number} ({run.script})"},
    )  # fmt: skip
    return submit_command(submit, run.argv), driver_environment(
        env, environment.python, shipped=shipped
    )


def _spark_version(text: str) -> str | None:
    import re

    match = re.search(r"version\s+(\d+\.\d+\.\d+\S*)", text)
    return match.group(1) if match else None
