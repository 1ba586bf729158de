"""When each docker environment was last used, for ``exp env list`` and ``exp env prune``.

Image labels cannot change after the build, so last-use times live in a
small JSON file in expkit's cache (``envs/docker/usage.json``), replaced
atomically on each prepare. Two concurrent prepares may drop one update;
the file is advisory and is never left half-written.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any


def state_dir() -> Path:
    from expkit.paths import cache_dir

    return cache_dir() / "envs" / "docker"


def usage_file() -> Path:
    return state_dir() / "usage.json"


def load() -> dict[str, dict[str, Any]]:
    try:
        data = json.loads(usage_file().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _save(data: dict[str, dict[str, Any]]) -> None:
    from expkit.fsutil import atomic_write_json

    path = usage_file()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_json(path, data)
    except OSError:
        pass  # a read-only cache must not fail a run


def touch(env_id: str, **info: Any) -> None:
    """Record that environment ``env_id`` was used now."""
    data = load()
    entry = data.setdefault(env_id, {})
    entry.update(info)
    entry["last_used"] = time.time()
    _save(data)


def forget(env_id: str) -> None:
    data = load()
    if data.pop(env_id, None) is not None:
        _save(data)
