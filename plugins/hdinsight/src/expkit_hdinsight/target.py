"""The ``cluster`` target type (alias ``hdinsight``): spark-submit on a Spark cluster over SSH.

A placeholder that is honest about it (expkit.target.PlaceholderTarget):
``exp target attach`` is fully validated and writes the files Workbench
wrote for an HDInsight cluster, ``exp plugins`` shows the type as "not
available yet", and every attempt to run on it fails with
TargetNotAvailableError naming what to use instead.
"""

from __future__ import annotations

from typing import Any

from expkit.errors import ConfigError
from expkit.model import AttachRequest, TargetType
from expkit.target import PlaceholderTarget

DEFAULT_SPARK_SUBMIT = "spark-submit"
HDINSIGHT_DOMAIN = ".azurehdinsight.net"


class ClusterTarget(PlaceholderTarget):
    """Validates and attaches a Spark cluster's head node; cannot submit to it yet."""

    framework = "PySpark"
    target_type = TargetType(
        name="cluster", package="expkit-hdinsight", aliases=("hdinsight",), available=False,
        description="spark-submit on a Spark cluster over SSH (placeholder: not available yet).",
        compute_keys=frozenset({"address", "port", "username", "keyFile", "sparkSubmitLocation",
                                "userManagedEnvironment"}),
    )  # fmt: skip
    cannot = "submit to a Spark cluster"
    instead = (
        "run the PySpark script with `-c local` (Framework: PySpark, spark-submit from "
        "`pip install pyspark`), or with `-c docker` in an environment that provides pyspark."
    )

    def attach_files(self, request: AttachRequest) -> dict[str, Any]:
        from expkit.sshconfig import attach_ssh_options

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
        return {**ssh.compute_entries(), "sparkSubmitLocation": DEFAULT_SPARK_SUBMIT}
