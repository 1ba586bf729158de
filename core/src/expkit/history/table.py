"""The runs table: which columns, which rows, in which order (``exp runs list``, ``exp ui``).

Free of typer and of terminals: the CLI prints what this computes
(expkit.cli.runtable) and the UI serves the same rows as JSON.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import chain, repeat
from typing import TYPE_CHECKING, Any

from expkit.errors import UsageError
from expkit.history.columns import RunColumns

if TYPE_CHECKING:
    from expkit.history.filter import Filter

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


def known_names(runs: RunColumns) -> set[str]:
    names = set(FIELDS)
    names.update(chain.from_iterable(runs.params))
    names.update(chain.from_iterable(runs.metrics))
    names.update(f"tag.{k}" for k in set(chain.from_iterable(runs.tags)))
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


def values_of(runs: RunColumns, name: str) -> Sequence[Any]:
    """What ``name`` (in --filter, --sort, --columns) means for each listed run, None
    where a run has nothing: a run field (:data:`FIELDS`), ``tag.K``, ``param.K``,
    ``metric.K``, or a bare name: the parameter, or else the metric, of that name."""
    field = FIELDS.get(name)
    if field is not None:
        return runs.field(field)
    head, dot, rest = name.partition(".")
    if dot and head in ("tag", "param", "metric"):
        return _get({"tag": runs.tags, "param": runs.params, "metric": runs.metrics}[head], rest)
    return [
        p[name] if name in p else m.get(name)
        for p, m in zip(runs.params, runs.metrics, strict=True)
    ]


def select(runs: RunColumns, test: Filter | None, keys: Sequence[tuple[str, bool]]) -> list[int]:
    """The positions of the runs ``test`` matches (all without one), sorted by ``keys``:
    a stable multi-key sort where runs without the value come last in either direction."""
    picked: list[int] = list(range(len(runs)))
    if test is not None:
        names = list(dict.fromkeys(test.names))
        columns = [values_of(runs, n) for n in names]
        rows = zip(*columns, strict=True) if columns else repeat((), len(runs))
        matches = test.matches
        picked = [
            i for i, row in enumerate(rows) if matches(dict(zip(names, row, strict=True)).get)
        ]
    for name, descending in reversed(keys):
        values = values_of(runs, name)
        present = [i for i in picked if values[i] is not None]
        missing = [i for i in picked if values[i] is None]
        present.sort(key=lambda i: _sort_key(values[i]), reverse=descending)
        picked = present + missing
    return picked


def check_names(names: Iterable[str], runs: RunColumns, option: str) -> None:
    """A name no listed run has is probably a typo: say which names exist (exit 2)."""
    names = list(names)
    if not len(runs) or not names:
        return
    known = known_names(runs)
    for name in names:
        head = name.partition(".")[0]
        if name in known or head in ("param", "metric", "tag", "env"):
            continue
        import difflib

        close = difflib.get_close_matches(name, sorted(known), n=3)
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        raise UsageError(
            f"{option}: no run field, parameter or metric named {name!r}{hint}\n"
            f"  parameters: {', '.join(sorted(set(chain.from_iterable(runs.params)))) or '-'}\n"
            f"  metrics: {', '.join(sorted(set(chain.from_iterable(runs.metrics)))) or '-'}"
        )


def _same(values: list[Any]) -> bool:
    """Whether every value has the same type and is equal (1, 1.0 and True differ; lists
    and maps are compared as text)."""
    if not values:
        return True
    first = values[0]
    kind = type(first)
    if kind is list or kind is dict:
        return len(set(map(repr, values))) <= 1
    for v in values:  # (a varying parameter usually differs within a few runs)
        if type(v) is not kind or (v is not first and v != first):
            return False
    return True


def _get(maps: Sequence[dict[str, Any]], key: str, default: Any = None) -> list[Any]:
    """``m.get(key, default)`` of each map, in one C loop."""
    return list(map(dict.get, maps, repeat(key), repeat(default)))


def varying_params(runs: RunColumns) -> list[str]:
    """Parameters whose value is not the same in every listed run, in first-seen order
    (a run without the parameter counts as null)."""
    params = runs.params
    names = dict.fromkeys(chain.from_iterable(params))
    return [n for n in names if not _same(_get(params, n))]


_ABSENT = object()
_NOT_SCALAR: frozenset[type] = frozenset({list, dict, type(_ABSENT)})


def metric_names(runs: RunColumns) -> list[str]:
    """Scalar metrics of the listed runs, those logged by the most runs first (ties in
    the order first seen as a scalar: newest run first, in the run's order)."""
    metrics = runs.metrics
    order = []
    for name in dict.fromkeys(chain.from_iterable(metrics)):
        kinds: list[type] = list(map(type, _get(metrics, name, _ABSENT)))
        count = len(kinds) - sum(map(kinds.count, _NOT_SCALAR))
        if count:
            first = next(i for i, k in enumerate(kinds) if k not in _NOT_SCALAR)
            order.append((-count, first, list(metrics[first]).index(name), name))
    return [name for *_, name in sorted(order)]


@dataclass(frozen=True)
class Column:
    """One table column: its header and the name its cells are read with."""

    header: str
    name: str
    kind: str  # field, param, metric, tag
    #: Never cut for width (the run's number).
    keep: bool = False


def default_columns(runs: RunColumns) -> list[Column]:
    cols = [Column("run", "run", "field", keep=True)]
    if any(runs.field("name")):
        cols.append(Column("name", "name", "field"))
    cols.append(Column("status", "status", "field"))
    if len(set(runs.field("target"))) > 1:
        cols.append(Column("target", "target", "field"))
    if len(set(runs.field("script"))) > 1:
        cols.append(Column("script", "script", "field"))
    tags = sorted(set(chain.from_iterable(runs.tags)))
    cols += [Column(f"tag.{t}", f"tag.{t}", "tag") for t in tags]
    cols += [Column(p, f"param.{p}", "param") for p in varying_params(runs)]
    cols += [Column(m, f"metric.{m}", "metric") for m in metric_names(runs)]
    cols.append(Column("took", "took", "field"))
    return cols


def chosen_columns(spec: str, runs: RunColumns) -> list[Column]:
    """``--columns acc,lr,took``: the run first, then these, in this order."""
    names = [n.strip() for n in spec.split(",") if n.strip()]
    if not names:
        raise UsageError("--columns: give names separated by commas (e.g. --columns lr,accuracy)")
    check_names([n for n in names if n != "run"], runs, "--columns")
    cols = [Column("run", "run", "field", keep=True)]
    params = set(chain.from_iterable(runs.params))
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


def fields_named(names: Iterable[str]) -> set[str]:
    """The run fields ``names`` (of --columns, --filter, --sort) mean (``took`` ->
    ``duration_s``; the script column shows the arguments too), with the run number a
    table always shows."""
    fields = {FIELDS[n] for n in {*(n.strip() for n in names), "run"} if n in FIELDS}
    return fields | {"args"} if "script" in fields else fields


def column_values(col: Column, runs: RunColumns) -> list[Any]:
    """Every listed run's value in ``col`` (as :func:`values_of` reads it; the script
    column is the command line: the script and its arguments)."""
    name = col.name
    if name == "script":
        return [
            " ".join([s, *a]) for s, a in zip(runs.field("script"), runs.field("args"), strict=True)
        ]
    return list(values_of(runs, name))
