"""Deleting runs (``exp runs rm``) and what no run refers to any more (``exp runs gc``).

Neither ever touches an active run. ``rm`` moves a run's folder to
``.exp/trash/`` and drops its index row in one transaction, so an interrupted
``rm`` leaves either the run whole or gone (its files in the trash). ``gc``
empties the trash and deletes code snapshots and stored files that no run's
record names; it holds the index's write lock while it works, so no run can
start (and take a snapshot sharing those files) meanwhile, and it does nothing
to snapshots while any run is active.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from expkit.errors import UsageError
from expkit.fsutil import tree_size
from expkit.history.records import ACTIVE
from expkit.model import RunRecord

TRASH = "trash"


def remove_runs(history, records: list[RunRecord]) -> int:
    """Delete ``records`` (none may be active); returns the bytes freed."""
    trash = history.store / TRASH
    freed = 0
    with history._transaction() as conn:
        for record in records:
            row = conn.execute("SELECT status FROM runs WHERE id = ?", (record.id,)).fetchone()
            if row is not None and row[0] in ACTIVE:
                raise UsageError(
                    f"run {record.number} is {row[0]}; nothing was removed.\n"
                    f"  cancel it first (`exp runs cancel {record.number}`) or leave it out."
                )
        trash.mkdir(exist_ok=True)
        for record in records:
            folder = history.run_dir(record.id)
            if folder.is_dir():
                freed += tree_size(folder)
                os.replace(folder, trash / record.id)
            conn.execute("DELETE FROM runs WHERE id = ?", (record.id,))
    shutil.rmtree(trash, ignore_errors=True)
    return freed


@dataclass
class GcReport:
    snapshots: int = 0
    objects: int = 0
    trash: int = 0
    workdirs: int = 0
    bytes: int = 0
    skipped: list[str] = field(default_factory=list)


def collect_garbage(history, *, dry_run: bool = False) -> GcReport:
    """Delete what no run refers to; see the module docstring."""
    from expkit.paths import cache_dir

    report = GcReport()
    store = history.store
    if history._empty():
        return report
    with history._transaction() as conn:
        active = conn.execute(
            "SELECT number FROM runs WHERE status IN (?, ?) ORDER BY number", ACTIVE
        ).fetchall()
        known = {
            row[0]: row[1]
            for row in conn.execute("SELECT id, json_extract(record, '$.snapshot_id') FROM runs")
        }
        trash = store / TRASH
        if trash.is_dir():
            for entry in trash.iterdir():
                report.trash += 1
                report.bytes += tree_size(entry)
                if not dry_run:
                    shutil.rmtree(entry, ignore_errors=True)
        work = cache_dir() / "work"
        if work.is_dir():
            for entry in work.iterdir():
                # A run's working copy lives while it runs; an old one is left by a crash.
                if entry.name in known and entry.name not in _active_ids(conn):
                    report.workdirs += 1
                    report.bytes += tree_size(entry)
                    if not dry_run:
                        shutil.rmtree(entry, ignore_errors=True)
        if active:
            numbers = ", ".join(str(r[0]) for r in active)
            report.skipped.append(
                f"snapshots and stored files were left alone: run(s) {numbers} still active"
            )
            return report
        _snapshots(store, {s for s in known.values() if s}, report, dry_run)
    return report


def _active_ids(conn) -> set[str]:
    return {r[0] for r in conn.execute("SELECT id FROM runs WHERE status IN (?, ?)", ACTIVE)}


def _snapshots(store: Path, keep: set[str], report: GcReport, dry_run: bool) -> None:
    used: set[str] = set()
    folder = store / "snapshots"
    if folder.is_dir():
        for path in folder.glob("*.json"):
            snapshot_id = path.name[: -len(".json")]
            if snapshot_id in keep:
                try:
                    data = json.loads(path.read_bytes())
                except (OSError, ValueError):
                    continue
                used.update(f["sha"] for f in data.get("files", {}).values())
                continue
            report.snapshots += 1
            report.bytes += path.stat().st_size
            if not dry_run:
                path.unlink(missing_ok=True)
    objects = store / "objects"
    if not objects.is_dir():
        return
    for sub in objects.iterdir():
        if not sub.is_dir():
            continue
        for path in sub.iterdir():
            if path.name in used or path.name.startswith("."):
                continue
            report.objects += 1
            report.bytes += path.lstat().st_size
            if not dry_run:
                path.unlink(missing_ok=True)
