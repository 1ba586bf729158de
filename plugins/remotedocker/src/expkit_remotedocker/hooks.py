"""Entry point ``remotedocker = "expkit_remotedocker.hooks:plugin"``.

The ``remotedocker`` target (alias ``remote``); see expkit_remotedocker.target.
"""

from __future__ import annotations

from expkit.target import TargetPlugin

from expkit_remotedocker.target import RemoteDockerTarget

plugin = TargetPlugin(RemoteDockerTarget())
