"""Unit tests of expkit-docker's pieces that need no engine: what a run asks the engine
for, safe extraction of collected archives, forwarded pip settings, engine errors."""

from __future__ import annotations

import io
import os
import tarfile
from pathlib import Path

import pytest
from expkit.errors import ConfigError, InfrastructureError
from expkit.model import ComputeTarget, PreparedEnvironment, RunConfig, RunContext, SparkSpec
from expkit_docker import archives, runspec
from expkit_docker.engine import Engine, EngineUnreachable
from expkit_docker.execution import LineSplitter
from expkit_docker.pipconfig import host_build_network


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
    assert config["HostConfig"]["Binds"] == [
        f"{tmp_path / 'run' / 'metrics.jsonl'}:/expkit/metrics.jsonl",
        f"{tmp_path / 'snap'}:/expkit/project",
        f"{shared}:/expkit/shared",
    ]
    assert shared.is_dir()


def test_pyspark_command_and_missing_pyspark(tmp_path):
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
    with pytest.raises(ConfigError, match="does not provide pyspark"):
        runspec.require_pyspark("PySpark", ENV, None)
    with_spark = PreparedEnvironment(**{**ENV.__dict__, "packages": ("pyspark==3.5.1",)})
    runspec.require_pyspark("PySpark", with_spark, None)


def test_relative_native_shared_directory_is_rejected(tmp_path):
    with pytest.raises(ConfigError, match="nativeSharedDirectory"):
        runspec.container_config(_run(tmp_path, native_shared_directory="rel/dir"), ENV)


def _tar(entries) -> io.BytesIO:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, kind, data in entries:
            info = tarfile.TarInfo(name)
            if kind == "file":
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
            elif kind == "dir":
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            elif kind == "symlink":
                info.type = tarfile.SYMTYPE
                info.linkname = data
                tar.addfile(info)
    buf.seek(0)
    return buf


def test_extract_refuses_traversal_and_escaping_links(tmp_path):
    dest = tmp_path / "out"
    stream = _tar([
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
    archives.extract(_tar([("outputs/a.txt", "file", b"a")]), dest, strip="outputs")
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


def test_line_splitter_keeps_lines_whole_across_frames():
    seen = []
    lines = LineSplitter(seen.append)
    for chunk in (b"hel", b"lo\nwor", b"ld\r", b"\n50%\r60%\r", b"tail"):
        lines.feed(chunk)
    lines.flush()
    assert seen == ["hello\n", "world\r\n", "50%\r", "60%\r", "tail"]


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
    engine = Engine(f"unix://{tmp_path}/dead.sock")
    with pytest.raises(
        EngineUnreachable, match="cannot reach the Docker engine at unix://.*dead.sock"
    ):
        engine.image("anything")


def test_ssh_docker_host_points_at_remotedocker():
    with pytest.raises(InfrastructureError, match="remotedocker"):
        Engine.from_env({"DOCKER_HOST": "ssh://user@127.0.0.1"})
