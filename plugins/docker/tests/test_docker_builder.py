"""The layer builder without a live engine: the build protocol's parsing (BuildLog), the
in-container helpers held to it, and build_layer's engine conversation on the fake engine."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import tarfile
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from expkit.errors import InfrastructureError
from expkit.testing import RecordingProgress
from expkit_docker import buildprotocol as protocol
from expkit_docker.builder import BuildFailed, build_layer
from expkit_docker.buildscripts import LayerBuild
from expkit_docker.containers import start_attached
from expkit_docker.engine import Engine
from expkit_docker.names import BUILD_LABEL, PROJECT_LABEL, label
from expkit_docker.wire import unix_socket
from fake_engine import answer, attach_stream, frame

INCONTAINER = Path(protocol.__file__).with_name("incontainer")

# ---------------------------------------------------------------------- BuildLog


def _fed(*pieces: str) -> protocol.BuildLog:
    log = protocol.BuildLog()
    for piece in pieces:
        log.feed(piece)
    log.close()
    return log


def test_build_log_reads_steps_python_conda_and_the_package_list():
    steps: list[str] = []
    shown: list[str] = []
    log = protocol.BuildLog(on_step=steps.append, on_line=shown.append)
    for piece in [
        "##[expkit-step] create the environment\n",
        "##[expkit-python] 3.11.2 /usr/bin/python3\n",
        "Collecting x\n",
        "##[expkit-conda] numpy=1.26.4=py311_0 conda-forge\n",
        "##[expkit-step] record the installed packages (pip freeze)\n",
        "##[expkit-freeze-begin]\n",
        "numpy==1.26.4\n",
        "\n",
        "six @ file:///tmp/six.whl\n",
        "##[expkit-freeze-end]\n",
        "done\n",
    ]:
        log.feed(piece)
    log.close()
    assert steps == ["create the environment", "record the installed packages (pip freeze)"]
    assert log.step == "record the installed packages (pip freeze)"
    assert log.python == "3.11.2"
    assert log.conda == ["numpy=1.26.4=py311_0"]
    assert log.packages == ["numpy==1.26.4", "six @ file:///tmp/six.whl"]
    # Markers and the package list are not output to show; other lines are.
    assert shown == ["Collecting x", "done"]
    assert list(log.tail) == ["done"]  # a new step starts a new tail


def test_build_log_joins_a_line_that_comes_in_pieces():
    log = _fed("##[expkit-st", "ep] install\n##[expkit-freeze-", "begin]\nab", "c==1\n", "tail")
    assert log.step == "install"
    assert log.packages == ["abc==1", "tail"]  # the last line had no line end: close() reads it
    assert "".join(log.lines) == "##[expkit-step] install\n##[expkit-freeze-begin]\nabc==1\ntail"


def test_build_log_keeps_errors_in_the_tail_and_bounds_it():
    log = _fed(*(f"line {i}\r\n" for i in range(40)), "##[expkit-error] no python\n")
    assert log.errors == ["no python"]
    assert len(log.tail) == protocol.TAIL_LINES
    assert log.tail[-1] == "##[expkit-error] no python" and log.tail[0] == "line 16"


def test_build_log_keeps_each_streams_unfinished_line_apart():
    log = protocol.BuildLog()
    log.feed("##[expkit-freeze-begin]\nsix==", 1)
    log.feed("warning: slow\n", 2)
    log.feed("1.16.0\n##[expkit-freeze-end]\n", 1)
    log.close()
    assert log.packages == ["six==1.16.0"] and list(log.tail) == ["warning: slow"]


def test_build_log_ignores_empty_markers():
    log = _fed("##[expkit-python] \n", "##[expkit-conda]    \n")
    assert log.python is None and log.conda == []


def test_failure_message_names_the_step_the_last_lines_and_the_log():
    log = _fed("##[expkit-step] install the pip requirements: nope\n", "ERROR: no nope\n", "\n")
    text = protocol.failure_message("building the pip layer", 1, log, Path("/x/b.log"))
    assert text.splitlines() == [
        "building the pip layer failed at step: install the pip requirements: nope (exit code 1)",
        "  last lines of its output:",
        "  | ERROR: no nope",
        "  full build log: /x/b.log",
    ]


# ---------------------------------------------------------------------- in-container helpers


@pytest.mark.parametrize(("pin", "code"), [("", 0), ("2.7", protocol.EXIT_PYTHON_MISMATCH)])
def test_check_python_speaks_the_protocol(pin, code):
    result = subprocess.run(
        [sys.executable, str(INCONTAINER / "check_python.py"), pin],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == code
    log = _fed(result.stdout)
    assert log.python == ".".join(map(str, sys.version_info[:3]))


def test_rattler_install_prints_the_protocols_markers():
    source = (INCONTAINER / "rattler_install.py").read_text(encoding="utf-8")
    assert f'f"{protocol.CONDA}' in source and f'f"{protocol.ERROR}' in source


# ---------------------------------------------------------------------- build_layer


PARENT = {
    "Id": "sha256:parent",
    "Config": {
        "User": "app",
        "Env": ["PATH=/usr/bin"],
        "Cmd": ["bash"],
        "Labels": {"keep": "me", label("conda"): "python=3.11=h0 zlib=1=h1"},
    },
}


def _build(engine: Engine, tmp_path: Path, progress=None):
    build = LayerBuild("pip", "echo hi\n", [("requirements.txt", b"six\n", 0o644)])
    return build_layer(
        engine, PARENT, build, repo="expkit-env", tag="abc123", labels={"mine": "1"},
        progress=progress, log_dir=tmp_path / "logs", default_cmd=["/opt/expkit/env/bin/python"],
        project=tmp_path / "proj",
    )  # fmt: skip


def _engine_conversation(fake, *, exit_code: int, output: list[bytes]) -> None:
    fake.answers += [
        answer(201, {"Id": "c1"}, "Created"),
        answer(200),  # archive
        attach_stream(*output),
        answer(204, reason="No Content"),  # start
        answer(200, {"StatusCode": exit_code}),  # wait
    ]
    if exit_code == 0:
        fake.answers.append(answer(201, {"Id": "sha256:new"}, "Created"))  # commit
    fake.answers.append(answer(204, reason="No Content"))  # remove


def test_build_layer_runs_the_script_and_commits_what_it_printed(fake_engine, tmp_path):
    fake, engine = fake_engine
    _engine_conversation(fake, exit_code=0, output=[
        frame(1, b"##[expkit-step] install the pip requirements: six\n"),
        frame(2, b"Coll"),
        frame(1, b"##[expkit-python] 3.11.2 /opt/expkit/env/bin/python\n"),
        frame(2, b"ecting six\n"),
        frame(1, b"##[expkit-freeze-begin]\nsix==1.16.0\n##[expkit-freeze-end]\n"),
        frame(2, b"\n"),
    ])  # fmt: skip
    progress = RecordingProgress()
    image_id, log = _build(engine, tmp_path, progress)

    assert image_id == "sha256:new"
    assert fake.request_lines() == [
        "POST /containers/create",
        "PUT /containers/c1/archive?path=%2F",
        "POST /containers/c1/attach?stream=1&stdout=1&stderr=1",
        "POST /containers/c1/start",
        "POST /containers/c1/wait",
        "POST /commit?container=c1&repo=expkit-env&tag=abc123&pause=0&comment=expkit+pip+layer",
        "DELETE /containers/c1?force=1&v=1",
    ]
    create = json.loads(fake.requests[0][1])
    assert create["Image"] == "sha256:parent"
    assert create["Cmd"] == ["/bin/sh", f"{protocol.BUILD_DIR}/build.sh"]
    assert create["User"] == "0"  # the image's user is not root: the build needs root
    assert create["Labels"] == {
        BUILD_LABEL: "expkit-env:abc123",
        PROJECT_LABEL: str(tmp_path / "proj"),  # whose build it is, as on a run's container
    }
    assert create["HostConfig"]["Mounts"] == [
        {"Type": "volume", "Source": protocol.CACHE_VOLUME, "Target": protocol.CACHE_MOUNT}
    ]
    with tarfile.open(fileobj=io.BytesIO(fake.requests[1][1])) as tar:
        build_dir = protocol.BUILD_DIR.strip("/")
        assert tar.extractfile(f"{build_dir}/build.sh").read() == b"echo hi\n"
        assert tar.extractfile(f"{build_dir}/requirements.txt").read() == b"six\n"
        assert tar.getmember(f"{build_dir}/build.sh").mode == 0o755

    commit = json.loads(fake.requests[5][1])
    assert commit["User"] == "app" and commit["Cmd"] == ["bash"]  # the parent's config kept
    assert commit["Labels"] == {
        "keep": "me", "mine": "1",
        label("conda"): "python=3.11=h0 zlib=1=h1",  # inherited from the layer below
        label("packages"): "six==1.16.0\npython=3.11=h0 (conda)\nzlib=1=h1 (conda)",
    }  # fmt: skip

    assert log.packages == ["six==1.16.0"]
    steps = [text for kind, text in progress.events if kind == "step"]
    assert steps[0] == "building the pip layer expkit-env:abc123"
    assert steps[-1].startswith("saved expkit-env:abc123")
    lines = [text for kind, text in progress.events if kind == "line"]
    assert lines == ["» install the pip requirements: six", "Collecting six", ""]
    assert (tmp_path / "logs" / "abc123-pip.log").read_text().startswith("##[expkit-step] install")


def test_a_failed_build_names_its_step_and_leaves_no_container(fake_engine, tmp_path):
    fake, engine = fake_engine
    _engine_conversation(fake, exit_code=protocol.EXIT_PYTHON_MISMATCH, output=[
        frame(1, b"##[expkit-step] check the python\n##[expkit-python] 3.9.2 /usr/bin/python3\n"),
        frame(2, b"want 3.11\n"),
    ])  # fmt: skip
    with pytest.raises(BuildFailed) as caught:
        _build(engine, tmp_path)
    failed = caught.value
    assert failed.code == protocol.EXIT_PYTHON_MISMATCH and failed.log.python == "3.9.2"
    assert "failed at step: check the python (exit code 98)" in str(failed)
    assert "  | want 3.11" in str(failed)
    assert failed.log_file == tmp_path / "logs" / "abc123-pip.log"
    assert fake.request_lines()[-2:] == [
        "POST /containers/c1/wait",
        "DELETE /containers/c1?force=1&v=1",
    ]


def test_an_image_that_cannot_start_the_script_is_a_clear_error(fake_engine, tmp_path):
    fake, engine = fake_engine
    fake.answers += [
        answer(201, {"Id": "c1"}, "Created"),
        answer(200),
        attach_stream(),
        answer(400, {"message": 'exec: "/bin/sh": stat /bin/sh: no such file'}, "Bad Request"),
        answer(204, reason="No Content"),
    ]
    with pytest.raises(InfrastructureError, match=r"cannot run the build script \(/bin/sh\)"):
        _build(engine, tmp_path)
    assert fake.request_lines()[-1] == "DELETE /containers/c1?force=1&v=1"


# ---------------------------------------------------------------------- the shared start sequence


def test_start_attached_names_the_container_and_reads_both_streams(fake_engine):
    fake, engine = fake_engine
    fake.answers += [
        answer(201, {"Id": "c9"}, "Created"),
        attach_stream(frame(1, b"out\n"), frame(2, b"err\n"), frame(1, b"no end")),
        answer(204, reason="No Content"),
    ]
    attached = start_attached(engine, {"Image": "i"}, None, what="a test", name="expkit-run-x")
    got: list[str] = []
    attached.read(got.append)
    assert got == ["out\n", "err\n", "no end"]
    assert parse_qs(urlsplit(fake.request_lines()[0]).query) == {"name": ["expkit-run-x"]}
    assert len(fake.requests) == 3  # no archive to copy


def test_engine_over_any_stream_opener(fake_engine, tmp_path):
    fake, _engine = fake_engine
    opened: list[float | None] = []
    socket_path = urlsplit(fake.url).path

    def opener(timeout: float | None):
        opened.append(timeout)
        return unix_socket(socket_path)(timeout)

    engine = Engine.over(opener, "ssh://someone@gpuvm", start_hint="check the SSH connection.")
    fake.answers.append(answer(200, {"Id": "sha256:1"}))
    assert engine.image("a") == {"Id": "sha256:1"} and len(opened) == 1
    dead = Engine.over(unix_socket(str(tmp_path / "none.sock")), "ssh://someone@gpuvm",
                       start_hint="check the SSH connection.")  # fmt: skip
    with pytest.raises(InfrastructureError, match=r"at ssh://someone@gpuvm: .*\n  check the SSH"):
        dead.ping()
