"""The script and its arguments: where the script is, what argv the target runs."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from expkit.errors import UsageError


def script_path(root: Path, cwd: Path, script: str) -> str:
    """``script`` (relative to ``cwd``, or absolute) as a POSIX path relative to ``root``.

    The file must exist inside the project: runs execute a snapshot of the
    project folder, so a script outside it could not be part of the run.
    """
    given = Path(script)
    full = given if given.is_absolute() else Path(cwd) / given
    # Resolve the folder, not the file: a symlinked script keeps its own name.
    full = Path(os.path.realpath(full.parent)) / full.name
    try:
        rel = full.relative_to(os.path.realpath(root))
    except ValueError:
        raise UsageError(
            f"script {script!r} is outside the project: {full}\n"
            f"  the project root is {root}; a run executes a snapshot of that folder."
        ) from None
    if not full.is_file():
        what = "is a folder" if full.is_dir() else "does not exist"
        raise UsageError(f"script {script!r} not found: {full} {what} (project root: {root})")
    return rel.as_posix()


def script_argument(script: str) -> str:
    """``script`` as it must appear on a command line: always read as a path.

    A relative name starting with ``-`` (``-cprint(1)``, ``--version``) would
    be taken for an option by python or spark-submit, and its name run as
    code; ``./`` in front makes it a path again, for every interpreter.
    Targets building a command line from ``RunContext.script`` call this.
    """
    return f"./{script}" if script.startswith("-") else script


def build_argv(argument_vector: Sequence[str], script: str, args: Sequence[str]) -> tuple[str, ...]:
    """ArgumentVector with each ``$file`` element replaced by ``script``, then ``args``.

    Nothing is split, expanded or quoted: every argument reaches the script
    exactly as given (no shell is involved anywhere). The script itself is
    always a path, never an option (:func:`script_argument`).
    """
    path = script_argument(script)
    return tuple(path if item == "$file" else item for item in argument_vector) + tuple(args)
