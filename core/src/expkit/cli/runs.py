"""``exp runs list|show|logs|cancel|download|restore``: the project's run history.

``compare`` and ``plot`` live in expkit.cli.runs_compare; ``tag``, ``note``,
``rename``, ``rm`` and ``gc`` in expkit.cli.runs_edit.

A run is named by its number (``3``), its id, a unique id prefix, or its name. Every
command first marks runs whose ``exp`` process died as failed ("lost"), so
nothing shows as running forever. JSON output uses the record's exact field
names (expkit.model.RunRecord).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import typer

from expkit.cli.runslist import DEFAULT_LIMIT

runs_app = typer.Typer(
    help="List, inspect, follow, cancel, compare, plot, tag and delete runs; get their outputs "
    "and code back.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
)

_JSON = typer.Option(False, "--json", help="Print JSON.")
_RUN = typer.Argument(..., metavar="RUN", help="Run number, id, unique id prefix or name.")
_FORCE = typer.Option(False, "--force", help="Write into a non-empty folder, overwriting files.")
#: How often `logs -f` and `cancel` look for news; a person watching does not notice 0.1 s.
POLL_S = 0.1


def _history():
    from expkit.cli.runslist import open_history

    return open_history()


def _resolve(history, ref: str):
    from expkit.history.query import resolve

    return resolve(history, ref)


def _note(message: str) -> None:
    from expkit.cli.runslist import note

    note(message)


def _reap(history) -> None:
    from expkit.cli.runslist import reap

    reap(history)


def _json(data) -> None:
    from expkit.history import dumps

    typer.echo(dumps(data, indent=2))


def _shown(text: str) -> str:
    from expkit.cli.textview import shown

    return shown(text)


def _when(stamp: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(stamp)) if stamp else ""


def _short(value, width: int = 40) -> str:
    import json

    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= width else text[: width - 1] + "…"


@runs_app.command("list")
def list_command(
    status: str | None = typer.Option(None, "--status", help="Only runs with this status."),
    target: str | None = typer.Option(None, "--target", help="Only runs on this compute target."),
    expression: str | None = typer.Option(
        None,
        "--filter",
        metavar="EXPR",
        help="Only runs matching EXPR, e.g. 'accuracy > 0.9 and lr < 0.5 and tag.team == \"a\"' "
        "(see docs/results.md).",
    ),
    sort: str | None = typer.Option(
        None,
        "--sort",
        metavar="[-]NAME[,...]",
        help="Order by a metric, parameter or field; '-' first for descending (--sort -accuracy). "
        "Default: newest first.",
    ),
    columns: str | None = typer.Option(
        None,
        "--columns",
        metavar="NAME,...",
        help="Show these metrics, parameters, tags (tag.K) or fields after the run number.",
    ),
    limit: int | None = typer.Option(
        None, "--limit", "--last", metavar="N", min=1, help="Show at most N runs (after sorting)."
    ),
    show_all: bool = typer.Option(
        False, "--all", help=f"Show every run (a terminal shows the first {DEFAULT_LIMIT})."
    ),
    as_csv: bool = typer.Option(False, "--csv", help="Print the table as CSV, every run."),
    as_json: bool = typer.Option(
        False, "--json", help="Print the matching runs' full records as JSON, every run."
    ),
) -> None:
    """List runs, newest first: parameters that differ between runs, latest metrics."""
    # The body is typer-free: `exp runs list` also takes expkit.launcher's fast path.
    from expkit.cli.runslist import list_runs

    list_runs(
        status=status, target=target, expression=expression, sort=sort, columns=columns,
        limit=limit, show_all=show_all, as_csv=as_csv, as_json=as_json,
    )  # fmt: skip


def _exit_text(record) -> str:
    if record.exit_code is not None:
        return str(record.exit_code)
    from expkit.history import ACTIVE

    return "(still running)" if record.status in ACTIVE else "(none: the script did not run)"


@runs_app.command("show")
def show_command(run: str = _RUN, as_json: bool = _JSON) -> None:
    """Show one run's record: parameters, metrics (a chart for each series), outputs."""
    from expkit.cli.textview import cell, sparkline
    from expkit.history import to_dict
    from expkit.history.query import resolve

    with _history() as history:
        record = resolve(history, run)
        live = _live_metrics(history, record)
    data = to_dict(record)

    def echo(line: str) -> None:
        typer.echo(_shown(line))

    if as_json:
        _json(data)
        return
    for key in ("id", "number", "name", "status", "target", "runconfig", "script", "args"):
        if key == "name" and not data[key]:
            continue
        echo(f"{key + ':':13} {_short(data[key], 200) if key == 'args' else data[key]}")
    echo(f"{'exit_code:':13} {_exit_text(record)}")
    echo(f"{'started:':13} {_when(record.started)}")
    echo(f"{'ended:':13} {_when(record.ended)}")
    echo(f"{'duration_s:':13} {'' if record.duration_s is None else record.duration_s}")
    if record.timings:  # where the time went: snapshot, prepare, submit, run, collect
        echo(f"{'phases:':13} " + "  ".join(f"{k} {v:.2f}s" for k, v in record.timings.items()))
    for key in ("env_id", "snapshot_id", "git_commit", "git_dirty", "error", "note"):
        if data[key] is not None:
            echo(f"{key + ':':13} {data[key]}")
    if record.tags:
        echo(f"{'tags:':13} " + "  ".join(f"{k}={v}" for k, v in record.tags.items()))
    params = {**record.params, **live.params}
    if params:
        echo("params:")
        for name, value in params.items():
            echo(f"  {name}: {_short(value, 60)}")
    metrics = {**record.metrics, **live.metrics}
    series = {**record.series, **live.series}
    if metrics:
        echo("metrics:")
        width = max(len(n) for n in metrics)
        for name, value in metrics.items():
            values = series.get(name, ())
            if len(values) > 1:
                from expkit.cli.textview import numbers

                nums = numbers(values)
                line = f"  {name:{width}}  {cell(value):>10}  {sparkline(values)}"
                if nums:
                    line += (
                        f"  ({len(values)} values, min {cell(min(nums))}, max {cell(max(nums))})"
                    )
                echo(line)
            else:
                echo(
                    f"  {name:{width}}  "
                    + (cell(value) if isinstance(value, float) else _short(value, 60))
                )
    if record.outputs:
        echo("outputs:")
        for path in record.outputs:
            echo(f"  {path}")
    if record.packages:
        echo(f"packages:     {len(record.packages)} (see --json)")


