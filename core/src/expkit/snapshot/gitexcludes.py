"""Git's ignore sources besides ``.gitignore`` files: ``info/exclude`` and ``core.excludesFile``.

Git reads, from lowest to highest priority: the file named by
``core.excludesFile`` (default ``$XDG_CONFIG_HOME/git/ignore``), the
repository's ``info/exclude``, then the ``.gitignore`` files. Their patterns
are relative to the top of the work tree, which may be above the project
root; :func:`git_excludes` returns them with the project's place in the work
tree, so the snapshot walk can match them as git would.

No ``git`` process is started (a run must stay fast): the repository is
found by walking up to a ``.git`` folder (or a ``.git`` file of a linked
worktree), and ``core.excludesFile`` is read from the system, global and
repository config files, the last one setting it winning.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path


class GitExcludes:
    """Patterns from ``core.excludesFile`` and ``info/exclude`` (in that order).

    ``prefix``: the project root relative to the work tree's top ("" when they
    are the same). A plain class: a dataclass costs a run more than this module.
    """

    __slots__ = ("excludes_file", "info_exclude", "prefix")

    def __init__(self, prefix: str, excludes_file: str | None, info_exclude: str | None):
        self.prefix = prefix
        self.excludes_file = excludes_file
        self.info_exclude = info_exclude


def _read(path: str) -> str | None:
    # os-level calls: this runs on every tracked run, mostly on files that do not exist.
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        chunks = []
        while chunk := os.read(fd, 1 << 16):
            chunks.append(chunk)
    except OSError:
        return None
    finally:
        os.close(fd)
    return b"".join(chunks).decode("utf-8", "surrogateescape")


def find_git_dir(root: Path) -> tuple[str, str] | None:
    """(work tree top, common git dir) of the repository holding ``root``, or None."""
    top = os.path.realpath(root)
    while True:
        dot = os.path.join(top, ".git")
        try:
            mode = os.stat(dot).st_mode
        except OSError:
            mode = 0
        if stat.S_ISDIR(mode):
            return top, dot
        if stat.S_ISREG(mode):  # a linked worktree or submodule: "gitdir: PATH"
            text = _read(dot) or ""
            if not text.startswith("gitdir:"):
                return None
            gitdir = os.path.normpath(os.path.join(top, text[len("gitdir:") :].strip()))
            common = _read(os.path.join(gitdir, "commondir"))
            if common:
                return top, os.path.normpath(os.path.join(gitdir, common.strip()))
            return top, gitdir
        parent = os.path.dirname(top)
        if parent == top:
            return None
        top = parent


def _config_value(text: str, section: str, key: str) -> str | None:
    """The last ``key`` in ``[section]`` of a git config file (no includes, no subsections)."""
    found = None
    current = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("["):
            current = line[1 : line.find("]")].strip().lower() if "]" in line else None
            continue
        if current != section or "=" not in line:
            continue
        name, _, value = line.partition("=")
        if name.strip().lower() != key:
            continue
        value = value.strip()
        for mark in (" #", " ;", "\t#", "\t;"):
            if mark in value and not value.startswith('"'):
                value = value.split(mark, 1)[0].rstrip()
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = value[1:-1]
        found = value
    return found


def _excludes_file(common: str) -> str | None:
    home = os.path.expanduser("~")
    xdg = os.environ.get("XDG_CONFIG_HOME", "").strip()
    xdg_git = os.path.join(xdg or os.path.join(home, ".config"), "git")
    value = None
    for config in ("/etc/gitconfig", os.path.join(xdg_git, "config"),
                   os.path.join(home, ".gitconfig"), os.path.join(common, "config")):  # fmt: skip
        text = _read(config)
        if text and "excludesfile" in text.lower():
            value = _config_value(text, "core", "excludesfile") or value
    if value is None:
        return os.path.join(xdg_git, "ignore")
    return os.path.expanduser(value) if value else None


def git_excludes(root: Path) -> GitExcludes | None:
    """The excludes git applies to ``root``'s files, or None outside a repository."""
    found = find_git_dir(root)
    if found is None:
        return None
    top, common = found
    rel = os.path.relpath(os.path.realpath(root), top)
    prefix = "" if rel == "." else rel.replace(os.sep, "/")
    file = _excludes_file(common)
    return GitExcludes(
        prefix=prefix,
        excludes_file=_read(file) if file is not None else None,
        info_exclude=_read(os.path.join(common, "info", "exclude")),
    )
