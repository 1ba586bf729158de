"""Processes that escape a run, and runs whose `exp` was SIGKILLed.

- A child that left the script's process group (``start_new_session``, as
  ``setsid`` does) and holds its stdout does not keep ``exp run`` waiting:
  the run ends when the script does, and the child is stopped.
- ``exp runs cancel`` stops every descendant, also one that left the group.
- After a SIGKILLed ``exp``, any ``exp`` command that opens the history (a
  new ``exp run`` too) finds the lost run, stops all it left running, escaped
  children included, and collects what it wrote (outputs, metrics, log).
"""

from __future__ import annotations

import contextlib
import json
import signal
import time

from local_e2e import alive, kill_quietly, read_until, run_record, wait_gone

# Starts a child in its own session (as `setsid sleep 300` does); KEEP_STDOUT says
# whether the child keeps the script's stdout (the run's output pipe).
ESCAPING = """
import json, os, subprocess, sys, time
from expkit import log
keep = sys.argv[2] == "keep-stdout"
child = subprocess.Popen(
    ["sleep", "300"], start_new_session=True,
    stdout=None if keep else subprocess.DEVNULL, stderr=None if keep else subprocess.DEVNULL,
)
with open(sys.argv[1], "w") as f:
    json.dump({"script": os.getpid(), "escaped": child.pid}, f)
os.makedirs("outputs", exist_ok=True)
with open("outputs/partial.txt", "w") as f:
    f.write("written before the end")
log("step", 1)
print("ready", flush=True)
if sys.argv[3] == "wait":
    time.sleep(300)
"""


def _pids(project) -> dict:
    return json.loads((project.root.parent / "pids.json").read_text())


def test_escaped_child_holding_stdout_does_not_keep_exp_run_waiting(local_project):
    local_project.write("escape.py", ESCAPING)
    pids_file = str(local_project.root.parent / "pids.json")
    started = time.monotonic()
    pids = {}
    try:
        result = local_project.exp(
            "run", "-c", "local", "escape.py", pids_file, "keep-stdout", "end", timeout=60
        )
        took = time.monotonic() - started
        pids = _pids(local_project)
        assert result.returncode == 0, result.output
        assert took < 20, f"exp run took {took:.1f} s after the script ended"
        assert "still held its output" in result.stderr
        assert wait_gone(pids["escaped"]), "the escaped child outlived the run"
    finally:
        for pid in pids.values():
            kill_quietly(pid)
    record = run_record(local_project)
    assert record["status"] == "completed" and record["outputs"] == ["partial.txt"]


@contextlib.contextmanager
def _escaping_run(project):
    """`exp run` of ESCAPING with a detached child, until it printed "ready": yields the
    `exp` process and the script's pids; whatever is left is killed afterwards."""
    project.write("escape.py", ESCAPING)
    pids_file = str(project.root.parent / "pids.json")
    proc = project.popen("run", "-c", "local", "escape.py", pids_file, "detach", "wait")
    pids = {}
    try:
        read_until(proc.stdout, lambda line: line.strip() == "ready")
        pids = _pids(project)
        yield proc, pids
    finally:
        kill_quietly(proc.pid)
        for pid in pids.values():
            kill_quietly(pid)
        proc.communicate(timeout=30)


def test_runs_cancel_stops_a_child_that_left_the_process_group(local_project):
    with _escaping_run(local_project) as (proc, pids):
        assert alive(pids["escaped"])
        result = local_project.exp("runs", "cancel", "1", timeout=60)
        assert result.returncode == 0, result.output
        proc.wait(timeout=60)
        assert proc.returncode == 130
        assert wait_gone(pids["script"]), "the script still runs"
        assert wait_gone(pids["escaped"]), "the child that left the group still runs"
    record = run_record(local_project)
    assert record["status"] == "canceled" and record["outputs"] == ["partial.txt"]


def test_next_exp_run_reconciles_a_killed_run_and_collects_what_it_wrote(local_project):
    local_project.write("ok.py", "print('fine')\n")
    with _escaping_run(local_project) as (proc, pids):
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        assert alive(pids["script"]) and alive(pids["escaped"])  # orphaned, still running

        # Not `exp runs ...`: a new run is what finds the lost one.
        result = local_project.exp("run", "-c", "local", "ok.py")
        assert result.returncode == 0, result.output
        assert "run 1 was lost" in result.stderr
        assert wait_gone(pids["script"]), "the lost run's script still runs"
        assert wait_gone(pids["escaped"]), "the lost run's escaped child still runs"
    lost = run_record(local_project, "1")
    assert lost["status"] == "failed" and lost["error"] == "lost"
    assert lost["outputs"] == ["partial.txt"], "what the lost run wrote was not collected"
    assert lost["metrics"] == {"step": 1}
    folder = local_project.root / ".exp" / "runs" / lost["id"]
    assert (folder / "outputs" / "partial.txt").read_text() == "written before the end"
    assert "ready" in (folder / "log.txt").read_text()
    assert run_record(local_project, "2")["status"] == "completed"
