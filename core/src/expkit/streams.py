"""Cutting a script's raw output into the pieces ``Execution.wait`` hands to ``on_output``.

Every target reads bytes of whatever size the script (or the pipe, socket or
container frame) delivered, and owes ``on_output`` the same thing (see
docs/plugins.md, "Execution"). :class:`LineSplitter` is that contract, once,
for all of them. Joined, the pieces it passes on are exactly the output,
decoded as UTF-8 (undecodable bytes become U+FFFD):

- normally whole lines, line end included. ``\\n``, ``\\r\\n`` and a lone
  ``\\r`` end a line, so each update of a progress bar (``\\rstep 3/10``) is
  a line of its own;
- a ``\\r`` that ends what was read so far is passed on at once: the bar
  moves now, not at its next update. When the ``\\n`` of a ``\\r\\n`` then
  arrives in the next read it comes as a piece of its own, kept rather than
  dropped, so the terminal and the log get exactly the bytes written (and
  ``print(bar, end="\\r")`` ... ``print()`` still ends the bar's line);
- text without a line end yet (a prompt, a tqdm bar's ``\\rtext``) is passed
  on once it has waited :data:`IDLE_S`; the rest of its line follows later;
- a line longer than :data:`MAX_LINE` bytes is passed on in pieces of about
  that size, so memory stays bounded whatever the script prints;
- a character is never cut: one incremental decoder per stream completes a
  multi-byte character split by a read, the size bound or an idle pass-on.

Work is linear in the output: each read is searched for line ends once (in
C, by ``bytes.splitlines``), and an unfinished line is kept as a list of
chunks, joined once when passed on.

Standard library only and cheap to import: it is on every run's path.
"""

from __future__ import annotations

import codecs
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

#: Seconds an unfinished line may wait for its end before it is passed on.
IDLE_S = 0.05
#: Bytes of one unfinished line held before they are passed on anyway.
MAX_LINE = 1 << 20


class LineSplitter:
    """Feed it one stream's raw chunks; it calls ``on_output`` with the pieces above.

    The reader drives the idle rule in one of two ways, whichever its wait
    primitive suits: block at most :meth:`timeout` and call
    :meth:`flush_if_due` on waking (a pipe under ``select``), or call
    :meth:`flush` when it has seen the stream stay quiet for :data:`IDLE_S`
    (a socket read with a timeout). :meth:`feed` also passes on text that
    has waited long enough, so a stream that trickles without line ends
    still shows up live. Call :meth:`close` once at the end of the stream.
    One splitter per stream: two streams (stdout, stderr) need two.
    """

    def __init__(
        self,
        on_output: Callable[[str], None],
        *,
        max_line: int = MAX_LINE,
        idle: float = IDLE_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.on_output = on_output
        self.max_line = max_line
        self.idle = idle
        self._clock = clock  # a seam for tests: idle behaviour without sleeping
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._pending: list[bytes] = []  # the unfinished line, in chunks
        self._size = 0
        #: When the oldest byte still held arrived, None while nothing is held.
        self._since: float | None = None

    def _emit(self, data: bytes, final: bool = False) -> None:
        text = self._decoder.decode(data, final)
        if text:
            self.on_output(text)

    def _take(self, tail: bytes = b"") -> bytes:
        """The unfinished line plus ``tail``, joined once; the line starts afresh."""
        if not self._pending:
            return tail
        data = b"".join(self._pending) + tail
        self._pending.clear()
        self._size = 0
        self._since = None
        return data

    def feed(self, chunk: bytes) -> None:
        """Take the next bytes read from the stream; pass on what is complete."""
        lines = chunk.splitlines(keepends=True)
        if not lines:
            return
        rest = b"" if lines[-1].endswith((b"\n", b"\r")) else lines.pop()
        if lines:
            self._emit(self._take(lines[0]))
            for line in lines[1:]:
                self._emit(line)
        if rest:
            if self._since is None:
                self._since = self._clock()
            self._pending.append(rest)
            self._size += len(rest)
            if self._size >= self.max_line:
                self._emit(self._take())
        self.flush_if_due()

    def timeout(self, default: float) -> float:
        """How long the reader may block: ``default``, or less while text waits for its end."""
        if self._since is None:
            return default
        return max(0.0, min(default, self._since + self.idle - self._clock()))

    def flush_if_due(self) -> None:
        """Pass on an unfinished line that has waited :attr:`idle` seconds."""
        if self._since is not None and self._clock() - self._since >= self.idle:
            self._emit(self._take())

    def flush(self) -> None:
        """Pass on the unfinished line now: the reader saw the stream go quiet."""
        if self._pending:
            self._emit(self._take())

    def close(self) -> None:
        """The stream ended: pass on everything left (an incomplete character as U+FFFD)."""
        self._emit(self._take(), final=True)


__all__ = ["IDLE_S", "MAX_LINE", "LineSplitter"]
