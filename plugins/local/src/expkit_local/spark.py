"""``Framework: PySpark`` on the local target: which spark-submit runs the script.

The command line itself is expkit.sparksubmit's, shared with every target.
"""

from __future__ import annotations

import os
import shutil

from expkit.errors import ConfigError
from expkit.model import ComputeTarget

DEFAULT_SPARK_SUBMIT = "spark-submit"


def find_spark_submit(compute: ComputeTarget, env_bin: str | None = None) -> str:
    """Resolve ``sparkSubmitLocation`` (default: the managed environment's own
    spark-submit when it has pyspark, else ``spark-submit`` on PATH)."""
    wanted = compute.spark_submit_location or DEFAULT_SPARK_SUBMIT
    path = None
    if compute.spark_submit_location is None and env_bin is not None:
        path = env_bin + os.pathsep + os.environ.get("PATH", os.defpath)
    found = shutil.which(os.path.expanduser(wanted), path=path)
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
