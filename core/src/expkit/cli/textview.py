"""Text for terminals: safe cells, width-aware tables, sparklines and line plots.

Everything a run carries that came from outside (arguments, names, metric
keys, tags) can hold terminal escape sequences; on a terminal they would be
obeyed (an OSC title change, a CSI cursor move). :func:`shown` makes any
text printable: control characters and undecodable bytes become ``\\xNN``.
JSON output keeps the exact values.
"""

from __future__ import annotations

import math
import re
import shutil
import sys
from collections.abc import Callable, Sequence
from typing import Any

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
BLOCKS = "▁▂▃▄▅▆▇█"


def shown(text: str) -> str:
    """``text`` printable on any terminal (control characters and bad bytes as ``\\xNN``)."""
    if text.isprintable():
        return text
    text = text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def cell(value: Any, digits: int = 4) -> str:
    """A value as a table cell: numbers short, missing as empty, lists and maps as JSON."""
    if value is None:
        return ""
    if type(value) is str:
        return value if value.isprintable() else shown(value)
    if type(value) is int:
        return str(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isfinite(value) and value != 0 and (abs(value) >= 1e6 or abs(value) < 1e-4):
            return f"{value:.{digits - 1}e}"
        return f"{value:.{digits}g}" if abs(value) < 1e4 else f"{value:.1f}"
    if isinstance(value, (list, dict)):
        import json

        return shown(json.dumps(value, ensure_ascii=False))
    return shown(str(value))


def terminal_width() -> int | None:
    """The terminal's width when stdout is one; None for a pipe or a file (no cutting)."""
    if not sys.stdout.isatty():
        return None
    return shutil.get_terminal_size((100, 24)).columns


def _information(values: Sequence[str]) -> float:
    """Shannon entropy of a column's cells: how much it tells one run from another."""
    counts: dict[str, int] = {}
    for v in values:
        counts[v] = counts.get(v, 0) + 1
    total = len(values) or 1
    return -sum(c / total * math.log2(c / total) for c in counts.values())


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(width - 1, 0)] + "…"


def fit(
    headers: Sequence[str], rows: Sequence[Sequence[str]], width: int | None, keep: Sequence[bool]
) -> tuple[list[str], list[list[str]], list[str]]:
    """Cut the table to ``width`` columns of text: least informative column first.

    A column is first narrowed (down to 8 characters or its header), then
    dropped; columns in ``keep`` are never touched. Returns the headers, rows
    and the names of dropped columns. ``width`` None leaves everything whole.
    """
    if width is None:
        return list(headers), [list(r) for r in rows], []
    widths = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(headers)]
    alive = list(range(len(headers)))
    dropped: list[str] = []
    if width is not None:
        order = sorted(
            (i for i in alive if not keep[i]),
            key=lambda i: (_information([r[i] for r in rows]), -widths[i]),
        )
        for i in order:
            excess = sum(widths[j] for j in alive) + 2 * (len(alive) - 1) - width
            if excess <= 0:
                break
            floor = min(widths[i], max(len(headers[i]), 8))
            if widths[i] - excess >= floor:
                widths[i] -= excess
            else:
                alive.remove(i)
                dropped.append(headers[i])
    out_headers = [_cut(headers[i], widths[i]) for i in alive]
    out_rows = [[_cut(r[i], widths[i]) for i in alive] for r in rows]
    return out_headers, out_rows, dropped


def table_lines(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in headers]
    widths = [
        max(len(h), max(map(len, col), default=0)) for h, col in zip(headers, columns, strict=True)
    ]
    line = "  ".join(f"{{:<{w}}}" for w in widths).format  # one call per row, not per cell
    return [line(*(h.upper() for h in headers)).rstrip()] + [line(*r).rstrip() for r in rows]


def _float(v: float) -> str:
    if -1e4 < v < 1e4 and (v == 0 or v >= 1e-4 or v <= -1e-4):
        return format(v, ".4g")
    return cell(v)


def _text(v: str) -> str:
    return v if v.isprintable() else shown(v)


_FORMAT: dict[type, Callable[[Any], str]] = {
    float: _float,
    int: str,
    str: _text,
    type(None): lambda v: "",
}


def cells(values: Sequence[Any]) -> list[str]:
    """:func:`cell` of each value, dispatched on the exact type (a column of 10,000 runs)."""
    fmt = _FORMAT
    return [fmt.get(type(v), cell)(v) for v in values]


def numbers(values: Sequence[Any]) -> list[float]:
    return [
        float(v)
        for v in values
        if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
    ]


def sparkline(values: Sequence[Any], width: int = 40) -> str:
    """One line of block characters for a series (resampled to at most ``width`` points)."""
    nums = numbers(values)
    if not nums:
        return ""
    if len(nums) > width:
        step = len(nums) / width
        nums = [nums[int(i * step)] for i in range(width - 1)] + [nums[-1]]
    low, high = min(nums), max(nums)
    span = high - low
    return "".join(
        BLOCKS[0 if span == 0 else round((v - low) / span * (len(BLOCKS) - 1))] for v in nums
    )


MARKERS = "●x+o*#@%"


def plot(
    series: Sequence[tuple[str, Sequence[float], Sequence[float]]],
    *,
    width: int = 72,
    height: int = 14,
) -> list[str]:
    """Overlaid scatter-line plot of (label, steps, values) series on a character grid."""
    points = [(x, y) for _, xs, ys in series for x, y in zip(xs, ys, strict=False)]
    if not points:
        return ["(no numeric values to plot)"]
    xs_all = [p[0] for p in points]
    ys_all = [p[1] for p in points]
    x0, x1 = min(xs_all), max(xs_all)
    y0, y1 = min(ys_all), max(ys_all)
    if y0 == y1:
        y0, y1 = y0 - 0.5, y1 + 0.5
    if x0 == x1:
        x1 = x0 + 1
    labels = [cell(y1), cell((y0 + y1) / 2), cell(y0)]
    margin = max(len(s) for s in labels) + 1
    cols = max(width - margin - 1, 10)
    grid = [[" "] * cols for _ in range(height)]
    for k, (_, xs, ys) in enumerate(series):
        mark = MARKERS[k % len(MARKERS)]
        for x, y in zip(xs, ys, strict=False):
            c = round((x - x0) / (x1 - x0) * (cols - 1))
            r = height - 1 - round((y - y0) / (y1 - y0) * (height - 1))
            grid[r][c] = mark
    lines = []
    for r, row in enumerate(grid):
        label = labels[0] if r == 0 else labels[2] if r == height - 1 else ""
        if r == height // 2:
            label = labels[1]
        lines.append(f"{label:>{margin - 1}} │" + "".join(row).rstrip())
    lines.append(" " * margin + "└" + "─" * cols)
    left, right = cell(x0), cell(x1)
    lines.append(" " * (margin + 1) + left + " " * max(cols - len(left) - len(right), 1) + right)
    lines.append(" " * (margin + 1) + "step")
    for k, (label, _, _) in enumerate(series):
        lines.append(f"  {MARKERS[k % len(MARKERS)]} {shown(label)}")
    return lines
