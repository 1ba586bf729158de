"""The runs table: which columns, which rows, in which order (``exp runs list``, ``exp ui``).

Free of typer and of terminals: the CLI prints what this computes
(expkit.cli.runtable) and the UI serves the same rows as JSON.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from expkit.errors import UsageError
from expkit.history.query import Summary

#: Run fields a NAME in --filter, --sort and --columns can mean, with their spellings.
FIELDS: dict[str, str] = {
    "run": "number",
    "number": "number",
    "id": "id",
    "status": "status",
    "target": "target",
    "name": "name",
    "script": "script",
    "note": "note",
    "took": "duration_s",
    "duration": "duration_s",
    "duration_s": "duration_s",
    "exit": "exit_code",
    "exit_code": "exit_code",
    "started": "started",
    "error": "error",
}


def value(summary: Summary, name: str) -> Any:
    """The value ``name`` means for one run, or None (see expkit.history.filter)."""
    field = FIELDS.get(name)
    if field is not None:
        return getattr(summary, field)
    head, dot, rest = name.partition(".")
    if dot:
        if head == "tag":
            return summary.tags.get(rest)
        if head == "param":
            return summary.params.get(rest)
        if head == "metric":
            return summary.metrics.get(rest)
    if name in summary.params:
        return summary.params[name]
    return summary.metrics.get(name)


def known_names(rows: Iterable[Summary]) -> set[str]:
    names = set(FIELDS)
    for r in rows:
        names.update(r.params)
        names.update(r.metrics)
        names.update(f"tag.{k}" for k in r.tags)
    return names


def _sort_key(v: Any) -> tuple:
    if v is None:
        return (2, 0)
    if isinstance(v, bool):
        return (0, int(v))
    if isinstance(v, (int, float)):
        return (0, v)
    return (1, str(v))


def parse_sort(spec: str) -> list[tuple[str, bool]]:
    """``-accuracy,lr`` -> [("accuracy", descending), ("lr", ascending)]."""
    keys = []
    for part in spec.split(","):
        part = part.strip()
        descending = part.startswith("-")
        name = part.lstrip("-+").strip()
        if not name:
            raise UsageError(f"--sort {spec!r}: expected NAME or -NAME (e.g. --sort -accuracy)")
        keys.append((name, descending))
    return keys


def sort_rows(rows: list[Summary], keys: Sequence[tuple[str, bool]]) -> list[Summary]:
    """Stable multi-key sort; runs without the value come last in either direction."""
    out = list(rows)
    for name, descending in reversed(keys):
        present = [r for r in out if value(r, name) is not None]
        missing = [r for r in out if value(r, name) is None]
        present.sort(key=lambda r: _sort_key(value(r, name)), reverse=descending)
        out = present + missing
    return out


def check_names(names: Iterable[str], rows: Sequence[Summary], option: str) -> None:
    """A name no listed run has is probably a typo: say which names exist (exit 2)."""
    names = list(names)
    if not rows or not names:
        return
    known = known_names(rows)
    for name in names:
        head = name.partition(".")[0]
        if name in known or head in ("param", "metric", "tag", "env"):
            continue
        import difflib

        close = difflib.get_close_matches(name, sorted(known), n=3)
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        raise UsageError(
            f"{option}: no run field, parameter or metric named {name!r}{hint}\n"
            f"  parameters: {', '.join(sorted({p for r in rows for p in r.params})) or '-'}\n"
            f"  metrics: {', '.join(sorted({m for r in rows for m in r.metrics})) or '-'}"
        )


def _same(values: list[Any]) -> bool:
    try:  # (type, value): 1, 1.0 and True are different parameter values
        return len({(type(v), v) for v in values}) <= 1
    except TypeError:  # a list or a map: compare them as text
        return len({repr(v) for v in values}) <= 1


def varying_params(rows: Sequence[Summary]) -> list[str]:
    """Parameters whose value is not the same in every listed run, in first-seen order."""
    names: dict[str, None] = {}
    for r in rows:
        for n in r.params:
            names.setdefault(n)
    return [n for n in names if not _same([r.params.get(n) for r in rows])]


def metric_names(rows: Sequence[Summary]) -> list[str]:
    """Scalar metrics of the listed runs, those logged by the most runs first."""
    counts: dict[str, int] = {}
    for r in rows:
        for n, v in r.metrics.items():
            if not isinstance(v, (list, dict)):
                counts[n] = counts.get(n, 0) + 1
    return sorted(counts, key=lambda n: -counts[n])


@dataclass(frozen=True)
class Column:
    """One table column: its header and the name its cells are read with."""

    header: str
    name: str
    kind: str  # field, param, metric, tag
    #: Never cut for width (the run's number).
    keep: bool = False


def default_columns(rows: Sequence[Summary]) -> list[Column]:
    cols = [Column("run", "run", "field", keep=True)]
    if any(r.name for r in rows):
        cols.append(Column("name", "name", "field"))
    cols.append(Column("status", "status", "field"))
    if len({r.target for r in rows}) > 1:
        cols.append(Column("target", "target", "field"))
    if len({r.script for r in rows}) > 1:
        cols.append(Column("script", "script", "field"))
    tags = sorted({k for r in rows for k in r.tags})
    cols += [Column(f"tag.{t}", f"tag.{t}", "tag") for t in tags]
    cols += [Column(p, f"param.{p}", "param") for p in varying_params(rows)]
    cols += [Column(m, f"metric.{m}", "metric") for m in metric_names(rows)]
    cols.append(Column("took", "took", "field"))
    return cols


def chosen_columns(spec: str, rows: Sequence[Summary]) -> list[Column]:
    """``--columns acc,lr,took``: the run first, then these, in this order."""
    names = [n.strip() for n in spec.split(",") if n.strip()]
    if not names:
        raise UsageError("--columns: give names separated by commas (e.g. --columns lr,accuracy)")
    check_names([n for n in names if n != "run"], rows, "--columns")
    cols = [Column("run", "run", "field", keep=True)]
    params = {p for r in rows for p in r.params}
    for n in names:
        if n == "run":
            continue
        if n in FIELDS:
            cols.append(Column(n, n, "field"))
        elif n.startswith("tag."):
            cols.append(Column(n, n, "tag"))
        elif n.startswith(("param.", "metric.")):
            cols.append(Column(n.partition(".")[2], n, n.partition(".")[0]))
        elif n in params:
            cols.append(Column(n, f"param.{n}", "param"))
        else:
            cols.append(Column(n, f"metric.{n}", "metric"))
    return cols
