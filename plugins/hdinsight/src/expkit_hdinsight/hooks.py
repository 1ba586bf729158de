"""Entry point ``hdinsight = "expkit_hdinsight.hooks:plugin"``: the ``cluster`` target
(alias ``hdinsight``), see expkit_hdinsight.target.
"""

from __future__ import annotations

from expkit.target import TargetPlugin

from expkit_hdinsight.target import ClusterTarget

plugin = TargetPlugin(ClusterTarget())
