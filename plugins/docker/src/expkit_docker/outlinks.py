"""Symbolic links in a run's collected ``outputs/``: one rule on every first-party target.

A script may leave links in ``outputs/``. The run record keeps regular files
and folders only, so each link is settled once the outputs are on this machine:

- a link whose target, fully resolved, is a file or folder *inside*
  ``outputs/`` is replaced by a copy of that content (links inside a copied
  folder follow the same rule; a link to a folder that contains it is a
  loop, and is dropped);
- every other link (pointing outside ``outputs/``, absolute or escaping with
  ``..``, dangling, or to a special file) is dropped without being followed or
  read: it may name a secret such as ``~/.ssh/id_rsa``. Each one dropped is
  named in a note, which the target writes into the run's log.

Links come out of the container's archive as names and link texts
(:func:`placed`, in the container's terms); only those that stay inside
``outputs/`` there are written here, as relative links, and then settled
(:func:`settle`), which reads nothing outside the collected folder.
"""

from __future__ import annotations

import os
import posixpath
import shutil
import stat
from collections.abc import Callable, Mapping

Note = Callable[[str], None]
#: A copied folder deeper than this is a link maze, not data.
MAX_DEPTH = 64
OUTSIDE = "it points outside outputs/ (never followed)"


def _inside(path: str, folder: str, sep: str = os.sep) -> bool:
    return path == folder or path.startswith(folder.rstrip(sep) + sep)


def placed(name: str, linkname: str, source: str) -> str | None:
    """The relative link text to write for member ``name`` -> ``linkname``, or None.

    ``source`` is the collected folder's path in the container; ``name`` is
    relative to it. None when the link leaves ``source`` there (absolute
    elsewhere, or climbing out with ``..``). (A link to ``source`` itself is
    written; :func:`settle` drops it as a loop.)
    """
    where = posixpath.dirname(posixpath.join(source, name))
    target = posixpath.normpath(posixpath.join(where, linkname))  # absolute linkname wins
    if not _inside(target, source, "/"):
        return None
    return posixpath.relpath(target, where)


class _Settler:
    def __init__(self, root: str, note: Note, texts: Mapping[str, str]) -> None:
        self.root = root
        self.real_root = os.path.realpath(root)
        self.note = note
        self.texts = texts  # path -> the link text the script wrote, for notes

    def shown(self, path: str) -> str:
        return "outputs/" + os.path.relpath(path, self.root).replace(os.sep, "/")

    def drop(self, path: str, why: str) -> None:
        target = self.texts.get(path)
        if target is None:
            try:
                target = os.readlink(path)
            except OSError:
                target = "?"
        os.unlink(path)
        self.note(f"left out {self.shown(path)} -> {target}: {why}")

    def link(self, path: str, stack: tuple[str, ...]) -> None:
        """Replace the link at ``path`` by a copy of its target, or drop it."""
        real = os.path.realpath(path)
        if real == self.real_root:
            return self.drop(path, "a link to outputs/ itself is a loop")
        if not _inside(real, self.real_root):
            return self.drop(path, OUTSIDE)
        try:
            info = os.stat(real)
        except OSError:
            return self.drop(path, "its target does not exist")
        if stat.S_ISREG(info.st_mode):
            os.unlink(path)
            shutil.copyfile(real, path)
            os.chmod(path, stat.S_IMODE(info.st_mode))
        elif stat.S_ISDIR(info.st_mode):
            here = os.path.join(os.path.realpath(os.path.dirname(path)), os.path.basename(path))
            if _inside(here, real) or real in stack:
                return self.drop(path, "a link to a folder that contains it is a loop")
            if len(stack) >= MAX_DEPTH:
                return self.drop(path, "links nested too deeply")
            os.unlink(path)
            self.copy_tree(real, path, (*stack, real))
        else:
            self.drop(path, "its target is not a regular file or folder")

    def copy_tree(self, source: str, dest: str, stack: tuple[str, ...]) -> None:
        os.mkdir(dest)
        for entry in sorted(os.scandir(source), key=lambda e: e.name):
            target = os.path.join(dest, entry.name)
            if entry.is_symlink():
                # Settled as if it were at its original place: what it meant there.
                os.symlink(os.path.realpath(entry.path), target)
                self.link(target, stack)
            elif entry.is_dir(follow_symlinks=False):
                self.copy_tree(entry.path, target, (*stack, os.path.realpath(entry.path)))
            elif entry.is_file(follow_symlinks=False):
                shutil.copyfile(entry.path, target)
                shutil.copymode(entry.path, target)
            else:
                self.note(f"left out {self.shown(target)}: not a regular file or folder")


def settle(root: str, links: Mapping[str, str], note: Note) -> None:
    """Apply the module's rule to ``links``: paths relative to ``root`` -> the link
    texts the script wrote (named in notes)."""
    texts = {os.path.join(root, name): text for name, text in links.items()}
    settler = _Settler(root, note, texts)
    for path in sorted(texts):
        if os.path.islink(path):  # still there: not replaced with a folder above it
            settler.link(path, ())


def files_under(root: str) -> list[str]:
    """Regular files under ``root`` (relative POSIX paths, sorted); links not followed."""
    found: list[str] = []
    stack = [("", root)]
    while stack:
        rel, folder = stack.pop()
        for entry in os.scandir(folder):
            name = f"{rel}/{entry.name}" if rel else entry.name
            if entry.is_dir(follow_symlinks=False):
                stack.append((name, entry.path))
            elif entry.is_file(follow_symlinks=False):
                found.append(name)
    return sorted(found)
