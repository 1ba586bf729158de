"""The listed runs column by column: what a runs table reads (``exp runs list``).

A table of 10,000 runs looks at each field of every run: a list per field
lets the work be done by C loops (``map``, ``set``, ``zip``, ``str.join``)
instead of a Python call per run and field. :func:`table_columns` fills those
lists straight from the index's summary rows, decoding only the fields a
table shows, filters or sorts on (see bench/cases_history.py); a table of
other fields (``--columns started``) reads whole
:class:`~expkit.history.query.Summary` rows, turned into the same shape by
:meth:`RunColumns.of`.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Callable, Sequence
from typing import Any

from expkit.history.query import (
    SUMMARY_TABLE,
    TABLE_FIELDS,
    Summary,
    summaries,
    summarised,
    where_clause,
    with_logged,
)
from expkit.history.repair import recovering


class RunColumns:
    """Runs (newest first, or as sorted) as one list per Summary field."""

    def __init__(self, count: int, fields: dict[str, Sequence[Any]]) -> None:
        self.count = count
        self._fields = fields

    def __len__(self) -> int:
        return self.count

    def field(self, name: str) -> Sequence[Any]:
        """Every run's value of the Summary field ``name``."""
        try:
            return self._fields[name]
        except KeyError:
            raise KeyError(f"runs table: field {name!r} was not read") from None

    def take(self, indices: Sequence[int]) -> RunColumns:
        """These runs' rows at ``indices``, in that order."""
        return RunColumns(
            len(indices),
            {k: list(map(v.__getitem__, indices)) for k, v in self._fields.items()},
        )

    @property
    def params(self) -> Sequence[dict[str, Any]]:
        return self.field("params")

    @property
    def metrics(self) -> Sequence[dict[str, Any]]:
        return self.field("metrics")

    @property
    def tags(self) -> Sequence[dict[str, str]]:
        return self.field("tags")

    @classmethod
    def of(cls, rows: Sequence[Summary]) -> RunColumns:
        """The same runs, already read as Summary rows (every field is there)."""
        if not rows:
            return cls(0, dict.fromkeys(Summary._fields, ()))
        return cls(len(rows), dict(zip(Summary._fields, zip(*rows, strict=True), strict=True)))


#: The fields :func:`table_columns` reads (a table of other fields reads Summary rows).
READ_FIELDS = frozenset({"number", "args", *TABLE_FIELDS})

#: The listed runs' numbers and table fields, each as one JSON array (one decode each).
_SELECT = (
    "SELECT count(*), '[' || group_concat(number) || ']', '[' || group_concat(brief) || ']' "
    "FROM (SELECT number, brief FROM {table}{where} ORDER BY number DESC{limit})"
)
_ARGS = (
    "SELECT '[' || group_concat(COALESCE(args, 'null')) || ']' "
    "FROM (SELECT args FROM {table}{where} ORDER BY number DESC{limit})"
)


def _or_empty(values: Sequence[Any], empty: Callable[[], Any]) -> list[Any]:
    # Older records lack the newer fields: empty, as a new record has them.
    if None in values:
        return [empty() if v is None else v for v in values]
    return list(values)


@recovering
def table_columns(
    history,
    *,
    status: str | None = None,
    target: str | None = None,
    limit: int | None = None,
    args: bool = False,
) -> tuple[RunColumns, int]:
    """The newest ``limit`` runs (optionally of one status or target) for a table,
    and how many runs match in all.

    Only the run number and :data:`TABLE_FIELDS` are read, and the arguments
    when ``args`` or when the runs ran more than one script (a default table
    then shows the command lines). Active runs show the metrics and params
    logged so far (read from their metrics file).
    """
    if not summarised(history):
        return RunColumns.of([]), 0
    where, values = where_clause(status=status, target=target)
    parts = {"table": SUMMARY_TABLE, "where": where, "limit": ""}
    if limit is not None:
        parts["limit"] = f" LIMIT {int(limit)}"
    conn = history.conn
    conn.execute("BEGIN")  # every query below sees the same runs
    try:
        count, numbers, brief = conn.execute(_SELECT.format(**parts), values).fetchone()
        total = count
        if limit is not None and count == limit:
            (total,) = conn.execute(
                f"SELECT count(*) FROM {SUMMARY_TABLE}{where}", values
            ).fetchone()
        if not count:
            return RunColumns.of([]), total
        fields: dict[str, Sequence[Any]] = dict(
            zip(TABLE_FIELDS, zip(*json.loads(brief), strict=True), strict=True)
        )
        if args or len(set(fields["script"])) > 1:
            (text,) = conn.execute(_ARGS.format(**parts), values).fetchone()
            fields["args"] = _or_empty(json.loads(text), list)
        active = conn.execute(
            "SELECT number, id FROM runs WHERE status IN ('preparing', 'running')"
        ).fetchall()
    finally:
        with contextlib.suppress(sqlite3.Error):
            conn.execute("COMMIT")  # (a read: nothing to undo)
    fields["tags"] = _or_empty(fields["tags"], dict)
    fields["number"] = json.loads(numbers)
    fields["params"] = params = _or_empty(fields["params"], dict)
    fields["metrics"] = metrics = _or_empty(fields["metrics"], dict)
    if active:
        position = {n: i for i, n in enumerate(fields["number"])}
        for number, run_id in active:
            i = position.get(number)
            if i is not None:
                merged = with_logged(history, run_id, metrics[i], params[i])
                if merged is not None:
                    metrics[i], params[i] = merged
    return RunColumns(count, fields), total


def read_runs(
    history,
    fields: set[str],
    *,
    status: str | None = None,
    target: str | None = None,
    limit: int | None = None,
) -> tuple[RunColumns, int]:
    """The runs for a table that reads ``fields`` (Summary field names), and how many
    match in all: :func:`table_columns` when it reads them all (the usual case), else
    every Summary (then ``limit`` is applied here)."""
    if fields <= READ_FIELDS:
        return table_columns(
            history, status=status, target=target, limit=limit, args="args" in fields
        )
    rows = summaries(history, status=status, target=target)
    return RunColumns.of(rows if limit is None else rows[:limit]), len(rows)
