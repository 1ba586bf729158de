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

import collections
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from expkit.errors import InfrastructureError
from expkit.streams import LineSplitter

from expkit_docker.archives import files_archive
from expkit_docker.buildscripts import BUILD_DIR, CACHE_MOUNT, CACHE_VOLUME, LayerBuild
from expkit_docker.engine import Engine, EngineError
from expkit_docker.names import BUILD_LABEL, label
from expkit_docker.wire import frames

STEP = "##[expkit-step] "
TAIL_LINES = 25


@dataclass
class BuildLog:
    """What the build printed, parsed as it streams."""

    step: str = "start the build container"
    python: str | None = None
    packages: list[str] = field(default_factory=list)
    conda: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    tail: collections.deque = field(default_factory=lambda: collections.deque(maxlen=TAIL_LINES))
    lines: list[str] = field(default_factory=list)
    _in_freeze: bool = False

    def feed(
        self, line: str, on_step: Callable[[str], None], on_line: Callable[[str], None]
    ) -> None:
        self.lines.append(line)
        text = line.rstrip("\r\n")
        if text.startswith(STEP):
            self.step = text[len(STEP) :]
            self.tail.clear()
            on_step(self.step)
            return
        if text == "##[expkit-freeze-begin]":
            self._in_freeze = True
        elif text == "##[expkit-freeze-end]":
            self._in_freeze = False
        elif self._in_freeze:
            if text.strip():
                self.packages.append(text.strip())
        elif text.startswith("##[expkit-python] "):
            self.python = text.split()[1]
        elif text.startswith("##[expkit-conda] "):
            self.conda.append(text.split()[1])
        elif text.startswith("##[expkit-error] "):
            self.errors.append(text[len("##[expkit-error] ") :])
            self.tail.append(text)
        else:
            self.tail.append(text)
            on_line(text)


class BuildFailed(InfrastructureError):
    """A layer build script exited non-zero; ``log`` says where and why."""

    def __init__(self, message: str, code: int, log: BuildLog, log_file: Path | None) -> None:
        super().__init__(message)
        self.code = code
        self.log = log
        self.log_file = log_file


def failure_message(what: str, code: int, log: BuildLog, log_file: Path | None) -> str:
    lines = [f"{what} failed at step: {log.step} (exit code {code})"]
    tail = [t for t in log.tail if t.strip()]
    if tail:
        lines.append("  last lines of its output:")
        lines += [f"  | {t}" for t in tail[-15:]]
    if log_file is not None:
        lines.append(f"  full build log: {log_file}")
    return "\n".join(lines)


def build_layer(
    engine: Engine,
    parent: Mapping[str, Any],
    build: LayerBuild,
    *,
    repo: str,
    tag: str,
    labels: Mapping[str, str],
    progress,
    log_dir: Path,
    default_cmd: list[str],
    project: str | None = None,
) -> tuple[str, BuildLog]:
    """Run ``build`` on ``parent`` (an image inspect) and commit it as ``repo:tag``.

    ``project`` (the folder whose prepare asked for it) labels the build
    container as it labels run containers, so a cleanup of one project's
    leftovers never kills another project's build in progress."""
    log = BuildLog()
    step = progress.step if progress is not None else (lambda _m: None)
    line = progress.line if progress is not None else (lambda _t: None)
    step(f"building the {build.layer} layer {repo}:{tag}")
    config = {
        "Image": parent["Id"],
        "Cmd": ["/bin/sh", f"{BUILD_DIR}/build.sh"],
        "Entrypoint": [], "WorkingDir": "/",
        "Labels": {BUILD_LABEL: f"{repo}:{tag}", **({"expkit.project": project} if project else {})},
        "AttachStdout": True, "AttachStderr": True, "Tty": False,
        "HostConfig": {
            "Mounts": [{"Type": "volume", "Source": CACHE_VOLUME, "Target": CACHE_MOUNT}]
        },
    }  # fmt: skip
    user = ((parent.get("Config") or {}).get("User") or "").strip()
    if user not in ("", "root", "0", "0:0"):
        # The script needs root to write /opt; the commit restores the image's user.
        config["User"] = "0"
    container = engine.create_container(
        config, f"creating the {build.layer} layer's build container"
    )
    started = time.monotonic()
    try:
        engine.put_archive(container, "/", files_archive(build.all_files(), BUILD_DIR))
        sock, pending = engine.hijack(
            f"/containers/{container}/attach", {"stream": 1, "stdout": 1, "stderr": 1}
        )
        try:
            try:
                engine.start(container, f"starting the {build.layer} layer's build")
            except EngineError as exc:
                raise InfrastructureError(
                    f"the base image cannot run the build script (/bin/sh): {exc.engine_message}"
                ) from None
            lines = LineSplitter(lambda text: log.feed(text, lambda s: line(f"» {s}"), line))
            for _stream, data in frames(sock, pending):
                lines.feed(data)
            lines.close()
        finally:
            sock.close()
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


def _write_log(folder: Path, name: str, log: BuildLog) -> Path | None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{name}.log"
        path.write_text("".join(log.lines), encoding="utf-8")
        return path
    except OSError:
        return None
