"""The ``local`` target's plugin object, for the entry point
``local = "expkit_local.hooks:plugin"``: its hooks answer for ``type: local``
only (see expkit.target.TargetPlugin); the work is in LocalTarget, imported
by the first command that uses the type.
"""

from __future__ import annotations

from expkit.model import TargetType
from expkit.target import TargetPlugin

TARGET_TYPE = TargetType(
    name="local",
    package="expkit-local",
    description="this machine: your own Python, or a cached venv built from your environment",
    compute_keys=frozenset({"pythonLocation", "userManagedEnvironment", "sparkSubmitLocation"}),
)

plugin = TargetPlugin.deferred(TARGET_TYPE, "expkit_local.target:LocalTarget")
