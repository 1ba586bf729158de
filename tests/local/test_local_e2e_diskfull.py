"""A project on a real, small, full file system (a tmpfs mounted for the test).

On a full disk ``exp run`` exits 3 with a clear message; the record keeps
the script's exit code and says what failed; a file cut short while being
collected is never listed; nothing is left running; a run that cannot even
start says so before its script runs; ``exp runs list`` still reads.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from local_e2e import LOCAL_COMPUTE, LOCAL_RUNCONFIG

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/: smalldisk
from smalldisk import mounted_small_disk, nearly_fill  # noqa: E402


@pytest.fixture
def small_disk(tmp_path):
    with mounted_small_disk(tmp_path / "disk") as mount:
        yield mount


@pytest.fixture
def full_project(request, project, small_disk):
    """A local project whose folder (and so its history) is on the small disk; the
    expkit cache (working copies) stays on the big one."""
    Project = type(project)  # noqa: N806 - a class
    on_disk = Project(root=small_disk / "proj", env=project.env)
    on_disk.root.mkdir()
    on_disk.write("aml_config/local.compute", LOCAL_COMPUTE)
    on_disk.write("aml_config/local.runconfig", LOCAL_RUNCONFIG)
    return on_disk


BIG_OUTPUT = """
import os, sys
os.makedirs("outputs", exist_ok=True)
with open("outputs/small.txt", "w") as f:
    f.write("fits")
with open("outputs/big.bin", "wb") as f:
    f.write(os.urandom(3 * 1024 * 1024))
print("wrote outputs", flush=True)
sys.exit(5)
"""


def _records(project) -> list[dict]:
    listed = project.exp("runs", "list", "--json")
    assert listed.returncode == 0, listed.output
    assert "Traceback" not in listed.output
    return json.loads(listed.stdout)


def test_collecting_on_a_full_disk_exits_3_and_keeps_the_scripts_exit_code(
    full_project, small_disk
):
    full_project.write("big.py", BIG_OUTPUT)
    full_project.write("ok.py", "print('warm-up')\n")
    assert full_project.exp("run", "-c", "local", "ok.py").returncode == 0
    nearly_fill(small_disk, leave=1024 * 1024)

    result = full_project.exp("run", "-c", "local", "big.py")
    assert result.returncode == 3, result.output
    assert "Traceback" not in result.output and "internal error" not in result.output
    assert "full" in result.stderr and "exit code 5" in result.stderr

    # The disk is still full: the history still reads.
    latest = _records(full_project)[0]
    assert latest["number"] == 2
    assert latest["status"] == "failed" and latest["exit_code"] == 5
    assert "collecting outputs failed" in latest["error"]
    assert "big.bin" not in latest["outputs"], "a file cut short is listed as an output"
    outputs = full_project.root / ".exp" / "runs" / latest["id"] / "outputs"
    assert not (outputs / "big.bin").exists()
    for output in latest["outputs"]:
        assert (outputs / output).is_file()
    shown = full_project.exp("runs", "show", "2")
    assert shown.returncode == 0 and "exit_code:" in shown.stdout


def test_run_that_cannot_start_on_a_full_disk_says_so_before_its_script(
    full_project, small_disk, tmp_path
):
    marker = tmp_path / "script-ran"
    full_project.write("ok.py", "print('warm-up')\n")
    full_project.write("touch.py", f"open({str(marker)!r}, 'w').close()\n")
    assert full_project.exp("run", "-c", "local", "ok.py").returncode == 0
    nearly_fill(small_disk)
    assert [r["number"] for r in _records(full_project)] == [1]  # reads a full disk

    result = full_project.exp("run", "-c", "local", "touch.py")
    assert result.returncode == 3, result.output
    assert "cannot start the run" in result.stderr and "full" in result.stderr
    assert "Traceback" not in result.output
    assert not marker.exists(), "the script ran although its run could not be recorded"
    records = _records(full_project)
    assert [(r["number"], r["status"]) for r in records] == [(1, "completed")]


LOUD = """
import sys
line = "x" * 1023 + "\\n"
for _ in range(3 * 1024):
    sys.stdout.write(line)
sys.stdout.flush()
print("the end", flush=True)
sys.exit(4)
"""


def test_log_on_a_full_disk_leaves_nothing_running(full_project, small_disk):
    full_project.write("loud.py", LOUD)
    full_project.write("ok.py", "print('warm-up')\n")
    assert full_project.exp("run", "-c", "local", "ok.py").returncode == 0
    nearly_fill(small_disk, leave=512 * 1024)

    result = full_project.exp("run", "-c", "local", "loud.py")
    assert result.returncode == 3, result.output[-2000:]
    assert "the end" in result.stdout, "the script's output stopped reaching the terminal"
    assert "log" in result.stderr and "full" in result.stderr
    latest = _records(full_project)[0]
    assert latest["status"] == "failed" and latest["exit_code"] == 4
    assert latest["error"] and "log" in latest["error"]
