"""The ``docker`` target's plugin object (``docker = "expkit_docker.hooks:plugin"``).

Its hooks answer for ``docker`` and ``localdocker`` only. ``exp`` imports
this module at every start-up, so neither it nor expkit_docker.target
imports the engine client at module level.
"""

from __future__ import annotations

from expkit.target import TargetPlugin

from expkit_docker.target import DockerTarget

plugin = TargetPlugin(DockerTarget())
