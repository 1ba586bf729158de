"""Planted secrets: prove that nothing expkit writes (history, caches, a remote) holds one.

:func:`plant_secrets` writes a project's secret-bearing files, each holding
a unique marker; after runs, :func:`find_marker` lists every file under the
given folders (the project's ``.exp/``, the user cache, a remote's run
folder copied back...) that contains a marker. The list must be empty.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterable
from pathlib import Path

#: Left out of snapshots by default (expkit.secrets.SECRET_FILE_RULES).
SECRET_FILES = (".env", ".ssh/id_rsa", "id_ed25519", "deploy.pem", "tls.key", ".netrc",
                ".pypirc", "credentials.json")  # fmt: skip


def plant_secrets(project: Path, target: str) -> str:
    """Plant secrets in ``project`` for target ``target``; return the marker they share.

    A ``password`` in ``aml_config/<target>.compute`` and an ``API_TOKEN`` in
    the ``EnvironmentVariables`` of ``<target>.runconfig`` (both files must
    exist; the variable is still given to the script), and every file of
    :data:`SECRET_FILES`.
    """
    marker = f"PLANTED-SECRET-{secrets.token_hex(6)}"
    aml = Path(project) / "aml_config"
    compute = aml / f"{target}.compute"
    compute.write_text(compute.read_text(encoding="utf-8") + f"password: {marker}-pw\n")
    runconfig = aml / f"{target}.runconfig"
    text = runconfig.read_text(encoding="utf-8")
    if "EnvironmentVariables:" not in text:
        text += "EnvironmentVariables:\n"
    head, _, tail = text.partition("EnvironmentVariables:")
    tail = tail.lstrip(" {}").removeprefix("\n")
    text = f'{head}EnvironmentVariables:\n  "API_TOKEN": "{marker}-token"\n{tail}'
    runconfig.write_text(text, encoding="utf-8")
    for name in SECRET_FILES:
        path = Path(project) / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"{marker}-{name}\n", encoding="utf-8")
    return marker


def find_marker(folders: Iterable[Path], marker: str) -> list[str]:
    """Every file under ``folders`` (links not followed) whose bytes contain ``marker``."""
    needle = marker.encode()
    found = []
    for folder in folders:
        for dirpath, _dirs, files in os.walk(folder):
            for name in files:
                path = os.path.join(dirpath, name)
                try:
                    if os.path.islink(path):
                        continue
                    with open(path, "rb") as handle:
                        if needle in handle.read():
                            found.append(path)
                except OSError:
                    continue
    return sorted(found)


__all__ = ["SECRET_FILES", "find_marker", "plant_secrets"]
