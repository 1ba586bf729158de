"""Starting a run on the VM: files to the object store, a run folder, a detached container.

Round trips on the target's one connection: ask which objects the VM lacks
(store.py; skipped when this machine knows it has them all); one tar stream
with those objects, the snapshot's hard-link farm (farm.py) and the run's
folder; create and start the container. The container sees:

- /expkit/objects   the object store, read-only
- /expkit/run       the run's folder: spec.json, log.txt, exit_code, home/
- /expkit/project   the working copy, outputs/ in it: an overlay of the run's
                    ``upper/`` over the snapshot's farm (writes land in
                    ``upper/``); where the engine cannot mount an overlay,
                    ``<run folder>/project``, copied by the launcher
- /expkit/lib       <run folder>/lib: the ``expkit`` tracking shim
- /expkit/metrics.jsonl, /expkit/shared  as with ``-c docker``

It runs as the SSH user's uid:gid, so what the script writes stays the
user's to read and remove; the overlay's own root-owned bits (whiteouts,
its work folder) are removed with the run's folder (execution.REMOVE).
"""

from __future__ import annotations

import json
import os
import posixpath
import re
import secrets
import sys
import tempfile
import time
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from expkit.errors import ExpkitError, InfrastructureError, UsageError
from expkit.fsutil import atomic_write_text
from expkit.model import PreparedEnvironment, RunContext
from expkit.runenv import runtime_dir
from expkit.ssh import SshError
from expkit_docker import names
from expkit_docker.engine import EngineError
from expkit_docker.execution import start_error
from expkit_docker.names import container_name
from expkit_docker.runspec import GPU_REQUEST, command, config_hint, variables

from expkit_remotedocker import farm
from expkit_remotedocker.execution import RemoteExecution, RemoteRun
from expkit_remotedocker.session import Session
from expkit_remotedocker.store import Objects, add_blob, add_entries, add_tree, lacking

OBJECTS_DIR = "/expkit/objects"
RUN_DIR = "/expkit/run"
#: A path the overlay's mount options can carry (they are split at "," ":" and "=").
_SAFE_PATH = re.compile(r"/[A-Za-z0-9_./-]+")


def _bind(source: str, target: str, *, read_only: bool = False) -> dict[str, Any]:
    return {"Type": "bind", "Source": source, "Target": target, "ReadOnly": read_only}


def _shared_folder(remote: Session, run: RunContext) -> str | None:
    """``nativeSharedDirectory``: a folder on the VM (``~`` is the SSH user's home)."""
    wanted = run.compute.native_shared_directory
    if not wanted:
        return None
    if wanted == "~" or wanted.startswith("~/"):
        return posixpath.join(remote.facts.home, wanted[2:])
    if not wanted.startswith("/"):
        from expkit.errors import ConfigError

        raise ConfigError(f"must be an absolute path on the VM (or start with ~), got {wanted!r}",
                          file=run.compute.source, key="nativeSharedDirectory")  # fmt: skip
    return wanted


def _target_file(path: str) -> bool:
    """``aml_config/*.compute``: a Workbench one may hold a password, and a run on the VM
    needs none of them, so they never leave this machine."""
    return path.startswith("aml_config/") and path.endswith(".compute") and path.count("/") == 1


def _project_tree(run: RunContext, objects: Objects) -> str:
    """The working copy's tree: from the run's snapshot manifest when it has one (its
    files are hashed and stored already; the core then makes no working copy,
    TargetType.local_working_copy), else by hashing the working copy."""
    if run.snapshot.is_dir():
        _check_script(run.snapshot / run.script, run)
    try:
        record = json.loads((run.run_dir / "record.json").read_text(encoding="utf-8"))
        snapshot_id = record.get("snapshot_id")
        if snapshot_id:
            from expkit.snapshot import load_snapshot

            store = run.run_dir.parent.parent  # <project>/.exp: the history's store
            snapshot = load_snapshot(store, snapshot_id)
            # Strings, not Paths: 5,000 files. A blob missing here is found when it is
            # sent (farm.add_objects), the only time it is read.
            blobs = os.path.join(store, "objects")
            entries = [(e.path, e.sha, e.mode, e.link) for e in snapshot.entries]
            tree = add_entries(entries, objects, lambda sha: f"{blobs}/{sha[:2]}/{sha}",
                               skip=_target_file)  # fmt: skip
            if not any(e.path == run.script for e in snapshot.entries):
                _check_script(None, run)
            return tree
    except UsageError:
        raise
    except (OSError, ValueError, KeyError, TypeError, ExpkitError):
        pass  # an unreadable manifest: the working copy, when there is one
    if not run.snapshot.is_dir():
        raise InfrastructureError(
            f"the run's snapshot is unreadable in {run.run_dir.parent.parent} and it has no "
            "working copy: run it again (`exp runs list` shows the failed run)."
        )
    return add_tree(run.snapshot, objects, skip=_target_file)


