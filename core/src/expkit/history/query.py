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

#: Summary field -> SQL expression over the ``runs`` row.
_FIELDS = {
    "id": "id",
    "number": "number",
    "status": "status",
    "target": "target",
    "runconfig": "json_extract(record, '$.runconfig')",
    "script": "json_extract(record, '$.script')",
    "args": "json_extract(record, '$.args')",
    "name": "json_extract(record, '$.name')",
    "tags": "json_extract(record, '$.tags')",
    "note": "json_extract(record, '$.note')",
    "params": "json_extract(record, '$.params')",
    "metrics": "json_extract(record, '$.metrics')",
    "series_names": "(SELECT json_group_array(key) FROM json_each(record, '$.series') "
    "WHERE json_array_length(value) > 1)",
    "started": "json_extract(record, '$.started')",
    "ended": "json_extract(record, '$.ended')",
    "duration_s": "json_extract(record, '$.duration_s')",
    "exit_code": "json_extract(record, '$.exit_code')",
    "error": "json_extract(record, '$.error')",
    "git_commit": "json_extract(record, '$.git_commit')",
    "env_id": "json_extract(record, '$.env_id')",
}
#: Fields that hold JSON (objects, arrays) rather than scalars.
_JSON_FIELDS = {"args", "tags", "params", "metrics", "series_names"}


@dataclass(frozen=True)
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
    #: Metrics logged more than once (drawn as charts).
    series_names: list[str]
    started: float | None
    ended: float | None
    duration_s: float | None
    exit_code: int | None
    error: str | None
    git_commit: str | None
    env_id: str | None


def _select(where: str = "", params: tuple = ()) -> str:
    columns = ", ".join(
        f"'{k}', " + (f"json({v})" if k in _JSON_FIELDS else v) for k, v in _FIELDS.items()
    )
    return (
        f"SELECT json_group_array(json_object({columns})) FROM "
        f"(SELECT * FROM runs {where} ORDER BY number DESC)"
    )


def summaries(history, *, status: str | None = None, target: str | None = None) -> list[Summary]:
    """Every run (optionally of one status or target), newest first, as table rows.

    Active runs show the metrics logged so far (read from their metrics file).
    """
    if history._empty():
        return []
    where, args = [], []
    if status is not None:
        where.append("status = ?")
        args.append(status)
    if target is not None:
        where.append("target = ?")
        args.append(target)
    sql = _select(("WHERE " + " AND ".join(where)) if where else "")
    (text,) = history.conn.execute(sql, args).fetchone()
    rows = []
    for data in json.loads(text or "[]"):
        for key in ("args", "series_names"):
            data[key] = data[key] or []
        for key in ("tags", "params", "metrics"):
            data[key] = data[key] or {}
        rows.append(Summary(**data))
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
    """Changes whenever a run is added, removed or updated (``exp ui`` polls it)."""
    if history._empty():
        return "empty"
    (count, total, changes) = history.conn.execute(
        "SELECT COUNT(*), COALESCE(SUM(length(record)), 0), COALESCE(MAX(number), 0) FROM runs"
    ).fetchone()
    stamp = 0
    try:
        stamp = os.stat(history.store / "index.sqlite-wal").st_mtime_ns
    except OSError:
        pass
    return f"{count}-{total}-{changes}-{stamp}"
