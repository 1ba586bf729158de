"""Cutting a script's output stream into the pieces ``Execution.wait`` hands on.

What ``on_output`` receives (concatenated, the pieces are always exactly the
output, decoded as UTF-8 with undecodable bytes replaced):

- normally whole lines, line end included. ``\\n``, ``\\r\\n`` and a lone
  ``\\r`` end a line, so each update of a progress bar (``\\rstep 3/10``) is
  a line of its own;
- a ``\\r`` that ends what was read so far is passed on at once (the
  progress bar moves now, not at its next update). If the ``\\n`` of a
  ``\\r\\n`` arrives in the next read, it comes as a piece of its own: it is
  kept, not dropped, so the terminal and the log get the exact bytes;
- text without a line end yet (a prompt, ``progress 40%`` written without
  ``\\r``/``\\n``) is passed on once it waited :data:`IDLE_S`; the rest of
  its line follows in later pieces;
- a line longer than :data:`MAX_PENDING` bytes is passed on in pieces of
  about that size, so memory stays bounded whatever the script prints.

Each read is searched for line ends on its own; an unfinished line is kept
as a list of chunks and joined once, so the cost is linear in the output.
"""

from __future__ import annotations

import codecs
import time
from collections.abc import Callable

#: Seconds an unfinished line may wait for its end before it is passed on.
IDLE_S = 0.05
#: Bytes of one unfinished line held before they are passed on anyway.
MAX_PENDING = 1 << 20


class LineSplitter:
    """Feed it raw chunks; it calls ``on_output`` with the pieces described above."""

    def __init__(self, on_output: Callable[[str], None]) -> None:
        self.on_output = on_output
        # Incremental: a piece cut inside a multi-byte character is completed
        # by the next one instead of turning into two replacement characters.
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._pending: list[bytes] = []
        self._size = 0
        #: When the oldest byte still held arrived (monotonic), None when nothing is held.
        self._since: float | None = None

    def _emit(self, data: bytes, final: bool = False) -> None:
        text = self._decoder.decode(data, final)
        if text:
            self.on_output(text)

    def _take(self, tail: bytes = b"") -> bytes:
        data = b"".join(self._pending) + tail if self._pending else tail
        self._pending.clear()
        self._size = 0
        self._since = None
        return data

    def feed(self, chunk: bytes) -> None:
        lines = chunk.splitlines(keepends=True)
        if not lines:
            return
        rest = b""
        last = lines[-1]
        if not last.endswith((b"\n", b"\r")):
            rest = lines.pop()
        if lines:
            self._emit(self._take(lines[0]))
            for line in lines[1:]:
                self._emit(line)
        if rest:
            if self._since is None:
                self._since = time.monotonic()
            self._pending.append(rest)
            self._size += len(rest)
            if self._size >= MAX_PENDING:
                self._emit(self._take())
        self.flush_if_due()

    def timeout(self, default: float) -> float:
        """How long the reader may block: ``default``, or less while text waits for its end."""
        if self._since is None:
            return default
        return max(0.0, min(default, self._since + IDLE_S - time.monotonic()))

    def flush_if_due(self) -> None:
        """Pass on an unfinished line that has waited :data:`IDLE_S`."""
        if self._since is not None and time.monotonic() - self._since >= IDLE_S:
            self._emit(self._take())

    def close(self) -> None:
        """The stream ended: pass on whatever is left."""
        self._emit(self._take(), final=True)
