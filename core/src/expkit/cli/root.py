"""The ``exp`` command line: the root Typer app and ``main``.

Each command group lives in its own module with a ``register(app)`` function,
imported only when one of its commands runs (or for ``exp --help``): Typer
reads the signature of every command it is given, so giving it all of them
made each ``exp runs list`` pay for ``exp target attach`` too. Modules import
heavy libraries inside the commands, never at module level: ``exp``'s start-up
time is part of every tracked run.
"""

from __future__ import annotations

import os
import sys
from functools import cache

import typer
from typer.core import TyperGroup

from expkit import __version__

#: Every top-level command and group, in ``exp --help`` order (Typer's: commands, then
#: groups), and the expkit.cli module whose ``register(app)`` defines it.
COMMANDS: tuple[tuple[str, str], ...] = (
    ("run", "run"),
    ("prepare", "run"),
    ("init", "target"),
    ("plugins", "plugins"),
    ("ui", "ui"),
    ("experiment", "run"),
    ("target", "target"),
    ("runconfig", "target"),
    ("runs", "runs"),
    ("env", "env"),
)
_SETTINGS = {"add_completion": False, "pretty_exceptions_enable": False, "rich_markup_mode": None}


@cache
def module_commands(module: str) -> dict:
    """The click commands ``expkit.cli.<module>``'s ``register(app)`` defines, by name."""
    import importlib

    import typer.main

    holder = typer.Typer(**_SETTINGS)  # type: ignore[arg-type]
    # A callback keeps a one-command app a group (Typer would return the command alone).
    holder.callback()(lambda: None)
    importlib.import_module(f"expkit.cli.{module}").register(holder)
    return dict(typer.main.get_group(holder).commands)


class _LazyGroup(TyperGroup):
    """The root group: a command's module is imported when the command is looked up."""

    def list_commands(self, ctx) -> list[str]:
        return [name for name, _ in COMMANDS]

    def get_command(self, ctx, cmd_name: str):
        module = dict(COMMANDS).get(cmd_name)
        if module is not None and cmd_name not in self.commands:
            self.add_command(module_commands(module)[cmd_name], cmd_name)
        return super().get_command(ctx, cmd_name)


app = typer.Typer(
    cls=_LazyGroup,
    name="exp",
    help="Run Python and PySpark experiments on pluggable compute targets, tracked.",
    no_args_is_help=True,
    # Typer's convention: `exp --install-completion` (bash, zsh, fish, PowerShell).
    add_completion=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

_state = {"debug": False}


def _version(value: bool) -> None:
    if value:
        typer.echo(f"exp (expkit) {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks for errors."),
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Run Python and PySpark experiments on pluggable compute targets, tracked."""
    _state["debug"] = debug or bool(os.environ.get("EXPKIT_DEBUG"))


def debug_enabled() -> bool:
    return _state["debug"]


def main(argv: list[str] | None = None) -> int:
    """Console-script entry point: run the app, turning ExpkitError into a message."""
    from expkit.errors import EXIT_USAGE, ExpkitError

    args = sys.argv[1:] if argv is None else argv
    debug = "--debug" in args or bool(os.environ.get("EXPKIT_DEBUG"))
    try:
        # Non-standalone click returns a `typer.Exit(code)` as its value.
        result = app(args=args, prog_name="exp", standalone_mode=False)
    except ExpkitError as exc:
        if debug:  # the traceback too; the exit code never depends on --debug
            import traceback

            traceback.print_exc()
        typer.echo(f"exp: error: {exc}", err=True)
        return exc.exit_code
    except typer.Exit as exc:
        return exc.exit_code
    except KeyboardInterrupt:
        typer.echo("exp: interrupted", err=True)
        return 130
    except typer.Abort:  # Ctrl-C or EOF at a prompt; typer.Abort exists in every typer
        typer.echo("exp: aborted", err=True)
        return 130
    except Exception as exc:  # click usage errors and the unexpected
        click_errors = _click_exceptions()
        if isinstance(exc, click_errors.ClickException):
            exc.show()
            return EXIT_USAGE if isinstance(exc, click_errors.UsageError) else exc.exit_code
        if debug:
            import traceback

            traceback.print_exc()
        typer.echo(
            f"exp: internal error: {type(exc).__name__}: {exc}\n"
            + (
                "  please report it, with the traceback above."
                if debug
                else "  run again with --debug for the traceback, and please report it."
            ),
            err=True,
        )
        return 1
    return result if isinstance(result, int) and not isinstance(result, bool) else 0


def _click_exceptions():
    """The click exceptions module typer raises from: typer >= 0.22 vendors click as
    ``typer._click`` (whose module has no ``Abort``; typer.Abort is the one both share).

    The vendored copy is tried first: with a separate click installed beside a
    vendoring typer, ``click.exceptions`` would name classes typer never raises.
    """
    try:
        from typer._click import exceptions
    except ImportError:
        from click import exceptions
    return exceptions


def run_main() -> None:  # pragma: no cover - console script shim
    sys.exit(main())
