"""Run records as JSON, run ids, and what a run leaves in its folder (metrics, outputs).

The JSON of a record uses exactly the field names of expkit.model.RunRecord;
``exp runs show --json``, ``exp runs list --json``, ``exp run --json`` and
``.exp/runs/<id>/record.json`` all print this shape.
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from pathlib import Path
from typing import Any

from expkit.jsonio import dumps, to_plain
from expkit.model import RunRecord, frozen_map
from expkit.outputs import list_outputs  # noqa: F401 - re-exported: the history lists outputs

FIELDS = tuple(f.name for f in dataclasses.fields(RunRecord))
ACTIVE = ("preparing", "running")
FINISHED = ("completed", "failed", "canceled")


def new_run_id(now: float | None = None) -> str:
    """A run id that sorts by creation time: UTC timestamp with milliseconds + random suffix,
    e.g. ``20250101T120000123Z-3fa9c1``."""
    now = time.time() if now is None else now
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime(now))
    return f"{stamp}{int(now * 1000) % 1000:03d}Z-{os.urandom(3).hex()}"


def to_dict(record: RunRecord) -> dict[str, Any]:
    """The record as plain JSON-ready data, fields in declaration order."""
    return {name: to_plain(getattr(record, name)) for name in FIELDS}


def to_json(record: RunRecord) -> str:
    return dumps(to_dict(record), separators=(",", ":"))


def from_dict(data: dict[str, Any]) -> RunRecord:
    """A RunRecord from its JSON; unknown keys (a newer expkit) are ignored."""
    values = {k: data[k] for k in FIELDS if k in data}
    for key in ("args", "outputs", "packages"):
        values[key] = tuple(values.get(key) or ())
    values["metrics"] = frozen_map(values.get("metrics"))
    values["series"] = frozen_map({k: tuple(v) for k, v in (values.get("series") or {}).items()})
    values["tags"] = frozen_map(values.get("tags"))
    values["params"] = frozen_map(values.get("params"))
    values["steps"] = frozen_map({k: tuple(v) for k, v in (values.get("steps") or {}).items()})
    values["timings"] = frozen_map(values.get("timings"))
    return RunRecord(**values)


def read_metrics(path: Path) -> tuple[dict[str, Any], dict[str, tuple[Any, ...]]]:
    """(name -> last value, name -> every value) from a run's ``metrics.jsonl``.

    Lines that are not a metric (a torn last line after a kill, stray text)
    are skipped: metrics are evidence, never a reason to fail a run.
    """
    series: dict[str, list[Any]] = {}
    try:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
    except (FileNotFoundError, IsADirectoryError):
        return {}, {}
    for line in text.splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict) and isinstance(entry.get("name"), str) and "value" in entry:
            series.setdefault(entry["name"], []).append(entry["value"])
    return {k: v[-1] for k, v in series.items()}, {k: tuple(v) for k, v in series.items()}
