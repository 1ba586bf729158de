"""Archives from the VM are extracted without traversal: what a hostile VM (or a hostile
script on it) sends never lands outside the run's outputs/."""

from __future__ import annotations

from pathlib import Path

import pytest
from e2e import record, setup_project, wait_until
from expkit.ssh import SshTarget, connect
from expkit.testing import compute_from_mapping, make_run_context

pytestmark = pytest.mark.slow

HOSTILE_TAR = r"""
import io, sys, tarfile
buf = io.BytesIO()
with tarfile.open(fileobj=buf, mode="w") as tar:
    def add(name, data=b"x", kind=tarfile.REGTYPE, link=""):
        info = tarfile.TarInfo(name)
        regular = kind == tarfile.REGTYPE
        info.type, info.linkname, info.size = kind, link, len(data) if regular else 0
        tar.addfile(info, io.BytesIO(data) if regular else None)
    add("outputs/", kind=tarfile.DIRTYPE)
    add("outputs/good.txt", b"good")
    add("outputs/../escaped.txt")
    add("/tmp/expkit-absolute-escape.txt")
    add("outputs/link-out", kind=tarfile.SYMTYPE, link="/etc/passwd")
    add("outputs/link-up", kind=tarfile.SYMTYPE, link="../../..")
    add("outputs/link-up/through.txt")
    add("outputs/hard", kind=tarfile.LNKTYPE, link="/etc/shadow")
sys.stdout.buffer.write(buf.getvalue())
"""


class HostileVm:
    """The test host's real connection, where ``tar`` answers with HOSTILE_TAR."""

    def __init__(self, ssh) -> None:
        self._ssh = ssh
        self.label, self.resolved = ssh.label, ssh.resolved

    def run(self, argv, **kw):
        if argv[0] == "tar":
            argv = ["python3", "-c", HOSTILE_TAR]
        return self._ssh.run(argv, **kw)

    def __getattr__(self, name):
        return getattr(self._ssh, name)


def test_hostile_archive_entries_are_refused(remote, ssh_home, tmp_path: Path) -> None:
    from expkit_remotedocker.collect import collect
    from expkit_remotedocker.execution import RemoteExecution, RemoteRun
    from expkit_remotedocker.session import session

    compute = {"type": "remotedocker", "address": remote.address, "username": remote.user,
               "baseDockerImage": remote.base_image}  # fmt: skip
    run = make_run_context(tmp_path, compute_from_mapping("vm", compute), "print('x')\n")
    real = session(run.compute)
    folder = real.run_folder(run.run_id)
    real.ssh.run(["mkdir", "-p", f"{folder}/project/outputs"], check=True)
    execution = RemoteExecution(HostileVm(connect(SshTarget(remote.address, username=remote.user))),
                                real.engine, RemoteRun("no-such-container", folder))  # fmt: skip
    execution.followed = True
    collected = collect(run, execution)
    # A file under a refused link lands in a real folder of that name, inside outputs/.
    assert set(collected.outputs) <= {"good.txt", "link-up/through.txt"}
    assert "good.txt" in collected.outputs
    assert [p for p in tmp_path.rglob("through.txt") if run.outputs_dir not in p.parents] == []
    assert (run.outputs_dir / "good.txt").read_bytes() == b"good"
    assert not (run.outputs_dir.parent / "escaped.txt").exists()
    assert not Path("/tmp/expkit-absolute-escape.txt").exists()
    assert not any(p.is_symlink() for p in run.outputs_dir.rglob("*"))
    notes = " ".join(collected.notes)
    assert "link-out" in notes and "link-up" in notes
    wait_until(lambda: not real.ssh.exists(folder), 30, "the run's folder to be removed")


def test_links_out_of_outputs_made_by_the_script_are_dropped(project, remote, tmp_path) -> None:
    setup_project(project, remote, tmp_path)
    project.write(
        "links.py",
        """
        import os
        os.makedirs("outputs/sub", exist_ok=True)
        open("outputs/sub/kept.txt", "w").write("kept")
        os.symlink("/etc/passwd", "outputs/passwd")
        os.symlink("../..", "outputs/up")
        os.symlink("sub/kept.txt", "outputs/inside")
    """,
    )
    result = project.exp("run", "-c", "gpuvm", "links.py")
    assert result.returncode == 0, result.output
    run = record(project, "1")
    outputs = project.root / ".exp" / "runs" / run["id"] / "outputs"
    assert sorted(run["outputs"]) == ["inside", "sub/kept.txt"]
    assert (outputs / "inside").read_text() == "kept" and not (outputs / "inside").is_symlink()
    assert not (outputs / "passwd").exists() and not (outputs / "up").exists()
    assert "passwd" in result.stderr
