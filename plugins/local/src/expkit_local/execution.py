"""A script running on this machine: live output, exit code, cancel of the whole tree.

The script starts in a new session (its own process group), so the
terminal's Ctrl-C reaches ``exp`` alone and ``exp`` decides what to stop:
``cancel`` signals the whole group — the script and everything it started,
also what left the group (``setsid``, daemons: see expkit_local.tree).
The run ends when the script does: output still arriving is drained for a
bounded time (LINGER, then DRAIN once leftovers were killed), so a process
that escaped with the script's stdout cannot keep ``exp run`` waiting.
stdout and stderr share one pipe so their interleaving is kept, and lines
are handed on as soon as they are complete; progress updates (``\\r``) and
unfinished lines are passed on live too (see expkit.streams).
"""

from __future__ import annotations

import os
import selectors
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Mapping, Sequence

from expkit.runenv import RUN_ID
from expkit.streams import LineSplitter

#: Seconds between SIGTERM and SIGKILL when a run is canceled.
KILL_GRACE = 3.0
#: Seconds the output pipe may stay open after the script exited (held by
#: processes it left behind) before those are stopped too.
LINGER = 1.0
#: Seconds more the pipe is read after those were killed, before the run ends anyway
#: (a process that cannot be signalled may still hold it).
DRAIN = 1.0
_CHUNK = 65536


def exit_status(returncode: int) -> int:
    """Shell convention: a script killed by signal N exits with 128 + N."""
    return 128 - returncode if returncode < 0 else returncode


class LocalExecution:
    """A started script; ``wait`` streams its output and returns its exit code."""

    def __init__(self, argv: Sequence[str], *, cwd: str, env: Mapping[str, str]) -> None:
        self.argv = list(argv)
        # stdin is closed as on every other target: a run is never interactive.
        self._proc = subprocess.Popen(
            self.argv,
            cwd=cwd,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.pid = self._proc.pid
        self.run_id = str(env.get(RUN_ID, ""))
        self.canceled = False
        self._killer: threading.Timer | None = None
        # The group id is the script's pid: it is safe to signal only until the
        # script is reaped (a zombie keeps its pid from being reused).
        self._reaped = False
        # Re-entrant: cancel() may run in a signal handler on the thread holding it.
        self._lock = threading.RLock()

    # ------------------------------------------------------------------ signals

    def _signal_group(self, sig: int) -> None:
        with self._lock:
            if self._reaped:
                return
            try:
                os.killpg(self.pid, sig)
            except (ProcessLookupError, PermissionError):
                pass  # the group is already gone

    def _signal_escaped(self, sig: int) -> set[int]:
        """Signal the run's processes outside its group; returns their pids."""
        from expkit_local.tree import adopt_orphans, run_processes, signal_all

        # Orphans of what is being stopped now come to exp, not init: still found by parent.
        adopt_orphans()
        with self._lock:
            roots = () if self._reaped else (self.pid,)
        pids = run_processes(self.run_id, roots) if self.run_id or roots else set()
        signal_all(pids, sig)
        return pids

    def _stop_everything(self, sig: int) -> None:
        self._signal_group(sig)
        self._signal_escaped(sig)

    def _exited(self, block: bool) -> bool:
        """Has the script exited? Never reaps it (see ``_reaped``)."""
        flags = os.WEXITED | os.WNOWAIT | (0 if block else os.WNOHANG)
        try:
            return os.waitid(os.P_PID, self.pid, flags) is not None
        except ChildProcessError:
            return True

    def cancel(self) -> None:
        """SIGTERM the script's process group now, SIGKILL it after KILL_GRACE.

        Returns at once (it may run inside a signal handler); calling it again
        changes nothing.
        """
        if self.canceled:
            return
        self.canceled = True
        self._stop_everything(signal.SIGTERM)
        self._killer = threading.Timer(KILL_GRACE, self._stop_everything, args=(signal.SIGKILL,))
        self._killer.daemon = True
        self._killer.start()

    @property
    def ended(self) -> bool:
        """True once the script exited and was reaped (its process group is gone)."""
        return self._reaped

    # ------------------------------------------------------------------ output

    def wait(self, on_output: Callable[[str], None]) -> int:
        """Hand the script's output to ``on_output`` as it arrives; return the exit code.

        A negative return code (killed by a signal) is reported as 128 + signal.
        See :class:`LineSplitter` for what each call of ``on_output`` holds.
        """
        pipe = self._proc.stdout
        assert pipe is not None
        fd = pipe.fileno()
        lines = LineSplitter(on_output)
        selector = selectors.DefaultSelector()
        selector.register(fd, selectors.EVENT_READ)
        exited_at: float | None = None
        killed: set[int] | None = None
        try:
            while True:
                # Wake up now and then to notice a script that exited while
                # something it started still holds the pipe open, and to pass
                # on an unfinished line once it waited long enough.
                events = selector.select(timeout=lines.timeout(0.25))
                if events:
                    chunk = os.read(fd, _CHUNK)
                    if not chunk:
                        break
                    lines.feed(chunk)
                else:
                    lines.flush_if_due()
                if exited_at is None:
                    # Also while output keeps coming: an escaped process may never stop.
                    if self._exited(block=False):
                        exited_at = time.monotonic()
                elif killed is None:
                    if time.monotonic() - exited_at > LINGER:
                        # The run is over when the script is; leftovers, in its group
                        # or escaped from it, must not keep it open.
                        self._signal_group(signal.SIGKILL)
                        killed = self._signal_escaped(signal.SIGKILL)
                        killed_at = time.monotonic()
                elif time.monotonic() - killed_at > DRAIN:
                    break  # held by something that cannot be stopped: end the run anyway
        finally:
            selector.close()
            pipe.close()
        lines.close()
        self._exited(block=True)
        # Whatever of the group survived the script (started in the background
        # and detached from the pipe) goes with it.
        self._signal_group(signal.SIGKILL)
        with self._lock:
            code = self._proc.wait()
            self._reaped = True
        if self._killer is not None:
            self._killer.cancel()
        if killed:
            from expkit_local.tree import reap_adopted

            reap_adopted(killed)
            _tell(
                f"the script ended, but {len(killed)} process(es) it started outside its "
                f"process group still held its output after {LINGER:g} s: stopped them."
            )
        return exit_status(code)


def _tell(message: str) -> None:
    import sys

    try:
        sys.stderr.write(f"exp: note: {message}\n")
        sys.stderr.flush()
    except (OSError, ValueError):
        pass
