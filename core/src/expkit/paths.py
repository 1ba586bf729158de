"""Where expkit keeps things outside the project."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    """The user cache dir (``EXPKIT_CACHE_DIR`` overrides, e.g. in tests)."""
    override = os.environ.get("EXPKIT_CACHE_DIR")
    if override:
        return Path(override)
    import sys

    if sys.platform.startswith("linux"):
        # platformdirs' answer on Linux, without its import cost on every run.
        xdg = os.environ.get("XDG_CACHE_HOME", "").strip()
        base = Path(xdg) if xdg and os.path.isabs(xdg) else Path.home() / ".cache"
        return base / "expkit"
    from platformdirs import user_cache_path

    return user_cache_path("expkit", appauthor=False)


def work_dir(run_id: str) -> Path:
    """A run's working copy on this machine (the snapshot it runs in).

    The runner creates it and deletes it when the run ends, or once a lost run's
    plugin collected what the script wrote there (expkit.runner.orphans).
    """
    if not run_id or run_id in (".", "..") or "/" in run_id or "\0" in run_id:
        raise ValueError(f"not a run id: {run_id!r}")  # a hand-edited record
    return cache_dir() / "work" / run_id


def private_cache_dir(*parts: str) -> Path:
    """``cache_dir()/parts...``, created if needed; the cache root and this folder are
    the user's alone (0700): they hold parsed configuration and run working copies."""
    root = cache_dir()
    path = root.joinpath(*parts)
    for folder in (root, path) if parts else (root,):
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        info = folder.stat()
        if info.st_mode & 0o077 and info.st_uid == os.getuid():
            os.chmod(folder, 0o700)
    return path


HISTORY_DIRNAME = ".exp"
AML_CONFIG = "aml_config"
