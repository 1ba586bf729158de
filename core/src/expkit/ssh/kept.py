"""A connection served by the keeper (expkit.ssh.keeper): Connection's methods,
without paramiko in this process.

Each call is one request on a new Unix-socket connection to the keeper,
which runs it on its SSH connection. When the keeper has gone between two
calls (its idle time passed, it was stopped), the next call connects
directly, once, and goes on with that; a keeper that reports its SSH
connection dropped is ConnectionLost, as a direct connection would be.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, Any

from expkit.ssh import ConnectionLost, SshError, SshTarget
from expkit.ssh import keepwire as wire
from expkit.ssh.connection import Connection, Result, Tail

_CHUNK = 1 << 16


def attach(target: SshTarget) -> KeptConnection | None:
    """The target's keeper, when one runs and its connection is alive."""
    path = wire.socket_path(target.host, target.port, target.username, target.key_file)
    if path is None or not path.exists():
        return None
    try:
        with _dial(path) as sock:
            wire.send_line(sock, {"op": "hello"})
            kind, payload = wire.recv_frame(sock)
    except OSError:
        return None
    if kind != b"o":
        return None  # its connection dropped: it is on its way out
    info = json.loads(payload)
    return KeptConnection(target, path, str(info["label"]), str(info["username"]))


def spawn(target: SshTarget, keep: float) -> None:
    """Start a keeper for ``target`` in the background (it connects on its own)."""
    path = wire.socket_path(target.host, target.port, target.username, target.key_file)
    if path is None:
        return
    spec = {"socket": str(path), "keep": keep, "host": target.host, "port": target.port,
            "username": target.username, "key_file": target.key_file}  # fmt: skip
    log = os.open(f"{path}.log", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        child = subprocess.Popen(
            [sys.executable, "-m", "expkit.ssh.keeper"], stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL, stderr=log, start_new_session=True, close_fds=True,
        )  # fmt: skip
    except OSError:
        return
    finally:
        os.close(log)
    assert child.stdin is not None
    with contextlib.suppress(OSError):
        child.stdin.write(json.dumps(spec).encode() + b"\n")
        child.stdin.close()


def stop(target: SshTarget) -> bool:
    """Ask the target's keeper to exit; False when none ran."""
    path = wire.socket_path(target.host, target.port, target.username, target.key_file)
    if path is None:
        return False
    try:
        with _dial(path) as sock:
            wire.send_line(sock, {"op": "stop"})
            wire.recv_frame(sock)
    except OSError:
        return False
    return True


def _dial(path: Path) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(str(path))
    except OSError:
        sock.close()
        raise
    return sock


class KeptConnection:
    """What :func:`expkit.ssh.connect` returns when a keeper serves the target."""

    def __init__(self, target: SshTarget, path: Path, label: str, username: str) -> None:
        self._target, self._path = target, path
        self.label, self.username = label, username
        self._direct: Connection | None = None
        self._lost = False
        self._lock = threading.Lock()

    def alive(self) -> bool:
        if self._direct is not None:
            return self._direct.alive()
        return not self._lost

    def lost(self, exc: BaseException | None = None) -> SshError:
        why = f" ({type(exc).__name__}: {exc})" if exc is not None and str(exc) else ""
        if self._lost:
            return ConnectionLost(f"the SSH connection to {self.label} dropped{why}")
        return SshError(f"SSH to {self.label} failed{why}")

    # ------------------------------------------------------------------ requests

    def _open(self, request: dict[str, Any]) -> socket.socket | None:
        """A socket carrying ``request``; None when the keeper is gone (then
        ``self._direct`` is the connection to use)."""
        if self._direct is None:
            try:
                sock = _dial(self._path)
            except OSError:
                with self._lock:
                    if self._direct is None:
                        from expkit.ssh.login import keep_at_exit, open_connection

                        self._direct = open_connection(self._target, trust=None, timeout=15.0)
                        keep_at_exit(self._target)
                return None
            try:
                wire.send_line(sock, request)
            except OSError as exc:
                sock.close()
                raise self._dropped(exc) from None
            return sock
        return None

    def _dropped(self, exc: BaseException | None = None) -> SshError:
        self._lost = True
        return self.lost(exc)

    def _answer(
        self, sock: socket.socket, on_data: Callable[[bytes], Any]
    ) -> tuple[bytes, int, bytes]:
        """Frames up to the last one (``x``, ``n`` or ``!``), data handed to ``on_data``:
        (the last kind, the exit code, the stderr)."""
        errors = b""
        while True:
            try:
                kind, payload = wire.recv_frame(sock)
            except OSError as exc:
                raise self._dropped(exc) from None
            if kind == b"o":
                on_data(payload)
            elif kind == b"r":
                errors += payload
            elif kind == b"!":
                problem = json.loads(payload)
                if problem.get("lost"):
                    self._lost = True
                    raise ConnectionLost(str(problem.get("message")))
                raise SshError(str(problem.get("message")))
            elif kind == b"x":
                return kind, wire.unpack_code(payload), errors
            elif kind == b"n":
                return kind, 0, errors
            else:  # b"": the keeper died under the request
                raise self._dropped()

    def run(
        self,
        argv: Sequence[str],
        *,
        input: bytes | IO[bytes] | None = None,
        check: bool = False,
        what: str | None = None,
        stdout: IO[bytes] | None = None,
    ) -> Result:
        """As :meth:`Connection.run`."""
        argv = [str(a) for a in argv]
        sock = self._open({"op": "run", "argv": argv, "stdin": input is not None})
        if sock is None:
            assert self._direct is not None
            return self._direct.run(argv, input=input, check=check, what=what, stdout=stdout)
        out: list[bytes] = []
        with sock:
            _send_input(sock, input)
            _, code, errors = self._answer(sock, stdout.write if stdout is not None else out.append)
        result = Result(code, b"".join(out), errors)
        if check and not result.ok:
            detail = result.error_text() or result.text().strip()
            raise SshError(
                f"{what or shlex.join(argv)} failed on {self.label} (exit {result.code}): {detail}"
            )
        return result

    def script(self, script: str, *args: str, **kwargs: Any) -> Result:
        return self.run(["sh", "-c", script, "sh", *args], **kwargs)

    def stream(
        self,
        argv: Sequence[str],
        on_output: Callable[[bytes], None],
        *,
        input: bytes | IO[bytes] | None = None,
    ) -> int:
        """As :meth:`Connection.stream`."""
        argv = [str(a) for a in argv]
        sock = self._open({"op": "run", "argv": argv, "stdin": input is not None, "combine": True})
        if sock is None:
            assert self._direct is not None
            return self._direct.stream(argv, on_output, input=input)
        with sock:
            _send_input(sock, input)
            _, code, _ = self._answer(sock, on_output)
        return code

    def open_socket(self, argv: Sequence[str]) -> socket.socket:
        """As :meth:`Connection.open_socket`: here the keeper's socket itself."""
        sock = self._open({"op": "socket", "argv": [str(a) for a in argv]})
        if sock is None:
            assert self._direct is not None
            return self._direct.open_socket(argv)
        try:
            self._answer(sock, lambda data: None)
        except BaseException:
            sock.close()
            raise
        return sock

    def read_file(self, path: str, offset: int = 0, limit: int = 1 << 22) -> bytes | None:
        sock = self._open({"op": "read", "path": path, "offset": offset, "limit": limit})
        if sock is None:
            assert self._direct is not None
            return self._direct.read_file(path, offset, limit)
        data: list[bytes] = []
        with sock:
            kind, _, _ = self._answer(sock, data.append)
        return None if kind == b"n" else b"".join(data)

    def exists(self, path: str) -> bool:
        sock = self._open({"op": "exists", "path": path})
        if sock is None:
            assert self._direct is not None
            return self._direct.exists(path)
        with sock:
            _, code, _ = self._answer(sock, lambda data: None)
        return code == 0

    def write_file(self, path: str, data: bytes, mode: int = 0o600) -> None:
        sock = self._open({"op": "write", "path": path, "mode": mode})
        if sock is None:
            assert self._direct is not None
            return self._direct.write_file(path, data, mode)
        with sock:
            _send_input(sock, data)
            self._answer(sock, lambda data: None)
        return None

    def tail(self, path: str) -> Tail | _KeptTail:
        sock = self._open({"op": "tail", "path": path})
        if sock is None:
            assert self._direct is not None
            return self._direct.tail(path)
        return _KeptTail(self, sock)

    def close(self) -> None:
        if self._direct is not None:
            self._direct.close()


class _KeptTail:
    def __init__(self, connection: KeptConnection, sock: socket.socket) -> None:
        self._connection, self._sock = connection, sock

    def read(self, offset: int, limit: int = 1 << 20) -> bytes | None:
        try:
            wire.send_frame(self._sock, b"q", wire.pack_tail(offset, limit))
        except OSError as exc:
            raise self._connection._dropped(exc) from None
        data: list[bytes] = []
        kind, _, _ = self._connection._answer(self._sock, data.append)
        return None if kind == b"n" else b"".join(data)

    def close(self) -> None:
        self._sock.close()


def _send_input(sock: socket.socket, data: bytes | IO[bytes] | None) -> None:
    if data is None:
        return
    if isinstance(data, (bytes, bytearray, memoryview)):
        view = memoryview(bytes(data))
        for start in range(0, len(view), _CHUNK):
            wire.send_frame(sock, b"i", bytes(view[start : start + _CHUNK]))
    else:
        while chunk := data.read(_CHUNK):
            wire.send_frame(sock, b"i", chunk)
    wire.send_frame(sock, b"e")
