"""Cluster-target case (issue 11): `exp run -c myhdi` against a bare `ssh head spark-submit`.

Needs the remote test host and its Spark master (``make engines``: scripts/remote/up.sh,
scripts/spark/up.sh); without them the case is skipped. Both commands submit the
same small PySpark script to the same standalone master, with the same
interpreter (the environment expkit built on the head node, prepared before the
rounds): what is left is expkit's own overhead on a warm run — snapshot upload,
detached start, log following, collection — with no environment packing or
upload. Each round is a real Spark application (~15-30 s on 2 cores): run this
case with ``--repeat 3``. ``cluster-python-run`` measures the same path without
Spark (``Framework: Python`` on the same target), where the noise of a Spark
application on a shared machine does not drown expkit's own cost.
"""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from pathlib import Path

from benchlib import REPO, Case, Command, Skip, Target, Workspace, clean_env, exp_executable

JOB = """\
from pyspark.sql import SparkSession
spark = SparkSession.builder.getOrCreate()
print("rows", spark.sparkContext.parallelize(range(1000), 2).count())
spark.stop()
"""


def _setup(root: Path) -> Workspace:
    sys.path.insert(0, str(REPO / "tests" / "remote"))
    import remotehost

    try:
        remote = remotehost.host()
    except BaseException as exc:  # pytest's skip/fail outcomes when the host is down
        raise Skip(f"the remote test host is not up: {exc}") from None
    status = subprocess.run([str(REPO / "scripts" / "spark" / "up.sh")], capture_output=True,
                            text=True, timeout=300)  # fmt: skip
    if status.returncode != 0:
        raise Skip(f"no Spark master in the remote test host: {status.stderr[-500:]}")
    master = status.stdout.strip().splitlines()[-1]
    import pyspark

    spark_submit = str(Path(pyspark.__file__).parent / "bin" / "spark-submit")
    home = remotehost.make_home(root / "home", remote)
    project = root / "project"
    aml = project / "aml_config"
    aml.mkdir(parents=True)
    (project / "job.py").write_text(JOB)
    (aml / "conda_dependencies.yml").write_text("dependencies:\n  - python=3.11\n  - pip: []\n")
    compute = {
        "type": "cluster", "address": remote.address, "port": remote.port,
        "username": remote.user, "keyFile": str(home / ".ssh" / "id_ed25519"),
        "master": master, "deployMode": "client", "sparkSubmitLocation": spark_submit,
    }  # fmt: skip
    (aml / "myhdi.compute").write_text(
        "".join(f"{k}: {json.dumps(v)}\n" for k, v in compute.items())
    )
    (aml / "myhdi.runconfig").write_text(
        'ArgumentVector: ["$file"]\nTarget: "myhdi"\nFramework: "PySpark"\n'
        'CondaDependenciesFile: "aml_config/conda_dependencies.yml"\n'
        f'EnvironmentVariables:\n  SPARK_LOCAL_IP: "{remote.address}"\n'
    )
    ws = Workspace(root=root, cwd=project, env=clean_env(root, {"HOME": str(home)}),
                   data={"exp": exp_executable()})  # fmt: skip
    prepared = subprocess.run([ws.data["exp"], "prepare", "-c", "myhdi", "--json"], cwd=project,
                              env=ws.env, capture_output=True, text=True)  # fmt: skip
    if prepared.returncode != 0:
        raise RuntimeError(f"exp prepare failed:\n{prepared.stdout}{prepared.stderr}")
    env = json.loads(prepared.stdout)
    python, archive = env["python"], env["details"]["archive"]
    ssh = ["ssh", "-F", str(remote.state / "client" / "ssh_config"), "-o", "BatchMode=yes",
           "expkit-remote"]  # fmt: skip
    subprocess.run([*ssh, "mkdir -p bench-spark && cat > bench-spark/job.py"], input=JOB,
                   text=True, check=True, timeout=60)  # fmt: skip
    # The submit expkit makes, by hand: same master, same driver interpreter, the same
    # packed environment shipped to the executors, same script.
    bare = (
        f"cd bench-spark && SPARK_LOCAL_IP={remote.address} {shlex.quote(spark_submit)} "
        f"--master {master} --archives {archive}#environment "
        "--conf spark.pyspark.python=./environment/bin/python "
        f"--conf spark.pyspark.driver.python={python} job.py"
    )
    ws.data["bare"] = [*ssh, bare]
    # Without Spark (Framework: Python, same target): expkit's own cost, minus Spark's noise.
    (aml / "myhdi-py.runconfig").write_text(
        'ArgumentVector: ["$file"]\nTarget: "myhdi"\nFramework: "Python"\n'
        'CondaDependenciesFile: "aml_config/conda_dependencies.yml"\n'
    )
    (project / "trivial.py").write_text('print("trivial")\n')
    subprocess.run([*ssh, "cat > bench-spark/trivial.py"], input='print("trivial")\n', text=True,
                   check=True, timeout=60)  # fmt: skip
    ws.data["bare_python"] = [*ssh, f"cd bench-spark && {python} trivial.py"]
    return ws


CASES = [
    Case(
        name="cluster-run",
        description="`exp run -c myhdi job.py` (warm) vs `ssh head spark-submit job.py`",
        setup=_setup,
        commands=[
            Command("ssh head spark-submit job.py", lambda ws: ws.data["bare"]),
            Command(
                "exp run -c myhdi job.py (warm)",
                lambda ws: [ws.data["exp"], "run", "-c", "myhdi", "job.py"],
            ),
        ],
        target=Target(max_overhead_s=2.0),
    ),
    Case(
        name="cluster-python-run",
        description="`exp run -c myhdi-py trivial.py` (Framework: Python, warm) "
        "vs `ssh head python trivial.py`",
        setup=_setup,
        commands=[
            Command("ssh head python trivial.py", lambda ws: ws.data["bare_python"]),
            Command(
                "exp run -c myhdi-py trivial.py (warm)",
                lambda ws: [ws.data["exp"], "run", "-c", "myhdi-py", "trivial.py"],
            ),
        ],
        target=Target(max_overhead_s=2.0),
    ),
]
