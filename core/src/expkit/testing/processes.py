"""Watching real processes: did cancel, or the clean-up of an orphaned run, stop them?

A target that starts processes on this machine must stop the whole tree a
script started. These helpers let a test check that by pid, polling instead of
sleeping a fixed time.
"""

from __future__ import annotations

import os
import time

_PROC = "/proc"


def process_alive(pid: int) -> bool:
    """True while ``pid`` exists and has not exited.

    A zombie (exited, not yet reaped by its parent) counts as gone. Where there
    is no ``/proc`` (macOS) a zombie cannot be told apart and counts as alive.
    """
    if not os.path.isdir(_PROC):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:  # exists, owned by someone else
            return True
        return True
    try:
        with open(f"{_PROC}/{pid}/stat", "rb") as handle:
            stat = handle.read()
    except (FileNotFoundError, ProcessLookupError):
        return False
    # The command name (in parentheses) may hold spaces and ")": the state follows the last ")".
    state = stat.rsplit(b")", 1)[1].split()[0]
    return state not in (b"Z", b"X")


def wait_gone(*pids: int, timeout: float = 10.0) -> bool:
    """Poll until none of ``pids`` is alive: True, or False when ``timeout`` seconds pass first.

    Use as ``assert wait_gone(pid), "the script survived cancel()"``.
    """
    deadline = time.monotonic() + timeout
    while True:
        if not any(process_alive(pid) for pid in pids):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.02)


__all__ = ["process_alive", "wait_gone"]
