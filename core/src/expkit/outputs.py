"""Symbolic links in a run's collected ``outputs/``: one rule for every target.

A script may leave links in ``outputs/``. The run record keeps regular files
and folders only, so once the outputs are on this machine each link is
settled:

- a link whose target, fully resolved, is a file or folder *inside*
  ``outputs/`` is replaced by a copy of that content (links inside a copied
  folder follow the same rule, meaning what they meant where they were; a
  link to a folder that contains it is a loop, and is dropped);
- every other link (pointing outside ``outputs/``, absolute or escaping with
  ``..``, dangling, or to a special file) is dropped without being followed
  or read: it may name a secret such as ``~/.ssh/id_rsa``.

Everything left out is named in a note (:func:`left_out`), which the target
returns in ``Collected.notes`` (the core shows it and logs it). Targets call
:func:`settle_tree` on a folder as the script left it, or :func:`settle` when
they wrote the links themselves (from an archive) and know the link texts the
script wrote.

:func:`list_outputs` lists what is left: the files a run record keeps.

Standard library only; imported when a run's outputs are collected.
"""

from __future__ import annotations

import os
import shutil
import stat
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

#: Folders nested deeper than this inside a copied link are a maze, not outputs.
MAX_DEPTH = 32
OUTSIDE = "it points outside outputs/ (never followed)"
NOT_REGULAR = "not a regular file or folder"
OUTPUTS_IS_A_LINK = "outputs/ itself is a link (never followed)"


def left_out(name: str, why: str, target: str | None = None) -> str:
    """The note for what is not collected: ``left out outputs/NAME -> TARGET: WHY``.

    ``name`` is relative to ``outputs/`` (POSIX, ``""`` for ``outputs/``
    itself); ``target`` is the link text the script wrote, if it is a link.
    """
    shown = f"outputs/{name}" if name else "outputs"
    arrow = "" if target is None else f" -> {target}"
    return f"left out {shown}{arrow}: {why}"


def inside(path: str, folder: str, sep: str = os.sep) -> bool:
    """True when normalized ``path`` is ``folder`` or below it (no file system access)."""
    return path == folder or path.startswith(folder.rstrip(sep) + sep)


class _Settler:
    """Applies the rule under ``root`` in place; notes name paths relative to it."""

    def __init__(self, root: str, note: Callable[[str], None]) -> None:
        self.root = root
        self.real_root = os.path.realpath(root)
        self.note = note

    def left_out(self, path: str, why: str, target: str | None = None) -> None:
        name = os.path.relpath(path, self.root).replace(os.sep, "/")
        self.note(left_out(name, why, target))

    def walk(self, folder: str) -> None:
        """Settle every link under ``folder``; drop special files."""
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError:
            return
        for entry in entries:
            if entry.is_symlink():
                self.unlink_and_place(entry.path, os.readlink(entry.path))
            elif entry.is_dir(follow_symlinks=False):
                self.walk(entry.path)
            elif not entry.is_file(follow_symlinks=False):
                os.unlink(entry.path)
                self.left_out(entry.path, NOT_REGULAR)

    def unlink_and_place(self, path: str, text: str) -> None:
        real = os.path.realpath(path)  # resolved before the link goes
        os.unlink(path)
        self.place(path, real, text, ())

    def place(self, path: str, real: str, text: str, stack: tuple[str, ...]) -> None:
        """Write at ``path`` the content of a link to ``text`` (resolved: ``real``), or
        note why not. ``stack``: the folders being copied around ``path``."""
        if real == self.real_root:
            self.left_out(path, "a link to outputs/ itself is a loop", text)
            return
        if not inside(real, self.real_root):
            self.left_out(path, OUTSIDE, text)
            return
        try:
            info = os.stat(real)
        except OSError:
            self.left_out(path, "its target does not exist", text)
            return
        if stat.S_ISREG(info.st_mode):
            shutil.copyfile(real, path)
            os.chmod(path, stat.S_IMODE(info.st_mode))
        elif not stat.S_ISDIR(info.st_mode):
            self.left_out(path, "its target is not a regular file or folder", text)
        elif inside(self.real_place(path), real) or real in stack:
            self.left_out(path, "a link to a folder that contains it is a loop", text)
        elif len(stack) >= MAX_DEPTH:
            self.left_out(path, "links nested too deeply", text)
        else:
            self.copy_tree(real, path, (*stack, real))

    @staticmethod
    def real_place(path: str) -> str:
        """Where ``path`` really is: its folder resolved, its own name kept."""
        return os.path.join(os.path.realpath(os.path.dirname(path)), os.path.basename(path))

    def copy_tree(self, source: str, dest: str, stack: tuple[str, ...]) -> None:
        """Copy folder ``source`` to ``dest``; its links are resolved where they are."""
        os.mkdir(dest)
        for entry in sorted(os.scandir(source), key=lambda e: e.name):
            target = os.path.join(dest, entry.name)
            if entry.is_symlink():
                self.place(target, os.path.realpath(entry.path), os.readlink(entry.path), stack)
            elif entry.is_dir(follow_symlinks=False):
                self.copy_tree(entry.path, target, (*stack, os.path.realpath(entry.path)))
            elif entry.is_file(follow_symlinks=False):
                shutil.copyfile(entry.path, target)
                shutil.copymode(entry.path, target)
            else:
                self.left_out(target, NOT_REGULAR)


def settle_tree(root: str, note: Callable[[str], None]) -> None:
    """Apply the rule to every link under ``root`` as the script left it, in place.

    Special files (FIFOs, sockets, devices) are removed with a note too.
    """
    _Settler(root, note).walk(root)


def settle(root: str, links: Mapping[str, str], note: Callable[[str], None]) -> None:
    """Apply the rule to the links at ``links``' paths (relative to ``root``).

    For a target that wrote the links itself (as relative links, from an
    archive): ``links`` maps each path to the link text the script wrote,
    which the notes name. A path that is no longer a link is skipped.
    """
    settler = _Settler(root, note)
    for name in sorted(links):
        path = os.path.join(root, name)
        if os.path.islink(path):
            settler.unlink_and_place(path, links[name])


def list_outputs(outputs_dir: str | os.PathLike[str]) -> tuple[str, ...]:
    """Regular files under a run's ``outputs/``, relative POSIX paths, sorted.

    Symbolic links are neither listed nor followed (plugins replace links that
    stay inside ``outputs/`` by their content and drop the others at collect;
    see docs/plugins.md), so the list is exactly what ``exp runs download``
    writes. Special files are not listed either.
    """
    if os.path.islink(outputs_dir):
        return ()
    found: list[str] = []
    stack = [("", os.fspath(outputs_dir))]
    while stack:
        rel, path = stack.pop()
        try:
            entries = list(os.scandir(path))
        except OSError:  # missing, or not a folder
            continue
        for entry in entries:
            name = f"{rel}/{entry.name}" if rel else entry.name
            if entry.is_dir(follow_symlinks=False):
                stack.append((name, entry.path))
            elif entry.is_file(follow_symlinks=False):
                found.append(name)
    return tuple(sorted(found))


__all__ = [
    "MAX_DEPTH", "NOT_REGULAR", "OUTPUTS_IS_A_LINK", "OUTSIDE",
    "inside", "left_out", "list_outputs", "settle", "settle_tree",
]  # fmt: skip
