"""``exp run``, ``exp prepare`` and their Workbench spellings ``exp experiment submit|prepare``.

Everything after SCRIPT goes to the script verbatim, including words that
look like options (``--lr 0.1``, ``-c x``, ``--``): options of ``exp run``
go before SCRIPT. ``exp run`` exits with the script's exit code (130 when
canceled, 2 for a usage or configuration error, 3 for an infrastructure
failure).

Module level imports typer only (see expkit.cli): the runner, the config
parser and the plugins are imported when a command runs.
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer

#: Stop option parsing at SCRIPT and pass unknown options through to the script.
SCRIPT_ARGS = {"allow_interspersed_args": False, "ignore_unknown_options": True}

_RUNCONFIG = typer.Option(
    "local",
    "-c",
    "--run-configuration",
    metavar="RUNCONFIG",
    help="Run configuration: aml_config/RUNCONFIG.runconfig.",
)
_JSON_RUN = typer.Option(
    False,
    "--json",
    help="Print the finished run's record as JSON on stdout; script output goes to stderr.",
)
_PREPARE = typer.Option(False, "--prepare", help="Rebuild the environment even when it is cached.")


def _check_script_word(script: str) -> None:
    from expkit.errors import UsageError

    if script.startswith("-") and not Path(script).exists():
        raise UsageError(
            f"no such option: {script}\n"
            "  options of `exp run` go before SCRIPT; everything after SCRIPT is passed\n"
            "  to the script."
        )


def _print_record(record) -> None:
    import json

    from expkit.history import to_dict

    typer.echo(json.dumps(to_dict(record), indent=2, ensure_ascii=False))


def _summary(record) -> str:
    took = f" in {record.duration_s:.2f} s" if record.duration_s is not None else ""
    code = f", exit code {record.exit_code}" if record.exit_code is not None else ""
    text = f"run {record.number} {record.status}{took}{code}"
    if record.error:
        text += f": {record.error.splitlines()[0]}"
    return text + f"  (exp runs show {record.number})"


def run_script(
    runconfig: str, script: str, args: list[str], *, as_json: bool, force_prepare: bool
) -> int:
    """Resolve ``runconfig``, run ``script`` and return ``exp``'s exit code."""
    from expkit.config import Project
    from expkit.errors import ExpkitError
    from expkit.plugins import get_registry
    from expkit.progress import make_progress
    from expkit.runner import exit_code_of, run_experiment

    _check_script_word(script)
    registry = get_registry()
    resolved = Project.find().resolve(runconfig, registry)
    try:
        record = run_experiment(
            resolved,
            script,
            args,
            registry=registry,
            terminal=sys.stderr if as_json else sys.stdout,
            progress=make_progress(sys.stderr),
            force_prepare=force_prepare,
        )
    except ExpkitError as exc:
        failed = getattr(exc, "run_record", None)
        if as_json and failed is not None:
            _print_record(failed)
        raise
    if as_json:
        _print_record(record)
    else:
        typer.echo(f"exp: {_summary(record)}", err=True)
    return exit_code_of(record)


def prepare_only(runconfig: str, *, force: bool, as_json: bool) -> None:
    from expkit.config import Project
    from expkit.plugins import get_registry
    from expkit.progress import make_progress
    from expkit.runner import prepare_environment

    registry = get_registry()
    resolved = Project.find().resolve(runconfig, registry)
    for message in resolved.notes:
        typer.echo(f"exp: note: {message}", err=True)
    prepared = prepare_environment(
        resolved, registry=registry, force=force, progress=make_progress(sys.stderr)
    )
    if as_json:
        from expkit.cli.output import print_json

        print_json(prepared)
        return
    state = "cached" if prepared.cached else "prepared"
    ident = prepared.env_id or "user-managed"
    typer.echo(f"environment {ident} {state}: {prepared.location}")


def register(app: typer.Typer) -> None:
    def run_command(
        script: str = typer.Argument(
            ..., metavar="SCRIPT", help="The script, relative to the current folder."
        ),
        args: list[str] | None = typer.Argument(
            None, metavar="[ARGS]...", help="Passed to the script as given."
        ),
        runconfig: str = _RUNCONFIG,
        as_json: bool = _JSON_RUN,
        prepare: bool = _PREPARE,
    ) -> None:
        """Run SCRIPT as a tracked experiment run; exit with the script's exit code."""
        code = run_script(
            runconfig, script, list(args or ()), as_json=as_json, force_prepare=prepare
        )
        if code:
            raise typer.Exit(code)

    def prepare_command(
        runconfig: str = _RUNCONFIG,
        force: bool = typer.Option(
            False, "--force", help="Rebuild even when the environment is cached."
        ),
        as_json: bool = typer.Option(
            False, "--json", help="Print the prepared environment as JSON."
        ),
    ) -> None:
        """Prepare (build or find cached) the execution environment of a run configuration."""
        prepare_only(runconfig, force=force, as_json=as_json)

    app.command("run", context_settings=SCRIPT_ARGS)(run_command)
    app.command("prepare")(prepare_command)

    experiment = typer.Typer(
        help="Azure ML Workbench spellings: `exp experiment submit` (= exp run), "
        "`exp experiment prepare` (= exp prepare).",
        no_args_is_help=True,
        add_completion=False,
        rich_markup_mode=None,
    )
    experiment.command("submit", context_settings=SCRIPT_ARGS)(run_command)
    experiment.command("prepare")(prepare_command)
    app.add_typer(experiment, name="experiment")
