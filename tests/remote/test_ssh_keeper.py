"""The SSH connection keeper (expkit.ssh.keeper) against the real sshd of the remote
test host: the same answers as a direct connection, the next command without
paramiko, its end (idle, stopped, cut), who may use it; and ``exp`` through it.
"""

from __future__ import annotations

import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import remotehost
from e2e import record, release, setup_project, ssh_client_ports, started, wait_until
from expkit.ssh import ConnectionLost, SshError, SshTarget, connect, kept
from expkit.ssh.keepwire import socket_path
from expkit.ssh.kept import KeptConnection

HOSTILE = ["a b", "it's", 'say "hi"', "$(touch /tmp/pwned)", "`id`", "; rm -rf ~", "x\ny",
           "ünï", "*", "~", "-n", ""]  # fmt: skip


def target(remote) -> SshTarget:
    return SshTarget(host=remote.address, port=remote.port, username=remote.user)


@pytest.fixture
def runtime(monkeypatch) -> Iterator[Path]:
    """A private XDG_RUNTIME_DIR, short enough for a socket path; keepers on."""
    folder = Path(tempfile.mkdtemp(prefix="xk-", dir="/tmp"))
    folder.chmod(0o700)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(folder))
    monkeypatch.setenv("EXPKIT_SSH_KEEP", "60")
    yield folder
    for sock in folder.glob("expkit-ssh/*.sock"):
        _stop(sock)
    shutil.rmtree(folder, ignore_errors=True)


def _keeper_pid(sock: Path) -> int:
    with socket.socket(socket.AF_UNIX) as client:
        client.connect(str(sock))
        creds = client.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    return struct.unpack("3i", creds)[0]


def _stop(sock: Path) -> None:
    try:
        pid = _keeper_pid(sock)
    except OSError:
        return
    os.kill(pid, 15)
    wait_until(lambda: not Path(f"/proc/{pid}").exists() or _zombie(pid), 15, "the keeper's end")


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"
    except OSError:
        return True


def _kept(remote, keep: float = 60) -> KeptConnection:
    """Start a keeper for the host and attach to it."""
    kept.spawn(target(remote), keep)
    found = wait_until(lambda: kept.attach(target(remote)), 30, "the keeper to listen")
    assert isinstance(found, KeptConnection)
    return found


@pytest.fixture(params=["direct", "kept"])
def link(request, remote, ssh_home, runtime):
    if request.param == "direct":
        return connect(target(remote))
    return _kept(remote)


