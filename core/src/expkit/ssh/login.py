"""Making and sharing SSH connections: TCP or ProxyJump, the host key checked,
authentication; one connection per process per target, or its keeper's.

A new connection costs a key exchange and authentication (and paramiko's
import, ~0.1 s): :func:`shared_connection` makes it once per process, and
uses the target's keeper (expkit.ssh.keeper) when one runs, so a command
after the first makes none.
"""

from __future__ import annotations

import atexit
import socket
import threading
from typing import Any

from expkit.ssh import AuthenticationFailed, SshError, SshTarget
from expkit.ssh.config import Resolved, default_key_files, parse_jump, resolve
from expkit.ssh.connection import Connection

_connections: dict[tuple, Any] = {}
_lock = threading.RLock()  # re-entered: a ProxyJump hop connects inside a connect
_to_keep: dict[tuple, SshTarget] = {}


def shared_connection(target: SshTarget, *, trust: str | None, timeout: float) -> Any:
    """The process's connection to ``target``: its keeper's when one runs, else a
    direct one (and, at exit, a keeper is started for the next command).

    Targets with a password, and a first connection that trusts a new host
    key, are always direct: the keeper holds keys only through what the user
    already set up, and checks the host as known_hosts says.
    """
    from expkit.ssh import keepwire

    key = (target.host, target.port, target.username, target.key_file)
    with _lock:
        found = _connections.get(key)
        if found is not None and found.alive():
            return found
        keep = keepwire.keep_seconds() if target.password is None and trust is None else 0
        connection: Any = None
        if keep:
            from expkit.ssh import kept

            connection = kept.attach(target)
        if connection is None:
            connection = open_connection(target, trust=trust, timeout=timeout)
            if keep:
                keep_at_exit(target)
        _connections[key] = connection
        return connection


def keep_at_exit(target: SshTarget) -> None:
    """Start a keeper for ``target`` when this process exits."""
    with _lock:
        _to_keep[(target.host, target.port, target.username, target.key_file)] = target


@atexit.register
def close_all() -> None:
    with _lock:
        for connection in _connections.values():
            try:
                connection.close()
            except Exception:  # noqa: BLE001 - best effort at exit
                pass
        _connections.clear()


@atexit.register
def _start_keepers() -> None:
    """At exit, not during the command: a keeper's own start (imports, a key
    exchange) then takes nothing from the command's run."""
    with _lock:
        if not _to_keep:
            return
        from expkit.ssh import keepwire, kept

        keep = keepwire.keep_seconds()
        for target in _to_keep.values() if keep else ():
            kept.spawn(target, keep)
        _to_keep.clear()


def open_connection(target: SshTarget, *, trust: str | None, timeout: float) -> Connection:
    """A new connection (no reuse): TCP or ProxyJump, host key check, authentication."""
    from expkit.ssh import defer_invoke

    defer_invoke()
    import paramiko

    from expkit.ssh import hostkeys

    resolved = resolve(target)
    jump = None
    if resolved.proxy_jump:
        jump = shared_connection(parse_jump(resolved.proxy_jump), trust=None, timeout=timeout)
        try:
            sock = jump.transport.open_channel(
                "direct-tcpip", (resolved.hostname, resolved.port), ("127.0.0.1", 0),
                timeout=timeout,
            )  # fmt: skip
        except Exception as exc:  # noqa: BLE001
            raise SshError(
                f"the jump host {jump.label} could not reach {resolved.hostname}:"
                f"{resolved.port}: {exc}"
            ) from None
    else:
        sock = _tcp(resolved, timeout)
    transport = paramiko.Transport(sock)
    try:
        known = hostkeys.known_types(resolved)
        if known:
            options = transport.get_security_options()
            wanted = set(known)
            if "ssh-rsa" in wanted:
                wanted |= {"rsa-sha2-256", "rsa-sha2-512"}
            preferred = [t for t in options.key_types if t in wanted]
            if preferred:
                options.key_types = preferred
        try:
            transport.start_client(timeout=timeout)
        except Exception as exc:  # noqa: BLE001
            raise SshError(
                f"no SSH handshake with {resolved.hostname}:{resolved.port} ({exc}).\n"
                "  check that an SSH server listens there."
            ) from None
        hostkeys.check(resolved, transport.get_remote_server_key(), trust)
        _authenticate(transport, resolved, target.password)
        transport.set_keepalive(15)
    except BaseException:
        transport.close()
        raise
    return Connection(resolved, transport, None)


