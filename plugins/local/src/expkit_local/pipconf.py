"""The user's pip index settings, handed to uv.

uv does not read pip's configuration. A user whose ``pip.conf`` (or
``PIP_*`` variables) points at a private index or a wheel folder expects a
managed environment to install from there whichever installer builds it,
so the index options (read as pip reads them: expkit.pipconfig) are
translated into ``uv pip install`` flags — unless uv has an index
configuration of its own, which then wins.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

_UV_OWN = (
    "UV_INDEX_URL",
    "UV_DEFAULT_INDEX",
    "UV_INDEX",
    "UV_EXTRA_INDEX_URL",
    "UV_FIND_LINKS",
    "UV_NO_INDEX",
    "UV_CONFIG_FILE",
)
#: The pip settings that say where packages come from, as pip.conf keys.
INDEX_KEYS = ("index-url", "extra-index-url", "find-links", "no-index")


def pip_index_settings(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """``index-url``, ``extra-index-url``, ``find-links``, ``no-index`` as pip would use them."""
    from expkit.pipconfig import host_pip_settings

    return host_pip_settings(INDEX_KEYS, env)


def uv_index_args(env: Mapping[str, str] | None = None) -> list[str]:
    """``uv pip install`` flags equivalent to the user's pip index settings."""
    env = os.environ if env is None else env
    if any(env.get(name) for name in _UV_OWN):
        return []
    home = Path(os.path.expanduser("~"))
    uv_files = [
        Path(env.get("XDG_CONFIG_HOME") or home / ".config") / "uv" / "uv.toml",
        Path("/etc/uv/uv.toml"),
    ]
    if any(path.is_file() for path in uv_files):
        return []
    settings = pip_index_settings(env)
    args: list[str] = []
    if settings.get("no-index", "").strip().lower() in ("1", "true", "yes", "on"):
        args.append("--no-index")
    if settings.get("index-url", "").strip():
        args += ["--index-url", settings["index-url"].strip()]
    for url in settings.get("extra-index-url", "").split():
        args += ["--extra-index-url", url]
    for link in settings.get("find-links", "").split():
        args += ["--find-links", link]
    return args
