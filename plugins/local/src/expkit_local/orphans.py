"""Finding and stopping a local run's script after its ``exp`` process died.

The script runs in its own session, so it outlives a SIGKILLed ``exp``. At
submit, :func:`remember` writes what identifies its process group into the
run's folder: the group id (the script's pid), the script's kernel start time
and the boot id. :func:`stop` later signals that group only while it is
provably the same one:

- the leader still exists with the recorded start time (same boot): it is
  the script, whatever its pid;
- the leader is gone but processes of the group remain: Linux does not hand
  out a pid that is still in use as a process-group id, so a group with that
  id can only be the script's leftovers.

A pid reused by an unrelated process has another start time, and after a
reboot the boot id differs: in both cases nothing is signalled. Processes
that left the group (``setsid``, daemons) are found by the run id in their
environment (expkit_local.tree) and stopped too.
"""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

#: In the run's folder; removed when the run ends normally.
PROCESS_FILE = "local-process.json"
_POLL_S = 0.02


def _boot_id() -> str:
    try:
        with open("/proc/sys/kernel/random/boot_id", encoding="ascii") as handle:
            return handle.read().strip()
    except OSError:
        return ""


def _stat(pid: int) -> list[str] | None:
    """Fields of /proc/<pid>/stat after the command name; None when there is no such process."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            data = handle.read().decode("ascii", "replace")
    except OSError:
        return None
    return data[data.rfind(")") + 2 :].split()


def _start_time(fields: list[str] | None) -> str:
    # Field 22 of stat (starttime); index 19 once pid and comm are cut off.
    return fields[19] if fields and len(fields) > 19 else ""


def remember(run_dir: Path, pid: int) -> None:
    """Record the process group of the script started as ``pid`` (its group leader)."""
    from expkit.fsutil import atomic_write_text

    data = {"pgid": pid, "start": _start_time(_stat(pid)), "boot": _boot_id()}
    # Atomic (whole or absent) but not fsynced: a power cut ends the script too.
    atomic_write_text(run_dir / PROCESS_FILE, json.dumps(data), durable=False)


def forget(run_dir: Path) -> None:
    try:
        (run_dir / PROCESS_FILE).unlink()
    except OSError:
        pass


def _recorded(run_dir: Path) -> tuple[int, str, str] | None:
    try:
        data = json.loads((run_dir / PROCESS_FILE).read_text(encoding="utf-8"))
        pgid, start, boot = int(data["pgid"]), str(data["start"]), str(data["boot"])
    except (OSError, ValueError, TypeError, KeyError):
        return None
    return (pgid, start, boot) if pgid > 1 else None


def _group_exists(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _live_members(pgid: int) -> bool:
    """Does the group still have a process that is not a zombie?

    Zombies count for kill(0) until their parent reaps them, which an init
    that does not reap (some containers) never does: they are dead already.
    """
    try:
        names = os.listdir("/proc")
    except OSError:
        return _group_exists(pgid)
    for name in names:
        if not name.isdigit():
            continue
        fields = _stat(int(name))
        # fields[0] is the state, fields[2] the process group.
        if fields and len(fields) > 2 and fields[2] == str(pgid) and fields[0] not in ("Z", "X"):
            return True
    return False


def _is_the_runs_group(pgid: int, start: str, boot: str) -> bool:
    if not boot or boot != _boot_id():
        return False
    leader = _stat(pgid)
    if leader is not None:
        return bool(start) and _start_time(leader) == start
    return _group_exists(pgid)


def stop(run_dir: Path, grace: float, run_id: str = "") -> bool:
    """SIGTERM the run's process group and the processes that left it (found by the
    run's id, expkit_local.tree), SIGKILL what is left after ``grace`` seconds.

    True when something of the run was still there and was signalled, False
    when nothing was left (or the group cannot be identified for certain).
    """
    from expkit_local.tree import stop_run_processes

    group = _stop_group(run_dir, grace)
    escaped = bool(run_id) and stop_run_processes(run_id, grace)
    return group or escaped


def _stop_group(run_dir: Path, grace: float) -> bool:
    recorded = _recorded(run_dir)
    if recorded is None:
        return False
    pgid, start, boot = recorded
    if not _is_the_runs_group(pgid, start, boot) or not _live_members(pgid):
        return False
    try:
        os.killpg(pgid, signal.SIGTERM)
    except ProcessLookupError:
        return False
    except PermissionError:
        return False
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if not _live_members(pgid):
            return True
        time.sleep(_POLL_S)
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    return True
