"""A project's run history: ``.exp/`` at the project root.

Layout::

    .exp/index.sqlite           one row per run + the snapshot scan cache (history.index)
    .exp/runs/<run_id>/         record.json, log.txt, metrics.jsonl, outputs/
    .exp/objects/, snapshots/   code snapshots (expkit.snapshot)

The index is what lookups read; each run's ``record.json`` mirrors its row
(written atomically first) so a run folder is self-describing, and a lost
index is rebuilt from them (a damaged one too: expkit.history.repair).
"""

from __future__ import annotations

import os
import sqlite3
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from expkit.errors import ConfigError, DiskFullError, UsageError, is_disk_full
from expkit.history import owner as owners
from expkit.history import space
from expkit.history.lost import LOST, LostRuns
from expkit.history.records import ACTIVE, dumps, new_run_id, to_dict, to_json
from expkit.history.repair import Repair, allocate_number, recovering
from expkit.model import RUN_STATUSES, RunRecord
from expkit.paths import HISTORY_DIRNAME

__all__ = ["LOST", "History"]


def _stderr_note(message: str) -> None:
    print(f"exp: note: {message}", file=sys.stderr, flush=True)


class History(LostRuns, Repair):
    """The run history of the project at ``root``; opens its index on first use.

    ``note`` receives remarks for the user (a rebuilt index, a skipped record);
    the default prints them on stderr.
    """

    def __init__(self, root: Path, note: Callable[[str], None] | None = None) -> None:
        self.root = Path(root)
        self.note = note or _stderr_note
        self.store = self.root / HISTORY_DIRNAME
        self._conn = None
        #: (st_dev, st_ino) of the index file this connection opened.
        self._index_id: tuple[int, int] | None = None
        #: Why the index is open read-only (a full disk: expkit.history.space), else None.
        self.read_only: str | None = None

    # ------------------------------------------------------------------ plumbing

    @property
    def conn(self):
        if self._conn is None:
            from expkit.history.index import connect

            if not self.store.is_dir():
                self.store.mkdir(parents=True, exist_ok=True)
                # Keep the history out of the user's git repository without editing theirs.
                (self.store / ".gitignore").write_text("*\n", encoding="utf-8")
            self._index_id = self._current_index_id()
            try:
                self._conn, created = connect(self._index_path())
            except sqlite3.DatabaseError as exc:
                if self._damaged(exc):  # set aside and reopened: self._conn is new
                    return self._conn
                if not (isinstance(exc, sqlite3.OperationalError) and self._index_readable()):
                    raise
                self.read_only = str(exc)
                self._conn = space.open_read_only(self._index_path())
                return self._conn
            self._index_id = self._current_index_id()
            if created:
                self._rebuild()
        return self._conn

    def _index_readable(self) -> bool:
        """Can an index that failed to open for writing (a full disk) still be read?"""
        return self._index_path().is_file() and space.nearly_full(self.store)

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
        return _ScanCache(self)

    def _transaction(self):
        return _Immediate(self.conn)

    # ------------------------------------------------------------------ writing

    @recovering
    def create(
        self, *, target: str, runconfig: str, script: str, args: Iterable[str] = ()
    ) -> RunRecord:
        """A new run in status ``preparing``, owned by this process, with the next number.

        Raises DiskFullError, leaving no trace of the run, when the disk is full.
        """
        run_id = new_run_id()
        try:
            return self._create(run_id, target, runconfig, script, tuple(args))
        except (OSError, sqlite3.OperationalError) as exc:
            if not (is_disk_full(exc) or self.read_only or space.nearly_full(self.store)):
                raise
            self._forget_run(run_id)
            cause = exc if is_disk_full(exc) else None  # not "attempt to write a readonly db"
            raise DiskFullError("cannot start the run", self.store, cause) from None

    def _create(self, run_id, target, runconfig, script, args) -> RunRecord:
        me = owners.current()
        with self._transaction() as conn:
            (highest,) = conn.execute("SELECT COALESCE(MAX(number), 0) FROM runs").fetchone()
            number = allocate_number(self.store, highest)
            record = RunRecord(
                id=run_id,
                number=number,
                status="preparing",
                target=target,
                runconfig=runconfig,
                script=script,
                args=args,
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
        space.reserve(folder)
        return record

    def _forget_run(self, run_id: str) -> None:
        """Undo a run that could not be created whole (best effort: the disk is full)."""
        import shutil

        try:
            self.conn.execute("DELETE FROM runs WHERE id = ?", (run_id,))
        except sqlite3.Error:
            pass
        shutil.rmtree(self.run_dir(run_id), ignore_errors=True)

    @recovering
    def save(self, record: RunRecord) -> RunRecord:
        """Write ``record`` (its folder's record.json first, then its index row).

        On a full disk the record.json still gets written (the run's reserve is
        freed for it); an index row that cannot be updated is then left to the
        next ``exp``, which reads the ended run from record.json (lost.py).
        """
        self._write_record(record)
        self._reopen_if_replaced()
        try:
            self._save_row(record)
        except sqlite3.OperationalError as exc:
            if not (is_disk_full(exc) or self.read_only or space.nearly_full(self.store)):
                raise
            self.note(
                f"warning: the run index was not updated for run {record.number} (no space "
                "left); its record.json holds it, and the next `exp` reads it from there."
            )
        return record

    def _save_row(self, record: RunRecord) -> None:
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

    def _write_record(self, record: RunRecord) -> None:
        from expkit.fsutil import atomic_write_text

        folder = self.run_dir(record.id)
        if not folder.is_dir():
            return
        text = dumps(to_dict(record), indent=2, sort_keys=True) + "\n"
        try:
            atomic_write_text(folder / "record.json", text)
        except OSError as exc:
            if not (is_disk_full(exc) and space.release(folder)):
                raise
            atomic_write_text(folder / "record.json", text)
        if record.status not in ACTIVE:
            space.release(folder)

    # ------------------------------------------------------------------ reading

    @recovering
    def get(self, ref: str) -> RunRecord:
        """A run by number (``3``), full id, or unique id prefix."""
        ref = str(ref).strip()
        row = None if self._empty() or not ref else self._find(ref)
        record = None if row is None else self._from_row(*row)
        if record is None:
            unreadable = "" if row is None else f" (run {row[0]}'s record is unreadable)"
            raise UsageError(
                f"no run {ref!r} in the history of {self.root}{unreadable}\n"
                "  give a run number, a run id or a unique id prefix; `exp runs list` shows them."
            )
        return record

    def _find(self, ref: str):
        """The (id, record) row ``ref`` names, or None."""
        conn = self.conn
        if ref.isdigit():
            row = conn.execute(
                "SELECT id, record FROM runs WHERE number = ?", (int(ref),)
            ).fetchone()
            # A short all-digit ref is a number, never an id prefix ("2" would match every id).
            if row is not None or len(ref) < 8:
                return row
        row = conn.execute("SELECT id, record FROM runs WHERE id = ?", (ref,)).fetchone()
        if row is not None:
            return row
        matches = conn.execute(
            "SELECT id, record, number FROM runs WHERE substr(id, 1, ?) = ? ORDER BY number DESC",
            (len(ref), ref),
        ).fetchall()
        if len(matches) > 1:
            found = [r for r in (self._from_row(m[0], m[1]) for m in matches) if r is not None]
            listing = "\n".join(f"    {r.number}  {r.id}" for r in found[:10])
            more = f"\n    ... and {len(found) - 10} more" if len(found) > 10 else ""
            raise UsageError(
                f"run id prefix {ref!r} is ambiguous; it matches:\n{listing}{more}\n"
                "  give more of the id, or the run number."
            )
        return matches[0][:2] if matches else None

    @recovering
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
        sql, params = "SELECT id, record FROM runs", []
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
        rows = self.conn.execute(sql, params).fetchall()
        return [r for r in (self._from_row(*row) for row in rows) if r is not None]


class _Immediate:
    """``with`` block around a BEGIN IMMEDIATE transaction (one writer at a time)."""

    def __init__(self, conn) -> None:
        self.conn = conn

    def __enter__(self):
        self.conn.execute("BEGIN IMMEDIATE")
        return self.conn

    def __exit__(self, exc_type, exc, tb) -> None:
        self.conn.execute("COMMIT" if exc_type is None else "ROLLBACK")


class _ScanCache:
    """The snapshot scan cache in the index (expkit.history.index.SqliteScanCache), read
    through History so that a damaged index is rebuilt; being a cache, a full disk only
    skips saving it."""

    def __init__(self, history: History) -> None:
        self.history = history

    @property
    def _cache(self):
        from expkit.history.index import SqliteScanCache

        return SqliteScanCache(self.history.conn)

    def load(self) -> dict[str, tuple]:
        return recovering(lambda history: self._cache.load())(self.history)

    def save(self, changed: dict[str, tuple], removed: Iterable[str]) -> None:
        from expkit.history.index import is_full

        removed = list(removed)
        try:
            recovering(lambda history: self._cache.save(changed, removed))(self.history)
        except sqlite3.OperationalError as exc:
            if not is_full(exc):
                raise
