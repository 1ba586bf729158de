"""``exp init``, ``exp target attach|list|show|detach``, ``exp runconfig create|list|show``.

Module level imports typer only: this module is imported by every ``exp``
invocation, so expkit.config and the registry are imported inside commands.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import typer

_TYPER: dict[str, Any] = {
    "no_args_is_help": True,
    "add_completion": False,
    "rich_markup_mode": None,
}
target_app = typer.Typer(help="Attach, list, show and detach compute targets.", **_TYPER)
runconfig_app = typer.Typer(help="Create, list and show run configurations.", **_TYPER)

_JSON = typer.Option(False, "--json", help="Print JSON.")


def _rel(project_root: Path, path: Path) -> str:
    try:
        return path.relative_to(project_root).as_posix()
    except ValueError:
        return str(path)


def _notes(messages: object) -> None:
    from expkit.cli.output import note

    for message in messages:  # type: ignore[attr-defined]
        note(str(message))


def _refuse_overwrite(paths: list[Path], what: str, force: bool, hint: str) -> None:
    from expkit.errors import ConfigError

    existing = [p for p in paths if p.exists()]
    if existing and not force:
        raise ConfigError(
            f"{what} already exists: " + ", ".join(str(p) for p in existing),
            key="--name",
            hint=hint,
        )


# --------------------------------------------------------------------------- init


def init_command(
    force: bool = typer.Option(False, "--force", help="Replace existing files with the defaults."),
) -> None:
    """Create aml_config/ here: local and docker targets, run configurations and sample
    conda_dependencies.yml / spark_dependencies.yml."""
    from expkit.config.scaffold import init_project

    root = Path.cwd()
    for path in init_project(root, force=force):
        typer.echo(f"wrote {_rel(root, path)}")
    typer.echo("next: exp run -c local SCRIPT.py   (or -c docker)")


# --------------------------------------------------------------------------- target


@target_app.command("attach")
def target_attach(
    name: str = typer.Option(
        ..., "--name", "-n", help="Target name (file aml_config/NAME.compute)."
    ),
    type_: str = typer.Option(..., "--type", "-t", help="Target type (see `exp plugins`)."),
    address: str | None = typer.Option(None, "--address", help="Host name or IP address."),
    username: str | None = typer.Option(None, "--username", help="SSH user name."),
    port: int | None = typer.Option(None, "--port", help="SSH port (1-65535)."),
    key_file: str | None = typer.Option(None, "--key-file", help="SSH private key file."),
    base_image: str | None = typer.Option(None, "--base-image", help="Base Docker image."),
    trust_host_key: str | None = typer.Option(
        None,
        "--trust-host-key",
        metavar="SHA256:...",
        help="Trust this host key fingerprint for a host not yet in known_hosts (SSH targets).",
    ),
    force: bool = typer.Option(False, "--force", help="Replace an existing target of that name."),
) -> None:
    """Attach a compute target: write aml_config/NAME.compute and a matching NAME.runconfig."""
    from expkit.config import Project, check_name
    from expkit.config.compute import resolve_type
    from expkit.errors import ConfigError
    from expkit.model import AttachRequest
    from expkit.plugins import get_registry

    check_name(name, what="target name", option="--name")
    if port is not None and not 1 <= port <= 65535:
        raise ConfigError(f"must be from 1 to 65535, got {port}", key="--port")
    project = Project.find()
    paths = [project.compute_path(name), project.runconfig_path(name)]
    _refuse_overwrite(
        paths,
        f"target {name!r}",
        force,
        f"use `--force` to replace it, or `exp target detach {name}` first.",
    )
    registry = get_registry()
    try:
        ttype = resolve_type(registry, type_.strip(), None)
    except ConfigError as err:
        err.key = "--type"
        raise
    if key_file:
        # Relative to where the user typed it, not to wherever `exp run` is started later.
        key_file = os.path.abspath(os.path.expanduser(key_file))
    request = AttachRequest(
        name=name,
        type=ttype.name,
        project=project.root,
        address=address,
        username=username,
        port=port,
        key_file=key_file,
        base_image=base_image,
        trust_host_key=trust_host_key,
    )
    from expkit.plugins import NoOwnerError

    try:
        result = registry.attach(request)
    except NoOwnerError:
        raise ConfigError(
            f"target type {ttype.name!r} ({ttype.package}) does not support attach",
            key="--type",
            hint=f"write aml_config/{name}.compute by hand (docs/configuration.md).",
        ) from None
    compute_data = {"type": ttype.name, **dict(result.compute)}
    runconfig_data = {"ArgumentVector": ["$file"], "Target": name, **dict(result.runconfig)}
    project.check_compute_data(name, compute_data, registry)
    runconfig = project.check_runconfig_data(name, runconfig_data)
    written = [
        project.write_compute(name, compute_data),
        project.write_runconfig(name, runconfig_data, command="target attach"),
    ]
    typer.echo(
        f"attached target {name!r} (type {ttype.name}): "
        + ", ".join(_rel(project.root, p) for p in written)
    )
    for relpath in (runconfig.conda_dependencies_file, runconfig.spark_dependencies_file):
        if relpath and not (project.root / relpath).is_file():
            _notes(
                [f"{_rel(project.root, paths[1])} refers to {relpath}, which does not exist yet."]
            )
    typer.echo(f"run with: exp run -c {name} SCRIPT.py")


@target_app.command("list")
def target_list(as_json: bool = _JSON) -> None:
    """List the compute targets in aml_config/."""
    from expkit.cli.output import print_json, print_table
    from expkit.cli.views import target_entries, where
    from expkit.config import Project
    from expkit.plugins import get_registry

    project = Project.find()
    entries = target_entries(project, get_registry())
    if as_json:
        print_json(entries)
        return
    if not entries:
        typer.echo(
            "no compute targets in aml_config/: add one with `exp target attach` or `exp init`.",
            err=True,
        )
        return
    rows = [
        (
            e["name"],
            e["type"] or "?",
            where(e) if not e["error"] else "",
            ",".join(e["runconfigs"]),
            f"invalid: see `exp target show {e['name']}`" if e["error"] else "",
        )
        for e in entries
    ]
    print_table(("name", "type", "where", "runconfigs", "status"), rows)


@target_app.command("show")
def target_show(
    name: str = typer.Argument(..., help="Target name."), as_json: bool = _JSON
) -> None:
    """Show one compute target (a password is shown as ***)."""
    from expkit.cli.output import print_json
    from expkit.cli.views import runconfig_targets, target_entry
    from expkit.config import Project, compute_data, compute_notes
    from expkit.plugins import get_registry

    project = Project.find()
    compute = project.load_compute(name, get_registry())
    runconfigs = [rc for rc, target in runconfig_targets(project).items() if target == name]
    _notes(compute_notes(compute))
    if as_json:
        print_json(target_entry(compute, runconfigs))
        return
    typer.echo(f"name: {name}")
    typer.echo(f"file: {_rel(project.root, project.compute_path(name))}")
    for key, value in compute_data(compute).items():
        typer.echo(f"{key}: {str(value).lower() if isinstance(value, bool) else value}")
    typer.echo(f"runconfigs: {', '.join(runconfigs) or '(none)'}")


@target_app.command("detach")
def target_detach(name: str = typer.Argument(..., help="Target name.")) -> None:
    """Remove aml_config/NAME.compute and the NAME.runconfig that targets it."""
    from expkit.cli.views import runconfig_targets
    from expkit.config import Project

    project = Project.find()
    compute_path = project.existing_file(name, "compute")
    targets = runconfig_targets(project)
    removed = [compute_path]
    if targets.get(name) == name:
        removed.append(project.runconfig_path(name))
    for path in removed:
        path.unlink()
    typer.echo(
        f"detached target {name!r}: removed " + ", ".join(_rel(project.root, p) for p in removed)
    )
    _notes(
        f"run configuration {rc!r} still names target {name!r}: edit or delete "
        f"{_rel(project.root, project.runconfig_path(rc))}."
        for rc, target in targets.items()
        if target == name and rc != name
    )


# --------------------------------------------------------------------------- runconfig


@runconfig_app.command("create")
def runconfig_create(
    name: str = typer.Option(..., "--name", "-n", help="Name (file aml_config/NAME.runconfig)."),
    target: str = typer.Option(..., "--target", "-t", help="Compute target it runs on."),
    framework: str = typer.Option("Python", "--framework", help="Python or PySpark."),
    conda_file: Path | None = typer.Option(
        None, "--conda-file", help="conda_dependencies.yml to use."
    ),
    spark_file: Path | None = typer.Option(
        None, "--spark-file", help="spark_dependencies.yml to use."
    ),
    env: list[str] | None = typer.Option(None, "--env", "-e", help="KEY=VALUE (repeatable)."),
    prepare: bool = typer.Option(
        False, "--prepare/--no-prepare", help="Prepare the environment before every run."
    ),
    force: bool = typer.Option(False, "--force", help="Replace an existing run configuration."),
) -> None:
    """Create aml_config/NAME.runconfig."""
    from expkit.config import Project, check_name
    from expkit.config.runconfig import FRAMEWORKS
    from expkit.errors import ConfigError

    check_name(name, what="run configuration name", option="--name")
    project = Project.find()
    _refuse_overwrite(
        [project.runconfig_path(name)],
        f"run configuration {name!r}",
        force,
        "use `--force` to replace it.",
    )
    try:
        project.existing_file(target, "compute")
    except ConfigError as err:
        err.key = "--target"
        raise
    canonical = next((f for f in FRAMEWORKS if f.lower() == framework.strip().lower()), None)
    if canonical is None:
        raise ConfigError(
            f"{framework!r} is not allowed", key="--framework", allowed=FRAMEWORKS, got=framework
        )
    variables = {}
    for item in env or ():
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(
                f"{item!r} is not KEY=VALUE",
                key="--env",
                hint="e.g. --env LEARNING_RATE=0.01 (repeat --env for more).",
            )
        variables[key] = value
    data = {
        "ArgumentVector": ["$file"],
        "Target": target,
        "Framework": canonical,
        "EnvironmentVariables": variables,
        "PrepareEnvironment": prepare,
        "TrackedRun": True,
    }
    for key, option, path in (
        ("CondaDependenciesFile", "--conda-file", conda_file),
        ("SparkDependenciesFile", "--spark-file", spark_file),
    ):
        if path is not None:
            data[key] = _project_file(project.root, path, option)
    project.check_runconfig_data(name, data)
    written = project.write_runconfig(name, data)
    typer.echo(f"wrote {_rel(project.root, written)}; run with: exp run -c {name} SCRIPT.py")


def _project_file(root: Path, path: Path, option: str) -> str:
    """``path`` (relative to the working directory) as a project-relative POSIX path."""
    from expkit.errors import ConfigError

    resolved = (Path.cwd() / path.expanduser()).resolve()
    if not resolved.is_file():
        raise ConfigError(f"file not found: {path}", key=option)
    try:
        return resolved.relative_to(root).as_posix()
    except ValueError:
        raise ConfigError(
            f"{path} is outside the project ({root})",
            key=option,
            hint="copy it into the project (e.g. into aml_config/) so every target sees it.",
        ) from None


@runconfig_app.command("list")
def runconfig_list(as_json: bool = _JSON) -> None:
    """List the run configurations in aml_config/."""
    from expkit.cli.output import print_json, print_table
    from expkit.cli.views import runconfig_entries
    from expkit.config import Project

    entries = runconfig_entries(Project.find())
    if as_json:
        print_json(entries)
        return
    if not entries:
        typer.echo(
            "no run configurations in aml_config/: add one with "
            "`exp runconfig create` or `exp init`.",
            err=True,
        )
        return
    rows = [
        (
            e["name"],
            e["target"] or "",
            e["framework"] or "",
            e["conda_dependencies_file"] or "",
            f"invalid: see `exp runconfig show {e['name']}`" if e["error"] else "",
        )
        for e in entries
    ]
    print_table(("name", "target", "framework", "conda file", "status"), rows)


@runconfig_app.command("show")
def runconfig_show(
    name: str = typer.Argument(..., help="Run configuration name."), as_json: bool = _JSON
) -> None:
    """Show a run configuration resolved as a run would use it (target, environment, Spark)."""
    from expkit.cli.output import print_json
    from expkit.cli.views import resolved_entry, resolved_text
    from expkit.config import Project

    project = Project.find()
    resolved = project.resolve(name)
    _notes(resolved.notes)
    if as_json:
        print_json(resolved_entry(resolved))
        return
    typer.echo(resolved_text(resolved))


def register(app: typer.Typer) -> None:
    app.command("init")(init_command)
    app.add_typer(target_app, name="target")
    app.add_typer(runconfig_app, name="runconfig")
