"""The engine's wire: HTTP connections, and the frames of an attach stream.

``http.client`` speaks the HTTP. This adds what it lacks for the Docker
engine: a connection over a unix socket, a response that closes its own
connection, raw reads past the head of an upgraded (hijacked) connection,
and the split of the multiplexed stdout/stderr stream, Docker's own format.
"""

from __future__ import annotations

import http.client
import socket
from collections.abc import Callable, Iterator
from typing import Protocol

from expkit.errors import InfrastructureError


class UnixConnection(http.client.HTTPConnection):
    """http.client's connection, over a unix socket instead of TCP."""

    def __init__(self, socket_path: str, timeout: float) -> None:
        super().__init__("docker", timeout=timeout)  # the Host header; the engine ignores it
        self.socket_path = socket_path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.settimeout(self.timeout)
            sock.connect(self.socket_path)
        except BaseException:
            sock.close()
            raise
        self.sock = sock


class Reply:
    """A response the caller reads; ``close()`` closes its connection too."""

    def __init__(
        self,
        conn: http.client.HTTPConnection,
        response: http.client.HTTPResponse,
        failure: Callable[[Exception], InfrastructureError],
    ) -> None:
        self.status = response.status
        self._conn = conn
        self._response = response
        # The head was read through this buffered file, so stream bytes that
        # came with it are in its buffer: read an upgraded stream from it, never
        # from the bare socket.
        self._file = response.fp
        self._failure = failure

    def read(self, amount: int = -1) -> bytes:
        """Up to ``amount`` bytes of the HTTP body (all of it when -1); b"" at its end."""
        try:
            return self._response.read(None if amount < 0 else amount)
        except (OSError, http.client.HTTPException) as exc:
            raise self._failure(exc) from None

    def recv(self, size: int) -> bytes:
        """Raw bytes past the response head as they arrive (one socket read at most):
        the stream of an upgraded connection, which carries no HTTP framing. b"" at its end."""
        return self._file.read1(size)

    def close(self) -> None:
        self._response.close()
        self._conn.close()


class Receiver(Protocol):
    def recv(self, size: int, /) -> bytes: ...


def frames(stream: Receiver, pending: bytes = b"") -> Iterator[tuple[int, bytes]]:
    """The (stream, payload) frames of a non-TTY attach stream: 1 = stdout, 2 = stderr.

    Each frame is an 8-byte header (stream id, three zero bytes, payload size
    as a big-endian u32) and the payload. ``stream`` is an upgraded Reply (or
    a socket); ``pending`` holds bytes already read from it.
    """
    # bytearray: deleting from the front is cheap, so long outputs stay linear.
    buf = bytearray(pending)
    while True:
        while len(buf) < 8:
            chunk = stream.recv(65536)
            if not chunk:
                return
            buf += chunk
        kind, size = buf[0], int.from_bytes(buf[4:8], "big")
        while len(buf) < 8 + size:
            chunk = stream.recv(max(65536, 8 + size - len(buf)))
            if not chunk:
                return
            buf += chunk
        yield kind, bytes(buf[8 : 8 + size])
        del buf[: 8 + size]
