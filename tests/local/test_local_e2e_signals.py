"""Live output, Ctrl-C / SIGTERM cancel of the whole process tree, and a killed CLI."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pytest
from local_e2e import (
    alive,
    kill_quietly,
    read_until,
    run_record,
    runs_list,
    wait_gone,
    write_gated_script,
)

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
    local_project.write(
        "slow.py",
        f"""
        import os, time
        print("first line", flush=True)
        deadline = time.time() + 60
        while not os.path.exists({str(gate)!r}):
            if time.time() > deadline:
                print("second line: gate never opened")
                raise SystemExit(5)
            time.sleep(0.01)
        print("second line: gate opened")
    """,
    )
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
    assert "canceled" in err and ", exit code 130" in err  # the line says what exp exits with
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


def _kill_exp_mid_run(project, pids_file):
    """Start TREE with `exp run`, SIGKILL that exp once the script is ready.

    Returns (script and grandchild pids, the run's working copy)."""
    proc = project.popen("run", "-c", "local", "tree.py", str(pids_file))
    try:
        read_until(proc.stdout, lambda line: line.strip() == "ready")
        pids = json.loads(pids_file.read_text())
        record = run_record(project)
        assert record["status"] == "running"
        workdir = Path(project.env["EXPKIT_CACHE_DIR"]) / "work" / record["id"]
        assert (workdir / "tree.py").is_file()
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        kill_quietly(proc.pid)
        proc.stdout.close()
        proc.stderr.close()
    return pids, workdir


def test_killed_cli_leaves_a_lost_run_and_nothing_running(local_project):
    """After a SIGKILLed exp, the next `exp runs list` marks the run lost, stops the
    script and its child (they run in their own session, so they outlived exp), and
    deletes the run's working copy."""
    local_project.write("tree.py", TREE_SCRIPT)
    pids = {}
    try:
        pids, workdir = _kill_exp_mid_run(local_project, local_project.root.parent / "pids.json")
        assert alive(pids["script"]) and alive(pids["grandchild"])  # orphaned, still running
        listed = local_project.exp("runs", "list", "--json")
        assert listed.returncode == 0, listed.output
        [record] = json.loads(listed.stdout)
        assert record["status"] == "failed"
        assert "lost" in (record.get("error") or "")
        assert "stopped what it left running" in listed.stderr
        assert wait_gone(pids["script"]), "the orphaned script still runs"
        assert wait_gone(pids["grandchild"]), "the orphaned script's child still runs"
        assert not workdir.exists()
        assert local_project.exp("runs", "list", "--status", "running").stdout.count("tree.py") == 0
    finally:
        for pid in pids.values():
            kill_quietly(pid)
    # A later run in the same project is unaffected.
    local_project.write("ok.py", "print('fine')\n")
    assert local_project.exp("run", "-c", "local", "ok.py").returncode == 0
    assert run_record(local_project, "2")["status"] == "completed"


def test_runs_cancel_of_a_lost_run_stops_what_it_left(local_project):
    local_project.write("tree.py", TREE_SCRIPT)
    pids = {}
    try:
        pids, workdir = _kill_exp_mid_run(local_project, local_project.root.parent / "pids.json")
        result = local_project.exp("runs", "cancel", "1")
        assert result.returncode == 0, result.output
        assert "run 1 was lost" in result.stdout
        assert "stopped what it left running on target 'local'" in result.stdout
        assert wait_gone(pids["script"]) and wait_gone(pids["grandchild"])
        assert not workdir.exists()
        again = local_project.exp("runs", "cancel", "1")
        assert again.returncode == 0 and "nothing of it was still running" in again.stdout
    finally:
        for pid in pids.values():
            kill_quietly(pid)
    record = run_record(local_project)
    assert record["status"] == "failed" and record["error"] == "lost"


def test_lost_run_whose_target_was_detached_is_still_listed(local_project):
    local_project.write("tree.py", TREE_SCRIPT)
    pids = {}
    try:
        pids, workdir = _kill_exp_mid_run(local_project, local_project.root.parent / "pids.json")
        (local_project.root / "aml_config" / "local.compute").unlink()
        listed = local_project.exp("runs", "list", "--json")
        assert listed.returncode == 0, listed.output
        assert json.loads(listed.stdout)[0]["error"] == "lost"
        assert "could not stop what it may have left running" in listed.stderr
        assert "'local'" in listed.stderr
        assert not workdir.exists()
    finally:
        for pid in pids.values():
            kill_quietly(pid)


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
    gate = write_gated_script(local_project, "slow.py", "early line", "late line")
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


PROGRESS_SCRIPT = """
import os, sys, time
for i in range(3):
    sys.stdout.write(f"\\rprogress {i}")
    sys.stdout.flush()
    deadline = time.time() + 30
    while not os.path.exists(sys.argv[1] + str(i)):  # opened by the test only
        if time.time() > deadline:
            sys.stdout.write("\\ngate never opened\\n")
            sys.exit(5)
        time.sleep(0.01)
sys.stdout.write("\\rfinished\\n")
"""


def test_progress_updates_reach_the_terminal_before_the_next_one(local_project):
    """Each `\\rprogress N` reaches exp's stdout while the script waits to write N+1."""
    gate = str(local_project.root.parent / "gate")
    local_project.write("progress.py", PROGRESS_SCRIPT)
    proc = local_project.popen("run", "-c", "local", "progress.py", gate)
    received = b""
    try:
        fd = proc.stdout.fileno()  # raw reads: the text wrapper would wait for a line end
        for i in range(3):
            deadline = time.monotonic() + 30
            while f"\rprogress {i}".encode() not in received:
                assert time.monotonic() < deadline, f"progress {i} never arrived: {received!r}"
                chunk = os.read(fd, 4096)
                assert chunk, f"output ended early: {received!r}"
                received += chunk
            open(gate + str(i), "w").close()
        while chunk := os.read(fd, 4096):
            received += chunk
        proc.wait(timeout=60)
    finally:
        kill_quietly(proc.pid)
        proc.stdout.close()
        proc.stderr.close()
    assert proc.returncode == 0
    assert received == b"\rprogress 0\rprogress 1\rprogress 2\rfinished\n"
    log = local_project.root / ".exp" / "runs" / run_record(local_project)["id"] / "log.txt"
    assert log.read_bytes() == received


def test_deleting_the_index_during_a_run_does_not_lose_it(local_project):
    """The index is rebuilt from the run folders with each active run's owner, so a live
    run stays running, and its end reaches the rebuilt index."""
    gate = write_gated_script(local_project, "slow.py", "ready", "done")
    proc = local_project.popen("run", "-c", "local", "slow.py")
    try:
        read_until(proc.stdout, lambda line: line.strip() == "ready")
        for name in ("index.sqlite", "index.sqlite-wal", "index.sqlite-shm"):
            (local_project.root / ".exp" / name).unlink(missing_ok=True)
        [record] = runs_list(local_project)
        assert record["status"] == "running" and record["error"] is None
        gate.touch()
        proc.communicate(timeout=60)
    finally:
        kill_quietly(proc.pid)
    assert proc.returncode == 0
    record = run_record(local_project)
    assert record["status"] == "completed" and record["exit_code"] == 0
