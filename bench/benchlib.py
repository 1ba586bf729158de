"""The benchmark case interface (see bench/README.md), shared by every ``cases_*.py``.

A case compares commands side by side: the first is the baseline, the
others are measured against it. ``bench/run.py`` calls ``setup`` once in a
fresh temporary folder, runs every command once to warm up, then runs the
commands in turn (A B A B ...) ``--repeat`` times, and reports medians.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent


class Skip(Exception):
    """Raised by a setup whose engine or tool is missing: the case is reported, not run."""


@dataclass
class Workspace:
    """What ``setup`` prepared: where and with which environment commands run."""

    root: Path
    cwd: Path
    env: dict[str, str]
    #: Anything the case's callables want to share (paths, image names...).
    data: dict[str, Any] = field(default_factory=dict)


Argv = Sequence[str] | Callable[[Workspace], Sequence[str]]


@dataclass(frozen=True)
class Command:
    """One command line to time."""

    label: str
    argv: Argv
    #: Untimed, before every timed run of this command (edit a file, remove an image...).
    before: Callable[[Workspace], None] | None = None
    #: Exit codes that count as success.
    ok_codes: tuple[int, ...] = (0,)
    #: Seconds to report instead of the command's wall time: called after it ended with
    #: the Workspace and the wall-clock time (time.time()) it was started at, e.g. to
    #: read a phase's end from what the command recorded. ``cpu`` stays the whole command's.
    measure: Callable[[Workspace, float], float] | None = None

    def resolve(self, ws: Workspace) -> list[str]:
        return list(self.argv(ws) if callable(self.argv) else self.argv)


@dataclass(frozen=True)
class Target:
    """The goal a case's last command must meet; set one or more limits.

    ``max_overhead_s``: median(last) - median(baseline) at most this;
    ``max_ratio``: median(last) / median(baseline) at most this;
    ``max_seconds``: median(last) at most this.
    """

    max_overhead_s: float | None = None
    max_ratio: float | None = None
    max_seconds: float | None = None

    def describe(self) -> str:
        parts = []
        if self.max_overhead_s is not None:
            parts.append(f"+{self.max_overhead_s:.2f}s")
        if self.max_ratio is not None:
            parts.append(f"x{self.max_ratio:.2f}")
        if self.max_seconds is not None:
            parts.append(f"<{self.max_seconds:.2f}s")
        return " ".join(parts)

    def met(self, baseline: float | None, measured: float) -> bool:
        if self.max_seconds is not None and measured > self.max_seconds:
            return False
        if baseline is not None:
            if self.max_overhead_s is not None and measured - baseline > self.max_overhead_s:
                return False
            if self.max_ratio is not None and measured > baseline * self.max_ratio:
                return False
        return True


@dataclass(frozen=True)
class Case:
    """Commands compared side by side; ``commands[0]`` is the baseline."""

    name: str
    description: str
    setup: Callable[[Path], Workspace]
    commands: Sequence[Command]
    target: Target | None = None
    teardown: Callable[[Workspace], None] | None = None


# --------------------------------------------------------------------------- helpers for cases


def python_executable() -> str:
    """The interpreter running the benchmark (the dev venv's, where ``exp`` lives)."""
    return sys.executable


def exp_executable() -> str:
    found = shutil.which("exp", path=str(Path(sys.executable).parent)) or shutil.which("exp")
    if not found:
        raise Skip("the `exp` console script is not installed (run `make dev`)")
    return found


def clean_env(root: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The caller's environment without EXPKIT_* settings, with a private expkit cache
    and the benchmark interpreter's folder first on PATH (so `python` means it)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("EXPKIT_")}
    env["EXPKIT_CACHE_DIR"] = str(root / "expkit-cache")
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env.pop("PYTHONPATH", None)
    # Installed packages normally carry compiled bytecode (pip compiles on install);
    # without it every start of `exp` recompiles typer & co. and measures nothing real.
    # The warm-up round writes the .pyc files.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.update(extra or {})
    return env
