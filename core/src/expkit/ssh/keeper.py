"""The SSH connection keeper: one background process holding one authenticated
connection, so the next ``exp`` command against the same host skips the
import of paramiko, the key exchange and the authentication (what OpenSSH's
ControlPersist and Ansible's pipelining do for ``ssh``).

Started by :func:`expkit.ssh.kept.spawn` when a command that connected
directly exits; it connects on its own (the same known_hosts check, the same
keys; never a password: targets with one get no keeper), then serves the
requests of expkit.ssh.keepwire on a Unix socket in the user's private
folder, accepting only processes of its own user (SO_PEERCRED). It exits
after EXPKIT_SSH_KEEP seconds with no request, when its connection drops,
or on a ``stop`` request, and removes its socket.

Run as ``python -m expkit.ssh.keeper`` with the target as one JSON line on stdin.
"""

from __future__ import annotations

import contextlib
import faulthandler
import fcntl
import json
import os
import signal
import socket
import struct
import sys
import threading
import time
from pathlib import Path
from typing import IO, Any, cast

from expkit.ssh import SshError, SshTarget
from expkit.ssh import keepwire as wire
from expkit.ssh.connection import Connection


class Keeper:
    def __init__(self, connection: Connection, path: Path, keep: float) -> None:
        self.connection, self.path, self.keep = connection, path, keep
        self._active = 0
        self._last = time.monotonic()
        self._stopped = threading.Event()
        self._lock = threading.Lock()

    def stop(self) -> None:
        self._stopped.set()

    def serve(self, server: socket.socket) -> None:
        server.settimeout(1.0)
        while not self._stopped.is_set() and self.connection.alive():
            with self._lock:
                if not self._active and time.monotonic() - self._last > self.keep:
                    return
            try:
                client, _ = server.accept()
            except TimeoutError:
                continue
            if not _same_user(client):
                client.close()
                continue
            with self._lock:
                self._active += 1
            threading.Thread(target=self._serve_one, args=(client,), daemon=True).start()

    def _serve_one(self, client: socket.socket) -> None:
        try:
            request = wire.recv_line(client)
            op = request.get("op")
            handler = getattr(self, f"_op_{op}", None) if isinstance(op, str) else None
            if handler is None:
                raise ValueError(f"no such request: {op!r}")
            handler(client, request)
        except SshError as exc:
            _quietly(wire.send_frame, client, b"!", wire.error_payload(exc))
        except (OSError, ValueError, ConnectionError):
            pass  # the client went away, or spoke nonsense: only that request ends
        finally:
            client.close()
            with self._lock:
                self._active -= 1
                self._last = time.monotonic()

    # ------------------------------------------------------------------ requests

    def _op_hello(self, client: socket.socket, request: dict[str, Any]) -> None:
        if not self.connection.alive():
            raise self.connection.lost()
        info = {"label": self.connection.label, "username": self.connection.username}
        wire.send_frame(client, b"o", json.dumps(info).encode())
        wire.send_frame(client, b"x", wire.pack_code(0))

    def _op_stop(self, client: socket.socket, request: dict[str, Any]) -> None:
        self._stopped.set()
        wire.send_frame(client, b"x", wire.pack_code(0))

    def _op_run(self, client: socket.socket, request: dict[str, Any]) -> None:
        argv = _argv(request)
        # File-likes by duck typing: what Connection reads and writes of them.
        stdin = cast("IO[bytes]", _Stdin(client)) if request.get("stdin") else None
        out = _Frames(client, b"o")
        if request.get("combine"):
            code = self.connection.stream(argv, out.send, input=stdin)
            wire.send_frame(client, b"x", wire.pack_code(code))
            return
        result = self.connection.run(argv, input=stdin, stdout=cast("IO[bytes]", out))
        if result.stderr:
            wire.send_frame(client, b"r", result.stderr)
        wire.send_frame(client, b"x", wire.pack_code(result.code))

    def _op_socket(self, client: socket.socket, request: dict[str, Any]) -> None:
        remote = self.connection.open_socket(_argv(request))
        wire.send_frame(client, b"x", wire.pack_code(0))
        _splice(client, remote)

    def _op_read(self, client: socket.socket, request: dict[str, Any]) -> None:
        data = self.connection.read_file(
            str(request["path"]), int(request.get("offset", 0)), int(request["limit"])
        )
        if data is None:
            wire.send_frame(client, b"n")
            return
        wire.send_frame(client, b"o", data)
        wire.send_frame(client, b"x", wire.pack_code(0))

    def _op_exists(self, client: socket.socket, request: dict[str, Any]) -> None:
        found = self.connection.exists(str(request["path"]))
        wire.send_frame(client, b"x", wire.pack_code(0 if found else 1))

    def _op_write(self, client: socket.socket, request: dict[str, Any]) -> None:
        data = _Stdin(client).read()
        self.connection.write_file(str(request["path"]), data, int(request["mode"]))
        wire.send_frame(client, b"x", wire.pack_code(0))

    def _op_tail(self, client: socket.socket, request: dict[str, Any]) -> None:
        tail = self.connection.tail(str(request["path"]))
        try:
            while True:
                kind, payload = wire.recv_frame(client)
                if kind != b"q":
                    return
                data = tail.read(*wire.unpack_tail(payload))
                if data is None:
                    wire.send_frame(client, b"n")
                    continue
                wire.send_frame(client, b"o", data)
                wire.send_frame(client, b"x", wire.pack_code(0))
        finally:
            tail.close()


