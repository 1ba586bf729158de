"""One SSH connection: commands with quoting and live output, files, bridged channels.

Every command is an argv list; the remote login shell receives it joined
with ``shlex.join``, so spaces, quotes, ``$(...)``, ``;`` and newlines in any
argument arrive literally. Shell logic a caller needs goes in a constant
script run as ``sh -c SCRIPT sh ARG...`` (:meth:`Connection.script`), whose
arguments are quoted the same way.

How connections are made and shared is expkit.ssh.login's: once per
process per (user, host, port), and reused: an exec channel on a live
connection costs one round trip, a new connection a key exchange and
authentication.
"""

from __future__ import annotations

import shlex
import socket
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import IO, Any

from expkit.ssh import ConnectionLost, SshError
from expkit.ssh.config import Resolved

_CHUNK = 1 << 16


@dataclass(frozen=True)
class Result:
    code: int
    stdout: bytes
    stderr: bytes

    @property
    def ok(self) -> bool:
        return self.code == 0

    def text(self) -> str:
        return self.stdout.decode("utf-8", "replace")

    def error_text(self) -> str:
        return self.stderr.decode("utf-8", "replace").strip()


class Connection:
    """A live, authenticated connection to one host (made by :func:`expkit.ssh.connect`)."""

    def __init__(self, resolved: Resolved, transport: Any, jump: Connection | None = None) -> None:
        self.resolved = resolved
        self.transport = transport
        self._jump = jump
        self._sftp: Any = None
        self._lock = threading.Lock()
        # paramiko's SFTPClient is not safe for requests from several threads at once
        # (one thread can read another's reply, and its owner then waits for ever):
        # its users take turns (a keeper serves many requests at a time).
        self._sftp_turn = threading.RLock()

    @property
    def label(self) -> str:
        return self.resolved.label

    @property
    def username(self) -> str:
        return self.resolved.username

    def alive(self) -> bool:
        return bool(self.transport.is_active())

    # ------------------------------------------------------------------ commands

    def _channel(self, argv: Sequence[str]):
        if not argv:
            raise ValueError("an empty command")
        command = shlex.join(str(a) for a in argv)
        try:
            channel = self.transport.open_session(timeout=30)
            channel.exec_command(command)
        except Exception as exc:  # noqa: BLE001 - paramiko's SSHException, EOFError, OSError
            raise self.lost(exc) from None
        return channel

    def lost(self, exc: BaseException | None = None) -> SshError:
        why = f" ({type(exc).__name__}: {exc})" if exc is not None and str(exc) else ""
        if not self.alive():
            return ConnectionLost(f"the SSH connection to {self.label} dropped{why}")
        return SshError(f"SSH to {self.label} failed{why}")

    def run(
        self,
        argv: Sequence[str],
        *,
        input: bytes | IO[bytes] | None = None,
        check: bool = False,
        what: str | None = None,
        stdout: IO[bytes] | None = None,
    ) -> Result:
        """Run ``argv`` on the host and return its exit code, stdout and stderr.

        ``input`` (bytes or a binary file, streamed) is its stdin. ``stdout``
        (a binary file) receives the output as it comes instead of the
        result (for archives: nothing large is held in memory). With
        ``check``, a non-zero exit raises SshError naming ``what``.
        """
        channel = self._channel(argv)
        errors: list[bytes] = []
        reader = threading.Thread(
            target=lambda: errors.append(channel.makefile_stderr("rb").read()), daemon=True
        )
        reader.start()
        try:
            if input is not None:
                _send(channel, input)
            _end_input(channel)
            if stdout is None:
                out = channel.makefile("rb").read()
            else:
                out = b""
                while chunk := channel.recv(_CHUNK):
                    stdout.write(chunk)
            reader.join()
            code = channel.recv_exit_status()
        except Exception as exc:  # noqa: BLE001
            raise self.lost(exc) from None
        finally:
            channel.close()
        if code == -1:  # no exit status: the channel closed under the command
            raise self.lost()
        result = Result(code, out, b"".join(errors))
        if check and not result.ok:
            detail = result.error_text() or result.text().strip()
            raise SshError(
                f"{what or shlex.join(argv)} failed on {self.label} (exit {code}): {detail}"
            )
        return result

    def script(self, script: str, *args: str, **kwargs: Any) -> Result:
        """``sh -c SCRIPT sh ARGS...``: a constant script, its variable parts as $1, $2..."""
        return self.run(["sh", "-c", script, "sh", *args], **kwargs)

    def stream(
        self,
        argv: Sequence[str],
        on_output: Callable[[bytes], None],
        *,
        input: bytes | IO[bytes] | None = None,
    ) -> int:
        """Run ``argv`` with stdout and stderr merged, handing each chunk to ``on_output``
        as it arrives; return the exit code. ConnectionLost when the connection drops."""
        channel = self._channel(argv)
        channel.set_combine_stderr(True)
        try:
            if input is not None:
                _send(channel, input)
            _end_input(channel)
            while True:
                data = channel.recv(_CHUNK)
                if not data:
                    break
                on_output(data)
            code = channel.recv_exit_status()
        except Exception as exc:  # noqa: BLE001
            raise self.lost(exc) from None
        finally:
            channel.close()
        if code == -1:
            raise self.lost()
        return code

    def open_socket(self, argv: Sequence[str]) -> socket.socket:
        """A local socket whose other end is ``argv``'s stdin/stdout on the host.

        For protocols spoken over a command's standard streams (``docker system
        dial-stdio``, ``nc``): the caller uses an ordinary socket (http.client,
        select, timeouts) and a thread moves the bytes. Closing the socket
        ends the remote command's stdin.
        """
        channel = self._channel(argv)
        mine, theirs = socket.socketpair()
        threading.Thread(target=_pump, args=(theirs, channel), daemon=True).start()
        return mine

    # ------------------------------------------------------------------ files

    def sftp(self):
        with self._lock:
            if self._sftp is None:
                try:
                    self._sftp = self.transport.open_sftp_client()
                except Exception as exc:  # noqa: BLE001
                    raise self.lost(exc) from None
            return self._sftp

    def read_file(self, path: str, offset: int = 0, limit: int = 1 << 22) -> bytes | None:
        """Up to ``limit`` bytes of ``path`` from ``offset``; None when it does not exist."""
        sftp = self.sftp()
        try:
            with self._sftp_turn, sftp.open(path, "rb") as handle:
                if offset:
                    handle.seek(offset)
                return handle.read(limit)
        except FileNotFoundError:
            return None
        except OSError as exc:
            if not self.alive():
                raise self.lost(exc) from None
            raise SshError(f"cannot read {path} on {self.label}: {exc}") from None
        except Exception as exc:  # noqa: BLE001
            raise self.lost(exc) from None

    def tail(self, path: str) -> Tail:
        """A reader of a file that grows (a run's log): one open handle, read at offsets."""
        return Tail(self, path)

    def exists(self, path: str) -> bool:
        try:
            sftp = self.sftp()
            with self._sftp_turn:
                sftp.stat(path)
            return True
        except FileNotFoundError:
            return False
        except Exception as exc:  # noqa: BLE001
            raise self.lost(exc) from None

    def write_file(self, path: str, data: bytes, mode: int = 0o600) -> None:
        """Write ``path`` atomically (a temporary name, then rename over it)."""
        sftp = self.sftp()
        temp = f"{path}.tmp-{threading.get_ident()}"
        try:
            with self._sftp_turn:
                with sftp.open(temp, "wb") as handle:
                    handle.set_pipelined(True)
                    handle.write(data)
                sftp.chmod(temp, mode)
                sftp.posix_rename(temp, path)
        except Exception as exc:  # noqa: BLE001
            raise (
                self.lost(exc)
                if not self.alive()
                else SshError(f"cannot write {path} on {self.label}: {exc}")
            ) from None

    def close(self) -> None:
        try:
            self.transport.close()
        finally:
            if self._jump is not None:
                self._jump.close()


