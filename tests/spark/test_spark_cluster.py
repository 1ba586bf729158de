"""The cluster target end to end: the real `exp` CLI, over SSH, against a real Spark master.

The cluster is the remote test host (a network namespace with its own sshd,
scripts/remote/) running a standalone master and worker
(scripts/spark/standalone.sh). Each test submits a real Spark application
(~30 s on two cores), so there are few, and each checks real results.
YARN cannot run here: its command lines are unit-tested (core/tests/test_sparksubmit.py).
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import time

import pytest
from spark_jobs import EXPECTED, check_wordcount, runconfig, wcutil_wheel, write_job

pytestmark = pytest.mark.slow


#: The driver runs in the namespace: it must listen on the namespace's address.
def _runconfig(cluster, framework: str = "PySpark") -> str:
    return runconfig("myhdi", framework=framework,
                     env={"SPARK_LOCAL_IP": cluster.remote.address})  # fmt: skip


def _record(project, ref: str = "1") -> dict:
    result = project.exp("runs", "show", ref, "--json")
    assert result.returncode == 0, result.output
    return json.loads(result.stdout)


def _apps(cluster) -> tuple[list[dict], list[dict]]:
    state = cluster.master_json()
    return state.get("activeapps") or [], state.get("completedapps") or []


def test_wordcount_runs_on_the_cluster_with_its_environment_on_the_executors(
    cluster_project, spark_cluster, tmp_path
):
    project = cluster_project
    write_job(project, pip=[str(wcutil_wheel(tmp_path / "wheels"))])
    project.write("aml_config/myhdi.runconfig", _runconfig(spark_cluster))

    result = project.exp("run", "-c", "myhdi", "job.py", "big", timeout=600)

    assert result.returncode == 0, result.output
    assert f"counted {sum(EXPECTED.values())} words; args ['big']" in result.stdout
    record = _record(project)
    check_wordcount(project, record)
    assert record["env_id"] and any(p.startswith("wcutil") for p in record["packages"])
    # The executors ran the shipped environment (unpacked in the worker's folder for
    # the application), not the head node's venv nor the system Python.
    pythons = re.search(r"executor pythons \[(.*)\]", result.stdout).group(1)
    assert "/environment/bin/python" in pythons and "/app-" in pythons, pythons
    # The application ran on the master, under the run's name, and finished.
    _, done = _apps(spark_cluster)
    assert any(app["name"] == "expkit wordcount" and app["state"] == "FINISHED" for app in done)

    # Warm: the environment is neither rebuilt nor packed again.
    warm = project.exp("prepare", "-c", "myhdi", "--json")
    assert warm.returncode == 0, warm.output
    assert json.loads(warm.stdout)["cached"] is True, warm.stdout


FAILING = """
import sys
from pyspark.sql import SparkSession
from expkit import log
spark = SparkSession.builder.getOrCreate()
n = spark.sparkContext.parallelize(range(10), 2).count()
log("rows", n)
with open("outputs/partial.txt", "w") as f:
    f.write("written before the failure\\n")
