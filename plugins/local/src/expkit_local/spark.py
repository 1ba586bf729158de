"""``Framework: PySpark`` on the local target: spark-submit in local mode."""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping, Sequence

from expkit.errors import ConfigError
from expkit.model import ComputeTarget, SparkSpec

DEFAULT_SPARK_SUBMIT = "spark-submit"
LOCAL_MASTER = "local[*]"


def find_spark_submit(compute: ComputeTarget) -> str:
    """Resolve ``sparkSubmitLocation`` (default ``spark-submit`` on PATH)."""
    wanted = compute.spark_submit_location or DEFAULT_SPARK_SUBMIT
    found = shutil.which(os.path.expanduser(wanted))
    if found is None:
        origin = "the default" if compute.spark_submit_location is None else "set"
        raise ConfigError(
            f"spark-submit {wanted!r} ({origin}) was not found or is not executable; "
            "Framework: PySpark runs the script with spark-submit",
            file=compute.source,
            key="sparkSubmitLocation",
            hint="install Spark into the interpreter's environment (`pip install pyspark` "
            "ships spark-submit and Spark itself; Java 17 is needed), or set "
            "sparkSubmitLocation in this .compute file to your spark-submit.",
        )
    return os.path.abspath(found)


def submit_command(spark_submit: str, spark: SparkSpec | None, argv: Sequence[str]) -> list[str]:
    """``spark-submit --master local[*] <spark_dependencies args> script args...``.

    A ``spark.master`` set in spark_dependencies.yml's configuration wins over
    the local default.
    """
    args = spark.submit_args() if spark is not None else []
    master = (
        []
        if spark is not None and "spark.master" in spark.configuration
        else ["--master", LOCAL_MASTER]
    )
    return [spark_submit, *master, *args, *argv]


def spark_environment(env: Mapping[str, str], python: str) -> dict[str, str]:
    """Driver and executors use the run's interpreter unless the user chose one."""
    out = dict(env)
    out.setdefault("PYSPARK_PYTHON", python)
    out.setdefault("PYSPARK_DRIVER_PYTHON", python)
    return out