def test_kept_and_direct_connections_answer_alike(link, remote) -> None:
    out = link.run(["printf", "%s\\0", *HOSTILE], check=True).stdout
    assert out.decode().split("\0")[:-1] == HOSTILE
    result = link.script("cat; echo oops >&2; exit 7", input=b"in\n" * 50_000)
    assert (result.code, result.stdout, result.stderr) == (7, b"in\n" * 50_000, b"oops\n")
    with pytest.raises(SshError, match="exit 7"):
        link.script("exit 7", check=True, what="the check")
    seen: list[tuple[float, bytes]] = []
    code = link.stream(["sh", "-c", "echo one; sleep 0.5; echo two >&2; exit 3"],
                       lambda data: seen.append((time.monotonic(), data)))  # fmt: skip
    assert code == 3 and b"".join(d for _, d in seen) == b"one\ntwo\n"
    assert seen[-1][0] - seen[0][0] > 0.3  # live, not at the end

    home = link.run(["sh", "-c", 'echo "$HOME"']).text().strip()
    path = f"{home}/expkit keeper $(x) file"
    link.write_file(path, b"0123456789", 0o640)
    assert link.read_file(path, offset=4, limit=3) == b"456"
    assert link.exists(path) and not link.exists(path + ".none")
    assert link.read_file(path + ".none") is None
    assert link.run(["stat", "-c", "%a", path]).text().strip() == "640"
    growing = link.tail(path)
    assert growing.read(8) == b"89" and growing.read(10) == b""
    link.run(["sh", "-c", 'printf more >> "$1"', "sh", path], check=True)
    assert growing.read(10) == b"more"
    growing.close()
    absent = link.tail(path + ".none")
    assert absent.read(0) is None
    absent.close()
    link.run(["rm", "-f", path], check=True)

    sock = link.open_socket(["docker", "system", "dial-stdio"])
    sock.sendall(b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n")
    reply = b""
    while chunk := sock.recv(4096):
        reply += chunk
    sock.close()
    assert reply.startswith(b"HTTP/1.") and reply.endswith(b"OK")
    assert link.username == remote.user and remote.address in link.label


def test_many_quick_commands_at_once_keep_the_connection(link) -> None:
    """Quick commands in parallel: each channel's EOF must not follow its CLOSE
    (paramiko#1705, after which OpenSSH drops the whole connection)."""
    failures: list[BaseException] = []

    def work(n: int) -> None:
        try:
            for _ in range(15):
                assert link.run(["echo", str(n)]).stdout == f"{n}\n".encode()
                assert link.exists("/") and link.read_file("/etc/hostname") is not None
        except BaseException as exc:  # noqa: BLE001 - reported below
            failures.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert failures == [] and link.alive()


def test_the_next_command_uses_the_keeper_without_paramiko(remote, ssh_home, runtime) -> None:
    code = textwrap.dedent(f"""
        import sys
        from expkit.ssh import SshTarget, connect
        link = connect(SshTarget({remote.address!r}, {remote.port}, {remote.user!r}))
        print(type(link).__name__, link.run(["echo", "hi"]).text().strip(),
              "paramiko" in sys.modules)
    """)
    first = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert first.stdout.split() == ["Connection", "hi", "True"], first.stderr
    sock = socket_path(remote.address, remote.port, remote.user, None)
    assert sock is not None
    wait_until(sock.exists, 30, "the keeper the first command left")
    assert (sock.stat().st_mode & 0o777, sock.parent.stat().st_mode & 0o777) == (0o600, 0o700)
    second = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert second.stdout.split() == ["KeptConnection", "hi", "False"], second.stderr


def test_a_keeper_leaves_after_its_idle_time(remote, ssh_home, runtime) -> None:
    link = _kept(remote, keep=1)
    assert link.run(["true"]).ok
    sock = socket_path(remote.address, remote.port, remote.user, None)
    assert sock is not None
    wait_until(lambda: not sock.exists(), 15, "the idle keeper to leave")
    assert kept.attach(target(remote)) is None


def test_a_stopped_keeper_is_replaced_by_a_direct_connection(remote, ssh_home, runtime) -> None:
    link = _kept(remote)
    assert kept.stop(target(remote))
    wait_until(lambda: kept.attach(target(remote)) is None, 15, "the keeper to stop")
    assert link.run(["echo", "still"]).stdout == b"still\n"
    assert link.alive()


def test_a_cut_keeper_connection_is_lost_then_the_keeper_leaves(remote, ssh_home,
                                                                runtime) -> None:  # fmt: skip
    link = _kept(remote)
    sock = socket_path(remote.address, remote.port, remote.user, None)
    assert sock is not None
    pid = _keeper_pid(sock)

    def cut(_data: bytes) -> None:
        for port in ssh_client_ports(pid, remote):
            remotehost.kill_session(remote, port)

    with pytest.raises(ConnectionLost, match="dropped"):
        link.stream(["sh", "-c", "echo go; sleep 30"], cut)
    assert not link.alive()
    wait_until(lambda: not sock.exists(), 15, "the keeper to leave")
    again = connect(target(remote))
    assert again is not link and again.run(["true"]).ok


def test_only_its_own_user_is_served(remote, ssh_home, runtime) -> None:
    if os.getuid() != 0 or shutil.which("setpriv") is None:
        # As anyone else there is no other user to be; CI runs as root.
        if os.environ.get("CI") == "true" or os.environ.get("EXPKIT_REQUIRE_ENGINES") == "1":
            pytest.fail("this test runs as root, with setpriv (util-linux)")
        pytest.skip("needs root (to connect as another user) and setpriv")
    _kept(remote)
    sock = socket_path(remote.address, remote.port, remote.user, None)
    assert sock is not None
    # Open the folder and the socket to everyone: the keeper's peer check must hold.
    for path, mode in ((runtime, 0o755), (sock.parent, 0o755), (sock, 0o666)):
        path.chmod(mode)
    code = textwrap.dedent(f"""
        import socket
        s = socket.socket(socket.AF_UNIX)
        s.connect({str(sock)!r})
        try:
            s.sendall(b'{{"op": "run", "argv": ["id", "-un"]}}\\n')
            print(repr(s.recv(100)))
        except OSError:  # closed on us before the request went, or after
            print("refused")
    """)
    python = ["/usr/bin/python3", "-c", code]
    mine = subprocess.run(python, capture_output=True, text=True)
    assert remote.user in mine.stdout, mine.stdout + mine.stderr  # the same request, served
    other = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                            *python], capture_output=True, text=True)  # fmt: skip
    assert other.stdout.strip() in ("b''", "refused"), other.stdout + other.stderr


def test_exp_runs_through_the_keeper_and_a_cut_still_detaches(project, remote, tmp_path,
                                                              runtime) -> None:  # fmt: skip
    setup_project(project, remote, tmp_path)
    project.env.update(EXPKIT_SSH_KEEP="60", XDG_RUNTIME_DIR=str(runtime))
    project.write("train.py", "print('trained')\n")
    project.write(
        "slow.py",
        textwrap.dedent("""
        import os, time
        print("started", flush=True)
        while not os.path.exists("/expkit/run/go"):
            time.sleep(0.1)
        print("finished", flush=True)
    """),
    )
    first = project.exp("run", "-c", "gpuvm", "train.py")
    assert first.returncode == 0, first.output
    sock = wait_until(lambda: next(runtime.glob("expkit-ssh/*.sock"), None), 30, "a keeper")
    second = project.exp("run", "-c", "gpuvm", "train.py", env={"PYTHONPROFILEIMPORTTIME": "1"})
    assert second.returncode == 0, second.output
    assert "trained" in second.stdout
    imported = {line.rsplit("|", 1)[-1].strip() for line in second.stderr.splitlines()
                if line.startswith("import time:")}  # fmt: skip
    assert "expkit.ssh.kept" in imported and not any(n.startswith("paramiko") for n in imported)

    proc = project.popen("run", "-c", "gpuvm", "slow.py")
    folder = started(project)
    for port in ssh_client_ports(_keeper_pid(sock), remote):
        remotehost.kill_session(remote, port)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 75, out + err
    assert "goes on" in err
    release(remote, folder.name)
    follow = project.exp("runs", "logs", "-f", "3")
    assert follow.returncode == 0, follow.output
    assert "finished" in follow.stdout
    assert record(project, "3")["status"] == "completed"
