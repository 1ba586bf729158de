"""What ``exp target list/show`` and ``exp runconfig list/show`` print.

Kept apart from the CLI wiring so the JSON shapes are defined (and tested)
in one place. Listings are tolerant: one broken file is reported in its own
entry (``error``) instead of hiding every other target.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Any

from expkit.config.project import Project, ResolvedRun
from expkit.errors import ConfigError
from expkit.jsonio import to_plain
from expkit.model import ComputeTarget, RunConfig

if TYPE_CHECKING:
    from expkit.plugins import Registry

MASK = "***"


def masked(compute: ComputeTarget) -> ComputeTarget:
    """``compute`` with the password replaced by ``***``: nothing prints a password."""
    return dataclasses.replace(compute, password=MASK if compute.password else None)


def _empty(cls: type, **values: Any) -> dict[str, Any]:
    entry = {f.name: None for f in dataclasses.fields(cls)}
    entry.update(values)
    return entry


def runconfig_targets(project: Project) -> dict[str, str]:
    """Run configuration name -> the target it names, for those that parse."""
    targets = {}
    for name in project.runconfig_names():
        try:
            targets[name] = project.load_runconfig(name, check_files=False).target
        except ConfigError:
            continue
    return targets


def target_entry(compute: ComputeTarget, runconfigs: list[str]) -> dict[str, Any]:
    entry = to_plain(masked(compute))
    entry["runconfigs"] = runconfigs
    entry["error"] = None
    return entry


def target_entries(project: Project, registry: Registry) -> list[dict[str, Any]]:
    """One JSON-ready entry per ``.compute`` file: ComputeTarget fields (password
    masked), ``runconfigs`` naming it, ``error`` (None, or why it does not load)."""
    by_target: dict[str, list[str]] = {}
    for rc_name, target in runconfig_targets(project).items():
        by_target.setdefault(target, []).append(rc_name)
    entries = []
    for name in project.compute_names():
        try:
            compute = project.load_compute(name, registry)
        except ConfigError as err:
            path = project.compute_path(name)
            entries.append(
                _empty(
                    ComputeTarget,
                    name=name,
                    type=_raw_type(path),
                    source=str(path),
                    runconfigs=by_target.get(name, []),
                    error=str(err),
                )
            )
            continue
        entries.append(target_entry(compute, by_target.get(name, [])))
    return entries


def _raw_type(path: Path) -> str | None:
    """The ``type:`` as written, for a file that did not validate."""
    from expkit.yamlio import load_yaml

    try:
        data = load_yaml(path).data
    except ConfigError:
        return None
    value = data.get("type") if isinstance(data, dict) else None
    return value if isinstance(value, str) else None


def runconfig_entries(project: Project) -> list[dict[str, Any]]:
    """One JSON-ready entry per ``.runconfig`` file: RunConfig fields plus ``error``."""
    entries = []
    for name in project.runconfig_names():
        try:
            entry = to_plain(project.load_runconfig(name))
            entry["error"] = None
        except ConfigError as err:
            path = project.runconfig_path(name)
            entry = _empty(RunConfig, name=name, source=str(path), error=str(err))
        entries.append(entry)
    return entries


def resolved_entry(resolved: ResolvedRun) -> dict[str, Any]:
    """``exp runconfig show --json``: the whole resolved run, password masked."""
    return to_plain(dataclasses.replace(resolved, compute=masked(resolved.compute)))


def where(entry: dict[str, Any]) -> str:
    """The one fact that says where a target runs, for tables."""
    if entry.get("address"):
        port = entry.get("port")
        return f"{entry['address']}:{port}" if port else str(entry["address"])
    return entry.get("base_docker_image") or entry.get("python_location") or ""


def resolved_text(resolved: ResolvedRun) -> str:
    """``exp runconfig show``: the file's keys, then what they resolve to."""
    from expkit.config.compute import compute_data
    from expkit.config.runconfig import runconfig_data
    from expkit.yamlio import dump_yaml

    rc, compute, ttype = resolved.runconfig, resolved.compute, resolved.target_type
    lines = [f"# {rc.source}", dump_yaml(runconfig_data(rc)).rstrip()]
    lines.append(f"# compute target {compute.name!r}: {compute.source}  ({ttype.package})")
    lines.append(dump_yaml(compute_data(compute)).rstrip())
    env = resolved.environment
    if env is not None:
        lines.append(f"# environment: {env.source}")
        lines.append(f"python: {env.python or '(not pinned)'}")
        for label, items in (("channels", env.channels), ("conda", env.conda), ("pip", env.pip)):
            lines.append(f"{label}: {', '.join(items) if items else '(none)'}")
    if resolved.spark is not None:
        args = " ".join(resolved.spark.submit_args())
        lines.append(f"# spark-submit arguments: {args or '(none)'}")
    return "\n".join(lines)