print("about to fail", flush=True)
spark.stop()
sys.exit(7)
"""


def test_failing_job_returns_the_drivers_exit_status_with_its_log(cluster_project, spark_cluster):
    project = cluster_project
    write_job(project, pip=[])
    project.write("fail.py", FAILING)
    project.write("aml_config/myhdi.runconfig", _runconfig(spark_cluster))

    result = project.exp("run", "-c", "myhdi", "fail.py", timeout=600)

    assert result.returncode == 7, result.output
    record = _record(project)
    assert record["status"] == "failed" and record["exit_code"] == 7
    assert record["metrics"] == {"rows": 10}
    assert record["outputs"] == ["partial.txt"]
    log = project.exp("runs", "logs", record["id"])
    assert "about to fail" in log.stdout
    assert "SparkContext" in log.stdout  # spark-submit's own lines are in the run's log


SLOW = """
import time
from pyspark.sql import SparkSession
spark = SparkSession.builder.getOrCreate()
print("job started", flush=True)
spark.sparkContext.parallelize(range(2), 2).foreach(lambda _: time.sleep(600))
print("never reached", flush=True)
"""


def _wait_for(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.5)
    pytest.fail(f"timed out waiting for {what}")


@pytest.mark.parametrize("how", ["ctrl-c", "exp runs cancel"])
def test_cancel_kills_the_application_driver_and_executors(cluster_project, spark_cluster, how):
    project = cluster_project
    write_job(project, pip=[])
    project.write("slow.py", SLOW)
    project.write("aml_config/myhdi.runconfig", _runconfig(spark_cluster))
    proc = project.popen("run", "-c", "myhdi", "slow.py")
    try:
        app = _wait_for(
            lambda: [a for a in _apps(spark_cluster)[0] if a["name"] == "expkit wordcount"],
            300, "the application on the master")[0]  # fmt: skip
        # Executors are running the tasks: the worker reports cores in use for the app.
        _wait_for(lambda: spark_cluster.master_json()["coresused"] > 0, 120, "executors")
        if how == "ctrl-c":
            proc.send_signal(signal.SIGINT)
        else:
            canceled = project.exp("runs", "cancel", "1", timeout=120)
            assert canceled.returncode == 0, canceled.output
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, out + err
    # Gone from the master: no active application, this one completed; no executor left.

    def dropped():
        active, done = _apps(spark_cluster)
        return None if active else done

    done = _wait_for(dropped, 60, "the master to drop the application")
    assert any(d["id"] == app["id"] for d in done)
    assert spark_cluster.master_json()["coresused"] == 0
    assert _record(project)["status"] == "canceled"


DROPPY = """
import time
from pyspark.sql import SparkSession
from expkit import log
spark = SparkSession.builder.getOrCreate()
print("first half", flush=True)
time.sleep(8)
n = spark.sparkContext.parallelize(range(100), 2).map(lambda x: x * 2).sum()
log("sum", n)
print("second half", n, flush=True)
spark.stop()
"""


def _exp_ssh_ports(pid: int, address: str) -> list[int]:
    out = subprocess.run(["ss", "-tnpH", f"( dst {address} and dport = :22 )"],
                         capture_output=True, text=True, check=True).stdout  # fmt: skip
    ports = []
    for line in out.splitlines():
        if f"pid={pid}," in line:
            ports.append(int(line.split()[3].rsplit(":", 1)[1]))
    return ports


def _start_droppy(project, cluster):
    """`exp run` of DROPPY, started and past its first half (the application is running)."""
    write_job(project, pip=[])
    project.write("droppy.py", DROPPY)
    project.write("aml_config/myhdi.runconfig", _runconfig(cluster))
    proc = project.popen("run", "-c", "myhdi", "droppy.py")
    for line in proc.stdout:
        if "first half" in line:
            return proc
    proc.kill()
    pytest.fail("the run ended before its first half: " + proc.communicate()[1])


def _check_droppy_collected(project) -> None:
    record = _record(project)
    assert record["status"] == "completed" and record["exit_code"] == 0
    assert record["metrics"] == {"sum": 9900}
    # Nothing shown twice: the log continues from the byte it had reached.
    log = project.exp("runs", "logs", "1").stdout
    assert log.count("first half") == 1 and log.count("second half") == 1


def test_dropped_connection_is_reattached_and_the_run_goes_on(cluster_project, spark_cluster):
    import remotehost

    project = cluster_project
    proc = _start_droppy(project, spark_cluster)
    try:
        ports = _exp_ssh_ports(proc.pid, spark_cluster.remote.address)
        assert ports, "exp holds no SSH connection to the head node"
        for port in ports:
            try:
                remotehost.kill_session(spark_cluster.remote, port)
            except ProcessLookupError:
                pass  # the session's parent went with its killed child: cut all the same
        out, err = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, out + err
    assert "reconnected" in err
    assert "second half 9900" in out
    _check_droppy_collected(project)


def test_exp_killed_then_runs_logs_follow_reattaches_and_collects(cluster_project, spark_cluster):
    project = cluster_project
    proc = _start_droppy(project, spark_cluster)
    try:
        proc.kill()  # the terminal closed: nothing of exp is left to follow the run
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    listed = project.exp("runs", "list")
    assert listed.returncode == 0, listed.output
    assert _record(project)["status"] == "running"  # detached, not lost: it goes on

    follow = project.exp("runs", "logs", "-f", "1", timeout=300)

    assert follow.returncode == 0, follow.output
    assert "second half 9900" in follow.stdout
    _check_droppy_collected(project)
