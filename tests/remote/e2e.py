"""Helpers of the remotedocker end-to-end tests (real CLI, remote test host)."""

from __future__ import annotations

import json
import re
import subprocess
import time
from pathlib import Path

import remotehost


def setup_project(project, remote, tmp_path: Path, *, attach: bool = True) -> None:
    """HOME trusting the host, the proxy for builds, and an attached target ``gpuvm``."""
    home = remotehost.make_home(tmp_path / "home", remote)
    project.env["HOME"] = str(home)
    project.env.pop("SSH_AUTH_SOCK", None)
    # The VM reaches the package index only through this proxy, from its own loopback
    # network: builds run with buildNetwork: host.
    project.env["HTTPS_PROXY"] = remote.proxy
    project.env["HTTP_PROXY"] = remote.proxy
    (project.root / "aml_config").mkdir(exist_ok=True)
    if attach:
        result = project.exp("target", "attach", "--name", "gpuvm", "--type", "remotedocker",
                             "--address", remote.address, "--username", remote.user,
                             "--base-image", remote.base_image)  # fmt: skip
        assert result.returncode == 0, result.output
        with open(project.root / "aml_config" / "gpuvm.compute", "a") as compute:
            compute.write("buildNetwork: host\n")


def record(project, ref: str) -> dict:
    result = project.exp("runs", "show", ref, "--json")
    assert result.returncode == 0, result.output
    return json.loads(result.stdout)


def run_containers(remote, run_id: str | None = None) -> list[str]:
    """Containers of expkit runs on the VM's engine (all, or one run's)."""
    label = "expkit.run" if run_id is None else f"expkit.run={run_id}"
    out = remote.docker("ps", "-aq", "--filter", f"label={label}")
    assert out.returncode == 0, out.stderr
    return out.stdout.split()


def run_folder(remote, run_id: str) -> Path:
    return Path(f"/home/{remote.user}/.cache/expkit-remote/runs/{run_id}")


def wait_until(check, timeout: float = 60, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def only_run_dir(project) -> Path:
    runs = list((project.root / ".exp" / "runs").iterdir())
    assert len(runs) == 1, runs
    return runs[0]


def ssh_client_ports(pid: int, remote) -> list[int]:
    """Local ports of the SSH connections process ``pid`` holds to the VM."""
    out = subprocess.run(["ss", "-tnpH", f"dst {remote.address}:{remote.port}"],
                         capture_output=True, text=True, check=True).stdout  # fmt: skip
    ports = []
    for line in out.splitlines():
        if f"pid={pid}," in line:
            local = line.split()[3]
            ports.append(int(local.rsplit(":", 1)[1]))
    return ports


def started(project, marker: str = "started") -> Path:
    """Wait until the (only) run's log shows ``marker``; its run folder."""

    def look():
        runs = project.root / ".exp" / "runs"
        for folder in runs.iterdir() if runs.exists() else ():
            log = folder / "log.txt"
            if log.exists() and marker in log.read_text(errors="replace"):
                return folder
        return None

    return wait_until(look, 120, f"{marker!r} in the run's log")


def run_id_of(folder: Path) -> str:
    return folder.name


def fingerprints(text: str) -> list[str]:
    return re.findall(r"SHA256:[A-Za-z0-9+/]{43}", text)


def release(remote, run_id: str) -> None:
    """Let a waiting slow.py (test_remotedocker_e2e) go on: ``go`` in the run's folder
    (its /expkit/run; the working folder is an overlay, not to be written from outside)."""
    (run_folder(remote, run_id) / "go").touch()


def run_volumes(remote, run_id: str) -> list[str]:
    """Volumes (the overlay working folders) of one run on the VM's engine."""
    out = remote.docker("volume", "ls", "-q", "--filter", f"label=expkit.run={run_id}")
    assert out.returncode == 0, out.stderr
    return out.stdout.split()


def assert_cleaned_up(remote, run_id: str) -> None:
    """The run's container, volume and folder leave the VM (removed in the background once
    the run is collected or canceled)."""
    wait_until(lambda: not run_containers(remote, run_id) and not run_folder(remote, run_id)
               .exists() and not run_volumes(remote, run_id), 60,
               f"the VM to be cleaned up after run {run_id}")  # fmt: skip
