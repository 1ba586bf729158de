"""The keeper's protocol module (expkit.ssh.keepwire): framing, where sockets live."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest
from expkit.ssh import keepwire as wire


def test_frames_and_request_lines_round_trip() -> None:
    a, b = socket.socketpair()
    with a, b:
        wire.send_line(a, {"op": "run", "argv": ["printf", "a\nb", "$(x)"]})
        wire.send_frame(a, b"i", b"x" * 100_000)
        wire.send_frame(a, b"e")
        wire.send_frame(a, b"x", wire.pack_code(-1))
        wire.send_frame(a, b"q", wire.pack_tail(1 << 40, 4096))
        # The line is read up to its newline and no further: frames follow intact.
        assert wire.recv_line(b) == {"op": "run", "argv": ["printf", "a\nb", "$(x)"]}
        assert wire.recv_frame(b) == (b"i", b"x" * 100_000)
        assert wire.recv_frame(b) == (b"e", b"")
        kind, code = wire.recv_frame(b)
        assert (kind, wire.unpack_code(code)) == (b"x", -1)
        kind, tail = wire.recv_frame(b)
        assert (kind, wire.unpack_tail(tail)) == (b"q", (1 << 40, 4096))
        a.close()
        assert wire.recv_frame(b) == (b"", b"")  # closed between frames: the end


def test_a_frame_cut_short_is_an_error_not_data() -> None:
    a, b = socket.socketpair()
    with a, b:
        a.sendall(b"o\x00\x00\x00\x10short")
        a.close()
        with pytest.raises(ConnectionError):
            wire.recv_frame(b)


@pytest.mark.parametrize("line", [b"[1, 2]\n", b"not json\n"])
def test_a_request_line_must_be_a_json_object(line: bytes) -> None:
    a, b = socket.socketpair()
    with a, b:
        a.sendall(line)
        with pytest.raises(ValueError):
            wire.recv_line(b)


@pytest.mark.parametrize(
    ("text", "seconds"), [("", 300.0), ("0", 0.0), ("12.5", 12.5), ("-3", 0.0), ("soon", 300.0)]
)
def test_keep_seconds(monkeypatch, text: str, seconds: float) -> None:
    monkeypatch.setenv("EXPKIT_SSH_KEEP", text)
    assert wire.keep_seconds() == seconds


@pytest.fixture
def dirs(tmp_path: Path, monkeypatch) -> tuple[Path, Path]:
    runtime, temp = tmp_path / "r", tmp_path / "t"
    runtime.mkdir(mode=0o700)
    temp.mkdir()
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
    monkeypatch.setenv("TMPDIR", str(temp))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    return runtime, temp


def test_sockets_live_in_a_folder_only_the_user_enters(dirs) -> None:
    runtime, temp = dirs
    assert wire.runtime_dir() == runtime / "expkit-ssh"
    assert (runtime / "expkit-ssh").stat().st_mode & 0o777 == 0o700
    runtime.chmod(0o755)  # an XDG_RUNTIME_DIR open to others is not used
    assert wire.runtime_dir() == temp / f"expkit-ssh-{os.getuid()}"


@pytest.mark.parametrize("how", ["open to others", "a symlink"])
def test_an_unsafe_folder_means_no_keeper(dirs, how: str, tmp_path: Path) -> None:
    runtime, temp = dirs
    runtime.chmod(0o755)
    folder = temp / f"expkit-ssh-{os.getuid()}"
    if how == "a symlink":
        (tmp_path / "elsewhere").mkdir(mode=0o700)
        folder.symlink_to(tmp_path / "elsewhere")
    else:
        folder.mkdir(mode=0o700)
        folder.chmod(0o733)
    assert wire.runtime_dir() is None
    assert wire.socket_path("host", None, "me", None) is None


def test_the_socket_name_follows_the_ssh_setup(dirs, tmp_path: Path) -> None:
    first = wire.socket_path("host", None, "me", None)
    assert first is not None and first.parent == dirs[0] / "expkit-ssh"
    assert wire.socket_path("host", None, "me", None) == first
    assert wire.socket_path("host", 2222, "me", None) != first
    ssh = tmp_path / "home" / ".ssh"
    ssh.mkdir(parents=True)
    (ssh / "config").write_text("Host host\n  User other\n")
    edited = wire.socket_path("host", None, "me", None)
    assert edited not in (None, first)  # a new ~/.ssh/config: a new connection
    (ssh / "known_hosts").write_text("")
    assert wire.socket_path("host", None, "me", None) not in (None, first, edited)


def test_a_socket_path_too_long_for_unix_means_no_keeper(dirs, monkeypatch, tmp_path) -> None:
    deep = tmp_path / ("d" * 60) / ("e" * 60)
    deep.mkdir(parents=True, mode=0o700)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(deep))
    assert wire.socket_path("host", None, "me", None) is None
