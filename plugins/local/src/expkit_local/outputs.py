"""Collecting a local run's ``outputs/`` from its working copy into the run record.

The record keeps regular files and folders only. Symbolic links the script
left in ``outputs/`` follow the rule every target shares (expkit.outputs:
copied when they stay inside ``outputs/``, else dropped unread, with a
note), applied in the working copy first. Special files (FIFOs, sockets,
devices) are dropped with a note too, and an ``outputs`` that is itself a
symbolic link is not collected at all. Regular files are then moved (a
rename on the same file system), never copied.
"""

from __future__ import annotations

import os
import shutil
import stat
from collections.abc import Callable
from pathlib import Path

from expkit.outputs import NOT_REGULAR, OUTPUTS_IS_A_LINK, left_out, settle_tree


def _move(src: Path, dest: Path, note: Callable[[str], None], name: str) -> None:
    """Move ``src`` (``outputs/NAME``) to ``dest``, merging into an existing folder."""
    mode = src.lstat().st_mode
    if stat.S_ISDIR(mode):
        if dest.is_dir() and not dest.is_symlink():
            for child in sorted(src.iterdir()):
                _move(child, dest / child.name, note, f"{name}/{child.name}")
            src.rmdir()
            return
    elif not stat.S_ISREG(mode):
        note(left_out(name, NOT_REGULAR))
        return
    if dest.is_symlink() or dest.is_file():
        dest.unlink()
    elif dest.is_dir():
        shutil.rmtree(dest)
    # A rename when both sides share a filesystem (the usual case): no copy.
    shutil.move(os.fspath(src), os.fspath(dest))


def collect_outputs(
    source: Path, dest: Path, note: Callable[[str], None] = lambda message: None
) -> tuple[str, ...]:
    """Move what ``source`` holds into ``dest`` per the module's rule; list ``dest``'s files.

    ``note`` receives one message per link or special file left out.
    """
    dest.mkdir(parents=True, exist_ok=True)
    if source.is_symlink():
        note(left_out("", OUTPUTS_IS_A_LINK, os.readlink(source)))
    elif source.is_dir():
        settle_tree(os.fspath(source), note)
        for child in sorted(source.iterdir()):
            _move(child, dest / child.name, note, child.name)
    from expkit.outputs import list_outputs

    return list_outputs(dest)
