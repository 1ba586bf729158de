"""Hook implementations for the ``remotedocker`` target type (alias ``remote``).

A placeholder that is honest about it: ``exp target attach`` is fully
validated and writes the files Workbench wrote, ``exp plugins`` shows the type
as "not available yet", and every attempt to run on it fails with
TargetNotAvailableError naming what to use instead. It never fakes a success.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NoReturn

from expkit.errors import ConfigError, TargetNotAvailableError
from expkit.hookspecs import hookimpl
from expkit.model import AttachResult, TargetType

if TYPE_CHECKING:
    from expkit.model import (
        AttachRequest,
        Collected,
        ComputeTarget,
        EnvironmentInfo,
        Execution,
        PreparedEnvironment,
        PrepareRequest,
        RunContext,
    )

#: Workbench's default was a public image with Spark; a slim Python one is the honest default.
DEFAULT_BASE_IMAGE = "python:3.11-slim"
# An image reference: [registry[:port]/]path[:tag][@digest], no spaces or shell syntax.
_IMAGE_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-/:@")

TARGET_TYPE = TargetType(
    name="remotedocker",
    package="expkit-remotedocker",
    description="Docker on a remote Linux machine over SSH (placeholder: not available yet).",
    aliases=("remote",),
    compute_keys=frozenset(
        {
            "address",
            "port",
            "username",
            "keyFile",
            "baseDockerImage",
            "sharedVolumes",
            "nvidiaDocker",
            "nativeSharedDirectory",
            "userManagedEnvironment",
        }
    ),  # fmt: skip
    available=False,
)


def _mine(type_name: str) -> bool:
    return type_name == TARGET_TYPE.name or type_name in TARGET_TYPE.aliases


def _not_available(compute: ComputeTarget) -> NoReturn:
    raise TargetNotAvailableError(
        f"target {compute.name!r} (type remotedocker, {TARGET_TYPE.package}) is not available "
        "yet: this version validates its configuration but cannot run scripts on a remote "
        "machine.\n"
        "  Instead: run with `-c docker` on this machine (expkit-docker), or install expkit "
        "on the remote machine and run `exp run -c docker ...` there over ssh."
    )


@hookimpl
def expkit_target_types() -> list[TargetType]:
    return [TARGET_TYPE]


@hookimpl
def expkit_attach(request: AttachRequest) -> AttachResult | None:
    if not _mine(request.type):
        return None
    from expkit.sshconfig import ssh_options

    ssh = ssh_options(
        address=request.address,
        username=request.username,
        port=request.port,
        key_file=request.key_file,
        project=request.project,
        what="a remotedocker target",
    )
    image = request.base_image or DEFAULT_BASE_IMAGE
    if not set(image) <= _IMAGE_CHARS or image.startswith(("-", "/", ":")):
        raise ConfigError(
            f"base image {image!r} is not a Docker image reference",
            key="--base-image",
            hint="e.g. --base-image python:3.11-slim or registry.example.com/team/image:tag.",
        )
    compute: dict[str, object] = {
        "type": TARGET_TYPE.name,
        "address": ssh.address,
        "port": ssh.port,
        "username": ssh.username,
    }
    if ssh.key_file:
        compute["keyFile"] = ssh.key_file
    compute.update({"baseDockerImage": image, "sharedVolumes": False, "nvidiaDocker": False})
    return AttachResult(compute=compute, runconfig=runconfig_for(request, framework="Python"))


def runconfig_for(request: AttachRequest, *, framework: str) -> dict[str, object]:
    """A Workbench-style run configuration; dependency files only when they exist,
    since a run configuration naming a missing file does not load."""
    runconfig: dict[str, object] = {
        "ArgumentVector": ["$file"],
        "Target": request.name,
        "Framework": framework,
        "EnvironmentVariables": {},
    }
    aml_config = request.project / "aml_config"
    for key, filename in (
        ("CondaDependenciesFile", "conda_dependencies.yml"),
        ("SparkDependenciesFile", "spark_dependencies.yml"),
    ):
        if (aml_config / filename).is_file():
            runconfig[key] = f"aml_config/{filename}"
    runconfig.update({"PrepareEnvironment": True, "TrackedRun": True})
    return runconfig


@hookimpl
def expkit_prepare(request: PrepareRequest) -> PreparedEnvironment | None:
    if not _mine(request.compute.type):
        return None
    _not_available(request.compute)


@hookimpl
def expkit_submit(run: RunContext, environment: PreparedEnvironment) -> Execution | None:
    if not _mine(run.compute.type):
        return None
    _not_available(run.compute)


@hookimpl
def expkit_collect(run: RunContext, execution: Execution) -> Collected | None:
    if not _mine(run.compute.type):
        return None
    _not_available(run.compute)


@hookimpl
def expkit_list_environments(compute: ComputeTarget) -> list[EnvironmentInfo] | None:
    # True, not a fake: nothing was ever built for this type, so nothing to list.
    return [] if _mine(compute.type) else None


@hookimpl
def expkit_remove_environment(compute: ComputeTarget, env_id: str) -> bool | None:
    return False if _mine(compute.type) else None
