"""Collecting a local run's ``outputs/`` from its working copy into the run record.

The record keeps regular files and folders only, each file its own: a file
is moved (a rename on the same file system) when nothing else shares it,
and copied when it is a hard link (its inode shared with a file elsewhere,
maybe outside the project, whose later changes must not change the record).
Symbolic links follow the rule every target shares (expkit.outputs): those
that stay inside ``outputs/`` are written into the record as relative links
and then settled there (each real file stored once), the others are dropped
unread, with a note. Special files (FIFOs, sockets, devices) are dropped with
a note too, and an ``outputs`` that is itself a symbolic link is not
collected at all. What one run may collect is bounded (expkit.collectlimits).
"""

from __future__ import annotations

import errno
import os
import shutil
import stat
from collections.abc import Callable
from pathlib import Path

from expkit.collectlimits import Budget
from expkit.outputs import NOT_REGULAR, OUTPUTS_IS_A_LINK, OUTSIDE, inside, left_out, settle


class _Collector:
    def __init__(self, source: str, dest: str, note: Callable[[str], None]) -> None:
        self.source, self.dest, self.note = source, dest, note
        self.real_source = os.path.realpath(source)
        self.budget = Budget(note=note)
        self.links: dict[str, str] = {}

    def walk(self, rel: str) -> None:
        folder = os.path.join(self.source, rel) if rel else self.source
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError:
            return
        for entry in entries:
            name = f"{rel}/{entry.name}" if rel else entry.name
            target = os.path.join(self.dest, name)
            if entry.is_symlink():
                self.link(entry.path, name, target)
            elif entry.is_dir(follow_symlinks=False):
                _clear(target, keep_dir=True)
                os.makedirs(target, exist_ok=True)
                self.walk(name)
            elif entry.is_file(follow_symlinks=False):
                info = entry.stat(follow_symlinks=False)
                if self.budget.take(name, info.st_size):
                    _clear(target)
                    _bring(entry.path, target, info)
            else:
                self.note(left_out(name, NOT_REGULAR))

    def link(self, path: str, name: str, target: str) -> None:
        """Write a link that stays inside outputs/ as a relative link; note the others."""
        text = os.readlink(path)
        real = os.path.realpath(path)
        if not inside(real, self.real_source):
            self.note(left_out(name, OUTSIDE, text))
            return
        # The link's own folders are plain folders (links are never descended), so
        # its place and its target relate in the record as they do here.
        rel_target = os.path.relpath(real, self.real_source)
        relative = os.path.relpath(rel_target, os.path.dirname(name) or ".")
        _clear(target)
        os.symlink(relative, target)
        self.links[name] = text


def _clear(path: str, keep_dir: bool = False) -> None:
    """Make room at ``path`` in the record (a run collected again merges into it)."""
    if os.path.islink(path) or os.path.isfile(path):
        os.unlink(path)
    elif os.path.isdir(path) and not keep_dir:
        shutil.rmtree(path)


def _bring(src: str, dest: str, info: os.stat_result) -> None:
    """Move ``src`` to ``dest``; copy it when its inode is shared (a hard link)."""
    if info.st_nlink == 1:
        try:
            os.rename(src, dest)
            return
        except OSError as exc:
            if exc.errno != errno.EXDEV:
                raise
    try:
        shutil.copyfile(src, dest)
        os.chmod(dest, stat.S_IMODE(info.st_mode))
    except OSError:
        # A copy cut short (a full disk) must never pass for the collected file.
        if os.path.lexists(dest):
            os.unlink(dest)
        raise


def collect_outputs(
    source: Path, dest: Path, note: Callable[[str], None] = lambda message: None
) -> tuple[str, ...]:
    """Bring what ``source`` holds into ``dest`` per the module's rule; list ``dest``'s files.

    ``note`` receives one message per link or special file left out, and one
    when the collection bound cut.
    """
    dest.mkdir(parents=True, exist_ok=True)
    if source.is_symlink():
        note(left_out("", OUTPUTS_IS_A_LINK, os.readlink(source)))
    elif source.is_dir():
        collector = _Collector(os.fspath(source), os.fspath(dest), note)
        collector.walk("")
        settle(os.path.realpath(dest), collector.links, note, collector.budget)
        collector.budget.close()
    from expkit.outputs import list_outputs

    return list_outputs(dest)
