"""Entry point ``remotedocker = "expkit_remotedocker.hooks:plugin"``.

The ``remotedocker`` target (alias ``remote``); see expkit_remotedocker.target,
imported by the first command that uses the type.
"""

from __future__ import annotations

from expkit.model import TargetType
from expkit.target import TargetPlugin

TARGET_TYPE = TargetType(
    name="remotedocker", package="expkit-remotedocker", aliases=("remote",),
    description="Docker on a remote Linux machine over SSH", local_working_copy=False,
    compute_keys=frozenset({"address", "port", "username", "keyFile", "baseDockerImage",
                            "sharedVolumes", "nvidiaDocker", "nativeSharedDirectory",
                            "userManagedEnvironment", "buildNetwork"}),
)  # fmt: skip

plugin = TargetPlugin.deferred(TARGET_TYPE, "expkit_remotedocker.target:RemoteDockerTarget")