def _check_script(path: Path | None, run: RunContext) -> None:
    if path is not None and path.is_file():
        return
    raise UsageError(
        f"script {run.script!r} is not in the run's snapshot of {run.project}: check the "
        "path (relative to the project root) and that no .gitignore/.amlignore rule "
        "excludes it."
    )


def _upload(
    remote: Session, run: RunContext, objects: Objects, trees: Trees, overlay: bool
) -> tuple[str | None, int, int]:
    """Objects, farm and run folder in one round trip (farm.SCRIPT), after asking the VM
    which objects it lacks (none asked when this machine knows it has them all).

    Returns the farm the run mounts (None: the launcher copies the working copy),
    and the objects and bytes sent. A farm to derive from that is gone is made from
    nothing; an object the VM lost (a link fails) is sent again; a farm that still
    cannot be made leaves the run to the copy.
    """
    known, memory = remote.known(), remote.farm_memory()
    new = farm.listing(trees.project, objects) if overlay else {}
    base, old = memory.load() if overlay else ("", {})
    folder = posixpath.relpath(remote.run_folder(run.run_id), remote.store)
    shared = _shared_folder(remote, run)
    count = size = 0
    for attempt in range(3):
        wanted, missing = lacking(remote.ssh, objects, remote.objects, known)
        spec = trees.spec(run, mounted=overlay)
        token = secrets.token_hex(8)
        plan = farm.plan(trees.project, new, base, old) if overlay else None
        with tempfile.TemporaryFile() as stream:
            try:
                gzipped = farm.pack(stream, token, objects, missing, plan, folder, spec)
            except FileNotFoundError as exc:
                raise InfrastructureError(
                    f"a file of the run's snapshot is missing: {exc.filename} (the history's "
                    "object store was changed outside expkit); run the script again: a new "
                    "snapshot stores it again."
                ) from None
            derive = plan.base if plan and not plan.seed else ""
            done = remote.ssh.script(farm.SCRIPT, remote.store, plan.mounted if plan else "",
                                     derive, token, folder, shared or "",
                                     gzipped, input=stream)  # fmt: skip
        if done.code == 0:
            known.add(wanted)
            count, size = count + len(missing), size + objects.size(missing)
            if plan is not None and not plan.seed:  # a seeded run's farm stays the last
                memory.save(trees.project, new)
            return plan.mounted if plan else None, count, size
        if done.code == farm.NO_BASE:
            base, old = "", {}
        elif done.code == farm.BAD_LINK and attempt == 0:
            known.forget()  # the VM lost objects this machine thought it had
            base, old = "", {}
        elif done.code == farm.BAD_LINK:
            memory.forget()
            overlay, new, base, old = False, {}, "", {}
            sys.stderr.write(f"exp: note: could not link the run's files on {remote.ssh.label}"
                             f" ({done.error_text()}); copying them.\n")  # fmt: skip
        else:
            break
    remote.ssh.run(["rm", "-rf", "--", remote.run_folder(run.run_id)])  # no container yet
    raise SshError(f"preparing the run's files failed on {remote.ssh.label} "
                   f"(exit {done.code}): {done.error_text()}")  # fmt: skip


@dataclass(frozen=True)
class Trees:
    """A run's tree objects: its project, the tracking shim and the launcher."""

    project: str
    lib: str
    launcher: str
    argv: tuple[str, ...]

    def spec(self, run: RunContext, *, mounted: bool) -> dict[str, Any]:
        """The launcher's spec: what it rebuilds (not the project when it is mounted)."""
        trees = [[self.lib, names.CONTAINER_LIB]]
        if not mounted:
            trees.insert(0, [self.project, names.CONTAINER_PROJECT])
        return {"trees": trees, "outputs": names.CONTAINER_OUTPUTS,
                "argv": list(self.argv), "cwd": names.CONTAINER_PROJECT}  # fmt: skip


