"""``exp runs tag|note|rename|rm|gc``: annotate runs, delete runs, reclaim space."""

from __future__ import annotations

import typer

_RUN = typer.Argument(..., metavar="RUN", help="Run number, id, unique id prefix or name.")


def _mib(n: int) -> str:
    return f"{n / (1 << 20):.1f} MiB"


def tag_command(
    run: str = _RUN,
    tags: list[str] | None = typer.Argument(None, metavar="KEY=VALUE...", help="Tags to set."),
    remove: list[str] | None = typer.Option(
        None, "--remove", metavar="KEY", help="Remove this tag; repeat for several."
    ),
) -> None:
    """Set (KEY=VALUE) or remove (--remove KEY) tags of a run."""
    from expkit.cli.runs import _history, _shown
    from expkit.errors import UsageError
    from expkit.history.annotations import annotate, parse_tags
    from expkit.history.query import resolve

    if not tags and not remove:
        raise UsageError("give tags to set (KEY=VALUE) or --remove KEY")
    new = parse_tags(tags or (), option="tag")
    with _history() as history:
        record = annotate(history, resolve(history, run), set_tags=new, remove_tags=remove or ())
    shown = "  ".join(f"{k}={v}" for k, v in record.tags.items()) or "(no tags)"
    typer.echo(_shown(f"run {record.number}: {shown}"))


def note_command(
    run: str = _RUN,
    text: str = typer.Argument(..., metavar="TEXT", help="The note ('' removes it)."),
) -> None:
    """Set the note of a run."""
    from expkit.cli.runs import _history
    from expkit.history.annotations import annotate
    from expkit.history.query import resolve

    with _history() as history:
        record = annotate(history, resolve(history, run), note=text)
    typer.echo(f"run {record.number}: note {'set' if record.note else 'removed'}")


def rename_command(
    run: str = _RUN,
    name: str | None = typer.Argument(None, metavar="NAME", help="The new name."),
    clear: bool = typer.Option(False, "--clear", help="Remove the run's name."),
) -> None:
    """Name a run (names can stand for the run in every `exp runs` command)."""
    from expkit.cli.runs import _history, _shown
    from expkit.errors import UsageError
    from expkit.history.annotations import annotate
    from expkit.history.query import resolve

    if (name is None) == (not clear):
        raise UsageError("give a NAME, or --clear to remove the run's name")
    with _history() as history:
        record = annotate(history, resolve(history, run), name=name, clear_name=clear)
    typer.echo(
        _shown(
            f"run {record.number} is now named {record.name!r}"
            if record.name
            else f"run {record.number} has no name"
        )
    )


def rm_command(
    runs: list[str] = typer.Argument(..., metavar="RUN...", help="Runs to delete."),
    yes: bool = typer.Option(False, "-y", "--yes", help="Do not ask (needed without a terminal)."),
) -> None:
    """Delete runs: their record, log, metrics and outputs. Active runs are never deleted.

    Their code snapshots stay until `exp runs gc`.
    """
    import sys

    from expkit.cli.runs import _history
    from expkit.errors import UsageError
    from expkit.history.cleanup import remove_runs
    from expkit.history.query import resolve

    with _history() as history:
        records = list({r.id: r for r in (resolve(history, ref) for ref in runs)}.values())
        listing = ", ".join(str(r.number) for r in records)
        if not yes:
            if not sys.stdin.isatty():
                raise UsageError(f"removing run(s) {listing} needs --yes when not on a terminal")
            if not typer.confirm(f"delete run(s) {listing}?", default=False):
                raise typer.Exit(1)
        freed = remove_runs(history, records)
    typer.echo(f"removed run(s) {listing} ({_mib(freed)} freed)")


def gc_command(
    dry_run: bool = typer.Option(False, "--dry-run", help="Only say what would be deleted."),
) -> None:
    """Delete code snapshots, stored files and leftovers that no run refers to."""
    from expkit.cli.runs import _history, _note
    from expkit.history.cleanup import collect_garbage

    with _history() as history:
        report = collect_garbage(history, dry_run=dry_run)
    verb = "would delete" if dry_run else "deleted"
    typer.echo(
        f"{verb} {report.snapshots} snapshot(s), {report.objects} stored file(s), "
        f"{report.trash} removed run folder(s), {report.workdirs} working copies "
        f"({_mib(report.bytes)})"
    )
    for message in report.skipped:
        _note(message)


def register(app: typer.Typer) -> None:
    app.command("tag")(tag_command)
    app.command("note")(note_command)
    app.command("rename")(rename_command)
    app.command("rm")(rm_command)
    app.command("gc")(gc_command)
