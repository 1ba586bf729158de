"""Cancel signals during a run: Ctrl-C (SIGINT), SIGTERM (``exp runs cancel``), SIGHUP.

Before the script is started there is nothing to cancel: a signal raises
:class:`Interrupted`, which the lifecycle turns into a ``canceled`` record.
Once the plugin returned an Execution, a signal calls ``execution.cancel()``
(which stops the script's whole process tree) and ``wait`` returns; the run is
then collected and recorded as ``canceled``. A third signal gives up even on
collecting (the run is then reported as lost by the next ``exp runs``).
"""

from __future__ import annotations

import signal
import threading
from typing import Any

CANCEL_SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)
)


class Interrupted(KeyboardInterrupt):
    """A cancel signal arrived while there was no execution to cancel (or a third one).

    A KeyboardInterrupt, so that wherever it escapes the CLI reports
    "interrupted" and exits with 130 instead of printing a traceback.
    """


class CancelSignals:
    """Context manager installing the handlers (main thread only; elsewhere a no-op)."""

    def __init__(self) -> None:
        self.received: list[int] = []
        self.execution = None
        #: True while abandoning the current step is safe (snapshot, prepare); see arm().
        self.raising = False
        self._previous: dict[int, Any] = {}  # what signal.signal() returned

    def __enter__(self) -> CancelSignals:
        if threading.current_thread() is threading.main_thread():
            for signum in CANCEL_SIGNALS:
                # An ignored signal stays ignored (nohup, background jobs of scripts).
                if signal.getsignal(signum) is not signal.SIG_IGN:
                    self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous.clear()

    def _handle(self, signum: int, frame: object) -> None:
        self.received.append(signum)
        if self.execution is not None:
            self.execution.cancel()
        if len(self.received) >= 3 or (self.raising and self.execution is None):
            raise Interrupted(signum)

    def arm(self) -> None:
        """Signals now abandon the current step; one that came before does so at once."""
        self.raising = True
        if self.received:
            raise Interrupted(self.received[0])

    def attach(self, execution) -> None:
        """From now on signals cancel ``execution``; one that came meanwhile does now."""
        self.execution = execution
        if self.received:
            execution.cancel()
