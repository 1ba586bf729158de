"""Entry point ``hdinsight = "expkit_hdinsight.hooks:plugin"``: the ``cluster`` target
(alias ``hdinsight``), see expkit_hdinsight.target (imported by the first
command that uses the type).
"""

from __future__ import annotations

from expkit.model import TargetType
from expkit.target import TargetPlugin

TARGET_TYPE = TargetType(
    name="cluster", package="expkit-hdinsight", aliases=("hdinsight",),
    description="spark-submit on a Spark cluster (YARN or standalone) over SSH",
    compute_keys=frozenset({"address", "port", "username", "keyFile", "sparkSubmitLocation",
                            "userManagedEnvironment", "pythonLocation", "master",
                            "deployMode"}),
)  # fmt: skip

plugin = TargetPlugin.deferred(TARGET_TYPE, "expkit_hdinsight.target:ClusterTarget")