def _live_metrics(history, record):
    """What a still-active run has logged so far (its record has it only at the end)."""
    from expkit.history import ACTIVE
    from expkit.history.params import MetricsFile, read_metrics_file

    if record.status not in ACTIVE:
        return MetricsFile()
    return read_metrics_file(history.run_dir(record.id) / "metrics.jsonl")


@runs_app.command("logs")
def logs_command(
    run: str = _RUN,
    follow: bool = typer.Option(
        False, "-f", "--follow", help="Keep printing new output until the run ends."
    ),
) -> None:
    """Print a run's output (stdout and stderr, as logged)."""
    from expkit.history import ACTIVE

    with _history() as history:
        record = _resolve(history, run)
        log = history.run_dir(record.id) / "log.txt"
        out = sys.stdout.buffer
        offset = _copy_new(log, 0, out)
        if follow and record.status in ACTIVE:
            from expkit.runner import detached

            if detached.is_detached(log.parent) and detached.unowned(history, record):
                # Nobody streams it into log.txt: fetch the rest from its target.
                def echo(text: str) -> None:
                    out.write(text.encode("utf-8", "surrogateescape"))
                    out.flush()

                record = detached.follow(history, record, echo) or record
                offset = log.stat().st_size if log.exists() else offset
        while follow and record.status in ACTIVE:
            time.sleep(POLL_S)
            offset = _copy_new(log, offset, out)
            _reap(history)
            record = history.get(record.id)
        _copy_new(log, offset, out)


def _copy_new(path: Path, offset: int, out) -> int:
    try:
        with open(path, "rb") as handle:
            handle.seek(offset)
            data = handle.read()
    except FileNotFoundError:
        return offset
    if data:
        out.write(data)
        out.flush()
    return offset + len(data)


