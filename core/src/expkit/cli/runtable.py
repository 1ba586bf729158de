"""Printing the runs table of ``exp runs list`` (plain, width-aware, or CSV)."""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence

import typer

from expkit.cli.textview import cells, fit, shown, table_lines, terminal_width
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


def _column(col: table.Column, rows: Sequence[Summary]) -> list[str]:
    """One column's cells, computed column by column (10,000 runs: no per-cell dispatch)."""
    name = col.name
    if name == "run":
        return [str(r.number) for r in rows]
    if name in ("took", "duration", "duration_s"):
        return [_took(r.duration_s) for r in rows]
    if name == "started":
        return [_when(r.started) for r in rows]
    if name == "script":
        return cells([" ".join([r.script, *r.args]) for r in rows])
    head, _, rest = name.partition(".")
    if col.kind == "param" and head == "param":
        return cells([r.params.get(rest) for r in rows])
    if col.kind == "metric" and head == "metric":
        return cells([r.metrics.get(rest) for r in rows])
    if col.kind == "tag":
        return cells([r.tags.get(rest) for r in rows])
    if name in table.FIELDS:
        attr = table.FIELDS[name]
        return cells([getattr(r, attr) for r in rows])
    return cells([table.value(r, name) for r in rows])


def print_runs(rows: Sequence[Summary], columns: str | None, *, as_csv: bool) -> None:
    cols = table.chosen_columns(columns, rows) if columns else table.default_columns(rows)
    if as_csv:
        _csv(rows, cols)
        return
    headers = [c.header for c in cols]
    by_column = [_column(c, rows) for c in cols]
    grid = [list(r) for r in zip(*by_column, strict=True)] if rows else []
    headers = [_safe(h) for h in headers]
    headers, grid, dropped = fit(headers, grid, terminal_width(), [c.keep for c in cols])
    sys.stdout.write("\n".join(table_lines(headers, grid)) + "\n")
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
