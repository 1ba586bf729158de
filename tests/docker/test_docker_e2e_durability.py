"""Docker runs that meet issue 8's durability cases: a child that left the script's
session (the container, and everything in it, ends with the script, its init); a
lost run's outputs collected; collecting on a full disk."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest
from docker_e2e import containers_with_label, kill_exp_mid_run, record

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/: smalldisk
from smalldisk import mounted_small_disk, nearly_fill  # noqa: E402

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


BIG_OUTPUT = """
import os, sys
os.makedirs("outputs", exist_ok=True)
with open("outputs/big.bin", "wb") as f:
    f.write(os.urandom(3 * 1024 * 1024))
print("wrote outputs", flush=True)
sys.exit(5)
"""


def test_collecting_on_a_full_disk_exits_3_and_lists_no_cut_file(docker_project, tmp_path):
    """The history on a 4 MiB tmpfs with 1 MiB free: the 3 MiB output cannot fit."""
    with mounted_small_disk(tmp_path / "disk") as disk:
        Project = type(docker_project)  # noqa: N806 - a class
        project = Project(root=disk / "proj", env=docker_project.env)
        for name in ("docker.compute", "docker.runconfig", "conda_dependencies.yml"):
            text = (docker_project.root / "aml_config" / name).read_text()
            project.write(f"aml_config/{name}", text)
        project.write("big.py", BIG_OUTPUT)
        nearly_fill(disk, leave=1024 * 1024)
        result = project.exp("run", "-c", "docker", "big.py", timeout=600)
        assert result.returncode == 3, result.output
        assert "full" in result.stderr and "exit code 5" in result.stderr
        rec = record(project)
        assert rec["status"] == "failed" and rec["exit_code"] == 5
        assert "collecting outputs failed" in rec["error"]
        assert rec["outputs"] == []
        assert not (disk / "proj" / ".exp" / "runs" / rec["id"] / "outputs" / "big.bin").exists()
        assert containers_with_label(f"expkit.run={rec['id']}") == []
