"""Starting a run on the VM: files to the object store, a run folder, a detached container.

Steps (each one SSH round trip or two on the target's one connection):
send the objects the VM lacks (store.py); create the run's folder with the
launcher's spec; create and start the container. The container sees:

- /expkit/objects   the object store, read-only (the launcher copies from it)
- /expkit/run       the run's folder: spec.json, log.txt, exit_code, home/
- /expkit/project   <run folder>/project: the working copy, outputs/ in it
- /expkit/lib       <run folder>/lib: the ``expkit`` tracking shim
- /expkit/metrics.jsonl, /expkit/shared  as with ``-c docker``

It runs as the SSH user's uid:gid, so everything in the run's folder stays
the user's to read and remove (no root-owned leftovers on the VM).
"""

from __future__ import annotations

import json
import posixpath
from importlib import resources
from pathlib import Path
from typing import Any

from expkit.errors import ExpkitError, InfrastructureError, UsageError
from expkit.fsutil import atomic_write_text
from expkit.model import PreparedEnvironment, RunContext
from expkit.runenv import runtime_dir
from expkit_docker import names
from expkit_docker.engine import EngineError
from expkit_docker.execution import start_error
from expkit_docker.names import container_name
from expkit_docker.runspec import GPU_REQUEST, command, config_hint, variables

from expkit_remotedocker.execution import RemoteExecution, RemoteRun
from expkit_remotedocker.session import Session
from expkit_remotedocker.store import Objects, add_blob, add_entries, add_tree, send

OBJECTS_DIR = "/expkit/objects"
RUN_DIR = "/expkit/run"
#: sh -c script: make the run's folder ($1) with its spec (stdin); $2: a shared folder to create.
_SETUP = (
    'set -e; mkdir -p "$1/project" "$1/lib" "$1/home"; : > "$1/metrics.jsonl"; '
    ': > "$1/log.txt"; cat > "$1/spec.json"; if [ -n "$2" ]; then mkdir -p "$2"; fi'
)


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
            blobs = store / "objects"
            entries = [(e.path, e.sha, e.mode, e.link) for e in snapshot.entries]
            if all(e.link is not None or (blobs / e.sha[:2] / e.sha).is_file()
                   for e in snapshot.entries if e.sha):  # fmt: skip
                tree = add_entries(entries, objects, lambda sha: blobs / sha[:2] / sha,
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


def start(remote: Session, run: RunContext, environment: PreparedEnvironment) -> RemoteExecution:
    objects = Objects()
    project = _project_tree(run, objects)
    facts = remote.facts
    lib = add_tree(runtime_dir(), objects)
    launcher = add_blob(resources.files("expkit_remotedocker.incontainer")
                        .joinpath("launch.py").read_bytes(), objects)  # fmt: skip
    known = remote.known()
    remote.prune_objects(known)
    sent = send(remote.ssh, objects, remote.objects, known)
    _tell_sent(run, sent.objects, sent.bytes)

    folder = remote.run_folder(run.run_id)
    shared = _shared_folder(remote, run)
    spec = {
        "trees": [[project, names.CONTAINER_PROJECT], [lib, names.CONTAINER_LIB]],
        "outputs": names.CONTAINER_OUTPUTS,
        "argv": command(run, environment),
        "cwd": names.CONTAINER_PROJECT,
    }
    remote.ssh.script(_SETUP, folder, shared or "", input=json.dumps(spec).encode(),
                      check=True, what="creating the run's folder")  # fmt: skip
    mounts = [
        _bind(remote.objects, OBJECTS_DIR, read_only=True),
        _bind(folder, RUN_DIR),
        _bind(posixpath.join(folder, "project"), names.CONTAINER_PROJECT),
        _bind(posixpath.join(folder, "lib"), names.CONTAINER_LIB),
        _bind(posixpath.join(folder, "metrics.jsonl"), names.CONTAINER_METRICS),
    ]
    if shared is not None:
        mounts.append(_bind(shared, names.CONTAINER_SHARED))
    env = variables(run, environment, Path(shared) if shared else None)
    env["HOME"] = f"{RUN_DIR}/home"
    host: dict[str, Any] = {"Init": True, "Mounts": mounts}
    if run.compute.nvidia_docker:
        host["DeviceRequests"] = [dict(GPU_REQUEST)]
    argv = [environment.python, posixpath.join(OBJECTS_DIR, launcher), f"{RUN_DIR}/spec.json"]
    config = {
        "Image": environment.details.get("image_id") or environment.location,
        "Cmd": argv, "Entrypoint": [], "WorkingDir": names.CONTAINER_PROJECT,
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
    # Before the start: a later command must be able to find the run from here on.
    atomic_write_text(run.run_dir / "remote.json",
                      json.dumps({"container": container, "folder": folder}))  # fmt: skip
    try:
        engine.start(container, "starting the run's container")
    except EngineError as exc:
        engine.remove_container(container)
        raise start_error(exc, argv, config_hint(run.compute)) from None
    except InfrastructureError:
        engine.remove_container(container)
        raise
    return RemoteExecution(remote.ssh, engine, RemoteRun(container, folder),
                           on_missing=known.forget)  # fmt: skip


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
