"""expkit: tracked experiment runs on pluggable compute targets.

Kept import-light on purpose: scripts do ``from expkit import log`` and the
``exp`` CLI's start-up time is a measured feature.
"""

from __future__ import annotations

from expkit.tracking import get_run_id, log, log_param, log_params, outputs_dir

__version__ = "0.1.0"

__all__ = ["__version__", "get_run_id", "log", "log_param", "log_params", "outputs_dir"]