class _Stdin:
    """The client's ``i`` frames as a binary file, up to its ``e`` frame."""

    def __init__(self, client: socket.socket) -> None:
        self._client = client
        self._done = False

    def read(self, size: int = -1) -> bytes:
        if size >= 0:
            return self._next()
        parts = []
        while chunk := self._next():
            parts.append(chunk)
        return b"".join(parts)

    def _next(self) -> bytes:
        if self._done:
            return b""
        kind, payload = wire.recv_frame(self._client)
        if kind != b"i":
            self._done = True
            return b""
        return payload


class _Frames:
    """A binary file whose writes go to the client as frames of one kind."""

    def __init__(self, client: socket.socket, kind: bytes) -> None:
        self._client, self._kind = client, kind

    def write(self, data: bytes) -> int:
        self.send(data)
        return len(data)

    def send(self, data: bytes) -> None:
        if data:
            wire.send_frame(self._client, self._kind, bytes(data))


def _argv(request: dict[str, Any]) -> list[str]:
    argv = request.get("argv")
    if not isinstance(argv, list) or not argv or not all(isinstance(a, str) for a in argv):
        raise ValueError("argv: a non-empty list of strings")
    return argv


def _splice(a: socket.socket, b: socket.socket) -> None:
    """Copy both ways until both directions ended (each end's EOF passed on)."""

    def copy(source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(1 << 16):
                sink.sendall(data)
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)

    other = threading.Thread(target=copy, args=(b, a), daemon=True)
    other.start()
    copy(a, b)
    other.join()
    b.close()


def _same_user(client: socket.socket) -> bool:
    creds = client.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    _pid, uid, _gid = struct.unpack("3i", creds)
    return uid == os.getuid()


def _quietly(function: Any, *args: Any) -> None:
    with contextlib.suppress(OSError):
        function(*args)


def main() -> int:
    # The keeper's own connections (a ProxyJump hop) are direct: no keeper of keepers.
    os.environ["EXPKIT_SSH_KEEP"] = "0"
    faulthandler.register(signal.SIGUSR1, all_threads=True)  # its log: where it stands
    spec = json.loads(sys.stdin.readline())
    os.chdir("/")  # hold no folder of the project it was started from
    path, keep = Path(spec["socket"]), float(spec["keep"])
    # Held for the keeper's life; never removed (another keeper may be locking it).
    lock = os.open(f"{path}.lock", os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return 0  # another keeper serves this target
    from expkit.ssh.login import open_connection

    target = SshTarget(spec["host"], spec["port"], spec["username"], spec["key_file"])
    try:
        connection = open_connection(target, trust=None, timeout=15.0)
    except SshError as exc:
        print(f"expkit ssh keeper: {exc}", file=sys.stderr)
        return 1
    with contextlib.suppress(FileNotFoundError):
        path.unlink()  # a keeper that died without cleaning up
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old = os.umask(0o177)
    try:
        server.bind(str(path))
    finally:
        os.umask(old)
    server.listen(16)
    keeper = Keeper(connection, path, keep)
    # SIGTERM (a shutdown, `kill`) ends it as idleness does: its socket removed.
    signal.signal(signal.SIGTERM, lambda *_: keeper.stop())
    try:
        keeper.serve(server)
    finally:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        server.close()
        connection.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
