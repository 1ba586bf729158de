"""Unit tests of expkit-docker's pieces that need no engine: what a run asks the engine
for, safe extraction of collected archives, forwarded pip settings, and the engine
client's HTTP against a scripted stand-in for dockerd."""

from __future__ import annotations

import io
import json
import os
import socket
import tarfile
import threading
import time
from pathlib import Path

import pytest
from docker_helpers import tar_stream
from expkit.errors import ConfigError, InfrastructureError
from expkit.model import ComputeTarget, PreparedEnvironment, RunConfig, RunContext, SparkSpec
from expkit_docker import archives, runspec
from expkit_docker.engine import Conflict, Engine, EngineError, EngineUnreachable, NotFound
from expkit_docker.pipconfig import host_build_network
from expkit_docker.wire import IDLE, frames
from fake_engine import FakeEngine, chunked, frame


def _run(tmp_path: Path, **compute) -> RunContext:
    return RunContext(
        run_id="r1", number=1, project=tmp_path, snapshot=tmp_path / "snap",
        run_dir=tmp_path / "run", script="train.py", argv=("train.py", "--lr", "0.1"),
        environment={"A": "1", "PYTHONPATH": "/mine"},
        compute=ComputeTarget(name="docker", type="docker", **compute),
        runconfig=RunConfig(name="d", target="docker"),
    )  # fmt: skip


ENV = PreparedEnvironment(
    env_id="abc",
    location="expkit-env:abc",
    python="/opt/expkit/env/bin/python",
    details={"image_id": "sha256:1", "image_env": ["PATH=/usr/bin:/bin", "PYTHONPATH=/img"]},
)


def test_nvidia_docker_forms_a_gpu_device_request(tmp_path):
    config = runspec.container_config(_run(tmp_path, nvidia_docker=True), ENV)
    assert config["HostConfig"]["DeviceRequests"] == [
        {"Driver": "", "Count": -1, "DeviceIDs": None, "Capabilities": [["gpu"]], "Options": {}}
    ]
    assert "DeviceRequests" not in runspec.container_config(_run(tmp_path), ENV)["HostConfig"]


def test_container_config_command_env_labels_and_mounts(tmp_path):
    shared = tmp_path / "share"
    config = runspec.container_config(
        _run(tmp_path, shared_volumes=True, native_shared_directory=str(shared)), ENV
    )
    assert config["Image"] == "sha256:1"
    assert config["Cmd"] == ["/opt/expkit/env/bin/python", "train.py", "--lr", "0.1"]
    assert config["Entrypoint"] == [] and config["WorkingDir"] == "/expkit/project"
    env = dict(item.split("=", 1) for item in config["Env"])
    assert env["A"] == "1"
    assert env["EXPKIT_OUTPUTS_DIR"] == "/expkit/project/outputs"
    assert env["EXPKIT_METRICS_FILE"] == "/expkit/metrics.jsonl"
    assert env["EXPKIT_SHARED_DIR"] == "/expkit/shared"
    assert env["PATH"] == "/opt/expkit/env/bin:/usr/bin:/bin"
    assert env["PYTHONPATH"] == "/expkit/lib:/mine"
    assert config["Labels"]["expkit.run"] == "r1"
    # Structured mounts: no "host:container" strings that a ":" in a path would break.
    assert "Binds" not in config["HostConfig"]
    assert config["HostConfig"]["Mounts"] == [
        {"Type": "bind", "Source": str(tmp_path / "run" / "metrics.jsonl"),
         "Target": "/expkit/metrics.jsonl", "ReadOnly": False},
        {"Type": "bind", "Source": str(tmp_path / "snap"), "Target": "/expkit/project",
         "ReadOnly": False},
        {"Type": "bind", "Source": str(shared), "Target": "/expkit/shared", "ReadOnly": False},
    ]  # fmt: skip
    assert shared.is_dir()


def test_pyspark_command_runs_the_environments_spark_submit(tmp_path):
    run = _run(tmp_path)
    spark_run = RunContext(
        **{
            **run.__dict__,
            "runconfig": RunConfig(name="d", target="docker", framework="PySpark"),
            "spark": SparkSpec(configuration={"spark.x": "1"}),
        }
    )
    assert runspec.command(spark_run, ENV) == [
        "/opt/expkit/env/bin/spark-submit",
        "--master",
        "local[*]",
        "--conf",
        "spark.x=1",
        "train.py",
        "--lr",
        "0.1",
    ]
    env = runspec.variables(spark_run, ENV, None)
    assert env["PYSPARK_PYTHON"] == env["PYSPARK_DRIVER_PYTHON"] == "/opt/expkit/env/bin/python"


