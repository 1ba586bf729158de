"""Printing the runs table of ``exp runs list`` (plain, width-aware, or CSV)."""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence

from expkit.cli.textview import cells, column_lines, fit, shown, terminal_width
from expkit.history import table
from expkit.history.columns import RunColumns


def _took(seconds: float | None) -> str:
    if seconds is None:
        return ""
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes}m{secs:02d}s" if minutes < 60 else f"{minutes // 60}h{minutes % 60:02d}m"


def _when(stamp: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(stamp)) if stamp else ""


def _column(col: table.Column, runs: RunColumns) -> list[str]:
    """One column's cells, computed column by column (10,000 runs: no per-cell dispatch)."""
    name = col.name
    if name in ("took", "duration", "duration_s"):
        return _tooks(runs.field("duration_s"))
    if name == "started":
        return [_when(v) for v in runs.field("started")]
    return cells(table.column_values(col, runs))


def _tooks(durations: Sequence[float | None]) -> list[str]:
    kinds = set(map(type, durations))
    if kinds and kinds <= {float, int} and max(durations) < 60:  # type: ignore[type-var,operator]
        return [f"{s:.1f}s" for s in durations]  # the usual case, without a call per run
    return list(map(_took, durations))


def print_runs(runs: RunColumns, columns: str | None, *, as_csv: bool) -> None:
    cols = table.chosen_columns(columns, runs) if columns else table.default_columns(runs)
    if as_csv:
        _csv(runs, cols)
        return
    headers = [shown(c.header) for c in cols]
    by_column = [_column(c, runs) for c in cols]
    headers, by_column, dropped = fit(headers, by_column, terminal_width(), [c.keep for c in cols])
    sys.stdout.write("\n".join(column_lines(headers, by_column)) + "\n")
    if dropped:
        # print, not typer.echo: this runs on `exp runs list`'s Typer-free fast path.
        print(
            f"(not shown for the terminal's width: {', '.join(dropped)}; "
            "choose with --columns, or pipe for the full table)",
            file=sys.stderr,
        )


def _csv(runs: RunColumns, cols: Sequence[table.Column]) -> None:
    """Exact values (a terminal still gets printable text)."""
    import csv

    tty = sys.stdout.isatty()
    writer = csv.writer(sys.stdout, lineterminator="\n")
    clean = shown if tty else (lambda t: t)
    writer.writerow([clean(c.header) for c in cols])
    by_column = [_csv_cells(table.column_values(c, runs), tty) for c in cols]
    writer.writerows(zip(*by_column, strict=True))


def _csv_cells(values: list, tty: bool) -> list[str]:
    """Each value exactly (:func:`_plain`), in one C loop for a column of one type."""
    kinds = set(map(type, values))
    if len(kinds) == 1 and kinds <= {float, int}:
        return list(map(repr, values))
    if kinds == {str} and not (tty and not "".join(values).isprintable()):
        return values
    clean = shown if tty else (lambda t: t)
    return ["" if v is None else clean(v if isinstance(v, str) else _plain(v)) for v in values]


def _plain(v) -> str:
    import json

    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    return json.dumps(v, ensure_ascii=False)
