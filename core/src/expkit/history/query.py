"""Fast reads of many runs for tables (``exp runs list``, ``exp ui``).

A run's full record carries its package list and every metric value; a
table needs a few fields of it. SQLite's JSON functions cut those out of the
index rows and hand back the whole table as one JSON text, so 10,000 runs
cost one query and one ``json.loads`` instead of 10,000 records parsed and
rebuilt (see bench/cases_history.py).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

#: Summary fields taken from the record as they are, in this order.
FIELDS = _PATHS = (
    "runconfig",
    "script",
    "args",
    "name",
    "tags",
    "note",
    "params",
    "metrics",
    "started",
    "ended",
    "duration_s",
    "exit_code",
    "error",
    "git_commit",
    "env_id",
)
_SUMMARY_SQL = (
    "json_array(new.id, new.number, new.status, new.target, "
    "json_extract(new.record, {paths}), "
    "(SELECT json_group_array(key) FROM json_each(new.record, '$.series') "
    "WHERE json_array_length(value) > 1))"
).format(paths=", ".join(f"'$.{p}'" for p in _PATHS))

#: A summary row per run, kept by triggers on every write of the ``runs`` table
#: (whoever writes it), so reading a table of runs never parses full records.
_TABLE = """CREATE TABLE IF NOT EXISTS run_summary (
    id TEXT PRIMARY KEY,
    number INTEGER NOT NULL,
    status TEXT NOT NULL,
    target TEXT NOT NULL,
    summary TEXT NOT NULL
)"""
_INSERT = (
    "INSERT OR REPLACE INTO run_summary VALUES "
    f"(new.id, new.number, new.status, new.target, {_SUMMARY_SQL});"
)
_STATEMENTS = (
    _TABLE,
    "CREATE INDEX IF NOT EXISTS run_summary_number ON run_summary(number)",
    f"CREATE TRIGGER IF NOT EXISTS run_summary_insert AFTER INSERT ON runs BEGIN {_INSERT} END",
    "CREATE TRIGGER IF NOT EXISTS run_summary_update AFTER UPDATE ON runs BEGIN "
    f"DELETE FROM run_summary WHERE id = old.id; {_INSERT} END",
    "CREATE TRIGGER IF NOT EXISTS run_summary_delete AFTER DELETE ON runs BEGIN "
    "DELETE FROM run_summary WHERE id = old.id; END",
)
_BACKFILL = (
    "INSERT OR REPLACE INTO run_summary SELECT id, number, status, target, "
    + _SUMMARY_SQL.replace("new.", "")
    + " FROM runs"
)
_READY = "run_summary_delete"


def ensure_summaries(history) -> None:
    """Create the summary table and its triggers once (filling it from the runs)."""
    conn = history.conn
    found = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'trigger' AND name = ?", (_READY,)
    ).fetchone()
    if found:
        return
    with history._transaction() as tx:
        for statement in _STATEMENTS:
            tx.execute(statement)
        tx.execute(_BACKFILL)


@dataclass(slots=True)
class Summary:
    """What a runs table shows of one run (a subset of expkit.model.RunRecord)."""

    id: str
    number: int
    status: str
    target: str
    runconfig: str | None
    script: str
    args: list[str]
    name: str | None
    tags: dict[str, str]
    note: str | None
    params: dict[str, Any]
    metrics: dict[str, Any]
    started: float | None
    ended: float | None
    duration_s: float | None
    exit_code: int | None
    error: str | None
    git_commit: str | None
    env_id: str | None
    #: Metrics logged more than once (drawn as charts).
    series_names: list[str]


def summaries_text(history, *, status: str | None = None, target: str | None = None) -> str:
    """Every run's summary as one JSON array text, newest first, as stored.

    Each item is ``[id, number, status, target, [FIELD values...], series_names]``
    with the fields of :data:`FIELDS` in order. Active runs show what their
    record holds (see :func:`live_metrics` for what they logged since).
    """
    if history._empty():
        return "[]"
    ensure_summaries(history)
    where, args = [], []
    if status is not None:
        where.append("status = ?")
        args.append(status)
    if target is not None:
        where.append("target = ?")
        args.append(target)
    sql = (
        "SELECT '[' || COALESCE(group_concat(summary, ','), '') || ']' FROM "
        "(SELECT summary FROM run_summary "
        + (("WHERE " + " AND ".join(where)) if where else "")
        + " ORDER BY number DESC)"
    )
    (text,) = history.conn.execute(sql, args).fetchone()
    return text


def _active_ids(history) -> list[str]:
    rows = history.conn.execute("SELECT id FROM runs WHERE status IN ('preparing', 'running')")
    return [row[0] for row in rows]


def live_metrics(history) -> dict[str, dict[str, Any]]:
    """Run id -> {"metrics", "params"} logged so far by each active run."""
    from expkit.history.params import read_metrics_file

    if history._empty():
        return {}
    out = {}
    for run_id in _active_ids(history):
        logged = read_metrics_file(history.run_dir(run_id) / "metrics.jsonl")
        out[run_id] = {"metrics": logged.metrics, "params": logged.params}
    return out


def summaries(history, *, status: str | None = None, target: str | None = None) -> list[Summary]:
    """Every run (optionally of one status or target), newest first, as table rows.

    Active runs show the metrics logged so far (read from their metrics file).
    """
    text = summaries_text(history, status=status, target=target)
    rows = []
    for run_id, number, state, run_target, values, series_names in json.loads(text):
        row = Summary(run_id, number, state, run_target, *values, series_names or [])
        # Older records lack the newer fields: empty, as a new record has them.
        if row.args is None:
            row.args = []
        if row.tags is None:
            row.tags = {}
        if row.params is None:
            row.params = {}
        if row.metrics is None:
            row.metrics = {}
        rows.append(row)
    return [_live(history, s) if s.status in ("preparing", "running") else s for s in rows]


def _live(history, summary: Summary) -> Summary:
    from dataclasses import replace

    from expkit.history.params import read_metrics_file

    logged = read_metrics_file(history.run_dir(summary.id) / "metrics.jsonl")
    if not logged.metrics and not logged.params:
        return summary
    return replace(
        summary,
        metrics={**summary.metrics, **logged.metrics},
        params={**summary.params, **logged.params},
        series_names=[k for k, v in logged.series.items() if len(v) > 1],
    )


def newest_records(history, limit: int | None = None, **where: str | None) -> list[str]:
    """The stored JSON text of the newest runs (``--json`` without --filter or --sort)."""
    if history._empty():
        return []
    clauses = [(k, v) for k, v in where.items() if v is not None]
    sql = "SELECT record FROM runs"
    if clauses:
        sql += " WHERE " + " AND ".join(f"{k} = ?" for k, _ in clauses)
    sql += " ORDER BY number DESC" + (f" LIMIT {int(limit)}" if limit is not None else "")
    return [row[0] for row in history.conn.execute(sql, [v for _, v in clauses])]


def raw_records(history, ids: list[str]) -> list[str]:
    """The stored JSON text of each run in ``ids``, in that order (``--json`` prints it as is)."""
    if not ids:
        return []
    found: dict[str, str] = {}
    chunk = 900  # below SQLite's variable limit
    for i in range(0, len(ids), chunk):
        part = ids[i : i + chunk]
        marks = ",".join("?" * len(part))
        for run_id, text in history.conn.execute(
            f"SELECT id, record FROM runs WHERE id IN ({marks})", part
        ):
            found[run_id] = text
    return [found[i] for i in ids if i in found]


def find_by_name(history, name: str) -> list[str]:
    """Ids of runs named ``name``, newest first."""
    if history._empty():
        return []
    rows = history.conn.execute(
        "SELECT id FROM runs WHERE json_extract(record, '$.name') = ? ORDER BY number DESC",
        (name,),
    )
    return [r[0] for r in rows]


def resolve(history, ref: str):
    """A run by number, id, unique id prefix, or name (the newest run of that name)."""
    from expkit.errors import UsageError

    try:
        return history.get(ref)
    except UsageError:
        named = find_by_name(history, str(ref).strip())
        if not named:
            raise
        return history.get(named[0])


def change_token(history) -> str:
    """Changes whenever a run is added, removed or updated, or an active run logs a metric.

    Costs a few ``stat`` calls and one indexed query (``exp ui`` polls it).
    """
    if history._empty():
        return "empty"
    parts = []
    for name in ("index.sqlite", "index.sqlite-wal"):
        try:
            st = os.stat(history.store / name)
            parts.append(f"{st.st_mtime_ns}.{st.st_size}")
        except OSError:
            parts.append("-")
    for run_id in _active_ids(history):
        try:
            parts.append(str(os.stat(history.run_dir(run_id) / "metrics.jsonl").st_size))
        except OSError:
            parts.append("0")
    return "-".join(parts)
