"""expkit-hdinsight: spark-submit on a Spark cluster over SSH (placeholder).

This version validates ``exp target attach --type cluster`` options and
writes the target's files, so Workbench projects keep working unchanged; it
cannot submit to a cluster yet and says so clearly instead of pretending.
"""

from __future__ import annotations

__version__ = "0.1.0"
