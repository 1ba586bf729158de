"""Fixtures shared by the cross-package tests: real projects, the real CLI.

Tests drive ``exp`` as a subprocess (the installed console script), over real
``aml_config/`` folders written into a temporary directory.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
REQUIRE_ENGINES = os.environ.get("EXPKIT_REQUIRE_ENGINES") == "1" or os.environ.get("CI") == "true"


def exp_executable() -> str:
    found = shutil.which("exp", path=str(Path(sys.executable).parent)) or shutil.which("exp")
    if not found:
        raise RuntimeError("the `exp` console script is not installed (run `make dev`)")
    return found


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


@dataclass
class Project:
    root: Path
    env: dict[str, str]

    def write(self, relpath: str, text: str) -> Path:
        path = self.root / relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return path

    def exp(self, *args: str, timeout: float = 300, input: str | None = None, **kw) -> Result:
        proc = subprocess.run(
            [exp_executable(), *args],
            cwd=kw.pop("cwd", self.root),
            env={**self.env, **kw.pop("env", {})},
            capture_output=True,
            text=True,
            timeout=timeout,
            input=input,
        )
        return Result(proc.returncode, proc.stdout, proc.stderr)

    def popen(self, *args: str, **kw) -> subprocess.Popen:
        return subprocess.Popen(
            [exp_executable(), *args],
            cwd=kw.pop("cwd", self.root),
            env={**self.env, **kw.pop("env", {})},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            **kw,
        )


@pytest.fixture(scope="session")
def exp_cache(tmp_path_factory) -> Path:
    """One expkit cache for the session: environments built once are reused."""
    return tmp_path_factory.mktemp("exp-cache")


@pytest.fixture
def project(tmp_path, exp_cache) -> Project:
    """An empty project folder with an isolated environment for ``exp``."""
    root = tmp_path / "proj"
    root.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("EXPKIT_")}
    env["EXPKIT_CACHE_DIR"] = str(exp_cache)
    env["EXPKIT_SSH_KEEP"] = "0"  # see the repository's conftest.py
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env.pop("PYTHONPATH", None)
    return Project(root=root, env=env)
