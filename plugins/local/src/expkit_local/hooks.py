"""The ``local`` target's plugin object, for the entry point
``local = "expkit_local.hooks:plugin"``: its hooks answer for ``type: local``
only (see expkit.target.TargetPlugin); the work is in LocalTarget.
"""

from __future__ import annotations

from expkit.target import TargetPlugin

from expkit_local.target import LocalTarget

plugin = TargetPlugin(LocalTarget())
