"""Where to connect and how: a target's own settings over ``~/.ssh/config``.

The target's ``.compute`` wins where it says something (address, port,
username, keyFile); ``~/.ssh/config`` fills the rest, as ``ssh`` itself does
for options given on its command line. Host aliases work: ``address: gpuvm``
with ``Host gpuvm / HostName 10.0.0.7`` connects to 10.0.0.7.
"""

from __future__ import annotations

import getpass
import os
from dataclasses import dataclass
from pathlib import Path

from expkit.ssh import SshError, SshTarget

DEFAULT_KEYS = ("id_ed25519", "id_ecdsa", "id_rsa")


def ssh_dir() -> Path:
    return Path(os.path.expanduser("~")) / ".ssh"


@dataclass(frozen=True)
class Resolved:
    """A target with ``~/.ssh/config`` applied: everything a connection needs."""

    alias: str
    hostname: str
    port: int
    username: str
    #: Key files to try, in order (the target's, then IdentityFile lines).
    key_files: tuple[str, ...]
    #: IdentitiesOnly: only the named keys, not the agent's nor the default ones.
    identities_only: bool
    known_hosts: tuple[Path, ...]
    proxy_jump: str | None

    @property
    def host_id(self) -> str:
        """How known_hosts names the host: ``host``, or ``[host]:port`` off port 22."""
        return self.hostname if self.port == 22 else f"[{self.hostname}]:{self.port}"

    @property
    def label(self) -> str:
        return f"{self.username}@{self.hostname}:{self.port}"


def _lookup(alias: str) -> dict:
    path = ssh_dir() / "config"
    if not path.is_file():
        return {}
    from expkit.ssh import defer_invoke

    defer_invoke()
    import paramiko

    try:
        config = paramiko.SSHConfig.from_path(str(path))
        return dict(config.lookup(alias))
    except Exception as exc:  # noqa: BLE001 - paramiko raises several kinds for a bad file
        raise SshError(
            f"cannot read {path}: {exc}\n  fix that line, or move the file away."
        ) from None


def resolve(target: SshTarget) -> Resolved:
    found = _lookup(target.host)
    hostname = found.get("hostname") or target.host
    if target.port is not None:
        port = target.port
    else:
        try:
            port = int(found.get("port") or 22)
        except ValueError:
            raise SshError(
                f"~/.ssh/config: Port {found.get('port')!r} for {target.host} is not a number"
            ) from None
    username = target.username or found.get("user") or getpass.getuser()
    keys: list[str] = []
    if target.key_file:
        keys.append(os.path.expanduser(target.key_file))
    keys += [os.path.expanduser(k) for k in found.get("identityfile") or ()]
    identities_only = str(found.get("identitiesonly", "no")).lower() == "yes"
    files = found.get("userknownhostsfile")
    if files:
        known = tuple(Path(os.path.expanduser(f)) for f in str(files).split())
    else:
        known = (ssh_dir() / "known_hosts",)
    jump = found.get("proxyjump")
    if jump and str(jump).lower() == "none":
        jump = None
    return Resolved(
        alias=target.host, hostname=hostname, port=port, username=username,
        key_files=tuple(dict.fromkeys(keys)), identities_only=identities_only,
        known_hosts=known, proxy_jump=str(jump) if jump else None,
    )  # fmt: skip


def default_key_files() -> list[str]:
    return [str(ssh_dir() / name) for name in DEFAULT_KEYS if (ssh_dir() / name).is_file()]


def parse_jump(text: str) -> SshTarget:
    """The first hop of a ProxyJump value (``[user@]host[:port]``)."""
    first = text.split(",")[0].strip()
    user, _, rest = first.rpartition("@")
    host, port = rest, None
    if rest.startswith("["):
        host, _, tail = rest[1:].partition("]")
        port = int(tail[1:]) if tail.startswith(":") else None
    elif rest.count(":") == 1:
        host, port_text = rest.split(":")
        port = int(port_text)
    return SshTarget(host=host, port=port, username=user or None)
