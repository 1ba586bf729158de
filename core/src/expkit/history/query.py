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
from typing import Any, NamedTuple

from expkit.history.repair import recovering

#: Summary fields taken from the record as they are, in this order (after id,
#: number, status, target). Only what a table shows or filters on: the smaller
#: a summary, the faster 10,000 of them are read.
FIELDS = (
    "script",
    "args",
    "name",
    "tags",
    "note",
    "params",
    "metrics",
    "started",
    "duration_s",
    "exit_code",
    "error",
)


def _valid(row: str) -> str:
    """SQL: the row's record is JSON naming this row's run (checked by SQLite, in C;
    CASE because json_extract raises on text that is not JSON)."""
    return (
        f"(CASE WHEN json_valid({row}record) THEN json_extract({row}record, '$.id') IS {row}id"
        f" AND json_extract({row}record, '$.number') IS {row}number ELSE 0 END)"
    )


_SUMMARY_SQL = (
    "json_array(new.id, new.number, new.status, new.target, json_extract(new.record, {}))"
)
_SUMMARY_SQL = _SUMMARY_SQL.format(", ".join(f"'$.{p}'" for p in FIELDS))
#: What a table shows of a run, or filters and sorts on, apart from its number
#: (expkit.history.columns reads these as one JSON array per run, without decoding
#: whole summaries). Built when the run is written: id, status and target from their
#: columns, the rest with json_extract's many-paths form, which keeps numbers and
#: strings as written.
TABLE_FIELDS = (
    "id",
    "status",
    "target",
    "script",
    "name",
    "duration_s",
    "tags",
    "params",
    "metrics",
)
_TABLE_SQL = (
    "'[' || json_quote(new.id) || ',' || json_quote(new.status) || ',' || "
    "json_quote(new.target) || ',' || substr(json_extract(new.record, {}), 2), "
    "json_extract(new.record, '$.args')"
).format(", ".join(f"'$.{p}'" for p in TABLE_FIELDS[3:]))
#: Bumped when the summary's shape changes: the table and triggers are rebuilt.
_VERSION = 7
_TABLE_NAME = f"run_summary{_VERSION}"
#: The summary table's name (expkit.history.columns reads it too).
SUMMARY_TABLE = _TABLE_NAME
_ROW_SQL = f"new.id, new.number, new.status, new.target, {_SUMMARY_SQL}, {_TABLE_SQL}"
_INSERT = f"INSERT OR REPLACE INTO {_TABLE_NAME} VALUES ({_ROW_SQL});"
#: A summary row per run, kept by triggers on every write of the ``runs`` table
#: (whoever writes it: a run, a rebuild, a reap), so reading a table of runs
#: never parses full records.
_STATEMENTS = (
    f"CREATE TABLE IF NOT EXISTS {_TABLE_NAME} (id TEXT PRIMARY KEY, number INTEGER NOT NULL, "
    "status TEXT NOT NULL, target TEXT NOT NULL, summary TEXT NOT NULL, "
    "brief TEXT NOT NULL, args TEXT)",
    f"CREATE INDEX IF NOT EXISTS {_TABLE_NAME}_number ON {_TABLE_NAME}(number)",
    # A row whose record is not JSON (a damaged index) gets no summary and never
    # makes a write fail: json_extract would raise on it.
    f"CREATE TRIGGER IF NOT EXISTS {_TABLE_NAME}_insert AFTER INSERT ON runs "
    f"WHEN {_valid('new.')} BEGIN {_INSERT} END",
    f"CREATE TRIGGER IF NOT EXISTS {_TABLE_NAME}_update AFTER UPDATE ON runs BEGIN "
    f"DELETE FROM {_TABLE_NAME} WHERE id = old.id; "
    f"INSERT OR REPLACE INTO {_TABLE_NAME} SELECT {_ROW_SQL} WHERE {_valid('new.')}; END",
    f"CREATE TRIGGER IF NOT EXISTS {_TABLE_NAME}_delete AFTER DELETE ON runs BEGIN "
    f"DELETE FROM {_TABLE_NAME} WHERE id = old.id; END",
)
_BACKFILL = (
    f"INSERT OR REPLACE INTO {_TABLE_NAME} SELECT "
    + _ROW_SQL.replace("new.", "")
    + f" FROM runs WHERE {_valid('')}"
)
_READY = f"{_TABLE_NAME}_delete"


@recovering
def ensure_summaries(history) -> None:
    """Create the summary table and its triggers once (filling it from the runs);
    those of an older shape are dropped."""
    conn = history.conn
    found = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'trigger' AND name = ?", (_READY,)
    ).fetchone()
    if found:
        return
    with history._transaction() as tx:
        old = tx.execute(
            "SELECT type, name FROM sqlite_master WHERE name LIKE 'run\\_summary%' ESCAPE '\\' "
            "AND type IN ('trigger', 'table')"
        ).fetchall()
        for kind, name in sorted(old, key=lambda row: row[0] != "trigger"):
            tx.execute(f'DROP {kind.upper()} IF EXISTS "{name}"')
        for statement in _STATEMENTS:
            tx.execute(statement)
        tx.execute(_BACKFILL)


class Summary(NamedTuple):
    """What a runs table shows of one run (a subset of expkit.model.RunRecord)."""

    id: str
    number: int
    status: str
    target: str
    script: str
    args: list[str]
    name: str | None
    tags: dict[str, str]
    note: str | None
    params: dict[str, Any]
    metrics: dict[str, Any]
    started: float | None
    duration_s: float | None
    exit_code: int | None
    error: str | None


