"""Helpers for the local target's end-to-end tests (a uniquely named module)."""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path

# Re-exported: the e2e tests import these from here.
from expkit.testing import build_wheel  # noqa: F401
from expkit.testing import process_alive as alive  # noqa: F401
from expkit.testing import wait_gone as _wait_gone

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
    return subprocess.run(
        [exe, *args], cwd=project.root, env=project.env, capture_output=True, timeout=timeout
    )


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


def wait_gone(*pids: int, timeout: float = 15.0) -> bool:
    """expkit.testing.wait_gone, with more time: these processes start through the real `exp`."""
    return _wait_gone(*pids, timeout=timeout)


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


def write_gated_script(project, name: str, first: str, last: str) -> Path:
    """Write script ``name``: prints ``first``, waits (at most 60 s) until the returned
    gate file exists, then prints ``last``. Lets a test act while a run is live."""
    gate = project.root.parent / "gate"
    project.write(
        name,
        f"""
        import os, time
        print({first!r}, flush=True)
        deadline = time.time() + 60
        while not os.path.exists({str(gate)!r}) and time.time() < deadline:
            time.sleep(0.01)
        print({last!r})
    """,
    )
    return gate


def module_project(request, tmp_path_factory, exp_cache, name: str):
    """A project folder for a module-scoped fixture, with the environment tests/conftest.py's
    ``project`` fixture gives (its own expkit cache variables, this venv's ``exp`` first)."""
    project_class = shared_conftest(request.config).Project
    root = tmp_path_factory.mktemp(name) / "proj"
    root.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("EXPKIT_")}
    env["EXPKIT_CACHE_DIR"] = str(exp_cache)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env.pop("PYTHONPATH", None)
    return project_class(root=root, env=env)
