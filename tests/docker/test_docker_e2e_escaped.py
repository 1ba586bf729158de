"""A child that left the script's session inside a container does not keep the run open:
the container (and everything in it) ends with the script, its init."""

from __future__ import annotations

import time

import pytest
from docker_e2e import containers_with_label, kill_exp_mid_run, record

pytestmark = pytest.mark.docker

ESCAPING = """
import subprocess
subprocess.Popen(["sleep", "300"], start_new_session=True)  # keeps the run's stdout
print("script done", flush=True)
"""


def test_escaped_child_holding_stdout_does_not_keep_the_run_open(docker_project):
    docker_project.write("escape.py", ESCAPING)
    started = time.monotonic()
    result = docker_project.exp("run", "-c", "docker", "escape.py", timeout=120)
    took = time.monotonic() - started
    assert result.returncode == 0, result.output
    assert "script done" in result.stdout
    rec = record(docker_project)
    assert rec["status"] == "completed"
    assert took < 60, f"exp run took {took:.0f} s"
    assert containers_with_label(f"expkit.run={rec['id']}") == []


WRITES_THEN_WAITS = """
import os, time
from expkit import log
os.makedirs("outputs", exist_ok=True)
with open("outputs/partial.txt", "w") as f:
    f.write("written before exp died")
log("step", 1)
print("started", flush=True)
time.sleep(300)
"""


def test_next_exp_run_collects_what_a_lost_docker_run_wrote(docker_project):
    docker_project.write("ok.py", "print('fine')\n")
    run_dir = kill_exp_mid_run(docker_project, "wait.py", WRITES_THEN_WAITS)
    assert containers_with_label(f"expkit.run={run_dir.name}")

    result = docker_project.exp("run", "-c", "docker", "ok.py", timeout=300)
    assert result.returncode == 0, result.output
    assert "run 1 was lost" in result.stderr
    assert containers_with_label(f"expkit.run={run_dir.name}") == []
    lost = record(docker_project, "1")
    assert lost["status"] == "failed" and lost["error"] == "lost"
    assert lost["outputs"] == ["partial.txt"]
    assert lost["metrics"] == {"step": 1}
    assert (run_dir / "outputs" / "partial.txt").read_text() == "written before exp died"
