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

import json
import os
import time
from collections.abc import Iterable
from pathlib import Path

from expkit.errors import ConfigError, UsageError
from expkit.history import owner as owners
from expkit.history.lost import LOST, LostRuns
from expkit.history.records import ACTIVE, dumps, from_dict, new_run_id, to_dict, to_json
from expkit.model import RUN_STATUSES, RunRecord
from expkit.paths import HISTORY_DIRNAME

__all__ = ["LOST", "History"]


class History(LostRuns):
    """The run history of the project at ``root``; opens its index on first use."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.store = self.root / HISTORY_DIRNAME
        self._conn = None
        #: (st_dev, st_ino) of the index file this connection opened.
        self._index_id: tuple[int, int] | None = None

    # ------------------------------------------------------------------ plumbing

    @property
    def conn(self):
        if self._conn is None:
            from expkit.history.index import connect

            if not self.store.is_dir():
                self.store.mkdir(parents=True, exist_ok=True)
                # Keep the history out of the user's git repository without editing theirs.
                (self.store / ".gitignore").write_text("*\n", encoding="utf-8")
            self._conn, created = connect(self._index_path())
            self._index_id = self._current_index_id()
            if created:
                self._rebuild()
        return self._conn

    def _index_path(self) -> Path:
        return self.store / "index.sqlite"

    def _current_index_id(self) -> tuple[int, int] | None:
        try:
            st = os.stat(self._index_path())
        except FileNotFoundError:
            return None
        return st.st_dev, st.st_ino

    def _reopen_if_replaced(self) -> None:
        """Reconnect when the index file was deleted or replaced since it was opened.

        A long run writes its final record well after it started; if the user
        deleted ``index.sqlite`` meanwhile (another ``exp`` then rebuilt it from
        the run folders), writing through the old connection would update a
        file nobody reads any more.
        """
        if self._conn is not None and self._current_index_id() != self._index_id:
            self.close()

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
        folder = self.run_dir(run_id)
        folder.mkdir(parents=True, exist_ok=True)
        owners.save(folder, me)
        self._write_record(record)
        return record

    def save(self, record: RunRecord) -> RunRecord:
        """Write ``record`` (its folder's record.json first, then its index row)."""
        self._write_record(record)
        self._reopen_if_replaced()
        data = to_json(record)
        updated = self.conn.execute(
            "UPDATE runs SET status = ?, target = ?, record = ? WHERE id = ?",
            (record.status, record.target, data, record.id),
        ).rowcount
        if not updated:  # a rebuilt index that missed this run: add it back with its owner
            me = owners.load(self.run_dir(record.id))
            self.conn.execute(
                "INSERT OR IGNORE INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    record.id,
                    record.number,
                    record.status,
                    record.target,
                    data,
                    *((me.pid, me.host, me.start) if me else (None, None, None)),
                ),
            )
        return record

    def _write_record(self, record: RunRecord) -> None:
        from expkit.fsutil import atomic_write_text

        folder = self.run_dir(record.id)
        if folder.is_dir():
            text = dumps(to_dict(record), indent=2, sort_keys=True) + "\n"
            atomic_write_text(folder / "record.json", text)

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
            # Without its owner an active run would look orphaned (see reap_lost).
            me = owners.load(path.parent) if record.status in ACTIVE else None
            owner = (me.pid, me.host, me.start) if me else (None, None, None)
            rows.append(
                (record.id, record.number, record.status, record.target, to_json(record), *owner)
            )
        with self._transaction() as conn:
            conn.executemany("INSERT OR IGNORE INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)

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
