"""Which ``exp`` process owns an active run, and whether it is still alive.

A run in ``preparing`` or ``running`` whose owner died (SIGKILL, a crash, a
reboot) would otherwise show as running forever. The owner is recorded as
(pid, host, process start time); the start time guards against the pid
having been reused by an unrelated process since.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Owner:
    pid: int
    host: str
    #: Kernel start time of the process (clock ticks since boot), "" where unknown.
    start: str = ""


def _stat_fields(pid: int) -> list[str] | None:
    """Fields of /proc/<pid>/stat after the command name, or None without /proc."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            data = handle.read().decode("ascii", "replace")
    except (FileNotFoundError, ProcessLookupError):
        return []
    except OSError:
        return None
    # The command name is parenthesised and may itself contain spaces or ')'.
    return data[data.rfind(")") + 2 :].split()


def _host() -> str:
    return os.uname().nodename


def process_start(pid: int) -> str:
    fields = _stat_fields(pid)
    return fields[19] if fields and len(fields) > 19 else ""


def current() -> Owner:
    pid = os.getpid()
    return Owner(pid=pid, host=_host(), start=process_start(pid))


#: The owner of a run, kept in its folder beside record.json so that a rebuilt
#: index still knows it (record.json holds only the public record fields).
OWNER_FILE = "owner.json"


def save(folder: Path, owner: Owner) -> None:
    from expkit.fsutil import atomic_write_text

    data = {"pid": owner.pid, "host": owner.host, "start": owner.start}
    # Not fsynced: after a power cut the owner is dead anyway.
    atomic_write_text(folder / OWNER_FILE, json.dumps(data), durable=False)


def load(folder: Path) -> Owner | None:
    """The owner saved in a run folder, or None when there is none (or it is unreadable)."""
    try:
        data = json.loads((folder / OWNER_FILE).read_text(encoding="utf-8"))
        return Owner(int(data["pid"]), str(data["host"]), str(data.get("start") or ""))
    except (OSError, ValueError, TypeError, KeyError):
        return None


def is_alive(owner: Owner) -> bool:
    """False only when the owner is certainly gone; another host's process counts as alive."""
    if owner.host != _host():
        return True
    try:
        os.kill(owner.pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, owned by someone else
    fields = _stat_fields(owner.pid)
    if fields is None:  # no /proc: the pid exists, trust it
        return True
    if not fields:
        return False
    if fields[0] in ("Z", "X"):  # killed, waiting to be reaped: it will never finish the run
        return False
    return not owner.start or len(fields) <= 19 or fields[19] == owner.start
