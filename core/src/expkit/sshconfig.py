"""Validation of the SSH connection options of targets reached over SSH.

Shared by the target plugins that connect over SSH (expkit-remotedocker,
expkit-hdinsight, third-party ones) from their ``expkit_attach``: checked
when the target is attached, so a typo surfaces at ``exp target attach``
rather than at the first run. Standard library only.

Secrets never pass through here: there is no password option, and a key file
inside the project folder is refused because the project is snapshotted,
committed and shared.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from expkit.errors import ConfigError

if TYPE_CHECKING:
    from expkit.model import AttachRequest

DEFAULT_SSH_PORT = 22
# Host names (RFC 1123 labels) and IPv4 addresses; IPv6 goes in brackets.
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOST = re.compile(rf"{_LABEL}(?:\.{_LABEL})*\.?")
_IPV6 = re.compile(r"[0-9A-Fa-f:.]+(?:%[A-Za-z0-9_.-]+)?")
# POSIX portable user names, plus the '.' and '@' some directories use; never
# starting with '-' (it would read as an ssh option).
_USER = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.@-]{0,63}")


@dataclass(frozen=True)
class SshOptions:
    """Validated connection facts, ready to be written to the ``.compute`` file."""

    host: str
    port: int
    username: str
    #: As written to the file: ``~/...`` kept (portable across users), else absolute.
    key_file: str | None = None

    @property
    def address(self) -> str:
        return f"[{self.host}]" if ":" in self.host else self.host

    def compute_entries(self) -> dict[str, object]:
        """The ``.compute`` keys (Workbench spelling) these options stand for."""
        entries: dict[str, object] = {
            "address": self.address,
            "port": self.port,
            "username": self.username,
        }
        if self.key_file:
            entries["keyFile"] = self.key_file
        return entries


def split_address(address: str) -> tuple[str, int | None]:
    """``host``, ``host:port``, ``[v6]`` or ``[v6]:port`` -> (host, port or None)."""
    text = address.strip()
    if not text:
        raise _bad_address(address, "it is empty")
    if "://" in text or "@" in text or "/" in text:
        raise _bad_address(
            address, "give only the host (and optionally :port), without scheme, user or path"
        )
    port_text: str | None = None
    if text.startswith("["):
        host, sep, rest = text[1:].partition("]")
        if not sep or (rest and not rest.startswith(":")) or not _IPV6.fullmatch(host):
            raise _bad_address(address, "an IPv6 address is written [addr] or [addr]:port")
        port_text = rest[1:] if rest else None
    elif text.count(":") == 1:
        host, port_text = text.split(":")
        if not _HOST.fullmatch(host):
            raise _bad_address(address, f"{host!r} is not a host name or IPv4 address")
    elif ":" in text:
        if not _IPV6.fullmatch(text):
            raise _bad_address(address, "not a host name or IP address")
        host = text
    else:
        host = text
        if not _HOST.fullmatch(host):
            raise _bad_address(address, f"{host!r} is not a host name or IPv4 address")
    port = check_port(port_text, option="--address") if port_text is not None else None
    return host, port


def check_port(value: object, *, option: str = "--port") -> int:
    try:
        port = int(str(value).strip())
    except ValueError:
        port = 0
    if not 1 <= port <= 65535:
        raise ConfigError(
            f"port {value!r} is not a TCP port number",
            key=option,
            hint="use a number from 1 to 65535 (SSH listens on 22 by default).",
        )
    return port


def check_key_file(key_file: str, project: Path) -> str:
    """The key file as it should be written; refused when missing or inside ``project``."""
    given = Path(key_file).expanduser()
    path = given if given.is_absolute() else Path.cwd() / given
    if not path.is_file():
        raise ConfigError(
            f"key file {key_file!r} not found" + ("" if path.exists() else f" (looked at {path})"),
            key="--key-file",
            hint="give the path of an SSH private key, e.g. --key-file ~/.ssh/id_ed25519.",
        )
    root = project.resolve()
    for candidate in (path.absolute(), path.resolve()):
        if candidate == root or root in candidate.parents:
            raise ConfigError(
                f"key file {key_file!r} is inside the project folder {root}",
                key="--key-file",
                hint=(
                    "a private key must never be part of the project: every run snapshots "
                    "it and it is easily committed. Move the key out (e.g. to ~/.ssh/) and "
                    "attach again with --key-file pointing there."
                ),
            )
    if key_file.startswith("~"):
        return key_file
    return str(path.absolute())


def ssh_options(
    *,
    address: str | None,
    username: str | None,
    port: int | None,
    key_file: str | None,
    project: Path,
    what: str,
) -> SshOptions:
    """Check the connection options of ``exp target attach`` for a ``what`` target."""
    if not address:
        raise ConfigError(
            f"{what} needs --address",
            key="--address",
            hint="give the host name or IP address of the machine (host or host:port).",
        )
    host, address_port = split_address(address)
    if port is not None:
        port = check_port(port)
        if address_port is not None and address_port != port:
            raise ConfigError(
                f"--address says port {address_port} but --port says {port}",
                key="--port",
                hint="give the port once, either as host:port or with --port.",
            )
    if not username:
        raise ConfigError(
            f"{what} needs --username",
            key="--username",
            hint="give the SSH user name on that machine (password login is not supported).",
        )
    if not _USER.fullmatch(username):
        raise ConfigError(
            f"user name {username!r} is not valid",
            key="--username",
            hint="use letters, digits, '_', '.', '-' (not first) and '@'.",
        )
    return SshOptions(
        host=host,
        port=port or address_port or DEFAULT_SSH_PORT,
        username=username,
        key_file=check_key_file(key_file, project) if key_file else None,
    )


def attach_ssh_options(request: AttachRequest, *, what: str) -> SshOptions:
    """:func:`ssh_options` for the options of an ``exp target attach`` request."""
    return ssh_options(
        address=request.address,
        username=request.username,
        port=request.port,
        key_file=request.key_file,
        project=request.project,
        what=what,
    )


def _bad_address(address: str, why: str) -> ConfigError:
    return ConfigError(
        f"address {address!r} is not valid: {why}",
        key="--address",
        hint="e.g. --address gpuvm.example.com, --address 192.0.2.4:2222 "
        "or --address [fd00::4]:22.",
    )
