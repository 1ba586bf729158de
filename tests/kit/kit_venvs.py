"""Fresh virtual environments holding only what a user would install (helpers).

The kit tests prove that each distribution works on its own: a venv gets the
core's wheel (as published, built by scripts/wheels.py and cached by source
hash) plus one plugin, and nothing from the development venv leaks in (not on
PATH, not on PYTHONPATH). uv makes a venv in milliseconds and installs from
its own cache, so a fresh venv per test stays cheap.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DEV_BIN = Path(sys.executable).parent


@dataclass
class Ran:
    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def check(self) -> Ran:
        assert self.returncode == 0, f"exit {self.returncode}\n{self.output}"
        return self


@dataclass
class Venv:
    """A fresh venv and an environment that sees only it."""

    root: Path
    env: dict[str, str] = field(default_factory=dict)

    def bin(self, name: str) -> str:
        return str(self.root / "bin" / name)

    def run(self, *argv: str, cwd: Path | None = None, timeout: float = 300, env=None) -> Ran:
        proc = subprocess.run(
            list(argv),
            cwd=cwd or self.root,
            env={**self.env, **(env or {})},
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )
        return Ran(proc.returncode, proc.stdout, proc.stderr)

    def exp(self, *args: str, cwd: Path | None = None, **kw) -> Ran:
        return self.run(self.bin("exp"), *args, cwd=cwd, **kw)

    def pytest(self, *args: str, cwd: Path | None = None, **kw) -> Ran:
        return self.run(self.bin("python"), "-m", "pytest", *args, cwd=cwd, **kw)

    def plugin_types(self) -> dict[str, set[str]]:
        """``exp plugins --json`` as plugin name -> primary target type names."""
        listed = self.exp("plugins", "--json").check()
        return {p["name"]: {t["name"] for t in p["types"]} for p in json.loads(listed.stdout)}


def _uv() -> str:
    import importlib.util

    spec = importlib.util.spec_from_file_location("expkit_wheels", REPO / "scripts" / "wheels.py")
    assert spec is not None and spec.loader is not None
    wheels = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(wheels)
    found = wheels.find_uv()
    if not found:
        pytest.fail(
            "uv is needed for the fresh-venv tests: run scripts/bootstrap.sh (it installs uv)"
        )
    return found


def isolated_env(venv: Path, cache: Path) -> dict[str, str]:
    """os.environ minus the development venv, with ``venv`` first on PATH."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EXPKIT_", "PYTEST_"))}
    for key in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "CONDA_PREFIX"):
        env.pop(key, None)
    keep = [p for p in env.get("PATH", "").split(os.pathsep) if p and Path(p) != DEV_BIN]
    env["PATH"] = os.pathsep.join([str(venv / "bin"), *keep])
    env["VIRTUAL_ENV"] = str(venv)
    env["EXPKIT_CACHE_DIR"] = str(cache)
    # Engine requirements (CI, EXPKIT_REQUIRE_ENGINES) and the docker plugin's
    # test settings pass through: the plugin's own tests decide with them.
    for key in ("CI", "EXPKIT_REQUIRE_ENGINES", "EXPKIT_TEST_BASE_IMAGE", "DOCKER_HOST"):
        if key in os.environ:
            env[key] = os.environ[key]
    return env


def make_venv(root: Path, requirements: list[str], cache: Path | None = None) -> Venv:
    """A new venv at ``root`` with exactly ``requirements`` (wheels, paths, names) installed."""
    uv = _uv()
    subprocess.run(
        [uv, "venv", "--quiet", "--python", sys.executable, str(root)],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    proc = subprocess.run(
        [uv, "pip", "install", "--quiet", "--python", str(root / "bin" / "python"), *requirements],
        capture_output=True, text=True,
    )  # fmt: skip
    assert proc.returncode == 0, f"installing {requirements} failed:\n{proc.stderr}"
    return Venv(root, isolated_env(root, cache or root / "expkit-cache"))


def write_project(root: Path, files: dict[str, str]) -> Path:
    for relpath, text in files.items():
        path = root / relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root
