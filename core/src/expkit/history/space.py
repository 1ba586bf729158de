"""A history on a full disk: what still works, and the space kept for a run's last word.

- Each active run keeps a small reserve file in its folder, written when it
  is created and freed for its final ``record.json`` if the disk filled up
  meanwhile, so a run that ends on a full disk still records how it ended
  (its script's exit code, that collecting failed).
- Opening the index needs a little space (SQLite's ``-shm`` file): on a full
  disk it is opened read-only and without locking instead, so ``exp runs
  list`` and ``show`` still read it; writes then fail, and are reported as a
  full disk.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

RESERVE_FILE = ".reserve"
RESERVE_BYTES = 64 * 1024
#: Below this many free bytes an index that fails to open counts as out of space.
_NEARLY_FULL = 1024 * 1024


def reserve(folder: Path) -> None:
    """Set space aside in ``folder`` (best effort: on a full disk there is none to keep)."""
    try:
        with open(folder / RESERVE_FILE, "wb") as handle:
            handle.write(bytes(RESERVE_BYTES))
    except OSError:
        pass


def release(folder: Path) -> bool:
    """Free the space ``folder`` kept; True when there was some."""
    try:
        os.unlink(folder / RESERVE_FILE)
    except OSError:
        return False
    return True


def nearly_full(path: Path) -> bool:
    try:
        st = os.statvfs(path)
    except OSError:
        return False
    return st.f_bavail * st.f_frsize < _NEARLY_FULL


def open_read_only(path: Path) -> sqlite3.Connection:
    """The index as it is on disk, without the ``-shm`` file a normal open needs.

    ``immutable`` skips locking: what other ``exp`` processes wrote to the WAL
    and not yet to the file is not seen, which a full disk makes rare anyway.
    """
    uri = Path(path).absolute().as_uri() + "?immutable=1"
    return sqlite3.connect(uri, uri=True, isolation_level=None)