def _overlay_mount(remote: Session, run: RunContext, folder: str, farm_tree: str) -> dict:
    """The working directory: an overlay of the run's upper/ over the snapshot's farm,
    mounted by the engine (a volume of the local driver, removed with the container)."""
    lower = posixpath.join(remote.store, "farms", farm_tree)
    options = {
        "type": "overlay",
        "device": "overlay",
        "o": f"lowerdir={lower},upperdir={folder}/upper,workdir={folder}/work",
    }
    return {"Type": "volume", "Target": names.CONTAINER_PROJECT,
            "VolumeOptions": {"NoCopy": True, "Labels": {names.RUN_LABEL: run.run_id},
                              "DriverConfig": {"Name": "local", "Options": options}}}  # fmt: skip


def start(
    remote: Session, run: RunContext, environment: PreparedEnvironment, *, overlay: bool = True
) -> RemoteExecution:
    objects = Objects()
    trees = Trees(
        project=_project_tree(run, objects),
        lib=add_tree(runtime_dir(), objects),
        launcher=add_blob(
            resources.files("expkit_remotedocker.incontainer").joinpath("launch.py").read_bytes(),
            objects,
        ),  # fmt: skip
        argv=tuple(command(run, environment)),
    )
    facts = remote.facts
    remote.prune_objects(remote.known())
    overlay = overlay and facts.overlay is not False and bool(_SAFE_PATH.fullmatch(remote.store))
    mounted, count, size = _upload(remote, run, objects, trees, overlay)
    uploaded = time.time()  # the run's files are on the VM (Execution.phases)
    overlay = mounted is not None
    _tell_sent(run, count, size)

    folder = remote.run_folder(run.run_id)
    shared = _shared_folder(remote, run)
    mounts = [
        _bind(remote.objects, OBJECTS_DIR, read_only=True),
        _bind(folder, RUN_DIR),
        _overlay_mount(remote, run, folder, mounted) if mounted
        else _bind(posixpath.join(folder, "project"), names.CONTAINER_PROJECT),
        _bind(posixpath.join(folder, "lib"), names.CONTAINER_LIB),
        _bind(posixpath.join(folder, "metrics.jsonl"), names.CONTAINER_METRICS),
    ]  # fmt: skip
    if shared is not None:
        mounts.append(_bind(shared, names.CONTAINER_SHARED))
    env = variables(run, environment, Path(shared) if shared else None)
    env["HOME"] = f"{RUN_DIR}/home"
    host: dict[str, Any] = {"Init": True, "Mounts": mounts}
    if run.compute.nvidia_docker:
        host["DeviceRequests"] = [dict(GPU_REQUEST)]
    launch = [environment.python, posixpath.join(OBJECTS_DIR, trees.launcher),
              f"{RUN_DIR}/spec.json"]  # fmt: skip
    config = {
        "Image": environment.details.get("image_id") or environment.location,
        "Cmd": launch, "Entrypoint": [], "WorkingDir": names.CONTAINER_PROJECT,
        "User": f"{facts.uid}:{facts.gid}",
        "Env": [f"{k}={v}" for k, v in env.items()],
        "Labels": {names.RUN_LABEL: run.run_id, names.PROJECT_LABEL: str(run.project)},
        "AttachStdin": False, "AttachStdout": False, "AttachStderr": False,
        "Tty": False, "OpenStdin": False, "HostConfig": host,
    }  # fmt: skip
    engine = remote.engine
    container = engine.request("POST", "/containers/create",
                               params={"name": container_name(run.run_id)}, body=config,
                               what="creating the run's container").json()["Id"]  # fmt: skip
    outputs_in = "upper" if overlay else "project"
    # Before the start: a later command must be able to find the run from here on.
    atomic_write_text(run.run_dir / "remote.json",
                      json.dumps({"container": container, "folder": folder,
                                  "outputs_in": outputs_in}))  # fmt: skip
    try:
        engine.start(container, "starting the run's container")
    except EngineError as exc:
        engine.remove_container(container)
        if overlay and "overlay" in str(exc).lower():
            # The engine cannot mount one here: remember it, and copy (as before farms).
            remote.no_overlay(str(exc))
            return start(remote, run, environment, overlay=False)
        raise start_error(exc, launch, config_hint(run.compute)) from None
    except InfrastructureError:
        engine.remove_container(container)
        raise
    execution = RemoteExecution(remote.ssh, engine, RemoteRun(container, folder, outputs_in),
                                on_missing=remote.known().forget)  # fmt: skip
    execution.phases["upload"] = uploaded
    return execution


def _tell_sent(run: RunContext, count: int, size: int) -> None:
    import sys

    if count:
        sys.stderr.write(f"exp: sent {count} new file(s), {_size(size)}, to the VM.\n")


def _size(n: int) -> str:
    for unit in ("B", "KiB", "MiB"):
        if n < 1024:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return f"{n:.1f} GiB"
