"""Hook implementations for the ``cluster`` target type (alias ``hdinsight``).

A placeholder that is honest about it: ``exp target attach`` is fully
validated and writes the files Workbench wrote for an HDInsight cluster,
``exp plugins`` shows the type as "not available yet", and every attempt to
run on it fails with TargetNotAvailableError naming what to use instead.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NoReturn

from expkit.errors import ConfigError, TargetNotAvailableError
from expkit.hookspecs import hookimpl
from expkit.model import AttachResult, TargetType

if TYPE_CHECKING:
    from expkit.model import (
        AttachRequest,
        Collected,
        ComputeTarget,
        EnvironmentInfo,
        Execution,
        PreparedEnvironment,
        PrepareRequest,
        RunContext,
    )

DEFAULT_SPARK_SUBMIT = "spark-submit"
HDINSIGHT_DOMAIN = ".azurehdinsight.net"

TARGET_TYPE = TargetType(
    name="cluster",
    package="expkit-hdinsight",
    description="spark-submit on a Spark cluster over SSH (placeholder: not available yet).",
    aliases=("hdinsight",),
    compute_keys=frozenset(
        {"address", "port", "username", "keyFile", "sparkSubmitLocation", "userManagedEnvironment"}
    ),  # fmt: skip
    available=False,
)


def _mine(type_name: str) -> bool:
    return type_name == TARGET_TYPE.name or type_name in TARGET_TYPE.aliases


def _not_available(compute: ComputeTarget) -> NoReturn:
    raise TargetNotAvailableError(
        f"target {compute.name!r} (type cluster, {TARGET_TYPE.package}) is not available yet: "
        "this version validates its configuration but cannot submit to a Spark cluster.\n"
        "  Instead: run the PySpark script with `-c local` (Framework: PySpark, spark-submit "
        "from `pip install pyspark`), or with `-c docker` in an environment that provides "
        "pyspark."
    )


@hookimpl
def expkit_target_types() -> list[TargetType]:
    return [TARGET_TYPE]


@hookimpl
def expkit_attach(request: AttachRequest) -> AttachResult | None:
    if not _mine(request.type):
        return None
    from expkit.sshconfig import ssh_options

    if request.base_image:
        raise ConfigError(
            "--base-image does not apply to a cluster target",
            key="--base-image",
            hint="a cluster runs spark-submit on its head node; its packages come from "
            "conda_dependencies.yml and spark_dependencies.yml.",
        )
    ssh = ssh_options(
        address=request.address,
        username=request.username,
        port=request.port,
        key_file=request.key_file,
        project=request.project,
        what="a cluster target",
    )
    host = ssh.host.lower().rstrip(".")
    if host.endswith(HDINSIGHT_DOMAIN) and not host.split(".")[0].endswith("-ssh"):
        name = host.split(".")[0]
        raise ConfigError(
            f"{ssh.host!r} is the cluster's web endpoint, not its SSH endpoint",
            key="--address",
            hint=f"an HDInsight cluster's SSH endpoint has the -ssh suffix: "
            f"--address {name}-ssh{HDINSIGHT_DOMAIN}",
        )
    compute: dict[str, object] = {
        "type": TARGET_TYPE.name,
        "address": ssh.address,
        "port": ssh.port,
        "username": ssh.username,
    }
    if ssh.key_file:
        compute["keyFile"] = ssh.key_file
    compute["sparkSubmitLocation"] = DEFAULT_SPARK_SUBMIT
    return AttachResult(compute=compute, runconfig=_runconfig(request))


def _runconfig(request: AttachRequest) -> dict[str, object]:
    """A Workbench-style PySpark run configuration; dependency files only when
    they exist, since a run configuration naming a missing file does not load."""
    aml_config = request.project / "aml_config"
    files = {
        key: f"aml_config/{filename}"
        for key, filename in (
            ("CondaDependenciesFile", "conda_dependencies.yml"),
            ("SparkDependenciesFile", "spark_dependencies.yml"),
        )
        if (aml_config / filename).is_file()
    }
    return {
        "ArgumentVector": ["$file"],
        "Target": request.name,
        "Framework": "PySpark",
        "EnvironmentVariables": {},
        **files,
        "PrepareEnvironment": True,
        "TrackedRun": True,
    }


@hookimpl
def expkit_prepare(request: PrepareRequest) -> PreparedEnvironment | None:
    if not _mine(request.compute.type):
        return None
    _not_available(request.compute)


@hookimpl
def expkit_submit(run: RunContext, environment: PreparedEnvironment) -> Execution | None:
    if not _mine(run.compute.type):
        return None
    _not_available(run.compute)


@hookimpl
def expkit_collect(run: RunContext, execution: Execution) -> Collected | None:
    if not _mine(run.compute.type):
        return None
    _not_available(run.compute)


@hookimpl
def expkit_list_environments(compute: ComputeTarget) -> list[EnvironmentInfo] | None:
    # True, not a fake: nothing was ever built for this type, so nothing to list.
    return [] if _mine(compute.type) else None


@hookimpl
def expkit_remove_environment(compute: ComputeTarget, env_id: str) -> bool | None:
    return False if _mine(compute.type) else None