def test_pyspark_goes_into_the_system_layer(tmp_path):
    from expkit.environment import environment_id
    from expkit.model import EnvironmentSpec
    from expkit_docker import sparklayer
    from expkit_docker.buildscripts import pip_layer, system_layer
    from expkit_docker.pipconfig import BuildNetwork

    spec = EnvironmentSpec(python="3.11", pip=("pyspark==3.5.1", "requests>=2"))
    assert sparklayer.spark_system("Python", spec) is None
    spark = sparklayer.spark_system("PySpark", spec)
    assert spark is not None and spark.pyspark == "pyspark==3.5.1"
    assert sparklayer.spark_system("PySpark", None) == sparklayer.SparkSystem("pyspark")
    # Same file, other framework: another system layer, so another environment.
    python_ids = environment_id(spec, "sha256:b")
    spark_ids = environment_id(spec, "sha256:b", sparklayer.system_extra(spark))
    assert python_ids.base == spark_ids.base and python_ids.system != spark_ids.system
    network = BuildNetwork()
    system = system_layer(spec, network, tmp_path, spark=spark).script
    assert "openjdk-17-jre-headless" in system and "pip install pyspark==3.5.1" in system
    pip = pip_layer(spec, network, tmp_path, spark=spark)
    requirements = dict((n, d) for n, d, _m in pip.files)["requirements.txt"].decode()
    assert requirements.split() == ["requests>=2"]
    for entry, found in [
        ("pyspark", True), ("PySpark[sql]>=3.5", True), ("pyspark @ https://x/y.whl", True),
        ("./wheels/pyspark-4.3.0-py2.py3-none-any.whl", True), ("pyspark-stubs", False),
        ("mypyspark==1", False), ("./wheels/pyspark_utils-1.0-py3-none-any.whl", False),
    ]:  # fmt: skip
        assert sparklayer.is_pyspark_entry(entry) is found, entry


def test_relative_native_shared_directory_is_rejected(tmp_path):
    with pytest.raises(ConfigError, match="nativeSharedDirectory"):
        runspec.container_config(_run(tmp_path, native_shared_directory="rel/dir"), ENV)


def test_extract_refuses_traversal_and_escaping_links(tmp_path):
    dest = tmp_path / "out"
    stream = tar_stream([
        ("outputs", "dir", None),
        ("outputs/ok.txt", "file", b"fine"),
        ("outputs/sub/deep.txt", "file", b"deep"),
        ("outputs/../escape.txt", "file", b"bad"),
        ("/abs.txt", "file", b"bad"),
        ("outputs/link", "symlink", "/etc/passwd"),
        ("outputs/up", "symlink", "../../x"),
        ("elsewhere/x.txt", "file", b"not under outputs"),
    ])  # fmt: skip
    found = archives.extract(stream, dest, strip="outputs")
    assert found == ["ok.txt", "sub/deep.txt"]
    assert (dest / "ok.txt").read_bytes() == b"fine"
    assert not (tmp_path / "escape.txt").exists() and not (dest / "link").exists()
    assert not (dest / "up").exists() and not (dest / "x.txt").exists()


@pytest.mark.skipif(os.geteuid() != 0, reason="chown to another user needs root")
def test_collected_files_belong_to_the_sudo_user(tmp_path, monkeypatch):
    monkeypatch.setenv("SUDO_UID", "12345")
    monkeypatch.setenv("SUDO_GID", "23456")
    dest = tmp_path / "out"
    archives.extract(tar_stream([("outputs/a.txt", "file", b"a")]), dest, strip="outputs")
    assert (dest / "a.txt").stat().st_uid == 12345 and (dest / "a.txt").stat().st_gid == 23456


def test_run_archive_holds_snapshot_shim_and_metrics(tmp_path):
    snap = tmp_path / "snap"
    snap.mkdir()
    (snap / "train.py").write_text("print(1)\n")
    shim = tmp_path / "shim"
    (shim / "expkit").mkdir(parents=True)
    (shim / "expkit" / "__init__.py").write_text("def log(*a): pass\n")
    data = archives.run_archive("/expkit", snapshot=snap, project="/expkit/project", shim=shim)
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        names = set(tar.getnames())
        assert {
            "expkit/project/train.py",
            "expkit/project/outputs",
            "expkit/lib/expkit/__init__.py",
        } <= names
        assert tar.getmember("expkit/project/outputs").mode == 0o777
    bound = archives.run_archive("/expkit", snapshot=None, project="/expkit/project", shim=shim)
    with tarfile.open(fileobj=io.BytesIO(bound)) as tar:
        assert not any(n.startswith("expkit/project") for n in tar.getnames())


