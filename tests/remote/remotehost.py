"""The remote test host (scripts/remote/up.sh) as seen from tests: facts and helpers.

Reusable by any test of a target reached over SSH (``sys.path`` insert of this
folder, as tests/remote/conftest.py does): :func:`host` reads
scripts/remote/env.sh, checks the host answers (skip, or fail under
``EXPKIT_REQUIRE_ENGINES=1``/``CI=true``), and :func:`make_home` writes a
``HOME`` whose ``~/.ssh`` trusts it and holds the client key.
"""

from __future__ import annotations

import functools
import os
import shutil
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
ENV_SCRIPT = REPO / "scripts" / "remote" / "env.sh"
REQUIRE = os.environ.get("EXPKIT_REQUIRE_ENGINES") == "1" or os.environ.get("CI") == "true"


@dataclass(frozen=True)
class RemoteHost:
    netns: str
    address: str
    host_ip: str
    port: int
    user: str
    key: Path
    known_hosts: Path
    docker_sock: str
    proxy: str
    state: Path
    base_image: str
    password_user: str = "expkit-pw"
    password: str = "expkit-test-password"

    def docker(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        """The docker CLI against the host's own engine (not this machine's)."""
        return subprocess.run(["docker", "-H", f"unix://{self.docker_sock}", *args],
                              capture_output=True, text=True, timeout=timeout)  # fmt: skip

    def ssh(self, command: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        """OpenSSH's own client, as the test user (checks from outside expkit)."""
        return subprocess.run(
            ["ssh", "-F", str(self.state / "client" / "ssh_config"), "-o", "BatchMode=yes",
             "expkit-remote", command],
            capture_output=True, text=True, timeout=timeout,
        )  # fmt: skip

    def host_key_line(self) -> str:
        return self.known_hosts.read_text().strip()


def _problem(message: str) -> None:
    if REQUIRE:
        pytest.fail(f"remote test host: {message} (run scripts/remote/up.sh)")
    pytest.skip(f"remote test host: {message} (run scripts/remote/up.sh)")


@functools.lru_cache(maxsize=1)
def _facts() -> dict[str, str]:
    out = subprocess.run(["bash", "-c", f'. "{ENV_SCRIPT}" && env -0'],
                         capture_output=True, check=True, timeout=30)  # fmt: skip
    pairs = (item.split("=", 1) for item in out.stdout.decode().split("\0") if "=" in item)
    return {k: v for k, v in pairs if k.startswith("EXPKIT_")}


def host() -> RemoteHost:
    """The host's facts, once it answers on its SSH port; skip/fail when it does not."""
    facts = _facts()
    found = RemoteHost(
        netns=facts["EXPKIT_REMOTE_NETNS"], address=facts["EXPKIT_REMOTE_ADDR"],
        host_ip=facts["EXPKIT_REMOTE_HOST_IP"], port=int(facts["EXPKIT_REMOTE_SSH_PORT"]),
        user=facts["EXPKIT_REMOTE_USER"], key=Path(facts["EXPKIT_REMOTE_KEY"]),
        known_hosts=Path(facts["EXPKIT_REMOTE_KNOWN_HOSTS"]),
        docker_sock=facts["EXPKIT_REMOTE_DOCKER_SOCK"], proxy=facts["EXPKIT_REMOTE_PROXY"],
        state=Path(facts["EXPKIT_REMOTE_STATE"]), base_image=facts["EXPKIT_BASE_IMAGE"],
    )  # fmt: skip
    if not found.key.is_file() or not found.known_hosts.is_file():
        _problem(f"no client key at {found.key}")
    try:
        socket.create_connection((found.address, found.port), timeout=3).close()
    except OSError as exc:
        _problem(f"nothing answers on {found.address}:{found.port} ({exc})")
    if (
        shutil.which("docker") is None
        or found.docker("image", "inspect", found.base_image).returncode
    ):
        _problem(f"its engine ({found.docker_sock}) lacks {found.base_image}")
    return found


def make_home(root: Path, remote: RemoteHost, *, trusted: bool = True, alias: bool = True) -> Path:
    """A HOME whose ~/.ssh has the client key, known_hosts (when ``trusted``) and a
    ``Host expkit-remote`` alias (when ``alias``)."""
    ssh = root / ".ssh"
    ssh.mkdir(parents=True, mode=0o700, exist_ok=True)
    shutil.copy(remote.key, ssh / "id_ed25519")
    (ssh / "id_ed25519").chmod(0o600)
    shutil.copy(f"{remote.key}.pub", ssh / "id_ed25519.pub")
    if trusted:
        (ssh / "known_hosts").write_text(remote.host_key_line() + "\n")
    if alias:
        (ssh / "config").write_text(
            f"Host expkit-remote\n    HostName {remote.address}\n    Port {remote.port}\n"
            f"    User {remote.user}\n    IdentityFile {ssh / 'id_ed25519'}\n"
        )
    return root


def use_home(root: Path, remote: RemoteHost, monkeypatch) -> Path:
    """Point this process's HOME at a fresh :func:`make_home` and drop SSH connections
    made under the previous one (expkit.ssh reuses them per process)."""
    import expkit.ssh

    home = make_home(root, remote)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)
    expkit.ssh.close_all()
    return home


def host_fingerprint(remote: RemoteHost) -> str:
    out = subprocess.run(["ssh-keygen", "-lf", str(remote.known_hosts)],
                         capture_output=True, text=True, check=True)  # fmt: skip
    return out.stdout.split()[1]


def kill_session(remote: RemoteHost, client_port: int) -> list[int]:
    """SIGKILL the sshd processes serving the connection from local port ``client_port``
    (a cut connection, as a dropped network or a killed session looks from the client)."""
    out = subprocess.run(
        ["nsenter", f"--net=/var/run/netns/{remote.netns}", "ss", "-tnpH",
         f"( sport = :{remote.port} and dport = :{client_port} )"],
        capture_output=True, text=True, check=True, timeout=10,
    ).stdout  # fmt: skip
    import re

    pids = sorted({int(p) for p in re.findall(r"pid=(\d+)", out)})
    for pid in pids:
        # The session's own process and its privilege-separated child.
        subprocess.run(["pkill", "-KILL", "-P", str(pid)], capture_output=True)
        try:
            os.kill(pid, 9)
        except ProcessLookupError:
            pass  # gone with its child
    return pids


def host_fingerprint_of(pub: str | Path) -> str:
    out = subprocess.run(["ssh-keygen", "-lf", str(pub)], capture_output=True, text=True,
                         check=True)  # fmt: skip
    return out.stdout.split()[1]
