"""A scripted stand-in for dockerd, for unit tests of the engine client and the builder.

It listens on a unix socket (or TCP on loopback) and answers each request
with the next entry of ``answers``: raw bytes, or a callable that writes to
the connection (an attach stream). Connections are served concurrently, as
a real engine does: a build holds its attach stream open while it starts the
container and waits for it on other connections. Answers are handed out in
the order requests arrive, which is the client's order (it sends one request
at a time). ``requests`` records each request's head and body.
"""

from __future__ import annotations

import json
import re
import socket
import threading
from collections.abc import Callable
from pathlib import Path

Answer = bytes | Callable[[socket.socket], None]


class FakeEngine:
    def __init__(self, folder: Path | None) -> None:
        self.answers: list[Answer] = []
        self.requests: list[tuple[bytes, bytes]] = []
        self.closed = threading.Event()
        self._lock = threading.Lock()
        if folder is None:  # TCP, on loopback
            self._server = socket.create_server(("127.0.0.1", 0))
            self.url = f"tcp://127.0.0.1:{self._server.getsockname()[1]}"
        else:
            self._server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self._server.bind(str(folder / "engine.sock"))
            self.url = f"unix://{folder / 'engine.sock'}"
        self._server.listen(8)
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._server.accept()
            except OSError:
                return
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn: socket.socket) -> None:
        with conn:
            data = b""
            while b"\r\n\r\n" not in data:
                more = conn.recv(65536)
                if not more:
                    break
                data += more
            head, _, body = data.partition(b"\r\n\r\n")
            length = re.search(rb"(?i)content-length: *(\d+)", head)
            while length and len(body) < int(length.group(1)):
                body += conn.recv(65536)
            with self._lock:
                self.requests.append((head, body))
                answer = self.answers.pop(0)
            if callable(answer):
                answer(conn)
            else:
                conn.sendall(answer)
            # Wait for the client to close its end, so a test sees all it was sent.
            conn.settimeout(5)
            try:
                while conn.recv(65536):
                    pass
            except OSError:
                pass
            self.closed.set()

    def request_lines(self) -> list[str]:
        """The request lines so far (``POST /containers/create?name=x``), in order."""
        return [head.split(b"\r\n", 1)[0].rsplit(b" ", 1)[0].decode() for head, _ in self.requests]

    def stop(self) -> None:
        self._server.close()


def answer(status: int, body: object = b"", reason: str = "OK") -> bytes:
    """A complete answer with a sized body (JSON-encoded unless bytes)."""
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return (
        b"HTTP/1.1 %d %s\r\nContent-Length: %d\r\n\r\n" % (status, reason.encode(), len(data))
        + data
    )


def chunked(*pieces: bytes) -> bytes:
    """A 200 answer whose body comes in ``pieces`` (chunked transfer encoding)."""
    body = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in pieces)
    return b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + body + b"0\r\n\r\n"


def frame(stream: int, payload: bytes) -> bytes:
    """One frame of a multiplexed attach stream (1 = stdout, 2 = stderr)."""
    return bytes([stream, 0, 0, 0]) + len(payload).to_bytes(4, "big") + payload


def attach_stream(*frames: bytes) -> Callable[[socket.socket], None]:
    """An attach answer: the upgrade, then ``frames``, then the end of the stream."""

    def send(conn: socket.socket) -> None:
        conn.sendall(b"HTTP/1.1 101 UPGRADED\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n")
        for piece in frames:
            conn.sendall(piece)
        conn.shutdown(socket.SHUT_WR)

    return send
