"""Detached runs (expkit.runner.detached) with a fake target whose runs go on without exp.

``AwayPlugin`` (type ``away``) starts the script as a background shell that
writes its output to a "remote" log file and its exit code to a file, as
remotedocker's container does on a VM; its Execution is ``detachable`` and its
``wait`` raises RunDetached when the test "cuts the connection" (a file).
"""

from __future__ import annotations

import io
import json
import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from expkit.errors import EXIT_DETACHED, RunDetached
from expkit.history import History
from expkit.hookspecs import hookimpl
from expkit.model import Collected, PreparedEnvironment, TargetType
from expkit.runner import detached, exit_code_of, run_experiment

AWAY = "away"
SCRIPT = """\
import os, sys, time
print("started", flush=True)
while not os.path.exists(sys.argv[1]):
    time.sleep(0.02)
os.makedirs("outputs", exist_ok=True)
open("outputs/result.txt", "w").write("done")
print("finished", flush=True)
sys.exit(int(sys.argv[2]))
"""


class AwayExecution:
    detachable = True

    def __init__(self, remote: Path, pgid: int, offset: int = 0) -> None:
        self.remote, self.pgid, self.offset = remote, pgid, offset

    def poll(self) -> int | None:
        code = self.remote / "exit_code"
        return int(code.read_text()) if code.exists() else None

    def wait(self, on_output) -> int:
        while True:
            if (self.remote / "cut").exists():
                raise RunDetached("exp: lost the connection to the fake VM; the run goes on there.")
            with open(self.remote / "log", "rb") as log:
                log.seek(self.offset)
                data = log.read()
            if data:
                self.offset += len(data)
                on_output(data.decode())
                continue
            code = self.poll()
            if code is not None:
                return code
            time.sleep(0.02)

    def cancel(self) -> None:
        try:
            os.killpg(self.pgid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        (self.remote / "exit_code").write_text("137")


class AwayPlugin:
    def __init__(self, remote: Path) -> None:
        self.remote = remote

    @hookimpl
    def expkit_target_types(self):
        return [TargetType(name=AWAY, package="expkit-away-tests")]

    @hookimpl
    def expkit_prepare(self, request):
        if request.compute.type == AWAY:
            return PreparedEnvironment(env_id=None, location="", python=sys.executable)

    @hookimpl
    def expkit_submit(self, run, environment):
        if run.compute.type != AWAY:
            return None
        self.remote.mkdir(parents=True, exist_ok=True)
        (self.remote / "log").write_bytes(b"")
        command = (f"cd {shlex.quote(str(run.snapshot))} && "
                   f"{shlex.join([sys.executable, *run.argv])} > {self.remote}/log 2>&1; "
                   f"echo $? > {self.remote}/exit_code")  # fmt: skip
        proc = subprocess.Popen(["sh", "-c", command], start_new_session=True)
        self.work = run.snapshot
        (run.run_dir / "away.json").write_text(json.dumps({"pgid": proc.pid}))
        return AwayExecution(self.remote, proc.pid)

    @hookimpl
    def expkit_reattach(self, run):
        if run.compute.type != AWAY:
            return None
        saved = json.loads((run.run_dir / "away.json").read_text())
        return AwayExecution(self.remote, saved["pgid"], (run.run_dir / "log.txt").stat().st_size)

    @hookimpl
    def expkit_collect(self, run, execution):
        if run.compute.type != AWAY:
            return None
        outputs = self.work / "outputs"
        if outputs.is_dir():
            run.outputs_dir.mkdir(parents=True, exist_ok=True)
            for item in outputs.iterdir():
                (run.outputs_dir / item.name).write_bytes(item.read_bytes())
        return Collected(outputs=tuple(p.name for p in run.outputs_dir.glob("*")))


@pytest.fixture
def away(tmp_path: Path, monkeypatch):
    from expkit.plugins import Registry, make_plugin_manager, set_registry

    monkeypatch.setenv("EXPKIT_CACHE_DIR", str(tmp_path / "cache"))
    registry = Registry(make_plugin_manager(entry_points=False))
    plugin = AwayPlugin(tmp_path / "vm")
    registry.register(plugin, AWAY)
    set_registry(registry)
    # The working copy is deleted when exp run ends; the fake "VM" keeps its own.
    monkeypatch.setattr("expkit.runner.lifecycle.shutil.rmtree", lambda *a, **k: None)
    yield plugin
    set_registry(None)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    (root / "aml_config").mkdir(parents=True)
    (root / "aml_config" / "vm.compute").write_text("type: away\n")
    (root / "aml_config" / "vm.runconfig").write_text('Target: vm\nArgumentVector: ["$file"]\n')
    (root / "train.py").write_text(SCRIPT)
    return root


def start_detached(project: Path, away: AwayPlugin, code: int = 0):
    """exp run until the connection is cut right after "started"."""
    from expkit.config import Project

    gate = away.remote / "go"
    resolved = Project(project).resolve("vm")
    out = io.StringIO()
    notes: list[str] = []

    class Cutting(io.StringIO):
        def write(self, text: str) -> int:
            if "started" in text:
                (away.remote / "cut").touch()
            return out.write(text)

    record = run_experiment(resolved, "train.py", (str(gate), str(code)), cwd=project,
                            terminal=Cutting(), note=notes.append)  # fmt: skip
    (away.remote / "cut").unlink()
    return record, notes, gate


def test_a_dropped_connection_leaves_the_run_running(project: Path, away) -> None:
    record, notes, gate = start_detached(project, away)
    try:
        assert record.status == "running" and exit_code_of(record) == EXIT_DETACHED == 75
        assert any("goes on" in n and f"exp runs logs -f {record.number}" in n for n in notes)
        with History(project) as history:
            run_dir = history.run_dir(record.id)
            assert detached.is_detached(run_dir)
            # Its exp is gone, yet it is not lost: nothing marks it failed.
            assert history.reap_lost() == []
    finally:
        gate.touch()  # the script waits for it: let it end rather than outlive the test


def test_settle_collects_once_the_run_has_ended(project: Path, away, monkeypatch) -> None:
    monkeypatch.setattr(detached, "unowned", lambda history, record: True)
    monkeypatch.setattr(detached, "CHECK_EVERY", 0.0)
    record, _notes, gate = start_detached(project, away, code=3)
    notes: list[str] = []
    with History(project) as history:
        assert detached.settle(history, notes.append) == []  # still running
        assert history.get(record.id).status == "running"
        gate.touch()
        while not (away.remote / "exit_code").exists():
            time.sleep(0.02)
        (final,) = detached.settle(history, notes.append)
        assert final.status == "failed" and final.exit_code == 3
        assert final.outputs == ("result.txt",)
        log = (history.run_dir(record.id) / "log.txt").read_text()
        assert not detached.is_detached(history.run_dir(record.id))
    assert log.count("started") == 1  # collected without following: the log came as it was
    assert any("ended: failed, collected" in n for n in notes)


def test_follow_streams_the_rest_and_collects(project: Path, away, monkeypatch) -> None:
    record, _notes, gate = start_detached(project, away)
    seen: list[str] = []
    gate.touch()
    with History(project) as history:
        final = detached.follow(history, record, seen.append)
        log = (history.run_dir(record.id) / "log.txt").read_text()
    assert final is not None and final.status == "completed" and final.exit_code == 0
    assert "".join(seen) == "finished\n"
    assert log == "started\nfinished\n"


def test_cancel_stops_it_on_the_target(project: Path, away) -> None:
    record, _notes, _gate = start_detached(project, away)
    with History(project) as history:
        final = detached.cancel(history, record)
    assert final.status == "canceled" and final.exit_code == 137


def test_a_second_process_does_not_finish_a_claimed_run(project: Path, away) -> None:
    record, _notes, _gate = start_detached(project, away)
    with History(project) as history:
        run_dir = history.run_dir(record.id)
        with detached.claim(run_dir) as mine:
            assert mine
            code = f"""
import fcntl, os, sys
fd = os.open({str(run_dir / detached.MARKER)!r}, os.O_RDONLY)
try:
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
except BlockingIOError:
    sys.exit(9)
"""
            assert subprocess.run([sys.executable, "-c", code]).returncode == 9
        detached.cancel(history, record)