def test_pip_settings_forwarded_and_host_folders_dropped(tmp_path):
    ca = tmp_path / "ca.pem"
    ca.write_bytes(b"-----BEGIN CERTIFICATE-----\nX\n")
    conf = tmp_path / "pip.conf"
    conf.write_text(
        "[global]\nindex-url = https://mirror.example/simple\n"
        "extra-index-url = file:///opt/wheels https://extra.example/simple\n"
    )
    env = {
        "PIP_CONFIG_FILE": str(conf),
        "PIP_TRUSTED_HOST": "mirror.example",
        "PIP_CERT": str(ca),
        "HTTPS_PROXY": "http://proxy.example:3128",
        "HOME": str(tmp_path),
        "XDG_CONFIG_DIRS": str(tmp_path / "none"),
    }
    net = host_build_network(env)
    assert net.pip["index-url"] == "https://mirror.example/simple"
    assert net.pip["extra-index-url"] == "https://extra.example/simple"
    assert net.pip["trusted-host"] == "mirror.example"
    assert net.ca_bundle == ca.read_bytes() and net.ca_source == str(ca)
    assert any("file:///opt/wheels" in note for note in net.notes)
    files = {name: data for name, data, _mode in net.files("/tmp/b")}
    assert b"cert = /tmp/b/net/ca.crt" in files["net/pip.conf"]
    assert b"index-url = https://mirror.example/simple" in files["net/pip.conf"]
    assert b"export HTTPS_PROXY=http://proxy.example:3128" in files["env.sh"]
    assert b"export PIP_CONFIG_FILE=/tmp/b/net/pip.conf" in files["env.sh"]
    assert files["net/ca.crt"] == ca.read_bytes()


def test_dead_engine_socket_is_a_clear_error(tmp_path):
    engine = Engine.at(f"unix://{tmp_path}/dead.sock")
    with pytest.raises(
        EngineUnreachable, match="cannot reach the Docker engine at unix://.*dead.sock"
    ):
        engine.image("anything")


def test_ssh_docker_host_points_at_remotedocker():
    with pytest.raises(InfrastructureError, match="remotedocker"):
        Engine.from_env({"DOCKER_HOST": "ssh://user@127.0.0.1"})


# ---------------------------------------------------------------------- the engine client
# Checked byte for byte against a scripted stand-in for dockerd (fake_engine.py).


def test_client_sends_json_and_reads_a_sized_answer(fake_engine):
    fake, engine = fake_engine
    fake.answers.append(b'HTTP/1.1 201 Created\r\nContent-Length: 12\r\n\r\n{"Id": "c1"}')
    config = {"Image": "x", "Cmd": ["echo", "é"]}
    assert engine.create_container(config, "creating") == "c1"
    head, body = fake.requests[0]
    assert head.startswith(b"POST /containers/create HTTP/1.1\r\n")
    assert b"Content-Type: application/json" in head
    assert json.loads(body) == config


def test_client_speaks_to_a_tcp_engine():
    fake = FakeEngine(None)
    try:
        fake.answers.append(b'HTTP/1.1 200 OK\r\nContent-Length: 14\r\n\r\n{"Id": "sha1"}')
        assert Engine.from_env({"DOCKER_HOST": fake.url}).image("a/b:1") == {"Id": "sha1"}
        assert fake.requests[0][0].startswith(b"GET /images/a/b:1/json HTTP/1.1")
    finally:
        fake.stop()


def test_client_reads_a_chunked_stream_in_pieces(fake_engine):
    fake, engine = fake_engine
    fake.answers.append(chunked(b"abc", b"defgh", b"i" * 70000))
    reply = engine.stream("GET", "/containers/c1/archive", params={"path": "/a b", "x": None})
    try:
        assert reply.read(2) == b"ab"
        assert reply.read(4) == b"cdef"
        assert reply.read() == b"gh" + b"i" * 70000
        assert reply.read(10) == b""
    finally:
        reply.close()
    assert fake.requests[0][0].startswith(b"GET /containers/c1/archive?path=%2Fa+b HTTP/1.1")
    assert fake.closed.wait(5)  # close() ended the connection


