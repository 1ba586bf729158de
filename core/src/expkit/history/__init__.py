"""The per-project run history (``.exp/``): records, index, logs, metrics, outputs.

See expkit.history.store for the layout, expkit.history.repair and
expkit.history.space for a damaged history and a full disk (docs/history.md).
Every command that imports this package opens the index, so the SQLite
module is imported with it.
"""

from __future__ import annotations

from expkit.history.records import (
    ACTIVE,
    FINISHED,
    dumps,
    from_dict,
    list_outputs,
    new_run_id,
    read_metrics,
    to_dict,
)
from expkit.history.store import LOST, History

__all__ = [
    "ACTIVE",
    "FINISHED",
    "LOST",
    "History",
    "dumps",
    "from_dict",
    "list_outputs",
    "new_run_id",
    "read_metrics",
    "to_dict",
]
