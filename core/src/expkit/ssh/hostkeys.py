"""Host-key policy: known_hosts or nothing.

- known, same key: go on;
- known, other key: refused, always, with both fingerprints and the
  known_hosts line to look at (a changed key is what an attacker in the
  middle looks like; only the user can tell a re-installed VM from one);
- unknown: refused with the fingerprint the host offered, unless the caller
  passes exactly that fingerprint as ``trust`` (``--trust-host-key``), which
  the user checked out of band; it is then appended to the first known_hosts
  file, so later connections need nothing.

Fingerprints are written as OpenSSH writes them: ``SHA256:`` and the
unpadded base64 of the sha256 of the key blob (``ssh-keygen -lf``).
"""

from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path
from typing import Any

from expkit.ssh import HostKeyChanged, HostKeyUnknown
from expkit.ssh.config import Resolved


def fingerprint(key: Any) -> str:
    digest = hashlib.sha256(key.asbytes()).digest()
    return "SHA256:" + base64.b64encode(digest).decode("ascii").rstrip("=")


def _load(files: tuple[Path, ...]):
    from expkit.ssh import defer_invoke

    defer_invoke()
    import paramiko

    keys = paramiko.HostKeys()
    for path in files:
        if path.is_file():
            try:
                keys.load(str(path))
            except (OSError, ValueError):
                continue  # an unreadable line is skipped, as ssh does
    return keys


def known_types(resolved: Resolved) -> list[str]:
    """Key types known_hosts holds for the host: the transport asks for these first,
    so a host with several keys offers the one we can check."""
    entry = _load(resolved.known_hosts).lookup(resolved.host_id)
    return list(entry.keys()) if entry else []


def check(resolved: Resolved, key: Any, trust: str | None) -> None:
    """Accept ``key`` for ``resolved`` or raise HostKeyUnknown / HostKeyChanged."""
    offered = fingerprint(key)
    entry = _load(resolved.known_hosts).lookup(resolved.host_id)
    files = ", ".join(str(p) for p in resolved.known_hosts)
    if entry:
        known = entry.get(key.get_name())
        if known is not None and known.asbytes() == key.asbytes():
            return
        were = [f"{name} {fingerprint(k)}" for name, k in entry.items()]
        raise HostKeyChanged(
            f"the host key of {resolved.host_id} has CHANGED: it offered {key.get_name()} "
            f"{offered}, but {files} knows {', '.join(were)}.\n"
            "  Someone may be intercepting the connection, or the machine was re-installed. "
            "Check the new key with the machine's administrator; if it is right, remove the old "
            f"one (ssh-keygen -R {_quote_host(resolved.host_id)}) and attach again with "
            f"--trust-host-key {offered}."
        )
    if trust is not None and trust.strip() == offered:
        add(resolved, key)
        return
    wrong = ""
    if trust is not None:
        wrong = f" (--trust-host-key {trust} does not match it)"
    raise HostKeyUnknown(
        f"the host {resolved.host_id} is not in known_hosts ({files}); it offered "
        f"{key.get_name()} {offered}{wrong}.\n"
        "  Check that fingerprint on the machine itself (ssh-keygen -lf "
        "/etc/ssh/ssh_host_ed25519_key.pub), then attach with --trust-host-key "
        f"{offered}, or connect once with ssh to add it.",
        offered,
    )


def add(resolved: Resolved, key: Any) -> None:
    path = resolved.known_hosts[0]
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    line = f"{resolved.host_id} {key.get_name()} {key.get_base64()}\n"
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        with open(path, "rb") as current:
            data = current.read()
        if data and not data.endswith(b"\n"):
            line = "\n" + line
        os.write(fd, line.encode("ascii"))
    finally:
        os.close(fd)


def _quote_host(host_id: str) -> str:
    return f"'{host_id}'" if host_id.startswith("[") else host_id
