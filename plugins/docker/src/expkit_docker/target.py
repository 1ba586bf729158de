"""The ``docker`` compute target (alias ``localdocker``): a container on this machine's engine.

prepare builds (or finds) the environment image (layers.py), submit starts
the run's container (runspec.py, execution.py), collect copies ``outputs/``
back (archives.py). ``exp env`` lists and removes the
environment images. Heavy modules are imported inside the methods that need
them: ``exp`` loads this plugin for every command.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from expkit.errors import ConfigError, InfrastructureError, UsageError
from expkit.model import (
    AttachRequest,
    AttachResult,
    Collected,
    ComputeTarget,
    EnvironmentId,
    EnvironmentInfo,
    Execution,
    PreparedEnvironment,
    PrepareRequest,
    RunContext,
)
from expkit.target import Target, workbench_runconfig

from expkit_docker.hooks import TARGET_TYPE
from expkit_docker.names import REPO

if TYPE_CHECKING:
    from expkit_docker.engine import Engine

_REMOTE_KEYS = (
    ("address", "--address", "address"),
    ("username", "--username", "username"),
    ("port", "--port", "port"),
    ("key_file", "--key-file", "keyFile"),
)
_ENV_TAG = re.compile(rf"^{re.escape(REPO)}:([0-9a-f]{{8,64}})$")


class DockerTarget(Target):
    """The ``docker`` target; expkit.target.TargetPlugin calls it for its type and alias only."""

    target_type = TARGET_TYPE

    def engine(self, compute: ComputeTarget) -> Engine:
        """The engine ``compute``'s runs use: this machine's (``DOCKER_HOST``).

        The one place a target picks its engine: a target that drives Docker
        elsewhere (remotedocker, over SSH) overrides this and reuses the rest.
        """
        from expkit_docker.engine import Engine

        return Engine.from_env()

    # ------------------------------------------------------------------ attach

    def attach(self, request: AttachRequest) -> AttachResult:
        for attr, flag, _key in _REMOTE_KEYS:
            if getattr(request, attr) is not None:
                raise ConfigError(
                    "the docker target runs containers on this machine's Docker engine; "
                    f"{flag} is for remote targets",
                    key=flag,
                    hint=f"drop {flag}, or attach --type remotedocker for Docker on a remote VM.",
                )
        from expkit_docker.layers import DEFAULT_BASE_IMAGE

        runconfig = workbench_runconfig(request)
        compute = {
            "type": TARGET_TYPE.name,
            "baseDockerImage": request.base_image or DEFAULT_BASE_IMAGE,
            "sharedVolumes": False,
            "nvidiaDocker": False,
        }
        return AttachResult(compute=compute, runconfig=runconfig)

    def _check_compute(self, compute: ComputeTarget) -> None:
        for attr, _flag, key in _REMOTE_KEYS:
            if getattr(compute, attr) is not None:
                raise ConfigError(
                    f"a {compute.type} target runs on this machine's Docker engine; {key} is "
                    "for remote targets",
                    file=compute.source,
                    key=key,
                    hint="remove it, or use type: remotedocker for Docker on a remote VM.",
                )

    # ------------------------------------------------------------------ prepare

    def prepare(self, request: PrepareRequest) -> PreparedEnvironment:
        from expkit_docker.layers import prepare

        self._check_compute(request.compute)
        return prepare(request, self.engine(request.compute))

    # ------------------------------------------------------------------ submit

    def submit(self, run: RunContext, environment: PreparedEnvironment) -> Execution:
        from expkit.runenv import runtime_dir

        from expkit_docker.archives import run_archive
        from expkit_docker.execution import DockerExecution
        from expkit_docker.names import CONTAINER_PROJECT, CONTAINER_ROOT, container_name
        from expkit_docker.runspec import config_hint, container_config

        self._check_compute(run.compute)
        if not (run.snapshot / run.script).is_file():
            raise UsageError(
                f"script {run.script!r} is not in the run's snapshot of {run.project}: check the "
                "path (relative to the project root) and that no .gitignore/.amlignore rule "
                "excludes it."
            )
        # Bind-mounted (runspec.py): it must exist, and the image's user must be able to append.
        run.metrics_file.parent.mkdir(parents=True, exist_ok=True)
        run.metrics_file.touch()
        if environment.details.get("user") not in (None, "", "root", "0", "0:0"):
            run.metrics_file.chmod(0o666)
        config = container_config(run, environment)
        if run.compute.shared_volumes:
            (run.snapshot / "outputs").mkdir(parents=True, exist_ok=True)
        archive = run_archive(
            CONTAINER_ROOT,
            snapshot=None if run.compute.shared_volumes else run.snapshot,
            project=CONTAINER_PROJECT,
            shim=runtime_dir(),
        )
        return DockerExecution.start(
            self.engine(run.compute),
            config,
            archive,
            name=container_name(run.run_id),
            config_hint=config_hint(run.compute),
        )

    # ------------------------------------------------------------------ collect

    def collect(self, run: RunContext, execution: Execution) -> Collected:
        from expkit_docker.archives import extract
        from expkit_docker.execution import DockerExecution

        if not isinstance(execution, DockerExecution):
            return Collected()
        found: list[str] = []
        notes: list[str] = []
        try:
            outputs = execution.results()
            if outputs is not None:
                try:
                    found = extract(
                        outputs, run.outputs_dir, strip="outputs",
                        source=execution.outputs_path, note=notes.append,
                    )  # fmt: skip
                finally:
                    outputs.close()
        finally:
            execution.remove()
        # The metrics are in run.metrics_file already: it was mounted into the container.
        return Collected(outputs=tuple(found), notes=tuple(notes))

    # ------------------------------------------------------------------ lost runs

    def stop_orphan(self, compute: ComputeTarget, run_id: str, run_dir: Path) -> bool:
        """Kill and remove the containers of a run whose ``exp`` died (SIGKILL, crash),
        collecting the outputs each wrote first (they are the run's result).

        The run's containers carry the label ``expkit.run=<run id>`` (runspec.py):
        exactly those are removed, whatever their name or state, and nothing else.
        """
        from expkit.outputs import log_notes

        from expkit_docker.archives import extract
        from expkit_docker.execution import DockerExecution
        from expkit_docker.names import RUN_LABEL

        engine = self.engine(compute)
        removed = 0
        for container in engine.containers(f"{RUN_LABEL}={run_id}"):
            if (container.get("Labels") or {}).get(RUN_LABEL) == run_id:
                lost = DockerExecution.existing(engine, container["Id"])
                lost.cancel()  # kills it, keeps what it wrote, removes it
                outputs = lost.results()
                if outputs is not None:
                    notes: list[str] = []
                    extract(
                        outputs, run_dir / "outputs", strip="outputs",
                        source=lost.outputs_path, note=notes.append,
                    )  # fmt: skip
                    log_notes(run_dir, notes)
                removed += 1
        return removed > 0

    # ------------------------------------------------------------------ environments

    def list_environments(self, compute: ComputeTarget) -> list[EnvironmentInfo]:
        from expkit_docker import usage
        from expkit_docker.names import LABEL, built_by_expkit, label, system_tag

        used = usage.load()
        infos = []
        engine = self.engine(compute)
        for image in engine.images(LABEL):
            labels = image.get("Labels") or {}
            for tag in image.get("RepoTags") or ():
                match = _ENV_TAG.match(tag)
                if not match or not built_by_expkit(engine.image(tag) or {}):
                    continue  # an image built FROM an environment inherits its labels
                env_id = match.group(1)
                packages = [p for p in (labels.get(label("packages")) or "").splitlines() if p]
                infos.append(EnvironmentInfo(
                    env_id=env_id, location=tag, size_bytes=image.get("Size"),
                    created=float(image.get("Created") or 0) or None,
                    last_used=(used.get(env_id) or {}).get("last_used"),
                    layers=EnvironmentId(base=labels.get(label("base"), ""),
                                         system=labels.get(label("system"), ""), pip=env_id),
                    details={
                        "image_id": image.get("Id"), "tags": list(image.get("RepoTags") or ()),
                        "base_image": labels.get(label("base-image")),
                        "system_tag": system_tag(labels.get(label("system"), "")),
                        "python": labels.get(label("python")), "packages": packages,
                        "inputs": _json(labels.get(label("inputs"))),
                    },
                ))  # fmt: skip
        return sorted(infos, key=lambda i: i.created or 0, reverse=True)

    def remove_environment(self, compute: ComputeTarget, env_id: str) -> bool:
        from expkit_docker import usage
        from expkit_docker.engine import Conflict
        from expkit_docker.names import LABEL, built_by_expkit, env_tag, label, system_tag

        engine = self.engine(compute)
        image = engine.image(env_tag(env_id))
        if image is None or not built_by_expkit(image):
            usage.forget(env_id)
            return False  # gone, or someone else's image under expkit's name: not ours to delete
        system_id = ((image.get("Config") or {}).get("Labels") or {}).get(label("system"))
        try:
            # A tag at a time, never the parents (noprune): deleting a tag deletes the
            # image only when nothing else refers to it - another tag, a container, or
            # an image built FROM it keep it; an untagged parent is left to its owner.
            engine.remove_image(env_tag(env_id), noprune=True)
            system = engine.image(system_tag(system_id)) if system_id else None
            if (
                system is not None
                and built_by_expkit(system)
                and not any(
                    (other.get("Labels") or {}).get(label("system")) == system_id
                    and any(_ENV_TAG.match(t) for t in other.get("RepoTags") or ())
                    for other in engine.images(LABEL)
                )
            ):
                engine.remove_image(system_tag(str(system_id)), noprune=True)
        except Conflict as exc:
            raise InfrastructureError(
                f"environment {env_id} is in use: {exc.engine_message}\n"
                "  wait for its runs to end (or remove their containers) and prune again."
            ) from None
        usage.forget(env_id)
        return True


def _json(text: str | None) -> Any:
    import json

    try:
        return json.loads(text) if text else None
    except ValueError:
        return None
