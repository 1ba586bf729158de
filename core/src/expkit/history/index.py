"""The SQLite index of a project's history (``.exp/index.sqlite``).

One row per run (the full record as JSON plus the columns lookups filter on
and the owning process), and the snapshot scan cache. WAL mode and a busy
timeout let several ``exp`` processes read and write at once; writers that
must not interleave (allocating a run number, reaping a lost run) use
``BEGIN IMMEDIATE`` transactions.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Iterable
from pathlib import Path

SCHEMA_VERSION = 1
BUSY_TIMEOUT_S = 30.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY,
    number INTEGER NOT NULL UNIQUE,
    status TEXT NOT NULL,
    target TEXT NOT NULL,
    record TEXT NOT NULL,
    owner_pid INTEGER,
    owner_host TEXT,
    owner_start TEXT
);
CREATE INDEX IF NOT EXISTS runs_status ON runs(status);
CREATE TABLE IF NOT EXISTS scancache (
    path TEXT PRIMARY KEY,
    rules TEXT NOT NULL,
    kind TEXT NOT NULL,
    ignored INTEGER NOT NULL,
    size INTEGER,
    mtime_ns INTEGER,
    ino INTEGER,
    sha TEXT
);
"""


def connect(path: Path) -> tuple[sqlite3.Connection, bool]:
    """Open (creating if needed) the index; returns the connection and whether it was new.

    Another ``exp`` opening, creating or checkpointing the same index at the
    same moment can make SQLite answer "database is locked" without waiting
    for its busy timeout (changing the journal mode, WAL recovery): such an
    open is retried for up to BUSY_TIMEOUT_S, never failed.
    """
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    delay = 0.005
    while True:
        conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_S, isolation_level=None)
        try:
            return conn, _prepare(conn, path)
        except sqlite3.OperationalError as exc:
            conn.close()
            if time.monotonic() > deadline or not (isinstance(exc, _NotYetWal) or is_busy(exc)):
                raise
        except BaseException:
            conn.close()
            raise
        # Random, growing waits: 30 processes started together must not retry in step.
        # (os.urandom, not random: its import is a measurable part of every run.)
        time.sleep(delay * (0.5 + int.from_bytes(os.urandom(2), "big") / 65536))
        delay = min(delay * 2, 0.2)


class _NotYetWal(sqlite3.OperationalError):
    """Switching to WAL needs the file to itself; SQLite keeps the old mode, silently,
    while another connection reads it."""


def _wal(conn: sqlite3.Connection) -> bool:
    (mode,) = conn.execute("PRAGMA journal_mode=WAL").fetchone()
    return str(mode).lower() == "wal"


def _prepare(conn: sqlite3.Connection, path: Path) -> bool:
    """Check the schema version, creating the schema in a new file; True when created."""
    # NORMAL is durable in WAL mode except for the last commits before a power cut.
    conn.execute("PRAGMA synchronous=NORMAL")
    (version,) = conn.execute("PRAGMA user_version").fetchone()
    if version == SCHEMA_VERSION:
        return False
    if version > SCHEMA_VERSION:
        from expkit.errors import InfrastructureError

        raise InfrastructureError(
            f"{path} was written by a newer expkit (schema {version}); upgrade expkit to read it."
        )
    # Persistent, and set before the schema: whoever sees the schema sees WAL mode, where
    # readers never block the writer. (Left in rollback mode, as an index created while
    # another `exp` read it once was, concurrent runs can fail with "database is locked".)
    if not _wal(conn):
        raise _NotYetWal("the index is not in WAL mode yet")
    conn.execute("BEGIN IMMEDIATE")
    try:
        (version,) = conn.execute("PRAGMA user_version").fetchone()
        created = version != SCHEMA_VERSION
        if created:
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    conn.execute(statement)
            conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return created


# SQLite's primary result codes (sqlite3.h) for the errors the history handles.
_BUSY, _LOCKED, _CORRUPT, _FULL, _NOTADB = 5, 6, 11, 13, 26


def _code(exc: sqlite3.Error) -> int | None:
    code = getattr(exc, "sqlite_errorcode", None)  # Python >= 3.11
    return None if code is None else code & 0xFF


def is_busy(exc: sqlite3.Error) -> bool:
    code = _code(exc)
    if code is not None:
        return code in (_BUSY, _LOCKED)
    return "locked" in str(exc) or "busy" in str(exc)


def is_damaged(exc: sqlite3.Error) -> bool:
    """Is ``exc`` SQLite saying the index file is not (any more) a sound database?"""
    if not isinstance(exc, sqlite3.DatabaseError):
        return False
    code = _code(exc)
    if code is not None:
        return code in (_CORRUPT, _NOTADB)
    text = str(exc)
    return "malformed" in text or "not a database" in text


def is_full(exc: sqlite3.Error) -> bool:
    code = _code(exc)
    if code is not None:
        return code == _FULL
    return "disk is full" in str(exc)


def _key(path: str) -> str | bytes:
    """A scan-cache path as SQLite can store it.

    A file name that is not valid UTF-8 reaches Python as a str with lone
    surrogates (PEP 383), which sqlite3 refuses to encode: it is stored as
    the name's exact bytes (a BLOB) instead. A BLOB never equals a TEXT
    value, and only names that cannot be TEXT become BLOBs, so keys stay unique.
    """
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return os.fsencode(path)
    return path


def _path(key: str | bytes) -> str:
    return os.fsdecode(key) if isinstance(key, bytes) else key


class SqliteScanCache:
    """expkit.snapshot.walk.ScanCache stored in the index (one read, one write transaction)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def load(self) -> dict[str, tuple]:
        rows = self.conn.execute(
            "SELECT path, rules, kind, ignored, size, mtime_ns, ino, sha FROM scancache"
        )
        return {_path(row[0]): tuple(row[1:]) for row in rows}

    def save(self, changed: dict[str, tuple], removed: Iterable[str]) -> None:
        conn = self.conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.executemany("DELETE FROM scancache WHERE path = ?", [(_key(p),) for p in removed])
            conn.executemany(
                "INSERT OR REPLACE INTO scancache VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [(_key(path), *row) for path, row in changed.items()],
            )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