def _tcp(resolved: Resolved, timeout: float) -> socket.socket:
    where = f"{resolved.hostname}:{resolved.port}"
    try:
        return socket.create_connection((resolved.hostname, resolved.port), timeout=timeout)
    except socket.gaierror as exc:
        raise SshError(
            f"cannot resolve host {resolved.hostname!r} ({exc.strerror}).\n"
            "  check the target's address (or its Host entry in ~/.ssh/config)."
        ) from None
    except ConnectionRefusedError:
        raise SshError(
            f"connection to {where} refused: no SSH server listens there.\n"
            "  check the address and port, and that sshd runs on the machine."
        ) from None
    except TimeoutError:
        raise SshError(
            f"no answer from {where} within {timeout:g}s: the machine is down, or a "
            "firewall drops the connection."
        ) from None
    except OSError as exc:
        raise SshError(f"cannot connect to {where}: {exc.strerror or exc}") from None


def _authenticate(transport: Any, resolved: Resolved, password: str | None) -> None:
    from expkit.ssh import defer_invoke

    defer_invoke()
    import paramiko

    user = resolved.username
    tried: list[str] = []
    notes: list[str] = []

    def attempt(key: Any, label: str) -> bool:
        tried.append(label)
        try:
            transport.auth_publickey(user, key)
        except paramiko.AuthenticationException:
            return False
        except paramiko.SSHException as exc:
            raise SshError(f"SSH authentication to {resolved.label} failed: {exc}") from None
        return transport.is_authenticated()

    files = list(resolved.key_files)
    for path in files:
        key = _load_key(path, explicit=True, notes=notes)
        if key is not None and attempt(key, path):
            return
    if not resolved.identities_only:
        try:
            agent_keys = paramiko.Agent().get_keys()
        except Exception:  # noqa: BLE001 - no agent, or one that does not answer
            agent_keys = ()
        for key in agent_keys:
            if attempt(key, f"ssh-agent key {key.get_name()}"):
                return
        for path in default_key_files():
            if path in files:
                continue
            key = _load_key(path, explicit=False, notes=notes)
            if key is not None and attempt(key, path):
                return
    if password:
        tried.append("the password from the .compute file")
        try:
            transport.auth_password(user, password)
        except paramiko.AuthenticationException:
            pass
        if transport.is_authenticated():
            return
    what = ", ".join(tried) if tried else "no key (none named, no agent, nothing in ~/.ssh)"
    extra = "".join(f"\n  note: {n}" for n in notes)
    raise AuthenticationFailed(
        f"{resolved.label} did not accept {what}.{extra}\n"
        f"  put your public key on the machine (ssh-copy-id -i ~/.ssh/id_ed25519.pub "
        f"{user}@{resolved.hostname}), then name the key with --key-file or in ~/.ssh/config."
    )


def _load_key(path: str, *, explicit: bool, notes: list[str]) -> Any:
    from expkit.ssh import defer_invoke

    defer_invoke()
    import paramiko

    try:
        return paramiko.PKey.from_path(path)
    except FileNotFoundError:
        if explicit:
            notes.append(f"key file {path} does not exist")
        return None
    except paramiko.PasswordRequiredException:
        notes.append(f"{path} is protected by a passphrase: add it to ssh-agent (ssh-add {path})")
        return None
    except (paramiko.SSHException, ValueError, OSError) as exc:
        notes.append(f"cannot use key file {path}: {exc}")
        return None
