"""Symbolic links in a run's collected ``outputs/``: one rule for every target.

A script may leave links in ``outputs/``. The run record keeps regular files
and folders only, so once the outputs are on this machine each link is
settled:

- a link whose target, fully resolved, is a file or folder *inside*
  ``outputs/`` is replaced by that content, each file of it a hard link to
  the one collected copy (links inside a linked folder follow the same rule,
  meaning what they meant where they were; a link to a folder that contains
  it is a loop, and is dropped). A maze of links to folders therefore costs
  names, never bytes: every real file is stored once, and the names count
  against the run's collection bound (expkit.collectlimits);
- every other link (pointing outside ``outputs/``, absolute or escaping with
  ``..``, dangling, or to a special file) is dropped without being followed
  or read: it may name a secret such as ``~/.ssh/id_rsa``.

Everything left out is named in a note (:func:`left_out`), which the target
returns in ``Collected.notes`` (the core shows it and logs it). Targets
bring regular files and folders into the record first, write the links that
stay inside as relative links, and then call :func:`settle` with the link
texts the script wrote; :func:`settle_tree` applies the rule in place to a
folder as the script left it.

:func:`list_outputs` lists what is left: the files a run record keeps.

Standard library only; imported when a run's outputs are collected.
"""

from __future__ import annotations

import os
import shutil
import stat
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping

    from expkit.collectlimits import Budget

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

    def __init__(self, root: str, note: Callable[[str], None], budget: Budget | None) -> None:
        self.root = root
        self.real_root = os.path.realpath(root)
        self.note = note
        self.budget = budget

    def name(self, path: str) -> str:
        return os.path.relpath(path, self.root).replace(os.sep, "/")

    def link_file(self, real: str, path: str) -> None:
        """Put file ``real`` (inside the root) at ``path`` too: a hard link, no new bytes."""
        if self.budget is not None and not self.budget.take(self.name(path), 0):
            return
        try:
            os.link(real, path)
        except OSError:  # a file system without hard links: one more copy
            shutil.copyfile(real, path)
            shutil.copymode(real, path)

    def left_out(self, path: str, why: str, target: str | None = None) -> None:
        self.note(left_out(self.name(path), why, target))

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
            self.link_file(real, path)
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
        """Copy folder ``source`` to ``dest`` (files as hard links); its links are
        resolved where they are. Each folder made counts against the budget as a
        file does: a maze of links to empty folders is bounded too."""
        if self.budget is not None and not self.budget.take(self.name(dest) + "/", 0):
            return
        os.mkdir(dest)
        for entry in sorted(os.scandir(source), key=lambda e: e.name):
            target = os.path.join(dest, entry.name)
            if entry.is_symlink():
                self.place(target, os.path.realpath(entry.path), os.readlink(entry.path), stack)
            elif entry.is_dir(follow_symlinks=False):
                self.copy_tree(entry.path, target, (*stack, os.path.realpath(entry.path)))
            elif entry.is_file(follow_symlinks=False):
                self.link_file(entry.path, target)
            else:
                self.left_out(target, NOT_REGULAR)


def settle_tree(root: str, note: Callable[[str], None], budget: Budget | None = None) -> None:
    """Apply the rule to every link under ``root`` as the script left it, in place.

    Special files (FIFOs, sockets, devices) are removed with a note too.
    ``budget`` counts the names the links add (expkit.collectlimits).
    """
    _Settler(root, note, budget).walk(root)


def settle(
    root: str,
    links: Mapping[str, str],
    note: Callable[[str], None],
    budget: Budget | None = None,
) -> None:
    """Apply the rule to the links at ``links``' paths (relative to ``root``).

    For a target that wrote the links itself (as relative links, from an
    archive): ``links`` maps each path to the link text the script wrote,
    which the notes name. A path that is no longer a link is skipped.
    ``budget`` counts the names the links add (expkit.collectlimits).
    """
    settler = _Settler(root, note, budget)
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


def log_notes(run_dir: str | os.PathLike[str], notes: Iterable[str]) -> None:
    """Notes about a lost run's outputs, into its ``log.txt`` and onto stderr.

    A run collected normally returns its notes in ``Collected.notes`` and the
    core writes them; a lost run (``expkit_stop_orphan``) has no such channel,
    so its plugin records them here, where ``exp runs logs`` shows them.
    """
    import sys

    text = "".join(f"exp: note: {message}\n" for message in notes)
    if not text:
        return
    try:
        with open(os.path.join(run_dir, "log.txt"), "ab") as log:
            log.write(text.encode("utf-8", "surrogateescape"))
    except OSError:
        pass  # a full disk: stderr still tells the user now
    sys.stderr.write(text)
    sys.stderr.flush()
