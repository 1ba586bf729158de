"""What a docker run gives back: live progress output, huge lines, links in outputs/."""

from __future__ import annotations

import os
import select
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from docker_e2e import docker_compute, record

pytestmark = pytest.mark.docker


def _exp() -> str:
    return shutil.which("exp", path=str(Path(sys.executable).parent)) or "exp"


def _read_until(proc: subprocess.Popen, seen: bytearray, wanted: bytes, timeout: float) -> None:
    """Read ``proc``'s stdout into ``seen`` until ``wanted`` is in it (raw bytes: a
    text-mode pipe would hold a trailing "\\r" back to see whether "\\n" follows)."""
    deadline = time.monotonic() + timeout
    fd = proc.stdout.fileno()
    while wanted not in seen:
        left = deadline - time.monotonic()
        assert left > 0, f"{wanted!r} did not arrive; got {bytes(seen)!r}"
        if select.select([fd], [], [], left)[0]:
            chunk = os.read(fd, 65536)
            assert chunk, f"exp ended before {wanted!r}; got {bytes(seen)!r}"
            seen += chunk


PROGRESS = r"""
import os, sys, time
go = os.path.join(os.environ["EXPKIT_SHARED_DIR"], "go")

def wait_for(n):
    deadline = time.time() + 60
    while not os.path.exists(go + n) and time.time() < deadline:
        time.sleep(0.02)

sys.stdout.write("progress 1/2\r"); sys.stdout.flush()
wait_for("1")
sys.stdout.write("\rbar 50%"); sys.stdout.flush()
wait_for("2")
sys.stdout.write("\rbar 100%\n"); sys.stdout.flush()
print("done", flush=True)
"""


def test_progress_updates_reach_the_reader_while_the_script_waits(docker_project, tmp_path):
    shared = tmp_path / "share"
    shared.mkdir()
    docker_project.write(
        "aml_config/docker.compute", docker_compute(nativeSharedDirectory=str(shared))
    )
    docker_project.write("progress.py", PROGRESS)
    proc = subprocess.Popen(
        [_exp(), "run", "-c", "docker", "progress.py"],
        cwd=docker_project.root, env=docker_project.env,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    seen = bytearray()
    try:
        # The script blocks until told to go on: each piece arrives while it waits.
        _read_until(proc, seen, b"progress 1/2\r", timeout=60)  # a "\r" ends it at once
        (shared / "go1").touch()
        _read_until(proc, seen, b"bar 50%", timeout=20)  # unended: shown once output pauses
        (shared / "go2").touch()
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:  # a failed assertion: cancel the run, which removes its container
            proc.terminate()
            try:
                proc.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.communicate()
    assert proc.returncode == 0, bytes(seen) + out + err
    expected = b"progress 1/2\r\rbar 50%\rbar 100%\ndone\n"
    assert bytes(seen) + out == expected
    rec = record(docker_project)
    log = docker_project.root / ".exp" / "runs" / rec["id"] / "log.txt"
    assert log.read_bytes() == expected


def test_a_20_mib_line_arrives_whole(docker_project):
    docker_project.write(
        "long.py",
        """
        import sys
        sys.stdout.write("0123456789abcdef" * (20 * 1024 * 1024 // 16) + "\\n")
        print("after", flush=True)
    """,
    )
    started = time.monotonic()
    result = docker_project.exp("run", "-c", "docker", "long.py")
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stderr
    line = "0123456789abcdef" * (20 * 1024 * 1024 // 16) + "\n"
    assert result.stdout == line + "after\n"
    rec = record(docker_project)
    log = docker_project.root / ".exp" / "runs" / rec["id"] / "log.txt"
    assert log.read_text() == line + "after\n"
    assert elapsed < 60, f"{elapsed:.1f} s for a run printing a 20 MiB line"


LINKS = """
import os
os.makedirs("outputs/sub", exist_ok=True)
open("outputs/data.txt", "w").write("data")
open("outputs/sub/deep.txt", "w").write("deep")
os.symlink("data.txt", "outputs/latest")
os.symlink("sub", "outputs/folder")
os.symlink("/etc/passwd", "outputs/passwd")
os.symlink("../links.py", "outputs/escape")
"""


def test_links_in_outputs_are_copied_inside_and_dropped_with_a_note_outside(docker_project):
    docker_project.write("links.py", LINKS)
    result = docker_project.exp("run", "-c", "docker", "links.py")
    assert result.returncode == 0, result.output
    rec = record(docker_project)
    assert rec["outputs"] == ["data.txt", "folder/deep.txt", "latest", "sub/deep.txt"]
    outputs = docker_project.root / ".exp" / "runs" / rec["id"] / "outputs"
    assert (outputs / "latest").read_text() == "data" and not (outputs / "latest").is_symlink()
    assert (outputs / "folder" / "deep.txt").read_text() == "deep"
    assert not (outputs / "passwd").exists() and not (outputs / "passwd").is_symlink()
    assert not (outputs / "escape").is_symlink()
    log = (outputs.parent / "log.txt").read_text()
    for name, target in (("passwd", "/etc/passwd"), ("escape", "../links.py")):
        note = (
            f"exp: note: left out outputs/{name} -> {target}: "
            "it points outside outputs/ (never followed)"
        )
        assert note in log and note in result.stderr
