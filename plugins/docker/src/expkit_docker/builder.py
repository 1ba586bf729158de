"""Making one environment layer: run its build script in a container, commit it.

Why a container plus ``docker commit`` rather than ``docker build``: the
build must see the host's pip settings and CA bundle, and no layer of the
result may contain them. BuildKit secrets are not available everywhere
(not on the engines these tests run on), and a Dockerfile ``COPY`` would
put them in a layer. Files copied into a container and deleted before the
commit are in no layer at all, and no build argument or environment
variable carries them (the script reads them from its build folder), so the
image config and history stay clean too. It is also one container per layer
instead of one per Dockerfile instruction.

The image keeps the base image's config (user, entrypoint, command,
variables); its labels record the layer ids, the interpreter and the
package list, so a warm prepare learns everything from one inspect.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from expkit.errors import InfrastructureError
from expkit.model import Progress

from expkit_docker.archives import files_archive
from expkit_docker.buildprotocol import (
    BUILD_DIR,
    CACHE_MOUNT,
    CACHE_VOLUME,
    BuildLog,
    failure_message,
)
from expkit_docker.buildscripts import LayerBuild
from expkit_docker.containers import start_attached
from expkit_docker.engine import Engine, EngineError
from expkit_docker.names import BUILD_LABEL, PROJECT_LABEL, label

__all__ = ["BuildFailed", "BuildLog", "build_layer"]


class BuildFailed(InfrastructureError):
    """A layer build script exited non-zero; ``log`` says where and why."""

    def __init__(self, message: str, code: int, log: BuildLog, log_file: Path | None) -> None:
        super().__init__(message)
        self.code = code
        self.log = log
        self.log_file = log_file


def build_layer(
    engine: Engine,
    parent: Mapping[str, Any],
    build: LayerBuild,
    *,
    repo: str,
    tag: str,
    labels: Mapping[str, str],
    progress: Progress | None,
    log_dir: Path,
    default_cmd: list[str],
    project: Path | None = None,
) -> tuple[str, BuildLog]:
    """Run ``build`` on ``parent`` (an image inspect) and commit it as ``repo:tag``.

    ``project``, the project that asked for the build, is labelled on the build
    container (as on a run's), so whose container it is can be told.
    """
    step = progress.step if progress is not None else (lambda _m: None)
    line = progress.line if progress is not None else (lambda _t: None)
    log = BuildLog(on_step=lambda s: line(f"» {s}"), on_line=line)
    step(f"building the {build.layer} layer {repo}:{tag}")
    config = {
        "Image": parent["Id"],
        "Cmd": ["/bin/sh", f"{BUILD_DIR}/build.sh"],
        "Entrypoint": [], "WorkingDir": "/",
        "Labels": {
            BUILD_LABEL: f"{repo}:{tag}",
            **({PROJECT_LABEL: str(project)} if project is not None else {}),
        },
        "AttachStdout": True, "AttachStderr": True, "Tty": False,
        "HostConfig": {
            "Mounts": [{"Type": "volume", "Source": CACHE_VOLUME, "Target": CACHE_MOUNT}]
        },
    }  # fmt: skip
    user = ((parent.get("Config") or {}).get("User") or "").strip()
    if user not in ("", "root", "0", "0:0"):
        # The script needs root to write /opt; the commit restores the image's user.
        config["User"] = "0"
    started = time.monotonic()
    attached = start_attached(
        engine,
        config,
        files_archive(build.all_files(), BUILD_DIR),
        what=f"the {build.layer} layer's build container",
        start_error=_no_shell,
    )
    container = attached.container
    try:
        # BuildLog shows and parses whole lines only: nothing to pass on when quiet.
        attached.read(log.feed, on_stderr=lambda text: log.feed(text, 2), idle=None)
        log.close()
        code = engine.wait(container)
        log_file = _write_log(log_dir, f"{tag}-{build.layer}", log)
        if code != 0:
            what = f"building the {build.layer} layer of environment {tag}"
            raise BuildFailed(failure_message(what, code, log, log_file), code, log, log_file)
        parent_config = parent.get("Config") or {}
        parent_labels = parent_config.get("Labels") or {}
        # Conda packages are installed by the system layer; layers above inherit its list.
        conda = log.conda or (parent_labels.get(label("conda")) or "").split()
        final_labels = {
            **parent_labels,
            **labels,
            label("conda"): " ".join(conda),
            label("packages"): "\n".join(log.packages + [f"{c} (conda)" for c in conda]),
        }
        commit_config = {
            "Labels": final_labels,
            "Env": parent_config.get("Env") or [],
            "Cmd": parent_config.get("Cmd") or default_cmd,
            "Entrypoint": parent_config.get("Entrypoint"),
            "User": parent_config.get("User") or "",
            "WorkingDir": parent_config.get("WorkingDir") or "",
        }
        image_id = engine.commit(
            container, repo, tag, commit_config, comment=f"expkit {build.layer} layer"
        )
        step(f"saved {repo}:{tag} ({time.monotonic() - started:.1f} s)")
        return image_id, log
    finally:
        engine.remove_container(container)


def _no_shell(exc: EngineError) -> Exception:
    return InfrastructureError(
        f"the base image cannot run the build script (/bin/sh): {exc.engine_message}"
    )


def _write_log(folder: Path, name: str, log: BuildLog) -> Path | None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{name}.log"
        path.write_text("".join(log.lines), encoding="utf-8")
        return path
    except OSError:
        return None
