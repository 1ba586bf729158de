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
from itertools import repeat
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
    from collections import Counter

    total = len(values) or 1
    return -sum(c / total * math.log2(c / total) for c in Counter(values).values())


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(width - 1, 0)] + "…"


def _width(header: str, column: Sequence[str]) -> int:
    return max(len(header), max(map(len, column), default=0))


def fit(
    headers: Sequence[str], columns: Sequence[list[str]], width: int | None, keep: Sequence[bool]
) -> tuple[list[str], list[list[str]], list[str]]:
    """Cut a table, given column by column, to ``width`` characters: least informative
    column first.

    A column is first narrowed (down to 8 characters or its header), then
    dropped; columns in ``keep`` are never touched. Returns the headers,
    columns and the names of dropped columns. ``width`` None leaves everything whole.
    """
    if width is None:
        return list(headers), list(columns), []
    widths = [_width(h, col) for h, col in zip(headers, columns, strict=True)]
    alive = list(range(len(headers)))
    dropped: list[str] = []
    order = sorted(
        (i for i in alive if not keep[i]),
        key=lambda i: (_information(columns[i]), -widths[i]),
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
    out_columns = [
        columns[i]
        if _width("", columns[i]) <= widths[i]
        else [_cut(c, widths[i]) for c in columns[i]]
        for i in alive
    ]
    return out_headers, out_columns, dropped


def column_lines(headers: Sequence[str], columns: Sequence[Sequence[str]]) -> list[str]:
    """A table's lines from its columns: upper-case headers, left-aligned cells, two spaces
    between columns, no trailing blanks."""
    widths = [_width(h, col) + 2 for h, col in zip(headers, columns, strict=True)]
    head = "".join(h.upper().ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()
    if not columns or not columns[0]:
        return [head]
    # Each cell padded with its two spaces, the last column not at all: one C loop each.
    padded = [
        *(
            list(map(str.ljust, c, repeat(w)))
            for c, w in zip(columns[:-1], widths[:-1], strict=True)
        ),
        columns[-1],
    ]
    return [head, *map(str.rstrip, map("".join, zip(*padded, strict=True)))]


def table_lines(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    columns = [list(c) for c in zip(*rows, strict=True)] if rows else [[] for _ in headers]
    return column_lines(headers, columns)


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
    """:func:`cell` of each value (a column of 10,000 runs): a column of one type is
    formatted in one C loop when it can be, else each value dispatched on its exact type."""
    kinds = set(map(type, values))
    if len(kinds) == 1:
        (kind,) = kinds
        if kind is str and "".join(values).isprintable():
            return list(values)
        if kind is int:
            return list(map(str, values))
        if kind is float and _plain_floats(values):
            return list(map(format, values, repeat(".4g")))
    fmt = _FORMAT
    return [fmt.get(type(v), cell)(v) for v in values]


def _plain_floats(values: Sequence[float]) -> bool:
    """Whether every value is one :func:`_float` writes with ``.4g`` (1e-4 <= |v| < 1e4)."""
    magnitudes = list(map(abs, values))
    return 1e-4 <= min(magnitudes) and max(magnitudes) < 1e4


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
    points = [(x, y) for _, xs, ys in series for x, y in zip(xs, ys, strict=True)]
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
        for x, y in zip(xs, ys, strict=True):
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
