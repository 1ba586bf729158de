"""A small *real* target plugin for the core's run-lifecycle tests, and a CLI wrapper.

``FakePlugin`` (target type ``fake``) runs the script with this interpreter
in its own session (so cancelling kills its whole process tree), streams its
merged output line by line and collects ``outputs/`` from the working copy.
Its prepare step is steered by ``FAKE_PREPARE`` (``fail``: raise an
InfrastructureError; ``block``: wait until cancelled, after writing the file
named by ``FAKE_PREPARE_MARKER``).

Run as a script, this module is ``exp`` with FakePlugin registered and no
entry points loaded: ``python test_runner_fake.py run -c fake x.py``. Only
tests use it; the product reads no test-only variables.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
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
        env.update(path_variables(outputs_dir=str(run.snapshot / "outputs"), metrics_file=str(run.metrics_file)))
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
        return FakeExecution(proc)

    @hookimpl
    def expkit_collect(self, run, execution):
        if run.compute.type != FAKE:
            return None
        self.calls.append("collect")
        source = run.snapshot / "outputs"
        if source.is_dir():
            shutil.copytree(source, run.outputs_dir, dirs_exist_ok=True)
        return Collected()


def install_fake_registry():
    """A registry holding only FakePlugin, installed as the process-wide one."""
    from expkit.plugins import Registry, make_plugin_manager, set_registry

    registry = Registry(make_plugin_manager(entry_points=False))
    plugin = FakePlugin()
    registry.register(plugin, "fake")
    set_registry(registry)
    return registry, plugin


if __name__ == "__main__":
    install_fake_registry()
    from expkit.cli import main

    sys.exit(main(sys.argv[1:]))
