"""A small *real* target plugin for the core's run-lifecycle tests, and a CLI wrapper.

``FakePlugin`` (target type ``fake``) runs the script with this interpreter
in its own session (so cancelling kills its whole process tree), streams its
merged output line by line and collects ``outputs/`` from the working copy.
Its prepare step is steered by ``FAKE_PREPARE`` (``fail``: raise an
InfrastructureError; ``block``: wait until cancelled, after writing the file
named by ``FAKE_PREPARE_MARKER``).

Run as a script, this module is ``exp`` with FakePlugin registered and no
entry points loaded: ``python fake_target.py run -c fake x.py``. Only
tests use it; the product reads no test-only variables.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from expkit.errors import InfrastructureError
from expkit.hookspecs import hookimpl
from expkit.model import Collected, PreparedEnvironment, TargetType
from expkit.runenv import path_variables, runtime_dir, with_pythonpath

FAKE = "fake"


class FakeExecution:
    def __init__(self, proc: subprocess.Popen) -> None:
        self.proc = proc
        self.canceled = False
        self.phases: dict = {}

    def wait(self, on_output) -> int:
        for raw in iter(self.proc.stdout.readline, b""):
            on_output(raw.decode("utf-8", "surrogateescape"))
        return self.proc.wait()

    def cancel(self) -> None:
        self.canceled = True
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


class FakePlugin:
    """Target type ``fake``: the script runs locally with sys.executable."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        #: What collect returns as notes (Collected.notes).
        self.collect_notes: tuple[str, ...] = ()
        #: Called after the script started: the Execution's ``phases`` (None: none).
        self.submit_phases: Callable[[], dict] | None = None

    @hookimpl
    def expkit_target_types(self):
        return [TargetType(name=FAKE, package="expkit-fake-tests", description="core test target")]

    @hookimpl
    def expkit_prepare(self, request):
        if request.compute.type != FAKE:
            return None
        self.calls.append("prepare")
        mode = os.environ.get("FAKE_PREPARE", "")
        if request.progress is not None and request.force:
            request.progress.step("building fake environment")
            request.progress.line("pretend build output")
        if mode == "fail":
            raise InfrastructureError("fake build failed: step 2/3 exited with 1")
        if mode == "block":
            Path(os.environ["FAKE_PREPARE_MARKER"]).write_text("preparing")
            while True:  # a long build; only a cancel ends it
                time.sleep(0.05)
        return PreparedEnvironment(
            env_id="fakeenv" + ("-forced" if request.force else ""),
            location=sys.executable,
            python=sys.executable,
            packages=("fake==1.0",),
        )

    @hookimpl
    def expkit_submit(self, run, environment):
        if run.compute.type != FAKE:
            return None
        self.calls.append("submit")
        env = {**os.environ, **run.environment}
        env.update(
            path_variables(
                outputs_dir=str(run.snapshot / "outputs"), metrics_file=str(run.metrics_file)
            )
        )
        env = with_pythonpath(env, str(runtime_dir()), os.environ.get("PYTHONPATH"))
        proc = subprocess.Popen(
            [environment.python, *run.argv],
            cwd=run.snapshot,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        execution = FakeExecution(proc)
        if self.submit_phases is not None:
            execution.phases = self.submit_phases()
        return execution

    @hookimpl
    def expkit_collect(self, run, execution):
        if run.compute.type != FAKE:
            return None
        self.calls.append("collect")
        source = run.snapshot / "outputs"
        if source.is_dir():
            shutil.copytree(source, run.outputs_dir, dirs_exist_ok=True)
        return Collected(notes=self.collect_notes)


def install_fake_registry():
    """A registry holding only FakePlugin, installed as the process-wide one."""
    from expkit.plugins import Registry, make_plugin_manager, set_registry

    registry = Registry(make_plugin_manager(entry_points=False))
    plugin = FakePlugin()
    registry.register(plugin, "fake")
    set_registry(registry)
    return registry, plugin


# Before the test helpers below: as a CLI this module must not pay for importing pytest.
if __name__ == "__main__":
    install_fake_registry()
    from expkit.cli import main

    sys.exit(main(sys.argv[1:]))


# --------------------------------------------------------------------------- test helpers

import pytest  # noqa: E402

HERE = Path(__file__).resolve()

FAKE_COMPUTE = "type: fake\n"
FAKE_RUNCONFIG = """\
Target: fake
ArgumentVector: ["$file"]
Framework: Python
"""


@pytest.fixture
def fake_registry():
    """The process-wide registry holding only FakePlugin; reset afterwards."""
    from expkit.plugins import set_registry

    registry, plugin = install_fake_registry()
    yield registry, plugin
    set_registry(None)


@pytest.fixture
def cache_env(tmp_path, monkeypatch):
    """An isolated expkit cache dir, in this process and for subprocesses."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("EXPKIT_CACHE_DIR", str(cache))
    return cache


def write_project(root: Path, runconfig: str = FAKE_RUNCONFIG, files: dict | None = None) -> Path:
    (root / "aml_config").mkdir(parents=True, exist_ok=True)
    (root / "aml_config" / "fake.compute").write_text(FAKE_COMPUTE)
    (root / "aml_config" / "fake.runconfig").write_text(runconfig)
    for rel, text in (files or {}).items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def resolved_run(root: Path, **runconfig: object):
    """A ResolvedRun built directly (no aml_config parsing) for the fake target."""
    from expkit.config import ResolvedRun
    from expkit.model import ComputeTarget, RunConfig

    fields = {"name": "fake", "target": "fake", **runconfig}
    return ResolvedRun(
        project=Path(root).resolve(),
        runconfig=RunConfig(**fields),
        compute=ComputeTarget(name="fake", type=FAKE),
        target_type=TargetType(name=FAKE, package="expkit-fake-tests"),
        environment=None,
        spark=None,
    )


def cli_env(cache: Path, **extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EXPKIT_", "FAKE_"))}
    env.update(EXPKIT_CACHE_DIR=str(cache), **extra)
    return env


def exp(root: Path, cache: Path, *args: str, env: dict | None = None, timeout: float = 60):
    """``exp ARGS`` (with FakePlugin) in a subprocess, from ``root``."""
    return subprocess.run(
        [sys.executable, str(HERE), *args],
        cwd=root,
        env={**cli_env(cache), **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def exp_popen(root: Path, cache: Path, *args: str, env: dict | None = None, **kw):
    return subprocess.Popen(
        [sys.executable, str(HERE), *args],
        cwd=root,
        env={**cli_env(cache), **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kw,
    )


def wait_for(predicate, timeout: float = 30.0, what: str = "condition"):
    """Poll ``predicate`` until it returns a truthy value (no fixed sleeps in tests)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie is dead for our purposes
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except FileNotFoundError:
        return False
