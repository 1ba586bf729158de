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

from expkit.model import RunRecord, frozen_map

FIELDS = tuple(f.name for f in dataclasses.fields(RunRecord))
ACTIVE = ("preparing", "running")
FINISHED = ("completed", "failed", "canceled")


def new_run_id(now: float | None = None) -> str:
    """A run id that sorts by creation time: UTC timestamp with milliseconds + random suffix,
    e.g. ``20250101T120000123Z-3fa9c1``."""
    now = time.time() if now is None else now
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime(now))
    return f"{stamp}{int(now * 1000) % 1000:03d}Z-{os.urandom(3).hex()}"


def _plain(value: Any) -> Any:
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    if hasattr(value, "items"):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def to_dict(record: RunRecord) -> dict[str, Any]:
    """The record as plain JSON-ready data, fields in declaration order."""
    return {name: _plain(getattr(record, name)) for name in FIELDS}


def dumps(data: Any, **options: Any) -> str:
    """JSON text that can always be encoded as UTF-8.

    Readable non-ASCII text is kept as is. A file name or argument that was
    not valid UTF-8 reaches Python with lone surrogates (PEP 383); then the
    whole text is written with ``\\uXXXX`` escapes, which json.loads turns
    back into the same string, so the name's bytes survive (os.fsencode).
    """
    text = json.dumps(data, ensure_ascii=False, **options)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = json.dumps(data, ensure_ascii=True, **options)
    return text


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


def list_outputs(outputs_dir: Path) -> tuple[str, ...]:
    """Regular files under a run's ``outputs/``, relative POSIX paths, sorted.

    Symbolic links are neither listed nor followed (plugins replace links that
    stay inside ``outputs/`` by their content and drop the others at collect;
    see docs/plugins.md), so the list is exactly what ``exp runs download``
    writes. Special files are not listed either.
    """
    if os.path.islink(outputs_dir):
        return ()
    found: list[str] = []
    stack = [("", os.fspath(outputs_dir))]
    while stack:
        rel, path = stack.pop()
        try:
            entries = list(os.scandir(path))
        except OSError:  # missing, or not a folder
            continue
        for entry in entries:
            name = f"{rel}/{entry.name}" if rel else entry.name
            if entry.is_dir(follow_symlinks=False):
                stack.append((name, entry.path))
            elif entry.is_file(follow_symlinks=False):
                found.append(name)
    return tuple(sorted(found))
