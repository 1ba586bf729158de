"""The ``remotedocker`` target (alias ``remote``): Docker on a remote Linux VM, over SSH.

The same environments as ``-c docker`` — expkit_docker's client, layers and
builder drive the VM's engine over the target's SSH connection
(engine.RemoteEngine) — and a run that does not depend on the connection:
the run's files go to the VM's object store (store.py), its container runs
detached and writes its output to a file there (execution.py), and a run
whose ``exp`` lost the connection or died is picked up by later commands
(``expkit_reattach``; expkit.runner.detached).

Cleanup policy on the VM: a run's container, its overlay volume and its
folder are removed once the run is collected (or canceled and collected);
objects stay (they make the next upload incremental) until no run used them
for 30 days; the hard-link farms of the last three snapshots stay (and those
of runs not yet collected); environment images stay until
``exp env prune -c TARGET``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from expkit.errors import ConfigError
from expkit.model import (
    AttachRequest,
    AttachResult,
    Collected,
    ComputeTarget,
    Execution,
    PreparedEnvironment,
    PrepareRequest,
    RunContext,
)
from expkit.target import workbench_runconfig
from expkit_docker.target import DockerTarget

from expkit_remotedocker.hooks import TARGET_TYPE

#: Workbench's default was a public image with Spark; a slim Python one is the honest default.
DEFAULT_BASE_IMAGE = "python:3.11-slim"
# An image reference: [registry[:port]/]path[:tag][@digest], no spaces or shell syntax.
_IMAGE_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-/:@")
#: Free disk on the VM below which attach warns (images and runs need room).
LOW_DISK = 5 << 30
REMOTE_FILE = "remote.json"


def _session(compute: ComputeTarget, trust: str | None = None):
    from expkit_remotedocker.session import session

    return session(compute, trust=trust)


class RemoteDockerTarget(DockerTarget):
    """Docker on a VM over SSH; environments and images as DockerTarget, runs detached."""

    target_type = TARGET_TYPE

    def engine(self, compute: ComputeTarget):
        return _session(compute).engine

    def _check_compute(self, compute: ComputeTarget) -> None:
        if not compute.address or not compute.username:
            key = "address" if not compute.address else "username"
            raise ConfigError(
                "a remotedocker target needs the VM's address and the SSH user name",
                file=compute.source, key=key,
                hint="attach it with `exp target attach --type remotedocker --address HOST "
                "--username USER`.",
            )  # fmt: skip

    # ------------------------------------------------------------------ attach

    def attach(self, request: AttachRequest) -> AttachResult:
        from expkit.sshconfig import attach_ssh_options

        ssh = attach_ssh_options(request, what="a remotedocker target")
        image = request.base_image or DEFAULT_BASE_IMAGE
        if not set(image) <= _IMAGE_CHARS or image.startswith(("-", "/", ":")):
            raise ConfigError(
                f"base image {image!r} is not a Docker image reference",
                key="--base-image",
                hint="e.g. --base-image python:3.11-slim or registry.example.com/team/image:tag.",
            )
        compute_data: dict[str, Any] = {
            "type": self.target_type.name,
            **ssh.compute_entries(),
            "baseDockerImage": image,
            "sharedVolumes": False,
            "nvidiaDocker": False,
        }
        # Connect now: a host key, login or engine problem shows at attach, not at the first run.
        compute = ComputeTarget(
            name=request.name, type="remotedocker", address=ssh.address, port=ssh.port,
            username=ssh.username, key_file=ssh.key_file,
        )  # fmt: skip
        remote = _session(compute, trust=request.trust_host_key)
        facts = remote.facts
        if facts.free_bytes is not None and facts.free_bytes < LOW_DISK:
            sys.stderr.write(
                f"exp: warning: only {facts.free_bytes / (1 << 30):.1f} GiB free in "
                f"{facts.home} on {remote.ssh.label}; environment images need several GiB.\n"
            )
        return AttachResult(compute=compute_data, runconfig=workbench_runconfig(request))

    # ------------------------------------------------------------------ prepare

    def prepare(self, request: PrepareRequest) -> PreparedEnvironment:
        from expkit_docker.layers import base_image_ref

        self._check_compute(request.compute)
        engine = self.engine(request.compute)
        ref = base_image_ref(request.compute)
        if engine.image(ref) is None:  # pulled by the VM's engine, not this machine's
            engine.pull(ref, request.progress)
        return super().prepare(request)

    # ------------------------------------------------------------------ submit

    def submit(self, run: RunContext, environment: PreparedEnvironment) -> Execution:
        from expkit_remotedocker.submit import start

        self._check_compute(run.compute)
        return start(_session(run.compute), run, environment)

    def warm_up(self, compute: ComputeTarget) -> None:
        """The SSH connection, the VM's facts, a connection to its engine and the base
        image's details, got while the core takes the snapshot (a few hundred
        milliseconds of every run; prepare then finds them ready)."""
        from expkit_docker.layers import base_image_ref

        self._check_compute(compute)
        remote = _session(compute)
        _ = remote.facts
        remote.engine.warm()
        remote.engine.image(base_image_ref(compute))  # kept by the engine (engine.py)

    def reattach(self, run: RunContext) -> Execution | None:
        from expkit_remotedocker.execution import RemoteExecution, RemoteRun

        try:
            saved = json.loads((run.run_dir / REMOTE_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        remote = _session(run.compute)
        log = run.run_dir / "log.txt"
        offset = log.stat().st_size if log.exists() else 0
        where = RemoteRun(saved["container"], saved["folder"],
                          saved.get("outputs_in", "project"))  # fmt: skip
        return RemoteExecution(remote.ssh, remote.engine, where, offset)

    # ------------------------------------------------------------------ collect

    def collect(self, run: RunContext, execution: Execution) -> Collected:
        from expkit_remotedocker.collect import collect
        from expkit_remotedocker.execution import RemoteExecution

        if not isinstance(execution, RemoteExecution):
            return Collected()
        from expkit.ssh import ConnectionLost

        try:
            return collect(run, execution)
        except ConnectionLost:
            # The run has ended; its files wait on the VM: one new connection fetches them.
            remote = _session(run.compute)
            return collect(run, execution.rebound(remote.ssh, remote.engine))

    # ------------------------------------------------------------------ lost runs

    def stop_orphan(self, compute: ComputeTarget, run_id: str, run_dir: Path) -> bool:
        """Remove a run's containers (label ``expkit.run=<id>``) and folder on the VM."""
        from expkit_docker.names import RUN_LABEL

        remote = _session(compute)
        removed = 0
        for container in remote.engine.containers(f"{RUN_LABEL}={run_id}"):
            if (container.get("Labels") or {}).get(RUN_LABEL) == run_id:
                remote.engine.remove_container(container["Id"])
                removed += 1
        from expkit_remotedocker.execution import REMOVE

        remote.ssh.script(REMOVE, "expkit-none", remote.run_folder(run_id))
        return removed > 0