@runs_app.command("cancel")
def cancel_command(
    run: str = _RUN,
    wait: float = typer.Option(
        30.0, "--wait", metavar="SECONDS", help="How long to wait for the run to stop."
    ),
) -> None:
    """Cancel an active run: its `exp` process stops the script and records it as canceled.

    A lost run (its `exp` process died) is stopped by its target's plugin and
    stays failed ("lost").
    """
    from expkit.config import find_project_root
    from expkit.history import History
    from expkit.runner.cancel import cancel

    with History(find_project_root(), note=_note) as history:
        message, remark = cancel(history, run, wait=wait, poll=POLL_S, note=_note)
    typer.echo(message, err=remark)


def _to(default: str) -> Any:
    """The ``--to DIR`` option of a command writing a run's files out (download, restore)."""
    return typer.Option(
        None,
        "--to",
        metavar="DIR",
        help=f"Folder to write to (default ./{default}, or PROJECT-{default} beside the "
        "project when the current folder is inside it: the next snapshot must not take it in).",
    )


def _default_dir(project: Path, name: str) -> Path:
    """``./name``, unless that lies inside the project: then ``PROJECT-name`` beside it."""
    here = Path.cwd().absolute()
    root = project.absolute()
    if here == root or here.is_relative_to(root):
        return root.parent / f"{root.name}-{name}"
    return here / name


def _target_dir(to: Path | None, default: Path, force: bool, what: str) -> Path:
    from expkit.errors import UsageError

    dest = (to if to is not None else default).absolute()
    if dest.exists() and not dest.is_dir():
        raise UsageError(f"{dest} exists and is not a folder; choose another with --to.")
    if dest.is_dir() and any(dest.iterdir()) and not force:
        raise UsageError(
            f"{dest} is not empty; refusing to write the run's {what} into it.\n"
            "  choose an empty or new folder with --to, or pass --force to overwrite files there."
        )
    return dest


@runs_app.command("download")
def download_command(
    run: str = _RUN, to: Path | None = _to("run-N-outputs"), force: bool = _FORCE
) -> None:
    """Copy a run's collected outputs/ to a folder."""
    import shutil

    from expkit.history import list_outputs

    with _history() as history:
        record = _resolve(history, run)
        source = history.run_dir(record.id) / "outputs"
        files = list_outputs(source)
        if not files:
            typer.echo(f"run {record.number} has no outputs.", err=True)
            return
        default = _default_dir(history.root, f"run-{record.number}-outputs")
        dest = _target_dir(to, default, force, "outputs")
        # Regular files only, as listed in the record: a link is never written or followed.
        for rel in files:
            target = dest.joinpath(*rel.split("/"))
            target.parent.mkdir(parents=True, exist_ok=True)
            if target.is_symlink():  # --force into a folder holding a link: replace, not follow
                target.unlink()
            shutil.copy2(source.joinpath(*rel.split("/")), target)
    typer.echo(f"{len(files)} output file(s) of run {record.number} written to {dest}")


@runs_app.command("restore")
def restore_command(
    run: str = _RUN, to: Path | None = _to("run-N-code"), force: bool = _FORCE
) -> None:
    """Write the code snapshot a run executed to a folder."""
    from expkit.errors import UsageError
    from expkit.snapshot import materialize

    with _history() as history:
        record = _resolve(history, run)
        if record.snapshot_id is None:
            raise UsageError(
                f"run {record.number} has no stored code snapshot "
                "(it was untracked, `TrackedRun: false`, or failed before its snapshot)."
            )
        default = _default_dir(history.root, f"run-{record.number}-code")
        dest = _target_dir(to, default, force, "code")
        snapshot = materialize(history.store, record.snapshot_id, dest)
    typer.echo(
        f"{len(snapshot.entries)} file(s) of run {record.number}'s snapshot written to {dest}"
    )


def register(app: typer.Typer) -> None:
    from expkit.cli import runs_compare, runs_edit

    runs_compare.register(runs_app)
    runs_edit.register(runs_app)
    app.add_typer(runs_app, name="runs")
