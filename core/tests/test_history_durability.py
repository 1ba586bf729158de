"""The index under contention and damage, at the level of expkit.history.index.

The end-to-end versions (through ``exp``) are in tests/local/; these pin the
exact moments that are too rare to hit on purpose from outside.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest
from expkit.history import History
from expkit.history import index as index_module
from expkit.history.repair import HIGH_WATER_FILE


class _ReaderAtSwitch:
    """Another `exp` reading the new index exactly when its creator switches it to WAL.

    SQLite answers that switch with "database is locked" at once (no busy wait),
    or silently keeps the rollback journal: both happened under load.
    """

    def __init__(self, path: Path, hold_s: float = 0.3) -> None:
        self.path, self.hold_s, self.fired = path, hold_s, False
        self.reader: sqlite3.Connection | None = None

    def __call__(self, statement: str) -> None:
        if self.fired or "journal_mode=WAL" not in statement:
            return
        self.fired = True
        self.reader = sqlite3.connect(
            str(self.path), isolation_level=None, timeout=0, check_same_thread=False
        )
        self.reader.execute("BEGIN")
        self.reader.execute("SELECT count(*) FROM sqlite_master").fetchone()  # a SHARED lock
        threading.Timer(self.hold_s, self.reader.execute, args=("COMMIT",)).start()


def test_open_waits_out_a_reader_holding_the_file_while_it_is_created(tmp_path, monkeypatch):
    path = tmp_path / "index.sqlite"
    trigger = _ReaderAtSwitch(path)
    real_connect = sqlite3.connect

    def traced(*args, **kwargs):
        conn = real_connect(*args, **kwargs)
        conn.set_trace_callback(trigger)
        return conn

    monkeypatch.setattr(index_module.sqlite3, "connect", traced)
    conn, created = index_module.connect(path)
    assert trigger.fired and created
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()
    trigger.reader.close()


def test_open_still_fails_on_what_is_not_contention(tmp_path):
    path = tmp_path / "index.sqlite"
    path.write_bytes(b"x" * 4096)
    with pytest.raises(sqlite3.DatabaseError) as caught:
        index_module.connect(path)
    assert index_module.is_damaged(caught.value)


def test_numbers_continue_above_the_high_water_mark(tmp_path):
    with History(tmp_path) as history:
        first = history.create(target="local", runconfig="local", script="a.py")
        assert (history.store / HIGH_WATER_FILE).read_text() == "1"
        (history.store / HIGH_WATER_FILE).write_text("41")
        assert history.create(target="local", runconfig="local", script="a.py").number == 42
        (history.store / HIGH_WATER_FILE).write_text("garbage")
        assert history.create(target="local", runconfig="local", script="a.py").number == 43
        assert (history.store / HIGH_WATER_FILE).read_text() == "43"
        assert first.number == 1


def test_damaged_index_found_mid_session_is_rebuilt_once(tmp_path):
    notes: list[str] = []
    with History(tmp_path, note=notes.append) as history:
        run = history.create(target="local", runconfig="local", script="a.py")
        history.close()
        with open(history.store / "index.sqlite", "r+b") as handle:
            handle.write(b"scribbled" * 20)
        assert [r.id for r in history.list()] == [run.id]
        assert history.get("1").id == run.id
    assert len([n for n in notes if "damaged" in n]) == 1
    assert len(list((tmp_path / ".exp").glob("index.sqlite.damaged-*"))) == 1