class Tail:
    """``read(offset, limit)``: the bytes of a growing remote file from ``offset``
    (b"" when nothing new), None while the file does not exist yet."""

    def __init__(self, connection: Connection, path: str) -> None:
        self._connection, self._path = connection, path
        self._handle: Any = None

    def read(self, offset: int, limit: int = 1 << 20) -> bytes | None:
        try:
            sftp = self._connection.sftp()
            with self._connection._sftp_turn:
                if self._handle is None:
                    try:
                        self._handle = sftp.open(self._path, "rb")
                    except FileNotFoundError:
                        return None
                self._handle.seek(offset)
                return bytes(self._handle.read(limit))
        except SshError:
            raise
        except Exception as exc:  # noqa: BLE001 - paramiko's errors, EOFError, OSError
            raise self._connection.lost(exc) from None

    def close(self) -> None:
        if self._handle is not None:
            try:
                with self._connection._sftp_turn:
                    self._handle.close()
            except Exception:  # noqa: BLE001 - a dropped connection
                pass
            self._handle = None


def _end_input(channel: Any) -> None:
    """Send EOF on the channel's stdin, unless the channel is closed already.

    Not paramiko's ``shutdown_write``: it builds the EOF under the channel's lock
    but sends it after letting go, so when a quick command ends at that moment,
    the transport thread's CLOSE can overtake it, and OpenSSH drops the whole
    connection over an EOF for a freed channel ("ieof packet referred to
    nonexistent channel", paramiko#1705). Sent under the lock, the EOF goes
    first or not at all.
    """
    if not hasattr(channel, "_send_eof"):  # a paramiko without these internals
        channel.shutdown_write()
        return
    with channel.lock:
        if channel.closed or channel.eof_sent:
            return
        message = channel._send_eof()
        if message is not None and channel.transport is not None:
            channel.transport._send_user_message(message)


def _send(channel: Any, data: bytes | IO[bytes]) -> None:
    if isinstance(data, (bytes, bytearray, memoryview)):
        channel.sendall(bytes(data))
        return
    while chunk := data.read(_CHUNK):
        channel.sendall(chunk)


def _pump(local: socket.socket, channel: Any) -> None:
    """Move bytes between a socketpair end and a channel until both sides are done."""
    import select

    local_open = remote_open = True
    try:
        while local_open or remote_open:
            watched = [s for s, o in ((local, local_open), (channel, remote_open)) if o]
            ready, _, _ = select.select(watched, [], [], 5)
            if local in ready:
                data = local.recv(_CHUNK)
                if data:
                    channel.sendall(data)
                else:
                    local_open = False
                    _end_input(channel)
            if channel in ready:
                data = channel.recv(_CHUNK)
                if data:
                    local.sendall(data)
                else:
                    remote_open = False
                    local.shutdown(socket.SHUT_WR)
            if channel.closed and remote_open and not channel.recv_ready():
                remote_open = False
                local.shutdown(socket.SHUT_WR)
    except OSError:
        pass
    finally:
        channel.close()
        local.close()
