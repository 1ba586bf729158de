"""``exp runs list|show|logs|cancel|compare|download|restore``: the project's run history.

A run is named by its number (``3``), its id, or a unique id prefix. Every
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

runs_app = typer.Typer(
    help="List, inspect, follow, cancel and compare runs; get their outputs and code back.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
)

_JSON = typer.Option(False, "--json", help="Print JSON.")
_RUN = typer.Argument(..., metavar="RUN", help="Run number, id or unique id prefix.")
_FORCE = typer.Option(False, "--force", help="Write into a non-empty folder, overwriting files.")
#: How often `logs -f` and `cancel` look for news; a person watching does not notice 0.1 s.
POLL_S = 0.1


def _history():
    from expkit.config import find_project_root
    from expkit.history import History

    history = History(find_project_root())
    _reap(history)
    return history


def _note(message: str) -> None:
    typer.echo(f"exp: note: {message}", err=True)


def _reap(history) -> None:
    """Mark runs whose `exp` died as lost and stop what they left running.

    With nothing lost (the usual case) this is one query: no configuration is
    read and no plugin is called.
    """
    lost = history.reap_lost()
    if lost:
        from expkit.runner.orphans import clean_up

        clean_up(history, lost, _note)
    from expkit.runner.detached import settle

    settle(history, _note)


def _json(data) -> None:
    from expkit.history import dumps

    typer.echo(dumps(data, indent=2))


def _shown(text: str) -> str:
    """``text`` printable on any terminal: the bytes of a name that is not valid
    UTF-8 (held as lone surrogates) are shown as ``\\xNN``."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def _when(stamp: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(stamp)) if stamp else ""


def _short(value, width: int = 40) -> str:
    import json

    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= width else text[: width - 1] + "…"


def _metrics_text(metrics, limit: int = 4) -> str:
    """Scalar metrics, the last-introduced first: scripts log results after parameters."""
    scalars = [(k, v) for k, v in metrics.items() if not isinstance(v, (list, dict))]
    shown = scalars[::-1][:limit]
    items = [f"{k}={_short(v, 12)}" for k, v in shown]
    return " ".join(items) + (" …" if len(metrics) > len(shown) else "")


@runs_app.command("list")
def list_command(
    status: str | None = typer.Option(None, "--status", help="Only runs with this status."),
    target: str | None = typer.Option(None, "--target", help="Only runs on this compute target."),
    last: int | None = typer.Option(None, "--last", metavar="N", help="Only the N newest runs."),
    as_json: bool = _JSON,
) -> None:
    """List runs, newest first."""
    from expkit.cli.output import print_table
    from expkit.history import to_dict

    with _history() as history:
        records = history.list(status=status, target=target, last=last)
    if as_json:
        _json([to_dict(r) for r in records])
        return
    if not records:
        typer.echo("no runs yet: start one with `exp run SCRIPT`.", err=True)
        return
    rows = [
        (
            r.number,
            r.status,
            r.target,
            _shown(_short(" ".join([r.script, *r.args]), 32)),
            _when(r.started),
            "" if r.duration_s is None else f"{r.duration_s:.1f}s",
            r.exit_code,
            _metrics_text(r.metrics),
        )
        for r in records
    ]
    print_table(("run", "status", "target", "script", "started", "took", "exit", "metrics"), rows)


@runs_app.command("show")
def show_command(run: str = _RUN, as_json: bool = _JSON) -> None:
    """Show one run's record."""
    from expkit.history import to_dict

    with _history() as history:
        record = history.get(run)
    data = to_dict(record)

    def echo(line: str) -> None:
        typer.echo(_shown(line))

    if as_json:
        _json(data)
        return
    for key in ("id", "number", "status", "target", "runconfig", "script", "args", "exit_code"):
        echo(f"{key + ':':13} {_short(data[key], 200) if key == 'args' else data[key]}")
    echo(f"{'started:':13} {_when(record.started)}")
    echo(f"{'ended:':13} {_when(record.ended)}")
    echo(f"{'duration_s:':13} {'' if record.duration_s is None else record.duration_s}")
    for key in ("env_id", "snapshot_id", "git_commit", "git_dirty", "error"):
        if data[key] is not None:
            echo(f"{key + ':':13} {data[key]}")
    if record.metrics:
        echo("metrics:")
        for name, value in record.metrics.items():
            count = len(record.series.get(name, ()))
            echo(f"  {name}: {_short(value, 60)}" + (f"  ({count} values)" if count > 1 else ""))
    if record.outputs:
        echo("outputs:")
        for path in record.outputs:
            echo(f"  {path}")
    if record.packages:
        echo(f"packages:     {len(record.packages)} (see --json)")


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
        record = history.get(run)
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

    with History(find_project_root()) as history:
        message, remark = cancel(history, run, wait=wait, poll=POLL_S, note=_note)
    typer.echo(message, err=remark)


def _compare_data(records) -> dict:
    from expkit.history import to_dict

    params = (
        "status",
        "target",
        "runconfig",
        "script",
        "args",
        "env_id",
        "snapshot_id",
        "git_commit",
        "exit_code",
        "duration_s",
    )
    names: list[str] = []
    for record in records:
        names += [n for n in record.metrics if n not in names]
    dicts = [to_dict(r) for r in records]
    return {
        "runs": [{"id": r.id, "number": r.number} for r in records],
        "params": {p: [d[p] for d in dicts] for p in params},
        "metrics": {n: [d["metrics"].get(n) for d in dicts] for n in names},
    }


@runs_app.command("compare")
def compare_command(
    runs: list[str] = typer.Argument(..., metavar="RUN...", help="Two or more runs."),
    as_json: bool = _JSON,
) -> None:
    """Compare runs side by side: parameters (args, environment, run configuration) and metrics."""
    from expkit.cli.output import print_table

    with _history() as history:
        records = [history.get(ref) for ref in runs]
    data = _compare_data(records)
    if as_json:
        _json(data)
        return
    headers = ["", *(f"run {r.number}" for r in records)]
    rows = [
        (name, *(_short(v, 24) if v is not None else "" for v in values))
        for name, values in data["params"].items()
    ]
    rows += [
        (f"metric {name}", *(_short(v, 24) if v is not None else "-" for v in values))
        for name, values in data["metrics"].items()
    ]
    print_table(headers, rows)


def _to(default: str) -> Any:
    """The ``--to DIR`` option of a command writing a run's files out (download, restore)."""
    return typer.Option(
        None, "--to", metavar="DIR", help=f"Folder to write to (default ./{default})."
    )


def _target_dir(to: Path | None, default: str, force: bool, what: str) -> Path:
    from expkit.errors import UsageError

    dest = (to if to is not None else Path.cwd() / default).absolute()
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
        record = history.get(run)
        source = history.run_dir(record.id) / "outputs"
        files = list_outputs(source)
        if not files:
            typer.echo(f"run {record.number} has no outputs.", err=True)
            return
        dest = _target_dir(to, f"run-{record.number}-outputs", force, "outputs")
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
        record = history.get(run)
        if record.snapshot_id is None:
            raise UsageError(
                f"run {record.number} has no stored code snapshot "
                "(it was untracked, `TrackedRun: false`, or failed before its snapshot)."
            )
        dest = _target_dir(to, f"run-{record.number}-code", force, "code")
        snapshot = materialize(history.store, record.snapshot_id, dest)
    typer.echo(
        f"{len(snapshot.entries)} file(s) of run {record.number}'s snapshot written to {dest}"
    )


def register(app: typer.Typer) -> None:
    app.add_typer(runs_app, name="runs")
