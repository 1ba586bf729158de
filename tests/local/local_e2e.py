"""Helpers for the local target's end-to-end tests (a uniquely named module)."""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import Callable

REPO = Path(__file__).resolve().parents[2]
#: As in tests/conftest.py: under CI a missing engine fails instead of skipping.
REQUIRE_ENGINES = os.environ.get("EXPKIT_REQUIRE_ENGINES") == "1" or os.environ.get("CI") == "true"

LOCAL_COMPUTE = """
# Defines the local compute target. Run "az ml experiment submit -c local" to use it.
type: "local"
pythonLocation: "python"
userManagedEnvironment: true
"""

LOCAL_RUNCONFIG = """
ArgumentVector:
  - "$file"
Target: "local"
EnvironmentVariables:
  "EXAMPLE_ENV_VAR": "Example Value"
Framework: "Python"
PrepareEnvironment: false
TrackedRun: true
"""


def _load_plugin_helpers():
    """expkit-local's own test helpers (one wheel builder for both test suites)."""
    path = REPO / "plugins" / "local" / "tests" / "local_helpers.py"
    spec = importlib.util.spec_from_file_location("expkit_local_test_helpers", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


build_wheel = _load_plugin_helpers().build_wheel


def run_record(project, ref: str = "1") -> dict:
    result = project.exp("runs", "show", ref, "--json")
    assert result.returncode == 0, result.output
    return json.loads(result.stdout)


def runs_list(project, *args: str) -> list[dict]:
    result = project.exp("runs", "list", "--json", *args)
    assert result.returncode == 0, result.output
    return json.loads(result.stdout)


def exp_bytes(project, *args: str, timeout: float = 300):
    """``exp ARGS`` in ``project`` with stdout/stderr as bytes (exact ``\\r``, any encoding)."""
    import shutil
    import subprocess

    exe = shutil.which("exp", path=str(Path(sys.executable).parent)) or shutil.which("exp")
    assert exe, "the `exp` console script is not installed"
    return subprocess.run([exe, *args], cwd=project.root, env=project.env,
                          capture_output=True, timeout=timeout)


def read_until(stream, predicate: Callable[[str], bool], timeout: float = 60) -> list[str]:
    """Lines of ``stream`` up to the first one matching ``predicate`` (fails at EOF)."""
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = stream.readline()
        if not line:
            raise AssertionError("output ended before the expected line:\n" + "".join(lines))
        lines.append(line)
        if predicate(line):
            return lines
    raise AssertionError("timed out waiting for a line:\n" + "".join(lines))


def alive(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def wait_gone(pid: int, timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive(pid):
            return True
        time.sleep(0.02)
    return False


def kill_quietly(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def python_version() -> str:
    return ".".join(map(str, sys.version_info[:3]))


def shared_conftest(config):
    """tests/conftest.py as pytest loaded it (importing "conftest" by name is ambiguous)."""
    wanted = REPO / "tests" / "conftest.py"
    for plugin in config.pluginmanager.get_plugins():
        if Path(getattr(plugin, "__file__", "") or "") == wanted:
            return plugin
    raise LookupError(f"{wanted} is not loaded")
