"""Parsing ``conda_dependencies.yml`` into a canonical EnvironmentSpec.

A standard conda environment file: ``name``, ``channels``, ``dependencies``
(conda MatchSpec strings including ``python=X.Y``, and at most one ``pip:``
list). Canonical means: comments, whitespace, key order, dependency order,
duplicates and package-name case are gone; channel order (conda's priority)
is kept. Every error names the file, the line and the key.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from expkit.errors import ConfigError
from expkit.model import EnvironmentSpec, frozen_map

if TYPE_CHECKING:
    from expkit.yamlio import YamlDoc

KEYS = ("name", "channels", "dependencies", "prefix", "variables")
#: Keys accepted and ignored: ``prefix`` is where ``conda env export`` found the
#: environment on the exporting machine; expkit decides where environments live.
IGNORED_KEYS = ("prefix",)

# [channel::]name, then a version constraint (``=1.26``, ``>=1,<2``, ``=1.26=py311_0``)
# or the space form (``1.26``, ``1.26 py311_0``), then optional ``[key=value]`` brackets.
_CONDA_SPEC = re.compile(
    r"^(?P<channel>\S+?::)?(?P<name>[A-Za-z0-9_][A-Za-z0-9_.\-]*)"
    r"(?P<rest>(?:[=<>!~][^\s\[]*| [\w.*+!=<>,|~]+(?: [\w.*+]+)?)?(?:\[.*\])?)$"
)
_PYTHON_PIN = re.compile(r"^(?:==?| )(?P<version>\d+(?:\.\d+){0,2})(?:\.\*)?$")


# --------------------------------------------------------------------------- loading


def load_conda_file(path: Path, project: Path | None = None) -> EnvironmentSpec:
    """Read ``conda_dependencies.yml`` into a canonical EnvironmentSpec.

    ``project`` is the root that relative pip paths are resolved against; by
    default the nearest folder above ``path`` that holds ``aml_config/``.
    Bad input raises ConfigError naming the file, line and key.
    """
    from expkit.yamlio import load_yaml

    path = Path(path)
    return parse_conda_data(load_yaml(path), project=project)


def parse_conda_data(doc: YamlDoc, project: Path | None = None) -> EnvironmentSpec:
    """The canonical EnvironmentSpec of a parsed conda environment file."""
    data = doc.data
    if data is None:
        return EnvironmentSpec(source=doc.path)
    if not isinstance(data, dict):
        raise doc.error(
            f"a conda environment file is a mapping, not a {_kind(data)}",
            hint="expected keys: name, channels, dependencies.",
        )
    for key in data:
        if key not in KEYS:
            raise doc.error(f"unknown key {key!r}", key, allowed=KEYS[:4], got=str(key))
    if data.get("variables") is not None:
        raise doc.error(
            "conda activation variables are not supported",
            "variables",
            hint="set them in the run configuration's EnvironmentVariables instead.",
        )
    root = Path(project) if project is not None else _project_root(doc.path)
    python, conda, pip_entries = _split_dependencies(doc)
    pip, local_files = _canonical_pip_list(doc, pip_entries, root)
    return EnvironmentSpec(
        python=python,
        channels=_channels(doc),
        conda=tuple(sorted(set(conda))),
        pip=tuple(sorted(set(pip))),
        local_files=frozen_map(dict(sorted(local_files.items()))),
        name=_name(doc),
        source=doc.path,
    )


def _kind(value: Any) -> str:
    names: dict[type, str] = {dict: "mapping", list: "list", str: "string"}
    return names.get(type(value), type(value).__name__)


def _project_root(path: Path) -> Path:
    folder = Path(path).resolve().parent
    for candidate in (folder, *folder.parents):
        if (candidate / "aml_config").is_dir():
            return candidate
    return folder


def _name(doc: YamlDoc) -> str | None:
    name = doc.data.get("name")
    if name is None or isinstance(name, (str, int, float)) and not isinstance(name, bool):
        return None if name is None else str(name)
    raise doc.error(f"must be a string, not a {_kind(name)}", "name")


def _channels(doc: YamlDoc) -> tuple[str, ...]:
    raw = doc.data.get("channels")
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise doc.error(f"must be a list of channel names or URLs, not a {_kind(raw)}", "channels")
    channels: list[str] = []
    for i, item in enumerate(raw):
        if not isinstance(item, str) or not item.strip():
            raise doc.error("each channel must be a non-empty string", "channels", i)
        channel = item.strip().rstrip("/")
        # Order is priority: a repeated channel adds nothing after its first place.
        if channel not in channels:
            channels.append(channel)
    return tuple(channels)


# --------------------------------------------------------------------------- conda


def _split_dependencies(doc: YamlDoc) -> tuple[str | None, list[str], list[tuple[int, int, Any]]]:
    """(python pin, canonical conda specs, raw pip entries with their positions)."""
    raw = doc.data.get("dependencies")
    if raw is None:
        return None, [], []
    if not isinstance(raw, list):
        raise doc.error(f"must be a list of package specs, not a {_kind(raw)}", "dependencies")
    pythons: dict[str, int] = {}
    conda: list[str] = []
    pip: list[tuple[int, int, Any]] = []
    pip_at: int | None = None
    for i, item in enumerate(raw):
        if isinstance(item, dict):
            for key in item:
                if key != "pip":
                    raise doc.error(
                        f"unknown key {key!r} in a dependencies entry",
                        "dependencies",
                        i,
                        allowed=("pip",),
                        got=str(key),
                    )
            if pip_at is not None:
                raise doc.error(
                    f"a second pip: list (the first is at line {doc.line('dependencies', pip_at)})",
                    "dependencies",
                    i,
                    hint="merge them into one pip: list.",
                )
            pip_at = i
            entries = item.get("pip") or []
            if not isinstance(entries, list):
                raise doc.error(
                    f"must be a list of pip requirements, not a {_kind(entries)}",
                    "dependencies",
                    i,
                    "pip",
                )
            pip += [(i, j, entry) for j, entry in enumerate(entries)]
            continue
        if not isinstance(item, str) or not item.strip():
            raise doc.error(
                "each dependency must be a conda package spec (a string) or a pip: list",
                "dependencies",
                i,
            )
        name, spec = _canonical_conda(doc, i, item)
        if name == "python":
            version = _python_pin(doc, i, spec)
            if version is not None:
                pythons.setdefault(version, i)
        else:
            conda.append(spec)
    if len(pythons) > 1:
        where = ", ".join(f"{v} (line {doc.line('dependencies', i)})" for v, i in pythons.items())
        raise doc.error(
            f"conflicting python versions: {where}",
            "dependencies",
            hint="keep a single python=X.Y entry.",
        )
    return next(iter(pythons), None), conda, pip


def _canonical_conda(doc: YamlDoc, index: int, item: str) -> tuple[str, str]:
    """(lowercased name, canonical spec) of one conda MatchSpec string.

    Whitespace around operators is dropped (``numpy =1.26`` is ``numpy=1.26``)
    but a lone space between name and version is kept: in conda ``numpy 1.26``
    (exactly 1.26) and ``numpy=1.26`` (1.26.*) differ in meaning.
    """
    text = " ".join(item.split())
    text = re.sub(r"\s*([=<>!~,|])\s*", r"\1", text)
    match = _CONDA_SPEC.match(text)
    if match is None:
        raise doc.error(
            f"not a conda package spec: {item!r}",
            "dependencies",
            index,
            hint="write NAME, NAME=VERSION or NAME>=VERSION, e.g. numpy=1.26.",
        )
    name = match["name"].lower()
    return name, (match["channel"] or "") + name + match["rest"]


def _python_pin(doc: YamlDoc, index: int, spec: str) -> str | None:
    rest = spec[len("python") :]
    if not rest:
        return None
    match = None if "::" in spec else _PYTHON_PIN.match(rest)
    if match is None:
        raise doc.error(
            f"python must be pinned as python=X.Y or python=X.Y.Z, not {spec!r}",
            "dependencies",
            index,
            hint="targets choose an interpreter by version, e.g. python=3.11.",
        )
    return match["version"]


# --------------------------------------------------------------------------- pip


def _canonical_pip_list(
    doc: YamlDoc, entries: list[tuple[int, int, Any]], root: Path
) -> tuple[list[str], dict[str, str]]:
    from expkit.environment.pip import canonical_pip_entry

    pip: list[str] = []
    local_files: dict[str, str] = {}
    for i, j, entry in entries:
        keys = ("dependencies", i, "pip", j)
        if not isinstance(entry, str) or not entry.strip():
            raise doc.error("each pip entry must be a requirement string, URL or path", *keys)
        canonical, local = canonical_pip_entry(
            entry, root, _error_at(doc, keys), conda_dir=doc.path.parent
        )
        pip.append(canonical)
        if local is not None:
            local_files[local[0]] = local[1]
    return pip, local_files


def _error_at(doc: YamlDoc, keys: tuple[Any, ...]) -> Callable[..., ConfigError]:
    def error(message: str, **kw: Any) -> ConfigError:
        return doc.error(message, *keys, **kw)

    return error


__all__ = ["IGNORED_KEYS", "KEYS", "load_conda_file", "parse_conda_data"]
