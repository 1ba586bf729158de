"""HTTP/1.1 on a raw socket, just what the Docker Engine API needs.

Responses are read by Content-Length, chunked, or until the engine closes
the connection; ``frames`` splits the multiplexed stdout/stderr stream of a
container attach. Standard library only and cheap to import: see engine.py
for why the run path does not use http.client or the docker SDK.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from typing import Iterable


class Body:
    """A response body read from the raw socket: by length, chunked, or until close."""

    def __init__(self, sock: socket.socket, rest: bytes, headers: dict[str, str]) -> None:
        self._sock = sock
        self._buf = bytearray(rest)
        self._chunked = "chunked" in headers.get("transfer-encoding", "").lower()
        length = headers.get("content-length")
        self._left = int(length) if length is not None and not self._chunked else None
        self._chunk_left = 0
        self._done = self._left == 0

    def _fill(self) -> bool:
        data = self._sock.recv(65536)
        if not data:
            return False
        self._buf += data
        return True

    def _line(self) -> bytes:
        while b"\r\n" not in self._buf:
            if not self._fill():
                raise EOFError("connection closed inside a chunked response")
        line, _, _rest = bytes(self._buf).partition(b"\r\n")
        del self._buf[: len(line) + 2]
        return line

    def read(self, amount: int = -1) -> bytes:
        """Up to ``amount`` bytes (all that is left when -1); b"" at the end."""
        out = bytearray()
        while not self._done and (amount < 0 or len(out) < amount):
            want = amount - len(out) if amount >= 0 else 1 << 30
            if self._chunked:
                if self._chunk_left == 0:
                    size = int(self._line().split(b";")[0] or b"0", 16)
                    if size == 0:
                        self._done = True
                        break
                    self._chunk_left = size
                want = min(want, self._chunk_left)
            elif self._left is not None:
                want = min(want, self._left)
            if not self._buf and not self._fill():
                self._done = True
                break
            piece = bytes(self._buf[:want])
            del self._buf[: len(piece)]
            out += piece
            if self._chunked:
                self._chunk_left -= len(piece)
                if self._chunk_left == 0:
                    self._line()  # the CRLF after each chunk
            elif self._left is not None:
                self._left -= len(piece)
                self._done = self._left == 0
        return bytes(out)


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: Body
    sock: socket.socket

    def read(self, amount: int = -1) -> bytes:
        return self.body.read(amount)

    def close(self) -> None:
        self.sock.close()


def read_head(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """Status, headers (lower-case names) and the bytes read past them."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise EOFError("the engine closed the connection without an answer")
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    fields = lines[0].split(" ", 2)
    status = int(fields[1]) if len(fields) > 1 and fields[1].isdigit() else 0
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return status, headers, rest


def frames(sock: socket.socket, pending: bytes = b"") -> Iterable[tuple[int, bytes]]:
    """The (stream, payload) frames of a non-TTY attach stream: 1 = stdout, 2 = stderr."""
    # bytearray: deleting from the front is cheap, so long outputs stay linear.
    buf = bytearray(pending)
    while True:
        while len(buf) < 8:
            chunk = sock.recv(65536)
            if not chunk:
                return
            buf += chunk
        stream, size = buf[0], int.from_bytes(buf[4:8], "big")
        while len(buf) < 8 + size:
            chunk = sock.recv(max(65536, 8 + size - len(buf)))
            if not chunk:
                return
            buf += chunk
        yield stream, bytes(buf[8 : 8 + size])
        del buf[: 8 + size]
