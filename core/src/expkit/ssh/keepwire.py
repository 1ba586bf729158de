"""The protocol between ``exp`` and its SSH connection keeper (expkit.ssh.keeper).

One module owns it: where the keeper's socket lives, what a request looks
like, how bytes are framed.

- **Where.** One Unix socket per (target, ssh setup), in a folder only the
  user can enter: ``$XDG_RUNTIME_DIR/expkit-ssh`` or ``$TMPDIR/expkit-ssh-UID``,
  created 0700 and refused (no keeper, a direct connection instead) when it
  is a symlink, someone else's, or open to others. The socket's name hashes
  the target and the files that decide how to connect (``~/.ssh/config``,
  ``~/.ssh/known_hosts``, the key file, the agent), so editing any of them
  means a new connection, checked again, never a stale one.
- **A request** is one JSON line from the client naming the ``op``; then
  frames both ways: a kind byte, a 4-byte big-endian length, the payload.
- **Frames.** Client to keeper: ``i`` stdin bytes, ``e`` end of stdin, ``q``
  a tail read (offset, limit). Keeper to client: ``o`` stdout (or file
  data), ``r`` stderr, ``x`` exit code, ``n`` no such file, ``!`` an error
  (JSON: ``lost``, ``message``).
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import stat
import struct
from pathlib import Path
from typing import Any

#: Bumped when a frame or an op changes: an old keeper is then simply not found.
PROTOCOL = 1
#: Seconds a keeper stays after its last request (EXPKIT_SSH_KEEP; 0: no keeper).
DEFAULT_KEEP = 300.0
_HEAD = struct.Struct("!cI")
_TAIL = struct.Struct("!QI")
_MAX_SOCKET_PATH = 100  # sun_path holds 108 bytes on Linux


def keep_seconds() -> float:
    text = os.environ.get("EXPKIT_SSH_KEEP", "").strip()
    if not text:
        return DEFAULT_KEEP
    try:
        return max(0.0, float(text))
    except ValueError:
        return DEFAULT_KEEP


def runtime_dir() -> Path | None:
    """The user's private folder for keeper sockets, or None when none is safe."""
    uid = os.getuid()
    base = os.environ.get("XDG_RUNTIME_DIR")
    folder = Path(base) / "expkit-ssh" if base and _private(Path(base), uid) else None
    if folder is None:
        folder = Path(os.environ.get("TMPDIR") or "/tmp") / f"expkit-ssh-{uid}"
    try:
        folder.mkdir(mode=0o700, exist_ok=True)
    except OSError:
        return None
    return folder if _private(folder, uid) else None


def _private(path: Path, uid: int) -> bool:
    try:
        info = os.lstat(path)
    except OSError:
        return False
    return stat.S_ISDIR(info.st_mode) and info.st_uid == uid and not info.st_mode & 0o077


def _file_id(path: str | Path) -> list[int] | None:
    try:
        info = os.stat(path)
    except OSError:
        return None
    return [info.st_ino, info.st_size, info.st_mtime_ns]


def socket_path(
    host: str, port: int | None, username: str | None, key_file: str | None
) -> Path | None:
    """Where the keeper for this target listens (or would); None: use no keeper."""
    folder = runtime_dir()
    if folder is None:
        return None
    from expkit import __version__

    ssh = Path(os.path.expanduser("~")) / ".ssh"
    identity = [
        PROTOCOL, __version__, host, port, username, key_file, os.path.expanduser("~"),
        os.environ.get("SSH_AUTH_SOCK"), _file_id(ssh / "config"),
        _file_id(ssh / "known_hosts"), _file_id(os.path.expanduser(key_file or "")),
    ]  # fmt: skip
    digest = hashlib.sha256(json.dumps(identity).encode()).hexdigest()[:20]
    path = folder / f"{digest}.sock"
    return path if len(os.fsencode(path)) <= _MAX_SOCKET_PATH else None


# ---------------------------------------------------------------------- framing


def send_frame(sock: socket.socket, kind: bytes, payload: bytes = b"") -> None:
    sock.sendall(_HEAD.pack(kind, len(payload)) + payload)


def recv_frame(sock: socket.socket) -> tuple[bytes, bytes]:
    """The next frame; (b"", b"") when the other side closed."""
    head = _recv_exact(sock, _HEAD.size)
    if not head:
        return b"", b""
    kind, size = _HEAD.unpack(head)
    payload = _recv_exact(sock, size) if size else b""
    if len(payload) != size:
        raise ConnectionError("the keeper's socket closed inside a frame")
    return kind, payload


def _recv_exact(sock: socket.socket, size: int) -> bytes:
    parts, got = [], 0
    while got < size:
        chunk = sock.recv(size - got)
        if not chunk:
            if got:
                raise ConnectionError("the keeper's socket closed inside a frame")
            return b""
        parts.append(chunk)
        got += len(chunk)
    return b"".join(parts)


def send_line(sock: socket.socket, value: dict[str, Any]) -> None:
    sock.sendall(json.dumps(value).encode() + b"\n")


def recv_line(sock: socket.socket, limit: int = 1 << 16) -> dict[str, Any]:
    """One JSON line, read a byte at a time: what follows it is not consumed."""
    data = bytearray()
    while not data.endswith(b"\n"):
        byte = sock.recv(1)
        if not byte or len(data) > limit:
            raise ConnectionError("no request line")
        data += byte
    value = json.loads(data)
    if not isinstance(value, dict):
        raise ValueError("a request line is a JSON object")
    return value


def pack_code(code: int) -> bytes:
    return struct.pack("!i", code)


def unpack_code(payload: bytes) -> int:
    return int(struct.unpack("!i", payload)[0])


def pack_tail(offset: int, limit: int) -> bytes:
    return _TAIL.pack(offset, limit)


def unpack_tail(payload: bytes) -> tuple[int, int]:
    offset, limit = _TAIL.unpack(payload)
    return int(offset), int(limit)


def error_payload(exc: BaseException) -> bytes:
    from expkit.ssh import ConnectionLost

    return json.dumps({"lost": isinstance(exc, ConnectionLost), "message": str(exc)}).encode()
