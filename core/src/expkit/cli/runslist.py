"""The body of ``exp runs list``, free of typer.

Both the Typer command (expkit.cli.runs) and the start-up fast path
(expkit.launcher) call :func:`list_runs`: importing Typer and building its
commands is half of what listing a hundred runs costs, and people list runs
all day. Also here: opening the history as every ``runs`` command does.
"""

from __future__ import annotations

import sys

#: Runs a terminal shows without --all or --limit.
DEFAULT_LIMIT = 50


def note(message: str) -> None:
    _err(f"exp: note: {message}")


def _err(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def reap(history) -> None:
    """Mark runs whose `exp` died as lost, stop what they left running and collect
    what they wrote (expkit.runner.orphans.reconcile).

    With nothing lost (the usual case) this is one query: no configuration is
    read and no plugin is called.
    """
    from expkit.runner.detached import settle
    from expkit.runner.orphans import reconcile

    reconcile(history, note)
    settle(history, note)  # detached runs (remote targets) that ended meanwhile


def open_history():
    """The project's history, with lost and ended detached runs settled first."""
    from expkit.config import find_project_root
    from expkit.history import History

    history = History(find_project_root(), note=note)
    reap(history)
    return history


def list_runs(
    *,
    status: str | None = None,
    target: str | None = None,
    expression: str | None = None,
    sort: str | None = None,
    columns: str | None = None,
    limit: int | None = None,
    show_all: bool = False,
    as_csv: bool = False,
    as_json: bool = False,
) -> None:
    """Print the runs table (or CSV, or the records as JSON); see ``exp runs list --help``."""
    import gc

    # 10,000 runs are ~300,000 small objects that all live until exit: the cyclic
    # collector would only walk them again and again (a third of the time).
    gc.disable()
    from expkit.cli.runtable import print_runs
    from expkit.history import table
    from expkit.history.columns import read_runs
    from expkit.history.query import any_runs, newest_records, raw_records
    from expkit.model import RUN_STATUSES

    if status is not None and status not in RUN_STATUSES:
        from expkit.errors import ConfigError

        raise ConfigError("unknown run status", key="--status", allowed=RUN_STATUSES, got=status)
    compiled = None
    if expression is not None:
        from expkit.history.filter import compile_filter

        compiled = compile_filter(expression)
    keys = table.parse_sort(sort) if sort else []
    if limit is None and not (show_all or as_json or as_csv) and sys.stdout.isatty():
        limit = DEFAULT_LIMIT
    picking = compiled is not None or bool(keys)
    named = table.fields_named(
        [
            *(columns.split(",") if columns else ()),
            *(compiled.names if compiled else ()),
            *(k for k, _ in keys),
        ]
    )
    with open_history() as history:
        if as_json and not picking:  # no need to look inside the records
            texts = newest_records(history, limit, status=status, target=target)
            sys.stdout.write("[\n" + ",\n".join(texts) + "\n]\n" if texts else "[]\n")
            return
        runs, total = read_runs(
            history, named, status=status, target=target, limit=None if picking else limit
        )
        _warn_unlisted(history)
        if picking:
            table.check_names([k for k, _ in keys], runs, "--sort")
            if compiled is not None:
                table.check_names(compiled.names, runs, "--filter")
            picked = table.select(runs, compiled, keys)
            total = len(picked)
            runs = runs.take(picked if limit is None else picked[:limit])
        if as_json:
            texts = raw_records(history, list(runs.field("id")))
            sys.stdout.write("[\n" + ",\n".join(texts) + "\n]\n" if texts else "[]\n")
            return
        empty = not len(runs) and not any_runs(history)
    if not len(runs):
        if empty:
            _err("no runs yet: start one with `exp run SCRIPT`.")
        else:
            _err(
                f"no runs match {_filters_text(status, target, expression)}; "
                "`exp runs list` shows every run."
            )
        if as_csv:
            print_runs(runs, columns, as_csv=True)
        return
    print_runs(runs, columns, as_csv=as_csv)
    if len(runs) < total and not as_csv:
        _err(f"({len(runs)} of {total} runs shown; --all or --limit N for more)")


def _warn_unlisted(history) -> None:
    from expkit.history.query import unlisted

    damaged = unlisted(history)
    if damaged:
        note(
            f"warning: {damaged} run(s) have a damaged index row and are not listed; "
            "their folders under .exp/runs/ keep their records."
        )


def _filters_text(status, target, expression) -> str:
    parts = [f"--status {status}" if status else "", f"--target {target}" if target else ""]
    parts.append(f"--filter {expression!r}" if expression else "")
    return " ".join(p for p in parts if p)
