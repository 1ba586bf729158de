"""The engine's wire: HTTP connections, and the frames of an attach stream.

``http.client`` speaks the HTTP. This adds what it lacks for the Docker
engine: a connection over any stream (a unix socket here; an SSH channel
for an engine on another machine), a response that closes its own
connection, raw reads past the head of an upgraded (hijacked) connection,
and the split of the multiplexed stdout/stderr stream, Docker's own format.
"""

from __future__ import annotations

import http.client
import select
import socket
from collections.abc import Callable, Iterator
from typing import Protocol

from expkit.errors import InfrastructureError

#: Opens a connected stream to the engine within the given seconds (None: no limit). What it
#: returns needs what http.client and :class:`Reply` use of a socket:
#: ``sendall``, ``recv``, ``makefile``, ``settimeout``, ``setblocking``,
#: ``fileno`` (readable when bytes wait) and ``close`` -- a socket, or e.g. an
#: SSH channel running ``docker system dial-stdio`` on the engine's host.
SocketOpener = Callable[[float | None], socket.socket]


class SocketConnection(http.client.HTTPConnection):
    """http.client's connection, over whatever stream ``opener`` connects."""

    def __init__(self, opener: SocketOpener, timeout: float) -> None:
        super().__init__("docker", timeout=timeout)  # the Host header; the engine ignores it
        self._opener = opener

    def connect(self) -> None:
        self.sock = self._opener(self.timeout)


def unix_socket(path: str) -> SocketOpener:
    """An opener of connections to the unix socket at ``path``."""

    def open_unix(timeout: float | None) -> socket.socket:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.settimeout(timeout)
            sock.connect(path)
        except BaseException:
            sock.close()
            raise
        return sock

    return open_unix


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
        # came with it are in its buffer: upgrade() takes them out before the
        # bare socket is read.
        self._file = response.fp
        self._failure = failure
        self._raw: socket.socket | None = None  # the socket, once upgrade() was called

    def read(self, amount: int = -1) -> bytes:
        """Up to ``amount`` bytes of the HTTP body (all of it when -1); b"" at its end."""
        try:
            return self._response.read(None if amount < 0 else amount)
        except (OSError, http.client.HTTPException) as exc:
            raise self._failure(exc) from None

    def upgrade(self) -> bytes:
        """Read the rest of an upgraded (hijacked) connection from its socket from now on.

        Returns the stream bytes that arrived with the response head and wait
        in http.client's buffer. Reading the bare socket afterwards lets
        :meth:`recv` wait with a time limit: a timeout on the buffered file
        would leave it unusable ("cannot read from timed out object").
        """
        # http.client drops conn.sock when it expects the server to close (an old
        # engine's plain 200 answer); the buffered file still holds the socket then.
        sock = self._conn.sock or getattr(getattr(self._file, "raw", None), "_sock", None)
        if sock is None:  # pragma: no cover - neither http.client keeps one
            return b""
        sock.setblocking(False)
        try:
            # Non-blocking: what the buffer holds, or what the socket has ready, or b"".
            buffered = self._file.read1(1 << 20) or b""
        except OSError:  # e.g. ssl.SSLWantReadError: nothing ready
            buffered = b""
        finally:
            sock.settimeout(None)
        self._raw = sock
        return buffered

    def recv(self, size: int, timeout: float | None = None) -> bytes | None:
        """Raw bytes past the response head as they arrive (one read at most): the stream
        of an upgraded connection, which carries no HTTP framing. b"" at its end; None when
        nothing arrived within ``timeout`` seconds (only after :meth:`upgrade`)."""
        raw = self._raw
        if raw is None:
            return self._file.read1(size)
        if timeout is not None and not _readable(raw, timeout):
            return None
        return raw.recv(size)

    def close(self) -> None:
        self._response.close()
        self._conn.close()


def _readable(sock: socket.socket, timeout: float) -> bool:
    """Whether ``sock`` has bytes to read within ``timeout`` seconds."""
    pending = getattr(sock, "pending", None)  # TLS: decrypted bytes select cannot see
    if pending is not None and pending():
        return True
    if hasattr(select, "poll"):
        poller = select.poll()
        poller.register(sock, select.POLLIN | select.POLLPRI | select.POLLHUP | select.POLLERR)
        return bool(poller.poll(timeout * 1000))
    return bool(select.select([sock], [], [], timeout)[0])


class Receiver(Protocol):
    def recv(self, size: int, timeout: float | None = None, /) -> bytes | None: ...


#: The stream id ``frames`` yields (with no payload) when the stream went quiet.
IDLE = -1


def frames(
    stream: Receiver, pending: bytes = b"", idle: float | None = None
) -> Iterator[tuple[int, bytes]]:
    """The (stream, payload) frames of a non-TTY attach stream: 1 = stdout, 2 = stderr.

    Each frame is an 8-byte header (stream id, three zero bytes, payload size
    as a big-endian u32) and the payload. ``stream`` is an upgraded Reply (or
    a socket, without ``idle``); ``pending`` holds bytes already read from it.
    With ``idle``, a quiet spell of that many seconds after data yields
    ``(IDLE, b"")`` once, so the reader can pass on an unfinished line (a
    progress bar), and then waits on without a limit.
    """
    # bytearray: deleting from the front is cheap, so long outputs stay linear.
    buf = bytearray(pending)
    armed = idle is not None and bool(pending)  # only a quiet spell *after data* counts
    while True:
        if len(buf) >= 8:
            size = int.from_bytes(buf[4:8], "big")
            if len(buf) >= 8 + size:
                yield buf[0], bytes(buf[8 : 8 + size])
                del buf[: 8 + size]
                continue
            want = 8 + size - len(buf)
        else:
            want = 8 - len(buf)
        size_hint = max(65536, want)
        chunk = stream.recv(size_hint, idle) if armed else stream.recv(size_hint)
        if chunk is None:  # quiet for `idle` seconds
            armed = False
            yield IDLE, b""
            continue
        if not chunk:
            return
        buf += chunk
        armed = idle is not None
