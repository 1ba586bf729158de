"""The ``spark-submit`` command line of a ``Framework: PySpark`` run, for every target.

One module owns it so the local target (local mode on this machine), the
docker target (local mode in the container) and the cluster target (YARN or
a standalone master, over SSH) all turn ``spark_dependencies.yml`` into the
same arguments. Order of precedence, lowest first: the target's defaults
(``--master``, ``--deploy-mode``), then the run's ``spark_dependencies.yml``
(``spark.master``/``spark.submit.deployMode`` in its ``configuration`` win
over the target's defaults, as they would on a plain ``spark-submit``), then
what the target must set for the run to work at all (the packed Python
environment for the executors).

Standard library only: imported by ``exp run`` for every PySpark run.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from expkit.model import SparkSpec, frozen_map

LOCAL_MASTER = "local[*]"
DEPLOY_MODES = ("client", "cluster")
#: Where ``--archives ENV#ALIAS`` unpacks the Python environment in each container/executor.
ENV_ALIAS = "environment"


@dataclass(frozen=True)
class ShippedEnvironment:
    """A packed Python environment sent to the executors with ``--archives``.

    ``archive`` is a path or URI spark-submit can read (on the machine it
    runs on); ``python`` the interpreter inside the unpacked archive,
    relative to it (``bin/python``).
    """

    archive: str
    python: str = "bin/python"

    @property
    def executor_python(self) -> str:
        return f"./{ENV_ALIAS}/{self.python}"


@dataclass(frozen=True)
class SparkSubmit:
    """Everything that decides a spark-submit command line (see :func:`submit_command`)."""

    spark_submit: str
    #: The target's default master: ``local[*]``, ``yarn``, ``spark://host:7077``.
    master: str = LOCAL_MASTER
    deploy_mode: str | None = None
    spark: SparkSpec | None = None
    shipped: ShippedEnvironment | None = None
    #: The driver's interpreter in client mode (where spark-submit runs).
    driver_python: str | None = None
    #: Extra ``--conf`` the target needs (an application name, a tag), below the user's.
    conf: Mapping[str, str] = field(default_factory=frozen_map)


def effective_master(submit: SparkSubmit) -> str:
    """The master the application will really use (the user's configuration wins)."""
    configured = submit.spark.configuration if submit.spark is not None else {}
    return configured.get("spark.master") or submit.master


def effective_deploy_mode(submit: SparkSubmit) -> str:
    configured = submit.spark.configuration if submit.spark is not None else {}
    return configured.get("spark.submit.deployMode") or submit.deploy_mode or "client"


def submit_command(submit: SparkSubmit, argv: Sequence[str]) -> list[str]:
    """``spark-submit [--master M] [--deploy-mode D] <conf, repositories, packages> script args``.

    ``argv`` is the run's argv (the script, then its arguments). Every value
    is one list element: a ``--conf`` value with spaces or ``=`` is never split.
    """
    spark = submit.spark or SparkSpec()
    configured = spark.configuration
    cmd = [submit.spark_submit]
    if "spark.master" not in configured:
        cmd += ["--master", submit.master]
    if submit.deploy_mode and "spark.submit.deployMode" not in configured:
        cmd += ["--deploy-mode", submit.deploy_mode]
    for key in sorted(submit.conf):
        if key not in configured:
            cmd += ["--conf", f"{key}={submit.conf[key]}"]
    cmd += spark.submit_args()
    if submit.shipped is not None:
        cmd += _shipped_args(submit, configured)
    return [*cmd, *argv]


def _shipped_args(submit: SparkSubmit, configured: Mapping[str, str]) -> list[str]:
    shipped = submit.shipped
    assert shipped is not None
    archives = [f"{shipped.archive}#{ENV_ALIAS}"]
    if configured.get("spark.archives"):
        archives.append(configured["spark.archives"])
    args = ["--archives", ",".join(archives)]
    python = shipped.executor_python
    # Executors start their Python workers with spark.pyspark.python, which
    # also wins over PYSPARK_DRIVER_PYTHON for the driver: in client mode the
    # driver runs here, with its own interpreter; in cluster mode it runs in a
    # container next to the executors and uses the archive too.
    wanted = {"spark.pyspark.python": python, "spark.executorEnv.PYSPARK_PYTHON": python}
    if effective_deploy_mode(submit) == "cluster":
        wanted["spark.pyspark.driver.python"] = python
        if effective_master(submit) == "yarn":
            wanted["spark.yarn.appMasterEnv.PYSPARK_PYTHON"] = python
    elif submit.driver_python:
        wanted["spark.pyspark.driver.python"] = submit.driver_python
    for key in sorted(wanted):
        if key not in configured:
            args += ["--conf", f"{key}={wanted[key]}"]
    return args


def driver_environment(
    env: Mapping[str, str], python: str, *, shipped: ShippedEnvironment | None = None
) -> dict[str, str]:
    """Variables for spark-submit: the driver (client mode) runs ``python``.

    Without a shipped environment the executors run the same interpreter
    (local mode, or one machine); with one they run the archive's. A value
    the user set in ``EnvironmentVariables`` is kept.
    """
    out = dict(env)
    out.setdefault("PYSPARK_DRIVER_PYTHON", python)
    out.setdefault("PYSPARK_PYTHON", shipped.executor_python if shipped else python)
    return out


__all__ = [
    "DEPLOY_MODES",
    "ENV_ALIAS",
    "LOCAL_MASTER",
    "ShippedEnvironment",
    "SparkSubmit",
    "driver_environment",
    "effective_deploy_mode",
    "effective_master",
    "submit_command",
]
