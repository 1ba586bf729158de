"""A tiny installable wheel, built at test time with the standard library.

Tests of environment preparation need a package to install that no index
serves: built here, it lives in a local folder (``--find-links`` or a
``file:`` requirement) and the test needs no network.
"""

from __future__ import annotations

import base64
import hashlib
import zipfile
from collections.abc import Mapping
from pathlib import Path

#: A fixed timestamp: the same input gives the same wheel bytes (and so the same env id).
_DATE_TIME = (2020, 1, 1, 0, 0, 0)


def build_wheel(
    folder: Path,
    name: str,
    version: str,
    module_source: str,
    *,
    console_scripts: Mapping[str, str] | None = None,
) -> Path:
    """Write ``<name>-<version>-py3-none-any.whl`` into ``folder`` and return its path.

    The wheel holds one package ``name`` (an importable name, also used as the
    distribution name) whose ``__init__.py`` is ``module_source``.
    ``console_scripts`` maps a command to ``module:function`` (e.g.
    ``{"spark-submit": "pyspark:main"}``); the installer writes that command
    into the environment's ``bin/``.
    """
    if not name.isidentifier():
        raise ValueError(f"build_wheel: {name!r} is not an importable package name")
    folder.mkdir(parents=True, exist_ok=True)
    dist = f"{name}-{version}.dist-info"
    files = {
        f"{name}/__init__.py": module_source,
        f"{dist}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
        f"{dist}/WHEEL": "Wheel-Version: 1.0\nGenerator: expkit.testing\nRoot-Is-Purelib: true\n"
        "Tag: py3-none-any\n",
    }
    if console_scripts:
        lines = [f"{command} = {target}" for command, target in sorted(console_scripts.items())]
        files[f"{dist}/entry_points.txt"] = "[console_scripts]\n" + "\n".join(lines) + "\n"
    record = []
    for path, text in files.items():
        data = text.encode()
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(data)}")
    record.append(f"{dist}/RECORD,,")
    files[f"{dist}/RECORD"] = "\n".join(record) + "\n"
    wheel = folder / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for path, text in files.items():
            archive.writestr(zipfile.ZipInfo(path, date_time=_DATE_TIME), text)
    return wheel


__all__ = ["build_wheel"]
