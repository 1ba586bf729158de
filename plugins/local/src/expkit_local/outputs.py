"""Collecting a local run's ``outputs/`` from its working copy into the run record.

The record keeps regular files and folders only. Symbolic links the script
left in ``outputs/`` follow one rule (the same on every first-party target):

- a link whose target, fully resolved, is a file or folder *inside*
  ``outputs/`` is replaced by a copy of that content (links inside a copied
  folder follow the same rule; a link to a folder that contains it is a loop
  and is dropped);
- every other link — pointing outside ``outputs/``, dangling, or to a
  special file — is dropped without being followed or read (it may point at
  a secret such as ``~/.ssh/id_rsa``), and named in a note.

Special files (FIFOs, sockets, devices) are dropped with a note too, and an
``outputs`` that is itself a symbolic link is not collected at all. Regular
files are moved (a rename on the same file system), never copied.
"""

from __future__ import annotations

import os
import shutil
import stat
from collections.abc import Callable
from pathlib import Path

#: Links to folders nested deeper than this are a pathological maze, not outputs.
_MAX_DEPTH = 32


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder + os.sep)


class _Links:
    """Replaces the links under ``root`` (a working copy's outputs/) in place, per the rule."""

    def __init__(self, root: str, note: Callable[[str], None]) -> None:
        self.root = root
        self.real_root = os.path.realpath(root)
        self.note = note

    def shown(self, path: str) -> str:
        return "outputs/" + os.path.relpath(path, self.root).replace(os.sep, "/")

    def resolve_tree(self, folder: str) -> None:
        """Replace every link under ``folder`` by its content, or drop it."""
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError:
            return
        for entry in entries:
            if entry.is_symlink():
                text, real = os.readlink(entry.path), os.path.realpath(entry.path)
                os.unlink(entry.path)
                self.place(entry.path, real, text, ())
            elif entry.is_dir(follow_symlinks=False):
                self.resolve_tree(entry.path)
            elif not entry.is_file(follow_symlinks=False):
                os.unlink(entry.path)
                self.note(f"left out {self.shown(entry.path)}: not a regular file or folder")

    def place(self, path: str, real: str, text: str, stack: tuple[str, ...]) -> None:
        """Write at ``path`` the content of a link to ``text`` (resolved: ``real``), or note
        why it is left out. ``stack``: the folders being copied around ``path``."""
        if not _inside(real, self.real_root):
            self.left_out(path, text, "it points outside outputs/ (never followed)")
            return
        try:
            st = os.stat(real)
        except OSError:
            self.left_out(path, text, "its target does not exist")
            return
        if stat.S_ISREG(st.st_mode):
            shutil.copyfile(real, path)
            os.chmod(path, stat.S_IMODE(st.st_mode))
        elif stat.S_ISDIR(st.st_mode):
            here = os.path.join(os.path.realpath(os.path.dirname(path)), os.path.basename(path))
            if _inside(here, real) or real in stack:
                self.left_out(path, text, "a link to a folder that contains it is a loop")
            elif len(stack) >= _MAX_DEPTH:
                self.left_out(path, text, "links nested too deeply")
            else:
                self.copy_tree(real, path, (*stack, real))
        else:
            self.left_out(path, text, "its target is not a regular file or folder")

    def left_out(self, path: str, text: str, why: str) -> None:
        self.note(f"left out {self.shown(path)} -> {text}: {why}")

    def copy_tree(self, source: str, dest: str, stack: tuple[str, ...]) -> None:
        """Copy folder ``source`` to ``dest``; links in it are resolved where they are
        (a relative link means what it meant there) and follow the same rule."""
        os.mkdir(dest)
        for entry in sorted(os.scandir(source), key=lambda e: e.name):
            target = os.path.join(dest, entry.name)
            if entry.is_symlink():
                text = os.readlink(entry.path)
                self.place(target, os.path.realpath(entry.path), text, stack)
            elif entry.is_dir(follow_symlinks=False):
                self.copy_tree(entry.path, target, (*stack, os.path.realpath(entry.path)))
            elif entry.is_file(follow_symlinks=False):
                shutil.copyfile(entry.path, target)
                shutil.copymode(entry.path, target)
            else:
                self.note(f"left out {self.shown(target)}: not a regular file or folder")


def _move(src: Path, dest: Path, note: Callable[[str], None], shown: str) -> None:
    """Move ``src`` to ``dest``, merging into an existing folder of the same name."""
    mode = src.lstat().st_mode
    if stat.S_ISDIR(mode):
        if dest.is_dir() and not dest.is_symlink():
            for child in sorted(src.iterdir()):
                _move(child, dest / child.name, note, f"{shown}/{child.name}")
            src.rmdir()
            return
    elif not stat.S_ISREG(mode):
        note(f"left out {shown}: not a regular file or folder")
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
        note(f"left out outputs -> {os.readlink(source)}: outputs/ itself is a link (never followed)")
    elif source.is_dir():
        _Links(os.fspath(source), note).resolve_tree(os.fspath(source))
        for child in sorted(source.iterdir()):
            _move(child, dest / child.name, note, f"outputs/{child.name}")
    from expkit.history import list_outputs

    return list_outputs(dest)
