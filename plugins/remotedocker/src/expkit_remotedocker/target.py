"""The ``remotedocker`` target type (alias ``remote``): Docker on a remote Linux machine over SSH.

A placeholder that is honest about it (expkit.target.PlaceholderTarget):
``exp target attach`` is fully validated and writes the files Workbench
wrote, ``exp plugins`` shows the type as "not available yet", and every
attempt to run on it fails with TargetNotAvailableError naming what to use
instead. It never fakes a success.
"""

from __future__ import annotations

from typing import Any

from expkit.errors import ConfigError
from expkit.model import AttachRequest, TargetType
from expkit.target import PlaceholderTarget

#: Workbench's default was a public image with Spark; a slim Python one is the honest default.
DEFAULT_BASE_IMAGE = "python:3.11-slim"
# An image reference: [registry[:port]/]path[:tag][@digest], no spaces or shell syntax.
_IMAGE_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-/:@")


class RemoteDockerTarget(PlaceholderTarget):
    """Validates and attaches a remote Docker host; cannot run on it yet."""

    target_type = TargetType(
        name="remotedocker", package="expkit-remotedocker", aliases=("remote",), available=False,
        description="Docker on a remote Linux machine over SSH (placeholder: not available yet).",
        compute_keys=frozenset({"address", "port", "username", "keyFile", "baseDockerImage",
                                "sharedVolumes", "nvidiaDocker", "nativeSharedDirectory",
                                "userManagedEnvironment"}),
    )  # fmt: skip
    cannot = "run scripts on a remote machine"
    instead = (
        "run with `-c docker` on this machine (expkit-docker), or install expkit on the "
        "remote machine and run `exp run -c docker ...` there over ssh."
    )

    def attach_files(self, request: AttachRequest) -> dict[str, Any]:
        from expkit.sshconfig import attach_ssh_options

        ssh = attach_ssh_options(request, what="a remotedocker target")
        image = request.base_image or DEFAULT_BASE_IMAGE
        if not set(image) <= _IMAGE_CHARS or image.startswith(("-", "/", ":")):
            raise ConfigError(
                f"base image {image!r} is not a Docker image reference",
                key="--base-image",
                hint="e.g. --base-image python:3.11-slim or registry.example.com/team/image:tag.",
            )
        return {
            **ssh.compute_entries(),
            "baseDockerImage": image,
            "sharedVolumes": False,
            "nvidiaDocker": False,
        }
