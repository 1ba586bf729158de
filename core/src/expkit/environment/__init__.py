"""Environment identity: canonical ``conda_dependencies.yml`` and its layered hash.

Called when a run configuration names a ``CondaDependenciesFile`` (config
loading) and by target plugins in ``expkit_prepare``, which key their caches
(docker image tags, local venvs) by the ids computed here. Two files that mean
the same environment must give the same id, so parsing (expkit.environment.conda,
expkit.environment.pip) produces a canonical :class:`~expkit.model.EnvironmentSpec`;
this module hashes it in three layers. docs/environments.md says exactly what
each layer hashes and why.

Public API::

    load_conda_file(path, project=None) -> EnvironmentSpec
    parse_conda_data(doc, project=None) -> EnvironmentSpec
    environment_id(spec, base_identity) -> EnvironmentId     # .base, .system, .pip (== .id)
    layer_inputs(spec, base_identity) -> dict                # the exact JSON hashed per layer
    python_version(spec) -> str | None
    local_file_paths(spec, project) -> dict[str, Path]       # pip's local files, for installers
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from expkit.digest import sha256_hex
from expkit.environment.conda import IGNORED_KEYS, load_conda_file, parse_conda_data
from expkit.model import EnvironmentId, EnvironmentSpec

#: Part of every hashed layer input: bump it when the canonical form changes,
#: so ids computed by an older expkit can never collide with new ones.
SCHEMA = "expkit-env/1"
#: Length of an id in hex characters: 64 bits is ample for one user's cache,
#: and the ids stay readable in image tags and folder names.
ID_LENGTH = 16


def _digest(payload: dict[str, Any]) -> str:
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return sha256_hex(text.encode("utf-8"))[:ID_LENGTH]


def _layers(
    spec: EnvironmentSpec | None, base_identity: str, system_extra: Mapping[str, Any] | None = None
) -> tuple[dict[str, dict[str, Any]], EnvironmentId]:
    if not isinstance(base_identity, str) or not base_identity:
        raise ValueError(
            "base_identity must be a non-empty string (an image id or interpreter identity)"
        )
    spec = spec or EnvironmentSpec()
    base = {"schema": SCHEMA, "layer": "base", "identity": base_identity}
    base_id = _digest(base)
    # Sorting again here keeps hand-built specs (tests, plugins) order-independent too;
    # channels keep their order because it is conda's priority.
    system: dict[str, Any] = {
        "schema": SCHEMA,
        "layer": "system",
        "parent": base_id,
        "python": spec.python,
        "channels": list(spec.channels),
        "conda": sorted(set(spec.conda)),
    }
    if system_extra:
        # What a target adds to the system layer (Java + pyspark for Framework: PySpark).
        system["extra"] = dict(system_extra)
    system_id = _digest(system)
    pip: dict[str, Any] = {
        "schema": SCHEMA,
        "layer": "pip",
        "parent": system_id,
        "pip": sorted(set(spec.pip)),
        "local_files": dict(sorted(spec.local_files.items())),
    }
    inputs = {"base": base, "system": system, "pip": pip}
    return inputs, EnvironmentId(base=base_id, system=system_id, pip=_digest(pip))


def layer_inputs(
    spec: EnvironmentSpec | None,
    base_identity: str,
    system_extra: Mapping[str, Any] | None = None,
) -> dict[str, dict[str, Any]]:
    """The exact JSON objects hashed for each layer: ``{"base": ..., "system": ..., "pip": ...}``.

    For ``exp env show`` and the docs. Each layer's id is the first 16 hex
    characters of sha256 over its object as compact JSON with sorted keys; each
    object names its parent layer's id, so a change below changes every id above.
    """
    return _layers(spec, base_identity, system_extra)[0]


def environment_id(
    spec: EnvironmentSpec | None,
    base_identity: str,
    system_extra: Mapping[str, Any] | None = None,
) -> EnvironmentId:
    """The layered id of ``spec`` built on ``base_identity``.

    ``base_identity`` names what the environment is built on: a docker base
    image id (``sha256:...``) or a local interpreter identity (realpath plus
    full version). A spec of None (no conda file) still has an id: the layers
    then depend on the base alone. ``system_extra`` (JSON-able) is what a
    target installs into the system layer besides the spec, e.g. Java and
    pyspark for ``Framework: PySpark``; None or empty leaves every id unchanged.
    """
    return _layers(spec, base_identity, system_extra)[1]


def python_version(spec: EnvironmentSpec | None) -> str | None:
    """The requested Python version (``"3.11"``, ``"3.5.2"``), or None if unpinned."""
    return spec.python if spec is not None else None


def local_file_paths(spec: EnvironmentSpec | None, project: Path) -> dict[str, Path]:
    """Where each of the spec's local pip files is (key of ``local_files`` -> path).

    Keys are project-relative POSIX paths (absolute when the file is outside
    the project); the matching ``pip`` entry is ``./<key>`` (or the absolute path).
    """
    if spec is None:
        return {}
    return {key: Path(project) / key for key in spec.local_files}


__all__ = [
    "IGNORED_KEYS",
    "SCHEMA",
    "environment_id",
    "layer_inputs",
    "load_conda_file",
    "local_file_paths",
    "parse_conda_data",
    "python_version",
]
