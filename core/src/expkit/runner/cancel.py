"""``exp runs cancel``: stopping a run from another terminal.

An active run is stopped by its own ``exp`` process (SIGTERM makes it cancel
the execution, collect what exists and record ``canceled``). A lost run has
no such process any more: its target's plugin stops what it left running
(expkit.runner.orphans) and it stays failed ("lost").
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable

from expkit.errors import UsageError
from expkit.history import ACTIVE, LOST
from expkit.history.owner import is_alive
from expkit.runner.orphans import Cleanup, clean_up, describe, stop_orphan


def reap(history, note: Callable[[str], None], quiet: tuple[str, ...] = ()) -> list[Cleanup]:
    """Mark runs whose ``exp`` died as lost and stop what they left (see clean_up)."""
    lost = history.reap_lost()
    return clean_up(history, lost, note, quiet=quiet) if lost else []


def cancel(
    history, ref: str, *, wait: float, poll: float, note: Callable[[str], None]
) -> tuple[str, bool]:
    """Cancel run ``ref``; returns (what happened, whether it is a remark for stderr).

    Raises UsageError when the run belongs to another host or does not stop in time.
    """
    record = history.get(ref)
    quiet = (record.id,)  # this run's fate is told by the return value
    reaped = {c.record.id: c for c in reap(history, note, quiet)}
    record = history.get(record.id)
    from expkit.runner import detached

    if record.status in ACTIVE and detached.is_detached(history.run_dir(record.id)):
        if detached.unowned(history, record):  # no exp follows it: stop it on its target
            record = detached.cancel(history, record)
            return f"run {record.number} {record.status} on its target.", False
    owner = history.owner_of(record.id) if record.status in ACTIVE else None
    if record.status in ACTIVE and owner is None:
        # No owner was ever recorded (an index rebuilt by an older expkit):
        # nobody can be asked to stop it, so it is stopped as a lost run.
        record = history.mark_lost(record.id) or history.get(record.id)
    if record.status not in ACTIVE:
        if record.error == LOST:
            cleanup = reaped.get(record.id) or stop_orphan(history, record)
            return describe(cleanup), False
        return f"run {record.number} is not active: it {record.status}.", True
    assert owner is not None  # an active run without one was marked lost above
    if owner.host != os.uname().nodename:
        raise UsageError(
            f"run {record.number} is run by `exp` on host {owner.host!r} (pid {owner.pid}); "
            "cancel it there."
        )
    if is_alive(owner):
        try:
            os.kill(owner.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + wait
    while record.status in ACTIVE and time.monotonic() < deadline:
        time.sleep(poll)
        reaped.update({c.record.id: c for c in reap(history, note, quiet)})
        record = history.get(record.id)
    if record.id in reaped:  # its exp died before it could record the cancel
        return describe(reaped[record.id]), False
    if record.status in ACTIVE:
        raise UsageError(
            f"run {record.number} did not stop within {wait:g} s; it is still {record.status}."
        )
    return f"run {record.number} {record.status}.", False