@recovering
def summaries_text(history, *, status: str | None = None, target: str | None = None) -> str:
    """Every run's summary as one JSON array text, newest first, as stored.

    Each item is ``[id, number, status, target, [FIELDS values...]]``. Active
    runs show what their record holds (:func:`live_metrics`: what they logged since).
    """
    if not summarised(history):
        return "[]"
    where, args = where_clause(status=status, target=target)
    sql = (
        "SELECT '[' || COALESCE(group_concat(summary, ','), '') || ']' FROM "
        f"(SELECT summary FROM {_TABLE_NAME}{where} ORDER BY number DESC)"
    )
    (text,) = history.conn.execute(sql, args).fetchone()
    return text


def summarised(history) -> bool:
    """Make every run's summary row ready; False when the history has no index yet.

    Called (and so protected) by the ``@recovering`` readers.
    """
    if history._empty():
        return False
    ensure_summaries(history)
    if not unlisted(history):  # (two counts: the usual case costs no scan)
        return True
    # A row the triggers could not summarise (not a record): read from its record.json
    # and repaired (its summary follows), or skipped, with a warning either way.
    for run_id, text in history.conn.execute(
        f"SELECT id, record FROM runs WHERE id NOT IN (SELECT id FROM {_TABLE_NAME})"
    ).fetchall():
        history._from_row(run_id, text)
    return True


def where_clause(**equal: str | None) -> tuple[str, list[str]]:
    """`` WHERE k = ? AND ...`` for the given columns that are not None, and its arguments."""
    clauses = [(k, v) for k, v in equal.items() if v is not None]
    if not clauses:
        return "", []
    return " WHERE " + " AND ".join(f"{k} = ?" for k, _ in clauses), [v for _, v in clauses]


@recovering
def any_runs(history) -> bool:
    """Whether the history holds any run at all (reading it never creates one)."""
    if history._empty():
        return False
    return history.conn.execute("SELECT 1 FROM runs LIMIT 1").fetchone() is not None


@recovering
def unlisted(history) -> int:
    """How many index rows have no summary (their record is not JSON: a damaged index)."""
    if history._empty():
        return 0
    ensure_summaries(history)
    (missing,) = history.conn.execute(
        f"SELECT (SELECT COUNT(*) FROM runs) - (SELECT COUNT(*) FROM {_TABLE_NAME})"
    ).fetchone()
    return max(missing, 0)


@recovering
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
    new = tuple.__new__  # a NamedTuple without its __new__'s argument handling: 10,000 times
    rows = [new(Summary, (x[0], x[1], x[2], x[3], *x[4])) for x in json.loads(text)]
    for i, row in enumerate(rows):
        # Older records lack the newer fields: empty, as a new record has them.
        if row.args is None or row.tags is None or row.params is None or row.metrics is None:
            rows[i] = row._replace(
                args=row.args or [],
                tags=row.tags or {},
                params=row.params or {},
                metrics=row.metrics or {},
            )
    return [_live(history, s) if s.status in ("preparing", "running") else s for s in rows]


def _live(history, summary: Summary) -> Summary:
    merged = with_logged(history, summary.id, summary.metrics, summary.params)
    if merged is None:
        return summary
    return summary._replace(metrics=merged[0], params=merged[1])


def with_logged(
    history, run_id: str, metrics: dict[str, Any], params: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """An active run's metrics and params with what it logged since; None if nothing."""
    from expkit.history.params import read_metrics_file

    logged = read_metrics_file(history.run_dir(run_id) / "metrics.jsonl")
    if not logged.metrics and not logged.params:
        return None
    return {**metrics, **logged.metrics}, {**params, **logged.params}


_VALID = _valid("")


@recovering
def newest_records(history, limit: int | None = None, **where: str | None) -> list[str]:
    """The stored JSON text of the newest runs (``--json`` without --filter or --sort)."""
    if history._empty():
        return []
    clauses = [(k, v) for k, v in where.items() if v is not None]
    sql = f"SELECT id, record, {_VALID} FROM runs"
    if clauses:
        sql += " WHERE " + " AND ".join(f"{k} = ?" for k, _ in clauses)
    sql += " ORDER BY number DESC" + (f" LIMIT {int(limit)}" if limit is not None else "")
    rows = history.conn.execute(sql, [v for _, v in clauses]).fetchall()
    return _valid_texts(history, rows)


def _valid_texts(history, rows) -> list[str]:
    """Each row's stored JSON text; a row that is not JSON is read from its record.json
    (with a warning, see History._from_row) or left out, never printed broken."""
    from expkit.history.records import to_json

    texts = []
    for run_id, text, valid in rows:
        if valid:
            texts.append(text)
        else:
            record = history._from_row(run_id, text)
            if record is not None:
                texts.append(to_json(record))
    return texts


@recovering
def raw_records(history, ids: list[str]) -> list[str]:
    """The stored JSON text of each run in ``ids``, in that order (``--json`` prints it as is)."""
    if not ids:
        return []
    found: dict[str, tuple[str, str, int]] = {}
    chunk = 900  # below SQLite's variable limit
    for i in range(0, len(ids), chunk):
        part = ids[i : i + chunk]
        marks = ",".join("?" * len(part))
        for run_id, text, valid in history.conn.execute(
            f"SELECT id, record, {_VALID} FROM runs WHERE id IN ({marks})", part
        ):
            found[run_id] = (run_id, text, valid)
    return _valid_texts(history, [found[i] for i in ids if i in found])


@recovering
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


@recovering
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
