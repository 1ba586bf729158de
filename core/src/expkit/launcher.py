"""The ``exp`` console script: a start-up fast path for ``exp run`` and ``exp runs list``.

A tracked run's overhead over plain ``python script.py`` is a measured
feature, and building the Typer app alone costs more than the whole budget;
listing runs is what people do between runs, and Typer's import is half of
listing a hundred. ``exp run`` (and ``exp experiment submit``) and ``exp runs
list`` with only the options they know are parsed here and handed to the same
function the Typer command calls; any other command line, ``--help`` or a
value Typer must refuse included, goes to the full CLI (expkit.cli).
"""

from __future__ import annotations

import os
import sys

_RUN_WORDS = (["run"], ["experiment", "submit"])
_VALUE_OPTIONS = {
    "-c": "runconfig",
    "--run-configuration": "runconfig",
    "--name": "name",
    "--note": "note",
}
_FLAGS = {"--json": "as_json", "--rebuild": "force_prepare"}


def parse_fast_run(argv: list[str]) -> dict | None:
    """The options of a plain ``exp run`` command line, or None to use the full CLI."""
    debug = False
    rest = list(argv)
    while rest and rest[0] == "--debug":
        debug = True
        rest.pop(0)
    for words in _RUN_WORDS:
        if rest[: len(words)] == words:
            rest = rest[len(words) :]
            break
    else:
        return None
    opts: dict = {"runconfig": "local", "as_json": False, "force_prepare": False, "debug": debug}
    opts.update(name=None, note=None, tags=[])
    while rest:
        word = rest[0]
        if word == "--tag" and len(rest) > 1:
            opts["tags"].append(rest[1])
            del rest[:2]
        elif word in _FLAGS:
            opts[_FLAGS[word]] = True
            rest.pop(0)
        elif word in _VALUE_OPTIONS and len(rest) > 1:
            opts[_VALUE_OPTIONS[word]] = rest[1]
            del rest[:2]
        elif word.startswith("--run-configuration="):
            opts["runconfig"] = word.split("=", 1)[1]
            rest.pop(0)
        elif word.startswith("-"):
            return None  # --help, a typo, `--`: let the full CLI answer
        else:
            break
    if not rest:
        return None
    opts["script"], opts["args"] = rest[0], rest[1:]
    return opts


_LIST_VALUES = {
    "--status": "status",
    "--target": "target",
    "--filter": "expression",
    "--sort": "sort",
    "--columns": "columns",
    "--limit": "limit",
    "--last": "limit",
}
_LIST_FLAGS = {"--all": "show_all", "--csv": "as_csv", "--json": "as_json"}


def parse_fast_list(argv: list[str]) -> dict | None:
    """The options of a plain ``exp runs list`` command line, or None to use the full CLI."""
    rest = list(argv)
    debug = False
    while rest and rest[0] == "--debug":
        debug = True
        rest.pop(0)
    if rest[:2] != ["runs", "list"]:
        return None
    rest = rest[2:]
    opts: dict = {"debug": debug}
    while rest:
        word = rest.pop(0)
        if word in _LIST_FLAGS:
            opts[_LIST_FLAGS[word]] = True
        elif word in _LIST_VALUES and rest:
            value = rest.pop(0)
            if _LIST_VALUES[word] != "limit":
                opts[_LIST_VALUES[word]] = value  # a repeated option: the last one counts
            elif value.isdecimal() and int(value) >= 1:
                opts["limit"] = int(value)
            else:
                return None  # the full CLI says what is wrong with it
        else:
            return None  # --help, --x=y, a typo: let the full CLI answer
    return opts


def main(argv: list[str] | None = None) -> int:
    from expkit import codecache
    from expkit.paths import cache_dir

    # Before the first dataclass is defined: expkit.errors, expkit.model, ...
    codecache.install(str(cache_dir()))
    try:
        return _main(sys.argv[1:] if argv is None else argv)
    finally:
        codecache.save()


def _main(args: list[str]) -> int:
    opts = parse_fast_run(args)
    if opts is not None:
        return _guarded(_fast_run, opts)
    listing = parse_fast_list(args)
    if listing is not None:
        return _guarded(_fast_list, listing)
    from expkit.cli.root import main as full_main

    return full_main(args)


def _fast_run(opts: dict) -> int:
    from expkit.runner.command import run_script

    return run_script(
        opts["runconfig"],
        opts["script"],
        opts["args"],
        as_json=opts["as_json"],
        force_prepare=opts["force_prepare"],
        name=opts["name"],
        tags=opts["tags"],
        note=opts["note"],
    )


def _fast_list(opts: dict) -> int:
    from expkit.cli.runslist import list_runs

    list_runs(**{k: v for k, v in opts.items() if k != "debug"})
    return 0


def _guarded(command, opts: dict) -> int:
    """``command(opts)``'s exit code, errors reported as the full CLI reports them."""
    from expkit.errors import ExpkitError

    debug = opts["debug"] or bool(os.environ.get("EXPKIT_DEBUG"))
    try:
        return command(opts)
    except ExpkitError as exc:
        if debug:  # the traceback too; the exit code never depends on --debug
            import traceback

            traceback.print_exc()
        print(f"exp: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("exp: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if debug:
            import traceback

            traceback.print_exc()
        print(
            f"exp: internal error: {type(exc).__name__}: {exc}\n"
            + (
                "  please report it, with the traceback above."
                if debug
                else "  run again with --debug for the traceback, and please report it."
            ),
            file=sys.stderr,
        )
        return 1


def run_main() -> None:  # pragma: no cover - console script shim
    sys.exit(main())
