"""`Framework: PySpark` on the docker target, end to end through the real `exp` CLI.

The base image has no Java, so Spark itself cannot run here. What is tested
is the wiring around it: the environment provides a package really named
``pyspark`` (a tiny wheel built by the test, version ``0.0.0+expkit.test``)
whose ``spark-submit`` console script records the argv it was given under
``outputs/`` and then runs the submitted script with its own interpreter, as
spark-submit does for a Python application. So the run shows the exact
command the container starts, and the script's output, outputs and metrics
still flow back as in any run.
"""

from __future__ import annotations

import json

import pytest
from docker_e2e import conda_file, record
from docker_helpers import build_wheel
from expkit.config import load_spark_file
from expkit_docker.names import ENV_PREFIX, ENV_PYTHON

pytestmark = pytest.mark.docker

STUB_VERSION = "0.0.0+expkit.test"
ARGV_FILE = "spark-submit-argv.jsonl"

#: The stand-in ``pyspark`` package: its ``main`` is the ``spark-submit`` command.
STUB_PYSPARK = f'''
"""Test stand-in for pyspark: spark-submit records its argv, then runs the application."""
import json
import os
import sys

__version__ = {STUB_VERSION!r}


def main():
    os.makedirs("outputs", exist_ok=True)
    with open(os.path.join("outputs", {ARGV_FILE!r}), "a", encoding="utf-8") as out:
        out.write(json.dumps(sys.argv) + "\\n")
    args = sys.argv[1:]
    # Every spark-submit option the target passes takes a value: skip pairs up
    # to the first positional argument, the application; the rest are its args.
    i = 0
    while i < len(args) and args[i].startswith("--"):
        i += 2
    if i >= len(args):
        sys.exit("spark-submit (test stand-in): no application to run")
    sys.stdout.flush()
    os.execv(sys.executable, [sys.executable, args[i], *args[i + 1 :]])
'''

SPARK_RUNCONFIG = """
ArgumentVector: ["$file"]
Target: "docker"
Framework: "PySpark"
CondaDependenciesFile: "aml_config/conda_dependencies.yml"
SparkDependenciesFile: "aml_config/spark_dependencies.yml"
PrepareEnvironment: true
TrackedRun: true
"""

# Configuration keys out of order (the command sorts them), a value with
# spaces and "=" (one argv element, never split), two repositories and two
# packages (comma-joined). The repositories are never contacted.
SPARK_DEPENDENCIES = """
configuration:
  "spark.ui.enabled": "false"
  "spark.app.name": "expkit e2e"
  "spark.driver.extraJavaOptions": "-Dexpkit.a=1 -Dexpkit.b=two words"
repositories:
  - "file:///opt/maven-local"
  - "http://127.0.0.1:8081/repository/maven-public"
packages:
  - group: "com.microsoft.ml.spark"
    artifact: "mmlspark_2.11"
    version: "0.9.9"
  - group: "org.example"
    artifact: "tiny_2.12"
    version: "0.10"
"""

#: What ``SparkSpec.submit_args()`` makes of SPARK_DEPENDENCIES, written out by hand.
SUBMIT_ARGS = [
    "--conf", "spark.app.name=expkit e2e",
    "--conf", "spark.driver.extraJavaOptions=-Dexpkit.a=1 -Dexpkit.b=two words",
    "--conf", "spark.ui.enabled=false",
    "--repositories", "file:///opt/maven-local,http://127.0.0.1:8081/repository/maven-public",
    "--packages", "com.microsoft.ml.spark:mmlspark_2.11:0.9.9,org.example:tiny_2.12:0.10",
]  # fmt: skip

JOB = """
import os, sys
import pyspark
from expkit import log
print("job", sys.argv[1:], "on", sys.executable, flush=True)
print("pyspark", pyspark.__version__, "PYSPARK_PYTHON", os.environ["PYSPARK_PYTHON"], flush=True)
with open("outputs/job.txt", "w") as f:
    f.write("from the job\\n")
log("rows", 3)
log("rows", 42)
"""


def test_pyspark_run_submits_the_script_through_the_environments_spark_submit(docker_project):
    wheel = build_wheel(
        docker_project.root / "wheels",
        "pyspark",
        STUB_VERSION,
        STUB_PYSPARK,
        console_scripts={"spark-submit": "pyspark:main"},
    )
    docker_project.write(
        "aml_config/conda_dependencies.yml", conda_file(pip=[f"./wheels/{wheel.name}"])
    )
    docker_project.write("aml_config/docker.runconfig", SPARK_RUNCONFIG)
    spark_file = docker_project.write("aml_config/spark_dependencies.yml", SPARK_DEPENDENCIES)
    docker_project.write("job.py", JOB)
    # The hand-written expectation is what expkit's parser makes of the file.
    assert load_spark_file(spark_file).submit_args() == SUBMIT_ARGS

    result = docker_project.exp("run", "-c", "docker", "job.py", "a1")

    assert result.returncode == 0, result.output
    # The script ran (through the stand-in) and its output streamed back.
    assert f"job ['a1'] on {ENV_PYTHON}" in result.stdout
    assert f"pyspark {STUB_VERSION} PYSPARK_PYTHON {ENV_PYTHON}" in result.stdout
    rec = record(docker_project)
    assert rec["status"] == "completed" and rec["exit_code"] == 0
    assert rec["env_id"]
    # The environment provides pyspark: the installed package itself, not a switch.
    assert any(p.split("==")[0].split(" ")[0] == "pyspark" for p in rec["packages"])
    assert sorted(rec["outputs"]) == sorted([ARGV_FILE, "job.txt"])
    assert rec["metrics"] == {"rows": 42}
    assert rec["series"] == {"rows": [3, 42]}

    outputs = docker_project.root / ".exp" / "runs" / rec["id"] / "outputs"
    assert (outputs / "job.txt").read_text() == "from the job\n"
    calls = [json.loads(line) for line in (outputs / ARGV_FILE).read_text().splitlines()]
    # spark-submit ran once, as the environment's own command, with exactly this argv.
    assert calls == [
        [f"{ENV_PREFIX}/bin/spark-submit", "--master", "local[*]", *SUBMIT_ARGS, "job.py", "a1"]
    ]
