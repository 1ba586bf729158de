"""Printing the runs table of ``exp runs list`` (plain, width-aware, or CSV)."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence

import typer

from expkit.cli.textview import cell, fit, shown, table_lines, terminal_width
from expkit.history import table
from expkit.history.query import Summary


def _took(seconds: float | None) -> str:
    if seconds is None:
        return ""
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes}m{secs:02d}s" if minutes < 60 else f"{minutes // 60}h{minutes % 60:02d}m"


def _when(stamp: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(stamp)) if stamp else ""


def _getter(col: table.Column) -> Callable[[Summary], str]:
    """How to read one column's cell from a run; chosen once per column, not per cell."""
    name = col.name
    if name == "run":
        return lambda r: str(r.number)
    if name in ("took", "duration", "duration_s"):
        return lambda r: _took(r.duration_s)
    if name == "started":
        return lambda r: _when(getattr(r, name))
    if name == "script":
        return lambda r: cell(" ".join([r.script, *r.args]))
    head, _, rest = name.partition(".")
    if col.kind == "param" and head == "param":
        return lambda r: cell(r.params.get(rest))
    if col.kind == "metric" and head == "metric":
        return lambda r: cell(r.metrics.get(rest))
    if col.kind == "tag":
        return lambda r: cell(r.tags.get(rest))
    if name in table.FIELDS:
        attr = table.FIELDS[name]
        return lambda r: cell(getattr(r, attr))
    return lambda r: cell(table.value(r, name))


def print_runs(rows: Sequence[Summary], columns: str | None, *, as_csv: bool) -> None:
    cols = table.chosen_columns(columns, rows) if columns else table.default_columns(rows)
    if as_csv:
        _csv(rows, cols)
        return
    headers = [c.header for c in cols]
    getters = [_getter(c) for c in cols]
    cells = [[get(r) for get in getters] for r in rows]
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
    return shown(text)


def _csv(rows: Sequence[Summary], cols: Sequence[table.Column]) -> None:
    """Exact values (a terminal still gets printable text)."""
    import csv

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
