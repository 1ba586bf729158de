"""``exp env list|show|prune``: the cached execution environments of the targets.

The core knows no engine: each target plugin lists and removes its own
environments through ``expkit_list_environments`` and
``expkit_remove_environment``. With ``-c RUNCONFIG`` the command is about
that run configuration's compute target; without it, about every installed
target type (one whose engine is unreachable is skipped with a note).

Pruning needs a criterion — ``--older-than DAYS`` (not used for that long;
never-used ones count from their creation), ``--unused`` (never used by a
run or prepare recorded in this machine's expkit cache), ``--all``, or
environment ids — and criteria combine with "and". ``--dry-run`` shows what
would go.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from expkit.model import ComputeTarget, EnvironmentInfo

env_app = typer.Typer(
    name="env", help="List, inspect and prune cached execution environments.",
    no_args_is_help=True, rich_markup_mode=None,
)  # fmt: skip

_RUNCONFIG = typer.Option(
    None, "-c", "--run-configuration", metavar="RUNCONFIG",
    help="Only the compute target of aml_config/RUNCONFIG.runconfig (default: every target type).",
)  # fmt: skip
_JSON = typer.Option(False, "--json", help="Print JSON.")
DAY = 86400.0


def _targets(runconfig: str | None):
    """``[(target label, ComputeTarget)]`` whose environments the command is about."""
    from expkit.model import ComputeTarget
    from expkit.plugins import get_registry

    registry = get_registry()
    if runconfig is not None:
        from expkit.config import Project

        project = Project.find()
        resolved = project.resolve(runconfig, registry)
        return registry, [(resolved.compute.name, resolved.compute)], True
    types = [t for t in registry.primary_types() if t.available]
    return registry, [(t.name, ComputeTarget(name=t.name, type=t.name)) for t in types], False


def _collect(runconfig: str | None) -> list[tuple[str, ComputeTarget, EnvironmentInfo]]:
    """``[(target label, compute, EnvironmentInfo)]``; unreachable targets are noted
    (an error when the target was asked for with ``-c``)."""
    from expkit.cli.output import note
    from expkit.errors import ExpkitError

    registry, targets, explicit = _targets(runconfig)
    found = []
    for label, compute in targets:
        try:
            infos = registry.list_environments(compute)
        except ExpkitError as exc:
            if explicit:
                raise
            note(f"{label}: environments not listed: {str(exc).splitlines()[0]}")
            continue
        for info in infos or ():
            found.append((label, compute, info))
    return found


def _row(label: str, info) -> dict:
    from expkit.cli.output import to_plain

    return {"target": label, **to_plain(info)}


def _when(ts: float | None) -> str:
    if not ts:
        return "never"
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(ts))


def _size(n: float | None) -> str:
    if n is None:
        return ""
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return ""


def _print(found, as_json: bool) -> None:
    from expkit.cli.output import print_json, print_table

    if as_json:
        print_json([_row(label, info) for label, _c, info in found])
        return
    rows = [
        (
            label,
            info.env_id,
            info.location,
            _size(info.size_bytes),
            _when(info.created),
            _when(info.last_used),
        )
        for label, _c, info in found
    ]
    print_table(("target", "env id", "location", "size", "created", "last used"), rows)


def _match(found, env_id: str):
    from expkit.errors import UsageError

    exact = [item for item in found if item[2].env_id == env_id]
    if exact:
        return exact
    matches = [item for item in found if item[2].env_id.startswith(env_id)]
    if not matches:
        raise UsageError(f"no cached environment {env_id!r}; see `exp env list`.")
    ids = sorted({item[2].env_id for item in matches})
    if len(ids) > 1:
        raise UsageError(f"environment id {env_id!r} is ambiguous: {', '.join(ids)}")
    return matches


@env_app.command("list")
def list_command(runconfig: str | None = _RUNCONFIG, as_json: bool = _JSON) -> None:
    """List cached environments: target, id, image or folder, size, created, last used."""
    _print(_collect(runconfig), as_json)


@env_app.command("show")
def show_command(
    env_id: str = typer.Argument(..., metavar="ENV_ID", help="An environment id or unique prefix."),
    runconfig: str | None = _RUNCONFIG,
    as_json: bool = _JSON,
) -> None:
    """Show one cached environment: its layers, location, packages and details."""
    import json

    from expkit.cli.output import print_json, to_plain

    matches = _match(_collect(runconfig), env_id)
    if as_json:
        print_json(
            _row(matches[0][0], matches[0][2])
            if len(matches) == 1
            else [_row(label, info) for label, _c, info in matches]
        )
        return
    for label, _compute, info in matches:
        plain = to_plain(info)
        typer.echo(f"environment {info.env_id} ({label})")
        typer.echo(f"  location:  {info.location}")
        typer.echo(f"  size:      {_size(info.size_bytes)}")
        typer.echo(f"  created:   {_when(info.created)}")
        typer.echo(f"  last used: {_when(info.last_used)}")
        if info.layers is not None:
            layers = info.layers
            typer.echo(f"  layers:    base {layers.base}  system {layers.system}  pip {layers.pip}")
        details = dict(plain.get("details") or {})
        packages = details.pop("packages", None)
        for key, value in details.items():
            if value not in (None, "", [], {}):
                shown = (
                    json.dumps(value, ensure_ascii=False)
                    if isinstance(value, (dict, list))
                    else value
                )
                typer.echo(f"  {key}: {shown}")
        if packages:
            typer.echo("  packages:")
            for package in packages:
                typer.echo(f"    {package}")


@env_app.command("prune")
def prune_command(
    env_ids: list[str] | None = typer.Argument(
        None, metavar="[ENV_ID]...", help="Only these environments (ids or prefixes)."
    ),
    older_than: float | None = typer.Option(
        None, "--older-than", metavar="DAYS", min=0, help="Not used for more than DAYS days."
    ),
    unused: bool = typer.Option(
        False, "--unused", help="Never used by a run or prepare on record."
    ),
    everything: bool = typer.Option(
        False, "--all", help="Every cached environment of the target(s)."
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="Only show what would be removed."),
    runconfig: str | None = _RUNCONFIG,
    as_json: bool = _JSON,
) -> None:
    """Remove cached environments: by age, never used, by id, or all."""
    from expkit.cli.output import note, print_json
    from expkit.errors import UsageError

    if older_than is None and not unused and not everything and not env_ids:
        raise UsageError(
            "say what to prune: --older-than DAYS, --unused, --all, or environment ids "
            "(add --dry-run to see the list first)."
        )
    found = _collect(runconfig)
    if env_ids:
        chosen = {id(item) for wanted in env_ids for item in _match(found, wanted)}
        found = [item for item in found if id(item) in chosen]
    now = time.time()
    if older_than is not None:
        found = [
            item
            for item in found
            if (item[2].last_used or item[2].created or now) < now - older_than * DAY
        ]
    if unused:
        found = [item for item in found if item[2].last_used is None]
    from expkit.plugins import get_registry

    registry = get_registry()
    removed = []
    for label, compute, info in found:
        if not dry_run:
            gone = registry.remove_environment(compute, info.env_id)
            if not gone:
                continue
        removed.append((label, info))
    if as_json:
        print_json([_row(label, info) for label, info in removed])
        return
    verb = "would remove" if dry_run else "removed"
    for label, info in removed:
        typer.echo(
            f"{verb} {label} environment {info.env_id} ({info.location}, {_size(info.size_bytes)})"
        )
    if not removed:
        note("no environment matched")


def register(app: typer.Typer) -> None:
    app.add_typer(env_app, name="env")
