"""expkit.ssh: the one SSH layer of the remote targets (remotedocker, hdinsight, third parties).

Behind the extra ``expkit[ssh]``; paramiko is imported only when a connection
is made, so importing this package costs nothing. What it does:

- where to connect: ``~/.ssh/config`` (Host aliases, HostName, User, Port,
  IdentityFile, IdentitiesOnly, UserKnownHostsFile, ProxyJump), merged under
  what the target's ``.compute`` says (expkit.ssh.config);
- whom to trust: the host key checked against known_hosts; an unknown host is
  refused with its SHA256 fingerprint unless that exact fingerprint is given
  as ``trust`` (then it is added to known_hosts); a changed key is always
  refused, with both fingerprints (expkit.ssh.hostkeys);
- how to log in: the key files named, then ssh-agent, then the default keys
  in ``~/.ssh``, then a password only when the caller holds one in memory;
- one connection per (user, host, port) per process, reused by every step
  (:func:`connect`, expkit.ssh.login), with commands always given as argv lists
  and quoted with ``shlex.join`` (expkit.ssh.connection);
- and across processes, as OpenSSH's ControlPersist: a command that connected
  leaves a keeper holding the connection (expkit.ssh.keeper), which the next
  command uses through a private Unix socket without importing paramiko
  (expkit.ssh.kept, expkit.ssh.keepwire; EXPKIT_SSH_KEEP).

Why not invoke/Fabric: a command's live output is one select loop on the
channel here; Fabric would add 0.2 s of imports to every remote command and
its own config layer over ~/.ssh/config, which paramiko already reads.
"""

from __future__ import annotations

import types
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from expkit.errors import InfrastructureError

if TYPE_CHECKING:
    from typing import TypeAlias

    from expkit.ssh.connection import Connection
    from expkit.ssh.kept import KeptConnection

    #: What :func:`connect` returns: a direct connection, or one its keeper serves.
    Link: TypeAlias = Connection | KeptConnection

__all__ = [
    "AuthenticationFailed",
    "ConnectionLost",
    "HostKeyChanged",
    "HostKeyUnknown",
    "SshError",
    "SshTarget",
    "close_all",
    "connect",
]


class SshError(InfrastructureError):
    """An SSH connection could not be made or used."""


class ConnectionLost(SshError):
    """An established connection dropped (network, sshd killed, laptop asleep)."""


class AuthenticationFailed(SshError):
    pass


class HostKeyUnknown(SshError):
    """The host is not in known_hosts; ``fingerprint`` is what it offered (SHA256:...)."""

    exit_code = 2

    def __init__(self, message: str, fingerprint: str) -> None:
        super().__init__(message)
        self.fingerprint = fingerprint


class HostKeyChanged(SshError):
    """The host offered a key other than the one known_hosts holds: never accepted."""

    exit_code = 2


@dataclass(frozen=True)
class SshTarget:
    """Where and as whom to connect; ``host`` may be a ``~/.ssh/config`` alias.

    None means "what ~/.ssh/config says, else the ssh default". The password
    is for Workbench targets that still carry one: held in memory, never shown.
    """

    host: str
    port: int | None = None
    username: str | None = None
    key_file: str | None = None
    password: str | None = field(default=None, repr=False, compare=False)


def connect(target: SshTarget, *, trust: str | None = None, timeout: float = 15.0) -> Link:
    """The process's connection to ``target``: made (and checked) once, then reused.

    ``trust`` is a ``SHA256:...`` fingerprint the user confirmed for a host not
    yet in known_hosts. Raises HostKeyUnknown, HostKeyChanged,
    AuthenticationFailed or SshError with what to do.
    """
    from expkit.ssh.login import shared_connection

    return shared_connection(target, trust=trust, timeout=timeout)


def close_all() -> None:
    """Close every connection :func:`connect` made (also done at exit)."""
    from expkit.ssh import login

    login.close_all()


def defer_invoke() -> None:
    """Call before ``import paramiko``: paramiko.config imports ``invoke`` (~0.1 s) only
    for ``Match exec`` lines of an ssh config; it is then loaded on first use.

    Not importlib's LazyLoader: ``import invoke`` itself reads the module's
    ``__spec__``, which makes a lazy module load at once (measured, Python 3.11).
    """
    import sys

    if "invoke" in sys.modules:
        return
    from importlib.machinery import PathFinder

    spec = PathFinder.find_spec("invoke")
    if spec is not None:
        placeholder = _DeferredModule("invoke")
        placeholder.__spec__ = spec
        sys.modules["invoke"] = placeholder


class _DeferredModule(types.ModuleType):
    """Stands for a module until one of its attributes is used, then imports it."""

    def __getattr__(self, name: str):
        import importlib
        import sys

        if sys.modules.get(self.__name__) is self:
            del sys.modules[self.__name__]
        return getattr(importlib.import_module(self.__name__), name)
