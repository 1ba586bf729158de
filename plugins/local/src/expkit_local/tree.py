"""Every process of a local run, also those that left its process group.

A script's children can leave its process group (``setsid``, a daemon's
double fork), so signalling the group misses them. They are found by what
they cannot lose by accident: the run's ``EXPKIT_RUN_ID`` in their
environment (inherited by every descendant), plus anything descending from a
given root by parent pid, which catches one that rewrote its environment as
long as its parent chain holds. Orphans whose parent died are adopted by
``exp`` once it is a child subreaper (:func:`adopt_orphans`), which keeps
that chain whole while ``exp`` stops the run.

Scanning ``/proc`` costs milliseconds: it is done when a run is canceled,
when its output pipe outlives the script, and for a lost run, never on the
way of a run that ends by itself.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterable

from expkit.runenv import RUN_ID

_PR_SET_CHILD_SUBREAPER = 36
_POLL_S = 0.02


def adopt_orphans() -> bool:
    """Make this process the parent of its descendants' orphans (Linux >= 3.4)."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _state_and_parent(pid: int) -> tuple[str, int] | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            data = handle.read().decode("ascii", "replace")
    except OSError:
        return None
    fields = data[data.rfind(")") + 2 :].split()
    return (fields[0], int(fields[1])) if len(fields) > 1 else None


def _carries(pid: int, marker: bytes) -> bool:
    try:
        with open(f"/proc/{pid}/environ", "rb") as handle:
            return marker in handle.read().split(b"\0")
    except OSError:
        return False


def run_processes(run_id: str, roots: Iterable[int] = ()) -> set[int]:
    """Live processes of run ``run_id``: carrying its id, or descending from ``roots``."""
    marker = f"{RUN_ID}={run_id}".encode()
    children: dict[int, list[int]] = {}
    found: set[int] = set()
    me = os.getpid()
    try:
        names = os.listdir("/proc")
    except OSError:
        return set()
    for name in names:
        if not name.isdigit() or int(name) == me:
            continue
        pid = int(name)
        info = _state_and_parent(pid)
        if info is None or info[0] in ("Z", "X"):
            continue
        children.setdefault(info[1], []).append(pid)
        if run_id and _carries(pid, marker):
            found.add(pid)
    stack = [*found, *roots]
    while stack:
        for child in children.get(stack.pop(), ()):
            if child not in found:
                found.add(child)
                stack.append(child)
    found.discard(me)
    return found


def signal_all(pids: Iterable[int], sig: int) -> None:
    for pid in pids:
        try:
            os.kill(pid, sig)
        except (ProcessLookupError, PermissionError):
            pass


def reap_adopted(pids: Iterable[int]) -> None:
    """Collect the exit status of those that were adopted by this process (no zombies)."""
    for pid in pids:
        try:
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass


def stop_run_processes(run_id: str, grace: float, roots: Iterable[int] = ()) -> bool:
    """SIGTERM every process of the run, SIGKILL what is left after ``grace`` seconds.

    True when there was something to stop.
    """
    roots = tuple(roots)
    pids = run_processes(run_id, roots)
    if not pids:
        return False
    signal_all(pids, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        reap_adopted(pids)
        pids = run_processes(run_id, roots)
        if not pids:
            return True
        time.sleep(_POLL_S)
    signal_all(pids, signal.SIGKILL)
    time.sleep(_POLL_S)
    reap_adopted(pids)
    return True
