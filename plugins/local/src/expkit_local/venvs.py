"""Managed local environments: one venv per environment id, shared by all projects.

Layout, under ``expkit.paths.cache_dir()/envs/local/``::

    <env_id>/               the venv itself
    <env_id>/expkit-env.json  written last: its presence means "complete"
    <env_id>/.last-used     touched on every cache hit (for ``exp env prune``)
    <env_id>.lock           flock()ed while the venv is built or removed

Why build in place under a lock instead of in a temporary folder renamed at
the end: a venv is not relocatable (pip writes its absolute path into every
console script's ``#!`` line), so a renamed venv would carry broken entry
points. The lock gives the same guarantees — a half-built venv (no marker) is
never used and is wiped before the next build; a concurrent builder waits and
then finds the finished venv instead of building it twice; a crashed builder
releases the lock with its process.

A cache hit is a ``stat`` and a small JSON read: no installer is started.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from expkit.errors import UsageError
from expkit.fsutil import tree_size
from expkit.model import EnvironmentId, EnvironmentInfo

MARKER = "expkit-env.json"
LAST_USED = ".last-used"
_ENV_ID = re.compile(r"^[A-Za-z0-9_-]{1,128}$")


def envs_root() -> Path:
    from expkit.paths import cache_dir

    return cache_dir() / "envs" / "local"


def venv_python(venv: Path) -> Path:
    if os.name == "nt":  # pragma: no cover - the local target is tested on Linux
        return venv / "Scripts" / "python.exe"
    return venv / "bin" / "python"


@dataclass(frozen=True)
class ManagedEnv:
    """A complete managed venv, as its marker describes it."""

    env_id: str
    path: Path
    layers: EnvironmentId | None
    packages: tuple[str, ...]
    details: Mapping[str, object]

    @property
    def python(self) -> Path:
        return venv_python(self.path)


def env_path(env_id: str) -> Path:
    if not _ENV_ID.match(env_id):
        raise UsageError(f"{env_id!r} is not an environment id (letters, digits, - and _ only)")
    return envs_root() / env_id


def _read_marker(path: Path) -> ManagedEnv | None:
    try:
        data = json.loads((path / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    layers = data.get("layers")
    return ManagedEnv(
        env_id=str(data.get("env_id", path.name)),
        path=path,
        layers=EnvironmentId(**layers) if isinstance(layers, dict) else None,
        packages=tuple(data.get("packages", ())),
        details={k: v for k, v in data.items() if k not in ("layers", "packages")},
    )


def lookup(env_id: str) -> ManagedEnv | None:
    """The finished venv for ``env_id``, or None; records the use for pruning."""
    path = env_path(env_id)
    found = _read_marker(path)
    if found is not None:
        try:
            (path / LAST_USED).touch()
        except OSError:
            pass
    return found


def write_marker(
    path: Path,
    env_id: str,
    layers: EnvironmentId,
    packages: tuple[str, ...],
    details: Mapping[str, object],
) -> ManagedEnv:
    """Declare the venv at ``path`` complete (the last step of a build)."""
    from expkit.fsutil import atomic_write_json, atomic_write_text

    atomic_write_text(path / "expkit-freeze.txt", "".join(p + "\n" for p in packages))
    data = {
        **details,
        "env_id": env_id,
        "layers": {"base": layers.base, "system": layers.system, "pip": layers.pip},
        "created": time.time(),
        "packages": list(packages),
    }
    atomic_write_json(path / MARKER, data)
    (path / LAST_USED).touch()
    found = _read_marker(path)
    assert found is not None
    return found


def lock_path(env_id: str) -> Path:
    return envs_root() / f"{env_id}.lock"


@contextmanager
def env_lock(env_id: str, on_wait=None) -> Iterator[Path]:
    """Hold the build lock of ``env_id``; ``on_wait()`` is called if another process has it.

    Yields the lock file's path. Its holder may delete it (``remove_env`` does,
    so a pruned environment leaves nothing behind): a process that got the
    lock on a file deleted meanwhile sees that and locks the new file instead.
    """
    root = envs_root()
    root.mkdir(parents=True, exist_ok=True)
    path = lock_path(env_id)
    try:
        import fcntl
    except ImportError:  # pragma: no cover - no flock(): builds are not coordinated
        yield path
        return
    waited = False
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if on_wait is not None and not waited:
                on_wait()
            waited = True
            fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            same = os.fstat(fd).st_ino == os.stat(path).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)  # the holder before us deleted this file: lock the current one
    try:
        yield path
    finally:
        os.close(fd)  # closing releases the lock


def list_envs() -> list[EnvironmentInfo]:
    """Every complete managed venv, newest first."""
    root = envs_root()
    if not root.is_dir():
        return []
    infos = []
    for child in root.iterdir():
        if not child.is_dir():
            continue
        env = _read_marker(child)
        if env is None:
            continue
        try:
            last_used: float | None = (child / LAST_USED).stat().st_mtime
        except OSError:
            last_used = None
        created = env.details.get("created")
        infos.append(
            EnvironmentInfo(
                env_id=env.env_id,
                location=str(child),
                size_bytes=tree_size(child),
                created=float(created) if isinstance(created, (int, float)) else None,
                last_used=last_used,
                layers=env.layers,
                details={
                    "python": env.details.get("python"),
                    "installer": env.details.get("installer"),
                    "packages": len(env.packages),
                },
            )
        )
    return sorted(infos, key=lambda i: i.created or 0, reverse=True)


def remove_env(env_id: str) -> bool:
    """Delete the venv of ``env_id`` (waiting for a build of it to end)."""
    path = env_path(env_id)
    if not path.exists():
        return False
    with env_lock(env_id) as lock:
        if not path.exists():
            return False
        shutil.rmtree(path)
        # Still holding it: a builder waiting for this lock retries on a new file.
        lock.unlink(missing_ok=True)
    return True
