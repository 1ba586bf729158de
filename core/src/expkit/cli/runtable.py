"""Printing the runs table of ``exp runs list`` (plain, width-aware, or CSV)."""

from __future__ import annotations

import sys
from collections.abc import Sequence

import typer

from expkit.history import table
from expkit.history.query import Summary


def _took(seconds: float | None) -> str:
    if seconds is None:
        return ""
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes}m{secs:02d}s" if minutes < 60 else f"{minutes // 60}h{minutes % 60:02d}m"


def _run_cell(r: Summary) -> str:
    return str(r.number)


def _text(r: Summary, col: table.Column) -> str:
    from expkit.cli.textview import cell

    if col.name == "run":
        return _run_cell(r)
    if col.name in ("took", "duration", "duration_s"):
        return _took(r.duration_s)
    if col.name in ("started", "ended"):
        import time

        stamp = table.value(r, col.name)
        return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(stamp)) if stamp else ""
    if col.name == "script":
        return cell(" ".join([r.script, *r.args]))
    return cell(table.value(r, col.name))


def print_runs(rows: Sequence[Summary], columns: str | None, *, as_csv: bool) -> None:
    cols = table.chosen_columns(columns, rows) if columns else table.default_columns(rows)
    if as_csv:
        _csv(rows, cols)
        return
    from expkit.cli.textview import fit, table_lines, terminal_width

    headers = [c.header for c in cols]
    cells = [[_text(r, c) for c in cols] for r in rows]
    headers = [_safe(h) for h in headers]
    headers, cells, dropped = fit(headers, cells, terminal_width(), [c.keep for c in cols])
    sys.stdout.write("\n".join(table_lines(headers, cells)) + "\n")
    if dropped:
        typer.echo(
            f"(not shown for the terminal's width: {', '.join(dropped)}; "
            "choose with --columns, or pipe for the full table)",
            err=True,
        )


def _safe(text: str) -> str:
    from expkit.cli.textview import shown

    return shown(text)


def _csv(rows: Sequence[Summary], cols: Sequence[table.Column]) -> None:
    """Exact values (a terminal still gets printable text)."""
    import csv

    from expkit.cli.textview import shown

    tty = sys.stdout.isatty()
    writer = csv.writer(sys.stdout, lineterminator="\n")
    clean = shown if tty else (lambda t: t)
    writer.writerow([clean(c.header) for c in cols])
    for r in rows:
        out = []
        for c in cols:
            v = table.value(r, c.name)
            if c.name == "script":
                v = " ".join([r.script, *r.args])
            out.append("" if v is None else clean(v if isinstance(v, str) else _plain(v)))
        writer.writerow(out)


def _plain(v) -> str:
    import json

    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    return json.dumps(v, ensure_ascii=False)
