"""Container output as lines, live: what a run's ``on_output`` and a build's log receive.

A container's stdout and stderr arrive as frames of whatever size the
process wrote. The reader wants lines, and wants them as soon as they exist:

- ``\\n``, ``\\r\\n`` and a lone ``\\r`` end a line. A ``\\r`` is passed on
  the moment it arrives: a progress bar's update is not held back until the
  next one. When the next frame then starts with ``\\n``, that ``\\n`` is
  passed on by itself rather than dropped, so the log and the terminal get
  exactly the bytes written: a ``\\r\\n`` split across frames is still one
  line end there, and ``print(bar, end="\\r")`` ... ``print()`` still ends
  the bar's line instead of letting the next line overwrite it.
- An unfinished line is passed on when the stream goes quiet (``flush``, on
  the reader's idle cue: tqdm-style bars write ``\\rtext`` with no end) and
  once it reaches MAX_LINE bytes, so one huge line neither waits for its end
  nor piles up in memory.
- Work is linear in the output: each frame is searched once, and an
  unfinished line is kept as a list of pieces, joined once when passed on.

Bytes are decoded with one incremental UTF-8 decoder per stream, so a
character cut by a frame boundary or by a partial pass-on is never mangled;
invalid bytes become U+FFFD.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Callable

#: An unfinished line is passed on once it holds this many bytes.
MAX_LINE = 1 << 20
#: Seconds of quiet after which a reader should call ``flush`` (see wire.frames' ``idle``).
IDLE_FLUSH = 0.05

_LINE_END = re.compile(rb"\r\n?|\n")


class LineSplitter:
    """Splits one output stream into lines for ``on_output`` (see the module docstring)."""

    def __init__(self, on_output: Callable[[str], None], max_line: int = MAX_LINE) -> None:
        self.on_output = on_output
        self.max_line = max_line
        self._parts: list[bytes] = []  # the unfinished line, in pieces
        self._size = 0
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")

    def _emit(self, data: bytes, final: bool = False) -> None:
        text = self._decoder.decode(data, final)
        if text:
            self.on_output(text)

    def _take(self, tail: bytes = b"") -> bytes:
        """The unfinished line plus ``tail``, joined once; the line starts afresh."""
        if not self._parts:
            return tail
        self._parts.append(tail)
        data = b"".join(self._parts)
        self._parts, self._size = [], 0
        return data

    def feed(self, data: bytes) -> None:
        start = 0
        for match in _LINE_END.finditer(data):
            self._emit(self._take(data[start : match.end()]))
            start = match.end()
        if start == len(data):
            return
        rest = data[start:]
        self._parts.append(rest)
        self._size += len(rest)
        if self._size >= self.max_line:
            self._emit(self._take())

    def flush(self) -> None:
        """Pass on the unfinished line now (the stream went quiet)."""
        if self._parts:
            self._emit(self._take())

    def close(self) -> None:
        """The stream ended: pass on everything left."""
        self._emit(self._take(), final=True)


__all__ = ["IDLE_FLUSH", "MAX_LINE", "LineSplitter"]
