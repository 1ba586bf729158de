"""Building a managed venv: uv when it is on PATH, else ``python -m venv`` and pip.

Every installer line is handed to the progress reporter as it arrives; a
failed step raises InfrastructureError with the installer's last lines, so
the user sees pip's (or uv's) own explanation, not ours.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
from collections import deque
from collections.abc import Sequence
from pathlib import Path

from expkit.errors import InfrastructureError
from expkit.model import Progress

from expkit_local.venvs import venv_python

_TAIL = 25


def _requirement_args(requirements: Sequence[str]) -> list[str]:
    """Requirement strings as installer arguments.

    conda's ``pip:`` lists may hold options (``-r file``, ``--index-url URL``),
    written as one string: split those like a shell would, keep the rest whole.
    """
    args: list[str] = []
    for item in requirements:
        args += shlex.split(item) if item.lstrip().startswith("-") else [item]
    return args


def _run(
    step: str,
    argv: list[str],
    *,
    cwd: Path,
    progress: Progress | None,
    env: dict[str, str] | None = None,
) -> None:
    if progress is not None:
        progress.step(step)
    tail: deque[str] = deque(maxlen=_TAIL)
    try:
        proc = subprocess.Popen(
            argv,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
    except OSError as exc:
        raise InfrastructureError(f"{step}: cannot start {argv[0]}: {exc.strerror}") from None
    assert proc.stdout is not None
    try:
        with proc.stdout:
            for raw in proc.stdout:
                line = raw.decode("utf-8", "replace").rstrip("\r\n")
                tail.append(line)
                if progress is not None:
                    progress.line(line)
    except BaseException:
        # Canceled (Ctrl-C, SIGTERM): the installer must stop writing before the
        # caller removes the half-built venv.
        proc.kill()
        proc.wait()
        raise
    code = proc.wait()
    if code != 0:
        shown = "".join("\n    " + line for line in tail if line.strip())
        raise InfrastructureError(
            f"building the local environment failed: {step} (`{shlex.join(argv)}`) "
            f"exited with code {code}:{shown}\n"
            "  fix the pip: list in the environment file (or the package index "
            "settings) and run again; nothing was cached."
        )


def installer() -> str | None:
    """The uv executable when present (the fastest installer), else None for venv + pip."""
    return shutil.which("uv")


def build_venv(
    dest: Path, python: str, requirements: Sequence[str], *, cwd: Path, progress: Progress | None
) -> str:
    """Create a venv at ``dest`` from ``python`` and install ``requirements``.

    Relative paths in requirements are taken from ``cwd`` (the project root).
    Returns the installer used (``uv`` or ``pip``).
    """
    uv = installer()
    reqs = _requirement_args(requirements)
    if uv is not None:
        from expkit_local.pipconf import uv_index_args

        # Never let uv fetch an interpreter: the pin was checked against this one.
        env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never"}
        _run(
            f"creating a virtual environment with uv from {python}",
            [uv, "venv", "--no-project", "--python", python, str(dest)],
            cwd=cwd,
            progress=progress,
            env=env,
        )
        if reqs:
            _run(
                f"installing {len(requirements)} pip requirement(s) with uv",
                [uv, "pip", "install", "--python", str(venv_python(dest)), *uv_index_args(), *reqs],
                cwd=cwd,
                progress=progress,
                env=env,
            )
        return "uv"
    venv_args = [python, "-m", "venv"] + ([] if reqs else ["--without-pip"]) + [str(dest)]
    _run(f"creating a virtual environment from {python}", venv_args, cwd=cwd, progress=progress)
    if reqs:
        _run(
            f"installing {len(requirements)} pip requirement(s) with pip",
            [
                str(venv_python(dest)),
                "-m",
                "pip",
                "install",
                "--disable-pip-version-check",
                "--no-input",
                *reqs,
            ],
            cwd=cwd,
            progress=progress,
        )
    return "pip"
