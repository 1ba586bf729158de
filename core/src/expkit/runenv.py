"""What a running script sees: the EXPKIT_* variables and the ``expkit`` shim.

The names here are a documented interface (docs/configuration.md, "Inside a
run"); plugins fill in the paths as seen where the script runs.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from expkit.tracking import METRICS_ENV

RUN_ID = "EXPKIT_RUN_ID"
RUN_NUMBER = "EXPKIT_RUN_NUMBER"
TARGET = "EXPKIT_TARGET"
OUTPUTS_DIR = "EXPKIT_OUTPUTS_DIR"
METRICS_FILE = METRICS_ENV
SHARED_DIR = "EXPKIT_SHARED_DIR"
PROJECT_DIR = "EXPKIT_PROJECT_DIR"


def base_environment(
    run_id: str, number: int, target: str, user_vars: Mapping[str, str]
) -> dict[str, str]:
    """Target-independent variables: the runconfig's EnvironmentVariables plus run identity."""
    env = {str(k): str(v) for k, v in user_vars.items()}
    env.update({RUN_ID: run_id, RUN_NUMBER: str(number), TARGET: target})
    # Scripts' prints must reach the log as they happen, not at exit.
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


def path_variables(*, outputs_dir: str, metrics_file: str) -> dict[str, str]:
    """Path variables as the script sees them on its target."""
    return {OUTPUTS_DIR: outputs_dir, METRICS_FILE: metrics_file}


def with_pythonpath(
    env: Mapping[str, str], directory: str, inherited: str | None
) -> dict[str, str]:
    """``env`` with ``directory`` first on PYTHONPATH (keeping what was there)."""
    out = dict(env)
    rest = out.get("PYTHONPATH", inherited or "")
    out["PYTHONPATH"] = directory + (os.pathsep + rest if rest else "")
    return out


def runtime_source() -> str:
    """Source of the standalone ``expkit`` module scripts import inside a run."""
    return Path(__file__).with_name("tracking.py").read_text(encoding="utf-8")


def runtime_dir() -> Path:
    """A directory holding ``expkit/__init__.py`` (the tracking module alone).

    Put it first on the script's PYTHONPATH (or copy it into the container) so
    ``from expkit import log`` works without installing expkit there. Written
    once per version into the user cache, atomically.
    """
    from expkit import __version__
    from expkit.paths import cache_dir

    root = cache_dir() / "runtime" / __version__
    target = root / "expkit" / "__init__.py"
    source = runtime_source()
    if not target.exists() or target.read_text(encoding="utf-8") != source:
        from expkit.fsutil import atomic_write_text

        target.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(target, source)
    return root
