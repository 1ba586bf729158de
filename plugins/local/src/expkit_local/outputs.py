"""Collecting a local run's ``outputs/`` from its working copy into the run record."""

from __future__ import annotations

import os
import shutil
from pathlib import Path


def _move(src: Path, dest: Path) -> None:
    """Move ``src`` to ``dest``, merging into an existing folder of the same name."""
    if dest.is_dir() and not dest.is_symlink() and src.is_dir() and not src.is_symlink():
        for child in src.iterdir():
            _move(child, dest / child.name)
        src.rmdir()
        return
    if dest.exists() or dest.is_symlink():
        if dest.is_dir() and not dest.is_symlink():
            shutil.rmtree(dest)
        else:
            dest.unlink()
    # A rename when both sides share a filesystem (the usual case): no copy.
    # Symlinks move as links, never followed, so a script cannot make us read
    # files from elsewhere into the record.
    shutil.move(os.fspath(src), os.fspath(dest))


def collect_outputs(source: Path, dest: Path) -> tuple[str, ...]:
    """Move everything under ``source`` into ``dest``; return all paths under ``dest``.

    Paths are relative to ``dest`` with POSIX separators, files (and symlinks)
    only, sorted. A ``source`` that is missing or is not a real folder yields
    what ``dest`` already holds.
    """
    dest.mkdir(parents=True, exist_ok=True)
    if source.is_dir() and not source.is_symlink():
        for child in sorted(source.iterdir()):
            _move(child, dest / child.name)
    found = []
    for root, dirs, files in os.walk(dest):
        rel_root = Path(root).relative_to(dest)
        # os.walk lists symlinks to folders among dirs; record them, do not descend.
        for name in [d for d in dirs if os.path.islink(os.path.join(root, d))]:
            found.append((rel_root / name).as_posix())
        for name in files:
            found.append((rel_root / name).as_posix())
    return tuple(sorted(found))
