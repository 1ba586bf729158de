"""What a running script sees: the EXPKIT_* variables and the ``expkit`` shim.

The names here are a documented interface (docs/configuration.md, "Inside a
run"); plugins fill in the paths as seen where the script runs.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from expkit.tracking import METRICS_ENV

if TYPE_CHECKING:
    from expkit.model import ComputeTarget

RUN_ID = "EXPKIT_RUN_ID"
RUN_NUMBER = "EXPKIT_RUN_NUMBER"
TARGET = "EXPKIT_TARGET"
OUTPUTS_DIR = "EXPKIT_OUTPUTS_DIR"
METRICS_FILE = METRICS_ENV
SHARED_DIR = "EXPKIT_SHARED_DIR"
PROJECT_DIR = "EXPKIT_PROJECT_DIR"
#: Workbench's name for the shared folder; samples append file names to it directly
#: (``os.environ[...] + 'model.pkl'``), so its value ends with a separator.
WORKBENCH_SHARED_DIR = "AZUREML_NATIVE_SHARE_DIRECTORY"


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


def shared_dir_variables(path: str, sep: str = "/") -> dict[str, str]:
    """The shared folder (``nativeSharedDirectory``) as the script sees it where it runs:
    ``EXPKIT_SHARED_DIR`` and Workbench's ``AZUREML_NATIVE_SHARE_DIRECTORY``."""
    return {SHARED_DIR: path, WORKBENCH_SHARED_DIR: path.rstrip(sep) + sep}


def shared_directory(compute: ComputeTarget) -> Path | None:
    """The host folder of ``nativeSharedDirectory`` (``~`` expanded, created when
    missing), or None when the target has none."""
    if not compute.native_shared_directory:
        return None
    from expkit.errors import ConfigError

    path = Path(os.path.expanduser(compute.native_shared_directory))
    if not path.is_absolute():
        raise ConfigError(
            f"nativeSharedDirectory must be an absolute path (or start with ~), got "
            f"{compute.native_shared_directory!r}",
            file=compute.source,
            key="nativeSharedDirectory",
        )
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(
            f"cannot create {path}: {exc.strerror}",
            file=compute.source,
            key="nativeSharedDirectory",
        ) from None
    return path


def with_pythonpath(
    env: Mapping[str, str], directory: str, inherited: str | None
) -> dict[str, str]:
    """``env`` with ``directory`` first on PYTHONPATH (keeping what was there)."""
    out = dict(env)
    rest = out.get("PYTHONPATH", inherited or "")
    out["PYTHONPATH"] = directory + (os.pathsep + rest if rest else "")
    return out


#: What a run finds on its path (relative path there -> module beside this one).
#: ``azureml/`` has no ``__init__.py``: a namespace portion, so an environment's
#: real ``azureml`` package always wins over the compatibility module.
RUNTIME_FILES = {
    "expkit/__init__.py": "tracking.py",
    "azureml/logging.py": "azureml_logging.py",
}


def runtime_dir() -> Path:
    """A directory holding ``expkit/__init__.py`` (the tracking module alone) and
    ``azureml/logging.py`` (Workbench's logger, mapped onto it).

    Put it first on the script's PYTHONPATH (or copy it into the container) so
    ``from expkit import log`` and Workbench's ``from azureml.logging import
    get_azureml_logger`` work without installing anything there. Written once
    per version into the user cache, atomically.
    """
    from expkit import __version__
    from expkit.paths import cache_dir

    root = cache_dir() / "runtime" / __version__
    here = Path(__file__).parent
    for relpath, module in RUNTIME_FILES.items():
        target = root / relpath
        source = (here / module).read_text(encoding="utf-8")
        if not target.exists() or target.read_text(encoding="utf-8") != source:
            from expkit.fsutil import atomic_write_text

            target.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_text(target, source)
    return root
