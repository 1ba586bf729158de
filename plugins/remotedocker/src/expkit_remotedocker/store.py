"""The VM's content-addressed object store: a run's files travel once, ever.

A folder becomes *tree* objects (one per directory: a JSON list of
``[name, kind, object, mode]``, kind ``f`` file, ``d`` directory, ``l``
symlink with its text as object) over *blob* objects (file contents); an
object's name is the sha256 of its bytes. The VM keeps them flat under
``<remote cache>/objects/``. A submit sends only what the VM lacks:

1. hash the working copy (blobs) and build its trees;
2. drop what this machine already saw on that VM (a per-host list in the
   user cache, written after each successful upload);
3. ask the VM which of the rest it lacks (their names on one exec's stdin),
   unless they are few bytes (then they are simply sent);
4. send those in one tar stream (farm.SCRIPT), unpacked into a fresh folder
   and moved in (so a cut transfer never leaves a truncated object under a
   real name).

After a one-file edit that is the file plus the trees on its path. The run's
working copy is a hard-link farm of the objects under an overlay (farm.py), or,
where the VM's engine cannot mount one, a copy the run's container makes from
the root tree (incontainer/launch.py).
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from expkit.ssh import Link


#: sh -c script: print the names (stdin, one a line) that are not in $1.
_MISSING = (
    'mkdir -p "$1" && cd "$1" || exit 3; '
    'while IFS= read -r name; do [ -e "$name" ] || echo "$name"; done'
)


@dataclass
class Objects:
    """A set of objects to make present on the VM: name -> (local path or bytes)."""

    #: Blob name -> its file here (a str: thousands of them, no Path objects needed).
    blobs: dict[str, str | Path] = field(default_factory=dict)
    trees: dict[str, bytes] = field(default_factory=dict)

    def names(self) -> set[str]:
        return set(self.blobs) | set(self.trees)

    def size(self, names: Iterable[str]) -> int:
        total = 0
        for name in names:
            if name in self.trees:
                total += len(self.trees[name])
            else:
                total += os.stat(self.blobs[name]).st_size
        return total


def _sha_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def add_tree(
    root: Path, objects: Objects, skip: Callable[[str], bool] | None = None, prefix: str = ""
) -> str:
    """Hash the folder ``root`` into ``objects``; return its tree's name. ``skip`` is
    asked about each relative path (POSIX) and leaves out those it answers True for."""
    entries = []
    with os.scandir(root) as found:
        items = sorted(found, key=lambda e: e.name)
    for item in items:
        if skip is not None and skip(prefix + item.name):
            continue
        info = item.stat(follow_symlinks=False)
        if stat.S_ISLNK(info.st_mode):
            entries.append([item.name, "l", os.readlink(item.path), 0])
        elif stat.S_ISDIR(info.st_mode):
            tree = add_tree(Path(item.path), objects, skip, f"{prefix}{item.name}/")
            entries.append([item.name, "d", tree, 0])
        elif stat.S_ISREG(info.st_mode):
            sha = _sha_file(Path(item.path))
            objects.blobs.setdefault(sha, Path(item.path))
            entries.append([item.name, "f", sha, 0o755 if info.st_mode & 0o111 else 0o644])
    data = json.dumps(entries, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    name = hashlib.sha256(data).hexdigest()
    objects.trees[name] = data
    return name


def add_entries(
    entries: Iterable[tuple[str, str | None, int, str | None]],
    objects: Objects,
    blob_path: Callable[[str], str | Path],
    skip: Callable[[str], bool] | None = None,
) -> str:
    """The tree of a snapshot manifest's entries ``(path, sha, mode, link)``, whose blobs
    are already hashed and stored locally (``blob_path(sha)``): nothing is read or hashed
    again. Gives the same names as :func:`add_tree` over the same files."""
    # Flat, folder by folder (every re-submit lists the whole project): each folder's
    # own entries, then its subfolders' trees once they are known, deepest first.
    listed: dict[str, list[list]] = {"": []}
    subfolders: dict[str, list[str]] = {"": []}
    blobs = objects.blobs
    for path, sha, mode, link in entries:
        if skip is not None and skip(path):
            continue
        folder, _, name = path.rpartition("/")
        found = listed.get(folder)
        if found is None:
            found = _add_folder(folder, listed, subfolders)
        if link is not None:
            found.append([name, "l", link, 0])
        elif sha is not None:
            if sha not in blobs:
                blobs[sha] = blob_path(sha)
            found.append([name, "f", sha, 0o755 if mode & 0o111 else 0o644])
    names: dict[str, str] = {}
    for folder in sorted(listed, key=lambda f: f.count("/") + bool(f), reverse=True):
        rows = listed[folder]
        prefix = f"{folder}/" if folder else ""
        rows += [[sub, "d", names[prefix + sub], 0] for sub in subfolders[folder]]
        rows.sort(key=_first)
        names[folder] = add_blob(
            json.dumps(rows, separators=(",", ":"), ensure_ascii=False).encode(), objects
        )
    return names[""]


def _first(row: list) -> str:
    return row[0]


def _add_folder(folder: str, listed: dict[str, list[list]], subfolders: dict[str, list[str]]):
    """Register ``folder`` and any parent not seen yet; its (empty) list of entries."""
    parent, _, name = folder.rpartition("/")
    if parent not in listed:
        _add_folder(parent, listed, subfolders)
    subfolders[parent].append(name)
    listed[folder], subfolders[folder] = [], []
    return listed[folder]


def add_blob(data: bytes, objects: Objects) -> str:
    name = hashlib.sha256(data).hexdigest()
    objects.trees.setdefault(name, data)  # in memory, like a tree
    return name


class KnownObjects:
    """What this machine already put in one VM's store (a hint: the VM is asked when
    it does not list an object, and a VM that lost objects is caught at run start)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self.names = set(path.read_text(encoding="ascii").split())
        except (OSError, UnicodeDecodeError):
            self.names = set()

    def add(self, names: Iterable[str]) -> None:
        new = set(names) - self.names
        if not new:
            return
        self.names |= new
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a", encoding="ascii") as handle:
            handle.write("".join(f"{n}\n" for n in sorted(new)))

    def forget(self, names: Iterable[str] | None = None) -> None:
        if names is None:
            self.names = set()
            self.path.unlink(missing_ok=True)
            return
        self.names -= set(names)
        from expkit.fsutil import atomic_write_text

        atomic_write_text(self.path, "".join(f"{n}\n" for n in sorted(self.names)))


#: Unknown objects totalling at most this many bytes are sent without asking the VM.
ASK_ABOVE = 1 << 20


def lacking(
    ssh: Link, objects: Objects, store: str, known: KnownObjects
) -> tuple[list[str], list[str]]:
    """The objects this machine does not know the VM has, and those of them it lacks.

    The VM is asked (one round trip) only when they are many bytes: after an edit they
    are the few new objects, which the VM lacks anyway, and resending one it had is
    cheaper than the question.
    """
    candidates = sorted(objects.names() - known.names)
    if not candidates or objects.size(candidates) <= ASK_ABOVE:
        return candidates, candidates
    asked = ssh.script(_MISSING, store, input="".join(f"{n}\n" for n in candidates).encode(),
                       check=True, what="listing the objects the VM lacks")  # fmt: skip
    return candidates, asked.text().split()