def test_client_error_statuses_carry_the_engine_message(fake_engine):
    fake, engine = fake_engine
    message = b'{"message": "No such image: nope"}'
    fake.answers.append(
        b"HTTP/1.1 404 Not Found\r\nContent-Length: %d\r\n\r\n" % len(message) + message
    )
    assert engine.image("nope") is None
    conflict = chunked(b'{"message": "name ', b'in use"}').replace(b"200 OK", b"409 Conflict")
    fake.answers.append(conflict)
    with pytest.raises(Conflict, match=r"creating: the Docker engine said \(409\): name in use"):
        engine.create_container({}, "creating")
    fake.answers.append(b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 4\r\n\r\nboom")
    with pytest.raises(EngineError, match=r"\(500\): boom"):
        engine.ping()


def test_hijacked_attach_stream_keeps_every_frame_in_order(fake_engine):
    fake, engine = fake_engine
    later = threading.Event()

    def upgrade(conn: socket.socket) -> None:
        # Frames in the same packet as the head must not be lost to http.client's buffer.
        conn.sendall(
            b"HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\n"
            b"Connection: Upgrade\r\nUpgrade: tcp\r\n\r\n" + frame(1, b"one\n") + frame(2, b"tw")
        )
        later.wait(5)
        big = frame(1, b"x" * 200000)
        conn.sendall(frame(2, b"o\n") + big[:100])
        conn.sendall(big[100:] + frame(1, b"end\n"))
        conn.shutdown(socket.SHUT_WR)

    fake.answers.append(upgrade)
    stream, pending = engine.hijack("/containers/c1/attach", {"stream": 1, "stdout": 1})
    head = fake.requests[0][0]
    assert head.startswith(b"POST /containers/c1/attach?stream=1&stdout=1 HTTP/1.1")
    assert b"Upgrade: tcp" in head and b"Connection: Upgrade" in head
    try:
        got = frames(stream, pending)
        assert next(got) == (1, b"one\n") and next(got) == (2, b"tw")
        later.set()
        assert list(got) == [(2, b"o\n"), (1, b"x" * 200000), (1, b"end\n")]
    finally:
        stream.close()


def test_attach_stream_reports_a_quiet_spell_once(fake_engine):
    fake, engine = fake_engine
    resume = threading.Event()

    def upgrade(conn: socket.socket) -> None:
        conn.sendall(
            b"HTTP/1.1 101 UPGRADED\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n"
            + frame(1, b"\rbar 50%")
        )
        resume.wait(5)
        conn.sendall(frame(1, b"\rbar 60%\n"))
        conn.shutdown(socket.SHUT_WR)

    fake.answers.append(upgrade)
    stream, pending = engine.hijack("/containers/c1/attach", {"stream": 1, "stdout": 1})
    try:
        got = frames(stream, pending, idle=0.05)
        assert next(got) == (1, b"\rbar 50%")
        started = time.monotonic()
        # Quiet after data: the reader's cue to show the unfinished bar, then it waits on.
        assert next(got) == (IDLE, b"")
        assert time.monotonic() - started < 2
        resume.set()
        assert list(got) == [(1, b"\rbar 60%\n")]
    finally:
        stream.close()


def test_attach_to_a_missing_container_is_an_engine_error(fake_engine):
    fake, engine = fake_engine
    message = b'{"message":"No such c: c1"}\r\n'
    fake.answers.append(
        b"HTTP/1.1 404 Not Found\r\nContent-Length: %d\r\n\r\n" % len(message) + message
    )
    with pytest.raises(NotFound, match="attaching to container c1.*No such c: c1"):
        engine.hijack("/containers/c1/attach", {"stream": 1})


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (lambda conn: conn.shutdown(socket.SHUT_WR), "closed the connection without an answer"),
        (b"SSH-2.0-OpenSSH_9.2\r\n", "sent a broken answer"),
        (lambda conn: None, "did not answer in time"),  # keeps the connection open, silent
    ],
)
def test_client_without_a_usable_answer_is_a_clear_error(fake_engine, answer, expected):
    fake, engine = fake_engine
    fake.answers.append(answer)
    with pytest.raises(EngineUnreachable, match=expected):
        engine.request("GET", "/_ping", timeout=0.2)


def test_unsolvable_packages_are_read_from_whole_lines_once_each(tmp_path):
    """The build's output comes in pieces of any size: the packages a channel lacks are
    named from whole lines, each once, never "every conda package" by mistake."""
    from types import SimpleNamespace

    from expkit.model import EnvironmentSpec
    from expkit_docker.buildprotocol import ERROR, UNSOLVABLE, BuildLog
    from expkit_docker.layers import _unsolvable

    log = BuildLog()
    text = (
        "solving...\n"
        f"{UNSOLVABLE}absent_pkg\n"
        f"{UNSOLVABLE}absent_pkg\n"
        f"{ERROR}cannot solve present_pkg absent_pkg from file:///c: No candidates\n"
    )
    for cut in (5, 17, 40):  # a marker line split across pieces and glued to others
        log.feed(text[:cut])
        text = text[cut:]
    log.feed(text)
    log.close()
    spec = EnvironmentSpec(conda=("present_pkg", "absent_pkg"), channels=("file:///c",))
    error = _unsolvable(SimpleNamespace(log=log), spec, "base:1")
    assert "no channel provides conda package absent_pkg in the channels listed" in str(error)
    assert "present_pkg in the" not in str(error)
