"""``Framework: PySpark`` in a container: Java and pyspark in the system layer.

spark-submit needs a Java runtime and the pyspark package (which ships
Spark itself). Both are big and change rarely, so they go into the system
layer, under the pip layer: editing the ``pip:`` list rebuilds only the pip
layer and never reinstalls Spark or Java.

- Java: kept when the base image has ``java`` on PATH; otherwise installed
  with the image's ``apt-get`` (``openjdk-17-jre-headless``, Spark 4's
  minimum, else Debian's ``default-jre-headless``). The downloaded packages
  stay in the build cache volume, so a second environment downloads nothing.
- pyspark: the ``pip:`` entry naming pyspark when there is one (a pin such
  as ``pyspark==3.5.1``, or a local wheel ``./wheels/pyspark-...whl``), else
  the newest ``pyspark``. The installed version is in the run record's
  package list either way.

Both facts are part of the system layer's hashed input
(``system_extra``), so a PySpark environment never shares an id with the
Python environment of the same file.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from expkit.model import EnvironmentSpec

from expkit_docker.buildprotocol import ERROR, EXIT_NO_JAVA
from expkit_docker.names import ENV_PYTHON

DEFAULT_PYSPARK = "pyspark"
JAVA_PACKAGES = ("openjdk-17-jre-headless", "default-jre-headless")

_REQUIREMENT = re.compile(r"^pyspark(\[[^\]]*\])?\s*([<>=!~;@ ]|$)", re.IGNORECASE)
_FILE = re.compile(r"(^|/)pyspark-[0-9][^/]*\.(whl|tar\.gz|zip)$", re.IGNORECASE)


@dataclass(frozen=True)
class SparkSystem:
    """What a PySpark environment adds to its system layer."""

    #: The pip entry that installs pyspark, as the spec writes it.
    pyspark: str = DEFAULT_PYSPARK
    #: Key of ``EnvironmentSpec.local_files`` when ``pyspark`` is a local file.
    local_key: str | None = None
    #: Its sha256 (from the spec), so a rebuilt wheel makes a new layer.
    local_sha256: str | None = None

    def hash_input(self) -> dict[str, Any]:
        return {
            "framework": "PySpark",
            "java": list(JAVA_PACKAGES),
            "pyspark": self.pyspark,
            "pyspark_sha256": self.local_sha256,
        }


def is_pyspark_entry(entry: str) -> bool:
    return bool(_REQUIREMENT.match(entry) or _FILE.search(entry))


def spark_system(framework: str, spec: EnvironmentSpec | None) -> SparkSystem | None:
    """The system-layer additions of a ``framework`` run of ``spec`` (None for Python)."""
    if framework != "PySpark":
        return None
    spec = spec or EnvironmentSpec()
    for entry in spec.pip:
        if not is_pyspark_entry(entry):
            continue
        key = entry[2:] if entry.startswith("./") else entry
        if key in spec.local_files:
            return SparkSystem(entry, local_key=key, local_sha256=spec.local_files[key])
        return SparkSystem(entry)
    return SparkSystem()


def system_extra(spark: SparkSystem | None) -> dict[str, Any] | None:
    return spark.hash_input() if spark is not None else None


def pip_entries(spec: EnvironmentSpec, spark: SparkSystem | None) -> tuple[str, ...]:
    """The pip layer's entries: pyspark is already in the system layer."""
    if spark is None:
        return spec.pip
    return tuple(entry for entry in spec.pip if entry != spark.pyspark)


def script(
    spark: SparkSystem, project: Path, build_dir: str, cache: str
) -> tuple[str, list[tuple[str, bytes, int]]]:
    """The system layer's shell steps for Java and pyspark, and the files they need."""
    files: list[tuple[str, bytes, int]] = []
    requirement = spark.pyspark
    if spark.local_key is not None:
        path = Path(spark.local_key)
        path = path if path.is_absolute() else Path(project) / path
        files.append((f"spark/{path.name}", path.read_bytes(), 0o644))
        requirement = f"{build_dir}/spark/{path.name}"
    candidates = " ".join(JAVA_PACKAGES)
    text = f"""\
step "Java for Spark: keep the image's java, or install it with apt-get"
if command -v java >/dev/null 2>&1; then
  echo "java found: $(command -v java)"
elif command -v apt-get >/dev/null 2>&1; then
  mkdir -p {cache}/apt/partial
  APT="apt-get -q -o Dir::Cache::Archives={cache}/apt -o APT::Sandbox::User=root"
  $APT update
  JAVA=""
  for p in {candidates}; do
    if apt-cache show "$p" >/dev/null 2>&1; then JAVA=$p; break; fi
  done
  if [ -z "$JAVA" ]; then
    echo "{ERROR}apt-get knows none of: {candidates}"; exit {EXIT_NO_JAVA}
  fi
  step "install $JAVA (apt-get)"
  DEBIAN_FRONTEND=noninteractive $APT install -y --no-install-recommends "$JAVA"
  rm -rf /var/lib/apt/lists/*
else
  echo "{ERROR}the image has no java and no apt-get to install it"; exit {EXIT_NO_JAVA}
fi
java -version 2>&1 | head -n 1
step {shlex.quote("install pyspark (Spark itself): " + spark.pyspark)}
{ENV_PYTHON} -m pip install {shlex.quote(requirement)}
"""
    return text, files
