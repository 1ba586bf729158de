"""The ``docker`` target's plugin object (``docker = "expkit_docker.hooks:plugin"``).

Its hooks answer for ``docker`` and ``localdocker`` only. ``exp`` imports
this module at every start-up; expkit_docker.target is imported by the first
command that uses the type (expkit.target.TargetPlugin.deferred).
"""

from __future__ import annotations

from expkit.model import TargetType
from expkit.target import TargetPlugin

TARGET_TYPE = TargetType(
    name="docker", package="expkit-docker", aliases=("localdocker",),
    description="a container on this machine's Docker engine, built from your environment",
)  # fmt: skip

plugin = TargetPlugin.deferred(TARGET_TYPE, "expkit_docker.target:DockerTarget")
