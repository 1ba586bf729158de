"""A damaged history: the run folders are the truth, the index is rebuilt from them.

Mixed into expkit.history.History. What can go wrong and what is done:

- the index file is damaged (truncated, scribbled: SQLite says "malformed"
  or "not a database"): it is set aside as ``index.sqlite.damaged-<UTC time>``
  and a new index is rebuilt from every run's ``record.json``, with a note;
- one index row cannot be read: the run is read from its ``record.json``
  (and the row repaired), with a warning; when that is unreadable too, the
  run is skipped with a warning naming it;
- a ``record.json`` cannot be read while rebuilding: skipped with a warning
  naming the file;
- run numbers: ``last-run-number`` beside the index keeps the highest
  number ever handed out, so a run whose folder was lost never has its number
  given to a later run, whatever happened to the index.
"""

from __future__ import annotations

import functools
import json
import os
import sqlite3
import time
from pathlib import Path

from expkit.history import owner as owners
from expkit.history.records import ACTIVE, from_dict, to_json
from expkit.model import RunRecord

#: In ``.exp/``: the highest run number ever handed out, in ASCII digits.
HIGH_WATER_FILE = "last-run-number"
_ROW = "INSERT OR IGNORE INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
_BAD_RECORD = (ValueError, TypeError, KeyError, AttributeError)


def recovering(method):
    """Run ``method``; if the index turns out damaged, set it aside, rebuild it from
    the run folders and run ``method`` once more."""

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except sqlite3.DatabaseError as exc:
            if not self._damaged(exc):
                raise
        try:
            return method(self, *args, **kwargs)
        except sqlite3.DatabaseError as exc:
            from expkit.history.index import is_damaged

            if not is_damaged(exc):
                raise
            from expkit.errors import InfrastructureError

            raise InfrastructureError(
                f"the run index {self._index_path()} is damaged again right after being "
                f"rebuilt ({exc}); check the disk holding {self.store}."
            ) from exc

    return wrapper


def allocate_number(store: Path, highest_indexed: int) -> int:
    """The next run number: above every indexed run and every number ever handed out.

    Called inside the index's write transaction, so allocations never interleave.
    The digits only ever grow, so writing in place never leaves a shorter
    number's tail behind; no fsync: a power cut that loses it loses the run too.
    """
    fd = os.open(store / HIGH_WATER_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        text = os.pread(fd, 32, 0)
        stored = int(text) if text.strip().isdigit() else 0
        number = max(highest_indexed, stored) + 1
        data = str(number).encode("ascii")
        if os.pwrite(fd, data, 0) != len(data):
            raise OSError(f"short write to {store / HIGH_WATER_FILE}")
        if not text.strip().isdigit():
            os.ftruncate(fd, len(data))
    finally:
        os.close(fd)
    return number


class Repair:
    """The damaged-history half of History (see expkit.history.store)."""

    def _warn(self, message: str) -> None:
        self.note(f"warning: {message}")

    def _relative(self, path: Path) -> str:
        try:
            return str(path.relative_to(self.root))
        except ValueError:
            return str(path)

    def _damaged(self, exc: sqlite3.DatabaseError) -> bool:
        """If ``exc`` says the index is damaged, set it aside and rebuild; True when done."""
        from expkit.history.index import is_damaged

        if not is_damaged(exc):
            return False
        self._set_aside(str(exc))
        return True

    def _set_aside(self, why: str) -> None:
        """Move the damaged index away (unless another ``exp`` already did) and rebuild."""
        import fcntl

        opened = self._index_id
        self.close()
        path = self._index_path()
        with open(self.store / "index.lock", "a+b") as lock:
            # One `exp` sets the file aside; the others find a new file and just reopen it.
            fcntl.flock(lock, fcntl.LOCK_EX)
            if opened is not None and self._current_index_id() == opened:
                stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
                aside = path.with_name(f"{path.name}.damaged-{stamp}-{os.getpid()}")
                os.replace(path, aside)
                for suffix in ("-wal", "-shm"):
                    try:
                        os.replace(f"{path}{suffix}", f"{aside}{suffix}")
                    except FileNotFoundError:
                        pass
                self._rebuild_note = (
                    f"the run index {self._relative(path)} was damaged ({why}); set aside as "
                    f"{self._relative(aside)} and rebuilt from {{count}} run record(s)."
                )
            self.conn  # noqa: B018 - opens (and so rebuilds) the new index under the lock

    def _rebuild(self) -> None:
        """Refill a fresh index from the run folders (the index was deleted, damaged or is new)."""
        runs = self.store / "runs"
        rows = []
        for path in sorted(runs.glob("*/record.json")) if runs.is_dir() else ():
            try:
                record = from_dict(json.loads(path.read_text(encoding="utf-8")))
                if record.id != path.parent.name or not isinstance(record.number, int):
                    raise ValueError("its id or number does not match its folder")
            except (OSError, UnicodeDecodeError, *_BAD_RECORD) as exc:
                self._warn(f"{self._relative(path)} is unreadable ({exc}); that run is skipped.")
                continue
            # Without its owner an active run would look orphaned (see reap_lost).
            me = owners.load(path.parent) if record.status in ACTIVE else None
            owner = (me.pid, me.host, me.start) if me else (None, None, None)
            rows.append(
                (record.id, record.number, record.status, record.target, to_json(record), *owner)
            )
        with self._transaction() as conn:
            conn.executemany(_ROW, rows)
        note = getattr(self, "_rebuild_note", None)
        if note:
            self._rebuild_note = None  # type: ignore[assignment]
            self.note(note.format(count=len(rows)))

    def _from_row(self, run_id: str, text: str) -> RunRecord | None:
        """The record of an index row; from its record.json when the row is unreadable."""
        try:
            return from_dict(json.loads(text))
        except _BAD_RECORD as exc:
            problem = exc
        path = self.run_dir(run_id) / "record.json"
        try:
            record = from_dict(json.loads(path.read_text(encoding="utf-8")))
            if record.id != run_id:
                raise ValueError(f"it holds run {record.id!r}")
        except (OSError, UnicodeDecodeError, *_BAD_RECORD) as exc:
            self._warn(
                f"run {run_id} skipped: its index row is unreadable ({problem}) "
                f"and so is {self._relative(path)} ({exc})."
            )
            return None
        self._warn(
            f"run {run_id}: its index row is unreadable ({problem}); "
            f"read from {self._relative(path)} and repaired."
        )
        try:
            self.conn.execute("UPDATE runs SET record = ? WHERE id = ?", (to_json(record), run_id))
        except sqlite3.Error:
            pass  # read-only or full disk: the row is read from record.json again next time
        return record
