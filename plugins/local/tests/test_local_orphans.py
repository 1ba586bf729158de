"""Stopping the process group a run left behind when its exp died (expkit_local.orphans)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest
from expkit.model import ComputeTarget
from expkit.plugins import Registry, make_plugin_manager
from expkit.testing import process_alive, wait_gone
from expkit_local.hooks import plugin
from expkit_local.orphans import PROCESS_FILE, remember, stop
from local_helpers import Lines, make_run, prepare_request

# A script that starts a child in its own process group, reports it, and waits.
TREE = """
import signal, subprocess, sys, time
if sys.argv[1] == "stubborn":  # the child inherits the ignored SIGTERM
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
print(child.pid, flush=True)
if sys.argv[1] != "exit":
    time.sleep(600)
"""


@pytest.fixture
def group(tmp_path):
    """Start TREE in a new session; yields (process, child pid, run_dir); kills leftovers."""
    started = []

    def start(mode: str = "wait"):
        proc = subprocess.Popen(
            [sys.executable, "-c", textwrap.dedent(TREE), mode],
            stdout=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        child = int(proc.stdout.readline())
        started.append(proc)
        run_dir = tmp_path / f"run{len(started)}"
        run_dir.mkdir()
        remember(run_dir, proc.pid)
        return proc, child, run_dir

    yield start
    for proc in started:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()
        proc.stdout.close()


def test_the_whole_group_is_stopped(group):
    proc, child, run_dir = group()
    assert json.loads((run_dir / PROCESS_FILE).read_text())["pgid"] == proc.pid
    assert stop(run_dir, grace=3.0) is True
    assert proc.wait(timeout=10) == -signal.SIGTERM
    assert wait_gone(child)
    assert stop(run_dir, grace=3.0) is False  # nothing left the second time


def test_a_group_ignoring_sigterm_is_killed_after_the_grace(group):
    proc, child, run_dir = group("stubborn")
    started = time.monotonic()
    assert stop(run_dir, grace=0.3) is True
    assert proc.wait(timeout=10) == -signal.SIGKILL
    assert wait_gone(child)
    assert time.monotonic() - started < 5


def test_leftovers_of_an_exited_script_are_stopped(group):
    proc, child, run_dir = group("exit")
    proc.wait(timeout=30)  # the script is gone (and reaped); its child still runs
    assert process_alive(child)
    assert stop(run_dir, grace=3.0) is True
    assert wait_gone(child)


def test_a_reused_pid_is_never_signalled(group):
    proc, child, run_dir = group()
    path = run_dir / PROCESS_FILE
    data = json.loads(path.read_text())
    path.write_text(json.dumps({**data, "start": "1"}))  # another process with this pid
    assert stop(run_dir, grace=0.1) is False
    path.write_text(json.dumps({**data, "boot": "another-boot"}))  # before a reboot
    assert stop(run_dir, grace=0.1) is False
    assert process_alive(proc.pid) and process_alive(child)


def test_no_record_means_nothing_to_stop(tmp_path):
    assert stop(tmp_path, grace=0.1) is False
    (tmp_path / PROCESS_FILE).write_text("{torn")
    assert stop(tmp_path, grace=0.1) is False


def test_hook_finds_a_submitted_run_and_a_finished_run_leaves_no_record(tmp_path):
    registry = Registry(make_plugin_manager(entry_points=False))
    registry.register(plugin, name="local")
    hook = registry.hook
    run = make_run(
        tmp_path,
        """
        print("ready", flush=True)
        import time; time.sleep(600)
    """,
    )
    env = hook.expkit_prepare(request=prepare_request(run.project))
    execution = hook.expkit_submit(run=run, environment=env)
    assert (run.run_dir / PROCESS_FILE).exists()
    # As if exp had died now: another process stops the run from its folder alone.
    compute = ComputeTarget(name="local", type="local")
    other = ComputeTarget(name="box", type="docker")
    assert hook.expkit_stop_orphan(compute=other, run_id=run.run_id, run_dir=run.run_dir) is None
    assert hook.expkit_stop_orphan(compute=compute, run_id=run.run_id, run_dir=run.run_dir) is True
    assert execution.wait(Lines()) == 128 + signal.SIGTERM
    hook.expkit_collect(run=run, execution=execution)
    assert not (run.run_dir / PROCESS_FILE).exists()
    assert hook.expkit_stop_orphan(compute=compute, run_id=run.run_id, run_dir=run.run_dir) is False
