#!/usr/bin/env python3
"""Generate the command reference part of docs/cli.md from the Typer app.

    python scripts/cli_docs.py --write    # rewrite the generated part of docs/cli.md
    python scripts/cli_docs.py --check    # exit 1 when docs/cli.md is out of date

Only the text between the BEGIN/END markers is generated (every command,
argument and option, with the help text written in the code); the prose around
it is written by hand. tests/kit/test_docs.py runs the check, so a command
added without regenerating the reference fails the test suite.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
CLI_MD = REPO / "docs" / "cli.md"
BEGIN = "<!-- BEGIN GENERATED: python scripts/cli_docs.py --write -->"
END = "<!-- END GENERATED -->"


def root_command() -> Any:
    import typer.main
    from expkit.cli import app

    return typer.main.get_command(app)


def walk(command: Any, path: tuple[str, ...] = ("exp",)) -> Iterator[tuple[tuple[str, ...], Any]]:
    """Every visible command and group under ``command``, depth first, sorted by name."""
    yield path, command
    for name, sub in sorted(subcommands(command).items()):
        if not getattr(sub, "hidden", False):
            yield from walk(sub, (*path, name))


def subcommands(command: Any) -> dict[str, Any]:
    """A group's commands by name, through click's lookup (the root group loads its
    commands' modules on demand; its ``commands`` holds only those loaded so far)."""
    if not hasattr(command, "list_commands"):
        return {}
    return {name: command.get_command(None, name) for name in command.list_commands(None)}


def command_paths() -> list[str]:
    return [" ".join(path) for path, _ in walk(root_command())]


def option_names(command: Any) -> list[str]:
    """The long (or only) spelling of each visible option, e.g. ``--json``."""
    names = []
    for param in command.params:
        if param.param_type_name != "option" or getattr(param, "hidden", False):
            continue
        longs = [o for o in param.opts if o.startswith("--")]
        names.append((longs or param.opts)[0])
    return names


def _first_paragraph(text: str | None) -> str:
    return " ".join((text or "").strip().split("\n\n")[0].split())


def _default(param: Any) -> str:
    value = param.default
    if callable(value) or value is None or value is False or value == () or value == []:
        return ""
    if type(value).__name__ in ("Sentinel", "_Missing") or repr(value).startswith("<"):
        return ""
    return f" (default: `{value}`)"


def _click():
    try:
        import click
    except ImportError:  # typer >= 0.22 vendors click as typer._click
        from typer import _click as click
    return click


def context(path: tuple[str, ...], command: Any) -> Any:
    """A click context for ``command``: what ``--help`` renders with."""
    return _click().Context(command, info_name=path[-1])


def metavar(param: Any, ctx: Any) -> str:
    """``SCRIPT``, ``RUNCONFIG``, ``<str>``: exactly what ``--help`` shows for ``param``."""
    return param.make_metavar(ctx)


def _usage(path: tuple[str, ...], command: Any) -> str:
    """The usage line as ``--help`` prints it."""
    return " ".join([*path, *command.collect_usage_pieces(context(path, command))])


def render_command(path: tuple[str, ...], command: Any) -> str:
    level = "#" * min(2 + len(path) - 1, 4)
    lines = [f"{level} `{' '.join(path)}`", ""]
    about = _first_paragraph(command.help) or _first_paragraph(getattr(command, "short_help", ""))
    if about:
        lines += [about, ""]
    lines += ["```", _usage(path, command), "```", ""]
    rows = []
    ctx = context(path, command)
    for param in command.params:
        if getattr(param, "hidden", False):
            continue
        if param.param_type_name == "argument":
            name = f"`{metavar(param, ctx)}`"
        else:
            name = ", ".join(f"`{o}`" for o in [*param.opts, *param.secondary_opts])
            if not getattr(param, "is_flag", False) and not getattr(param, "count", False):
                name += f" {metavar(param, ctx)}"
        help_text = _first_paragraph(getattr(param, "help", "")).replace("|", "\\|")
        required = " Required." if param.required and param.param_type_name == "option" else ""
        rows.append(f"| {name} | {help_text}{required}{_default(param)} |")
    if rows:
        lines += ["| argument / option | meaning |", "|---|---|", *rows, ""]
    found = sorted(subcommands(command).items())
    visible = [name for name, sub in found if not getattr(sub, "hidden", False)]
    if visible and len(path) > 1:
        lines += ["Commands: " + ", ".join(f"`{n}`" for n in visible) + ".", ""]
    return "\n".join(lines)


def generate() -> str:
    commands = list(walk(root_command()))
    body = [render_command(path, cmd) for path, cmd in commands[1:]]
    return "\n".join([BEGIN, "", *body, END])


def current(text: str) -> str | None:
    start, end = text.find(BEGIN), text.find(END)
    if start < 0 or end < start:
        return None
    return text[start : end + len(END)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--write", action="store_true", help="rewrite docs/cli.md's generated part")
    mode.add_argument("--check", action="store_true", help="fail when it is out of date")
    mode.add_argument("--print", action="store_true", help="print the generated part")
    args = parser.parse_args(argv)
    fresh = generate()
    if args.print:
        print(fresh)
        return 0
    text = CLI_MD.read_text(encoding="utf-8")
    old = current(text)
    if old is None:
        print(f"{CLI_MD}: markers not found ({BEGIN!r} ... {END!r})", file=sys.stderr)
        return 1
    if args.check:
        if old != fresh:
            print(
                f"{CLI_MD} is out of date: run `python scripts/cli_docs.py --write`",
                file=sys.stderr,
            )
            return 1
        return 0
    CLI_MD.write_text(text.replace(old, fresh), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
