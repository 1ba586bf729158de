"""expkit.ssh against a real sshd (the remote test host): trust, login, commands, files."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import remotehost
from expkit.ssh import (
    AuthenticationFailed,
    ConnectionLost,
    HostKeyChanged,
    HostKeyUnknown,
    SshError,
    SshTarget,
    connect,
)
from expkit.ssh.config import resolve


def target(remote, **kw) -> SshTarget:
    kw.setdefault("username", remote.user)
    return SshTarget(host=remote.address, port=remote.port, **kw)


def test_known_host_connects_and_is_reused(remote, ssh_home) -> None:
    first = connect(target(remote))
    assert first.run(["id", "-un"], check=True).text().strip() == remote.user
    assert connect(target(remote)) is first  # one connection per process


def test_alias_user_and_key_from_ssh_config(remote, ssh_home) -> None:
    resolved = resolve(SshTarget(host="expkit-remote"))
    assert (resolved.hostname, resolved.port, resolved.username) == (
        remote.address, remote.port, remote.user,
    )  # fmt: skip
    connection = connect(SshTarget(host="expkit-remote"))
    assert connection.run(["hostname"]).ok


def test_unknown_host_refused_with_fingerprint_until_trusted(remote, ssh_home) -> None:
    (ssh_home / ".ssh" / "known_hosts").unlink()
    expected = remotehost.host_fingerprint(remote)
    with pytest.raises(HostKeyUnknown) as info:
        connect(target(remote))
    assert info.value.fingerprint == expected
    assert expected in str(info.value) and "--trust-host-key" in str(info.value)
    with pytest.raises(HostKeyUnknown, match="does not match"):
        connect(target(remote), trust="SHA256:" + "A" * 43)
    assert connect(target(remote), trust=expected).run(["true"]).ok
    # Now known: OpenSSH itself accepts the line written.
    known = (ssh_home / ".ssh" / "known_hosts").read_text()
    assert remote.address in known
    check = subprocess.run(
        ["ssh-keygen", "-F", remote.address, "-f", str(ssh_home / ".ssh" / "known_hosts")],
        capture_output=True, text=True,
    )  # fmt: skip
    assert check.returncode == 0


def test_changed_host_key_is_always_refused(remote, ssh_home, tmp_path: Path) -> None:
    other = tmp_path / "other"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other)], check=True)
    (ssh_home / ".ssh" / "known_hosts").write_text(
        f"{remote.address} {' '.join(Path(f'{other}.pub').read_text().split()[:2])}\n"
    )
    offered = remotehost.host_fingerprint(remote)
    for trust in (None, offered):
        with pytest.raises(HostKeyChanged) as info:
            connect(target(remote), trust=trust)
        assert "CHANGED" in str(info.value) and offered in str(info.value)
        assert remotehost.host_fingerprint_of(f"{other}.pub") in str(info.value)


def test_wrong_key_is_refused_with_what_to_do(remote, ssh_home, tmp_path: Path) -> None:
    stranger = tmp_path / "stranger"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(stranger)],
                   check=True)  # fmt: skip
    (ssh_home / ".ssh" / "id_ed25519").unlink()
    with pytest.raises(AuthenticationFailed) as info:
        connect(target(remote, key_file=str(stranger)))
    assert str(stranger) in str(info.value) and "ssh-copy-id" in str(info.value)


def test_password_login_for_workbench_targets(remote, ssh_home) -> None:
    (ssh_home / ".ssh" / "id_ed25519").unlink()
    connection = connect(SshTarget(host=remote.address, username=remote.password_user,
                                   password=remote.password))  # fmt: skip
    assert connection.run(["id", "-un"]).text().strip() == remote.password_user


def test_nothing_listening_is_a_clear_error(remote, ssh_home) -> None:
    with pytest.raises(SshError, match="refused: no SSH server"):
        connect(SshTarget(host=remote.address, port=2, username=remote.user), timeout=3)


HOSTILE = ["a b", "it's", 'say "hi"', "$(touch /tmp/pwned)", "`id`", "; rm -rf ~", "x\ny",
           "ünï", "*", "~", "-n", ""]  # fmt: skip


def test_arguments_arrive_literally(remote, ssh_home) -> None:
    connection = connect(target(remote))
    out = connection.run(["printf", "%s\\0", *HOSTILE], check=True).stdout
    assert out.decode().split("\0")[:-1] == HOSTILE
    out = connection.script('printf "%s\\0" "$@"', *HOSTILE).stdout
    assert out.decode().split("\0")[:-1] == HOSTILE


def test_exit_codes_stderr_stdin_and_live_output(remote, ssh_home) -> None:
    connection = connect(target(remote))
    result = connection.script("cat; echo oops >&2; exit 7", input=b"in\n")
    assert (result.code, result.stdout, result.stderr) == (7, b"in\n", b"oops\n")
    with pytest.raises(SshError, match="exit 7"):
        connection.script("exit 7", check=True, what="the check")
    seen: list[tuple[float, bytes]] = []
    code = connection.stream(["sh", "-c", "echo one; sleep 0.5; echo two >&2; exit 3"],
                             lambda data: seen.append((time.monotonic(), data)))  # fmt: skip
    assert code == 3 and b"".join(d for _, d in seen) == b"one\ntwo\n"
    assert seen[-1][0] - seen[0][0] > 0.3  # "one" came before "two" was written: live


def test_files_and_bridged_socket(remote, ssh_home) -> None:
    connection = connect(target(remote))
    home = connection.run(["sh", "-c", 'echo "$HOME"']).text().strip()
    path = f"{home}/expkit-ssh-test file"
    connection.write_file(path, b"0123456789")
    assert connection.read_file(path, offset=4, limit=3) == b"456"
    assert connection.exists(path) and connection.read_file(path + ".none") is None
    connection.run(["rm", "-f", path], check=True)
    sock = connection.open_socket(["docker", "system", "dial-stdio"])
    sock.sendall(b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n")
    reply = b""
    while chunk := sock.recv(4096):
        reply += chunk
    sock.close()
    assert reply.startswith(b"HTTP/1.") and reply.endswith(b"OK")


def test_a_cut_connection_is_reported_as_lost(remote, ssh_home) -> None:
    connection = connect(target(remote))
    port = connection.transport.sock.getsockname()[1]

    def cut(_data: bytes) -> None:
        remotehost.kill_session(remote, port)

    with pytest.raises(ConnectionLost, match="dropped"):
        connection.stream(["sh", "-c", "echo go; sleep 30"], cut)
    assert connect(target(remote)) is not connection  # a new one replaces it


def test_importing_the_layer_does_not_import_paramiko() -> None:
    import sys

    code = "import sys, expkit.ssh, expkit.ssh.config; assert 'paramiko' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_paramiko_loads_invoke_only_for_a_match_exec_line() -> None:
    """paramiko.config imports invoke (~0.1 s) for ``Match exec`` alone: deferred, and
    such a line still works."""
    code = """if True:
        import sys
        from expkit.ssh import defer_invoke
        defer_invoke()
        import paramiko
        assert not [m for m in sys.modules if m.startswith("invoke.")], "invoke loaded"
        config = paramiko.SSHConfig.from_text(
            'Match exec "exit 0"\\n  User matched\\nHost *\\n  Port 2222\\n')
        assert config.lookup("vm")["user"] == "matched", config.lookup("vm")
        assert "invoke.runners" in sys.modules
    """
    subprocess.run([sys.executable, "-c", code], check=True)


def test_a_local_run_imports_neither_paramiko_nor_docker(project) -> None:
    """Installed plugins (remotedocker with them) import their SSH and Docker libraries
    only when a command needs them."""
    project.write("aml_config/local.compute", 'type: local\npythonLocation: "python"\n')
    project.write("aml_config/local.runconfig", 'ArgumentVector: ["$file"]\nTarget: local\n')
    project.write("hello.py", "print('hello')\n")
    result = project.exp("run", "-c", "local", "hello.py", env={"PYTHONPROFILEIMPORTTIME": "1"})
    assert result.returncode == 0, result.output
    imported = {line.rsplit("|", 1)[-1].strip() for line in result.stderr.splitlines()
                if line.startswith("import time:")}  # fmt: skip
    assert "expkit.runner" in imported
    heavy = {name for name in imported if name.split(".")[0] in ("paramiko", "docker")}
    assert heavy == set()


def test_key_from_ssh_agent(remote, ssh_home, tmp_path: Path, monkeypatch) -> None:
    agent_sock = tmp_path / "agent.sock"
    agent = subprocess.Popen(["ssh-agent", "-D", "-a", str(agent_sock)],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        for _ in range(100):
            if agent_sock.exists():
                break
            time.sleep(0.05)
        env = {"SSH_AUTH_SOCK": str(agent_sock), "PATH": "/usr/bin:/bin"}
        key = ssh_home / ".ssh" / "id_ed25519"
        subprocess.run(["ssh-add", str(key)], env=env, check=True, capture_output=True)
        key.unlink()  # only the agent has it now
        monkeypatch.setenv("SSH_AUTH_SOCK", str(agent_sock))
        assert connect(target(remote)).run(["true"]).ok
    finally:
        agent.terminate()
        agent.wait(timeout=10)


def test_proxy_jump_through_a_checked_host(remote, ssh_home) -> None:
    # The host is its own jump host: the second hop is a direct-tcpip channel from its sshd.
    (ssh_home / ".ssh" / "config").write_text(
        f"Host jump\n    HostName {remote.address}\n    User {remote.user}\n"
        f"Host behind\n    HostName {remote.address}\n    User {remote.user}\n"
        "    ProxyJump jump\n"
    )
    connection = connect(SshTarget(host="behind"))
    assert connection.run(["true"]).ok
    # Carried by a channel of the jump host's connection, not a TCP socket of its own.
    assert type(connection.transport.sock).__name__ == "Channel"


def test_engine_requests_share_one_kept_alive_channel(remote, ssh_home, monkeypatch) -> None:
    """Each channel starts a docker CLI on the VM: plain requests reuse one; a kept
    connection the VM closed meanwhile is replaced without an error."""
    from expkit_docker.engine import NotFound
    from expkit_remotedocker.engine import RemoteEngine

    connection = connect(target(remote))
    opened = []
    real = connection.open_socket

    def counted(argv):
        opened.append(argv)
        return real(argv)

    monkeypatch.setattr(connection, "open_socket", counted)
    engine = RemoteEngine(connection)
    engine.ping()
    assert engine.request("GET", "/version").json()["ApiVersion"]
    with pytest.raises(NotFound):  # an error answer drops its connection
        engine.request("GET", "/containers/expkit-no-such-container/json")
    engine.ping()
    engine.ping()
    assert len(opened) == 2
    engine._idle[0].sock.shutdown(socket.SHUT_RD)  # reads end: as if the VM had closed it
    engine.ping()
    assert len(opened) == 3


def test_a_warmed_engine_connection_serves_the_first_request(remote, ssh_home,
                                                             monkeypatch) -> None:  # fmt: skip
    """The warm-up opens the engine's connection ahead (its docker CLI starts on the VM
    meanwhile); the requests then use it, and a second warm-up opens nothing."""
    from expkit_remotedocker.engine import RemoteEngine

    connection = connect(target(remote))
    opened = []
    real = connection.open_socket
    monkeypatch.setattr(connection, "open_socket", lambda argv: opened.append(argv) or real(argv))
    engine = RemoteEngine(connection)
    engine.warm()
    assert len(opened) == 1 and len(engine._idle) == 1
    assert engine.request("GET", "/version").json()["ApiVersion"]
    engine.warm()
    engine.ping()
    assert len(opened) == 1
