"""Live output, Ctrl-C / SIGTERM cancel of the whole process tree, and a killed CLI."""

from __future__ import annotations

import json
import os
import signal

import pytest

from local_e2e import kill_quietly, read_until, run_record, runs_list, wait_gone

# Starts a grandchild, writes both pids and a first output, then waits "forever".
TREE_SCRIPT = """
import json, os, subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
with open(sys.argv[1], "w") as f:
    json.dump({"script": os.getpid(), "grandchild": child.pid}, f)
os.makedirs("outputs", exist_ok=True)
with open("outputs/partial.txt", "w") as f:
    f.write("written before the cancel")
print("ready", flush=True)
time.sleep(600)
print("not reached")
"""


def test_output_streams_live_while_the_script_runs(local_project):
    """The first line reaches exp's stdout while the script is still waiting for it to."""
    gate = local_project.root.parent / "gate"
    local_project.write("slow.py", f"""
        import os, time
        print("first line", flush=True)
        deadline = time.time() + 60
        while not os.path.exists({str(gate)!r}):
            if time.time() > deadline:
                print("second line: gate never opened")
                raise SystemExit(5)
            time.sleep(0.01)
        print("second line: gate opened")
    """)
    proc = local_project.popen("run", "-c", "local", "slow.py")
    try:
        read_until(proc.stdout, lambda line: line.startswith("first line"))
        gate.touch()  # only now may the script finish
        rest, err = proc.communicate(timeout=60)
    finally:
        kill_quietly(proc.pid)
    assert proc.returncode == 0, err
    assert "second line: gate opened" in rest
    logs = local_project.exp("runs", "logs", "1").stdout
    assert logs.splitlines() == ["first line", "second line: gate opened"]


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_signal_cancels_the_run_and_its_process_tree(local_project, signum):
    pids_file = local_project.root.parent / "pids.json"
    local_project.write("tree.py", TREE_SCRIPT)
    proc = local_project.popen("run", "-c", "local", "tree.py", str(pids_file))
    try:
        read_until(proc.stdout, lambda line: line.strip() == "ready")
        pids = json.loads(pids_file.read_text())
        proc.send_signal(signum)
        out, err = proc.communicate(timeout=60)
    finally:
        kill_quietly(proc.pid)
    assert proc.returncode == 130, err
    assert "not reached" not in out
    assert wait_gone(pids["script"]), "the script survived the cancel"
    assert wait_gone(pids["grandchild"]), "the script's child survived the cancel"
    record = run_record(local_project)
    assert record["status"] == "canceled"
    assert record["outputs"] == ["partial.txt"]
    folder = local_project.root.parent / "partial"
    assert local_project.exp("runs", "download", "1", "--to", str(folder)).returncode == 0
    assert (folder / "partial.txt").read_text() == "written before the cancel"
    assert [r["status"] for r in runs_list(local_project, "--status", "canceled")] == ["canceled"]


def test_killed_cli_leaves_a_lost_run_not_a_running_one(local_project):
    pids_file = local_project.root.parent / "pids.json"
    local_project.write("tree.py", TREE_SCRIPT)
    proc = local_project.popen("run", "-c", "local", "tree.py", str(pids_file))
    pids = {}
    try:
        read_until(proc.stdout, lambda line: line.strip() == "ready")
        pids = json.loads(pids_file.read_text())
        assert run_record(local_project)["status"] == "running"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        (record,) = runs_list(local_project)
        assert record["status"] == "failed"
        assert "lost" in (record.get("error") or "")
        assert local_project.exp("runs", "list", "--status", "running").stdout.count("tree.py") == 0
    finally:
        kill_quietly(proc.pid)
        for pid in pids.values():  # nothing is left to stop them once exp is gone
            kill_quietly(pid)
    # A later run in the same project is unaffected.
    local_project.write("ok.py", "print('fine')\n")
    assert local_project.exp("run", "-c", "local", "ok.py").returncode == 0
    assert run_record(local_project, "2")["status"] == "completed"


def test_runs_cancel_stops_a_run_from_another_terminal(local_project):
    pids_file = local_project.root.parent / "pids.json"
    local_project.write("tree.py", TREE_SCRIPT)
    proc = local_project.popen("run", "-c", "local", "tree.py", str(pids_file))
    try:
        read_until(proc.stdout, lambda line: line.strip() == "ready")
        pids = json.loads(pids_file.read_text())
        result = local_project.exp("runs", "cancel", "1")
        assert result.returncode == 0, result.output
        proc.communicate(timeout=60)
    finally:
        kill_quietly(proc.pid)
    assert proc.returncode == 130
    assert wait_gone(pids["script"]) and wait_gone(pids["grandchild"])
    assert run_record(local_project)["status"] == "canceled"
    assert os.path.exists(pids_file)


def test_logs_follow_streams_a_running_run_until_it_ends(local_project):
    gate = local_project.root.parent / "gate"
    local_project.write("slow.py", f"""
        import os, time
        print("early line", flush=True)
        deadline = time.time() + 60
        while not os.path.exists({str(gate)!r}) and time.time() < deadline:
            time.sleep(0.01)
        print("late line")
    """)
    run = local_project.popen("run", "-c", "local", "slow.py")
    follow = None
    try:
        read_until(run.stdout, lambda line: line.startswith("early line"))
        follow = local_project.popen("runs", "logs", "1", "-f")
        read_until(follow.stdout, lambda line: line.startswith("early line"))
        gate.touch()
        rest, _ = follow.communicate(timeout=60)
        run.communicate(timeout=60)
    finally:
        kill_quietly(run.pid)
        if follow is not None:
            kill_quietly(follow.pid)
    assert follow.returncode == 0
    assert "late line" in rest
