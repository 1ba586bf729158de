"""This machine's pip settings, read the way pip reads them.

A target that builds Python environments must reach the package index the
user's pip reaches — a private index, a mirror, a wheel folder, a CA bundle
— whichever installer (pip, uv, a pip inside a container or on a remote
host) does the building. Each target decides what to do with the settings
(expkit-local turns them into ``uv pip install`` flags, expkit-docker hands
them to a build container); reading them is shared, here.

pip's own rules, as pip 24 implements them on Linux and other Unix systems:

- files, later ones winning: ``<dir>/pip/pip.conf`` for each folder of
  ``XDG_CONFIG_DIRS`` (default ``/etc/xdg``) in order, ``/etc/pip.conf``,
  the user's ``~/.pip/pip.conf`` and ``$XDG_CONFIG_HOME/pip/pip.conf``
  (default ``~/.config``), then the file named by ``PIP_CONFIG_FILE``. The
  user's two files are skipped when that named file exists, and no file at
  all is read when ``PIP_CONFIG_FILE`` is ``os.devnull``;
- in every file the ``[global]`` section, then the command's own section
  (``[install]``), which wins over ``[global]`` whichever file holds it;
- ``PIP_<KEY>`` variables (``PIP_INDEX_URL`` for ``index-url``) over all files;
- an empty value means "not set": in a file it clears what a lower file of
  the same section said; an empty variable is ignored.

Not read: a virtual environment's own ``pip.conf`` (which environment's pip
would be asked is not known here) and macOS's ``~/Library`` locations. A file
that cannot be read or parsed is skipped rather than failing the run; pip
itself would refuse to start, and will say so when it runs.

Standard library only; imported by the targets when they build an environment.
"""

from __future__ import annotations

import configparser
import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

CONFIG_NAME = "pip.conf"
#: The system-wide folder pip reads after the XDG ones.
SYSTEM_FOLDER = "/etc"


def _key(name: str) -> str:
    """A setting's name as pip compares them: lower case, ``-`` for ``_``."""
    return name.lower().replace("_", "-")


def _home(env: Mapping[str, str]) -> Path:
    return Path(env.get("HOME") or os.path.expanduser("~"))


def pip_config_files(env: Mapping[str, str] | None = None) -> list[Path]:
    """pip's configuration files, in the order pip reads them (later ones win).

    Files that do not exist are listed too: callers read what is there.
    Empty when ``PIP_CONFIG_FILE`` is ``os.devnull`` (pip's way of saying
    "no configuration files").
    """
    env = os.environ if env is None else env
    named = env.get("PIP_CONFIG_FILE")
    if named == os.devnull:
        return []
    home = _home(env)
    site_dirs = env.get("XDG_CONFIG_DIRS", "")
    if not site_dirs.strip():
        site_dirs = "/etc/xdg"
    # Empty entries are skipped: pip would read pip/pip.conf relative to the
    # current folder, which is the project, not configuration.
    files = [Path(d) / "pip" / CONFIG_NAME for d in site_dirs.split(os.pathsep) if d]
    files.append(Path(SYSTEM_FOLDER) / CONFIG_NAME)
    if not (named and os.path.exists(named)):
        config_home = env.get("XDG_CONFIG_HOME", "")
        files.append(home / ".pip" / CONFIG_NAME)
        files.append(
            (Path(config_home) if config_home.strip() else home / ".config") / "pip" / CONFIG_NAME
        )
    if named:
        files.append(Path(named))
    return files


def _read(path: Path) -> configparser.RawConfigParser | None:
    parser = configparser.RawConfigParser()
    try:
        parser.read(path, encoding="utf-8")  # a missing file reads as empty
    except (configparser.Error, OSError, UnicodeDecodeError):
        return None
    return parser


def host_pip_settings(
    keys: Iterable[str], env: Mapping[str, str] | None = None, *, command: str = "install"
) -> dict[str, str]:
    """The values pip would use for ``keys`` (pip.conf names such as ``index-url``).

    Keys pip would not set (absent, or empty) are left out of the result;
    values are returned as written (``extra-index-url`` may hold several
    URLs separated by white space). ``env`` defaults to ``os.environ``.
    """
    env = os.environ if env is None else env
    wanted = {_key(key) for key in keys}
    sections: dict[str, dict[str, str]] = {"global": {}, command: {}}
    for path in pip_config_files(env):
        parser = _read(path)
        if parser is None:
            continue
        for section, values in sections.items():
            if parser.has_section(section):
                for name, value in parser.items(section):
                    values[_key(name)] = value
    variables = {_key(name[4:]): value for name, value in env.items() if name.startswith("PIP_")}
    settings: dict[str, str] = {}
    for layer in (sections["global"], sections[command], variables):
        for key, value in layer.items():
            if key in wanted and value:
                settings[key] = value
    return settings


__all__ = ["CONFIG_NAME", "SYSTEM_FOLDER", "host_pip_settings", "pip_config_files"]
