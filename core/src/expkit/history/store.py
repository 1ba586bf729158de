"""A project's run history: ``.exp/`` at the project root.

Layout::

    .exp/index.sqlite           one row per run + the snapshot scan cache (history.index)
    .exp/runs/<run_id>/         record.json, log.txt, metrics.jsonl, outputs/
    .exp/objects/, snapshots/   code snapshots (expkit.snapshot)

The index is what lookups read; each run's ``record.json`` mirrors its row
(written atomically first) so a run folder is self-describing, and a lost
index is rebuilt from them.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Iterable
from pathlib import Path

from expkit.errors import ConfigError, UsageError
from expkit.history import owner as owners
from expkit.history.records import (
    ACTIVE,
    from_dict,
    list_outputs,
    new_run_id,
    read_metrics,
    to_dict,
    to_json,
)
from expkit.model import RUN_STATUSES, RunRecord
from expkit.paths import HISTORY_DIRNAME

LOST = "lost"


class History:
    """The run history of the project at ``root``; opens its index on first use."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.store = self.root / HISTORY_DIRNAME
        self._conn = None

    # ------------------------------------------------------------------ plumbing

    @property
    def conn(self):
        if self._conn is None:
            from expkit.history.index import connect

            if not self.store.is_dir():
                self.store.mkdir(parents=True, exist_ok=True)
                # Keep the history out of the user's git repository without editing theirs.
                (self.store / ".gitignore").write_text("*\n", encoding="utf-8")
            self._conn, created = connect(self.store / "index.sqlite")
            if created:
                self._rebuild()
        return self._conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def __enter__(self) -> History:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _empty(self) -> bool:
        """No history yet: reading commands must not create one."""
        return self._conn is None and not self.store.is_dir()

    def run_dir(self, run_id: str) -> Path:
        return self.store / "runs" / run_id

    def scan_cache(self):
        from expkit.history.index import SqliteScanCache

        return SqliteScanCache(self.conn)

    def _transaction(self):
        return _Immediate(self.conn)

    # ------------------------------------------------------------------ writing

    def create(
        self, *, target: str, runconfig: str, script: str, args: Iterable[str] = ()
    ) -> RunRecord:
        """A new run in status ``preparing``, owned by this process, with the next number."""
        me = owners.current()
        run_id = new_run_id()
        with self._transaction() as conn:
            (number,) = conn.execute("SELECT COALESCE(MAX(number), 0) + 1 FROM runs").fetchone()
            record = RunRecord(
                id=run_id,
                number=number,
                status="preparing",
                target=target,
                runconfig=runconfig,
                script=script,
                args=tuple(args),
                started=time.time(),
            )
            conn.execute(
                "INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (run_id, number, record.status, target, to_json(record), me.pid, me.host, me.start),
            )
        self.run_dir(run_id).mkdir(parents=True, exist_ok=True)
        self._write_record(record)
        return record

    def save(self, record: RunRecord) -> RunRecord:
        """Write ``record`` (its folder's record.json first, then its index row)."""
        self._write_record(record)
        self.conn.execute(
            "UPDATE runs SET status = ?, target = ?, record = ? WHERE id = ?",
            (record.status, record.target, to_json(record), record.id),
        )
        return record

    def _write_record(self, record: RunRecord) -> None:
        from expkit.fsutil import atomic_write_json

        folder = self.run_dir(record.id)
        if folder.is_dir():
            atomic_write_json(folder / "record.json", to_dict(record))

    def _rebuild(self) -> None:
        """Refill a fresh index from the run folders (the index was deleted or is new)."""
        runs = self.store / "runs"
        if not runs.is_dir():
            return
        rows = []
        for path in sorted(runs.glob("*/record.json")):
            try:
                record = from_dict(json.loads(path.read_text(encoding="utf-8")))
            except (ValueError, TypeError, KeyError):
                continue
            rows.append((record.id, record.number, record.status, record.target, to_json(record)))
        with self._transaction() as conn:
            conn.executemany(
                "INSERT OR IGNORE INTO runs (id, number, status, target, record) "
                "VALUES (?, ?, ?, ?, ?)",
                rows,
            )

    # ------------------------------------------------------------------ lost runs

    def reap_lost(self) -> list[RunRecord]:
        """Mark active runs whose owning ``exp`` process is gone as failed ("lost")."""
        if self._empty():
            return []
        rows = self.conn.execute(
            "SELECT id, owner_pid, owner_host, owner_start FROM runs WHERE status IN (?, ?)", ACTIVE
        ).fetchall()
        reaped = []
        for run_id, pid, host, start in rows:
            if pid is not None and owners.is_alive(owners.Owner(pid, host or "", start or "")):
                continue
            with self._transaction() as conn:
                row = conn.execute(
                    "SELECT status, record FROM runs WHERE id = ?", (run_id,)
                ).fetchone()
                if row is None or row[0] not in ACTIVE:
                    continue  # finished meanwhile
                record = self._as_lost(from_dict(json.loads(row[1])))
                conn.execute(
                    "UPDATE runs SET status = ?, record = ? WHERE id = ?",
                    (record.status, to_json(record), run_id),
                )
            self._write_record(record)
            reaped.append(record)
        return reaped

    def _as_lost(self, record: RunRecord) -> RunRecord:
        folder = self.run_dir(record.id)
        metrics, series = read_metrics(folder / "metrics.jsonl")
        ended = time.time()
        return dataclasses.replace(
            record,
            status="failed",
            error=LOST,
            ended=ended,
            duration_s=round(ended - record.started, 3) if record.started else None,
            metrics=metrics or record.metrics,
            series=series or record.series,
            outputs=list_outputs(folder / "outputs") or record.outputs,
        )

    def owner_of(self, run_id: str) -> owners.Owner | None:
        row = self.conn.execute(
            "SELECT owner_pid, owner_host, owner_start FROM runs WHERE id = ?", (run_id,)
        ).fetchone()
        if row is None or row[0] is None:
            return None
        return owners.Owner(row[0], row[1] or "", row[2] or "")

    # ------------------------------------------------------------------ reading

    def get(self, ref: str) -> RunRecord:
        """A run by number (``3``), full id, or unique id prefix."""
        ref = str(ref).strip()
        row = None if self._empty() or not ref else self._find(ref)
        if row is None:
            raise UsageError(
                f"no run {ref!r} in the history of {self.root}\n"
                "  give a run number, a run id or a unique id prefix; `exp runs list` shows them."
            )
        return from_dict(json.loads(row[0]))

    def _find(self, ref: str):
        conn = self.conn
        if ref.isdigit():
            row = conn.execute("SELECT record FROM runs WHERE number = ?", (int(ref),)).fetchone()
            # A short all-digit ref is a number, never an id prefix ("2" would match every id).
            if row is not None or len(ref) < 8:
                return row
        row = conn.execute("SELECT record FROM runs WHERE id = ?", (ref,)).fetchone()
        if row is not None:
            return row
        matches = conn.execute(
            "SELECT record FROM runs WHERE substr(id, 1, ?) = ? ORDER BY number DESC",
            (len(ref), ref),
        ).fetchall()
        if len(matches) > 1:
            found = [from_dict(json.loads(m[0])) for m in matches]
            listing = "\n".join(f"    {r.number}  {r.id}" for r in found[:10])
            more = f"\n    ... and {len(found) - 10} more" if len(found) > 10 else ""
            raise UsageError(
                f"run id prefix {ref!r} is ambiguous; it matches:\n{listing}{more}\n"
                "  give more of the id, or the run number."
            )
        return matches[0] if matches else None

    def list(
        self, *, status: str | None = None, target: str | None = None, last: int | None = None
    ) -> list[RunRecord]:
        """Runs, newest first, optionally filtered."""
        if status is not None and status not in RUN_STATUSES:
            raise ConfigError(
                "unknown run status", key="--status", allowed=RUN_STATUSES, got=status
            )
        if last is not None and last < 1:
            raise UsageError(f"--last must be at least 1, got {last}")
        if self._empty():
            return []
        sql, params = "SELECT record FROM runs", []
        where = []
        if status is not None:
            where.append("status = ?")
            params.append(status)
        if target is not None:
            where.append("target = ?")
            params.append(target)
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY number DESC"
        if last is not None:
            sql += f" LIMIT {int(last)}"
        return [from_dict(json.loads(r[0])) for r in self.conn.execute(sql, params)]


class _Immediate:
    """``with`` block around a BEGIN IMMEDIATE transaction (one writer at a time)."""

    def __init__(self, conn) -> None:
        self.conn = conn

    def __enter__(self):
        self.conn.execute("BEGIN IMMEDIATE")
        return self.conn

    def __exit__(self, exc_type, exc, tb) -> None:
        self.conn.execute("COMMIT" if exc_type is None else "ROLLBACK")
