"""remotedocker cases (issue 10), against the remote test host (scripts/remote/up.sh).

- ``remote-resubmit``: a 5,000-file project, one file edited before each round.
  The target row is the *re-submit*: from ``exp``'s process start until the
  edit is on the VM, the run's working copy made there (process start,
  snapshot, SSH connect, the environment check, the upload of what changed
  and the working folder: the run record's ``started`` + ``timings``
  snapshot/prepare/upload, measured from when the bench launched ``exp``)
  vs ``rsync -a`` of the same change to the same host over the same sshd
  (its own start and connect included): the same job, the change made
  present on the VM. ``exp`` runs as a user's second command does: the
  first (untimed) left its SSH connection keeper (expkit.ssh.keeper), as
  OpenSSH's ControlPersist would for ``ssh``; so, as context, ``rsync`` over
  a ControlPersist connection, and ``exp`` with no keeper
  (EXPKIT_SSH_KEEP=0: paramiko's import, a key exchange and authentication
  in every command). As context too: the re-submit until the container started
  (``submit`` too), and the whole ``exp run`` (run and collect too) beside
  ``rsync`` + ``ssh host docker run --rm IMAGE python -c pass``. Its
  teardown also prints the bytes each sends over the veth pair to the host
  (the wire: SSH framing included) for one more one-file edit.
- ``remote-overhead``: ``exp run -c gpuvm trivial.py`` vs
  ``ssh host docker run --rm IMAGE python -c pass``.

Without the host each case is skipped.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from benchlib import REPO, Case, Command, Skip, Target, Workspace, clean_env, exp_executable

FILES, FOLDERS = 5000, 50
#: The host end of the veth pair (scripts/remote/up.sh): its tx bytes go to the host.
VETH = os.environ.get("EXPKIT_REMOTE_HOST_IF", "exprem0")


def _host() -> dict[str, str]:
    out = subprocess.run(["bash", "-c", f'. "{REPO}/scripts/remote/env.sh" && env -0'],
                         capture_output=True, check=True)  # fmt: skip
    facts = dict(i.split("=", 1) for i in out.stdout.decode().split("\0") if "=" in i)
    if not Path(facts["EXPKIT_REMOTE_KEY"]).is_file() or shutil.which("rsync") is None:
        raise Skip("the remote test host is not set up (scripts/remote/up.sh)")
    probe = subprocess.run(["ssh", "-F", facts["EXPKIT_REMOTE_SSH_CONFIG"], "-o", "BatchMode=yes",
                            "expkit-remote", "true"], capture_output=True, timeout=30)  # fmt: skip
    if probe.returncode != 0:
        raise Skip(f"the remote test host does not answer: {probe.stderr.decode().strip()}")
    return facts


def _project(root: Path, files: int) -> Workspace:
    facts = _host()
    home = root / "home"
    (home / ".ssh").mkdir(parents=True)
    shutil.copy(facts["EXPKIT_REMOTE_KEY"], home / ".ssh" / "id_ed25519")
    shutil.copy(facts["EXPKIT_REMOTE_KNOWN_HOSTS"], home / ".ssh" / "known_hosts")
    project = root / "project"
    aml = project / "aml_config"
    aml.mkdir(parents=True)
    (aml / "gpuvm.compute").write_text(
        f"type: remotedocker\naddress: {facts['EXPKIT_REMOTE_ADDR']}\n"
        f"username: {facts['EXPKIT_REMOTE_USER']}\nbaseDockerImage: {facts['EXPKIT_BASE_IMAGE']}\n"
    )
    (aml / "gpuvm.runconfig").write_text('ArgumentVector: ["$file"]\nTarget: gpuvm\n')
    (project / "trivial.py").write_text("pass\n")
    for i in range(files):
        folder = project / "src" / f"pkg{i % FOLDERS:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"mod{i:04d}.py").write_text(f"# module {i}\nVALUE = {i}\n" + "x = 1\n" * 100)
    runtime = root / "run"  # the keeper's socket, private to this benchmark
    runtime.mkdir(mode=0o700)
    env = clean_env(root, {"HOME": str(home), "EXPKIT_SNAPSHOT_LIMIT_MB": "0",
                           "XDG_RUNTIME_DIR": str(runtime)})  # fmt: skip
    env.pop("SSH_AUTH_SOCK", None)
    ws = Workspace(root=root, cwd=project, env=env,
                   data={"exp": exp_executable(), "facts": facts, "edits": 0})  # fmt: skip
    prepared = subprocess.run([ws.data["exp"], "prepare", "-c", "gpuvm", "--json"], cwd=project,
                              env=env, capture_output=True, text=True)  # fmt: skip
    if prepared.returncode != 0:
        raise RuntimeError(f"exp prepare failed:\n{prepared.stdout}{prepared.stderr}")
    ws.data["image"] = json.loads(prepared.stdout)["location"]
    # The first upload and the rsync copy are made once, untimed.
    for argv in (_exp_run(ws), _rsync(ws)):
        done = subprocess.run(argv, cwd=project, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"{argv[0]} failed:\n{done.stdout}{done.stderr}")
    return ws


def _ssh(ws: Workspace) -> list[str]:
    return ["ssh", "-F", ws.data["facts"]["EXPKIT_REMOTE_SSH_CONFIG"], "-o", "BatchMode=yes"]


def _rsync(ws: Workspace) -> list[str]:
    return ["rsync", "-a", "--delete", "--exclude", ".exp", "-e", " ".join(_ssh(ws)),
            f"{ws.cwd}/", "expkit-remote:bench-rsync/"]  # fmt: skip


def _rsync_kept(ws: Workspace) -> list[str]:
    """rsync over an OpenSSH master connection that stays (ControlPersist)."""
    kept = [*_ssh(ws), "-o", "ControlMaster=auto", "-o", f"ControlPath={ws.root}/cm-%C",
            "-o", "ControlPersist=120"]  # fmt: skip
    return ["rsync", "-a", "--delete", "--exclude", ".exp", "-e", " ".join(kept),
            f"{ws.cwd}/", "expkit-remote:bench-rsync/"]  # fmt: skip


def _exp_run(ws: Workspace) -> list[str]:
    return [ws.data["exp"], "run", "-c", "gpuvm", "trivial.py"]


def _exp_run_unkept(ws: Workspace) -> list[str]:
    return ["env", "EXPKIT_SSH_KEEP=0", *_exp_run(ws)]


def _docker_run(ws: Workspace) -> list[str]:
    return [*_ssh(ws), "expkit-remote", "docker", "run", "--rm", ws.data["image"], "python",
            "-c", "pass"]  # fmt: skip


def _rsync_then_docker(ws: Workspace) -> list[str]:
    return ["sh", "-c", f"{shlex.join(_rsync(ws))} && {shlex.join(_docker_run(ws))}"]


def _until(*phases: str):
    """A measure: seconds from the launch until the end of the last run's ``phases``
    (its record's ``started`` plus their ``timings``)."""

    def measure(ws: Workspace, launched: float) -> float:
        runs = ws.cwd / ".exp" / "runs"
        records = [json.loads(p.read_text()) for p in runs.glob("*/record.json")]
        last = max(records, key=lambda r: r["number"])
        timings = last.get("timings") or {}
        if not all(p in timings for p in phases):
            raise RuntimeError(f"run {last['number']} recorded no {phases} timings: {timings}")
        return last["started"] + sum(timings[p] for p in phases) - launched

    return measure


def _edit_one_file(ws: Workspace) -> None:
    ws.data["edits"] += 1
    path = ws.cwd / "src" / "pkg07" / "mod0007.py"
    path.write_text(path.read_text() + f"# edit {ws.data['edits']}\n")


def _wire_bytes() -> int:
    return int(Path(f"/sys/class/net/{VETH}/statistics/tx_bytes").read_text())


def _report_bytes(ws: Workspace) -> None:
    edited = ws.cwd / "src" / "pkg07" / "mod0007.py"
    for label, argv in (("rsync", _rsync(ws)), ("exp run -c gpuvm", _exp_run(ws))):
        _edit_one_file(ws)
        before = _wire_bytes()
        subprocess.run(argv, cwd=ws.cwd, env=ws.env, capture_output=True, check=True)
        sent = _wire_bytes() - before
        print(f"remote-resubmit: {label}: {sent:,} bytes on the wire for a one-file edit "
              f"(the file: {edited.stat().st_size:,} bytes)", file=sys.stderr)  # fmt: skip
    subprocess.run([*_ssh(ws), "expkit-remote", "rm", "-rf", "bench-rsync"], capture_output=True)
    _stop_connections(ws)


def _stop_connections(ws: Workspace) -> None:
    """End what the case left running: exp's keeper, ssh's ControlPersist master."""
    subprocess.run([*_ssh(ws), "-o", f"ControlPath={ws.root}/cm-%C", "-O", "exit",
                    "expkit-remote"], capture_output=True)  # fmt: skip
    code = (
        "import sys; from expkit.ssh import kept, SshTarget; "
        "kept.stop(SshTarget(sys.argv[1], username=sys.argv[2]))"
    )
    facts = ws.data["facts"]
    subprocess.run([sys.executable, "-c", code, facts["EXPKIT_REMOTE_ADDR"],
                    facts["EXPKIT_REMOTE_USER"]], env=ws.env, capture_output=True)  # fmt: skip


CASES = [
    Case(
        name="remote-resubmit",
        description=f"re-submit after a one-file edit in a {FILES:,}-file project (exp: process "
        "start until the edit is on the VM) vs rsync of the same edit to the same host",
        setup=lambda root: _project(root, FILES),
        commands=[
            Command("rsync -a (one file edited)", _rsync, before=_edit_one_file),
            Command(
                "rsync -a over an ssh ControlPersist connection (context)",
                _rsync_kept,
                before=_edit_one_file,
            ),  # fmt: skip
            Command(
                "rsync -a + ssh host docker run --rm IMAGE python -c pass (context)",
                _rsync_then_docker,
                before=_edit_one_file,
            ),  # fmt: skip
            Command(
                "exp run -c gpuvm trivial.py, whole run (context)", _exp_run, before=_edit_one_file
            ),  # fmt: skip
            Command(
                "exp run -c gpuvm: start -> container started (context)",
                _exp_run,
                before=_edit_one_file,
                measure=_until("snapshot", "prepare", "upload", "submit"),
            ),  # fmt: skip
            Command(
                "exp run -c gpuvm: re-submit, no connection keeper (context)",
                _exp_run_unkept,
                before=_edit_one_file,
                measure=_until("snapshot", "prepare", "upload"),
            ),  # fmt: skip
            Command(
                "exp run -c gpuvm: re-submit (start -> edit on the VM)",
                _exp_run,
                before=_edit_one_file,
                measure=_until("snapshot", "prepare", "upload"),
            ),  # fmt: skip
        ],
        target=Target(max_ratio=1.5),
        teardown=_report_bytes,
    ),
    Case(
        name="remote-overhead",
        description="`exp run -c gpuvm trivial.py` "
        "vs `ssh host docker run --rm IMAGE python -c pass`",
        setup=lambda root: _project(root, 0),
        commands=[
            Command("ssh host docker run --rm IMAGE python -c pass", _docker_run),
            Command("exp run -c gpuvm trivial.py", _exp_run),
        ],
        target=Target(max_overhead_s=0.5),
        teardown=_stop_connections,
    ),
]
