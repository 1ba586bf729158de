"""The user's pip index settings, handed to uv.

uv does not read pip's configuration. A user whose ``pip.conf`` (or
``PIP_*`` variables) points at a private index or a wheel folder expects a
managed environment to install from there whichever installer builds it,
so the index options are translated into ``uv pip install`` flags — unless
uv has an index configuration of its own, which then wins.
"""

from __future__ import annotations

import configparser
import os
from pathlib import Path
from typing import Mapping

_UV_OWN = ("UV_INDEX_URL", "UV_DEFAULT_INDEX", "UV_INDEX", "UV_EXTRA_INDEX_URL", "UV_FIND_LINKS",
           "UV_NO_INDEX", "UV_CONFIG_FILE")


def _config_files(env: Mapping[str, str]) -> list[Path]:
    """pip's configuration files, lowest priority first (as pip documents them)."""
    home = Path(os.path.expanduser("~"))
    xdg_dirs = env.get("XDG_CONFIG_DIRS", "/etc/xdg").split(os.pathsep)
    files = [Path(d) / "pip" / "pip.conf" for d in reversed(xdg_dirs) if d]
    files.append(Path("/etc/pip.conf"))
    files.append(home / ".pip" / "pip.conf")
    files.append(Path(env.get("XDG_CONFIG_HOME", home / ".config")) / "pip" / "pip.conf")
    if env.get("PIP_CONFIG_FILE"):
        files.append(Path(env["PIP_CONFIG_FILE"]))
    return files


def pip_index_settings(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """``index-url``, ``extra-index-url``, ``find-links``, ``no-index`` as pip would use them."""
    env = os.environ if env is None else env
    settings: dict[str, str] = {}
    keys = ("index-url", "extra-index-url", "find-links", "no-index")
    for path in _config_files(env):
        parser = configparser.RawConfigParser()
        try:
            parser.read(path, encoding="utf-8")
        except (configparser.Error, OSError, UnicodeDecodeError):
            continue
        for section in ("global", "install"):
            if parser.has_section(section):
                for key in keys:
                    if parser.has_option(section, key):
                        settings[key] = parser.get(section, key)
    for key in keys:
        value = env.get("PIP_" + key.upper().replace("-", "_"))
        if value is not None:
            settings[key] = value
    return settings


def uv_index_args(env: Mapping[str, str] | None = None) -> list[str]:
    """``uv pip install`` flags equivalent to the user's pip index settings."""
    env = os.environ if env is None else env
    if any(env.get(name) for name in _UV_OWN):
        return []
    home = Path(os.path.expanduser("~"))
    uv_files = [Path(env.get("XDG_CONFIG_HOME", home / ".config")) / "uv" / "uv.toml",
                Path("/etc/uv/uv.toml")]
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
