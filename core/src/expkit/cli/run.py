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

import typer

#: Stop option parsing at SCRIPT and pass unknown options through to the script.
SCRIPT_ARGS = {"allow_interspersed_args": False, "ignore_unknown_options": True}


def complete_runconfig(incomplete: str) -> list[str]:
    """Shell completion of ``-c``: the run configurations of the project here."""
    from expkit.config import Project
    from expkit.errors import ExpkitError

    try:
        names = Project.find().runconfig_names()
    except (ExpkitError, OSError):
        return []
    return [name for name in names if name.startswith(incomplete)]


_RUNCONFIG = typer.Option(
    "local",
    "-c",
    "--run-configuration",
    metavar="RUNCONFIG",
    help="Run configuration: aml_config/RUNCONFIG.runconfig.",
    autocompletion=complete_runconfig,
)
_JSON_RUN = typer.Option(
    False,
    "--json",
    help="Print the finished run's record as JSON on stdout; script output goes to stderr.",
)
_REBUILD = typer.Option(
    False, "--rebuild", help="Rebuild the environment even when a ready one is cached."
)
#: Earlier spellings of --rebuild (`exp run --prepare`, `exp prepare --force`), kept hidden.
_OLD_PREPARE = typer.Option(False, "--prepare", hidden=True)
_OLD_FORCE = typer.Option(False, "--force", hidden=True)


def _rebuild(rebuild: bool, old: bool, spelling: str) -> bool:
    if old:
        from expkit.cli.output import note

        note(f"{spelling} is deprecated: use --rebuild (same meaning).")
    return rebuild or old


from expkit.runner.command import prepare_only, run_script  # noqa: E402


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
        rebuild: bool = _REBUILD,
        old_prepare: bool = _OLD_PREPARE,
        name: str | None = typer.Option(
            None, "--name", metavar="NAME", help="A name for the run (shown in `exp runs list`)."
        ),
        tag: list[str] | None = typer.Option(
            None, "--tag", metavar="KEY=VALUE", help="Label the run; repeat for several."
        ),
        note: str | None = typer.Option(None, "--note", metavar="TEXT", help="A note on the run."),
    ) -> None:
        """Run SCRIPT as a tracked experiment run; exit with the script's exit code."""
        rebuild = _rebuild(rebuild, old_prepare, "exp run --prepare")
        code = run_script(
            runconfig,
            script,
            list(args or ()),
            as_json=as_json,
            force_prepare=rebuild,
            name=name,
            tags=list(tag or ()),
            note=note,
        )
        if code:
            raise typer.Exit(code)

    def prepare_command(
        runconfig: str = _RUNCONFIG,
        rebuild: bool = _REBUILD,
        as_json: bool = typer.Option(
            False, "--json", help="Print the prepared environment as JSON."
        ),
        old_force: bool = _OLD_FORCE,
    ) -> None:
        """Prepare (build or find cached) the execution environment of a run configuration."""
        rebuild = _rebuild(rebuild, old_force, "exp prepare --force")
        prepare_only(runconfig, force=rebuild, as_json=as_json)

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
