"""expkit_local.tree: finding every process of a run, also those that left its group."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid

from expkit_local.tree import run_processes, stop_run_processes

# Starts a child in a new session (it leaves the group) that starts a grandchild with
# its environment wiped: the marker finds the child, the parent chain the grandchild.
ESCAPER = """
import subprocess, sys
child = subprocess.Popen(
    [sys.executable, "-c",
     "import subprocess, sys, time;"
     "g = subprocess.Popen(['sleep', '60'], env={});"
     "print(g.pid, flush=True); time.sleep(60)"],
    start_new_session=True, stdout=subprocess.PIPE, text=True,
)
print(child.pid, child.stdout.readline().strip(), flush=True)
child.wait()
"""


def _start(run_id: str) -> tuple[subprocess.Popen, int, int]:
    env = {**os.environ, "EXPKIT_RUN_ID": run_id}
    proc = subprocess.Popen(
        [sys.executable, "-c", ESCAPER], env=env, stdout=subprocess.PIPE, text=True
    )
    child, grandchild = map(int, proc.stdout.readline().split())
    return proc, child, grandchild


def _gone(pid: int, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{pid}/stat") as handle:
                if handle.read().rsplit(")", 1)[1].split()[0] in ("Z", "X"):
                    return True
        except OSError:
            return True
        time.sleep(0.02)
    return False


def test_run_processes_follow_the_marker_and_the_parent_chain():
    run_id = f"test-{uuid.uuid4().hex}"
    proc, child, grandchild = _start(run_id)
    try:
        found = run_processes(run_id)
        assert {proc.pid, child, grandchild} <= found
        assert os.getpid() not in found
        assert run_processes(f"other-{uuid.uuid4().hex}") == set()
    finally:
        for pid in (grandchild, child, proc.pid):
            try:
                os.kill(pid, 9)
            except ProcessLookupError:
                pass
        proc.wait()


def test_stop_run_processes_stops_all_and_says_when_nothing_was_left():
    run_id = f"test-{uuid.uuid4().hex}"
    proc, child, grandchild = _start(run_id)
    try:
        assert stop_run_processes(run_id, grace=2.0) is True
        proc.wait(timeout=10)
        assert _gone(child) and _gone(grandchild)
        assert stop_run_processes(run_id, grace=2.0) is False
    finally:
        for pid in (grandchild, child):
            try:
                os.kill(pid, 9)
            except ProcessLookupError:
                pass
