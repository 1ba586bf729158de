"""The per-project run history (``.exp/``): records, index, logs, metrics, outputs.

See expkit.history.store for the layout. Imports here stay light: the SQLite
module is loaded when a history is first opened.
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
