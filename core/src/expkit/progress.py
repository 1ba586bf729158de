"""Progress reporting for long steps (environment builds, uploads).

``make_progress(stream)`` picks the display: a live one (rich, imported on
the first report only, so a run that builds nothing never pays for it) on an
interactive terminal, plain timestamped lines when the stream is not a TTY or
``CI=true`` (logs and CI output stay free of control characters). Progress
always goes to stderr by default, never to stdout, so ``--json`` output stays
clean.
"""

from __future__ import annotations

import os
import sys
import time
from typing import IO, TYPE_CHECKING

from expkit.model import Progress

if TYPE_CHECKING:
    from rich.live import Live

#: Lines of tool output kept visible under the current step in the live display.
TAIL_LINES = 6


class NullProgress:
    """Reports nothing (``--quiet`` callers, tests)."""

    def step(self, message: str) -> None:
        pass

    def line(self, text: str) -> None:
        pass

    def advance(self, done: float, total: float | None = None) -> None:
        pass

    def close(self) -> None:
        pass


class PlainProgress:
    """Timestamped lines: ``[12:00:01] building system layer`` then ``  | <tool output>``."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream
        self._step_started: float | None = None
        self._last_tenth = -1

    def _write(self, text: str) -> None:
        try:
            self.stream.write(f"[{time.strftime('%H:%M:%S')}] {text}\n")
            self.stream.flush()
        except (OSError, ValueError):  # a closed pipe must not fail the build
            pass

    def step(self, message: str) -> None:
        self._step_started = time.monotonic()
        self._last_tenth = -1
        self._write(message)

    def line(self, text: str) -> None:
        self._write("  | " + text.rstrip("\n"))

    def advance(self, done: float, total: float | None = None) -> None:
        if not total:
            return
        tenth = int(10 * min(max(done / total, 0.0), 1.0))
        if tenth > self._last_tenth:  # at most ten lines per step
            self._last_tenth = tenth
            self._write(f"  {tenth * 10}%")

    def close(self) -> None:
        pass


class LiveProgress:
    """A spinner with the current step and the last few lines of tool output.

    Finished steps stay on screen as one line each with their duration; the
    tool output of a finished step disappears (it is in the logs).
    """

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream
        self._live: Live | None = None
        self._step: str | None = None
        self._started = 0.0
        self._tail: list[str] = []
        self._fraction: float | None = None

    def _render(self):
        from rich.console import Group
        from rich.spinner import Spinner
        from rich.text import Text

        title = self._step or "working"
        if self._fraction is not None:
            title += f"  {self._fraction * 100:.0f}%"
        parts = [Spinner("dots", text=Text(title, style="bold"))]
        parts += [
            Text("  " + line, style="dim", overflow="ellipsis", no_wrap=True) for line in self._tail
        ]
        return Group(*parts)

    def _ensure(self) -> Live:
        if self._live is None:
            from rich.console import Console
            from rich.live import Live

            console = Console(file=self.stream, stderr=self.stream is sys.stderr)
            self._live = Live(self._render(), console=console, refresh_per_second=8, transient=True)
            self._live.start()
        return self._live

    def _finish_step(self) -> None:
        if self._step is not None and self._live is not None:
            from rich.markup import escape

            elapsed = time.monotonic() - self._started
            self._live.console.print(
                f"[green]✓[/] {escape(self._step)} [dim]({elapsed:.1f}s)[/]", highlight=False
            )

    def step(self, message: str) -> None:
        self._finish_step()
        self._step, self._started, self._tail, self._fraction = message, time.monotonic(), [], None
        self._ensure().update(self._render())

    def line(self, text: str) -> None:
        live = self._ensure()
        self._tail = (self._tail + [text.rstrip("\n")])[-TAIL_LINES:]
        live.update(self._render())

    def advance(self, done: float, total: float | None = None) -> None:
        live = self._ensure()
        self._fraction = min(max(done / total, 0.0), 1.0) if total else None
        live.update(self._render())

    def close(self) -> None:
        if self._live is not None:
            self._finish_step()
            self._live.stop()
            self._live = None


def _interactive(stream: IO[str]) -> bool:
    if os.environ.get("CI", "").lower() in ("true", "1") or os.environ.get("TERM") == "dumb":
        return False
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def make_progress(stream: IO[str] | None = None) -> Progress:
    """The progress display for ``stream`` (default stderr): live on a TTY, else plain lines.

    The returned object also has ``close()``: call it before printing other
    output (the script's) so a live display does not overdraw it.
    """
    stream = stream if stream is not None else sys.stderr
    return LiveProgress(stream) if _interactive(stream) else PlainProgress(stream)


def close_progress(progress: object) -> None:
    """Stop ``progress``'s display if it has one (plugins may pass any Progress)."""
    close = getattr(progress, "close", None)
    if callable(close):
        close()
