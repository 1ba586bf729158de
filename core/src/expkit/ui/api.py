"""The JSON the UI's page reads: runs table, one run, its log and metric points, files.

Pure functions of a History (expkit.history) returning plain data; the HTTP
layer is expkit.ui.server.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from expkit.errors import UsageError
from expkit.history import ACTIVE, list_outputs, to_dict
from expkit.history.params import read_lines, read_metrics_file
from expkit.history.query import Summary, change_token, resolve

#: The most log text one request returns; the page asks again for the rest.
LOG_CHUNK = 256 * 1024


def runs_table_json(history) -> bytes:
    """Every run's summary, as stored (no record is parsed): the page builds its table.

    ``{"token", "fields", "live": {id: {"metrics", "params"}}, "runs": [[id, number,
    status, target, [fields...]], ...]}`` (expkit.history.query).
    """
    import json

    from expkit.history.query import FIELDS, live_metrics, summaries_text

    head = json.dumps({"token": change_token(history), "fields": list(FIELDS)})
    live = json.dumps(live_metrics(history), ensure_ascii=True, default=str)
    text = summaries_text(history)
    body = head[:-1] + ',"live":' + live + ',"runs":' + text + "}"
    return body.encode("utf-8", "surrogatepass")


def matching(history, expression: str) -> dict[str, Any]:
    """Ids of the runs matching ``expression`` (the --filter language), or its error."""
    from expkit.history import table
    from expkit.history.columns import read_runs
    from expkit.history.filter import FilterError, compile_filter

    try:
        compiled = compile_filter(expression)
    except FilterError as exc:
        return {"error": {"message": exc.reason, "position": exc.position}}
    runs, _ = read_runs(history, table.fields_named(compiled.names) | {"id"})
    ids = runs.field("id")
    return {"matches": [ids[i] for i in table.select(runs, compiled, [])]}


def _points(run_dir: Path) -> tuple[dict[str, list[list[Any]]], dict[str, Any], int]:
    """Metric name -> [[step, value, time], ...]; logged params; bytes read."""
    entries, offset = read_lines(run_dir / "metrics.jsonl")
    points, params = _fold(entries, {})
    return points, params, offset


def _fold(entries, counts: dict[str, int]) -> tuple[dict[str, list[list[Any]]], dict[str, Any]]:
    points: dict[str, list[list[Any]]] = {}
    params: dict[str, Any] = {}
    for entry in entries:
        name = entry.get("name")
        if isinstance(name, str) and "value" in entry:
            step = entry.get("step")
            if isinstance(step, bool) or not isinstance(step, (int, float)):
                step = counts.get(name, 0)
            counts[name] = counts.get(name, 0) + 1
            points.setdefault(name, []).append([step, entry["value"], entry.get("time")])
        elif isinstance(entry.get("param"), str) and "value" in entry:
            params[entry["param"]] = entry["value"]
    return points, params


def run_detail(history, ref: str) -> dict[str, Any]:
    record = resolve(history, ref)
    folder = history.run_dir(record.id)
    points, logged, offset = _points(folder)
    data = to_dict(record)
    data["params"] = {**data["params"], **logged}
    data["points"] = points
    data["metrics_offset"] = offset
    data["active"] = record.status in ACTIVE
    if data["active"]:
        live = read_metrics_file(folder / "metrics.jsonl")
        data["metrics"] = {**data["metrics"], **live.metrics}
    data["outputs"] = list(list_outputs(folder / "outputs")) if data["active"] else data["outputs"]
    data["snapshot_files"] = _snapshot_files(history, record.snapshot_id)
    return data


def _snapshot_files(history, snapshot_id: str | None) -> list[dict[str, Any]]:
    if not snapshot_id:
        return []
    from expkit.snapshot import load_snapshot

    try:
        snapshot = load_snapshot(history.store, snapshot_id)
    except Exception:  # a gc'd or damaged snapshot: the page shows none
        return []
    return [{"path": e.path, "size": e.size, "link": e.link} for e in snapshot.entries]


def log_since(history, ref: str, offset: int) -> dict[str, Any]:
    record = resolve(history, ref)
    path = history.run_dir(record.id) / "log.txt"
    try:
        with open(path, "rb") as handle:
            handle.seek(max(offset, 0))
            data = handle.read(LOG_CHUNK)
    except FileNotFoundError:
        data = b""
    # Never split a UTF-8 character between two answers.
    cut = len(data)
    if len(data) == LOG_CHUNK:
        while cut > 0 and (data[cut - 1] & 0xC0) == 0x80:
            cut -= 1
        if cut and data[cut - 1] >= 0xC0:
            cut -= 1
    text = data[:cut].decode("utf-8", "replace")
    return {
        "text": text,
        "offset": offset + cut,
        "status": record.status,
        "active": record.status in ACTIVE,
        "more": len(data) == LOG_CHUNK,
    }


def metrics_since(history, ref: str, offset: int, counts: dict[str, int]) -> dict[str, Any]:
    """Metric points logged after byte ``offset`` of the run's metrics file.

    ``counts`` (points per metric the page already has) numbers points logged
    without a step, as the record does.
    """
    record = resolve(history, ref)
    entries, end = read_lines(history.run_dir(record.id) / "metrics.jsonl", offset)
    points, params = _fold(entries, dict(counts))
    return {
        "points": points,
        "params": params,
        "offset": end,
        "status": record.status,
        "active": record.status in ACTIVE,
    }


def output_file(history, ref: str, relpath: str) -> Path:
    """A run's output file, only if it is one the run lists (no path outside outputs/)."""
    record = resolve(history, ref)
    folder = history.run_dir(record.id) / "outputs"
    if relpath not in list_outputs(folder):
        raise UsageError(f"run {record.number} has no output {relpath!r}")
    return folder.joinpath(*relpath.split("/"))


def snapshot_file(history, ref: str, relpath: str) -> Path:
    """The stored object of one file of a run's code snapshot."""
    record = resolve(history, ref)
    for entry in _snapshot_entries(history, record.snapshot_id):
        if entry.path == relpath and entry.sha:
            return history.store / "objects" / entry.sha[:2] / entry.sha
    raise UsageError(f"run {record.number}'s snapshot has no file {relpath!r}")


def _snapshot_entries(history, snapshot_id: str | None):
    if not snapshot_id:
        return ()
    from expkit.snapshot import load_snapshot

    return load_snapshot(history.store, snapshot_id).entries


def compare_series(history, refs: list[str], metric: str) -> dict[str, Any]:
    out = []
    for ref in refs:
        record = resolve(history, ref)
        points, _, _ = _points(history.run_dir(record.id))
        out.append(
            {
                "id": record.id,
                "number": record.number,
                "name": record.name,
                "points": points.get(metric, []),
            }
        )
    return {"metric": metric, "runs": out}


__all__ = [
    "Summary",
    "compare_series",
    "log_since",
    "metrics_since",
    "output_file",
    "matching",
    "run_detail",
    "runs_table_json",
    "snapshot_file",
]
