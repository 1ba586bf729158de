"""Walking a project for a snapshot: ignore rules and the scan cache.

Rules come from ``.gitignore`` files (the root one and nested ones), the
root ``.amlignore``, git's own ``info/exclude`` and ``core.excludesFile``
(expkit.snapshot.gitexcludes) and, below them all, expkit's rules for files
that usually hold secrets (expkit.secrets.SECRET_FILE_RULES: ``.env``,
``.ssh/``, ``*.pem``...; any user rule wins, so ``!name`` in .amlignore
includes one on purpose), matched by ``pathspec``'s GitIgnoreSpec. What the
secret rules alone left out is named in one note. The walk is on
the path of every tracked run, so a :class:`ScanCache` remembers each path's
ignore decision (keyed by the content of every rule file that applies) and
each file's hash (keyed by size, mtime_ns and inode): an unchanged project is
neither re-read nor re-matched, and ``pathspec`` is imported only when some
path has no cached decision.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from pathspec import GitIgnoreSpec

from expkit.digest import sha1_hex
from expkit.secrets import is_config_copy

IGNORE_FILES = (".gitignore", ".amlignore")
EXCLUDED_ANYWHERE = frozenset({".git", "__pycache__"})
EXCLUDED_AT_ROOT = frozenset({".exp", "outputs"})
#: Hashes of files modified this recently are not cached: a second write within
#: the file system's timestamp granularity would keep the same mtime.
_RACY_NS = 2_000_000_000
#: An ignore decision (cache column ``ignored``): left out by expkit's secret-file rules only.
SECRET = 2


@dataclass(frozen=True)
class Entry:
    """One snapshot member: a regular file (``sha`` set) or a symlink (``link`` set)."""

    path: str  # POSIX, relative to the project root
    size: int = 0
    mode: int = 0o644
    sha: str | None = None
    link: str | None = None


class ScanCache(Protocol):
    """Where scan results persist between runs (the history's SQLite index).

    A row is ``(rules_key, kind, ignored, size, mtime_ns, ino, sha)``; kind is
    ``f`` (file), ``d`` (directory) or ``l`` (symlink).
    """

    def load(self) -> dict[str, tuple]: ...

    def save(self, changed: dict[str, tuple], removed: Iterable[str]) -> None: ...


class MemoryCache:
    """A ScanCache kept in memory (tests, one-off scans)."""

    def __init__(self) -> None:
        self.rows: dict[str, tuple] = {}

    def load(self) -> dict[str, tuple]:
        return dict(self.rows)

    def save(self, changed: dict[str, tuple], removed: Iterable[str]) -> None:
        self.rows.update(changed)
        for path in removed:
            self.rows.pop(path, None)


class _Rules:
    """The ignore rules in force in one directory: its .gitignore chained to its parent's.

    ``key`` identifies the whole chain's content, so a cached decision is reused
    only while every rule file that could affect it is unchanged. ``prefix`` is
    put before paths (git's own excludes match from the work tree's top);
    ``secret`` marks expkit's default rules for secret files.
    """

    def __init__(
        self,
        parent: _Rules | None,
        base: str,
        lines: list[str],
        key: str,
        prefix: str = "",
        secret: bool = False,
    ) -> None:
        self.parent, self.base, self.lines, self.key = parent, base, lines, key
        self.prefix, self.secret = prefix, secret
        self._spec: GitIgnoreSpec | None = None

    def _check(self, relpath: str) -> bool | None:
        if not self.lines:
            return None
        if self._spec is None:
            import pathspec  # ~45 ms: only when some path has no cached decision

            self._spec = pathspec.GitIgnoreSpec.from_lines(self.lines)
        local = relpath[len(self.base) + 1 :] if self.base else relpath
        return self._spec.check_file(self.prefix + local).include

    def ignored(self, relpath: str, is_dir: bool) -> int:
        """0: kept; 1: ignored by a rule; SECRET: left out only by the secret-file rules."""
        path = relpath + "/" if is_dir else relpath
        rules: _Rules | None = self
        while rules is not None:  # the deepest rule file with an opinion wins
            verdict = rules._check(path)
            if verdict is not None:
                return (SECRET if rules.secret else 1) if verdict else 0
            rules = rules.parent
        return 0

    def child(self, base: str, text: str | None, prefix: str = "", secret: bool = False) -> _Rules:
        if text is None:
            return self
        # surrogateescape: names and rules need not be valid UTF-8 (see _read_text).
        key = sha1_hex(f"{self.key}\0{base}\0{prefix}\0{text}".encode("utf-8", "surrogateescape"))
        return _Rules(self, base, text.splitlines(), key, prefix, secret)


def _read_text(path: Path) -> str | None:
    try:
        # surrogateescape, as file names are decoded: a pattern naming a file whose
        # name is not valid UTF-8 still matches it (git compares bytes too).
        return path.read_text(encoding="utf-8", errors="surrogateescape")
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        return None


def _root_rules(root: Path) -> _Rules:
    """Lowest priority first: secret files, core.excludesFile, info/exclude, then the
    root .gitignore and .amlignore."""
    from expkit.secrets import SECRET_FILE_RULES
    from expkit.snapshot.gitexcludes import git_excludes

    rules = _Rules(None, "", [], "expkit-v2").child("", "\n".join(SECRET_FILE_RULES), secret=True)
    git = git_excludes(root)
    if git is not None:
        prefix = f"{git.prefix}/" if git.prefix else ""
        rules = rules.child("", git.excludes_file, prefix).child("", git.info_exclude, prefix)
    texts = [_read_text(root / name) for name in IGNORE_FILES]
    # .amlignore comes last, so its patterns (and negations) override .gitignore's.
    lines = [line for text in texts if text for line in text.splitlines()]
    return rules.child("", "\n".join(lines)) if lines else rules


@dataclass
class ScanResult:
    entries: list[Entry]
    notes: list[str]
    old: dict[str, tuple]
    new: dict[str, tuple]


def scan(root: Path, cache: ScanCache) -> ScanResult:
    """Walk ``root``: its snapshot entries (hashes where cached), notes, and cache rows."""
    root = Path(root)
    real_root = os.path.realpath(root)
    old = cache.load()
    new: dict[str, tuple] = {}
    entries: list[Entry] = []
    notes: list[str] = []
    racy_after = time.time_ns() - _RACY_NS
    secrets: list[str] = []
    stack: list[tuple[str, _Rules]] = [("", _root_rules(root))]
    while stack:
        rel_dir, rules = stack.pop()
        abs_dir = os.path.join(root, rel_dir) if rel_dir else str(root)
        try:
            children = sorted(os.scandir(abs_dir), key=lambda d: d.name)
        except OSError as exc:
            notes.append(f"skipped {rel_dir or '.'}: {exc.strerror}")
            continue
        if rel_dir and any(d.name == ".gitignore" for d in children):
            rules = rules.child(rel_dir, _read_text(Path(abs_dir) / ".gitignore"))
        for item in children:
            name = item.name
            if name in EXCLUDED_ANYWHERE or (not rel_dir and name in EXCLUDED_AT_ROOT):
                continue
            rel = f"{rel_dir}/{name}" if rel_dir else name
            is_link = item.is_symlink()
            is_dir = not is_link and item.is_dir(follow_symlinks=False)
            kind = "l" if is_link else "d" if is_dir else "f"
            row = old.get(rel)
            if row is not None and row[0] == rules.key and row[1] == kind:
                ignored = int(row[2])
            else:
                ignored = rules.ignored(rel, is_dir)
            if ignored == SECRET:
                secrets.append(rel + "/" if is_dir else rel)
            if is_dir:
                new[rel] = (rules.key, kind, ignored, None, None, None, None)
                if not ignored:
                    stack.append((rel, rules))
                continue
            if ignored:
                new[rel] = (rules.key, kind, ignored, None, None, None, None)
                continue
            if is_link:
                new[rel] = (rules.key, kind, 0, None, None, None, None)
                link = _inside_link(real_root, abs_dir, item.path, rel, notes)
                if link is not None:
                    entries.append(Entry(path=rel, link=link))
                continue
            st = item.stat(follow_symlinks=False)
            if not item.is_file(follow_symlinks=False):
                notes.append(f"skipped {rel}: not a regular file")
                continue
            sha = None
            if (
                row is not None
                and row[1] == "f"
                and row[3:6] == (st.st_size, st.st_mtime_ns, st.st_ino)
                # A redacted copy's hash is valid for the rules it was made under.
                and (row[0] == rules.key or not is_config_copy(rel))
            ):
                sha = row[6]
            keep = sha if st.st_mtime_ns < racy_after else None
            new[rel] = (rules.key, kind, 0, st.st_size, st.st_mtime_ns, st.st_ino, keep)
            mode = 0o755 if st.st_mode & 0o100 else 0o644
            entries.append(Entry(path=rel, size=st.st_size, mode=mode, sha=sha))
    entries.sort(key=lambda e: e.path)
    if secrets:
        notes.append(secret_note(sorted(secrets)))
    return ScanResult(entries, notes, old, new)


def secret_note(paths: list[str]) -> str:
    """The one note naming the files the secret-file rules left out of a snapshot."""
    shown = ", ".join(paths[:8]) + (f" and {len(paths) - 8} more" if len(paths) > 8 else "")
    example = paths[0].rstrip("/")
    return (
        f"left out of the snapshot as likely secrets: {shown}. To include one on purpose, "
        f"add a negation rule to .amlignore (e.g. `!{example}`); see docs/configuration.md."
    )


def save_cache(cache: ScanCache, result: ScanResult, hashed: dict[str, str]) -> None:
    """Persist the scan's rows, with the hashes computed after it, in one write."""
    old, new = result.old, result.new
    racy_after = time.time_ns() - _RACY_NS
    for path, sha in hashed.items():
        row = new.get(path)
        if row is not None and row[4] is not None and row[4] < racy_after:
            new[path] = row[:6] + (sha,)
    changed = {p: r for p, r in new.items() if old.get(p) != r}
    removed = [p for p in old if p not in new]
    if changed or removed:
        cache.save(changed, removed)


def _inside_link(
    real_root: str, abs_dir: str, abs_path: str, rel: str, notes: list[str]
) -> str | None:
    """The link's target relative to its folder when it stays inside the project, else None."""
    target = os.readlink(abs_path)
    resolved = os.path.realpath(os.path.join(abs_dir, target))
    if resolved != real_root and not resolved.startswith(real_root + os.sep):
        notes.append(f"left out symlink {rel} -> {target}: it points outside the project")
        return None
    return os.path.relpath(resolved, os.path.realpath(abs_dir)).replace(os.sep, "/")
