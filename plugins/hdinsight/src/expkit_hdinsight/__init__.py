"""expkit-hdinsight: PySpark scripts on a Spark cluster (YARN or standalone) over SSH.

``type: cluster`` (alias ``hdinsight``, as Azure ML Workbench wrote it): the
head node is reached with expkit.ssh; the run's Python environment is built
there once per environment id and shipped to the executors; spark-submit
runs detached, so a dropped connection does not stop it. docs/spark-cluster.md.
"""

from __future__ import annotations

__version__ = "0.1.0"
